"""The real ``riverbed`` executable against PostgreSQL: init creates the schema, append and read use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg  # noqa: TID251 - the test looks at the schema directly
import pytest

pytestmark = pytest.mark.postgres

RIVERBED = str(Path(sys.executable).with_name("riverbed"))


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([RIVERBED, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_store_init_append_and_read_on_postgresql(pg_schema_url: str) -> None:
    init = run_cli("store", "init", "--url", pg_schema_url)
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["schema_version"] == 1
    with psycopg.connect(pg_schema_url) as conn:
        assert conn.execute("SELECT version FROM riverbed_migrations").fetchall() == [(1,)]

    line = json.dumps({"specversion": "1.0", "id": "e-1", "source": "/cli", "type": "t.v1", "data": {"a": 1}})
    appended = run_cli("store", "append", "--url", pg_schema_url, "--stream", "s-1", stdin=line + "\n")
    assert appended.returncode == 0, appended.stderr
    assert json.loads(appended.stdout) == {"id": "e-1", "stream": "s-1", "version": 0, "position": 1}

    read = run_cli("store", "read", "--url", pg_schema_url)
    assert read.returncode == 0, read.stderr
    [record] = [json.loads(text) for text in read.stdout.splitlines()]
    commit, position = record["checkpoint"].split(":")
    assert (int(commit) > 0, position) == (True, "1"), "the checkpoint is the (xid, position) pair"
    assert record["event"]["data"] == {"a": 1}
