"""The monosearch command, run as a real subprocess."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from search.cli import build_argparser, main
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


# -- click: backends, usage errors, serve's command lines ------------------------------------
def test_usage_errors_print_usage_to_stderr():
    result = monosearch("reindex", "--bogus")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Usage: monosearch reindex [OPTIONS]\n")
    assert "Error: No such option '--bogus'" in result.stderr


def test_main_returns_the_status(capsys):
    assert main(["--help"]) == 0 and "reindex" in capsys.readouterr().out
    assert main(["query", "x", "--group", "sideways"]) == 2
    assert "Invalid value for '--group'" in capsys.readouterr().err


def test_query_backend_whoosh_is_the_default(built, capsys, monkeypatch):
    monkeypatch.delenv("MONOSEARCH_BACKEND", raising=False)
    bodies = []
    for extra in ([], ["--backend", "whoosh"]):
        assert main(["query", "covid dose", "--index", str(built[1]), "--json", *extra]) == 0
        bodies.append({**json.loads(capsys.readouterr().out), "took_ms": 0})
    assert bodies[0] == bodies[1] and bodies[0]["total"] > 0


@pytest.mark.parametrize("args, env", [(["--backend", "solr"], {}),
                                       ([], {"MONOSEARCH_BACKEND": "solr"})])
def test_query_unknown_backend_is_a_usage_error(built, capsys, monkeypatch, args, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["query", "dose", "--index", str(built[1]), *args]) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--backend'" in err
    assert "'solr' is not one of 'whoosh', 'typesense'." in err


def test_query_unreachable_typesense_is_one_line_and_exit_1(capsys):
    with socket.socket() as sock:  # a port nothing listens on while the socket is held
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        status = main(["query", "dose", "--backend", "typesense", "--typesense-url", url])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("monosearch: typesense at 127.0.0.1:")
    assert len(err.splitlines()) == 1 and "unreachable" in err


def test_the_cli_never_imports_web():
    code = "import search.cli, sys; print('web' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout == "False\n"


# Runs `monosearch serve ...` with os.execv replaced by a probe that prints what would run.
SERVE_PROBE = """
import json, os, sys
from search import cli
def probe(path, argv):
    env = {k: v for k, v in os.environ.items() if k.startswith("MONOSEARCH_")}
    print(json.dumps({"path": path, "argv": argv, "env": env, "web": "web" in sys.modules}))
os.execv = probe
sys.exit(cli.main(sys.argv[1:]))
"""


def probe_serve(*args, env=None) -> tuple[dict, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONOSEARCH_")}
    result = subprocess.run([sys.executable, "-c", SERVE_PROBE, "serve", *map(str, args)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**clean, **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_serve_dev_runs_flask_run_without_importing_web(built):
    corpus, index = built
    seen, stderr = probe_serve("--dev", "--port", 8123, "--index", index, "--corpus", corpus)
    assert seen == {
        "path": sys.executable,
        "argv": [sys.executable, "-m", "flask", "--app", "web:create_app()", "run",
                 "--host", "127.0.0.1", "--port", "8123", "--reload", "--with-threads"],
        "env": {"MONOSEARCH_INDEX": str(index.resolve()),
                "MONOSEARCH_CORPUS": str(corpus.resolve()),
                "MONOSEARCH_BACKEND": "whoosh",
                "MONOSEARCH_TYPESENSE_URL": "http://127.0.0.1:8108",
                "MONOSEARCH_TYPESENSE_NODES": "http://127.0.0.1:8108",
                "MONOSEARCH_TYPESENSE_KEY": "",
                "MONOSEARCH_TYPESENSE_COLLECTION": "monographs"},
        "web": False,
    }
    assert stderr == ""


def test_serve_typesense_passes_the_backend_and_builds_no_index(tmp_path):
    index, corpus = tmp_path / "index", tmp_path / "corpus"
    seen, stderr = probe_serve(
        "--backend", "typesense", "--typesense-url", "http://10.0.0.5:8108",
        "--typesense-collection", "labels", "--index", index, "--corpus", corpus,
        "--workers", 3, env={"MONOSEARCH_TYPESENSE_KEY": "secret"})
    assert seen["argv"] == [sys.executable, "-m", "gunicorn", "--config",
                            "python:web.gunicorn_conf", "--bind", "127.0.0.1:8000",
                            "--workers", "3", "web:create_app()"]
    assert seen["env"] == {"MONOSEARCH_INDEX": str(index.resolve()),
                           "MONOSEARCH_CORPUS": str(corpus.resolve()),
                           "MONOSEARCH_BACKEND": "typesense",
                           "MONOSEARCH_TYPESENSE_URL": "http://10.0.0.5:8108",
                           "MONOSEARCH_TYPESENSE_NODES": "http://10.0.0.5:8108",
                           "MONOSEARCH_TYPESENSE_KEY": "secret",
                           "MONOSEARCH_TYPESENSE_COLLECTION": "labels"}
    assert seen["web"] is False and not index.exists()
    assert stderr == f"serving {index} on http://127.0.0.1:8000 (3 workers)\n"


def test_serve_dev_answers(built):
    """Flask's own CLI accepts the app factory spelled as gunicorn takes it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "search", "serve", "--dev", "--port", str(port), "--index",
         str(built[1]), "--corpus", str(built[0])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # the reloader's child dies with the group below
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.load(r)["documents"] == 44
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("flask run did not start")
                time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_serve_rebuilds_an_index_of_another_schema_version(built, tmp_path):
    """An index left by an older version (which no server of this one opens) is rebuilt
    before serving, as a missing one is built."""
    import json as json_module
    import shutil

    from search.cli import build_missing_index
    from search.whoosh import store
    from search.whoosh.schema import SCHEMA_VERSION

    corpus, index = built
    old = shutil.copytree(index, tmp_path / "index")
    live = store.current_generation(old)
    manifest = old / live / store.MANIFEST_FILE
    data = json_module.loads(manifest.read_text())
    manifest.write_text(json_module.dumps({**data, "schema_version": SCHEMA_VERSION - 1}))
    assert build_missing_index(old, corpus) == 0
    rebuilt = store.current_generation(old)
    assert rebuilt != live
    assert store.read_manifest(old / rebuilt)["schema_version"] == SCHEMA_VERSION
    assert build_missing_index(old, corpus) == 0
    assert store.current_generation(old) == rebuilt  # the current version: left as it is
