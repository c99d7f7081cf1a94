"""One index generation opened for searching: searcher, facet arrays, drug lexicon."""

from __future__ import annotations

import logging
import os
import threading
import warnings
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.scoring import BM25F

from ..corpus.vocabulary import default_vocabulary
from ..errors import IndexNotBuilt
from ..highlight import stemmed_words
from ..understand.lexicon import Lexicon
from ..understand.suggest import Suggester
from ..understand.typos import NameIndex
from . import store
from .facets import FacetTable, build_facet_table
from .matching import LISTED_FIELDS, Lru, PostingCache
from .query import build_parser
from .schema import SCHEMA_VERSION, SEARCH_FIELDS, stem_word
from .scoring import Scorer

log = logging.getLogger(__name__)

PLAN_CACHE_SIZE = 2048  # read queries kept per generation
FREQUENCY_CACHE_SIZE = 200_000  # document frequencies kept per generation
SECTION_WORDS_CACHE = 1_000_000  # words of highlighted sections kept (about 100 bytes each)
# Postings read ahead after a generation opens, most frequent words first: a reader's
# first questions then find "dose", "side" and "effects" in memory (reading them cold is
# 20-30 ms each at 50k sections). Entries of 24 bytes (docnum, weight, score).
WARM_POSTING_ENTRIES = 2_000_000
WARM_MIN_SHARE = 0.002  # words in fewer sections than this are left to the first query


@dataclass
class Snapshot:
    """Everything one generation needs to answer queries, built once and shared."""

    generation: str
    index_dir: Path
    index: object
    searcher: object
    parser: object
    facets: FacetTable
    manifest: dict
    lexicon: Lexicon
    drug_of: np.ndarray  # docnum -> drug code in facets["drug"] (-1: deleted)
    browse_order: np.ndarray  # live docnums sorted by (drug slug, section position)
    readers: object = None  # shared flock on the generation's READERS file
    release: object = None  # closes searcher, index and flock (a weakref.finalize)
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    retired: bool = False
    read_ahead: str = "off"  # "reading", then "done", when a server reads postings ahead
    files: dict = field(default_factory=dict)  # name -> (size, mtime_ns, inode) at open

    @property
    def monographs(self) -> dict[str, dict]:
        return self.manifest.get("monographs", {})

    @cached_property
    def postings(self) -> PostingCache:
        return PostingCache(self.searcher)

    @cached_property
    def plans(self) -> Lru:
        """(q, literal) -> what engine._read_query made of it."""
        return Lru(PLAN_CACHE_SIZE)

    @cached_property
    def frequencies(self) -> Lru:
        """(field, text) -> document frequency: query understanding, did-you-mean and
        the relaxed fallback ask for the same words again and again (a lookup is 40 us
        over eight segments)."""
        return Lru(FREQUENCY_CACHE_SIZE)

    @cached_property
    def section_words(self) -> Lru:
        """docnum -> its body's stemmed words, for highlighting (a section that comes
        back for many queries is tokenized once)."""
        return Lru(SECTION_WORDS_CACHE, cost=len)

    def words(self, docnum: int, body: str) -> list[tuple[int, int, str]]:
        return self.section_words.get(docnum, lambda: stemmed_words(body, stem_word))

    def doc_frequency(self, field: str, text: str) -> int:
        listed = self.postings.segments
        if listed is not None and field in LISTED_FIELDS:
            return listed.get((field, text), (0,))[0]
        return self.frequencies.get((field, text),
                                    lambda: self.searcher.reader().doc_frequency(field, text))

    @cached_property
    def scorer(self) -> Scorer:
        return Scorer(self.searcher, self.postings, self.facets.size)

    @cached_property
    def suggester(self) -> Suggester:
        return Suggester(self.monographs, self.lexicon)

    @cached_property
    def spelling(self) -> NameIndex:
        """The words of the spelling field, for "did you mean"."""
        words = self.searcher.reader().lexicon("spelling")
        return NameIndex(w.decode("utf-8") if isinstance(w, bytes) else w for w in words)

    def list_terms(self) -> dict[tuple[str, str], list[int]] | None:
        """(field, word) of the fields queries ask for -> [document frequency, segment
        numbers holding it...], read segment by segment (a merged walk of the term lists
        is seven times slower), each under the snapshot's lock; None once retired."""
        found: dict[tuple[str, str], list[int]] = {}
        for number, (leaf, _) in enumerate(self.searcher.reader().leaf_readers()):
            for name in LISTED_FIELDS:
                with self.lock:
                    if self.retired:
                        return None
                    for text, info in leaf.iter_field(name):
                        key = (name, text.decode("utf-8") if isinstance(text, bytes) else text)
                        entry = found.setdefault(key, [0])
                        entry[0] += info.doc_frequency()
                        entry.append(number)
        return found

    def remember_files(self) -> None:
        """Note the generation's files as they are now (see changed_on_disk)."""
        self.files = _file_identities(self.folder, self.manifest.get("files", {}))

    def changed_on_disk(self) -> bool:
        """Has a file of this generation been rewritten, resized or removed, or the
        folder deleted, since it was opened (a stat per file)?"""
        return _file_identities(self.folder, self.manifest.get("files", {})) != self.files

    @property
    def folder(self) -> Path:
        return self.index_dir / self.generation

    def enter(self) -> bool:
        """Count a user of this generation; False once it is retired."""
        with self.lock:
            if self.retired:
                return False
            self.users += 1
            return True

    def leave(self) -> None:
        """A user is done; the last user of a retired generation closes it."""
        with self.lock:
            self.users -= 1
            closing = self.retired and self.users == 0
        if closing:
            self.close()

    def title(self, slug: str) -> str:
        return self.monographs.get(slug, {}).get("title", slug)

    def close(self) -> None:
        if self.release is not None:
            self.release()  # runs once, whether here or when the snapshot is collected


def frequent_terms(terms: dict[tuple[str, str], list[int]], size: int,
                   budget: int = WARM_POSTING_ENTRIES, min_share: float = WARM_MIN_SHARE
                   ) -> list[tuple[str, str]]:
    """The most frequent (field, word) pairs, up to ``budget`` postings in all."""
    least = max(1, int(min_share * size))
    chosen, total = [], 0
    for key, entry in sorted(terms.items(), key=lambda item: -item[1][0]):
        if key[0] == "spelling":
            continue  # known to exist, never read
        if entry[0] < least or total + entry[0] > budget:
            break
        chosen.append(key)
        total += entry[0]
    return chosen


def _file_identities(folder: Path, files: dict) -> dict[str, tuple | None]:
    found = {}
    for name in [".", *files]:  # the folder too: a generation deleted whole is noticed
        try:
            info = os.stat(folder / name)
            found[name] = (info.st_size, info.st_mtime_ns, info.st_ino)
        except OSError:
            found[name] = None
    return found


def open_snapshot(index_dir: Path, generation: str) -> Snapshot:
    """Open a generation for searching; IndexNotBuilt if it is of another schema or its
    files do not match the checksums of its manifest."""
    folder = index_dir / generation
    manifest = store.read_manifest(folder)
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexNotBuilt(f"index {folder} has schema version "
                            f"{manifest.get('schema_version')}, expected {SCHEMA_VERSION}; "
                            "run `monosearch reindex --full`")
    if store.unverified(manifest):
        log.warning("generation %s has no checksums (built by an older version): served "
                    "unverified; the next reindex rebuilds it in full", generation)
    else:
        problem = store.damage(folder, manifest)
        if problem is not None:
            raise IndexNotBuilt(f"index {folder} is damaged: {problem}")
    try:
        readers = store.hold_generation(folder)
    except OSError as err:
        raise IndexNotBuilt(f"index {folder} cannot be opened ({err})") from err
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
        readers.close()
        raise IndexNotBuilt(f"index {folder} cannot be opened ({problem})")
    reader = searcher.reader()
    facets = build_facet_table(reader, manifest)
    drug = facets.facets["drug"]
    drug_of = drug.dense  # one drug per section: the facet's own code per docnum
    if drug_of is None:
        raise IndexNotBuilt(f"index {folder} has sections with two drugs; "
                            "run `monosearch reindex --full`")
    positions = reader.column_reader("position")
    position = np.fromiter((positions[d] for d in range(facets.size)), dtype=np.int64,
                           count=facets.size)
    order = np.lexsort((position, drug_of))
    snapshot = Snapshot(
        generation=generation, index_dir=index_dir, index=index, searcher=searcher,
        parser=build_parser(searcher.schema), facets=facets, manifest=manifest,
        lexicon=Lexicon(manifest.get("monographs", {}), default_vocabulary(),
                        manifest.get("names")),
        drug_of=drug_of, browse_order=order[facets.live[order]], readers=readers,
    )
    snapshot.remember_files()
    _warm(snapshot)
    # An app dropped without close() still closes its files and lets go of the
    # generation when collected.
    snapshot.release = weakref.finalize(snapshot, _release, searcher, index, readers)
    return snapshot


def _release(searcher, index, readers) -> None:
    searcher.close()
    index.close()
    readers.close()  # lets the reindex garbage-collect this generation


def _warm(snapshot: Snapshot) -> None:
    """Pay once per generation, not on a reader's first query: field lengths for
    scoring and the stored-field columns (opening one costs ~12 ms)."""
    for name in SEARCH_FIELDS:
        snapshot.scorer.field_lengths(name)
    snapshot.spelling  # noqa: B018 - built now rather than on the first misspelt query
    live = np.flatnonzero(snapshot.facets.live)
    if live.size:
        snapshot.searcher.stored_fields(int(live[0]))
