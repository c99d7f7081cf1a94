"""Whoosh backend: one shared searcher per index generation, swapped when CURRENT moves."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import DISCLAIMER, store
from ..engine import run_search
from ..errors import IndexNotBuilt
from ..query import SearchRequest
from ..sections import shown_heading
from ..snapshot import Snapshot, frequent_terms, open_snapshot

log = logging.getLogger(__name__)

RESULT_CACHE_SIZE = 1024  # bodies kept per process (MONOSEARCH_RESULT_CACHE; 0: off)


class WhooshBackend:
    """Answers searches from the live generation of an index folder."""

    def __init__(self, index_dir: Path, cache_size: int = RESULT_CACHE_SIZE,
                 freeze_gc: bool = False, warm: bool = False):
        self.index_dir = Path(index_dir)
        # In a server process: read the most frequent words' postings ahead, in the
        # background, after each swap (see _read_ahead).
        self.warm = warm
        # In a server process: after each swap, move what exists (the snapshot's few
        # hundred thousand objects, which live as long as the generation) out of the
        # cyclic collector's view. A full collection over them took 74 ms at 70k
        # sections and landed on whichever request triggered it.
        self.freeze_gc = freeze_gc
        self._snapshot: Snapshot | None = None
        self._pointer: tuple | None = None
        self._failure: tuple[tuple | None, str] | None = None  # (pointer, reason)
        self._swap_lock = threading.Lock()
        self.searchers_opened = 0  # one per generation served, never one per request
        self._cache: OrderedDict[tuple, dict] = OrderedDict()  # (generation, request) -> body
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # -- generations -------------------------------------------------------------
    def _refresh(self) -> Snapshot:
        """The snapshot of the live generation; opens a new one when CURRENT moved."""
        try:
            stat = os.stat(self.index_dir / store.CURRENT_FILE)
            pointer = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            pointer = None
        if pointer == self._pointer and self._snapshot is not None:
            return self._snapshot
        with self._swap_lock:
            if pointer == self._pointer and self._snapshot is not None:
                return self._snapshot
            if self._failure is not None and self._failure[0] == pointer:
                # Tried this pointer already: keep serving what we have, or wait for a
                # reindex, instead of reopening a damaged index on every request.
                if self._snapshot is not None:
                    return self._snapshot
                raise IndexNotBuilt(self._failure[1])
            try:
                generation = store.current_generation(self.index_dir)
                if generation is None:
                    raise IndexNotBuilt(f"no index in {self.index_dir}; "
                                        "run `monosearch reindex`")
                fresh = None
                if self._snapshot is None or self._snapshot.generation != generation:
                    fresh = open_snapshot(self.index_dir, generation)
                    self.searchers_opened += 1
            except IndexNotBuilt as err:
                self._failure = (pointer, str(err))
                if self._snapshot is None:
                    log.error("search unavailable: %s", err)
                    raise
                log.error("keeping generation %s: %s", self._snapshot.generation, err)
                return self._snapshot
            self._failure = None
            if fresh is not None:
                self._retire(self._snapshot)
                self._snapshot = fresh
                if self.warm:
                    fresh.read_ahead = "reading"
                    threading.Thread(target=_read_ahead, args=(fresh,), daemon=True,
                                     name=f"warm-{generation}").start()
                with self._cache_lock:
                    self._cache.clear()  # keyed by generation anyway; free the memory now
                if self.freeze_gc:
                    gc.unfreeze()  # the retired generation's objects become collectable
                    gc.collect()
                    gc.freeze()
                log.info("serving index generation %s", generation)
            self._pointer = pointer
            return self._snapshot

    def _retire(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        with snapshot.lock:
            snapshot.retired = True
            idle = snapshot.users == 0
        if idle:
            snapshot.close()

    @contextmanager
    def _use(self) -> Iterator[Snapshot]:
        while True:
            snapshot = self._refresh()
            if snapshot.enter():
                break
        try:
            yield snapshot
        finally:
            snapshot.leave()

    def close(self) -> None:
        with self._swap_lock:
            self._retire(self._snapshot)
            self._snapshot, self._pointer = None, None

    # -- API ---------------------------------------------------------------------
    def health(self) -> dict:
        with self._use() as snapshot:
            return {"status": "ok", "generation": snapshot.generation,
                    "documents": int(snapshot.facets.live.sum()),
                    "monographs": len(snapshot.manifest.get("monographs", {})),
                    "searchers_opened": self.searchers_opened,
                    "read_ahead": snapshot.read_ahead,
                    "cache": {"hits": self.cache_hits, "misses": self.cache_misses,
                              "size": len(self._cache)}}

    def search(self, request: SearchRequest, use_cache: bool = True) -> dict:
        """The response body; repeated requests on one generation come from a cache
        (benchmarks pass use_cache=False to time the engine itself)."""
        started = time.perf_counter()
        with self._use() as snapshot:
            key = (snapshot.generation, request)
            with self._cache_lock:
                cached = self._cache.get(key) if use_cache else None
                if cached is not None:
                    self._cache.move_to_end(key)
                    self.cache_hits += 1
            if cached is None:
                with snapshot.lock:
                    cached = run_search(snapshot, request)
                cached["generation"] = snapshot.generation
                with self._cache_lock:
                    self.cache_misses += 1
                    self._cache[key] = cached
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)  # least recently used
        body = dict(cached)  # callers read the nested parts; only took_ms differs
        body["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return body

    def suggest(self, text: str, limit: int = 10) -> dict:
        """Names starting with what was typed: drugs, brands, conditions, classes."""
        started = time.perf_counter()
        with self._use() as snapshot:
            items = snapshot.suggester.suggest(text, limit)
        return {"query": text, "suggestions": [item.as_dict() for item in items],
                "took_ms": round((time.perf_counter() - started) * 1000, 3),
                "disclaimer": DISCLAIMER}

    def monograph(self, slug: str) -> dict | None:
        with self._use() as snapshot, snapshot.lock:
            entry = snapshot.manifest.get("monographs", {}).get(slug)
            if entry is None:
                return None
            documents = [snapshot.searcher.stored_fields(docnum) for docnum in
                         snapshot.searcher.document_numbers(drug=slug)]
        documents.sort(key=lambda d: d["position"])
        head = next((d["monograph"] for d in documents if "monograph" in d), {})
        return {
            "slug": slug,
            "title": entry.get("title", slug),
            "brands": head.get("brands", []),
            "drug_class": head.get("drug_class", []),
            "indications": [{"value": v, "label": label}
                            for v, label in entry.get("indications", [])],
            "intro": head.get("intro", ""),
            "sections": [{"type": d["section"], "heading": shown_heading(d), "anchor": d["anchor"],
                          "text": d["body"], "markdown": d["markdown"]} for d in documents],
            "disclaimer": DISCLAIMER,
            "monograph_disclaimer": head.get("disclaimer"),
        }


def _read_ahead(snapshot: Snapshot) -> None:
    """List the searched fields' words (which segments hold each), then read the most
    frequent words' postings and scores into the snapshot's caches, a word at a time
    under its lock (a request waits for one word at most), until done or the generation
    retires."""
    if not snapshot.enter():
        return
    try:
        terms = snapshot.list_terms()
        if terms is None:
            return
        snapshot.postings.segments = terms
        for field, text in frequent_terms(terms, snapshot.facets.size):
            with snapshot.lock:
                if snapshot.retired:
                    break
                snapshot.scorer.term_scores(field, text)
        snapshot.read_ahead = "done"
    except Exception:  # noqa: BLE001 - reading ahead is an optimisation, never an error
        log.exception("reading ahead in generation %s stopped", snapshot.generation)
    finally:
        snapshot.leave()
