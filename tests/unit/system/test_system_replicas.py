"""A view over its replicas: reads go to a replica that can answer, refusals only when none can."""

from __future__ import annotations

import pytest

from riverbed.application.endpoints import EndpointStatus, ViewRequest, ViewRow
from riverbed.errors import NotFound, ServiceUnavailable, ViewBehind
from riverbed.runtime.system import ReplicaSet


class Replica:
    def __init__(self, name: str, *, error: Exception | None = None, state: str = "ready") -> None:
        self.name = name
        self.error = error
        self.state = state
        self.reads = 0

    async def get(self, request: ViewRequest) -> ViewRow:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return ViewRow(key=request.key, data={"from": self.name})

    async def status(self) -> EndpointStatus:
        return EndpointStatus(state=self.state)


REQUEST = ViewRequest(view="v", key="acme:a-1", tenant="acme")


async def test_replicas_take_turns() -> None:
    one, two = Replica("one"), Replica("two")
    replicas = ReplicaSet("v", [one, two])
    answers = [(await replicas.get(REQUEST)).data["from"] for _ in range(4)]
    assert answers == ["one", "two", "one", "two"]


async def test_a_replica_that_is_behind_is_skipped_for_one_that_can_answer() -> None:
    behind = Replica("behind", error=ViewBehind("v is behind", position="3", wanted="9", behind=6))
    ahead = Replica("ahead")
    replicas = ReplicaSet("v", [behind, ahead])
    for _ in range(3):
        assert (await replicas.get(REQUEST)).data["from"] == "ahead"
    assert behind.reads >= 1


async def test_when_no_replica_can_answer_the_last_refusal_is_raised() -> None:
    replicas = ReplicaSet(
        "v",
        [Replica("a", error=ServiceUnavailable("a down")), Replica("b", error=ServiceUnavailable("b down"))],
    )
    with pytest.raises(ServiceUnavailable, match="down"):
        await replicas.get(REQUEST)


async def test_a_missing_row_is_an_answer_not_a_reason_to_ask_another_replica() -> None:
    missing, other = Replica("missing", error=NotFound("no row")), Replica("other")
    replicas = ReplicaSet("v", [missing, other])
    with pytest.raises(NotFound):
        await replicas.get(REQUEST)
    assert other.reads == 0


async def test_status_is_ready_when_any_replica_is() -> None:
    assert (await ReplicaSet("v", [Replica("a", state="replaying"), Replica("b")]).status()).state == "ready"
    status = await ReplicaSet(
        "v", [Replica("a", state="replaying"), Replica("b", state="replaying")]
    ).status()
    assert status.state == "replaying"
    assert "no replica" in status.detail
