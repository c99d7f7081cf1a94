"""Flask front end: the search page, drug pages and the JSON API."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, abort, request

from search.backend import BackendSettings, open_backend, typesense_nodes_from_env
from search.errors import IndexNotBuilt

MAX_REQUEST_BYTES = 64 * 1024  # request bodies (the API takes none)
MAX_QUERY_STRING_BYTES = 8 * 1024  # URLs beyond this are refused with 414
MAX_PATH_BYTES = 1024  # no route has a longer path (slugs are at most 200 characters)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _backend_settings(config) -> BackendSettings:
    return BackendSettings(
        backend=config["BACKEND"], index_dir=Path(config["INDEX_DIR"]),
        result_cache_size=config["RESULT_CACHE_SIZE"],
        server=config["FREEZE_GC"] and not config["TESTING"],
        read_ahead=config["READ_AHEAD"], typesense_url=config["TYPESENSE_URL"],
        typesense_key=config["TYPESENSE_KEY"],
        typesense_collection=config["TYPESENSE_COLLECTION"])


def create_app(test_config: dict | None = None) -> Flask:
    """App factory: defaults, then the environment, then the caller's overrides."""
    app = Flask(__name__)
    app.config.from_mapping(
        INDEX_DIR=os.environ.get("MONOSEARCH_INDEX", "index"),
        CORPUS_DIR=os.environ.get("MONOSEARCH_CORPUS", "corpus"),
        RESULT_CACHE_SIZE=int(os.environ.get("MONOSEARCH_RESULT_CACHE", "1024")),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        BACKEND=os.environ.get("MONOSEARCH_BACKEND", "whoosh"),  # or "typesense"
        FREEZE_GC=True,  # a server process (not under TESTING): see WhooshBackend
        # Read the most frequent words' postings ahead after each swap (0: off).
        READ_AHEAD=os.environ.get("MONOSEARCH_READ_AHEAD", "1") != "0",
        TYPESENSE_URL=typesense_nodes_from_env(),  # one node, or a cluster's nodes
        TYPESENSE_KEY=os.environ.get("MONOSEARCH_TYPESENSE_KEY", ""),
        TYPESENSE_COLLECTION=os.environ.get("MONOSEARCH_TYPESENSE_COLLECTION", "monographs"),
        # The site's public address (https://host[/prefix]) for /opensearch.xml, whose
        # URLs must be absolute; unset, the address of the request is used.
        PUBLIC_URL=os.environ.get("MONOSEARCH_PUBLIC_URL", ""),
    )
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    backend = open_backend(_backend_settings(app.config))
    app.extensions["monosearch"] = backend
    try:  # one clear line at start-up; the API answers 503 until an index exists
        app.logger.info("serving index generation %s", backend.health()["generation"])
    except IndexNotBuilt as err:
        app.logger.error("no usable index (%s); the API answers 503 until "
                         "`monosearch reindex --full` builds one", err)

    from search import DISCLAIMER
    from web import views

    app.jinja_env.globals["config_disclaimer"] = DISCLAIMER

    app.register_blueprint(views.blueprint)
    views.register_error_handlers(app)

    @app.before_request
    def refuse_huge_urls():
        path = request.environ.get("PATH_INFO", "")
        if len(request.query_string) > MAX_QUERY_STRING_BYTES or \
                len(path.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
            abort(414)

    @app.after_request
    def add_security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.after_request
    def relative_redirects(response):
        """Redirects point into the site without a host: Werkzeug would build them from
        the request's Host header, which the client chooses."""
        location = response.headers.get("Location")
        if location:
            parts = urlsplit(location)
            if parts.scheme or parts.netloc:
                response.headers["Location"] = urlunsplit(
                    ("", "", parts.path or "/", parts.query, parts.fragment))
        return response

    return app
