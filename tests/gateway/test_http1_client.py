"""The gateway's HTTP/1.1 client against small real servers: framing, keep-alive, stale links, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from riverbed.errors import ConfigurationError
from riverbed.gateway.upstreams.http1 import Http1Client, HttpTransportError
from riverbed.testing.ports import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


class Server:
    """A raw asyncio TCP server on 127.0.0.1 that counts connections and requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[str, bytes]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer, self)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def read_request(self, reader: asyncio.StreamReader) -> bool:
        """Read one request; False at the end of the connection."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode().split("\r\n")
        length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length"))
        self.requests.append((lines[0], await reader.readexactly(length)))
        return True


Serve = Callable[[Handler], Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[Server] = []

    async def start(handler: Handler) -> Server:
        server = Server(handler)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        assert server.server is not None
        server.server.close()


def _answer(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "content-type: application/json", f"content-length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
    while await server.read_request(reader):
        line, body = server.requests[-1]
        writer.write(_answer(json.dumps({"line": line, "got": json.loads(body or b"null")}).encode()))
        await writer.drain()


async def test_sends_json_and_reuses_one_connection_for_sequential_requests(serve: Serve) -> None:
    server = await serve(_echo)
    client = Http1Client(f"http://127.0.0.1:{server.port}/base")
    try:
        for n in range(5):
            status, body = await client.request("POST", f"/things/{n}", {"n": n, "text": "é"})
            assert status == 200
            assert json.loads(body) == {
                "line": f"POST /base/things/{n} HTTP/1.1",
                "got": {"n": n, "text": "é"},
            }
        status, body = await client.request("GET", "/status")
        assert json.loads(body)["got"] is None
    finally:
        await client.aclose()
    assert server.connections == 1
    assert len(server.requests) == 6


async def test_concurrent_requests_use_separate_connections_then_keep_them(serve: Serve) -> None:
    server = await serve(_echo)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    try:
        answers = await asyncio.gather(*(client.request("POST", "/x", {"n": n}) for n in range(8)))
        assert sorted(json.loads(body)["got"]["n"] for _, body in answers) == list(range(8))
        await asyncio.gather(*(client.request("POST", "/x", {"n": n}) for n in range(8)))
    finally:
        await client.aclose()
    assert server.connections == 8


async def test_reads_chunked_and_close_delimited_answers(serve: Serve) -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b'4\r\n{"a"\r\n3;ext=1\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n')
        await server.read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"b": 2}')
        await writer.drain()

    server = await serve(chunked)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    try:
        assert await client.request("POST", "/one", {}) == (201, b'{"a": 1}')
        assert await client.request("POST", "/two", {}) == (200, b'{"b": 2}')
    finally:
        await client.aclose()
    assert server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(serve: Serve) -> None:
    async def one_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server
    ) -> None:
        await server.read_request(reader)
        writer.write(_answer(b"{}"))  # keep-alive offered, then closed (a keep-alive timeout)
        await writer.drain()

    server = await serve(one_per_connection)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    try:
        for _ in range(3):
            assert await client.request("POST", "/x", {}) == (200, b"{}")
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    assert server.connections == 3
    assert len(server.requests) == 3


async def test_a_reused_connection_closed_as_the_request_arrives_is_retried_once_on_a_new_one(
    serve: Serve,
) -> None:
    async def drop_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await server.read_request(reader)
        writer.write(_answer(b"{}"))
        await writer.drain()
        if server.connections == 1:
            await server.read_request(reader)  # read the second request, then hang up without a byte

    server = await serve(drop_second)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    try:
        assert await client.request("POST", "/x", {"n": 1}) == (200, b"{}")
        assert await client.request("POST", "/x", {"n": 2}) == (200, b"{}")
    finally:
        await client.aclose()
    assert server.connections == 2
    assert [json.loads(body)["n"] for _, body in server.requests] == [1, 2, 2]


async def test_a_fresh_connection_closed_without_an_answer_is_an_error_not_a_retry(serve: Serve) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await server.read_request(reader)

    server = await serve(hang_up)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    with pytest.raises(HttpTransportError, match="closed the connection"):
        await client.request("POST", "/x", {})
    assert len(server.requests) == 1


async def test_a_truncated_answer_is_an_error(serve: Serve) -> None:
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await server.read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"short"')
        await writer.drain()

    server = await serve(truncated)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    with pytest.raises(HttpTransportError, match="IncompleteReadError"):
        await client.request("POST", "/x", {})


async def test_a_refused_connection_and_a_silent_server_are_transport_errors(serve: Serve) -> None:
    refused = Http1Client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(HttpTransportError, match="cannot connect"):
        await refused.request("POST", "/x", {})

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await server.read_request(reader)
        await asyncio.sleep(5)

    server = await serve(silent)
    slow = Http1Client(f"http://127.0.0.1:{server.port}", timeout=0.1)
    with pytest.raises(HttpTransportError, match=r"no answer .* in 0\.1s"):
        await slow.request("POST", "/x", {})


async def test_requests_after_close_fail_and_bad_urls_are_refused(serve: Serve) -> None:
    server = await serve(_echo)
    client = Http1Client(f"http://127.0.0.1:{server.port}")
    await client.request("GET", "/x")
    await client.aclose()
    with pytest.raises(HttpTransportError, match="closed"):
        await client.request("GET", "/x")
    for url in ("https://127.0.0.1:1", "127.0.0.1:8000", "http:///nohost"):
        with pytest.raises(ConfigurationError, match="http://host:port"):
            Http1Client(url)
    for headers in ({"X-Key": "a\r\nInjected: yes"}, {"Bad Name": "x"}):
        with pytest.raises(ConfigurationError, match="not a valid HTTP header"):
            Http1Client("http://127.0.0.1:1", headers=headers)


async def test_extra_headers_go_with_every_request(serve: Serve) -> None:
    heads: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        for _ in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head)
            writer.write(_answer(b"{}"))
            await writer.drain()

    server = await serve(record)
    client = Http1Client(f"http://127.0.0.1:{server.port}", headers={"X-Api-Key": "k-1"})
    try:
        await client.request("GET", "/a")
        await client.request("GET", "/b")
    finally:
        await client.aclose()
    assert [head.count(b"\r\nX-Api-Key: k-1\r\n") for head in heads] == [1, 1]
