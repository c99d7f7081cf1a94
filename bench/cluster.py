"""Typesense on one node and on a 3-node cluster, on the large test bed, through the
service: sync time, search latency through gunicorn (2 workers, HTTP from a client on
the same machine), and searches through the service while the leader is killed. The
reference is the embedded Whoosh backend served the same way, in the same run.

    python -m bench.cluster [--monographs 6000] [--rounds 3]

Prints JSON. Latencies are per question of the test bed's question sets (tuning and
holdout): every question is asked once per worker first (caches warm, as in a running
service), then ``rounds`` times; medians and p95 over those. The Whoosh result cache is
off (the Typesense backend has none). The node-loss run kills the leader a third of the
way through one round and counts answers other than 200."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench.http import latency, start_gunicorn
from bench.testbed import QUESTION_SETS, generate_testbed
from search.evaluation import load_judgments
from search.typesense.client import TypesenseClient
from search.typesense.cluster import TypesenseCluster
from search.typesense.sync import sync_typesense
from search.whoosh.indexer import reindex


def search_urls(base: str, questions: list[str]) -> list[str]:
    return [f"{base}/api/search?{urllib.parse.urlencode({'q': q})}" for q in questions]


def served(settings: dict | None, index: Path | None, urls_of, rounds: int) -> dict:
    process, base = start_gunicorn(index, cache=False, settings=settings)
    try:
        return latency(base, urls_of(base), rounds, warm=2)
    finally:
        process.terminate()
        process.wait(timeout=30)


def synced(cluster: TypesenseCluster, corpus: Path) -> dict:
    client = TypesenseClient(cluster.urls, cluster.api_key)
    try:
        report = sync_typesense(corpus, client)
    finally:
        client.close()
    cluster.wait_ready("monographs", report.sections)
    return {"sync_seconds": round(report.seconds, 1), "monographs": report.monographs,
            "sections": report.sections}


def settings_of(cluster: TypesenseCluster) -> dict:
    return {"MONOSEARCH_BACKEND": "typesense", "MONOSEARCH_TYPESENSE_NODES": cluster.urls,
            "MONOSEARCH_TYPESENSE_KEY": cluster.api_key}


def leader_killed(cluster: TypesenseCluster, urls_of) -> dict:
    """One round through the service; the leader is SIGKILLed a third of the way."""
    process, base = start_gunicorn(None, cache=False, settings=settings_of(cluster))
    urls = urls_of(base)
    failed, slowest = 0, 0.0
    try:
        for position, url in enumerate(urls):
            if position == len(urls) // 3:
                cluster.kill_node(cluster.leader())
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    failed += response.status != 200
                    response.read()
            except (urllib.error.URLError, OSError):
                failed += 1
            slowest = max(slowest, (time.perf_counter() - started) * 1000)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"searches": len(urls), "failed": failed, "slowest_ms": round(slowest, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--monographs", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [j["q"] for path in QUESTION_SETS.values() for j in load_judgments(path)]
    def urls_of(base: str) -> list[str]:
        return search_urls(base, questions)
    results: dict = {"questions": len(questions)}
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        generate_testbed(corpus, args.monographs)
        index = Path(folder) / "index"
        started = time.perf_counter()
        reindex(corpus, index)
        results["whoosh"] = {"reindex_seconds": round(time.perf_counter() - started, 1),
                             **served(None, index, urls_of, args.rounds)}
        for size in (1, 3):
            cluster = TypesenseCluster.create(Path(folder) / f"cluster{size}", size).start()
            try:
                results[f"typesense_{size}_node"] = {
                    **synced(cluster, corpus),
                    **served(settings_of(cluster), None, urls_of, args.rounds)}
                if size == 3:
                    results["typesense_3_node_leader_killed"] = leader_killed(cluster,
                                                                              urls_of)
            finally:
                cluster.stop()
    reference = results["whoosh"]["median"]
    for figures in results.values():
        if isinstance(figures, dict) and "median" in figures:
            figures["median_vs_whoosh"] = round(figures["median"] / reference, 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
