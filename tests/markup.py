"""Checks that a page or snippet carries no markup an attacker could have injected."""

from __future__ import annotations

from html.parser import HTMLParser

OUR_SCRIPTS = {"/static/app.js"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def injected_markup(html: str) -> list[str]:
    """Every tag or attribute in html that would run code or that we never emit."""
    parser = _Tags()
    parser.feed(html)
    problems = []
    for tag, attrs in parser.tags:
        if tag in {"iframe", "svg", "object", "embed", "style", "frame", "base", "meta"} \
                and not (tag == "meta" and set(attrs) <= {"charset", "name", "content"}):
            problems.append(f"<{tag}>")
        if tag == "script" and attrs.get("src") not in OUR_SCRIPTS:
            problems.append(f"<script {attrs}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}>")
            if name in {"href", "src", "action"} and value and \
                    value.strip().lower().startswith(("javascript:", "data:")):
                problems.append(f"<{tag} {name}={value}>")
    return problems
