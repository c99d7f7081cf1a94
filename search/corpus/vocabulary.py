"""Medical vocabulary: conditions, brand names and drug classes.

Loaded once per process from ``search/corpus/data/``. Condition names, synonyms and unambiguous
abbreviations are matched in Usage text to derive a drug's indications; lay terms are
kept for query expansion only ("hair loss" must not tag every drug that mentions it).
Brands map to generic names; drug classes have synonyms, lay terms and member drugs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Condition:
    slug: str
    label: str
    synonyms: tuple[str, ...]
    abbreviations: tuple[str, ...]
    lay_terms: tuple[str, ...]
    ambiguous_abbreviations: tuple[str, ...]
    match_label: bool = True  # False: the label is too common a word ("Pain") to tag a
    # drug by itself; only the synonyms are matched in Usage text


@dataclass(frozen=True)
class DrugClass:
    slug: str
    label: str
    synonyms: tuple[str, ...]
    lay_terms: tuple[str, ...]
    members: tuple[str, ...]  # lower-case generic names


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def slugify(text: str) -> str:
    """A name as a URL and facet value: lowercase ASCII letters and digits, dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _alternation(terms: list[str], plurals: bool = False, ignore_case: bool = False) -> str:
    # Longest first, so the leftmost match is also the longest ("alopecia areata"
    # wins over "alopecia"); flexible white space inside multi-word terms; with plurals,
    # a trailing s/es is allowed ("urinary tract infections"). Terms are grouped under
    # their first letter, so at each position the regex engine tries one group rather
    # than a thousand alternatives (10x faster; terms with different first letters
    # cannot match at the same place, so the result is the same).
    ordered = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    suffix = "(?:e?s)?" if plurals else ""
    groups: dict[str, list[str]] = {}
    for term in ordered:
        pattern = r"\s+".join(map(re.escape, term.split()))
        pattern += suffix if term[-1:].isalpha() else ""
        first = term[0].lower() if ignore_case else term[0]
        groups.setdefault(first, []).append(pattern[len(re.escape(term[0])):])
    return "|".join(f"{re.escape(first)}(?:{'|'.join(rest)})"
                    for first, rest in groups.items())


# A condition named after a negation in the same clause ("not used for type 1
# diabetes") is not an indication.
_NEGATION_RE = re.compile(r"\b(not|never|no|isn't|aren't|cannot|shouldn't)\b", re.IGNORECASE)
_CLAUSE_BREAK_RE = re.compile(r"[.;:!?]\s|\n")


def _negated(text: str, start: int) -> bool:
    clause_start = max((m.end() for m in _CLAUSE_BREAK_RE.finditer(text, 0, start)), default=0)
    return _NEGATION_RE.search(text, clause_start, start) is not None


def _bounded(alternation: str) -> str:
    return rf"(?<!\w)(?:{alternation})(?!\w)"


class Vocabulary:
    """Conditions and the matchers built from them."""

    def __init__(self, conditions: list[Condition], brands: dict[str, str] | None = None,
                 aliases: dict[str, str] | None = None,
                 classes: list[DrugClass] | None = None,
                 product_names: dict[str, list[str]] | None = None,
                 brand_routes: dict[str, str] | None = None):
        self.conditions = {c.slug: c for c in conditions}
        self.brands = {b.lower(): g for b, g in (brands or {}).items()}  # brand -> generic
        self.brand_names = {b.lower(): b for b in (brands or {})}  # as spelt by the maker
        # brand -> the qualifier group (route or form) all its products have: "nasal".
        # Keyed with spaces for hyphens: "retin-a" is also typed "retin a".
        self.brand_routes = {b.lower().replace("-", " "): r
                             for b, r in (brand_routes or {}).items()}
        self.aliases = {a.lower(): g for a, g in (aliases or {}).items()}
        self._brands_of: dict[str, list[str]] = {}
        for brand, generic in self.brands.items():
            self._brands_of.setdefault(generic.lower(), []).append(brand)
        self._equivalent: dict[str, list[str]] = {}  # both ways: cefalexin <-> cephalexin
        for alias, generic in self.aliases.items():
            self._equivalent.setdefault(generic.lower(), []).append(alias)
            self._equivalent.setdefault(alias, []).append(generic.lower())
        # Lay names of products ("flu shot"), each with the word sets that a monograph
        # title must hold to be that product ({"influenza", "vaccine"}).
        self.product_names = {name.lower(): [frozenset(_words(m)) for m in matches]
                              for name, matches in (product_names or {}).items()}
        self._product_names_by_word: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for name, needed in self.product_names.items():
            for words in needed:
                for word in words:
                    self._product_names_by_word.setdefault(word, []).append((name, words))
        self.classes = {c.slug: c for c in classes or []}
        self._class_by_name: dict[str, str] = {}
        self._classes_of: dict[str, list[str]] = {}
        for drug_class in classes or []:
            for name in (drug_class.label, drug_class.slug, *drug_class.synonyms,
                         *drug_class.lay_terms):
                self._class_by_name.setdefault(name.lower(), drug_class.slug)
            for member in drug_class.members:
                self._classes_of.setdefault(member.lower(), []).append(drug_class.slug)
        self._by_name: dict[str, str] = {}  # lower-case name/synonym -> slug, for Usage text
        self._names: dict[str, str] = {}  # every name, for resolving front matter
        self._by_abbreviation: dict[str, str] = {}
        for c in conditions:
            for name in (c.label, *c.synonyms):
                self._names.setdefault(name.lower(), c.slug)
                if c.match_label or name != c.label:
                    self._by_name.setdefault(name.lower(), c.slug)
            for abbr in c.abbreviations:
                if abbr not in c.ambiguous_abbreviations:
                    self._by_abbreviation.setdefault(abbr, c.slug)
        self._names_re = re.compile(_bounded(_alternation(list(self._by_name), plurals=True,
                                                          ignore_case=True)),
                                    re.IGNORECASE)
        self._abbr_re = (re.compile(_bounded(_alternation(list(self._by_abbreviation))))
                         if self._by_abbreviation else None)

    def label(self, slug: str) -> str:
        condition = self.conditions.get(slug)
        return condition.label if condition else slug

    def extract_indications(self, text: str) -> list[str]:
        """Condition slugs named in text, in order of first appearance."""
        found: list[tuple[int, str]] = []
        for match in self._names_re.finditer(text):
            key = re.sub(r"\s+", " ", match.group(0)).lower()
            slug = self._by_name.get(key) or self._by_name.get(key[:-1]) \
                or self._by_name.get(key[:-2])
            found.append((match.start(), slug))
        if self._abbr_re is not None:
            for match in self._abbr_re.finditer(text):
                found.append((match.start(), self._by_abbreviation[match.group(0)]))
        ordered: list[str] = []
        for start, slug in sorted(found):
            if slug not in ordered and not _negated(text, start):
                ordered.append(slug)
        return ordered

    def generic_for(self, name: str) -> str | None:
        """The generic a brand or alias names ("Tylenol", "paracetamol" -> acetaminophen)."""
        key = name.strip().lower()
        return self.brands.get(key) or self.aliases.get(key)

    def brands_of(self, generic: str) -> list[str]:
        """Brand names (lower case) of a generic, from brands.json."""
        return self._brands_of.get(generic.strip().lower(), [])

    def equivalent_names(self, generic: str) -> list[str]:
        """International and US names of the same drug, both ways (cefalexin <->
        cephalexin), from brands.json's generic_aliases."""
        return self._equivalent.get(generic.strip().lower(), [])

    def product_names_for(self, title: str) -> list[str]:
        """Lay names whose product the title names ("Zoster Vaccine Recombinant" ->
        "shingles vaccine", "shingles shot")."""
        words = set(_words(title))
        found = {name for word in words for name, needed in
                 self._product_names_by_word.get(word, ()) if needed <= words}
        return [name for name in self.product_names if name in found]

    def resolve_class(self, name: str) -> tuple[str, str]:
        """(slug, label) of a drug class by label, synonym or lay term; unknown names keep
        their own label."""
        slug = self._class_by_name.get(re.sub(r"\s+", " ", name).strip().lower())
        if slug is not None:
            return slug, self.classes[slug].label
        return slugify(name), name.strip()

    def classes_of(self, generic: str) -> list[tuple[str, str]]:
        """Classes listing this generic among their members."""
        return [(slug, self.classes[slug].label)
                for slug in self._classes_of.get(generic.strip().lower(), [])]

    def resolve(self, name: str) -> tuple[str, str]:
        """(slug, label) for an indication written in front matter; unknown names keep
        their own label under a slug made from it."""
        key = re.sub(r"\s+", " ", name).strip()
        slug = self._names.get(key.lower()) or self._by_abbreviation.get(key)
        if slug is None and key.lower() in self.conditions:
            slug = key.lower()
        if slug is not None:
            return slug, self.conditions[slug].label
        return slugify(key), key


def _read(folder: Path, name: str) -> dict:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def load_vocabulary(folder: Path | None = None) -> Vocabulary:
    """Read the vocabulary files of a folder (default: the bundled ``search/corpus/data``)."""
    folder = folder or DATA_DIR
    data = _read(folder, "conditions.json")
    brands = _read(folder, "brands.json")
    classes = _read(folder, "drug_classes.json")
    return Vocabulary([
        Condition(
            slug=item["slug"],
            label=item["label"],
            synonyms=tuple(item.get("synonyms", ())),
            abbreviations=tuple(item.get("abbreviations", ())),
            lay_terms=tuple(item.get("lay_terms", ())),
            ambiguous_abbreviations=tuple(item.get("ambiguous_abbreviations", ())),
            match_label=item.get("match_label", True),
        )
        for item in data.get("conditions", [])
    ],
        brands={item["brand"]: item["generic"] for item in brands.get("brands", [])},
        aliases={item["alias"]: item["generic"] for item in brands.get("generic_aliases", [])},
        classes=[DrugClass(slug=item["slug"], label=item["label"],
                           synonyms=tuple(item.get("synonyms", ())),
                           lay_terms=tuple(item.get("lay_terms", ())),
                           members=tuple(item.get("members", ())))
                 for item in classes.get("classes", [])],
        product_names={item["name"]: item["matches"]
                       for item in brands.get("product_names", [])},
        brand_routes={item["brand"]: item["route"] for item in brands.get("brands", [])
                      if "route" in item},
    )


@cache
def default_vocabulary() -> Vocabulary:
    return load_vocabulary()
