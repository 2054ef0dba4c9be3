"""The concrete resources of a running system, embedded or distributed (see ``riverbed.runtime.system``).

* :class:`EmbeddedResources`: one SQLite file per context store under the data directory, a SQLite view
  store per view, the in-process bus. Needs no server at all.
* :class:`DistributedResources`: one PostgreSQL schema per context (``<prefix>_<context>``) and per view
  replica (``<prefix>_view_<view>_<n>``), NATS JetStream for the bus, durable relay checkpoints next to
  each context's events.

Both open things on first use, share them within the process and close them all in :meth:`close`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from riverbed.bootstrap import open_bus, open_store, open_view_store
from riverbed.ports.bus import Bus
from riverbed.ports.event_store import EventStore
from riverbed.ports.outbox import RelayCheckpoints
from riverbed.ports.topology import Rapids
from riverbed.ports.views import ViewStore


def system_rapids(prefix: str) -> Rapids:
    """The rapids of the system called ``prefix``: its own stream and subjects on a shared broker."""
    return Rapids(name=f"{prefix.upper()}_RAPIDS", subject_prefix=f"{prefix}.rapids")


class _Opened:
    """Shared open-once bookkeeping: every opened object, closed in reverse order."""

    def __init__(self, rapids: Rapids) -> None:
        self.rapids = rapids
        self._cache: dict[tuple[str, ...], Any] = {}
        self._closers: list[Any] = []

    async def _once(self, key: tuple[str, ...], opener: Any) -> Any:
        if key not in self._cache:
            opened = await opener()
            self._cache[key] = opened
            self._closers.append(opened)
        return self._cache[key]

    async def close(self) -> None:
        """Close everything opened, newest first (the bus before the stores its relays read)."""
        errors: list[BaseException] = []
        for opened in reversed(self._closers):
            try:
                await opened.close()
            except Exception as exc:  # keep closing the rest
                errors.append(exc)
        self._closers.clear()
        self._cache.clear()
        if errors:
            raise errors[0]


class EmbeddedResources(_Opened):
    """SQLite files under ``data_dir`` and the in-process bus."""

    def __init__(self, data_dir: str | Path, *, rapids: Rapids | None = None) -> None:
        super().__init__(rapids or system_rapids("riverbed"))
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _url(self, name: str) -> str:
        return f"sqlite:///{(self.data_dir / name).resolve()}"

    async def store(self, context: str) -> EventStore:
        """``<data_dir>/<context>.db``."""
        store: EventStore = await self._once(
            ("store", context), lambda: open_store(self._url(f"{context}.db"))
        )
        return store

    async def view_store(self, view: str, replica: int) -> ViewStore:
        """``<data_dir>/view-<view>-<replica>.db`` (views are disposable: rebuilt from the stores)."""
        url = self._url(f"view-{view}-{replica}.db")
        views: ViewStore = await self._once(("view", view, str(replica)), lambda: open_view_store(url))
        return views

    async def relay_checkpoints(self, context: str) -> RelayCheckpoints:
        """In memory, like the bus: a restarted process republishes, and consumers are idempotent."""
        from riverbed.adapters.memory.inbox import MemoryRelayCheckpoints

        async def opener() -> RelayCheckpoints:
            return MemoryRelayCheckpoints()

        checkpoints: RelayCheckpoints = await self._once(("relay", context), opener)
        return checkpoints

    async def process_checkpoints(self, context: str) -> RelayCheckpoints:
        """``<data_dir>/<context>-processes.db``, durable: pending timers survive a restart."""
        from riverbed.adapters.sqlite.inbox import SQLiteRelayCheckpoints

        path = self.data_dir / f"{context}-processes.db"

        async def opener() -> RelayCheckpoints:
            return SQLiteRelayCheckpoints(path)

        checkpoints: RelayCheckpoints = await self._once(("processes", context), opener)
        return checkpoints

    async def bus(self) -> Bus:
        """The in-process bus (at-least-once, with retries and parking)."""
        bus: Bus = await self._once(("bus",), lambda: open_bus("memory://", rapids=self.rapids))
        return bus


class DistributedResources(_Opened):
    """A PostgreSQL schema per context and per view replica, and NATS JetStream."""

    def __init__(
        self, postgres_url: str, nats_url: str, *, prefix: str, rapids: Rapids | None = None
    ) -> None:
        super().__init__(rapids or system_rapids(prefix))
        self.postgres_url = postgres_url
        self.nats_url = nats_url
        self.prefix = prefix

    def schema_url(self, schema: str) -> str:
        """The PostgreSQL URL whose ``search_path`` is ``schema``."""
        sep = "&" if "?" in self.postgres_url else "?"
        return f"{self.postgres_url}{sep}options={quote(f'-csearch_path={schema}')}"

    def context_schema(self, context: str) -> str:
        """``<prefix>_<context>``."""
        return f"{self.prefix}_{context}".replace("-", "_")

    async def store(self, context: str) -> EventStore:
        """The context's store, in its own schema (created on first open)."""
        schema = self.context_schema(context)
        store: EventStore = await self._once(
            ("store", context), lambda: open_store(self.schema_url(schema), schema=schema)
        )
        return store

    async def view_store(self, view: str, replica: int) -> ViewStore:
        """One schema per replica, so each replica is a copy a gateway can fall back from."""
        schema = f"{self.prefix}_view_{view}_{replica}".replace("-", "_")
        await self._ensure_schema(schema)
        views: ViewStore = await self._once(
            ("view", view, str(replica)), lambda: open_view_store(self.schema_url(schema))
        )
        return views

    async def relay_checkpoints(self, context: str) -> RelayCheckpoints:
        """Durable, in the context's schema."""
        return await self._checkpoints(context)

    async def process_checkpoints(self, context: str) -> RelayCheckpoints:
        """Durable, in the context's schema."""
        return await self._checkpoints(context)

    async def _checkpoints(self, context: str) -> RelayCheckpoints:
        from riverbed.adapters.postgres.checkpoints import PostgresRelayCheckpoints

        schema = self.context_schema(context)
        await self._ensure_schema(schema)

        async def opener() -> RelayCheckpoints:
            checkpoints = PostgresRelayCheckpoints(self.schema_url(schema))
            await checkpoints.open()
            return checkpoints

        checkpoints: RelayCheckpoints = await self._once(("checkpoints", context), opener)
        return checkpoints

    async def _ensure_schema(self, schema: str) -> None:
        from riverbed.adapters.postgres.driver import ensure_schema

        await self._once(("schema", schema), lambda: _Nothing.after(ensure_schema(self.postgres_url, schema)))

    async def bus(self) -> Bus:
        """NATS JetStream."""
        bus: Bus = await self._once(("bus",), lambda: open_bus(self.nats_url, rapids=self.rapids))
        return bus


class _Nothing:
    """Something opened that has nothing to close (a schema that was made sure of)."""

    @classmethod
    async def after(cls, work: Any) -> _Nothing:
        await work
        return cls()

    async def close(self) -> None:
        """Nothing to release."""
