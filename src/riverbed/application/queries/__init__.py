"""Queries: typed reads of pre-loaded and on-demand views, with min-position (read-your-writes) reads."""

from riverbed.application.queries.on_demand import OnDemandView
from riverbed.application.queries.service import (
    TypedView,
    ViewAnswer,
    ViewQueries,
    ViewRow,
    reached,
    tenant_key,
)

__all__ = ["OnDemandView", "TypedView", "ViewAnswer", "ViewQueries", "ViewRow", "reached", "tenant_key"]
