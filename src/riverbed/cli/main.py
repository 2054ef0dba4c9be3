"""The ``riverbed`` command: ``run``, ``load``, ``store|views|parked|topology ...``, ``demo``.

Thin: every command parses its options, then calls :mod:`riverbed.bootstrap` (which picks the adapters)
and the ports. Errors are one line on stderr with a meaningful exit code (see :mod:`riverbed.cli.running`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from riverbed.cli import parked, store, topology, views
from riverbed.cli.demo import demo
from riverbed.cli.load import load
from riverbed.cli.run import run

app = typer.Typer(
    name="riverbed",
    help="riverbed: event-driven, event-sourced microservices.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from riverbed import __version__

        typer.echo(f"riverbed {__version__}")
        raise typer.Exit()


@app.callback()
def riverbed(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """riverbed: event-driven, event-sourced microservices."""


app.add_typer(store.app, name="store")
app.add_typer(parked.app, name="parked")
app.add_typer(views.app, name="views")
app.add_typer(topology.app, name="topology")
app.command(name="demo")(demo)
app.command(name="run")(run)
app.command(name="load")(load)


if __name__ == "__main__":  # pragma: no cover
    app()
