"""Errors raised by the library; all share one base class."""

import re


class MonosearchError(Exception):
    """Base class for every error the library raises on purpose."""


class MonographError(MonosearchError):
    """A monograph file cannot be parsed. ``str()`` is one line naming file and reason."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        # A file name may hold a newline or an escape code: printed as \xNN.
        shown = re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", path)
        where = f"{shown}:{line}" if line else shown
        super().__init__(f"{where}: {reason}")


class BadRequest(MonosearchError):
    """A search parameter is invalid; the HTTP layer maps it to 400."""

    def __init__(self, message: str, code: str = "bad_parameter"):
        self.code = code
        super().__init__(message)


class IndexNotBuilt(MonosearchError):
    """No usable index generation exists (never built, missing or damaged)."""


class EngineUnavailable(IndexNotBuilt):
    """The search engine cannot answer now: no node reachable, or a cluster without a
    quorum. It recovers by itself when a node returns."""


class IndexLocked(MonosearchError):
    """Another reindex holds the lock."""


class CorpusNotFound(MonosearchError):
    """The corpus folder does not exist."""


class StorageError(MonosearchError):
    """The index folder cannot be written (a full disk, a read-only folder, no
    permission); one line naming the path and the error."""
