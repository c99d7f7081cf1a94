"""Drug pages of pathological markdown: every page renders in bounded time.

    python -m bench.render [--json bench/results/render-pages.json] [--repeat 5]

Builds one 1 MiB monograph per shape that python-markdown handles badly (runs of "[",
"[](", one-line nested list markers, ">" runs, 300,000 one-line paragraphs, rules,
emphasis), one with the most sections the parser accepts and a prose page of the same
size, indexes them with the seed, and times `GET /drug/<slug>` through the Flask app in
this process: the median of --repeat requests, and its ratio to the seed's own page
(the reference, timed in the same run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from search.corpus.parsing import MAX_BYTES, MAX_SECTIONS

SEED = Path(__file__).resolve().parent.parent / "corpus" / "baricitinib.md"
_SIZE = MAX_BYTES - 400  # room for the head


def shapes() -> dict[str, str]:
    """Section bodies of about 1 MiB each (the 'sections' page: its own headings)."""
    prose = "Take this medicine with food. It may cause nausea and headache. " * 20
    return {
        "brackets": "[" * _SIZE,
        "link-openers": "[](" * (_SIZE // 3),
        "nested-markers": "- " * (_SIZE // 2),
        "quote-run": ">" * _SIZE,
        "paragraphs": "a\n\n" * (_SIZE // 3),
        "rules": "---\n" * (_SIZE // 4),
        "emphasis": "*a*" * (_SIZE // 3),
        "line-breaks": "a  \n" * (_SIZE // 4),
        "prose": ((prose + "\n\n") * (_SIZE // (len(prose) + 2))),
        "sections": "".join(f"### Part {n}\n" + "Take it with food. " * 150 + "\n\n"
                            for n in range(MAX_SECTIONS - 2))[:_SIZE],
    }


def monograph(title: str, body: str) -> str:
    return (f"---\ntitle: {title}\nlayout: minimal-medicine\n---\n# {title}\n\n"
            f"### Usage\nUsed for asthma.\n\n### Side Effects\n{body}\n")


def run(repeat: int) -> dict:
    from search.whoosh.indexer import reindex
    from web import create_app

    with tempfile.TemporaryDirectory() as folder:
        corpus, index = Path(folder) / "corpus", Path(folder) / "index"
        corpus.mkdir()
        (corpus / SEED.name).write_bytes(SEED.read_bytes())
        for name, body in shapes().items():
            (corpus / f"{name}.md").write_text(monograph(name.title(), body))
        report = reindex(corpus, index, full=True)
        if report.errors:
            raise SystemExit(f"bench.render: {report.errors[0]}")
        client = create_app({"TESTING": True, "INDEX_DIR": str(index),
                             "CORPUS_DIR": str(corpus)}).test_client()

        def median_ms(slug: str) -> tuple[float, int]:
            times, size = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(f"/drug/{slug}")
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (slug, response.status_code)
                size = len(response.data)
            return statistics.median(times) * 1000, size

        reference, _ = median_ms(SEED.stem)
        pages = {}
        for name in ["baricitinib", *shapes()]:
            ms, size = median_ms(name)
            pages[name] = {"median_ms": round(ms, 1), "ratio": round(ms / reference, 1),
                           "html_kib": size // 1024}
        return {"reference": "baricitinib (the seed)", "reference_ms": round(reference, 1),
                "repeat": repeat, "index_seconds": round(report.seconds, 1), "pages": pages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = run(args.repeat)
    print(f"index: {result['index_seconds']} s; reference {result['reference']}: "
          f"{result['reference_ms']} ms")
    for name, page in result["pages"].items():
        print(f"  /drug/{name:15s} {page['median_ms']:7.1f} ms  x{page['ratio']:<6} "
              f"{page['html_kib']:5d} KiB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
