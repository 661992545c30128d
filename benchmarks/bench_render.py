"""Benchmark: fork-tree rendering and exports of synthetic families.

Render time (layout + drawing + PNG at 200 dpi, default node budget 1,500) and peak RSS for
families of 500, 5,000 and 50,000 models, and export time per format for a 50,000-model
family. Families come from :func:`ecograph.layout.random_family` (seeded, heavy-tailed,
~5% merges), built as polars frames in the schemas of :mod:`ecograph.frames`. Each
measurement runs in a fresh subprocess so that peak RSS is its own.

Targets (issue 5): 5,000 models <= 2 s, 50,000 (folded) <= 8 s, node-link JSON of a
50,000-model family <= 1 s (``render`` = the node-link ``style="tree"``). Issue 16: a
50,000-model family as a sunburst (layout + drawing + PNG at 200 dpi) <= 2 s. Wall and
CPU seconds are both printed (on a loaded machine wall time includes waiting).

    python benchmarks/bench_render.py            # the full table
    python benchmarks/bench_render.py --sizes 500 5000 --formats json csv
    python benchmarks/bench_render.py --sizes --formats --sunburst-sizes 50000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ["json", "graphml", "gexf", "csv", "parquet", "dot"]
TARGETS = {("render", 5_000): 2.0, ("render", 50_000): 8.0, ("export:json", 50_000): 1.0,
           ("sunburst", 50_000): 2.0}


def family(n: int, seed: int = 1):
    import datetime as dt

    import numpy as np
    import polars as pl

    from ecograph.frames import MODEL_SCHEMA
    from ecograph.layout import random_family, spanning_tree

    rows, edges = random_family(n, seed=seed)
    nodes = pl.DataFrame(rows)
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 4, 18, tzinfo=dt.UTC)
    days = np.sort(rng.exponential(60.0, n))
    days[0] = 0.0
    nodes = nodes.with_columns(
        pl.Series("created_at", [start + dt.timedelta(days=float(d)) for d in days])
        .cast(MODEL_SCHEMA["created_at"]),
        pl.lit("ok").alias("status"),
    )
    e = pl.DataFrame(edges, schema=["parent", "child", "relation"], orient="row")
    t = spanning_tree(nodes["id"].to_list(), list(zip(e["parent"], e["child"], strict=True)),
                      rows[0]["id"])
    depth = dict(zip(t.ids, t.depth.tolist(), strict=True))
    nodes = nodes.with_columns(pl.Series("depth", [depth[i] for i in nodes["id"]],
                                         dtype=pl.Int64))
    return nodes, e, rows[0]["id"]


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(kind: str, n: int, out_dir: str) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    nodes, edges, root = family(n)
    base = _peak_rss_mb()
    if kind in ("render", "sunburst"):
        from ecograph.render import fork_tree

        style = "tree" if kind == "render" else "sunburst"
        c0 = time.process_time()
        t0 = time.perf_counter()
        tree = fork_tree(nodes, edges, root, dpi=200, style=style)
        t1 = time.perf_counter()
        tree.save(Path(out_dir) / f"{style}_{n}.png", dpi=200)
        t2 = time.perf_counter()
        marks = (tree.layout.n_markers if tree.layout is not None
                 else len(tree.sunburst) if tree.sunburst is not None else 0)
        return {"kind": kind, "n": n, "seconds": t2 - t0, "cpu": time.process_time() - c0,
                "draw": t1 - t0, "save": t2 - t1, "markers": marks, "folded": tree.folded,
                "peak_rss_mb": _peak_rss_mb(), "base_rss_mb": base}
    fmt = kind.split(":", 1)[1]
    from ecograph.export import write_export

    t0 = time.perf_counter()
    paths = write_export(nodes, edges, Path(out_dir) / f"fam_{n}.{fmt}", fmt)
    dt_ = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in paths)
    return {"kind": kind, "n": n, "seconds": dt_, "bytes": size, "peak_rss_mb": _peak_rss_mb(),
            "base_rss_mb": base}


def measure(kind: str, n: int, out_dir: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), out_dir],
        capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[500, 5_000, 50_000])
    ap.add_argument("--sunburst-sizes", type=int, nargs="*", default=[50_000])
    ap.add_argument("--export-size", type=int, default=50_000)
    ap.add_argument("--formats", nargs="*", default=FORMATS, choices=FORMATS)
    ap.add_argument("--out", default=None, help="Keep the pictures and files here.")
    ap.add_argument("--one", nargs=3, metavar=("KIND", "N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, n, out_dir = args.one
        print(json.dumps(run_one(kind, int(n), out_dir)))
        return
    out_dir = args.out or tempfile.mkdtemp(prefix="ecograph-bench-")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    rows = [measure("render", n, out_dir) for n in args.sizes]
    rows += [measure("sunburst", n, out_dir) for n in args.sunburst_sizes]
    rows += [measure(f"export:{f}", args.export_size, out_dir) for f in args.formats]
    print(f"{'what':<16} {'models':>8} {'seconds':>8} {'cpu s':>7} {'target':>7} "
          f"{'peak RSS':>9}  notes")
    for r in rows:
        target = TARGETS.get((r["kind"], r["n"]))
        tgt = f"{target:.1f}" if target else "-"
        mark = "" if target is None else (" ok" if r["seconds"] <= target else " SLOW")
        cpu = f"{r['cpu']:.2f}" if "cpu" in r else "-"
        if r["kind"] in ("render", "sunburst"):
            what = "markers" if r["kind"] == "render" else "wedges"
            note = (f"draw {r['draw']:.2f} s + png {r['save']:.2f} s; {r['markers']:,} {what}"
                    + (f", {r['folded']:,} folded" if r["folded"] else ""))
        else:
            note = f"{r['bytes'] / 1e6:.1f} MB"
        print(f"{r['kind']:<16} {r['n']:>8,} {r['seconds']:>8.2f} {cpu:>7} {tgt:>7} "
              f"{r['peak_rss_mb']:>7.0f}MB  {note}{mark}")
    print(f"(files in {out_dir})")


if __name__ == "__main__":
    main()
