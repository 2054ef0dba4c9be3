"""Architecture rules that import-linter cannot express."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import riverbed.errors

SRC = Path(__file__).parents[2] / "src" / "riverbed"


def test_importing_riverbed_loads_no_optional_driver_and_connects_nowhere() -> None:
    # The embedded mode must work on a laptop with none of the optional drivers or services.
    code = (
        "import sys, socket\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('riverbed connected at import time')\n"
        "socket.socket.connect = refuse\n"
        "import riverbed, riverbed.bootstrap, riverbed.cloudevents, riverbed.domain, riverbed.ports\n"
        "loaded = sorted(m for m in ('psycopg', 'psycopg_pool', 'nats', 'boto3', 'starlette', 'uvicorn')"
        " if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_class_is_drawn_in_the_docstring_tree() -> None:
    doc = riverbed.errors.__doc__ or ""
    classes = [
        obj
        for _, obj in inspect.getmembers(riverbed.errors, inspect.isclass)
        if obj.__module__ == "riverbed.errors"
    ]
    assert classes, "riverbed.errors defines no classes"
    missing = [cls.__name__ for cls in classes if cls.__name__ not in doc]
    assert missing == [], f"add these to the tree in riverbed.errors' docstring: {missing}"


def test_every_error_derives_from_the_root() -> None:
    for _, obj in inspect.getmembers(riverbed.errors, inspect.isclass):
        if obj.__module__ == "riverbed.errors":
            assert issubclass(obj, riverbed.errors.RiverbedError), obj


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []


def test_no_module_is_over_500_lines() -> None:
    # ARCHITECTURE.md: anything over 500 lines is a smell; split it before it grows further.
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert long == {}


def test_package_ships_type_information() -> None:
    assert (SRC / "py.typed").exists()
