"""The Hub's ``safetensors.total`` (DESIGN §8 ``params_b``): crawled, imported from both
snapshot layouts and stored alike, and preferred by ``lineages`` over the name."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ecograph
from ecograph.crawl import crawl
from ecograph.fakehub import FakeHub
from ecograph.hub import DETAIL_EXPAND, LIST_EXPAND, HubClient
from ecograph.importer import import_snapshot
from ecograph.pacing import RateLimiter
from ecograph.records import parse_model
from ecograph.store import Store


def _st(total: int) -> dict[str, Any]:
    """A ``safetensors`` object as the Hub sends it (per-dtype counts and their total)."""
    return {"parameters": {"BF16": total - 1000, "F32": 1000}, "total": total}


# Two foundations: the name says 7B but the weights hold 3.2B; the other has no count
# (its size comes from the name). A member with a count, one without, a quant with one.
OBJS: list[dict[str, Any]] = [
    {"id": "acme/Widget-7B", "author": "acme", "createdAt": "2024-07-01T00:00:00.000Z",
     "downloads": 100, "tags": ["safetensors"], "safetensors": _st(3_212_749_824)},
    {"id": "u/widget-ft", "author": "u", "createdAt": "2024-07-03T00:00:00.000Z",
     "tags": ["base_model:finetune:acme/Widget-7B"], "safetensors": _st(3_212_750_000)},
    {"id": "u/widget-gguf", "author": "u", "createdAt": "2024-07-04T00:00:00.000Z",
     "tags": ["base_model:quantized:acme/Widget-7B"]},
    {"id": "beta/Gadget-13B", "author": "beta", "createdAt": "2024-08-01T00:00:00.000Z",
     "tags": []},
    {"id": "v/gadget-lora", "author": "v", "createdAt": "2024-08-02T00:00:00.000Z",
     "tags": ["base_model:adapter:beta/Gadget-13B"], "safetensors": _st(25_165_824)},
]
TOTALS = {o["id"]: (o.get("safetensors") or {}).get("total") for o in OBJS}


def _jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in OBJS), encoding="utf-8")
    return path


def _models_parquet(path: Path) -> Path:
    """The objects in the public models.parquet layout (``safetensors`` a struct)."""
    st = pl.Struct({"parameters": pl.Struct({"BF16": pl.Int64, "F32": pl.Int64}),
                    "total": pl.Int64})
    pl.DataFrame(
        [{"id": o["id"], "author": o["author"], "createdAt": o["createdAt"],
          "tags": o["tags"], "safetensors": o.get("safetensors")} for o in OBJS],
        schema={"id": pl.Utf8, "author": pl.Utf8, "createdAt": pl.Utf8,
                "tags": pl.List(pl.Utf8), "safetensors": st},
        orient="row",
    ).with_columns(
        pl.col("createdAt").str.to_datetime(time_unit="ms", time_zone="UTC")
    ).write_parquet(path)
    return path


def _stored(db: Path) -> dict[str, int | None]:
    with Store.open(db) as store:
        models, _ = store.load()
    return dict(models.select("id", "safetensors_total").iter_rows())


def test_parse_model_reads_the_total() -> None:
    assert parse_model(OBJS[0]).record.safetensors_total == 3_212_749_824
    assert parse_model(OBJS[2]).record.safetensors_total is None
    for odd in ({"total": "8B"}, {"total": True}, {"total": -1}, "8B", [1], {"parameters": {}}):
        assert parse_model({"id": "a/b", "safetensors": odd}).record.safetensors_total is None


def test_the_crawl_asks_for_safetensors() -> None:
    assert "safetensors" in LIST_EXPAND and "safetensors" in DETAIL_EXPAND


def test_import_and_crawl_store_the_same_totals(tmp_path: Path) -> None:
    jsonl = _jsonl(tmp_path / "hub.jsonl")
    for name, src in (("jsonl", jsonl), ("parquet", _models_parquet(tmp_path / "m.parquet"))):
        with Store.open(tmp_path / f"{name}.db") as store:
            import_snapshot(store, src)
        assert _stored(tmp_path / f"{name}.db") == TOTALS, name
    # one line the vectorised path hands to Python (a float count) agrees as well
    odd = [*OBJS[:-1], {**OBJS[-1], "downloads": 1.5}]
    (tmp_path / "odd.jsonl").write_text("".join(json.dumps(o) + "\n" for o in odd))
    with Store.open(tmp_path / "odd.db") as store:
        import_snapshot(store, tmp_path / "odd.jsonl")
    assert _stored(tmp_path / "odd.db") == TOTALS
    with FakeHub(jsonl) as hub:
        client = HubClient(hub.url, token=False, timeout=5, limiter=RateLimiter())
        with Store.open(tmp_path / "crawl.db") as store:
            res = crawl(store, client, ["acme/Widget-7B", "beta/Gadget-13B"], workers=1)
    assert res.status == "done"
    assert _stored(tmp_path / "crawl.db") == TOTALS


def test_lineages_prefer_the_stored_total_over_the_name(tmp_path: Path) -> None:
    with Store.open(tmp_path / "eco.db") as store:
        import_snapshot(store, _jsonl(tmp_path / "hub.jsonl"))
    rows = {r["root"]: r for r in ecograph.open(tmp_path / "eco.db").lineages().to_dicts()}
    assert rows["acme/Widget-7B"]["params_b"] == pytest.approx(3.212749824)
    assert rows["acme/Widget-7B"]["size_class"] == "1-4B"  # not 5-9B, as the name says
    assert rows["beta/Gadget-13B"]["params_b"] == 13.0  # no count: the name
    assert rows["beta/Gadget-13B"]["size_class"] == "10-20B"


def test_an_older_store_gains_the_column(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Store.open(db) as store:
        import_snapshot(store, _jsonl(tmp_path / "hub.jsonl"))
    conn = sqlite3.connect(db)  # as ecograph wrote it before the column existed
    conn.execute("ALTER TABLE models DROP COLUMN safetensors_total")
    conn.commit()
    conn.close()
    with Store.open(db) as store:
        models, _ = store.load()
        assert models.get_column("safetensors_total").null_count() == models.height
        import_snapshot(store, tmp_path / "hub.jsonl")
    assert _stored(db) == TOTALS
