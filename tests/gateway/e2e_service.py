"""A real service process: ``python -m tests.gateway.e2e_service NAME STORE_URL PORT``.

The command side's ServiceRunner over a SQLite store, served to the gateway by the service API.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn

from riverbed import CommandService, ServiceRunner, open_store
from riverbed.runtime.endpoints import RunnerEndpoint
from riverbed.runtime.service_api import create_service_api
from tests.gateway.e2e_domain import Account, Deposit, events


async def main(name: str, store_url: str, port: int) -> None:
    store = await open_store(store_url)
    service: CommandService[Account] = CommandService(
        name=name,
        aggregate=Account,
        commands=(Deposit,),
        stream=lambda c: f"account-{c.account_id}",
        store=store,
        registry=events,
    )
    runner = ServiceRunner(service)
    app = create_service_api([RunnerEndpoint(runner)])
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
        )
    )
    starting = asyncio.create_task(runner.start())
    try:
        await server.serve()
    finally:
        await starting
        await runner.stop(grace=5)
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
