"""Errors as RFC 9457 ``application/problem+json``: the only module that knows HTTP status codes.

Each riverbed error class maps to a status, a stable ``type`` URI and a title. The body always carries
``type``, ``title``, ``status``, ``detail``, ``instance`` (the request path) and ``request_id``; refusals
that can be retried also carry ``retry_after`` (and the ``Retry-After`` header), and an unavailable
upstream names the ``service``, its ``state`` and, while replaying, its ``progress``; a body that does not
fit its model lists each field's problem under ``errors``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from riverbed.errors import (
    AuthenticationFailed,
    DuplicateEventId,
    InvalidCloudEvent,
    MalformedRequest,
    NotFound,
    RateLimited,
    RequestTooLarge,
    RiverbedError,
    ServiceUnavailable,
    UpstreamUnavailable,
    ValidationError,
    WrongExpectedVersion,
)

PROBLEM_BASE = "https://riverbed.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

OK = 200
ACCEPTED = 202
STATUS_FOR_SUCCESS = {True: ACCEPTED, False: OK}


@dataclass(frozen=True, slots=True)
class ProblemType:
    """A kind of problem: its HTTP status, the last segment of its ``type`` URI, and its title."""

    status: int
    slug: str
    title: str

    @property
    def uri(self) -> str:
        """The stable ``type`` URI."""
        return PROBLEM_BASE + self.slug


UNAUTHENTICATED = ProblemType(401, "unauthenticated", "Credentials are missing or not valid")
NOT_FOUND = ProblemType(404, "not-found", "No such resource")
METHOD_NOT_ALLOWED = ProblemType(405, "method-not-allowed", "Method not allowed on this resource")
CONFLICT = ProblemType(409, "conflict", "The request clashes with what is stored")
TOO_LARGE = ProblemType(413, "payload-too-large", "The request body is too large")
UNSUPPORTED_MEDIA = ProblemType(415, "unsupported-media-type", "The request body has the wrong media type")
MALFORMED = ProblemType(400, "malformed-request", "The request is malformed")
INVALID = ProblemType(422, "validation-failed", "The request does not fit its model")
INVALID_EVENT = ProblemType(422, "invalid-cloudevent", "The CloudEvent breaks the CloudEvents spec")
RATE_LIMITED = ProblemType(429, "rate-limited", "Too many requests")
UPSTREAM_UNAVAILABLE = ProblemType(503, "service-unavailable", "The service cannot answer now")
UNAVAILABLE = ProblemType(503, "unavailable", "Temporarily unavailable")
UPSTREAM_TIMEOUT = ProblemType(504, "upstream-timeout", "The service did not answer in time")
INTERNAL = ProblemType(500, "internal-error", "Internal error")

ALL_PROBLEMS = (
    UNAUTHENTICATED, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, TOO_LARGE, UNSUPPORTED_MEDIA, MALFORMED,
    INVALID, INVALID_EVENT, RATE_LIMITED, UPSTREAM_UNAVAILABLE, UNAVAILABLE, UPSTREAM_TIMEOUT, INTERNAL,
)  # fmt: skip


class UpstreamTimeout(RiverbedError, TimeoutError):
    """A service did not answer within its deadline (it may still have run the command)."""

    def __init__(self, service: str, deadline: float) -> None:
        super().__init__(
            f"service {service!r} did not answer within {deadline:g} s; the command may have run: "
            "retry with the same Idempotency-Key to get its result without running it twice"
        )
        self.service = service
        self.deadline = deadline


class UnsupportedMediaType(MalformedRequest):
    """The body's Content-Type is not one the route accepts."""


class MethodNotAllowed(RiverbedError):
    """The path exists, but not for this method."""


_BY_CLASS: tuple[tuple[type[BaseException], ProblemType], ...] = (
    (AuthenticationFailed, UNAUTHENTICATED),
    (RequestTooLarge, TOO_LARGE),
    (MalformedRequest, MALFORMED),
    (RateLimited, RATE_LIMITED),
    (NotFound, NOT_FOUND),
    (UpstreamUnavailable, UPSTREAM_UNAVAILABLE),
    (ServiceUnavailable, UNAVAILABLE),
    (WrongExpectedVersion, CONFLICT),
    (DuplicateEventId, CONFLICT),
    (InvalidCloudEvent, INVALID_EVENT),
    (ValidationError, INVALID),
    (UpstreamTimeout, UPSTREAM_TIMEOUT),
    (TimeoutError, UPSTREAM_TIMEOUT),
)


def from_http_status(status_code: int, detail: str) -> RiverbedError:
    """The riverbed error for a status the router produced itself (unknown path, wrong method)."""
    if status_code == METHOD_NOT_ALLOWED.status:
        return MethodNotAllowed(detail or "this method is not allowed here")
    if status_code == NOT_FOUND.status:
        return NotFound(detail or "no such route")
    return MalformedRequest(detail or "the request was refused")


def readiness_status(ready: bool) -> int:
    """``/readyz`` answers 200 when every upstream is ready, else 503."""
    return OK if ready else UPSTREAM_UNAVAILABLE.status


def problem_type_for(exc: BaseException) -> ProblemType:
    """The problem type of an exception (500 for anything not raised on purpose)."""
    if isinstance(exc, UnsupportedMediaType):
        return UNSUPPORTED_MEDIA
    if isinstance(exc, MethodNotAllowed):
        return METHOD_NOT_ALLOWED
    for cls, problem in _BY_CLASS:
        if isinstance(exc, cls):
            return problem
    return INTERNAL


def problem_for(exc: BaseException, *, instance: str, request_id: str | None) -> tuple[int, dict[str, Any]]:
    """The status and problem+json body for an exception."""
    kind = problem_type_for(exc)
    detail = (
        str(exc) if kind is not INTERNAL else "an unexpected error happened; the request id names it in logs"
    )
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
    }
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float) and kind.status in (429, 503):
        body["retry_after"] = retry_after_seconds(retry_after)
    if isinstance(exc, UpstreamUnavailable):
        body["service"] = exc.service
        body["state"] = exc.state
        if exc.progress is not None:
            body["progress"] = dict(exc.progress)
    else:
        progress = _progress_of(exc)
        if progress is not None:
            body["progress"] = progress
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        body["errors"] = errors
    return kind.status, body


def problem_headers(body: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """Response headers for a problem body (the tracking middleware adds ``X-Request-Id`` to every answer)."""
    headers = [(b"content-type", PROBLEM_CONTENT_TYPE.encode())]
    if "retry_after" in body:
        headers.append((b"retry-after", str(body["retry_after"]).encode()))
    if body["status"] == 401:
        headers.append((b"www-authenticate", b'Bearer realm="riverbed", ApiKey realm="riverbed"'))
    return headers


def encode_json(body: object) -> bytes:
    """Compact UTF-8 JSON for an answer's body.

    pydantic-core's encoder: five times cheaper than ``json.dumps`` with compact separators (which builds
    a new encoder on every call), and it writes ``null`` for a non-finite float where ``json.dumps`` would
    write ``NaN``, which is not JSON.
    """
    return to_json(body)


def encode_problem(body: Mapping[str, Any]) -> bytes:
    """The problem body as bytes."""
    return to_json(body)


def retry_after_seconds(value: float) -> int:
    """``Retry-After`` takes whole seconds; round up so a client never retries too early."""
    return max(1, math.ceil(value))


def _progress_of(exc: BaseException) -> dict[str, Any] | None:
    progress = getattr(exc, "progress", None)
    if isinstance(progress, Mapping):
        return dict(progress)
    if progress is not None and hasattr(progress, "__dataclass_fields__"):
        return {name: getattr(progress, name) for name in progress.__dataclass_fields__}
    return None
