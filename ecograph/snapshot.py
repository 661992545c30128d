"""Reading snapshot files: JSONL (optionally gzipped), one Hub model object per line.

This is the format of the fake Hub, of ``ecograph synth`` and of the bundled fixture.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any

import polars as pl

from .errors import SnapshotError
from .frames import frames_from_parsed
from .records import EdgeSource, parse_model

__all__ = ["iter_snapshot", "read_snapshot", "bundled_snapshot", "open_text", "observed_at"]


def bundled_snapshot() -> Path:
    """Path of the small realistic Hub snapshot shipped with the package."""
    return Path(str(resources.files("ecograph") / "data" / "small_hub.jsonl"))


def observed_at(path: str | os.PathLike[str], *, now: datetime | None = None) -> datetime:
    """When a snapshot file's records were observed: its modification time (UTC, whole
    microseconds), or ``now`` (default: the current time) if the file claims to be newer.

    This is the ``fetched_at`` an import gives every record it reads. The file's mtime,
    not the import's own clock, because the records cannot be newer than the file that
    holds them, and a year-old dump imported today must not pass for today's observation
    (DESIGN §10 dates every import as an observation; the crawl's stale-edge rule compares
    ``fetched_at`` with its own start). A copy that did not keep the mtime gets its copy
    time, which is still no later than the import. Importing the same file twice gives
    the same time, so a re-import changes nothing.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as fh:
    ...     _ = os.utime(fh.name, ns=(0, 1_500_000_000_123_456_789))
    ...     observed_at(fh.name)
    datetime.datetime(2017, 7, 14, 2, 40, 0, 123456, tzinfo=datetime.timezone.utc)
    """
    mtime_ns = Path(path).stat().st_mtime_ns
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=mtime_ns // 1000)
    clock = now if now is not None else datetime.now(UTC)
    return min(stamp, clock)


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a (possibly gzipped) text file, with a clear error when it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise SnapshotError(f"snapshot not found: {p}")
    with p.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(p, "rt", encoding="utf-8")
    return p.open("r", encoding="utf-8")


def iter_snapshot(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield each model object of a snapshot, streaming.

    Blank lines are skipped; a line that is not a JSON object raises
    :class:`~ecograph.errors.SnapshotError` naming the file and line number.
    """
    with open_text(path) as fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SnapshotError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise SnapshotError(f"{path}:{lineno}: expected a JSON object per line")
                yield obj
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise SnapshotError(f"{path}: cannot read snapshot ({exc})") from None


def read_snapshot(path: str | os.PathLike[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a whole snapshot into ``models`` and ``edges`` frames (see :mod:`ecograph.frames`).

    Meant for small and medium snapshots (tests, notebooks); bulk imports of millions of
    models go through the store's streaming importer.
    """
    return frames_from_parsed(parse_model(obj) for obj in iter_snapshot(path))


def parent_references(path: str | os.PathLike[str]) -> pl.DataFrame:
    """The parents each record of a snapshot names in its ``base_model:`` tags, spelled
    as the tags spell them: ``child``, ``parent`` (:meth:`ecograph.store.Store.parent_references`
    for a snapshot).

    :func:`read_snapshot` files edges under a parent's real id; this keeps the spelling,
    for :func:`ecograph.graph.case_variant_parents`.
    """
    pairs = {
        (edge.child, edge.parent)
        for obj in iter_snapshot(path)
        for edge in parse_model(obj).edges
        if edge.source is EdgeSource.TAG  # as the Hub's tag filter sees them
    }
    return pl.DataFrame(sorted(pairs), schema={"child": pl.Utf8, "parent": pl.Utf8},
                        orient="row")
