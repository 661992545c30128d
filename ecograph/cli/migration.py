"""CLI commands: how fast the community moves on — ``migration`` and ``succession``
(DESIGN §8); the drawing of ``plot migration|retention|succession``.

Thin wrappers over :mod:`ecograph.api`; heavy modules are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import db_option, format_option, guard_output, open_ecosystem, output_option
from .analysis import FORMATS, _emit, _num, _text_table, _write
from .dynamics import BY_CHOICES, PERIOD_CHOICES, _check, _period_word, lineages_option

COMMANDS: list[click.Command] = []

#: The JSON / CSV / Parquet columns of ``ecograph migration``: retention, then flows.
RETENTION_KEYS = ("period", "group", "authors", "returning", "retention")
FLOW_KEYS = ("period", "from_group", "to_group", "authors")
#: The JSON / CSV / Parquet columns of ``ecograph succession``.
SUCCESSION_KEYS = ("vendor", "old", "new", "old_released", "new_released", "gap_days",
                   "crossover", "half_life_days", "migrated_90d", "defected_90d")


def table_files(output: str, fmt: str) -> tuple[Path, Path]:
    """``out/m.csv`` -> (``out/m_retention.csv``, ``out/m_flows.csv``): the two tables of
    ``migration --format csv|parquet``.

    >>> [p.name for p in table_files("x/m.csv", "csv")]
    ['m_retention.csv', 'm_flows.csv']
    >>> [p.name for p in table_files("x/m", "parquet")]
    ['m_retention.parquet', 'm_flows.parquet']
    """
    p = Path(output)
    ext = f".{fmt}"
    stem = p.stem if p.suffix.lower() == ext else p.name
    return p.with_name(f"{stem}_retention{ext}"), p.with_name(f"{stem}_flows{ext}")


def migration_text(result: Any, by: str, period: str, *, destinations: int = 3) -> str:
    """The ``migration`` table: one row per (period pair, group) with its authors,
    returning authors, retention and the ``destinations`` largest flows, then the
    headline sentences (:meth:`~ecograph.migration.Migration.headlines`)."""
    import polars as pl

    word = _period_word(period)
    top_flows = (
        result.flows.sort(["period", "from_group", "authors", "to_group"],
                          descending=[False, False, True, False])
        .group_by(["period", "from_group"], maintain_order=True)
        .head(destinations)
        .group_by(["period", "from_group"], maintain_order=True)
        .agg(pl.format("{} {}", "to_group", "authors").str.join(", ").alias("moved"))
        .rename({"from_group": "group"})
    )
    frame = result.retention.join(top_flows, on=["period", "group"], how="left")
    rows, previous = [], None
    for r in frame.iter_rows(named=True):
        rows.append([
            r["period"] if r["period"] != previous else "",
            r["group"],
            f"{r['authors']:,}",
            f"{r['returning']:,}",
            "-" if r["retention"] is None else _num(r["retention"], "share"),
            r["moved"] or "-",
        ])
        previous = r["period"]
    headlines = result.headlines()
    return "\n".join([
        f"Where builders went next, {word} t to {word} t+1, by {by}: authors = built on the "
        f"group in t and published in t+1;",
        "returning = built on it again (retention = returning / authors); moved to = the "
        "largest flows (authors).",
        "",
        _text_table([f"{word} t", by, "authors", "returning", "retention",
                     "moved to (authors)"], rows, right={2, 3, 4}),
        "",
        *(headlines or [f"No {by} has 30 authors who published in two consecutive "
                        f"{word}s: no headline."]),
    ])


@click.command("migration")
@db_option
@click.option("--by", default="vendor", show_default=True, metavar="|".join(BY_CHOICES),
              help="Group derivatives by the vendor, series, root or size class of the "
                   "foundations they descend from.")
@click.option("--period", default="quarter", show_default=True,
              metavar="|".join(PERIOD_CHOICES),
              help="Calendar months (2024-07) or quarters (2024-Q3), UTC.")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Keep the N groups with the most authors; fold the rest into 'other' "
                   "(before counting: moving between two folded groups is returning).")
@click.option("--since", default=None, metavar="DATE",
              help="Only derivatives created on or after DATE (ISO, e.g. 2024-01-01).")
@click.option("--until", default=None, metavar="DATE",
              help="Only derivatives created on or before DATE (whole day).")
@lineages_option
@output_option("Write to this file instead of stdout (csv and parquet: two files, "
               "FILE_retention.EXT and FILE_flows.EXT; -o required).")
@format_option(FORMATS, "Output format.", default="table")
def migration_command(db: str, by: str, period: str, top: int | None, since: str | None,
                      until: str | None, lineages: str | None, output: str | None,
                      fmt: str) -> None:
    """Where builders went next: author retention and flows between consecutive periods,
    by the vendor, series, root or size class they built on (DESIGN §8).

    For each period t and group G: authors = those who built on G in t and published any
    derivative in t+1; returning = those who built on G again; retention = returning /
    authors. A flow G → H counts the authors who left G for H (an author who leaves for
    two groups counts in both). The publishers of G's foundations are not counted for G.
    The table ends with one sentence per large group.

    \b
    Examples:
      ecograph migration --db hub.db --by vendor --period quarter
      ecograph migration --db hub.db --by series --top 8 --since 2024-01-01
      ecograph migration --db hub.db --by vendor --format json -o migration.json
      ecograph migration --db hub.db --by size --format csv -o migration.csv
    """
    _check(by, BY_CHOICES, "--by")
    _check(period, PERIOD_CHOICES, "--period")
    if fmt in ("csv", "parquet") and output is None:
        raise click.UsageError(f"--format {fmt} writes two tables: it needs -o FILE "
                               f"(FILE_retention.{fmt}, FILE_flows.{fmt})")
    targets = table_files(output, fmt) if output and fmt in ("csv", "parquet") else None
    for target in (*(targets or ()), output):
        guard_output(str(target) if target else None, db)
    result = open_ecosystem(db).migration(by, period, since, until, top, lineages)
    if fmt == "table":
        _emit(migration_text(result, by, period), output)
    elif fmt == "json":
        import json

        from ..metrics import to_json

        text = json.dumps({
            "retention": json.loads(to_json(result.retention, RETENTION_KEYS)),
            "flows": json.loads(to_json(result.flows, FLOW_KEYS)),
        }, indent=2 if result.flows.height <= 1000 else None)
        _emit(text, output)
    else:
        assert targets is not None  # csv and parquet need -o (checked above)
        for frame, keys, target in ((result.retention, RETENTION_KEYS, targets[0]),
                                    (result.flows, FLOW_KEYS, targets[1])):
            _write(frame.select(keys), fmt, str(target), table="", json_keys=keys)
        click.echo(f"Wrote {result.retention.height:,} retention rows to {targets[0]} and "
                   f"{result.flows.height:,} flows to {targets[1]}", err=True)


def succession_text(frame: Any) -> str:
    """The ``succession`` table: one row per consecutive pair of series."""
    def days(v: Any) -> str:
        return "-" if v is None else f"{v:,}"

    def share(v: Any) -> str:
        return "-" if v is None else _num(v, "share")

    rows = [
        [r["vendor"], r["old"], r["new"], str(r["new_released"]), days(r["gap_days"]),
         r["crossover"] or "-", days(r["half_life_days"]), share(r["migrated_90d"]),
         share(r["defected_90d"])]
        for r in frame.iter_rows(named=True)
    ]
    return "\n".join([
        "Consecutive series of each vendor: crossover = first month the new series has more "
        "new derivatives; half-life = days until",
        "the old series' 30-day count halves; migrated / defected = of the old series' "
        "builders in the 90 days before the release,",
        "the share who built on the new series / only on another vendor in the 90 days "
        "after it.",
        "",
        _text_table(["vendor", "old", "new", "released", "gap (days)", "crossover",
                     "half-life (days)", "migrated 90d", "defected 90d"], rows,
                    right={4, 6, 7, 8}),
    ])


@click.command("succession")
@click.argument("vendors", nargs=-1)
@db_option
@lineages_option
@output_option("Write to this file instead of stdout (required for parquet).")
@format_option(FORMATS, "Output format.", default="table")
def succession_command(vendors: tuple[str, ...], db: str, lineages: str | None,
                       output: str | None, fmt: str) -> None:
    """How each series of a vendor handed over to the next (DESIGN §8): gap between the
    releases, the month the new series overtook the old one (crossover), the old series'
    half-life, and the share of its builders who migrated to the new series or defected
    to another vendor within 90 days. VENDORS: display names (Meta) or orgs
    (meta-llama); none = every vendor with two dated series.

    \b
    Examples:
      ecograph succession --db hub.db
      ecograph succession Meta "Qwen (Alibaba)" --db hub.db
      ecograph succession meta-llama --db hub.db --format json -o meta.json
    """
    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    guard_output(output, db)
    frame = open_ecosystem(db).succession(list(vendors) or None, lineages)
    _write(frame, fmt, output, table=succession_text(frame) if fmt == "table" else "",
           json_keys=SUCCESSION_KEYS)


def plot_migration(eco: Any, kind: str, output: str, *, roots: tuple[str, ...], by: str,
                   period: str, top: int | None, since: str | None, until: str | None,
                   lineages: str | None, dpi: int, size: str = "page") -> str:
    """``ecograph plot migration|retention|succession``: draw, write; say what was
    written."""
    if kind == "succession":
        if len(roots) != 1:
            raise click.UsageError("plot succession takes one VENDOR (e.g. Meta)")
        eco.save_plot(kind, output, list(roots), overrides=lineages, dpi=dpi, size=size)
        return f"Wrote the succession of {roots[0]}'s series to {output}"
    if roots:
        raise click.UsageError(f"plot {kind} groups every foundation (--by); it takes no "
                               "ROOTS")
    _check(by, BY_CHOICES, "--by")
    _check(period, PERIOD_CHOICES, "--period")
    eco.save_plot(kind, output, top=top, by=by, period=period,
                  since=since, until=until, overrides=lineages, dpi=dpi, size=size)
    what = "author flows" if kind == "migration" else "retention"
    return f"Wrote the {what} per {period} by {by} to {output}"


__all__ = ["COMMANDS", "migration_text", "plot_migration", "succession_text",
           "table_files"]

COMMANDS.extend([migration_command, succession_command])
