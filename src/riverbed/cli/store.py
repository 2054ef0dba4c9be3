"""``riverbed store``: create, fill, read, follow and count an event store from the shell.

Every command takes ``--url`` (or ``RIVERBED_STORE_URL``): ``memory://``, ``sqlite:///path/file.db`` or
``postgresql://user@host:port/db``. Output is JSON lines, one flushed line per event.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Annotated

import typer

from riverbed.bootstrap import create_store, init_store, open_store
from riverbed.cli.jsonlines import InputEvent, appended_line, parse_input, record_line
from riverbed.cli.running import exit_code_for, fail, redact, run, write_line
from riverbed.errors import RiverbedError, ValidationError
from riverbed.ports.event_store import EventStore, Expected, ExpectedVersion, StoreStats

app = typer.Typer(
    name="store",
    help="Create, append to, read, follow and count an event store.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

Url = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="RIVERBED_STORE_URL",
        help="Store URL: memory://, sqlite:///path/file.db or postgresql://user@host:port/db.",
        show_default=False,
    ),
]


def parse_expected(text: str) -> Expected:
    """``any``, ``no_stream``, ``exists`` or a version number ≥ 0."""
    lowered = text.strip().lower().replace("-", "_")
    for member in ExpectedVersion:
        if lowered == member.value:
            return member
    if lowered.isdigit():
        return int(lowered)
    raise ValidationError(
        f"--expected-version {text!r} is not one of any, no_stream, exists or a version number ≥ 0"
    )


def _check_url(url: str) -> None:
    """Refuse a URL riverbed cannot open, before reading input or touching the store."""
    create_store(url)


@app.command()
def init(url: Url) -> None:
    """Create the store (files, tables) if needed and check it; prints its counts."""

    async def main() -> None:
        _check_url(url)
        counts = await init_store(url)
        write_line(_counts_line(url, counts))

    run(main)


@app.command()
def append(
    url: Url,
    stream: Annotated[
        str | None,
        typer.Option(help="Stream for events without a subject (an event's subject names its stream)."),
    ] = None,
    expected_version: Annotated[
        str,
        typer.Option(
            "--expected-version",
            help="any | no_stream | exists | N, checked for the first event of each stream; later "
            "events of that stream must follow on (with any, nothing is checked).",
        ),
    ] = "any",
) -> None:
    """Append CloudEvents read as JSON lines (structured JSON format) from stdin.

    Every line is checked first: a bad line stores nothing (exit 2). Then each event is appended and,
    once durably stored, one line {"id","stream","version","position"} is printed. A version clash
    stops the run (exit 1); the events before it stay stored.
    """

    async def main() -> None:
        expected = parse_expected(expected_version)
        _check_url(url)
        if sys.stdin.isatty():
            sys.stderr.write("reading CloudEvents as JSON lines from stdin; end with Ctrl-D\n")
        events = await asyncio.to_thread(parse_input, sys.stdin.buffer, default_stream=stream)
        if not events:
            return
        async with open_store(url) as store:
            await _append_each(store, events, expected)

    run(main)


async def _append_each(store: EventStore, events: list[InputEvent], expected: Expected) -> None:
    last_version: dict[str, int] = {}
    for item in events:
        previous = last_version.get(item.stream)
        this_expected: Expected = expected
        if previous is not None and expected is not ExpectedVersion.ANY:
            this_expected = previous
        try:
            result = await store.append(item.stream, [item.event], expected_version=this_expected)
        except RiverbedError as exc:
            # Name the input line; the events before it are stored and were printed.
            fail(f"line {item.line}: {exc}", exit_code_for(exc))
        last_version[item.stream] = result.last_version
        write_line(appended_line(item.event.id, item.stream, result.last_version, result.last_position))


@app.command()
def read(
    url: Url,
    stream: Annotated[str | None, typer.Option(help="Read one stream; without it, read everything.")] = None,
    after: Annotated[
        str | None,
        typer.Option(
            help="With --stream: the stream version to start after. Without: the global position or "
            "checkpoint to start after."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=0, help="Print at most this many events.")] = None,
) -> None:
    """Print stored events as JSON lines: {"stream","version","position","checkpoint","event":{...}}."""

    async def main() -> None:
        _check_url(url)
        async with open_store(url) as store:
            if stream is not None:
                from_version = _stream_after(after) + 1 if after is not None else None
                async for rec in store.read(stream, from_version=from_version, limit=limit):
                    write_line(record_line(rec))
            else:
                async for rec in store.read_all(after=after, limit=limit):
                    write_line(record_line(rec))

    run(main, quiet_interrupt=True)


def _stream_after(text: str) -> int:
    if not text.strip().isdigit():
        raise ValidationError(f"--after {text!r}: with --stream it is a stream version, a number ≥ 0")
    return int(text)


@app.command()
def tail(
    url: Url,
    after: Annotated[
        str | None, typer.Option(help="Global position or checkpoint to start after (default: the start).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many events (default: follow until stopped).")
    ] = None,
) -> None:
    """Print every stored event, then follow new ones live, until interrupted (Ctrl-C or SIGTERM)."""

    async def main() -> None:
        _check_url(url)
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            async with open_store(url) as store:
                seen = 0
                async for rec in store.subscribe(after=after):
                    write_line(record_line(rec))
                    seen += 1
                    if limit is not None and seen >= limit:
                        return
        except asyncio.CancelledError:
            return  # stopped on purpose; the store was closed on the way out

    run(main, quiet_interrupt=True)


@app.command()
def stats(url: Url) -> None:
    """Print the store's counts as one JSON line."""

    async def main() -> None:
        _check_url(url)
        async with open_store(url) as store:
            counts = await store.stats()
        write_line(_counts_line(url, counts))

    run(main)


def _counts_line(url: str, counts: StoreStats) -> str:
    out = {
        "url": redact(url),
        "events": counts.events,
        "streams": counts.streams,
        "last_position": counts.last_position,
        **{str(k): v for k, v in counts.details.items()},
    }
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"), default=str)
