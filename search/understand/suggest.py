"""Search-as-you-type: names that start with what the reader has typed so far.

Drug names, brands, and the conditions and classes present in the index, each findable
by the start of any of its words ("arth" finds "Rheumatoid arthritis"). Brands are every
brand the generation's names link to a monograph (the drug dictionary's as well as the
front matter's and our vocabulary's), each leading to the product it names best: on a
corpus titled "Warfarin Sodium", Coumadin leads there. International names of our
vocabulary ("paracetamol") are suggested as drugs. One sorted list per generation and a
binary search: microseconds a keystroke. When the words as typed start too few names, a
misspelt last word is corrected as the query reader corrects drug names ("lipitr"
suggests Lipitor), and the names it starts follow.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from ..corpus.vocabulary import Vocabulary
from .lexicon import Lexicon
from .understanding import tokenize

MAX_SUGGESTIONS = 20
MAX_ZERO_RESULT_SUGGESTIONS = 5  # what to try instead, when a search finds nothing
# Lower sorts first among equally good matches: what a reader most likely wants.
KIND_ORDER = {"drug": 0, "brand": 1, "condition": 2, "class": 3}
MAX_SUFFIX_CHARS = 2  # "coumadine" is "coumadin" spelt another way, "advil pm" is not


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
    def __init__(self, monographs: dict[str, dict], lexicon: Lexicon):
        self.correct = lexicon.correct  # a misspelt drug name -> the name meant
        vocabulary = lexicon.vocabulary
        items: set[Suggestion] = set()
        indications, classes = set(), set()
        for slug, entry in monographs.items():
            title = entry.get("title", slug)
            items.add(Suggestion("drug", title, slug, title))
            for brand in entry.get("brands", []):
                items.add(Suggestion("brand", f"{brand} ({title})", slug, brand))
            indications.update(value for value, _ in entry.get("indications", ()))
            classes.update(value for value, _ in entry.get("drug_class", ()))
        items.update(_linked_names(monographs, lexicon))
        for kind, slugs, known in (("condition", indications, vocabulary.conditions),
                                   ("class", classes, vocabulary.classes)):
            for slug in slugs:
                entry = known.get(slug)
                for name in (entry.label, *entry.synonyms, *entry.lay_terms) if entry else ():
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
        words = tokenize(text)
        result = self._starting(" ".join(words), limit)
        if len(result) < limit and words and self.correct is not None:
            fixed = self.correct(words[-1])
            if fixed and fixed != words[-1]:
                more = self._starting(" ".join([*words[:-1], fixed]), limit)
                result += [item for item in more if item not in result][:limit - len(result)]
        return result

    def _starting(self, prefix: str, limit: int) -> list[Suggestion]:
        """Names with a word starting ``prefix``, best first."""
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


def _linked_names(monographs: dict[str, dict], lexicon: Lexicon) -> list[Suggestion]:
    """Brands linked at reindex, and our vocabulary's international names, each with
    the product it names best. One of a pair spelt alike is kept: "zyrtec-d" and "zyrtec
    d", and for one product "coumadin" and "coumadine" (a longer name at most two
    letters on)."""
    vocabulary = lexicon.vocabulary
    found, kept = [], set()
    names_of: dict[str, list[str]] = {}  # product -> names suggested for it
    for key in sorted(lexicon.drugs, key=lambda k: (len(k), "-" not in k, k)):
        name = lexicon.drugs[key]
        if name.kind == "synonym" and key not in vocabulary.aliases:
            continue  # the dictionary's synonyms are mostly foreign spellings
        if name.kind not in ("brand", "synonym") or key.replace("-", " ") in kept:
            continue
        products = lexicon.products_named(key)
        if not products:
            continue
        slug = products[0]
        if any(key.startswith(shorter) and len(key) - len(shorter) <= MAX_SUFFIX_CHARS
               for shorter in names_of.get(slug, ())):
            continue
        kept.add(key.replace("-", " "))
        names_of.setdefault(slug, []).append(key)
        title = monographs.get(slug, {}).get("title", slug)
        shown = _spelt(key, vocabulary)
        kind = "brand" if name.kind == "brand" else "drug"
        found.append(Suggestion(kind, f"{shown} ({title})", slug, shown))
    return found


def _spelt(key: str, vocabulary: Vocabulary) -> str:
    """A drug name as its maker spells it, else with capital initials ("coumadin")."""
    return vocabulary.brand_names.get(key) or " ".join(word[:1].upper() + word[1:]
                                                       for word in key.split())


def zero_result_suggestions(lexicon: Lexicon, title: Callable[[str], str], text: str,
                            corrected: str | None) -> list[dict]:
    """Something to try when nothing matched: a spelling, close drug names, classes.
    ``title``: a drug slug's display title in the index searched."""
    found: list[dict] = []
    if corrected:
        found.append({"kind": "spelling", "value": corrected, "label": corrected})
    words = [w for w in tokenize(text) if len(w) >= 4]
    for word in words:
        for name, _ in lexicon.names.lookup(word, 2)[:3]:
            for slug in lexicon.products_named(name)[:1]:
                found.append({"kind": "drug", "value": slug, "label": title(slug)})
        named = lexicon.drugs.get(word)
        if named is not None and not named.in_corpus:  # a drug the corpus lacks
            for class_slug, label in lexicon.vocabulary.classes_of(named.generic):
                members = [slug for member in lexicon.vocabulary.classes[class_slug].members
                           for slug in lexicon.products_named(member)[:1]]
                for slug in members[:2]:
                    found.append({"kind": "drug", "value": slug, "label": title(slug)})
                found.append({"kind": "class", "value": class_slug, "label": label})
    for slug, drug_class in lexicon.vocabulary.classes.items():
        names = {w for n in (drug_class.label, *drug_class.synonyms) for w in tokenize(n)}
        if names & set(words):
            found.append({"kind": "class", "value": slug, "label": drug_class.label})
    unique = list({(s["kind"], s["value"]): s for s in found}.values())
    return unique[:MAX_ZERO_RESULT_SUGGESTIONS]
