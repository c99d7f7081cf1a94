"""The numpy scorer against Whoosh: the same postings, lengths, scores and top K."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query

from search.request import SearchRequest
from search.whoosh.matching import generic_postings, read_postings
from search.whoosh.reading import read_request
from search.whoosh.schema import SEARCH_FIELDS
from search.whoosh.scoring import top

WORDS = ["nausea", "dose", "warfarin", "blood", "clots", "infections", "qqzz", "risk",
         "side", "effects", "pregnancy", "liver", "alopecia", "hair", "loss", "coumadin",
         "tylenol", "heart", "attack", "kidney", "how", "does", "work"]


def _snapshot(backend):
    backend.health()
    return backend._snapshot


def whoosh_scores(searcher, q) -> dict[int, float]:
    """Every match of q and its score, from Whoosh's own matchers."""
    return {hit.docnum: hit.score for hit in searcher.search(q, limit=None)}


def reference(searcher, q, live: set[int]) -> dict[int, float]:
    """Scores combined in plain Python from Whoosh's scores of each term: an independent
    computation of what the query tree means (sum for And/Or/AndMaybe, max for
    DisjunctionMax, boosts multiply)."""
    kind = type(q)
    if kind is query.Term:
        return whoosh_scores(searcher, q)
    if kind in (query.Or, query.And, query.DisjunctionMax):
        parts = [reference(searcher, p, live) for p in q.subqueries]
        if len(parts) == 1:
            return parts[0]
        if kind is query.And:
            docs = set.intersection(*(set(p) for p in parts))
            combined = {d: sum(p[d] for p in parts) for d in docs}
        elif kind is query.Or:
            docs = set().union(*parts)
            combined = {d: sum(p.get(d, 0.0) for p in parts) for d in docs}
        else:
            docs = set().union(*parts)
            combined = {d: max(p[d] for p in parts if d in p) for d in docs}
        return {d: s * q.boost for d, s in combined.items()}
    if kind is query.AndMaybe:
        a, b = reference(searcher, q.a, live), reference(searcher, q.b, live)
        return {d: s + b.get(d, 0.0) for d, s in a.items()}
    if kind is query.Not:
        excluded = reference(searcher, q.query, live)
        return {d: 1.0 for d in live - set(excluded)}
    return whoosh_scores(searcher, q)


def assert_same_scores(snapshot, q) -> None:
    live = set(np.flatnonzero(snapshot.facets.live).tolist())
    expected = {d: s for d, s in reference(snapshot.searcher, q, live).items() if d in live}
    mask, scores = snapshot.scorer.evaluate(q)
    mask &= snapshot.facets.live
    assert set(np.flatnonzero(mask).tolist()) == set(expected)
    for docnum, score in expected.items():
        assert math.isclose(scores[docnum], score, rel_tol=1e-9, abs_tol=1e-12), (q, docnum)
    ranked = sorted(expected, key=lambda d: (-expected[d], d))
    for limit in (1, 10, 50):
        ours = [d for d, _ in top(scores, mask, limit)]
        # Equal up to floating-point ties, which may order either way.
        assert [round(expected[d], 9) for d in ours] == [round(expected[d], 9)
                                                         for d in ranked[:limit]]


@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS + ["OR", "NOT", "AND", "-", '"']), min_size=1,
                max_size=6), st.booleans())
def test_scores_equal_whooshs(corpus_backend, tokens, understood):
    snapshot = _snapshot(corpus_backend)
    text = " ".join(tokens).replace("- ", "-")
    reading = read_request(snapshot, SearchRequest(q=text, literal=not understood))
    match, rank = reading.match, reading.rank
    if match is None:
        return
    assert_same_scores(snapshot, query.AndMaybe(match, rank) if rank is not None else match)


@pytest.mark.parametrize("text", ["nausea", "hair loss", "dose OR liver",
                                  "blood AND NOT pregnancy", "risk -pregnancy",
                                  "warfarin^3 OR clots", "(side OR effects) AND dose",
                                  "(dose OR liver)^2 OR clots"])
def test_whole_tree_equals_whoosh_search(corpus_backend, text):
    """Literal queries (no DisjunctionMax, whose Whoosh matcher takes the max across
    different documents): the scores equal searcher.search()'s for the whole tree."""
    snapshot = _snapshot(corpus_backend)
    match = read_request(snapshot, SearchRequest(q=text, literal=True)).match
    expected = whoosh_scores(snapshot.searcher, match)
    assert expected
    mask, scores = snapshot.scorer.evaluate(match)
    assert set(np.flatnonzero(mask & snapshot.facets.live).tolist()) == set(expected)
    assert all(math.isclose(scores[d], s, rel_tol=1e-9) for d, s in expected.items())


def test_block_postings_equal_whooshs_matchers(corpus_backend):
    snapshot = _snapshot(corpus_backend)
    reader = snapshot.searcher.reader()
    checked = multi_block = 0
    for field in ("body", "heading", "section", "indications", "drug"):
        for text in list(reader.lexicon(field))[:400]:
            ids, weights = read_postings(reader, field, text)
            slow_ids, slow_weights = generic_postings(reader.postings(field, text))
            assert np.array_equal(ids, slow_ids) and np.array_equal(weights, slow_weights)
            checked += 1
            multi_block += ids.size > 128
    assert checked > 500 and multi_block > 0  # Whoosh's blocks hold 128 postings


def test_field_lengths_equal_whooshs(corpus_backend):
    snapshot = _snapshot(corpus_backend)
    searcher = snapshot.searcher
    for field in SEARCH_FIELDS:
        lengths = snapshot.scorer.field_lengths(field)
        for docnum in range(snapshot.facets.size):
            expected = searcher.doc_field_length(docnum, field, 0) or 0
            assert lengths[docnum] == expected, (field, docnum)


def test_top_orders_by_score_then_docnum():
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 0.5])
    mask = np.array([True, True, False, True, True, True])
    assert top(scores, mask, 3) == [(1, 3.0), (4, 3.0), (3, 2.0)]
    assert top(scores, mask, 1) == [(1, 3.0)]
    assert top(scores, mask, 0) == []
    assert [d for d, _ in top(scores, mask, 10)] == [1, 4, 3, 0, 5]


def test_boosted_compounds_and_dismax(corpus_backend):
    snapshot = _snapshot(corpus_backend)
    dose, liver, clots = (query.Term("body", w) for w in ("dose", "liver", "clot"))
    for q in (query.Or([dose, liver], boost=2.5), query.And([dose, liver], boost=0.5),
              query.DisjunctionMax([dose, liver, clots], boost=3.0),
              query.Or([query.DisjunctionMax([dose, liver]), clots]),
              query.AndMaybe(query.Or([dose, clots]), query.Term("section", "dosage",
                                                                  boost=10.0))):
        assert_same_scores(snapshot, q)


def test_lru_keeps_the_recently_used_within_its_cost():
    from search.whoosh.matching import Lru

    made = []
    cache = Lru(10, cost=len)

    def make(value):
        def build():
            made.append(value)
            return value
        return build

    assert cache.get("a", make("aaaa")) == "aaaa"
    cache.get("b", make("bbbb"))
    assert cache.get("a", make("other")) == "aaaa"  # a hit: not made again
    cache.get("c", make("cccc"))  # 12 > 10: the least recently used ("b") goes
    assert cache.get("b", make("BBBB")) == "BBBB"
    assert made == ["aaaa", "bbbb", "cccc", "BBBB"]
    assert cache.get("huge", make("x" * 50)) == "x" * 50  # over budget alone: still kept


def test_positions_equal_whooshs_decoding(corpus_backend):
    from search.whoosh.matching import POSITION_STRIDE, read_positions

    snapshot = _snapshot(corpus_backend)
    reader = snapshot.searcher.reader()
    checked = 0
    for field in ("body", "heading"):
        for text in list(reader.lexicon(field))[:300]:
            expected = []
            matcher = reader.postings(field, text)
            while matcher.is_active():
                expected += [matcher.id() * POSITION_STRIDE + p
                             for p in matcher.value_as("positions")]
                matcher.next()
            assert read_positions(reader, field, text).tolist() == expected
            checked += len(expected)
    assert checked > 2000
