"""The API against its OpenAPI document, and production serving with gunicorn."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from search.request import SearchRequest
from web.openapi import openapi_document

BIN = Path(sys.executable).parent
CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "response_headers_conformance"])


def test_openapi_document_is_served_and_lists_every_route(client, app):
    served = client.get("/openapi.json").get_json()
    assert served == openapi_document()
    routes = {rule.rule.replace("<slug>", "{slug}") for rule in app.url_map.iter_rules()
              if rule.endpoint != "static"}
    assert routes == set(served["paths"])


def test_schemathesis_finds_nothing_against_the_real_server(live_server, tmp_path):
    """Property-based calls from the document: no 5xx, no response outside its schema,
    no undocumented status code or content type."""
    result = subprocess.run(
        [str(BIN / "st"), "run", f"{live_server.url}/openapi.json", "--checks", CHECKS,
         "--max-examples", "25", "--phases", "examples,coverage,fuzzing", "--workers", "2",
         "--seed", "20261126"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "passed" in result.stdout and "failed" not in result.stdout.split("SUMMARY")[-1]


def test_huge_urls_and_direct_calls_are_refused_cheaply(client, backend):
    response = client.get("/api/search?q=" + "x" * 9000)
    assert response.status_code == 414 and response.is_json
    assert client.get("/?q=" + "x" * 9000).status_code == 414
    with pytest.raises(Exception, match="longer than 500"):
        SearchRequest(q=" ".join(["word"] * 10_000))
    with pytest.raises(Exception, match="page"):
        SearchRequest(q="x", page=100_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None):
    """(status, headers, body) without following redirects or raising on errors."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read()


def test_monosearch_serve_runs_gunicorn_with_two_workers(built, tmp_path):
    """`monosearch serve` (what scripts/serve runs): gunicorn with the project's
    settings, from any folder."""
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "monosearch"), "serve", "--workers", "2", "--port", str(port),
         "--index", str(built[1])], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no gunicorn"
                time.sleep(0.3)
        answers = set()
        for _ in range(20):
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/search?q=covid+dose", timeout=10) as r:
                body = json.load(r)
                answers.add((body["total"], body["results"][0]["id"]))
        assert len(answers) == 1 and answers.pop()[1] == "baricitinib#dosage"
        # gunicorn's request-line limit lets every valid query reach the app (500
        # three-byte characters are 4,500 bytes percent-encoded; its default is 4,094)
        status, headers, _ = _get(f"http://127.0.0.1:{port}/api/search?q="
                                  + urllib.parse.quote("中" * 500))
        assert status == 200 and "Content-Security-Policy" in headers
        status, headers, _ = _get(f"http://127.0.0.1:{port}/drug//baricitinib",
                                  {"Host": "evil.example"})
        assert status in (301, 308) and headers["Location"] == "/drug/baricitinib"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert output.count("Booting worker") >= 2
