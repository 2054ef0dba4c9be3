"""Find a topology declaration from a ``module:attribute`` reference, as the CLI and the runtime do.

The attribute may be an iterable of :class:`ServiceDeclaration`, an object with a ``services`` attribute
holding one, a :class:`FlowGraph`, or a callable with no arguments returning any of these. Like uvicorn's
``--app``, the current directory is importable, so ``examples.bank.topology:services`` works from a clone.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable

from riverbed.errors import InvalidFlow
from riverbed.runtime.flow.declaration import ServiceDeclaration
from riverbed.runtime.flow.graph import FlowGraph


def load_services(reference: str) -> list[ServiceDeclaration]:
    """The service declarations named by ``module:attribute``; raises InvalidFlow saying what is wrong."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidFlow(
            f"{reference!r} is not a 'module:attribute' reference; "
            "write e.g. 'examples.bank.topology:services'"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidFlow(f"cannot import {module_name!r} for {reference!r}: {exc}") from exc
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidFlow(f"{module_name!r} has no attribute {attribute!r}") from None
    return as_services(target, reference=reference)


def as_services(target: object, *, reference: str = "the declaration") -> list[ServiceDeclaration]:
    """Coerce a declaration object (see the module docstring) to a list of service declarations."""
    if isinstance(target, FlowGraph):
        return list(target.services)
    if hasattr(target, "services"):
        target = target.services
    if callable(target) and not isinstance(target, type):
        target = target()
        if hasattr(target, "services"):
            target = target.services
    if isinstance(target, FlowGraph):
        return list(target.services)
    if isinstance(target, Iterable) and not isinstance(target, (str, bytes)):
        items = list(target)
        wrong = [item for item in items if not isinstance(item, ServiceDeclaration)]
        if not wrong:
            return items
        raise InvalidFlow(f"{reference} holds {wrong[0]!r}, which is not a service declaration")
    raise InvalidFlow(
        f"{reference} is a {type(target).__name__}; expected service declarations, an object with a "
        "'services' attribute, or a callable returning them"
    )
