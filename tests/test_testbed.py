"""Relevance floors on the large test bed's judged questions (bench/testbed.py), on a
smaller build of it: every judged monograph with its salt and route variants and
combinations, and several hundred generated drugs around them.

The full bed (6,400 monographs) is measured by `python -m bench --testbed`; the figures
are in the README. Floors sit a little under what this smaller bed measured, for the
set used while tuning and for the held-out set written by someone who never saw the
engine."""

import pytest

from bench.testbed import QUESTION_SETS, generate_testbed
from search.evaluation import backend_search, evaluate, load_judgments
from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex

QUERIES, HOLDOUT = QUESTION_SETS["tuning"], QUESTION_SETS["holdout"]
BED_MONOGRAPHS = 800
FLOORS = {
    QUERIES: {"drug_hit1": 0.93, "drug_hit10": 0.97, "drug_mrr": 0.95, "section_hit10": 0.96,
              "zero_result_rate": 0.01},
    HOLDOUT: {"drug_hit1": 0.87, "drug_hit10": 0.93, "drug_mrr": 0.89, "section_hit10": 0.92,
              "zero_result_rate": 0.01},
}


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("testbed")
    plans = generate_testbed(folder / "corpus", BED_MONOGRAPHS)
    report = reindex(folder / "corpus", folder / "index")
    rejected = {p.path for p in plans if p.layout == "unstructured"}
    assert {error.path.split("corpus/")[1] for error in report.errors} == rejected
    backend = WhooshBackend(folder / "index")
    yield plans, backend
    backend.close()


def test_every_judged_monograph_is_in_the_bed(testbed):
    plans, _ = testbed
    slugs = {p.slug for p in plans}
    for path in (QUERIES, HOLDOUT):
        judgments = load_judgments(path)
        assert len(judgments) >= 300
        assert len({j["q"] for j in judgments}) == len(judgments)
        for judgment in judgments:
            assert {entry.split("#")[0] for entry in judgment["relevant"]} <= slugs


def test_drifted_pages_are_indexed(testbed):
    plans, backend = testbed
    drifted = [p for p in plans if p.layout not in ("standard", "repeated", "unstructured")]
    assert drifted
    for plan in drifted:
        body = backend.search(SearchRequest(q="", drug=(plan.slug,), per_page=20))
        assert {hit["section"] for hit in body["results"]} >= {"usage", "dosage"}, plan


@pytest.mark.parametrize("path", [QUERIES, HOLDOUT], ids=["tuning", "holdout"])
def test_relevance_floors_on_the_test_bed(testbed, path):
    _, backend = testbed
    report = evaluate(load_judgments(path), backend_search(backend))
    for metric, floor in FLOORS[path].items():
        if metric == "zero_result_rate":
            assert report[metric] <= floor, (metric, report[metric])
        else:
            assert report[metric] >= floor, (metric, report[metric], report["misses"][:20])
