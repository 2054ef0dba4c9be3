"""The ``riverbed`` command: ``riverbed store ...`` and ``riverbed demo``.

Thin: every command parses its options, then calls :mod:`riverbed.bootstrap` (which picks the adapters)
and the ports. Errors are one line on stderr with a meaningful exit code (see :mod:`riverbed.cli.running`).
"""

from __future__ import annotations

import typer

from riverbed.cli import store
from riverbed.cli.demo import demo

app = typer.Typer(
    name="riverbed",
    help="riverbed: event-driven, event-sourced microservices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(store.app, name="store")
app.command(name="demo")(demo)


if __name__ == "__main__":  # pragma: no cover
    app()
