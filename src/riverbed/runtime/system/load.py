"""How ``riverbed load`` drives a system and audits it afterwards: a :class:`LoadProfile`, as data.

A system that wants to be load-tested gives its :class:`~riverbed.runtime.system.spec.SystemSpec` a
``load`` profile. The profile is the system-specific half; ``riverbed load`` is the generic half (HTTP
through the gateway, concurrency, a fixed rate, 503 retries, the progress bar, latency figures, reading
every stored event, settling and printing the audit)::

    load = LoadProfile(mix={"open": 1, "deposit": 5}, source=BankCommands, audit=audit_tenant)

* ``source(tenants, rng, run)`` builds a :class:`CommandSource`: the commands to send first (set-up), then
  one command of a mix kind at a time. ``tenants`` are the credentials' labels, ``rng`` is seeded by
  ``--seed`` and ``run`` is unique per load run (ids built from it never clash with an earlier run).
* ``audit(events, rows, final=...)`` checks ONE tenant's stored events (the CloudEvents of every context
  store with that ``tenant`` extension) and, when ``rows`` is given, the views as the gateway serves them.
  ``final=True`` is asked once the load is over: nothing may be left half done.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from riverbed.cloudevents import CloudEvent
from riverbed.errors import ConfigurationError

SETUP = "setup"
"""The kind of the commands a source sends before the mix (opening accounts, adding stock, ...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadCommand:
    """One command to POST: ``/commands/{service}/{command}`` with ``body``, as tenant ``tenant``."""

    kind: str
    tenant: str
    service: str
    command: str
    body: Mapping[str, Any]


class CommandSource(Protocol):
    """The commands of one load run, in the order they are asked for (not thread-safe: one event loop)."""

    def setup(self) -> Sequence[LoadCommand]:
        """The commands to send, and have answered, before the mix starts."""
        ...

    def next(self, kind: str) -> LoadCommand:
        """One command of the mix kind ``kind`` (one of the profile's ``mix`` keys)."""
        ...

    def answered(self, command: LoadCommand, status: int) -> None:
        """The gateway's final HTTP status for ``command`` (e.g. only use accounts whose opening got 200)."""
        ...


RowReader = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
"""``await rows(view, key)``: a view row's data as the gateway serves it to the audited tenant (None: 404)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditOutcome:
    """What an audit of one tenant found: counts worth printing and one line per problem."""

    counts: Mapping[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


class Auditor(Protocol):
    """Audits one tenant's stored events (and its view rows, when ``rows`` is given)."""

    def __call__(
        self, events: Sequence[CloudEvent], rows: RowReader | None, *, final: bool
    ) -> Awaitable[AuditOutcome]:
        """See the module docstring."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadProfile:
    """A system's load mix (kind -> default weight), its command source and its audit."""

    mix: Mapping[str, int]
    source: Callable[[Sequence[str], random.Random, str], CommandSource]
    audit: Auditor
    description: str = ""

    def __post_init__(self) -> None:
        if not self.mix or any(weight < 0 for weight in self.mix.values()):
            raise ConfigurationError(
                f"a load profile needs at least one mix kind with a weight >= 0, got {dict(self.mix)}"
            )
        if SETUP in self.mix:
            raise ConfigurationError(f"{SETUP!r} names the set-up commands; choose another mix kind name")

    def weights(self, spec: str | None) -> dict[str, int]:
        """The mix ``spec`` (``"open=1,deposit=5"``) over the defaults; raises ConfigurationError."""
        weights = dict(self.mix)
        if not spec:
            return weights
        given: dict[str, int] = {}
        for part in spec.split(","):
            name, sep, value = part.strip().partition("=")
            if not sep or name not in self.mix or not value.strip().isdigit():
                raise ConfigurationError(
                    f"--mix {spec!r}: {part.strip()!r} is not kind=weight with a kind in {sorted(self.mix)} "
                    "and a whole number weight, e.g. --mix open=1,deposit=5"
                )
            given[name] = int(value)
        # The kinds given replace the defaults; the ones left out are not sent.
        weights = {name: given.get(name, 0) for name in self.mix}
        if not any(weights.values()):
            raise ConfigurationError(f"--mix {spec!r} gives every kind weight 0; nothing would be sent")
        return weights
