"""Text analysis for the Typesense backend: Typesense 0.24 does not stem, so fields hold
and queries send Porter stems of lowercased words, with function words dropped.

The same steps as the embedded backend's analyzer (its tokenizer pattern, lowercase,
stop words, Porter), written without it so that this backend never loads Whoosh: the
stemmer is snowballstemmer's implementation of the original Porter algorithm, which
differs from Whoosh's on a few endings ("added" -> "ad", not "add"). A collection and
the queries sent to it are analyzed alike, which is all matching needs.
"""

from __future__ import annotations

from functools import lru_cache

import snowballstemmer

from ..corpus.documents import TOKEN_RE

# Function words that say nothing about which section answers (what a question is about
# is read before analysis, by query understanding).
STOP_WORDS = frozenset("""
a an and are as at be by for from has have i if in into is it its me my of on or our
so than that the their them then there these they this those to was we were which
while with you your
""".split())

_STEMMER = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """The Porter stem of a lowercased word."""
    return _STEMMER.stemWord(word)


def analyzed(text: str) -> str:
    """The stems of the text's words, stop words dropped, space-separated."""
    words = (match.group().lower() for match in TOKEN_RE.finditer(text))
    return " ".join(stem_word(word) for word in words if word not in STOP_WORDS)
