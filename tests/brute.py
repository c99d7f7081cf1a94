"""An independent facet count for the tests: every section as plain python sets, and
the multi-select counts computed by looping over them (shared by the Whoosh and
Typesense facet tests; keep it free of search/facets.py)."""

from pathlib import Path

from search.corpus.documents import section_documents
from search.corpus.parsing import iter_corpus
from search.corpus.vocabulary import default_vocabulary
from search.whoosh.schema import SEARCH_FIELDS, body_analyzer

FACETS = ("drug", "indication", "section", "class")


def bucket_order(bucket: dict) -> tuple:
    """Most frequent first, then by label, then by value (the API's documented order)."""
    return (-bucket["count"], bucket["label"].lower(), bucket["value"])


def plain_sections(corpus: Path) -> list[dict]:
    """Every section's id, facet values and analyzed words."""
    analyzer = body_analyzer()
    docs = []
    for monograph in iter_corpus(corpus):
        for doc in section_documents(monograph, default_vocabulary()):
            docs.append({
                "id": doc["id"],
                "drug": {doc["drug"]},
                "indication": {slug for slug in doc["indications"].split(",") if slug},
                "section": {doc["section"]},
                "class": {slug for slug in doc["drug_class"].split(",") if slug},
                "words": {token.text for field in SEARCH_FIELDS
                          for token in analyzer(doc[field])},
            })
    return docs


def brute_force(documents: list[dict], labels: dict, q: str, filters: dict,
                limit: int | None = 100) -> tuple[list[str], dict]:
    """(ids of the sections matching q and every filter, buckets per facet), each facet
    counted with every filter but its own; the ``limit`` most frequent buckets shown,
    and the selected ones wherever they rank."""
    stems = [t.text for t in body_analyzer()(q)]
    matching = [d for d in documents if all(s in d["words"] for s in stems)] if q else documents

    def passes(doc, skip):
        return all(not filters[f] or set(filters[f]) & doc[f] for f in FACETS if f != skip)

    facets = {}
    for facet in FACETS:
        counts = {value: 0 for value in filters[facet]}
        for doc in matching:
            if passes(doc, facet):
                for value in doc[facet]:
                    counts[value] = counts.get(value, 0) + 1
        buckets = [{"value": v, "label": labels[facet].get(v, v), "count": c,
                    "selected": v in filters[facet]}
                   for v, c in counts.items() if c or v in filters[facet]]
        buckets.sort(key=bucket_order)
        shown = buckets[:limit]
        shown += [b for b in buckets[len(shown):] if b["selected"]]
        facets[facet] = sorted(shown, key=bucket_order)
    return [d["id"] for d in matching if passes(d, None)], facets


def facet_disagreement(shown: list[dict], expected: list[dict], limit: int = 100
                       ) -> str | None:
    """Why a facet's buckets are not the brute-force ones (None: they are). ``expected``:
    brute_force's buckets with limit=None. The top ``limit`` is fully determined unless
    values tie at the cut; there any of the tied values may be shown (Typesense picks
    them by count alone, Whoosh by label), so the check is then: the counts are right,
    the order is right, the selected values are there, and nothing left out outranks
    what is shown."""
    cut = [b for b in expected if not b["selected"] or b["count"]]
    if len(cut) <= limit or cut[limit - 1]["count"] != cut[limit]["count"]:
        wanted = cut[:limit] + [b for b in cut[limit:] if b["selected"]]
        wanted += [b for b in expected if b["selected"] and b not in wanted]
        wanted.sort(key=bucket_order)
        return None if shown == wanted else f"expected {wanted[:5]}..., shown {shown[:5]}..."
    truth = {b["value"]: b for b in expected}
    wrong = [b for b in shown if truth.get(b["value"], {**b, "count": 0}) != b]
    if wrong:
        return f"wrong buckets {wrong[:3]}"
    if any(b["selected"] and b not in shown for b in expected):
        return "a selected value is missing"
    if shown != sorted(shown, key=bucket_order):
        return "buckets out of order"
    unselected = [b for b in shown if not b["selected"]]
    if len([b for b in shown if b["count"]]) < limit:
        return f"only {len(shown)} buckets shown"
    floor = min(b["count"] for b in unselected)
    left_out = [b for b in expected if b not in shown and b["count"] > floor]
    return f"left out {left_out[:3]}" if left_out else None
