"""docs/event-store.md's examples run as written.

The quick start prints what its comments say, and the contract-suite example is a working test module
(run here without the project's pytest settings, as a user's project would).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "event-store.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def test_the_quick_start_runs_and_prints_what_it_promises(tmp_path: Path) -> None:
    command = [sys.executable, "-c", blocks()[0]]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "0 1 0",
        "refused: 0",
        "account-42 0 bank.account.opened.v1",
        "live: 1 bank.money.deposited.v1",
    ]
    assert (tmp_path / "bank.db").is_file()


def test_the_contract_suite_example_is_a_passing_test_module(tmp_path: Path) -> None:
    (module,) = [code for code in blocks() if "EventStoreContract" in code]
    (tmp_path / "test_my_event_store.py").write_text(module)
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-o", "asyncio_default_fixture_loop_scope=function",
        "-k", "first_append or survives_close or like_the_model", "test_my_event_store.py",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
