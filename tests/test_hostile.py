"""Hostile corpora and requests: no file can stall, leak or crash the service.

Each test here reproduces a defect found by an adversarial run (issue 11) and fails on
the code before its fix."""

import os
import re
import time

import pytest

from search.corpus.check import check_corpus
from search.corpus.parsing import MAX_SECTIONS
from search.corpus.vocabulary import default_vocabulary
from search.whoosh.indexer import reindex
from tests.conftest import SEED, without_root
from web import create_app
from web.render import MAX_BRACKETS, Budget, render_markdown

GOOD = SEED.read_text(encoding="utf-8")


def monograph(title: str, body: str, front: str = "") -> str:
    return (f"---\ntitle: {title}\nlayout: minimal-medicine\n{front}---\n# {title}\n"
            f"### Usage\nUsed for asthma.\n### Side Effects\n{body}\n")


@pytest.fixture
def hostile(tmp_path):
    """A corpus folder, its index folder and a function that serves them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_text(GOOD)

    def client():
        app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index"),
                          "CORPUS_DIR": str(corpus)})
        return app.test_client()

    return corpus, tmp_path / "index", client


def seconds(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


# -- rendering -------------------------------------------------------------------------
@pytest.mark.parametrize("unit", ["[", "[](", "![", "[a](", "---\n", "-\n", "> ", "*a",
                                  "[\n", "- ", "1. ", ">", "a\n\n", "    - x\n"])
def test_rendering_is_linear_in_the_size_of_the_markdown(unit):
    """Against prose of the same size, timed in the same process (20,000 "[" took 30 s)."""
    size = 200_000
    hostile = unit * (size // len(unit))
    prose = ("Take one tablet a day with food.\n\n" * (size // 34))[:size]
    reference = min(seconds(render_markdown, prose) for _ in range(3))
    assert seconds(render_markdown, hostile) < 10 * reference + 0.05


def test_too_many_brackets_are_shown_as_text():
    html = str(render_markdown("[a](https://example.org) " + "[" * (MAX_BRACKETS + 1)))
    assert "<a " not in html and "[a](https://example.org)" in html


def test_a_page_spends_a_bounded_budget_then_shows_plain_text():
    budget = Budget()
    pages = [str(render_markdown("***\n\n" * 100, budget)) for _ in range(200)]
    assert "<hr" in pages[0]  # markdown while the budget lasts
    assert 'class="plain"' in pages[-1] and "<hr" not in pages[-1]


def test_the_budget_is_also_a_deadline():
    """The estimate is a fit: a fragment that takes longer than estimated is cut when
    the page's CPU time runs out, and the rest of the page is plain text."""
    budget = Budget()
    budget.deadline = time.thread_time()  # as if the page had spent its time
    first = str(render_markdown("*a*\n\n# h", budget))
    assert 'class="plain"' in first and "<em>" not in first and budget.left == 0
    assert 'class="plain"' in str(render_markdown("*b*", budget))
    assert "<em>" in str(render_markdown("*c*", Budget()))


def test_deeply_nested_lists_render():
    nested = "\n".join("    " * depth + "- item" for depth in range(600))
    html = str(render_markdown(nested))
    assert html.count("<ul>") <= 8 and html.count("item") == 600


@pytest.mark.parametrize("line", ["- " * 5000 + "x", "1. " * 5000 + "x", ">" * 20_000 + "x",
                                  "> - " * 3000 + "x"])
def test_markers_nested_on_one_line_render(line):
    """python-markdown parses each level by recursion (RecursionError past ~250)."""
    html = str(render_markdown(line))
    assert html.count("<ul>") + html.count("<ol>") + html.count("<blockquote>") <= 40
    assert "x" in html


@pytest.mark.parametrize("payload", [
    "[a](java&#x09;script:alert(1))", "[a](&#106;avascript:alert(1))",
    "[a](javascript&colon;alert(1))", "[a](javascript&#58;alert(1))",
    "[a](&Tab;javascript:alert(1))", "[a](java&NewLine;script:alert(1))",
    "[a][ref]\n\n[ref]: javascript:alert(1)", "[a](data&colon;text/html,x)",
    "[a](JAVASCRIPT:alert(1))", "![i](javascript:alert(1))", "[a](vbscript:x)",
    "<a href='javascript:alert(1)'>a</a>",
])
def test_no_link_survives_but_http_https_mailto_and_in_site(payload):
    html = str(render_markdown(payload))
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert all(h.startswith(("http://", "https://", "mailto:", "/", "#")) for h in hrefs), \
        (payload, html)
    assert "javascript" not in " ".join(hrefs).lower() and "<a href='" not in html


def test_safe_links_stay():
    html = str(render_markdown("[l](https://dailymed.nlm.nih.gov) [u](#usage) "
                               "[d](/drug/x) [m](mailto:a@example.org)"))
    for href in ("https://dailymed.nlm.nih.gov", "#usage", "/drug/x", "mailto:a@example.org"):
        assert f'href="{href}"' in html


def test_hostile_pages_are_served(hostile):
    corpus, index, client = hostile
    (corpus / "brackets.md").write_text(monograph("Brackets", "[" * 200_000))
    (corpus / "rules.md").write_text(monograph("Rules", "---\n" * 100_000))
    (corpus / "nested.md").write_text(
        monograph("Nested", "\n".join("    " * d + "- x" for d in range(600))))
    assert reindex(corpus, index).errors == []
    web = client()
    for slug in ("brackets", "rules", "nested"):
        response = web.get(f"/drug/{slug}")
        assert response.status_code == 200, slug
    assert web.get("/healthz").status_code == 200


def test_a_monograph_of_too_many_sections_is_reported(hostile):
    """75,000 one-line sections took 55 s to index and 4 s to show."""
    corpus, index, client = hostile
    parts = [f"### Part {n}\nx\n" for n in range(MAX_SECTIONS)]  # and two in monograph()
    (corpus / "many.md").write_text(monograph("Many", "x\n" + "".join(parts)))
    (corpus / "most.md").write_text(monograph("Most", "x\n" + "".join(parts[2:])))
    errors = reindex(corpus, index).errors
    assert [(e.path.endswith("many.md"), str(MAX_SECTIONS) in e.reason) for e in errors] == \
        [(True, True)]
    web = client()
    assert web.get("/drug/many").status_code == 404
    assert web.get("/drug/most").status_code == 200


# -- the corpus walk ---------------------------------------------------------------------
def test_a_fifo_is_rejected_without_blocking(hostile):
    corpus, index, _ = hostile
    os.mkfifo(corpus / "pipe.md")
    report = reindex(corpus, index)
    assert [str(e) for e in report.errors] == [
        f"{corpus}/pipe.md: is a FIFO, not a regular file (not read)"]
    assert report.monographs == 1
    findings = [str(f) for f in check_corpus(corpus, default_vocabulary()).findings]
    assert f"{corpus}/pipe.md: error: is a FIFO, not a regular file (not read)" in findings


def test_links_to_devices_and_outside_files_are_rejected(hostile, tmp_path):
    corpus, index, client = hostile
    secret = tmp_path / "secret.md"
    secret.write_text(monograph("Leak", "secret words qqzzsecret"))
    (corpus / "leak.md").symlink_to(secret)
    (corpus / "zero.md").symlink_to("/dev/zero")
    (corpus / "inside.md").symlink_to(corpus / SEED.name)  # inside: fine, other slug
    report = reindex(corpus, index)
    assert sorted(str(e) for e in report.errors) == [
        f"{corpus}/leak.md: is a link to a file outside the corpus folder (not read)",
        f"{corpus}/zero.md: is a link to a file outside the corpus folder (not read)",
    ]
    web = client()
    assert web.get("/drug/leak").status_code == 404
    assert web.get("/api/search?q=qqzzsecret").get_json()["total"] == 0
    assert web.get("/drug/inside").status_code == 200


def test_a_device_inside_the_corpus_is_rejected(hostile):
    corpus, index, _ = hostile
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    os.symlink("/dev/zero", corpus / "zero.md")
    report = reindex(corpus, index, )
    assert len(report.errors) == 1 and "zero.md" in str(report.errors[0])


def test_the_hash_recorded_is_of_the_bytes_indexed(hostile, monkeypatch):
    """A file rewritten between the scan and the parse: the next reindex indexes it."""
    corpus, index, client = hostile
    target = corpus / "changing.md"
    target.write_text(monograph("Changing", "first version qqzzfirst"))
    from search.corpus import files, parsing

    def rewrite_then_read(file, *args, **kwargs):
        if file.name == "changing.md":
            target.write_text(monograph("Changing", "second version qqzzsecond"))
        return files.read_file(file, *args, **kwargs)

    monkeypatch.setattr(parsing, "read_file", rewrite_then_read)
    reindex(corpus, index)
    monkeypatch.undo()
    web = client()
    assert web.get("/api/search?q=qqzzsecond").get_json()["total"] == 1
    reindex(corpus, index)  # the scan now agrees with what was indexed: nothing changes
    assert web.get("/api/search?q=qqzzsecond").get_json()["total"] == 1


def test_control_characters_in_file_names_are_escaped(hostile):
    corpus, index, _ = hostile
    (corpus / "bad\nname\x1b[31m.md").write_text("")
    report = reindex(corpus, index)
    assert [str(e) for e in report.errors] == [
        f"{corpus}/bad\\x0aname\\x1b[31m.md: file name 'bad\\nname\\x1b[31m' is not a "
        "valid slug (use letters, digits, '.', '-' or '_')"]


def test_an_unreadable_folder_is_reported(open_tmp):
    corpus, index = open_tmp / "corpus", open_tmp / "index"
    corpus.mkdir()
    (corpus / SEED.name).write_text(GOOD)
    locked = corpus / "locked"
    locked.mkdir()
    (locked / "x.md").write_text(GOOD)
    locked.chmod(0)
    reindex(corpus, index)  # as root: loads what the reindex reads besides the corpus
    try:
        with without_root():
            report = reindex(corpus, open_tmp / "index-as-nobody")
    finally:
        locked.chmod(0o755)
    assert [str(e) for e in report.errors] == [
        f"{locked}: cannot read folder (Permission denied)"]
    assert report.monographs == 1


def test_an_indication_of_punctuation_names_nothing(hostile):
    corpus, index, client = hostile
    (corpus / "dots.md").write_text(monograph("Dots", "x", front="indications: ['...']\n"))
    reindex(corpus, index)
    page = client().get("/drug/dots").get_data(as_text=True)
    assert "indication=" not in page
    findings = [str(f) for f in check_corpus(corpus, default_vocabulary()).findings]
    assert f"{corpus}/dots.md:1: warning: front matter indication '...' has no letters " \
           "or digits (ignored)" in findings


# -- requests --------------------------------------------------------------------------
@pytest.mark.parametrize("limit", ["%C2%B2", "%E2%91%A0", "9" * 5000, "-1", "1.5", "٣"])
def test_odd_suggest_limits_are_400(hostile, limit):
    corpus, index, client = hostile
    reindex(corpus, index)
    response = client().get(f"/api/suggest?q=ba&limit={limit}")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == \
        "bad_parameter"


def test_long_paths_are_414_and_not_echoed(hostile):
    corpus, index, client = hostile
    reindex(corpus, index)
    web = client()
    assert web.get("/drug/" + "a" * 20_000).status_code == 414
    response = web.get("/api/drugs/" + "a" * 500)
    assert response.status_code == 404 and "aaaa" not in response.get_data(as_text=True)


def test_redirects_never_name_the_request_s_host(hostile):
    corpus, index, client = hostile
    reindex(corpus, index)
    response = client().get("/drug//baricitinib", headers={"Host": "evil.example"})
    assert response.status_code in (301, 302, 308, 404)
    assert "evil.example" not in response.headers.get("Location", "")


def test_a_long_query_does_not_make_a_huge_page(hostile):
    corpus, index, client = hostile
    for n in range(30):
        (corpus / f"d{n}.md").write_text(monograph(f"D{n}", f"word{n} common"))
    reindex(corpus, index)
    q = "ü" * 250 + " common"
    page = client().get("/", query_string={"q": q})
    assert page.status_code == 200 and len(page.data) < 200_000
