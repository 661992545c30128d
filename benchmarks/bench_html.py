"""Benchmark: the interactive fork tree (one self-contained HTML page) of synthetic families.

Wall and CPU time of :func:`ecograph.html_tree.interactive_tree` (layout with the default
node budget of 1,500 markers, SVG, JSON data) plus writing the page, and the page's size,
for families of 500, 5,000 and 50,000 models built by :func:`ecograph.layout.random_family`
(seeded, heavy-tailed, ~5% merges; the same families as ``bench_render.py``). Each size
runs in a fresh subprocess (imports included in neither time; reported apart).

Target (issue 16): a 50,000-member family renders as HTML in <= 3 s.

    python benchmarks/bench_html.py                 # the full table
    python benchmarks/bench_html.py --sizes 500 5000 --repeat 3
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
TARGET = {50_000: 3.0}


def family(n: int, seed: int = 1):
    """Nodes (id, author, relation, downloads, likes, created_at, status) and edges."""
    import datetime as dt

    import numpy as np
    import polars as pl

    from ecograph.frames import MODEL_SCHEMA
    from ecograph.layout import random_family

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
    return nodes, e, rows[0]["id"]


def one(n: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    from ecograph.atomic import atomic_write
    from ecograph.html_tree import interactive_tree

    imports = time.perf_counter() - t0
    nodes, edges, root = family(n)
    best: tuple[float, float] | None = None
    size = markers = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            tree = interactive_tree(nodes, edges, root)
            with atomic_write(Path(tmp) / "tree.html") as fh:
                fh.write(tree.page)
            took = (time.perf_counter() - w0, time.process_time() - c0)
            best = took if best is None or took[0] < best[0] else best
            size = (Path(tmp) / "tree.html").stat().st_size
            markers = tree.layout.n_markers
    assert best is not None
    return {"n": n, "wall": best[0], "cpu": best[1], "imports": imports, "bytes": size,
            "markers": markers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 5_000, 50_000])
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per size")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.repeat)))
        return
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    print(f"{'models':>8} {'markers':>8} {'wall s':>8} {'cpu s':>7} {'imports s':>10} "
          f"{'page KB':>8}  target")
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--repeat",
                              str(args.repeat)], capture_output=True, text=True, env=env,
                             check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        goal = TARGET.get(n)
        verdict = "" if goal is None else (f"<= {goal:.0f} s "
                                           + ("ok" if r["wall"] <= goal else "MISSED"))
        print(f"{r['n']:>8,} {r['markers']:>8,} {r['wall']:>8.2f} {r['cpu']:>7.2f} "
              f"{r['imports']:>10.2f} {r['bytes'] / 1024:>8.0f}  {verdict}")


if __name__ == "__main__":
    main()
