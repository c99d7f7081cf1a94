"""Markdown monograph files -> Monograph objects.

Every rejection is a MonographError whose message is one line naming the file, the
line where it applies, and the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import MonographError
from .files import MAX_BYTES, corpus_files, read_file
from .models import Monograph, Section
from .sections import classify_heading
from .vocabulary import slugify

BINARY_SNIFF_BYTES = 8192
BINARY_CONTROL_RATIO = 0.10  # share of control characters above which a file is binary
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_H2_RE = re.compile(r"^##(?!#)[ \t]*(.*?)[ \t#]*$")
_H3_RE = re.compile(r"^###(?!#)[ \t]*(.*?)[ \t#]*$")
_H4_RE = re.compile(r"^####(?!#)[ \t]*(.*?)[ \t#]*$")
# A bold label at the start of a line: "**Usage:**", "**Usage**:", "__Dosage__",
# "**Generic Name:** Furosemide" (the rest of the line is the section's first text).
_BOLD_LABEL_RE = re.compile(r"^\s{0,3}(\*\*|__)(?P<label>[^*_\n]{1,60}?)\1(?P<rest>.*)$")
_WRAPPED_BOLD_RE = re.compile(r"^(?:\*\*|__)(.+?)(?:\*\*|__)\s*:?$")
MAX_PART_CHARS = 80  # a part name longer than this is text, not a name
# Sections one monograph may have: real ones have 7 to a few dozen (a combination
# product repeats them per ingredient); each is a document and a block of its page, so
# a file of 75,000 one-line sections took 55 s to index and 4 s to show.
MAX_SECTIONS = 300
_DISCLAIMER_RE = re.compile(r"^\s*(\*\*|__)\s*disclaimer\s*:?\s*(\*\*|__)", re.IGNORECASE)
_LINK_DEFINITION_RE = re.compile(r"^\s*\[[^\]]+\]:\s*\S+")
_RULE_RE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
# Removed from a line's start in this order: a heading's hashes, quote marks, a list marker.
_LINE_STARTS = (re.compile(r"^\s*#{1,6}\s*"), re.compile(r"^\s*(>\s?)+"),
                re.compile(r"^\s*([*+-]|\d+[.)])\s+"))
# Link text and targets stop at the next bracket or parenthesis, so a line of 100,000
# "[" (or "[a](") is one pass, not one scan to the line's end from each "[".
_IMAGE_RE = re.compile(r"!\[([^\[\]]*)\]\([^()]*\)")
_LINK_RE = re.compile(r"\[([^\[\]]*)\](\([^()]*\)|\[[^\[\]]*\])")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)")
_BLANK_LINES_RE = re.compile(r"\n{2,}")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def parse_monograph(data: bytes | str, path: str, slug: str | None = None) -> Monograph:
    """Parse one monograph file's content. Raises MonographError on any problem."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    slug = slug if slug is not None else Path(path).stem
    if not SLUG_RE.match(slug):
        raise MonographError(path, f"file name {slug!r} is not a valid slug "
                                   "(use letters, digits, '.', '-' or '_')")
    if len(raw) > MAX_BYTES:
        raise MonographError(path, f"file is larger than 1 MiB ({len(raw)} bytes)")
    text = _decode(raw, path)
    if not text.strip():
        raise MonographError(path, "empty file")
    lines = text.split("\n")
    front_matter, body_start = _parse_front_matter(lines, path)
    return _parse_body(lines, body_start, front_matter, path, slug,
                       hashlib.sha256(raw).hexdigest())


def read_monograph(file: Path, display_path: str | None = None, slug: str | None = None,
                   root: Path | None = None) -> Monograph:
    """Read and parse a monograph file (a regular file of at most 1 MiB, inside
    ``root`` when given; see search/files.py). Its content_hash is of the bytes parsed."""
    shown = display_path or str(file)
    return parse_monograph(read_file(file, shown, root), shown, slug)


def iter_corpus_files(root: Path) -> list[Path]:
    """Every ``*.md`` below root, sorted, skipping hidden files and folders."""
    return corpus_files(root)[0]


def iter_corpus(root: Path) -> Iterator[Monograph | MonographError]:
    """Parse every monograph below root; yields a Monograph or the error for each file.

    A slug seen before (same file name in another sub-folder) is an error for the
    second file in path order.
    """
    seen: dict[str, str] = {}
    files, errors = corpus_files(root)
    yield from errors
    for file in files:
        shown = str(file)
        slug = file.stem
        if slug in seen:
            yield MonographError(shown, f"duplicate slug {slug!r} (also {seen[slug]})")
            continue
        try:
            monograph = read_monograph(file, shown, root=root)
        except MonographError as err:
            yield err
            continue
        seen[slug] = shown
        yield monograph


def markdown_to_text(markdown: str) -> str:
    """Plain text of a markdown fragment, for indexing and snippets (no HTML parsing).
    The patterns are compiled once, and a line is only searched for links or emphasis
    when it holds their characters (a full build calls this for every section)."""
    out = []
    for line in markdown.split("\n"):
        if _FENCE_RE.match(line) or ("[" in line and _LINK_DEFINITION_RE.match(line)):
            continue
        if _RULE_RE.match(line):
            continue  # horizontal rule
        for pattern in _LINE_STARTS:
            line = pattern.sub("", line)
        if "[" in line:
            line = _IMAGE_RE.sub(r"\1", line)
            line = _LINK_RE.sub(r"\1", line)
        if "*" in line or "_" in line or "`" in line:
            line = _EMPHASIS_RE.sub("", line)
        line = " ".join(line.replace("|", " ").split())
        out.append(line)
    return _BLANK_LINES_RE.sub("\n", "\n".join(out)).strip()


def _decode(raw: bytes, path: str) -> str:
    sniff = raw[:BINARY_SNIFF_BYTES]
    if b"\x00" in sniff or (
        sniff and sum(sniff.count(bytes([b])) for b in _CONTROL_BYTES) / len(sniff)
        > BINARY_CONTROL_RATIO
    ):
        raise MonographError(path, "binary content (not a text file)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise MonographError(path, f"not valid UTF-8 (byte 0x{raw[err.start]:02x})", line) from None
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_front_matter(lines: list[str], path: str) -> tuple[dict, int]:
    """(front matter mapping, index of the first body line)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise MonographError(path, "front matter is not closed by a '---' line", 1)
    source = "\n".join(lines[1:end])
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for the opening '---'
        problem = getattr(err, "problem", None) or "syntax error"
        context, context_mark = getattr(err, "context", None), getattr(err, "context_mark", None)
        if context and context_mark is not None and context_mark.line + 2 != line:
            problem = f"{context} started on line {context_mark.line + 2}, {problem}"
        raise MonographError(path, f"front matter is not valid YAML ({problem})", line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MonographError(path, "front matter is not a mapping of fields", 1)
    for key in ("title", "layout"):
        if key in data and isinstance(data[key], (list, dict)):
            raise MonographError(path, f"front matter field {key!r} must be text", 1)
    return data, end + 1


def _text_list(front_matter: dict, key: str, path: str) -> tuple[str, ...]:
    value = front_matter.get(key)
    if value is None:
        return ()
    if isinstance(value, (str, int, float)):
        value = [value]
    if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
        raise MonographError(path, f"front matter field {key!r} must be a list of text", 1)
    return tuple(str(v).strip() for v in value if v is not None and str(v).strip())


def _parse_body(lines: list[str], start: int, front_matter: dict, path: str, slug: str,
                content_hash: str) -> Monograph:
    h1, h1_line, markers = _scan(lines, start, path)
    fm_title = front_matter.get("title")
    title = str(fm_title).strip() if fm_title is not None and str(fm_title).strip() else h1
    if not title:
        raise MonographError(path, "no title (no front matter 'title' and no '# ' heading)")
    headings, candidates, notes = _choose_sections(markers)
    if not headings:
        raise MonographError(path, "no '### ' section, and no '## ' heading or bold label "
                                   "(such as '**Usage:**') names a standard section")
    if len(headings) > MAX_SECTIONS:
        raise MonographError(path, f"{len(headings)} section headings, more than the "
                                   f"{MAX_SECTIONS} a monograph may have")
    sections, disclaimer = _split_sections(lines, headings, candidates)
    intro_start = h1_line + 1 if h1_line >= 0 else start
    intro = "\n".join(lines[intro_start: headings[0].index]).strip()
    return Monograph(
        slug=slug,
        title=title,
        path=path,
        sections=tuple(sections),
        brands=_text_list(front_matter, "brands", path),
        indications=_text_list(front_matter, "indications", path),
        drug_class=_text_list(front_matter, "drug_class", path),
        disclaimer=disclaimer,
        intro=intro,
        h1=h1,
        h1_line=h1_line + 1 if h1_line >= 0 else None,
        line_count=len(lines) - (lines[-1] == ""),
        front_matter=front_matter,
        content_hash=content_hash,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Marker:
    """A line that may start a section or name a part of the page."""

    index: int  # line index in the file
    level: str  # "h2", "h3", "h4", "bold" (a bold label) or "strong" (a bold line alone)
    heading: str  # heading text, without bold markers or trailing colon
    rest: str = ""  # text after the heading on the same line ("**Generic Name:** X")
    bold: bool = False  # "### **Usage**"

    @property
    def known(self) -> bool:
        return classify_heading(self.heading) != "other"


def _scan(lines: list[str], start: int, path: str) -> tuple[str | None, int, list[_Marker]]:
    """The H1 and every line that could mark a section, outside code fences."""
    h1: str | None = None
    h1_line = -1
    markers: list[_Marker] = []
    in_fence = False
    for i in range(start, len(lines)):
        line = lines[i]
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if h1 is None and not markers and (match := _H1_RE.match(line)):
            h1, h1_line = match.group(1).strip(), i
            continue
        for level, pattern in (("h3", _H3_RE), ("h2", _H2_RE), ("h4", _H4_RE)):
            if match := pattern.match(line):
                heading, rest, bold = _heading_parts(match.group(1))
                if not heading and level == "h3":
                    raise MonographError(path, "section heading '###' has no text", i + 1)
                if heading:
                    markers.append(_Marker(i, level, heading, rest, bold))
                break
        else:
            if match := _BOLD_LABEL_RE.match(line):
                label = match.group("label").strip().rstrip(":").strip()
                rest = match.group("rest").strip().lstrip(":").strip()
                if label and classify_heading(label) != "other":
                    markers.append(_Marker(i, "bold", label, rest))
                elif label and not rest:
                    markers.append(_Marker(i, "strong", label))
    return h1, h1_line, markers


def _heading_parts(raw: str) -> tuple[str, str, bool]:
    """(heading, text after it on the line, written in bold): "**Usage**" -> Usage;
    "Generic Name: Furosemide" -> Generic Name, with Furosemide as text."""
    text = raw.strip()
    bold = False
    if match := _WRAPPED_BOLD_RE.match(text):
        text, bold = match.group(1).strip(), True
    text = text.rstrip(":").strip()
    head, colon, rest = text.partition(":")
    if colon and rest.strip() and classify_heading(head) != "other":
        return head.strip().strip("*_").strip(), rest.strip().strip("*_").strip(), bold
    return text, "", bold


def _choose_sections(markers: list[_Marker]) -> tuple[list[_Marker], list[_Marker],
                                                     list[tuple[int, str]]]:
    """(section markers, markers that may name a part of the page, notes for the check).

    ``###`` headings are sections, as the format says. A page without them takes its
    ``##`` headings when one names a standard section, else its bold labels
    ("**Usage:**") that do. The other headings and bold lines may name the part of the
    page that follows ("## Paracetamol" in a combination that repeats its headings per
    ingredient)."""
    h3 = [m for m in markers if m.level == "h3"]
    h2 = [m for m in markers if m.level == "h2"]
    labels = [m for m in markers if m.level == "bold"]
    notes: list[tuple[int, str]] = []
    if h3:
        chosen = h3
    elif any(m.known for m in h2):
        chosen = h2
        notes.append((h2[0].index + 1, "sections are marked with '## ' headings "
                                       "(the format uses '### ')"))
    elif labels:
        chosen = labels
        notes.append((labels[0].index + 1, f"sections are marked with bold labels such "
                                           f"as '**{labels[0].heading}:**' (the format "
                                           f"uses '### {labels[0].heading}')"))
    else:
        return [], [], notes
    notes += [(m.index + 1, f"heading '{m.heading}' is written in bold")
              for m in chosen if m.bold]
    level = chosen[0].level
    candidates = [m for m in markers if m.level != level
                  and m.level in ("h2", "h4", "strong") and not m.rest]
    return chosen, candidates, notes


def _split_sections(lines: list[str], headings: list[_Marker], candidates: list[_Marker]
                    ) -> tuple[list[Section], str | None]:
    """Sections between the chosen markers. A section under a heading the page repeats
    (a combination with Usage, Dosage... once per ingredient) says which part it belongs
    to: the part named just before its block ("## Paracetamol", "**Paracetamol**", an
    empty "### Paracetamol"), else its block's Generic Name, else its number."""
    types = [classify_heading(m.heading) for m in headings]
    repeated = {t for t in types if t != "other" and types.count(t) > 1}
    parts: dict[int, str] = {}
    if repeated:
        starts = {m.index for m in headings}
        for marker in candidates:  # a part name opens a block: a section follows it
            following = next((i for i in range(marker.index + 1, len(lines))
                              if lines[i].strip()), None)
            if following in starts:
                parts[marker.index] = marker.heading
    spans = []
    disclaimer = None
    for n, marker in enumerate(headings):
        end = headings[n + 1].index if n + 1 < len(headings) else len(lines)
        body = [line for i, line in enumerate(lines[marker.index + 1: end], marker.index + 1)
                if i not in parts]
        if marker.rest:
            body.insert(0, marker.rest)
        if n == len(headings) - 1:
            body, disclaimer = _split_disclaimer(body)
        spans.append((marker, "\n".join(body).strip()))
    if repeated:  # an empty "### Paracetamol" before its "### Usage" names a part
        for marker, markdown in spans:
            if classify_heading(marker.heading) == "other" and not markdown:
                parts[marker.index] = marker.heading
        spans = [(m, text) for m, text in spans if m.index not in parts]
    sections = []
    anchors: set[str] = set()
    part: str | None = None
    block: str | None = None  # the Generic Name of the current block
    seen: dict[str, int] = {}
    part_lines = sorted(parts)
    for marker, markdown in spans:
        kind = classify_heading(marker.heading)
        opened = [i for i in part_lines if i < marker.index]
        named = parts[opened[-1]] if opened else None
        if named != part:
            part, block = named, None
        if kind == "generic-name":
            block = _first_line(markdown)
        seen[kind] = seen.get(kind, 0) + 1
        heading, label = marker.heading, None
        if kind in repeated:
            label = part or block or f"part {seen[kind]}"
            heading = f"{heading} ({label})"
        anchor = base = slugify(heading) or "section"
        counter = 2
        while anchor in anchors:
            anchor, counter = f"{base}-{counter}", counter + 1
        anchors.add(anchor)
        sections.append(Section(
            heading=heading,
            anchor=anchor,
            type=kind,
            markdown=markdown,
            text=markdown_to_text(markdown),
            line=marker.index + 1,
            part=label,
        ))
    return sections, disclaimer


def _first_line(markdown: str) -> str | None:
    """The first line of a Generic Name section, when it is a name (short)."""
    line = markdown_to_text(markdown).split("\n", 1)[0].strip()
    return line if 0 < len(line) <= MAX_PART_CHARS else None


def _split_disclaimer(body: list[str]) -> tuple[list[str], str | None]:
    """The trailing **Disclaimer:** paragraph belongs to the monograph, not the section."""
    for i in range(len(body) - 1, -1, -1):
        if _DISCLAIMER_RE.match(body[i]):
            return body[:i], "\n".join(body[i:]).strip()
    return body, None
