"""Whoosh backend: one shared searcher per index generation, swapped when CURRENT moves."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cachetools import LRUCache

from ..corpus.sections import shown_heading
from ..errors import IndexNotBuilt
from ..request import SearchRequest
from ..response import monograph_body, suggest_body
from . import store
from .engine import run_search
from .snapshot import Snapshot, frequent_terms, open_snapshot

log = logging.getLogger(__name__)

RESULT_CACHE_SIZE = 1024  # bodies kept per process (MONOSEARCH_RESULT_CACHE; 0: off)
DISK_CHECK_SECONDS = 1.0  # how often a request looks whether the served files changed


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
        self._failure: str | None = None  # why nothing can be served, until CURRENT moves
        self._next_check = 0.0  # monotonic time of the next look at the served files
        self.damaged: dict[str, str] = {}  # generation -> why it is not served
        self._swap_lock = threading.Lock()
        self.searchers_opened = 0  # one per generation served, never one per request
        # (generation, request) -> body. cachetools is not thread-safe: use under the lock.
        self._cache: LRUCache[tuple, dict] = LRUCache(maxsize=max(cache_size, 0))
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # -- generations -------------------------------------------------------------
    def _refresh(self) -> Snapshot:
        """The snapshot to serve: the live generation's, or when that one is damaged the
        newest intact generation's. Reopens when CURRENT moves, and at most every
        DISK_CHECK_SECONDS looks whether the served files changed on disk (a damaged
        or deleted generation is then dropped)."""
        pointer = self._current_pointer()
        snapshot = self._snapshot
        if pointer == self._pointer and time.monotonic() < self._next_check:
            if snapshot is not None:
                return snapshot
            if self._failure is not None:  # tried already: no reopening on every request
                raise IndexNotBuilt(self._failure)
        with self._swap_lock:
            pointer = self._current_pointer()
            snapshot = self._snapshot
            moved = pointer != self._pointer
            if not moved and time.monotonic() < self._next_check:
                if snapshot is not None:
                    return snapshot
                if self._failure is not None:
                    raise IndexNotBuilt(self._failure)
            self._pointer = pointer
            self._next_check = time.monotonic() + DISK_CHECK_SECONDS
            if snapshot is not None and snapshot.changed_on_disk():
                self._check_damage(snapshot)
            if not moved and self._snapshot is not None and \
                    self._snapshot.generation not in self.damaged:
                return self._snapshot
            fresh = self._newest_intact()
            if fresh is None:
                self._failure = self._unavailable()
                self._replace(None)
                log.error("search unavailable: %s", self._failure)
                raise IndexNotBuilt(self._failure)
            self._failure = None
            if fresh is not self._snapshot:
                self._replace(fresh)
            return fresh

    def _current_pointer(self) -> tuple | None:
        try:
            stat = os.stat(self.index_dir / store.CURRENT_FILE)
            return stat.st_ino, stat.st_mtime_ns, stat.st_size
        except OSError:
            return None

    def _newest_intact(self) -> Snapshot | None:
        """The generation CURRENT names, else the newest older one, that opens and
        whose files match their checksums (the served snapshot if it is that one)."""
        try:
            current = store.current_generation(self.index_dir)
        except IndexNotBuilt as err:
            log.error("%s", err)
            current = None
        listed = store.list_generations(self.index_dir)
        older = [g for g in reversed(listed) if g != current]
        self.damaged = {g: why for g, why in self.damaged.items()
                        if g in listed or g == current}  # forget the removed ones
        for name in ([current] if current else []) + older:
            if name in self.damaged:
                continue
            if self._snapshot is not None and self._snapshot.generation == name:
                return self._snapshot
            try:
                fresh = open_snapshot(self.index_dir, name)
            except IndexNotBuilt as err:
                self.damaged[name] = str(err)
                log.error("not serving generation %s: %s", name, err)
                continue
            self.searchers_opened += 1
            if name != current:
                log.error("serving generation %s, the newest intact one, instead of %s",
                          name, current)
            return fresh
        return None

    def _check_damage(self, snapshot: Snapshot) -> None:
        """Verify a served generation whose files changed; a damaged one is dropped."""
        folder = self.index_dir / snapshot.generation
        if store.unverified(snapshot.manifest) and folder.is_dir():
            problem = None  # nothing to verify against; Whoosh's own errors still count
        else:
            problem = store.damage(folder)
        if problem is None:
            snapshot.remember_files()
            return
        self.damaged[snapshot.generation] = problem
        log.error("generation %s is damaged (%s); it is no longer served",
                  snapshot.generation, problem)

    def _damaged_underneath(self, snapshot: Snapshot) -> bool:
        """After a search failed: were the served files damaged since they were opened?
        If so the generation is dropped (the next request falls back)."""
        with self._swap_lock:
            if snapshot.generation in self.damaged:
                return True
            if not snapshot.changed_on_disk():
                return False
            self._check_damage(snapshot)
            if snapshot.generation in self.damaged:
                self._next_check = 0.0  # look again now
                return True
            return False

    def _unavailable(self) -> str:
        if self.damaged:
            return "every index generation is damaged or cannot be opened; run " \
                   "`monosearch reindex --full`"
        return f"no index in {self.index_dir}; run `monosearch reindex`"

    def _replace(self, fresh: Snapshot | None) -> None:
        self._retire(self._snapshot)
        self._snapshot = fresh
        with self._cache_lock:
            self._cache.clear()  # keyed by generation anyway; free the memory now
        if fresh is None:
            return
        if self.warm:
            fresh.read_ahead = "reading"
            threading.Thread(target=_read_ahead, args=(fresh,), daemon=True,
                             name=f"warm-{fresh.generation}").start()
        if self.freeze_gc:
            gc.unfreeze()  # the retired generation's objects become collectable
            gc.collect()
            gc.freeze()
        log.info("serving index generation %s", fresh.generation)

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
            try:
                live = store.current_generation(self.index_dir)
            except IndexNotBuilt:
                live = None
            # degraded: serving an older generation because the live one is damaged
            return {"backend": "whoosh",
                    "status": "ok" if snapshot.generation == live else "degraded",
                    "generation": snapshot.generation,
                    "damaged": sorted(self.damaged),
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
                cached = self._cache.get(key) if use_cache else None  # get marks it used
                if cached is not None:
                    self.cache_hits += 1
            if cached is None:
                try:
                    with snapshot.lock:
                        cached = run_search(snapshot, request)
                except Exception:
                    if not self._damaged_underneath(snapshot):
                        raise
                    return self.search(request, use_cache)  # on the generation now served
                cached["generation"] = snapshot.generation
                with self._cache_lock:
                    self.cache_misses += 1
                    if self._cache.maxsize:  # 0: off (LRUCache refuses what cannot fit)
                        self._cache[key] = cached  # evicts the least recently used
        body = dict(cached)  # callers read the nested parts; only took_ms differs
        body["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return body

    def suggest(self, text: str, limit: int = 10) -> dict:
        """Names starting with what was typed: drugs, brands, conditions, classes."""
        started = time.perf_counter()
        with self._use() as snapshot:
            items = snapshot.suggester.suggest(text, limit)
        return suggest_body(text, items, (time.perf_counter() - started) * 1000)

    def monograph(self, slug: str) -> dict | None:
        with self._use() as snapshot, snapshot.lock:
            entry = snapshot.manifest.get("monographs", {}).get(slug)
            if entry is None:
                return None
            documents = [snapshot.searcher.stored_fields(docnum) for docnum in
                         snapshot.searcher.document_numbers(drug=slug)]
        documents.sort(key=lambda d: d["position"])
        head = next((d["monograph"] for d in documents if "monograph" in d), {})
        return monograph_body(slug, entry.get("title", slug), head,
                              entry.get("indications", []),
                              [{**d, "heading": shown_heading(d)} for d in documents])


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
