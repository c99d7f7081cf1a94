"""Monograph markdown -> safe HTML, in time linear in its size.

Raw HTML in a monograph is shown as text (python-markdown's HTML handling is off), and the
HTML python-markdown makes is then cleaned by an allow-list (nh3, Rust's ammonia): only
the tags and attributes a monograph needs survive, and links keep only http, https,
mailto and in-site URLs, however their scheme is encoded (character references such as
``java&#x09;script:`` or ``javascript&colon;`` are decoded before the check).

python-markdown is quadratic or recursive on some inputs: it scans ahead from every ``[``
for the matching ``]`` (20,000 of them took 30 s), nests lists and quotes by recursion
(250 levels, or a line of 20,000 ``- ``, overflowed the stack), re-slices a block for
each of its lines (20,000 lines of ``---`` took 8 s), takes each block off the front of
a list (130,000 one-line paragraphs took 6.5 s) and rebuilds a paragraph for each inline
match. So a fragment with more than MAX_BRACKETS brackets has them escaped (shown as
text, no links), indentation deeper than MAX_INDENT columns is cut to it, blocks nested
deeper than MAX_NESTING are text, and the work left is estimated (see estimated_ns): a
page spends at most PAGE_BUDGET_NS, and a fragment that would overrun it is shown as
plain text (escaped, its line breaks kept) instead, which is linear. The estimate is a
fit, not a proof, so the budget is also a deadline: python-markdown's steps (each block
processor run and each inline match) check the CPU time the page has spent, and past
PAGE_BUDGET_NS the fragment and the rest of the page are plain text. A page then costs
at most the budget plus one step (a step is linear in its fragment, which the estimate
keeps small).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as etree

import markdown
import nh3
from markdown.extensions import Extension
from markupsafe import Markup, escape

MAX_BRACKETS = 100  # more "[" than this in one fragment: no links, brackets as text
MAX_INDENT = 24  # columns of indentation kept (six levels of 4-space lists)
MAX_NESTING = 12  # levels of nested blocks (lists, quotes); deeper ones are text
# Estimated nanoseconds of rendering (python-markdown and nh3): per fragment, per block,
# per squared block of a fragment, per squared line of a block, per marker times its
# block's length, per marker, per byte. Fitted as an upper bound on 1,300 fragments (runs of every
# construct, random strings of markdown's characters, corpus pages): no fragment took
# more than 1.12 times its estimate; prose takes about half of it.
FRAGMENT_NS = 100_000
BLOCK_NS = 110_000
BLOCK_PAIR_NS = 1  # python-markdown takes blocks off the front of a list
LINE_PAIR_NS = 40
MARKER_BYTE_NS = 1
MARKER_NS = 5_000
BYTE_NS = 600
BRACKET_BYTE_NS = 200  # each "[" scans ahead, a character at a time, for its "]"
PAGE_BUDGET_NS = 60_000_000  # rendering one page may spend; the rest is plain text
_MARKERS = "[]()*_`\\<&!>#"
SAFE_SCHEMES = {"http", "https", "mailto"}
ALLOWED_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol",
                "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
                "tr", "th", "td", "img", "sup", "sub"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
                      "ol": {"start"}, "th": {"align"}, "td": {"align"}}
# Indentation of more than MAX_INDENT columns (tabs stop every 4): six tab stops, then more.
_DEEP_INDENT_RE = re.compile(rf"^(?:[ ]{{0,3}}\t|[ ]{{4}}){{{MAX_INDENT // 4}}}[ \t]+",
                             re.MULTILINE)


class NoRawHtml(Extension):
    """Treat HTML in the markdown as text."""

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


class NestingLimit(Extension):
    """Blocks nested deeper than MAX_NESTING (lists and quotes, by indentation or by
    markers on one line: "- - - - x", ">>>>") are one paragraph of text: python-markdown
    parses each level by recursion, and each level re-reads the block."""

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API name
        parser = md.parser
        parse_blocks = parser.parseBlocks
        depth = 0

        def limited(parent: etree.Element, blocks: list[str]) -> None:
            nonlocal depth
            if depth > MAX_NESTING:
                text = "\n\n".join(blocks).strip()
                if text:
                    etree.SubElement(parent, "p").text = text
                blocks.clear()
                return
            depth += 1
            try:
                parse_blocks(parent, blocks)
            finally:
                depth -= 1

        parser.parseBlocks = limited  # the processors call it through the parser


class OutOfTime(Exception):
    """The page's rendering budget ran out in the middle of a fragment."""


class Deadline(Extension):
    """Every block processor run and inline match first checks the thread's CPU time
    against ``deadline`` (CPU time, so a busy machine does not cut a normal page)."""

    def __init__(self):
        super().__init__()
        self.deadline = float("inf")

    def check(self) -> None:
        if time.thread_time() > self.deadline:
            raise OutOfTime

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API name
        for processor in md.parser.blockprocessors:
            processor.run = self._checked(processor.run)
        for pattern in md.inlinePatterns:
            pattern.handleMatch = self._checked(pattern.handleMatch)

    def _checked(self, step):
        def checked(*args):
            self.check()
            return step(*args)
        return checked


def bounded(text: str) -> str:
    """The fragment with the shapes python-markdown cannot take in linear time made
    harmless: escaped brackets past MAX_BRACKETS, indentation cut to MAX_INDENT."""
    if text.count("[") > MAX_BRACKETS:
        text = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    if "\t" in text or " " * (MAX_INDENT // 4 + 1) in text:  # else no indent is that deep
        text = _DEEP_INDENT_RE.sub(" " * MAX_INDENT, text)
    return text


def estimated_ns(text: str, limit: float = float("inf")) -> float:
    """Rough python-markdown work for a (bounded) fragment, in nanoseconds; linear to
    compute, and it stops counting once past ``limit``."""
    blocks = text.split("\n\n")
    total = FRAGMENT_NS + BLOCK_NS * len(blocks) + BLOCK_PAIR_NS * len(blocks) ** 2
    for block in blocks:
        if total > limit:
            break
        lines = block.count("\n") + 1
        markers = sum(block.count(character) for character in _MARKERS)
        total += LINE_PAIR_NS * lines * lines + MARKER_BYTE_NS * markers * len(block) \
            + MARKER_NS * markers + BYTE_NS * len(block) \
            + BRACKET_BYTE_NS * block.count("[") * len(block)
    return total


class Budget:
    """The markdown work one page may still spend (estimated, and as a CPU-time
    deadline), and the page's converter (reset between fragments: building one costs
    about as much as converting a paragraph)."""

    def __init__(self, nanoseconds: float = PAGE_BUDGET_NS):
        self.left = nanoseconds
        self.deadline = time.thread_time() + nanoseconds / 1e9
        self._converter: markdown.Markdown | None = None
        self._clock = Deadline()

    def convert(self, text: str) -> str:
        """python-markdown's HTML for ``text``; raises OutOfTime past the deadline."""
        if self._converter is None:
            self._converter = markdown.Markdown(
                extensions=[NoRawHtml(), NestingLimit(), self._clock, "sane_lists"])
        self._clock.deadline = self.deadline
        return self._converter.reset().convert(text)

    def take(self, cost: float) -> bool:
        if cost > self.left:
            return False
        self.left -= cost
        return True


def render_markdown(text: str, budget: Budget | None = None) -> Markup:
    """HTML for a monograph fragment; safe to put into a page as is. Pass one Budget for
    all the fragments of a page."""
    text = bounded(text or "")
    budget = budget or Budget()
    if not budget.take(estimated_ns(text, budget.left)):
        return render_plain(text)
    try:
        html = budget.convert(text)
    except OutOfTime:
        budget.left = 0  # the rest of the page is plain text too
        return render_plain(text)
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            url_schemes=SAFE_SCHEMES, link_rel="noopener noreferrer"))


def render_plain(text: str) -> Markup:
    """A fragment as escaped text with its line breaks kept (the stylesheet wraps it),
    markdown left as written: one escape, no work per line."""
    text = text.strip()
    return Markup(f'<div class="plain">{escape(text)}</div>') if text else Markup("")
