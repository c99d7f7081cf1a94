"""Index a large batch of monographs on several cores: one Whoosh segment per worker.

Whoosh analyses and writes in pure Python, about 400 sections/s on one core, so a full
build of 70k sections would take three minutes in one process. Here the changed files
are split among worker processes; each parses its share and writes it as a segment of
its own into the build folder, and the parent adds those segments to its commit.

Workers are fresh interpreters (``python -m search.whoosh.parallel``), so they inherit neither
the reindex lock nor anything else open, and do not depend on the caller's __main__
(as multiprocessing's spawn would); each reads its whole share up front and never waits
on the parent, and gives up as soon as the parent is gone. A killed reindex therefore
leaves no process behind holding anything, and the unpublished build folder is removed
by the next reindex.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from whoosh import index as whoosh_index

from ..corpus.drugnames import NameLinker
from ..corpus.parsing import read_monograph
from ..corpus.reviews import Reviews
from ..corpus.vocabulary import Vocabulary
from ..errors import MonographError, MonosearchError
from . import adapter

WORKERS_ENV = "MONOSEARCH_INDEX_WORKERS"  # processes for a large batch (1: no parallelism)
MIN_FILES_ENV = "MONOSEARCH_PARALLEL_MIN_FILES"
PARALLEL_MIN_FILES = 400  # below this, starting processes (~0.4 s) costs more than it saves
# A worker starts a new segment after this many sections, and its writer may hold that
# many in memory: when Whoosh's posting pool outgrows its limit it pickles every posting
# to disk and merges them back, a third of the time of a 35k-section build. ~700 MB.
SEGMENT_SECTIONS = 10_000
WORKER_LIMIT_MB = 1024

Job = tuple[str, Path, str]  # (slug, file, path as shown in messages)


def worker_count(files: int, wanted: int | None = None) -> int:
    """How many processes should index this many changed files (wanted: the caller's
    choice, else MONOSEARCH_INDEX_WORKERS, else up to 2 as cores allow)."""
    if wanted is None:
        wanted = _setting(WORKERS_ENV, min(2, os.cpu_count() or 1))
    minimum = _setting(MIN_FILES_ENV, PARALLEL_MIN_FILES)
    return max(1, min(wanted, files)) if files >= minimum else 1


def _setting(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default  # a mistyped setting should not stop a reindex


def build_segments(folder: Path, jobs: list[Job], vocabulary: Vocabulary, names: NameLinker,
                   reviews: Reviews, workers: int, root: Path) -> tuple[list, dict[str, dict],
                                                      list[MonographError]]:
    """(new segments, manifest fields by slug, rejected files) for jobs split among
    workers writing into the Whoosh index in folder."""
    running = []
    names.prepare_cache()
    try:
        for share in (jobs[i::workers] for i in range(workers)):
            process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE)
            running.append(process)
            pickle.dump((str(folder), share, vocabulary, names, reviews, os.getpid(),
                         SEGMENT_SECTIONS, root),
                        process.stdin)
            process.stdin.close()
        segments, built, errors = [], {}, []
        for process in running:
            answer = process.stdout.read()
            if process.wait() != 0 or not answer:
                raise MonosearchError(f"an indexing worker failed (exit code "
                                      f"{process.returncode}); nothing was published")
            made, done, rejected = pickle.loads(answer)
            segments += made
            built.update(done)
            errors += [MonographError(path, reason, line) for path, reason, line in rejected]
        return segments, built, errors
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()


def _work(folder: str, jobs: list[Job], vocabulary: Vocabulary, names: NameLinker,
          reviews: Reviews, parent: int, segment_sections: int, root: Path) -> tuple:
    from . import store
    from .indexer import WRITER_TIMEOUT_SECONDS, add_monograph, open_writer

    index = whoosh_index.open_dir(folder)
    segments, built, rejected = [], {}, []
    writer, sections = None, 0
    for slug, file, shown in jobs:
        if os.getppid() != parent:
            os._exit(1)  # the reindex is gone; its folder will be removed
        store.crash_point("parsing")
        if writer is None:
            # hold_lock=False: the parent holds the index's write lock; a worker only
            # writes new segments of its own, which the parent's commit adds (as Whoosh's
            # MpWriter does).
            writer = open_writer(index, hold_lock=False, timeout=WRITER_TIMEOUT_SECONDS,
                                 limitmb=WORKER_LIMIT_MB)
        try:
            built[slug] = add_monograph(writer, read_monograph(file, shown, root=root),
                                        vocabulary, names, reviews)
        except MonographError as err:
            rejected.append((err.path, err.reason, err.line))
            continue
        sections += built[slug]["sections"]
        if sections >= segment_sections:
            segments.append(adapter.finish_segment(writer))
            writer, sections = None, 0
    if writer is not None:
        if sections:
            segments.append(adapter.finish_segment(writer))
        else:
            writer.cancel()
    index.close()
    return segments, built, rejected


if __name__ == "__main__":
    answer = _work(*pickle.load(sys.stdin.buffer))
    sys.stdout.buffer.write(pickle.dumps(answer))
