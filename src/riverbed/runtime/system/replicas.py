"""One view endpoint over the replicas of a view: reads go to a replica that can answer them.

Replicas take turns (round robin). A replica that cannot answer now (down, still building, or behind the
``min_position`` the read demands) is skipped for the next one, so a read is refused only when no replica
can serve it; the refusal is then the last replica's, with its state and retry hint. A missing row is an
answer, not a failure: it is returned at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from riverbed.application.endpoints import EndpointStatus, ViewEndpoint, ViewRequest, ViewRow
from riverbed.errors import ConfigurationError, ServiceUnavailable


class ReplicaSet:
    """A :class:`~riverbed.application.endpoints.ViewEndpoint` over several replicas of one view."""

    def __init__(self, name: str, replicas: Sequence[ViewEndpoint]) -> None:
        if not replicas:
            raise ConfigurationError(f"view {name!r} needs at least one replica")
        self.name = name
        self.replicas = tuple(replicas)
        self._turns = itertools.cycle(range(len(self.replicas)))

    async def get(self, request: ViewRequest) -> ViewRow:
        """Read from the next replica that can answer; raise the last refusal when none can."""
        first = next(self._turns)
        refusal: ServiceUnavailable | None = None
        for offset in range(len(self.replicas)):
            replica = self.replicas[(first + offset) % len(self.replicas)]
            try:
                return await replica.get(request)
            except ServiceUnavailable as exc:
                refusal = exc
        assert refusal is not None
        raise refusal

    async def status(self) -> EndpointStatus:
        """Ready when any replica is; otherwise the first replica's state, naming how many answered."""
        statuses: list[EndpointStatus] = []
        for replica in self.replicas:
            try:
                status = await replica.status()
            except ServiceUnavailable as exc:
                status = EndpointStatus(state="down", detail=str(exc))
            if status.state == "ready":
                return status
            statuses.append(status)
        first = statuses[0]
        return EndpointStatus(
            state=first.state,
            progress=first.progress,
            detail=f"no replica of {self.name!r} is ready ({len(statuses)} asked): {first.detail}",
        )

    async def aclose(self) -> None:
        """Close the replicas that hold connections."""
        for replica in self.replicas:
            close = getattr(replica, "aclose", None)
            if close is not None:
                await close()
