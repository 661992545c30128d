"""Shared CLI plumbing: error translation, common options, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import EcographError

F = TypeVar("F", bound=Callable[..., Any])


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
            raise click.ClickException(str(exc)) from None
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


def _oserror_line(exc: OSError) -> str:
    if exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc)


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
