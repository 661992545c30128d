"""CLI commands: outputs (export, render, compare, plot, report).

Each parses, makes one call on :mod:`ecograph.api` (which checks the file suffix with
:func:`ecograph.formats.format_for` before any work) and says what it wrote. An output
that would overwrite the ``--db`` store (or its ``-wal``/``-shm`` files, or its cache) is
refused before any work; every file is written atomically, parent directories created.
"""

from __future__ import annotations

import click

from ..formats import EXPORT_FORMATS
from ._common import (
    MAX_LABELS,
    MAX_NODES,
    csv_safe_option,
    db_option,
    dpi_option,
    format_option,
    guard_output,
    open_ecosystem,
    output_option,
    picture_option,
    size_option,
)
from .dynamics import plot_trends, trend_options
from .migration import plot_migration

COMMANDS: list[click.Command] = []

_LAYOUT_HELP = "Root at the centre (radial) or at the top (layered)."


@click.command("export")
@click.argument("root", required=False)
@db_option
@format_option(EXPORT_FORMATS,
               "Output format (default: from the file suffix; json without one).")
@output_option("File to write (csv/parquet: FILE_nodes.EXT and FILE_edges.EXT).",
               required=True)
@click.option("--all", "everything", is_flag=True,
              help="Export the whole store instead of one family (no depth attribute).")
@csv_safe_option
def export_command(root: str | None, db: str, fmt: str | None, output: str,
                   everything: bool, csv_safe: bool) -> None:
    """Write the family of ROOT (ROOT included, with each node's depth) to a file.

    Formats: GraphML and GEXF (Gephi, Cytoscape), node-link JSON (networkx), CSV and
    Parquet node + edge tables (polars, pandas), DOT (Graphviz).

    CSV cells hold the values exactly as they are (for data pipelines); an id or author
    starting with = + - @ is a formula to a spreadsheet: use --csv-safe for files meant
    to be opened in Excel, LibreOffice or Google Sheets.

    \b
    Examples:
      ecograph export meta-llama/Llama-3.1-8B --db llama.db --format graphml -o llama.graphml
      ecograph export meta-llama/Llama-3.1-8B --db llama.db -o llama.csv
      ecograph export meta-llama/Llama-3.1-8B --db llama.db -o llama.csv --csv-safe
      ecograph export --all --db llama.db --format parquet -o hub.parquet
    """
    from ..formats import format_for

    if everything and root:
        raise click.UsageError("give a ROOT model id or --all, not both")
    if not everything and not root:
        raise click.UsageError("give a ROOT model id, or --all for the whole store")
    chosen = fmt or format_for(output, EXPORT_FORMATS, default="json")
    if csv_safe and chosen != "csv":
        raise click.UsageError("--csv-safe applies to CSV exports only")
    guard_output(output, db)
    eco = open_ecosystem(db)
    if everything:
        paths = eco.export(output, fmt, csv_safe=csv_safe)
        label, count = "the store", eco.models.height
    else:
        fam = eco.family(root or "")
        paths = fam.export(output, fmt, csv_safe=csv_safe)
        label, count = f"the family of {fam.root}", fam.nodes.height
    click.echo(f"Wrote {count} models of {label} to {', '.join(map(str, paths))}", err=True)


@click.command("render")
@click.argument("root")
@db_option
@output_option("Picture to write: .png, .svg or .pdf; or .html, one self-contained "
               "interactive page (hover, click to the Hub, zoom, pan).", required=True)
@click.option("--layout", type=click.Choice(["radial", "layered"]), default="radial",
              show_default=True, help=_LAYOUT_HELP)
@click.option("--max-nodes", type=click.IntRange(min=10, max=MAX_NODES), default=1500,
              show_default=True, help="Node budget; beyond it the largest hubs stay "
              "expanded and the rest is folded into '+N' badges per relation.")
@click.option("--labels", type=click.IntRange(min=0, max=MAX_LABELS), default=12,
              show_default=True, help="Label the N most downloaded models.")
@click.option("--style", type=click.Choice(["auto", "tree", "sunburst"]), default="auto",
              show_default=True, help="tree (node-link), sunburst (rings = generations, "
              "wedge angle ~ subtree size) or auto: a sunburst above 300 models.")
@dpi_option
@size_option
@click.option("--title", default=None, help="Title (the counts line is always added).")
def render_command(root: str, db: str, output: str, layout: str, max_nodes: int,
                   labels: int, style: str, dpi: int, size: str,
                   title: str | None) -> None:
    """Draw the fork tree of ROOT's family: colour = relation, size = downloads.

    \b
    Examples:
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.png
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.svg --layout layered
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.png --style sunburst
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.html
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.pdf --size column
    """
    guard_output(output, db)
    fam = open_ecosystem(db).family(root)
    tree = fam.render(output, layout=layout, max_nodes=max_nodes, labels=labels, title=title,
                      dpi=dpi, style=style, size=size)
    if tree.style == "sunburst":
        note = ", sunburst" + (f", {tree.folded:,} merged into {tree.n_groups:,} '+N' wedges"
                               if tree.folded else "")
    else:
        note = (f", {tree.folded:,} folded into {tree.n_groups:,} badges" if tree.folded
                else "")
    click.echo(f"Wrote the fork tree of {fam.root} ({tree.counts.size:,} derivatives{note}) "
               f"to {output}", err=True)


@click.command("compare")
@click.argument("roots", nargs=-1, required=True)
@db_option
@picture_option
@click.option("--log", "log", is_flag=True, help="Log scale for the derivative counts.")
@dpi_option
@size_option
def compare_command(roots: tuple[str, ...], db: str, output: str, log: bool,
                    dpi: int, size: str) -> None:
    """The adoption race: cumulative derivatives of each ROOT since its release.

    \b
    Example:
      ecograph compare meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --db hub.db -o race.png --log
    """
    guard_output(output, db)
    open_ecosystem(db).save_plot("adoption", output, roots, log=log, dpi=dpi, size=size)
    click.echo(f"Wrote the adoption race of {len(roots)} families to {output}", err=True)


@click.command("plot")
@click.argument("kind", type=click.Choice(["adoption", "fanout", "relations", "drift",
                                          "downloads", "share", "new", "migration",
                                          "retention", "succession"]))
@click.argument("roots", nargs=-1)
@db_option
@picture_option
@click.option("--log", "log", is_flag=True, help="adoption: log scale for the counts.")
@dpi_option
@size_option
@trend_options
@click.option("--top", type=click.IntRange(min=1), default=8, show_default=True,
              help="share/new/migration/retention: draw the N largest groups (share, "
                   "migration, retention: the rest as 'other').")
def plot_command(kind: str, roots: tuple[str, ...], db: str, output: str, log: bool,
                 dpi: int, size: str, by: str, period: str, relation: str | None, since: str | None,
                 until: str | None, lineages: str | None, top: int) -> None:
    """Plot KIND for the families of ROOTS: adoption (cumulative derivatives since
    release), fanout (fan-out distribution, log-log), relations (relation mix), drift
    (top licence transitions, coloured by the class of the new licence) or downloads
    (family downloads at each observation of the store). Or who leads, over every
    foundation (no ROOTS): share (stacked area of each period's shares of new derivatives)
    or new (new derivatives per period), --by vendor, series, root or size. Or how fast
    builders move on: migration (author flows between consecutive periods), retention
    (one line per group), or succession VENDOR (monthly new derivatives of each series).

    \b
    Examples:
      ecograph plot fanout meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --db hub.db -o fanout.png
      ecograph plot relations meta-llama/Llama-3.1-8B google/gemma-2-9b --db hub.db -o mix.svg
      ecograph plot share --by vendor --period quarter --db hub.db -o share.png
      ecograph plot new --by series --top 6 --since 2024-01-01 --db hub.db -o new.png
      ecograph plot drift meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --db hub.db -o drift.png
      ecograph plot downloads meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --db hub.db -o dl.png
      ecograph plot share --size column --dpi 300 --db hub.db -o share.pdf
      ecograph plot migration --by vendor --top 6 --db hub.db -o flows.png
      ecograph plot retention --by series --period quarter --db hub.db -o retention.png
      ecograph plot succession Meta --db hub.db -o meta.png
    """
    if kind in ("share", "new"):
        if roots:
            raise click.UsageError(f"plot {kind} groups every foundation (--by); it takes "
                                   "no ROOTS")
        click.echo(plot_trends(open_ecosystem(db), kind, output, by=by, period=period,
                               top=top, relation=relation, since=since, until=until,
                               lineages=lineages, dpi=dpi, size=size), err=True)
        return
    if kind in ("migration", "retention", "succession"):
        guard_output(output, db)
        click.echo(plot_migration(open_ecosystem(db), kind, output, roots=roots, by=by,
                                  period=period, top=top, since=since, until=until,
                                  lineages=lineages, dpi=dpi, size=size), err=True)
        return
    if not roots:
        raise click.UsageError(f"plot {kind} needs at least one ROOT")
    if kind == "downloads":  # family downloads over the store's observations
        guard_output(output, db)
        open_ecosystem(db).save_downloads_plot(output, roots, dpi=dpi)
        click.echo(f"Wrote the downloads of {len(roots)} families over time to {output}",
                   err=True)
        return
    options = {"log": log} if kind == "adoption" else {}
    guard_output(output, db)
    open_ecosystem(db).save_plot(kind, output, roots, dpi=dpi, size=size, **options)
    click.echo(f"Wrote the {kind} plot of {len(roots)} families to {output}", err=True)


@click.command("report")
@click.argument("root")
@db_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory to write (created if needed).")
@click.option("--layout", type=click.Choice(["radial", "layered"]), default="radial",
              show_default=True, help=_LAYOUT_HELP)
@dpi_option
@size_option
def report_command(root: str, db: str, out: str, layout: str, dpi: int, size: str) -> None:
    """Write a report on ROOT's family: metrics (JSON, Markdown), fork tree, adoption
    curve, fan-out plot, and a self-contained report.html.

    \b
    Example:
      ecograph report meta-llama/Llama-3.1-8B --db llama.db --out llama-report
    """
    guard_output(out, db)
    fam = open_ecosystem(db).family(root)
    paths = fam.report(out, layout=layout, dpi=dpi, size=size)
    click.echo(f"Wrote the report on {fam.root} to {out}/:", err=True)
    for p in paths.values():
        click.echo(f"  {p}")


COMMANDS.extend([export_command, render_command, compare_command, plot_command,
                 report_command])
