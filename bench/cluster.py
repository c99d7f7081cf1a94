"""Typesense on one node and on a 3-node cluster, on the large test bed: sync time, search
latency through the backend (HTTP to Typesense included), and searches during the loss
of the leader.

    python -m bench.cluster [--monographs 6000] [--rounds 3]

Prints JSON. Latencies are per question of the test bed's question sets, medians and
p95 over every round; the node-loss run kills the leader a third of the way through a
round and counts failed searches."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.testbed import QUESTION_SETS, generate_testbed
from search.errors import MonosearchError
from search.evaluation import load_judgments
from search.request import SearchRequest
from search.typesense.backend import TypesenseBackend
from search.typesense.client import TypesenseClient
from search.typesense.cluster import TypesenseCluster
from search.typesense.sync import sync_typesense


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(cluster: TypesenseCluster, corpus: Path, questions: list[str], rounds: int,
            kill_leader: bool = False) -> dict:
    client = TypesenseClient(cluster.urls, cluster.api_key)
    try:
        report = sync_typesense(corpus, client)
    finally:
        client.close()
    cluster.wait_ready("monographs", report.sections)
    backend = TypesenseBackend(cluster.urls, cluster.api_key)
    backend.health()
    timings, failures = [], 0
    kill_at = len(questions) // 3 if kill_leader else -1  # in the last round
    for number in range(rounds):
        for position, question in enumerate(questions):
            if number == rounds - 1 and position == kill_at:
                cluster.kill_node(cluster.leader())
            started = time.perf_counter()
            try:
                backend.search(SearchRequest(q=question), use_cache=False)
            except MonosearchError:
                failures += 1
            timings.append((time.perf_counter() - started) * 1000)
    backend.close()
    return {"sync_seconds": round(report.seconds, 1), "monographs": report.monographs,
            "sections": report.sections, "searches": len(timings), "failed": failures,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 0.95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--monographs", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [j["q"] for path in QUESTION_SETS.values() for j in load_judgments(path)]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        generate_testbed(corpus, args.monographs)
        for size in (1, 3):
            cluster = TypesenseCluster.create(Path(folder) / f"cluster{size}", size).start()
            try:
                results[f"{size}_node"] = measure(cluster, corpus, questions, args.rounds)
                if size == 3:
                    results["3_node_leader_killed"] = measure(cluster, corpus, questions, 1,
                                                              kill_leader=True)
            finally:
                cluster.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
