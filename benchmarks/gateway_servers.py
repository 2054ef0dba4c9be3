"""Servers for the gateway benchmark: ``python -m benchmarks.gateway_servers {bare|gateway|down} PORT``.

``bare`` is a plain Starlette app doing the same JSON round trip (read the body, parse it, answer a small
JSON document); ``gateway`` is the riverbed gateway with API-key and JWT auth, rate limits, body limits and
model validation in front of an in-process service that answers at once; ``down`` is the gateway with that
service reported replaying, so every command is a fast-fail 503.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from riverbed.application.endpoints import CommandOutcome, CommandRequest, CommandSpec, EndpointStatus
from riverbed.gateway.app import create_app
from riverbed.runtime.gateway_settings import GatewaySettings

API_KEY = "bench-key-0123456789abcdef"
HS_SECRET = "bench-secret-of-at-least-32-bytes!!"
PREFIX = "0" * 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit:
    account_id: str
    amount: int


class InstantService:
    """A service that answers every command at once (the benchmark measures the gateway, not a store)."""

    def __init__(self, state: str) -> None:
        self.name = "bank"
        self.state = state
        self.count = 0

    def commands(self) -> Mapping[str, CommandSpec]:
        return {"Deposit": CommandSpec("Deposit", Deposit)}

    async def send(self, request: CommandRequest) -> CommandOutcome:
        self.count += 1
        return CommandOutcome(
            command_id=request.command_id,
            stream=f"{request.tenant}:account-{request.payload['account_id']}",
            version=self.count,
            position=str(self.count),
        )

    async def status(self) -> EndpointStatus:
        return EndpointStatus(state=self.state, progress={"events_done": 10, "events_behind": 90})


def bare_app() -> Starlette:
    count = 0

    async def deposit(request: Request) -> Response:
        nonlocal count
        payload = json.loads(await request.body())
        count += 1
        body = {  # the same document the gateway answers with
            "service": "bank",
            "command": "Deposit",
            "command_id": f"{PREFIX}-{count}",
            "stream": f"account-{payload['account_id']}",
            "version": count,
            "position": str(count),
            "events": [],
            "duplicate": False,
            "accepted_only": False,
        }
        return Response(json.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/commands/bank/Deposit", deposit, methods=["POST"])])


def gateway_app(state: str) -> Any:
    settings = GatewaySettings.model_validate(
        {
            "api_keys": [{"key": API_KEY, "tenant": "acme"}],
            "jwt": {"hs256_secret": HS_SECRET},
            "rate_limit": {"requests_per_second": 1_000_000, "burst": 1_000_000},
        }
    )
    return create_app(settings, services=[InstantService(state)])


def main(kind: str, port: int) -> None:
    app = bare_app() if kind == "bare" else gateway_app("ready" if kind == "gateway" else "replaying")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
