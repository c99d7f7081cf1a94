"""Pages in a real browser: Debian's chromium driven by Playwright (no downloaded browser)."""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from search.whoosh.indexer import reindex
from tests.conftest import DATA, ROOT, LiveServer
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
    for link in page.locator("a:visible:not(.skip-link)").all()[:40]:
        link.hover()  # onmouseover payloads
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert page.locator("iframe, svg, object, embed").count() == 0
    # Nothing was even attempted: the payload is text, so CSP had nothing to block.
    assert violations == []


def test_keyboard_only_journey_from_a_misspelt_brand_to_the_drug_page(page, live_server):
    """Type a misspelt brand, move to its suggestion with the arrow keys, press Enter:
    the drug's page. The combobox follows the WAI-ARIA 1.2 pattern on the way."""
    page.goto(live_server.url + "/")
    box = page.locator("#q")
    assert page.evaluate("document.activeElement.id") == "q"  # focus starts in the box
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    page.keyboard.type("coumdin", delay=25)  # Coumadin, a brand of warfarin, misspelt
    page.wait_for_selector("#q-suggestions [role=option]")
    assert box.get_attribute("aria-expanded") == "true"
    options = page.locator("#q-suggestions [role=option]")
    assert "Coumadin → Warfarin" in options.first.inner_text()
    assert "Brand" in options.first.inner_text()
    page.keyboard.press("ArrowDown")
    first_id = options.first.get_attribute("id")
    assert box.get_attribute("aria-activedescendant") == first_id
    assert options.first.get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "q"  # focus stays in the box
    page.keyboard.press("Escape")  # closes the list, keeps the text
    assert box.get_attribute("aria-expanded") == "false"
    assert page.locator("#q-suggestions").is_hidden()
    page.keyboard.type(" ")
    page.keyboard.press("Backspace")
    page.wait_for_selector("#q-suggestions [role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/drug/warfarin$"))
    assert page.locator("h1").inner_text() == "Warfarin"


def test_choosing_a_condition_applies_its_facet(page, live_server, client):
    page.goto(live_server.url + "/")
    page.keyboard.type("rheumatoid", delay=20)
    page.wait_for_selector("#q-suggestions [role=option][data-kind=condition]")
    kinds = page.eval_on_selector_all("#q-suggestions [role=option]",
                                      "els => els.map(e => e.dataset.kind)")
    for _ in range(kinds.index("condition") + 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"indication="))
    value = parse_qs(urlparse(page.url).query)["indication"][0]
    assert page.locator(f".facet[data-facet=indication] input[value='{value}']").is_checked()
    assert page.inner_text(".summary").startswith(f"{api_total(client, f'indication={value}')} ")


def test_stale_suggestions_are_dropped(page, live_server):
    """An answer for an earlier text never replaces the answer for the current one: the
    answer for "at" is held back until "warf" has been answered, then let through."""
    page.goto(live_server.url + "/")
    held = []
    page.route(re.compile(r"/api/suggest\?.*q=at(&|$)"), lambda route: held.append(route))
    with page.expect_request(re.compile(r"/api/suggest\?.*q=at(&|$)")):
        page.keyboard.type("at")  # Atorvastatin
    page.keyboard.press("Control+a")
    page.keyboard.type("warf")
    page.wait_for_selector("#q-suggestions [role=option]")
    assert len(held) == 1
    try:
        held[0].continue_()  # the page may have cancelled it already (AbortController)
    except sync_api.Error:
        pass
    page.wait_for_load_state("networkidle")
    page.evaluate("() => new Promise((done) => setTimeout(done, 0))")  # its handler ran
    labels = page.locator("#q-suggestions [role=option] .label").all_inner_texts()
    assert labels == ["Warfarin"], labels


def test_two_indications_ticked_count_as_the_api_does(page, live_server, client):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/?q=dose")
    values = page.eval_on_selector_all(".facet[data-facet=indication] input",
                                       "els => els.map(e => e.value)")[:2]
    assert len(values) == 2
    for value in values:
        page.check(f".facet[data-facet=indication] input[value='{value}']")  # JS submits
        page.wait_for_url(re.compile(f"indication={value}"))
    query = "q=dose&" + "&".join(f"indication={v}" for v in values)
    body = client.get(f"/api/search?{query}").get_json()
    assert page.inner_text(".summary").startswith(f"{body['total']} matching section")
    for facet in ("drug", "indication", "section"):
        shown = dict(zip(
            page.eval_on_selector_all(f".facet[data-facet={facet}] input",
                                      "els => els.map(e => e.value)"),
            page.locator(f".facet[data-facet={facet}] .count").all_text_contents(),
            strict=True))
        assert shown == {b["value"]: str(b["count"]) for b in body["facets"][facet]}, facet
    assert "(2 selected)" in page.locator("#filters > summary").inner_text()


@pytest.mark.parametrize("width", [360, 640])  # a phone, and 1280 px at 200 % zoom
def test_phone_layout_results_first_and_filters_behind_a_disclosure(browser, live_server,
                                                                     width):
    context = browser.new_context(viewport={"width": width, "height": 740})
    page = context.new_page()
    page.goto(live_server.url + "/?q=warfarin&indication=atrial-fibrillation")
    first = page.locator(".hits > li").first.bounding_box()
    assert first["y"] + 40 < 740  # the first result is above the fold
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways
    summary = page.locator("#filters > summary")
    assert summary.is_visible() and "Filters (1 selected)" in summary.inner_text()
    assert page.locator(".facet").first.is_hidden()
    summary.click()
    assert page.locator(".facet").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def test_facet_targets_are_at_least_24_px(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/?q=dose")
    boxes = page.locator(".facet .bucket input:visible").all()
    assert boxes
    for box in boxes:
        size = box.bounding_box()
        assert size["width"] >= 24 and size["height"] >= 24, size


def test_the_search_page_works_without_javascript(browser, live_server, client):
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.locator("#q").get_attribute("role") is None  # a plain search box
    page.fill("#q", "coumadin")
    page.press("#q", "Enter")
    # The form's navigation is done when the new page has loaded with its stylesheet
    # (a CI run once looked between the results and the style).
    page.wait_for_url(re.compile(r"q=coumadin"), wait_until="load")
    page.wait_for_selector(".hit")
    sync_api.expect(page.locator(".facet").first).to_be_visible()  # shown without JS
    assert page.locator("#filters-hint").is_hidden()  # boxes wait for "Apply filters"
    more = page.locator(".facet .more-values > summary")
    if more.count():
        more.first.click()  # "Show all" is a <details>: no script needed
    page.check(".facet[data-facet=section] input[value=dosage]")
    page.click("button.apply")
    page.wait_for_url(re.compile(r"section=dosage"))
    assert page.inner_text(".summary").startswith(
        f"{api_total(client, 'q=coumadin&section=dosage')} matching section")
    context.close()


# -- WCAG 2.2 AA, audited by axe-core (npm, installed by scripts/install-axe) ------------
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa",
            "best-practice"]


@pytest.fixture(scope="module")
def corpus_server(corpus_backend):
    """The app over the bundled corpus (64 monographs: long facet lists)."""
    app = create_app({"TESTING": True, "INDEX_DIR": str(corpus_backend.index_dir)})
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def audited(browser):
    """A page that may run axe: the test injects it, which the site's CSP would refuse."""
    if not AXE.exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI must install axe-core (scripts/install-axe)")
        pytest.skip("axe-core is not installed (scripts/install-axe)")
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                          ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
                          " nodes: v.nodes.length, target: v.nodes[0].target})))", AXE_TAGS)
    return found


@pytest.mark.parametrize("path, search_page", [
    ("/", True),
    ("/?q=warfarin+dose", True),
    ("/?q=pain&indication=rheumatoid-arthritis&indication=osteoarthritis&section=dosage", True),
    ("/?q=qqqzzzx", True),
    ("/drug/warfarin", False),
])
@pytest.mark.parametrize("width", [1280, 360])
def test_axe_finds_no_serious_violation(audited, corpus_server, path, search_page, width):
    page = audited.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(corpus_server.url + path)
    found = axe_violations(page)
    blocking = {"serious", "critical"} | ({"moderate"} if search_page else set())
    assert [v for v in found if v["impact"] in blocking] == [], found
    assert page.locator("h1").count() == 1
    page.close()


def test_axe_is_able_to_find_violations(audited, corpus_server):
    """The audit is no formality: a page broken on purpose fails it."""
    page = audited.new_page()
    page.goto(corpus_server.url + "/?q=dose")
    page.evaluate("""() => {
        document.querySelector('h1').remove();
        document.querySelector('.facet input').style.width = '10px';
        document.querySelector('.facet input').style.height = '10px';
        document.querySelector('label[for=q]').remove();
        document.querySelector('#q').removeAttribute('placeholder');
    }""")
    ids = {v["id"] for v in axe_violations(page)}
    assert {"page-has-heading-one", "label"} <= ids, ids
    page.close()


@pytest.mark.parametrize("hidden_value", [False, True])  # one of the first 8, or behind "Show all"
def test_a_facet_ticked_from_the_keyboard_keeps_the_focus(page, corpus_server, hidden_value):
    """Ticking a box applies it at once (the hint says so beforehand, WCAG 3.2.2), and
    the new page gives the focus back to that box, not to the search box."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(corpus_server.url + "/?q=dose")
    hint = page.locator("#filters-hint")
    assert hint.is_visible() and "tick" in hint.inner_text()
    assert page.locator(".facets").get_attribute("aria-describedby") == "filters-hint"
    drug = ".facet[data-facet=drug]"
    if hidden_value:
        page.locator(f"{drug} .more-values > summary").press("Enter")
    box = page.locator(f"{drug} .more-values input" if hidden_value
                       else f"{drug} > .bucket input").last
    value = box.get_attribute("value")
    box.focus()
    box.press("Space")
    page.wait_for_url(re.compile(f"drug={value}"), wait_until="load")
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value,"
                            " document.activeElement.checked]")
    assert focused == ["drug", value, True]
    total = page.request.get(f"{corpus_server.url}/api/search?q=dose&drug={value}").json()
    assert page.inner_text(".summary").startswith(f"{total['total']} matching section")
    page.reload()  # kept for one page load only: then autofocus is the box's again
    assert page.evaluate("document.activeElement.id") == "q"


def test_keyboard_focus_is_visible_and_the_skip_link_leads_to_the_results(page,
                                                                          corpus_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(corpus_server.url + "/?q=warfarin")
    assert page.evaluate("document.activeElement.id") == "q"  # autofocus
    page.keyboard.press("Shift+Tab")  # the site's name
    page.keyboard.press("Shift+Tab")  # the skip link, first on the page
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.is_visible() and skip.bounding_box()["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results"
