"""Queries: typed answers, not-found errors, min-position reads on replicas, on-demand views, tenants."""

from __future__ import annotations

import pytest

from riverbed.application.projections import ProjectionRunner, RunnerOptions
from riverbed.application.queries import OnDemandView, ViewQueries, ViewRow, tenant_key
from riverbed.bootstrap import open_view_store
from riverbed.errors import (
    InvalidPosition,
    NotFound,
    ServiceUnavailable,
    UnknownView,
    ValidationError,
    ViewBehind,
)
from riverbed.ports.event_store import Checkpoint, EventStore, RecordedEvent
from riverbed.ports.views import ViewStore
from tests.integration.views.samples import (
    Balance,
    Balances,
    Counter,
    deposit,
    fill,
    open_account,
)

Pair = tuple[EventStore, ViewStore]
FAST = RunnerOptions(batch_size=50, batch_ms=20, poll_interval=0.02, lag_interval=0.02)


async def test_typed_queries_return_models_and_say_what_is_missing(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "a", city="Manchester")
    await deposit(store, "a", 12)
    queries = ViewQueries(views)
    queries.add(Balances())
    queries.add(Counter())
    async with ProjectionRunner(store, views, [Balances(), Counter()], options=FAST) as runner:
        await runner.wait_until_ready()
        assert await queries.typed("balances", Balance).get("a") == Balance(
            account="a", city="Manchester", balance=12, movements=1
        )
        assert await queries.typed("balances", Balance).all() == [await queries.get("balances", "a")]
        assert await queries.get("counter", "all") == ViewRow(key="all", data={"count": 2, "last": 2})
        with pytest.raises(NotFound, match=r"view 'balances' has no row for key 'nobody'"):
            await queries.get("balances", "nobody")
        with pytest.raises(UnknownView, match=r"no view named 'nope'; registered views: balances, counter"):
            await queries.get("nope", "a")
        with pytest.raises(InvalidPosition):
            await queries.get("balances", "a", min_position="not-a-position")


async def test_a_read_at_least_at_a_position_waits_for_the_view_to_reach_it(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "a")
    queries = ViewQueries(views, max_wait=10)
    queries.add(Balances())
    async with ProjectionRunner(store, views, [Balances()], options=FAST) as runner:
        await runner.wait_until_ready()
        for amount, form in ((5, "checkpoint"), (6, "str"), (7, "int")):
            written = await deposit(store, "a", amount)
            forms: dict[str, Checkpoint | str | int] = {
                "checkpoint": written.checkpoint,
                "str": str(written.checkpoint),
                "int": written.last_position,
            }
            wanted = forms[form]
            answer = await queries.typed("balances", Balance).get("a", min_position=wanted)
            assert answer.movements == {5: 1, 6: 2, 7: 3}[amount], form
        assert answer.balance == 18


async def test_a_replica_behind_the_asked_position_answers_a_retryable_error(stores: Pair) -> None:
    store, views = stores
    await fill(store, accounts=2, events=40)
    async with open_view_store("memory://") as replica_views:
        primary = ViewQueries(views, max_wait=10)
        replica = ViewQueries(replica_views, max_wait=0.05, poll_interval=0.01)
        for q in (primary, replica):
            q.add(Balances())
        both = [Balances()]
        async with (
            ProjectionRunner(store, views, both, options=FAST) as runner,
            ProjectionRunner(store, replica_views, [Balances()], options=FAST) as replica_runner,
        ):
            await runner.wait_until_ready()
            await replica_runner.wait_until_ready()
            await replica_runner.stop()
            written = await deposit(store, "a0", 100)
            assert (await primary.get_row("balances", "a0", min_position=written.checkpoint))["balance"] > 100
            with pytest.raises(ViewBehind) as caught:
                await replica.get("balances", "a0", min_position=written.checkpoint)
            assert isinstance(caught.value, ServiceUnavailable)
            assert caught.value.behind == 1
            assert caught.value.wanted == str(written.checkpoint)
            assert "behind" in str(caught.value)
            await replica_runner.start()
            replica.max_wait = 10
            answer = await replica.get_row("balances", "a0", min_position=written.checkpoint)
            assert answer == await primary.get_row("balances", "a0")


async def test_an_on_demand_view_computes_caches_and_is_invalidated_by_new_events(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "leeds-1", city="Leeds")
    await deposit(store, "leeds-1", 3)
    on_demand = OnDemandView(store, Balances(), streams=lambda key: [f"account-{key}"])
    queries = ViewQueries(views)
    queries.add_on_demand(on_demand)
    first = await queries.typed("balances", Balance).get("leeds-1")
    assert (first.balance, first.movements) == (3, 1)
    again = await queries.typed("balances", Balance).get("leeds-1")
    assert again == first
    assert (on_demand.hits, on_demand.misses) == (1, 1)
    written = await deposit(store, "leeds-1", 4)
    fresh = await queries.typed("balances", Balance).get("leeds-1", min_position=written.checkpoint)
    assert (fresh.balance, fresh.movements) == (7, 2)
    assert (on_demand.hits, on_demand.misses) == (1, 2)
    with pytest.raises(NotFound):
        await queries.get("balances", "nobody")
    with pytest.raises(ValidationError, match="on demand"):
        await queries.all("balances")


class _TenantBalances(Balances):
    name = "tenant_balances"

    def key(self, record: RecordedEvent) -> str | None:
        return tenant_key(str(record.event.extensions["tenant"]), str(record.event.data["account"]))


async def test_a_tenant_scoped_view_only_answers_the_tenant_asking(stores: Pair) -> None:
    store, views = stores
    from tests.integration.views.samples import OPENED, event

    await store.append("account-x", [event(OPENED, "x").with_extensions(tenant="acme")])
    await store.append("account-y", [event(OPENED, "y").with_extensions(tenant="globex")])
    queries = ViewQueries(views)
    queries.add(_TenantBalances(), tenant_scoped=True)
    async with ProjectionRunner(store, views, [_TenantBalances()], options=FAST) as runner:
        await runner.wait_until_ready()
        answer = await queries.lookup("tenant_balances", "x", tenant="acme")
        assert (answer.key, answer.row["account"]) == ("x", "x")
        assert answer.position == str(await queries.position("tenant_balances"))
        slot = (await views.slots("tenant_balances"))[0].slot
        assert await views.get(slot, "acme:x") is not None
        with pytest.raises(NotFound):
            await queries.get("tenant_balances", "x", tenant="globex")
        with pytest.raises(ValidationError, match="tenant-scoped"):
            await queries.get("tenant_balances", "x")
        assert [k for k, _ in await queries.all("tenant_balances", tenant="globex")] == ["y"]
