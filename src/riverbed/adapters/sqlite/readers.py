"""Reader threads: each has its own read-only connection, so reads never wait for the writer (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from riverbed.adapters.sqlite.schema import connect

T = TypeVar("T")


class Readers:
    """A small pool of threads, each lazily opening one read-only connection it alone uses."""

    def __init__(self, path: Path, *, threads: int, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=f"riverbed-sqlite-reader:{path.name}"
        )

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(connection, *args)`` on a reader thread and return its result."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._call, work, args)

    def _call(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, busy_timeout=self._busy_timeout, read_only=True)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return work(conn, *args)

    async def close(self) -> None:
        """Wait for running reads, then close every connection (off the event loop)."""
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
