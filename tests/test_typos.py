"""The misspelt-name index finds exactly the names a brute-force distance finds."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from search.corpus.vocabulary import default_vocabulary
from search.understand.typos import NameIndex
from search.whoosh.spelling import edit_distance

NAMES = sorted({name.lower() for name in default_vocabulary().brand_names} |
               {"metformin", "ibuprofen", "warfarin", "prilrixa03536", "prilrixa03563",
                "café", "a1c-test"})


def reference_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein with adjacent transpositions counted once (optimal string
    alignment), written out here independently of the library (which uses rapidfuzz)."""
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
@given(st.text("abcé-", max_size=9), st.text("abcé-", max_size=9))
def test_library_distance_is_the_reference_distance(a, b):
    assert edit_distance(a, b) == reference_distance(a, b)


def brute_force(word: str, names, distance: int) -> list[tuple[str, int]]:
    found = [(n, reference_distance(word.lower(), n)) for n in names]
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
        for distance in (1, 2):
            expected = brute_force(word, NAMES, distance)
            assert index.lookup(word, distance) == expected, (word, distance)
            hits += bool(expected)
    assert hits > 300  # most typos are found, so the comparison is not vacuous


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdeilmnoprstuwxz0123é-", min_size=0, max_size=14))
def test_lookup_equals_brute_force_on_any_word(word):
    index = NameIndex(NAMES)
    assert index.lookup(word, 2) == brute_force(word, NAMES, 2)


def test_distance_capped_by_the_index():
    index = NameIndex(["metformin"], max_distance=1)
    assert index.lookup("metfxrmxn", 2) == []
    assert index.lookup("Metformn", 2) == [("metformin", 1)]
