"""The composition root: the only place that picks concrete adapters.

``open_store(url)`` chooses the event store adapter by URL scheme, and ``open_bus(url)`` the bus
adapter. Optional drivers are imported only when
their scheme is asked for, so ``memory://`` and ``sqlite://`` need nothing beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from riverbed.errors import ConfigurationError, InvalidStoreUrl
from riverbed.ports.bus import Bus
from riverbed.ports.event_store import EventStore, StoreStats
from riverbed.ports.snapshot_store import SnapshotStore
from riverbed.ports.topology import Rapids
from riverbed.ports.views import ViewStore

SCHEMES = ("memory", "sqlite", "postgresql", "postgres")


class OpenableStore(EventStore, Protocol):
    """An event store that is opened explicitly (``await store.open()``) before use."""

    async def open(self) -> Any:
        """Connect, check and prepare the store; returns the store."""
        ...


def create_store(url: str, **options: Any) -> OpenableStore:
    """Build (but do not open) the event store adapter for ``url``."""
    if not isinstance(url, str) or "://" not in url:
        raise InvalidStoreUrl(
            f"{url!r} is not a store URL; use memory://, sqlite:///path/to/file.db or postgresql://user@host/db"
        )
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from riverbed.adapters.memory.event_store import MemoryEventStore

        return MemoryEventStore(url, **options)
    if scheme == "sqlite":
        from riverbed.adapters.sqlite.event_store import SQLiteEventStore

        sqlite_store: OpenableStore = SQLiteEventStore(url, **options)
        return sqlite_store
    if scheme in ("postgresql", "postgres"):
        try:
            from riverbed.adapters.postgres.event_store import (  # type: ignore[import-not-found,unused-ignore]
                PostgresEventStore,
            )
        except ImportError as exc:
            raise ConfigurationError(
                f"the PostgreSQL store needs its driver: pip install 'riverbed[postgres]' ({exc})"
            ) from exc
        store: OpenableStore = PostgresEventStore(url, **options)
        return store
    raise InvalidStoreUrl(
        f"unknown store URL scheme {scheme!r} in {url!r}; use one of memory://, sqlite:///file.db, "
        "postgresql://user@host:port/db"
    )


class OpenableSnapshotStore(SnapshotStore, Protocol):
    """A snapshot store that is opened explicitly (``await snapshots.open()``) before use."""

    async def open(self) -> Any:
        """Connect and prepare the store; returns the store."""
        ...


def create_snapshot_store(url: str) -> OpenableSnapshotStore:
    """Build (but do not open) the snapshot store for ``url`` (same schemes as the event store).

    It is opened with ``await snapshots.open()`` (memory needs nothing) and closed with ``close()``.
    """
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) and "://" in url else ""
    if scheme == "memory":
        from riverbed.adapters.memory.snapshot_store import MemorySnapshotStore

        return MemorySnapshotStore()
    if scheme == "sqlite":
        from riverbed.adapters.sqlite.snapshot_store import SQLiteSnapshotStore

        return SQLiteSnapshotStore(url)
    if scheme in ("postgresql", "postgres"):
        try:
            from riverbed.adapters.postgres.snapshot_store import PostgresSnapshotStore
        except ImportError as exc:
            raise ConfigurationError(
                f"the PostgreSQL snapshot store needs its driver: pip install 'riverbed[postgres]' ({exc})"
            ) from exc
        return PostgresSnapshotStore(url)
    raise InvalidStoreUrl(
        f"{url!r} is not a snapshot store URL; use memory://, sqlite:///file.db or postgresql://"
    )


class open_store:
    """Open an event store by URL: ``async with open_store("sqlite:///bank.db") as store: ...``.

    Also awaitable: ``store = await open_store(url)`` (then ``await store.close()``).
    """

    def __init__(self, url: str, **options: Any) -> None:
        self._store = create_store(url, **options)

    async def _open(self) -> OpenableStore:
        await self._store.open()
        return self._store

    def __await__(self) -> Generator[Any, None, OpenableStore]:
        return self._open().__await__()

    async def __aenter__(self) -> OpenableStore:
        return await self._open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._store.close()


async def init_store(url: str, **options: Any) -> StoreStats:
    """Create (or check) the store at ``url`` so it is ready for use; returns its counts.

    Opening a store creates its files or tables and checks their integrity; ``init`` is that step on its
    own, for operators and deploy scripts.
    """
    async with open_store(url, **options) as store:
        return await store.stats()


BUS_SCHEMES = ("memory", "nats")


async def open_bus(url: str, *, rapids: Rapids | None = None, **options: Any) -> Bus:
    """Open the bus adapter for ``url``: ``memory://`` (in-process) or ``nats://host:port`` (JetStream).

    ``rapids`` names the rapids (and so its parked stream) before a topology is declared, which is what
    tools that only inspect parked messages need; ``options`` go to the adapter (``connect_within=`` for
    NATS). Close the bus with ``await bus.close()``.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(f"{url!r} is not a bus URL; use memory:// or nats://127.0.0.1:4222")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from riverbed.adapters.memory.bus import MemoryBus

        return MemoryBus()
    if scheme in ("nats", "tls"):
        try:
            from riverbed.adapters.nats.bus import NatsBus
        except ImportError as exc:
            raise ConfigurationError(
                f"the NATS bus needs its driver: pip install 'riverbed[nats]' ({exc})"
            ) from exc
        return await NatsBus(url, rapids=rapids, **options).open()
    raise ConfigurationError(
        f"unknown bus URL scheme {scheme!r} in {url!r}; use memory:// or nats://host:port"
    )


class OpenableViewStore(ViewStore, Protocol):
    """A view store that is opened explicitly (``await views.open()``) before use."""

    async def open(self) -> Any:
        """Connect and create the tables; returns the view store."""
        ...


def create_view_store(url: str, **options: Any) -> OpenableViewStore:
    """Build (but do not open) the view store adapter for ``url`` (same schemes as the event store)."""
    if not isinstance(url, str) or "://" not in url:
        raise InvalidStoreUrl(
            f"{url!r} is not a view store URL; use memory://, sqlite:///path/to/views.db "
            "or postgresql://user@host/db"
        )
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from riverbed.adapters.memory.view_store import MemoryViewStore

        return MemoryViewStore(url, **options)
    if scheme == "sqlite":
        from riverbed.adapters.sqlite.view_store import SQLiteViewStore

        return SQLiteViewStore(url, **options)
    if scheme in ("postgresql", "postgres"):
        try:
            from riverbed.adapters.postgres.view_store import PostgresViewStore
        except ImportError as exc:
            raise ConfigurationError(
                f"the PostgreSQL view store needs its driver: pip install 'riverbed[postgres]' ({exc})"
            ) from exc
        return PostgresViewStore(url, **options)
    raise InvalidStoreUrl(
        f"unknown view store URL scheme {scheme!r} in {url!r}; use one of memory://, sqlite:///views.db, "
        "postgresql://user@host:port/db"
    )


class open_view_store:
    """Open a view store by URL: ``async with open_view_store("sqlite:///views.db") as views: ...``.

    Also awaitable: ``views = await open_view_store(url)`` (then ``await views.close()``).
    """

    def __init__(self, url: str, **options: Any) -> None:
        self._views = create_view_store(url, **options)

    async def _open(self) -> OpenableViewStore:
        await self._views.open()
        return self._views

    def __await__(self) -> Generator[Any, None, OpenableViewStore]:
        return self._open().__await__()

    async def __aenter__(self) -> OpenableViewStore:
        return await self._open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._views.close()
