"""PROTOCOLS: every evaluation protocol colorbench computes, registered explicitly.

`colorbench` (today's definitions, colorbench.metrics.registry) is the default; the others
reproduce a published evaluation script and are named after the paper's repository.
"""
from __future__ import annotations

from colorbench.metrics.registry import DEFAULT_METRICS, METRICS
from colorbench.registry import Registry

from . import ct2, ddcolor
from .base import Protocol

DEFAULT = "colorbench"

COLORBENCH = Protocol(
    name=DEFAULT, source="colorbench (this package): colorbench/metrics",
    summary="colorbench's own definitions, each equal to an independent reference implementation (the default)",
    metrics=METRICS, default_metrics=tuple(DEFAULT_METRICS),
)

PROTOCOLS: Registry[Protocol] = Registry("protocol")
for _protocol in (COLORBENCH, ct2.PROTOCOL, ddcolor.PROTOCOL):
    PROTOCOLS.register(_protocol.name, _protocol, _protocol.summary)


def get(name: str | None) -> Protocol:
    """The named protocol (None: the default); unknown names raise UnknownNameError (exit 2)."""
    return PROTOCOLS.get(name or DEFAULT)
