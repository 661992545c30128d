"""Benchmark: bulk import of a 2,000,000-model snapshot, then load() into polars.

Usage::

    python benchmarks/bench_import.py                 # 2M models, JSONL + parquet
    python benchmarks/bench_import.py --models 200000 --formats jsonl

The snapshot comes from ``ecograph synth`` when that module exists, else from a crude
vectorised generator below (same layout: ids, dates, counters, ``base_model:`` tags for
~28% of the models, some missing parents and case variants). The parquet variant is
written from it in the public ``models.parquet`` layout (``baseModels`` struct).

Each import runs in a fresh subprocess so peak RSS (``ru_maxrss``) is the import's own.
Targets (issue 3): under 60 s and under 2 GB for 2M models.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl


def crude_snapshot(n: int, path: Path, seed: int = 7) -> None:
    """Write an ``n``-model JSONL snapshot quickly (vectorised, not realistic in detail)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    orgs = rng.zipf(1.6, n) % 50_000
    ids = pl.Series([f"org{o}/model-{i}" for o, i in zip(orgs, idx, strict=True)])
    has_parent = (rng.random(n) < 0.28) & (idx > 10)
    # heavy-tailed: parents skew towards early (popular) models
    parent_idx = np.floor(idx * rng.random(n) ** 4).astype(np.int64)
    rels = np.array(["finetune", "quantized", "adapter", "merge"])[
        rng.choice(4, n, p=[0.45, 0.35, 0.15, 0.05])
    ]
    missing = rng.random(n) < 0.01
    created = np.datetime64("2021-01-01T00:00:00") + (idx * (150_000_000 // max(n, 1))).astype(
        "timedelta64[s]"
    )
    df = pl.DataFrame(
        {
            "id": ids,
            "parent_idx": parent_idx,
            "has_parent": has_parent,
            "rel": rels,
            "missing": missing,
            "createdAt": pl.Series(created.astype("datetime64[ms]")),
            "downloads": rng.zipf(1.8, n).astype(np.int64),
            "likes": rng.zipf(2.2, n).astype(np.int64) - 1,
        }
    )
    parent = pl.when(pl.col("missing")).then(pl.format("gone/model-{}", pl.col("parent_idx")))
    parent = parent.otherwise(ids.gather(parent_idx))
    df = df.with_columns(
        pl.when(pl.col("has_parent")).then(parent).alias("parent"),
        pl.col("createdAt").dt.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    ).with_columns(
        pl.col("id").str.split("/").list.first().alias("author"),
        pl.col("createdAt").alias("lastModified"),
        (pl.col("downloads") * 6).alias("downloadsAllTime"),
        pl.lit("transformers").alias("library_name"),
        pl.lit("text-generation").alias("pipeline_tag"),
        pl.lit(False).alias("private"),
        pl.lit(False).alias("gated"),
        pl.concat_list(
            pl.lit("transformers"),
            pl.lit("safetensors"),
            pl.lit("license:apache-2.0"),
        ).alias("tags0"),
        pl.when(pl.col("has_parent"))
        .then(
            pl.concat_list(
                pl.format("base_model:{}", "parent"),
                pl.format("base_model:{}:{}", "rel", "parent"),
            )
        )
        .otherwise(pl.lit([], dtype=pl.List(pl.Utf8)))
        .alias("tags1"),
    )
    df = df.with_columns(
        pl.concat_list("tags0", "tags1", pl.lit("region:us")).alias("tags"),
        pl.struct(
            pl.lit("apache-2.0").alias("license"), pl.col("parent").alias("base_model")
        ).alias("cardData"),
    ).select(
        "id",
        "author",
        "createdAt",
        "lastModified",
        "downloads",
        "downloadsAllTime",
        "likes",
        "library_name",
        "pipeline_tag",
        "private",
        "gated",
        "tags",
        "cardData",
    )
    df.write_ndjson(path)


def to_models_parquet(jsonl: Path, out: Path) -> None:
    """Rewrite a JSONL snapshot in the public models.parquet layout (streaming; the parents
    and relation of ``baseModels`` come from ecograph's own parse of each batch)."""
    import pyarrow.parquet as pq

    from ecograph.importer import _jsonl_batches, snapshot_format

    bm_type = pl.Struct(
        {"relation": pl.Utf8, "models": pl.List(pl.Struct({"_id": pl.Utf8, "id": pl.Utf8}))}
    )
    writer = None
    ts = pl.Datetime("ms", "UTC")
    for batch in _jsonl_batches(jsonl, snapshot_format(jsonl), 200_000):
        bm = batch.edges.group_by("child").agg(
            pl.struct(pl.col("parent").alias("_id"), pl.col("parent").alias("id")).alias("models"),
            pl.col("relation").first(),
        )
        df = (
            batch.models.join(bm.rename({"child": "id"}), on="id", how="left")
            .with_columns(
                pl.col("created_at").cast(pl.Datetime("us", "UTC")).cast(ts).alias("createdAt"),
                pl.col("last_modified")
                .cast(pl.Datetime("us", "UTC"))
                .cast(ts)
                .alias("lastModified"),
                pl.col("tags").str.json_decode(pl.List(pl.Utf8)),
                pl.when(pl.col("models").is_not_null())
                .then(pl.struct(pl.col("relation_right").alias("relation"), "models"))
                .cast(bm_type)
                .alias("baseModels"),
                pl.lit(0.0).alias("trendingScore"),
            )
            .select(
                "id",
                "author",
                "createdAt",
                "lastModified",
                "downloads",
                pl.col("downloads_all_time").alias("downloadsAllTime"),
                "likes",
                "trendingScore",
                "pipeline_tag",
                "library_name",
                "tags",
                "baseModels",
            )
        )
        table = df.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(str(out), table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


_CHILD = r"""
import json, os, resource, sys, time
from ecograph.store import Store
from ecograph.importer import import_snapshot

def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime

src, db = sys.argv[1], sys.argv[2]
load_before = os.getloadavg()[0]
with Store.open(db) as store:
    c0 = cpu()
    r = import_snapshot(store, src)
    import_cpu = cpu() - c0
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    models, edges = store.load()
    load_s = time.perf_counter() - t
print(json.dumps({
    "rows": r.models, "edges": r.edges, "slow": r.slow_rows, "missing": r.missing,
    "seconds": r.elapsed, "cpu_s": import_cpu, "rss_mb": rss_import / 1024,
    "load_s": load_s, "load_rows": models.height, "load_edges": edges.height,
    "rss_total_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "loadavg": (load_before + os.getloadavg()[0]) / 2,
}))
"""


def run_import(src: Path, db: Path) -> dict[str, float]:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(src), str(db)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["db_mb"] = db.stat().st_size / 2**20
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=int, default=2_000_000)
    ap.add_argument("--formats", default="jsonl,parquet")
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    ap.add_argument("--crude", action="store_true", help="skip ecograph synth")
    ap.add_argument("--snapshot", default=None, help="use this JSONL(.gz) snapshot")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="ecograph-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = Path(args.snapshot) if args.snapshot else work / f"snapshot-{args.models}.jsonl"
    t = time.perf_counter()
    how = "given" if args.snapshot else "crude"
    if not src.exists():
        if not args.crude and importlib.util.find_spec("ecograph.synth") is not None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ecograph",
                    "synth",
                    "--models",
                    str(args.models),
                    "-o",
                    str(src),
                ],
                check=True,
            )
            how = "ecograph synth"
        else:
            crude_snapshot(args.models, src)
    print(
        f"snapshot: {src} ({how}, {src.stat().st_size / 2**20:.0f} MB, "
        f"{time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    rows = []
    for fmt in args.formats.split(","):
        path = src
        if fmt == "parquet":
            path = work / f"{src.name.split('.')[0]}.parquet"
            if not path.exists():
                to_models_parquet(src, path)
        res = run_import(path, work / f"bench-{fmt}.db")
        rows.append((fmt, res))
    print()
    print(
        f"{'format':8} {'rows':>10} {'edges':>8} {'slow':>6} {'import s':>9} {'CPU s':>6} "
        f"{'peak RSS MB':>11} {'load() s':>8} {'db MB':>6} {'loadavg':>7}"
    )
    for fmt, r in rows:
        print(
            f"{fmt:8} {r['rows']:>10,} {r['edges']:>8,} {r['slow']:>6,} {r['seconds']:>9.1f} "
            f"{r['cpu_s']:>6.1f} {r['rss_mb']:>11.0f} {r['load_s']:>8.2f} {r['db_mb']:>6.0f} "
            f"{r['loadavg']:>7.1f}"
        )
    print(
        "\nimport s / load() s: wall time; CPU s: user+sys of the import (all threads); "
        "peak RSS: ru_maxrss after the import; loadavg: 1-min load of the machine during "
        f"the run.\n{os.cpu_count()} cores; python {sys.version.split()[0]}, "
        f"polars {pl.__version__}"
    )


if __name__ == "__main__":
    main()
