"""Snippets: HTML in which only <mark> is markup; every other character is escaped.

Whoosh's highlighter re-runs the whole analyzer chain over every result's body (~1 ms a
result). Here words are found with the tokenizer pattern both backends index with and
stemmed by the backend's own stemmer (cached by the caller), which is an order of
magnitude cheaper for the same marks. Backend-neutral: the stemmer is an argument.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from itertools import takewhile

from .corpus.documents import TOKEN_RE

SNIPPET_CHARS = 240  # length of a snippet built from the start of a section
FRAGMENT_CHARS = 160  # length of one highlighted fragment
FRAGMENT_LEAD = 50  # characters of context kept before the first match of a fragment
TOP_FRAGMENTS = 2
MAX_MATCHES = 300  # matches considered for fragments: plenty, and bounded on huge sections
ELLIPSIS = " … "
_LINE_BREAK_RE = re.compile(r"([.!?:;,…])?[ \t]*\n\s*")



def stemmed_words(text: str, stem: Callable[[str], str]) -> list[tuple[int, int, str]]:
    """(start, end, stem of the lowercased word) of every word of a text: what
    highlighting looks through."""
    return [(m.start(), m.end(), stem(m.group().lower())) for m in TOKEN_RE.finditer(text)]


def highlight_snippet(text: str, terms: frozenset[str],
                      words: list[tuple[int, int, str]]) -> str:
    """Up to two fragments of text around the analyzed (stemmed) terms; "" if none occurs.
    ``words``: stemmed_words(text, the stemmer the terms were made with)."""
    if not terms:
        return ""
    matches = []
    for word in words:
        if word[2] in terms:
            matches.append(word)
            if len(matches) >= MAX_MATCHES:
                break
    if not matches:
        return ""
    windows = []
    remaining = matches
    while remaining and len(windows) < TOP_FRAGMENTS:
        best = max(range(len(remaining)), key=lambda i: _window_score(remaining, i))
        start = max(0, remaining[best][0] - FRAGMENT_LEAD)
        end = min(len(text), start + FRAGMENT_CHARS)
        windows.append((start, end))
        remaining = [m for m in remaining if m[1] <= start or m[0] >= end]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    pieces = []
    for start, end in merged:
        start, end = _word_bounds(text, start, end)
        inside = [m for m in matches if m[0] >= start and m[1] <= end]
        pieces.append(_render(text, start, end, inside))
    snippet = ELLIPSIS.join(pieces)
    if merged[0][0] > 0:
        snippet = "… " + snippet
    return snippet


def _window_score(matches: list[tuple[int, int, str]], i: int) -> tuple[int, int]:
    """(distinct terms, matches) in the fragment that would start at match i."""
    end = matches[i][0] - FRAGMENT_LEAD + FRAGMENT_CHARS
    inside = list(takewhile(lambda m: m[1] <= end, matches[i:]))
    return len({m[2] for m in inside}), len(inside)


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Move a window's edges out of the middle of words."""
    if start > 0 and text[start - 1].isalnum():
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < end else start
    if end < len(text) and text[end].isalnum():
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end


def _render(text: str, start: int, end: int, matches: list[tuple[int, int, str]]) -> str:
    out, cursor = [], start
    for m_start, m_end, _ in matches:
        out.append(html.escape(text[cursor:m_start], quote=True))
        out.append(f"<mark>{html.escape(text[m_start:m_end], quote=True)}</mark>")
        cursor = m_end
    out.append(html.escape(text[cursor:end], quote=True))
    return one_line("".join(out))


def one_line(text: str) -> str:
    """Lines joined into one: a line that ends without punctuation is a list item or a
    table row ("Nausea", "Headache"), kept apart from the next by a middle dot instead
    of running on ("Nausea Headache")."""
    text = _LINE_BREAK_RE.sub(lambda m: f"{m.group(1)} " if m.group(1) else " · ",
                              text.strip())
    return " ".join(text.split())


def leading_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Escaped start of a section, cut at a word boundary."""
    flat = one_line(text)
    if len(flat) > limit:
        flat = flat[:limit].rsplit(" ", 1)[0] + " …"
    return html.escape(flat, quote=True)
