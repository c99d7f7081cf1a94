"""Relevance evaluation: judged queries -> hit@1, hit@10, MRR@10, nDCG@10, zero results,
latency. The judged file has one JSON object a line:
{"q": ..., "relevant": ["slug#section-type" or "slug", ...], "filters": {...}, "category": ...}
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from .errors import MonosearchError

CUTOFF = 10

# (query, filters) -> (response body, seconds)
SearchFunction = Callable[[str, dict], tuple[dict, float]]


class JudgmentError(MonosearchError):
    """A judged-queries file that cannot be read."""


def load_judgments(path: Path) -> list[dict]:
    judgments = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as err:
            raise JudgmentError(f"{path}:{number}: not JSON ({err})") from None
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) \
                or not isinstance(item.get("relevant"), list) or not item["relevant"]:
            raise JudgmentError(f"{path}:{number}: needs \"q\" and a non-empty \"relevant\"")
        judgments.append(item)
    return judgments


def ranked_pairs(body: dict) -> list[tuple[str, str]]:
    """(drug, section type) of each result in order; grouped results are flattened."""
    pairs = []
    for result in body["results"]:
        for hit in result.get("sections", [result]):
            pairs.append((hit["drug"], hit["section"]))
    return pairs


def _first_rank(flags: list[bool]) -> int | None:
    return next((i + 1 for i, flag in enumerate(flags) if flag), None)


def _ndcg(flags: list[bool], relevant_count: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, flag in enumerate(flags) if flag)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(relevant_count, CUTOFF)))
    return dcg / ideal if ideal else 0.0


def score_query(judgment: dict, pairs: list[tuple[str, str]]) -> dict:
    """Per-query metrics at drug and at drug+section level."""
    wanted_drugs = [entry.split("#")[0] for entry in judgment["relevant"]]
    wanted_sections = {tuple(entry.split("#", 1)) for entry in judgment["relevant"]
                       if "#" in entry}
    whole_drugs = {entry for entry in judgment["relevant"] if "#" not in entry}
    top = pairs[:CUTOFF]
    drugs_in_order = list(dict.fromkeys(drug for drug, _ in top))
    drug_flags = [drug in wanted_drugs for drug in drugs_in_order]
    seen_whole: set[str] = set()
    section_flags = []
    for drug, section in top:  # a whole-drug judgment counts once, at its first section
        whole = drug in whole_drugs and drug not in seen_whole
        seen_whole.add(drug)
        section_flags.append((drug, section) in wanted_sections or whole)
    drug_rank = _first_rank([drug in wanted_drugs for drug, _ in top])
    section_rank = _first_rank(section_flags)
    return {
        "drug_hit1": drug_rank == 1,
        "drug_hit10": drug_rank is not None,
        "drug_mrr": 1 / drug_rank if drug_rank else 0.0,
        "drug_ndcg": _ndcg(drug_flags, len(set(wanted_drugs))),
        "section_hit1": section_rank == 1,
        "section_hit10": section_rank is not None,
        "section_mrr": 1 / section_rank if section_rank else 0.0,
        "section_ndcg": _ndcg(section_flags, len(wanted_sections) + len(whole_drugs)),
    }


def evaluate(judgments: list[dict], search: SearchFunction) -> dict:
    """Run every judged query and average the metrics (overall and per category)."""
    rows, latencies, zero = [], [], 0
    for judgment in judgments:
        body, seconds = search(judgment["q"], judgment.get("filters", {}))
        latencies.append(seconds * 1000)
        zero += body["total"] == 0
        row = score_query(judgment, ranked_pairs(body))
        row["category"] = judgment.get("category", "all")
        row["q"] = judgment["q"]
        rows.append(row)
    return {
        "queries": len(rows),
        **_averages(rows),
        "zero_result_rate": round(zero / len(rows), 4) if rows else 0.0,
        "latency_ms": {"median": round(statistics.median(latencies), 2),
                       "p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 2)}
        if latencies else {},
        "categories": {category: {"queries": sum(1 for r in rows if r["category"] == category),
                                  **_averages([r for r in rows if r["category"] == category])}
                       for category in sorted({r["category"] for r in rows})},
        "misses": [r["q"] for r in rows if not r["drug_hit10"] or not r["section_hit10"]],
    }


def _averages(rows: list[dict]) -> dict:
    keys = ["drug_hit1", "drug_hit10", "drug_mrr", "drug_ndcg",
            "section_hit1", "section_hit10", "section_mrr", "section_ndcg"]
    return {key: round(sum(float(r[key]) for r in rows) / len(rows), 4) if rows else 0.0
            for key in keys}


def backend_search(backend, literal: bool = False) -> SearchFunction:
    """Search through an in-process backend, flat results (literal: no rewrites)."""
    from .request import SearchRequest

    def search(q: str, filters: dict) -> tuple[dict, float]:
        request = SearchRequest(q=q, per_page=CUTOFF, literal=literal,
                                drug=tuple(filters.get("drug", ())),
                                indication=tuple(filters.get("indication", ())),
                                section=tuple(filters.get("section", ())),
                                drug_class=tuple(filters.get("drug_class", ())))
        started = time.perf_counter()
        body = backend.search(request)
        return body, time.perf_counter() - started
    return search


def http_search(base_url: str, literal: bool = False) -> SearchFunction:
    """Search a running server's JSON API."""
    import urllib.parse
    import urllib.request

    def search(q: str, filters: dict) -> tuple[dict, float]:
        params = [("q", q), ("per_page", str(CUTOFF)), ("literal", "1" if literal else "0")]
        params += [(name, value) for name, values in filters.items() for value in values]
        url = f"{base_url.rstrip('/')}/api/search?{urllib.parse.urlencode(params)}"
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
        return body, time.perf_counter() - started
    return search


def format_report(report: dict) -> str:
    lines = [f"{report['queries']} judged queries",
             f"{'':12}{'hit@1':>8}{'hit@10':>8}{'MRR@10':>8}{'nDCG@10':>9}"]
    for level in ("drug", "section"):
        lines.append(f"{'drug' if level == 'drug' else 'drug+section':12}"
                     f"{report[level + '_hit1']:>8.3f}{report[level + '_hit10']:>8.3f}"
                     f"{report[level + '_mrr']:>8.3f}{report[level + '_ndcg']:>9.3f}")
    lines.append(f"zero-result rate {report['zero_result_rate']:.3f}; latency median "
                 f"{report['latency_ms'].get('median')} ms, "
                 f"p95 {report['latency_ms'].get('p95')} ms")
    lines.append("by category (drug hit@10 / drug+section hit@10):")
    for name, values in report["categories"].items():
        lines.append(f"  {name:10} {values['queries']:4}  {values['drug_hit10']:.3f} / "
                     f"{values['section_hit10']:.3f}")
    if report["misses"]:
        lines.append("missed at 10: " + "; ".join(report["misses"][:40]))
    return "\n".join(lines)
