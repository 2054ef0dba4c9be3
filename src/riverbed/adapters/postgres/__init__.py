"""PostgreSQL adapters (psycopg 3): the event store for scale. Needs the ``postgres`` extra."""
