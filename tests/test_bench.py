"""The benchmark harness runs end to end (its figures are read by people, not asserted)."""

from bench.__main__ import run
from tests.conftest import DATA


def test_harness_on_a_small_synthetic_corpus_with_every_reference():
    results = run(monographs=10, rounds=1, seed=3, typesense=True)
    assert results["monographs"] == 10 and results["sections"] == 10 * 7
    for key in ("search_ms", "search_first_pass_ms", "reference_sqlite_fts5_ms",
                "reference_typesense_ms", "reference_plain_top10_ms"):
        assert set(results[key]) >= {"median", "p95"}, key
    assert results["ratio_ours_to_sqlite_fts5"] > 0
    assert results["ratio_ours_to_typesense"] > 0


def test_harness_on_a_real_folder_leaves_it_untouched():
    corpus = DATA / "corpus"
    before = {p: p.read_bytes() for p in corpus.rglob("*.md")}
    results = run(monographs=0, rounds=1, seed=3, typesense=False, source=corpus)
    assert results["corpus"] == str(corpus) and results["monographs"] == len(before)
    assert {p: p.read_bytes() for p in corpus.rglob("*.md")} == before


def test_harness_on_a_folder_with_broken_files(tmp_path):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "corpus", corpus)
    (corpus / "empty.md").write_text("")
    results = run(monographs=0, rounds=1, seed=3, typesense=False, source=corpus)
    assert results["rejected_files"] == 1
    assert results["monographs"] == len(list(corpus.glob("*.md"))) - 1
