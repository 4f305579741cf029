"""Processors: processing notebooks deployed on streams, run by execution nodes.

The frontend keeps each processor's record (what it should be doing, its counters, its dead
letters and actions) and places its instances on nodes; the nodes run them and report back.
A supervisor notices an instance whose node is gone and starts it again elsewhere, and after a
restart of the frontend the processors that should run are found again or restarted.
"""

from suricate.domain.processors.records import (
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    ActionInfo,
    DeadLetterInfo,
    ProcessorInfo,
)
from suricate.domain.processors.service import ProcessorService

__all__ = [
    "FAILED",
    "RUNNING",
    "STARTING",
    "STOPPED",
    "ActionInfo",
    "DeadLetterInfo",
    "ProcessorInfo",
    "ProcessorService",
]
