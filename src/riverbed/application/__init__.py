"""Use cases over ports: unit of work, command and event dispatch, projections, queries, sagas."""
