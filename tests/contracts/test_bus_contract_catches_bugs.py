"""The bus contract can fail: run against deliberately broken memory buses, it reports each defect.

Each mutant is the memory bus with one promise broken; the suite runs on it in a subprocess (so its
failures do not fail this run) and must fail the tests named for that promise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEADER = """
import uuid
import pytest
from riverbed.adapters.memory.bus import MemoryBus
from riverbed.testing.contracts import BusContract
"""

MUTANTS = {
    "nack-drops-the-message": (
        "MemoryBus._nack = lambda self, pond, message, delay: self._ack(pond, message)\n",
        "nack_redelivers or spent_deliveries_are_parked or poison_event",
    ),
    "parking-loses-the-message": (
        "MemoryBus._park = lambda self, pond, message, reason: (\n"
        "    self._ponds[pond].messages.pop(message.seq, None))\n",
        "spent_deliveries_are_parked or can_be_replayed or poison_event",
    ),
    "no-duplicate-window": (
        """
_publish = MemoryBus.publish
async def publish(self, events):
    self._seen.clear()
    await _publish(self, events)
MemoryBus.publish = publish
""",
        "duplicate_window",
    ),
    "forgets-unacked-deliveries": (
        """
_collect = MemoryBus._collect
def collect(self, state, max_messages):
    found, due = _collect(self, state, max_messages)
    for delivery in found:
        delivery._message.deadline = float("inf")
    return found, due
MemoryBus._collect = collect
""",
        "comes_back_after_ack_wait",
    ),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_bus_contract_fails_a_bus_that_breaks_a_promise(tmp_path: Path, mutant: str) -> None:
    patch, selection = MUTANTS[mutant]
    module = (
        HEADER
        + patch
        + """

class TestMutant(BusContract):
    @pytest.fixture
    async def bus(self):
        bus = MemoryBus()
        yield bus
        await bus.close()

    @pytest.fixture
    def names(self):
        return "m" + uuid.uuid4().hex[:8]
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
