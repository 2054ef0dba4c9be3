"""Commands at the boundary: validate untrusted JSON into command objects with pydantic.

Commands are plain frozen dataclasses in the domain (no third-party imports there). At the edge, a gateway
or CLI receives a JSON object and a command name; :class:`CommandModel` validates it with a pydantic model
built from the dataclass's fields (unknown fields refused, types coerced the JSON way) and builds the
command. Errors become :class:`~riverbed.errors.InvalidCommand`, listing each field's problem. A command
class may also be a pydantic model itself (``model_config = ConfigDict(extra="forbid", frozen=True)``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

import pydantic
from pydantic import ConfigDict

from riverbed.errors import InvalidCommand


class CommandModel:
    """The boundary model of one command class: its name, JSON schema and validator."""

    def __init__(self, command_type: type[Any], *, name: str | None = None) -> None:
        self.command_type = command_type
        self.name = name or command_type.__name__
        if isinstance(command_type, type) and issubclass(command_type, pydantic.BaseModel):
            self._model: type[pydantic.BaseModel] = command_type
            self._is_model = True
        elif dataclasses.is_dataclass(command_type):
            hints = typing.get_type_hints(command_type)
            definitions: dict[str, Any] = {}
            for f in dataclasses.fields(command_type):
                if f.default is not dataclasses.MISSING:
                    default: Any = f.default
                elif f.default_factory is not dataclasses.MISSING:
                    default = pydantic.Field(default_factory=f.default_factory)
                else:
                    default = ...
                definitions[f.name] = (hints[f.name], default)
            self._model = pydantic.create_model(
                self.name, __config__=ConfigDict(extra="forbid"), **definitions
            )
            self._is_model = False
        else:
            raise TypeError(f"{command_type!r} must be a dataclass or a pydantic model to be a command")

    def parse(self, payload: Mapping[str, Any] | Any) -> Any:
        """Validate ``payload`` (a JSON object) and build the command; raises InvalidCommand."""
        if isinstance(payload, self.command_type) and not isinstance(payload, Mapping):
            return payload
        if not isinstance(payload, Mapping):
            raise InvalidCommand(
                self.name, [{"loc": (), "msg": f"must be a JSON object, got {type(payload).__name__}"}]
            )
        try:
            validated = self._model.model_validate(dict(payload))
        except pydantic.ValidationError as exc:
            raise InvalidCommand(
                self.name,
                [{"loc": tuple(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()],
            ) from None
        if self._is_model:
            return validated
        return self.command_type(**{name: getattr(validated, name) for name in type(validated).model_fields})

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the command's payload (for OpenAPI)."""
        schema: dict[str, Any] = self._model.model_json_schema()
        return schema
