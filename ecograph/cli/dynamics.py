"""CLI commands: who leads — ``lineages`` and ``trends`` (DESIGN §8); the options and the
drawing of ``plot share|new``.

Thin wrappers over :mod:`ecograph.api`; heavy modules are imported inside the commands.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import UsageError
from ._common import db_option, format_option, open_ecosystem, output_option
from .analysis import FORMATS, _num, _text_table, _write

COMMANDS: list[click.Command] = []

#: ``--by`` and ``--period`` values (the library's ``dynamics.BY_CHOICES`` /
#: ``PERIOD_CHOICES``, spelled here so that the command line starts without polars).
BY_CHOICES = ("vendor", "series", "root", "size")
PERIOD_CHOICES = ("month", "quarter")
#: The JSON / CSV / Parquet columns of ``ecograph trends``.
TREND_KEYS = ("period", "group", "new", "touching", "share", "leader", "concentration")
#: The JSON / CSV / Parquet columns of ``ecograph lineages``.
LINEAGE_KEYS = ("root", "vendor", "series", "params_b", "size_class", "released")


def _check(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise UsageError(f"unknown {option} {value!r}; expected one of {', '.join(choices)}")
    return value


def lineages_option(f: Any) -> Any:
    """``--lineages FILE``: a CSV or TOML file extending the vendor / series table."""
    return click.option(
        "--lineages", "lineages", type=click.Path(dir_okay=False), default=None,
        help="CSV or TOML file extending the vendor/series table (org,vendor or "
             "id|pattern,series).",
    )(f)


def trend_options(f: Any) -> Any:
    """``--by --period --relation --since --until --lineages`` (``trends``, ``plot``)."""
    for option in reversed([
        click.option("--by", default="vendor", show_default=True,
                     metavar="|".join(BY_CHOICES),
                     help="Group derivatives by the vendor, series, root or size class of "
                          "the foundations they descend from."),
        click.option("--period", default="quarter", show_default=True,
                     metavar="|".join(PERIOD_CHOICES),
                     help="Calendar months (2024-07) or quarters (2024-Q3), UTC."),
        click.option("--relation", default=None,
                     help="Count only derivatives of this relation (finetune, quantized, "
                          "adapter, merge, unknown)."),
        click.option("--since", default=None, metavar="DATE",
                     help="Only derivatives created on or after DATE (ISO, e.g. 2024-01-01)."),
        click.option("--until", default=None, metavar="DATE",
                     help="Only derivatives created on or before DATE (whole day)."),
        lineages_option,
    ]):
        f = option(f)
    return f


def check_trend_options(by: str, period: str) -> None:
    """Unknown ``--by`` / ``--period``: one ``Error:`` line, exit 2, before any work."""
    _check(by, BY_CHOICES, "--by")
    _check(period, PERIOD_CHOICES, "--period")


def _period_word(period: str) -> str:
    return "month" if period == "month" else "quarter"


def leaders_text(frame: Any, period: str, *, last: int | None = None) -> str:
    """One row per period: derivatives, groups, the leader and runner-up with their
    shares, and the concentration (Σ share²); ``last`` keeps the last periods."""
    from ..dynamics import period_summary

    summary = period_summary(frame)
    if last is not None:
        summary = summary.tail(last)
    rows = [
        [
            r["period"],
            f"{r['derivatives']:,.0f}",
            f"{r['groups']:,}",
            f"{r['leader']} ({_num(r['leader_share'], 'share')})",
            "-" if r["runner_up"] is None
            else f"{r['runner_up']} ({_num(r['runner_up_share'], 'share')})",
            f"{r['concentration']:.2f}",
        ]
        for r in summary.iter_rows(named=True)
    ]
    header = [_period_word(period), "derivatives", "groups", "leader (share)",
              "runner-up (share)", "Σ share²"]
    return _text_table(header, rows, right={1, 2, 5})


def concentration_line(frame: Any, period: str) -> str:
    """The one-line answer to "do open models remain diverse and competitive?": the
    concentration (Σ share²) of the first and last periods, as numbers of equally sized
    groups, and how many groups led."""
    from ..dynamics import period_summary

    s = period_summary(frame)
    first, last = s.row(0, named=True), s.row(-1, named=True)
    leaders = s.get_column("leader").unique().len()
    word = _period_word(period)
    return (
        f"Concentration Σ share² {first['concentration']:.2f} ({first['period']}, "
        f"≈ {1 / first['concentration']:.1f} equal groups) → {last['concentration']:.2f} "
        f"({last['period']}, ≈ {1 / last['concentration']:.1f}); {leaders} "
        f"leader{'s' if leaders != 1 else ''} in {s.height} {word}s."
    )


def trends_text(frame: Any, folded: Any, by: str, period: str) -> str:
    """The ``trends`` table: a summary per period (leader, concentration), every
    (period, group) row of ``folded`` (leaders marked), and the concentration line."""
    if frame.is_empty():
        return "No derivatives in this range."
    rows, previous = [], None
    for r in folded.iter_rows(named=True):
        rows.append([
            r["period"] if r["period"] != previous else "",
            r["group"],
            f"{r['new']:,.1f}",
            f"{r['touching']:,}",
            _num(r["share"], "share"),
            "leader" if r["leader"] else "",
        ])
        previous = r["period"]
    return "\n".join([
        f"New derivatives per {_period_word(period)} by {by}: a derivative of k groups "
        "counts 1/k in each",
        f"(new) and 1 in each (touching); shares of a {_period_word(period)} sum to 100%; "
        "Σ share² 1 = one group.",
        "",
        leaders_text(frame, period),
        "",
        _text_table([_period_word(period), by, "new", "touching", "share", ""], rows,
                    right={2, 3, 4}),
        "",
        concentration_line(frame, period),
    ])


@click.command("trends")
@db_option
@trend_options
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Keep the N groups with the most new derivatives; fold the rest into "
                   "'other'.")
@output_option("Write to this file instead of stdout (required for parquet).")
@format_option(FORMATS, "Output format.", default="table")
def trends_command(db: str, by: str, period: str, relation: str | None, since: str | None,
                   until: str | None, lineages: str | None, top: int | None, fmt: str,
                   output: str | None) -> None:
    """Who leads: new derivatives per period, by the vendor, series, root or size class
    of the foundations they descend from (DESIGN §8).

    A derivative of k groups counts 1/k in each (new) and 1 in each (touching); share =
    new / all new of the period, so the shares of a period sum to 1. The table shows
    each period's leader and concentration (Σ share²; 1 = one group takes all).

    \b
    Examples:
      ecograph trends --db hub.db --by vendor --period quarter
      ecograph trends --db hub.db --by series --top 10 --since 2024-01-01
      ecograph trends --db hub.db --by size --relation quantized --format json
      ecograph trends --db hub.db --by vendor --lineages mine.csv --format csv -o t.csv
    """
    check_trend_options(by, period)
    eco = open_ecosystem(db)
    frame = eco.trends(by, period, relation, since, until, lineages)
    from ..dynamics import top_groups

    folded = top_groups(frame, top)
    table = trends_text(frame, folded, by, period) if fmt == "table" else ""
    _write(folded, fmt, output, table=table, json_keys=TREND_KEYS)


@click.command("lineages")
@db_option
@lineages_option
@output_option("Write to this file instead of stdout (required for parquet).")
@format_option(FORMATS, "Output format.", default="table")
def lineages_command(db: str, lineages: str | None, fmt: str, output: str | None) -> None:
    """The lineage of every foundation: vendor, series, parameters (billions), size
    class and release date (DESIGN §8).

    Vendors come from a curated table of Hub organisations (an unknown org is its own
    vendor); the series is the model name without size, variant and date tokens;
    parameters are the Hub's safetensors total when known, else read from the name.
    Extend or override the table with --lineages FILE (CSV: org,vendor and/or
    id|pattern,series; or TOML).

    \b
    Examples:
      ecograph lineages --db hub.db
      ecograph lineages --db hub.db --format json -o lineages.json
      ecograph lineages --db hub.db --lineages mine.csv --format csv
    """
    frame = open_ecosystem(db).lineages(lineages)
    table = ""
    if fmt == "table":
        rows = [
            [r["root"], r["vendor"] or "-", r["series"] or "-",
             "-" if r["params_b"] is None else _params(r["params_b"]),
             r["size_class"] or "-", "-" if r["released"] is None else str(r["released"])]
            for r in frame.iter_rows(named=True)
        ]
        table = (_text_table(["root", "vendor", "series", "params (B)", "size", "released"],
                             rows, right={3}) if rows
                 else "No foundations (no model with derivatives) in this store.")
    _write(frame, fmt, output, table=table, json_keys=LINEAGE_KEYS)


def _params(value: float) -> str:
    """Parameters in billions, three significant digits (0.135, 8.03, 70.6, 405)."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def plot_trends(eco: Any, kind: str, output: str, *, by: str, period: str, top: int | None,
                relation: str | None, since: str | None, until: str | None,
                lineages: str | None, dpi: int, size: str = "page") -> str:
    """``ecograph plot share|new``: draw and write the chart; returns what was written."""
    check_trend_options(by, period)
    eco.save_plot(kind, output, top=top, by=by, period=period, relation=relation,
                  since=since, until=until, overrides=lineages, dpi=dpi, size=size)
    what = "shares" if kind == "share" else "new derivatives"
    return f"Wrote the {what} per {period} by {by} to {output}"


COMMANDS.extend([lineages_command, trends_command])
