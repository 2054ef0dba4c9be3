"""The projector: batches, per-stream version gating, failures that commit the clean prefix."""

from __future__ import annotations

import dataclasses

import pytest

from riverbed.application.projections import Projector
from riverbed.errors import ProjectionFailed, ProjectionGap
from riverbed.ports.event_store import EventStore, RecordedEvent
from riverbed.ports.views import Row, ViewStore
from tests.integration.views.samples import Balances, Counter, deposit, open_account

Pair = tuple[EventStore, ViewStore]


async def _all(store: EventStore) -> list[RecordedEvent]:
    return [r async for r in store.read_all()]


async def _slot(views: ViewStore, name: str) -> str:
    slot = f"{name}.v1.t"
    await views.create_slot(slot, name=name, version=1)
    return slot


async def test_a_batch_is_folded_into_keyed_rows_with_one_commit(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "a", city="Manchester")
    await open_account(store, "b")
    await deposit(store, "a", 10)
    await deposit(store, "a", 5)
    await deposit(store, "b", 1)
    projector = Projector(Balances(), views, await _slot(views, "balances"))
    outcome = await projector.apply(await _all(store))
    assert (outcome.passed, outcome.applied, outcome.failure) == (5, 5, None)
    assert await views.get(projector.slot, "a") == {
        "account": "a",
        "city": "Manchester",
        "balance": 15,
        "movements": 2,
    }
    assert (await views.get(projector.slot, "b") or {})["balance"] == 1
    assert await views.stream_versions(projector.slot, ["account-a", "account-b"]) == {
        "account-a": 2,
        "account-b": 1,
    }
    (state,) = await views.slots("balances")
    assert state.checkpoint == outcome.checkpoint
    assert state.events == 5


async def test_an_event_already_applied_is_not_applied_twice(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "a")
    for amount in (1, 2, 3):
        await deposit(store, "a", amount)
    records = await _all(store)
    projector = Projector(Counter(), views, await _slot(views, "counter"))
    await projector.apply(records[:3])
    outcome = await projector.apply(records)  # redelivered from the start: only the 4th is new
    assert outcome.applied == 1
    assert await views.get(projector.slot, "all") == {"count": 4, "last": 4}
    again = await projector.apply(records)
    assert again.applied == 0
    assert await views.get(projector.slot, "all") == {"count": 4, "last": 4}


async def test_an_event_that_would_skip_a_version_stops_the_batch_there(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "a")
    await deposit(store, "a", 1)
    await deposit(store, "a", 2)
    records = await _all(store)
    projector = Projector(Balances(), views, await _slot(views, "balances"))
    outcome = await projector.apply([records[0], records[2]])
    assert isinstance(outcome.failure, ProjectionGap)
    assert outcome.failed_record == records[2]
    assert outcome.failure.position == str(records[2].checkpoint)
    assert outcome.checkpoint == records[0].checkpoint
    assert (await views.get(projector.slot, "a") or {})["balance"] == 0
    assert (await projector.apply(records[1:])).applied == 2
    assert (await views.get(projector.slot, "a") or {})["balance"] == 3


class _Fragile(Balances):
    """Mutates the row and then raises on a deposit of 13: the prefix must be committed clean."""

    name = "fragile"

    def moved(self, row: Row | None, record: RecordedEvent) -> Row | None:
        assert row is not None
        row["balance"] += 1000
        if record.event.data["amount"] == 13:
            raise RuntimeError("unlucky amount")
        row["balance"] -= 1000
        return super().moved(row, record)


async def test_a_failing_handler_commits_the_clean_prefix_and_names_the_event(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "a")
    await deposit(store, "a", 4)
    await deposit(store, "a", 13)
    await deposit(store, "a", 5)
    records = await _all(store)
    projector = Projector(_Fragile(), views, await _slot(views, "fragile"))
    outcome = await projector.apply(records)
    assert isinstance(outcome.failure, ProjectionFailed)
    assert outcome.failure.position == str(records[2].checkpoint)
    assert "unlucky amount" in str(outcome.failure)
    assert "riverbed views skip fragile" in str(outcome.failure)
    assert outcome.passed == 2
    assert await views.get(projector.slot, "a") == {
        "account": "a",
        "city": "Leeds",
        "balance": 4,
        "movements": 1,
    }
    assert await projector.skip(records[2]) == records[2].checkpoint
    assert (await projector.apply(records[3:])).applied == 1
    assert (await views.get(projector.slot, "a") or {})["balance"] == 9


async def test_unfollowed_streams_move_the_checkpoint_only(
    stores: Pair,
) -> None:
    store, views = stores
    await open_account(store, "a")
    await store.append("other-1", [dataclasses.replace((await _all(store))[0].event, id="x2", subject=None)])
    await deposit(store, "a", 2)
    records = await _all(store)
    projector = Projector(Balances(), views, await _slot(views, "balances"))
    outcome = await projector.apply(records)
    assert (outcome.passed, outcome.applied, outcome.checkpoint) == (3, 2, records[-1].checkpoint)
    assert await views.stream_versions(projector.slot, ["other-1"]) == {}


@pytest.mark.parametrize("bad", ["", "has space", None])
def test_a_projection_without_a_proper_name_is_refused(bad: object) -> None:
    from riverbed.errors import ValidationError

    with pytest.raises(ValidationError, match="name"):
        type("Bad", (Balances,), {"name": bad})
