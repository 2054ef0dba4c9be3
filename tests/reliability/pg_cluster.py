"""A private, throw-away PostgreSQL cluster for tests that crash the server.

``initdb`` into a temporary directory, a free TCP port on 127.0.0.1 and the unix socket inside the
directory: the shared server and its process are never touched. PostgreSQL refuses to run as root, so
under root every binary runs as the ``postgres`` OS user (``runuser``) and the directory belongs to it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from riverbed.testing.ports import free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl live: $RIVERBED_PG_BIN, the PATH, or /usr/lib/postgresql/<newest>/bin."""
    candidates = [os.environ.get("RIVERBED_PG_BIN", "")]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))[::-1]
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class PrivateCluster:
    """One PostgreSQL cluster in a temporary directory; ``start()``, ``crash()``, ``destroy()``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="riverbed-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "max_connections": "20",
            "shared_buffers": "16MB",
            "logging_collector": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    @property
    def url(self) -> str:
        """A URL for the cluster's ``postgres`` database over TCP on 127.0.0.1."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections (after crash recovery)."""
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every process exits at once, no checkpoint; recovery on start."""
        self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.data))

    def destroy(self) -> None:
        """Stop the server if it runs and delete the directory."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self._prefix(),
                    str(self.bindir / "pg_ctl"),
                    "stop",
                    "-m",
                    "immediate",
                    "-D",
                    str(self.data),
                ],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if self._as_postgres else []

    def _run(self, binary: str, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix(), str(self.bindir / binary), *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{binary} {' '.join(args)} failed: {done.stdout}{done.stderr}\n{log[-2000:]}")


def private_cluster() -> PrivateCluster:
    """Create a private cluster, or skip (fail under CI=true) when the PostgreSQL binaries are missing."""
    bindir = find_bindir()
    if bindir is None:
        message = "initdb/pg_ctl not found (set RIVERBED_PG_BIN to PostgreSQL's bin directory)"
        if IN_CI:
            pytest.fail(f"{message}; under CI=true a missing service is a failure, not a skip")
        pytest.skip(message)
    return PrivateCluster(bindir)
