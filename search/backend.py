"""The search interface the web app and the CLI talk to, and ``open_backend``, the one
place that chooses a backend: Whoosh (embedded, the default) or Typesense."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .request import SearchRequest

BACKENDS = ("whoosh", "typesense")


class SearchBackend(Protocol):
    def search(self, request: SearchRequest, use_cache: bool = True) -> dict:
        """The search response body (see README: JSON API)."""

    def suggest(self, text: str, limit: int = 10) -> dict:
        """Names starting with the typed text (drugs, brands, conditions, classes)."""

    def monograph(self, slug: str) -> dict | None:
        """One monograph as served by the index, or None for an unknown slug."""

    def health(self) -> dict:
        """Generation and document count of the loaded index; raises IndexNotBuilt."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class BackendSettings:
    """Where the search runs. ``from_env`` reads the MONOSEARCH_* variables; the web app
    and the CLI override fields from their own options."""

    backend: str = "whoosh"
    index_dir: Path = Path("index")
    result_cache_size: int = 1024  # bodies kept per process (0: off)
    server: bool = False  # a long-running server: freeze the GC after a swap, read ahead
    read_ahead: bool = True
    typesense_url: str = "http://127.0.0.1:8108"  # or a cluster: URLs, comma-separated
    typesense_key: str = field(default="", repr=False)
    typesense_collection: str = "monographs"

    @classmethod
    def from_env(cls, **overrides) -> BackendSettings:
        env = os.environ.get
        values = {
            "backend": env("MONOSEARCH_BACKEND", cls.backend),
            "index_dir": Path(env("MONOSEARCH_INDEX", "index")),
            "result_cache_size": int(env("MONOSEARCH_RESULT_CACHE", "1024")),
            "read_ahead": env("MONOSEARCH_READ_AHEAD", "1") != "0",
            "typesense_url": typesense_nodes_from_env(cls.typesense_url),
            "typesense_key": env("MONOSEARCH_TYPESENSE_KEY", ""),
            "typesense_collection": env("MONOSEARCH_TYPESENSE_COLLECTION",
                                        cls.typesense_collection),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def typesense_nodes_from_env(default: str = BackendSettings.typesense_url) -> str:
    """MONOSEARCH_TYPESENSE_NODES (a node list), else MONOSEARCH_TYPESENSE_URL (one node
    or a list), else ``default``."""
    return (os.environ.get("MONOSEARCH_TYPESENSE_NODES")
            or os.environ.get("MONOSEARCH_TYPESENSE_URL", default))


def open_backend(settings: BackendSettings) -> SearchBackend:
    """The backend the settings name (imported here only, so a caller loads one)."""
    if settings.backend == "typesense":
        from .typesense.backend import TypesenseBackend
        return TypesenseBackend(settings.typesense_url, settings.typesense_key,
                                settings.typesense_collection)
    if settings.backend != "whoosh":
        raise ValueError(f"unknown backend {settings.backend!r} (one of {', '.join(BACKENDS)})")
    from .whoosh.backend import WhooshBackend
    return WhooshBackend(settings.index_dir, cache_size=settings.result_cache_size,
                         freeze_gc=settings.server, warm=settings.read_ahead and settings.server)
