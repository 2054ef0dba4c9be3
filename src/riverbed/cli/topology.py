"""``riverbed topology check|show``: the one-way flow check for CI, and the graph as text or Mermaid.

Both load a declaration with ``--app module:attribute`` (or ``RIVERBED_APP``): a list of service
declarations, an object with a ``services`` attribute, or a callable returning either. The default is the
bank example's, which is importable from the root of a riverbed clone.

Exit codes: 0 the flow is one way (warnings go to stderr); 2 a cycle (named) or a declaration that cannot be
loaded; 1 with ``--strict`` when there are warnings.
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated

import typer

from riverbed.cli.running import EXIT_BAD_INPUT, fail
from riverbed.errors import ConfigurationError
from riverbed.runtime.flow import FlowGraph, build_flow, load_services, to_mermaid, to_text

DEFAULT_APP = "examples.bank.topology:services"
EXIT_WARNINGS = 1

app = typer.Typer(
    name="topology",
    help="Check and show how events flow between services and bounded contexts.",
    no_args_is_help=True,
    add_completion=False,
)


class Format(enum.StrEnum):
    """How ``show`` prints the graph."""

    TEXT = "text"
    MERMAID = "mermaid"


AppRef = Annotated[
    str,
    typer.Option(
        "--app",
        envvar="RIVERBED_APP",
        help="The declaration to load, as module:attribute (services, an object with .services, a callable).",
    ),
]


@app.command()
def check(
    app_ref: AppRef = DEFAULT_APP,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when there are warnings.")] = False,
) -> None:
    """Refuse a cycle between services or bounded contexts (exit 2, naming it); report loose ends."""
    graph = _load(app_ref)
    for warning in graph.warnings:
        sys.stderr.write(f"riverbed: warning: {warning.message}\n")
    typer.echo(
        f"ok: {len(graph.services)} services in {len(graph.contexts)} bounded contexts; events flow one way "
        f"({len(graph.edges)} subscriptions, {len(graph.routes)} command routes, "
        f"{len(graph.warnings)} warnings)"
    )
    if strict and graph.warnings:
        raise typer.Exit(EXIT_WARNINGS)


@app.command()
def show(
    app_ref: AppRef = DEFAULT_APP,
    output: Annotated[Format, typer.Option("--format", help="text or mermaid.")] = Format.TEXT,
) -> None:
    """Print the services, the event flow, the command routes and the warnings."""
    graph = _load(app_ref)
    typer.echo(to_mermaid(graph) if output is Format.MERMAID else to_text(graph), nl=False)


def _load(reference: str) -> FlowGraph:
    try:
        return build_flow(load_services(reference))
    except ConfigurationError as exc:
        hint = ""
        if reference == DEFAULT_APP and "cannot import" in str(exc):
            hint = " (the default is the bank example: run from a riverbed clone's root, or pass --app)"
        fail(f"{exc}{hint}", EXIT_BAD_INPUT)
