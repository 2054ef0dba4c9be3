import asyncio
import json

import pytest
from typer.testing import CliRunner

from riverbed.adapters.nats.bus import NatsBus
from riverbed.cli.main import app
from riverbed.cloudevents import CloudEvent
from riverbed.ports.topology import Pond, Rapids, River, Topology
from tests.nats_cleanup import delete_streams

pytestmark = pytest.mark.nats


def test_parked_list_show_replay_drop(nats_url: str, unique_name: str) -> None:
    rapids = Rapids(name=f"{unique_name}_R", subject_prefix=f"{unique_name}.rapids")
    topology = Topology(
        rapids=rapids,
        rivers=(River(name=f"{unique_name}_all"),),
        ponds=(Pond(name="p1", river=f"{unique_name}_all"),),
    )
    events = [CloudEvent(id=f"poison-{n}", source="urn:t", type="t.v1", data={"n": n}) for n in range(2)]

    async def setup() -> None:
        bus = await NatsBus(nats_url).open()
        await bus.declare(topology)
        await bus.publish(events)
        got = await bus.fetch("p1", max_messages=2, max_wait=2)
        for delivery in got:
            await delivery.park("handler failed: KeyError: 'amount'")
        await bus.close()

    async def redelivered() -> list[str]:
        bus = await NatsBus(nats_url).open()
        await bus.declare(topology)
        got = await bus.fetch("p1", max_messages=5, max_wait=2)
        for delivery in got:
            await delivery.ack()
        await bus.close()
        return [d.event.id for d in got]

    try:
        asyncio.run(setup())
        runner = CliRunner()
        where = ["--bus", nats_url, "--rapids", rapids.name, "--prefix", rapids.subject_prefix]
        listed = runner.invoke(app, ["parked", "list", *where])
        assert listed.exit_code == 0, listed.output
        assert "poison-0" in listed.output
        assert "poison-1" in listed.output
        assert "KeyError" in listed.output

        shown = runner.invoke(app, ["parked", "show", "1", *where])
        assert shown.exit_code == 0, shown.output
        detail = json.loads(shown.output)
        assert detail["event"]["id"] == "poison-0"
        assert detail["pond"] == "p1"
        assert detail["reason"] == "handler failed: KeyError: 'amount'"

        replayed = runner.invoke(app, ["parked", "replay", "1", *where])
        assert replayed.exit_code == 0, replayed.output
        assert asyncio.run(redelivered()) == ["poison-0"]

        dropped = runner.invoke(app, ["parked", "drop", "2", *where])
        assert dropped.exit_code == 0, dropped.output
        empty = runner.invoke(app, ["parked", "list", *where])
        assert "no parked messages" in empty.output

        missing = runner.invoke(app, ["parked", "show", "2", *where])
        assert missing.exit_code == 1
        assert "no parked message" in missing.output

        wrong = runner.invoke(app, ["parked", "list", "--bus", nats_url, "--rapids", f"{unique_name}_NOPE"])
        assert wrong.exit_code == 1
        assert f"riverbed: error: there is no parked stream '{unique_name}_NOPE_PARKED'" in wrong.output

        bad_url = runner.invoke(app, ["parked", "list", "--bus", "kafka://x"])
        assert bad_url.exit_code == 2
        assert "unknown bus URL scheme 'kafka'" in bad_url.output
    finally:
        asyncio.run(delete_streams(nats_url, unique_name))
