"""Serve command and view endpoints over HTTP, so a gateway in another process can reach them.

This is the service side of :class:`riverbed.gateway.upstreams.remote.RemoteService`: a small JSON
protocol, not a public API (the gateway is the public API). Every answer is a JSON envelope,
``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``, so the caller rebuilds the same riverbed error
the endpoint raised (a replaying service's progress and retry hint survive the hop)::

    GET  /status                          {"ok": true, "endpoints": {name: status}}
    GET  /endpoints/{name}/status         {"ok": true, "status": {...}}
    POST /endpoints/{name}/commands       CommandRequest fields -> {"ok": true, "outcome": {...}}
    POST /endpoints/{name}/rows           ViewRequest fields    -> {"ok": true, "row": {...}}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from riverbed.application.endpoints import (
    CommandEndpoint,
    CommandRequest,
    EndpointStatus,
    ViewEndpoint,
    ViewRequest,
    refusal_progress,
    refusal_state,
)
from riverbed.errors import NotFound, RiverbedError, ServiceUnavailable, ValidationError, WrongExpectedVersion

log = logging.getLogger("riverbed.runtime.service_api")


def encode_error(exc: BaseException) -> dict[str, Any]:
    """The wire form of an error raised by an endpoint."""
    kind = "error"
    if isinstance(exc, ServiceUnavailable):
        kind = "unavailable"
    elif isinstance(exc, NotFound):
        kind = "not_found"
    elif isinstance(exc, WrongExpectedVersion):
        kind = "conflict"
    elif isinstance(exc, ValidationError):
        kind = "invalid"
    error: dict[str, Any] = {"kind": kind, "class": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ServiceUnavailable):
        error["retry_after"] = exc.retry_after
        error["state"] = refusal_state(exc)
        progress = refusal_progress(exc)
        if progress is not None:
            error["progress"] = progress
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        error["errors"] = errors
    return error


def create_service_api(endpoints: Sequence[CommandEndpoint | ViewEndpoint]) -> Starlette:
    """An ASGI app serving ``endpoints`` to remote callers."""
    by_name = {e.name: e for e in endpoints}

    async def status_all(request: Request) -> Response:
        statuses = {name: await _status(e) for name, e in by_name.items()}
        return _json({"ok": True, "endpoints": statuses})

    async def status_one(request: Request) -> Response:
        endpoint = by_name.get(request.path_params["name"])
        if endpoint is None:
            return _json({"ok": False, "error": encode_error(NotFound("no such endpoint"))})
        return _json({"ok": True, "status": await _status(endpoint)})

    async def command(request: Request) -> Response:
        endpoint = by_name.get(request.path_params["name"])
        try:
            if not isinstance(endpoint, CommandEndpoint):
                raise NotFound(f"no service named {request.path_params['name']!r} here")
            body = json.loads(await request.body())
            outcome = await endpoint.send(CommandRequest(**body))
        except Exception as exc:
            return _failure(exc)
        return _json({"ok": True, "outcome": outcome.to_json()})

    async def rows(request: Request) -> Response:
        endpoint = by_name.get(request.path_params["name"])
        try:
            if endpoint is None or not hasattr(endpoint, "get"):
                raise NotFound(f"no view named {request.path_params['name']!r} here")
            body = json.loads(await request.body())
            row = await endpoint.get(ViewRequest(**body))
        except Exception as exc:
            return _failure(exc)
        return _json({"ok": True, "row": row.to_json()})

    return Starlette(
        routes=[
            Route("/status", status_all, methods=["GET"]),
            Route("/endpoints/{name}/status", status_one, methods=["GET"]),
            Route("/endpoints/{name}/commands", command, methods=["POST"]),
            Route("/endpoints/{name}/rows", rows, methods=["POST"]),
        ]
    )


async def _status(endpoint: CommandEndpoint | ViewEndpoint) -> dict[str, Any]:
    status: EndpointStatus = await endpoint.status()
    return status.to_json()


def _failure(exc: Exception) -> Response:
    if not isinstance(exc, RiverbedError):
        log.exception("endpoint failed")
    return _json({"ok": False, "error": encode_error(exc)})


def _json(body: object) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")
