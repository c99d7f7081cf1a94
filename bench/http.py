"""HTTP latency and throughput against gunicorn (2 workers), and peak memory.

    python -m bench.http --index DIR [--corpus DIR] [--seconds 10] [--json FILE]
                         [--questions bench/data/testbed-queries-holdout.jsonl ...]

Latency is timed per request from a client on the same machine, with the result cache
off (the engine's own cost) and on (what repeated queries cost), and for /api/suggest
on prefixes of names. Throughput is queries per second from 1, 4 and 16 client threads
for a fixed time, with the cache off and on. Memory is read from /proc for each gunicorn
worker (VmHWM peak; RssAnon private, RssFile index pages shared by the workers and
reclaimable) and for a full reindex (its own peak and its worker processes').
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.__main__ import percentile, query_mix
from search.evaluation import load_judgments

CLIENTS = (1, 4, 16)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def start_gunicorn(index: Path | None, cache: bool, settings: dict | None = None
                   ) -> tuple[subprocess.Popen, str]:
    """gunicorn with 2 workers on the index (or the backend ``settings`` name, as
    MONOSEARCH_* variables); (process, base URL) once it answers."""
    port = _free_port()
    env = {**os.environ, "MONOSEARCH_RESULT_CACHE": "1024" if cache else "0",
           **({"MONOSEARCH_INDEX": str(index)} if index else {}), **(settings or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "web:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _url(base: str, request) -> str:
    params = [("q", request.q), ("page", str(request.page))]
    for name, values in request.filters.items():
        params += [("drug_class" if name == "class" else name, v) for v in values]
    return f"{base}/api/search?{urllib.parse.urlencode(params)}"


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def suggest_urls(base: str, corpus: Path) -> list[str]:
    names = sorted(p.stem for p in corpus.rglob("*.md"))
    rng = random.Random(3)
    prefixes = [name[:n] for name in rng.sample(names, min(20, len(names))) for n in (2, 4, 6)]
    prefixes += ["ast", "hyper", "diab", "blood th", "pain", "ant"]
    return [f"{base}/api/suggest?{urllib.parse.urlencode({'q': p})}" for p in prefixes]


def latency(base: str, urls: list[str], rounds: int, warm: int = 2) -> dict:
    for url in urls:  # warm both workers (each has its own snapshot and result cache)
        for _ in range(warm):
            _get(url)
    samples = [_get(url) for _ in range(rounds) for url in urls]
    return {"median": round(statistics.median(samples), 2),
            "p95": round(percentile(samples, 0.95), 2),
            "p99": round(percentile(samples, 0.99), 2)}


def throughput(urls: list[str], clients: int, seconds: float) -> float:
    done, stop = [0] * clients, threading.Event()

    def client(number: int) -> None:
        rng = random.Random(number)
        while not stop.is_set():
            _get(rng.choice(urls))
            done[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return round(sum(done) / seconds, 1)


def reindex_peak_rss(corpus: Path, scratch: Path) -> dict:
    """Full reindex in a fresh process; its own VmHWM (ru_maxrss would include ours)."""
    code = ("import sys, time, resource; from pathlib import Path;"
            "from search.whoosh.indexer import reindex;"
            "t=time.perf_counter(); r=reindex(Path(sys.argv[1]), Path(sys.argv[2]), full=True);"
            "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
            "kids=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
            "print(r.sections, round(time.perf_counter()-t, 2), int(hwm), kids)")
    out = subprocess.run([sys.executable, "-c", code, str(corpus), str(scratch)],
                         capture_output=True, text=True, check=True).stdout.split()
    return {"sections": int(out[0]), "seconds": float(out[1]),
            "peak_rss_mb": round(int(out[2]) / 1024, 1),
            "worker_peak_rss_mb": round(int(out[3]) / 1024, 1)}


def wait_for_read_ahead(base: str, timeout: float = 300.0) -> float:
    """Seconds until both workers report their postings read ahead (each /healthz lands
    on one worker, the kernel's choice: ten "done" in a row)."""
    started = time.monotonic()
    done = 0
    while done < 10 and time.monotonic() - started < timeout:
        with urllib.request.urlopen(base + "/healthz", timeout=30) as response:
            state = json.load(response).get("read_ahead")
        done = done + 1 if state in ("done", "off") else 0
        if not done:
            time.sleep(0.1)
    return round(time.monotonic() - started, 2)


def questions(base: str, paths: list[Path], rounds: int) -> dict:
    """Judged consumer questions, result cache off: each question once on a fresh server
    (first pass), then repeated rounds; every filter-free question with all facets."""
    found = {}
    for path in paths:
        urls = [f"{base}/api/search?{urllib.parse.urlencode({'q': j['q']})}"
                for j in load_judgments(path)]
        first = [_get(url) for url in urls]
        warm = [_get(url) for _ in range(rounds) for url in urls]
        found[path.stem] = {"queries": len(urls),
                            "first_pass": {"median": round(statistics.median(first), 2),
                                           "p95": round(percentile(first, 0.95), 2),
                                           "p99": round(percentile(first, 0.99), 2)},
                            "repeated": {"median": round(statistics.median(warm), 2),
                                         "p95": round(percentile(warm, 0.95), 2),
                                         "p99": round(percentile(warm, 0.99), 2)}}
    return found


def run(index: Path, corpus: Path | None, seconds: float, rounds: int,
        question_files: list[Path] = ()) -> dict:
    rng = random.Random(7)
    results: dict = {}
    requests = query_mix(corpus, rng) if corpus else []
    for cache in (False, True):
        process, base = start_gunicorn(index, cache)
        try:
            urls = [_url(base, r) for r in requests]
            mode = "cache_on" if cache else "cache_off"
            if not cache and question_files:
                results["read_ahead_s"] = wait_for_read_ahead(base)
                results["http_questions_cache_off"] = questions(base, question_files, rounds)
            # With the cache on, enough warming that each worker has seen every request
            # (the worker answering is the kernel's choice): repeated-query latency.
            results[f"http_{mode}"] = latency(base, urls, rounds, warm=8 if cache else 2)
            if not cache and corpus:
                results["http_suggest"] = latency(base, suggest_urls(base, corpus), rounds)
            results[f"throughput_qps_{mode}"] = {str(n): throughput(urls, n, seconds)
                                                 for n in CLIENTS}
            workers = [int(p) for p in Path(f"/proc/{process.pid}/task/{process.pid}/children")
                       .read_text().split()]
            results[f"worker_memory_mb_{mode}"] = [
                {field: _vm(pid, field) for field in ("VmHWM", "RssAnon", "RssFile")}
                for pid in workers]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    if corpus:
        results["reindex_full"] = reindex_peak_rss(corpus, index.parent / "rss-index")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--questions", type=Path, action="append", default=[],
                        metavar="FILE.jsonl", help="judged questions to time (repeatable)")
    args = parser.parse_args()
    results = run(args.index, args.corpus, args.seconds, args.rounds, args.questions)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
