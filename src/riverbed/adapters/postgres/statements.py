"""Every SQL statement the PostgreSQL event store runs, with its schema's name filled in.

The read statements are where the global order lives: rows and the xmin horizon come from ONE statement
(so from one snapshot), and only rows whose transaction id is below the horizon are taken, in
``(transaction_id, global_position)`` order.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, sql

from riverbed.adapters.postgres.codec import SELECT_COLUMNS


def statements(conn: AsyncConnection[Any], schema: str) -> dict[str, bytes]:
    """Every statement the store runs, with the schema's name filled in."""
    events = sql.SQL("{}.riverbed_events").format(sql.Identifier(schema)).as_string(conn)
    function = sql.SQL("{}.riverbed_append").format(sql.Identifier(schema)).as_string(conn)
    function_one = sql.SQL("{}.riverbed_append_one").format(sql.Identifier(schema)).as_string(conn)
    horizon = "pg_snapshot_xmin(pg_current_snapshot())"
    texts = {
        "append": f"SELECT * FROM {function}(%s, %s, %b, %b, %b, %b, %b, %b, %b, %b, %b)",
        "append_one": f"SELECT * FROM {function_one}(%s, %s, %s, %s, %s, %s, %s, %s, %s, %b, %s)",
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
            "SELECT pid, backend_xid::text, extract(epoch FROM clock_timestamp() - xact_start), state, "
            "datname FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
            "ORDER BY age(backend_xid) DESC LIMIT 1"
        ),
    }
    return {name: text.encode() for name, text in texts.items()}
