"""Benchmark: refresh a whole-Hub store after the Hub changed 5,000 models.

A synthetic hub (``ecograph synth``) is imported into a store (cached under
``$ECOGRAPH_BENCH_DIR`` by ``bench_metrics.ensure_data``); the benchmark copies that store,
serves the snapshot from the fake Hub, moves the Hub forward by ``--changes`` seeded
changes (``FakeHub.evolve``; by default new models and edited cards: what a
``lastModified`` listing tells), then runs ``ecograph refresh`` on the copy (a separate
process, as a user would) and compares the refreshed store with a fresh import of the
changed Hub (models, edges, statuses; not ``fetched_at``).

Usage::

    ECOGRAPH_BENCH_DIR=/tmp/i15_bench python benchmarks/bench_refresh.py --models 200000
    ECOGRAPH_BENCH_DIR=/tmp/i15_bench python benchmarks/bench_refresh.py --models 2000000

Targets (issue 15): <= 10 requests, <= 30 s, refreshed store == fresh import.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import BENCH_DIR, REPO, ensure_data  # noqa: E402


def _frames(db: Path):
    from ecograph.store import Store

    with Store.open(db) as store:
        models, edges = store.load(cache=False)
    return models.drop("fetched_at"), edges


def compare(refreshed: Path, fresh: Path) -> tuple[bool, str]:
    """Whether the two stores hold the same Hub: ok models (every column but fetched_at)
    and edges equal; the refreshed store may keep extra ``missing`` rows (deleted models,
    placeholders no edge names any more)."""
    import polars as pl

    rm, re_ = _frames(refreshed)
    fm, fe = _frames(fresh)
    if not re_.equals(fe):
        return False, f"edges differ ({re_.height:,} vs {fe.height:,})"
    ok_r, ok_f = rm.filter(pl.col("status") == "ok"), fm.filter(pl.col("status") == "ok")
    if not ok_r.equals(ok_f):
        diff = ok_r.join(ok_f, on=list(ok_f.columns), how="anti", nulls_equal=True)
        return False, f"ok models differ ({ok_r.height:,} vs {ok_f.height:,}; {diff.height} rows)"
    miss_r = set(rm.filter(pl.col("status") != "ok")["id"])
    miss_f = set(fm.filter(pl.col("status") != "ok")["id"])
    if not miss_f <= miss_r:
        return False, f"{len(miss_f - miss_r)} placeholders of the import are absent"
    return True, (f"{ok_r.height:,} ok models, {re_.height:,} edges, "
                  f"{len(miss_f):,} missing (+{len(miss_r - miss_f)} kept)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--changes", type=int, default=5_000)
    ap.add_argument("--kinds", default="new,edit",
                    help="kinds of change (new,edit,delete,downloads); deletions need "
                         "--check-deleted and downloads a scan, by design")
    args = ap.parse_args()

    from ecograph.fakehub import FakeHub, SnapshotIndex

    rows: list[tuple[str, str]] = []
    db = ensure_data(args.models, args.seed)
    snap = db.with_suffix(".jsonl.gz")
    work = BENCH_DIR / f"refresh_{args.models}.db"
    for p in (work, work.with_name(work.name + "-wal"), work.with_name(work.name + "-shm")):
        p.unlink(missing_ok=True)
    t = time.perf_counter()
    shutil.copyfile(db, work)
    print(f"  copy store: {time.perf_counter() - t:.1f} s", file=sys.stderr)

    t = time.perf_counter()
    index = SnapshotIndex.from_path(snap)
    rows.append(("index snapshot", f"{len(index):,} models, {time.perf_counter() - t:.1f} s"))
    kinds = {k.strip(): 1.0 for k in args.kinds.split(",") if k.strip()}
    with FakeHub(index) as hub:
        t = time.perf_counter()
        changes = hub.evolve(args.changes, seed=args.seed + 1, kinds=kinds)
        rows.append(("evolve", f"{len(changes.added):,} new, {len(changes.edited):,} edited, "
                               f"{len(changes.deleted):,} deleted, "
                               f"{len(changes.downloads):,} downloads "
                               f"({time.perf_counter() - t:.1f} s)"))
        hub.reset_counters()
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_DISABLE_TELEMETRY": "1"}
        cmd = [sys.executable, "-m", "ecograph", "refresh", "--db", str(work),
               "--endpoint", hub.url, "--quiet"]
        t = time.perf_counter()
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        wall = time.perf_counter() - t
        requests = hub.requests
        print(out, file=sys.stderr)
        t = time.perf_counter()
        again = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        wall2 = time.perf_counter() - t
        requests2 = hub.requests - requests
        del again
        changed = BENCH_DIR / f"changed_{args.models}.jsonl"
        index.write_jsonl(changed)
    fresh = BENCH_DIR / f"fresh_{args.models}.db"
    for p in (fresh, fresh.with_name(fresh.name + "-wal"), fresh.with_name(fresh.name + "-shm")):
        p.unlink(missing_ok=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ecograph", "import", str(changed), "--db", str(fresh),
                    "--quiet"], env=env, check=True, capture_output=True)
    rows.append(("fresh import of the changed hub", f"{time.perf_counter() - t:.1f} s"))
    same, detail = compare(work, fresh)
    rows += [
        ("refresh requests (target <= 10)", f"{requests}"),
        ("refresh wall, process included (target <= 30 s)", f"{wall:.1f} s"),
        ("second refresh (unchanged hub)", f"{requests2} request, {wall2:.1f} s"),
        ("refreshed == fresh import", f"{same}: {detail}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\nbench_refresh: {args.models:,}-model store, {args.changes:,} changes "
          f"({args.kinds})")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    changed.unlink(missing_ok=True)
    if not same or requests > 10 or wall > 30:
        sys.exit(1)


if __name__ == "__main__":
    main()
