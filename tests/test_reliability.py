"""Reindex under load, crash safety with SIGKILL, two reindexes at once, stale locks.

Every reindex here is the real command in its own process; every search is real HTTP
against a real server on a loopback port.

The crash cases start from an index built once per module and copied for each case (a
real copy, not hard links: every generation's READERS file is flock()ed by the servers
reading it, and cases must not share those locks). The reindex is given the corpus as a
path relative to the case's folder, so that each copy's manifest names the copy's own
files. Cases share nothing, so they run two at a time (this machine has two cores), each
test waiting for the outcome of its own case.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from search.corpus.drugnames import load_dictionary
from search.request import SearchRequest
from search.whoosh import parallel, store
from search.whoosh.backend import WhooshBackend
from search.whoosh.engine import run_search
from search.whoosh.indexer import reindex
from search.whoosh.snapshot import open_snapshot
from tests.conftest import ROOT, LiveServer, generate_short_corpus
from tests.processes import POLL_SECONDS, cpu_seconds, kill_after_cpu, run_measured, wait_for
from web import create_app

# The crash cases of a test are started together by a module fixture: under pytest-xdist
# the module stays on one worker.
pytestmark = pytest.mark.xdist_group("reliability")

PROBE = "/api/search?q=dose&per_page=5&group=none"
EXTRA = ("---\ntitle: Extra{n}\nlayout: minimal-medicine\n---\n# Extra{n}\n### Usage\n"
         "Used for asthma.\n### Dosage\nOne dose daily, revision {n}.\n")
WORKERS = {parallel.MIN_FILES_ENV: "1", parallel.WORKERS_ENV: "2"}


def reindex_command(corpus, index, *extra) -> list[str]:
    return [sys.executable, "-m", "search", "reindex", "--quiet", "--corpus", str(corpus),
            "--index", str(index), *extra]


def run_reindex(corpus, index, *extra, env=None, cwd=ROOT):
    return subprocess.run(reindex_command(corpus, index, *extra), cwd=cwd,
                          capture_output=True, text=True, timeout=300,
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

    def wait_for_answer(generation, start):
        """Until a client is answered by ``generation`` (the server follows CURRENT
        without a restart), or fails."""
        wait_for(lambda: bool(failures) or any(g == generation for g, _, _ in seen[start:]),
                 f"an answer from {generation}", deadline=60, poll=0.02)

    expected = {store.current_generation(index): None}
    rng = random.Random(5)
    with LiveServer(app) as server:
        threads = [threading.Thread(target=client, args=(server.url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        wait_for_answer(store.current_generation(index), 0)
        for n in range(5):  # add, change, delete, add, then a full rebuild
            extras = sorted(corpus_dir.glob("extra*.md"))
            if extras and n == 2:
                rng.choice(extras).unlink()  # delete
            elif extras and n == 1:
                target = rng.choice(extras)  # change
                target.write_text(target.read_text().replace("revision", "changed revision"))
            elif n < 4:
                (corpus_dir / f"extra{n}.md").write_text(EXTRA.format(n=n))  # add
            full = ["--full"] if n == 4 else []
            answered = len(seen)
            assert run_reindex(corpus_dir, index, *full).returncode == 0
            expected[store.current_generation(index)] = None
            # The clients are answered by every generation, however fast the machine.
            wait_for_answer(store.current_generation(index), answered)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    generations = {generation for generation, _, _ in seen}
    assert generations == set(expected)  # the server followed each reindex, no restart
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


# -- SIGKILL during a reindex ------------------------------------------------------------
CRASH_POINTS = ["parsing:1", "parsing:40", "writing:1", "writing:300", "committing",
                "committed", "synced", "renamed", "pointer-written"]
CRASH_MONOGRAPHS = 60  # parsing:40 needs 40 files, writing:300 over 300 sections (7 each)
PARALLEL_MONOGRAPHS = 80  # 40 a worker: its 30th file and its 200th section lie inside
PARALLEL_POINTS = ["parsing:30", "writing:200", "random-1"]


@dataclass
class Base:
    """A corpus and its index (folder/corpus, folder/index, one generation) and what
    building it took on this machine: CPU seconds of the whole build, and of one
    indexing worker when it was built by workers."""

    folder: Path
    cpu: float
    worker_cpu: float = 0.0

    def copy(self, folder: Path) -> Path:
        shutil.copytree(self.folder, folder, symlinks=True)
        return folder


def mark(path: Path, word: str) -> None:
    """Change a monograph (its generic name section gains ``word``)."""
    path.write_text(path.read_text().replace("### Generic Name\n", f"### Generic Name\n{word} "))


@pytest.fixture(scope="module")
def cases():
    """Runs cases two at a time in threads. Each works only in its own folder, with its
    own processes and its own servers, so running them side by side changes no outcome."""
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def start_cases(request, cases, tmp_path_factory, test, case, base) -> dict:
    """The outcome (a future) of ``case`` for every point of ``test`` this run selected."""
    points = [item.callspec.params["point"] for item in request.session.items
              if getattr(item, "originalname", None) == test.__name__]
    return {point: cases.submit(case, base, tmp_path_factory.mktemp("case") / "case", point)
            for point in points}


@pytest.fixture(scope="module")
def crash_base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash-base")
    generate_short_corpus(folder / "corpus", CRASH_MONOGRAPHS, seed=11)
    load_dictionary()  # the dictionary's cache is written now, not inside the measured build
    returncode, cpu = run_measured(reindex_command("corpus", "index"), cwd=folder)
    assert returncode == 0
    return Base(folder, cpu)


def crash_case(base: Base, folder: Path, point: str) -> None:
    """Kill a reindex at ``point``; the previous generation must keep serving and the
    next reindex must repair everything."""
    base.copy(folder)
    index = folder / "index"
    first = store.current_generation(index)
    server = WhooshBackend(index)
    before = server.search(SearchRequest(q="dose", per_page=5))
    for path in sorted((folder / "corpus").glob("*.md"))[:5]:  # something to do incrementally
        mark(path, point)
    # Late points need a full rebuild to be reached (an incremental run parses 5 files).
    full = ["--full"] if point in ("parsing:40", "writing:300", "committed") \
        or point.startswith("random") else []
    if point.startswith("random"):
        process = subprocess.Popen(reindex_command("corpus", "index", *full), cwd=folder,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # A random moment of the build: once the reindex has used a seeded fraction (at
        # most half) of the CPU time the same full build took on this machine.
        returncode = kill_after_cpu(process, random.Random(point).uniform(0.1, 0.5) * base.cpu)
    else:
        returncode = run_reindex("corpus", "index", *full, cwd=folder,
                                 env={store.CRASH_ENV: point}).returncode
    assert returncode == -signal.SIGKILL
    # The previous generation still serves, whole: same answers as before the crash.
    assert store.current_generation(index) == first
    after = server.search(SearchRequest(q="dose", per_page=5))
    assert after == {**before, "took_ms": after["took_ms"]}
    fresh = WhooshBackend(index)  # a server started now also gets the old generation
    assert fresh.search(SearchRequest(q="dose", per_page=5))["total"] == before["total"]
    fresh.close()
    # The next reindex succeeds, publishes the change and cleans up after the dead one.
    result = run_reindex("corpus", "index", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert store.current_generation(index) != first
    assert server.search(SearchRequest(q=point.split(":")[0], literal=True))["total"] >= 5
    leftovers = [p.name for p in index.iterdir() if p.name.startswith(store.TMP_PREFIX)]
    assert leftovers == []
    server.close()
    if point == "committing":  # one more reindex: only the live one and one fallback left
        before = store.current_generation(index)
        mark(sorted((folder / "corpus").glob("*.md"))[-1], "again")
        assert run_reindex("corpus", "index", cwd=folder).returncode == 0
        assert store.list_generations(index) == [before, store.current_generation(index)]


@pytest.fixture(scope="module")
def crash_runs(request, cases, tmp_path_factory, crash_base):
    return start_cases(request, cases, tmp_path_factory,
                       test_sigkill_during_reindex_leaves_the_previous_generation_serving,
                       crash_case, crash_base)


@pytest.mark.parametrize("point", CRASH_POINTS + ["random-1", "random-2"])
def test_sigkill_during_reindex_leaves_the_previous_generation_serving(crash_runs, point):
    crash_runs[point].result()  # the case's own assertion errors are raised here


def worker_processes(mark: str) -> list[int]:
    """Pids of indexing workers (python -m search.whoosh.parallel) still running that were
    started with this mark in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if b"search.whoosh.parallel" not in (entry / "cmdline").read_bytes().split(b"\0"):
                continue
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"TEST_MARK={mark}".encode() in environment:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def parallel_base(tmp_path_factory):
    """Built by two workers, whose CPU time is watched until they finish."""
    folder = tmp_path_factory.mktemp("parallel-base")
    generate_short_corpus(folder / "corpus", PARALLEL_MONOGRAPHS, seed=12)
    load_dictionary()
    mark = f"{os.getpid()}-base"
    process = subprocess.Popen(reindex_command("corpus", "index", "--full"), cwd=folder,
                               env={**os.environ, **WORKERS, "TEST_MARK": mark})
    wait_for(lambda: len(worker_processes(mark)) == 2, "two workers", process, poll=0.02)
    used = dict.fromkeys(worker_processes(mark), 0.0)
    while process.poll() is None:
        for pid in used:
            used[pid] = max(used[pid], cpu_seconds(pid))
        time.sleep(POLL_SECONDS)
    assert process.returncode == 0
    return Base(folder, 0.0, min(used.values()))


def parallel_case(base: Base, folder: Path, point: str) -> None:
    """With the batch split among worker processes: a worker killed at a fault point,
    or the reindex itself killed at a random moment while its workers index. The old
    generation serves, no worker is left running, and the next reindex succeeds."""
    base.copy(folder)
    index = folder / "index"
    first = store.current_generation(index)
    server = WhooshBackend(index)
    before = server.search(SearchRequest(q="dose", per_page=5))
    env = {**os.environ, **WORKERS, "TEST_MARK": f"{os.getpid()}-{point}"}
    command = reindex_command("corpus", "index", "--full")
    if point.startswith("random"):
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        wait_for(lambda: len(worker_processes(env["TEST_MARK"])) == 2, "two workers", process,
                 poll=0.02)
        workers = worker_processes(env["TEST_MARK"])
        # A random moment while both workers index: each has used a seeded fraction (at
        # most half) of the CPU time a worker's share took on this machine.
        share = random.Random(point).uniform(0.1, 0.5) * base.worker_cpu
        wait_for(lambda: all(cpu_seconds(pid) >= share for pid in workers),
                 "both workers part-way through their share", process)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    else:
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                                env={**env, store.CRASH_ENV: point}, timeout=300)
        assert result.returncode != 0 and "indexing worker failed" in result.stderr
    wait_for(lambda: worker_processes(env["TEST_MARK"]) == [], "end of every worker",
             deadline=60, poll=0.05)
    assert store.current_generation(index) == first
    after = server.search(SearchRequest(q="dose", per_page=5))
    assert after == {**before, "took_ms": after["took_ms"]}
    result = run_reindex("corpus", "index", "--full", cwd=folder)  # in one process
    assert result.returncode == 0, result.stderr
    assert store.current_generation(index) != first
    assert [p for p in index.iterdir() if p.name.startswith(store.TMP_PREFIX)] == []
    server.close()


@pytest.fixture(scope="module")
def parallel_runs(request, cases, tmp_path_factory, parallel_base):
    return start_cases(request, cases, tmp_path_factory,
                       test_killed_parallel_reindex_leaves_no_worker_and_the_old_generation,
                       parallel_case, parallel_base)


@pytest.mark.parametrize("point", PARALLEL_POINTS)
def test_killed_parallel_reindex_leaves_no_worker_and_the_old_generation(parallel_runs,
                                                                         point):
    parallel_runs[point].result()  # the case's own assertion errors are raised here


def test_sigkill_after_the_swap_serves_the_new_generation(crash_base, tmp_path):
    folder = crash_base.copy(tmp_path / "case")
    index = folder / "index"
    first = store.current_generation(index)
    mark(sorted((folder / "corpus").glob("*.md"))[0], "afterswap")
    result = run_reindex("corpus", "index", cwd=folder, env={store.CRASH_ENV: "published"})
    assert result.returncode == -signal.SIGKILL
    assert store.current_generation(index) != first
    backend = WhooshBackend(index)
    assert backend.search(SearchRequest(q="afterswap", literal=True))["total"] == 1
    backend.close()
    assert run_reindex("corpus", "index", cwd=folder).returncode == 0


# -- the reindex lock ----------------------------------------------------------------------
def hold_lock(index):
    """Another process holding the reindex lock until its stdin is closed; returns once
    it has the lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from search.whoosh import store\n"
         "with store.reindex_lock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True); sys.stdin.read()",
         str(index)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def has_open(pid: int, path: Path) -> bool:
    """Whether a process has this file open."""
    try:
        descriptors = list((Path("/proc") / str(pid) / "fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) == str(path):
                return True
        except OSError:
            continue
    return False


def test_second_reindex_waits_or_exits_75(corpus_dir, tmp_path):
    index = tmp_path / "index"
    holder = hold_lock(index)
    refused = run_reindex(corpus_dir, index)
    assert refused.returncode == 75
    assert len(refused.stderr.strip().splitlines()) == 1
    assert f"(pid {holder.pid})" in refused.stderr
    waiting = subprocess.Popen(reindex_command(corpus_dir, index, "--wait", "60"), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # It has opened the lock file the holder holds, so it is waiting for the lock: only
    # then is the lock let go.
    wait_for(lambda: has_open(waiting.pid, (index / store.LOCK_FILE).resolve()),
             "a waiting reindex", waiting)
    assert waiting.poll() is None
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    holder.stdout.close()
    _, errors = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, errors
    assert store.current_generation(index) is not None


def test_lock_of_a_killed_reindex_does_not_block(corpus_dir, tmp_path):
    index = tmp_path / "index"
    holder = hold_lock(index)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdin.close()
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
