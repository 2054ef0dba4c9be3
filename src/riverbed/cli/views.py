"""``riverbed views``: status, rebuild and skip for the views (read models) of a service.

* ``riverbed views status``: every slot of every view with its checkpoint, lag and failure.
* ``riverbed views rebuild NAME``: build the view again beside the serving one, with a progress bar
  (events done, rate, ETA); cut over once it has caught up, then drop the old one.
* ``riverbed views skip NAME POSITION``: let a projection stopped on a failing event skip it. The runner
  (in whichever process serves the view) picks the request up from the view store.

Store URLs come from ``--store``/``RIVERBED_STORE_URL`` and ``--views``/``RIVERBED_VIEWS_URL``; the
projections from ``--projections module:attribute`` (a list of projections, or a function returning one).
Adapters are chosen by :mod:`riverbed.bootstrap`; this module never imports one.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from riverbed.application.projections import BuildProgress, Projection, build_view
from riverbed.application.projections.status import names_event
from riverbed.bootstrap import open_store, open_view_store
from riverbed.cli.running import run
from riverbed.errors import ConfigurationError, ValidationError
from riverbed.ports.event_store import Checkpoint

app = typer.Typer(
    name="views",
    help="Inspect, rebuild and unblock views (read models).",
    no_args_is_help=True,
    add_completion=False,
)

StoreUrl = Annotated[
    str, typer.Option("--store", envvar="RIVERBED_STORE_URL", help="Event store URL.", show_default=False)
]
ViewsUrl = Annotated[
    str, typer.Option("--views", envvar="RIVERBED_VIEWS_URL", help="View store URL.", show_default=False)
]
ProjectionsRef = Annotated[
    str,
    typer.Option(
        "--projections",
        envvar="RIVERBED_PROJECTIONS",
        help="module:attribute naming a list of projections (or a function returning one).",
        show_default=False,
    ),
]


def load_projections(ref: str) -> list[Projection]:
    """Import ``module:attribute`` and return the projections it names."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise ValidationError(f"--projections {ref!r} must look like 'package.module:attribute'")
    try:
        found: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load projections from {ref!r}: {exc}") from exc
    if callable(found) and not isinstance(found, Projection):
        found = found()
    items: Sequence[Any] = found if isinstance(found, (list, tuple)) else [found]
    if not items or not all(isinstance(p, Projection) for p in items):
        raise ConfigurationError(f"{ref!r} must name a list of Projection instances, got {found!r}")
    return list(items)


def _pick(projections: list[Projection], name: str) -> Projection:
    for projection in projections:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in projections)
    raise ValidationError(f"no projection named {name!r}; these are known: {known}")


@app.command()
def status(store: StoreUrl, views: ViewsUrl) -> None:
    """Every slot of every view: version, active, checkpoint, events, lag and failure."""

    async def main() -> None:
        async with open_store(store) as events, open_view_store(views) as view_store:
            head = (await events.stats()).last_position
            table = Table("view", "version", "slot", "active", "checkpoint", "events", "lag", "failed at")
            for slot in await view_store.slots():
                table.add_row(
                    slot.name,
                    str(slot.version),
                    slot.slot,
                    "yes" if slot.active else "building",
                    str(slot.checkpoint),
                    f"{slot.events:,}",
                    f"{max(0, head - slot.checkpoint.position):,}",
                    f"{slot.failed_at}: {slot.error}" if slot.failed_at is not None else "",
                )
            Console(width=200).print(table)

    run(main)


@app.command()
def rebuild(
    name: Annotated[str, typer.Argument(help="The view to rebuild.")],
    store: StoreUrl,
    views: ViewsUrl,
    projections: ProjectionsRef,
    batch: Annotated[int, typer.Option(min=1, help="Events per commit.")] = 1000,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Rebuild NAME beside the serving version; cut over once caught up, then drop the old one."""

    async def main() -> None:
        projection = _pick(load_projections(projections), name)
        async with open_store(store) as events, open_view_store(views) as view_store:
            console = Console(stderr=True)
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} ev/s"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                disable=quiet,
            ) as bar:
                task = bar.add_task(f"rebuilding {name}", total=None, rate="-")

                def show(progress: BuildProgress) -> None:
                    bar.update(
                        task, completed=progress.position, total=progress.head, rate=f"{progress.rate:,.0f}"
                    )

                state = await build_view(events, view_store, projection, batch_size=batch, progress=show)
        typer.echo(
            f"rebuilt {name} v{projection.version} into {state.slot}: {state.events:,} events applied, "
            f"at position {state.checkpoint}; it now serves queries and any older slot was dropped"
        )

    run(main)


@app.command()
def skip(
    name: Annotated[str, typer.Argument(help="The view whose projection is stopped.")],
    position: Annotated[str, typer.Argument(help="The failed event's position, as its status shows it.")],
    views: ViewsUrl,
) -> None:
    """Ask the projection of NAME, stopped on the event at POSITION, to skip that event."""

    async def main() -> None:
        at = Checkpoint.parse(position)
        async with open_view_store(views) as view_store:
            slots = await view_store.slots(name)
            failed = [s for s in slots if s.failed_at is not None and names_event(at, s.failed_at)]
            if not failed:
                stops = ", ".join(f"{s.slot} at {s.failed_at}" for s in slots if s.failed_at) or "none"
                raise ValidationError(f"view {name!r} is not stopped at {position}; stopped slots: {stops}")
            for slot in failed:
                assert slot.failed_at is not None
                await view_store.request_skip(slot.slot, at=slot.failed_at)
        typer.echo(f"asked {name} to skip the event at {position}; its runner will move on shortly")

    run(main)
