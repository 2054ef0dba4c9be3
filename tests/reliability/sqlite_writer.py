"""A writer process for the durability proofs: appends to a SQLite store and acknowledges each append.

``python tests/reliability/sqlite_writer.py URL --ack PATH|- [--tasks N] [--appends N] [--synchronous L]``

Each acknowledgement is ONE ``write()`` of lines ``id stream version position``, issued only after
``append`` has returned, to stdout (``-``) or to a marker file, so an strace of the process shows it as a
syscall. Tasks choose a stream, read its version, and append 1-3 events with that expected version
(retrying on a clash), so kills land in the middle of group commits and expected-version checks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random

from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.cloudevents import CloudEvent
from riverbed.errors import WrongExpectedVersion
from riverbed.ports.event_store import Expected, ExpectedVersion

STREAMS = [f"stream-{n}" for n in range(6)]


async def task(store: SQLiteEventStore, ack_fd: int, rng: random.Random, appends: int, batch: int) -> None:
    done = 0
    while appends == 0 or done < appends:
        stream = rng.choice(STREAMS)
        current = await store.stream_version(stream)
        expected: Expected = ExpectedVersion.NO_STREAM if current is None else current
        events = [
            CloudEvent(source="/durability", type="proof.appended.v1", data={"k": rng.random()})
            for _ in range(rng.randint(1, batch))
        ]
        try:
            result = await store.append(stream, events, expected_version=expected)
        except WrongExpectedVersion:
            continue
        lines = "".join(
            f"{event.id} {stream} {result.first_version + i} {result.first_position + i}\n"
            for i, event in enumerate(events)
        )
        os.write(ack_fd, lines.encode())
        done += 1


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument(
        "--ack", default="-", help="'-' for stdout, else a file to append acknowledgements to"
    )
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--appends", type=int, default=0, help="appends per task; 0 = until killed")
    parser.add_argument("--batch", type=int, default=3, help="most events per append")
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    ack_fd = 1 if args.ack == "-" else os.open(args.ack, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    unsafe = args.synchronous.upper() == "NORMAL"
    rng = random.Random(args.seed)
    async with SQLiteEventStore(
        args.url, synchronous=args.synchronous, unsafe_allow_data_loss=unsafe
    ) as store:
        await asyncio.gather(
            *(
                task(store, ack_fd, random.Random(rng.random()), args.appends, args.batch)
                for _ in range(args.tasks)
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
