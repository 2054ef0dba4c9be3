"""A circuit breaker per upstream: open after consecutive failures, half-open after a cool-down.

Closed: calls flow, consecutive failures are counted. Open: calls are refused at once (the caller gets a
fast 503) until ``cooldown`` seconds have passed on the injected clock. Half-open: one trial call is let
through; its success closes the circuit, its failure opens it again for another cool-down.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

Clock = Callable[[], float]


class BreakerState(enum.Enum):
    """Where the breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Counts consecutive failures of one upstream and decides whether a call may go out."""

    def __init__(self, *, failures: int, cooldown: float, clock: Clock = time.monotonic) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_out = False

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose cool-down has passed is half-open)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def retry_after(self) -> float:
        """Seconds until the breaker lets a trial call through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open state only one trial at a time."""
        current = self.state
        if current is BreakerState.CLOSED:
            return True
        if current is BreakerState.HALF_OPEN and not self._trial_out:
            self._trial_out = True
            return True
        return False

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        self._failures = 0
        self._opened_at = None
        self._trial_out = False

    def record_failure(self) -> None:
        """A call failed: count it, and open (or re-open) the circuit at the threshold."""
        self._failures += 1
        if self._trial_out or self._failures >= self.threshold:
            self._opened_at = self.clock()
        self._trial_out = False
