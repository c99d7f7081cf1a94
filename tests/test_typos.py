"""The misspelt-name index finds exactly the names a brute-force distance finds."""

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from search.corpus.vocabulary import default_vocabulary
from search.understand.typos import NameIndex
from search.whoosh.spelling import edit_distance

NAMES = sorted({name.lower() for name in default_vocabulary().brand_names} |
               {"metformin", "ibuprofen", "warfarin", "prilrixa03536", "prilrixa03563",
                "café", "a1c-test"})
NAME_INDEX = NameIndex(NAMES)  # lookups never change it


def reference_distances(a: str, names: list[str]) -> list[int]:
    """Damerau-Levenshtein distance from ``a`` to each name, adjacent transpositions
    counted once (optimal string alignment), written out here independently of the
    library (which uses rapidfuzz): the recurrence of reference_distance below, one row
    per letter of ``a``, computed for every name at once. The names are the rows of a
    padded array; the padding (a code no letter has) only fills columns after a name's
    end, which the cells up to its end never read."""
    if not names:
        return []
    width = max(len(name) for name in names)
    codes = np.full((len(names), width), -1, dtype=np.int64)
    for row, name in enumerate(names):
        codes[row, :len(name)] = [ord(letter) for letter in name]
    previous2 = None
    previous = np.tile(np.arange(width + 1), (len(names), 1))
    for i, ca in enumerate(map(ord, a), 1):
        current = np.empty_like(previous)
        current[:, 0] = i
        for j in range(1, width + 1):
            cb = codes[:, j - 1]
            cell = np.minimum(np.minimum(previous[:, j] + 1, current[:, j - 1] + 1),
                              previous[:, j - 1] + (cb != ca))
            if i > 1 and j > 1:
                swapped = (codes[:, j - 2] == ca) & (cb == ord(a[i - 2]))
                cell = np.where(swapped, np.minimum(cell, previous2[:, j - 2] + 1), cell)
            current[:, j] = cell
        previous2, previous = previous, current
    return previous[np.arange(len(names)), [len(name) for name in names]].tolist()


def reference_distance(a: str, b: str) -> int:
    """The same recurrence for one pair, letter by letter."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


@settings(max_examples=300, deadline=None)
@given(st.text("abcé-", max_size=9),
       st.lists(st.text("abcé-", max_size=9), min_size=1, max_size=4))
def test_library_distance_is_the_reference_distance(a, names):
    expected = [reference_distance(a, b) for b in names]
    assert [edit_distance(a, b) for b in names] == expected
    assert reference_distances(a, names) == expected  # names of any lengths at once


def brute_force(word: str, names, distance: int) -> list[tuple[str, int]]:
    found = zip(names, reference_distances(word.lower(), list(names)), strict=True)
    return sorted(((n, d) for n, d in found if d <= distance), key=lambda i: (i[1], i[0]))


def typo(rng: random.Random, name: str) -> str:
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(name))
        kind = rng.choice(["swap", "drop", "add", "change"])
        letter = rng.choice("abcdefghijklmnopqrstuvwxyz0é")
        if kind == "swap" and i + 1 < len(name):
            name = name[:i] + name[i + 1] + name[i] + name[i + 2:]
        elif kind == "drop" and len(name) > 2:
            name = name[:i] + name[i + 1:]
        elif kind == "add":
            name = name[:i] + letter + name[i:]
        else:
            name = name[:i] + letter + name[i + 1:]
    return name


def test_lookup_equals_brute_force_on_misspelt_names():
    index = NameIndex(NAMES)
    rng = random.Random(5)
    hits = 0
    for name in rng.sample(NAMES, 300):
        word = typo(rng, name)
        within_two = brute_force(word, NAMES, 2)  # within one: a part of it
        for distance in (1, 2):
            expected = [(n, d) for n, d in within_two if d <= distance]
            assert index.lookup(word, distance) == expected, (word, distance)
            hits += bool(expected)
    assert hits > 300  # most typos are found, so the comparison is not vacuous


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdeilmnoprstuwxz0123é-", min_size=0, max_size=14))
def test_lookup_equals_brute_force_on_any_word(word):
    assert NAME_INDEX.lookup(word, 2) == brute_force(word, NAMES, 2)


def test_distance_capped_by_the_index():
    index = NameIndex(["metformin"], max_distance=1)
    assert index.lookup("metfxrmxn", 2) == []
    assert index.lookup("Metformn", 2) == [("metformin", 1)]
