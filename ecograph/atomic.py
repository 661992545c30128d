"""How every output file is written: atomically, never over an input.

An export, a picture or a report either appears complete or not at all: each file is
written to a temporary file in the same directory (``.ecograph-tmp-<random>-<name>``)
and moved over the target with :func:`os.replace` only once it is complete and flushed
to disk. A failure mid-write (disk full, an exception, Ctrl-C) removes the temporary file
and leaves the previous file untouched; only ``kill -9`` or a power cut can leave a
temporary file behind (named so that it is easy to spot), never a truncated target.
Parent directories are created as needed.

:func:`check_output` refuses a target that is, or belongs to, a file being read: the store
(and SQLite's ``-wal`` / ``-shm`` / ``-journal`` files beside it, and anything named
``<store>.ecograph-*``, such as its cache) or a snapshot.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import UsageError
from .formats import is_snapshot

__all__ = ["TEMP_PREFIX", "atomic_paths", "atomic_write", "check_output", "protected_paths"]

#: Temporary files start with this prefix (hidden; the target's name follows, so writers
#: that look at the suffix, such as ``.jsonl.gz``, still see it).
TEMP_PREFIX = ".ecograph-tmp-"


def _target(path: str | os.PathLike[str]) -> Path:
    """The file really written: a symlink is followed, so the link stays a link."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _reserve(target: Path) -> Path:
    """Create an empty temporary file beside ``target`` (umask permissions, or the
    target's own when it exists) and return its path."""
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o666
    with contextlib.suppress(OSError):
        mode = target.stat().st_mode & 0o7777
    while True:
        tmp = target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}-{target.name}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        os.close(fd)
        return tmp


def _sync(path: Path) -> None:
    """Flush ``path``'s data to disk, so a rename never publishes an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Temporary paths to write ``paths`` through; moved over them together on success.

    For writers that take a file name (polars, matplotlib). Several paths (a node and an
    edge table) are only published when every one of them was written; on any exception
    (``KeyboardInterrupt`` included) all the temporary files are removed and the targets
    keep their previous content.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_paths(folder / "a.txt", folder / "b.txt") as (a, b):
    ...     _ = a.write_text("A"), b.write_text("B")
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt', 'b.txt']
    >>> try:
    ...     with atomic_paths(folder / "a.txt") as (a,):
    ...         _ = a.write_text("half")
    ...         raise OSError("disk full")
    ... except OSError:
    ...     pass
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('A', ['a.txt', 'b.txt'])
    """
    targets = [_target(p) for p in paths]
    temps: list[Path] = []
    try:
        for target in targets:
            temps.append(_reserve(target))
        yield list(temps)
        for tmp in temps:
            _sync(tmp)
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except OSError as exc:
        # name the file the user asked for, not a temporary one (or none: polars,
        # matplotlib and a full disk often say only "No space left on device")
        named = {str(tmp): k for k, tmp in enumerate(temps)}
        if exc.filename is None or str(exc.filename) in named:
            k = named.get(str(exc.filename), 0)
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(paths[k])) from exc
        raise
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", *,
                 encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file for ``path`` (``mode`` ``"w"`` or ``"wb"``); it replaces
    ``path`` when the block ends without an exception, else it is removed.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "deep" / "out.txt"
    >>> with atomic_write(target) as fh:
    ...     _ = fh.write("hello")
    >>> target.read_text()
    'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    with atomic_paths(path) as (tmp,):
        if mode == "wb":
            with tmp.open("wb") as fh:
                yield fh
        else:
            with tmp.open("w", encoding=encoding, newline="") as fh:
                yield fh


def protected_paths(*sources: str | os.PathLike[str] | None) -> tuple[Path, ...]:
    """The resolved paths of the files being read (``None`` entries skipped)."""
    return tuple(Path(os.path.realpath(s)) for s in sources if s is not None)


def _belongs_to(target: Path, source: Path) -> bool:
    """``target`` is ``source``, a SQLite sibling (``source-wal``, ``-shm``,
    ``-journal``...), an ecograph sibling (``source.ecograph-cache``...) or inside one."""
    for candidate in (target, *target.parents):
        if candidate.parent != source.parent:
            continue
        name, own = candidate.name, source.name
        if name == own or name.startswith(own + "-") or name.startswith(own + ".ecograph-"):
            return True
    return False


def check_output(path: str | os.PathLike[str],
                 protected: Iterable[str | os.PathLike[str]]) -> Path:
    """Refuse to write ``path`` when it resolves to (or belongs to) a protected input.

    ``protected`` are the store or snapshot being read (see :func:`protected_paths`).
    Symlinks, ``..`` and hard links are seen through. Returns ``path`` as a Path.

    Raises
    ------
    UsageError
        If writing ``path`` would overwrite the store, its SQLite files or cache, or the
        snapshot being read.

    Examples
    --------
    >>> check_output("out/llama.json", ["hub.db"])
    PosixPath('out/llama.json')
    >>> check_output("a.db-wal", ["a.db"])
    Traceback (most recent call last):
    ...
    ecograph.errors.UsageError: refusing to write 'a.db-wal': it would overwrite the store a.db
    """
    p = Path(path)
    target = Path(os.path.realpath(p))
    for source in protected:
        src = Path(os.path.realpath(source))
        same = _belongs_to(target, src)
        if not same and target.exists() and src.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(target, src)  # hard links, case-folding disks
        if same:
            shown = os.path.relpath(src) if not Path(source).is_absolute() else str(source)
            kind = "snapshot" if is_snapshot(src) else "store"
            raise UsageError(
                f"refusing to write {os.fspath(path)!r}: it would overwrite the {kind} {shown}"
            )
    return p
