"""Upcasters: old stored event shapes are turned into the current ones on read, never rewritten.

An upcaster takes the JSON data of one event type version and returns the data of the next version::

    upcasters = UpcasterChain()

    @upcasters.upcaster("bank.account.opened.v1", "bank.account.opened.v2")
    def _owner_to_holder(data):
        return {"account_id": data["account_id"], "holder": data["owner"]}

Chains are followed to the end (``…v1 -> …v2 -> …v3``), so a reader only ever registers a class for the
newest version. The stored events keep their original type and data: upcasting happens on every read, which
is why an upcaster must be a pure function of its input. Each type name has at most one upcaster, and a
chain that would loop is refused when it is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

from riverbed.domain.registry import check_type_name
from riverbed.errors import DuplicateRegistration, InvalidMessage

Upcaster: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
"""A pure function from one version's event data to the next version's."""


class UpcasterChain:
    """Upcasters registered by the type name they read."""

    def __init__(self) -> None:
        self._steps: dict[str, tuple[str, Upcaster]] = {}

    def register(self, from_type: str, to_type: str, upcaster: Upcaster) -> None:
        """Register ``upcaster`` turning ``from_type`` data into ``to_type`` data."""
        check_type_name(from_type)
        check_type_name(to_type)
        if from_type == to_type:
            raise ValueError(f"an upcaster must change the type name; got {from_type!r} -> {to_type!r}")
        if from_type in self._steps:
            raise DuplicateRegistration(
                f"{from_type!r} already upcasts to {self._steps[from_type][0]!r}; a type has one upcaster"
            )
        name: str | None = to_type
        while name is not None:
            if name == from_type:
                raise ValueError(f"upcaster {from_type!r} -> {to_type!r} would make a loop")
            step = self._steps.get(name)
            name = step[0] if step else None
        self._steps[from_type] = (to_type, upcaster)

    def upcaster(self, from_type: str, to_type: str) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of :meth:`register`."""

        def decorate(function: Upcaster) -> Upcaster:
            self.register(from_type, to_type, function)
            return function

        return decorate

    def upcast(self, type_name: str, data: Any) -> tuple[str, Any]:
        """Follow the chain from ``type_name`` to its newest version; returns (type name, data)."""
        steps = self._steps
        while True:
            step = steps.get(type_name)
            if step is None:
                return type_name, data
            next_type, function = step
            if not isinstance(data, dict):
                raise InvalidMessage(
                    f"cannot upcast {type_name!r}: its data is a {type(data).__name__}, not a JSON object"
                )
            try:
                data = function(dict(data))
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidMessage(f"upcaster {type_name!r} -> {next_type!r} failed: {exc!r}") from exc
            type_name = next_type

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._steps

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)


default_upcasters = UpcasterChain()
"""The process-wide upcaster chain used when no other is given."""


def upcaster(
    from_type: str, to_type: str, *, chain: UpcasterChain | None = None
) -> Callable[[Upcaster], Upcaster]:
    """Register an upcaster on the default chain: ``@upcaster("x.v1", "x.v2")``."""
    return (chain if chain is not None else default_upcasters).upcaster(from_type, to_type)
