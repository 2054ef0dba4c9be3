"""NATS subject names for the rapids, rivers, replays and parked messages.

A rapids subject is ``<prefix>.<source>.<type>``, where each CloudEvent attribute becomes one token:
letters, digits, ``_`` and ``-`` stay as they are and every other byte is written ``~XX`` (upper-case hex).
The mapping is one-to-one, so a river's subject filter selects exactly the sources and types it names
(``bank.account.opened.v1`` becomes ``bank~2Eaccount~2Eopened~2Ev1``).
"""

from __future__ import annotations

import functools
import re

from riverbed.ports.topology import Rapids, River

_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
_SAFE_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@functools.lru_cache(maxsize=4096)
def token(value: str) -> str:
    """One NATS subject token that stands for ``value`` (one-to-one; cached: sources and types repeat)."""
    if _SAFE.match(value):
        return value
    return "".join(chr(b) if b in _SAFE_BYTES else f"~{b:02X}" for b in value.encode())


def untoken(text: str) -> str:
    """The value a :func:`token` stands for."""
    if "~" not in text:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "~":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(text[i]))
            i += 1
    return out.decode()


def rapids_subject(rapids: Rapids, source: str, type_: str) -> str:
    """The subject an event with ``source`` and ``type`` is published on."""
    return f"{rapids.subject_prefix}.{token(source)}.{token(type_)}"


def rapids_wildcard(rapids: Rapids) -> str:
    """Every rapids subject (exactly two tokens after the prefix)."""
    return f"{rapids.subject_prefix}.*.*"


def river_filters(rapids: Rapids, river: River) -> list[str]:
    """The subject filters that select the river's sources and types from the rapids."""
    sources = [token(s) for s in river.sources] or ["*"]
    types = [token(t) for t in river.types] or ["*"]
    return [f"{rapids.subject_prefix}.{s}.{t}" for s in sources for t in types]


def replay_subject(rapids: Rapids, river: str, pond: str) -> str:
    """Where a replayed parked message is published: into its river, addressed to its pond."""
    return f"{rapids.subject_prefix}._replay.{river}.{pond}"


def replay_wildcard(rapids: Rapids, river: str) -> str:
    """The river stream's own subjects (replays for its ponds)."""
    return f"{rapids.subject_prefix}._replay.{river}.*"


def parked_subject(rapids: Rapids, river: str, pond: str) -> str:
    """The parked stream's subject for one pond."""
    return f"{rapids.subject_prefix}._parked.{river}.{pond}"


def parked_wildcard(rapids: Rapids) -> str:
    """Every parked subject."""
    return f"{rapids.subject_prefix}._parked.*.*"
