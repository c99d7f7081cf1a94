"""monosearch check: rejections are errors, style problems warnings, exit codes."""

import json
import subprocess
import sys

import pytest

from search.corpus.check import check_corpus
from search.corpus.vocabulary import default_vocabulary
from tests.conftest import ROOT, SEED

GOOD = SEED.read_text(encoding="utf-8")


ENTRY = ("{slug}:\n  label: LABEL tablets\n  application: NDA000001\n"
         "  label_date: 2024-07\n  checked: 2026-12-03\n")


def record(folder, *slugs):
    """A review record with an entry for each slug."""
    (folder / "reviews.yaml").write_text("".join(ENTRY.format(slug=s) for s in slugs))


def findings(folder):
    return [str(f).replace(f"{folder}/", "") for f in
            check_corpus(folder, default_vocabulary()).findings]


def test_clean_monograph_has_no_findings(tmp_path):
    (tmp_path / "baricitinib.md").write_text(GOOD)
    record(tmp_path, "baricitinib")
    assert findings(tmp_path) == []


@pytest.mark.parametrize("content, expected", [
    (b"", "empty.md: error: empty file"),
    (b"\x00\x01binary", "empty.md: error: binary content (not a text file)"),
    (b"# T\n### Usage\n\xe9\n", "empty.md:3: error: not valid UTF-8 (byte 0xe9)"),
    (b"---\na: [\n---\n# T\n### Usage\nx\n",
     "empty.md:2: error: front matter is not valid YAML"),
    (b"---\n[1, 2]\n---\n# T\n### Usage\nx\n",
     "empty.md:1: error: front matter is not a mapping of fields"),
    (b"### Usage\nx\n", "empty.md: error: no title"),
    (b"# T\ntext only\n", "empty.md: error: no '### ' section"),
])
def test_every_rejection_is_an_error(tmp_path, content, expected):
    (tmp_path / "empty.md").write_bytes(content)
    record(tmp_path, "empty")
    assert len(findings(tmp_path)) == 1
    assert findings(tmp_path)[0].startswith(expected)


def test_warnings_name_each_problem(tmp_path):
    body = GOOD.replace("### How it Works", "### Storage").replace(
        "**Disclaimer:**", "Closing words:").replace("title: Baricitinib", "title: Olumiant")
    body = body.replace("# Baricitinib\n", "# Baricitinib\nIntro text.\n")
    (tmp_path / "a.md").write_text(body)
    (tmp_path / "b.md").write_text("---\ntitle: Olumiant\n---\n# Olumiant\n### Usage\n"
                                   "Helps with nothing we know.\n\n**Disclaimer:** x\n")
    (tmp_path / "c.md").write_text(GOOD.split("---\n", 2)[2].replace("Baricitinib", "Cdrug"))
    record(tmp_path, "a", "b", "gone")
    assert findings(tmp_path) == [
        "a.md:6: warning: missing standard section 'How it Works'",
        "a.md:6: warning: title 'Olumiant' differs from the H1 'Baricitinib'",
        "a.md:7: warning: text between the title and the first section is shown but not "
        "indexed",
        "a.md:47: warning: unknown heading 'Storage' (indexed as 'other')",
        "a.md:77: warning: missing closing '**Disclaimer:**' paragraph",
        "b.md:1: warning: front matter has no 'layout'",
        "b.md:4: warning: missing standard section 'Generic Name'",
        "b.md:4: warning: missing standard section 'Dosage'",
        "b.md:4: warning: missing standard section 'Side Effects'",
        "b.md:4: warning: missing standard section 'How it Works'",
        "b.md:4: warning: missing standard section 'Precautions'",
        "b.md:4: warning: missing standard section 'FAQs'",
        "b.md:4: warning: duplicate title 'Olumiant' (also a.md)",
        "b.md:5: warning: no recognized indication (add one to the vocabulary or to front "
        "matter 'indications')",
        "c.md: warning: no entry in reviews.yaml: not checked against an FDA label",
        "c.md:1: warning: no front matter (title taken from the H1; add 'layout' and 'title')",
        "reviews.yaml: warning: entry 'gone' names no monograph (gone.md)",
    ]


def test_duplicate_slugs_are_errors(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "baricitinib.md").write_text(GOOD)
    (tmp_path / "x" / "baricitinib.md").write_text(GOOD)
    record(tmp_path, "baricitinib")
    assert findings(tmp_path) == [
        "x/baricitinib.md: error: duplicate slug 'baricitinib' (also baricitinib.md)"]


def run_check(*args):
    return subprocess.run([sys.executable, "-m", "search", "check", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)


def test_exit_codes_and_formats(tmp_path):
    (tmp_path / "a.md").write_text(GOOD.replace("### Storage", "").replace(
        "### FAQs", "### Notes"))
    warned = run_check(tmp_path)
    assert warned.returncode == 0
    assert warned.stdout.splitlines()[-1] == "checked 1 files: 0 errors, 3 warnings"
    assert warned.stdout.splitlines()[-2] == (
        f"{tmp_path}/reviews.yaml: warning: no review record: none of the 1 monographs is "
        "recorded as checked against an FDA label")
    strict = run_check("--strict", tmp_path)
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-1].endswith("(strict)")
    (tmp_path / "b.md").write_text("")
    as_json = json.loads(run_check(tmp_path, "--format", "json").stdout)
    assert (as_json["files"], as_json["errors"], as_json["warnings"], as_json["ok"]) == (
        2, 1, 3, False)
    assert as_json["findings"][-2] == {"path": f"{tmp_path}/b.md", "line": None,
                                       "level": "error", "message": "empty file"}
    assert run_check(tmp_path).returncode == 1
    assert run_check(tmp_path / "missing").returncode == 2


def test_bundled_corpus_passes_strict_check():
    result = run_check("--strict", ROOT / "corpus")
    assert result.returncode == 0, result.stdout


def test_drifted_formats_are_indexed_with_a_warning_each(tmp_path):
    body = GOOD.replace("### ", "## ").replace("## FAQs", "## **FAQs**")
    (tmp_path / "h2.md").write_text(body)
    got = [f for f in findings(tmp_path) if "marked" in f or "bold" in f]
    assert got == [
        "h2.md:7: warning: sections are marked with '## ' headings (the format uses '### ')",
        "h2.md:63: warning: heading 'FAQs' is written in bold",
    ]
    assert not [f for f in findings(tmp_path) if "error" in f]
    labels = GOOD.replace("### Generic Name\n", "**Generic Name:** ").replace("### ", "**")
    labels = "\n".join(line + ":**" if line.startswith("**") and line[2:].strip() in (
        "Usage", "Dosage", "Side Effects", "How it Works", "Precautions", "FAQs") else line
        for line in labels.split("\n"))
    (tmp_path / "h2.md").write_text(labels)
    assert [f for f in findings(tmp_path) if "marked" in f] == [
        "h2.md:7: warning: sections are marked with bold labels such as "
        "'**Generic Name:**' (the format uses '### Generic Name')"]
    assert not [f for f in findings(tmp_path) if "missing standard" in f or "error" in f]


def test_a_malformed_entry_is_one_error_and_not_also_a_missing_one(tmp_path):
    (tmp_path / "baricitinib.md").write_text(GOOD)
    (tmp_path / "reviews.yaml").write_text(ENTRY.format(slug="baricitinib").replace(
        "2024-07", "July 2024"))
    assert findings(tmp_path) == [
        "reviews.yaml: error: entry 'baricitinib': 'label_date' 'July 2024' is not YYYY-MM "
        "or YYYY-MM-DD"]
