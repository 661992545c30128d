"""Shared CLI plumbing: error translation, common options, progress bars.

Every numeric option has a range with a sane maximum (:data:`MAX_COUNT` and friends), so a
typo such as ``--top 100000000000000000000`` is a usage error, not a crash. Every command
that writes a file refuses a path that would overwrite its input (:func:`guard_output`)
before any work; the library writes the file atomically (:mod:`ecograph.atomic`).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..atomic import check_output
from ..errors import EcographError

if TYPE_CHECKING:  # the analysis side (polars) loads when a command needs it
    from ..api import Ecosystem

F = TypeVar("F", bound=Callable[..., Any])

#: Largest count an option accepts (models, roots, rows): 50x the Hub's ~2M models.
MAX_COUNT = 100_000_000
#: Largest node budget of a picture and most labels on it.
MAX_NODES = 1_000_000
MAX_LABELS = 10_000
#: Seeds: what numpy's and Python's generators take without surprise.
MAX_SEED = 2**32 - 1


class FiniteFloatRange(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan`` and ``inf`` (click lets
    ``nan`` through every bound)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _debug() -> bool:
    return os.environ.get("ECOGRAPH_DEBUG", "") not in ("", "0", "false")


class EcographGroup(click.Group):
    """A click group that turns library errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except EcographError as exc:
            if _debug():
                raise
            raise _error_line(exc) from None
        except BrokenPipeError:
            # the reader went away (`ecograph ... | head`): stop quietly, like other CLIs
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except KeyboardInterrupt:
            if _debug():
                raise
            click.echo("Error: interrupted; everything collected so far is saved.", err=True)
            ctx.exit(130)
        except OSError as exc:
            if _debug():
                raise
            raise click.ClickException(_oserror_line(exc)) from None
        except Exception as exc:  # noqa: BLE001 - last line of defence, never a traceback
            if _debug():
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (set ECOGRAPH_DEBUG=1 for details)"
            ) from None


def _error_line(exc: EcographError) -> click.ClickException:
    """``Error: <message>`` with the error's exit code (2 for a UsageError, like click's)."""

    class LibraryError(click.ClickException):
        exit_code = exc.exit_code

    return LibraryError(str(exc))


def _oserror_line(exc: OSError) -> str:
    if exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return exc.strerror or str(exc)


def db_option(f: F) -> F:
    """``--db PATH`` (default ``ecograph.db`` in the current directory)."""
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False),
        default="ecograph.db",
        show_default=True,
        envvar="ECOGRAPH_DB",
        help="The SQLite store (env ECOGRAPH_DB).",
    )(f)


def guard_output(output: str | os.PathLike[str] | None, *inputs: str | None) -> None:
    """Refuse (one ``Error:`` line, exit 2) an ``-o``/``--out`` path that would overwrite
    one of ``inputs`` (the ``--db`` store, a ``--snapshot``), its SQLite ``-wal``/``-shm``
    files or its cache: checked before any work (:func:`ecograph.atomic.check_output`)."""
    if output is not None:
        check_output(output, [i for i in inputs if i is not None])


def csv_safe_option(f: F) -> F:
    """``--csv-safe``: guard CSV cells against spreadsheet formulas (off by default)."""
    return click.option(
        "--csv-safe", "csv_safe", is_flag=True,
        help="CSV: prefix cells that start with = + - @ (or a tab / carriage return) with ' "
             "so spreadsheets show them as text instead of running them as formulas. Off "
             "by default: the values stay exact for data pipelines.",
    )(f)


def dpi_option(f: F) -> F:
    """``--dpi N``: resolution of a picture (50-1200, default 200)."""
    return click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200,
                        show_default=True, help="Resolution in dots per inch.")(f)


def size_option(f: F) -> F:
    """``--size column|page|slide``: the house style's size preset of a picture."""
    return click.option(
        "--size", type=click.Choice(["column", "page", "slide"]), default="page",
        show_default=True,
        help="Picture size: column (3.5 in wide), page (7 in wide) or slide (13.33 x 7.5 "
             "in, 16:9); fonts are sized for it. --dpi sets the resolution.")(f)


def output_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """``-o/--output FILE``: the file a command writes (``help`` says what goes in it)."""

    def decorate(f: F) -> F:
        return click.option("-o", "--output", "output", required=required, default=None,
                            type=click.Path(dir_okay=False, writable=True), help=help)(f)

    return decorate


def picture_option(f: F) -> F:
    """``-o/--output FILE`` (required) for a picture: ``.png``, ``.svg`` or ``.pdf``."""
    return output_option("Picture to write: .png, .svg or .pdf.", required=True)(f)


def format_option(choices: Iterable[str], help: str, *,
                  default: str | None = None) -> Callable[[F], F]:
    """``--format NAME`` out of ``choices`` (stored as ``fmt``)."""

    def decorate(f: F) -> F:
        return click.option("--format", "fmt", type=click.Choice(list(choices)),
                            default=default, show_default=default is not None, help=help)(f)

    return decorate


_AS_OF_KEY = "ecograph.as_of"
#: The analysis commands that take ``--as-of`` (those present are given it, see
#: :func:`add_as_of_option`).
AS_OF_COMMANDS = ("stats", "families", "quality", "export", "render", "plot", "report",
                  "lineages", "trends", "migration", "succession", "drift", "compare")


def _remember_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_AS_OF_KEY] = value


def as_of_param() -> click.Option:
    """``--as-of DATE``: analyse the store as it stood then. Not passed to the command:
    :func:`open_ecosystem` reads it from the click context."""
    return click.Option(
        ["--as-of", "as_of"], metavar="DATE", default=None, expose_value=False,
        callback=_remember_as_of,
        help="Analyse the ecosystem as it stood at DATE (YYYY-MM-DD = its midnight, or an "
             "ISO time; UTC) from the store's history.")


def as_of_option(f: F) -> F:
    """Decorator form of :func:`as_of_param`."""
    params = getattr(f, "__click_params__", [])
    params.append(as_of_param())
    f.__click_params__ = params  # type: ignore[attr-defined]
    return f


def add_as_of_option(commands: Iterable[click.Command]) -> None:
    """Give ``--as-of`` to those of ``commands`` named in :data:`AS_OF_COMMANDS` that lack it."""
    for command in commands:
        if command.name in AS_OF_COMMANDS and not any(
                p.name == "as_of" for p in command.params):
            command.params.append(as_of_param())


def open_ecosystem(db: str, snapshot: str | None = None) -> Ecosystem:
    """The :class:`~ecograph.api.Ecosystem` of ``--db`` (a store or a snapshot file), or of
    ``--snapshot`` when given; as it stood at ``--as-of`` when the command was given one."""
    from ..api import Ecosystem, open
    from ..errors import UsageError

    ctx = click.get_current_context(silent=True)
    as_of = ctx.meta.get(_AS_OF_KEY) if ctx is not None else None
    if snapshot is not None:
        if as_of is not None:
            raise UsageError("--as-of reads the history of a store; a snapshot has none")
        return Ecosystem.from_snapshot(snapshot)
    eco = open(db, as_of=as_of)
    if as_of is not None:
        from ..history import clock_skew

        for note in clock_skew(eco.observations()):
            click.echo(f"Note: {note}", err=True)
    return eco


def quiet_option(f: F) -> F:
    """``--quiet/-q``: no progress bars."""
    return click.option("--quiet", "-q", is_flag=True, help="Do not show progress.")(f)


def progress_bar(total: int | None, desc: str, *, quiet: bool, unit: str = "it") -> Any:
    """A tqdm bar on stderr, disabled with ``--quiet`` and when stderr is not a terminal
    (logs, pipes, CI)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=True if quiet else None,  # None: off when stderr is not a TTY
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )
