"""Benchmark: how much the history grows a store per refresh (DESIGN §10).

Usage::

    python benchmarks/bench_history_growth.py                  # 200k models, 5,000 changed
    python benchmarks/bench_history_growth.py --models 2000000 --changed 5000

Writes a synthetic snapshot (``ecograph.synth``), imports it, then imports a copy in which
``--changed`` models have new downloads (a later observation), and prints the store's size
before and after the second import (after a WAL checkpoint), the history rows it added, and
the same for a third import of an unchanged copy (which must add nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from ecograph import synth
from ecograph.importer import import_snapshot
from ecograph.store import Store


def _size(db: Path) -> int:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(os.path.getsize(str(db) + s) for s in ("", "-wal") if os.path.exists(str(db) + s))


def _rows(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("SELECT count(*) FROM model_history").fetchone()[0],
                conn.execute("SELECT count(*) FROM edge_history").fetchone()[0])
    finally:
        conn.close()


def _import(db: Path, src: Path, when: float) -> float:
    os.utime(src, (when, when))
    started = time.perf_counter()
    with Store.open(db) as store:
        import_snapshot(store, src)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=200_000)
    ap.add_argument("--changed", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        first, second = base / "day1.jsonl", base / "day2.jsonl"
        hub = synth.build(args.models, seed=args.seed)
        lines = [line for chunk in synth.iter_lines(hub) for line in chunk]
        first.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rng = random.Random(args.seed)
        for i in rng.sample(range(len(lines)), args.changed):
            obj = json.loads(lines[i])
            obj["downloads"] = int(obj.get("downloads") or 0) + 1 + rng.randrange(1000)
            lines[i] = json.dumps(obj)
        second.write_text("\n".join(lines) + "\n", encoding="utf-8")
        db = base / "hub.db"
        day = 86_400.0
        t0 = time.time() - 3 * day
        secs = _import(db, first, t0)
        size1, rows1 = _size(db), _rows(db)
        print(f"import of {len(lines):,} models: {secs:.1f} s, store {size1:,} bytes, "
              f"history rows {rows1[0]:,} models / {rows1[1]:,} edge events")
        secs = _import(db, second, t0 + day)
        size2, rows2 = _size(db), _rows(db)
        print(f"re-import with {args.changed:,} changed models: {secs:.1f} s, "
              f"store +{size2 - size1:,} bytes, +{rows2[0] - rows1[0]:,} model history rows, "
              f"+{rows2[1] - rows1[1]:,} edge events")
        secs = _import(db, second, t0 + 2 * day)
        size3, rows3 = _size(db), _rows(db)
        print(f"re-import unchanged: {secs:.1f} s, store +{size3 - size2:,} bytes, "
              f"+{rows3[0] - rows2[0]:,} model history rows, +{rows3[1] - rows2[1]:,} edge events")


if __name__ == "__main__":
    main()
