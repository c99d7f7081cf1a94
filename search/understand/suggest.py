"""Search-as-you-type: names that start with what the reader has typed so far.

Drug names, brands, and the conditions and classes present in the index, each findable
by the start of any of its words ("arth" finds "Rheumatoid arthritis"). One sorted list
per generation and a binary search: microseconds a keystroke.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from ..corpus.vocabulary import Vocabulary
from .understanding import tokenize

MAX_SUGGESTIONS = 20
# Lower sorts first among equally good matches: what a reader most likely wants.
KIND_ORDER = {"drug": 0, "brand": 1, "condition": 2, "class": 3}


@dataclass(frozen=True)
class Suggestion:
    kind: str  # drug, brand, condition or class
    label: str  # what the reader sees
    value: str  # drug slug, condition slug or class slug
    query: str  # what to search for when chosen

    def as_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "value": self.value,
                "query": self.query}


class Suggester:
    def __init__(self, monographs: dict[str, dict], vocabulary: Vocabulary):
        items: set[Suggestion] = set()
        indications, classes = set(), set()
        for slug, entry in monographs.items():
            title = entry.get("title", slug)
            items.add(Suggestion("drug", title, slug, title))
            for brand in entry.get("brands", []):
                items.add(Suggestion("brand", f"{brand} ({title})", slug, brand))
            indications.update(value for value, _ in entry.get("indications", ()))
            classes.update(value for value, _ in entry.get("drug_class", ()))
        titles = {entry.get("title", slug).lower(): (slug, entry.get("title", slug))
                  for slug, entry in monographs.items()}
        for brand, generic in vocabulary.brands.items():
            if generic in titles:
                slug, title = titles[generic]
                name = vocabulary.brand_names[brand]
                items.add(Suggestion("brand", f"{name} ({title})", slug, name))
        for kind, slugs, known in (("condition", indications, vocabulary.conditions),
                                   ("class", classes, vocabulary.classes)):
            for slug in slugs:
                entry = known.get(slug)
                for name in (entry.label, *entry.lay_terms) if entry else ():
                    label = entry.label if name == entry.label else f"{name} ({entry.label})"
                    items.add(Suggestion(kind, label, slug, name))
        entries = []
        for item in items:
            words = tokenize(item.query)
            for start in range(len(words)):  # findable by any word it contains
                entries.append((" ".join(words[start:]), start, item))
        entries.sort(key=lambda e: (e[0], e[1], KIND_ORDER[e[2].kind], e[2].label))
        self._keys = [key for key, _, _ in entries]
        self._entries = entries

    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        prefix = " ".join(tokenize(text))
        if not prefix:
            return []
        found: list[tuple] = []
        position = bisect_left(self._keys, prefix)
        while position < len(self._keys) and self._keys[position].startswith(prefix):
            key, start, item = self._entries[position]
            found.append((start > 0, KIND_ORDER[item.kind], len(item.query), item.label, item))
            position += 1
            if len(found) >= 50 * limit:
                break
        seen, result = set(), []
        for *_, item in sorted(found, key=lambda f: f[:4]):
            if (item.kind, item.value, item.query) not in seen:
                seen.add((item.kind, item.value, item.query))
                result.append(item)
            if len(result) >= limit:
                break
        return result
