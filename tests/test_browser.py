"""Pages in a real browser: Debian's chromium driven by Playwright (no downloaded browser)."""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from search.whoosh.indexer import reindex
from tests.conftest import DATA, LiveServer
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def api_total(client, query: str) -> int:
    return client.get(f"/api/search?{query}").get_json()["total"]


def test_search_facet_and_result_link(page, live_server, client):
    page.goto(live_server.url + "/")
    page.fill("#q", "blood clots")
    page.press("#q", "Enter")
    page.wait_for_selector(".hit")
    summary = page.inner_text(".summary")
    assert summary.startswith(f"{api_total(client, 'q=blood+clots')} matching sections")

    page.check(".facet[data-facet=drug] input[value=warfarin]")  # JS submits at once
    page.wait_for_url(re.compile(r"drug=warfarin"))
    query = parse_qs(urlparse(page.url).query)
    assert query == {"q": ["blood clots"], "drug": ["warfarin"]}
    expected = api_total(client, "q=blood+clots&drug=warfarin")
    assert page.inner_text(".summary").startswith(f"{expected} matching section")
    # The query names no drug, so the page groups sections under their drug.
    assert page.locator(".group-title").all_inner_texts() == ["Warfarin"]

    page.locator(".hit-title").first.click()
    page.wait_for_url(re.compile(r"/drug/warfarin#"))
    anchor = urlparse(page.url).fragment
    assert page.locator(f"section#{anchor}").count() == 1


def test_facets_work_without_javascript(browser, live_server, client):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/?q=risk")
    page.check(".facet[data-facet=section] input[value=precautions]")
    page.check(".facet[data-facet=section] input[value=interactions]")
    page.click("button.apply")
    page.wait_for_url(re.compile(r"section="))
    assert parse_qs(urlparse(page.url).query)["section"] == ["precautions", "interactions"]
    expected = api_total(client, "q=risk&section=precautions&section=interactions")
    assert page.inner_text(".summary").startswith(f"{expected} matching section")
    context.close()


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("xss-browser")
    shutil.copytree(DATA / "xss", base / "corpus")
    reindex(base / "corpus", base / "index")
    app = create_app({"TESTING": True, "INDEX_DIR": str(base / "index")})
    with LiveServer(app) as server:
        yield server


@pytest.mark.parametrize("path", [
    "/drug/xss", "/?q=alertword", "/?q=xssdrug", "/?q=asthma",
    "/?q=%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
    "/?q=%22%3E%3Cimg+src%3Dx+onerror%3D%22window.__xss%3D1%22%3E",
    "/?q=alertwrd+%3Cimg+src%3Dx+onerror%3D%22window.__xss%3D1%22%3E",
    "/?q=hay+fever+%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
])
def test_payloads_never_run(page, xss_server, path):
    dialogs, violations = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(xss_server.url + path)
    page.wait_for_load_state("load")
    for link in page.locator("a").all()[:40]:
        link.hover()  # onmouseover payloads
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert page.locator("iframe, svg, object, embed").count() == 0
    # Nothing was even attempted: the payload is text, so CSP had nothing to block.
    assert violations == []


def test_search_as_you_type_fills_suggestions(page, live_server):
    page.goto(live_server.url + "/")
    page.locator("#q").press_sequentially("warf", delay=30)
    page.wait_for_selector("#suggestions option", state="attached")  # CSP forbids eval
    values = page.eval_on_selector_all("#suggestions option", "els => els.map(e => e.value)")
    assert values[0] == "Warfarin"
