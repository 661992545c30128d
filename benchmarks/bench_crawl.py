"""Benchmark: crawl a ~5,000-model family, ecograph vs a naive sequential crawler.

The fake Hub (20 ms latency per request) serves a synthetic hub (``ecograph.synth``, 120,000
models, whose largest family has ~5,600 models). Both crawlers go through
``huggingface_hub`` against the same server; requests are counted by the server.

- **ecograph**: ``crawl`` with 8 workers: one listing per family node (all fields
  expanded, so no per-node detail request), one detail request for the root, a few parent
  checks; a SQLite commit per node.
- **naive**: what public scripts do: breadth-first, sequential, ``HfApi.model_info`` per
  node plus ``HfApi.list_models(filter="base_model:<node>")`` for its children.

Usage::

    python benchmarks/bench_crawl.py                       # ~5,600-model family
    python benchmarks/bench_crawl.py --models 60000        # smaller (~1,400)
    python benchmarks/bench_crawl.py --skip-naive          # ecograph only

Targets (issue 3): ecograph makes <= 0.55x the naive requests and is >= 5x faster.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import deque
from pathlib import Path


def build_snapshot(n_models: int, seed: int) -> tuple[list[dict], str, int]:
    """Model objects of a synthetic hub, and the root of its largest family."""
    from ecograph import synth

    hub = synth.build(n_models, seed)
    objs = [obj for lines in synth.iter_lines(hub) for obj in map(_loads, lines)]
    (row, size), *_ = synth._top_families(hub, 1)
    return objs, objs[row]["id"], size  # line i is row i


def _loads(line: str) -> dict:
    import json

    return json.loads(line)


def crawl_ecograph(url: str, root: str, db: Path, workers: int) -> tuple[set[str], float]:
    from ecograph.crawl import crawl
    from ecograph.hub import HubClient
    from ecograph.store import Store

    hub = HubClient(url, token=False)
    t0 = time.perf_counter()
    with Store.open(db) as store:
        crawl(store, hub, [root], workers=workers)
        wall = time.perf_counter() - t0
        _, edges = store.load()
    kids: dict[str, list[str]] = {}
    for p, c in edges.select("parent", "child").iter_rows():
        kids.setdefault(p, []).append(c)
    return _reach(kids, root), wall


def _reach(kids: dict[str, list[str]], root: str) -> set[str]:
    seen, queue = {root}, deque([root])
    while queue:
        for c in kids.get(queue.popleft(), ()):
            if c not in seen:
                seen.add(c)
                queue.append(c)
    return seen


def crawl_naive(url: str, root: str) -> tuple[set[str], float]:
    """Sequential BFS: model_info per node + a children listing per node."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=False)
    expand = ["author", "createdAt", "downloads", "likes", "tags", "baseModels",
              "childrenModelCount"]
    t0 = time.perf_counter()
    seen, queue = {root}, deque([root])
    records = {}
    while queue:
        node = queue.popleft()
        records[node] = api.model_info(node, expand=expand)
        for child in api.list_models(filter=f"base_model:{node}", expand=["tags"]):
            if child.id not in seen:
                seen.add(child.id)
                queue.append(child.id)
    return seen, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=120_000, help="synthetic hub size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args(argv)

    from ecograph.fakehub import FakeHub

    t = time.perf_counter()
    objs, root, size = build_snapshot(args.models, args.seed)
    print(f"synthetic hub: {len(objs):,} models; family of {root}: {size:,} models "
          f"(built in {time.perf_counter() - t:.1f} s)")
    rows = []
    with FakeHub(objs, latency_ms=args.latency_ms) as fh, \
            tempfile.TemporaryDirectory() as tmp:
        fh.reset_counters()
        found, wall = crawl_ecograph(fh.url, root, Path(tmp) / "bench.db", args.workers)
        eco = (len(found), fh.requests, wall)
        rows.append(("ecograph", *eco))
        print(f"ecograph done: {eco[0]:,} models, {eco[1]:,} requests, {eco[2]:.1f} s",
              flush=True)
        if not args.skip_naive:
            fh.reset_counters()
            found_naive, wall = crawl_naive(fh.url, root)
            naive = (len(found_naive), fh.requests, wall)
            rows.append(("naive", *naive))
            if found_naive != found:
                print(f"WARNING: the crawlers disagree ({len(found ^ found_naive)} models)")
    print()
    print(f"{'crawler':<10} {'models':>8} {'requests':>9} {'wall s':>8} {'models/s':>9}")
    for name, n, req, w in rows:
        print(f"{name:<10} {n:>8,} {req:>9,} {w:>8.1f} {n / w:>9.0f}")
    if len(rows) == 2:
        (_, _, req_e, w_e), (_, _, req_n, w_n) = rows
        print()
        print(f"requests: ecograph / naive = {req_e / req_n:.2f}x  (target <= 0.55x)")
        print(f"wall time: naive / ecograph = {w_n / w_e:.1f}x faster  (target >= 5x)")
        ok = req_e / req_n <= 0.55 and w_n / w_e >= 5
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
