"""The OpenAPI 3.1 document, generated from the registered services, views and the ingress.

Every operation lists every status it can answer with, and every error is described by one ``Problem``
schema, so a client generator (or schemathesis) knows the whole contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from riverbed.gateway.core import Gateway
from riverbed.gateway.errors import (
    ACCEPTED,
    ALL_PROBLEMS,
    CONFLICT,
    INTERNAL,
    INVALID,
    INVALID_EVENT,
    MALFORMED,
    NOT_FOUND,
    OK,
    PROBLEM_CONTENT_TYPE,
    RATE_LIMITED,
    TOO_LARGE,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA,
    UPSTREAM_TIMEOUT,
    UPSTREAM_UNAVAILABLE,
    ProblemType,
)
from riverbed.gateway.models import split_defs
from riverbed.gateway.routes import ATTRIBUTE_PATTERN, KEY_PATTERN

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}]
NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}
NULLABLE_INT = {"anyOf": [{"type": "integer"}, {"type": "null"}]}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "enum": sorted({p.uri for p in ALL_PROBLEMS})},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": NULLABLE_STRING,
        "retry_after": {"type": "integer", "minimum": 1},
        "service": {"type": "string"},
        "state": {"type": "string"},
        "progress": {"type": "object"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
COMMAND_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["service", "command", "command_id", "stream", "version", "position", "events", "duplicate"],
    "additionalProperties": False,
    "properties": {
        "service": {"type": "string"},
        "command": {"type": "string"},
        "command_id": {"type": "string"},
        "stream": NULLABLE_STRING,
        "version": NULLABLE_INT,
        "position": NULLABLE_STRING,
        "events": {"type": "array", "items": {"type": "object"}},
        "duplicate": {"type": "boolean"},
        "accepted_only": {"type": "boolean"},
    },
}
VIEW_ROW: dict[str, Any] = {
    "type": "object",
    "required": ["view", "key", "data", "position"],
    "additionalProperties": False,
    "properties": {
        "view": {"type": "string"},
        "key": {"type": "string"},
        "data": {"type": "object"},
        "position": NULLABLE_STRING,
    },
}
INGRESS_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["accepted"],
    "properties": {
        "accepted": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "stream", "version", "position"],
                "properties": {
                    "id": {"type": "string"},
                    "stream": {"type": "string"},
                    "version": NULLABLE_INT,
                    "position": NULLABLE_STRING,
                },
            },
        }
    },
}
HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}, "upstreams": {"type": "array", "items": {"type": "object"}}},
}
TEXT = {"type": "string", "pattern": ATTRIBUTE_PATTERN}
CLOUDEVENT: dict[str, Any] = {
    "type": "object",
    "description": "A CloudEvent (JSON format); its subject names the tenant's stream it is appended to",
    "required": ["specversion", "id", "source", "type"],
    "additionalProperties": False,
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": TEXT,
        "source": TEXT,
        "type": TEXT,
        "subject": TEXT,
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string", "enum": ["application/json"]},
        "dataschema": {"type": "string", "format": "uri", "pattern": "^[a-z][a-z0-9+.-]*:[^\\s]+$"},
        "data": {},
    },
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "a retry with the same key returns the first result (printable ASCII, 1-255 characters)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}
TRACKING_HEADERS = [
    {"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "traceparent", "in": "header", "required": False, "schema": {"type": "string"}},
]


def _problems(kinds: Iterable[ProblemType]) -> dict[str, Any]:
    by_status: dict[str, Any] = {}
    for kind in kinds:
        by_status[str(kind.status)] = {
            "description": kind.title,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
        }
    return by_status


def _ok(status: int, schema_name: str, description: str) -> dict[str, Any]:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
        }
    }


COMMON = (UNAUTHENTICATED, RATE_LIMITED, UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT, INTERNAL)


def build_openapi(
    gateway: Gateway, *, title: str = "riverbed gateway", version: str = "0.1.0"
) -> dict[str, Any]:
    """The OpenAPI document of a gateway."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Problem": PROBLEM_SCHEMA,
        "CommandResult": COMMAND_RESULT,
        "ViewRow": VIEW_ROW,
        "IngressResult": INGRESS_RESULT,
        "Health": HEALTH,
        "CloudEvent": CLOUDEVENT,
    }
    for (service, command), model in sorted(gateway.models.items()):
        body, defs = split_defs(model.json_schema())
        schema_name = f"{service}.{command}"
        schemas.update(defs)
        schemas[schema_name] = body
        paths[f"/commands/{service}/{command}"] = {
            "post": {
                "operationId": f"command_{service}_{command}".replace("-", "_").replace(".", "_"),
                "summary": f"Send {command} to {service}",
                "tags": [service],
                "security": SECURITY,
                "parameters": [
                    *TRACKING_HEADERS,
                    IDEMPOTENCY_KEY,
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
                    },
                },
                "responses": {
                    **_ok(OK, "CommandResult", "The command ran; its events, stream version and position"),
                    **_ok(ACCEPTED, "CommandResult", "The command was accepted for later processing"),
                    **_problems((MALFORMED, TOO_LARGE, UNSUPPORTED_MEDIA, INVALID, *COMMON)),
                },
            }
        }
    for view in sorted(gateway.views):
        paths[f"/views/{view}/{{key}}"] = {
            "get": {
                "operationId": f"view_{view}".replace("-", "_").replace(".", "_"),
                "summary": f"Read one row of the {view} view",
                "tags": [view],
                "security": SECURITY,
                "parameters": [
                    *TRACKING_HEADERS,
                    {
                        "name": "key",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": KEY_PATTERN},
                    },
                    {
                        "name": "min_position",
                        "in": "query",
                        "required": False,
                        "description": "answer only once the view has reached this position",
                        "schema": {"type": "string", "pattern": r"^\d{1,19}(:\d{1,19})?$"},
                    },
                ],
                "responses": {
                    **_ok(OK, "ViewRow", "The row"),
                    **_problems((MALFORMED, NOT_FOUND, *COMMON)),
                },
            }
        }
    if gateway.sink is not None:
        paths["/events"] = {
            "post": {
                "operationId": "ingest_events",
                "summary": "CloudEvents HTTP ingress (binary, structured or batch mode)",
                "security": SECURITY,
                "parameters": TRACKING_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/cloudevents+json": {
                            "schema": {"$ref": "#/components/schemas/CloudEvent"}
                        },
                        "application/cloudevents-batch+json": {
                            "schema": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"$ref": "#/components/schemas/CloudEvent"},
                            }
                        },
                    },
                },
                "responses": {
                    **_ok(ACCEPTED, "IngressResult", "The events were stored"),
                    **_problems((MALFORMED, TOO_LARGE, CONFLICT, INVALID, INVALID_EVENT, *COMMON)),
                },
            }
        }
    for path, summary in (("/livez", "The gateway process answers"), ("/readyz", "Every upstream is ready")):
        paths[path] = {
            "get": {
                "operationId": path.strip("/"),
                "summary": summary,
                "security": [],
                "responses": {
                    **_ok(OK, "Health", summary),
                    **(
                        _ok(UPSTREAM_UNAVAILABLE.status, "Health", "Some upstream is not ready")
                        if path == "/readyz"
                        else {}
                    ),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }
