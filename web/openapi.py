"""The OpenAPI 3 description of every endpoint, served at /openapi.json.

tests/test_contract.py runs schemathesis against a real server with this document:
no 5xx, no response outside its schema, no undocumented status code.
"""

from __future__ import annotations

from search.request import (
    DEFAULT_PER_PAGE,
    DEFAULT_SUGGESTIONS,
    GROUPS,
    MAX_FILTER_CHARS,
    MAX_FILTER_VALUES,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_RESULT_WINDOW,
    MAX_SUGGEST_CHARS,
    MAX_SUGGESTIONS,
)

STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
STRINGS = {"type": "array", "items": STRING}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": _ref(name)}}}


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": STRING}}}


def _object(properties: dict, closed: bool = True) -> dict:
    return {"type": "object", "required": list(properties), "properties": properties,
            "additionalProperties": not closed}


def _filter(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "description": description + " Repeatable; values OR together.",
            "schema": {"type": "array", "maxItems": MAX_FILTER_VALUES,
                       "items": {"type": "string", "maxLength": MAX_FILTER_CHARS}}}


SEARCH_PARAMETERS = [
    {"name": "q", "in": "query", "required": False,
     "description": "Query text; empty browses. Words AND together; \"phrases\", OR, NOT "
                    "and a leading minus work.",
     "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS}},
    _filter("drug", "Drug slug."),
    _filter("indication", "Indication slug."),
    _filter("section", "Section type."),
    _filter("drug_class", "Drug class slug."),
    {"name": "page", "in": "query", "required": False,
     "description": f"1-based page; page * per_page must not exceed {MAX_RESULT_WINDOW}.",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RESULT_WINDOW, "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                "default": DEFAULT_PER_PAGE}},
    {"name": "group", "in": "query", "required": False,
     "description": "drug: one result per drug with its best sections; auto: drug unless "
                    "the query names a drug.",
     "schema": {"type": "string", "enum": list(GROUPS), "default": "none"}},
    {"name": "literal", "in": "query", "required": False,
     "description": "1: search the words as typed, without query understanding.",
     "schema": {"type": "string", "enum": ["0", "1"], "default": "0"}},
]

RESULT = _object({
    "id": STRING, "drug": STRING, "drug_name": STRING, "section": STRING, "heading": STRING,
    "indications": STRINGS, "score": {"type": "number", "nullable": True},
    "snippet": {"type": "string", "description": "HTML; only <mark> is markup."},
    "url": STRING,
})
GROUP = _object({
    "drug": STRING, "drug_name": STRING, "indications": STRINGS,
    "score": {"type": "number", "nullable": True}, "url": STRING,
    "sections": {"type": "array", "items": _ref("Result")},
})
BUCKET = _object({"value": STRING, "label": STRING, "count": {"type": "integer", "minimum": 0},
                  "selected": {"type": "boolean"}})
BUCKETS = {"type": "array", "items": _ref("FacetBucket")}
SEARCH = _object({
    "query": STRING, "corrected": NULLABLE_STRING,
    "total": {"type": "integer", "minimum": 0},
    "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1},
    "took_ms": {"type": "number", "minimum": 0},
    "results": {"type": "array", "items": {"anyOf": [_ref("Result"), _ref("DrugGroup")]}},
    "facets": _object({"drug": BUCKETS, "indication": BUCKETS, "section": BUCKETS,
                       "class": BUCKETS}),
    "interpretation": {"type": "array", "items": _object({
        "kind": {"type": "string", "enum": ["brand", "synonym", "spelling", "class", "intent",
                                            "fallback", "relaxed", "optional"]},
        "from": STRING, "to": STRING}),
        "description": "Every rewrite and fallback: brand, synonym, spelling, class and "
                       "intent rewrites; fallback (a quoted or operator query that found "
                       "nothing, searched as understood plain words); relaxed (no section "
                       "has every word: any of these words); optional (these words are not "
                       "in the named drug's sections, which are shown anyway)."},
    "relaxed": {"type": "boolean"},
    "group": {"type": "string", "enum": ["none", "drug"]},
    "total_groups": {"type": "integer", "minimum": 0, "nullable": True},
    "listed": {"type": "integer", "minimum": 0,
               "description": "Sections the flat list pages through: at most three of "
                              "each drug (all of them when filtered to one drug)."},
    "more": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
             "description": "Drug slug -> matching sections of that drug on this page's "
                            "drugs left out of the flat list (search with drug=slug)."},
    "suggestions": {"type": "array", "items": _object({
        "kind": {"type": "string", "enum": ["spelling", "drug", "class"]},
        "value": STRING, "label": STRING})},
    "disclaimer": STRING,
    "generation": STRING,
})
ERROR = _object({"error": _object({"code": STRING, "message": STRING}), "disclaimer": STRING})
DRUG = _object({
    "slug": STRING, "title": STRING, "brands": STRINGS, "drug_class": STRINGS,
    "indications": {"type": "array", "items": _object({"value": STRING, "label": STRING})},
    "intro": STRING,
    "sections": {"type": "array", "items": _object({
        "type": STRING, "heading": STRING, "anchor": STRING, "text": STRING,
        "markdown": STRING})},
    "disclaimer": STRING, "monograph_disclaimer": NULLABLE_STRING,
    "review": {**_object({
        "label": STRING, "set_id": NULLABLE_STRING, "application": NULLABLE_STRING,
        "label_date": {**NULLABLE_STRING, "description": "the label's revision date, "
                       "YYYY-MM or YYYY-MM-DD; null when the copy reviewed showed none"},
        "label_date_unknown": {**NULLABLE_STRING, "description": "why the label's date "
                               "is not recorded"},
        "checked": {**STRING, "description": "when the monograph was checked, YYYY-MM-DD"}}),
        "nullable": True,
        "description": "The FDA label the monograph was last checked against (the "
                       "corpus's reviews.yaml); null when it has not been reviewed."},
})
HEALTH = _object({
    "backend": {"type": "string", "enum": ["whoosh", "typesense"]},
    "status": {"type": "string", "enum": ["ok", "degraded"],
               "description": "degraded: the live generation is damaged, so an older "
                              "intact one is served"},
    "generation": STRING,
    "damaged": {"type": "array", "items": STRING,
                "description": "Generations this worker found damaged and does not serve."},
    "documents": {"type": "integer", "minimum": 0},
    "monographs": {"type": "integer", "minimum": 0},
    "searchers_opened": {"type": "integer", "minimum": 0},
    "read_ahead": {"type": "string", "enum": ["off", "reading", "done"],
                   "description": "Whether this worker has read the most frequent words' "
                                  "postings ahead for the generation it serves."},
    "cache": _object({"hits": {"type": "integer", "minimum": 0},
                      "misses": {"type": "integer", "minimum": 0},
                      "size": {"type": "integer", "minimum": 0}}),
    "disclaimer": STRING,
})
# What every backend reports; the rest is the embedded index's own (generations found
# damaged, searchers, read-ahead, result cache).
HEALTH["required"] = ["backend", "status", "generation", "documents", "monographs",
                      "disclaimer"]

SUGGESTIONS = _object({
    "query": STRING,
    "suggestions": {"type": "array", "items": _object({
        "kind": {"type": "string", "enum": ["drug", "brand", "condition", "class"]},
        "label": STRING, "value": STRING, "query": STRING})},
    "took_ms": {"type": "number", "minimum": 0}, "disclaimer": STRING,
})
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"},
        "example": "baricitinib", "description": "The monograph's file name without .md."}
TOO_LONG = _json("Error", "The URL is longer than 8 KiB.")
UNAVAILABLE = _json("Error", "No usable index is loaded (never built, missing or damaged).")


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Monograph Search", "version": "1",
                 "description": "Section-level search over drug monographs. Every response "
                                "carries an educational-use disclaimer; nothing here is "
                                "medical advice."},
        "paths": {
            "/api/search": {"get": {
                "summary": "Search monograph sections with multi-select facets",
                "parameters": SEARCH_PARAMETERS,
                "responses": {
                    "200": {**_json("SearchResponse", "Results, facet counts and rewrites."),
                            "headers": {"X-Index-Generation": {"schema": STRING}}},
                    "400": _json("Error", "A parameter is invalid."),
                    "414": TOO_LONG, "503": UNAVAILABLE}}},
            "/api/suggest": {"get": {
                "summary": "Search-as-you-type: names starting with the typed words",
                "parameters": [
                    {"name": "q", "in": "query", "required": False,
                     "schema": {"type": "string", "maxLength": MAX_SUGGEST_CHARS}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS,
                                "default": DEFAULT_SUGGESTIONS}},
                    {"name": "format", "in": "query", "required": False,
                     "description": "opensearch: the OpenSearch suggestions format (query, "
                                    "completions, descriptions, URLs), for browsers.",
                     "schema": {"type": "string", "enum": ["json", "opensearch"],
                                "default": "json"}}],
                "responses": {"200": {
                    "description": "Matching names, best first.",
                    "content": {
                        "application/json": {"schema": _ref("Suggestions")},
                        "application/x-suggestions+json": {"schema": {
                            "type": "array", "minItems": 4, "maxItems": 4}}}},
                              "400": _json("Error", "A parameter is invalid."),
                              "414": TOO_LONG, "503": UNAVAILABLE}}},
            "/opensearch.xml": {"get": {
                "summary": "OpenSearch 1.1 description (add the site to a browser)",
                "responses": {"200": {"description": "The description.", "content": {
                    "application/opensearchdescription+xml": {
                        "schema": {"type": "string"}}}},
                              "414": _html("The URL is too long.")}}},
            "/api/drugs/{slug}": {"get": {
                "summary": "One monograph as indexed",
                "parameters": [SLUG],
                "responses": {"200": _json("Drug", "The monograph."),
                              "404": _json("Error", "No monograph has this slug."),
                              "414": TOO_LONG, "503": UNAVAILABLE}}},
            "/healthz": {"get": {
                "summary": "The loaded index generation",
                "responses": {"200": _json("Health", "An index is loaded."),
                              "414": TOO_LONG, "503": UNAVAILABLE}}},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document.",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}},
                              "414": TOO_LONG}}},
            "/": {"get": {
                "summary": "The search page (HTML)",
                "parameters": SEARCH_PARAMETERS,
                "responses": {"200": _html("The page."), "400": _html("Invalid parameters."),
                              "414": _html("The URL is too long."),
                              "503": _html("No index is loaded.")}}},
            "/drug/{slug}": {"get": {
                "summary": "A monograph page (HTML)",
                "parameters": [SLUG],
                "responses": {"200": _html("The monograph."), "404": _html("Unknown slug."),
                              "414": _html("The URL is too long."),
                              "503": _html("No index is loaded.")}}},
        },
        "components": {"schemas": {
            "SearchResponse": SEARCH, "Result": RESULT, "DrugGroup": GROUP,
            "FacetBucket": BUCKET, "Error": ERROR, "Drug": DRUG, "Health": HEALTH,
            "Suggestions": SUGGESTIONS,
        }},
    }
