"""Reconcile the declared bus topology at start-up: create what is missing, report drift, refuse on conflict.

A service calls :func:`reconcile` before it publishes or consumes. The bus adapter compares the broker's
streams and consumers with the :class:`~riverbed.ports.topology.Topology`: missing objects are created,
settings that may change in place are updated (and reported), and incompatible differences raise
:class:`~riverbed.errors.TopologyDrift` before anything is changed, so the service refuses to start
with a clear message instead of consuming from the wrong place.
"""

from __future__ import annotations

import logging

from riverbed.ports.bus import Bus, TopologyReport
from riverbed.ports.topology import Pond, Rapids, RetryPolicy, River, Topology

__all__ = ["Pond", "Rapids", "RetryPolicy", "River", "Topology", "reconcile"]

_log = logging.getLogger("riverbed.topology")


async def reconcile(bus: Bus, topology: Topology, *, log: logging.Logger | None = None) -> TopologyReport:
    """Declare ``topology`` on ``bus`` and log what changed; raises TopologyDrift on incompatible drift."""
    logger = log or _log
    report = await bus.declare(topology)
    for name in report.created:
        logger.info("topology: created %s", name)
    for name in report.updated:
        logger.warning("topology: updated %s in place to match the declaration", name)
    for note in report.drift:
        logger.warning("topology drift: %s", note)
    return report
