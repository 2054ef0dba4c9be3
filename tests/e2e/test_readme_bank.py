"""The README's bank block works when pasted while ``make run`` serves the bank (here on a free port)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.e2e.running_system import REPO, RunningSystem

from riverbed.testing.ports import free_port

BASH = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_readme_curl_commands_work_against_the_running_bank(tmp_path: Path) -> None:
    blocks = BASH.findall((REPO / "README.md").read_text())
    assert len(blocks) == 1, "the README has one bash block: the curl commands against `make run`"
    port = free_port()
    bank = RunningSystem(
        ["--data-dir", str(tmp_path / "data")], {"RIVERBED_GATEWAY__PORT": str(port)}, port=port
    )
    bank.start()
    try:
        pasted = blocks[0].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(["bash", "-eu", "-c", pasted], capture_output=True, text=True, timeout=60)
    finally:
        assert bank.stop() == 0
    assert done.returncode == 0, done.stderr
    balances = [int(b) for b in re.findall(r'"balance":(\d+)', done.stdout)]
    assert balances == [5000, 3800], done.stdout
    assert '"status":' not in done.stdout  # no problem+json answer
