"""Build the gateway's ASGI app: ``create_app(settings, services=[...], views=[...], sink=...)``.

The request's path through the gateway: the front door (tracking ids, so every answer, even a refusal,
carries ``X-Request-Id``; then authentication, as nothing but the health probes passes without
credentials; then the client's rate limit and the body size limit), then the routes generated from the
registered services and views: the commands answered by the front door itself, the rest by Starlette's
router. The health monitor starts and stops with the app's lifespan.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from riverbed.application.endpoints import CommandEndpoint, ViewEndpoint
from riverbed.application.ingress import EventSink
from riverbed.errors import ConfigurationError, RiverbedError
from riverbed.gateway.auth import ApiKeyAuthenticator, Authenticator, JwtAuthenticator
from riverbed.gateway.core import CommandIds, Gateway
from riverbed.gateway.deadlines import Deadlines
from riverbed.gateway.errors import OK, encode_problem, from_http_status, problem_for, problem_headers
from riverbed.gateway.frontdoor import FrontDoor
from riverbed.gateway.health import HealthTable
from riverbed.gateway.idempotency import IdempotencyCache
from riverbed.gateway.monitor import HealthMonitor
from riverbed.gateway.openapi import build_openapi
from riverbed.gateway.ratelimit import TokenBuckets
from riverbed.gateway.routes import (
    CommandRoute,
    events_handler,
    json_response,
    livez_handler,
    readyz_handler,
    view_handler,
)
from riverbed.runtime.gateway_settings import GatewaySettings
from riverbed.runtime.settings import RiverbedSettings

Clock = Callable[[], float]


class GatewayApp(FrontDoor):
    """The ASGI callable uvicorn serves: the front door before the routes.

    The gateway's parts stay reachable for operators and tests: ``gateway`` (endpoints, health table,
    idempotency) and ``monitor`` (the heartbeat probes).
    """

    gateway: Gateway
    monitor: HealthMonitor


def create_app(
    settings: GatewaySettings | RiverbedSettings | None = None,
    *,
    services: Sequence[CommandEndpoint] = (),
    views: Sequence[ViewEndpoint] = (),
    sink: EventSink | None = None,
    clock: Clock = time.monotonic,
    wall_clock: Clock = time.time,
    ids: Callable[[], str] | None = None,
    request_ids: Callable[[], str] | None = None,
    authenticators: Sequence[Authenticator] | None = None,
) -> GatewayApp:
    """The gateway for the given services, views and event sink, configured by ``settings``."""
    config = _gateway_settings(settings)
    names = [s.name for s in services] + [v.name for v in views]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"service and view names must be unique, got {names}")
    h = config.health
    table = HealthTable(
        clock=clock,
        down_after=h.down_after_seconds,
        breaker_failures=h.breaker_failures,
        breaker_cooldown=h.breaker_cooldown_seconds,
        retry_after=h.retry_after_seconds,
    )
    for service in services:
        table.register(service.name, "service")
    for view in views:
        table.register(view.name, "view")
    gateway = Gateway(
        settings=config,
        health=table,
        idempotency=IdempotencyCache(
            ttl=config.idempotency_ttl_seconds, max_entries=config.idempotency_max_entries, clock=clock
        ),
        services={s.name: s for s in services},
        views={v.name: v for v in views},
        sink=sink,
        ids=ids or CommandIds(),
        deadlines=Deadlines(),
    )
    monitor = HealthMonitor(
        table,
        {**gateway.services, **gateway.views},
        interval=h.heartbeat_interval_seconds,
        deadline=h.probe_deadline_seconds,
    )
    openapi = build_openapi(gateway)

    async def openapi_handler(request: Request) -> Response:
        return json_response(request, OK, openapi)

    commands = {
        f"/commands/{service_name}/{command}": CommandRoute(gateway, service_name, command)
        for service_name, command in gateway.models
    }
    # The front door answers a POST to a command itself; the router still has the routes for the rest
    # (a GET there is a 405, not a 404).
    routes = [Route(path, route, methods=["POST"]) for path, route in commands.items()]
    for view_name in gateway.views:
        routes.append(
            Route(f"/views/{view_name}/{{key:path}}", view_handler(gateway, view_name), methods=["GET"])
        )
    if sink is not None:
        routes.append(Route("/events", events_handler(gateway), methods=["POST"]))

    routes.extend(
        [
            Route("/livez", livez_handler(), methods=["GET"]),
            Route("/readyz", readyz_handler(gateway), methods=["GET"]),
            Route("/openapi.json", openapi_handler, methods=["GET"]),
        ]
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await monitor.start()
        await gateway.deadlines.start()
        try:
            yield
        finally:
            await gateway.deadlines.stop()
            await monitor.stop()
            for endpoint in (*services, *views):
                close = getattr(endpoint, "aclose", None)
                if close is not None:
                    await close()

    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_exception, RiverbedError: _problem, Exception: _problem},
    )
    if authenticators is None:
        authenticators = _authenticators(config, wall_clock)
    limit = config.rate_limit
    buckets = (
        TokenBuckets(rate=limit.requests_per_second, burst=limit.burst, clock=clock)
        if limit.enabled
        else None
    )
    app = GatewayApp(
        starlette,
        authenticators=authenticators,
        buckets=buckets,
        max_bytes=config.max_body_bytes,
        ids=request_ids,
        endpoints={path: route.answer for path, route in commands.items()},
    )
    app.gateway = gateway
    app.monitor = monitor
    return app


def _gateway_settings(settings: GatewaySettings | RiverbedSettings | None) -> GatewaySettings:
    if settings is None:
        return GatewaySettings()
    if isinstance(settings, RiverbedSettings):
        return settings.gateway
    return settings


def _authenticators(config: GatewaySettings, wall_clock: Clock) -> list[Authenticator]:
    found: list[Authenticator] = []
    if config.api_keys:
        found.append(ApiKeyAuthenticator(config.api_keys))
    jwt_auth = JwtAuthenticator(config.jwt, wall_clock=wall_clock)
    if jwt_auth.enabled:
        found.append(jwt_auth)
    if not found:
        raise ConfigurationError(
            "the gateway has no credentials configured: add [[gateway.api_keys]] or [gateway.jwt] keys "
            "to riverbed.toml (or RIVERBED_GATEWAY__* variables); it never serves without authentication"
        )
    return found


async def _problem(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", None)
    status, body = problem_for(exc, instance=request.url.path, request_id=request_id)
    return Response(encode_problem(body), status, headers=_plain_headers(body, request_id))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return await _problem(request, from_http_status(exc.status_code, exc.detail))


def _plain_headers(body: dict[str, Any], request_id: str | None) -> dict[str, str]:
    headers = {name.decode(): value.decode("latin-1") for name, value in problem_headers(body)}
    if request_id:
        headers["x-request-id"] = request_id
    return headers
