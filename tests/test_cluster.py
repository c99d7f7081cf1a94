"""The Typesense backend on a 3-node Raft cluster (real servers on loopback ports) behind
the real web app: node losses while clients search."""

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest

from search.typesense.client import TypesenseClient, parse_nodes
from search.typesense.cluster import TypesenseCluster
from search.typesense.server import free_port
from search.typesense.sync import sync_typesense
from tests.conftest import ROOT, LiveServer
from tests.processes import wait_for
from web import create_app

PROBE = "/api/search?q=dose&per_page=5&group=none"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = TypesenseCluster.create(tmp_path_factory.mktemp("cluster"), 3).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def synced(cluster, built):
    corpus = built[0]
    client = TypesenseClient(cluster.urls, cluster.api_key)
    report = sync_typesense(corpus, client)
    client.close()
    cluster.wait_ready("monographs", report.sections)
    return corpus, report.sections


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


class Clients:
    """Two threads searching through the web app until stopped; every answer must be
    complete (its total the probe's total on the whole corpus)."""

    def __init__(self, base: str, expected: int):
        self.base, self.expected = base, expected
        self.answers, self.failures = 0, []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(2)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, body = get(self.base + PROBE)
                if status != 200 or body["total"] != self.expected:
                    self.failures.append((status, body.get("total"), body.get("error")))
                else:
                    self.answers += 1
            except (OSError, ValueError) as err:
                self.failures.append(repr(err))

    def __enter__(self) -> "Clients":
        for thread in self._threads:
            thread.start()
        return self

    def wait_for_answers(self, more: int) -> None:
        target = self.answers + more
        wait_for(lambda: self.answers >= target or len(self.failures) > 50,
                 f"{more} more answers", deadline=120, poll=0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def _answers(url: str) -> bool:
    try:
        return get(url + "/healthz")[0] == 200
    except OSError:
        return False


def start_sync(cluster, corpus) -> tuple[threading.Thread, list]:
    """A typesense-sync running in a thread; the list gets its report when it is done."""
    reports = []

    def run():
        client = TypesenseClient(cluster.urls, cluster.api_key)
        try:
            reports.append(sync_typesense(corpus, client))
        finally:
            client.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, reports


@contextmanager
def served(cluster):
    """The web app on the cluster behind a live server; its connections closed after."""
    app = create_app({"TESTING": True, "BACKEND": "typesense", "TYPESENSE_URL": cluster.urls,
                      "TYPESENSE_KEY": cluster.api_key})
    try:
        with LiveServer(app) as server:
            yield server
    finally:
        app.extensions["monosearch"].close()


def test_a_leader_killed_during_a_sync_fails_no_search_and_rejoins(cluster, synced):
    corpus, sections = synced
    with served(cluster) as server:
        status, first = get(server.url + PROBE)
        assert status == 200 and first["total"] > 0
        with Clients(server.url, first["total"]) as clients:
            clients.wait_for_answers(20)
            sync, synced_again = start_sync(cluster, corpus)
            leader = cluster.leader()
            assert leader is not None
            cluster.kill_node(leader)
            clients.wait_for_answers(100)  # answered by the survivors
            sync.join(timeout=120)
            assert [report.sections for report in synced_again] == [sections]
            new_leader = cluster.leader()
            assert new_leader not in (None, leader)
            cluster.start_node(leader)  # the killed node rejoins and catches up
            cluster.wait_ready("monographs", sections)
            clients.wait_for_answers(50)
            # The first node of the list the service was given (the one every client
            # asks first) lost and restarted; then a follower, unless that node was one.
            losses = ["first listed"] + (["follower"] if cluster.leader() == 0 else [])
            for loss in losses:
                node = 0 if loss == "first listed" else next(
                    i for i in range(3) if i != cluster.leader())
                cluster.kill_node(node)
                clients.wait_for_answers(50)
                cluster.start_node(node)
                cluster.wait_ready("monographs", sections)
                clients.wait_for_answers(20)
        assert clients.failures == []
        assert clients.answers >= 240


def test_two_nodes_down_is_503_until_one_returns(cluster, synced):
    _, sections = synced
    with served(cluster) as server:
        assert get(server.url + PROBE)[0] == 200
        stopped = [i for i in range(3) if i != cluster.leader()][:1] + [cluster.leader()]
        for index in stopped:
            cluster.kill_node(index)
        # The node left answers from its data until it sees it has lost the quorum.
        wait_for(lambda: get(server.url + PROBE)[0] == 503, "a 503", deadline=60, poll=0.2)
        status, body = get(server.url + PROBE)
        assert status == 503, body
        assert "typesense" in body["error"]["message"].lower()
        cluster.start_node(stopped[0])  # a quorum again, and no restart of the app
        cluster.wait_ready("monographs", sections)
        wait_for(lambda: get(server.url + PROBE)[0] == 200, "a 200 again", deadline=60,
                 poll=0.2)
        cluster.start_node(stopped[1])
        cluster.wait_ready("monographs", sections)


@pytest.mark.parametrize("nodes, expected", [
    ("http://127.0.0.1:8108", [("127.0.0.1", 8108, "http")]),
    ("http://a:1, https://b:2,http://c", [("a", 1, "http"), ("b", 2, "https"),
                                          ("c", 8108, "http")]),
    (["https://d"], [("d", 443, "https")]),
])
def test_node_lists(nodes, expected):
    assert [(n["host"], n["port"], n["protocol"]) for n in parse_nodes(nodes)] == expected


@pytest.mark.parametrize("nodes, reason", [
    ("", "not a Typesense node URL: ''"),
    ("127.0.0.1:8108", "not a Typesense node URL: '127.0.0.1:8108'"),
    ("http://a:1,ftp://b:2", "not a Typesense node URL: 'ftp://b:2'"),
    ("http://a:99999", "not a Typesense node URL: 'http://a:99999'"),
])
def test_a_bad_node_list_names_the_bad_entry(nodes, reason):
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}"):
        parse_nodes(nodes)
    result = subprocess.run([sys.executable, "-m", "search", "query", "dose", "--backend",
                             "typesense", "--typesense-nodes", nodes or ","], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def serve(cluster, folder, port: int) -> subprocess.Popen:
    """`monosearch serve` (gunicorn, one worker) on the Typesense backend."""
    return subprocess.Popen(
        [sys.executable, "-m", "search", "serve", "--workers", "1", "--port", str(port),
         "--backend", "typesense", "--typesense-nodes", cluster.urls],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MONOSEARCH_TYPESENSE_KEY": cluster.api_key})


def comparable(body: dict) -> dict:
    return {key: value for key, value in body.items() if key not in ("took_ms",
                                                                     "generation")}


def test_two_gunicorn_servers_answer_alike_during_a_sync(cluster, synced, tmp_path):
    corpus, _ = synced
    ports = [free_port(), free_port()]
    servers = [serve(cluster, tmp_path, port) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, servers, strict=True):
            wait_for(lambda url=url: _answers(url), "gunicorn answering", process,
                     deadline=60, poll=0.2)
        syncing, reports = start_sync(cluster, corpus)
        compared = 0
        while syncing.is_alive() or compared < 20:
            for query in ("dose", "olumiant", "side effects of warfarin", "asthma inhaler"):
                path = f"/api/search?q={urllib.parse.quote(query)}&per_page=20"
                first, second = (get(url + path) for url in urls)
                assert first[0] == second[0] == 200
                assert comparable(first[1]) == comparable(second[1]), query
                compared += 1
        syncing.join()
        assert len(reports) == 1
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
