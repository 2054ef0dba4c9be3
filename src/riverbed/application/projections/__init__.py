"""Projections: keyed folds of events into view rows, their batch projector, runner and rebuilds."""

from riverbed.application.projections.build import BuildProgress, build_view, cut_over, new_slot_id
from riverbed.application.projections.projection import Projection, handles
from riverbed.application.projections.projector import BatchOutcome, Projector
from riverbed.application.projections.runner import ProjectionRunner, RunnerOptions
from riverbed.application.projections.status import ProjectionState, ProjectionStatus

__all__ = [
    "BatchOutcome",
    "BuildProgress",
    "Projection",
    "ProjectionRunner",
    "ProjectionState",
    "ProjectionStatus",
    "Projector",
    "RunnerOptions",
    "build_view",
    "cut_over",
    "handles",
    "new_slot_id",
]
