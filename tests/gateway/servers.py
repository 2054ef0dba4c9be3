"""Run an ASGI app under a real uvicorn server on 127.0.0.1 in a background thread (its own event loop)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from riverbed.testing.ports import free_port


@contextmanager
def serve_in_thread(build: Callable[[], Awaitable[Any]]) -> Iterator[str]:
    """Build the app inside the server's loop (``await build()``), serve it, yield its base URL."""
    port = free_port()
    holder: dict[str, uvicorn.Server] = {}

    def run() -> None:
        async def main() -> None:
            app = await build()
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
            )
            holder["server"] = server
            await server.serve()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (holder.get("server") and holder["server"].started):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        holder["server"].should_exit = True
        thread.join(10)
