"""Small codecs shared by every CloudEvents format: timestamps, content types and data bodies."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from riverbed.errors import InvalidCloudEvent


def format_time(value: datetime) -> str:
    """RFC 3339, with ``Z`` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_time(value: object, *, attribute: str = "time") -> datetime:
    """Parse an RFC 3339 timestamp; it must carry an offset."""
    if not isinstance(value, str):
        raise InvalidCloudEvent(f"{attribute} must be an RFC 3339 string", attribute=attribute)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCloudEvent(
            f"{attribute} {value!r} is not an RFC 3339 timestamp", attribute=attribute
        ) from exc
    if parsed.tzinfo is None:
        raise InvalidCloudEvent(
            f"{attribute} {value!r} has no offset; RFC 3339 needs 'Z' or '+hh:mm'", attribute=attribute
        )
    if parsed.utcoffset() == UTC.utcoffset(None):
        parsed = parsed.astimezone(UTC)
    return parsed


def is_json_content_type(content_type: str | None) -> bool:
    """True for ``application/json``, ``text/json``, ``*/*+json`` and a missing content type."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media in {"application/json", "text/json"} or media.endswith("+json")


def is_text_content_type(content_type: str | None) -> bool:
    """True for ``text/*`` and XML media types, whose bodies are strings."""
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media.endswith("+xml") or media == "application/xml"


def encode_body(data: Any, content_type: str | None) -> bytes:
    """Encode ``data`` as the body of a binary-mode message."""
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if is_json_content_type(content_type):
        return dumps(data).encode()
    if isinstance(data, str):
        return data.encode()
    raise InvalidCloudEvent(
        f"data of type {type(data).__name__} cannot be sent with datacontenttype {content_type!r}; "
        "use bytes, a str, or a JSON content type",
        attribute="data",
    )


def decode_body(body: bytes, content_type: str | None) -> Any:
    """Decode the body of a binary-mode message into ``data``."""
    if not body:
        return None
    if is_json_content_type(content_type):
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCloudEvent(
                f"data is not valid JSON although datacontenttype is {content_type!r}: {exc}",
                attribute="data",
            ) from exc
    if is_text_content_type(content_type):
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            raise InvalidCloudEvent("text data is not valid UTF-8", attribute="data") from exc
    return body


def dumps(value: Any) -> str:
    """Compact JSON, refusing NaN and infinities (not JSON)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidCloudEvent(f"data is not JSON-serialisable: {exc}", attribute="data") from exc


def b64encode(value: bytes) -> str:
    """Standard base64, as the spec's ``data_base64`` and Binary attributes use."""
    return base64.b64encode(value).decode("ascii")


def b64decode(value: object, *, attribute: str) -> bytes:
    """Decode standard base64, naming the attribute on failure."""
    if not isinstance(value, str):
        raise InvalidCloudEvent(f"{attribute} must be a base64 string", attribute=attribute)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCloudEvent(f"{attribute} is not valid base64", attribute=attribute) from exc
