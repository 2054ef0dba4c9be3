import pytest

from riverbed.bootstrap import open_bus
from riverbed.errors import BusUnavailable, ConfigurationError
from riverbed.ports.bus import Bus


async def test_memory_url_gives_an_in_process_bus() -> None:
    bus = await open_bus("memory://")
    assert isinstance(bus, Bus)
    await bus.close()


@pytest.mark.parametrize("url", ["kafka://x", "no-scheme", ""])
async def test_unknown_urls_are_refused_with_the_choices(url: str) -> None:
    with pytest.raises(ConfigurationError, match="memory://"):
        await open_bus(url)


async def test_an_unreachable_nats_server_is_a_clear_error() -> None:
    with pytest.raises(BusUnavailable, match=r"cannot connect to NATS at nats://127.0.0.1:1 within 0.5s"):
        await open_bus("nats://127.0.0.1:1", connect_within=0.5)
