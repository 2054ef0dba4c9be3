"""The contract suite can fail: run against deliberately broken stores, it reports each defect.

Each mutant is the memory store with one promise broken. The suite runs on it in a subprocess (so its
failures do not fail this run) and must fail the tests named for that promise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEADER = """
from riverbed.adapters.memory import MemoryEventStore
from riverbed.ports.event_store import EventStore
from riverbed.testing.contracts import EventStoreContract
"""

MUTANTS = {
    "ignores-expected-version": (
        """
import riverbed.adapters.memory.event_store as memory
memory.check_expected_version = lambda stream, expected, current: None
""",
        "exact_version_clashes or no_stream_clashes or one_winner_per_version or like_the_model",
    ),
    "stores-retries-twice": (
        """
import riverbed.adapters.memory.event_store as memory
memory.replayed_append = lambda stream, events, expected, stored: None
""",
        "returns_the_original_result or another_stream_is_refused or like_the_model",
    ),
    "loses-time-offsets": (
        """
import riverbed.adapters.memory.event_store as memory
from datetime import UTC
_original = memory._as_stored
def _as_stored(event):
    event = _original(event)
    if event.time is None:
        return event
    return event.with_changes(time=event.time.astimezone(UTC))
memory._as_stored = _as_stored
""",
        "every_cloudevent_attribute_survives",
    ),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_contract_fails_a_store_that_breaks_a_promise(tmp_path: Path, mutant: str) -> None:
    patch, selection = MUTANTS[mutant]
    module = (
        HEADER
        + patch
        + """

class TestMutant(EventStoreContract):
    model_examples = 30

    async def open_store(self) -> EventStore:
        return await MemoryEventStore().open()
"""
    )
    (tmp_path / "test_mutant.py").write_text(module)
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
        "-o", "asyncio_default_fixture_loop_scope=function", "-k", selection, "test_mutant.py",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=100)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 1, f"{mutant}: the suite did not fail: {summary}"
    selected = len(selection.split(" or "))
    assert " failed" in summary, summary
    failed = int(summary.split(" failed")[0].split()[-1])
    assert failed >= selected, f"{mutant}: only {failed} of the selected tests failed: {summary}"
