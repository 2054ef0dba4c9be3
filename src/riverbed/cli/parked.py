"""``riverbed parked``: inspect, replay and drop the messages ponds gave up on.

The commands open the bus through :func:`riverbed.bootstrap.open_bus` (never an adapter directly) and
address the parked stream of one rapids (``--rapids``/``--prefix``, or ``RIVERBED_RAPIDS`` and
``RIVERBED_RAPIDS_PREFIX``). A replay hands the event back to its pond with fresh attempts. Errors are one
line on stderr with the exit codes of :mod:`riverbed.cli.running` (1: refused, 2: bad input or URL).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from riverbed.bootstrap import open_bus
from riverbed.cli.running import run
from riverbed.cloudevents import to_dict
from riverbed.ports.bus import Bus, ParkedMessages
from riverbed.ports.topology import Rapids

app = typer.Typer(help="Inspect, replay and drop parked (dead-lettered) messages.", no_args_is_help=True)
T = TypeVar("T")

BusUrl = Annotated[str, typer.Option("--bus", envvar="RIVERBED_BUS_URL", help="Bus URL (nats://host:port).")]
RapidsName = Annotated[
    str, typer.Option("--rapids", envvar="RIVERBED_RAPIDS", help="The rapids stream name.")
]
Prefix = Annotated[
    str, typer.Option("--prefix", envvar="RIVERBED_RAPIDS_PREFIX", help="The rapids subject prefix.")
]
ParkedId = Annotated[str, typer.Argument(help="The parked message id (from `riverbed parked list`).")]


def _run(bus_url: str, rapids: str, prefix: str, work: Callable[[ParkedMessages], Awaitable[T]]) -> T:
    """Open the bus, do ``work`` on its parked store, close it; errors exit as every command's do."""
    results: list[T] = []

    async def main() -> None:
        bus: Bus = await open_bus(bus_url, rapids=Rapids(name=rapids, subject_prefix=prefix))
        try:
            results.append(await work(bus.parked))
        finally:
            await bus.close()

    run(main)
    return results[0]


@app.command("list")
def list_parked(
    pond: Annotated[str | None, typer.Option(help="Only this pond's parked messages.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    bus: BusUrl = "nats://127.0.0.1:4222",
    rapids: RapidsName = "RAPIDS",
    prefix: Prefix = "rapids",
) -> None:
    """List parked messages, oldest first."""
    items = _run(bus, rapids, prefix, lambda parked: parked.list(pond, limit=limit))
    if not items:
        typer.echo("no parked messages")
        return
    table = Table("id", "pond", "event type", "event id", "attempts", "parked at", "reason")
    for item in items:
        table.add_row(
            item.id,
            item.pond,
            item.event.type,
            item.event.id,
            str(item.attempts),
            item.parked_at.isoformat(timespec="seconds"),
            item.reason,
        )
    Console(width=200).print(table)


@app.command("show")
def show_parked(
    parked_id: ParkedId,
    bus: BusUrl = "nats://127.0.0.1:4222",
    rapids: RapidsName = "RAPIDS",
    prefix: Prefix = "rapids",
) -> None:
    """Show one parked message: why, where, and the whole CloudEvent (JSON)."""
    item = _run(bus, rapids, prefix, lambda parked: parked.get(parked_id))
    typer.echo(
        json.dumps(
            {
                "id": item.id,
                "pond": item.pond,
                "river": item.river,
                "reason": item.reason,
                "attempts": item.attempts,
                "parked_at": item.parked_at.isoformat(),
                "event": to_dict(item.event),
            },
            indent=2,
            ensure_ascii=False,
        )
    )


@app.command("replay")
def replay_parked(
    parked_id: ParkedId,
    bus: BusUrl = "nats://127.0.0.1:4222",
    rapids: RapidsName = "RAPIDS",
    prefix: Prefix = "rapids",
) -> None:
    """Deliver a parked message to its pond again and remove it from the parked store."""
    _run(bus, rapids, prefix, lambda parked: parked.replay(parked_id))
    typer.echo(f"replayed {parked_id}")


@app.command("drop")
def drop_parked(
    parked_id: ParkedId,
    bus: BusUrl = "nats://127.0.0.1:4222",
    rapids: RapidsName = "RAPIDS",
    prefix: Prefix = "rapids",
) -> None:
    """Delete a parked message for good."""
    _run(bus, rapids, prefix, lambda parked: parked.drop(parked_id))
    typer.echo(f"dropped {parked_id}")
