"""CLI command: ``ecograph demo`` (the offline end-to-end run)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from ._common import progress_bar, quiet_option

COMMANDS: list[click.Command] = []


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="ecograph-demo",
              show_default=True, help="Directory for the store, stats, report and plots.")
@quiet_option
def demo_command(out_dir: str, quiet: bool) -> None:
    """Run the whole pipeline offline on the bundled snapshot.

    Starts the fake Hub on the small Hub snapshot shipped with ecograph, crawls its
    foundations through the real huggingface_hub client into OUT/ecograph.db, prints the
    families table, and writes every foundation's metrics, a report on the largest family
    and the adoption race of all families. No network needed.

    \b
    Examples:
      ecograph demo
      ecograph demo --out /tmp/demo --quiet
    """
    from ..demo import run_demo
    from .analysis import families_text

    started = time.monotonic()
    bar = progress_bar(None, "crawling the fake Hub", quiet=quiet or not sys.stderr.isatty(),
                       unit="node")

    def progress(p: Any) -> None:
        bar.n = getattr(p, "done", bar.n)
        bar.set_postfix(models=getattr(p, "models", 0), requests=getattr(p, "requests", 0),
                        refresh=False)
        bar.refresh()

    try:
        result = run_demo(out_dir, progress=progress)
    finally:
        bar.close()
    crawl = result.crawl
    click.echo(
        f"Crawled {len(result.families)} families from the fake Hub: {crawl.models} models, "
        f"{crawl.edges} edges, {crawl.total_requests} requests."
    )
    click.echo("")
    click.echo(families_text(result.families))
    click.echo("")
    p = result.paths
    here = Path.cwd()

    def rel(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(here))
        except ValueError:
            return str(path)

    click.echo("Wrote:")
    click.echo(f"  store          {rel(p['db'])}")
    click.echo(f"  all metrics    {rel(p['stats_json'])}")
    click.echo(f"  report         {rel(p['report_html'])}  ({result.largest})")
    click.echo(f"  fork tree      {rel(p['report_fork_tree'])}")
    click.echo(f"  adoption race  {rel(p['compare'])}")
    click.echo(f"Done in {time.monotonic() - started:.1f} s. Next: ecograph stats "
               f"{result.largest} --db {rel(p['db'])}")


COMMANDS.append(demo_command)
