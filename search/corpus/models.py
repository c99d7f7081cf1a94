"""Plain data produced by the parser: no I/O here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Section:
    heading: str  # heading text as written (trailing colons removed)
    anchor: str  # unique within the monograph, used in URLs and document ids
    type: str  # canonical section type, see search.sections.SECTION_TYPES
    markdown: str  # the section's markdown source, without its heading line
    text: str  # plain text for indexing and snippets
    line: int  # 1-based line of the heading in the file
    # The ingredient or part a section under a repeated heading belongs to; the heading
    # then ends with it: "Side Effects (Paracetamol)".
    part: str | None = None

    @property
    def plain_heading(self) -> str:
        """The heading as written, without the part it belongs to."""
        return self.heading.removesuffix(f" ({self.part})") if self.part else self.heading


@dataclass(frozen=True)
class Monograph:
    slug: str
    title: str
    path: str  # as given to the parser (relative to the corpus when from iter_corpus)
    sections: tuple[Section, ...]
    brands: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()  # from front matter; empty when derived later
    drug_class: tuple[str, ...] = ()
    disclaimer: str | None = None  # markdown of the closing **Disclaimer:** paragraph
    intro: str = ""  # markdown between the title and the first section
    h1: str | None = None
    h1_line: int | None = None  # 1-based line of the '# ' heading
    line_count: int = 0
    front_matter: dict = field(default_factory=dict, compare=False, hash=False)
    content_hash: str = ""
    # (line, message) about the page's format for the corpus check: sections marked
    # with '## ' headings or bold labels instead of '### ', headings written in bold.
    notes: tuple[tuple[int, str], ...] = field(default=(), compare=False, hash=False)

    def as_dict(self) -> dict:
        """JSON-ready form (front matter, hash and notes left out), as golden files
        hold it."""
        data = asdict(self)
        del data["front_matter"], data["content_hash"], data["notes"]
        for section in data["sections"]:
            if section["part"] is None:
                del section["part"]  # pages without repeated headings read as before
        return _lists(data)

    def section_of_type(self, section_type: str) -> Section | None:
        return next((s for s in self.sections if s.type == section_type), None)


def _lists(value):
    """Tuples -> lists, recursively, so the dict equals its JSON round trip."""
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(item) for item in value]
    return value
