"""The Flask app through its test client: JSON contract, pages, errors, escaping."""

import re
import shutil

import pytest

from search import DISCLAIMER
from search.request import SearchRequest
from search.whoosh.indexer import reindex
from tests.conftest import DATA
from tests.markup import injected_markup
from web import SECURITY_HEADERS, create_app

TOP_KEYS = ["query", "corrected", "total", "page", "per_page", "took_ms", "results", "facets",
            "interpretation", "relaxed", "group", "total_groups", "listed", "more",
            "suggestions", "disclaimer", "generation"]


def test_search_json_contract(client, backend):
    response = client.get("/api/search?q=covid+dose&indication=covid-19&section=dosage"
                          "&section=usage&per_page=5")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert list(body) == TOP_KEYS
    assert body["disclaimer"] == DISCLAIMER
    assert list(body["facets"]) == ["drug", "indication", "section", "class"]
    for buckets in body["facets"].values():
        for bucket in buckets:
            assert list(bucket) == ["value", "label", "count", "selected"]
    assert (body["query"], body["page"], body["per_page"]) == ("covid dose", 1, 5)
    assert body["results"][0]["id"] == "baricitinib#dosage"
    assert list(body["results"][0]) == ["id", "drug", "drug_name", "section", "heading",
                                        "indications", "score", "snippet", "url"]
    assert {b["value"] for b in body["facets"]["section"] if b["selected"]} == {"dosage", "usage"}
    expected = backend.search(SearchRequest(q="covid dose", indication=("covid-19",),
                                            section=("dosage", "usage"), per_page=5))
    assert {**body, "took_ms": 0} == {**expected, "took_ms": 0}
    assert response.headers["X-Index-Generation"] == body["generation"]


def test_q_of_exactly_500_characters_is_accepted(client):
    assert client.get("/api/search?q=" + "a" * 500).status_code == 200


@pytest.mark.parametrize("method, path, status", [
    ("get", "/api/nothing", 404), ("get", "/api/drugs/no-such-drug", 404),
    ("get", "/api/drugs/..%2F..%2Fetc%2Fpasswd", 404), ("post", "/api/search", 405),
    ("delete", "/api/drugs/warfarin", 405),
])
def test_api_errors_are_json(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status and response.is_json
    assert set(response.get_json()) == {"error", "disclaimer"}


@pytest.mark.parametrize("path", ["/drug/no-such-drug", "/drug/..%2F..%2Fetc%2Fpasswd",
                                  "/drug/.hidden", "/drug/%2Fetc%2Fpasswd", "/nothing",
                                  "/drug/baricitinib.md/../../pyproject.toml"])
def test_unknown_pages_are_404_html(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "root:" not in response.get_data(as_text=True)


def test_no_index_gives_503_everywhere(tmp_path):
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    for path in ["/api/search?q=x", "/healthz", "/api/drugs/warfarin"]:
        response = client.get(path)
        assert response.status_code == 503 and response.is_json
        assert response.get_json()["error"]["code"] == "index_unavailable"
    for path in ["/", "/drug/warfarin"]:
        assert client.get(path).status_code == 503


def test_damaged_index_gives_503(tmp_path, corpus_dir):
    index = tmp_path / "index"
    report = reindex(corpus_dir, index)
    for item in (index / report.generation).iterdir():
        if item.suffix in (".toc", ".seg"):
            item.write_bytes(b"garbage")
    client = create_app({"TESTING": True, "INDEX_DIR": str(index)}).test_client()
    response = client.get("/api/search?q=dose")
    assert response.status_code == 503 and response.is_json


def test_healthz_reports_generation_and_documents(client, backend):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["generation"] == backend.health()["generation"]
    assert body["documents"] == backend.search(SearchRequest())["total"]


def test_drug_api_returns_the_parsed_monograph(client):
    body = client.get("/api/drugs/warfarin").get_json()
    assert body["title"] == "Warfarin"
    assert [s["type"] for s in body["sections"]] == [
        "generic-name", "usage", "dosage", "side-effects", "mechanism", "precautions",
        "interactions", "faqs", "other"]
    assert body["sections"][8]["heading"] == "Storage"
    assert {"value": "atrial-fibrillation", "label": "Atrial fibrillation"} in body["indications"]
    assert body["disclaimer"] == DISCLAIMER


def test_search_page_shows_results_facets_paging_and_disclaimer(client):
    html = client.get("/?q=risk&per_page=2&drug=warfarin&drug=ibuprofen&group=none"
                      ).get_data(as_text=True)
    assert 'value="risk"' in html
    assert 'href="/drug/' in html and "<mark>" in html
    assert 'name="drug" value="warfarin"' in html and "checked" in html
    next_page = ("/?q=risk&amp;drug=warfarin&amp;drug=ibuprofen&amp;per_page=2&amp;group=none"
                 "&amp;page=2")
    assert f'rel="next" href="{next_page}"' in html
    assert DISCLAIMER in html
    assert "Did you mean" in client.get("/?q=warfarin+bleding").get_data(as_text=True)
    understood = client.get("/?q=metfromin").get_data(as_text=True)
    assert "<strong>metformin</strong> (corrected from metfromin)" in understood
    assert 'href="/?q=metfromin&amp;literal=1"' in understood


def test_drug_page_renders_sections_with_anchors(client):
    html = client.get("/drug/baricitinib").get_data(as_text=True)
    for anchor in ["generic-name", "usage", "dosage", "side-effects", "how-it-works",
                   "precautions", "faqs"]:
        assert f'<section id="{anchor}"' in html
    assert "<strong>Rheumatoid Arthritis (RA):</strong>" in html
    assert DISCLAIMER in html and "should not be considered medical advice" in html


@pytest.mark.parametrize("path", ["/", "/?q=dose", "/drug/warfarin", "/api/search?q=x",
                                  "/api/nothing", "/healthz"])
def test_security_headers(client, path):
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


@pytest.fixture(scope="module")
def xss_client(tmp_path_factory):
    base = tmp_path_factory.mktemp("xss")
    corpus = base / "corpus"
    shutil.copytree(DATA / "xss", corpus)
    report = reindex(corpus, base / "index")
    assert report.errors == []
    return create_app({"TESTING": True, "INDEX_DIR": str(base / "index")}).test_client()


@pytest.mark.parametrize("path", [
    "/drug/xss", "/?q=alertword", "/?q=asthma", "/?q=window", "/?q=xssdrug",
    "/?q=%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
    "/?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    "/?q=alertwor&indication=%3Csvg+onload%3Dalert(1)%3E",
    "/?drug=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    "/?q=alertwrd+%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",  # in the did-you-mean text
    "/?q=Xssdrug+%3Cscript%3Ealert(1)%3C%2Fscript%3E+asthma",  # in the interpretation
    "/?drug_class=%3Cb+onmouseover%3Dalert(1)%3Eclass%3C%2Fb%3E",
])
def test_no_injected_markup_in_pages(xss_client, path):
    response = xss_client.get(path)
    assert response.status_code == 200
    assert injected_markup(response.get_data(as_text=True)) == []


def test_no_injected_markup_in_json_snippets(xss_client):
    for q in ["alertword", "window", "script", "xssdrug", "iframe", "onclick"]:
        body = xss_client.get(f"/api/search?q={q}&per_page=100").get_json()
        for hit in body["results"]:
            assert injected_markup(hit["snippet"]) == []
            assert hit["snippet"].replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert xss_client.get("/api/search?q=alertword").get_json()["total"] == 3


def test_markup_checker_finds_the_raw_payloads():
    raw = (DATA / "xss" / "xss.md").read_text()
    problems = " ".join(injected_markup(raw))
    for expected in ["<script", "onerror", "<iframe>", "onclick", "javascript:", "<style>",
                     "<svg>", "onmouseover"]:
        assert expected in problems


def test_did_you_mean_and_interpretation_escape_the_query(xss_client):
    html = xss_client.get("/?q=alertwrd+%3Cimg+src%3Dx+onerror%3Dalert(1)%3E"
                          ).get_data(as_text=True)
    assert "Did you mean" in html and "alertword &lt;img src=x onerror=alert(1)&gt;" in html
    body = xss_client.get("/api/search?q=alertwrd+%3Cimg+src%3Dx+onerror%3Dalert(1)%3E"
                          ).get_json()
    assert body["corrected"] == "alertword <img src=x onerror=alert(1)>"  # data, not HTML
    html = xss_client.get("/?q=hay+fever+%3Cimg+src%3Dx+onerror%3Dalert(1)%3E"
                          ).get_data(as_text=True)
    assert "Showing results for" in html and injected_markup(html) == []


def test_payloads_are_shown_as_text(xss_client):
    html = xss_client.get("/drug/xss").get_data(as_text=True)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;div onclick=" in html
    search_html = xss_client.get("/?q=alertword").get_data(as_text=True)
    assert "&lt;script&gt;" in search_html


# -- browser integration: OpenSearch ---------------------------------------------------------
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def test_opensearch_description_is_linked_from_every_page(client):
    import xml.etree.ElementTree as ElementTree

    for path in ("/", "/?q=dose", "/drug/warfarin", "/no-such-page"):
        page = client.get(path).get_data(as_text=True)
        assert ('<link rel="search" type="application/opensearchdescription+xml" '
                'title="Monograph Search"') in page, path
    response = client.get("/opensearch.xml", base_url="http://search.example.org")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ElementTree.fromstring(response.data)
    assert root.find(f"{OPENSEARCH}ShortName").text == "Monograph Search"
    templates = {url.get("type"): url.get("template") for url in root.iter(f"{OPENSEARCH}Url")}
    assert templates["text/html"] == "http://search.example.org/?q={searchTerms}"
    assert templates["application/x-suggestions+json"] == \
        "http://search.example.org/api/suggest?format=opensearch&q={searchTerms}"


def test_opensearch_uses_the_public_url_and_escapes_the_host(built):
    import xml.etree.ElementTree as ElementTree

    app = create_app({"TESTING": True, "INDEX_DIR": str(built[1]),
                      "PUBLIC_URL": "https://drugs.example.org/search/"})
    xml = app.test_client().get("/opensearch.xml").data
    root = ElementTree.fromstring(xml)
    assert root.find(f"{OPENSEARCH}Url").get("template") == \
        "https://drugs.example.org/search/?q={searchTerms}"
    plain = create_app({"TESTING": True, "INDEX_DIR": str(built[1])}).test_client()
    hostile = plain.get("/opensearch.xml", headers={"Host": 'x.org"><a'}).data
    assert b'"><a' not in hostile


def test_suggestions_in_the_opensearch_format(client):
    body = client.get("/api/suggest?q=war&limit=5").get_json()
    response = client.get("/api/suggest?q=war&limit=5&format=opensearch",
                          base_url="http://search.example.org")
    assert response.status_code == 200
    assert response.mimetype == "application/x-suggestions+json"
    query, completions, descriptions, urls = response.get_json()
    assert query == "war"
    assert completions == [item["query"] for item in body["suggestions"]] and completions
    assert len(descriptions) == len(urls) == len(completions)
    assert urls[completions.index("Warfarin")] == "http://search.example.org/drug/warfarin"


def test_an_unknown_suggestion_format_is_400(client):
    response = client.get("/api/suggest?q=war&format=xml")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "format must be json or opensearch"


def test_a_combinations_repeated_sections_are_told_apart(tmp_path):
    """A combination repeating its headings per ingredient: each result line says which
    part it belongs to, so no two lines of a page read the same."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "formats" / "repeated-parts.md", corpus)
    assert reindex(corpus, tmp_path / "index").errors == []
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")})
    page = app.test_client().get("/?q=usage&group=none").get_data(as_text=True)
    lines = re.findall(r'class="hit-title"[^>]*>(.*?)</a>', page, re.S)
    assert len(lines) >= 2 and len(set(lines)) == len(lines), lines
    assert any("(Alphadol)" in line for line in lines)
