"""Relevance of the two backends on the large test bed's judged questions, side by side:
the bed generated (once, kept in FOLDER), indexed by Whoosh and synced to a throwaway
Typesense server, then both question sets evaluated on both.

    python -m bench.parity [--monographs 800] [--folder /tmp/parity]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.testbed import QUESTION_SETS, generate_testbed
from search.evaluation import backend_search, evaluate, load_judgments
from search.typesense.backend import TypesenseBackend
from search.typesense.client import TypesenseClient
from search.typesense.server import start_server
from search.typesense.sync import sync_typesense
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex

METRICS = ("drug_hit1", "drug_hit10", "drug_mrr", "section_hit10", "zero_result_rate")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parity")
    parser.add_argument("--monographs", type=int, default=800)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/monosearch-parity"))
    args = parser.parse_args()
    base = args.folder / str(args.monographs)
    if not (base / "corpus").exists():
        generate_testbed(base / "corpus", args.monographs)
    reindex(base / "corpus", base / "index")
    server = start_server()
    try:
        client = TypesenseClient(server.url, server.api_key)
        try:
            sync_typesense(base / "corpus", client)
        finally:
            client.close()
        backends = {"whoosh": WhooshBackend(base / "index"),
                    "typesense": TypesenseBackend(server.url, server.api_key)}
        results = {}
        for name, backend in backends.items():
            for set_name, path in QUESTION_SETS.items():
                report = evaluate(load_judgments(path), backend_search(backend, False))
                results[f"{name}/{set_name}"] = {**{k: report[k] for k in METRICS},
                                                 "latency_ms": report["latency_ms"]}
            backend.close()
    finally:
        server.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
