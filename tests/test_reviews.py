"""The review record beside the corpus (reviews.yaml): read, checked, indexed with each
monograph, and shown on its page."""

import html
import re
import subprocess
import sys

import pytest

from search.corpus.reviews import REVIEWS_FILE, load_reviews
from search.whoosh.indexer import reindex
from tests.conftest import ROOT, copy_corpus
from web import create_app

GOOD = {"label": "OLUMIANT (baricitinib) tablets", "application": "NDA207924",
        "set_id": "3b2e2a1c-0c5a-4d7b-9a40-1f0e6c2f4c11", "label_date": "2022-06",
        "checked": "2026-12-03", "reviewer": "someone", "findings": []}


def write(folder, entries: dict) -> None:
    lines = []
    for slug, entry in entries.items():
        lines.append(f"{slug}:")
        lines += [f"  {key}: {value!r}" if isinstance(value, str) else f"  {key}: {value}"
                  for key, value in entry.items()]
    (folder / REVIEWS_FILE).write_text("\n".join(lines) + "\n")


def test_a_good_entry_is_read_whole(tmp_path):
    write(tmp_path, {"baricitinib": GOOD})
    reviews = load_reviews(tmp_path)
    assert reviews.problems == () and reviews.found
    assert reviews.shown("baricitinib") == {**{key: GOOD[key] for key in (
        "label", "set_id", "application", "label_date", "checked")}, "label_date_unknown": None}
    assert reviews.shown("other") is None and reviews.fingerprint("other") is None


def test_unquoted_dates_are_kept_as_written(tmp_path):
    (tmp_path / REVIEWS_FILE).write_text(
        "x:\n  label: X tablets\n  application: ANDA123456\n  label_date: 2023-07-05\n"
        "  checked: 2026-12-03\n")
    assert load_reviews(tmp_path).shown("x")["label_date"] == "2023-07-05"
    assert load_reviews(tmp_path).shown("x")["checked"] == "2026-12-03"


@pytest.mark.parametrize("change, reason", [
    ({"label": None}, "no 'label' (the label's title as printed)"),
    ({"label": "  "}, "no 'label' (the label's title as printed)"),
    ({"set_id": None, "application": None},
     "names no label: give its 'set_id' or its 'application' number"),
    ({"set_id": "not-a-uuid"}, "'set_id' 'not-a-uuid' is not a DailyMed set id"),
    ({"application": "NDA12"}, "'application' 'NDA12' is not NDA, BLA or ANDA and six digits"),
    ({"label_date": "July 2023"}, "'label_date' 'July 2023' is not YYYY-MM or YYYY-MM-DD"),
    ({"label_date": "2023-13"}, "'label_date' '2023-13' is not YYYY-MM or YYYY-MM-DD"),
    ({"label_date": None}, "no 'label_date', and no 'label_date_unknown' saying why"),
    ({"label_date": None, "label_date_unknown": " "},
     "no 'label_date', and no 'label_date_unknown' saying why"),
    ({"checked": "2026-12"}, "'checked' '2026-12' is not YYYY-MM-DD"),
])
def test_a_bad_entry_is_one_problem_and_the_others_are_kept(tmp_path, change, reason):
    bad = {**GOOD, **change}
    write(tmp_path, {"bad": {k: v for k, v in bad.items() if v is not None}, "good": GOOD})
    reviews = load_reviews(tmp_path)
    assert set(reviews.entries) == {"good"}
    assert [str(p) for p in reviews.problems] == [
        f"{tmp_path / REVIEWS_FILE}: entry 'bad': {reason}"]


@pytest.mark.parametrize("content, reason, line", [
    (b"a: [\n", "review record is not valid YAML", 2),
    (b"\xff\xfe", "review record is not UTF-8", None),
    (b"- a\n- b\n", "review record is not a mapping of monograph names to entries", None),
])
def test_an_unreadable_record_is_one_problem(tmp_path, content, reason, line):
    (tmp_path / REVIEWS_FILE).write_bytes(content)
    reviews = load_reviews(tmp_path)
    assert reviews.entries == {}
    assert [(p.reason, p.line) for p in reviews.problems] == [(reason, line)]


def test_no_record_file_is_an_empty_record(tmp_path):
    reviews = load_reviews(tmp_path)
    assert (reviews.entries, reviews.problems, reviews.found) == ({}, (), False)


@pytest.fixture
def reviewed(tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    write(corpus, {"baricitinib": GOOD})
    return corpus, tmp_path / "index"


def page_text(app, slug):
    page = app.test_client().get(f"/drug/{slug}").get_data(as_text=True)
    found = re.search(r'<p class="provenance">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"\s+", " ", found.group(1)))


def test_the_drug_page_and_api_show_the_label_checked_against(reviewed):
    corpus, index = reviewed
    assert reindex(corpus, index).errors == []
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    body = app.test_client().get("/api/drugs/baricitinib").get_json()
    assert body["review"] == load_reviews(corpus).shown("baricitinib")
    assert page_text(app, "baricitinib") == (
        "Checked against the FDA label of June 2022 (OLUMIANT (baricitinib) tablets, "
        "NDA207924, DailyMed set id 3b2e2a1c-0c5a-4d7b-9a40-1f0e6c2f4c11) on December 3, "
        "2026.")
    assert app.test_client().get("/api/drugs/warfarin").get_json()["review"] is None
    assert page_text(app, "warfarin") == "Not yet checked against an FDA label."


def test_a_label_without_a_known_date_says_so(reviewed):
    corpus, index = reviewed
    write(corpus, {"baricitinib": {**{k: v for k, v in GOOD.items() if k != "label_date"},
                                   "label_date_unknown": "no date in the copy read"}})
    assert reindex(corpus, index).errors == []
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    assert page_text(app, "baricitinib") == (
        "Checked against the FDA label (OLUMIANT (baricitinib) tablets, NDA207924, DailyMed "
        "set id 3b2e2a1c-0c5a-4d7b-9a40-1f0e6c2f4c11; the label's date was not shown in the "
        "copy reviewed) on December 3, 2026.")
    review = app.test_client().get("/api/drugs/baricitinib").get_json()["review"]
    assert (review["label_date"], review["label_date_unknown"]) == (
        None, "no date in the copy read")


def test_a_changed_entry_alone_reindexes_its_monograph(reviewed):
    corpus, index = reviewed
    reindex(corpus, index)
    write(corpus, {"baricitinib": {**GOOD, "label_date": "2025-03-14"}, "warfarin": GOOD})
    report = reindex(corpus, index)
    assert (report.changed, report.added, report.deleted) == (2, 0, 0)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    assert page_text(app, "baricitinib").startswith(
        "Checked against the FDA label of March 14, 2025 (")
    assert app.test_client().get("/api/drugs/warfarin").get_json()["review"]["label"] == \
        GOOD["label"]
    assert reindex(corpus, index).changed == 0  # nothing changed since


def test_a_broken_record_is_reported_in_one_line_and_loses_no_monograph(reviewed):
    corpus, index = reviewed
    (corpus / REVIEWS_FILE).write_text("baricitinib: [\n")
    result = subprocess.run([sys.executable, "-m", "search", "reindex", "--corpus",
                             str(corpus), "--index", str(index)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if REVIEWS_FILE in line]
    assert problems == [f"rejected: {corpus / REVIEWS_FILE}:2: review record is not valid YAML"]
    files = len(list(corpus.glob("*.md")))
    app = create_app({"TESTING": True, "INDEX_DIR": str(index)})
    assert app.test_client().get("/healthz").get_json()["monographs"] == files
    assert page_text(app, "baricitinib") == "Not yet checked against an FDA label."
