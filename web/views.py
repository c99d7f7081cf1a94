"""Routes: "/" and "/drug/<slug>" (HTML), "/api/..." (JSON), sharing one search helper."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

from search import DISCLAIMER
from search.errors import BadRequest, EngineUnavailable, IndexNotBuilt
from search.request import SearchRequest, SuggestRequest
from search.response import SECTION_TYPES, section_label
from web.openapi import openapi_document
from web.render import Budget, render_markdown

log = logging.getLogger(__name__)
blueprint = Blueprint("monosearch", __name__)

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
FACET_TITLES = {"drug": "Drug", "indication": "Indication", "section": "Section",
                "class": "Drug class"}
FACET_PARAMS = {"drug": "drug", "indication": "indication", "section": "section",
                "class": "drug_class"}  # facet name -> query-string parameter
PAGE_LINKS = 9  # page numbers shown around the current page
TOP_VALUES = 8  # facet values shown before "Show all" (selected ones always shown)
MAX_FACET_LINK_CHARS = 1000  # a longer facet toggle is a checkbox without a link
# What a 503 says when no index is loaded: the API, /healthz, the HTML pages.
API_UNAVAILABLE = "the search index is not available yet"
HEALTH_UNAVAILABLE = "no index is loaded"
PAGE_UNAVAILABLE = "The search index is not available yet."
ENGINE_UNAVAILABLE = ("the search engine cannot answer now (no Typesense node reachable, or "
                      "the cluster has lost its quorum); try again shortly")
JSON_PATHS = ("/healthz", "/openapi.json")  # JSON outside /api/
SUGGEST_FORMATS = ("json", "opensearch")
SUGGESTION_KINDS = {"drug": "Drug", "brand": "Brand", "condition": "Condition",
                    "class": "Drug class"}


def _backend():
    return current_app.extensions["monosearch"]


def run_search(args, default_group: str = "none") -> dict:
    """Validate query-string args and search; raises BadRequest or IndexNotBuilt (the
    error handlers below answer 400 and 503)."""
    search_request = SearchRequest.from_params(args.get, args.getlist, default_group)
    return _backend().search(search_request)


def _error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}, "disclaimer": DISCLAIMER}


def api_error(status: int, code: str, message: str):
    return jsonify(_error_body(code, message)), status


# -- JSON API --------------------------------------------------------------------------
@blueprint.get("/api/search")
def api_search():
    body = run_search(request.args)
    response = jsonify(body)
    response.headers["X-Index-Generation"] = body["generation"]
    return response


@blueprint.get("/api/suggest")
def api_suggest():
    suggest_request = SuggestRequest.from_params(request.args.get)
    answer = request.args.get("format", "json")
    if answer not in SUGGEST_FORMATS:
        raise BadRequest("format must be json or opensearch")
    body = _backend().suggest(suggest_request.q, suggest_request.limit)
    if answer == "opensearch":
        return current_app.response_class(
            json.dumps(_opensearch_suggestions(body)),
            mimetype="application/x-suggestions+json")
    return jsonify(body)


@blueprint.get("/opensearch.xml")
def opensearch_description():
    """OpenSearch 1.1 description, so a browser can add the site as a search engine."""
    xml = render_template("opensearch.xml", root=_public_root())
    return current_app.response_class(xml, mimetype="application/opensearchdescription+xml")


def _public_root() -> str:
    """The site's absolute address for OpenSearch (which needs absolute URLs):
    MONOSEARCH_PUBLIC_URL when set, as a deployment behind a proxy should; otherwise
    the address this request came to."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def _opensearch_suggestions(body: dict) -> list:
    """The OpenSearch suggestions format: [query, completions, descriptions, URLs]."""
    root = _public_root()
    items = body["suggestions"]
    return [body["query"], [item["query"] for item in items],
            [f"{SUGGESTION_KINDS[item['kind']]}: {item['label']}" for item in items],
            [root + _suggestion_target(item) for item in items]]


def _suggestion_target(item: dict) -> str:
    """Where choosing a suggestion leads: a drug's page, or the facet it names."""
    if item["kind"] in ("drug", "brand"):
        return url_for("monosearch.drug_page", slug=item["value"])
    param = "indication" if item["kind"] == "condition" else "drug_class"
    return url_for("monosearch.search_page", **{param: item["value"]})


@blueprint.get("/api/drugs/<slug>")
def api_drug(slug: str):
    monograph = _backend().monograph(slug) if SLUG_RE.match(slug) else None
    if monograph is None:
        named = f" named {slug!r}" if SLUG_RE.match(slug) else ""  # never echo junk
        return api_error(404, "not_found", f"no monograph{named}")
    return jsonify(monograph)


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@blueprint.get("/healthz")
def healthz():
    return jsonify({**_backend().health(), "disclaimer": DISCLAIMER})


# -- HTML ------------------------------------------------------------------------------
def search_state(args) -> dict:
    """The search form as the reader sent it (raw strings; lists for the filters)."""
    return {
        "q": args.get("q", ""),
        "drug": args.getlist("drug"),
        "indication": args.getlist("indication"),
        "section": args.getlist("section"),
        "drug_class": args.getlist("drug_class"),
        "per_page": args.get("per_page", ""),
        "group": args.get("group", ""),
        "literal": args.get("literal", ""),
    }


@blueprint.get("/")
def search_page():
    state = search_state(request.args)
    body = run_search(request.args, default_group="auto")
    return render_template("search.html", state=state, body=body, error=None,
                           facets=_facet_view(body, state), pages=_pages(body, state),
                           selected_count=sum(b["selected"] for buckets in
                                              body["facets"].values() for b in buckets),
                           titles=FACET_TITLES, params=FACET_PARAMS,
                           section_labels={k: v[0] for k, v in SECTION_TYPES.items()},
                           literal_url=search_url(state, literal="1", page=1),
                           understood_url=search_url(state, literal="", page=1),
                           more=_more_links(body, state))


def _more_links(body: dict, state: dict) -> dict[int, dict]:
    """Result position -> "N more from <drug>" after the last section a drug shows on
    the page, for drugs whose other sections the flat list leaves out."""
    if body["group"] == "drug" or not body["more"]:
        return {}
    last = {hit["drug"]: n for n, hit in enumerate(body["results"])}
    return {n: {"count": body["more"][slug], "drug_name": body["results"][n]["drug_name"],
                "url": search_url(state, page=1, drug=[slug])}
            for slug, n in last.items() if slug in body["more"]}


@blueprint.get("/drug/<slug>")
def drug_page(slug: str):
    if not SLUG_RE.match(slug):
        raise NotFound()
    monograph = _backend().monograph(slug)
    if monograph is None:
        raise NotFound()
    budget = Budget()  # one page's markdown work, whatever the file holds
    disclaimer = monograph["monograph_disclaimer"]
    rendered = {"disclaimer": render_markdown(disclaimer, budget) if disclaimer else None,
                "intro": render_markdown(monograph["intro"], budget)
                if monograph["intro"] else None}
    sections = [{**s, "html": render_markdown(s["markdown"], budget),
                 "label": section_label(s["type"])} for s in monograph["sections"]]
    return render_template(
        "drug.html", monograph=monograph, sections=sections, intro=rendered["intro"],
        monograph_disclaimer=rendered["disclaimer"],
        review=_shown_review(monograph["review"]))


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _shown_review(review: dict | None) -> dict | None:
    """The review entry with its dates in words ("July 2023", "July 5, 2023")."""
    if not review:
        return None

    def in_words(value: str) -> str:
        parts = value.split("-")
        month = MONTHS[int(parts[1]) - 1]
        return f"{month} {int(parts[2])}, {parts[0]}" if len(parts) == 3 else f"{month} {parts[0]}"

    label_date = review["label_date"]
    return {**review, "label_date_text": in_words(label_date) if label_date else None,
            "checked_text": in_words(review["checked"])}


def search_url(state: dict, **changes) -> str:
    """URL of the search page for a state, with some keys changed."""
    merged = {**state, **changes}
    pairs = [("q", merged["q"])] if merged.get("q") else []
    for name in ("drug", "indication", "section", "drug_class"):
        pairs += [(name, value) for value in merged.get(name, [])]
    for name in ("per_page", "group", "literal"):
        if merged.get(name):
            pairs.append((name, merged[name]))
    if merged.get("page", 1) not in (1, None):
        pairs.append(("page", merged["page"]))
    return url_for("monosearch.search_page") + ("?" + urlencode(pairs) if pairs else "")


def _facet_view(body: dict, state: dict) -> dict:
    """Per facet, the buckets shown at once (the TOP_VALUES most frequent and every
    selected one) and the rest (behind "Show all"), each with the URL that toggles its
    value (page reset to 1)."""
    view = {}
    for name, buckets in body["facets"].items():
        param = FACET_PARAMS[name]
        chosen = state[param]
        shown = []
        for bucket in buckets:
            url = search_url(state, page=1, **{param: (
                [v for v in chosen if v != bucket["value"]] if bucket["selected"]
                else [*chosen, bucket["value"]])})
            # Every link repeats the query: with a long one (500 characters of three
            # bytes), hundreds of them made a 1.2 MB page. The checkbox and the Apply
            # button still toggle the value.
            shown.append({**bucket, "toggle_url": url if len(url) <= MAX_FACET_LINK_CHARS
                          else None})
        top = [b for n, b in enumerate(shown) if n < TOP_VALUES or b["selected"]]
        view[name] = {"top": top, "rest": [b for b in shown if b not in top]}
    return view


def _pages(body: dict, state: dict) -> dict:
    count = body["total_groups"] if body["group"] == "drug" else body["listed"]
    last = max((count + body["per_page"] - 1) // body["per_page"], 1)
    current = body["page"]
    first = max(1, min(current - PAGE_LINKS // 2, last - PAGE_LINKS + 1))
    numbers = range(first, min(first + PAGE_LINKS, last + 1))
    return {
        "last": last,
        "links": [{"number": n, "url": search_url(state, page=n), "current": n == current}
                  for n in numbers],
        "previous": search_url(state, page=current - 1) if current > 1 else None,
        "next": search_url(state, page=current + 1) if current < last else None,
        "corrected_url": (search_url(state, q=body["corrected"], page=1)
                          if body["corrected"] else None),
        "suggestions": [{**s, "url": _suggestion_url(state, s)} for s in body["suggestions"]],
        "first_number": (current - 1) * body["per_page"] + 1,
    }


def _suggestion_url(state: dict, suggestion: dict) -> str:
    if suggestion["kind"] in SUGGESTION_KINDS:
        return _suggestion_target(suggestion)
    return search_url(state, q=suggestion["value"], page=1)  # a spelling


# -- errors ----------------------------------------------------------------------------
def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in JSON_PATHS


def _page_error(status: int, message: str):
    """The search page shows the error above its form (the reader's values kept); other
    pages answer with the error page."""
    if request.endpoint == "monosearch.search_page":
        return render_template("search.html", state=search_state(request.args), body=None,
                               error=message), status
    return render_template("error.html", status=status, message=message), status


def bad_request(err: BadRequest):
    """A parameter is invalid: 400 with the library's message."""
    if _wants_json():
        return api_error(400, err.code, str(err))
    return _page_error(400, str(err))


def index_unavailable(err: IndexNotBuilt):
    """No usable index is loaded: 503."""
    log.error("search unavailable: %s", err)
    if isinstance(err, EngineUnavailable):
        if _wants_json():
            return api_error(503, "engine_unavailable", ENGINE_UNAVAILABLE)
        return _page_error(503, ENGINE_UNAVAILABLE[0].upper() + ENGINE_UNAVAILABLE[1:] + ".")
    if _wants_json():
        message = HEALTH_UNAVAILABLE if request.path == "/healthz" else API_UNAVAILABLE
        return api_error(503, "index_unavailable", message)
    return _page_error(503, PAGE_UNAVAILABLE)


def http_error(err: HTTPException):
    if _wants_json():
        code = (err.name or "error").lower().replace(" ", "_")
        return api_error(err.code or 500, code, err.description or err.name)
    return render_template("error.html", status=err.code, message=err.name), err.code


def unexpected_error(err: Exception):
    log.exception("unexpected error on %s", request.path)
    if request.path.startswith("/api/"):
        return api_error(500, "internal_error", "an internal error occurred")
    return render_template("error.html", status=500,
                           message="Something went wrong on our side."), 500


def register_error_handlers(app) -> None:
    """One place maps errors to responses (JSON under /api/ and for /healthz, HTML for
    pages); Flask picks the most specific handler for an exception's class."""
    app.register_error_handler(BadRequest, bad_request)
    app.register_error_handler(IndexNotBuilt, index_unavailable)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
