from collections.abc import AsyncIterator

import pytest

from riverbed.adapters.nats.bus import NatsBus
from riverbed.testing.contracts.bus import BusContract
from tests.nats_cleanup import delete_streams

pytestmark = pytest.mark.nats


class TestNatsBus(BusContract):
    exact_attempts_after_ack_wait = False  # see BusContract

    @pytest.fixture
    async def bus(self, nats_url: str, names: str) -> AsyncIterator[NatsBus]:
        bus = NatsBus(nats_url)
        await bus.open()
        try:
            yield bus
        finally:
            await bus.close()
            await delete_streams(nats_url, names)

    @pytest.fixture
    def names(self, unique_name: str) -> str:
        return unique_name
