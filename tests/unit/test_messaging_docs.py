"""The Python examples in docs/messaging.md run."""

import re
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

from riverbed.adapters.memory.bus import MemoryBus
from riverbed.cloudevents import CloudEvent

DOC = Path(__file__).resolve().parents[2] / "docs" / "messaging.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


async def run_block(code: str, namespace: dict[str, Any]) -> None:
    exec(f"async def _example():\n{textwrap.indent(code, '    ')}\n    return locals()", namespace)
    namespace.update(await namespace["_example"]())


async def test_topology_example_declares_on_a_bus() -> None:
    bus = MemoryBus()
    namespace: dict[str, Any] = {"bus": bus}
    await run_block(BLOCKS[0], namespace)
    assert "pond compliance-rules" in namespace["report"].created


async def test_inbox_example_has_its_effect_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    await run_block(BLOCKS[1], namespace)
    event = CloudEvent(source="urn:bank", type="bank.account.opened.v1", subject="acct-1")
    await namespace["handler"](event)
    await namespace["handler"](event)
    await namespace["inbox"].close()
    with sqlite3.connect(tmp_path / "compliance.db") as conn:
        assert conn.execute("SELECT account, kind FROM rules").fetchall() == [("acct-1", "monitor")]
