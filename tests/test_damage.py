"""Damaged storage: a generation whose files do not match their checksums is never
served; the newest intact one is, or a 503; a reindex builds on an intact generation;
storage errors end a reindex in one line with nothing left behind.

Fault injection: truncating or flipping bytes of the index's files, deleting folders,
a full disk and a read-only mount (small tmpfs mounts, where the tests run as root and
may mount; skipped with the reason elsewhere)."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from search.cli import main
from search.errors import IndexNotBuilt, StorageError
from search.request import SearchRequest
from search.whoosh import store
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from tests.conftest import ROOT, copy_corpus, without_root
from web import create_app

NEW = "---\ntitle: Newdrug\n---\n# Newdrug\n### Usage\nUsed for asthma, qqznewword.\n"


def damage_file(generation: Path, suffix: str, how: str = "truncate") -> Path:
    """Damage the largest file of a generation with this suffix (.pst, .col, .trm...)."""
    target = max((p for p in generation.iterdir() if p.name.endswith(suffix)),
                 key=lambda p: p.stat().st_size)
    data = target.read_bytes()
    target.unlink()  # a new file: the older generations' hard links keep their bytes
    if how == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:  # flip one byte in the middle, same size
        middle = len(data) // 2
        target.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    return target


def two_generations(corpus: Path, index: Path) -> tuple[str, str]:
    first = reindex(corpus, index).generation
    (corpus / "newdrug.md").write_text(NEW)
    second = reindex(corpus, index).generation
    return first, second


def api(app, path: str):
    return app.test_client().get(path)


@pytest.mark.parametrize("suffix, how", [(".pst", "truncate"), (".pst", "flip"),
                                         ("_stored.col", "truncate"), (".trm", "flip"),
                                         (".col", "truncate")])
def test_a_damaged_live_generation_falls_back_to_the_newest_intact(corpus_dir, tmp_path,
                                                                   suffix, how):
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    damage_file(index / second, suffix, how)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})  # start-up: no crash
    health = api(app, "/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert (body["status"], body["generation"], body["damaged"]) == (
        "degraded", first, [second])
    search = api(app, "/api/search?q=dose")
    assert search.status_code == 200 and search.headers["X-Index-Generation"] == first


def test_damage_while_serving_is_noticed_and_never_served(corpus_dir, tmp_path,
                                                          monkeypatch):
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    monkeypatch.setattr("search.whoosh.backend.DISK_CHECK_SECONDS", 0.0)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "RESULT_CACHE_SIZE": 0})
    assert api(app, "/api/search?q=qqznewword").get_json()["total"] == 1  # second serves
    damage_file(index / second, ".pst")
    for path in ("/api/search?q=qqznewword", "/api/search?q=dose", "/healthz",
                 "/drug/baricitinib"):
        response = api(app, path)
        assert response.status_code == 200, path
    assert api(app, "/healthz").get_json()["generation"] == first


def test_no_intact_generation_answers_503_json(corpus_dir, tmp_path):
    index = tmp_path / "index"
    generation = reindex(corpus_dir, index).generation
    damage_file(index / generation, ".pst")
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    for path in ("/api/search?q=dose", "/healthz"):
        response = api(app, path)
        assert response.status_code == 503 and response.is_json, path
        assert "Traceback" not in response.get_data(as_text=True)
    assert api(app, "/").status_code == 503


def test_the_next_reindex_builds_on_an_intact_generation(corpus_dir, tmp_path):
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    damage_file(index / second, ".pst")
    (corpus_dir / "another.md").write_text(NEW.replace("Newdrug", "Another"))
    report = reindex(corpus_dir, index)  # incremental, from the first generation
    assert not report.full and report.generation not in (first, second)
    assert (report.added, report.changed) == (2, 0)  # newdrug and another, over first
    assert store.damage(index / report.generation) is None
    backend = WhooshBackend(index)
    assert backend.search(SearchRequest(q="qqznewword"))["total"] == 2
    backend.close()


def test_damage_to_a_file_both_generations_share_is_503_until_a_reindex(corpus_dir,
                                                                       tmp_path):
    """Damage in place (not a new file): the hard link shares it, so no generation is
    intact; the next plain reindex rebuilds in full."""
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    shared = sorted(set(os.listdir(index / first)) & set(os.listdir(index / second))
                    - {"manifest.json", "READERS"})
    target = index / second / max(shared, key=lambda n: (index / first / n).stat().st_size)
    os.truncate(target, target.stat().st_size // 2)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    assert api(app, "/api/search?q=dose").status_code == 503
    report = reindex(corpus_dir, index)
    assert report.full and store.damage(index / report.generation) is None
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    body = api(app, "/healthz").get_json()
    assert (body["status"], body["generation"]) == ("ok", report.generation)


@pytest.mark.parametrize("manifest", ["{not json", "[]", '{"files": {"x": 3}}'])
def test_a_damaged_manifest_falls_back(corpus_dir, tmp_path, manifest):
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    (index / second / "manifest.json").write_text(manifest)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    response = api(app, "/api/search?q=dose")
    assert response.status_code == 200 and response.headers["X-Index-Generation"] == first


def test_a_generation_from_before_checksums_is_served_then_rebuilt(corpus_dir, tmp_path,
                                                                   caplog):
    """An index written by an older version (no checksums) keeps serving after an
    upgrade, says so, and the next reindex rebuilds it in full."""
    index = tmp_path / "index"
    generation = reindex(corpus_dir, index).generation
    path = index / generation / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["files"]
    path.write_text(json.dumps(manifest))
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    assert api(app, "/healthz").get_json()["status"] == "ok"
    assert api(app, "/api/search?q=dose").get_json()["total"] > 0
    assert "no checksums" in caplog.text
    result = subprocess.run([sys.executable, "-m", "search", "check-index", "--index",
                             str(index)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "not verified: no checksums" in result.stdout
    report = reindex(corpus_dir, index)
    assert report.full and store.damage(index / report.generation) is None


def test_check_index_names_the_damaged_file(corpus_dir, tmp_path):
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    damaged = damage_file(index / second, ".pst")
    result = subprocess.run([sys.executable, "-m", "search", "check-index", "--index",
                             str(index)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and result.stderr == ""
    written = json.loads((index / second / "manifest.json").read_text())["files"]
    assert result.stdout.splitlines() == [
        f"{first}: intact",
        f"{second} (live): damaged: {damaged.name} has {damaged.stat().st_size} bytes, "
        f"{written[damaged.name][0]} when written",
    ]


def test_generation_names_are_unique_after_the_index_is_deleted(corpus_dir, tmp_path):
    index = tmp_path / "index"
    backend = WhooshBackend(index, cache_size=0)
    first = reindex(corpus_dir, index).generation
    assert backend.health()["generation"] == first
    shutil.rmtree(index)
    (corpus_dir / "newdrug.md").write_text(NEW)
    second = reindex(corpus_dir, index).generation
    assert second != first and second.startswith("gen-000001-")
    assert backend.search(SearchRequest(q="qqznewword"))["total"] == 1  # the new one
    backend.close()


def test_a_server_notices_its_generation_folder_is_gone(corpus_dir, tmp_path, monkeypatch):
    index = tmp_path / "index"
    first, second = two_generations(corpus_dir, index)
    monkeypatch.setattr("search.whoosh.backend.DISK_CHECK_SECONDS", 0.0)
    backend = WhooshBackend(index, cache_size=0)
    assert backend.health()["generation"] == second
    shutil.rmtree(index / second)
    assert backend.health()["generation"] == first  # CURRENT still names the lost one
    backend.close()


# -- storage errors ----------------------------------------------------------------------
@pytest.fixture
def mount(tmp_path):
    """mount(size, readonly) -> a fresh tmpfs folder (unmounted afterwards)."""
    mounted = []

    def make(size: str = "64m") -> Path:
        folder = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                 str(folder)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount_readonly(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def test_a_full_disk_ends_the_reindex_in_one_line_leaving_nothing(corpus_dir, mount):
    # Room for the test corpus's index (350 KB), not for thirty times more: each added
    # file of 3,000 distinct words adds about 1.1 MB to a generation.
    index = mount("2m")
    first = reindex(corpus_dir, index).generation
    for number in range(10):
        (corpus_dir / f"more{number}.md").write_text(
            NEW + " ".join(f"word{number}x{n}" for n in range(3000)))
    result = subprocess.run([sys.executable, "-m", "search", "reindex", "--quiet", "--corpus",
                             str(corpus_dir), "--index", str(index), "--full"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"monosearch: cannot write {index}")
    assert "No space left on device" in lines[0] and "Traceback" not in result.stderr
    assert store.current_generation(index) == first
    assert [p.name for p in index.iterdir() if p.name.startswith(store.TMP_PREFIX)] == []
    backend = WhooshBackend(index)
    assert backend.search(SearchRequest(q="dose"))["total"] > 0
    backend.close()


def test_a_read_only_index_is_served_and_not_written(corpus_dir, mount):
    index = mount()
    first = reindex(corpus_dir, index).generation
    remount_readonly(index)
    backend = WhooshBackend(index)
    assert backend.health()["generation"] == first
    assert backend.search(SearchRequest(q="dose"))["total"] > 0
    backend.close()
    (corpus_dir / "newdrug.md").write_text(NEW)
    with pytest.raises(StorageError, match="Read-only file system"):
        reindex(corpus_dir, index)
    result = subprocess.run([sys.executable, "-m", "search", "reindex", "--corpus",
                             str(corpus_dir), "--index", str(index)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_no_permission_ends_the_reindex_in_one_line(open_tmp, capsys):
    corpus_dir, index = copy_corpus(open_tmp / "corpus"), open_tmp / "index"
    first = reindex(corpus_dir, index).generation  # as root in CI: nobody may write it
    (corpus_dir / "newdrug.md").write_text(NEW)
    index.chmod(0o555)
    capsys.readouterr()
    try:
        with without_root():
            status = main(["reindex", "--corpus", str(corpus_dir), "--index", str(index)])
    finally:
        index.chmod(0o755)
    stderr = capsys.readouterr().err
    assert status == 1 and "Permission denied" in stderr, stderr
    assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr
    assert store.current_generation(index) == first


def test_a_missing_index_is_still_503(tmp_path):
    with pytest.raises(IndexNotBuilt):
        WhooshBackend(tmp_path / "nothing").health()
    os.makedirs(tmp_path / "nothing")
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "nothing")})
    assert api(app, "/healthz").status_code == 503
