"""``riverbed load``: drive a running system through its gateway, then prove it stayed consistent.

The system's :class:`~riverbed.runtime.system.LoadProfile` (``SystemSpec.load``) says what to send and how
to audit; this command does the rest:

1. send the profile's set-up commands, then its mix (``--mix open=1,deposit=5``) for ``--commands N`` or
   ``--duration S``, closed loop over ``--concurrency C`` connections or at a fixed ``--rate R``, spread
   over the tenants of ``--api-key`` (default: the system's demo keys), retrying 503/429 after Retry-After;
2. wait until the system has settled (the audit passes) or ``--settle-timeout`` expires;
3. audit every event of every context store (``--data-dir`` embedded, the ``[run]`` PostgreSQL schemas
   with ``--distributed``) tenant by tenant, with the view rows the gateway serves;
4. print commands sent, ok, refused, retries, throughput, latency percentiles, the audit counts and every
   problem. Exit 0 when the audit is clean, 1 when it found a problem (or, with ``--no-audit``, when a
   command got no answer), 2 for bad options.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riverbed.bootstrap.system import DistributedResources, EmbeddedResources
from riverbed.cli.running import EXIT_BAD_INPUT, EXIT_REFUSED, fail, write_line
from riverbed.cli.running import run as run_main
from riverbed.errors import ConfigurationError
from riverbed.ports.event_store import EventStore
from riverbed.runtime.settings import RiverbedSettings, load_settings
from riverbed.runtime.system import LoadProfile, SystemSpec, load_system

if TYPE_CHECKING:
    from riverbed.cli.loadaudit import Settled
    from riverbed.cli.loaddriver import Tally

DEFAULT_COMMANDS = 1000


def load(
    url: Annotated[str, typer.Option("--url", help="The gateway.")] = "http://127.0.0.1:8000",
    api_keys: Annotated[
        list[str] | None,
        typer.Option("--api-key", help="TENANT=KEY (or KEY); repeat for more tenants. Default: demo keys."),
    ] = None,
    commands: Annotated[
        int | None,
        typer.Option("--commands", min=0, help=f"Mix commands to send (default {DEFAULT_COMMANDS})."),
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.1, help="Send the mix for this many seconds.")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Commands in flight.")] = 16,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.1, help="A fixed rate in commands/s (default: flat out).")
    ] = None,
    mix: Annotated[
        str | None, typer.Option("--mix", help="kind=weight,... e.g. open=1,deposit=5,withdraw=3,checkout=2.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the random choices.")] = None,
    app_ref: Annotated[str | None, typer.Option("--app", help="The SystemSpec, as module:attribute.")] = None,
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Audit the stores afterwards.")] = True,
    distributed: Annotated[
        bool,
        typer.Option("--distributed", help="Audit the PostgreSQL schemas of `riverbed run --distributed`."),
    ] = False,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Embedded: the SQLite files to audit ([run] data_dir).")
    ] = None,
    settle_timeout: Annotated[
        float, typer.Option("--settle-timeout", min=0, help="Seconds to wait for the audit to pass.")
    ] = 60.0,
    config: Annotated[
        Path | None, typer.Option("--config", help="The settings file (default ./riverbed.toml if present).")
    ] = None,
) -> None:
    """Send a load through the gateway, let the system settle, then audit every stored event."""
    try:
        from riverbed.cli import loaddriver  # noqa: F401 - checks httpx is installed
    except ImportError as exc:
        fail(f"riverbed load needs httpx: pip install 'riverbed[gateway]' ({exc})", EXIT_BAD_INPUT)
    settings = load_settings(config)
    try:
        spec = load_system(app_ref or settings.run.app)
        profile = _profile(spec)
        weights = profile.weights(mix)
        keys = _keys(api_keys, spec)
    except ConfigurationError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if commands is None and duration is None:
        commands = DEFAULT_COMMANDS
    chosen_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
    state = _Outcome()

    async def main() -> None:
        state.tally, state.settled = await _load(
            spec,
            profile,
            settings,
            keys,
            weights,
            url=url,
            seed=chosen_seed,
            commands=commands,
            duration=duration,
            concurrency=concurrency,
            rate=rate,
            audit=audit,
            distributed=distributed,
            data_dir=data_dir,
            settle_timeout=settle_timeout,
        )

    write_line(f"riverbed load: {spec.name} at {url}, tenants {', '.join(keys)}, seed {chosen_seed}")
    run_main(main)
    assert state.tally is not None
    _print_tally(state.tally)
    if state.settled is None:
        write_line("audit: skipped (--no-audit)")
        if state.tally.failed:
            raise typer.Exit(EXIT_REFUSED)
        return
    if not _print_audit(state.settled, accepted=state.tally.ok):
        raise typer.Exit(EXIT_REFUSED)


class _Outcome:
    tally: Tally | None = None
    settled: Settled | None = None


def _profile(spec: SystemSpec) -> LoadProfile:
    if spec.load is None:
        raise ConfigurationError(
            f"system {spec.name!r} has no load profile; give its SystemSpec load=LoadProfile(...) "
            "(see riverbed.runtime.system.load)"
        )
    return spec.load


def _keys(given: list[str] | None, spec: SystemSpec) -> dict[str, str]:
    """Tenant label -> API key, from ``--api-key`` or the system's demo keys."""
    if not given:
        if not spec.demo_api_keys:
            raise ConfigurationError(f"system {spec.name!r} has no demo keys; pass --api-key TENANT=KEY")
        return dict(spec.demo_api_keys)
    keys: dict[str, str] = {}
    for n, item in enumerate(given, start=1):
        tenant, sep, key = item.partition("=")
        tenant, key = (tenant.strip(), key.strip()) if sep else (f"key-{n}", item.strip())
        if not tenant or not key:
            raise ConfigurationError(f"--api-key {item!r}: write TENANT=KEY (or just KEY)")
        keys[tenant] = key
    return keys


async def _load(
    spec: SystemSpec,
    profile: LoadProfile,
    settings: RiverbedSettings,
    keys: dict[str, str],
    weights: dict[str, int],
    *,
    url: str,
    seed: int,
    commands: int | None,
    duration: float | None,
    concurrency: int,
    rate: float | None,
    audit: bool,
    distributed: bool,
    data_dir: str | None,
    settle_timeout: float,
) -> tuple[Tally, Settled | None]:
    import httpx

    from riverbed.cli.loadaudit import GatewayRows, StoreLog, settle_and_audit
    from riverbed.cli.loaddriver import Driver, NoAnswer, weighted_kinds

    resources = _resources(spec, settings, distributed=distributed, data_dir=data_dir) if audit else None
    try:
        stores: dict[str, EventStore] = {}
        if resources is not None:  # open them first: a wrong --data-dir fails before any load is sent
            stores = {context: await resources.store(context) for context in spec.contexts}
        rng = random.Random(seed)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
            driver = Driver(client, keys)
            source = profile.source(list(keys), rng, uuid.uuid4().hex[:8])
            try:
                await driver.run(
                    source,
                    weighted_kinds(weights, rng),
                    commands=commands,
                    duration=duration,
                    concurrency=concurrency,
                    rate=rate,
                )
            except NoAnswer as exc:
                message = f"the gateway at {url} answered nothing ({exc}); is `riverbed run` running there?"
                fail(message, EXIT_REFUSED)
            if resources is None:
                return driver.tally, None
            with driver.console.status("settling: waiting for the audit to pass"):
                settled = await settle_and_audit(
                    StoreLog(stores), GatewayRows(client, keys), profile.audit, within=settle_timeout
                )
            return driver.tally, settled
    finally:
        if resources is not None:
            await resources.close()


def _resources(
    spec: SystemSpec, settings: RiverbedSettings, *, distributed: bool, data_dir: str | None
) -> EmbeddedResources | DistributedResources:
    """The stores ``riverbed run`` writes (embedded: refuses a directory without them, creating nothing)."""
    run = settings.run
    if distributed:
        return DistributedResources(run.postgres_url, run.nats_url, prefix=run.prefix)
    directory = Path(data_dir or run.data_dir)
    missing = [c for c in spec.contexts if not (directory / f"{c}.db").is_file()]
    if missing:
        raise ConfigurationError(
            f"no event store of {', '.join(missing)} under {directory}/; pass the --data-dir that "
            "`riverbed run` uses (or --distributed for PostgreSQL), or --no-audit"
        )
    return EmbeddedResources(directory)


def _print_tally(tally: Tally) -> None:
    from riverbed.cli.loaddriver import percentile

    lat = tally.latencies_ms
    throughput = tally.sent / tally.seconds if tally.seconds > 0 else 0.0
    write_line(
        f"commands: {tally.sent:,} sent, {tally.ok:,} ok, {tally.refused:,} refused (4xx), "
        f"{tally.failed:,} failed; retries: {tally.retries_503:,} on 503, {tally.retries_429:,} on 429"
    )
    write_line(f"throughput: {throughput:,.1f} commands/s over {tally.seconds:.1f} s")
    write_line(
        f"latency ms: p50 {percentile(lat, 50):.1f}  p90 {percentile(lat, 90):.1f}  "
        f"p99 {percentile(lat, 99):.1f}  max {max(lat, default=0.0):.1f}"
    )
    write_line("by kind: " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(tally.kinds.items())))
    for message, n in tally.errors.most_common():
        write_line(f"  {n:>6,} x {message}")


def _print_audit(settled: Settled, *, accepted: int) -> bool:
    write_line(f"settled: {settled.seconds:.1f} s, {settled.events:,} events read")
    problems = 0
    if accepted and not settled.events:
        # An empty store audits clean: that is never the system the commands went to.
        write_line(
            f"  problem: {accepted:,} commands were accepted but the audited stores hold no events; the "
            "audit read other stores than the running system writes (check --data-dir, or the prefix and "
            "URLs of --distributed)"
        )
        problems += 1
    for tenant, outcome in settled.outcomes.items():
        counts = ", ".join(f"{name} {n:,}" for name, n in outcome.counts.items())
        verdict = "clean" if outcome.ok else f"{len(outcome.problems)} problem(s)"
        write_line(f"audit {tenant}: {counts} -- {verdict}")
        for problem in outcome.problems:
            write_line(f"  problem: {tenant}: {problem}")
        problems += len(outcome.problems)
    for failure in settled.read_failures:
        write_line(f"  problem: {failure}")
    problems += len(settled.read_failures)
    if settled.ok and not problems:
        write_line(f"audit: clean ({len(settled.outcomes)} tenants, {settled.events:,} events)")
        return True
    write_line(f"audit: FAILED, {problems} problem(s)")
    return False
