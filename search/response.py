"""The JSON bodies every backend answers with (see README: JSON API), written once: a
result, a drug group, the search body with its facet buckets, a monograph, suggestions.
Backends find the hits; what a body holds and in which order is decided here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import DISCLAIMER
from .corpus.sections import SECTION_TYPES, section_label  # noqa: F401 - labels pages show
from .request import SearchRequest

# request parameter -> the index field that holds the facet's values (both backends)
FACET_FIELDS: dict[str, str] = {"drug": "drug", "indication": "indications",
                                "section": "section", "class": "drug_class"}
FACET_LIMIT = 100  # buckets returned per facet, most frequent first (selected ones are added)
GROUP_SECTIONS = 3  # best sections shown under each drug when grouping


def effective_group(request: SearchRequest, names_a_drug: bool) -> str:
    """group=auto: one result per drug, unless the query names a drug (then its
    sections) or there is no query."""
    if request.group != "auto":
        return request.group
    return "drug" if request.q and not names_a_drug else "none"


def result(*, id: str, drug: str, drug_name: str, section: str, heading: str,
           indications: list[str], score: float | None, snippet: str, anchor: str) -> dict:
    """One section hit."""
    return {"id": id, "drug": drug, "drug_name": drug_name, "section": section,
            "heading": heading, "indications": indications,
            "score": round(float(score), 4) if score is not None else None,
            "snippet": snippet, "url": f"/drug/{drug}#{anchor}"}


def drug_group(sections: list[dict]) -> dict:
    """One drug's best sections (results, best first) as one grouped result."""
    first = sections[0]
    return {"drug": first["drug"], "drug_name": first["drug_name"],
            "indications": first["indications"], "score": first["score"],
            "url": f"/drug/{first['drug']}", "sections": sections}


def search_body(request: SearchRequest, *, results: list[dict], total: int,
                facets: dict[str, list[dict]], group: str, total_groups: int | None,
                listed: int, more: dict[str, int], interpretation: list[dict],
                relaxed: bool, corrected: str | None, suggestions: list[dict],
                **extra: Any) -> dict:
    """The search response (took_ms is filled in by the caller; ``extra`` adds
    backend-specific keys at the end, such as the generation)."""
    return {
        "query": request.q, "corrected": corrected, "total": total, "page": request.page,
        "per_page": request.per_page, "took_ms": 0.0, "results": results,
        "facets": facets, "interpretation": interpretation, "relaxed": relaxed,
        "group": group, "total_groups": total_groups, "listed": listed, "more": more,
        "suggestions": suggestions, "disclaimer": DISCLAIMER, **extra,
    }


def monograph_body(slug: str, title: str, head: Mapping, indications: Sequence,
                   sections: list[dict]) -> dict:
    """A monograph as the drug page shows it. ``head``: the first section's stored
    ``monograph`` entry (brands, classes, intro, disclaimer); ``indications``: (value,
    label) pairs; ``sections``: stored documents in page order."""
    return {
        "slug": slug, "title": title, "brands": head.get("brands", []),
        "drug_class": head.get("drug_class", []),
        "indications": [{"value": value, "label": label} for value, label in indications],
        "intro": head.get("intro", ""),
        "sections": [{"type": d["section"], "heading": d["heading"], "anchor": d["anchor"],
                      "text": d["body"], "markdown": d["markdown"]} for d in sections],
        "disclaimer": DISCLAIMER,
        "monograph_disclaimer": head.get("disclaimer"),
        # the review record's entry (search.corpus.reviews): the FDA label it was
        # checked against, and when; None when it was not reviewed
        "review": head.get("review"),
    }


def suggest_body(text: str, items: list, took_ms: float) -> dict:
    return {"query": text, "suggestions": [item.as_dict() for item in items],
            "took_ms": round(took_ms, 3), "disclaimer": DISCLAIMER}


# -- facet buckets -----------------------------------------------------------------------
def facet_labels(monographs: Mapping[str, Mapping]) -> dict[str, dict[str, str]]:
    """Facet -> value -> label, from the index's monograph entries (slug -> title,
    indications and drug_class as (value, label) pairs)."""
    drugs, indications, classes = {}, {}, {}
    for slug, entry in monographs.items():
        drugs[slug] = entry.get("title", slug)
        for value, label in entry.get("indications", ()):
            indications.setdefault(value, label)
        for value, label in entry.get("drug_class", ()):
            classes.setdefault(value, label)
    sections = {kind: section_label(kind) for kind in SECTION_TYPES}
    return {"drug": drugs, "indication": indications, "section": sections, "class": classes}


def bucket_order(bucket: dict) -> tuple:
    """Most frequent first, then by label, then by value."""
    return (-bucket["count"], bucket["label"].lower(), bucket["value"])


def buckets_from_counts(counts: Mapping[str, int], labels: Mapping[str, str],
                        selected: Sequence[str]) -> list[dict]:
    """A facet's buckets from a value -> count mapping."""
    chosen = set(selected)
    shown = [{"value": value, "label": labels.get(value, value), "count": count,
              "selected": value in chosen} for value, count in counts.items() if count]
    shown.sort(key=bucket_order)
    return with_selected(shown[:FACET_LIMIT], selected, lambda v: counts.get(v, 0),
                         lambda v: labels.get(v, v))


def with_selected(shown: list[dict], selected: Sequence[str],
                  count_of: Callable[[str], int], label_of: Callable[[str], str]
                  ) -> list[dict]:
    """Selected values are always listed, with their count (0 if need be)."""
    values = {b["value"] for b in shown}
    extra = False
    for value in selected:
        if value not in values:
            shown.append({"value": value, "label": label_of(value), "count": count_of(value),
                          "selected": True})
            values.add(value)
            extra = True
    if extra:
        shown.sort(key=bucket_order)
    return shown
