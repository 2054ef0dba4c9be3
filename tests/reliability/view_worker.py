"""A projection worker process for the crash proof: runs the sample projections until it is killed.

``python -m tests.reliability.view_worker STORE_URL VIEWS_URL --batch N``

It prints ``working`` once both stores are open and the runner has started, so the parent can kill it in
the middle of catching up or following live.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from riverbed.application.projections import ProjectionRunner, RunnerOptions
from riverbed.bootstrap import open_store, open_view_store
from tests.integration.views.samples import Balances, Counter


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store")
    parser.add_argument("views")
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    options = RunnerOptions(batch_size=args.batch, batch_ms=5, poll_interval=0.05, lag_interval=0.5)
    async with (
        open_store(args.store) as store,
        open_view_store(args.views) as views,
        ProjectionRunner(store, views, [Balances(), Counter()], options=options) as runner,
    ):
        print("working", flush=True)
        while True:
            await asyncio.sleep(0.5)
            for status in runner.statuses():
                if status.error:
                    print(f"failed: {status.error}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
