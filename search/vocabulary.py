"""Medical vocabulary: conditions with synonyms, abbreviations and lay terms.

Loaded once per process from ``search/data/``. Names, synonyms and unambiguous
abbreviations are matched in Usage text to derive a drug's indications; lay terms are
kept for query expansion only ("hair loss" must not tag every drug that mentions it).
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


def _alternation(terms: list[str]) -> str:
    # Longest first, so the leftmost match is also the longest ("alopecia areata"
    # wins over "alopecia"); flexible white space inside multi-word terms.
    ordered = sorted(set(terms), key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, term.split())) for term in ordered)


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

    def __init__(self, conditions: list[Condition]):
        self.conditions = {c.slug: c for c in conditions}
        self._by_name: dict[str, str] = {}  # lower-case name/synonym -> slug
        self._by_abbreviation: dict[str, str] = {}
        for c in conditions:
            for name in (c.label, *c.synonyms):
                self._by_name.setdefault(name.lower(), c.slug)
            for abbr in c.abbreviations:
                if abbr not in c.ambiguous_abbreviations:
                    self._by_abbreviation.setdefault(abbr, c.slug)
        self._names_re = re.compile(_bounded(_alternation(list(self._by_name))), re.IGNORECASE)
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
            found.append((match.start(), self._by_name[key]))
        if self._abbr_re is not None:
            for match in self._abbr_re.finditer(text):
                found.append((match.start(), self._by_abbreviation[match.group(0)]))
        ordered: list[str] = []
        for start, slug in sorted(found):
            if slug not in ordered and not _negated(text, start):
                ordered.append(slug)
        return ordered

    def resolve(self, name: str) -> tuple[str, str]:
        """(slug, label) for an indication written in front matter; unknown names keep
        their own label under a slug made from it."""
        key = re.sub(r"\s+", " ", name).strip()
        slug = self._by_name.get(key.lower()) or self._by_abbreviation.get(key)
        if slug is None and key.lower() in self.conditions:
            slug = key.lower()
        if slug is not None:
            return slug, self.conditions[slug].label
        return re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-"), key


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read a conditions file (default: the bundled one)."""
    data = json.loads((path or DATA_DIR / "conditions.json").read_text(encoding="utf-8"))
    return Vocabulary([
        Condition(
            slug=item["slug"],
            label=item["label"],
            synonyms=tuple(item.get("synonyms", ())),
            abbreviations=tuple(item.get("abbreviations", ())),
            lay_terms=tuple(item.get("lay_terms", ())),
            ambiguous_abbreviations=tuple(item.get("ambiguous_abbreviations", ())),
        )
        for item in data["conditions"]
    ])


@cache
def default_vocabulary() -> Vocabulary:
    return load_vocabulary()
