from collections.abc import AsyncIterator

import nats  # noqa: TID251 - the test plants conflicting objects with the raw client
import pytest

from riverbed.adapters.nats.bus import NatsBus
from riverbed.errors import TopologyDrift
from riverbed.ports.topology import Pond, Rapids, River, Topology
from riverbed.runtime.topology import reconcile
from tests.nats_cleanup import delete_streams

pytestmark = pytest.mark.nats


@pytest.fixture
async def bus(nats_url: str, unique_name: str) -> AsyncIterator[NatsBus]:
    bus = await NatsBus(nats_url).open()
    yield bus
    await bus.close()
    await delete_streams(nats_url, unique_name)


def topology(names: str, *, ack_wait: float = 30.0) -> Topology:
    return Topology(
        rapids=Rapids(name=f"{names}_R", subject_prefix=f"{names}.rapids"),
        rivers=(River(name=f"{names}_opened", types=("bank.account.opened.v1",)),),
        ponds=(Pond(name="compliance", river=f"{names}_opened", ack_wait=ack_wait),),
    )


async def test_a_rapids_stream_with_other_subjects_refuses_start_and_changes_nothing(
    bus: NatsBus, nats_url: str, unique_name: str
) -> None:
    nc = await nats.connect(nats_url)
    await nc.jetstream().add_stream(name=f"{unique_name}_R", subjects=[f"{unique_name}.elsewhere.>"])
    await nc.close()
    with pytest.raises(TopologyDrift, match=r"subjects are .*elsewhere") as caught:
        await reconcile(bus, topology(unique_name))
    assert "nothing was changed" in str(caught.value)
    with pytest.raises(nats.js.errors.NotFoundError):
        await bus._require_js().stream_info(f"{unique_name}_opened")


async def test_compatible_drift_is_updated_in_place_and_reported(bus: NatsBus, unique_name: str) -> None:
    first = await reconcile(bus, topology(unique_name))
    assert set(first.created) == {
        f"rapids {unique_name}_R",
        f"parked stream {unique_name}_R_PARKED",
        f"river {unique_name}_opened",
        "pond compliance",
    }
    second = await reconcile(bus, topology(unique_name, ack_wait=5.0))
    assert second.updated == ("pond compliance",)
    assert any("ack_wait is 30.0s, declared 5.0s" in note for note in second.drift)
    info = await bus._require_js().consumer_info(f"{unique_name}_opened", "compliance")
    assert info.config.ack_wait == 5.0


async def test_a_push_consumer_in_the_way_refuses_start(
    bus: NatsBus, nats_url: str, unique_name: str
) -> None:
    await reconcile(bus, topology(unique_name))
    await bus._require_js().delete_consumer(f"{unique_name}_opened", "compliance")
    nc = await nats.connect(nats_url)
    await nc.jetstream().add_consumer(
        f"{unique_name}_opened",
        nats.js.api.ConsumerConfig(durable_name="compliance", deliver_subject=f"{unique_name}.push"),
    )
    await nc.close()
    with pytest.raises(TopologyDrift, match="push consumer"):
        await reconcile(bus, topology(unique_name))
