"""A few Typesense endpoints over keep-alive HTTP with the standard library.

The ``typesense`` 2.x client targets Typesense 30 and warns (DeprecationWarning) on
ordinary calls against the 0.24 server we install, so we speak HTTP ourselves.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse

from ..errors import IndexNotBuilt, MonosearchError

REQUEST_TIMEOUT_SECONDS = 10.0


class TypesenseError(MonosearchError):
    """Typesense answered with an error status."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"typesense {status}: {message}")


# -- HTTP ---------------------------------------------------------------------------------
class TypesenseClient:
    """A few Typesense endpoints over keep-alive HTTP, one connection per thread."""

    def __init__(self, url: str, api_key: str, timeout: float = REQUEST_TIMEOUT_SECONDS):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 8108
        self.https = parts.scheme == "https"
        self.api_key = api_key
        self.timeout = timeout
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []  # every thread's, for close()
        self._opened_lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            connection = kind(self.host, self.port, timeout=self.timeout)
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    def request(self, method: str, path: str, params: dict | None = None,
                body: dict | bytes | None = None, raw: bool = False):
        """JSON (or raw text) of one call; TypesenseError on an error status,
        IndexNotBuilt when the server cannot be reached."""
        if params:
            path += "?" + urllib.parse.urlencode(params)
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"X-TYPESENSE-API-KEY": self.api_key, "Content-Type": "application/json"}
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            connection = self._connection()
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8")
                break
            except (OSError, http.client.HTTPException) as err:
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise IndexNotBuilt(f"typesense at {self.host}:{self.port} "
                                        f"is unreachable ({err})") from err
        if response.status >= 400:
            try:
                message = json.loads(text).get("message", text)
            except ValueError:
                message = text
            raise TypesenseError(response.status, message)
        return text if raw else json.loads(text)

    def close(self) -> None:
        """Close every thread's connection (a later call reconnects)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()
