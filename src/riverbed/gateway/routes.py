"""Route handlers: commands, view reads, the CloudEvents ingress and the health probes.

Every handler first asks the health table whether its upstream can answer (a dict lookup), so a request
for a service that is down, replaying or draining is refused before its body is even read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from riverbed.application.endpoints import CommandRequest, ViewRequest
from riverbed.application.tenancy import scoped, unscoped
from riverbed.cloudevents import from_http_events
from riverbed.errors import InvalidCloudEvent, MalformedRequest, NotFound, ValidationError
from riverbed.gateway.asgi import Answer, Receive, Scope, Send, header, send_json
from riverbed.gateway.auth import Principal
from riverbed.gateway.breaker import CircuitBreaker
from riverbed.gateway.core import Gateway
from riverbed.gateway.errors import (
    ACCEPTED,
    OK,
    STATUS_FOR_SUCCESS,
    UnsupportedMediaType,
    encode_json,
    readiness_status,
)
from riverbed.gateway.idempotency import check_key, command_id_for, fingerprint
from riverbed.gateway.limits import parse_json

POSITION = re.compile(r"^\d{1,19}(:\d{1,19})?$")
KEY = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
KEY_PATTERN = KEY.pattern
ATTRIBUTE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
ATTRIBUTE_PATTERN = ATTRIBUTE.pattern
JSON = "application/json"
JSON_BYTES = JSON.encode()


def json_response(request: Request, status: int, body: object) -> Response:
    """A compact JSON response echoing the request id."""
    request_id = request.scope.get("state", {}).get("request_id")
    headers = {"x-request-id": request_id} if request_id else None
    return Response(encode_json(body), status, headers=headers, media_type=JSON)


def principal_of(request: Request) -> Principal:
    """The authenticated principal (auth middleware put it there)."""
    principal: Principal = request.scope["state"]["principal"]
    return principal


def require_json(scope: Scope) -> None:
    """Refuse a body that does not say it is JSON."""
    raw = header(scope, b"content-type")
    if raw == JSON_BYTES:
        return
    media = raw.decode("latin-1").split(";", 1)[0].strip().lower() if raw else ""
    if media != JSON and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType(f"send the body as {JSON}, not {media or 'no content type'!r}")


class CommandRoute:
    """The endpoint of ``POST /commands/{service}/{command}``.

    The front door calls :meth:`answer` directly (the hot path of the gateway builds no Starlette
    Request or Response and skips the router); as an ASGI callable it also serves behind Starlette's
    router, whose exception handlers then answer what it raises.
    """

    def __init__(self, gateway: Gateway, service: str, command: str) -> None:
        self.gateway = gateway
        self.service = service
        self.command = command
        self.model = gateway.models[(service, command)]
        self.max_depth = gateway.settings.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer as an ASGI app."""
        status, body, headers = await self.answer(scope, receive)
        await send_json(scope, send, status, body, headers=headers)

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        """Check health, validate, send the command (once per Idempotency-Key); the outcome's answer."""
        gateway = self.gateway
        service = self.service
        breaker = gateway.health.check(service)
        context = scope["state"]
        principal: Principal = context["principal"]
        require_json(scope)
        raw = await read_body(receive)
        if raw.count(b"{") + raw.count(b"[") > self.max_depth:  # fewer brackets cannot nest deeper
            parse_json(raw, max_depth=self.max_depth)
        payload = self.model.validate_json(raw)
        raw_key = header(scope, b"idempotency-key")
        key = raw_key.decode("latin-1") if raw_key is not None else None
        request = CommandRequest(
            command=self.command,
            payload=payload,
            tenant=principal.tenant,
            command_id=command_id_for(principal.tenant, check_key(key)) if key is not None else gateway.ids(),
            correlation_id=context["request_id"],
            traceparent=context["traceparent"],
        )
        if key is None:
            status, body = await self._send(breaker, request)
            return status, body, None
        request_fingerprint = fingerprint(service, self.command, json.dumps(payload, sort_keys=True))
        status, body, replayed = await gateway.idempotency.run(
            principal.tenant, key, request_fingerprint, lambda: self._send(breaker, request)
        )
        return status, body, [(b"idempotency-replayed", b"true" if replayed else b"false")]

    async def _send(self, breaker: CircuitBreaker, request: CommandRequest) -> tuple[int, dict[str, Any]]:
        outcome = await self.gateway.send(self.service, breaker, request)
        body = {"service": self.service, "command": self.command, **outcome.to_json()}
        if outcome.stream is not None:
            body["stream"] = unscoped(request.tenant, outcome.stream)
        return STATUS_FOR_SUCCESS[outcome.accepted_only], body


async def read_body(receive: Receive) -> bytes:
    """The whole request body (the body limit middleware stops an oversized one while it streams)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def view_handler(gateway: Gateway, view: str) -> Any:
    """The handler of ``GET /views/{view}/{key}``."""

    async def handle(request: Request) -> Response:
        breaker = gateway.health.check(view)
        principal = principal_of(request)
        min_position = request.query_params.get("min_position")
        if min_position is not None and not POSITION.match(min_position):
            raise MalformedRequest(
                f"min_position {min_position!r} is not a position; use the 'position' a command returned"
            )
        key = request.path_params["key"]
        if not KEY.match(key):
            raise MalformedRequest("a view key is 1-200 characters without control characters")
        row = await gateway.read(
            view,
            breaker,
            ViewRequest(
                view=view,
                key=scoped(principal.tenant, key),
                tenant=principal.tenant,
                min_position=min_position,
                correlation_id=request.state.request_id,
            ),
        )
        return json_response(request, OK, {"view": view, **row.to_json()})

    return handle


def events_handler(gateway: Gateway) -> Any:
    """The handler of ``POST /events``: CloudEvents in binary, structured or batch mode."""
    max_depth = gateway.settings.max_json_depth

    async def handle(request: Request) -> Response:
        if gateway.sink is None:
            raise NotFound("this gateway has no event sink configured")
        principal = principal_of(request)
        body = await request.body()
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media == JSON or media.endswith("+json"):
            parsed = parse_json(body, max_depth=max_depth)
            if media.startswith("application/cloudevents"):  # structured or batch: the body is the event
                for item in parsed if isinstance(parsed, list) else [parsed]:
                    check_structured(item)
        try:
            events = from_http_events(dict(request.headers), body)
        except InvalidCloudEvent:
            raise
        except (ValueError, TypeError) as exc:
            raise InvalidCloudEvent(f"not a CloudEvent: {exc}") from None
        if not events:
            raise ValidationError("the batch is empty; send at least one CloudEvent")
        for event in events:
            for name in ("id", "source", "type", "subject"):
                value = getattr(event, name)
                if value is not None and not ATTRIBUTE.match(value):
                    raise InvalidCloudEvent(
                        f"{name} must be 1-200 characters without control characters at this gateway",
                        attribute=name,
                    )
        accepted = await gateway.sink.accept(
            events, tenant=principal.tenant, traceparent=request.state.traceparent
        )
        return json_response(
            request,
            ACCEPTED,
            {
                "accepted": [
                    {"id": a.id, "stream": a.stream, "version": a.version, "position": a.position}
                    for a in accepted
                ]
            },
        )

    return handle


STRUCTURED_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data"}
)


def check_structured(event: object) -> None:
    """Hold a structured-mode event to the documented schema: these attributes only, text where text is due.

    Extension attributes travel in binary mode (``ce-*`` headers), whose values the
    CloudEvents parser checks; refusing them here keeps what is accepted exactly what ``/openapi.json``
    says.
    """
    if not isinstance(event, dict):
        raise InvalidCloudEvent("a structured CloudEvent is a JSON object")
    unknown = sorted(set(event) - STRUCTURED_ATTRIBUTES)
    if unknown:
        raise InvalidCloudEvent(
            f"attributes {unknown} are not taken in structured mode here; send extensions as ce-* headers "
            "(binary mode)",
            attribute=unknown[0],
        )
    for name in ("id", "source", "type", "subject", "time", "datacontenttype", "dataschema"):
        if name in event and not isinstance(event[name], str):
            raise InvalidCloudEvent(f"{name} must be a string", attribute=name)
    if event.get("datacontenttype", JSON) != JSON:
        raise InvalidCloudEvent(
            f"structured events here carry JSON data (datacontenttype {JSON}); "
            "send other media in binary mode",
            attribute="datacontenttype",
        )


def livez_handler() -> Any:
    """``/livez``: the gateway process answers."""

    async def handle(request: Request) -> Response:
        return json_response(request, OK, {"status": "alive"})

    return handle


def readyz_handler(gateway: Gateway) -> Any:
    """``/readyz``: ready when every upstream is ready; lists each upstream's state either way."""

    async def handle(request: Request) -> Response:
        ready = gateway.health.all_ready()
        body = {"status": "ready" if ready else "degraded", "upstreams": gateway.health.snapshot()}
        return json_response(request, readiness_status(ready), body)

    return handle
