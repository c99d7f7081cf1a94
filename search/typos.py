"""Fast lookup of misspelt names: a symmetric-delete index (as in SymSpell).

Every name is stored under each string made by deleting up to ``max_distance`` of its
letters; a query word's own deletions then meet the name's in one dictionary probe
each, so a lookup costs microseconds instead of an edit distance against every name.
Candidates are confirmed with the true Damerau-Levenshtein distance, so transposed
letters ("metfromin") and a wrong first letter ("ubuprofen") are found.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

from .spelling import edit_distance


def _deletions(word: str, depth: int) -> set[str]:
    found = {word}
    for k in range(1, min(depth, len(word) - 1) + 1):
        for positions in combinations(range(len(word)), k):
            found.add("".join(c for i, c in enumerate(word) if i not in positions))
    return found


class NameIndex:
    """Names (lower case) findable within a small edit distance."""

    def __init__(self, names: Iterable[str], max_distance: int = 2):
        self.max_distance = max_distance
        self.names = set()
        self.longest = 0
        self._by_deletion: dict[str, set[str]] = {}
        for name in names:
            name = name.lower()
            if name in self.names:
                continue
            self.names.add(name)
            self.longest = max(self.longest, len(name))
            for variant in _deletions(name, max_distance):
                self._by_deletion.setdefault(variant, set()).add(name)

    def lookup(self, word: str, max_distance: int) -> list[tuple[str, int]]:
        """(name, distance) pairs within max_distance, closest first."""
        word = word.lower()
        max_distance = min(max_distance, self.max_distance)
        if len(word) > self.longest + max_distance:
            return []  # no name is that long: and its deletions would cost seconds
        candidates: set[str] = set()
        for variant in _deletions(word, max_distance):
            candidates |= self._by_deletion.get(variant, set())
        scored = [(name, edit_distance(word, name)) for name in candidates
                  if abs(len(name) - len(word)) <= max_distance]
        return sorted(((n, d) for n, d in scored if d <= max_distance),
                      key=lambda item: (item[1], item[0]))
