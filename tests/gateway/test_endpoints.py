"""Adapters from the command side's runner and the query side's queries to the gateway's endpoints."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from riverbed.application.endpoints import CommandRequest, ViewRequest, refusal_progress, refusal_state
from riverbed.errors import NotFound, ServiceUnavailable
from riverbed.gateway.core import refusal
from riverbed.runtime.endpoints import QueriesEndpoint, RunnerEndpoint
from tests.gateway.fakes import Deposit


class State(enum.Enum):
    READY = "ready"
    REPLAYING = "replaying"


@dataclass
class Progress:
    state: State
    events_done: int = 0
    events_behind: int = 0


@dataclass
class Record:
    id: str
    type: str


@dataclass
class Result:
    command_id: str
    stream: str
    version: int
    records: tuple[Record, ...]
    last_position: int | None = 7
    checkpoint: Any = None
    duplicate: bool = False


@dataclass
class Model:
    command_type: type[Any]


@dataclass
class FakeRunner:
    name: str = "bank.deposits"
    progress: Progress = field(default_factory=lambda: Progress(State.REPLAYING, 3, 9))
    handled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def commands(self) -> Mapping[str, Any]:
        return {"Deposit": Model(Deposit)}

    def parse(self, command_name: str, payload: Mapping[str, Any]) -> Any:
        return Deposit(**payload)

    async def handle(self, command: Any, **options: Any) -> Any:
        self.handled.append({"command": command, **options})
        stream = f"{options['tenant']}:account-{command.account_id}"
        return Result(options["command_id"], stream, 4, (Record("e-1", "bank.deposited.v1"),))


class ViewReplaying(ServiceUnavailable):
    pass


class ViewBehind(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("behind", retry_after=0.5)
        self.position, self.wanted, self.behind = "5", "9", 4


async def test_runner_endpoint_maps_commands_status_and_results() -> None:
    runner = FakeRunner()
    endpoint = RunnerEndpoint(runner)
    assert endpoint.name == "bank.deposits"
    assert endpoint.commands()["Deposit"].model is Deposit
    status = await endpoint.status()
    assert (status.state, status.progress) == ("replaying", {"events_done": 3, "events_behind": 9})
    outcome = await endpoint.send(
        CommandRequest(
            command="Deposit",
            payload={"account_id": "a", "amount": 2},
            tenant="acme",
            command_id="c-1",
            correlation_id="r-1",
            traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01",
        )
    )
    assert outcome.stream == "acme:account-a"
    assert (outcome.version, outcome.position, outcome.command_id) == (4, "7", "c-1")
    assert outcome.events == ({"id": "e-1", "type": "bank.deposited.v1"},)
    sent = runner.handled[0]
    assert (sent["tenant"], sent["correlation_id"], sent["command_id"]) == ("acme", "r-1", "c-1")


async def test_queries_endpoint_scopes_keys_and_passes_min_position() -> None:
    asked: list[tuple[str, str, str | None, Any]] = []

    @dataclass
    class Answer:
        key: str
        row: dict[str, Any]
        position: str | None

    class Queries:
        scoped_views = frozenset({"balances"})
        built: str | None = None

        async def lookup(
            self, view: str, key: str, *, tenant: str | None = None, min_position: Any = None
        ) -> Any:
            asked.append((view, key, tenant, min_position))
            if key.endswith("missing"):
                raise NotFound("no row")
            return Answer(key, {"balance": 5}, "12")

        def tenant_scoped(self, view: str) -> bool:
            return view in self.scoped_views

        async def position(self, view: str) -> str | None:
            return self.built

    queries = Queries()
    endpoint = QueriesEndpoint(queries, "balances")
    row = await endpoint.get(ViewRequest(view="balances", key="acme:a-1", tenant="acme", min_position="10"))
    assert (row.key, dict(row.data), row.position) == ("acme:a-1", {"balance": 5}, "12")
    assert asked == [("balances", "a-1", "acme", "10")]
    with pytest.raises(NotFound):
        await endpoint.get(ViewRequest(view="balances", key="acme:missing", tenant="acme"))
    asked.clear()
    unscoped_view = QueriesEndpoint(queries, "totals")  # not tenant-scoped: read the tenant's own key as is
    row = await unscoped_view.get(ViewRequest(view="totals", key="acme:a-1", tenant="acme"))
    assert (row.key, asked) == ("acme:a-1", [("totals", "acme:a-1", None, None)])
    assert (await endpoint.status()).state == "replaying"
    queries.built = "12"
    assert (await endpoint.status()).state == "ready"


def test_refusals_name_their_state_and_progress() -> None:
    assert refusal_state(ViewReplaying("x")) == "replaying"
    assert refusal_state(ViewBehind()) == "behind"
    assert refusal_progress(ViewBehind()) == {"position": "5", "wanted": "9", "behind": 4}
    unavailable = refusal("balances", ViewBehind())
    assert (unavailable.service, unavailable.state, unavailable.retry_after) == ("balances", "behind", 0.5)
