"""How reactions and process managers reach the owners of their commands.

:class:`CommandSender` is the one call they need; :class:`CommandRouter` implements it over the services'
:class:`~riverbed.application.endpoints.CommandEndpoint` s (in-process runners or remote ones alike): the
command's class name is its wire name, and exactly one endpoint must accept it.

No tenant: a command sent without a tenant (``tenant=None``) travels as ``CommandRequest.tenant == ""``,
which endpoints read as "unscoped" (``RunnerEndpoint`` hands the service ``tenant=None``). The gateway never
sends an empty tenant: every credential names one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from riverbed.application.endpoints import CommandEndpoint, CommandOutcome, CommandRequest
from riverbed.domain.messages import Command
from riverbed.domain.serialization import to_data
from riverbed.errors import DuplicateRegistration, UnknownCommand


@runtime_checkable
class CommandSender(Protocol):
    """Sends one command to its owner and returns what it did.

    Raises :class:`~riverbed.errors.ServiceUnavailable` when the owner cannot take it now (retry later),
    :class:`~riverbed.errors.ValidationError` (or ``UnknownCommand``) when it is refused for good. Sending
    a ``command_id`` again returns the first outcome with ``duplicate=True`` and runs nothing.
    """

    async def send(
        self,
        command: Command,
        *,
        command_id: str,
        tenant: str | None,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> CommandOutcome:
        """Send ``command`` once per ``command_id``."""
        ...


class CommandRouter:
    """A :class:`CommandSender` over command endpoints: command class name -> the endpoint that accepts it.

    ``require`` lists command classes that must be routable; a missing one is refused here, at wiring
    time, rather than on the first send.
    """

    def __init__(
        self, endpoints: Sequence[CommandEndpoint], *, require: Iterable[type[Command]] = ()
    ) -> None:
        self._routes: dict[str, CommandEndpoint] = {}
        for endpoint in endpoints:
            for name in endpoint.commands():
                owner = self._routes.get(name)
                if owner is not None and owner is not endpoint:
                    raise DuplicateRegistration(
                        f"command {name!r} is accepted by both {owner.name!r} and {endpoint.name!r}; "
                        "a command has one owner"
                    )
                self._routes[name] = endpoint
        self.require(require)

    @property
    def routes(self) -> Mapping[str, CommandEndpoint]:
        """Command wire name -> its endpoint."""
        return dict(self._routes)

    def require(self, commands: Iterable[type[Command]]) -> None:
        """Refuse (UnknownCommand) unless every one of ``commands`` has an endpoint."""
        missing = sorted(cls.__name__ for cls in commands if cls.__name__ not in self._routes)
        if missing:
            raise UnknownCommand(
                f"no endpoint accepts {missing}; known commands: {sorted(self._routes)}; "
                "add the owning service to the router"
            )

    def route(self, command: Command) -> CommandEndpoint:
        """The endpoint that accepts ``command``; raises UnknownCommand."""
        name = type(command).__name__
        endpoint = self._routes.get(name)
        if endpoint is None:
            raise UnknownCommand(
                f"no endpoint accepts command {name!r}; known commands: {sorted(self._routes)}"
            )
        return endpoint

    async def send(
        self,
        command: Command,
        *,
        command_id: str,
        tenant: str | None,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> CommandOutcome:
        """Send ``command`` to its endpoint as a :class:`CommandRequest`."""
        endpoint = self.route(command)
        request = CommandRequest(
            command=type(command).__name__,
            payload=to_data(command),
            tenant=tenant or "",
            command_id=command_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return await endpoint.send(request)
