"""Benchmark: reindex time and search latency with facets on a synthetic corpus.

Search is timed twice per query, interleaved: as readers get it (query understanding
on) and literal (the words as typed), so the cost of understanding is a same-process
difference.

    python -m bench [--monographs 1000] [--rounds 30] [--json bench/out/latest.json]
    python -m bench --corpus DIR [--rounds 30]     # a real monograph folder instead
    python -m bench --testbed --monographs 6400    # the large test bed and its questions

Every figure is a median over repeated runs, printed next to reference runs made in
the same process on the same index (plain Whoosh top-10 without facets, and Whoosh's
own multi-valued facets via groupedby/allow_overlap, and the same sections in SQLite FTS5
with bm25, snippets and GROUP BY facet counts, and a real Typesense server answering the
same requests through our Typesense backend), so ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from whoosh import sorting

from bench.fts5 import build_fts5, search_fts5
from bench.generate import generate_corpus
from bench.testbed import QUESTION_SETS, generate_testbed
from bench.typesense import build_typesense, close_typesense, search_typesense
from search.evaluation import backend_search, evaluate, load_judgments
from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from search.whoosh.query import build_parser, parse_query


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def query_mix(corpus: Path, rng: random.Random) -> list[SearchRequest]:
    names = sorted(p.stem for p in corpus.rglob("*.md"))
    drug = rng.choice([name for name in names if len(name) >= 5] or names)
    typo = drug[:2] + drug[3] + drug[2] + drug[4:]  # transposed letters
    plain = [
        "dose", "infections", "blood pressure", "liver enzymes", '"side effects"',
        "pregnancy breastfeeding", drug, typo, "what is the usual dose",
        "can i take it with food", "headache OR nausea", "risk -pregnancy",
    ]
    requests = [SearchRequest(q=q) for q in plain]
    requests += [SearchRequest(q=q, page=5) for q in ("dose", "infections")]
    requests += [SearchRequest(q="dose", indication=("asthma", "hypertension")),
                 SearchRequest(q="infections", section=("side-effects", "precautions")),
                 SearchRequest(q="", indication=("type-2-diabetes",)),
                 SearchRequest(q="", drug=(drug,))]
    return requests


def time_call(function, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float], digits: int = 2) -> dict:
    return {"median": round(statistics.median(samples), digits),
            "p95": round(percentile(samples, 0.95), digits),
            "p99": round(percentile(samples, 0.99), digits)}


def run(monographs: int, rounds: int, seed: int, typesense: bool = True,
        source: Path | None = None, testbed: bool = False) -> dict:
    """Every figure, from a corpus and index in a temporary folder removed afterwards.
    ``testbed``: the large test bed (bench/testbed.py) with its judged questions."""
    with tempfile.TemporaryDirectory(prefix="monosearch-bench-") as work:
        return _run(Path(work), monographs, rounds, seed, typesense, source, testbed)


def _run(work: Path, monographs: int, rounds: int, seed: int, typesense: bool,
         source: Path | None, testbed: bool = False) -> dict:
    corpus, index = work / "corpus", work / "index"
    if source is not None:  # a real corpus: copied, since the run edits files
        shutil.copytree(source, corpus)
        paths = sorted(corpus.rglob("*.md"))
    elif testbed:
        generate_testbed(corpus, monographs)
        paths = sorted(corpus.rglob("*.md"))
    else:
        paths = generate_corpus(corpus, monographs, seed=seed)
    full = reindex(corpus, index, full=True)
    rejected = {error.path for error in full.errors}  # a real folder may have broken files
    paths = [path for path in paths if str(path) not in rejected]
    rng = random.Random(seed)
    incremental = {}
    for changed in (1, 100):
        for path in rng.sample(paths, min(changed, len(paths))):
            with path.open("a", encoding="utf-8") as file:  # any monograph layout
                file.write(f"\nrev{changed}\n")
        report = reindex(corpus, index)
        assert report.changed == min(changed, len(paths)), report
        incremental[changed] = report.seconds
    live = index / reindex(corpus, index).generation
    size = sum(f.stat().st_size for f in live.iterdir())

    backend = WhooshBackend(index)
    opened = time.perf_counter()
    backend.health()  # open the snapshot outside the timings
    open_seconds = time.perf_counter() - opened
    questions = question_workload(backend, rounds) if testbed else {}
    snapshot = backend._snapshot
    searcher = snapshot.searcher
    parser = build_parser(searcher.schema)
    overlap = {name: sorting.FieldFacet(field, allow_overlap=True)
               for name, field in (("drug", "drug"), ("indication", "indications"),
                                   ("section", "section"))}
    fts5_started = time.perf_counter()
    fts5 = build_fts5(corpus)
    fts5_build = time.perf_counter() - fts5_started
    typesense_handle = build_typesense(corpus) if typesense else None
    ours, literal, cached, plain, naive, sqlite = [], [], [], [], [], []
    ours_text = []  # ours on the requests FTS5 can also answer (text, no filters)
    typesense_ms = []
    requests = query_mix(corpus, rng)
    cold = [time_call(lambda r=r: backend.search(r, use_cache=False), 1)[0] for r in requests]
    for request in requests:
        parsed = parse_query(request.q, parser) if request.q else None
        as_typed = replace(request, literal=True)
        backend.search(request)  # warm caches equally for every contender
        backend.search(as_typed)
        for _ in range(rounds):  # interleaved so noise hits all of them alike
            ours += time_call(lambda r=request: backend.search(r, use_cache=False), 1)
            literal += time_call(lambda r=as_typed: backend.search(r, use_cache=False), 1)
            cached += time_call(lambda r=request: backend.search(r), 1)
            if request.q and not any(request.filters.values()):
                sqlite += time_call(lambda r=request: search_fts5(fts5, r.q, r.page), 1)
                ours_text.append(ours[-1])
            if typesense_handle is not None:
                typesense_ms += time_call(
                    lambda r=request: search_typesense(typesense_handle, r), 1)
            if parsed is not None:
                plain += time_call(lambda p=parsed: searcher.search(p, limit=10), 1)
                naive += time_call(lambda p=parsed: searcher.search(p, limit=10,
                                                                    groupedby=overlap), 1)
    backend.close()
    typesense_figures = {}
    if typesense_handle is not None:
        close_typesense(typesense_handle)
        typesense_figures = {
            "reference_typesense_ms": {**summary(typesense_ms),
                                       "sync_s": round(typesense_handle.sync_seconds, 2)},
            "ratio_ours_to_typesense": round(statistics.median(ours)
                                             / statistics.median(typesense_ms), 2),
        }
    return {
        "machine": f"{platform.machine()} {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "corpus": str(source) if source else "synthetic",
        "monographs": full.monographs,
        "sections": full.sections,
        "rejected_files": len(full.errors),
        "full_reindex_s": round(full.seconds, 2),
        "sections_per_s": round(full.sections / full.seconds, 1),
        "incremental_1_s": round(incremental[1], 3),
        "incremental_100_s": round(incremental[100], 3),
        "index_mb": round(size / 1e6, 1),
        "open_index_s": round(open_seconds, 2),
        "search_first_pass_ms": summary(cold),  # every cache cold, each query once
        "search_ms": summary(ours),
        "search_literal_ms": {"median": round(statistics.median(literal), 2),
                              "p95": round(percentile(literal, 0.95), 2)},
        "search_cached_ms": {"median": round(statistics.median(cached), 3),
                             "p95": round(percentile(cached, 0.95), 3)},
        "understanding_adds_ms": round(statistics.median(ours) - statistics.median(literal), 2),
        "reference_plain_top10_ms": {"median": round(statistics.median(plain), 2),
                                     "p95": round(percentile(plain, 0.95), 2)},
        "reference_whoosh_facets_ms": {"median": round(statistics.median(naive), 2),
                                       "p95": round(percentile(naive, 0.95), 2)},
        "ratio_ours_to_plain": round(statistics.median(ours) / statistics.median(plain), 2),
        "ratio_ours_to_whoosh_facets": round(statistics.median(ours) / statistics.median(naive),
                                             2),
        "reference_sqlite_fts5_ms": {"median": round(statistics.median(sqlite), 2),
                                     "p95": round(percentile(sqlite, 0.95), 2),
                                     "build_s": round(fts5_build, 2)},
        "ours_on_the_same_text_queries_ms": {"median": round(statistics.median(ours_text), 2),
                                             "p95": round(percentile(ours_text, 0.95), 2)},
        "ratio_ours_to_sqlite_fts5": round(statistics.median(ours_text)
                                           / statistics.median(sqlite), 2),
        **typesense_figures,
        **questions,
    }


def question_workload(backend: WhooshBackend, rounds: int) -> dict:
    """The test bed's judged consumer questions: relevance, and latency (result cache
    off) on a first pass with the snapshot freshly opened (postings not read yet) and
    over repeated rounds."""
    figures: dict = {}
    for name, path in QUESTION_SETS.items():
        judgments = load_judgments(path)
        requests = [SearchRequest(q=j["q"]) for j in judgments]
        first = [time_call(lambda r=r: backend.search(r, use_cache=False), 1)[0]
                 for r in requests]
        warm = [sample for _ in range(max(1, rounds // 3)) for r in requests
                for sample in time_call(lambda r=r: backend.search(r, use_cache=False), 1)]
        report = evaluate(judgments, backend_search(backend))
        figures[f"questions_{name}"] = {
            "queries": len(requests),
            **{key: report[key] for key in ("drug_hit1", "drug_hit10", "drug_mrr",
                                            "section_hit1", "section_hit10",
                                            "zero_result_rate")},
            "first_pass_ms": summary(first), "ms": summary(warm)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monographs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="benchmark this monograph folder (copied) instead of a "
                             "synthetic one")
    parser.add_argument("--testbed", action="store_true",
                        help="the large test bed (bench/testbed.py; --monographs 6400 is "
                             "its full size) and its judged consumer questions")
    parser.add_argument("--no-typesense", action="store_true",
                        help="skip the Typesense reference (it needs the [typesense] extra)")
    args = parser.parse_args()
    results = run(args.monographs, args.rounds, args.seed, typesense=not args.no_typesense,
                  source=args.corpus, testbed=args.testbed)
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
