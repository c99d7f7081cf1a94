"""The search interface the CLI and the web app talk to; Whoosh is the default backend."""

from __future__ import annotations

from typing import Protocol

from .whoosh.query import SearchRequest


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
