"""The misspelt-name index finds exactly the names a brute-force distance finds."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from search.spelling import edit_distance
from search.typos import NameIndex
from search.vocabulary import default_vocabulary

NAMES = sorted({name.lower() for name in default_vocabulary().brand_names} |
               {"metformin", "ibuprofen", "warfarin", "prilrixa03536", "prilrixa03563",
                "café", "a1c-test"})


def brute_force(word: str, names, distance: int) -> list[tuple[str, int]]:
    found = [(n, edit_distance(word.lower(), n)) for n in names]
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
