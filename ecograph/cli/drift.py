"""CLI command: ``drift`` — what forks change (DESIGN §9: licence, gating, task, library).

A thin wrapper over :meth:`ecograph.api.Ecosystem.drift` and
:meth:`~ecograph.api.Ecosystem.changed_members`.

Flat formats (csv, parquet) hold one row per root and transition: the root's counts, then
``rank`` (1 = its most frequent transition), ``from``, ``to`` and ``count``; a root whose
forks changed nothing has one row with those four empty. The counts repeat on each of a
root's rows: read them from the rows with ``rank`` 1 or empty. ``--list`` writes one row
per changed member; in csv its ``path`` is the ids joined with `` > ``.
"""

from __future__ import annotations

from typing import Any

import click

from ..formats import TABLE_FORMATS
from ._common import db_option, format_option, open_ecosystem, output_option
from .analysis import _emit, _num, _snapshot_option, _text_table

#: ``--trait`` choices (:data:`ecograph.drift.TRAITS`, kept literal so the CLI loads light).
TRAITS = ("license", "gated", "pipeline", "library")
#: Most roots in the table (``--format table``); json, csv and parquet hold every root.
TABLE_MAX_ROOTS = 20
#: Most roots whose transitions the table lists.
TABLE_MAX_TRANSITIONS = 8
PATH_SEPARATOR = " > "


def _share(part: int | None, whole: int | None) -> str:
    if not whole or part is None:
        return "-"
    return f"{100 * part / whole:.1f}%"


def drift_table(frame: Any, trait: str, *, note: str = "") -> str:
    """The drift frame as aligned text: the counts of each root, then the top
    transitions of ``trait`` of the first :data:`TABLE_MAX_TRANSITIONS` roots."""
    if frame.height == 0:
        return "No foundations (no model with derivatives) in this store."
    header = ["root", "license known", "changed", "% changed", "relicensed permissive",
              "ungated copies", "gated changed", "pipeline changed", "library changed"]
    recs = frame.to_dicts()
    rows = [
        [r["root"], _num(r["license_known"]), _num(r["license_changed"]),
         _share(r["license_changed"], r["license_known"]), _num(r["relicensed_permissive"]),
         _num(r["ungated_copies"]), _num(r["gated_changed"]), _num(r["pipeline_changed"]),
         _num(r["library_changed"])]
        for r in recs
    ]
    parts = [_text_table(header, rows, right=set(range(1, len(header))))]
    if note:
        parts.append(note)
    for r in recs[:TABLE_MAX_TRANSITIONS]:
        parts.append(f"\nTop {trait} transitions of {r['root']} (from -> to: members):")
        if not r["transitions"]:
            parts.append(f"  none: no member changes its {trait}")
        width = max((len(t["from"]) for t in r["transitions"]), default=0)
        parts += [f"  {t['from'].ljust(width)} -> {t['to']}: {t['count']:,}"
                  for t in r["transitions"]]
    return "\n".join(parts)


def flat_drift(frame: Any) -> Any:
    """One row per root and transition (see the module docstring)."""
    import polars as pl

    ranked = frame.with_columns(
        pl.col("transitions").list.eval(pl.element().struct.with_fields(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank")))
    ).explode("transitions", empty_as_null=True, keep_nulls=True)
    counts = [c for c in frame.columns if c != "transitions"]
    return ranked.select(
        *counts,
        *(pl.col("transitions").struct.field(f).alias(f) for f in ("rank", "from", "to",
                                                                   "count")),
    )


def members_table(frame: Any, root: str, trait: str) -> str:
    """The changed members as aligned text, each with its path from the root."""
    if frame.height == 0:
        return f"No member of the family of {root} changes its {trait}."
    rows = [[str(r["depth"]), r["id"], r["from"], r["to"], PATH_SEPARATOR.join(r["path"])]
            for r in frame.iter_rows(named=True)]
    head = f"{frame.height:,} members of the family of {root} change their {trait}:\n"
    return head + _text_table(["depth", "member", "from", "to", "path from the root"], rows,
                              right={0})


def _write_frame(frame: Any, flat: Any, fmt: str, output: str | None, table: str) -> None:
    if fmt == "table":
        _emit(table, output)
    elif fmt == "json":
        text = frame.write_json()
        if frame.height <= 1000:
            import json

            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        _emit(text, output)
    elif fmt == "csv":
        text = flat.write_csv()
        if output is None:
            click.echo(text, nl=False)
        else:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
    else:  # parquet
        if output is None:
            raise click.UsageError("--format parquet needs -o FILE")
        flat.write_parquet(output)


@click.command("drift")
@click.argument("roots", nargs=-1)
@db_option
@_snapshot_option
@click.option("--all", "all_", is_flag=True, help="Every foundation (sorted by id).")
@click.option("--trait", type=click.Choice(TRAITS), default="license", show_default=True,
              help="The trait whose transitions (or, with --list, changes) are shown.")
@click.option("--list", "list_", is_flag=True,
              help="List the members of ROOT's family that change the trait, each with "
                   "its path from the root.")
@format_option(TABLE_FORMATS, "Output format.", default="table")
@output_option("Write to this file instead of stdout (required for parquet).")
def drift_command(roots: tuple[str, ...], db: str, snapshot: str | None, all_: bool,
                  trait: str, list_: bool, fmt: str, output: str | None) -> None:
    """What the forks of each ROOT changed: licence, gating, task (pipeline) and library.

    A member changes a trait when its value is known and differs from the value of every
    direct parent whose value is known. Per root: license_known, license_changed,
    relicensed_permissive (from a restricted/custom or non-commercial licence to a
    permissive one), ungated_copies (members with gated false whose foundation is gated),
    the top 10 transitions of --trait (from -> to, count) and the change counts of gated,
    pipeline and library. csv and parquet hold one row per root and transition.

    \b
    Examples:
      ecograph drift meta-llama/Llama-3.1-8B --db hub.db
      ecograph drift meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --trait library --format json
      ecograph drift --all --db hub.db --format parquet -o drift.parquet
      ecograph drift meta-llama/Llama-3.1-8B --list --db hub.db
    """
    if roots and all_:
        raise click.UsageError("give ROOTs or --all, not both")
    if not roots and not all_:
        raise click.UsageError("give at least one ROOT, or --all")
    if list_ and len(roots) != 1:
        raise click.UsageError("--list takes exactly one ROOT")
    eco = open_ecosystem(db, snapshot)
    if list_:
        root = eco.resolve(roots[0])
        members = eco.changed_members(root, trait)
        table = members_table(members, root, trait) if fmt == "table" else ""
        if fmt == "csv":
            import polars as pl

            flat = members.with_columns(pl.col("path").list.join(PATH_SEPARATOR))
        else:
            flat = members
        _write_frame(members, flat, fmt, output, table)
        return
    frame = eco.drift(None if all_ else list(roots), trait=trait)
    table = ""
    if fmt == "table":
        shown, note = frame, ""
        if all_:
            shown = frame.sort(["license_changed", "root"], descending=[True, False])
        if shown.height > TABLE_MAX_ROOTS:
            note = (f"(showing {TABLE_MAX_ROOTS} of {frame.height:,} roots, most licence "
                    "changes first; use --format json, csv or parquet for all)")
            shown = shown.head(TABLE_MAX_ROOTS)
        table = drift_table(shown, trait, note=note)
    _write_frame(frame, flat_drift(frame) if fmt in ("csv", "parquet") else frame, fmt,
                 output, table)


COMMANDS: list[click.Command] = [drift_command]
