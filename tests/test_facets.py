"""The Whoosh backend's facet counting: its flat list's per-drug cap (``listed``), its
per-drug and dense counting paths. Counts against the brute force for both backends are
in tests/test_conformance.py."""

import random
from collections import Counter

import numpy as np
import pytest

from search.request import SearchRequest
from tests.brute import FACETS, brute_force, plain_sections

QUERIES = ["", "infections", "dose", "blood", "pregnancy", "nonexistentword"]


@pytest.fixture(scope="module")
def documents(built):
    return plain_sections(built[0])


@pytest.fixture(scope="module")
def labels(backend):
    # Display labels come from the API's own drug records; counts are what is tested.
    everything = backend.search(SearchRequest())
    return {f: {b["value"]: b["label"] for b in everything["facets"][f]} for f in FACETS}


def random_filters(rng, documents):
    values = {f: sorted({v for d in documents for v in d[f]}) for f in FACETS}
    return {f: tuple(rng.sample(values[f] + ["unknown-value"], rng.choice([0, 0, 1, 1, 2])))
            for f in FACETS}


def test_facet_counts_equal_brute_force(backend, documents, labels):
    rng = random.Random(2024)
    combinations = [(q, random_filters(rng, documents)) for q in QUERIES for _ in range(25)]
    checked_nonzero = 0
    for q, filters in combinations:
        # literal: the brute force matches words as typed, without query understanding
        body = backend.search(SearchRequest(
            q=q, per_page=100, literal=True, drug=filters["drug"],
            indication=filters["indication"], section=filters["section"],
            drug_class=filters["class"]))
        selected, facets = brute_force(documents, labels, q, filters)
        total = len(selected)
        assert (body["total"], body["facets"]) == (total, facets), (q, filters)
        # The flat list shows three sections of a drug at most, unless one drug matches
        # or the filter names one drug.
        per_drug = Counter(section.split("#")[0] for section in selected)
        listed = total if len(per_drug) < 2 or len(filters["drug"]) == 1 or not q \
            else sum(min(n, 3) for n in per_drug.values())
        assert body["listed"] == listed
        assert len(body["results"]) == min(listed, 100)
        checked_nonzero += total > 0
    assert checked_nonzero > len(combinations) // 4  # the sample exercises real matches


def test_empty_query_without_filters_counts_the_whole_index(backend, documents):
    body = backend.search(SearchRequest())
    assert body["total"] == len(documents)
    assert sum(b["count"] for b in body["facets"]["drug"]) == len(documents)
    assert sum(b["count"] for b in body["facets"]["section"]) == len(documents)


def test_selected_values_are_listed_even_with_zero_count(backend):
    body = backend.search(SearchRequest(q="alopecia", drug=("warfarin", "no-such-drug")))
    drug = {b["value"]: b for b in body["facets"]["drug"]}
    assert drug["warfarin"] == {"value": "warfarin", "label": "Warfarin", "count": 0,
                                "selected": True}
    assert drug["no-such-drug"]["count"] == 0 and drug["no-such-drug"]["selected"]
    assert body["total"] == 0


def test_per_drug_and_dense_counts_equal_the_document_pairs(backend):
    """The two shortcuts against the plain (document, value) pairs, on random scopes."""
    from dataclasses import replace

    from search.whoosh.facets import FacetTable

    backend.health()
    table = backend._snapshot.facets
    assert table.facets["indication"].drug_pairs is not None  # the shortcut is in use
    assert table.facets["section"].dense is not None
    plain = FacetTable(size=table.size, live=table.live, facets={
        name: replace(facet, dense=None, drug_pairs=None)
        for name, facet in table.facets.items()})
    rng = np.random.default_rng(4)
    for _ in range(50):
        matched = rng.random(table.size) < rng.random()
        filters = {"drug": (), "indication": (), "section": (), "class": ()}
        if rng.random() < 0.5:
            filters["section"] = tuple(rng.choice(table.facets["section"].values, 2))
        assert table.count(matched, filters)[1] == plain.count(matched, filters)[1]


def test_per_drug_counting_is_refused_when_sections_of_a_drug_differ(backend):
    from search.whoosh.facets import _drug_pairs

    backend.health()
    table = backend._snapshot.facets
    facet, drug = table.facets["indication"], table.facets["drug"]
    assert _drug_pairs(facet, drug, table.live) is not None
    # Drop one (section, indication) pair: that section no longer has all its drug's.
    keep = np.ones(facet.docs.size, dtype=bool)
    keep[0] = False
    from dataclasses import replace
    broken = replace(facet, docs=facet.docs[keep], codes=facet.codes[keep])
    assert _drug_pairs(broken, drug, table.live) is None
