"""``riverbed views``: status, rebuild with progress and automatic cut-over, operator skip."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from riverbed.application.projections import ProjectionRunner, RunnerOptions
from riverbed.bootstrap import open_store, open_view_store
from riverbed.cli.views import app
from tests.integration.views.samples import (
    Balances,
    Counter,
    active_slot,
    deposit,
    eventually,
    fill,
    open_account,
    view_hash,
)

PROJECTIONS = "tests.integration.views.samples:projections"


def _urls(tmp_path: Path) -> list[str]:
    return ["--store", f"sqlite:///{tmp_path}/events.db", "--views", f"sqlite:///{tmp_path}/views.db"]


def test_rebuild_builds_a_new_slot_cuts_over_and_drops_the_old_one(tmp_path: Path) -> None:
    urls = _urls(tmp_path)

    async def prepare() -> tuple[str, str]:
        async with open_store(urls[1]) as store, open_view_store(urls[3]) as views:
            await fill(store, accounts=3, events=500)
            async with ProjectionRunner(store, views, [Balances(), Counter()]) as runner:
                await runner.wait_until_ready()
            slot = await active_slot(views, "balances")
            return slot, await view_hash(views, slot)

    old, before = asyncio.run(prepare())
    result = CliRunner().invoke(
        app, ["rebuild", "balances", *urls, "--projections", PROJECTIONS, "--batch", "64"]
    )
    assert result.exit_code == 0, result.output
    assert "rebuilt balances v1 into balances.v1." in result.output
    assert "500 events applied" in result.output

    async def check() -> None:
        async with open_view_store(urls[3]) as views:
            new = await active_slot(views, "balances")
            assert new != old
            assert [s.slot for s in await views.slots("balances")] == [new]
            assert await view_hash(views, new) == before

    asyncio.run(check())
    status = CliRunner().invoke(app, ["status", *urls])
    assert status.exit_code == 0, status.output
    assert "balances" in status.output
    assert "counter" in status.output


def test_rebuild_refuses_unknown_views_and_bad_projection_references(tmp_path: Path) -> None:
    urls = _urls(tmp_path)
    unknown = CliRunner().invoke(app, ["rebuild", "nope", *urls, "--projections", PROJECTIONS])
    assert unknown.exit_code == 2
    assert "no projection named 'nope'; these are known: balances, counter" in unknown.output
    bad = CliRunner().invoke(app, ["rebuild", "balances", *urls, "--projections", "no_such_module:x"])
    assert bad.exit_code == 2
    assert "cannot load projections from 'no_such_module:x'" in bad.output


class _Strict(Balances):
    name = "strict"

    def moved(self, row: dict[str, object] | None, record: object) -> dict[str, object] | None:
        raise RuntimeError("strict refuses every movement")


def test_skip_unblocks_a_projection_served_by_another_runner(tmp_path: Path) -> None:
    urls = _urls(tmp_path)

    async def scenario() -> None:
        async with open_store(urls[1]) as store, open_view_store(urls[3]) as views:
            await open_account(store, "a")
            bad = await deposit(store, "a", 5)
            options = RunnerOptions(poll_interval=0.02)
            async with ProjectionRunner(store, views, [_Strict()], options=options) as runner:
                await eventually(lambda: _failed(runner))
                refused = await asyncio.to_thread(
                    CliRunner().invoke, app, ["skip", "strict", "999", urls[2], urls[3]]
                )
                assert refused.exit_code == 2
                assert "is not stopped at 999" in refused.output
                done = await asyncio.to_thread(
                    CliRunner().invoke, app, ["skip", "strict", str(bad.checkpoint), urls[2], urls[3]]
                )
                assert done.exit_code == 0, done.output
                await runner.wait_until_ready()
                assert runner.status("strict").failed_at is None

    asyncio.run(scenario())


async def _failed(runner: ProjectionRunner) -> bool:
    return runner.status("strict").failed_at is not None


def test_the_riverbed_executable_has_the_views_commands(tmp_path: Path) -> None:
    riverbed = str(Path(sys.executable).with_name("riverbed"))
    shown = subprocess.run([riverbed, "views", "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    for command in ("status", "rebuild", "skip"):
        assert command in shown.stdout
    refused = subprocess.run(
        [riverbed, "views", "skip", "balances", "not-a-position", "--views", f"sqlite:///{tmp_path}/v.db"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("riverbed: error: 'not-a-position' is not a checkpoint")
