"""How every CLI command runs: one asyncio loop, one-line errors, and exit codes a script can test.

Exit codes: 0 done; 1 the store refused or failed (version clash, duplicate id, I/O error); 2 the input,
URL or options were refused before anything was stored; 130 interrupted. No traceback is ever printed
(set ``RIVERBED_DEBUG=1`` to see one for an unexpected error).
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import typer

from riverbed.errors import ConfigurationError, RiverbedError, ValidationError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int) -> NoReturn:
    """Print ``riverbed: error: message`` as one line on stderr and exit with ``code``."""
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"riverbed: error: {one_line}\n")
    sys.stderr.flush()
    raise typer.Exit(code)


def exit_code_for(exc: BaseException) -> int:
    """Refused before any effect (bad input, URL, settings) is 2; anything else is 1."""
    if isinstance(exc, (ValidationError, ConfigurationError)):
        return EXIT_BAD_INPUT
    return EXIT_REFUSED


def run(main: Callable[[], Awaitable[None]], *, quiet_interrupt: bool = False) -> None:
    """Run ``main`` on a fresh event loop, turning every error into a one-line message and an exit code."""
    try:
        asyncio.run(_as_coroutine(main))
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        if quiet_interrupt:
            raise typer.Exit(EXIT_OK) from None
        fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (``riverbed store read | head``): stop quietly.
        _silence_stdout()
        if quiet_interrupt:
            raise typer.Exit(EXIT_OK) from None
        fail("stdout was closed, so the run stopped; what was stored before is kept", EXIT_REFUSED)
    except RiverbedError as exc:
        fail(str(exc), exit_code_for(exc))
    except Exception as exc:
        if os.environ.get("RIVERBED_DEBUG"):
            traceback.print_exc()
        fail(f"unexpected {type(exc).__name__}: {exc}", EXIT_REFUSED)


async def _as_coroutine(main: Callable[[], Awaitable[None]]) -> None:
    await main()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def write_line(line: str) -> None:
    """Write one line to stdout and flush it, so a reader sees each line as soon as it is true."""
    sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def redact(url: str) -> str:
    """The URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
