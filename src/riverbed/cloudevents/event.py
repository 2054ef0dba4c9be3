"""The CloudEvents 1.0 value object.

A :class:`CloudEvent` is immutable and valid by construction: the constructor checks every attribute
against the spec and raises :class:`~riverbed.errors.InvalidCloudEvent` naming the attribute and the
rule. Readers that load events they stored themselves use :meth:`CloudEvent.trusted`, which skips the
checks (they ran when the event was written) to keep replay fast.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeAlias

from riverbed.errors import InvalidCloudEvent

SPEC_VERSION = "1.0"

ExtensionValue: TypeAlias = str | int | bool | bytes | datetime
"""The CloudEvents type system for extension attributes: String, Integer, Boolean, Binary, Timestamp."""

CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time"}
)
RESERVED_NAMES = CONTEXT_ATTRIBUTES | {"data", "data_base64"}

_EXTENSION_NAME = re.compile(r"[a-z0-9]+")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_EMPTY: Mapping[str, ExtensionValue] = MappingProxyType({})


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True, kw_only=True, eq=True)
class CloudEvent:
    """A CloudEvents 1.0 event.

    Required: ``source`` (a URI-reference) and ``type``; ``id`` is generated (a UUID4) when not given.
    ``time`` must be timezone-aware. ``data`` is any JSON value, or ``bytes`` for binary data.
    ``extensions`` maps extension attribute names (lower-case letters and digits) to values of the
    CloudEvents type system.
    """

    source: str
    type: str
    id: str = field(default_factory=_new_id)
    specversion: str = SPEC_VERSION
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    data: Any = field(default=None, hash=False)
    extensions: Mapping[str, ExtensionValue] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        _require_text(self.id, "id")
        _require_text(self.source, "source")
        _require_text(self.type, "type")
        if self.specversion != SPEC_VERSION:
            raise InvalidCloudEvent(
                f"specversion must be {SPEC_VERSION!r}, got {self.specversion!r}", attribute="specversion"
            )
        if self.subject is not None:
            _require_text(self.subject, "subject")
        if self.datacontenttype is not None:
            _require_text(self.datacontenttype, "datacontenttype")
        if self.dataschema is not None:
            _require_text(self.dataschema, "dataschema")
            if not _URI_SCHEME.match(self.dataschema):
                raise InvalidCloudEvent(
                    f"dataschema must be an absolute URI (with a scheme), got {self.dataschema!r}",
                    attribute="dataschema",
                )
        if self.time is not None:
            _require_aware(self.time, "time")
        if isinstance(self.data, (bytearray, memoryview)):
            object.__setattr__(self, "data", bytes(self.data))
        object.__setattr__(self, "extensions", _checked_extensions(self.extensions))

    @classmethod
    def trusted(
        cls,
        *,
        id: str,
        source: str,
        type: str,
        subject: str | None,
        time: datetime | None,
        datacontenttype: str | None,
        dataschema: str | None,
        data: Any,
        extensions: Mapping[str, ExtensionValue],
    ) -> CloudEvent:
        """Build an event without validation, for data that was validated when it was stored."""
        event = object.__new__(cls)
        # The slots' own setters: half the cost of object.__setattr__ (this is every replay's hot path).
        (
            set_id,
            set_source,
            set_type,
            set_spec,
            set_subject,
            set_time,
            set_ct,
            set_schema,
            set_data,
            set_ext,
        ) = _SLOT_SETTERS
        set_id(event, id)
        set_source(event, source)
        set_type(event, type)
        set_spec(event, SPEC_VERSION)
        set_subject(event, subject)
        set_time(event, time)
        set_ct(event, datacontenttype)
        set_schema(event, dataschema)
        set_data(event, data)
        set_ext(event, extensions if extensions else _EMPTY)
        return event

    def with_changes(self, **changes: Any) -> CloudEvent:
        """Return a copy with some attributes replaced (validated again)."""
        return replace(self, **changes)

    def with_extensions(self, **values: ExtensionValue | None) -> CloudEvent:
        """Return a copy with extension attributes added, replaced, or (given ``None``) removed."""
        merged = dict(self.extensions)
        for name, value in values.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return replace(self, extensions=merged)

    def attributes(self) -> dict[str, Any]:
        """Every context and extension attribute that is set, by its spec name (no ``data``)."""
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        for name in ("subject", "time", "datacontenttype", "dataschema"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extensions)
        return out


_SLOT_SETTERS: tuple[Any, ...] = tuple(
    CloudEvent.__dict__[name].__set__
    for name in (
        "id", "source", "type", "specversion", "subject", "time", "datacontenttype", "dataschema", "data",
        "extensions",
    )
)  # fmt: skip


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise InvalidCloudEvent(f"{name} must be a string, got {type(value).__name__}", attribute=name)
    if not value:
        raise InvalidCloudEvent(f"{name} must be a non-empty string", attribute=name)


def _require_aware(value: object, name: str) -> None:
    if not isinstance(value, datetime):
        raise InvalidCloudEvent(f"{name} must be a datetime, got {type(value).__name__}", attribute=name)
    offset = value.utcoffset() if value.tzinfo is not None else None
    if offset is None:
        raise InvalidCloudEvent(
            f"{name} must be timezone-aware (RFC 3339 needs an offset); use datetime.now(timezone.utc)",
            attribute=name,
        )
    if offset.microseconds or offset.seconds % 60:
        raise InvalidCloudEvent(
            f"{name} has the UTC offset {offset}; RFC 3339 offsets are whole minutes (+hh:mm)",
            attribute=name,
        )


def check_extension_name(name: object) -> str:
    """Return ``name`` if it is a legal extension attribute name, else raise InvalidCloudEvent."""
    if not isinstance(name, str) or not _EXTENSION_NAME.fullmatch(name):
        raise InvalidCloudEvent(
            f"extension attribute name {name!r} must consist of lower-case ASCII letters and digits only",
            attribute=str(name),
        )
    if name in RESERVED_NAMES:
        raise InvalidCloudEvent(
            f"extension attribute name {name!r} is reserved by the CloudEvents spec", attribute=name
        )
    return name


def check_extension_value(name: str, value: object) -> ExtensionValue:
    """Return ``value`` if the CloudEvents type system can carry it, else raise InvalidCloudEvent."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _INT32_MIN <= value <= _INT32_MAX:
            raise InvalidCloudEvent(
                f"extension {name!r}: integers must fit in 32 bits, got {value}; send it as a string",
                attribute=name,
            )
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, datetime):
        _require_aware(value, name)
        return value
    raise InvalidCloudEvent(
        f"extension {name!r}: {type(value).__name__} is not a CloudEvents type "
        "(use str, int, bool, bytes or an aware datetime)",
        attribute=name,
    )


def _checked_extensions(extensions: Mapping[str, object]) -> Mapping[str, ExtensionValue]:
    if not extensions:
        return _EMPTY
    if not isinstance(extensions, Mapping):
        raise InvalidCloudEvent("extensions must be a mapping of name to value", attribute="extensions")
    checked = {
        check_extension_name(name): check_extension_value(name, value) for name, value in extensions.items()
    }
    return MappingProxyType(checked)
