"""The benchmark harness: every figure is a ratio against a baseline measured in the same run.

A benchmark module ``benchmarks/bench_<topic>.py`` exposes ``async def run(report: Report) -> None`` and
calls :meth:`Report.add` once per row. ``python -m benchmarks`` (``make bench``) runs them all (or those
named on the command line) and writes ``benchmarks/results/latest.md`` and ``latest.json``.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure beside its baseline."""

    group: str
    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    target: str | None = None
    met: bool | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / baseline_value`` (for latencies, lower is better: read with the target)."""
        if self.baseline_value in (None, 0):
            return None
        assert self.baseline_value is not None
        return self.value / self.baseline_value


@dataclass
class Report:
    """Collects rows and writes the markdown and JSON tables."""

    rows: list[Row] = field(default_factory=list)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def add(self, row: Row) -> None:
        """Record a row and print it at once, so a long run shows progress."""
        self.rows.append(row)
        ratio = f" ({row.ratio:.2f}x {row.baseline_name})" if row.ratio is not None else ""
        met = "" if row.met is None else (" [target met]" if row.met else " [TARGET MISSED]")
        print(f"  {row.group} | {row.name}: {row.value:,.1f} {row.unit}{ratio}{met}", flush=True)

    def markdown(self) -> str:
        """The table as markdown."""
        lines = [
            f"# riverbed benchmarks ({self.started}, {platform.node()}, Python {platform.python_version()})",
            "",
            "| group | benchmark | value | unit | baseline | baseline value | ratio | target | met |",
            "|---|---|---:|---|---|---:|---:|---|---|",
        ]
        for r in self.rows:
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
            base = f"{r.baseline_value:,.1f}" if r.baseline_value is not None else ""
            met = "" if r.met is None else ("yes" if r.met else "NO")
            lines.append(
                f"| {r.group} | {r.name} | {r.value:,.1f} | {r.unit} | {r.baseline_name or ''} | {base} "
                f"| {ratio} | {r.target or ''} | {met} |"
            )
        return "\n".join(lines) + "\n"

    def write(self) -> Path:
        """Write ``latest.md`` and ``latest.json``; returns the markdown path."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        md = RESULTS / "latest.md"
        md.write_text(self.markdown())
        payload: dict[str, Any] = {
            "started": self.started,
            "rows": [asdict(r) | {"ratio": r.ratio} for r in self.rows],
        }
        (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2))
        return md


def rate(count: int, seconds: float) -> float:
    """Operations per second."""
    return count / seconds if seconds > 0 else float("inf")


async def best_of(runs: int, once: Callable[[], Awaitable[float]]) -> float:
    """Run ``once`` (which returns a rate) ``runs`` times and return the median, damping noise."""
    return statistics.median([await once() for _ in range(runs)])


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``samples`` by nearest rank."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
