"""Markdown monograph files -> Monograph objects.

Every rejection is a MonographError whose message is one line naming the file, the
line where it applies, and the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from .errors import MonographError
from .models import Monograph, Section
from .sections import classify_heading

MAX_BYTES = 1024 * 1024  # files larger than 1 MiB are rejected
BINARY_SNIFF_BYTES = 8192
BINARY_CONTROL_RATIO = 0.10  # share of control characters above which a file is binary
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_H3_RE = re.compile(r"^###(?!#)[ \t]*(.*?)[ \t#]*$")
_DISCLAIMER_RE = re.compile(r"^\s*(\*\*|__)\s*disclaimer\s*:?\s*(\*\*|__)", re.IGNORECASE)
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


def read_monograph(file: Path, display_path: str | None = None, slug: str | None = None
                   ) -> Monograph:
    """Read and parse a monograph file, checking its size before reading it."""
    shown = display_path or str(file)
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise MonographError(shown, f"file is larger than 1 MiB ({size} bytes)")
        raw = file.read_bytes()
    except OSError as err:
        raise MonographError(shown, f"cannot read file ({err.strerror})") from err
    return parse_monograph(raw, shown, slug)


def iter_corpus_files(root: Path) -> list[Path]:
    """Every ``*.md`` below root, sorted, skipping hidden files and folders."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.lower().endswith(".md") and not name.startswith("."):
                found.append(Path(folder) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def iter_corpus(root: Path) -> Iterator[Monograph | MonographError]:
    """Parse every monograph below root; yields a Monograph or the error for each file.

    A slug seen before (same file name in another sub-folder) is an error for the
    second file in path order.
    """
    seen: dict[str, str] = {}
    for file in iter_corpus_files(root):
        shown = str(file)
        slug = file.stem
        if slug in seen:
            yield MonographError(shown, f"duplicate slug {slug!r} (also {seen[slug]})")
            continue
        try:
            monograph = read_monograph(file, shown)
        except MonographError as err:
            yield err
            continue
        seen[slug] = shown
        yield monograph


def markdown_to_text(markdown: str) -> str:
    """Plain text of a markdown fragment, for indexing and snippets (no HTML parsing)."""
    out = []
    for line in markdown.split("\n"):
        if _FENCE_RE.match(line) or re.match(r"^\s*\[[^\]]+\]:\s*\S+", line):
            continue
        if re.match(r"^\s*([-*_])(\s*\1){2,}\s*$", line):
            continue  # horizontal rule
        line = re.sub(r"^\s*#{1,6}\s*", "", line)
        line = re.sub(r"^\s*(>\s?)+", "", line)
        line = re.sub(r"^\s*([*+-]|\d+[.)])\s+", "", line)
        line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"\[([^\]]*)\](\([^)]*\)|\[[^\]]*\])", r"\1", line)
        line = re.sub(r"(\*\*|__|\*|`)", "", line)
        line = line.replace("|", " ")
        line = re.sub(r"\s+", " ", line).strip()
        out.append(line)
    return re.sub(r"\n{2,}", "\n", "\n".join(out)).strip()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


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
    h1: str | None = None
    h1_line = -1
    headings: list[tuple[int, str]] = []  # (line index, heading text)
    in_fence = False
    for i in range(start, len(lines)):
        line = lines[i]
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if h1 is None and not headings and (match := _H1_RE.match(line)):
            h1, h1_line = match.group(1).strip(), i
        elif match := _H3_RE.match(line):
            heading = match.group(1).strip().rstrip(":").strip()
            if not heading:
                raise MonographError(path, "section heading '###' has no text", i + 1)
            headings.append((i, heading))

    fm_title = front_matter.get("title")
    title = str(fm_title).strip() if fm_title is not None and str(fm_title).strip() else h1
    if not title:
        raise MonographError(path, "no title (no front matter 'title' and no '# ' heading)")
    if not headings:
        raise MonographError(path, "no '### ' section")

    sections, disclaimer = _split_sections(lines, headings)
    intro_start = h1_line + 1 if h1_line >= 0 else start
    intro = "\n".join(lines[intro_start: headings[0][0]]).strip()
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
    )


def _split_sections(lines: list[str], headings: list[tuple[int, str]]
                    ) -> tuple[list[Section], str | None]:
    sections = []
    anchors: set[str] = set()
    disclaimer = None
    for n, (index, heading) in enumerate(headings):
        end = headings[n + 1][0] if n + 1 < len(headings) else len(lines)
        body = lines[index + 1: end]
        if n == len(headings) - 1:
            body, disclaimer = _split_disclaimer(body)
        markdown = "\n".join(body).strip()
        anchor = base = slugify(heading) or "section"
        counter = 2
        while anchor in anchors:
            anchor, counter = f"{base}-{counter}", counter + 1
        anchors.add(anchor)
        sections.append(Section(
            heading=heading,
            anchor=anchor,
            type=classify_heading(heading),
            markdown=markdown,
            text=markdown_to_text(markdown),
            line=index + 1,
        ))
    return sections, disclaimer


def _split_disclaimer(body: list[str]) -> tuple[list[str], str | None]:
    """The trailing **Disclaimer:** paragraph belongs to the monograph, not the section."""
    for i in range(len(body) - 1, -1, -1):
        if _DISCLAIMER_RE.match(body[i]):
            return body[:i], "\n".join(body[i:]).strip()
    return body, None
