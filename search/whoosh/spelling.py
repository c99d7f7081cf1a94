"""'Did you mean': a close index word for each query word the index does not know."""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

from ..request import plain_words
from .schema import SEARCH_FIELDS

MIN_WORD_CHARS = 3
MAX_WORD_CHARS = 30  # longer "words" are no typo of anything (and are slow to match)
MAX_CORRECTED_WORDS = 8  # unknown words looked up per query
FIXED_PREFIX = 1  # letters a did-you-mean suggestion must share with the typed word


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance with adjacent transpositions counted once (optimal
    string alignment), from rapidfuzz."""
    return OSA.distance(a, b)


def suggest_correction(text: str, doc_frequency, analyzer, dictionary,
                       skip: set[str] = frozenset()) -> str | None:
    """The query with unknown words replaced by their closest index word, or None.
    ``doc_frequency(field, text)`` answers from the index (snapshots cache it).
    ``dictionary`` is a typos.NameIndex of the spelling field's words (Whoosh's own
    terms_within walks the term list: ~45 ms a word over eight segments of 70k
    sections). Words in ``skip`` (already rewritten by query understanding) are left
    alone."""
    corrected = text
    looked_up = 0
    for word in dict.fromkeys(plain_words(text)):
        lower = word.lower()
        if not MIN_WORD_CHARS <= len(lower) <= MAX_WORD_CHARS or lower.isdigit() \
                or lower in skip or looked_up >= MAX_CORRECTED_WORDS:
            continue
        stems = [token.text for token in analyzer(lower)]
        if not stems or any(doc_frequency(field, stem)
                            for field in SEARCH_FIELDS for stem in stems):
            continue
        looked_up += 1
        max_distance = 1 if len(lower) <= 4 else 2
        # A suggestion keeps the typed first letter (it is rarely the wrong one); a
        # wrong first letter in a drug name is still fixed by query understanding.
        candidates = [name for name, _ in dictionary.lookup(lower, max_distance)
                      if name[:FIXED_PREFIX] == lower[:FIXED_PREFIX]]
        if not candidates:
            continue
        best = min(candidates, key=lambda c: (edit_distance(lower, c),
                                              -doc_frequency("spelling", c), c))
        corrected = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", best, corrected, count=1)
    return corrected if corrected != text else None
