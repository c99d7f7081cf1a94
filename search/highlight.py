"""Snippets: HTML in which only <mark> is markup; every other character is escaped."""

from __future__ import annotations

import html

from whoosh import highlight

SNIPPET_CHARS = 240  # length of a snippet built from the start of a section
FRAGMENT_CHARS = 160
FRAGMENT_SURROUND = 60
TOP_FRAGMENTS = 2


class MarkFormatter(highlight.Formatter):
    """Whoosh formatter that escapes text and wraps matched words in <mark>."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=True)}</mark>"


def highlight_snippet(text: str, terms: frozenset[str], analyzer) -> str:
    """Best fragments of text around the analyzed terms, or "" when none occurs."""
    if not terms:
        return ""
    return highlight.highlight(
        text, terms, analyzer,
        highlight.ContextFragmenter(maxchars=FRAGMENT_CHARS, surround=FRAGMENT_SURROUND),
        MarkFormatter(), top=TOP_FRAGMENTS,
    )


def leading_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Escaped start of a section, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[:limit].rsplit(" ", 1)[0] + " …"
    return html.escape(flat, quote=True)
