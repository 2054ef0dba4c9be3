"""A small HTTP/1.1 keep-alive load generator, run in its own process so it never shares a loop with a server.

``python -m benchmarks.gateway_load PORT PATH SECONDS CONCURRENCY HEADERS_JSON BODY_JSON`` prints one JSON
line: requests, seconds, rate, statuses and latency percentiles (ms). Raw asyncio streams keep the
generator cheap, so the server (not the client) is what is measured. ``{conn}`` in the body is replaced by
the connection's number, so each connection can work on its own stream (e.g. its own account).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter


async def connection(
    port: int, request: bytes, until: float, latencies: list[float], statuses: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
    finally:
        writer.close()


async def run(
    port: int, path: str, seconds: float, concurrency: int, headers: dict[str, str], body: bytes
) -> None:
    def request(conn: int) -> bytes:
        own = body.replace(b"{conn}", str(conn).encode())
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(own)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + own

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    until = started + seconds
    clients = [connection(port, request(n), until, latencies, statuses) for n in range(concurrency)]
    await asyncio.gather(*clients)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000

    print(
        json.dumps(
            {
                "requests": len(ordered),
                "seconds": elapsed,
                "rate": len(ordered) / elapsed,
                "statuses": dict(statuses),
                "p50_ms": pct(50),
                "p99_ms": pct(99),
            }
        )
    )


if __name__ == "__main__":
    port, path, seconds, concurrency, headers, body = sys.argv[1:7]
    asyncio.run(run(int(port), path, float(seconds), int(concurrency), json.loads(headers), body.encode()))
