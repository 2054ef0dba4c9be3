"""Every SQL statement the PostgreSQL event store runs, with its schema's name filled in.

**Appends** are one statement each (one round trip, autocommit): a ``cur`` CTE reads the stream's current
version and checks, before anything is written, that this is the first write of its transaction (see
the first-write rule in docs/event-store-postgres.md) and that ``synchronous_commit`` is not off; the
INSERT runs only when those checks and the expected version hold. The statement always returns one row,
so a refused append says why (``first_write``, ``durable``, the current version) without a second query;
a lost race surfaces as a unique violation.

**Reads** are where the global order lives: rows and the xmin horizon come from ONE statement (so from
one snapshot), and only rows whose transaction id is below the horizon are taken, in
``(transaction_id, global_position)`` order.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from riverbed.adapters.postgres.codec import SELECT_COLUMNS, Columns

_CURRENT = """
WITH cur AS (
    SELECT max(e.version) AS v,
           pg_current_xact_id_if_assigned() IS NULL AS first_write,
           current_setting('synchronous_commit') <> 'off' AS durable
    FROM {events} e WHERE e.stream_id = %(stream)s
)"""
"""The stream's version and the append's preconditions, evaluated before the INSERT reads ``cur``."""

_ALLOWED = (
    "cur.first_write AND cur.durable AND (%(expected)s = -1 OR (%(expected)s = -2 AND cur.v IS NULL) "
    "OR (%(expected)s = -3 AND cur.v IS NOT NULL) OR cur.v = %(expected)s)"
)
"""When the INSERT may run; ``expected`` is a version ≥ 0 or -1 (any), -2 (no stream), -3 (exists)."""

_COLUMNS = (
    "stream_id, version, event_id, source, type, time, datacontenttype, dataschema, data, data_binary, "
    "extensions"
)

_APPEND_ONE = (
    _CURRENT
    + f""", ins AS (
    INSERT INTO {{events}} ({_COLUMNS})
    SELECT %(stream)s, coalesce(cur.v, -1) + 1, %(id)s, %(source)s, %(type)s, %(time)s, %(ctype)s,
           %(dschema)s, %(data)s::json, %(raw)b::bytea, %(ext)s::json
    FROM cur WHERE {_ALLOWED}
    RETURNING global_position, version
)
SELECT cur.v, cur.first_write, cur.durable, ins.global_position, ins.global_position, ins.version,
       ins.version, pg_current_xact_id_if_assigned()::text
FROM cur LEFT JOIN ins ON true"""
)

_APPEND_MANY = (
    _CURRENT
    + f""", ins AS (
    INSERT INTO {{events}} ({_COLUMNS})
    SELECT %(stream)s, coalesce(cur.v, -1) + u.ord, u.id, u.source, u.type, u.time, u.ctype, u.dschema,
           u.data::json, u.raw, u.ext::json
    FROM cur, unnest(%(id)b::text[], %(source)b::text[], %(type)b::text[], %(time)b::text[],
                     %(ctype)b::text[], %(dschema)b::text[], %(data)b::text[], %(raw)b::bytea[],
                     %(ext)b::text[])
              WITH ORDINALITY AS u(id, source, type, time, ctype, dschema, data, raw, ext, ord)
    WHERE {_ALLOWED}
    ORDER BY u.ord
    RETURNING global_position, version
)
SELECT cur.v, cur.first_write, cur.durable, min(ins.global_position), max(ins.global_position),
       min(ins.version), max(ins.version), pg_current_xact_id_if_assigned()::text
FROM cur LEFT JOIN ins ON true
GROUP BY cur.v, cur.first_write, cur.durable"""
)


def append_params(stream: str, expected: int, columns: Columns) -> dict[str, Any]:
    """The parameters of the ``append`` (several events) or ``append_one`` statement."""
    names = ("id", "source", "type", "time", "ctype", "dschema", "data", "raw", "ext")
    values = columns.as_scalars() if len(columns.ids) == 1 else columns.as_params()
    return {"stream": stream, "expected": expected, **dict(zip(names, values, strict=True))}


def statements(schema: str) -> dict[str, bytes]:
    """Every statement the store runs, with the schema's name filled in."""
    events = sql.SQL("{}.riverbed_events").format(sql.Identifier(schema)).as_string()
    horizon = "pg_snapshot_xmin(pg_current_snapshot())"
    texts = {
        "append": _APPEND_MANY.replace("{events}", events),
        "append_one": _APPEND_ONE.replace("{events}", events),
        "places": (
            f"SELECT event_id, stream_id, version, global_position, transaction_id::text FROM {events} "
            "WHERE event_id = ANY(%b)"
        ),
        "read": (
            f"SELECT {SELECT_COLUMNS} FROM {events} e WHERE e.stream_id = %s AND e.version >= %s "
            "ORDER BY e.version LIMIT %s"
        ),
        "read_back": (
            f"SELECT {SELECT_COLUMNS} FROM {events} e WHERE e.stream_id = %s AND e.version <= %s "
            "ORDER BY e.version DESC LIMIT %s"
        ),
        # The global order: rows and horizon in ONE statement, so both come from the same snapshot.
        "page": (
            f"SELECT {SELECT_COLUMNS} FROM {events} e "
            "WHERE (e.transaction_id, e.global_position) > (%s::xid8, %s) "
            f"AND e.transaction_id < {horizon} "
            "ORDER BY e.transaction_id, e.global_position LIMIT %s"
        ),
        "page_upto": (
            f"SELECT {SELECT_COLUMNS} FROM {events} e "
            "WHERE (e.transaction_id, e.global_position) > (%s::xid8, %s) "
            f"AND e.transaction_id < {horizon} AND e.transaction_id <= %s::xid8 "
            "ORDER BY e.transaction_id, e.global_position LIMIT %s"
        ),
        "target": (
            f"SELECT max(transaction_id)::text, coalesce(max(transaction_id) < {horizon}, true) FROM {events}"
        ),
        "horizon_passed": f"SELECT %s::xid8 < {horizon}",
        "pending": f"SELECT coalesce(max(transaction_id) >= {horizon}, false) FROM {events}",
        "xid_of": f"SELECT transaction_id::text FROM {events} WHERE global_position = %s",
        "version": f"SELECT max(version) FROM {events} WHERE stream_id = %s",
        "stats": (
            f"SELECT count(*), count(DISTINCT stream_id), coalesce(max(global_position), 0), "
            f"{horizon}::text::bigint, count(*) FILTER (WHERE transaction_id >= {horizon}), "
            f"(SELECT count(*) FROM pg_prepared_xacts) FROM {events}"
        ),
        "oldest_writer": (
            "SELECT pid, backend_xid::text, extract(epoch FROM clock_timestamp() - xact_start)::float8, "
            "state, datname FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
            "ORDER BY age(backend_xid) DESC LIMIT 1"
        ),
    }
    return {name: text.encode() for name, text in texts.items()}
