"""docs/event-store-postgres.md's example runs as written against the PostgreSQL server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

DOC = Path(__file__).parents[2] / "docs" / "event-store-postgres.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_example_runs_and_prints_what_the_doc_says(pg_schema_url: str, tmp_path: Path) -> None:
    (example,) = BLOCK.findall(DOC.read_text())
    env = {**os.environ, "RIVERBED_PG_URL": pg_schema_url}
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["0 True", "live: 1 bank.money.deposited.v1"]
    assert "It prints `0 True`, then `live: 1 bank.money.deposited.v1`." in DOC.read_text()
