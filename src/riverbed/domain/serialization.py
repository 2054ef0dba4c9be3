"""Turn message dataclasses into JSON-ready dicts and back, guided by their type annotations.

Only the standard library: JSON-native values pass through; ``datetime``, ``date``, ``Decimal``, ``UUID``,
``Enum``, tuples, sets and nested dataclasses are converted both ways so that domain code can use the types
it wants while the wire stays plain JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Hashable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast
from uuid import UUID

from riverbed.errors import InvalidMessage


def to_data(message: object) -> dict[str, Any]:
    """The JSON-ready dict of a message dataclass."""
    if not dataclasses.is_dataclass(message) or isinstance(message, type):
        raise InvalidMessage(
            f"{type(message).__name__} is not a dataclass instance; messages must be dataclasses"
        )
    return {f.name: _encode(getattr(message, f.name)) for f in dataclasses.fields(message)}


def from_data(cls: type[Any], data: object) -> Any:
    """Build a message dataclass of type ``cls`` from its JSON dict, refusing unknown or missing fields."""
    if not isinstance(data, dict):
        raise InvalidMessage(f"{cls.__name__}: data must be a JSON object, got {type(data).__name__}")
    hints = _hints(cast(Hashable, cls))
    unknown = set(data) - set(hints)
    if unknown:
        raise InvalidMessage(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        try:
            kwargs[name] = _decode(hints[name], value)
        except InvalidMessage:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            raise InvalidMessage(
                f"{cls.__name__}.{name}: {value!r} does not fit {_describe(hints[name])} ({exc})"
            ) from exc
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidMessage):
            raise
        raise InvalidMessage(f"{cls.__name__}: {exc}") from exc


@cache
def _hints(cls: Any) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {name: hint for name, hint in typing.get_type_hints(cls).items() if name in names}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return _encode(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_data(value)
    raise InvalidMessage(f"cannot put a {type(value).__name__} into JSON; use a JSON-friendly type")


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, list):
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")
        args = typing.get_args(hint)
        item_hint = args[0] if args else Any
        items = [_decode(item_hint, item) for item in value]
        return origin(items) if origin is not list else items
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        args = typing.get_args(hint)
        return {key: _decode(args[1], item) for key, item in value.items()} if args else value
    if not isinstance(hint, type):
        return value
    if hint in _PLAIN:
        return _plain(hint, value)
    if issubclass(hint, enum.Enum):
        return hint(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint in (Decimal, UUID):
        return hint(value)
    if dataclasses.is_dataclass(hint):
        return from_data(hint, value)
    return value


_PLAIN: tuple[type, ...] = (str, int, float, bool)


def _plain(hint: type, value: Any) -> Any:
    """Check a JSON scalar against a plain annotation; ints are accepted where floats are expected."""
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise TypeError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value


def _describe(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)
