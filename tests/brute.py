"""An independent facet count for the tests: every section as plain python sets, and
the multi-select counts computed by looping over them (shared by the Whoosh and
Typesense facet tests; keep it free of search/facets.py)."""

from pathlib import Path

from search.corpus.documents import section_documents
from search.corpus.parsing import iter_corpus
from search.corpus.vocabulary import default_vocabulary
from search.whoosh.schema import SEARCH_FIELDS, body_analyzer

FACETS = ("drug", "indication", "section", "class")


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


def brute_force(documents: list[dict], labels: dict, q: str, filters: dict
                ) -> tuple[list[str], dict]:
    """(ids of the sections matching q and every filter, buckets per facet), each facet
    counted with every filter but its own."""
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
        buckets.sort(key=lambda b: (-b["count"], b["label"].lower(), b["value"]))
        facets[facet] = buckets
    return [d["id"] for d in matching if passes(d, None)], facets
