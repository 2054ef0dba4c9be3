"""Run one OS process of a system: start its assembly, serve its HTTP apps, stop gracefully on a signal.

The order matters on the way out (SIGINT or SIGTERM): the gateway stops accepting requests and finishes
the ones in flight, then the services drain (in-flight commands finish, new ones are refused with a
retryable 503 that a remote gateway sees in its next heartbeat), then the workers stop (pond workers settle
what they fetched, relays save their checkpoints), then the service API goes away and the stores close.

A worker that fails (a store that went read-only after an I/O error, a lost broker) stops the process with
a non-zero exit code: fail-stop, for a supervisor to restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn

from riverbed.runtime.system.assembly import Assembly

log = logging.getLogger("riverbed.run")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the host (which stops things in its own order)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True, slots=True)
class Served:
    """An ASGI app and where to serve it; ``front`` apps (the gateway) stop before the services drain."""

    app: Any
    host: str
    port: int
    front: bool = False


class WorkerFailed(Exception):
    """A worker of this process failed; the process stops so that a supervisor can restart it."""


def install_stop_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM (a second SIGINT is left to the default: stop at once)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, _once(stop, sig))


def _once(stop: asyncio.Event, sig: int) -> Callable[[], None]:
    def handler() -> None:
        if stop.is_set() and sig == signal.SIGINT:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        stop.set()

    return handler


async def run_process(
    assembly: Assembly,
    served: Callable[[], Sequence[Served]],
    *,
    stop: asyncio.Event,
    grace: float,
    on_started: Callable[[], None] | None = None,
    ready: Callable[[], bool] | None = None,
) -> None:
    """Start ``assembly``, serve what ``served()`` returns until ``stop`` is set (or a worker fails).

    ``served`` is called once the assembly has started, so the apps can be built from its endpoints.
    ``on_started`` is called once the apps are served and ``ready()`` holds (every service replayed, every
    view built, the gateway's health table has seen them ready), so what it prints is true when printed.
    """
    servers: list[tuple[Served, _Server, asyncio.Task[None]]] = []
    try:
        await assembly.start()
        for item in served():
            config = uvicorn.Config(
                item.app,
                host=item.host,
                port=item.port,
                log_level="warning",
                access_log=False,
                lifespan="on" if item.front else "off",
                timeout_graceful_shutdown=max(1, int(grace)),
            )
            server = _Server(config)
            servers.append((item, server, asyncio.create_task(server.serve(), name=f"serve-{item.port}")))
        await _until_started(servers)
        failure = asyncio.create_task(assembly.failed())
        while ready is not None and not ready() and not stop.is_set() and not failure.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # readiness is a predicate over several parts: poll it
        settle_heap()
        if on_started is not None and not stop.is_set() and not failure.done():
            on_started()
        stopped = asyncio.create_task(stop.wait())
        exited = [task for _, _, task in servers]
        done, _ = await asyncio.wait([failure, stopped, *exited], return_when=asyncio.FIRST_COMPLETED)
        failure.cancel()
        stopped.cancel()
        if failure in done and not failure.cancelled():
            error = failure.result()
            raise WorkerFailed(f"a worker failed: {type(error).__name__}: {error}") from error
        for task in exited:
            if task in done and task.exception() is not None:
                raise WorkerFailed(f"an HTTP server failed: {task.exception()}")
    finally:
        await _shutdown(assembly, servers, grace=grace)


def settle_heap() -> None:
    """Collect once, then move everything start-up built (modules, apps, replayed state) out of the GC's way.

    Without this, the cyclic collector's full passes walk every start-up object again and again: one took
    19-28 ms in the bank's process, which shows up as the p99 of a request that happens to trigger it.
    """
    gc.collect()
    gc.freeze()


async def _until_started(servers: list[tuple[Served, _Server, asyncio.Task[None]]]) -> None:
    while not all(server.started for _, server, _ in servers):
        for item, _, task in servers:
            if task.done():
                error = task.exception()
                raise WorkerFailed(
                    f"could not serve on {item.host}:{item.port}"
                    + (f": {error}" if error else " (is the port already in use?)")
                )
        await asyncio.sleep(0.02)


async def _shutdown(
    assembly: Assembly, servers: list[tuple[Served, _Server, asyncio.Task[None]]], *, grace: float
) -> None:
    async def stop_servers(front: bool) -> None:
        chosen = [(server, task) for item, server, task in servers if item.front is front]
        for server, _ in chosen:
            server.should_exit = True
        if chosen:
            await asyncio.wait([task for _, task in chosen], timeout=grace + 2)

    await stop_servers(front=True)
    try:
        await assembly.stop(grace=grace)
    finally:
        await stop_servers(front=False)
        await assembly.resources.close()
