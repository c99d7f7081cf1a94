import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.corpus.parsing import (
    MAX_BYTES,
    iter_corpus,
    markdown_to_text,
    parse_monograph,
    read_monograph,
)
from search.corpus.sections import classify_heading
from search.errors import MonographError
from tests.conftest import DATA, SEED

MINIMAL = "---\ntitle: Testdrug\n---\n# Testdrug\n### Usage\nUsed for asthma.\n"


@pytest.mark.parametrize("name, source", [
    ("baricitinib", SEED),
    ("warfarin", DATA / "corpus" / "warfarin.md"),
])
def test_parser_matches_golden_file(name, source):
    expected = json.loads((DATA / "golden" / f"{name}.json").read_text(encoding="utf-8"))
    assert read_monograph(source, f"{name}.md").as_dict() == expected


def test_seed_sections_types_and_disclaimer():
    monograph = read_monograph(SEED)
    assert [(s.heading, s.type) for s in monograph.sections] == [
        ("Generic Name", "generic-name"), ("Usage", "usage"), ("Dosage", "dosage"),
        ("Side Effects", "side-effects"), ("How it Works", "mechanism"),
        ("Precautions", "precautions"), ("FAQs", "faqs"),
    ]
    assert monograph.disclaimer.startswith("**Disclaimer:** This information is for")
    assert "Disclaimer" not in monograph.sections[-1].markdown
    assert monograph.sections[-1].text.endswith("Discuss concerns with your healthcare provider.")


@pytest.mark.parametrize("heading, expected", [
    ("Generic Name", "generic-name"), ("USAGE", "usage"), ("Uses:", "usage"),
    ("indications", "usage"), ("Dosing", "dosage"), ("Dose::", "dosage"),
    ("Adverse Reactions", "side-effects"), ("Adverse effects", "side-effects"),
    ("Mechanism of Action", "mechanism"), ("mechanism", "mechanism"),
    ("Warnings and Precautions", "precautions"), ("Warnings", "precautions"),
    ("Drug Interactions", "interactions"), ("Frequently Asked Questions", "faqs"),
    ("Storage", "other"), ("  How   it works : ", "mechanism"),
])
def test_heading_variants_map_to_types(heading, expected):
    assert classify_heading(heading) == expected


def test_crlf_bom_and_lone_cr_parse_like_lf():
    text = SEED.read_text(encoding="utf-8")
    plain = parse_monograph(text, "b.md")
    for variant in ("\ufeff" + text.replace("\n", "\r\n"), text.replace("\n", "\r")):
        parsed = parse_monograph(variant.encode("utf-8"), "b.md")
        assert parsed.sections == plain.sections
        assert parsed.title == plain.title and parsed.disclaimer == plain.disclaimer


def test_no_front_matter_takes_title_from_h1():
    monograph = read_monograph(DATA / "corpus" / "ibuprofen.md")
    assert monograph.title == "Ibuprofen" and monograph.front_matter == {}


def test_front_matter_fields_and_any_section_order():
    text = ("---\ntitle: Zeta\nbrands: Zetabrand\nindications: [Asthma, COPD]\n"
            "drug_class: [A, B]\n---\n# Zeta H1\n### faqs\nQ?\n### STORAGE:\nCool.\n"
            "### usage\nFor asthma.\n")
    monograph = parse_monograph(text, "z.md")
    assert (monograph.title, monograph.h1) == ("Zeta", "Zeta H1")
    assert monograph.brands == ("Zetabrand",)
    assert monograph.indications == ("Asthma", "COPD")
    assert monograph.drug_class == ("A", "B")
    assert [(s.heading, s.type, s.anchor) for s in monograph.sections] == [
        ("faqs", "faqs", "faqs"), ("STORAGE", "other", "storage"), ("usage", "usage", "usage")]


def test_headings_inside_code_fences_are_not_sections_and_anchors_are_unique():
    text = "# T\n### Notes\n```\n### not a heading\n```\n### Notes\nagain\n#### deeper\n"
    monograph = parse_monograph(text, "t.md")
    assert [(s.heading, s.anchor) for s in monograph.sections] == [
        ("Notes", "notes"), ("Notes", "notes-2")]
    assert "#### deeper" in monograph.sections[1].markdown


def _reason(data, name="bad.md"):
    with pytest.raises(MonographError) as caught:
        parse_monograph(data, name)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(name)
    return caught.value


@pytest.mark.parametrize("data, reason, line", [
    (b"", "empty file", None),
    (b"  \n\t\n", "empty file", None),
    (b"# T\n### Usage\nok\n\xff\xfe broken\n", "not valid UTF-8", 4),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content", None),
    (bytes(range(1, 32)) * 20, "binary content", None),
    (b"---\ntitle: [unclosed\n---\n# T\n### Usage\nx\n", "front matter is not valid YAML", 2),
    (b"---\ntitle: ok\nkey: : x\n---\n# T\n### Usage\nx\n", "front matter is not valid YAML", 3),
    (b"---\n- a\n- b\n---\n# T\n### Usage\nx\n", "front matter is not a mapping", 1),
    (b"---\njust text\n---\n# T\n### Usage\nx\n", "front matter is not a mapping", 1),
    (b"---\ntitle: T\n# T\n### Usage\nx\n", "front matter is not closed", 1),
    (b"---\nlayout: x\n---\n### Usage\nx\n", "no title", None),
    (b"# Title only\nSome text but no sections.\n## Two hashes\n", "no '### ' section", None),
    (b"# T\n###\nx\n", "has no text", 2),
])
def test_rejections_name_file_reason_and_line(data, reason, line):
    error = _reason(data)
    assert reason in error.reason
    assert error.line == line
    if line:
        assert str(error).startswith(f"bad.md:{line}: ")


def test_file_larger_than_one_mib_is_rejected(tmp_path: Path):
    big = MINIMAL + "x" * (MAX_BYTES + 1 - len(MINIMAL))
    assert len(big.encode()) == MAX_BYTES + 1
    assert "larger than 1 MiB" in _reason(big.encode()).reason
    path = tmp_path / "big.md"
    path.write_text(big, encoding="utf-8")
    with pytest.raises(MonographError, match="larger than 1 MiB"):
        read_monograph(path)
    parse_monograph(big[:-1].encode(), "ok.md")  # exactly 1 MiB is accepted


def test_iter_corpus_reports_duplicates_and_keeps_others(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "zeta.md").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b" / "zeta.md").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b" / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "b" / "good.md").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / ".hidden.md").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("", encoding="utf-8")
    results = list(iter_corpus(tmp_path))
    good = sorted(r.slug for r in results if not isinstance(r, MonographError))
    errors = sorted(str(r) for r in results if isinstance(r, MonographError))
    assert good == ["good", "zeta"]
    assert errors == [f"{tmp_path}/b/empty.md: empty file",
                      f"{tmp_path}/b/zeta.md: duplicate slug 'zeta' (also {tmp_path}/a/zeta.md)"]


FORMATS = sorted((DATA / "formats").glob("*.md"))


@pytest.mark.parametrize("source", FORMATS, ids=lambda p: p.stem)
def test_drifted_formats_match_golden_files(source):
    """'## ' headings, bold labels, bold headings and headings repeated per ingredient
    (golden output read and checked by hand before it was stored)."""
    golden = DATA / "golden" / "formats" / f"{source.stem}.json"
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert read_monograph(source, source.name).as_dict() == expected


def test_repeated_headings_name_their_part():
    monograph = read_monograph(DATA / "formats" / "repeated-parts.md")
    assert [(s.heading, s.anchor) for s in monograph.sections] == [
        ("Generic Name", "generic-name"),
        ("Usage (Alphadol)", "usage-alphadol"),
        ("Side Effects (Alphadol)", "side-effects-alphadol"),
        ("Usage (Betacaine)", "usage-betacaine"),
        ("Side Effects (Betacaine)", "side-effects-betacaine"),
        ("FAQs", "faqs"),
    ]
    # the part headings are not left inside the section before them
    assert "## Betacaine" not in monograph.sections[2].markdown


@pytest.mark.parametrize("marker", ["## Alphadol", "**Alphadol**", "#### Alphadol",
                                    "### Alphadol"])
def test_each_kind_of_part_marker(marker):
    text = (f"# A + B\n### Generic Name\nA + B\n{marker}\n\n### Usage\nfirst\n"
            f"{marker.replace('Alphadol', 'Betacaine')}\n### Usage\nsecond\n")
    monograph = parse_monograph(text, "ab.md")
    assert [s.heading for s in monograph.sections] == [
        "Generic Name", "Usage (Alphadol)", "Usage (Betacaine)"]
    assert [s.text for s in monograph.sections[1:]] == ["first", "second"]


def test_repeated_headings_without_names_are_numbered():
    monograph = parse_monograph("# T\n### Usage\none\n### Usage\ntwo\n", "t.md")
    assert [(s.heading, s.anchor) for s in monograph.sections] == [
        ("Usage (part 1)", "usage-part-1"), ("Usage (part 2)", "usage-part-2")]


def test_bold_labels_inside_sections_stay_text():
    """In a '###' page a bold label is text, whatever it says (the seed has many)."""
    text = "# T\n### Precautions\n**Drug Interactions:**\nMany.\n**Usage:** here too\n"
    monograph = parse_monograph(text, "t.md")
    assert [s.type for s in monograph.sections] == ["precautions"]
    assert "**Usage:** here too" in monograph.sections[0].markdown


@pytest.mark.parametrize("text", [
    "# T\nJust prose about a medicine.\n\nMore prose.\n",
    "# T\n## Overview\nProse.\n## More\nProse.\n",  # no '##' heading names a section
    "# T\n**Important:** prose.\n",  # a bold label the format does not know
])
def test_pages_without_recognisable_sections_are_rejected(text):
    error = _reason(text.encode())
    assert "no '### ' section" in error.reason and "bold label" in error.reason


def reference_markdown_to_text(markdown: str) -> str:
    """The plain-text rule written out one regex at a time (link text and targets hold no
    brackets or parentheses)."""
    import re as regex

    out = []
    for line in markdown.split("\n"):
        if regex.match(r"^\s{0,3}(```|~~~)", line) or regex.match(r"^\s*\[[^\]]+\]:\s*\S+",
                                                                   line):
            continue
        if regex.match(r"^\s*([-*_])(\s*\1){2,}\s*$", line):
            continue
        line = regex.sub(r"^\s*#{1,6}\s*", "", line)
        line = regex.sub(r"^\s*(>\s?)+", "", line)
        line = regex.sub(r"^\s*([*+-]|\d+[.)])\s+", "", line)
        line = regex.sub(r"!\[([^\[\]]*)\]\([^()]*\)", r"\1", line)
        line = regex.sub(r"\[([^\[\]]*)\](\([^()]*\)|\[[^\[\]]*\])", r"\1", line)
        line = regex.sub(r"(\*\*|__|\*|`)", "", line)
        line = regex.sub(r"\s+", " ", line.replace("|", " ")).strip()
        out.append(line)
    return regex.sub(r"\n{2,}", "\n", "\n".join(out)).strip()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab *_`#>-+1.)[]()!|:~\n\t\u00a0\u2003\x1c", max_size=80))
def test_markdown_to_text_equals_the_reference(markdown):
    assert markdown_to_text(markdown) == reference_markdown_to_text(markdown)


def test_markdown_to_text_on_real_sections():
    for path in sorted((DATA.parent.parent / "corpus").glob("*.md")):
        for section in read_monograph(path).sections:
            assert markdown_to_text(section.markdown) == \
                reference_markdown_to_text(section.markdown)


@pytest.mark.parametrize("unit", ["[", "[a](", "![", "![a](", "[](", "*_`", "- ", "> "])
def test_plain_text_is_linear_in_the_size_of_the_markdown(unit):
    """Against ordinary prose of the same size, timed in the same process: a line of
    100,000 brackets was one scan to the line's end from each bracket (minutes)."""
    import time

    size = 200_000
    hostile = unit * (size // len(unit))
    prose = ("Take one tablet a day with food. " * (size // 33))[:size]

    def seconds(text: str) -> float:
        started = time.perf_counter()
        markdown_to_text(text)
        return time.perf_counter() - started

    reference = min(seconds(prose) for _ in range(3))
    assert seconds(hostile) < 20 * reference + 0.05
