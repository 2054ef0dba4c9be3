"""Opening a SQLite event store file: URL, connections, durability settings, integrity and schema.

Durability is not left to build defaults: the writer connection sets WAL and ``synchronous=FULL`` and
reads both back, refusing to run when SQLite did not take them. ``synchronous=NORMAL`` in WAL mode loses
the last commits on power loss, so it is only accepted with an explicit, loudly named option.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from riverbed.errors import ConfigurationError, InvalidStoreUrl, SchemaVersionMismatch, StoreCorrupted

SCHEMA_VERSION = 1
"""The layout this code writes. A file with a higher number was written by a newer riverbed."""

SYNCHRONOUS_LEVELS = {"NORMAL": 1, "FULL": 2, "EXTRA": 3}

DDL = (
    """CREATE TABLE IF NOT EXISTS riverbed_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    # position is the rowid: one writer at a time commits ascending rowids, so position order is commit
    # order and a reader never sees a later position before an earlier one.
    """CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL,
        id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        type TEXT NOT NULL,
        time TEXT,
        datacontenttype TEXT,
        dataschema TEXT,
        data,
        extensions TEXT,
        UNIQUE (stream, version)
    )""",
)


@dataclass(frozen=True, slots=True)
class Durability:
    """The ``synchronous`` level the writer runs at, already checked for safety."""

    level: str

    @classmethod
    def choose(cls, synchronous: str, *, unsafe_allow_data_loss: bool) -> Durability:
        """Accept FULL or EXTRA; NORMAL only with ``unsafe_allow_data_loss=True``."""
        level = synchronous.upper() if isinstance(synchronous, str) else synchronous
        if level not in SYNCHRONOUS_LEVELS:
            raise ConfigurationError(
                f"synchronous must be 'FULL' or 'EXTRA' (got {synchronous!r}); 'NORMAL' needs "
                "unsafe_allow_data_loss=True"
            )
        if level == "NORMAL" and not unsafe_allow_data_loss:
            raise ConfigurationError(
                "synchronous='NORMAL' can lose acknowledged events on power loss; riverbed refuses it unless "
                "you pass unsafe_allow_data_loss=True (meant for tests that prove the loss, not for data)"
            )
        return cls(level)


def path_from_url(url: str) -> Path:
    """``sqlite:///relative/file.db`` or ``sqlite:////absolute/file.db`` as a path."""
    parts = urlsplit(url)
    hint = "use sqlite:///relative/file.db or sqlite:////absolute/path/file.db"
    if parts.scheme.lower() != "sqlite":
        raise InvalidStoreUrl(f"{url!r} is not a sqlite:// URL; {hint}")
    if parts.netloc:
        raise InvalidStoreUrl(f"{url!r} names a host ({parts.netloc!r}), but SQLite is a local file; {hint}")
    if parts.query or parts.fragment:
        raise InvalidStoreUrl(f"{url!r} has a query or fragment; pass options as keyword arguments; {hint}")
    path = unquote(parts.path)
    if not path.startswith("/") or len(path) < 2:
        raise InvalidStoreUrl(f"{url!r} has no file path; {hint}")
    path = path[1:]
    if path == ":memory:" or path.endswith("/"):
        raise InvalidStoreUrl(f"{url!r} is not a file; the SQLite store needs a file (or use memory://)")
    return Path(path)


def connect(path: Path, *, busy_timeout: float, read_only: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (riverbed issues BEGIN itself), usable from its owner thread."""
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False, cached_statements=256
        )
    except sqlite3.Error as exc:
        raise ConfigurationError(f"cannot open the SQLite store {str(path)!r}: {exc}") from exc
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """``PRAGMA journal_mode = WAL``, retried while another process holds the lock.

    SQLite does not call its busy handler for this switch, so two processes creating one file at once
    would otherwise see "database is locked".
    """
    deadline = time.monotonic() + busy_timeout
    delay = 0.001
    while True:
        try:
            mode: str = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            return mode
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            if time.monotonic() >= deadline:
                raise ConfigurationError(
                    f"another process kept the SQLite store locked for {busy_timeout:g} s while opening it"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def prepare_writer(conn: sqlite3.Connection, path: Path, durability: Durability, busy_timeout: float) -> None:
    """Set and assert WAL and the synchronous level, check integrity, and create or check the schema."""
    where = str(path)
    try:
        mode = _switch_to_wal(conn, busy_timeout)
        conn.execute(f"PRAGMA synchronous = {durability.level}")
        synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
        check = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupted(
            f"{where} is not a readable SQLite database ({exc}); restore it from a backup"
        ) from exc
    if str(mode).lower() != "wal":
        raise ConfigurationError(f"{where}: SQLite refused WAL mode (journal_mode is {mode!r})")
    if synchronous != SYNCHRONOUS_LEVELS[durability.level]:
        raise ConfigurationError(
            f"{where}: asked SQLite for synchronous={durability.level} but it reports {synchronous}; "
            "riverbed will not acknowledge appends it cannot make durable"
        )
    if check != ["ok"]:
        raise StoreCorrupted(f"{where} failed PRAGMA quick_check: {'; '.join(map(str, check[:5]))}")
    _ensure_schema(conn, where)


def _ensure_schema(conn: sqlite3.Connection, where: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in DDL:
            conn.execute(statement)
        row = conn.execute("SELECT value FROM riverbed_meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO riverbed_meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise SchemaVersionMismatch(
                f"{where} has schema version {row[0]}, written by a newer riverbed; this one reads up to "
                f"{SCHEMA_VERSION}: upgrade riverbed"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
