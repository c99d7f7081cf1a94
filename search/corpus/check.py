"""Corpus lint for editors: every parser rejection plus warnings, without the index."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import MonographError
from .facts import drug_facts
from .models import Monograph
from .parsing import iter_corpus
from .reviews import REVIEWS_FILE, load_reviews
from .sections import SECTION_TYPES, section_label
from .vocabulary import Vocabulary

STANDARD_SECTIONS = ("generic-name", "usage", "dosage", "side-effects", "mechanism",
                     "precautions", "faqs")
KNOWN_TYPES = set(SECTION_TYPES) - {"other"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    level: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.level}: {self.message}"


@dataclass
class CheckReport:
    files: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.level == "warning")

    def as_dict(self) -> dict:
        return {"files": self.files, "errors": self.errors, "warnings": self.warnings,
                "findings": [asdict(f) for f in self.findings]}


def check_monograph(monograph: Monograph, vocabulary: Vocabulary) -> list[Finding]:
    """Warnings for one parsed monograph."""
    path = monograph.path
    top = monograph.h1_line or 1
    findings = []

    def warn(message: str, line: int | None) -> None:
        findings.append(Finding(path, line, "warning", message))

    if not monograph.front_matter:
        warn("no front matter (title taken from the H1; add 'layout' and 'title')", 1)
    elif "layout" not in monograph.front_matter:
        warn("front matter has no 'layout'", 1)
    for line, message in monograph.notes:
        warn(message, line)
    present = {s.type for s in monograph.sections}
    for kind in STANDARD_SECTIONS:
        if kind not in present:
            warn(f"missing standard section '{section_label(kind)}'", top)
    for section in monograph.sections:
        if section.type not in KNOWN_TYPES:
            warn(f"unknown heading '{section.heading}' (indexed as 'other')", section.line)
        elif not section.text.strip():
            warn(f"section '{section.heading}' is empty", section.line)
    seen_types: dict[str, int] = {}
    for section in monograph.sections:
        if section.type in KNOWN_TYPES and section.type in seen_types:
            warn(f"second '{section_label(section.type)}' section (first on line "
                 f"{seen_types[section.type]})", section.line)
        seen_types.setdefault(section.type, section.line)
    facts = drug_facts(monograph, vocabulary)
    if not facts["indications"]:
        usage = monograph.section_of_type("usage")
        warn("no recognized indication (add one to the vocabulary or to front matter "
             "'indications')", usage.line if usage else top)
    for name in monograph.indications:
        slug, _ = vocabulary.resolve(name)
        if not slug:
            warn(f"front matter indication {name!r} has no letters or digits (ignored)", 1)
        elif slug not in vocabulary.conditions:
            warn(f"front matter indication {name!r} is not in the vocabulary", 1)
    if monograph.disclaimer is None:
        warn("missing closing '**Disclaimer:**' paragraph", monograph.line_count or None)
    if monograph.h1 is None:
        warn("no '# ' title heading", 1)
    elif _norm(monograph.h1) != _norm(monograph.title):
        warn(f"title {monograph.title!r} differs from the H1 {monograph.h1!r}", top)
    if monograph.intro.strip():
        warn("text between the title and the first section is shown but not indexed",
             top + 1 if monograph.h1_line else top)
    return findings


def check_corpus(root: Path, vocabulary: Vocabulary) -> CheckReport:
    """Lint every monograph below root: rejections are errors, the rest warnings."""
    report = CheckReport()
    titles: dict[str, str] = {}
    reviews = load_reviews(root)
    for problem in reviews.problems:
        report.findings.append(Finding(problem.path, problem.line, "error", problem.reason))
    slugs = set()
    for result in iter_corpus(root):
        report.files += 1
        if isinstance(result, MonographError):
            report.findings.append(Finding(result.path, result.line, "error", result.reason))
            slugs.add(Path(result.path).stem)
            continue
        slugs.add(result.slug)
        report.findings.extend(check_monograph(result, vocabulary))
        if reviews.found and result.slug not in reviews.entries.keys() | reviews.rejected:
            report.findings.append(Finding(result.path, None, "warning",
                                           f"no entry in {REVIEWS_FILE}: not checked "
                                           "against an FDA label"))
        key = _norm(result.title)
        if key in titles:
            report.findings.append(Finding(result.path, result.h1_line or 1, "warning",
                                           f"duplicate title {result.title!r} "
                                           f"(also {titles[key]})"))
        titles.setdefault(key, result.path)
    if not reviews.found and report.files:
        report.findings.append(Finding(str(root / REVIEWS_FILE), None, "warning",
                                       f"no review record: none of the {report.files} "
                                       "monographs is recorded as checked against an "
                                       "FDA label"))
    for slug in sorted(reviews.entries.keys() - slugs):
        report.findings.append(Finding(str(root / REVIEWS_FILE), None, "warning",
                                       f"entry {slug!r} names no monograph ({slug}.md)"))
    report.findings.sort(key=lambda f: (f.path, f.line or 0))
    return report



def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()
