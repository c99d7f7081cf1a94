"""A server reads the frequent words' postings ahead after each swap: the answers stay
exactly the same, and a generation retired meanwhile is still closed."""

import threading

from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex

QUERIES = ["dose", "side effects of warfarin", "hair loss", "covid dose", "qqzzunknown",
           "warfarin alcohol", '"blood clots"', "nausea -headache"]


def wait_for_read_ahead() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("warm-"):
            thread.join(timeout=60)


def answers(backend) -> list[dict]:
    found = []
    for q in QUERIES:
        body = backend.search(SearchRequest(q=q, per_page=20), use_cache=False)
        found.append({**body, "took_ms": 0})
    return found


def test_reading_ahead_changes_no_answer(built):
    plain = WhooshBackend(built[1])
    warm = WhooshBackend(built[1], warm=True)
    assert warm.health()["read_ahead"] in ("reading", "done")
    wait_for_read_ahead()
    assert warm.health()["read_ahead"] == "done" and plain.health()["read_ahead"] == "off"
    snapshot = warm._snapshot
    listed = snapshot.postings.segments
    assert ("body", "warfarin") in listed and ("body", "qqzzunknown") not in listed
    assert snapshot.scorer._terms.has(("body", "dose"))  # a frequent word, read ahead
    assert answers(warm) == answers(plain)
    plain.close()
    warm.close()


def test_a_generation_retired_while_reading_ahead_is_closed(corpus_dir, tmp_path):
    index = tmp_path / "index"
    reindex(corpus_dir, index)
    backend = WhooshBackend(index, warm=True)
    first = backend._refresh()
    (corpus_dir / "extra.md").write_text("# Extra\n### Usage\nUsed for asthma.\n")
    reindex(corpus_dir, index)
    assert backend.search(SearchRequest(q="asthma"))["total"] > 0  # swaps generations
    wait_for_read_ahead()
    assert first.retired and first.users == 0
    assert first.release is not None and not first.release.alive  # closed
    backend.close()
