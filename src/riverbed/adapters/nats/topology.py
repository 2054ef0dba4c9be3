"""How a declared stream or consumer differs from the one JetStream holds: incompatible or in-place.

Incompatible differences (other subjects, another storage type, a push consumer, another ack policy or a
consumer filter) make the bus refuse to start; compatible ones (sources, duplicate window, ack wait) are
updated in place and reported.
"""

from __future__ import annotations

from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig, StreamSource

from riverbed.ports.topology import Pond


def stream_drift(label: str, want: StreamConfig, have: StreamConfig) -> tuple[list[str], list[str]]:
    """(incompatible, compatible) differences between a declared and an existing stream."""
    incompatible: list[str] = []
    compatible: list[str] = []
    if sorted(want.subjects or []) != sorted(have.subjects or []):
        incompatible.append(f"{label}: subjects are {have.subjects}, declared {want.subjects}")
    if have.storage is not None and want.storage != have.storage:
        incompatible.append(f"{label}: storage is {have.storage}, declared {want.storage}")
    want_sources = sorted(_source_key(s) for s in want.sources or [])
    have_sources = sorted(_source_key(s) for s in have.sources or [])
    if want_sources != have_sources:
        compatible.append(f"{label}: sources are {have_sources}, declared {want_sources} (updated)")
    if abs((have.duplicate_window or 0) - (want.duplicate_window or 0)) > 1e-3:
        compatible.append(
            f"{label}: duplicate_window is {have.duplicate_window}s, "
            f"declared {want.duplicate_window}s (updated)"
        )
    return incompatible, compatible


def consumer_drift(pond: Pond, have: ConsumerConfig) -> tuple[list[str], list[str]]:
    """(incompatible, compatible) differences between a declared pond and an existing consumer."""
    label = f"pond {pond.name}"
    incompatible: list[str] = []
    compatible: list[str] = []
    if have.deliver_subject:
        incompatible.append(f"{label}: consumer is a push consumer (deliver to {have.deliver_subject!r})")
    if have.ack_policy not in (None, AckPolicy.EXPLICIT):
        incompatible.append(f"{label}: ack policy is {have.ack_policy}, riverbed needs explicit acks")
    if have.filter_subject:
        incompatible.append(
            f"{label}: consumer filters {have.filter_subject!r}; riverbed ponds take the river"
        )
    if have.ack_wait is not None and abs(have.ack_wait - pond.ack_wait) > 1e-3:
        compatible.append(f"{label}: ack_wait is {have.ack_wait}s, declared {pond.ack_wait}s (updated)")
    return incompatible, compatible


def _source_key(source: StreamSource) -> tuple[str, str, tuple[str, ...]]:
    transforms = tuple(sorted(t.src for t in source.subject_transforms or []))
    return (source.name, source.filter_subject or "", transforms)
