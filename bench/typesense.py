"""Typesense on the benchmark's queries: a throwaway server on a loopback port, the corpus
synced into it, and the same SearchRequest answered by TypesenseBackend (HTTP included,
as a real deployment pays it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from search.request import SearchRequest
from search.typesense.backend import TypesenseBackend
from search.typesense.client import TypesenseClient
from search.typesense.server import TypesenseServer, start_server
from search.typesense.sync import sync_typesense

COLLECTION = "bench"


@dataclass
class TypesenseHandle:
    server: TypesenseServer
    backend: TypesenseBackend
    sync_seconds: float  # corpus -> collection, alias moved
    start_seconds: float  # process start until /health answers


def build_typesense(corpus: Path) -> TypesenseHandle:
    """Start a server, sync the corpus and open the backend (close() when done)."""
    started = time.perf_counter()
    server = start_server()
    start_seconds = time.perf_counter() - started
    try:
        client = TypesenseClient(server.url, server.api_key)
        try:
            report = sync_typesense(Path(corpus), client, COLLECTION)
        finally:
            client.close()
        backend = TypesenseBackend(server.url, server.api_key, COLLECTION)
        backend.health()  # load the generation outside the timings
    except BaseException:
        server.stop()
        raise
    return TypesenseHandle(server, backend, report.seconds, start_seconds)


def search_typesense(handle: TypesenseHandle, request: SearchRequest) -> dict:
    """The API body for one request, as TypesenseBackend answers it."""
    return handle.backend.search(request, use_cache=False)


def close_typesense(handle: TypesenseHandle) -> None:
    handle.backend.close()
    handle.server.stop()
