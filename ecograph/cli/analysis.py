"""CLI commands: analysis — ``stats``, ``families``, ``quality``.

Thin wrappers over :mod:`ecograph.api`; heavy modules are imported inside the commands.
``-o FILE`` is written atomically (parent directories created, never over the store).
"""

from __future__ import annotations

from typing import Any

import click

from ..atomic import atomic_paths, atomic_write
from ..formats import TABLE_FORMATS
from ._common import (
    MAX_COUNT,
    csv_safe_option,
    db_option,
    format_option,
    guard_output,
    open_ecosystem,
    output_option,
)

FORMATS = TABLE_FORMATS
#: Most roots shown side by side in ``stats --format table``.
TABLE_MAX_ROOTS = 8


def _snapshot_option(f: Any) -> Any:
    return click.option(
        "--snapshot",
        type=click.Path(dir_okay=False),
        default=None,
        help="Read a JSONL(.gz) snapshot instead of the store.",
    )(f)


def _format_options(f: Any) -> Any:
    f = csv_safe_option(f)
    f = output_option("Write to this file instead of stdout (required for parquet; "
                      "parent directories are created).")(f)
    return format_option(FORMATS, "Output format.", default="table")(f)


# --------------------------------------------------------------------------- formatting


def _num(value: Any, kind: str = "") -> str:
    """A readable cell: thousands separators, shares as percentages, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if kind == "share":
            return f"{100 * value:.1f}%"
        if kind == "ratio":
            return f"{value:,.2f}x"
        return f"{value:,.2f}"
    return str(value)


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _text_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


_SHARES = {"leaf_share", "community_share", "community_download_share"}


def _stats_rows(recs: list[dict[str, Any]]) -> list[list[str]]:
    from ..metrics import METRIC_COLUMNS, RELATION_KEYS

    rows: list[list[str]] = []

    def add(label: str, values: list[str]) -> None:
        rows.append([label, *values])

    for key in (c for c in METRIC_COLUMNS if c not in ("root", "monthly")):
        if key in ("by_relation", "direct_by_relation"):
            for rel in RELATION_KEYS:
                add(f"  {rel}", [_num(r[key][rel]) for r in recs])
            continue
        if key in ("first_by_relation_days", "by_relation_30d"):
            # response times: a line per relation, '-' when none (or no root date)
            rows.append([key, *[""] * len(recs)])
            for rel in RELATION_KEYS:
                add(f"  {rel}", [_num((r[key] or {}).get(rel)) for r in recs])
            continue
        if key == "depth_counts":
            vals = []
            for r in recs:
                dc = r[key]
                s = ", ".join(f"{c:,}" for c in dc[:6]) + (", …" if len(dc) > 6 else "")
                vals.append(s or "-")
            add("depth_counts (gen 1..)", vals)
            continue
        if key == "top_authors":
            vals = [
                _clip(", ".join(f"{t['author']} ({t['count']:,})" for t in r[key][:3]) or "-")
                for r in recs
            ]
            add("top_authors", vals)
            continue
        kind = "share" if key in _SHARES else "ratio" if key == "downloads_ratio" else ""
        if key == "author_hhi":
            add(key, ["-" if r[key] is None else f"{r[key]:.3f}" for r in recs])
            continue
        add(key, [_num(r[key], kind) for r in recs])
        if key == "size":
            rows.append(["by_relation", *[""] * len(recs)])
        if key == "direct_children":
            rows.append(["direct_by_relation", *[""] * len(recs)])
    return rows


def _stats_table(stats: Any) -> str:
    from ..metrics import METRIC_COLUMNS, to_records

    recs = to_records(stats, METRIC_COLUMNS)
    header = ["metric", *[r["root"] for r in recs]]
    return _text_table(header, _stats_rows(recs), right=set(range(1, len(header))))


def _flat_frame(stats: Any, keys: tuple[str, ...]) -> Any:
    """``stats[keys]`` for CSV: structs spread into ``a.b`` columns, lists as JSON text."""
    import polars as pl

    cols: list[pl.Expr] = []
    for k in keys:
        dtype = stats.schema[k]
        if isinstance(dtype, pl.Struct):
            cols += [pl.col(k).struct.field(f.name).alias(f"{k}.{f.name}") for f in dtype.fields]
        elif isinstance(dtype, pl.List):
            # json-encode {"k": [...]} and keep the value: the list as JSON text
            wrapped = pl.struct(pl.col(k)).struct.json_encode()
            cols.append(pl.when(pl.col(k).is_not_null())
                        .then(wrapped.str.slice(len(k) + 4).str.strip_suffix("}"))
                        .alias(k))
        else:
            cols.append(pl.col(k).fill_nan(None) if dtype.is_float() else pl.col(k))
    return stats.select(cols)


def _emit(text: str, output: str | None, *, nl: bool = True) -> None:
    if output is None:
        click.echo(text, nl=nl)
    else:
        with atomic_write(output) as fh:
            fh.write(text + ("\n" if nl else ""))


def _write(frame: Any, fmt: str, output: str | None, *, table: str, json_keys: Any,
           csv_safe: bool = False) -> None:
    """Write ``frame`` in ``fmt``; ``table`` is the text for the table format."""

    from ..metrics import to_json

    if fmt == "table":
        _emit(table, output)
    elif fmt == "json":
        # pretty for a few rows; compact (and fast) for every foundation of a big hub
        _emit(to_json(frame, json_keys, indent=2 if frame.height <= 1000 else None), output)
    elif fmt == "csv":
        from ..escape import csv_safe_frame

        flat = _flat_frame(frame, json_keys)
        if csv_safe:
            flat = csv_safe_frame(flat)
        _emit(flat.write_csv() if flat.width else "", output, nl=False)
    else:  # parquet
        if output is None:
            raise click.UsageError("--format parquet needs -o FILE")
        with atomic_paths(output) as (tmp,):
            frame.write_parquet(tmp)


def _check_args(fmt: str, output: str | None, csv_safe: bool, db: str,
                snapshot: str | None) -> None:
    """Usage errors before any work: parquet to stdout, ``--csv-safe`` without CSV, an
    output that would overwrite the store or snapshot."""
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    if csv_safe and fmt != "csv":
        raise click.UsageError("--csv-safe applies to --format csv only")
    guard_output(output, db, snapshot)


# --------------------------------------------------------------------------- commands


@click.command("stats")
@click.argument("roots", nargs=-1)
@db_option
@_snapshot_option
@click.option("--all", "all_", is_flag=True, help="Every foundation (largest family first).")
@_format_options
def stats_command(
    roots: tuple[str, ...],
    db: str,
    snapshot: str | None,
    all_: bool,
    fmt: str,
    output: str | None,
    csv_safe: bool,
) -> None:
    """Family metrics (DESIGN §5) of one or more roots, side by side.

    ROOT is any model id (case-insensitive; URLs accepted). Metrics: size and relation
    mix, direct children, depth, longest chain, fan-out, community (authors), reach
    (downloads), adoption (days to first derivative, 30/90-day counts) and bridges.

    \b
    Examples:
      ecograph stats meta-llama/Llama-3.1-8B --db llama.db
      ecograph stats Qwen/Qwen2.5-7B google/gemma-2-9b --format json
      ecograph stats --all --format parquet -o stats.parquet
    """
    from ..metrics import JSON_KEYS

    if not roots and not all_:
        raise click.UsageError("give at least one ROOT, or --all")
    _check_args(fmt, output, csv_safe, db, snapshot)
    stats = open_ecosystem(db, snapshot).stats(roots, with_foundations=all_)
    table = ""
    if fmt == "table":
        shown = stats.head(TABLE_MAX_ROOTS)
        table = (_stats_table(shown) if shown.height
                 else "No foundations (no model with derivatives) in this store.")
        if stats.height > TABLE_MAX_ROOTS:
            click.echo(
                f"showing {TABLE_MAX_ROOTS} of {stats.height:,} roots; use --format "
                "json, csv or parquet for all",
                err=True,
            )
    _write(stats, fmt, output, table=table, json_keys=JSON_KEYS, csv_safe=csv_safe)


def families_text(frame: Any) -> str:
    """The families table as aligned text (one row per foundation, headline metrics)."""
    from ..metrics import HEADLINE_COLUMNS, to_records

    recs = to_records(frame, HEADLINE_COLUMNS)
    header = ["root", "size", "direct", "depth", "chain", "authors", "community",
              "downloads", "root dl", "bridges"]
    rows = [
        [
            r["root"],
            _num(r["size"]),
            _num(r["direct_children"]),
            _num(r["max_depth"]),
            _num(r["longest_chain"]),
            _num(r["n_authors"]),
            _num(r["community_share"], "share"),
            _num(r["family_downloads"]),
            _num(r["root_downloads"]),
            _num(r["bridges"]),
        ]
        for r in recs
    ]
    if not rows:
        return "No foundations (no model with derivatives) in this store."
    return _text_table(header, rows, right=set(range(1, len(header))))


@click.command("families")
@db_option
@_snapshot_option
@click.option("--top", type=click.IntRange(min=1, max=MAX_COUNT), default=None,
              help="Only the N largest.")
@_format_options
def families_command(
    db: str, snapshot: str | None, top: int | None, fmt: str, output: str | None,
    csv_safe: bool,
) -> None:
    """Foundations by family size, with their headline metrics.

    A foundation is a model with no parents and at least one derivative.

    \b
    Examples:
      ecograph families --db hub.db --top 20
      ecograph families --db hub.db --format csv -o families.csv
      ecograph families --db hub.db --format csv --csv-safe -o for-excel.csv
    """
    from ..metrics import HEADLINE_COLUMNS

    _check_args(fmt, output, csv_safe, db, snapshot)
    frame = open_ecosystem(db, snapshot).foundations(top)
    table = families_text(frame) if fmt == "table" else ""
    _write(frame, fmt, output, table=table, json_keys=HEADLINE_COLUMNS, csv_safe=csv_safe)


@click.command("quality")
@db_option
@_snapshot_option
@_format_options
def quality_command(db: str, snapshot: str | None, fmt: str, output: str | None,
                    csv_safe: bool) -> None:
    """Data-quality problems: missing parents, self-loops, cycles, relation conflicts,
    case-variant parent references, licence conflicts.

    A case-variant parent (case_variant_parent) is a parent that children's tags spell in
    another case than its repo id: a crawl down from the real id on a case-sensitive Hub
    misses those children (a scan finds them). A relation conflict is a ``merge`` with one
    parent, or a finetune / quantized / adapter with several parents. A licence conflict
    (license_conflict) is a card and ``license:`` tags that declare different licences
    (after normalisation).

    \b
    Examples:
      ecograph quality --db hub.db
      ecograph quality --db hub.db --format json
    """
    from collections import Counter

    _check_args(fmt, output, csv_safe, db, snapshot)
    frame = open_ecosystem(db, snapshot).quality()
    table = ""
    if fmt == "table":
        if frame.height == 0:
            table = "No data-quality problems found."
        else:
            counts = Counter(frame.get_column("kind").to_list())
            summary = ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()))
            rows = [list(r) for r in frame.iter_rows()]
            table = (
                f"{frame.height:,} problem{'s' * (frame.height != 1)}: {summary}\n\n"
                + _text_table(["kind", "model", "detail"], rows, right=set())
            )
    _write(frame, fmt, output, table=table, json_keys=tuple(frame.columns),
           csv_safe=csv_safe)


COMMANDS: list[click.Command] = [stats_command, families_command, quality_command]
