"""Postings and word positions read from Whoosh once per generation, as numpy arrays.

Facet counts need every match, not just the top ten, and Whoosh finds them by walking
its matcher tree one document at a time in Python. Here each term's documents, weights
and positions are read a block at a time and kept in LRU caches per generation;
search/scoring.py combines them into match masks and scores.
"""

from __future__ import annotations

import threading

import cachetools
import numpy as np

from . import adapter

# Postings kept per generation, counted in entries (16 bytes each: docnum and weight) plus
# one per term, so that the many absent or rare words of long questions stay cheap.
POSTING_CACHE_ENTRIES = 4_000_000
POSITION_CACHE_ENTRIES = 4_000_000  # word positions kept per generation (8 bytes each)


class Lru:
    """A thread-safe least-recently-used cache bounded by a total cost (1 per entry by
    default). Values are made outside the lock: two threads may both make one."""

    def __init__(self, capacity: int, cost=lambda value: 1):
        self.capacity = capacity
        self.cost = cost
        # cachetools refuses a value costing more than its whole budget; such a value is
        # kept anyway, alone and counted as the whole budget, until the next one comes.
        budget = max(capacity, 1)
        self._items = cachetools.LRUCache(budget,
                                          getsizeof=lambda value: min(cost(value), budget))
        self._alone = None  # the key of a value over the budget, while it is kept
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def has(self, key) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key, make):
        with self._lock:
            found = self._items.get(key)  # a hit becomes the most recently used
            if found is not None:
                return found
        found = make()
        with self._lock:
            if key not in self._items:
                alone = self.cost(found) > self.capacity
                if alone:
                    self._items.clear()
                elif self._alone is not None:
                    self._items.pop(self._alone, None)
                self._items[key] = found  # evicts the least recently used to fit
                self._alone = key if alone else None
        return found


class PostingCache:
    """Document numbers, weights and positions of (field, term) pairs for one searcher,
    least recently used out."""

    def __init__(self, searcher, capacity: int = POSTING_CACHE_ENTRIES):
        self.searcher = searcher
        self._postings = Lru(capacity, cost=lambda found: found[0].size + 1)
        # Positions are kept within a budget of entries rather than of terms, since a
        # common word has hundreds of thousands.
        self._positions = Lru(POSITION_CACHE_ENTRIES, cost=lambda found: found.size)

    # Which segments hold each word of the searched fields, once listed (None before):
    # an absent word then costs a dict lookup, not a hash lookup in every segment.
    segments: dict | None = None

    def postings(self, field: str, text) -> tuple[np.ndarray, np.ndarray]:
        """(ascending docnums, posting weights) of a term; empty arrays when absent."""
        return self._postings.get((field, text), lambda: self._read(field, text))

    def _read(self, field: str, text) -> tuple[np.ndarray, np.ndarray]:
        listed = self.segments
        if listed is None or field not in LISTED_FIELDS:
            return read_postings(self.searcher.reader(), field, text)
        entry = listed.get((field, text))
        if entry is None:
            return _EMPTY
        return read_postings(self.searcher.reader(), field, text, set(entry[1:]))

    def positions(self, field: str, text) -> np.ndarray:
        """Every occurrence of a term as docnum * POSITION_STRIDE + word position,
        ascending."""
        return self._positions.get((field, text), lambda: read_positions(
            self.searcher.reader(), field, text))


def read_postings(reader, field: str, text, only: set[int] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """All (docnum, weight) postings of a term across the reader's segments (or the
    segments numbered in ``only``, the ones known to hold it)."""
    schema = reader.schema
    if field not in schema:
        return _EMPTY
    try:
        btext = schema[field].to_bytes(text)
    except ValueError:
        return _EMPTY
    ids, weights = [], []
    for number, (leaf, base) in enumerate(reader.leaf_readers()):
        if (only is not None and number not in only) or (field, btext) not in leaf:
            continue
        leaf_ids, leaf_weights = leaf_postings(leaf.postings(field, btext))
        ids.append(leaf_ids + base)
        weights.append(leaf_weights)
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def leaf_postings(matcher) -> tuple[np.ndarray, np.ndarray]:
    if adapter.has_blocks(matcher):
        # A block at a time: Whoosh's per-posting id()/weight()/next() calls cost ~1 us
        # each, which is 70 ms for a word in every section of 70k. These are the block
        # arrays those calls read from (whoosh-reloaded is pinned; the generic loop
        # below is checked against this in tests/test_scoring.py).
        ids, weights = [], []
        for block_ids, block_weights in adapter.read_weight_blocks(matcher):
            ids.append(np.asarray(block_ids, dtype=np.int64))
            weights.append(np.asarray(block_weights, dtype=np.float64))
        if not ids:
            return _EMPTY
        return np.concatenate(ids), np.concatenate(weights)
    return generic_postings(matcher)


def generic_postings(matcher) -> tuple[np.ndarray, np.ndarray]:
    """The same arrays through Whoosh's public matcher interface, one posting at a time."""
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


# Fields whose words a server lists after a swap (snapshot.list_terms): the searched
# fields, the facet and keyword fields queries name, and the spelling field (whose words
# are only looked up, never read).
LISTED_FIELDS = ("drug_name", "heading", "section_terms", "body", "drug", "section",
                 "indications", "drug_class", "ingredients", "spelling")
POSITION_STRIDE = 1 << 32  # a docnum and a word position in one int64

# Whoosh's Positions format stores a count and the pickled list of position gaps; one
# position under 65,536, by far the commonest posting, always looks like this:
_ONE_SMALL = b"\x00\x00\x00\x01\x80\x02]q\x00K"  # + 1 byte + b"a."
_ONE_MEDIUM = b"\x00\x00\x00\x01\x80\x02]q\x00M"  # + 2 bytes (little end) + b"a."


def _position_decoder(decode):
    """decode_positions with the single-position case read straight from the bytes
    (4x faster than unpickling; anything else goes to Whoosh's own decoder, and the
    tests compare both on every posting)."""
    def fast(value: bytes) -> list[int]:
        if len(value) == 13 and value.startswith(_ONE_SMALL) and value.endswith(b"a."):
            return [value[10]]
        if len(value) == 14 and value.startswith(_ONE_MEDIUM) and value.endswith(b"a."):
            return [value[10] | value[11] << 8]
        return decode(value)
    return fast


def read_positions(reader, field: str, text) -> np.ndarray:
    """All (docnum, position) occurrences of a term, packed as docnum * STRIDE + pos."""
    schema = reader.schema
    if field not in schema or not schema[field].format.supports("positions"):
        return _EMPTY[0]
    try:
        btext = schema[field].to_bytes(text)
    except ValueError:
        return _EMPTY[0]
    decode = _position_decoder(schema[field].format.decode_positions)
    docs: list[np.ndarray] = []
    positions: list[int] = []
    counts: list[int] = []
    for leaf, base in reader.leaf_readers():
        if (field, btext) not in leaf:
            continue
        matcher = leaf.postings(field, btext)
        if adapter.has_blocks(matcher):
            # A block at a time, as in leaf_postings.
            for block_ids, values in adapter.read_value_blocks(matcher):
                for value in values:
                    found = decode(value)
                    positions.extend(found)
                    counts.append(len(found))
                docs.append(np.asarray(block_ids, dtype=np.int64) + base)
        else:
            ids = []
            while matcher.is_active():
                found = decode(matcher.value())
                positions.extend(found)
                counts.append(len(found))
                ids.append(matcher.id())
                matcher.next()
            docs.append(np.array(ids, dtype=np.int64) + base)
    if not counts:
        return _EMPTY[0]
    owners = np.repeat(np.concatenate(docs), counts)
    return owners * POSITION_STRIDE + np.array(positions, dtype=np.int64)


_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
_EMPTY[0].flags.writeable = False
_EMPTY[1].flags.writeable = False
