"""Index generations on disk, the pointer to the live one, and the reindex lock.

Layout of an index folder::

    CURRENT              name of the live generation, replaced atomically
    .lock                flock()ed by the reindex that is running
    gen-000007-3fa2c1/   a complete Whoosh index, manifest.json (with every file's
                         size and checksum) and READERS
    .tmp-gen-000008-...  a generation being built (removed if its builder died)

Readers only ever open the generation CURRENT names, so they never see a half-built
index; a killed reindex leaves CURRENT untouched. Every process serving a generation
holds a shared flock() on its READERS file; an old generation is removed once nobody
holds it (flock dies with its process, so a crashed server never pins one forever), and
at most MAX_OLD_GENERATIONS are kept for slow readers in any case.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexLocked, IndexNotBuilt

CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
MANIFEST_FILE = "manifest.json"
READERS_FILE = "READERS"
TMP_PREFIX = ".tmp-"
MAX_OLD_GENERATIONS = 4  # generations still in use are kept, but never more than this
CRASH_ENV = "MONOSEARCH_CRASH_AT"  # fault injection for the crash-safety tests
LOCK_POLL_SECONDS = 0.1
# gen-000007-3fa2c1: a number that orders generations and a random suffix, so that an
# index folder deleted and built again never reuses the name a server still holds.
_GEN_RE = re.compile(r"^gen-(\d{6,})(?:-[0-9a-f]{6})?$")
CHECKSUM_CHUNK = 1 << 20
KEEP_FALLBACK = 1  # old generations kept even when no reader holds them: a fallback


def generation_name(number: int) -> str:
    return f"gen-{number:06d}-{secrets.token_hex(3)}"


def generation_number(name: str) -> int:
    return int(_GEN_RE.match(name).group(1))


def current_generation(index_dir: Path) -> str | None:
    """Name of the live generation, or None when no index was ever published."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise IndexNotBuilt(f"cannot read {index_dir / CURRENT_FILE}: {err}") from err
    if not _GEN_RE.match(name):
        raise IndexNotBuilt(f"{index_dir / CURRENT_FILE} names no generation ({name[:40]!r})")
    return name


def _current_if_readable(index_dir: Path) -> str | None:
    try:
        return current_generation(index_dir)
    except IndexNotBuilt:
        return None  # a damaged pointer is replaced by the next publish


def read_manifest(generation_dir: Path) -> dict:
    try:
        manifest = json.loads((generation_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise IndexNotBuilt(f"index generation {generation_dir} is damaged: {err}") from err
    if not isinstance(manifest, dict):
        raise IndexNotBuilt(f"index generation {generation_dir} is damaged: its manifest "
                            "is not an object")
    return manifest


def list_generations(index_dir: Path) -> list[str]:
    if not index_dir.is_dir():
        return []
    return sorted(p.name for p in index_dir.iterdir() if _GEN_RE.match(p.name))


def next_generation_number(index_dir: Path) -> int:
    numbers = [generation_number(name) for name in list_generations(index_dir)]
    current = _current_if_readable(index_dir)
    if current:
        numbers.append(generation_number(current))
    return max(numbers, default=0) + 1


@contextmanager
def reindex_lock(index_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's reindex lock. flock() dies with its process, so a killed
    reindex never leaves a stale lock behind."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_FILE
    handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 - closed in finally
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise IndexLocked(
                        f"another reindex is running on {index_dir} (pid {holder}); "
                        "wait for it or pass --wait SECONDS") from None
                time.sleep(LOCK_POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def start_generation(index_dir: Path, name: str, base: str | None) -> Path:
    """A fresh build folder; with base, a hard-linked copy of that generation (Whoosh
    never rewrites a segment file in place, so the live generation is not touched)."""
    tmp = index_dir / f"{TMP_PREFIX}{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if base:
        for item in (index_dir / base).iterdir():
            if item.is_file() and not item.name.endswith("LOCK") \
                    and item.name not in (MANIFEST_FILE, READERS_FILE):
                try:
                    os.link(item, tmp / item.name)
                except OSError:
                    shutil.copy2(item, tmp / item.name)
    return tmp


def publish_generation(index_dir: Path, tmp: Path, name: str, manifest: dict,
                       known: dict[str, list] | None = None) -> str:
    """Make a finished build the live generation, crash-safely. The manifest gets the
    size and checksum of every file (``known``: the base generation's, reused for the
    files hard-linked from it)."""
    manifest = {**manifest, "files": file_checksums(tmp, known or {})}
    (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (tmp / READERS_FILE).touch()
    for item in tmp.iterdir():
        _fsync_file(item)
    _fsync_dir(tmp)
    crash_point("synced")
    final = index_dir / name
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    crash_point("renamed")
    pointer = index_dir / f"{TMP_PREFIX}{CURRENT_FILE}-{os.getpid()}"
    pointer.write_text(name + "\n", encoding="ascii")
    _fsync_file(pointer)
    crash_point("pointer-written")
    os.replace(pointer, index_dir / CURRENT_FILE)
    _fsync_dir(index_dir)
    crash_point("published")
    return name


def collect_garbage(index_dir: Path, keep_old: int = MAX_OLD_GENERATIONS) -> list[str]:
    """Remove leftovers of dead builds, old generations no reader holds (but the newest
    intact one, kept as a fallback should the live one be damaged), and the oldest ones
    beyond ``keep_old`` even if held. Call only while holding the reindex lock."""
    removed = []
    current = _current_if_readable(index_dir)
    for item in index_dir.iterdir():
        if item.name.startswith(TMP_PREFIX):
            _remove(item)
            removed.append(item.name)
    old = [g for g in list_generations(index_dir) if g != current]
    fallback = next((g for g in reversed(old) if not damage(index_dir / g, full=False)),
                    None)
    for position, name in enumerate(old):
        if position < len(old) - keep_old or (not _in_use(index_dir / name)
                                               and name != fallback):
            _remove(index_dir / name)
            removed.append(name)
    return removed


# -- checksums --------------------------------------------------------------------------
def file_checksums(folder: Path, known: dict[str, list]) -> dict[str, list]:
    """name -> [size, mtime_ns, sha256] of every file of a generation folder but the
    manifest and READERS; a file with the size and mtime of ``known`` keeps its sum (a
    hard link to the base generation's file)."""
    found = {}
    for item in sorted(folder.iterdir()):
        if not item.is_file() or item.name in (MANIFEST_FILE, READERS_FILE):
            continue
        info = item.stat()
        previous = known.get(item.name)
        if previous and previous[:2] == [info.st_size, info.st_mtime_ns]:
            found[item.name] = previous
        else:
            found[item.name] = [info.st_size, info.st_mtime_ns, _sha256(item)]
    return found


def unverified(manifest: dict) -> bool:
    """A generation written before manifests held checksums: served (with a warning)
    but never built on or kept as a fallback; the next reindex rebuilds in full."""
    files = manifest.get("files")
    return not isinstance(files, dict) or not files


def damage(folder: Path, manifest: dict | None = None, full: bool = True) -> str | None:
    """What is wrong with a generation's files (None: intact): a missing, resized or
    (``full``) changed file, or a manifest without checksums."""
    try:
        manifest = manifest if manifest is not None else read_manifest(folder)
    except IndexNotBuilt as err:
        return str(err)
    if unverified(manifest):
        return f"{folder.name} has no checksums (built by an older version; rebuild it)"
    for name, entry in sorted(manifest["files"].items()):
        if not (isinstance(entry, list) and len(entry) == 3 and "/" not in name):
            return f"{MANIFEST_FILE} is damaged (entry {name!r})"
        size, _, digest = entry
        path = folder / name
        try:
            actual = path.stat().st_size
        except OSError as err:
            return f"{name} cannot be read ({err.strerror})"
        if actual != size:
            return f"{name} has {actual} bytes, {size} when written"
        if full:
            try:
                if _sha256(path) != digest:
                    return f"{name} does not match its checksum"
            except OSError as err:
                return f"{name} cannot be read ({err.strerror})"
    return None


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def hold_generation(folder: Path):
    """A shared lock on a generation's READERS file, held while serving from it; close
    the returned handle to let go. Opened for reading, so that an index on a read-only
    mount is served."""
    handle = open(folder / READERS_FILE, "rb")  # noqa: SIM115 - the caller closes it
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


def _in_use(folder: Path) -> bool:
    try:
        with open(folder / READERS_FILE, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False  # no READERS file: nobody can hold it


_crash_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Fault injection: with MONOSEARCH_CRASH_AT=name (or name:N for its N-th passage)
    the process kills itself here with SIGKILL, as a power cut or the OOM killer would."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
