"""One conformance suite, run for both backends over the bundled corpus (corpus/): the
embedded Whoosh index and a real Typesense server synced from the same folder.

Every answer is checked against something the backend did not compute: the OpenAPI
document's schemas, the brute-force counts of tests/brute.py, the judged relevance
set and its floors, and the request validation's fixed messages. Backend-specific
behaviour (Whoosh's generations and crash safety, Typesense's sync and cluster) stays
in the backends' own test modules.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jsonschema_rs
import pytest

from search import DISCLAIMER
from search.corpus.facts import drug_facts
from search.corpus.parsing import iter_corpus
from search.corpus.sections import SECTION_TYPES, section_label
from search.corpus.vocabulary import default_vocabulary
from search.evaluation import backend_search, evaluate, load_judgments
from search.request import SearchRequest
from search.response import GROUP_SECTIONS
from search.typesense.backend import TypesenseBackend
from search.typesense.client import TypesenseClient
from search.typesense.sync import sync_typesense
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from tests.brute import FACETS, brute_force, facet_disagreement, plain_sections
from tests.conftest import DATA, ROOT
from tests.test_relevance import FLOORS, HOLDOUT, HOLDOUT_FLOORS, JUDGED
from web import create_app
from web.openapi import openapi_document

CORPUS = ROOT / "corpus"
BACKENDS = ["whoosh", "typesense"]
# Literal queries (no rewrites), so that the brute-force count applies word for word.
COUNTED = ["", "infections", "dose", "blood", "pregnancy", "kidney function",
           "nonexistentword"]


@dataclass
class Engine:
    name: str
    backend: object  # WhooshBackend | TypesenseBackend
    web: object  # a Flask test client of an app on that backend


def _open(name: str, corpus: Path, folder: Path, server, collection: str):
    """(backend, app) over ``corpus`` on the named backend."""
    if name == "whoosh":
        index = folder / "index"
        assert reindex(corpus, index).errors == []
        app = create_app({"TESTING": True, "INDEX_DIR": str(index),
                          "CORPUS_DIR": str(corpus)})
        return WhooshBackend(index), app
    client = TypesenseClient(server.url, server.api_key)
    try:
        assert sync_typesense(corpus, client, collection).errors == []
    finally:
        client.close()
    app = create_app({"TESTING": True, "BACKEND": "typesense", "TYPESENSE_URL": server.url,
                      "TYPESENSE_KEY": server.api_key, "TYPESENSE_COLLECTION": collection,
                      "CORPUS_DIR": str(corpus)})
    return TypesenseBackend(server.url, server.api_key, collection), app


def _engine(request, tmp_path_factory, collection: str, fill=None):
    """An Engine on the backend ``request.param`` names, over ``corpus/`` or over the
    corpus ``fill(folder)`` writes; closed after its module."""
    server = request.getfixturevalue("typesense_server") if request.param == "typesense" \
        else None
    folder = tmp_path_factory.mktemp(f"{collection}-{request.param}")
    corpus = CORPUS
    if fill is not None:
        corpus = folder / "corpus"
        fill(corpus)
    backend, app = _open(request.param, corpus, folder, server, collection)
    yield Engine(request.param, backend, app.test_client())
    app.extensions["monosearch"].close()
    backend.close()


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request, tmp_path_factory):
    yield from _engine(request, tmp_path_factory, "conformance")


@pytest.fixture(scope="module", params=BACKENDS)
def hostile(request, tmp_path_factory):
    """Both backends over tests/data/xss, monographs full of markup."""
    yield from _engine(request, tmp_path_factory, "hostile",
                       lambda corpus: shutil.copytree(DATA / "xss", corpus))


def _salt_titled(corpus: Path) -> None:
    """Monographs titled as real corpora title them, with their salt, and no brands in
    their front matter: only the linked names know Coumadin or Ventolin."""
    corpus.mkdir()
    for source, title, slug in (
            ("warfarin", "Warfarin Sodium", "warfarin-sodium"),
            ("albuterol", "Albuterol Sulfate", "albuterol-sulfate"),
            ("metformin", "Metformin", "metformin"),
            # One text under two routes: only the brand's route tells them apart.
            ("fluticasone-salmeterol", "Fluticasone (Nasal)", "fluticasone-nasal"),
            ("fluticasone-salmeterol", "Fluticasone (Oral Inhalation)",
             "fluticasone-oral-inhalation")):
        text = (CORPUS / f"{source}.md").read_text()
        text = re.sub(r"(?m)^brands: .*\n", "", text)
        text = re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1)
        text = re.sub(r"(?m)^# .*$", f"# {title}", text, count=1)
        assert "brands:" not in text
        (corpus / f"{slug}.md").write_text(text)


@pytest.fixture(scope="module", params=BACKENDS)
def salt_titles(request, tmp_path_factory):
    """Both backends over salt-titled monographs (see _salt_titled)."""
    yield from _engine(request, tmp_path_factory, "salt-titles", _salt_titled)


@pytest.fixture(scope="module")
def documents():
    return plain_sections(CORPUS)


@pytest.fixture(scope="module")
def labels():
    """Facet labels read from the monographs, not from a backend: the title for a
    drug, the vocabulary's label for an indication or class, the fixed section names."""
    found: dict[str, dict[str, str]] = {facet: {} for facet in FACETS}
    for monograph in iter_corpus(CORPUS):
        facts = drug_facts(monograph, default_vocabulary())
        found["drug"][monograph.slug] = monograph.title
        for value, label in facts["indications"]:
            found["indication"].setdefault(value, label)
        for value, label in facts["drug_class"]:
            found["class"].setdefault(value, label)
    found["section"] = {kind: section_label(kind) for kind in SECTION_TYPES}
    return found


# -- the JSON contract ------------------------------------------------------------------
def _validator(name: str):
    """A JSON Schema validator for one of the OpenAPI document's schemas (OpenAPI 3.0's
    ``nullable`` written as JSON Schema's null type)."""
    def convert(node):
        if isinstance(node, dict):
            node = {key: convert(value) for key, value in node.items()}
            if node.pop("nullable", False):
                node = {"anyOf": [node, {"type": "null"}]}
            return node
        if isinstance(node, list):
            return [convert(item) for item in node]
        return node
    components = convert(openapi_document()["components"])
    return jsonschema_rs.Draft7Validator({"$ref": f"#/components/schemas/{name}",
                                          "components": components})


@pytest.mark.parametrize("path, schema", [
    ("/api/search?q=olumiant+dose", "SearchResponse"),
    ("/api/search?q=dose&group=drug&per_page=3&page=2", "SearchResponse"),
    ("/api/search?q=hair+loss&indication=alopecia&section=usage", "SearchResponse"),
    ("/api/search", "SearchResponse"),
    ("/api/search?q=qqqzzzx", "SearchResponse"),
    ("/api/drugs/warfarin", "Drug"),
    ("/api/suggest?q=war", "Suggestions"),
    ("/healthz", "Health"),
    ("/api/drugs/no-such-drug", "Error"),
    ("/api/search?per_page=500", "Error"),
])
def test_answers_follow_the_openapi_schemas(engine, path, schema):
    response = engine.web.get(path)
    body = response.get_json()
    errors = [str(error) for error in _validator(schema).iter_errors(body)]
    assert errors == [], (path, errors[:3])
    assert response.status_code == (200 if schema != "Error" else
                                    404 if "drugs" in path else 400)
    if schema in ("SearchResponse", "Suggestions", "Drug"):
        assert body["disclaimer"] == DISCLAIMER


def test_the_schema_check_can_fail(engine):
    body = engine.web.get("/api/search?q=dose").get_json()
    validator = _validator("SearchResponse")
    for broken in ({**body, "total": "many"}, {**body, "extra": 1},
                   {k: v for k, v in body.items() if k != "disclaimer"}):
        assert not validator.is_valid(broken)


# -- facets against the brute-force count -------------------------------------------------
def test_facet_counts_equal_brute_force(engine, documents, labels):
    """Random multi-select filters (known and unknown values): the total, every bucket
    (each facet counted with every filter but its own) and the matching ids."""
    rng = random.Random(2026)
    values = {f: sorted({v for d in documents for v in d[f]}) for f in FACETS}
    checked = 0
    for q in COUNTED:
        for _ in range(12):
            filters = {f: tuple(rng.sample(values[f] + ["unknown-value"],
                                           rng.choice([0, 0, 0, 1, 2]))) for f in FACETS}
            body = engine.backend.search(SearchRequest(
                q=q, per_page=100, literal=True, drug=filters["drug"],
                indication=filters["indication"], section=filters["section"],
                drug_class=filters["class"]))
            selected, facets = brute_force(documents, labels, q, filters, limit=None)
            assert body["total"] == len(selected), (q, filters)
            for facet in FACETS:
                problem = facet_disagreement(body["facets"][facet], facets[facet])
                assert problem is None, (q, filters, facet, problem)
            listed = [hit["id"] for hit in _all_sections(engine, q, filters)]
            assert len(listed) == len(set(listed)) == body["listed"]
            # A flat list may leave out a drug's sections beyond the first few ("more
            # from this drug"); what it lists matches, and every drug is there.
            assert set(listed) <= set(selected), (q, filters)
            assert {i.split("#")[0] for i in listed} == {i.split("#")[0] for i in selected}
            checked += bool(selected)
    assert checked > len(COUNTED) * 12 // 4  # the sample exercises real matches


def _all_sections(engine, q, filters) -> list[dict]:
    """Every section a literal query lists, page by page (group=none)."""
    hits, page = [], 1
    while True:
        body = engine.backend.search(SearchRequest(
            q=q, page=page, per_page=100, literal=True, group="none",
            drug=filters["drug"], indication=filters["indication"],
            section=filters["section"], drug_class=filters["class"]))
        hits += body["results"]
        if not body["results"] or len(hits) >= body["listed"]:
            return hits
        page += 1


def test_selected_unknown_values_are_listed_with_zero(engine):
    body = engine.backend.search(SearchRequest(q="alopecia",
                                               drug=("warfarin", "no-such-drug")))
    drug = {b["value"]: b for b in body["facets"]["drug"]}
    assert drug["warfarin"] == {"value": "warfarin", "label": "Warfarin", "count": 0,
                                "selected": True}
    assert drug["no-such-drug"] == {"value": "no-such-drug", "label": "no-such-drug",
                                    "count": 0, "selected": True}
    assert body["total"] == 0 and body["results"] == []


def test_a_selected_value_beyond_the_shown_buckets_keeps_its_count(engine, documents,
                                                                   labels):
    """The indication facet of the whole corpus has more values than are shown; one
    that is not shown, selected, is listed with its own count."""
    none = {f: () for f in FACETS}
    _, everything = brute_force(documents, labels, "", none, limit=None)
    assert len(everything["indication"]) > 100
    shown = {b["value"] for b in engine.backend.search(SearchRequest())["facets"]["indication"]}
    rarest = next(b for b in reversed(everything["indication"]) if b["value"] not in shown)
    body = engine.backend.search(SearchRequest(indication=(rarest["value"],)))
    shown = {b["value"]: b for b in body["facets"]["indication"]}
    assert shown[rarest["value"]] == {**rarest, "selected": True}
    assert body["total"] == len(brute_force(documents, labels, "", {
        **none, "indication": (rarest["value"],)})[0])


def test_a_named_drug_keeps_its_sections_when_the_other_words_miss(engine, documents):
    """"warfarin alopecia": no warfarin section says alopecia, yet every warfarin
    section is matched (the words only rank), as a reader naming a drug expects."""
    own = [d["id"] for d in documents if d["drug"] == {"warfarin"}]
    assert not any("alopecia" in d["words"] for d in documents if d["drug"] == {"warfarin"})
    body = engine.backend.search(SearchRequest(q="warfarin alopecia", per_page=100,
                                               group="none"))
    assert body["results"][0]["drug"] == "warfarin"
    warfarin = next(b for b in body["facets"]["drug"] if b["value"] == "warfarin")
    assert warfarin["count"] == len(own)
    assert not body["relaxed"]


def test_understood_queries_count_what_they_list(engine):
    """Counts of a rewritten query (brand, lay term, class) agree with what it lists:
    the section buckets sum to the total, and a drug's bucket is the number of its
    sections on the flat list."""
    for q in ("lipitor side effects", "hair loss", "statins", "blood thinner dose"):
        body = engine.backend.search(SearchRequest(q=q, per_page=100, group="none"))
        assert body["total"] > 0, q
        assert sum(b["count"] for b in body["facets"]["section"]) == body["total"]
        drug = engine.backend.search(SearchRequest(q=q, per_page=100, group="none",
                                                   drug=(body["results"][0]["drug"],)))
        bucket = next(b for b in body["facets"]["drug"]
                      if b["value"] == body["results"][0]["drug"])
        assert drug["total"] == bucket["count"] == len(drug["results"]), q


# -- grouping and paging ------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["dose", "pregnancy", "kidney function"])
def test_groups_hold_each_drug_once_with_its_best_sections(engine, documents, labels, q):
    none = {f: () for f in FACETS}
    selected, _ = brute_force(documents, labels, q, none)
    drugs = Counter(section_id.split("#")[0] for section_id in selected)
    seen: list[str] = []
    page = 1
    while True:
        body = engine.backend.search(SearchRequest(q=q, literal=True, group="drug",
                                                   per_page=7, page=page))
        assert (body["total"], body["total_groups"]) == (len(selected), len(drugs))
        if not body["results"]:
            break
        for group in body["results"]:
            assert {hit["drug"] for hit in group["sections"]} == {group["drug"]}
            assert 1 <= len(group["sections"]) <= min(GROUP_SECTIONS, drugs[group["drug"]])
        seen += [group["drug"] for group in body["results"]]
        page += 1
    assert sorted(seen) == sorted(drugs)


@pytest.mark.parametrize("q", ["warfarin dose", "side effects of metformin", "hair loss",
                               "pregnancy"])
def test_pages_split_one_list(engine, q):
    """Pages of 4 are the list of 16 cut in four; no section twice."""
    whole = engine.backend.search(SearchRequest(q=q, per_page=16, group="none"))
    paged = [hit["id"] for n in (1, 2, 3, 4) for hit in engine.backend.search(
        SearchRequest(q=q, page=n, per_page=4, group="none"))["results"]]
    assert paged == [hit["id"] for hit in whole["results"]]
    assert len(set(paged)) == len(paged) == min(16, whole["listed"])


def test_a_page_past_the_end_is_empty_not_an_error(engine):
    body = engine.backend.search(SearchRequest(q="warfarin", page=90, per_page=100))
    assert body["results"] == [] and body["total"] > 0


# -- escaping ------------------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["alertword", "xssdrug", "asthma", "quotes apostrophes",
                               "<script>window.__xss=1</script>", "img src onerror"])
def test_snippets_are_escaped_with_mark_only(hostile, q):
    for literal in (False, True):
        body = hostile.backend.search(SearchRequest(q=q, literal=literal))
        assert body["results"], q
        for hit in body["results"]:
            assert re.sub(r"</?mark>", "", hit["snippet"]).count("<") == 0, hit["snippet"]


def test_list_items_in_snippets_stay_apart(engine):
    """The seed lists its side effects a line each ("Nausea (RA and alopecia areata)",
    "Headache (alopecia areata)"): a snippet keeps them apart, not run on."""
    body = engine.backend.search(SearchRequest(q="nausea", literal=True,
                                               drug=("baricitinib",)))
    hit = next(h for h in body["results"] if h["section"] == "side-effects")
    assert "Nausea (RA and alopecia areata) · Headache (alopecia areata)" in \
        re.sub(r"</?mark>", "", hit["snippet"])


def test_marks_wrap_the_query_words(hostile):
    body = hostile.backend.search(SearchRequest(q="alertword", literal=True))
    assert body["results"]
    assert all("<mark>alertword</mark>" in hit["snippet"] for hit in body["results"])


# -- query understanding and the judged set --------------------------------------------------
@pytest.mark.parametrize("q, drug, kind", [
    ("olumiant", "baricitinib", "brand"),
    ("lipitor side effects", "atorvastatin", "brand"),
    ("metfromin", "metformin", "spelling"),
    ("zolft dose", "sertraline", "spelling"),
    ("hair loss", "baricitinib", "synonym"),
    ("blood thinner", "warfarin", "class"),
])
def test_understanding_rewrites_and_ranks_the_drug(engine, q, drug, kind):
    body = engine.backend.search(SearchRequest(q=q, group="none"))
    drugs = list(dict.fromkeys(hit["drug"] for hit in body["results"]))
    assert drug in drugs[:3], (q, drugs[:5])
    assert kind in {entry["kind"] for entry in body["interpretation"]}, body["interpretation"]


def test_intent_puts_the_section_asked_for_first(engine):
    for q, section in (("warfarin dose", "dosage"), ("side effects of metformin",
                                                     "side-effects"),
                       ("how does atorvastatin work", "mechanism")):
        first = engine.backend.search(SearchRequest(q=q, group="none"))["results"][0]
        assert first["section"] == section, (q, first["id"])


@pytest.fixture(scope="module")
def report(engine):
    return evaluate(load_judgments(JUDGED), backend_search(engine.backend))


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_relevance_floor(report, metric):
    assert report[metric] >= FLOORS[metric], (metric, report[metric], report["misses"])


def test_no_zero_result_queries_about_corpus_drugs(report):
    assert report["zero_result_rate"] == 0.0, report["misses"]


def test_holdout_consumer_questions(engine):
    holdout = evaluate(load_judgments(HOLDOUT), backend_search(engine.backend))
    assert holdout["queries"] >= 100 and holdout["zero_result_rate"] == 0.0
    for metric, floor in HOLDOUT_FLOORS.items():
        assert holdout[metric] >= floor, (metric, holdout[metric], holdout["misses"])


@pytest.mark.parametrize("typed, label, slug", [
    ("coumadin", "Coumadin (Warfarin Sodium)", "warfarin-sodium"),  # our vocabulary's
    ("coumdin", "Coumadin (Warfarin Sodium)", "warfarin-sodium"),  # misspelt
    ("ventolin", "Ventolin (Albuterol Sulfate)", "albuterol-sulfate"),  # the dictionary's
    ("proventl", "Proventil (Albuterol Sulfate)", "albuterol-sulfate"),
    ("salbut", "Salbutamol (Albuterol Sulfate)", "albuterol-sulfate"),  # international
    ("flonase", "Flonase (Fluticasone (Nasal))", "fluticasone-nasal"),  # the brand's route
    ("flovent", "Flovent HFA (Fluticasone (Oral Inhalation))", "fluticasone-oral-inhalation"),
])
def test_brands_linked_at_reindex_are_suggested_with_their_product(salt_titles, typed,
                                                                   label, slug):
    body = salt_titles.web.get(f"/api/suggest?q={typed}").get_json()
    assert (label, slug) in [(s["label"], s["value"]) for s in body["suggestions"]], body
    assert salt_titles.web.get(f"/drug/{slug}").status_code == 200  # a page that exists
    # One of two names spelt alike for one product ("Coumadin", "Coumadine").
    names = [(s["value"], s["query"].lower()) for s in body["suggestions"]]
    assert not [(a, b) for value, a in names for other, b in names if value == other
                and b.startswith(a) and 0 < len(b) - len(a) <= 2], names



@pytest.mark.parametrize("q, slug", [
    ("flonase side effects", "fluticasone-nasal"), ("flovent diskus dose",
                                                    "fluticasone-oral-inhalation"),
    ("fluticasone nasal spray dose", "fluticasone-nasal"),  # the route typed, as before
])
def test_a_brand_s_route_picks_the_monograph_of_that_route(salt_titles, q, slug):
    """Both monographs hold the same text: only the route the vocabulary gives the brand
    (or the words typed) can put one first."""
    body = salt_titles.backend.search(SearchRequest(q=q, group="none"))
    assert body["results"][0]["drug"] == slug, [h["id"] for h in body["results"][:3]]


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("query, message", [
    ("page=abc", "page must be an integer"),
    ("page=0", "page must be between"),
    ("page=-3", "page must be between"),
    ("page=1.5", "page must be an integer"),
    ("page=99999999999999999999", "page must be between"),
    ("per_page=0", "per_page must be between"),
    ("per_page=101", "per_page must be between"),
    ("per_page=x", "per_page must be an integer"),
    ("page=2000&per_page=100", "page * per_page"),
    ("q=" + "a" * 501, "q is longer than 500"),
    ("drug=" + "d" * 201, "longer than 200"),
    ("group=nope", "group must be"),
    ("literal=maybe", "literal must be"),
    ("&".join(f"section=s{n}" for n in range(51)), "at most 50"),
])
def test_bad_parameters_are_400_json(engine, query, message):
    response = engine.web.get(f"/api/search?{query}")
    assert response.status_code == 400 and response.is_json
    error = response.get_json()["error"]
    assert error["code"] == "bad_parameter" and message in error["message"]


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/drugs/no-such-drug", 404), ("GET", "/api/nothing-here", 404),
    ("POST", "/api/search", 405), ("GET", "/api/suggest?limit=0", 400),
])
def test_error_statuses_are_json(engine, method, path, status):
    response = engine.web.open(path, method=method)
    assert response.status_code == status and response.is_json
    assert response.get_json()["error"]["code"]


def test_pages_and_drug_pages_are_served(engine):
    assert engine.web.get("/?q=warfarin+dose").status_code == 200
    page = engine.web.get("/drug/warfarin")
    assert page.status_code == 200 and b"Warfarin" in page.data
    assert engine.web.get("/drug/no-such-drug").status_code == 404
