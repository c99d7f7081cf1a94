"""Resource bounds: the largest accepted monograph, huge queries and deep pages.

    python -m bench.bounds [--json bench/out/bounds.json]

Each scenario runs in a fresh process so its peak RSS is its own; a process that only
imports the library is the reference, so the figures read as "x MB over baseline".
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from search.corpus.parsing import MAX_BYTES

SCENARIOS = ("baseline", "parse-1mib", "index-1mib", "query-10000-terms",
             "query-500-chars", "deep-page", "deep-page-grouped")


def _one_mib_monograph() -> str:
    head = "---\ntitle: Hugedrug\nlayout: minimal-medicine\n---\n# Hugedrug\n"
    words = " ".join(f"word{n % 5000} dose risk" for n in range(7_500))
    sections = ["Generic Name", "Usage", "Dosage", "Side Effects", "How it Works",
                "Precautions", "FAQs"]
    body = "".join(f"### {name}\nUsed for asthma. {words}\n\n" for name in sections)
    text = head + body + "**Disclaimer:** synthetic.\n"
    return text[:MAX_BYTES - 64] + "\n\n**Disclaimer:** synthetic.\n"


def _scenario(name: str, work: Path) -> dict:
    """Runs inside the child process; returns its timing."""
    from search.corpus.parsing import parse_monograph
    from search.errors import BadRequest
    from search.request import SearchRequest
    from search.whoosh.backend import WhooshBackend
    from search.whoosh.indexer import reindex

    corpus, index = work / "corpus", work / "index"
    started = time.perf_counter()
    detail = ""
    if name == "parse-1mib":
        text = (corpus / "hugedrug.md").read_bytes()
        monograph = parse_monograph(text, "hugedrug.md")
        detail = f"{len(text)} bytes, {len(monograph.sections)} sections"
    elif name == "index-1mib":
        report = reindex(work / "huge", work / "huge-index", full=True)
        detail = f"{report.sections} sections"
    elif name == "query-10000-terms":  # refused before any work, however it is made
        try:
            SearchRequest(q=" ".join(f"term{n}" for n in range(10_000)))
        except BadRequest as err:
            detail = f"refused: {err}"
    else:
        backend = WhooshBackend(index)
        backend.health()
        started = time.perf_counter()
        if name == "query-500-chars":
            q = " ".join(f"qz{n}w" for n in range(80))[:500]
            body = backend.search(SearchRequest(q=q))
        elif name == "deep-page":  # the last full page of everything, and of a query
            backend.search(SearchRequest(q="", page=14, per_page=100))
            body = backend.search(SearchRequest(q="dose", page=3, per_page=100))
        elif name == "deep-page-grouped":
            body = backend.search(SearchRequest(q="dose", page=19, per_page=10, group="drug"))
        if name != "baseline":
            detail = f"total {body['total']}, {len(body['results'])} results"
    return {"seconds": round(time.perf_counter() - started, 3), "detail": detail}


def _peak_rss_mb() -> float:
    """This process's own high-water mark (ru_maxrss would include the parent's, which
    Linux carries across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child(name: str, work: str) -> None:
    result = _scenario(name, Path(work)) if name != "baseline" else {"seconds": 0.0,
                                                                     "detail": "import only"}
    print(json.dumps({**result, "peak_rss_mb": _peak_rss_mb()}))


def run() -> dict:
    from bench.generate import generate_corpus
    from search.whoosh.indexer import reindex

    work = Path(tempfile.mkdtemp(prefix="monosearch-bounds-"))
    corpus = work / "corpus"
    generate_corpus(corpus, 200, seed=3)
    (corpus / "hugedrug.md").write_text(_one_mib_monograph(), encoding="utf-8")
    (work / "huge").mkdir()
    (work / "huge" / "hugedrug.md").write_text(_one_mib_monograph(), encoding="utf-8")
    reindex(corpus, work / "index")
    results = {}
    for name in SCENARIOS:
        output = subprocess.run([sys.executable, "-m", "bench.bounds", "--child", name,
                                 str(work)], capture_output=True, text=True, check=True)
        results[name] = json.loads(output.stdout.strip().splitlines()[-1])
    base = results["baseline"]["peak_rss_mb"]
    for values in results.values():
        values["over_baseline_mb"] = round(values["peak_rss_mb"] - base, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("SCENARIO", "WORKDIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    results = run()
    for name, values in results.items():
        print(f"{name:20} {values['seconds']:>8.3f} s  peak {values['peak_rss_mb']:>6.1f} MB "
              f"(+{values['over_baseline_mb']:.1f})  {values['detail']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
