"""The bus contract on a private nats-server 2.10+ with ``sync_interval: always``.

There rivers with several filters use subject transforms on one source (the server filters); on the system
2.9 server they source it whole and the pond filters. Both paths must keep the contract.
"""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from riverbed.adapters.nats.bus import NatsBus
from riverbed.testing.contracts.bus import BusContract
from tests.nats_private import private_nats

pytestmark = pytest.mark.nats


@pytest.fixture(scope="module")
def private_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_nats(Path(tmp_path_factory.mktemp("nats"))) as url:
        yield url


class TestPrivateNatsBus(BusContract):
    exact_attempts_after_ack_wait = False  # see BusContract

    @pytest.fixture
    async def bus(self, private_url: str) -> AsyncIterator[NatsBus]:
        bus = NatsBus(private_url)
        await bus.open()
        assert bus._multi_source  # several filters ride on subject transforms here
        yield bus
        await bus.close()

    @pytest.fixture
    def names(self, unique_name: str) -> str:
        return unique_name
