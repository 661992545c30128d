"""The SQLite store: one file holding the graph, the crawl state and the run log.

Layout (schema version :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` = :data:`APPLICATION_ID`):

``meta``      key/value: ``application`` = ``ecograph``, ``schema_version``, ``created_at``,
              ``store_id`` (random, names this store) and ``generation`` (a counter every
              write transaction increments: it keys the analysis cache, :mod:`ecograph.cache`).
``models``    one row per node: the columns of :data:`ecograph.frames.MODEL_SCHEMA` plus
              ``tags`` and ``parents`` (JSON text). Timestamps are integer microseconds since
              the Unix epoch, UTC (they load into ``Datetime("us", "UTC")`` with a cast).
``edges``     one row per (parent, child) with the child's relation and the edge's source.
``frontier``  crawl state per node: depth, ``pending`` / ``done`` / ``failed``, attempts,
              last error, the Hub's ``childrenModelCount`` (JSON), ``updated_at``.
``runs``      one row per crawl or import: kind, params (JSON, never a token), start/end
              (ISO 8601 UTC text), status, counts (JSON).
``state``     key/value (scan cursors and the like).
``model_history``  per model, one row each time a tracked value (:data:`HISTORY_COLUMNS`:
              downloads, likes, downloads_all_time, status, licence, relation) differs
              from the model's latest row: ``seq`` (write order), ``id``, ``run_id``,
              ``observed_at`` (integer microseconds, UTC). A re-crawl that sees nothing new
              adds nothing.
``edge_history``   per edge, one event each time it opens (``open`` = 1: appears, or its
              relation / source changes) or closes (``open`` = 0: the child no longer
              declares the parent, or the child is deleted), with ``run_id`` and
              ``observed_at``. Closed edges leave ``edges`` but stay here.

Every crawl, scan, refresh and import is an observation (DESIGN §10): a ``runs`` row with
its ``observed_at`` (when the Hub was read: the run's start, or a snapshot's time). The
writes of a run carry its id and time; a write outside any run is observed when it is
made. A model the Hub no longer has is *deleted* (:meth:`Store.mark_deleted`): its status
becomes ``missing``, its own edges close, its row and history stay.

Ids compare case-insensitively (``COLLATE NOCASE``), as on the Hub: a placeholder
``org/model`` and a record ``Org/Model`` are the same node, and the record's spelling wins.

Every write is an upsert inside one transaction (WAL, ``synchronous=NORMAL``): killing the
process at any instant leaves a valid store, and re-running a crawl duplicates nothing.
A ``missing`` row is a placeholder: it never overwrites a stored row, and any real record
replaces it. Bulk loading goes through Arrow (ADBC); the crawl's small transactions through
:mod:`sqlite3`. The analysis columns are also kept in a columnar cache beside the store
(:mod:`ecograph.cache`), which :meth:`Store.load` reads while the store's ``generation``
is unchanged and rebuilds after any write.

An older store is upgraded in place when opened: version 1 (no ``store_id`` /
``generation``) and version 2 (no history: one history row per model and one open event
per edge are written, dated at the store's last run).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from . import cache as _cache
from .errors import StoreError, UsageError
from .frames import EDGE_SCHEMA, MODEL_SCHEMA, parent_references_of_tags
from .records import ModelRecord, ParsedModel, Status

__all__ = [
    "Store", "SCHEMA_VERSION", "APPLICATION_ID", "MODEL_COLUMNS", "BUMP_GENERATION_SQL",
    "HISTORY_COLUMNS", "to_micros", "history_sql", "edge_events_sql",
]

#: Version of the table layout; a store with a newer version is refused, an older one
#: upgraded (1 → 2: ``meta`` gains ``store_id`` and ``generation``; 2 → 3: the history
#: tables and ``runs.observed_at``).
SCHEMA_VERSION = 3
#: Run inside every write transaction (:meth:`Store._tx` does; so must any writer that
#: goes around it, like the bulk import through :meth:`Store.adbc`): the new generation
#: tells every reader that cached frames of the store are stale.
BUMP_GENERATION_SQL = (
    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
)
#: ``PRAGMA application_id`` of an ecograph store ("ECOG").
APPLICATION_ID = 0x45434F47
_MARKER = "ecograph"
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: Columns of the ``models`` table, in order.
MODEL_COLUMNS: tuple[str, ...] = (*MODEL_SCHEMA, "tags", "parents")
_TS_COLUMNS = ("created_at", "last_modified", "fetched_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How long a bulk (ADBC) connection waits for a lock held by another process.
BUSY_TIMEOUT_MS = 30_000
_US = timedelta(microseconds=1)
_HOST = socket.gethostname()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY COLLATE NOCASE,
    author TEXT,
    created_at INTEGER,
    last_modified INTEGER,
    downloads INTEGER,
    downloads_all_time INTEGER,
    likes INTEGER,
    library_name TEXT,
    pipeline_tag TEXT,
    license TEXT,
    gated TEXT,
    relation TEXT,
    status TEXT NOT NULL DEFAULT 'ok',
    fetched_at INTEGER,
    tags TEXT,
    parents TEXT,
    license_tags TEXT,
    safetensors_total INTEGER
);
CREATE TABLE IF NOT EXISTS edges (
    parent TEXT NOT NULL COLLATE NOCASE,
    child TEXT NOT NULL COLLATE NOCASE,
    relation TEXT,
    source TEXT,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_child ON edges (child);
CREATE TABLE IF NOT EXISTS frontier (
    id TEXT PRIMARY KEY COLLATE NOCASE,
    depth INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    expected_children TEXT,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS frontier_status ON frontier (status, depth, id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    params TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    counts TEXT,
    observed_at TEXT
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT);
""" + """
CREATE TABLE IF NOT EXISTS model_history (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL COLLATE NOCASE,
    run_id INTEGER,
    observed_at INTEGER NOT NULL,
    downloads INTEGER,
    likes INTEGER,
    downloads_all_time INTEGER,
    status TEXT,
    license TEXT,
    relation TEXT
);
CREATE INDEX IF NOT EXISTS model_history_id ON model_history (id, seq);
CREATE TABLE IF NOT EXISTS edge_history (
    seq INTEGER PRIMARY KEY,
    parent TEXT NOT NULL COLLATE NOCASE,
    child TEXT NOT NULL COLLATE NOCASE,
    relation TEXT,
    source TEXT,
    run_id INTEGER,
    observed_at INTEGER NOT NULL,
    open INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS edge_history_key ON edge_history (parent, child, seq);
CREATE INDEX IF NOT EXISTS edge_history_child ON edge_history (child);
"""

#: The ``models`` columns whose changes ``model_history`` keeps.
HISTORY_COLUMNS: tuple[str, ...] = (
    "downloads", "likes", "downloads_all_time", "status", "license", "relation",
)
_SAME_AS_LATEST = " AND ".join(f"l.{c} IS m.{c}" for c in HISTORY_COLUMNS)


def _sql_int(value: int | None) -> str:
    return "NULL" if value is None else str(int(value))


def history_sql(ids: str, run_id: int | None, observed_at: int) -> str:
    """SQL that appends a ``model_history`` row for each model whose id is in the subquery
    ``ids`` and whose tracked values differ from its latest history row (or that has
    none): a row when a value changes, not a copy per observation. Set-based, so the bulk
    import runs it once per batch over its staging table.

    >>> "NOT EXISTS" in history_sql("SELECT 'a/b'", 1, 0)
    True
    """
    cols = ", ".join(HISTORY_COLUMNS)
    mcols = ", ".join(f"m.{c}" for c in HISTORY_COLUMNS)
    return (
        f"INSERT INTO model_history (id, run_id, observed_at, {cols}) "
        f"SELECT m.id, {_sql_int(run_id)}, {_sql_int(observed_at)}, {mcols} FROM models m "
        f"WHERE m.id IN ({ids}) AND NOT EXISTS (SELECT 1 FROM model_history l WHERE "
        "l.seq = (SELECT max(h.seq) FROM model_history h WHERE h.id = m.id) "
        f"AND {_SAME_AS_LATEST})"
    )


def edge_events_sql(old: str, children: str, run_id: int | None,
                    observed_at: int) -> tuple[str, str]:
    """Two SQL statements recording how the edges of the children in the subquery
    ``children`` changed, given the table ``old`` holding their edges (parent, child,
    relation, source) before the change: close events for old edges now gone or changed,
    open events for current edges that are new or changed.

    >>> len(edge_events_sql("temp.old", "SELECT 'c'", None, 0))
    2
    """
    run, at = _sql_int(run_id), _sql_int(observed_at)
    closed = (
        "INSERT INTO edge_history (parent, child, relation, source, run_id, observed_at, open) "
        f"SELECT o.parent, o.child, o.relation, o.source, {run}, {at}, 0 FROM {old} o "
        "WHERE NOT EXISTS (SELECT 1 FROM edges e WHERE e.parent = o.parent "
        "AND e.child = o.child AND e.relation IS o.relation AND e.source IS o.source)"
    )
    opened = (
        "INSERT INTO edge_history (parent, child, relation, source, run_id, observed_at, open) "
        f"SELECT e.parent, e.child, e.relation, e.source, {run}, {at}, 1 FROM edges e "
        f"WHERE e.child IN ({children}) AND NOT EXISTS (SELECT 1 FROM {old} o "
        "WHERE e.parent = o.parent AND e.child = o.child AND e.relation IS o.relation "
        "AND e.source IS o.source)"
    )
    return closed, opened

# A record replaces a stored row when it is ``ok``, or when it is a non-placeholder status
# (private / error) and the stored row is not ``ok``. ``missing`` never replaces anything.
_UPSERT_MODEL = (
    f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in MODEL_COLUMNS)}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in MODEL_COLUMNS)
    + " WHERE excluded.status = 'ok' OR (excluded.status <> 'missing' AND models.status <> 'ok')"
)
#: The same upsert reading rows from another table (bulk import); ``{src}`` is the table.
UPSERT_MODELS_FROM = (
    f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}) "
    f"SELECT {', '.join(MODEL_COLUMNS)} FROM {{src}} WHERE true "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in MODEL_COLUMNS)
    + " WHERE excluded.status = 'ok' OR (excluded.status <> 'missing' AND models.status <> 'ok')"
)


def to_micros(dt: datetime | None) -> int | None:
    """A datetime as integer microseconds since the epoch (UTC); naive means UTC.

    >>> to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    1000000
    """
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _US


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _iso(dt: datetime) -> str:
    """``dt`` as ISO 8601 text in UTC (naive means UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _value(v: Any) -> Any:
    return v.value if hasattr(v, "value") else v


def _record_row(r: ModelRecord) -> tuple[Any, ...]:
    return (
        r.id,
        r.author,
        to_micros(r.created_at),
        to_micros(r.last_modified),
        r.downloads,
        r.downloads_all_time,
        r.likes,
        r.library_name,
        r.pipeline_tag,
        r.license,
        r.license_tags,
        r.gated,
        _value(r.relation) if r.relation is not None else None,
        _value(r.status),
        to_micros(r.fetched_at),
        r.safetensors_total,
        json.dumps(list(r.tags), ensure_ascii=False),
        json.dumps(list(r.parents), ensure_ascii=False),
    )


_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def _scrub(params: Any) -> Any:
    """Drop every key that names a token, at any depth, and the ``user:password@`` of
    every URL (secrets are never stored).

    >>> _scrub({"endpoint": "http://me:pw@host", "token": "hf_x", "n": [1]})
    {'endpoint': 'http://***@host', 'n': [1]}
    """
    if isinstance(params, Mapping):
        return {str(k): _scrub(v) for k, v in params.items() if "token" not in str(k).lower()}
    if isinstance(params, list | tuple):
        return [_scrub(v) for v in params]
    if isinstance(params, str):
        return _URL_CREDENTIALS.sub(r"\1***@", params)
    return params


def _read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_header(path: Path, header: bytes) -> None:
    """Refuse anything but an SQLite file carrying our application id (never opens it)."""
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path} is not an ecograph store")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != APPLICATION_ID:
        raise StoreError(f"{path} is not an ecograph store")


def adbc_errors() -> tuple[type[BaseException], ...]:
    """The exception types an ADBC (SQLite driver) call raises for SQLite errors: its DB-API
    errors derive from ``adbc_driver_manager.Error`` (a plain Exception), some from
    OSError."""
    try:
        import adbc_driver_manager
    except ImportError:  # pragma: no cover - adbc is a dependency
        return (OSError,)
    return (OSError, adbc_driver_manager.Error)


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (ADBC's run over several)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def raise_if_interrupted(exc: BaseException) -> None:
    """Raise ``KeyboardInterrupt`` when ``exc`` stands for a Ctrl-C.

    ADBC runs its blocking calls under its own SIGINT handler, which asks the driver to
    cancel; the SQLite driver cannot (``NOT_IMPLEMENTED``), and that error comes back
    with the ``KeyboardInterrupt`` as its cause. Callers mapping ADBC errors to a message
    call this first, so Ctrl-C still ends as an interruption.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        seen.add(id(current))
        current = current.__cause__ or current.__context__


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _connect(p: Path, target: str | None = None) -> sqlite3.Connection:
    """A connection to ``p``; ``target`` is a ``file:`` URI that replaces the path (the
    read-only forms, see :func:`_read_only_target`)."""
    return sqlite3.connect(target or str(p), isolation_level=None, check_same_thread=False,
                           timeout=30.0, uri=target is not None)


def _read_only_reason(p: Path) -> str | None:
    """Why the store at ``p`` cannot be written (``None`` when it can): the file, or its
    directory (where SQLite keeps the ``-wal`` and ``-shm`` files), is read-only. Asks
    the kernel (``access``), which also refuses root on a read-only mount or an
    immutable (``chattr +i``) file; plain permission bits do not stop root."""
    parent = p.parent if str(p.parent) else Path(".")
    if p.exists() and not os.access(p, os.W_OK):
        return "the file is read-only"
    if not os.access(parent, os.W_OK):
        return f"its directory {parent} is read-only"
    return None


def _read_only_targets(p: Path) -> list[str]:
    """``file:`` URIs that open ``p`` for reading only, in order of preference:
    ``mode=ro`` (SQLite still shares the ``-shm`` index with writers, creating it when the
    directory allows), then ``immutable=1`` (no locks, no ``-shm``: for a read-only
    directory or mount, where no writer can be at work; a ``-wal`` file left there by a
    crash is not read)."""
    uri = p.resolve().as_uri()
    return [f"{uri}?mode=ro", f"{uri}?immutable=1"]


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


#: ``models`` columns added after a store layout was released: ``(name, SQL type)``. A
#: store that lacks one gets it in place when opened (``ALTER TABLE ... ADD COLUMN``, null
#: until its models are crawled or imported again), whatever its schema version.
ADDED_MODEL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("license_tags", "TEXT"), ("safetensors_total", "INTEGER"),
)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Add the :data:`ADDED_MODEL_COLUMNS` a store lacks (one transaction; a no-op when
    every column is there)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(models)")}
    missing = [(name, kind) for name, kind in ADDED_MODEL_COLUMNS if name not in have]
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        have = {row[1] for row in conn.execute("PRAGMA table_info(models)")}  # under the lock
        for name, kind in missing:
            if name not in have:
                conn.execute(f"ALTER TABLE models ADD COLUMN {name} {kind}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class _File:
    """Per-process state of one store file, shared by every :class:`Store` open on it.

    SQLite's POSIX locks belong to the process: closing *any* descriptor of the file drops
    them all. So stores of the same file share one lock, and bulk (ADBC) access closes
    every sibling connection first, then reopens them.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.stores: weakref.WeakSet[Store] = weakref.WeakSet()


_FILES: dict[str, _File] = {}
_FILES_LOCK = threading.Lock()


def _file_key(p: Path) -> str:
    try:
        st = p.stat()
        return f"{st.st_dev}:{st.st_ino}"
    except OSError:
        return os.path.realpath(p)


def _open_file(p: Path) -> _File | None:
    """The shared state of ``p`` if this process already has it open."""
    with _FILES_LOCK:
        f = _FILES.get(_file_key(p))
        return f if f is not None and len(f.stores) else None


def _model_schema(columns: Sequence[str] | None) -> dict[str, pl.DataType]:
    """The ``models`` schema restricted to ``columns`` (``id`` first), or all of it."""
    if columns is None:
        return dict(MODEL_SCHEMA)
    unknown = [c for c in columns if c not in MODEL_SCHEMA]
    if unknown:
        raise UsageError(f"unknown models column(s): {', '.join(unknown)}")
    return {c: MODEL_SCHEMA[c] for c in ("id", *(c for c in columns if c != "id"))}


class Store:
    """An ecograph store on disk. Open it with :meth:`Store.open` (a context manager).

    The connection may be used from several threads; every call takes the store's lock.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *,
                 target: str | None = None) -> None:
        self.path = path
        self._conn = conn
        #: the ``file:`` URI of a read-only store (``None``: read-write, opened by path)
        self._target = target
        self._closed = False
        with _FILES_LOCK:
            self._file = _FILES.setdefault(_file_key(path), _File())
            self._file.stores.add(self)
        self._lock = self._file.lock
        #: (run id, observed_at in microseconds) of the run this store is recording
        self._run: tuple[int, int] | None = None

    # ------------------------------------------------------------------ open / close

    @property
    def read_only(self) -> bool:
        """Whether the store was opened for reading only (see :meth:`open`)."""
        return self._target is not None

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True,
             read_only: bool | None = None) -> Store:
        """Open the store at ``path``, creating it when absent (unless ``create=False``).

        ``read_only``: ``True`` opens for reading only (nothing is written, not even the
        ``-wal`` file: works on a read-only file, directory or mount); ``False`` needs
        write access and says so in one line when the store cannot be written; ``None``
        (the default) means ``False`` with ``create=True`` (the writers: crawl, import,
        refresh) and, with ``create=False`` (the readers), read-write when the store can
        be written and read-only when it cannot.

        Raises :class:`~ecograph.errors.StoreError` (one clear message, the file untouched)
        when the file is not an ecograph store, has a newer schema, cannot be created, or
        cannot be written when writing was asked for.
        """
        p = Path(path)
        if p.is_dir():
            raise StoreError(f"{p} is a directory, not an ecograph store")
        exists = p.exists()
        if exists and not p.is_file():
            raise StoreError(f"{p} is not a regular file, not an ecograph store")
        new = not exists or p.stat().st_size == 0
        if exists and not new and _open_file(p) is None:
            # (never read the file while this process has it open: see _File)
            _check_header(p, _read_header(p))
        if new and not create:
            raise StoreError(f"no ecograph store at {p}")
        reason = _read_only_reason(p)
        if read_only is None:
            read_only = not create and reason is not None
        if not read_only and reason is not None and not new:
            raise StoreError(f"cannot write {p}: read-only ({reason}); the commands that "
                             "only read the store still work")
        if read_only and not new:
            return cls._open_read_only(p)
        if new:
            parent = p.parent if str(p.parent) else Path(".")
            if not parent.is_dir():
                raise StoreError(f"cannot create store {p}: directory {parent} does not exist")
            if not os.access(parent, os.W_OK):
                raise StoreError(f"cannot create store {p}: directory {parent} is not writable")
        verb = "create" if new else "open"
        try:
            conn = _connect(p)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot {verb} store {p}: {exc}") from None
        try:
            if new:
                cls._create(conn)
            else:
                cls._check_meta(conn, p)
            _configure(conn)
            if not new:
                _add_missing_columns(conn)
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot {verb} store {p}: {exc}") from None
        return cls(p, conn)

    @classmethod
    def _open_read_only(cls, p: Path) -> Store:
        """Open ``p`` for reading only: ``mode=ro``, else ``immutable=1`` (see
        :func:`_read_only_targets`)."""
        error: sqlite3.Error | None = None
        for target in _read_only_targets(p):
            conn: sqlite3.Connection | None = None
            try:
                conn = _connect(p, target)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                cls._check_meta(conn, p)
                conn.execute("PRAGMA query_only=1")
                return cls(p, conn, target=target)
            except StoreError:
                if conn is not None:
                    conn.close()
                raise
            except sqlite3.Error as exc:
                if conn is not None:
                    conn.close()
                error = exc
        raise StoreError(f"cannot open store {p} (read-only): {error}")

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        # Written in rollback-journal mode so the header (application_id) is on disk at once.
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("BEGIN")
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("application", _MARKER),
                ("schema_version", str(SCHEMA_VERSION)),
                ("created_at", _now_iso()),
                ("store_id", uuid.uuid4().hex),
                ("generation", "0"),
            ],
        )
        conn.execute("COMMIT")

    @staticmethod
    def _upgrade(conn: sqlite3.Connection, version: int) -> None:
        """Bring an older store to :data:`SCHEMA_VERSION` in place (one transaction). A
        store that cannot be written (read-only file) stays as it is: it reads as before,
        without the analysis cache."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return  # read-only or busy: upgraded by the next writable open
        try:
            if version < 2:
                conn.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("store_id", uuid.uuid4().hex), ("generation", "0")],
                )
            if version < 3:
                Store._add_history(conn)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    @staticmethod
    def _add_history(conn: sqlite3.Connection) -> None:
        """2 → 3: the history tables, ``runs.observed_at`` (a run's start), and one history
        row per model and one open event per edge from their current values, dated at the
        store's last run (its start; else the store's creation)."""
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        if "observed_at" not in columns:
            conn.execute("ALTER TABLE runs ADD COLUMN observed_at TEXT")
        conn.execute("UPDATE runs SET observed_at = started_at WHERE observed_at IS NULL")
        last = conn.execute(
            "SELECT id, observed_at FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if last is None:
            created = conn.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
            last = (None, created[0] if created else _now_iso())
        at = to_micros(datetime.fromisoformat(last[1]))
        assert at is not None
        conn.execute(history_sql("SELECT id FROM models", last[0], at))
        conn.execute(
            "INSERT INTO edge_history (parent, child, relation, source, run_id, observed_at, "
            f"open) SELECT parent, child, relation, source, {_sql_int(last[0])}, {at}, 1 "
            "FROM edges WHERE NOT EXISTS (SELECT 1 FROM edge_history)"
        )

    @staticmethod
    def _check_meta(conn: sqlite3.Connection, p: Path) -> None:
        try:
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise StoreError(f"{p} is not an ecograph store") from None
            raise StoreError(f"cannot open store {p}: {exc}") from None  # locked, I/O, ...
        except sqlite3.DatabaseError as exc:  # our header, damaged content
            raise StoreError(f"cannot open store {p}: {exc}") from None
        if rows.get("application") != _MARKER:
            raise StoreError(f"{p} is not an ecograph store")
        try:
            version = int(rows.get("schema_version", "0"))
        except ValueError:
            raise StoreError(f"{p} is not an ecograph store") from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{p} has store schema version {version}, newer than the version this "
                f"ecograph supports ({SCHEMA_VERSION}); upgrade ecograph"
            )
        if version < SCHEMA_VERSION:
            Store._upgrade(conn, version)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._conn.execute("PRAGMA optimize")
                except sqlite3.Error:
                    pass
                self._conn.close()
                self._file.stores.discard(self)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error) that
        also increments the store's ``generation`` (:data:`BUMP_GENERATION_SQL`)."""
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            conn = self._conn
            if conn.in_transaction:  # left open by a write cut short (Ctrl-C): drop it
                self._rollback()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot write ({exc})") from None
            try:
                yield conn
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self.path}: write failed ({exc})") from None
                raise
            else:
                try:
                    conn.execute(BUMP_GENERATION_SQL)
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise StoreError(f"{self.path}: write failed ({exc})") from None

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: read failed ({exc})") from None

    # ------------------------------------------------------------------ models & edges

    def observation(self) -> tuple[int | None, int]:
        """(run id, observed_at in microseconds UTC) that writes made now are recorded
        with: the run begun by :meth:`begin_run` on this store until :meth:`end_run`, else
        no run and the current time."""
        if self._run is not None:
            return self._run
        now = to_micros(datetime.now(UTC))
        assert now is not None
        return None, now

    @staticmethod
    def _upsert_record(conn: sqlite3.Connection, r: ModelRecord,
                       obs: tuple[int | None, int]) -> None:
        """Upsert one record and its history row; when a real record takes over a
        differently spelled row, rewrite that id's spelling in ``edges`` too."""
        old = conn.execute("SELECT id, status FROM models WHERE id = ?", (r.id,)).fetchone()
        conn.execute(_UPSERT_MODEL, _record_row(r))
        conn.execute(history_sql("?", *obs), (r.id,))
        if old is not None and old[0] != r.id:
            new = conn.execute("SELECT id FROM models WHERE id = ?", (r.id,)).fetchone()[0]
            if new != old[0]:
                conn.execute("UPDATE edges SET parent = ? WHERE parent = ?", (new, new))
                conn.execute("UPDATE edges SET child = ? WHERE child = ?", (new, new))

    _EDGES_OF = "SELECT parent, child, relation, source FROM edges WHERE child = ?"

    @staticmethod
    def _edge_events(conn: sqlite3.Connection, before: Iterable[Sequence[Any]],
                     after: Iterable[Sequence[Any]], obs: tuple[int | None, int]) -> None:
        """Record the difference between two edge lists (parent, child, relation,
        source) in ``edge_history``: a close event for each edge gone or changed, an open
        event for each edge new or changed (ids compare case-insensitively)."""
        old = {(p.lower(), c.lower()): (p, c, rel, src) for p, c, rel, src in before}
        new = {(p.lower(), c.lower()): (p, c, rel, src) for p, c, rel, src in after}
        rows = [(*old[k], *obs, 0) for k in old if k not in new or new[k][2:] != old[k][2:]]
        rows += [(*new[k], *obs, 1) for k in new if k not in old or new[k][2:] != old[k][2:]]
        if rows:
            conn.executemany(
                "INSERT INTO edge_history (parent, child, relation, source, run_id, "
                "observed_at, open) VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
            )

    @staticmethod
    def _save_parsed(conn: sqlite3.Connection, parsed: Sequence[ParsedModel],
                     obs: tuple[int | None, int]) -> None:
        for p in parsed:
            if p.record.id:
                Store._upsert_record(conn, p.record, obs)
        for p in parsed:
            r = p.record
            if not r.id or r.status != Status.OK:
                continue
            # The record is the truth about its own parents: replace its edges.
            before = conn.execute(Store._EDGES_OF, (r.id,)).fetchall()
            conn.execute("DELETE FROM edges WHERE child = ?", (r.id,))
            for e in p.edges:
                author = e.parent.split("/", 1)[0] if "/" in e.parent else None
                conn.execute(
                    "INSERT INTO models (id, author, status, tags, parents) "
                    "VALUES (?, ?, 'missing', '[]', '[]') ON CONFLICT(id) DO NOTHING",
                    (e.parent, author),
                )
                if conn.execute("SELECT changes()").fetchone()[0]:
                    conn.execute(history_sql("?", *obs), (e.parent,))
                (parent,) = conn.execute(
                    "SELECT id FROM models WHERE id = ?", (e.parent,)
                ).fetchone()
                conn.execute(
                    "INSERT INTO edges (parent, child, relation, source) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(parent, child) DO UPDATE SET "
                    "relation = excluded.relation, source = excluded.source",
                    (parent, r.id, _value(e.relation), _value(e.source)),
                )
            Store._edge_events(conn, before, conn.execute(Store._EDGES_OF, (r.id,)), obs)

    def save_models(self, parsed: Iterable[ParsedModel]) -> None:
        """Bulk upsert records and their edges (scan pages, up-crawl): one transaction.

        Each ``ok`` record replaces its stored edges with its own; parents not stored get a
        ``missing`` placeholder.
        """
        items = list(parsed)
        with self._tx() as conn:
            self._save_parsed(conn, items, self.observation())

    def save_node(
        self,
        node_id: str,
        *,
        parsed: Sequence[ParsedModel],
        follow: Iterable[str],
        depth: int,
        expected_children: dict[str, int] | int | None = None,
        node_record: ModelRecord | None = None,
        listed: Iterable[str] | None = None,
        fresh_since: datetime | None = None,
        max_depth: int | None = None,
    ) -> None:
        """The atomic crawl step, in ONE transaction.

        Upserts ``node_record`` (if given; its edges are not touched — pass the node's own
        :class:`ParsedModel` in ``parsed`` to save them) and every parsed child with its
        edges (and ``missing`` placeholders for unknown parents); queues ``follow`` at
        ``depth + 1`` (pending unless already known; a node known deeper gets the smaller
        depth, see :meth:`seed_frontier` for ``max_depth``); marks ``node_id`` done
        (attempts + 1, ``expected_children`` kept as JSON when given).

        ``listed``: the ids of ALL the children the (complete) listing of ``node_id``
        returned. When given, the node's other child edges not read from a model card
        are stale (the child moved to another parent or was deleted) and are removed;
        the children themselves stay in the store. Edges of children whose record was
        fetched at or after ``fresh_since`` are kept: that record, just read, is the truth
        about its parents (the Hub's listing may miss a child that spells the parent in
        another case).
        """
        items = list(parsed)
        now = _now_iso()
        follow_rows = [(f, depth + 1, max_depth, now) for f in follow]
        listed_json = None if listed is None else json.dumps(list(listed), ensure_ascii=False)
        exp = None if expected_children is None else json.dumps(expected_children, sort_keys=True)
        obs = self.observation()
        with self._tx() as conn:
            if node_record is not None and node_record.id:
                self._upsert_record(conn, node_record, obs)
            self._save_parsed(conn, items, obs)
            if listed_json is not None:
                # (``child`` is COLLATE NOCASE: the IN test ignores case too)
                stale = conn.execute(
                    "SELECT parent, child, relation, source FROM edges WHERE parent = ? "
                    "AND coalesce(source, '') <> 'card' "
                    "AND child NOT IN (SELECT value FROM json_each(?)) "
                    "AND child NOT IN (SELECT id FROM models WHERE fetched_at >= ?)",
                    (node_id, listed_json, to_micros(fresh_since)),
                ).fetchall()
                conn.executemany("DELETE FROM edges WHERE parent = ? AND child = ?",
                                 [(p, c) for p, c, _, _ in stale])
                self._edge_events(conn, stale, [], obs)
            conn.executemany(self._QUEUE_SQL, follow_rows)
            conn.execute(
                "INSERT INTO frontier (id, depth, status, attempts, expected_children, "
                "updated_at) VALUES (?, ?, 'done', 1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET status = 'done', attempts = frontier.attempts + 1,"
                " error = NULL, updated_at = excluded.updated_at, expected_children = "
                "coalesce(excluded.expected_children, frontier.expected_children)",
                (node_id, depth, exp, now),
            )

    def load(
        self, columns: Sequence[str] | None = None, *, cache: bool = True
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The ``models`` and ``edges`` frames (schemas of :mod:`ecograph.frames`), sorted
        by id and by (parent, child). Reads through Arrow (ADBC) when available.

        ``columns`` restricts the ``models`` frame to those columns (``id`` is always
        first): analysis needs only a few, and reading fewer is faster and lighter.

        When ``columns`` are among the cached ones (:data:`ecograph.cache.CACHED_MODEL_COLUMNS`)
        the frames come from the analysis cache beside the store if it is of the store's
        current ``generation``; a load of exactly those columns rebuilds a stale or absent
        cache, in a background thread (skipped when its directory cannot be written).
        ``cache=False`` (or the environment variable ``ECOGRAPH_CACHE=0``) reads the store
        only and leaves the cache alone.
        """
        schema = _model_schema(columns)
        cache = cache and _cache.enabled()
        cacheable = cache and columns is not None and _cache.covers(schema)
        build = cacheable and set(schema) == set(_cache.CACHED_MODEL_COLUMNS)
        read_schema = _model_schema(_cache.CACHED_MODEL_COLUMNS) if build else schema
        key: _cache.CacheKey | None = None
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            if cacheable:
                hit = self._read_cache()
                if hit is not None:
                    return hit[0].select(list(schema)), hit[1]
            try:
                models, edges, key = self._load_arrow(read_schema)
            except ImportError:  # pragma: no cover - adbc is a dependency
                models, edges = self._load_sqlite3(read_schema)
        models = models.with_columns(
            [pl.col(c).cast(pl.Int64).cast(read_schema[c]) for c in _TS_COLUMNS
             if c in read_schema]
        ).select([pl.col(c).cast(t) for c, t in read_schema.items()]).rechunk()
        edges = edges.select([pl.col(c).cast(t) for c, t in EDGE_SCHEMA.items()])
        # (argsort + gather beats DataFrame.sort on the Arrow chunks ADBC returns)
        models = models[models.get_column("id").arg_sort()]
        edges = edges.sort(["parent", "child"])
        if build and key is not None:
            _cache.write_in_background(self.path, key, models, edges)
        return models.select(list(schema)), edges

    def generation(self) -> int | None:
        """The store's write counter: every write transaction increments it (``None`` for
        a version 1 store that could not be upgraded, e.g. read-only)."""
        rows = self._query("SELECT value FROM meta WHERE key = 'generation'")
        return int(rows[0][0]) if rows else None

    _KEY_SQL = "SELECT key, value FROM meta WHERE key IN ('store_id', 'generation')"

    @staticmethod
    def _cache_key(rows: Iterable[Sequence[Any]]) -> _cache.CacheKey | None:
        meta = {k: v for k, v in rows}
        if "store_id" not in meta or "generation" not in meta:
            return None
        return _cache.CacheKey(str(meta["store_id"]), int(meta["generation"]))

    def _read_cache(self) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        """The cached frames if the cache is of the store's current generation."""
        key = self._cache_key(self._query(self._KEY_SQL))
        if key is None:
            return None
        return _cache.read(self.path, key, list(EDGE_SCHEMA))

    def parent_references(self) -> pl.DataFrame:
        """Every parent the stored records declare in their ``base_model:`` tags, spelled
        as the tag spells it: ``child``, ``parent`` (Utf8), sorted.

        Edges are filed under a parent's real id when that model is known, so this is
        where a tag's other spelling (``org/name`` for ``Org/Name``) is still visible
        (:func:`ecograph.graph.case_variant_parents`).
        """
        rows = self._query(
            "SELECT m.id, j.value FROM models m, json_each(m.tags) j "
            "WHERE m.tags LIKE '%base_model:%' AND j.value LIKE 'base_model:%'"
        )
        frame = pl.DataFrame(rows, schema={"child": pl.Utf8(), "tag": pl.Utf8()}, orient="row")
        return parent_references_of_tags(frame)

    def load_tags(self) -> pl.DataFrame:
        """The Hub tags of every stored record: ``id`` (Utf8), ``tags`` (List(Utf8))."""
        rows = self._query("SELECT id, tags FROM models WHERE status <> 'missing'")
        frame = pl.DataFrame(rows, schema={"id": pl.Utf8(), "tags": pl.Utf8()}, orient="row")
        return frame.with_columns(
            pl.col("tags").fill_null("[]").str.json_decode(pl.List(pl.Utf8()))
        ).sort("id")

    _EDGE_SENTINEL = ", ".join(f"'' AS {c}" for c in EDGE_SCHEMA)

    def _load_arrow(
        self, schema: dict[str, pl.DataType]
    ) -> tuple[pl.DataFrame, pl.DataFrame, _cache.CacheKey | None]:
        """Both frames and the cache key of the snapshot they were read from."""
        # The ADBC SQLite driver infers each column's type from its first rows; a column
        # that starts with NULLs would be typed int64. A typed sentinel row goes first.
        with self.adbc() as conn:
            cur = conn.cursor()
            try:
                cur.execute("BEGIN")  # one snapshot for the key and both tables
                cur.execute(self._KEY_SQL)
                key = self._cache_key(cur.fetchall())
                sentinel = ", ".join(
                    ("0" if c in _TS_COLUMNS or t == pl.Int64() else "''") + f" AS {c}"
                    for c, t in schema.items()
                )
                cur.execute(
                    f"SELECT {sentinel} UNION ALL SELECT {', '.join(schema)} FROM models"
                )
                models = pl.from_arrow(cur.fetch_arrow_table()).slice(1)
                cur.execute(
                    f"SELECT {self._EDGE_SENTINEL} UNION ALL "
                    f"SELECT {', '.join(EDGE_SCHEMA)} FROM edges"
                )
                edges = pl.from_arrow(cur.fetch_arrow_table()).slice(1)
                cur.execute("COMMIT")
            except adbc_errors() as exc:  # ADBC's SQLite errors
                raise_if_interrupted(exc)
                raise StoreError(f"{self.path}: cannot load ({first_line(exc)})") from None
            finally:
                cur.close()
        assert isinstance(models, pl.DataFrame) and isinstance(edges, pl.DataFrame)
        return models, edges, key

    def _load_sqlite3(
        self, schema: dict[str, pl.DataType]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        rows = self._query(f"SELECT {', '.join(schema)} FROM models")
        raw = {c: (pl.Int64() if c in _TS_COLUMNS else t) for c, t in schema.items()}
        models = pl.DataFrame(rows, schema=raw, orient="row")
        erows = self._query(f"SELECT {', '.join(EDGE_SCHEMA)} FROM edges")
        return models, pl.DataFrame(erows, schema=EDGE_SCHEMA, orient="row")

    # ------------------------------------------------------------------ frontier

    # A node queued again at a smaller depth keeps the smaller one. A ``done`` node whose
    # children ``max_depth`` cut (listed at depth >= max_depth - 1) and that is now found
    # at a depth where they would be followed is queued again (``?3`` = max_depth).
    _QUEUE_SQL = (
        "INSERT INTO frontier (id, depth, status, updated_at) VALUES (?1, ?2, 'pending', ?4) "
        "ON CONFLICT(id) DO UPDATE SET depth = min(frontier.depth, excluded.depth), "
        "status = CASE WHEN frontier.status = 'done' AND ?3 IS NOT NULL "
        "AND excluded.depth < frontier.depth AND frontier.depth + 1 >= ?3 "
        "AND excluded.depth + 1 < ?3 THEN 'pending' ELSE frontier.status END, "
        "updated_at = CASE WHEN excluded.depth < frontier.depth THEN excluded.updated_at "
        "ELSE frontier.updated_at END"
    )

    def seed_frontier(self, items: Iterable[tuple[str, int]], *,
                      max_depth: int | None = None) -> int:
        """Queue (id, depth) pairs as ``pending`` when absent; return how many were new.

        A node already queued keeps the smaller of its depths; a ``done`` node whose
        children ``max_depth`` cut at its old depth but not at the new one is requeued.
        """
        now = _now_iso()
        rows = [(i, d, max_depth, now) for i, d in items]
        with self._tx() as conn:
            new = 0
            for row in rows:
                known = conn.execute("SELECT 1 FROM frontier WHERE id = ?", (row[0],)).fetchone()
                conn.execute(self._QUEUE_SQL, row)
                new += known is None
            return new

    def requeue_done(self, ids: Iterable[str] | None = None) -> int:
        """Turn ``done`` nodes (all, or those in ``ids``) back to ``pending`` (refresh)."""
        return self._requeue("done", ids)

    def requeue_failed(self, ids: Iterable[str] | None = None) -> int:
        """Turn ``failed`` nodes (all, or those in ``ids``) back to ``pending`` (retry)."""
        return self._requeue("failed", ids)

    def _requeue(self, status: str, ids: Iterable[str] | None) -> int:
        sql = "UPDATE frontier SET status = 'pending', updated_at = ? WHERE status = ?"
        with self._tx() as conn:
            before = conn.total_changes
            if ids is None:
                conn.execute(sql, (_now_iso(), status))
            else:
                now = _now_iso()
                conn.executemany(sql + " AND id = ?", [(now, status, i) for i in ids])
            return conn.total_changes - before

    def frontier_status(self, ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """id (as stored) → (status, depth) for those of ``ids`` in the frontier."""
        payload = json.dumps(list(ids), ensure_ascii=False)
        return {
            i: (st, d)
            for i, st, d in self._query(
                "SELECT id, status, depth FROM frontier "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (payload,),
            )
        }

    def pending(self, limit: int | None = None) -> list[tuple[str, int]]:
        """Pending (id, depth) pairs, by depth then id."""
        sql = "SELECT id, depth FROM frontier WHERE status = 'pending' ORDER BY depth, id"
        if limit is not None:
            return [(i, d) for i, d in self._query(sql + " LIMIT ?", (int(limit),))]
        return [(i, d) for i, d in self._query(sql)]

    def mark_failed(self, node_id: str, error: str) -> None:
        """Mark a node ``failed`` (attempts + 1) with its last error."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO frontier (id, depth, status, attempts, error, updated_at) "
                "VALUES (?, 0, 'failed', 1, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "status = 'failed', attempts = frontier.attempts + 1, error = excluded.error, "
                "updated_at = excluded.updated_at",
                (node_id, error, _now_iso()),
            )

    def frontier_counts(self) -> dict[str, int]:
        """``{"pending": n, "done": n, "failed": n}`` (every key present)."""
        counts = {"pending": 0, "done": 0, "failed": 0}
        for status, n in self._query("SELECT status, count(*) FROM frontier GROUP BY status"):
            counts[status] = n
        return counts

    def failed(self) -> list[tuple[str, str]]:
        """Failed nodes and their last error, by id."""
        return [
            (i, e or "")
            for i, e in self._query(
                "SELECT id, error FROM frontier WHERE status = 'failed' ORDER BY id"
            )
        ]

    def expected_children(self) -> dict[str, dict[str, int]]:
        """node → the Hub's ``childrenModelCount`` as recorded by :meth:`save_node`."""
        out: dict[str, dict[str, int]] = {}
        for i, raw in self._query(
            "SELECT id, expected_children FROM frontier WHERE expected_children IS NOT NULL"
        ):
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                out[i] = {str(k): int(v) for k, v in value.items() if isinstance(v, int)}
        return out

    # ------------------------------------------------------------------ state & runs

    def set_state(self, key: str, value: str) -> None:
        """Store a string under ``key`` (scan cursor and the like)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get_state(self, key: str) -> str | None:
        """The string stored under ``key``, or ``None``."""
        rows = self._query("SELECT value FROM state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def begin_run(self, kind: str, params: dict[str, Any], *,
                  observed_at: datetime | None = None) -> int:
        """Record the start of a run (``crawl``, ``import``, ``refresh``, ...); returns its id.

        The run is an observation (DESIGN §10) dated ``observed_at`` (default: now; an
        import passes its snapshot's time): every write this store makes until
        :meth:`end_run` is recorded in the history with the run's id and that time. Any key
        naming a token is dropped from ``params`` before it is stored. Runs still
        ``running`` whose process is gone (killed) are marked ``interrupted`` first.
        """
        started = _now_iso()
        seen = started if observed_at is None else _iso(observed_at)
        text = json.dumps(_scrub(params), sort_keys=True, default=str)
        owner = json.dumps({"pid": os.getpid(), "host": _HOST})
        with self._tx() as conn:
            for run_id, counts in conn.execute(
                "SELECT id, counts FROM runs WHERE status = 'running'"
            ).fetchall():
                try:
                    info = json.loads(counts) if counts else {}
                except ValueError:
                    info = {}
                info = info if isinstance(info, dict) else {}
                if info.get("host", _HOST) != _HOST:
                    continue  # another machine's run: cannot tell
                pid = info.get("pid")
                if isinstance(pid, int) and _pid_alive(pid):
                    continue
                conn.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run_id,))
            cur = conn.execute(
                "INSERT INTO runs (kind, params, started_at, status, counts, observed_at) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                (kind, text, started, owner, seen),
            )
            run_id = int(cur.lastrowid or 0)
        at = to_micros(datetime.fromisoformat(seen))
        assert at is not None
        self._run = (run_id, at)
        return run_id

    def end_run(self, run_id: int, *, status: str, counts: dict[str, Any]) -> None:
        """Record the end of a run with its status and counts."""
        text = json.dumps(_scrub(counts), sort_keys=True, default=str)
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, counts = ? WHERE id = ?",
                (_now_iso(), status, text, run_id),
            )
        if self._run is not None and self._run[0] == run_id:
            self._run = None

    def runs(self) -> pl.DataFrame:
        """The ``runs`` table (params and counts as JSON text), oldest first, with each
        run's ``observed_at`` (when its observation was made, see :meth:`begin_run`)."""
        rows = self._query(
            "SELECT id, kind, params, started_at, finished_at, status, counts, "
            "coalesce(observed_at, started_at) FROM runs ORDER BY id"
        )
        frame = pl.DataFrame(
            rows,
            schema={
                "id": pl.Int64(),
                "kind": pl.Utf8(),
                "params": pl.Utf8(),
                "started_at": pl.Utf8(),
                "finished_at": pl.Utf8(),
                "status": pl.Utf8(),
                "counts": pl.Utf8(),
                "observed_at": pl.Utf8(),
            },
            orient="row",
        )
        ts = pl.Datetime("us", "UTC")
        return frame.with_columns(
            [
                pl.col(c).str.to_datetime(time_unit="us", time_zone="UTC", strict=False).cast(ts)
                for c in ("started_at", "finished_at", "observed_at")
            ]
        )

    # ------------------------------------------------------------------ history

    def mark_deleted(self, ids: Iterable[str], at: datetime | None = None) -> list[str]:
        """Record that the Hub no longer has the models ``ids`` (a 404 after they
        existed): each stored model not already ``missing`` becomes ``missing`` with
        ``fetched_at`` = ``at``, its own edges (to its parents) close, and a history row
        dates the deletion (the current run's observation, see :meth:`observation`). Rows
        and history stay; edges from the model to its children stay while the children
        declare it. Returns the ids deleted (as stored, sorted)."""
        payload = json.dumps(list(ids), ensure_ascii=False)
        obs = self.observation()
        when = to_micros(at) if at is not None else obs[1]
        with self._tx() as conn:
            gone = [i for (i,) in conn.execute(
                "SELECT id FROM models WHERE status <> 'missing' "
                "AND id IN (SELECT value FROM json_each(?)) ORDER BY id", (payload,))]
            for mid in gone:
                before = conn.execute(self._EDGES_OF, (mid,)).fetchall()
                conn.execute("DELETE FROM edges WHERE child = ?", (mid,))
                self._edge_events(conn, before, [], obs)
                conn.execute("UPDATE models SET status = 'missing', fetched_at = ? WHERE id = ?",
                             (when, mid))
                conn.execute(history_sql("?", *obs), (mid,))
        return gone

    def load_history(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The ``model_history`` and ``edge_history`` tables as frames, in write order
        (``seq``), ``observed_at`` as ``Datetime("us", "UTC")``; see
        :mod:`ecograph.history` for what they mean. Raises
        :class:`~ecograph.errors.StoreError` for a store without history (an old store
        that could not be upgraded, e.g. read-only)."""
        ts = pl.Datetime("us", "UTC")
        mschema = {"seq": pl.Int64(), "id": pl.Utf8(), "run_id": pl.Int64(),
                   "observed_at": pl.Int64(), "downloads": pl.Int64(), "likes": pl.Int64(),
                   "downloads_all_time": pl.Int64(), "status": pl.Utf8(),
                   "license": pl.Utf8(), "relation": pl.Utf8()}
        eschema = {"seq": pl.Int64(), "parent": pl.Utf8(), "child": pl.Utf8(),
                   "relation": pl.Utf8(), "source": pl.Utf8(), "run_id": pl.Int64(),
                   "observed_at": pl.Int64(), "open": pl.Boolean()}
        try:
            mrows = self._query(f"SELECT {', '.join(mschema)} FROM model_history ORDER BY seq")
            erows = self._query(f"SELECT {', '.join(eschema)} FROM edge_history ORDER BY seq")
        except StoreError as exc:
            if "no such table" in str(exc):
                raise StoreError(
                    f"{self.path} keeps no history (schema version 2 or older, not upgraded: "
                    "open it once with write access)") from None
            raise
        models = pl.DataFrame(mrows, schema=mschema, orient="row")
        edges = pl.DataFrame(erows, schema=eschema, orient="row")
        return (models.with_columns(pl.col("observed_at").cast(ts)),
                edges.with_columns(pl.col("observed_at").cast(ts)))

    # ------------------------------------------------------------------ summary

    def file_size(self) -> int:
        """Bytes on disk (the database plus its write-ahead log)."""
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(str(self.path) + suffix)
            except OSError:
                pass
        return total

    def summary(self) -> dict[str, Any]:
        """Counts for ``ecograph info``.

        Keys: ``path``, ``file_size``, ``schema_version``, ``models`` (total),
        ``models_by_status``, ``edges`` (total), ``edges_by_relation``, ``foundations``
        (non-missing nodes with no parent other than themselves and at least one child),
        ``runs`` (kind → count, last_started, last_finished, last_status), ``frontier``
        (counts), ``failed`` (count).
        """
        by_status = dict(self._query("SELECT status, count(*) FROM models GROUP BY status"))
        by_rel = dict(
            self._query(
                "SELECT coalesce(relation, 'unknown'), count(*) FROM edges "
                "GROUP BY 1 ORDER BY 2 DESC"
            )
        )
        (foundations,) = self._query(
            "SELECT count(*) FROM (SELECT DISTINCT parent AS id FROM edges "
            "WHERE parent <> child) p JOIN models m ON m.id = p.id "
            "WHERE m.status <> 'missing' AND NOT EXISTS "
            "(SELECT 1 FROM edges e WHERE e.child = p.id AND e.parent <> e.child)"
        )[0]
        runs: dict[str, dict[str, Any]] = {}
        for kind, n, last_id in self._query(
            "SELECT kind, count(*), max(id) FROM runs GROUP BY kind ORDER BY kind"
        ):
            started, finished, status = self._query(
                "SELECT started_at, finished_at, status FROM runs WHERE id = ?", (last_id,)
            )[0]
            runs[kind] = {
                "count": n,
                "last_started": datetime.fromisoformat(started) if started else None,
                "last_finished": datetime.fromisoformat(finished) if finished else None,
                "last_status": status,
            }
        frontier = self.frontier_counts()
        (version,) = self._query("SELECT value FROM meta WHERE key = 'schema_version'")[0]
        return {
            "path": str(self.path),
            "file_size": self.file_size(),
            "schema_version": int(version),
            "models": sum(by_status.values()),
            "models_by_status": by_status,
            "edges": sum(by_rel.values()),
            "edges_by_relation": by_rel,
            "foundations": foundations,
            "runs": runs,
            "frontier": frontier,
            "failed": frontier.get("failed", 0),
        }

    # ------------------------------------------------------------------ bulk access

    @contextmanager
    def adbc(self, *, cache_mb: int = 64) -> Iterator[Any]:
        """An ADBC (Arrow) connection to the store, for bulk reads and writes.

        ADBC links its own copy of SQLite. Two SQLite libraries in one process must not
        hold the same file open at once: POSIX locks are per process, so either copy would
        believe it is alone and checkpoint / delete the WAL under the other. So every
        :mod:`sqlite3` connection this process has on the file is closed for the duration
        (holding the file's lock) and reopened afterwards. The connection is in autocommit
        mode: run ``BEGIN`` / ``COMMIT`` yourself (anything left open is rolled back), and
        :data:`BUMP_GENERATION_SQL` in every transaction that writes.
        """
        import adbc_driver_sqlite.dbapi as adbc_dbapi

        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            siblings = [s for s in list(self._file.stores) if not s._closed]
            for s in siblings:
                s._conn.close()
            try:
                try:
                    conn = adbc_dbapi.connect(self._target or str(self.path),
                                              autocommit=True)
                except adbc_errors() as exc:
                    raise StoreError(
                        f"cannot open store {self.path}: {first_line(exc)}") from None
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
                        cur.execute("PRAGMA synchronous=NORMAL")
                        cur.execute("PRAGMA temp_store=MEMORY")
                        cur.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
                    yield conn
                finally:
                    try:
                        with conn.cursor() as cur:
                            cur.execute("ROLLBACK")
                    except Exception:  # noqa: BLE001 - no transaction open: fine
                        pass
                    conn.close()
            finally:
                for s in siblings:
                    try:
                        s._conn = _connect(s.path, s._target)
                        if s._target is None:
                            _configure(s._conn)
                        else:
                            s._conn.execute("PRAGMA query_only=1")
                    except sqlite3.Error as exc:
                        s._closed = True
                        raise StoreError(f"cannot reopen store {s.path}: {exc}") from None

    # ------------------------------------------------------------------ crawl queries
    # (small indexed queries the crawler's checks use instead of loading the whole store)

    def descendants(self, roots: Iterable[str]) -> list[str]:
        """``roots`` and every node reachable from them along the stored edges, in one
        recursive query (cycle-safe). Ids compare case-insensitively; each comes once,
        roots as given, the others spelled as stored; sorted."""
        rows = self._query(
            "WITH RECURSIVE fam(id) AS (SELECT value FROM json_each(?1) UNION "
            "SELECT e.child FROM edges e JOIN fam ON e.parent = fam.id) SELECT id FROM fam",
            (json.dumps(list(roots), ensure_ascii=False),),
        )
        out: dict[str, str] = {}
        for (node,) in rows:  # (roots come first)
            out.setdefault(node.lower(), node)
        return sorted(out.values())

    def child_counts(self, ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Stored children of each of ``ids`` by relation (``unknown`` when not known),
        self-loops left out; keys spelled as given, only parents with children."""
        out: dict[str, dict[str, int]] = {}
        for parent, relation, n in self._query(
            "SELECT j.value, coalesce(e.relation, 'unknown'), count(*) "
            "FROM (SELECT DISTINCT value FROM json_each(?)) j "
            "JOIN edges e ON e.parent = j.value WHERE e.child <> e.parent "
            "GROUP BY j.value, 2 ORDER BY j.value, 2",
            (json.dumps(list(ids), ensure_ascii=False),),
        ):
            out.setdefault(parent, {})[relation] = n
        return out

    def missing_parents_of(self, children: Iterable[str] | None = None, *,
                           checked: bool | None = None) -> list[str]:
        """Placeholder (``missing``) parents declared by ``children`` (by any stored model
        when ``None``), sorted. ``checked``: only those the Hub said do not exist
        (``True``, see :meth:`mark_checked`), only those never checked (``False``), or
        both (``None``)."""
        cond = {None: "", True: " AND m.fetched_at IS NOT NULL",
                False: " AND m.fetched_at IS NULL"}[checked]
        if children is None:
            rows = self._query(
                "SELECT id FROM models m WHERE status = 'missing'" + cond
                + " AND EXISTS (SELECT 1 FROM edges e WHERE e.parent = m.id) ORDER BY id"
            )
        else:
            rows = self._query(
                "SELECT DISTINCT m.id FROM edges e JOIN models m ON m.id = e.parent "
                "WHERE m.status = 'missing' AND e.child IN (SELECT value FROM json_each(?))"
                + cond + " ORDER BY m.id",
                (json.dumps(list(children), ensure_ascii=False),),
            )
        return [i for (i,) in rows]

    def expected_children_of(self, ids: Iterable[str]) -> dict[str, dict[str, int] | int]:
        """The Hub's ``childrenModelCount`` recorded by :meth:`save_node` for those of
        ``ids`` that have one (by relation, or a total), keyed as stored."""
        out: dict[str, dict[str, int] | int] = {}
        for i, raw in self._query(
            "SELECT id, expected_children FROM frontier WHERE expected_children IS NOT NULL "
            "AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids), ensure_ascii=False),),
        ):
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                out[i] = {str(k): int(v) for k, v in value.items() if isinstance(v, int)}
            elif isinstance(value, int) and not isinstance(value, bool):
                out[i] = value
        return out

    def unlisted_children(self, parent: str, listed: Iterable[str], *,
                          fresh_since: datetime | None = None) -> list[str]:
        """Stored children of ``parent`` whose edge a complete listing ``listed`` would
        drop in :meth:`save_node`: not read from a card, not listed (case-insensitive), and
        not fetched at or after ``fresh_since``; sorted."""
        rows = self._query(
            "SELECT e.child FROM edges e WHERE e.parent = ? "
            "AND coalesce(e.source, '') <> 'card' "
            "AND e.child NOT IN (SELECT value FROM json_each(?)) "
            "AND e.child NOT IN (SELECT id FROM models WHERE fetched_at >= ?) ORDER BY e.child",
            (parent, json.dumps(list(listed), ensure_ascii=False), to_micros(fresh_since)),
        )
        return [c for (c,) in rows]

    # ------------------------------------------------------------------ checked placeholders

    def mark_checked(self, ids: Iterable[str], at: datetime | None = None) -> int:
        """Record that the Hub said the placeholders ``ids`` do not exist: their
        ``fetched_at`` is set (``at``, default now), which tells a parent known to be
        missing from one never checked (``fetched_at`` null). Rows that are not
        placeholders are left alone; returns how many were marked."""
        payload = json.dumps(list(ids), ensure_ascii=False)
        with self._tx() as conn:
            before = conn.total_changes
            conn.execute(
                "UPDATE models SET fetched_at = ? WHERE status = 'missing' "
                "AND id IN (SELECT value FROM json_each(?))",
                (to_micros(at or datetime.now(UTC)), payload),
            )
            return conn.total_changes - before

    # ------------------------------------------------------------------ crawl lock

    _LOCK_KEY = "crawl_lock"

    @contextmanager
    def crawl_lock(self) -> Iterator[None]:
        """Hold the store's crawl lock: one crawl at a time writes to a store, so two
        identical crawls never spend the request quota twice.

        The lock is a row of ``state`` naming the holder (pid, host, start). Taking it
        while another live process (or another crawl of this process) holds it raises
        :class:`~ecograph.errors.StoreError` at once, naming that process; the lock of a
        process that is gone (killed) is taken over.
        """
        token = uuid.uuid4().hex
        mine = {"pid": os.getpid(), "host": _HOST, "started": _now_iso(), "token": token}
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM state WHERE key = ?",
                               (self._LOCK_KEY,)).fetchone()
            holder = _lock_holder(row[0] if row else None)
            if holder is not None:
                pid, host, started = holder.get("pid"), holder.get("host"), holder.get("started")
                where = "" if host == _HOST else f" on {host}"
                raise StoreError(
                    f"{self.path} is in use by another crawl (pid {pid}{where}, started "
                    f"{started}); wait for it to finish or stop it, then run this again")
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (self._LOCK_KEY, json.dumps(mine)),
            )
        _HELD_LOCKS.add(token)
        try:
            yield
        finally:
            _HELD_LOCKS.discard(token)
            if not self._closed:
                with self._tx() as conn:
                    conn.execute("DELETE FROM state WHERE key = ? AND json_extract(value, "
                                 "'$.token') = ?", (self._LOCK_KEY, token))

    def interrupt_runs(self) -> int:
        """Mark the runs this process left ``running`` as ``interrupted`` (after Ctrl-C,
        whatever the moment it came); returns how many."""
        with self._tx() as conn:
            before = conn.total_changes
            conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ? "
                "WHERE status = 'running' AND json_extract(counts, '$.pid') = ? "
                "AND json_extract(counts, '$.host') = ?",
                (_now_iso(), os.getpid(), _HOST),
            )
            return conn.total_changes - before


    # ------------------------------------------------------------------ refresh

    def newest_timestamps(self) -> tuple[datetime | None, datetime | None]:
        """The newest ``last_modified`` of the ``ok`` models and the newest ``fetched_at``
        of all models (``None`` when there is none): where a first refresh starts."""
        (lm, fa), = self._query(
            "SELECT (SELECT max(last_modified) FROM models WHERE status = 'ok'), "
            "(SELECT max(fetched_at) FROM models)")
        return tuple(None if v is None else datetime.fromtimestamp(v / 1e6, UTC)
                     for v in (lm, fa))  # type: ignore[return-value]

    def child_edges(self, children: Iterable[str]) -> set[tuple[str, str]]:
        """The stored (parent, child) edges of ``children``, lower-cased."""
        payload = json.dumps(list(children), ensure_ascii=False)
        return {(p.lower(), c.lower()) for p, c in self._query(
            "SELECT parent, child FROM edges WHERE child IN (SELECT value FROM json_each(?))",
            (payload,))}

    def ok_ids(self, *, after: str | None = None, limit: int | None = None) -> list[str]:
        """Ids of the ``ok`` models, sorted (case-insensitively), after ``after``."""
        sql = "SELECT id FROM models WHERE status = 'ok'"
        params: list[Any] = []
        if after is not None:
            sql += " AND id > ?"
            params.append(after)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [i for (i,) in self._query(sql, params)]


#: Tokens of the crawl locks this process holds.
_HELD_LOCKS: set[str] = set()


def _lock_holder(raw: str | None) -> dict[str, Any] | None:
    """The holder of a crawl lock (its JSON), or ``None`` when the lock is free or stale:
    its process is gone, or it is this process and no crawl of it holds the lock (a pid
    reused after a kill)."""
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    pid = info.get("pid")
    if info.get("host") != _HOST:
        return info  # another machine's crawl: cannot tell, respect it
    if not isinstance(pid, int) or not _pid_alive(pid):
        return None
    if pid == os.getpid() and info.get("token") not in _HELD_LOCKS:
        return None
    return info
