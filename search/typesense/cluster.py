"""A Typesense cluster on one machine, for tests and for trying the backend out: N nodes
of the bundled server on loopback ports, Raft-replicated (a ``--nodes`` file listing
``127.0.0.1:PEER:API`` per node), each with its own data folder, started and stopped by
PID.

    python -m search.typesense.cluster start DIR [--nodes 3]   # prints the node URLs
    python -m search.typesense.cluster stop DIR

A node is ready when it answers /health, the cluster has a leader, and (when asked) it
holds the collection's full document count: /health says ok before a restarted node has
reloaded its data."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import click

from .server import HOST, TypesenseUnavailable, free_port, server_binary

READY_TIMEOUT_SECONDS = 120.0
LEADER, FOLLOWER = 1, 4  # /debug "state" of a Raft leader and follower
STATE_FILE = "cluster.json"


@dataclass
class Node:
    api_port: int
    peer_port: int
    data_dir: Path
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api_port}"


@dataclass
class TypesenseCluster:
    folder: Path
    api_key: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    nodes: list[Node] = field(default_factory=list)
    _processes: dict[int, subprocess.Popen] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, folder: Path, size: int = 3) -> TypesenseCluster:
        folder.mkdir(parents=True, exist_ok=True)
        cluster = cls(folder)
        ports = {free_port() for _ in range(2 * size)}
        while len(ports) < 2 * size:
            ports.add(free_port())
        ports_list = sorted(ports)
        cluster.nodes = [Node(ports_list[2 * i], ports_list[2 * i + 1], folder / f"node{i}")
                         for i in range(size)]
        (folder / "nodes").write_text(",".join(f"{HOST}:{n.peer_port}:{n.api_port}"
                                               for n in cluster.nodes))
        return cluster

    @property
    def urls(self) -> str:
        """The node list as the service takes it (MONOSEARCH_TYPESENSE_NODES)."""
        return ",".join(node.url for node in self.nodes)

    def start(self, wait: bool = True) -> TypesenseCluster:
        for index in range(len(self.nodes)):
            self.start_node(index)
        if wait:
            self.wait_ready()
        return self

    def start_node(self, index: int) -> None:
        node = self.nodes[index]
        node.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"node{index}.log", "ab") as log:
            process = subprocess.Popen(
                [str(server_binary()), f"--data-dir={node.data_dir}",
                 f"--api-key={self.api_key}", f"--api-address={HOST}",
                 f"--api-port={node.api_port}", f"--peering-address={HOST}",
                 f"--peering-port={node.peer_port}", f"--nodes={self.folder / 'nodes'}",
                 "--enable-cors=false", "--thread-pool-size=8"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        node.pid = process.pid
        self._processes[index] = process
        self.save()

    def kill_node(self, index: int, sig: int = signal.SIGKILL) -> None:
        node = self.nodes[index]
        process = self._processes.pop(index, None)
        if process is not None:  # ours
            process.send_signal(sig)
            process.wait()
        elif node.pid is not None:  # started by another process (the command line)
            try:
                os.kill(node.pid, sig)
                _reap(node.pid)
            except ProcessLookupError:
                pass
        if node.pid is not None:
            node.pid = None
            self.save()

    def stop(self) -> None:
        for index in range(len(self.nodes)):
            self.kill_node(index, signal.SIGTERM)

    def _get(self, node: Node, path: str) -> dict | None:
        request = urllib.request.Request(node.url + path,
                                         headers={"X-TYPESENSE-API-KEY": self.api_key})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.load(response)
        except (OSError, ValueError, urllib.error.HTTPError):
            return None

    def state(self, index: int) -> int | None:
        answer = self._get(self.nodes[index], "/debug")
        return answer.get("state") if answer else None

    def leader(self) -> int | None:
        """Index of the node that is Raft leader now, if any."""
        for index, node in enumerate(self.nodes):
            if node.pid is not None and self.state(index) == LEADER:
                return index
        return None

    def documents(self, index: int, collection: str) -> int | None:
        """Documents the node holds in a collection (or behind an alias)."""
        node = self.nodes[index]
        alias = self._get(node, f"/aliases/{collection}")
        name = alias["collection_name"] if alias else collection
        answer = self._get(node, f"/collections/{name}")
        return answer.get("num_documents") if answer else None

    def ready(self, collection: str | None = None, count: int | None = None) -> bool:
        running = [i for i, node in enumerate(self.nodes) if node.pid is not None]
        for index in running:
            health = self._get(self.nodes[index], "/health")
            if not health or not health.get("ok"):
                return False
            if self.state(index) not in (LEADER, FOLLOWER):
                return False
            if collection and self.documents(index, collection) != count:
                return False
        return self.leader() is not None

    def wait_ready(self, collection: str | None = None, count: int | None = None,
                   timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready(collection, count):
            for index, process in self._processes.items():
                if process.poll() is not None:
                    raise TypesenseUnavailable(f"cluster node {index} exited; see "
                                               f"{self.folder / f'node{index}.log'}")
            if time.monotonic() > deadline:
                raise TypesenseUnavailable(f"cluster not ready after {timeout:.0f} s")
            time.sleep(0.2)

    def save(self) -> None:
        state = {"api_key": self.api_key,
                 "nodes": [{"api_port": n.api_port, "peer_port": n.peer_port,
                            "data_dir": str(n.data_dir), "pid": n.pid} for n in self.nodes]}
        path = self.folder / STATE_FILE
        path.write_text(json.dumps(state, indent=1))
        path.chmod(0o600)  # it holds the API key

    @classmethod
    def load(cls, folder: Path) -> TypesenseCluster:
        state = json.loads((folder / STATE_FILE).read_text())
        return cls(folder, state["api_key"],
                   [Node(n["api_port"], n["peer_port"], Path(n["data_dir"]), n["pid"])
                    for n in state["nodes"]])


def _reap(pid: int) -> None:
    """Wait for a child of ours to end (a node started by another process is polled)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        deadline = time.monotonic() + 30
        while not _exited(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _exited(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == pid
    except ChildProcessError:
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A Typesense cluster on this machine, for tests and trying the backend out."""


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--nodes", default=3, show_default=True, type=click.IntRange(1, 9))
def start(folder: Path, nodes: int) -> None:
    """Start the nodes (data, logs, PIDs and the API key in FOLDER)."""
    cluster = TypesenseCluster.create(folder, nodes).start()
    click.echo(f"MONOSEARCH_TYPESENSE_NODES={cluster.urls}")
    click.echo(f"MONOSEARCH_TYPESENSE_KEY is in {folder / STATE_FILE}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, exists=True))
def stop(folder: Path) -> None:
    """Stop the nodes started in FOLDER."""
    TypesenseCluster.load(folder).stop()


if __name__ == "__main__":
    main()
