"""What a pure process manager returns: its new state, the commands to send and the timers to set or cancel.

A process manager is a pair of pure functions ``(state, message) -> Transition``: no I/O, no clock. The host
that runs it (:mod:`riverbed.application.processes`, event-sourced, with durable timers) records each
transition, sends its commands at least once, sets and cancels its timers, and delivers :class:`TimerFired`
when one is due. Timers are relative (``after``); the host's injected clock turns them into deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from riverbed.domain.messages import Command

S = TypeVar("S")


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTimer:
    """Deliver ``TimerFired(name=name)`` to this process ``after`` from now, replacing one of that name."""

    name: str
    after: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    """Forget the timer called ``name`` (cancelling a timer that is not set does nothing)."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFired:
    """The timer ``name`` of the process keyed ``key`` is due."""

    key: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition(Generic[S]):
    """The outcome of one message: the new state, commands to send, timers to set or cancel."""

    state: S
    commands: tuple[Command, ...] = ()
    timers: tuple[SetTimer | CancelTimer, ...] = ()
