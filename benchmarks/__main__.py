"""Run the benchmarks: ``python -m benchmarks [topic ...]`` runs ``benchmarks/bench_<topic>.py``."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

from benchmarks.harness import Report


def main(argv: list[str]) -> int:
    """Run the selected (default: all) benchmark modules and write the table."""
    here = Path(__file__).parent
    topics = argv or sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    report = Report()
    for topic in topics:
        print(f"== {topic}", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{topic}")
        asyncio.run(module.run(report))
    path = report.write()
    print(report.markdown())
    print(f"written: {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
