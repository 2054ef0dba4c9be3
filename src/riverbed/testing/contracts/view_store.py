"""The view store contract suite: every adapter of :class:`~riverbed.ports.views.ViewStore` runs it.

Subclass :class:`ViewStoreContract` in a test module, give it a ``Test`` name and implement
``open_views`` (``self.tmp_path`` is a fresh directory per test)::

    class TestSQLiteViewStore(ViewStoreContract):
        async def open_views(self) -> ViewStore:
            return await SQLiteViewStore(f"sqlite:///{self.tmp_path / 'views.db'}").open()

It covers empty slots, atomic batches (rows, stream versions and checkpoint together), the expected
checkpoint guard, refusals for missing slots, row order and paging, activation that drops the other slots
of a name, drops, failure and skip records, and closing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from riverbed.errors import StoreClosed, UnknownView, ViewConflict
from riverbed.ports.event_store import START, Checkpoint
from riverbed.ports.views import ViewBatch, ViewStore

__all__ = ["ViewStoreContract"]


@pytest.mark.asyncio
class ViewStoreContract:
    """The whole view store contract. Subclass it and implement ``open_views``."""

    tmp_path: Path

    @pytest.fixture(autouse=True)
    def _contract_paths(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    async def open_views(self) -> ViewStore:
        """Open a new, empty view store for the running test."""
        raise NotImplementedError(f"{type(self).__name__} must implement async def open_views(self)")

    @pytest_asyncio.fixture
    async def views(self) -> AsyncIterator[ViewStore]:
        """The adapter's view store, opened for the test and closed after it."""
        views = await self.open_views()
        try:
            yield views
        finally:
            await views.close()

    async def test_a_closed_view_store_refuses_calls(self, views: ViewStore) -> None:
        """After close, calls raise StoreClosed."""
        await views.close()
        with pytest.raises(StoreClosed):
            await views.slots()

    async def test_new_slot_is_empty_inactive_and_at_the_start(self, views: ViewStore) -> None:
        """New slot is empty inactive and at the start."""
        state = await views.create_slot("v.v1.a", name="v", version=1)
        assert (state.checkpoint, state.events, state.active) == (START, 0, False)
        assert await views.get("v.v1.a", "k") is None
        assert await views.get_many("v.v1.a", ["k"]) == {}
        assert [r async for r in views.rows("v.v1.a")] == []
        assert await views.stream_versions("v.v1.a", ["s"]) == {}

    async def test_commit_writes_rows_versions_and_checkpoint_together(self, views: ViewStore) -> None:
        """Commit writes rows versions and checkpoint together."""
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.commit(
            "v.v1.a",
            ViewBatch(
                checkpoint=Checkpoint(0, 7),
                upserts={"k1": {"n": 1, "nested": {"x": [1, 2]}}, "k2": {"n": 2}},
                stream_versions={"s1": 3, "s2": 0},
                events=5,
            ),
        )
        await views.commit(
            "v.v1.a",
            ViewBatch(
                checkpoint=Checkpoint(0, 9), upserts={"k1": {"n": 10}}, deletes=frozenset({"k2"}), events=2
            ),
        )
        assert await views.get("v.v1.a", "k1") == {"n": 10}
        assert await views.get("v.v1.a", "k2") is None
        assert await views.stream_versions("v.v1.a", ["s1", "s2", "s3"]) == {"s1": 3, "s2": 0}
        (state,) = await views.slots("v")
        assert (state.checkpoint, state.events) == (Checkpoint(0, 9), 7)

    async def test_load_reads_stream_versions_and_rows_together(self, views: ViewStore) -> None:
        """A load gives what stream_versions and get_many give, for any mix of known and unknown names."""
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.commit(
            "v.v1.a",
            ViewBatch(
                checkpoint=Checkpoint(0, 4),
                upserts={"k1": {"n": 1, "deep": {"x": [1]}}, "s1": {"n": 2}},
                stream_versions={"s1": 3, "k1": 7},
            ),
        )
        assert await views.load("v.v1.a", ["s1", "k1", "nope"], ["k1", "s1", "gone"]) == (
            {"s1": 3, "k1": 7},
            {"k1": {"n": 1, "deep": {"x": [1]}}, "s1": {"n": 2}},
        )
        assert await views.load("v.v1.a", [], ["k1"]) == ({}, {"k1": {"n": 1, "deep": {"x": [1]}}})
        assert await views.load("v.v1.a", ["s1"], []) == ({"s1": 3}, {})
        assert await views.load("v.v1.a", [], []) == ({}, {})
        assert await views.load("other", ["s1"], ["k1"]) == ({}, {})

    async def test_read_active_gives_the_active_slot_and_one_row_together(self, views: ViewStore) -> None:
        """read_active names the active slot with its checkpoint and the row, None for what is missing."""
        assert await views.read_active("v", "k1") == (None, None)
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.commit("v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 4), upserts={"k1": {"n": 1}}))
        assert await views.read_active("v", "k1") == (None, None)  # built but not active yet
        await views.activate("v", "v.v1.a")
        await views.create_slot("v.v2.b", name="v", version=2)
        await views.commit("v.v2.b", ViewBatch(checkpoint=Checkpoint(0, 9), upserts={"k1": {"n": 99}}))
        state, row = await views.read_active("v", "k1")
        assert state is not None
        assert (state.slot, state.checkpoint, state.active) == (
            "v.v1.a",
            Checkpoint(0, 4),
            True,
        )
        assert row == {"n": 1}
        state, row = await views.read_active("v", "missing")
        assert state is not None
        assert (state.slot, row) == ("v.v1.a", None)
        assert await views.read_active("other", "k1") == (None, None)

    async def test_commit_to_a_missing_slot_is_refused_and_writes_nothing(self, views: ViewStore) -> None:
        """Commit to a missing slot is refused and writes nothing."""
        with pytest.raises(UnknownView):
            await views.commit("nope", ViewBatch(checkpoint=Checkpoint(0, 1), upserts={"k": {"a": 1}}))
        assert await views.get("nope", "k") is None

    async def test_rows_come_in_key_order_across_pages(self, views: ViewStore) -> None:
        """Rows come in key order across pages."""
        await views.create_slot("v.v1.a", name="v", version=1)
        keys = [f"k{i:05d}" for i in range(2500)]
        await views.commit(
            "v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 1), upserts={k: {"k": k} for k in keys})
        )
        assert [k async for k, _ in views.rows("v.v1.a")] == keys
        found = await views.get_many("v.v1.a", [*keys[:1200], "missing"])
        assert sorted(found) == keys[:1200]

    async def test_activate_swaps_the_active_slot_and_drops_the_others_of_that_name(
        self, views: ViewStore
    ) -> None:
        """Activate swaps the active slot and drops the others of that name, in one step."""
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.create_slot("w.v1.c", name="w", version=1)
        await views.activate("v", "v.v1.a")
        await views.activate("w", "w.v1.c")
        await views.create_slot("v.v2.b", name="v", version=2)
        assert [(s.slot, s.active) for s in await views.slots("v")] == [("v.v1.a", True), ("v.v2.b", False)]
        await views.commit(
            "v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 3), upserts={"k": {}}, stream_versions={"s": 1})
        )
        await views.activate("v", "v.v2.b")
        assert [(s.slot, s.active) for s in await views.slots()] == [("w.v1.c", True), ("v.v2.b", True)]
        assert await views.get("v.v1.a", "k") is None
        assert await views.stream_versions("v.v1.a", ["s"]) == {}
        with pytest.raises(UnknownView):
            await views.commit("v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 4)))
        with pytest.raises(UnknownView):
            await views.activate("v", "v.v1.a")
        with pytest.raises(UnknownView):
            await views.activate("v", "w.v1.c")

    async def test_drop_forgets_a_slot_and_is_idempotent(self, views: ViewStore) -> None:
        """Drop forgets a slot and is idempotent."""
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.commit(
            "v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 3), upserts={"k": {}}, stream_versions={"s": 1})
        )
        await views.activate("v", "v.v1.a")
        await views.drop_slot("v.v1.a")
        await views.drop_slot("v.v1.a")
        assert await views.slots() == []
        assert await views.get("v.v1.a", "k") is None
        assert await views.stream_versions("v.v1.a", ["s"]) == {}

    async def test_failure_and_skip_requests_are_recorded_and_cleared(self, views: ViewStore) -> None:
        """Failure and skip requests are recorded and cleared."""
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.record_failure("v.v1.a", at=Checkpoint(0, 4), error="boom")
        await views.request_skip("v.v1.a", at=Checkpoint(0, 4))
        (state,) = await views.slots("v")
        assert (state.failed_at, state.error, state.skip) == (Checkpoint(0, 4), "boom", Checkpoint(0, 4))
        await views.record_failure("v.v1.a", at=None, error=None)
        (state,) = await views.slots("v")
        assert (state.failed_at, state.error, state.skip) == (None, None, None)
        with pytest.raises(UnknownView):
            await views.request_skip("nope", at=Checkpoint(0, 1))

    async def test_rows_are_in_code_point_order_on_every_store(self, views: ViewStore) -> None:
        """Rows are in code point order on every store."""
        await views.create_slot("v.v1.a", name="v", version=1)
        keys = ["b", "B", "a", "Z", "é", "_", "ab", "a b"]
        await views.commit(
            "v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 1), upserts={k: {"k": k} for k in keys})
        )
        assert [k async for k, _ in views.rows("v.v1.a")] == sorted(keys)

    async def test_a_batch_expecting_another_checkpoint_writes_nothing(self, views: ViewStore) -> None:
        """A batch expecting another checkpoint writes nothing."""
        await views.create_slot("v.v1.a", name="v", version=1)
        await views.commit(
            "v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 5), upserts={"k": {"n": 1}}, expected=START)
        )
        with pytest.raises(ViewConflict, match="another writer"):
            await views.commit(
                "v.v1.a",
                ViewBatch(
                    checkpoint=Checkpoint(0, 9),
                    upserts={"k": {"n": 2}},
                    stream_versions={"s": 1},
                    expected=START,
                ),
            )
        assert await views.get("v.v1.a", "k") == {"n": 1}
        assert await views.stream_versions("v.v1.a", ["s"]) == {}
        (state,) = await views.slots("v")
        assert state.checkpoint == Checkpoint(0, 5)
        await views.commit("v.v1.a", ViewBatch(checkpoint=Checkpoint(0, 9), expected=Checkpoint(0, 5)))
