"""Errors raised by the library; all share one base class."""


class MonosearchError(Exception):
    """Base class for every error the library raises on purpose."""


class MonographError(MonosearchError):
    """A monograph file cannot be parsed. ``str()`` is one line naming file and reason."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class BadRequest(MonosearchError):
    """A search parameter is invalid; the HTTP layer maps it to 400."""

    def __init__(self, message: str, code: str = "bad_parameter"):
        self.code = code
        super().__init__(message)


class IndexNotBuilt(MonosearchError):
    """No usable index generation exists (never built, missing or damaged)."""


class IndexLocked(MonosearchError):
    """Another reindex holds the lock."""


class CorpusNotFound(MonosearchError):
    """The corpus folder does not exist."""
