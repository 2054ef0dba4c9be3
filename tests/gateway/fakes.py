"""Test upstreams: a small bank service and a balance view over a real (memory) event store.

They implement the endpoint Protocols the gateway speaks, with switches the tests flip: the lifecycle
state (replaying, draining, ...), a hang (to hit deadlines) and failures (to trip the circuit breaker).
Commands are de-duplicated by command id, as the command side does, and every stream is tenant-scoped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field

from riverbed.application.endpoints import (
    CommandOutcome,
    CommandRequest,
    CommandSpec,
    EndpointStatus,
    ViewRequest,
    ViewRow,
)
from riverbed.application.tenancy import scoped, tenant_of
from riverbed.cloudevents import CloudEvent
from riverbed.errors import NotFound, ServiceUnavailable
from riverbed.ports.event_store import EventStore

AccountId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAccount:
    account_id: AccountId
    owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit:
    account_id: AccountId
    amount: int
    memo: dict[str, Any] = field(default_factory=dict)


class Refusal(ServiceUnavailable):
    """A lifecycle refusal with a state, like the command side's replaying/draining errors."""

    def __init__(self, state: str, progress: dict[str, int] | None) -> None:
        super().__init__(f"the bank is {state}", retry_after=2.0)
        self.state = state
        self.progress = progress


class BankService:
    """Deposits into tenant-scoped account streams; one run per command id."""

    def __init__(self, store: EventStore, *, name: str = "bank") -> None:
        self.name = name
        self.store = store
        self.state = "ready"
        self.progress: dict[str, int] | None = None
        self.hang = False
        self.fail = False
        self.status_fails = False
        self.runs: list[CommandRequest] = []
        self.results: dict[str, CommandOutcome] = {}

    def commands(self) -> Mapping[str, CommandSpec]:
        return {
            "OpenAccount": CommandSpec("OpenAccount", OpenAccount),
            "Deposit": CommandSpec("Deposit", Deposit),
        }

    async def status(self) -> EndpointStatus:
        if self.status_fails:
            raise ConnectionError("refused")
        return EndpointStatus(state=self.state, progress=self.progress)

    async def send(self, request: CommandRequest) -> CommandOutcome:
        if self.state != "ready":
            raise Refusal(self.state, self.progress)
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise RuntimeError("the bank broke")
        first = self.results.get(request.command_id)
        if first is not None:
            return CommandOutcome(
                command_id=first.command_id,
                stream=first.stream,
                version=first.version,
                position=first.position,
                events=first.events,
                duplicate=True,
            )
        self.runs.append(request)
        stream = scoped(request.tenant, f"account-{request.payload['account_id']}")
        kind = "bank.account.opened.v1" if request.command == "OpenAccount" else "bank.account.deposited.v1"
        event = CloudEvent(
            source=f"riverbed/{self.name}",
            type=kind,
            data=dict(request.payload),
            datacontenttype="application/json",
            extensions={"correlationid": request.correlation_id, "traceparent": request.traceparent or ""},
        )
        result = await self.store.append(stream, [event])
        outcome = CommandOutcome(
            command_id=request.command_id,
            stream=stream,
            version=result.last_version,
            position=str(result.checkpoint),
            events=({"id": event.id, "type": kind},),
        )
        self.results[request.command_id] = outcome
        return outcome


class BalanceView:
    """The balance of an account, folded from its stream when asked (an on-demand view)."""

    def __init__(self, store: EventStore, *, name: str = "balances") -> None:
        self.name = name
        self.store = store
        self.state = "ready"
        self.requests: list[ViewRequest] = []

    async def status(self) -> EndpointStatus:
        return EndpointStatus(state=self.state)

    async def get(self, request: ViewRequest) -> ViewRow:
        self.requests.append(request)
        tenant = tenant_of(request.key)
        assert tenant == request.tenant
        account = request.key.split(":", 1)[1]
        balance = 0
        last: str | None = None
        found = False
        async for record in self.store.read(scoped(tenant, f"account-{account}")):
            found = True
            balance += int(record.event.data.get("amount", 0)) if isinstance(record.event.data, dict) else 0
            last = str(record.checkpoint)
        if not found:
            raise NotFound(f"no account {account!r}")
        return ViewRow(key=request.key, data={"balance": balance}, position=last)
