"""CLI commands: crawling (``crawl``, ``refresh``; ``import`` and ``info``). ``export`` lives in
:mod:`ecograph.cli.outputs`."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..records import RELATIONS
from ._common import db_option, progress_bar, quiet_option

COMMANDS: list[click.Command] = []

#: Exit status of ``ecograph crawl`` when it finished but some nodes failed (listed in
#: the summary; running the same command again retries them).
EXIT_FAILURES = 3
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def honour_ctrl_c() -> None:
    """Make SIGINT raise ``KeyboardInterrupt`` even when this process started with it
    ignored (a shell starts background jobs so: ``ecograph crawl ... &`` then
    ``kill -INT``), so that Ctrl-C always ends a write cleanly."""
    try:
        if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (e.g. a test runner's worker)
        pass


@contextmanager
def _marking_interrupts(store: Any) -> Iterator[None]:
    """On Ctrl-C at any moment, mark the runs this process left ``running`` as
    ``interrupted`` before the CLI reports it (exit 130)."""
    try:
        yield
    except KeyboardInterrupt:
        from ..crawl import hold_ctrl_c

        try:
            hold_ctrl_c(store.interrupt_runs)
        except KeyboardInterrupt:
            pass
        raise


def _parse_relations(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    rels = [v.strip().lower() for v in value.split(",") if v.strip()]
    bad = [r for r in rels if r not in RELATIONS]
    if bad or not rels:
        raise click.BadParameter(
            f"{', '.join(bad) or repr(value)} is not a relation; use a comma-separated list "
            f"of {', '.join(RELATIONS)}"
        )
    return rels


def _parse_since(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from ..records import parse_datetime

    dt = parse_datetime(value)
    if dt is None:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)")
    return dt


class _Bar:
    """Draws the crawl's progress events on a tqdm bar."""

    def __init__(self, quiet: bool) -> None:
        # no bar when stderr is not a terminal (logs, CI, pipes)
        quiet = quiet or not sys.stderr.isatty()
        self.bar = progress_bar(None, "crawling", quiet=quiet, unit="node")
        self._last = 0.0

    def __call__(self, p: Any) -> None:
        bar = self.bar
        if p.phase == "down":
            total = p.done + p.frontier
            if bar.total != total:
                bar.total = total
            bar.n = p.done
        elif p.phase in ("scan", "up"):
            bar.total = None
            bar.n = p.done
        bar.set_description(p.phase, refresh=False)
        bar.set_postfix(models=p.models, frontier=p.frontier, requests=p.requests,
                        waits=p.waits, failures=p.failures, refresh=False)
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last = now
            bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _estimate_line(e: Any, strategy: str) -> str:
    return (f"  estimate: bfs ~{e.bfs_requests} requests, scan ~{e.scan_requests}"
            f" requests ({e.method}) -> {strategy}")


def plan_lines(plan: Any) -> list[str]:
    """What ``ecograph crawl`` is about to do (a :class:`~ecograph.crawl.Plan`)."""
    lim = plan.limits
    roots = ", ".join(plan.roots)
    what = {"down": f"the families of {roots}", "up": f"the ancestors of {roots}",
            "both": f"the ancestors of {roots}, then their families"}[plan.direction]
    if not plan.roots:
        what = "the whole Hub" if plan.strategy == "scan" else "the pending frontier"
    elif plan.direction != "up" and plan.strategy == "scan":
        what += " (by a scan of the whole Hub)"
    if plan.since is not None:
        what += f" created since {plan.since:%Y-%m-%d}"
    strategy = {"auto": "auto, chosen once the ancestors are known"}.get(plan.strategy,
                                                                       plan.strategy)
    if plan.direction == "up":
        strategy = "baseModels"
    details = [f"strategy: {strategy}", f"workers: {lim.workers}"]
    if lim.max_depth is not None:
        details.append(f"max depth: {lim.max_depth}")
    if lim.max_models is not None:
        details.append(f"max models: {lim.max_models}")
    if lim.relations is not None:
        details.append(f"relations: {','.join(sorted(lim.relations))}")
    lines = [f"Crawling {what} ({'; '.join(details)}) from {plan.endpoint}"]
    if plan.estimate is not None:
        lines.append(_estimate_line(plan.estimate, plan.strategy))
    return lines


def _summary(result: Any, db: str, *, estimate: bool = True) -> list[str]:
    req = result.requests
    by_status = ", ".join(f"{k[7:]}: {v}" for k, v in req.items() if k.startswith("status_"))
    net = req.get("network_errors", 0)
    status = {"done_with_failures": "done with failures",
              "partial": "stopped early (run it again to continue)"}.get(result.status,
                                                                        result.status)
    lines = [
        f"Crawl {status} in {result.elapsed:.1f} s "
        f"(roots: {', '.join(result.roots) or '-'}; strategy: {result.strategy}) -> {db}",
        f"  models: {result.models}  edges: {result.edges}",
        f"  requests: {result.total_requests} ({by_status or 'none'}"
        + (f", network errors: {net}" if net else "") + ")"
        f"  429s: {result.rate_limited}  retries: {result.retries}"
        f"  rate-limit waits: {result.waits} ({result.wait_seconds:.1f} s over all workers)",
    ]
    if req.get("invalid_records"):
        lines.append(f"  listed objects skipped (no valid model id): {req['invalid_records']}")
    if estimate and result.estimate is not None:  # (unless the plan showed it)
        lines.append(_estimate_line(result.estimate, result.strategy))
    lines.append(f"  failures: {len(result.failures)}")
    lines += [f"    {node}: {err}" for node, err in result.failures]
    lines.append(f"  missing parents: {len(result.missing_parents)}")
    lines += [f"    {m}" for m in result.missing_parents[:20]]
    if len(result.missing_parents) > 20:
        lines.append(f"    ... and {len(result.missing_parents) - 20} more")
    unchecked = result.unchecked_parents
    if unchecked:
        how = ("a crawl of their families, or a scan without --since, checks them"
               if result.strategy == "scan" else
               "run the same command again (with a larger --verify-parents) to check them")
        lines.append(f"  parents not checked: {len(unchecked)} (they may exist on the Hub; "
                     f"{how})")
        lines += [f"    {m}" for m in unchecked[:20]]
        if len(unchecked) > 20:
            lines.append(f"    ... and {len(unchecked) - 20} more")
    rejected = result.rejected_parents
    if rejected:
        lines.append(f"  parent references not read: {len(rejected)} (not model ids; no edge "
                     "was made)")
        lines += [f"    {model}: {ref!r}" for model, ref in rejected[:20]]
        if len(rejected) > 20:
            lines.append(f"    ... and {len(rejected) - 20} more")
    lines.append(f"  gaps: {len(result.gaps)}")
    lines += [f"    {g.node}: {g.found} children found, the Hub counts {g.expected}"
              for g in result.gaps[:20]]
    lines += [f"  note: {note}" for note in result.notes]
    return lines


@click.command("crawl")
@click.argument("roots", nargs=-1, metavar="[ROOT]...")
@db_option
@click.option("--endpoint", default=None, metavar="URL",
              help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co).")
@click.option("--token", default=None, metavar="TOKEN",
              help="Hub token (default: HF_TOKEN or the saved login). Never stored.")
@click.option("--direction", type=click.Choice(["down", "up", "both"]), default="down",
              show_default=True,
              help="down: the families of ROOTs; up: their ancestors; both: ancestors, then "
                   "the families of the roots found.")
@click.option("--strategy", type=click.Choice(["bfs", "scan", "auto"]), default=None,
              help="bfs (one listing per family node), scan (list the whole Hub) or auto "
                   "(the cheaper). Default: bfs, or scan with --since.")
@click.option("--max-depth", type=click.IntRange(min=1), default=None,
              help="Generations to discover below the roots.")
@click.option("--max-models", type=click.IntRange(min=1), default=None,
              help="Stop after this many models (the rest stays queued).")
@click.option("--relations", callback=_parse_relations, default=None,
              metavar="LIST", help="Relations to follow, e.g. finetune,quantized "
                                   "(default: all).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent requests.")
@click.option("--since", callback=_parse_since, default=None, metavar="DATE",
              help="Scan only the models created since DATE (YYYY-MM-DD).")
@click.option("--verify-parents", type=click.IntRange(min=0), default=None, metavar="N",
              help="Detail requests spent checking parents outside the crawled families "
                   "(default: all of them; those left over are reported as not checked).")
@click.option("--deadline", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              metavar="SECONDS", help="Longest time one request may take in all (a server "
                                      "that trickles bytes fails it, then it is retried).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, hidden=True,
              help="Seconds per network operation (connect, each read).")
@quiet_option
def crawl_command(roots: tuple[str, ...], db: str, endpoint: str | None, token: str | None,
                  direction: str, strategy: str | None, max_depth: int | None,
                  max_models: int | None, relations: list[str] | None, workers: int,
                  since: Any, verify_parents: int | None, deadline: float, timeout: float,
                  quiet: bool) -> None:
    """Crawl the derivatives of ROOT models from the Hub into a local store.

    Lists the children of every family member (fine-tunes, quantizations, adapters,
    merges), paced by the Hub's rate-limit headers. Running the same command again resumes
    an interrupted crawl, or refreshes a finished one. Nothing is lost on Ctrl-C. One
    crawl at a time writes to a store: a second one stops at once, naming the first.

    \b
    Examples:
      ecograph crawl meta-llama/Llama-3.1-8B --db llama.db
      ecograph crawl bartowski/Llama-3.2-1B-Instruct-GGUF --direction both --db llama.db
      ecograph crawl Qwen/Qwen2.5-7B --relations finetune,merge --max-depth 2
      ecograph crawl --strategy scan --since 2025-01-01 --db hub.db

    \b
    Exit status:
      0    done (or stopped early by --max-models: run it again to continue)
      1    error (Hub unreachable, bad store, store in use by another crawl)
      2    usage error (bad or conflicting options)
      3    finished, but some nodes failed (listed; run it again to retry them)
      130  interrupted (Ctrl-C): everything saved; run it again to resume
    """
    from ..crawl import plan, run
    from ..hub import HubClient
    from ..records import normalize_id
    from ..store import Store

    honour_ctrl_c()
    _check_flags(roots, direction=direction, strategy=strategy, since=since,
                 max_depth=max_depth, max_models=max_models, relations=relations)
    ids = [normalize_id(r) for r in roots]
    # only a scan can honour --since (a BFS would ignore the date)
    chosen = "scan" if since is not None else (strategy or "bfs")
    hub = HubClient(endpoint, token, timeout=timeout, deadline=deadline)
    if not ids and chosen != "scan" and not Path(db).exists():
        raise UsageError("give at least one ROOT model id (or --strategy scan)")
    # unknown roots fail here, before the store is touched
    crawl_plan = plan(hub, ids, direction=direction, strategy=chosen, since=since,
                      max_depth=max_depth, max_models=max_models, relations=relations,
                      workers=workers, verify_parents=verify_parents)
    with Store.open(db) as store, _marking_interrupts(store):
        for line in plan_lines(crawl_plan):
            click.echo(line)
        bar = _Bar(quiet)
        try:
            result = run(store, hub, crawl_plan, progress=bar)
        finally:
            bar.close()
    for line in _summary(result, db, estimate=crawl_plan.estimate is None):
        click.echo(line)
    if result.failures:
        n = len(result.failures)
        click.echo(f"Error: the crawl finished with {n} failed node{'s' if n != 1 else ''} "
                   "(listed above); run the same command again to retry "
                   f"{'them' if n != 1 else 'it'}", err=True)
        sys.exit(EXIT_FAILURES)


def _check_flags(roots: tuple[str, ...], *, direction: str, strategy: str | None,
                 since: Any, max_depth: int | None, max_models: int | None,
                 relations: list[str] | None) -> None:
    """Refuse ``crawl`` flags that contradict each other (a usage error, exit 2), naming
    them as the user typed them: none is ever silently ignored."""
    if direction in ("up", "both") and not roots:
        raise UsageError(f"--direction {direction} needs at least one ROOT model id")
    bfs_limits = [flag for flag, value in (("--max-depth", max_depth),
                                           ("--max-models", max_models),
                                           ("--relations", relations)) if value is not None]
    if direction == "up":
        given = [flag for flag, value in (("--strategy", strategy), ("--since", since))
                 if value is not None] + bfs_limits
        if given:
            raise UsageError(f"{', '.join(given)} cannot be used with --direction up (it "
                             "follows baseModels from each ROOT to its foundations)")
    if since is not None and strategy == "bfs":
        raise UsageError("--since applies to --strategy scan, not bfs")
    if (strategy == "scan" or since is not None) and bfs_limits:
        what = "--strategy scan" if strategy == "scan" else "--since (a scan)"
        raise UsageError(f"{', '.join(bfs_limits)} cannot be used with {what}: a scan lists "
                         "every model and cannot honour them")


COMMANDS.append(crawl_command)


# ----------------------------------------------------------------- refresh


def _when(dt: Any) -> str:
    return "-" if dt is None else f"{dt:%Y-%m-%d %H:%M:%S} UTC"


def refresh_lines(result: Any, db: str, *, check_deleted: bool, hub_size: int) -> list[str]:
    """The summary of ``ecograph refresh`` (a :class:`~ecograph.refresh.RefreshResult`)."""
    req = result.requests
    by_status = ", ".join(f"{k[7:]}: {v}" for k, v in req.items() if k.startswith("status_"))
    n = result.total_requests
    lines = [
        f"Refresh done in {result.elapsed:.1f} s -> {db}"
        + (" (resumed)" if result.resumed else ""),
        f"  requests: {n} ({by_status or 'none'})  listing pages: {result.pages}"
        f"  deletion checks: {result.checked}  retries: {result.retries}",
        f"  new models: {len(result.new)}",
        f"  edited: {len(result.edited)} (cards changed since the watermark)",
    ]
    if check_deleted:
        lines.append(f"  deleted: {len(result.deleted)} (of {result.checked} checked; kept in "
                     "the store as missing)")
    else:
        lines.append("  deleted: not checked (--check-deleted: one request per stored model, "
                     "--sample N: N of them)")
    lines += [f"    {m}" for m in result.deleted[:20]]
    if len(result.deleted) > 20:
        lines.append(f"    ... and {len(result.deleted) - 20} more")
    lines.append(f"  edges: +{result.edges_added} -{result.edges_removed}")
    lines.append(f"  watermark: {_when(result.watermark)} -> {_when(result.new_watermark)}")
    lines.append("  note: downloads and likes of models not edited since the watermark are "
                 "not re-read (the Hub changes them without touching lastModified); "
                 f"`ecograph crawl --strategy scan` re-reads them all (~{hub_size // 1000:,} "
                 "requests)")
    lines += [f"  note: {note}" for note in result.notes]
    return lines


@click.command("refresh")
@db_option
@click.option("--endpoint", default=None, metavar="URL",
              help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co); must be "
                   "the one the store was crawled from.")
@click.option("--token", default=None, metavar="TOKEN",
              help="Hub token (default: HF_TOKEN or the saved login). Never stored.")
@click.option("--check-deleted", is_flag=True,
              help="Also check the store's models for deletion (one request each).")
@click.option("--sample", type=click.IntRange(min=0), default=None, metavar="N",
              help="With --check-deleted: check N models drawn at random.")
@click.option("--since", callback=_parse_since, default=None, metavar="DATE",
              help="List the changes since DATE instead of since the last refresh.")
@click.option("--deadline", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              metavar="SECONDS", help="Longest time one request may take in all.")
@quiet_option
def refresh_command(db: str, endpoint: str | None, token: str | None, check_deleted: bool,
                    sample: int | None, since: Any, deadline: float, quiet: bool) -> None:
    """Bring a store up to date with the Hub at the lowest request cost.

    Lists the Hub newest first by lastModified down to the last refresh's watermark (the
    first refresh of a store starts from the newest lastModified it holds, and says so):
    new models and edited cards arrive this way, ~1000 a request, and are saved as a scan
    saves them. Deletions are checked only with --check-deleted; downloads of models not
    edited are not re-read (a scan does that). Prints the requests used and the changes
    found. Resumes after a kill or Ctrl-C (run it again); one crawl or refresh at a time.

    \b
    Examples:
      ecograph refresh --db hub.db
      ecograph refresh --db llama.db --check-deleted --sample 500
      ecograph refresh --db hub.db --since 2025-06-01 --quiet
    """
    from ..crawl import HUB_SIZE
    from ..hub import HubClient
    from ..refresh import refresh
    from ..store import Store

    honour_ctrl_c()
    if sample is not None and not check_deleted:
        raise UsageError("--sample applies to --check-deleted")
    if not Path(db).exists():
        raise UsageError(f"no store at {db}: crawl or import first")
    hub = HubClient(endpoint, token, deadline=deadline)
    with Store.open(db, create=False) as store, _marking_interrupts(store):
        click.echo(f"Refreshing {db} from {hub.endpoint} ...")
        bar = progress_bar(None, "refreshing", quiet=quiet or not sys.stderr.isatty(),
                           unit="page")

        def _progress(p: Any) -> None:
            bar.n = p.done
            bar.set_postfix(requests=p.requests, refresh=False)
            bar.refresh()

        try:
            result = refresh(store, hub, check_deleted=check_deleted, sample=sample,
                             since=since, progress=_progress)
        finally:
            bar.close()
    click.echo(f"  listed down to lastModified {_when(result.watermark)} "
               f"({result.watermark_source})")
    for line in refresh_lines(result, db, check_deleted=check_deleted, hub_size=HUB_SIZE):
        click.echo(line)


COMMANDS.append(refresh_command)


# ----------------------------------------------------------------- import / info (store)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@quiet_option
def import_command(file: str, db: str, quiet: bool) -> None:
    """Load a snapshot FILE into the store, without HTTP.

    FILE is a snapshot in ecograph's JSONL format (optionally gzipped: the fake Hub's and
    `ecograph synth`'s format) or a whole-Hub dump in the public models.parquet layout.
    Streams in batches of 100,000 rows, one transaction each: a bad line stops the import
    with the store still valid. Importing again updates rows in place (upserts).

    \b
    Examples:
      ecograph import hub.jsonl.gz --db hub.db
      ecograph import models.parquet --db hub.db --quiet
      ecograph info --db hub.db
    """
    from ..importer import count_rows, import_snapshot, snapshot_format
    from ..store import Store

    honour_ctrl_c()
    snapshot_format(file)  # a missing file fails before any store is created
    bar = progress_bar(count_rows(file), "importing", quiet=quiet, unit="model")
    try:
        with Store.open(db) as store, _marking_interrupts(store):
            result = import_snapshot(store, file, progress=bar.update)
    finally:
        bar.close()
    click.echo(result.summary_line())


def _count_line(counts: dict[str, int], order: tuple[str, ...] = ()) -> str:
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return ", ".join(f"{k} {counts[k]:,}" for k in keys)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def info_lines(summary: dict[str, Any]) -> list[str]:
    """The text of ``ecograph info`` for a :meth:`Store.summary` dict."""
    from ..records import RELATIONS

    s = summary
    lines = [
        f"Store: {s['path']} ({_size(s['file_size'])}, schema v{s['schema_version']})",
        f"Models: {s['models']:,}"
        + (f" ({_count_line(s['models_by_status'], ('ok', 'missing', 'private', 'error'))})"
           if s["models"] else ""),
        f"Edges: {s['edges']:,}"
        + (f" ({_count_line(s['edges_by_relation'], (*RELATIONS, 'unknown'))})"
           if s["edges"] else ""),
        f"Foundations: {s['foundations']:,} (models with children and no parent)",
    ]
    runs = s["runs"]
    for kind in sorted(runs, key=lambda k: (k != "crawl", k != "import", k)):
        r = runs[kind]
        when = r["last_finished"] or r["last_started"]
        stamp = when.strftime("%Y-%m-%d %H:%M UTC") if when else "-"
        label = {"crawl": "Crawls", "import": "Imports"}.get(kind, f"Runs ({kind})")
        lines.append(f"{label}: {r['count']:,} (last {stamp}, {r['last_status']})")
    if not runs:
        lines.append("Crawls: 0")
    f = s["frontier"]
    lines.append(
        f"Frontier: pending {f.get('pending', 0):,}, done {f.get('done', 0):,}, "
        f"failed {f.get('failed', 0):,}"
    )
    lines.append(f"Failed nodes: {s['failed']:,}")
    return lines


@click.command("info")
@db_option
def info_command(db: str) -> None:
    """Summarise a store: models, edges, foundations, crawls and imports, crawl state.

    \b
    Example:
      ecograph info --db llama.db
    """
    from ..store import Store

    with Store.open(db, create=False) as store:
        summary = store.summary()
    for line in info_lines(summary):
        click.echo(line)


COMMANDS.extend([import_command, info_command])
