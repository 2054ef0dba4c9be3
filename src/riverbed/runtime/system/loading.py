"""Find the :class:`SystemSpec` that ``riverbed run --app module:attribute`` names.

The attribute may be a SystemSpec or a callable with no arguments returning one. Like uvicorn's ``--app``,
the current directory is importable, so ``examples.bank.system:system`` works from a clone.
"""

from __future__ import annotations

import importlib
import os
import sys

from riverbed.errors import ConfigurationError
from riverbed.runtime.system.spec import SystemSpec


def load_system(reference: str) -> SystemSpec:
    """The system named by ``module:attribute``; raises ConfigurationError saying what is wrong."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(
            f"{reference!r} is not a 'module:attribute' reference; write e.g. 'examples.bank.system:system'"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import {module_name!r} for {reference!r}: {exc} (run from the directory that holds it)"
        ) from exc
    target: object = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no attribute {attribute!r}") from None
    if callable(target) and not isinstance(target, (type, SystemSpec)):
        target = target()
    if not isinstance(target, SystemSpec):
        raise ConfigurationError(f"{reference} is a {type(target).__name__}, not a riverbed SystemSpec")
    return target
