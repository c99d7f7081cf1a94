"""A server's generations and the cyclic garbage collector (searches during swaps are
tested over real HTTP in test_reliability)."""

from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex


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
