"""Free TCP ports on 127.0.0.1, for tests and benchmarks that start servers of their own.

``free_port()`` is one port nobody listens on now; ``free_port_block(n)`` is the first of ``n`` consecutive
free ports (a distributed system's roles serve on ``base_port + i``). A port found free can be taken by
another process before it is used: callers that start servers should fail clearly when a bind fails.
``reachable(url, default_port)`` says whether a server (PostgreSQL, NATS) accepts connections at a URL.
"""

from __future__ import annotations

import random
import socket
from urllib.parse import urlsplit


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive free ports on 127.0.0.1."""
    for _ in range(100):
        base = random.randrange(20_000, 60_000)
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no block of {size} free ports found on 127.0.0.1")


def reachable(url: str, default_port: int, *, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections at ``url``'s host and port (``default_port`` if none)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=timeout
        ):
            return True
    except OSError:
        return False
