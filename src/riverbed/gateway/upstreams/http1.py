"""A small HTTP/1.1 JSON client for the calls between riverbed's own processes (gateway -> service).

The gateway calls a service process once per command. A general-purpose client (httpx) spends about
2-3 ms of CPU per call on this machine in pool bookkeeping, async-library detection and per-request
objects, more than the command itself costs; this client does only what these calls need:

* one origin (``http://host:port``), keep-alive connections pooled (up to ``max_idle`` kept idle), the
  same extra ``headers`` on every request;
* ``request(method, path, payload)`` sends JSON and returns ``(status, body bytes)``; the answer may be
  sized by ``Content-Length``, chunked, or end with the connection;
* a refused, reset or timed-out connection raises :class:`HttpTransportError`. A pooled connection
  that the server closed while idle (its keep-alive timeout) is detected, and a request that got no byte
  of answer on a reused connection is sent once more on a new one, as browsers do; the calls it carries
  are idempotent (commands carry their id).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic_core import to_json

from riverbed.errors import ConfigurationError

_MAX_HEAD = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class HttpTransportError(ConnectionError):
    """The request could not be sent or its answer not read (refused, reset, timed out, malformed)."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        """False when the server closed the connection while it sat idle."""
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class Http1Client:
    """Keep-alive JSON requests to one origin (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 1.0,
        max_idle: int = 64,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigurationError(f"an upstream URL must look like http://host:port, got {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.origin = f"{self.host}:{self.port}"
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._idle: list[_Connection] = []
        extra = dict(headers or {})
        for name, value in extra.items():
            if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
                raise ConfigurationError(f"header {name!r}: {value!r} is not a valid HTTP header")
        self._head = f"Host: {self.origin}\r\nContent-Type: application/json\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in extra.items()
        )
        self._closed = False

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, bytes]:
        """Send ``payload`` as JSON (none when None) and return the status and the body."""
        body = b"" if payload is None else to_json(payload)
        head = (
            f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        while True:
            connection, reused = await self._connection()
            try:
                async with asyncio.timeout(self.timeout):
                    status, answer, keep = await self._exchange(connection, head + body)
            except _NothingReceived as exc:
                connection.close()
                if reused:
                    continue  # the server closed it as we sent: once more on a fresh connection
                raise HttpTransportError(f"{self.origin} closed the connection: {exc}") from exc
            except TimeoutError as exc:
                connection.close()
                raise HttpTransportError(f"no answer from {self.origin} in {self.timeout:g}s") from exc
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                connection.close()
                raise HttpTransportError(f"{type(exc).__name__} talking to {self.origin}") from exc
            except BaseException:
                connection.close()  # cancelled mid-exchange: the connection's state is unknown
                raise
            if keep and not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(connection)
            else:
                connection.close()
            return status, answer

    async def aclose(self) -> None:
        """Close every idle connection; requests after this fail."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        for connection in idle:
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()

    async def _connection(self) -> tuple[_Connection, bool]:
        if self._closed:
            raise HttpTransportError(f"the client for {self.origin} is closed")
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection, True
            connection.close()
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port, limit=_MAX_HEAD)
        except (OSError, TimeoutError) as exc:
            raise HttpTransportError(f"cannot connect to {self.origin}: {exc or 'timed out'}") from exc
        return _Connection(reader, writer), False

    async def _exchange(self, connection: _Connection, request: bytes) -> tuple[int, bytes, bool]:
        reader = connection.reader
        connection.writer.write(request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _NothingReceived("no answer") from exc
            raise
        except ConnectionResetError as exc:
            raise _NothingReceived(str(exc)) from exc
        status, headers = _parse_head(head)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            return status, await reader.read(), False
        keep = headers.get("connection", "").lower() != "close"
        return status, body, keep


class _NothingReceived(Exception):
    """The connection ended before any byte of the answer (a stale keep-alive connection)."""


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
