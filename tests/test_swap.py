"""Searches over real HTTP while reindexes swap generations underneath the server."""

import json
import threading
import urllib.error
import urllib.request

from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from tests.conftest import LiveServer
from web import create_app

EXTRA = ("---\ntitle: Extra{n}\n---\n# Extra{n}\n### Usage\nUsed for asthma.\n"
         "### Dosage\nOne dose daily.\n")
REINDEXES = 8


def test_searches_never_fail_while_generations_swap(corpus_dir, tmp_path):
    index = tmp_path / "index"
    reindex(corpus_dir, index)
    expected = {}  # generation -> (total, facets) for the probe query

    def record():
        backend = WhooshBackend(index)
        body = backend.search(SearchRequest(q="dose"))
        expected[backend.health()["generation"]] = (body["total"], body["facets"])
        backend.close()

    record()
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    seen, failures, stop = [], [], threading.Event()

    def client_loop(server_url):
        while not stop.is_set():
            try:
                with urllib.request.urlopen(server_url + "/api/search?q=dose", timeout=10) as r:
                    body = json.load(r)
                    seen.append((body["total"], body["facets"]))
            except (urllib.error.URLError, OSError, ValueError) as err:
                failures.append(repr(err))

    with LiveServer(app) as server:
        threads = [threading.Thread(target=client_loop, args=(server.url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for n in range(REINDEXES):
            if n % 3 == 2:
                (corpus_dir / f"extra{n - 2}.md").unlink()
            else:
                (corpus_dir / f"extra{n}.md").write_text(EXTRA.format(n=n))
            reindex(corpus_dir, index, full=n % 4 == 3)
            record()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        with urllib.request.urlopen(server.url + "/api/search?q=dose", timeout=10) as r:
            final = json.load(r)
    assert failures == []
    assert (final["total"], final["facets"]) == generations_last(expected)
    assert len(seen) > REINDEXES
    generations = list(expected.values())
    assert all(response in generations for response in seen)
    assert len({total for total, _ in generations}) > 2  # the probe saw the corpus change


def generations_last(expected: dict) -> tuple:
    return expected[max(expected)]


def test_a_server_keeps_each_generation_out_of_the_cyclic_collector(corpus_dir, tmp_path):
    import gc

    index = tmp_path / "index"
    reindex(corpus_dir, index)
    backend = WhooshBackend(index, freeze_gc=True)
    try:
        before = gc.get_freeze_count()
        backend.health()
        frozen = gc.get_freeze_count()
        assert frozen > before + 1000  # the snapshot's objects, and what existed
        (corpus_dir / "warfarin.md").unlink()
        reindex(corpus_dir, index)
        assert backend.search(SearchRequest(drug=("warfarin",)))["total"] == 0
        assert gc.get_freeze_count() > 1000  # unfrozen, collected, frozen again
    finally:
        backend.close()
        gc.unfreeze()
