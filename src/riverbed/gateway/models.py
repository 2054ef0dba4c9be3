"""Command bodies validated against the command's model, and the JSON Schema the OpenAPI document shows.

A command model is a message dataclass (``@dataclass(frozen=True, slots=True, kw_only=True)``) or a
pydantic model. Either way the gateway validates with pydantic, refusing unknown fields, and hands the
service the validated JSON (so the same body works for a service in this process or behind HTTP).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic import ValidationError as PydanticValidationError

from riverbed.errors import InvalidMessage, MalformedRequest


class CommandBodyError(InvalidMessage):
    """A command body that does not fit its model; ``errors`` lists each problem (location and message)."""

    def __init__(self, command: str, errors: list[dict[str, Any]]) -> None:
        listed = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:5])
        super().__init__(f"the body of {command} does not fit its model: {listed}")
        self.errors = errors


class CommandModel:
    """The validator and schema of one command."""

    def __init__(self, name: str, model: type[Any]) -> None:
        self.name = name
        self.model = model
        self.pydantic = _as_pydantic(model)

    def validate_json(self, body: bytes) -> dict[str, Any]:
        """Parse and validate a JSON body in one pass (pydantic-core's parser), strictly.

        Strict JSON mode holds a body to the schema the OpenAPI document shows: an integer field takes a
        JSON integer (not ``true`` or ``"5"``), while dates, UUIDs and decimals still come as strings.

        Raises MalformedRequest (400) for a body that is not JSON and CommandBodyError (422) otherwise.
        """
        try:
            validated = self.pydantic.model_validate_json(body, strict=True)
        except PydanticValidationError as exc:
            problems = exc.errors(include_url=False, include_input=False, include_context=False)
            if problems and problems[0]["type"] == "json_invalid":
                raise MalformedRequest(f"the body is not valid JSON: {problems[0]['msg']}") from None
            errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in problems]
            raise CommandBodyError(self.name, errors) from None
        return validated.model_dump(mode="json")

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the body (``$defs`` inlined under the schema itself)."""
        schema = self.pydantic.model_json_schema(ref_template="#/components/schemas/{model}")
        return schema


def _as_pydantic(model: type[Any]) -> type[BaseModel]:
    config = ConfigDict(extra="forbid", title=model.__name__)
    if isinstance(model, type) and issubclass(model, BaseModel):
        forbidding: type[BaseModel] = type(
            model.__name__, (model,), {"model_config": {**model.model_config, "extra": "forbid"}}
        )
        return forbidding
    if not dataclasses.is_dataclass(model):
        raise TypeError(f"command model {model!r} must be a dataclass or a pydantic model")
    hints = typing.get_type_hints(model, include_extras=True)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(model):
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], f.default)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (hints[f.name], f.default_factory())
        else:
            fields[f.name] = (hints[f.name], ...)
    built: type[BaseModel] = create_model(model.__name__, __config__=config, **fields)
    return built


def split_defs(schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate ``$defs`` (to move under ``components/schemas``) from the schema itself."""
    body = dict(schema)
    defs = body.pop("$defs", {})
    return body, dict(defs)
