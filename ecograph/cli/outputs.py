"""CLI commands: outputs (export, render, compare, plot, report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import db_option

COMMANDS: list[click.Command] = []

_FORMATS = ["graphml", "gexf", "json", "csv", "parquet", "dot"]


def _load(db: str) -> tuple[Any, Any]:
    """The store's (models, edges) frames; a ``.jsonl``/``.jsonl.gz`` snapshot also works."""
    name = Path(db).name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        from ..snapshot import read_snapshot

        return read_snapshot(db)
    from ..store import Store

    with Store.open(db, create=False) as store:
        return store.load()


def _roots(models: Any, texts: tuple[str, ...] | list[str]) -> list[str]:
    from ..graph import resolve_root

    return [resolve_root(models, t) for t in texts]


@click.command("export")
@click.argument("root", required=False)
@db_option
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default=None,
              help="Output format (default: from the file suffix; json without one).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write (csv/parquet: FILE_nodes.EXT and FILE_edges.EXT).")
@click.option("--all", "everything", is_flag=True,
              help="Export the whole store instead of one family (no depth attribute).")
def export_command(root: str | None, db: str, fmt: str | None, output: str,
                   everything: bool) -> None:
    """Write the family of ROOT (ROOT included, with each node's depth) to a file.

    Formats: GraphML and GEXF (Gephi, Cytoscape), node-link JSON (networkx), CSV and
    Parquet node + edge tables (polars, pandas), DOT (Graphviz).

    \b
    Examples:
      ecograph export meta-llama/Llama-3.1-8B --db llama.db --format graphml -o llama.graphml
      ecograph export meta-llama/Llama-3.1-8B --db llama.db -o llama.csv
      ecograph export --all --db llama.db --format parquet -o hub.parquet
    """
    from ..export import FORMATS, write_export

    if fmt is None:
        suffix = Path(output).suffix.lower()
        fmt = next((f for f, s in FORMATS.items() if s == suffix), None if suffix else "json")
        if fmt is None:
            raise click.UsageError(
                f"cannot tell the format from {output!r}: use a suffix "
                f"({', '.join(FORMATS.values())}) or --format"
            )
    if not everything and not root:
        raise click.UsageError("give a ROOT model id, or --all for the whole store")
    models, edges = _load(db)
    if everything:
        nodes, fam_edges, label = models, edges, "the store"
        depth, rid = False, "ecograph"
    else:
        from ..graph import family_frames

        rid = _roots(models, [root or ""])[0]
        nodes, fam_edges = family_frames(models, edges, rid)
        label, depth = f"the family of {rid}", True
    paths = write_export(nodes, fam_edges, output, fmt, depth=depth, graph_name=rid)
    click.echo(f"Wrote {len(nodes)} models of {label} to {', '.join(map(str, paths))}",
               err=True)


@click.command("render")
@click.argument("root")
@db_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Picture to write: .png, .svg or .pdf.")
@click.option("--layout", type=click.Choice(["radial", "layered"]), default="radial",
              show_default=True, help="Root at the centre (radial) or at the top (layered).")
@click.option("--max-nodes", type=click.IntRange(min=10), default=1500, show_default=True,
              help="Node budget; beyond it leaves are folded into '+N' badges.")
@click.option("--labels", type=click.IntRange(min=0), default=12, show_default=True,
              help="Label the N most downloaded models.")
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200, show_default=True,
              help="Resolution in dots per inch.")
@click.option("--title", default=None, help="Title (the counts line is always added).")
def render_command(root: str, db: str, output: str, layout: str, max_nodes: int,
                   labels: int, dpi: int, title: str | None) -> None:
    """Draw the fork tree of ROOT's family: colour = relation, size = downloads.

    \b
    Examples:
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.png
      ecograph render meta-llama/Llama-3.1-8B --db llama.db -o llama.svg --layout layered
    """
    from ..graph import family_frames
    from ..render import draw_fork_tree, save_figure

    _check_picture(output)
    models, edges = _load(db)
    rid = _roots(models, [root])[0]
    nodes, fam_edges = family_frames(models, edges, rid)
    fig = draw_fork_tree(nodes, fam_edges, rid, layout=layout, max_nodes=max_nodes,
                         labels=labels, title=title, dpi=dpi)
    save_figure(fig, output, dpi=dpi)
    lay = fig._ecograph_layout  # type: ignore[attr-defined]  # set by draw_fork_tree
    note = f", {lay.folded:,} folded into {len(lay.badge_parent):,} badges" if lay.folded else ""
    click.echo(f"Wrote the fork tree of {rid} ({len(nodes) - 1:,} derivatives{note}) to "
               f"{output}", err=True)


def _check_picture(output: str) -> None:
    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.BadParameter("the picture must end in .png, .svg or .pdf",
                                 param_hint="'-o'")


@click.command("compare")
@click.argument("roots", nargs=-1, required=True)
@db_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Picture to write: .png, .svg or .pdf.")
@click.option("--log", "log", is_flag=True, help="Log scale for the derivative counts.")
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200, show_default=True,
              help="Resolution in dots per inch.")
def compare_command(roots: tuple[str, ...], db: str, output: str, log: bool,
                    dpi: int) -> None:
    """The adoption race: cumulative derivatives of each ROOT since its release.

    \b
    Example:
      ecograph compare meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --db hub.db -o race.png --log
    """
    from ..plots import adoption_curves, families_from_frames
    from ..render import save_figure

    _check_picture(output)
    models, edges = _load(db)
    fams = families_from_frames(models, edges, _roots(models, roots))
    save_figure(adoption_curves(fams, log=log), output, dpi=dpi)
    click.echo(f"Wrote the adoption race of {len(fams)} families to {output}", err=True)


@click.command("plot")
@click.argument("kind", type=click.Choice(["adoption", "fanout", "relations"]))
@click.argument("roots", nargs=-1, required=True)
@db_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Picture to write: .png, .svg or .pdf.")
@click.option("--log", "log", is_flag=True, help="adoption: log scale for the counts.")
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200, show_default=True,
              help="Resolution in dots per inch.")
def plot_command(kind: str, roots: tuple[str, ...], db: str, output: str, log: bool,
                 dpi: int) -> None:
    """Plot KIND for the families of ROOTS: adoption (cumulative derivatives since
    release), fanout (fan-out distribution, log-log) or relations (relation mix).

    \b
    Examples:
      ecograph plot fanout meta-llama/Llama-3.1-8B Qwen/Qwen2.5-7B --db hub.db -o fanout.png
      ecograph plot relations meta-llama/Llama-3.1-8B google/gemma-2-9b --db hub.db -o mix.svg
    """
    from ..plots import families_from_frames, plot
    from ..render import save_figure

    _check_picture(output)
    models, edges = _load(db)
    fams = families_from_frames(models, edges, _roots(models, roots))
    kw = {"log": log} if kind == "adoption" else {}
    save_figure(plot(kind, fams, **kw), output, dpi=dpi)
    click.echo(f"Wrote the {kind} plot of {len(fams)} families to {output}", err=True)


@click.command("report")
@click.argument("root")
@db_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory to write (created if needed).")
@click.option("--layout", type=click.Choice(["radial", "layered"]), default="radial",
              show_default=True, help="Layout of the fork tree.")
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200, show_default=True,
              help="Resolution in dots per inch.")
def report_command(root: str, db: str, out: str, layout: str, dpi: int) -> None:
    """Write a report on ROOT's family: metrics (JSON, Markdown), fork tree, adoption
    curve, fan-out plot, and a self-contained report.html.

    \b
    Example:
      ecograph report meta-llama/Llama-3.1-8B --db llama.db --out llama-report
    """
    from ..report import write_report

    models, edges = _load(db)
    rid = _roots(models, [root])[0]
    paths = write_report(models, edges, rid, out, layout=layout, dpi=dpi)
    click.echo(f"Wrote the report on {rid} to {out}/:", err=True)
    for p in paths.values():
        click.echo(f"  {p}")


COMMANDS.extend([export_command, render_command, compare_command, plot_command,
                 report_command])
