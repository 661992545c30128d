"""The analysis cache: the ``models`` analysis columns and the ``edges`` of a store as
Arrow IPC files beside it, so whole-Hub analysis reads a memory map instead of SQLite.

Layout: a directory ``<store>.ecograph-cache/`` next to the store file holding
``models.arrow`` (:data:`CACHED_MODEL_COLUMNS`) and ``edges.arrow`` (the edge columns),
both exactly as :meth:`ecograph.store.Store.load` returns them (cast, sorted). Each file
carries its :class:`CacheKey` in its schema metadata.

Never stale: the key is the store's identity (a random ``store_id``) and its
``generation``, a counter every write to the store increments in the write's own
transaction. A file whose key differs from the store's current one is ignored and
rewritten on the next analysis load; so is a file that is not a readable Arrow IPC file
of the expected schema (corrupt, truncated, from another cache version). Both files are
checked, so a reader never pairs one generation's models with another's edges.

Never required: writing goes to a temporary file in the cache directory and is renamed
into place (readers see a whole file or none), and any OS error (read-only directory,
disk full) just skips the write. Reading maps the files (``pyarrow.memory_map``): the
frames share the page cache, no copy is made. The checks on reading are structural
(footer, schema, key, buffer sizes), not a checksum: files are only ever replaced whole,
so a torn file cannot appear. The directory can be deleted at any time (about 150 bytes
per model; ``ECOGRAPH_CACHE=0`` turns the cache off).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = [
    "CACHE_VERSION",
    "CACHED_MODEL_COLUMNS",
    "CacheKey",
    "cache_dir",
    "covers",
    "enabled",
    "read",
    "wait",
    "write",
    "write_in_background",
]

#: Version of the file layout; a file of another version is ignored and rewritten.
CACHE_VERSION = 1

#: The ``models`` columns the cache holds (what analysis reads, see
#: :data:`ecograph.metrics.ANALYSIS_COLUMNS`).
CACHED_MODEL_COLUMNS: tuple[str, ...] = (
    "id", "author", "created_at", "downloads", "relation", "status",
)

_SUFFIX = ".ecograph-cache"
_MODELS = "models.arrow"
_EDGES = "edges.arrow"
_OFF = frozenset({"0", "off", "false", "no"})
#: Writes still running in this process, by cache directory.
_WRITING: dict[Path, threading.Thread] = {}
_WRITING_LOCK = threading.Lock()


@dataclass(frozen=True)
class CacheKey:
    """What a cache file was built from: a store (``store_id``) at a ``generation``."""

    store_id: str
    generation: int

    def metadata(self) -> dict[bytes, bytes]:
        """The key as Arrow schema metadata."""
        return {
            b"ecograph.cache_version": str(CACHE_VERSION).encode(),
            b"ecograph.store_id": self.store_id.encode(),
            b"ecograph.generation": str(self.generation).encode(),
        }


def enabled() -> bool:
    """``False`` when the environment variable ``ECOGRAPH_CACHE`` is ``0`` (or ``off``,
    ``false``, ``no``): the store is then always read directly."""
    return os.environ.get("ECOGRAPH_CACHE", "1").strip().lower() not in _OFF


def cache_dir(store_path: str | os.PathLike[str]) -> Path:
    """The cache directory of the store at ``store_path``.

    >>> cache_dir("data/hub.db").as_posix()
    'data/hub.db.ecograph-cache'
    """
    p = Path(store_path)
    return p.with_name(p.name + _SUFFIX)


def covers(columns: Iterable[str]) -> bool:
    """Whether the cache holds every one of the ``models`` ``columns``.

    >>> covers(["id", "downloads"]), covers(["id", "tags"])
    (True, False)
    """
    return set(columns) <= set(CACHED_MODEL_COLUMNS)


def _read_one(path: Path, key: CacheKey, columns: list[str]) -> pl.DataFrame | None:
    import pyarrow as pa  # (imported when used: a crawl never needs it)
    import pyarrow.ipc as ipc

    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    if table.schema.metadata != key.metadata() or table.column_names != columns:
        return None
    table.validate()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def read(
    store_path: str | os.PathLike[str], key: CacheKey, edge_columns: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The cached ``(models, edges)`` of the store at ``store_path`` if both files exist,
    are readable and carry ``key``; else ``None`` (nothing is raised).

    ``models`` has :data:`CACHED_MODEL_COLUMNS`, ``edges`` has ``edge_columns``, in the
    dtypes they were written with.
    """
    import pyarrow as pa

    folder = cache_dir(store_path)
    wait(store_path)
    try:
        models = _read_one(folder / _MODELS, key, list(CACHED_MODEL_COLUMNS))
        if models is None:
            return None
        edges = _read_one(folder / _EDGES, key, edge_columns)
    except (OSError, pa.ArrowException, ValueError, TypeError):
        return None  # absent, unreadable or corrupt: rebuilt by the next write
    if edges is None:
        return None
    return models, edges


def _write_one(folder: Path, name: str, frame: pl.DataFrame, key: CacheKey) -> None:
    import pyarrow.ipc as ipc

    # polars' own string layout (Arrow string views): read back without a copy
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest()).combine_chunks()
    table = table.replace_schema_metadata(key.metadata())
    tmp = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # (mode per umask)
    try:
        with os.fdopen(fd, "wb") as fh, ipc.new_file(fh, table.schema) as writer:
            writer.write_table(table, max_chunksize=max(table.num_rows, 1))
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_orphans(folder: Path) -> None:
    """Delete temporary files left by writers that were killed (their process is gone)."""
    for tmp in folder.glob(".*.tmp"):
        parts = tmp.name.split(".")
        try:
            pid = int(parts[-3])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                tmp.unlink()
        except OSError:
            pass  # alive (another user's process): not ours to remove


def write(
    store_path: str | os.PathLike[str], key: CacheKey,
    models: pl.DataFrame, edges: pl.DataFrame,
) -> bool:
    """Write the cache of the store at ``store_path`` (``models`` with exactly
    :data:`CACHED_MODEL_COLUMNS`); ``True`` when written, ``False`` when the directory
    cannot be written (the cache is optional; nothing is raised for OS errors).

    Each file is written to a temporary name and renamed into place.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> models = pl.DataFrame({c: ["a/b"] for c in CACHED_MODEL_COLUMNS})
    >>> edges = pl.DataFrame({"parent": ["a/b"], "child": ["c/d"]})
    >>> write(folder / "hub.db", CacheKey("x", 3), models, edges)
    True
    >>> read(folder / "hub.db", CacheKey("x", 3), ["parent", "child"])[1].rows()
    [('a/b', 'c/d')]
    >>> read(folder / "hub.db", CacheKey("x", 4), ["parent", "child"]) is None
    True
    """
    if models.columns != list(CACHED_MODEL_COLUMNS):
        raise ValueError(f"the cache holds models columns {CACHED_MODEL_COLUMNS}")
    folder = cache_dir(store_path)
    try:
        folder.mkdir(exist_ok=True)
        _remove_orphans(folder)
        _write_one(folder, _EDGES, edges, key)
        _write_one(folder, _MODELS, models, key)
    except OSError:
        return False
    return True


def write_in_background(
    store_path: str | os.PathLike[str], key: CacheKey,
    models: pl.DataFrame, edges: pl.DataFrame,
) -> None:
    """:func:`write` in a thread, so the caller computes while the files are written
    (the frames are immutable and shared, not copied). The interpreter waits for the
    thread before it exits, and :func:`read` / :func:`wait` wait for it too."""
    store_path = Path(store_path).absolute()  # (the caller may change directory)
    folder = cache_dir(store_path)

    def run() -> None:
        try:
            write(store_path, key, models, edges)
        except Exception:  # noqa: BLE001 - the cache is optional: a failed write is no cache
            pass

    thread = threading.Thread(target=run, name="ecograph-cache-write")
    with _WRITING_LOCK:
        previous = _WRITING.get(folder)
        _WRITING[folder] = thread
    if previous is not None:
        previous.join()
    thread.start()


def wait(store_path: str | os.PathLike[str] | None = None) -> None:
    """Wait for this process's background writes (of one store, or all) to finish."""
    with _WRITING_LOCK:
        if store_path is None:
            threads = list(_WRITING.values())
            _WRITING.clear()
        else:
            thread = _WRITING.pop(cache_dir(Path(store_path).absolute()), None)
            threads = [thread] if thread is not None else []
    for thread in threads:
        thread.join()
