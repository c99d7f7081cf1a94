"""Ranking from cached postings: Whoosh's BM25F computed with numpy, and the top K.

Whoosh scores a query by walking its matcher tree one posting at a time in Python: at
70k sections its top-10 takes 40 ms (median), before any facet is counted. The same sums
over the posting arrays cached per generation (search/matching.py) take about a
millisecond; phrases are matched on cached word positions. A node this module does not
know (a phrase with slop, a wildcard; our parser makes neither) is scored by Whoosh's
own matcher. tests/test_scoring.py compares scores and rankings with Whoosh's on random
queries.
"""

from __future__ import annotations

import numpy as np
from whoosh import query
from whoosh.util.numeric import byte_to_length, length_to_byte

from . import adapter
from .matching import POSITION_STRIDE, Lru, PostingCache

# An Or of children holding more than 1/DENSE_UNION_SHARE of all documents is summed
# into a dense array rather than sorted.
DENSE_UNION_SHARE = 16
TERM_SCORE_CACHE = 4_000_000  # scores kept per generation (8 bytes each, plus 1 a term)

_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
# Whoosh stores each field length as one byte; these are the lengths the bytes stand for.
_BYTE_LENGTHS = np.array([0.0] + [float(byte_to_length(b)) for b in range(1, 256)])


class Scorer:
    """Scores one generation's documents for Whoosh queries, as Whoosh's BM25F would."""

    def __init__(self, searcher, postings: PostingCache, size: int,
                 capacity: int = TERM_SCORE_CACHE):
        self.searcher = searcher
        self.postings = postings
        self.size = size  # docnums run from 0 to size - 1 (deleted ones included)
        weighting = searcher.weighting
        self.k1 = weighting.K1
        self.b_default = weighting.B
        self.b_field = adapter.field_b_values(weighting)
        self._lengths: dict[str, np.ndarray] = {}
        self._terms = Lru(capacity, cost=lambda found: found.size + 1)

    # -- terms -------------------------------------------------------------------
    def term_scores(self, field: str, text) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25F scores) of one term, unboosted."""
        ids, weights = self.postings.postings(field, text)
        scores = self._terms.get((field, text),
                                 lambda: self._score_term(field, text, ids, weights))
        return ids, scores

    def _score_term(self, field: str, text, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if ids.size == 0 or not self.searcher.schema[field].scorable:
            return weights  # Whoosh's WeightScorer for unscored fields (ID, KEYWORD)
        idf = self.searcher.idf(field, text)
        average = self.searcher.avg_field_length(field) or 1
        lengths = self.field_lengths(field)[ids]
        b = self.b_field.get(field, self.b_default)
        k1 = self.k1
        # The same operations in the same order as whoosh.scoring.bm25, so equal floats.
        return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / average)))

    def field_lengths(self, field: str) -> np.ndarray:
        """Every document's length in a field, as Whoosh decodes it for scoring."""
        found = self._lengths.get(field)
        if found is None:
            found = np.zeros(self.size, dtype=np.float64)
            for leaf, base in self.searcher.reader().leaf_readers():
                count = leaf.doc_count_all()
                codes = _length_bytes(leaf, field, count)
                found[base:base + count] = _BYTE_LENGTHS[codes]
            self._lengths[field] = found
        return found

    # -- queries -----------------------------------------------------------------
    def evaluate(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        """(match mask, scores) over all documents; scores mean nothing outside the mask.
        Deleted documents are not removed here (the engine applies the live mask)."""
        ids, scores = self.matches(q)
        mask = np.zeros(self.size, dtype=bool)
        mask[ids] = True
        dense = np.zeros(self.size, dtype=np.float64)
        dense[ids] = scores
        return mask, dense

    def matches(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        """(ascending docnums, their scores) of the documents a query matches.

        Kept sparse to the end: a question of a dozen words over four fields is about
        fifty nodes, and a dense array per node cost more than the postings themselves
        (50 ms at 50k sections before; under 2 ms now)."""
        kind = type(q)
        if q is query.NullQuery:
            return _NONE
        if kind is query.Term:
            ids, term = self.term_scores(q.fieldname, q.text)
            return ids, (term * q.boost if q.boost != 1 else term)
        if kind in (query.Or, query.And, query.DisjunctionMax) and not (
                getattr(q, "minmatch", 0) or getattr(q, "scale", None)):
            return self._compound(q, kind)
        if kind is query.AndMaybe:  # the optional side only adds to the score
            ids, scores = self.matches(q.a)
            extra_ids, extra = self.matches(q.b)
            _, mine, theirs = np.intersect1d(ids, extra_ids, assume_unique=True,
                                             return_indices=True)
            scores = scores.copy()
            scores[mine] += extra[theirs]
            return ids, scores
        if kind is query.AndNot:
            ids, scores = self.matches(q.a)
            keep = ~_contains(self.matches(q.b)[0], ids)
            return ids[keep], scores[keep]
        if kind is query.Phrase and q.slop == 1 and q.words:
            return self._phrase(q)
        if kind is query.Not:  # Whoosh's InverseMatcher scores every match 1.0
            inner = self.matches(q.query)[0]
            ids = np.setdiff1d(np.arange(self.size, dtype=np.int64), inner, assume_unique=True)
            return ids, np.ones(ids.size, dtype=np.float64)
        return self._whoosh(q)

    def _compound(self, q, kind) -> tuple[np.ndarray, np.ndarray]:
        parts = q.subqueries
        if not parts:
            return _NONE
        if len(parts) == 1:
            return self.matches(parts[0])  # Whoosh drops the boost of a lone child too
        found = [self.matches(part) for part in parts]
        if kind is query.And:
            ids, scores = found[0]
            for part_ids, part_scores in found[1:]:
                ids, mine, theirs = np.intersect1d(ids, part_ids, assume_unique=True,
                                                   return_indices=True)
                scores = scores[mine] + part_scores[theirs]
        else:
            every = np.concatenate([ids for ids, _ in found])
            values = np.concatenate([scores for _, scores in found])
            if kind is query.Or and every.size * DENSE_UNION_SHARE > self.size:
                # Many postings: summing into an array of every document beats sorting
                # them (a sum in the children's order, as Whoosh adds them).
                counts = np.bincount(every, minlength=self.size)
                ids = np.flatnonzero(counts)
                scores = np.bincount(every, weights=values, minlength=self.size)[ids]
            else:
                ids, places = np.unique(every, return_inverse=True)
                if kind is query.DisjunctionMax:
                    scores = np.full(ids.size, -np.inf)
                    np.maximum.at(scores, places, values)
                else:
                    scores = np.bincount(places, weights=values, minlength=ids.size)
            scores = scores.astype(np.float64, copy=False)
        if q.boost != 1:
            scores = scores * q.boost
        return ids, scores

    def _phrase(self, q: query.Phrase) -> tuple[np.ndarray, np.ndarray]:
        """Words at consecutive positions (Whoosh's SpanNear2 with slop 1, which is what
        a quoted phrase parses to), scored as the sum of its words' scores."""
        field = q.fieldname
        if field not in self.searcher.schema:
            return _NONE
        if not self.searcher.schema[field].format.supports("positions"):
            return self._whoosh(q)  # Whoosh's own error for a field without positions
        terms = [self.term_scores(field, word) for word in q.words]
        if any(ids.size == 0 for ids, _ in terms):
            return _NONE
        candidates = terms[0][0]
        for ids, _ in terms[1:]:
            candidates = np.intersect1d(candidates, ids, assume_unique=True)
        starts = self.postings.positions(field, q.words[0])
        starts = starts[_contains(candidates, starts // POSITION_STRIDE)]
        for offset, word in enumerate(q.words[1:], start=1):
            if starts.size == 0:
                break
            starts = starts[_contains(self.postings.positions(field, word), starts + offset)]
        ids = np.unique(starts // POSITION_STRIDE)
        scores = np.zeros(ids.size, dtype=np.float64)
        for term_ids, term in terms:
            scores += term[np.searchsorted(term_ids, ids)]
        if q.boost != 1:
            scores *= q.boost
        return ids, scores

    def _whoosh(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        ids, scores = [], []
        matcher = q.matcher(self.searcher)
        while matcher.is_active():
            ids.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
        order = np.argsort(np.array(ids, dtype=np.int64), kind="stable")
        return (np.array(ids, dtype=np.int64)[order],
                np.array(scores, dtype=np.float64)[order])


def top(scores: np.ndarray, mask: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The best `limit` of the masked documents: highest score first, then lowest docnum,
    which is the order of Whoosh's top-N collector."""
    candidates = np.flatnonzero(mask)
    if limit <= 0 or candidates.size == 0:
        return []
    values = scores[candidates]
    if candidates.size > limit:
        # Keep everything tied with the limit-th score, then order exactly.
        threshold = np.partition(values, candidates.size - limit)[candidates.size - limit]
        keep = values >= threshold
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))[:limit]
    return [(int(candidates[i]), float(values[i])) for i in order]


def _contains(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which values occur in an ascending array (np.isin without its sort)."""
    if ordered.size == 0:
        return np.zeros(values.size, dtype=bool)
    places = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    return ordered[places] == values


def _length_bytes(leaf, field: str, count: int) -> np.ndarray:
    """The stored length byte of every document of one segment in one field."""
    raw = adapter.read_length_bytes(leaf, field, count)
    if raw is not None:
        # The W3 codec keeps lengths as a one-byte column: read it as one slice rather
        # than 70k calls (0.23 s on the first query of a generation). The tests compare
        # it with doc_field_length for every document.
        codes = np.zeros(count, dtype=np.uint8)
        codes[:len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        return codes
    lengths = [leaf.doc_field_length(d, field, 0) for d in range(count)]
    return np.array([length_to_byte(n) if n else 0 for n in lengths], dtype=np.uint8)
