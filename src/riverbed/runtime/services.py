"""The registry of running command services: service -> command names -> command models.

A gateway drives commands generically through it::

    registry = ServiceRegistry([deposits, withdrawals])
    runner = registry.route("Deposit")                 # the one service that owns the command
    command = runner.parse("Deposit", {"account_id": "a-1", "amount": 5})
    result = await runner.handle(command, command_id=request_id)

A command name has exactly one owner: registering a second service for it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from riverbed.application.command_result import CommandResult
from riverbed.errors import DuplicateRegistration, UnknownCommand
from riverbed.runtime.lifecycle import Progress, ServiceRunner


class ServiceRegistry:
    """Running services by name, and the owner of every command name."""

    def __init__(self, runners: Iterable[ServiceRunner] = ()) -> None:
        self._services: dict[str, ServiceRunner] = {}
        self._owners: dict[str, ServiceRunner] = {}
        for runner in runners:
            self.add(runner)

    def add(self, runner: ServiceRunner) -> None:
        """Register a service; its command names must be new."""
        if runner.name in self._services:
            raise DuplicateRegistration(f"a service named {runner.name!r} is already registered")
        for command_name in runner.commands:
            owner = self._owners.get(command_name)
            if owner is not None:
                raise DuplicateRegistration(
                    f"command {command_name!r} is already handled by {owner.name!r}; a command has one owner"
                )
        self._services[runner.name] = runner
        for command_name in runner.commands:
            self._owners[command_name] = runner

    def route(self, command_name: str) -> ServiceRunner:
        """The service that owns ``command_name``; raises UnknownCommand."""
        try:
            return self._owners[command_name]
        except KeyError:
            raise UnknownCommand(
                f"no service handles command {command_name!r}; known commands: {sorted(self._owners)}"
            ) from None

    def service(self, name: str) -> ServiceRunner:
        """The service called ``name``; raises KeyError naming the known ones."""
        try:
            return self._services[name]
        except KeyError:
            raise KeyError(f"no service {name!r}; known services: {sorted(self._services)}") from None

    @property
    def commands(self) -> Mapping[str, ServiceRunner]:
        """Command name -> owning service."""
        return dict(self._owners)

    def health(self) -> dict[str, Progress]:
        """Every service's lifecycle progress."""
        return {name: runner.progress for name, runner in self._services.items()}

    async def handle(
        self, command_name: str, payload: Mapping[str, Any], *, command_id: str, **context: str | None
    ) -> CommandResult:
        """Validate ``payload`` as ``command_name`` and hand it to its owner.

        ``context`` takes the keyword arguments of :meth:`ServiceRunner.handle` (``correlation_id``, ...).
        """
        runner = self.route(command_name)
        command = runner.parse(command_name, payload)
        return await runner.handle(command, command_id=command_id, **context)

    def __iter__(self) -> Iterator[ServiceRunner]:
        return iter(self._services.values())

    def __len__(self) -> int:
        return len(self._services)
