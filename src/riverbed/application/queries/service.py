"""Query handlers: typed reads of views, with min-position reads and clear not-found errors.

:class:`ViewQueries` is the registry every reader goes through (the gateway's
``GET /views/{view}/{key}?min_position=`` included)::

    queries = ViewQueries(view_store)
    queries.add(Balances())                        # pre-loaded: served from the view store
    queries.add_on_demand(OnDemandView(store, Statements(), streams=lambda key: [f"account-{key}"]))
    balance = await queries.get("balances", "acc-1", min_position=result.checkpoint)

A pre-loaded view answers from its active slot. Before that slot exists (the first build is still
replaying) it raises :class:`~riverbed.errors.ViewReplaying`. A read may demand "at least position P"
(a :class:`~riverbed.ports.event_store.Checkpoint`, its ``str()``, or a plain global position): a replica
whose checkpoint is behind P re-reads its own view store (after 1 ms, then doubling up to ``poll_interval``)
for up to ``max_wait`` seconds, then raises
:class:`~riverbed.errors.ViewBehind` saying how far behind it is. A plain ``int`` compares global
positions, which is exact on memory and SQLite stores; on PostgreSQL pass the checkpoint an append
returned for an exact answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from riverbed.application.projections.projection import Projection
from riverbed.application.queries.on_demand import OnDemandView
from riverbed.errors import (
    DuplicateRegistration,
    NotFound,
    UnknownView,
    ValidationError,
    ViewBehind,
    ViewReplaying,
)
from riverbed.ports.event_store import START, Checkpoint
from riverbed.ports.event_store_rules import as_checkpoint
from riverbed.ports.views import Row, SlotState, ViewStore

M = TypeVar("M", bound=BaseModel)
_FIRST_RECHECK = 0.001
"""Seconds before a behind replica first re-reads its checkpoint: a live view is usually one commit away."""
MinPosition = Checkpoint | str | int | None


class ViewRow(BaseModel):
    """What a view without a declared model returns: the key and the row as stored."""

    key: str
    data: dict[str, Any]


def tenant_key(tenant: str, key: str) -> str:
    """The stored key of ``key`` in a tenant-scoped view: ``tenant:key`` (the gateway's scoping rule).

    Projections of tenant-scoped views key their rows this way.
    """
    if not tenant or ":" in tenant:
        raise ValidationError(f"tenant must be a non-empty id without ':', got {tenant!r}")
    return f"{tenant}:{key}"


@dataclass(frozen=True, slots=True)
class ViewAnswer:
    """A row as read, with its (unscoped) key and the position the view had reached when read."""

    key: str
    row: Row
    position: str | None
    """The view's checkpoint (``str()`` form); None for on-demand views, which read the store itself."""


def reached(current: Checkpoint, wanted: Checkpoint) -> bool:
    """Whether a view at ``current`` includes everything up to ``wanted`` (positions only for plain ints)."""
    if wanted.commit == 0:
        return current.position >= wanted.position
    return current >= wanted


@dataclass(frozen=True, slots=True)
class _Registered:
    name: str
    model: type[BaseModel] | None
    tenant_scoped: bool
    on_demand: OnDemandView | None


class ViewQueries:
    """The registry of queryable views over one view store (see the module docstring)."""

    def __init__(
        self,
        views: ViewStore,
        *,
        max_wait: float = 2.0,
        poll_interval: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.views = views
        self.max_wait = max_wait
        self.poll_interval = poll_interval
        self._clock = clock
        self._sleep = sleep
        self._views: dict[str, _Registered] = {}

    def add(self, projection: Projection, *, tenant_scoped: bool = False) -> None:
        """Serve ``projection``'s pre-loaded view (kept current by a runner, here or in another process)."""
        self._register(_Registered(projection.name, projection.model, tenant_scoped, None))

    def add_on_demand(self, view: OnDemandView, *, tenant_scoped: bool = False) -> None:
        """Serve an on-demand view, computed from its streams when asked."""
        self._register(_Registered(view.name, view.model, tenant_scoped, view))

    def names(self) -> list[str]:
        """The registered view names."""
        return sorted(self._views)

    async def get(
        self, view: str, key: str, *, tenant: str | None = None, min_position: MinPosition = None
    ) -> BaseModel:
        """The row of ``view`` under ``key`` as the view's model.

        Raises UnknownView, NotFound (no row), ViewReplaying (no built slot yet) or ViewBehind (a replica
        that did not reach ``min_position`` in time); the last two are retryable.
        """
        registered = self._registered(view)
        row = await self.get_row(view, key, tenant=tenant, min_position=min_position)
        if registered.model is None:
            return ViewRow(key=key, data=row)
        return registered.model.model_validate(row)

    async def get_row(
        self, view: str, key: str, *, tenant: str | None = None, min_position: MinPosition = None
    ) -> Row:
        """Like :meth:`get`, but the stored JSON object."""
        return (await self.lookup(view, key, tenant=tenant, min_position=min_position)).row

    async def lookup(
        self, view: str, key: str, *, tenant: str | None = None, min_position: MinPosition = None
    ) -> ViewAnswer:
        """Like :meth:`get_row`, with the position the view had reached (what a gateway returns)."""
        registered = self._registered(view)
        stored_key = self._key(registered, key, tenant)
        position: str | None = None
        if registered.on_demand is not None:
            row = await registered.on_demand.get(stored_key)
        else:
            state, row = await self._wait_for_row(view, stored_key, min_position)
            position = str(state.checkpoint)
        if row is None:
            raise NotFound(f"view {view!r} has no row for key {key!r}")
        return ViewAnswer(key=key, row=row, position=position)

    async def all(self, view: str, *, tenant: str | None = None) -> list[tuple[str, Row]]:
        """Every row of a pre-loaded view (of one tenant, for tenant-scoped views), in key order."""
        registered = self._registered(view)
        if registered.on_demand is not None:
            raise ValidationError(f"view {view!r} is computed on demand; ask for one key at a time")
        state = await self.wait_for(view, None)
        prefix = self._key(registered, "", tenant) if registered.tenant_scoped else ""
        return [
            (key.removeprefix(prefix), row)
            async for key, row in self.views.rows(state.slot)
            if key.startswith(prefix)
        ]

    def tenant_scoped(self, view: str) -> bool:
        """Whether ``view`` was registered tenant-scoped (it scopes keys to the asking tenant itself)."""
        return self._registered(view).tenant_scoped

    async def position(self, view: str) -> Checkpoint | None:
        """The checkpoint the view's active slot has reached (None while it has no active slot).

        An on-demand view has no slot to build: it reads the event store when asked, so it is always
        ready and reports the start of the global order.
        """
        registered = self._registered(view)
        if registered.on_demand is not None:
            return START
        state = await self._active(registered.name)
        return state.checkpoint if state is not None else None

    async def wait_for(self, view: str, min_position: MinPosition) -> SlotState:
        """The active slot of ``view`` once it has reached ``min_position`` (see the module docstring)."""
        state, _ = await self._wait_for_row(view, None, min_position)
        return state

    async def _wait_for_row(
        self, view: str, key: str | None, min_position: MinPosition
    ) -> tuple[SlotState, Row | None]:
        """The active slot once it has reached ``min_position``, and its row under ``key`` (read together)."""
        wanted = as_checkpoint(min_position)
        deadline = self._clock() + self.max_wait
        delay = min(_FIRST_RECHECK, self.poll_interval)
        while True:
            row: Row | None = None
            if key is None:
                state = await self._active(view)
            else:
                state, row = await self.views.read_active(view, key)
            if state is None:
                raise ViewReplaying(
                    f"view {view!r} is still replaying its events and has no built version yet; retry shortly"
                )
            if wanted is None or reached(state.checkpoint, wanted):
                return state, row
            if self._clock() >= deadline:
                behind = max(1, wanted.position - state.checkpoint.position)
                raise ViewBehind(
                    f"view {view!r} is at position {state.checkpoint}, behind the asked {wanted} by about "
                    f"{behind} events after waiting {self.max_wait:g}s; retry, or read from another replica",
                    position=str(state.checkpoint),
                    wanted=str(wanted),
                    behind=behind,
                )
            await self._sleep(delay)
            delay = min(delay * 2, self.poll_interval)

    def typed(self, view: str, model: type[M]) -> TypedView[M]:
        """A typed handle on one view: ``await queries.typed("balances", Balance).get("acc-1")``."""
        self._registered(view)
        return TypedView(self, view, model)

    async def _active(self, name: str) -> SlotState | None:
        return next((s for s in await self.views.slots(name) if s.active), None)

    def _key(self, registered: _Registered, key: str, tenant: str | None) -> str:
        if not isinstance(key, str):
            raise ValidationError(f"a view key must be a string, got {key!r}")
        if not registered.tenant_scoped:
            return key
        if tenant is None:
            raise ValidationError(f"view {registered.name!r} is tenant-scoped; say which tenant is asking")
        return tenant_key(tenant, key)

    def _register(self, registered: _Registered) -> None:
        if registered.name in self._views:
            raise DuplicateRegistration(f"a view named {registered.name!r} is already registered")
        self._views[registered.name] = registered

    def _registered(self, view: str) -> _Registered:
        try:
            return self._views[view]
        except KeyError:
            raise UnknownView(view, known=tuple(sorted(self._views))) from None


class TypedView(Generic[M]):
    """Typed queries over one view: every answer is an ``M``."""

    def __init__(self, queries: ViewQueries, view: str, model: type[M]) -> None:
        self.queries = queries
        self.view = view
        self.model = model

    async def get(self, key: str, *, tenant: str | None = None, min_position: MinPosition = None) -> M:
        """The row under ``key`` as an ``M``; NotFound when there is none."""
        row = await self.queries.get_row(self.view, key, tenant=tenant, min_position=min_position)
        return self.model.model_validate(row)

    async def all(self, *, tenant: str | None = None) -> list[M]:
        """Every row as an ``M``, in key order."""
        return [self.model.model_validate(row) for _, row in await self.queries.all(self.view, tenant=tenant)]
