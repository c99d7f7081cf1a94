"""The monosearch command, run as a real subprocess."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from search.cli import build_argparser
from search.whoosh import store
from tests.conftest import ROOT
from web import create_app

SUMMARY_RE = re.compile(r"^indexed (\d+) monographs \((\d+) sections\), (\d+) rejected in "
                        r"[\d.]+ s \[(full|incremental): .*generation "
                        r"gen-\d{6}-[0-9a-f]{6}\]$", re.M)


def monosearch(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "search", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "monosearch"
    assert script.exists(), "pip install -e . should install the monosearch command"
    result = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "reindex" in result.stdout


def test_reindex_exit_0_and_summary(corpus_dir, tmp_path):
    result = monosearch("reindex", "--corpus", corpus_dir, "--index", tmp_path / "index")
    assert result.returncode == 0, result.stderr
    match = SUMMARY_RE.search(result.stdout)
    assert match and match.groups()[:4] == ("6", "44", "0", "full")
    assert result.stderr == ""


def test_reindex_exit_1_names_each_rejected_file(corpus_dir, tmp_path):
    (corpus_dir / "empty.md").write_text("")
    (corpus_dir / "nosections.md").write_text("# Title\nno sections\n")
    (corpus_dir / "latin1.md").write_bytes("# T\n### Usage\ncaf\xe9\n".encode("latin-1"))
    result = monosearch("reindex", "--corpus", corpus_dir, "--index", tmp_path / "index")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"rejected: {corpus_dir}/empty.md: empty file",
        f"rejected: {corpus_dir}/latin1.md:3: not valid UTF-8 (byte 0xe9)",
        f"rejected: {corpus_dir}/nosections.md: no '### ' section, and no '## ' heading "
        "or bold label (such as '**Usage:**') names a standard section",
    ]
    assert SUMMARY_RE.search(result.stdout).groups()[:3] == ("6", "44", "3")


def test_reindex_exit_2_for_missing_corpus(tmp_path):
    result = monosearch("reindex", "--corpus", tmp_path / "nope", "--index", tmp_path / "i")
    assert result.returncode == 2
    assert result.stderr.strip() == f"monosearch: corpus folder not found: {tmp_path / 'nope'}"


def test_reindex_exit_2_for_usage_errors():
    assert monosearch("reindex", "--bogus").returncode == 2
    assert monosearch().returncode == 2


def test_reindex_exit_75_while_another_runs(corpus_dir, tmp_path):
    index = tmp_path / "index"
    with store.reindex_lock(index):
        result = monosearch("reindex", "--corpus", corpus_dir, "--index", index)
    assert result.returncode == 75
    assert len(result.stderr.strip().splitlines()) == 1
    assert "another reindex is running" in result.stderr and "Traceback" not in result.stderr


def test_query_json_is_the_api_body(built):
    corpus, index = built
    result = monosearch("query", "covid dose", "--section", "dosage", "--section", "usage",
                        "--per-page", "3", "--index", index, "--json")
    assert result.returncode == 0, result.stderr
    cli_body = json.loads(result.stdout)
    client = create_app({"TESTING": True, "INDEX_DIR": str(index)}).test_client()
    api_body = client.get("/api/search?q=covid+dose&section=dosage&section=usage&per_page=3"
                          ).get_json()
    assert {**cli_body, "took_ms": 0} == {**api_body, "took_ms": 0}


def test_query_text_output_and_bad_page(built):
    result = monosearch("query", "covid dose", "--index", built[1])
    assert result.returncode == 0
    assert "Baricitinib - Dosage  (baricitinib#dosage)" in result.stdout.splitlines()[1]
    bad = monosearch("query", "x", "--page", "zero", "--index", built[1])
    assert bad.returncode == 2 and bad.stderr.strip() == "monosearch: page must be an integer"


def test_serve_binds_loopback_by_default():
    assert build_argparser().parse_args(["serve"]).host == "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_builds_a_missing_index_and_answers(corpus_dir, tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "search", "serve", "--port", str(port), "--index",
         str(tmp_path / "index"), "--corpus", str(corpus_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("server did not start")
                time.sleep(0.2)
        assert health["documents"] == 44
        connections = Path("/proc/net/tcp").read_text()
        assert f"0100007F:{port:04X}" in connections  # listening on 127.0.0.1
    finally:
        process.terminate()
        process.communicate(timeout=10)
