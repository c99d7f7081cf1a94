"""Reading a corpus folder without trusting it: only regular files inside the folder,
bounded reads, and the bytes that are hashed are the bytes that are parsed.

A corpus is editors' files, so it can hold anything a folder can: a symlink to
/etc/passwd or to /dev/zero, a FIFO named like a monograph (opening it waits forever),
a folder nobody may read, file names with newlines or escape codes. Each of those is
one `rejected:` line naming the file and the reason; nothing outside the folder is read,
nothing blocks, and no read is larger than the parser accepts.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import MonographError

MAX_BYTES = 1024 * 1024  # files larger than 1 MiB are rejected
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
          stat.S_IFDIR: "a folder"}
def corpus_files(root: Path) -> tuple[list[Path], list[MonographError]]:
    """Every ``*.md`` below root (sorted; hidden files and folders skipped; linked
    folders not entered), and one error per folder that cannot be read."""
    found: list[Path] = []
    errors: list[MonographError] = []

    def unreadable(err: OSError) -> None:
        errors.append(MonographError(err.filename or str(root),
                                     f"cannot read folder ({err.strerror})"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.lower().endswith(".md") and not name.startswith("."):
                found.append(Path(folder) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix()), errors


def check_file(file: Path, shown: str, root: Path) -> os.stat_result:
    """The stat of a corpus file that may be read: a regular file of at most MAX_BYTES,
    inside root even if it is a link. Raises MonographError."""
    try:
        if stat.S_ISLNK(os.lstat(file).st_mode):
            target = file.resolve(strict=True)
            if not target.is_relative_to(root.resolve()):
                raise MonographError(shown, "is a link to a file outside the corpus folder "
                                            "(not read)")
        info = os.stat(file)
    except OSError as err:
        raise MonographError(shown, f"cannot read file ({err.strerror})") from err
    _check_kind(info, shown)
    return info


def read_file(file: Path, shown: str, root: Path | None = None) -> bytes:
    """The bytes of a monograph file: a regular file (after links, which must stay
    inside ``root`` when given), at most MAX_BYTES. Raises MonographError."""
    try:
        target = file
        if root is not None:
            target = file.resolve(strict=True)
            if not target.is_relative_to(root.resolve()):
                raise MonographError(shown, "is a link to a file outside the corpus folder "
                                            "(not read)")
        info = os.stat(target)
        _check_kind(info, shown)
        # O_NONBLOCK: a file swapped for a FIFO after the check must not block the open;
        # O_NOFOLLOW: nor may one swapped for a link lead outside the corpus.
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
        if root is not None:
            flags |= os.O_NOFOLLOW
        descriptor = os.open(target, flags)
        try:
            _check_kind(os.fstat(descriptor), shown)
            chunks, size = [], 0
            while size <= MAX_BYTES:
                chunk = os.read(descriptor, MAX_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(descriptor)
    except OSError as err:
        raise MonographError(shown, f"cannot read file ({err.strerror})") from err
    if size > MAX_BYTES:
        raise MonographError(shown, f"file is larger than 1 MiB (more than {MAX_BYTES} "
                                    "bytes)")
    return b"".join(chunks)


def _check_kind(info: os.stat_result, shown: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise MonographError(shown, f"is {kind}, not a regular file (not read)")
    if info.st_size > MAX_BYTES:
        raise MonographError(shown, f"file is larger than 1 MiB ({info.st_size} bytes)")
