"""Whoosh backend: one shared searcher per index generation, swapped when CURRENT moves."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as whoosh_query
from whoosh.scoring import BM25F

from .. import DISCLAIMER, store
from ..errors import IndexNotBuilt
from ..facets import FacetTable, build_facet_table
from ..highlight import highlight_snippet, leading_snippet
from ..query import SearchRequest, build_parser, parse_query
from ..schema import SCHEMA_VERSION, body_analyzer
from ..spelling import suggest_correction

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """Everything one index generation needs to answer queries, built once."""

    generation: str
    index: object
    searcher: object
    facets: FacetTable
    manifest: dict
    browse_order: np.ndarray  # live docnums sorted by (drug slug, section position)
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    retired: bool = False

    def close(self) -> None:
        self.searcher.close()
        self.index.close()


def open_snapshot(index_dir: Path, generation: str) -> Snapshot:
    folder = index_dir / generation
    manifest = store.read_manifest(folder)
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexNotBuilt(f"index {folder} has schema version "
                            f"{manifest.get('schema_version')}, expected {SCHEMA_VERSION}; "
                            "run `monosearch reindex --full`")
    problem = None
    with warnings.catch_warnings():
        # Whoosh leaves the file of a damaged TOC open; it is closed (with a
        # ResourceWarning) when the exception below is dropped.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            index = whoosh_index.open_dir(str(folder))
            searcher = index.searcher(weighting=BM25F())
        except Exception as err:  # noqa: BLE001 - Whoosh raises many kinds on damage
            problem = f"{type(err).__name__}: {err}"
    if problem is not None:
        raise IndexNotBuilt(f"index {folder} cannot be opened ({problem})")
    reader = searcher.reader()
    facets = build_facet_table(reader, manifest)
    drug = facets.facets["drug"]
    drug_of = np.full(facets.size, -1, dtype=np.int64)
    drug_of[drug.docs] = drug.codes
    position = np.array([reader.column_reader("position")[d] for d in range(facets.size)],
                        dtype=np.int64) if facets.size else np.zeros(0, dtype=np.int64)
    order = np.lexsort((position, drug_of))
    return Snapshot(generation=generation, index=index, searcher=searcher, facets=facets,
                    manifest=manifest, browse_order=order[facets.live[order]])


class WhooshBackend:
    """Answers searches from the live generation of an index folder."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self._snapshot: Snapshot | None = None
        self._pointer: tuple | None = None
        self._swap_lock = threading.Lock()
        self._parser = None
        self._analyzer = body_analyzer()

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
            generation = store.current_generation(self.index_dir)
            if generation is None:
                raise IndexNotBuilt(f"no index in {self.index_dir}; run `monosearch reindex`")
            if self._snapshot is None or self._snapshot.generation != generation:
                try:
                    fresh = open_snapshot(self.index_dir, generation)
                except IndexNotBuilt as err:
                    if self._snapshot is None:
                        raise
                    log.error("keeping generation %s: %s", self._snapshot.generation, err)
                    return self._snapshot
                self._retire(self._snapshot)
                self._snapshot = fresh
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
            with snapshot.lock:
                if not snapshot.retired:
                    snapshot.users += 1
                    break
        try:
            yield snapshot
        finally:
            with snapshot.lock:
                snapshot.users -= 1
                closing = snapshot.retired and snapshot.users == 0
            if closing:
                snapshot.close()

    def close(self) -> None:
        with self._swap_lock:
            self._retire(self._snapshot)
            self._snapshot, self._pointer = None, None

    # -- API ---------------------------------------------------------------------
    def health(self) -> dict:
        with self._use() as snapshot:
            return {"status": "ok", "generation": snapshot.generation,
                    "documents": int(snapshot.facets.live.sum()),
                    "monographs": len(snapshot.manifest.get("monographs", {}))}

    def search(self, request: SearchRequest) -> dict:
        started = time.perf_counter()
        with self._use() as snapshot, snapshot.lock:
            body = self._search(snapshot, request)
        body["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return body

    def _search(self, snapshot: Snapshot, request: SearchRequest) -> dict:
        searcher = snapshot.searcher
        if self._parser is None:
            self._parser = build_parser(searcher.schema)
        parsed = parse_query(request.q, self._parser) if request.q else None
        matched = np.zeros(snapshot.facets.size, dtype=bool)
        if parsed is None:
            matched[:] = True
        elif parsed is not whoosh_query.NullQuery:
            docs = np.fromiter(searcher.docs_for_query(parsed), dtype=np.int64)
            matched[docs] = True
        selected, facets = snapshot.facets.count(matched, request.filters)
        total = int(selected.sum())
        start = (request.page - 1) * request.per_page
        stop = start + request.per_page
        hits: list[tuple[int, float | None]] = []
        if start < total:
            if parsed is None:
                page = snapshot.browse_order[selected[snapshot.browse_order]][start:stop]
                hits = [(int(docnum), None) for docnum in page]
            else:
                allow = (set(np.flatnonzero(selected).tolist())
                         if any(request.filters.values()) else None)
                results = searcher.search(parsed, limit=stop, filter=allow)
                hits = [(hit.docnum, hit.score) for hit in results[start:stop]]
        corrected = (suggest_correction(request.q, searcher.reader(), self._analyzer)
                     if request.q else None)
        return {
            "query": request.q,
            "corrected": corrected,
            "total": total,
            "page": request.page,
            "per_page": request.per_page,
            "took_ms": 0.0,
            "results": [self._result(snapshot, docnum, score, parsed) for docnum, score in hits],
            "facets": facets,
            "disclaimer": DISCLAIMER,
        }

    def _result(self, snapshot: Snapshot, docnum: int, score: float | None, parsed) -> dict:
        stored = snapshot.searcher.stored_fields(docnum)
        snippet = ""
        if parsed is not None:
            snippet = highlight_snippet(stored["body"], _body_terms(parsed))
        slug = stored["drug"]
        return {
            "id": stored["id"],
            "drug": slug,
            "drug_name": snapshot.manifest["monographs"].get(slug, {}).get("title", slug),
            "section": stored["section"],
            "heading": stored["heading"],
            "indications": [v for v in stored.get("indications", "").split(",") if v],
            "score": round(float(score), 4) if score is not None else None,
            "snippet": snippet or leading_snippet(stored["body"]),
            "url": f"/drug/{slug}#{stored['anchor']}",
        }

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
            "sections": [{"type": d["section"], "heading": d["heading"], "anchor": d["anchor"],
                          "text": d["body"], "markdown": d["markdown"]} for d in documents],
            "disclaimer": DISCLAIMER,
            "monograph_disclaimer": head.get("disclaimer"),
        }


def _body_terms(parsed) -> frozenset[str]:
    """Analyzed words the query looks for in the body, for highlighting."""
    return frozenset(text.decode("utf-8") if isinstance(text, bytes) else text
                     for field, text in parsed.all_terms(phrases=True) if field == "body")
