from collections.abc import AsyncIterator

import pytest

from riverbed.adapters.memory.bus import MemoryBus
from riverbed.testing.contracts.bus import BusContract


class TestMemoryBus(BusContract):
    @pytest.fixture
    async def bus(self) -> AsyncIterator[MemoryBus]:
        bus = MemoryBus()
        yield bus
        await bus.close()

    @pytest.fixture
    def names(self, unique_name: str) -> str:
        return unique_name
