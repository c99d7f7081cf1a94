"""Monograph markdown -> safe HTML: raw HTML is shown as text, links keep safe schemes."""

from __future__ import annotations

import re

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)


def _is_safe_url(url: str) -> bool:
    compact = re.sub(r"[\x00-\x20\x7f]+", "", url)
    match = _SCHEME_RE.match(compact)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


class _SafeUrls(Treeprocessor):
    def run(self, root):
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not _is_safe_url(value):
                    del element.attrib[attribute]


class NoRawHtml(Extension):
    """Treat HTML in the markdown as text and drop javascript:/data: links."""

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeUrls(md), "safe_urls", 0)


def render_markdown(text: str) -> Markup:
    """HTML for a monograph fragment; safe to put into a page as is."""
    converter = markdown.Markdown(extensions=[NoRawHtml(), "sane_lists"])
    return Markup(converter.convert(text or ""))
