import json
import os
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from search.corpus.parsing import read_monograph
from search.errors import CorpusNotFound
from search.request import SearchRequest
from search.whoosh import indexer, parallel, store
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from tests.conftest import generate_short_corpus

NEW_DRUG = ("---\ntitle: Newdrug\n---\n# Newdrug\n### Usage\nUsed for asthma and gout.\n"
            "### Dosage\nOne quokkaberry tablet daily.\n")


def stored_ids(index_dir: Path) -> list[str]:
    generation = store.current_generation(index_dir)
    with whoosh_index.open_dir(str(index_dir / generation)).searcher() as searcher:
        return sorted(fields["id"] for fields in searcher.all_stored_fields())


def expected_ids(corpus: Path) -> list[str]:
    return sorted(f"{m.slug}#{s.anchor}" for path in corpus.glob("*.md")
                  for m in [read_monograph(path)] for s in m.sections)


@pytest.fixture(params=["one process", "workers"])
def mode(request, monkeypatch):
    """Both ways of writing a batch: in the reindex process, and split among worker
    processes (forced here; by default only batches of 400 files or more are split)."""
    if request.param == "workers":
        monkeypatch.setenv(parallel.MIN_FILES_ENV, "1")
        monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    return request.param


def test_full_build_has_one_document_per_section(corpus_dir, tmp_path, mode):
    report = reindex(corpus_dir, tmp_path / "index")
    assert report.errors == [] and report.full
    assert stored_ids(tmp_path / "index") == expected_ids(corpus_dir)
    assert (report.monographs, report.sections) == (6, len(expected_ids(corpus_dir)))


def test_incremental_reindex_adds_changes_and_deletes(corpus_dir, tmp_path, mode):
    index = tmp_path / "index"
    first = reindex(corpus_dir, index)
    reader = WhooshBackend(index)
    reader.health()  # a server still serving the first generation
    ibuprofen = corpus_dir / "ibuprofen.md"
    ibuprofen.write_text(ibuprofen.read_text().replace("muscle aches", "zebrafish aches"))
    (corpus_dir / "metformin.md").unlink()
    (corpus_dir / "newdrug.md").write_text(NEW_DRUG)
    second = reindex(corpus_dir, index)
    assert (second.added, second.changed, second.deleted, second.unchanged) == (1, 1, 1, 4)
    assert not second.full and second.generation != first.generation
    assert stored_ids(index) == expected_ids(corpus_dir)
    backend = WhooshBackend(index)
    hits = backend.search(SearchRequest(q="zebrafish"))["results"]
    assert [h["drug"] for h in hits] == ["ibuprofen"]
    assert backend.search(SearchRequest(q="quokkaberry"))["results"][0]["id"] == "newdrug#dosage"
    assert backend.search(SearchRequest(drug=("metformin",)))["total"] == 0
    # The previous generation, still held by a reader, is kept and untouched by the
    # hard-linked incremental build.
    with whoosh_index.open_dir(str(index / first.generation)).searcher() as old:
        assert old.doc_count() == first.sections
    reader.close()
    backend.close()
    before = store.current_generation(index)
    (corpus_dir / "newdrug.md").write_text(NEW_DRUG + "\nchanged\n")
    reindex(corpus_dir, index)
    # Nobody holds the older ones now; the newest of them stays as a fallback.
    assert store.list_generations(index) == [before, store.current_generation(index)]


def test_result_cache_hits_per_generation_and_follows_a_reindex(corpus_dir, tmp_path):
    index = tmp_path / "index"
    reindex(corpus_dir, index)
    backend = WhooshBackend(index)
    request = SearchRequest(q="quokkaberry")
    first = backend.search(request)
    second = backend.search(request)
    assert first["total"] == 0 and {**second, "took_ms": 0} == {**first, "took_ms": 0}
    assert backend.health()["cache"] == {"hits": 1, "misses": 1, "size": 1}
    (corpus_dir / "newdrug.md").write_text(NEW_DRUG)
    reindex(corpus_dir, index)
    assert backend.search(request)["total"] == 1  # a new generation is a new key
    assert backend.health()["cache"]["misses"] == 2
    backend.close()


def test_unchanged_files_are_not_read_again(corpus_dir, tmp_path, monkeypatch):
    index = tmp_path / "index"
    reindex(corpus_dir, index)
    read = []
    from search.corpus import files, parsing
    from search.whoosh import indexer

    def spy(file, *args, **kwargs):
        read.append(Path(file).name)
        return files.read_file(file, *args, **kwargs)

    monkeypatch.setattr(indexer, "read_file", spy)
    monkeypatch.setattr(parsing, "read_file", spy)
    touched = corpus_dir / "metformin.md"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    edited = corpus_dir / "warfarin.md"
    edited.write_text(edited.read_text().replace("INR", "INR (a blood test)"))
    report = reindex(corpus_dir, index)
    assert sorted(set(read)) == ["metformin.md", "warfarin.md"]  # stat changed: re-hashed
    assert (report.changed, report.unchanged) == (1, 5)  # same bytes: not re-indexed
    read.clear()
    reindex(corpus_dir, index)
    assert read == []


def test_unchanged_corpus_makes_no_new_generation(corpus_dir, tmp_path):
    first = reindex(corpus_dir, tmp_path / "index")
    again = reindex(corpus_dir, tmp_path / "index")
    assert again.generation == first.generation
    assert (again.unchanged, again.sections) == (6, first.sections)


def test_rejected_files_are_reported_and_the_rest_indexed(corpus_dir, tmp_path, mode):
    (corpus_dir / "empty.md").write_text("")
    (corpus_dir / "sub").mkdir()
    (corpus_dir / "sub" / "warfarin.md").write_text(NEW_DRUG)  # duplicate slug
    (corpus_dir / "binary.md").write_bytes(b"\x00\x01\x02")
    report = reindex(corpus_dir, tmp_path / "index")
    assert sorted(str(e) for e in report.errors) == sorted([
        f"{corpus_dir}/binary.md: binary content (not a text file)",
        f"{corpus_dir}/empty.md: empty file",
        # path order: sub/warfarin.md comes first, so the top-level file is the second
        f"{corpus_dir}/warfarin.md: duplicate slug 'warfarin' (also {corpus_dir}/sub/warfarin.md)",
    ])
    assert report.monographs == 6


def test_file_that_breaks_leaves_the_index_and_is_reported_each_run(corpus_dir, tmp_path, mode):
    index = tmp_path / "index"
    reindex(corpus_dir, index)
    (corpus_dir / "metformin.md").write_text("")
    for _ in range(2):
        report = reindex(corpus_dir, index)
        assert [str(e) for e in report.errors] == [f"{corpus_dir}/metformin.md: empty file"]
    assert not any(i.startswith("metformin#") for i in stored_ids(index))


def test_missing_corpus_is_an_error(tmp_path):
    with pytest.raises(CorpusNotFound):
        reindex(tmp_path / "nope", tmp_path / "index")


def test_old_generations_are_collected_once_no_reader_holds_them(corpus_dir, tmp_path):
    index = tmp_path / "index"
    readers, held, published = [], [], []
    for number in range(8):
        (corpus_dir / "newdrug.md").write_text(NEW_DRUG + f"\nrevision {number}\n")
        published.append(reindex(corpus_dir, index).generation)
        if number in (1, 2):  # two servers that stop searching, still holding a generation
            readers.append(WhooshBackend(index))
            held.append(readers[-1].health()["generation"])
    fallback = published[-2]  # the newest old one, kept even though nobody holds it
    assert store.list_generations(index) == sorted(
        held + [fallback, store.current_generation(index)])
    for number in range(8, 8 + store.MAX_OLD_GENERATIONS + 2):  # ...but never unbounded
        readers.append(WhooshBackend(index))
        readers[-1].health()
        (corpus_dir / "newdrug.md").write_text(NEW_DRUG + f"\nrevision {number}\n")
        reindex(corpus_dir, index)
    assert len(store.list_generations(index)) == store.MAX_OLD_GENERATIONS + 1
    for reader in readers:
        reader.close()
    before = store.current_generation(index)
    (corpus_dir / "newdrug.md").write_text(NEW_DRUG)
    reindex(corpus_dir, index)
    assert store.list_generations(index) == [before, store.current_generation(index)]


def test_schema_or_damage_forces_a_full_rebuild(corpus_dir, tmp_path):
    index = tmp_path / "index"
    first = reindex(corpus_dir, index)
    manifest = index / first.generation / store.MANIFEST_FILE
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "schema_version": data["schema_version"] - 1}))
    assert reindex(corpus_dir, index).full
    (index / store.CURRENT_FILE).write_text("garbage")
    report = reindex(corpus_dir, index)
    assert report.full and report.errors == []
    assert stored_ids(index) == expected_ids(corpus_dir)


def test_failed_reindex_leaves_previous_generation(corpus_dir, tmp_path, monkeypatch):
    index = tmp_path / "index"
    first = reindex(corpus_dir, index)
    (corpus_dir / "newdrug.md").write_text(NEW_DRUG)

    def explode(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(indexer, "section_documents", explode)
    with pytest.raises(RuntimeError):
        reindex(corpus_dir, index)
    assert store.current_generation(index) == first.generation
    monkeypatch.undo()
    report = reindex(corpus_dir, index)
    assert report.added == 1
    assert not [p for p in index.iterdir() if p.name.startswith(store.TMP_PREFIX)]


def test_workers_build_the_same_index_as_one_process(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    generate_short_corpus(corpus, 60, seed=5)
    one = reindex(corpus, tmp_path / "one")
    monkeypatch.setenv(parallel.MIN_FILES_ENV, "1")
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    monkeypatch.setattr(parallel, "SEGMENT_SECTIONS", 100)  # ~140 sections per worker
    split = reindex(corpus, tmp_path / "split")
    assert (split.monographs, split.sections) == (one.monographs, one.sections)
    segments = whoosh_index.open_dir(str(tmp_path / "split" / split.generation)).reader()
    assert len(list(segments.leaf_readers())) == 6  # two segments per worker
    segments.close()
    assert stored_ids(tmp_path / "split") == stored_ids(tmp_path / "one") == expected_ids(corpus)
    first, second = WhooshBackend(tmp_path / "one"), WhooshBackend(tmp_path / "split")
    for request in (SearchRequest(q="dose"), SearchRequest(q='"side effects"', per_page=50),
                    SearchRequest(q="infections", indication=("asthma",)),
                    SearchRequest(q="pregnancy", group="drug"), SearchRequest()):
        a, b = first.search(request, use_cache=False), second.search(request, use_cache=False)
        assert (a["total"], a["facets"], a["total_groups"]) == \
            (b["total"], b["facets"], b["total_groups"])

        # Docnums differ, so sections with equal scores may come in another order (and
        # ties at the end of the page may be other sections): scores must agree.
        assert [r["score"] for r in a["results"]] == [r["score"] for r in b["results"]]
        assert above_last(a) == above_last(b)
    first.close()
    second.close()


def above_last(body: dict) -> set | list:
    """Hits scoring above the page's last score, which are the same sections whatever the
    docnums; with no query (no scores) the whole page, in its order."""
    hits = [(r.get("id") or r["drug"], r["score"]) for r in body["results"]]
    if not hits or hits[-1][1] is None:
        return hits
    return {hit for hit in hits if hit[1] > hits[-1][1]}


def test_worker_count(monkeypatch):
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    monkeypatch.delenv(parallel.MIN_FILES_ENV, raising=False)
    assert parallel.worker_count(10) == 1  # a small batch stays in the reindex process
    assert parallel.worker_count(5000, wanted=3) == 3
    assert parallel.worker_count(5000, wanted=0) == 1
    monkeypatch.setenv(parallel.WORKERS_ENV, "4")
    assert parallel.worker_count(5000) == 4
    monkeypatch.setenv(parallel.WORKERS_ENV, "four")
    assert parallel.worker_count(5000) == min(2, os.cpu_count() or 1)
    monkeypatch.setenv(parallel.MIN_FILES_ENV, "1")
    assert parallel.worker_count(3, wanted=8) == 3  # never more workers than files
