"""Benchmark the synthetic Hub generator: time, size and shape at several sizes.

    python benchmarks/bench_synth.py                 # 100k, 500k, 2M
    python benchmarks/bench_synth.py 2000000 --seed 1 --keep /tmp/hub2m.jsonl.gz

For every size: wall and CPU seconds of ``write_snapshot`` (generation + gzip), file size,
share of models with a parent, relation mix, deepest generation, largest fan-out, and the ten
largest families (exact sizes, merge parents included). The target is 2,000,000 models in
under 2 minutes on a 2-core machine. CPU seconds are reported because wall time is inflated
when the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ecograph import synth


def _max_depth(hub: synth.SynthHub) -> int:
    depth = np.zeros(hub.n, dtype=np.int64)
    has = hub.parent >= 0
    for _ in range(200):
        nxt = np.where(has, depth[np.maximum(hub.parent, 0)] + 1, 0)
        if np.array_equal(nxt, depth):
            break
        depth = nxt
    return int(depth.max())


def run(n: int, seed: int, keep: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(keep) if keep else Path(tmp) / f"synth_{n}.jsonl.gz"
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        summary = synth.write_snapshot(path, n, seed)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        depth = _max_depth(synth.build(n, seed))
    rel = summary.relations
    with_parent = max(1, sum(rel.values()))
    mix = ", ".join(f"{k} {v / with_parent:.1%}" for k, v in rel.items())
    print(f"\n## {n:,} models (seed {seed})")
    print("| models | wall s | cpu s | MB | with parent | edges | max depth | max fan-out |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {n:,} | {wall:.1f} | {cpu:.1f} | {summary.bytes / 1e6:.1f} | "
        f"{summary.parent_share:.1%} | {summary.edges:,} | {depth} | "
        f"{summary.max_fanout[0]} ({summary.max_fanout[1]:,}) |"
    )
    print(f"\nrelations of models with a parent (first-parent view): {mix}")
    print("\n| rank | foundation | family size |")
    print("|---:|---|---:|")
    for k, (mid, size) in enumerate(summary.top_families, 1):
        print(f"| {k} | {mid} | {size:,} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[100_000, 500_000, 2_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="write the (last) snapshot here instead of a temp file")
    args = ap.parse_args()
    print(f"bench_synth on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for n in args.sizes:
        run(n, args.seed, args.keep)


if __name__ == "__main__":
    main()
