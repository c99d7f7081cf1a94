"""Reindex under load, crash safety with SIGKILL, two reindexes at once, stale locks.

Every reindex here is the real command in its own process; every search is real HTTP
against a real server on a loopback port.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.generate import generate_corpus
from search.request import SearchRequest
from search.whoosh import parallel, store
from search.whoosh.backend import WhooshBackend
from search.whoosh.engine import run_search
from search.whoosh.indexer import reindex
from search.whoosh.snapshot import open_snapshot
from tests.conftest import ROOT, LiveServer
from web import create_app

PROBE = "/api/search?q=dose&per_page=5&group=none"
EXTRA = ("---\ntitle: Extra{n}\nlayout: minimal-medicine\n---\n# Extra{n}\n### Usage\n"
         "Used for asthma.\n### Dosage\nOne dose daily, revision {n}.\n")


def run_reindex(corpus, index, *extra, env=None):
    return subprocess.run(
        [sys.executable, "-m", "search", "reindex", "--quiet", "--corpus", str(corpus),
         "--index", str(index), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})})


def expected_for(index, generation):
    """(total, facets) of the probe query computed directly on one generation."""
    snapshot = open_snapshot(index, generation)
    try:
        body = run_search(snapshot, SearchRequest(q="dose", per_page=5))
        return body["total"], body["facets"]
    finally:
        snapshot.close()


def test_reindex_under_load_never_fails_a_search(corpus_dir, tmp_path):
    index = tmp_path / "index"
    assert run_reindex(corpus_dir, index).returncode == 0
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    backend = app.extensions["monosearch"]
    seen, failures, stop = [], [], threading.Event()

    def client(base):
        while not stop.is_set():
            try:
                with urllib.request.urlopen(base + PROBE, timeout=30) as response:
                    body = json.load(response)
                    assert response.headers["X-Index-Generation"] == body["generation"]
                    seen.append((body["generation"], body["total"], body["facets"]))
            except (OSError, ValueError, AssertionError, urllib.error.HTTPError) as err:
                failures.append(repr(err))

    expected = {store.current_generation(index): None}
    rng = random.Random(5)
    with LiveServer(app) as server:
        threads = [threading.Thread(target=client, args=(server.url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for n in range(10):
            extras = sorted(corpus_dir.glob("extra*.md"))
            if extras and n % 3 == 2:
                rng.choice(extras).unlink()  # delete
            elif extras and n % 3 == 1:
                target = rng.choice(extras)  # change
                target.write_text(target.read_text().replace("revision", "changed revision"))
            else:
                (corpus_dir / f"extra{n}.md").write_text(EXTRA.format(n=n))  # add
            full = ["--full"] if n % 4 == 3 else []
            assert run_reindex(corpus_dir, index, *full).returncode == 0
            expected[store.current_generation(index)] = None
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert len(seen) > 20
    generations = {generation for generation, _, _ in seen}
    assert len(generations) >= 3  # the server followed the reindexes without a restart
    # Every response is exactly what its generation answers (some may be collected by
    # now; check those that remain).
    for generation in generations:
        if (index / generation).exists():
            truth = expected_for(index, generation)
            assert {(t, json.dumps(f)) for g, t, f in seen if g == generation} == {
                (truth[0], json.dumps(truth[1]))}
    # One searcher per generation served, not one per request.
    assert backend.searchers_opened <= len(expected)
    assert backend.searchers_opened >= len(generations)


CRASH_POINTS = ["parsing:1", "parsing:40", "writing:1", "writing:300", "writing:700",
                "committing", "committed", "synced", "renamed", "pointer-written"]


@pytest.fixture(scope="module")
def crash_corpus(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("crash") / "corpus"
    generate_corpus(corpus, 120, seed=11)
    return corpus


@pytest.mark.parametrize("point", CRASH_POINTS + ["random-1", "random-2", "random-3"])
def test_sigkill_during_reindex_leaves_the_previous_generation_serving(
        crash_corpus, tmp_path, point):
    index = tmp_path / "index"
    first = reindex(crash_corpus, index)
    server = WhooshBackend(index)
    before = server.search(SearchRequest(q="dose", per_page=5))
    for path in sorted(crash_corpus.glob("*.md"))[:5]:  # something to do incrementally
        path.write_text(path.read_text().replace("### Generic Name\n",
                                                 f"### Generic Name\n{point} "))
    # Late points need a full rebuild to be reached (an incremental run parses 5 files).
    full = ["--full"] if point in ("parsing:40", "writing:300", "writing:700", "committed") \
        or point.startswith("random") else []
    if point.startswith("random"):
        process = subprocess.Popen(
            [sys.executable, "-m", "search", "reindex", *full, "--corpus", str(crash_corpus),
             "--index", str(index)], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        time.sleep(random.Random(point).uniform(0.2, 2.0))
        process.send_signal(signal.SIGKILL)
        returncode = process.wait()
    else:
        returncode = run_reindex(crash_corpus, index, *full,
                                 env={store.CRASH_ENV: point}).returncode
    assert returncode == -signal.SIGKILL
    # The previous generation still serves, whole: same answers as before the crash.
    assert store.current_generation(index) == first.generation
    after = server.search(SearchRequest(q="dose", per_page=5))
    assert after == {**before, "took_ms": after["took_ms"]}
    fresh = WhooshBackend(index)  # a server started now also gets the old generation
    assert fresh.search(SearchRequest(q="dose", per_page=5))["total"] == before["total"]
    fresh.close()
    # The next reindex succeeds, publishes the change and cleans up after the dead one.
    result = run_reindex(crash_corpus, index)
    assert result.returncode == 0, result.stderr
    assert store.current_generation(index) != first.generation
    assert server.search(SearchRequest(q=point.split(":")[0], literal=True))["total"] >= 5
    leftovers = [p.name for p in index.iterdir() if p.name.startswith(store.TMP_PREFIX)]
    assert leftovers == []
    server.close()
    before = store.current_generation(index)
    run_reindex(crash_corpus, index, "--full")
    assert store.list_generations(index) == [before, store.current_generation(index)]


def worker_processes(mark: str) -> list[int]:
    """Pids of indexing workers (python -m search.whoosh.parallel) still running that were
    started with this mark in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"search.whoosh.parallel" in command and f"TEST_MARK={mark}".encode() in environment:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def large_corpus(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("large") / "corpus"
    generate_corpus(corpus, 500, seed=12)  # a full build takes a few seconds on 2 workers
    return corpus


@pytest.mark.parametrize("point", ["parsing:30", "writing:200", "random-1", "random-2"])
def test_killed_parallel_reindex_leaves_no_worker_and_the_old_generation(
        large_corpus, tmp_path, point):
    """With the batch split among worker processes: a worker killed at a fault point,
    or the reindex itself killed at a random time. The old generation serves, no worker
    is left running, and the next reindex succeeds."""
    index = tmp_path / "index"
    first = reindex(large_corpus, index)
    server = WhooshBackend(index)
    before = server.search(SearchRequest(q="dose", per_page=5))
    env = {**os.environ, parallel.MIN_FILES_ENV: "1", parallel.WORKERS_ENV: "2",
           "TEST_MARK": f"{os.getpid()}-{point}"}
    command = [sys.executable, "-m", "search", "reindex", "--full", "--quiet",
               "--corpus", str(large_corpus), "--index", str(index)]
    if point.startswith("random"):
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(random.Random(point).uniform(0.8, 2.0))
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    else:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                env={**env, store.CRASH_ENV: point}, timeout=300)
        assert result.returncode != 0 and "indexing worker failed" in result.stderr
    deadline = time.monotonic() + 15
    while worker_processes(env["TEST_MARK"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker_processes(env["TEST_MARK"]) == []
    assert store.current_generation(index) == first.generation
    after = server.search(SearchRequest(q="dose", per_page=5))
    assert after == {**before, "took_ms": after["took_ms"]}
    result = run_reindex(large_corpus, index, "--full", env={parallel.MIN_FILES_ENV: "1"})
    assert result.returncode == 0, result.stderr
    assert store.current_generation(index) != first.generation
    assert [p for p in index.iterdir() if p.name.startswith(store.TMP_PREFIX)] == []
    server.close()


def test_sigkill_after_the_swap_serves_the_new_generation(crash_corpus, tmp_path):
    index = tmp_path / "index"
    first = reindex(crash_corpus, index)
    target = sorted(crash_corpus.glob("*.md"))[0]
    target.write_text(target.read_text().replace("### Generic Name\n",
                                                 "### Generic Name\nafterswap "))
    result = run_reindex(crash_corpus, index, env={store.CRASH_ENV: "published"})
    assert result.returncode == -signal.SIGKILL
    assert store.current_generation(index) != first.generation
    backend = WhooshBackend(index)
    assert backend.search(SearchRequest(q="afterswap", literal=True))["total"] == 1
    backend.close()
    assert run_reindex(crash_corpus, index).returncode == 0


def hold_lock(index, seconds):
    """Another process holding the reindex lock; returns once it has it."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from search.whoosh import store\n"
         "with store.reindex_lock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True); time.sleep(float(sys.argv[2]))",
         str(index), str(seconds)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_second_reindex_waits_or_exits_75(corpus_dir, tmp_path):
    index = tmp_path / "index"
    slow = hold_lock(index, 2)
    refused = run_reindex(corpus_dir, index)
    assert refused.returncode == 75
    assert len(refused.stderr.strip().splitlines()) == 1
    assert f"(pid {slow.pid})" in refused.stderr
    started = time.monotonic()
    waited = run_reindex(corpus_dir, index, "--wait", "30")
    assert waited.returncode == 0 and time.monotonic() - started > 0.5
    slow.wait(timeout=30)
    slow.stdout.close()


def test_lock_of_a_killed_reindex_does_not_block(corpus_dir, tmp_path):
    index = tmp_path / "index"
    holder = hold_lock(index, 600)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    assert (index / store.LOCK_FILE).read_text().strip() == str(holder.pid)  # stale pid
    started = time.monotonic()
    assert run_reindex(corpus_dir, index).returncode == 0
    assert time.monotonic() - started < 30


def test_damaged_index_at_startup_logs_503s_and_reindex_full_repairs(corpus_dir, tmp_path,
                                                                    caplog):
    index = tmp_path / "index"
    generation = reindex(corpus_dir, index).generation
    for item in (index / generation).iterdir():
        if item.suffix in (".toc", ".seg"):
            item.write_bytes(b"\x00" * 64)
    with caplog.at_level("ERROR"):
        app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    assert any("no usable index" in record.getMessage() for record in caplog.records)
    client = app.test_client()
    for _ in range(3):  # no crash loop: every request is a quick, clear 503
        response = client.get("/api/search?q=dose")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "index_unavailable"
    assert app.extensions["monosearch"].searchers_opened == 0
    result = run_reindex(corpus_dir, index, "--full")
    assert result.returncode == 0
    response = client.get("/api/search?q=dose")
    assert response.status_code == 200 and response.get_json()["total"] > 0


def test_incremental_reindex_over_a_damaged_generation_rebuilds(corpus_dir, tmp_path):
    index = tmp_path / "index"
    generation = reindex(corpus_dir, index).generation
    for item in (index / generation).iterdir():
        if item.suffix == ".toc":
            item.unlink()  # the missing _MAIN_*.toc of a crashed multi-file commit
    (corpus_dir / "extra1.md").write_text(EXTRA.format(n=1))
    result = run_reindex(corpus_dir, index)
    assert result.returncode == 0, result.stderr
    backend = WhooshBackend(index)
    assert backend.search(SearchRequest())["total"] == 46  # 44 sections + 2 new
    backend.close()
