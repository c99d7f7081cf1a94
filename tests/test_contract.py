"""The API against its OpenAPI document, and production serving with gunicorn."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from search.query import SearchRequest
from web.openapi import openapi_document

from .conftest import ROOT

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
         "--max-examples", "40", "--phases", "examples,coverage,fuzzing", "--workers", "2",
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


def test_gunicorn_with_two_workers_serves_the_app(built):
    port = _free_port()
    env = {**os.environ, "MONOSEARCH_INDEX": str(built[1])}
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "web:create_app()"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
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
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert output.count("Booting worker") >= 2
