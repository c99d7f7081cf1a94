"""Typesense calls through the official client (the ``typesense`` package, kept by the
Typesense team): a list of nodes, an optional nearest node, retries on another node when
one fails or answers 5xx, a node marked unhealthy skipped until its health check is due,
timeouts. We call its ApiCall layer with our own paths (our code speaks the 0.24 API
we install); what we add is one error type with the HTTP status, and the settings."""

from __future__ import annotations

import urllib.parse

import httpx
from typesense import exceptions
from typesense.configuration import Configuration
from typesense.sync.api_call import ApiCall

from ..errors import EngineUnavailable, MonosearchError

REQUEST_TIMEOUT_SECONDS = 10.0
# A failed request is tried again on the next node, for up to about 2 s: long enough
# for a cluster to elect a new leader after one is lost (writes fail until then).
RETRIES = 8
RETRY_INTERVAL_SECONDS = 0.25
HEALTHCHECK_SECONDS = 2  # a node that failed is tried again this soon: rejoin is quick

class TypesenseError(MonosearchError):
    """Typesense answered with an error status."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"typesense {status}: {message}")


def parse_nodes(nodes: str | list[str]) -> list[dict]:
    """``http://h1:8108,http://h2:8108`` (or a list of URLs) as the client's node list;
    ValueError naming the entry that is not an http(s) URL with a host."""
    urls = nodes.split(",") if isinstance(nodes, str) else list(nodes)
    parsed = []
    for url in (u.strip() for u in urls):
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise ValueError(f"not a Typesense node URL: {url!r} (expected "
                             "http://host:port)")
        parsed.append({"host": parts.hostname, "protocol": parts.scheme,
                       "port": port or (443 if parts.scheme == "https" else 8108)})
    if not parsed:
        raise ValueError("no Typesense node given")
    return parsed


class TypesenseClient:
    """Calls to a Typesense node or cluster. ``nodes``: one URL, a comma-separated list,
    or a list of URLs; ``nearest``: a node to try first (as the official client does)."""

    def __init__(self, nodes: str | list[str], api_key: str, *,
                 nearest: str | None = None, timeout: float = REQUEST_TIMEOUT_SECONDS):
        self.nodes = parse_nodes(nodes)
        # The client refuses an empty key; sent as "-", a server answers 401 as it did.
        settings = {"nodes": self.nodes, "api_key": api_key or "-",
                    "connection_timeout_seconds": timeout, "num_retries": RETRIES,
                    "retry_interval_seconds": RETRY_INTERVAL_SECONDS,
                    "healthcheck_interval_seconds": HEALTHCHECK_SECONDS}
        if nearest:
            settings["nearest_node"] = parse_nodes(nearest)[0]
        self._call = ApiCall(Configuration(settings))

    def request(self, method: str, path: str, params: dict | None = None,
                body: dict | bytes | None = None, raw: bool = False):
        """JSON (or raw text) of one call; TypesenseError on a 4xx status,
        EngineUnavailable when no node can answer (after retries on every node)."""
        as_json = not raw
        try:
            if method == "GET":
                return self._call.get(path, dict, as_json, params=params)
            if method == "POST":
                return self._call.post(path, dict, as_json, params=params, body=body)
            if method == "PUT":
                return self._call.put(path, dict, body=body, params=params)
            if method == "DELETE":
                return self._call.delete(path, dict, params=params)
            raise ValueError(f"unsupported method {method}")
        except exceptions.TypesenseClientError as err:
            # The client raises (status, message) for an answer, other errors for none.
            status = err.args[0] if len(err.args) == 2 else None
            if isinstance(status, int) and 0 < status < 500:
                raise TypesenseError(status, str(err.args[1])) from err
            # 5xx from every node tried (no leader, not ready), or no answer at all
            raise EngineUnavailable(f"typesense at {self.describe()} cannot answer "
                                    f"({err})") from err
        except httpx.HTTPError as err:  # every node refused or timed out, retries spent
            raise EngineUnavailable(f"typesense at {self.describe()} is unreachable "
                                    f"({type(err).__name__}: {err})") from err

    def describe(self) -> str:
        return ",".join(f"{n['host']}:{n['port']}" for n in self.nodes)

    def close(self) -> None:
        self._call.close()
