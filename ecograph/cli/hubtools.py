"""CLI commands: hubtools — the fake Hub (``fakehub``) and synthetic snapshots (``synth``).

Each command is defined in its own block and appended to ``COMMANDS``.
"""

from __future__ import annotations

import click

from ._common import MAX_COUNT, MAX_SEED, FiniteFloatRange

COMMANDS: list[click.Command] = []


# --------------------------------------------------------------------------- fakehub


@click.command("fakehub")
@click.argument("snapshot", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (0: any free port).")
@click.option("--latency-ms", type=FiniteFloatRange(0, 60_000), default=0,
              help="Delay per request.")
@click.option("--quota", type=click.IntRange(0, MAX_COUNT), default=None,
              help="Requests per window.")
@click.option(
    "--window", type=click.IntRange(1, 86_400), default=300, show_default=True,
    help="Window (seconds)."
)
@click.option("--fail-rate", type=FiniteFloatRange(0, 1), default=0.0, help="Share of 5xx.")
@click.option("--stall-rate", type=FiniteFloatRange(0, 1), default=0.0, help="Share of stalls.")
@click.option(
    "--stall-seconds",
    type=FiniteFloatRange(0, 3600),
    default=30.0,
    show_default=True,
    help="How long a stall lasts.",
)
@click.option(
    "--truncate-rate", type=FiniteFloatRange(0, 1), default=0.0,
    help="Share of cut JSON bodies."
)
@click.option(
    "--drop-rate", type=FiniteFloatRange(0, 1), default=0.0,
    help="Share of dropped connections."
)
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help="Seed of the fault sequence.")
@click.option("--evolve-seed", type=click.IntRange(0, MAX_SEED), default=None, metavar="S",
              help="Move the Hub forward (new models, edited cards, deletions, download "
                   "changes), seeded: once before serving, or every --evolve-every requests.")
@click.option("--evolve-changes", type=click.IntRange(1, MAX_COUNT), default=100,
              show_default=True, metavar="N", help="Changes per evolution step.")
@click.option("--evolve-every", type=click.IntRange(1, MAX_COUNT), default=None,
              metavar="REQUESTS", help="Evolve every REQUESTS requests while serving "
                                       "(needs --evolve-seed).")
@click.option("--verbose", "-v", is_flag=True, help="Log every request on stderr.")
def fakehub(
    snapshot: str,
    host: str,
    port: int,
    latency_ms: float,
    quota: int | None,
    window: int,
    fail_rate: float,
    stall_rate: float,
    stall_seconds: float,
    truncate_rate: float,
    drop_rate: float,
    seed: int,
    evolve_seed: int | None,
    evolve_changes: int,
    evolve_every: int | None,
    verbose: bool,
) -> None:
    """Serve a snapshot (JSONL or .jsonl.gz) as a fake Hugging Face Hub.

    Speaks the Hub's model routes (listing with filters, Link pagination and expand[];
    model info with baseModels and childrenModelCount), its rate-limit headers and
    errors, so huggingface_hub and `ecograph crawl` can run against it offline. Serves
    until Ctrl-C.

    \b
    Examples:
      ecograph fakehub fixtures/small_hub.jsonl --port 8765
      export HF_ENDPOINT=http://127.0.0.1:8765
      ecograph fakehub hub.jsonl.gz --quota 500 --window 300 --fail-rate 0.02 --seed 1
      ecograph fakehub hub.jsonl.gz --evolve-seed 7 --evolve-changes 5000
      ecograph fakehub hub.jsonl.gz --evolve-seed 7 --evolve-changes 20 --evolve-every 50
    """
    import signal
    import threading
    import time

    from ..fakehub import FakeHub

    if fail_rate + stall_rate + truncate_rate + drop_rate > 1:
        raise click.BadParameter("the fault rates add up to more than 1")
    if evolve_every is not None and evolve_seed is None:
        raise click.BadParameter("--evolve-every needs --evolve-seed")
    click.echo(f"Loading {snapshot} ...", err=True)
    started = time.perf_counter()
    hub = FakeHub(
        snapshot,
        host=host,
        port=port,
        latency_ms=latency_ms,
        quota=quota,
        window=window,
        fail_rate=fail_rate,
        stall_rate=stall_rate,
        stall_seconds=stall_seconds,
        truncate_rate=truncate_rate,
        drop_rate=drop_rate,
        seed=seed,
        verbose=verbose,
        evolve_every=evolve_every,
        evolve_changes=evolve_changes,
        evolve_seed=evolve_seed or 0,
    )
    index = hub.index
    click.echo(
        f"Indexed {len(index):,} models ({index.with_parents:,} with parents) "
        f"in {time.perf_counter() - started:.1f} s",
        err=True,
    )
    if evolve_seed is not None and evolve_every is None:
        done = hub.evolve()
        click.echo(f"Evolved (seed {evolve_seed}): {len(done.added):,} new, "
                   f"{len(done.edited):,} edited, {len(done.deleted):,} deleted, "
                   f"{len(done.downloads):,} download changes", err=True)
    stop = threading.Event()

    def _terminate(signum: int, frame: object) -> None:
        stop.set()

    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (e.g. embedded); Ctrl-C still works
        previous = None
    try:  # Ctrl-C at any moment (even while printing the URL) is a clean stop
        with hub:
            click.echo(f"Fake Hub serving at {hub.url}")
            click.echo(f"  export HF_ENDPOINT={hub.url}")
            click.echo("Press Ctrl-C to stop.", err=True)
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    click.echo(f"Stopped after {hub.requests:,} requests.", err=True)


COMMANDS.append(fakehub)


# --------------------------------------------------------------------------- synth


@click.command("synth")
@click.option(
    "--models",
    "-n",
    "n_models",
    type=click.IntRange(1, MAX_COUNT),
    default=100_000,
    show_default=True,
    help="Number of models to generate.",
)
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help="Random seed.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="Snapshot to write (.jsonl, or .jsonl.gz for gzip); written atomically.",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not show progress.")
def synth(n_models: int, seed: int, output: str, quiet: bool) -> None:
    """Write a realistic synthetic Hub snapshot (seeded, same bytes for the same seed).

    About 28% of the models declare a parent; a few foundations get huge families;
    finetunes, quantizations, adapters and merges in Hub-like shares; heavy-tailed
    authors and downloads; and the quirks of real data (self-loops, 2-cycles, missing
    parents, messy card values). The file loads in `ecograph fakehub` and `ecograph import`.

    \b
    Examples:
      ecograph synth --models 2000000 --seed 1 -o hub.jsonl.gz
      ecograph synth -n 20000 -o small.jsonl && ecograph fakehub small.jsonl
    """
    from ..atomic import atomic_paths
    from ..synth import write_snapshot
    from ._common import progress_bar

    # the temporary file ends with the target's name, so .gz still means gzip
    with (progress_bar(n_models, "synth", quiet=quiet, unit="models") as bar,
          atomic_paths(output) as (tmp,)):
        summary = write_snapshot(tmp, n_models, seed, progress=bar.update)
    top_id, top_size = summary.top_families[0] if summary.top_families else ("-", 0)
    click.echo(
        f"Wrote {summary.models:,} models to {output} ({summary.bytes / 1e6:,.1f} MB): "
        f"{summary.parent_share:.1%} with a parent, top family {top_id} ({top_size:,}), "
        f"{summary.seconds:.1f} s"
    )


COMMANDS.append(synth)
