"""Leaf type aliases shared by every layer."""

from __future__ import annotations

from typing import TypeAlias

StreamName: TypeAlias = str
"""The name of an event stream, e.g. ``"account-42"``. Also the CloudEvent ``subject``."""

StreamVersion: TypeAlias = int
"""The version of an event within its stream. The first event of a stream has version 0."""

GlobalPosition: TypeAlias = int
"""The position of an event in the store's global log: unique, positive, increasing in append order."""

EventId: TypeAlias = str
"""A CloudEvent ``id``; unique together with the event's ``source``."""

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
"""A value that JSON can carry."""
