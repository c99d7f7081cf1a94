"""Monograph markdown -> safe HTML, in time linear in its size.

Raw HTML in a monograph is shown as text (python-markdown's HTML handling is off), and the
HTML python-markdown makes is then cleaned by an allow-list (nh3, Rust's ammonia): only
the tags and attributes a monograph needs survive, and links keep only http, https,
mailto and in-site URLs, however their scheme is encoded (character references such as
``java&#x09;script:`` or ``javascript&colon;`` are decoded before the check).

python-markdown is quadratic on some inputs: it scans ahead from every ``[`` for the
matching ``]`` (20,000 of them took 30 s), it nests lists by recursion (250 levels
overflowed the stack), it re-slices a block for each of its lines (20,000 lines of
``---`` took 8 s) and rebuilds a paragraph for each inline match. So before converting,
a fragment with more than MAX_BRACKETS brackets has them escaped (shown as text, no
links), indentation deeper than MAX_INDENT columns is cut to it (deeper items become
siblings at that level), and the work left is estimated from the blocks' line counts,
inline markers and sizes (calibrated on those shapes): a page spends at most
PAGE_BUDGET_NS on markdown, and a fragment that would overrun it is shown as plain text
(escaped paragraphs) instead, which is linear.
"""

from __future__ import annotations

import re

import markdown
import nh3
from markdown.extensions import Extension
from markupsafe import Markup, escape

MAX_BRACKETS = 100  # more "[" than this in one fragment: no links, brackets as text
MAX_INDENT = 24  # columns of indentation kept (six levels of 4-space lists)
# Estimated nanoseconds of python-markdown work: per squared line of a block, per inline
# marker times the block's length, per marker, per byte (measured on prose, on runs of
# each construct and on random strings of markdown's characters: up to 20, 0.5, 2,000
# and 150 ns).
LINE_PAIR_NS = 25
MARKER_BYTE_NS = 0.5
MARKER_NS = 2500
BYTE_NS = 150
PAGE_BUDGET_NS = 50_000_000  # markdown work one page may spend; the rest is plain text
_MARKERS = "[]()*_`\\<&!"
SAFE_SCHEMES = {"http", "https", "mailto"}
ALLOWED_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol",
                "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
                "tr", "th", "td", "img", "sup", "sub"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
                      "ol": {"start"}, "th": {"align"}, "td": {"align"}}
_INDENT_RE = re.compile(r"^[ \t]+", re.MULTILINE)


class NoRawHtml(Extension):
    """Treat HTML in the markdown as text."""

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def bounded(text: str) -> str:
    """The fragment with the two shapes python-markdown cannot take in linear time
    made harmless: escaped brackets past MAX_BRACKETS, indentation cut to MAX_INDENT."""
    if text.count("[") > MAX_BRACKETS:
        text = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return _INDENT_RE.sub(_cut_indent, text)


def _cut_indent(match: re.Match) -> str:
    indent = match.group(0)
    if len(indent) <= MAX_INDENT // 4:  # cannot reach the limit even as tabs
        return indent
    columns = len(indent.expandtabs(4))
    return indent if columns <= MAX_INDENT else " " * MAX_INDENT


def estimated_ns(text: str) -> float:
    """Rough python-markdown work for a (bounded) fragment, in nanoseconds; linear to
    compute."""
    total = 0.0
    for block in text.split("\n\n"):
        lines = block.count("\n") + 1
        markers = sum(block.count(character) for character in _MARKERS)
        total += LINE_PAIR_NS * lines * lines + MARKER_BYTE_NS * markers * len(block) \
            + MARKER_NS * markers + BYTE_NS * len(block)
    return total


class Budget:
    """The markdown work one page may still spend."""

    def __init__(self, nanoseconds: float = PAGE_BUDGET_NS):
        self.left = nanoseconds

    def take(self, cost: float) -> bool:
        if cost > self.left:
            return False
        self.left -= cost
        return True


def render_markdown(text: str, budget: Budget | None = None) -> Markup:
    """HTML for a monograph fragment; safe to put into a page as is. Pass one Budget for
    all the fragments of a page."""
    text = bounded(text or "")
    if not (budget or Budget()).take(estimated_ns(text)):
        return render_plain(text)
    converter = markdown.Markdown(extensions=[NoRawHtml(), "sane_lists"])
    html = converter.convert(text)
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            url_schemes=SAFE_SCHEMES, link_rel="noopener noreferrer"))


def render_plain(text: str) -> Markup:
    """A fragment as escaped paragraphs, markdown left as written (linear)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return Markup("".join(f'<p class="plain">{escape(p)}</p>' for p in paragraphs))
