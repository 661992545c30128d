"""CLI commands: history — ``changes`` (what changed since an observation)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from ..atomic import atomic_write
from ..escape import csv_safe_text
from ._common import (
    MAX_COUNT,
    csv_safe_option,
    db_option,
    format_option,
    guard_output,
    open_ecosystem,
    output_option,
)

_CSV_COLUMNS = ("kind", "root", "id", "relation", "author", "created_at", "before", "after",
                "change")


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _table(rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    right = right or set()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                             for i, c in enumerate(r)).rstrip() for r in rows]


def changes_text(out: dict[str, Any]) -> str:
    """The weekly digest: new derivatives grouped per family, then deleted models, new
    foundations and the download movers."""
    lines = [f"Changes from {out['since']} to {out['until']}"]
    by_root: dict[str, list[dict[str, Any]]] = {}
    for d in out["new_derivatives"]:
        by_root.setdefault(d["root"], []).append(d)
    if not by_root:
        lines += ["", "No new derivatives."]
    for root, items in by_root.items():
        noun = "derivative" if len(items) == 1 else "derivatives"
        lines += ["", f"{root}: {len(items):,} new {noun}"]
        lines += _table([[d["id"], _cell(d["relation"]), _cell(d["author"]),
                          _cell(d["created_at"])[:10]] for d in items])
    for key, title, cols in (("deleted", "Deleted", ("id", "relation", "author")),
                             ("new_foundations", "New foundations",
                              ("id", "author", "created_at"))):
        items = out[key]
        lines += ["", f"{title} ({len(items):,})"]
        if items:
            lines += _table([[_cell(d[c])[:10] if c == "created_at" else _cell(d[c])
                              for c in cols] for d in items])
    movers = out["movers"]
    lines += ["", f"Download movers ({len(movers):,})"]
    if movers:
        rows = [["id", "before", "after", "change"]] + [
            [m["id"], _cell(m["before"]), _cell(m["after"]),
             f"{m['change']:+,}"] for m in movers]
        lines += _table(rows, {1, 2, 3})
    return "\n".join(lines)


def changes_csv(out: dict[str, Any], *, safe: bool = False) -> str:
    """One row per item: ``kind`` (new_derivative, deleted, new_foundation, mover) and the
    item's fields (empty where a kind has none)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for key, kind in (("new_derivatives", "new_derivative"), ("deleted", "deleted"),
                      ("new_foundations", "new_foundation"), ("movers", "mover")):
        for item in out[key]:
            row = {k: item.get(k) for k in _CSV_COLUMNS}
            row["kind"] = kind
            if safe:
                row = {k: csv_safe_text(v) if isinstance(v, str) else v
                       for k, v in row.items()}
            writer.writerow(row)
    return buf.getvalue()


@click.command("changes")
@click.argument("roots", nargs=-1)
@click.option("--since", required=True, metavar="DATE|RUN",
              help="The earlier observation: a date (YYYY-MM-DD = its midnight, UTC), an ISO "
                   "time, or a run id (see `ecograph info`).")
@db_option
@click.option("--top", type=click.IntRange(min=1, max=MAX_COUNT), default=10,
              show_default=True, help="How many download movers to list.")
@format_option(("table", "json", "csv"), "Output format.", default="table")
@output_option("Write to this file instead of stdout (parent directories are created).")
@csv_safe_option
def changes_command(roots: tuple[str, ...], since: str, db: str, top: int, fmt: str,
                    output: str | None, csv_safe: bool) -> None:
    """What changed since an observation: new derivatives per family (with relation and
    author), deleted models, new foundations and the biggest download movers between
    --since and the latest observation, for the families of ROOTS (default: every
    foundation). The weekly digest of a publisher.

    \b
    Examples:
      ecograph changes --since 2025-06-01 meta-llama/Llama-3.1-8B --db hub.db
      ecograph changes --since 3 --db hub.db --format json -o week.json
    """
    if csv_safe and fmt != "csv":
        raise click.UsageError("--csv-safe applies to --format csv only")
    guard_output(output, db)
    out = open_ecosystem(db).changes(since, list(roots) or None, top=top)
    for warning in out.pop("warnings", []):
        click.echo(f"Note: {warning}", err=True)
    if fmt == "json":
        text = json.dumps(out, indent=2, ensure_ascii=False)
    elif fmt == "csv":
        text = changes_csv(out, safe=csv_safe).rstrip("\n")
    else:
        text = changes_text(out)
    if output is None:
        click.echo(text)
    else:
        with atomic_write(output) as fh:
            fh.write(text + "\n")


COMMANDS = [changes_command]
