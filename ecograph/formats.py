"""File formats by suffix: the one rule every output (and the snapshot reader) uses (pure).

:func:`format_for` tells a file's format from its suffix, case-insensitively; a path
without a suffix gets the caller's documented default, a suffix that names no format is a
:class:`~ecograph.errors.UsageError` with a one-line message. The tables below are the
only place the suffixes are spelled.

This module imports nothing heavy, so the command line can use it before any work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import UsageError

__all__ = [
    "EXPORT_FORMATS",
    "PICTURE_FORMATS",
    "RENDER_FORMATS",
    "TABLE_FORMATS",
    "SNAPSHOT_SUFFIXES",
    "format_for",
    "is_snapshot",
]

#: ``ecograph export`` / :meth:`ecograph.api.Family.export`: format -> file suffix.
EXPORT_FORMATS: dict[str, str] = {
    "graphml": ".graphml",
    "gexf": ".gexf",
    "json": ".json",
    "csv": ".csv",
    "parquet": ".parquet",
    "dot": ".dot",
}

#: Pictures (fork trees, plots, report images): format -> file suffix.
PICTURE_FORMATS: dict[str, str] = {"png": ".png", "svg": ".svg", "pdf": ".pdf"}

#: ``ecograph render`` / :meth:`ecograph.api.Family.render`: the pictures, and ``html``
#: (one self-contained page with the interactive tree, :mod:`ecograph.html_tree`).
RENDER_FORMATS: dict[str, str] = {**PICTURE_FORMATS, "html": ".html"}

#: Analysis tables (``stats``, ``families``, ``quality``): chosen with ``--format``
#: (default ``table``), whatever the file is called.
TABLE_FORMATS: tuple[str, ...] = ("table", "json", "csv", "parquet")

#: Snapshot files (one Hub model object per line) that are read instead of a store.
SNAPSHOT_SUFFIXES: tuple[str, ...] = (".jsonl", ".jsonl.gz", ".json.gz")


def format_for(
    path: str | os.PathLike[str],
    formats: Mapping[str, str] = EXPORT_FORMATS,
    *,
    default: str | None = None,
) -> str:
    """The format of ``path`` from its suffix (case-insensitive), out of ``formats``.

    Parameters
    ----------
    path
        The file to write.
    formats
        Format name -> suffix (with its dot), e.g. :data:`EXPORT_FORMATS`.
    default
        The format of a path without a suffix; ``None``: such a path is an error.

    Raises
    ------
    UsageError
        If the suffix names none of ``formats`` (or there is none and no ``default``).

    Examples
    --------
    >>> format_for("out/llama.GraphML")
    'graphml'
    >>> format_for("tree", PICTURE_FORMATS, default="png")
    'png'
    >>> format_for("tree.gif", PICTURE_FORMATS)
    Traceback (most recent call last):
    ...
    ecograph.errors.UsageError: cannot tell the format from 'tree.gif': use .png, .svg or .pdf
    """
    suffix = Path(path).suffix.lower()
    if not suffix and default is not None:
        return default
    for name, known in formats.items():
        if suffix == known:
            return name
    raise UsageError(f"cannot tell the format from {os.fspath(path)!r}: use {_either(formats)}")


def _either(formats: Mapping[str, str]) -> str:
    """``.png, .svg or .pdf``."""
    suffixes = list(formats.values())
    return suffixes[0] if len(suffixes) == 1 else ", ".join(suffixes[:-1]) + " or " + suffixes[-1]


def is_snapshot(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a snapshot file (see :data:`SNAPSHOT_SUFFIXES`).

    >>> is_snapshot("hub.JSONL.gz"), is_snapshot("hub.db")
    (True, False)
    """
    return Path(path).name.lower().endswith(SNAPSHOT_SUFFIXES)
