"""Bulk import (JSONL, JSONL.gz, models.parquet) and the ``import`` / ``info`` commands."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from ecograph.cli import main
from ecograph.errors import SnapshotError
from ecograph.importer import import_snapshot
from ecograph.records import parse_base_model_tags
from ecograph.snapshot import observed_at, read_snapshot
from ecograph.store import SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"

# Every quirk the vectorised path must either reproduce or hand to parse_model.
MESSY: list[dict[str, Any]] = [
    {"id": "org/child-early", "tags": ["base_model:finetune:ORG/ROOT"]},  # case, before root
    {
        "id": "Org/Root",
        "author": "Org",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "lastModified": "2024-01-02T00:00:00Z",
        "downloads": 10,
        "downloadsAllTime": 99,
        "likes": 2,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "gated": "manual",
        "tags": ["license:mit", "transformers"],
    },
    {"id": "org/child-late", "tags": ["base_model:quantized:org/root", "gguf"]},
    {"id": "g/true", "gated": True, "tags": []},
    {"id": "g/auto", "gated": "auto"},
    {"id": "g/false", "gated": False, "author": ""},
    {"id": "g/null", "gated": None, "library_name": ""},
    {"id": "g/upper-false", "gated": "FALSE"},
    {"id": "g/nested", "gated": "auto", "cardData": {"gated": True}},
    {"id": "t/float", "downloads": 1.5, "likes": 3.0},  # types pyarrow refuses
    {"id": "t/str", "downloads": "7"},
    {"id": "t/tags", "tags": [1, "license:x", None, "base_model:finetune:Org/Root"]},
    {"modelId": "legacy/model-id-only", "tags": ["base_model:adapter:Org/Root"]},
    {"id": "", "modelId": "empty/id-field"},
    {"author": "no-id-at-all"},
    {"id": "d/offset", "createdAt": "2024-03-01T10:00:00+02:00"},
    {"id": "d/date-only", "createdAt": "2024-03-01", "lastModified": "garbage"},
    {"id": "d/nanos", "createdAt": "2024-03-01T10:00:00.123456789Z"},
    {"id": "d/snake", "created_at": "2023-05-05T05:05:05.000Z"},
    {"id": "l/card-license", "cardData": {"license": "apache-2.0"}},
    {"id": "l/card-license-list", "cardData": {"license": ["mit", "x"]}},
    {"id": "l/empty-tag", "tags": ["license:"], "cardData": {"license": "mit"}},
    {
        "id": "r/card-relation",
        "tags": ["base_model:Org/Root"],
        "cardData": {"base_model": "Org/Root", "base_model_relation": "adapter"},
    },
    {"id": "r/no-relation", "tags": ["base_model:Org/Root"]},
    {
        "id": "c/card-only",
        "cardData": {"base_model": ["https://huggingface.co/Org/Root/", "gone/deleted@main", 42]},
    },
    {"id": "c/card-comma", "cardData": {"base_model": "Org/Root, org/child-late"}},
    {
        "id": "c/card-null",
        "cardData": {"base_model": None, "license": "mit"},
        "tags": ["license:mit"],
    },
    {"id": "c/card-junk", "cardData": {"base_model": {"weird": 1}}},
    {"id": "u/url-tag", "tags": ["base_model:finetune:https://hf.co/Org/Root"]},
    {"id": "u/empty-tag", "tags": ["base_model:finetune:", "base_model:foo:x/y"]},
    {"id": "u/legacy-parent", "tags": ["base_model:merge", "base_model:merge:gpt2"]},
    {"id": "u/models-prefix", "tags": ["base_model:finetune:models/Org/Root"]},
    {"id": "s/self", "tags": ["base_model:finetune:s/self"]},
    {"id": "cy/a", "tags": ["base_model:finetune:cy/b"]},
    {"id": "cy/b", "tags": ["base_model:finetune:cy/a"]},
    {
        "id": "m/merge",
        "tags": [
            "base_model:Org/Root",
            "base_model:merge:Org/Root",
            "base_model:merge:gone/away",
            "base_model:merge:GONE/AWAY",
        ],
    },
    {"id": "dup/model", "downloads": 1, "tags": ["base_model:finetune:Org/Root"]},
    {"id": "dup/model", "downloads": 2, "tags": ["base_model:adapter:cy/a"]},
    {"id": "dup/fast-then-slow", "downloads": 1, "tags": ["base_model:finetune:Org/Root"]},
    {"id": "dup/fast-then-slow", "downloads": 2.5, "tags": ["base_model:adapter:cy/b"]},
    {"id": "dup/slow-then-fast", "downloads": 2.5, "tags": ["base_model:adapter:cy/b"]},
    {"id": "dup/slow-then-fast", "downloads": 1, "tags": ["base_model:finetune:Org/Root"]},
    {
        "id": "x/unicode",
        "tags": ["language:日本語", 'quote"tag', "back\\slash"],
        "pipeline_tag": "text-generation",
    },
    {
        "id": "b/basemodels",
        "baseModels": {
            "relation": "merge",
            "models": [{"_id": "1", "id": "Org/Root"}, {"_id": "2", "id": "cy/a"}],
        },
        "tags": ["base_model:finetune:gone/other"],
    },
]


def _write_jsonl(path: Path, objs: list[dict[str, Any]], *, gz: bool = False) -> Path:
    text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _import(db: Path, src: Path, **kw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    with Store.open(db) as store:
        import_snapshot(store, src, **kw)
        return store.load()


def _observed(models: pl.DataFrame, src: Path) -> pl.DataFrame:
    """``models`` as an import of ``src`` stores them: every record observed at the
    snapshot's time, placeholders of missing parents never observed."""
    stamp = pl.lit(observed_at(src), dtype=models.schema["fetched_at"])
    return models.with_columns(
        pl.when(pl.col("status") == "missing").then(None).otherwise(stamp).alias("fetched_at")
    )


def _assert_same(
    got: tuple[pl.DataFrame, pl.DataFrame], want: tuple[pl.DataFrame, ...], src: Path
) -> None:
    """The store holds what read_snapshot reads, plus each record's observation time."""
    assert_frame_equal(got[0], _observed(want[0], src))
    assert_frame_equal(got[1], want[1])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ same frames as read_snapshot


@pytest.mark.parametrize("batch_size", [100_000, 7])
def test_fixture_import_equals_read_snapshot(tmp_path: Path, batch_size: int) -> None:
    got = _import(tmp_path / "eco.db", FIXTURE, batch_size=batch_size)
    _assert_same(got, read_snapshot(FIXTURE), FIXTURE)


@pytest.mark.parametrize("batch_size", [1000, 5, 1])
def test_messy_lines_equal_read_snapshot(tmp_path: Path, batch_size: int) -> None:
    src = _write_jsonl(tmp_path / "messy.jsonl", MESSY)
    with Store.open(tmp_path / "eco.db") as store:
        res = import_snapshot(store, src, batch_size=batch_size)
        got = store.load()
    _assert_same(got, read_snapshot(src), src)
    # the line without an id is not a model: skipped and reported, not counted as imported
    assert res.models == len(MESSY) - 1 and res.skipped == 1
    assert [(p.model_id, p.kind) for p in res.problems if p.skipped] == [("", "missing_id")]
    # the clean rows stayed on the vectorised path
    if batch_size == 1000:
        assert res.slow_rows < len(MESSY) - 10


def test_gzipped_jsonl_and_blank_lines(tmp_path: Path) -> None:
    objs = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    src = _write_jsonl(tmp_path / "hub.jsonl.gz", objs, gz=True)
    got = _import(tmp_path / "eco.db", src, batch_size=50)
    _assert_same(got, read_snapshot(FIXTURE), src)
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n" + "\n\n".join(json.dumps(o) for o in objs[:20]) + "\n\n")
    _assert_same(_import(tmp_path / "b.db", blank, batch_size=3), read_snapshot(blank), blank)


@pytest.mark.skipif(importlib.util.find_spec("ecograph.synth") is None, reason="no synth")
def test_synthetic_snapshot_equals_read_snapshot(tmp_path: Path) -> None:
    from ecograph import synth

    src = _write_jsonl(tmp_path / "synth.jsonl", list(synth.generate(4000, seed=5)))
    with Store.open(tmp_path / "eco.db") as store:
        res = import_snapshot(store, src, batch_size=1500)
        got = store.load()
    _assert_same(got, read_snapshot(src), src)
    assert res.slow_rows < 100  # quirks only


def _to_models_parquet(
    objs: list[dict[str, Any]], path: Path, *, card: bool = False
) -> list[dict[str, Any]]:
    """Write ``objs`` in the public models.parquet layout (with ``card``: their
    ``cardData`` as a JSON string column); return the same objects as the detail route
    would give them (with ``baseModels``, and the card as a mapping), for read_snapshot."""
    rows, same = [], []
    for o in objs:
        parents, rel = parse_base_model_tags(o.get("tags") or [])
        bm = (
            {
                "relation": rel.value if rel else None,
                "models": [{"_id": f"id{i}", "id": p} for i, p in enumerate(parents)],
            }
            if parents
            else None
        )
        row = {
            k: o.get(k)
            for k in (
                "id",
                "author",
                "createdAt",
                "lastModified",
                "downloads",
                "downloadsAllTime",
                "likes",
                "trendingScore",
                "pipeline_tag",
                "library_name",
                "tags",
            )
        }
        row["baseModels"] = bm
        if card:
            row["cardData"] = json.dumps(o["cardData"]) if "cardData" in o else None
        rows.append(row)
        same.append({**{k: v for k, v in row.items() if v is not None}})
        if card and "cardData" in o:
            same[-1]["cardData"] = o["cardData"]
    df = pl.DataFrame(
        rows,
        schema={
            "id": pl.Utf8,
            "author": pl.Utf8,
            "createdAt": pl.Utf8,
            "lastModified": pl.Utf8,
            "downloads": pl.Int64,
            "downloadsAllTime": pl.Int64,
            "likes": pl.Int64,
            "trendingScore": pl.Float64,
            "pipeline_tag": pl.Utf8,
            "library_name": pl.Utf8,
            "tags": pl.List(pl.Utf8),
            "baseModels": pl.Struct(
                {
                    "relation": pl.Utf8,
                    "models": pl.List(pl.Struct({"_id": pl.Utf8, "id": pl.Utf8})),
                }
            ),
            **({"cardData": pl.Utf8} if card else {}),
        },
        orient="row",
    ).with_columns(  # the dump stores real timestamps
        pl.col("createdAt").str.to_datetime(time_unit="ms", time_zone="UTC"),
        pl.col("lastModified").str.to_datetime(time_unit="ms", time_zone="UTC"),
    )
    df.write_parquet(path)
    return same


@pytest.mark.parametrize("batch_size", [100_000, 13])
def test_parquet_import_equals_read_snapshot(tmp_path: Path, batch_size: int) -> None:
    objs = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    # drop the card: the dump has no cardData (card-only parents are not in it either)
    objs = [{k: v for k, v in o.items() if k != "cardData"} for o in objs]
    same = _to_models_parquet(objs, tmp_path / "models.parquet")
    ref = _write_jsonl(tmp_path / "same.jsonl", same)
    got = _import(tmp_path / "eco.db", tmp_path / "models.parquet", batch_size=batch_size)
    want = read_snapshot(ref)
    _assert_same(got, want, tmp_path / "models.parquet")
    assert set(got[1]["source"]) == {"baseModels"}
    # and the JSONL route over the same objects (baseModels present) agrees too
    _assert_same(_import(tmp_path / "j.db", ref, batch_size=batch_size), want, ref)


@pytest.mark.parametrize("batch_size", [100_000, 13])
def test_parquet_card_parents_equal_jsonl_import(tmp_path: Path, batch_size: int) -> None:
    """A dump whose cardData declares parents the tags do not: the same edges (source
    ``card``), relations and licences as a JSONL import (the crawl's parse_model) of the
    same models."""
    objs = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    objs.append({"id": "c/json-broken", "tags": []})
    same = _to_models_parquet(objs, tmp_path / "models.parquet", card=True)
    # a card that is not JSON, mentioning a parent: reported, not silently dropped
    broken = pl.read_parquet(tmp_path / "models.parquet").with_columns(
        pl.when(pl.col("id") == "c/json-broken")
        .then(pl.lit('{"base_model": "a/b"'))
        .otherwise(pl.col("cardData"))
        .alias("cardData")
    )
    broken.write_parquet(tmp_path / "models.parquet")
    ref = _write_jsonl(tmp_path / "same.jsonl", same)
    with Store.open(tmp_path / "eco.db") as store:
        res = import_snapshot(store, tmp_path / "models.parquet", batch_size=batch_size)
        got = store.load()
    want = read_snapshot(ref)
    _assert_same(got, want, tmp_path / "models.parquet")
    _assert_same(_import(tmp_path / "j.db", ref, batch_size=batch_size), want, ref)
    card_edges = got[1].filter(pl.col("source") == "card")
    assert card_edges.height >= 5  # the fixture's card-only parents
    assert res.slow_rows < len(objs) // 4  # only the rows with something in their card
    assert [(p.model_id, p.kind) for p in res.problems][-1:] == [
        ("c/json-broken", "invalid_card_json")
    ]
    assert res.problems[-1].where == f"{tmp_path / 'models.parquet'}:row {len(objs)}"


def test_parquet_messy_ids_go_through_parse_model(tmp_path: Path) -> None:
    rows = [
        {"id": "a/root", "tags": [], "baseModels": None},
        {
            "id": "a/url",
            "tags": [],
            "baseModels": {
                "relation": "Finetune ",
                "models": [{"_id": "x", "id": "https://huggingface.co/a/root"}],
            },
        },
        {
            "id": "a/nullid",
            "tags": ["base_model:adapter:a/root"],
            "baseModels": {"relation": None, "models": [{"_id": "x", "id": None}]},
        },
        {
            "id": "a/empty",
            "tags": ["base_model:quantized:A/ROOT"],
            "baseModels": {"relation": "merge", "models": []},
        },
    ]
    pl.DataFrame(rows).write_parquet(tmp_path / "m.parquet")
    ref = _write_jsonl(tmp_path / "m.jsonl", rows)
    got = _import(tmp_path / "eco.db", tmp_path / "m.parquet", batch_size=2)
    _assert_same(got, read_snapshot(ref), tmp_path / "m.parquet")


# ------------------------------------------------------------------ store behaviour


def test_import_is_idempotent_and_records_runs(tmp_path: Path) -> None:
    db = tmp_path / "eco.db"
    seen: list[int] = []
    with Store.open(db) as store:
        r1 = import_snapshot(store, FIXTURE, batch_size=100, progress=seen.append)
        first = store.load()
        r2 = import_snapshot(store, FIXTURE, batch_size=64)
        assert_frame_equal(store.load()[0], first[0])
        assert_frame_equal(store.load()[1], first[1])
        runs = store.runs()
    assert sum(seen) == r1.models == 275 and seen == [100, 100, 75]
    assert r1.store_models == r2.store_models == first[0].height
    assert runs["kind"].to_list() == ["import", "import"]
    assert runs["status"].to_list() == ["ok", "ok"]
    counts = json.loads(runs["counts"][0])
    assert counts["models"] == 275 and counts["edges"] == first[1].height
    assert json.loads(runs["params"][0])["format"] == "jsonl"


def test_import_merges_with_crawled_rows(tmp_path: Path) -> None:
    from ecograph.records import parse_model

    db = tmp_path / "eco.db"
    with Store.open(db) as store:
        # a crawl stored a placeholder in another spelling and an out-of-date record
        store.save_models(
            [
                parse_model(
                    {"id": "k/child", "tags": ["base_model:finetune:meta-llama/llama-3.1-8b"]}
                ),
                parse_model(
                    {
                        "id": "meta-llama/Llama-3.1-8B-Instruct",
                        "downloads": -1,
                        "tags": ["base_model:adapter:gone/x"],
                    }
                ),
            ]
        )
        import_snapshot(store, FIXTURE)
        models, edges = store.load()
    want_m, want_e = read_snapshot(FIXTURE)
    base = models.filter(~pl.col("id").is_in(["k/child", "gone/x"]))
    assert_frame_equal(base, _observed(want_m, FIXTURE))
    assert ("meta-llama/Llama-3.1-8B", "k/child") in set(edges.select("parent", "child").rows())
    assert "gone/x" not in set(edges["parent"])  # refreshed record: its old edge is gone
    assert set(edges["parent"]) | set(edges["child"]) <= set(models["id"])


def test_bad_line_leaves_a_valid_store(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    src = tmp_path / "bad.jsonl"
    src.write_text("\n".join(lines[:30] + ["{not json"] + lines[30:]) + "\n")
    db = tmp_path / "eco.db"
    with Store.open(db) as store:
        with pytest.raises(SnapshotError) as exc:
            import_snapshot(store, src, batch_size=20)
        assert str(exc.value) == (
            f"{src}:31: not valid JSON (Expecting property name enclosed in double quotes); "
            "the store is valid and keeps the 20 rows imported before it"
        )
        models, _ = store.load()
        assert models.filter(pl.col("status") == "ok").height == 20
        assert store.runs()["status"].to_list() == ["failed"]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_failed_first_batch_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "eco.db"
    with Store.open(db) as store:
        import_snapshot(store, FIXTURE)
        before = store.load()
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": "a/b"}\n[1, 2]\n')
    with Store.open(db) as store:
        with pytest.raises(
            SnapshotError,
            match=r"bad.jsonl:2: expected a JSON object per line; "
            r"nothing was imported$",
        ):
            import_snapshot(store, src)
        after = store.load()
    assert_frame_equal(after[0], before[0])
    assert_frame_equal(after[1], before[1])


def test_bad_parquet_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 64)
    with Store.open(tmp_path / "eco.db") as store:
        with pytest.raises(SnapshotError, match="not a readable parquet file"):
            import_snapshot(store, bad)
        with pytest.raises(SnapshotError, match="^snapshot not found: "):
            import_snapshot(store, tmp_path / "nope.jsonl")
        pl.DataFrame({"x": [1]}).write_parquet(tmp_path / "other.parquet")
        with pytest.raises(SnapshotError, match="no 'id' column"):
            import_snapshot(store, tmp_path / "other.parquet")


# ------------------------------------------------------------------ CLI


def test_cli_import_and_info(tmp_path: Path) -> None:
    db = tmp_path / "eco.db"
    runner = CliRunner()
    res = runner.invoke(main, ["import", str(FIXTURE), "--db", str(db), "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("Imported 275 models and 288 edges (2 missing parents) from ")
    res = runner.invoke(main, ["info", "--db", str(db)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"Store: {db} (")
    assert lines[0].endswith(f", schema v{SCHEMA_VERSION})")
    assert lines[1:4] == [
        "Models: 277 (ok 275, missing 2)",
        "Edges: 288 (finetune 77, quantized 113, adapter 59, merge 37, unknown 2)",
        "Foundations: 5 (models with children and no parent)",
    ]
    assert lines[4].startswith("Imports: 1 (last ") and lines[4].endswith(" UTC, ok)")
    assert lines[5:] == ["Frontier: pending 0, done 0, failed 0", "Failed nodes: 0"]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "eco.db"
    res = runner.invoke(main, ["info", "--db", str(db)])
    assert res.exit_code == 1 and res.stderr == f"Error: no ecograph store at {db}\n"
    assert not db.exists()
    res = runner.invoke(main, ["import", str(tmp_path / "x.jsonl"), "--db", str(db)])
    assert res.exit_code == 1
    assert res.stderr == f"Error: snapshot not found: {tmp_path / 'x.jsonl'}\n"
    assert not db.exists()
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = _sha(foreign)
    for args in (
        ["info", "--db", str(foreign)],
        ["import", str(FIXTURE), "--db", str(foreign), "-q"],
    ):
        res = runner.invoke(main, args)
        assert res.exit_code == 1
        assert res.stderr.splitlines()[-1] == f"Error: {foreign} is not an ecograph store"
    assert _sha(foreign) == before
    bad = tmp_path / "bad.jsonl"
    bad.write_text("garbage\n")
    res = runner.invoke(main, ["import", str(bad), "--db", str(db), "-q"])
    assert res.exit_code == 1
    assert res.stderr == (
        f"Error: {bad}:1: not valid JSON (Expecting value); nothing was imported\n"
    )
    res = runner.invoke(main, ["import", str(FIXTURE), "--db", str(tmp_path / "no" / "e.db")])
    assert res.exit_code == 1
    assert res.stderr.splitlines()[-1] == (
        f"Error: cannot create store {tmp_path / 'no' / 'e.db'}: "
        f"directory {tmp_path / 'no'} does not exist"
    )


def test_tags_kept_as_the_hub_gave_them(tmp_path: Path) -> None:
    objs = [
        {"id": "t/fast", "tags": ["x", None, 'q"uote', "日本語"]},
        {"id": "t/slow", "tags": [1, "y"]},
    ]
    src = _write_jsonl(tmp_path / "t.jsonl", objs)
    with Store.open(tmp_path / "eco.db") as store:
        import_snapshot(store, src)
        tags = dict(store.load_tags().iter_rows())
    assert tags == {"t/fast": ["x", 'q"uote', "日本語"], "t/slow": ["y"]}


@pytest.mark.skipif(importlib.util.find_spec("ecograph.synth") is None, reason="no synth")
def test_killed_import_leaves_a_valid_store_and_rerun_converges(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from ecograph import synth

    src = _write_jsonl(tmp_path / "s.jsonl", list(synth.generate(12_000, seed=9)))
    db = tmp_path / "eco.db"
    code = (
        "import sys\n"
        "from ecograph.store import Store\n"
        "from ecograph.importer import import_snapshot\n"
        "with Store.open(sys.argv[2]) as s:\n"
        "    import_snapshot(s, sys.argv[1], batch_size=500,\n"
        "                    progress=lambda n: print('batch', flush=True))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(src), str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(3):  # three of 24 batches committed: kill it mid-import
        assert proc.stdout.readline() == "batch\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Store.open(db) as store:
        partial = store.load()[0].height
        assert store.runs()["status"].to_list() in (["running"], ["ok"])
        import_snapshot(store, src, batch_size=5000)
        got = store.load()
    assert 1500 <= partial <= got[0].height
    _assert_same(got, read_snapshot(src), src)


def test_locked_store_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holds the write lock mid-import: ADBC's OperationalError (not an
    OSError) becomes a StoreError, the batches before it kept. The holder keeps the lock
    until the import has failed and records its run (so the import gave up by its own busy
    timeout, not by waiting the lock out), then lets go."""
    import subprocess
    import sys

    import ecograph.store as store_mod
    from ecograph.errors import StoreError

    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 100)
    db = tmp_path / "eco.db"
    src = tmp_path / "s.jsonl"
    src.write_text("".join(json.dumps({"id": f"o/m{i}"}) + "\n" for i in range(30)))
    holder: list[subprocess.Popen[str]] = []
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            " c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.readline();"
            " c.execute('ROLLBACK'); print('released', flush=True)")

    def lock_after_first_batch(n: int) -> None:
        if not holder:
            holder.append(subprocess.Popen([sys.executable, "-c", code, str(db)],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           text=True))
            assert holder[0].stdout is not None and holder[0].stdout.readline() == "locked\n"

    def release_then_end_run(end_run: Any) -> Any:
        def wrapped(*args: Any, **kw: Any) -> None:
            proc = holder[0]
            assert proc.poll() is None and proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("release\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == "released\n"
            end_run(*args, **kw)

        return wrapped

    try:
        with Store.open(db) as store:
            monkeypatch.setattr(store, "end_run", release_then_end_run(store.end_run))
            with pytest.raises(StoreError) as exc:
                import_snapshot(store, src, batch_size=10, progress=lock_after_first_batch)
            assert str(exc.value) == (
                f"{db}: import failed (IO: Failed to step query: database is locked); "
                "the store is valid and keeps the 10 rows imported before it"
            )
            assert store.load()[0].height == 10
            assert store.runs()["status"].to_list() == ["failed"]
    finally:
        for p in holder:
            if p.poll() is None:
                p.kill()
            p.communicate()


# ------------------------------------------------------------------ ids, problems, fetched_at


def test_underscore_ids_and_unreadable_parents_are_reported(tmp_path: Path) -> None:
    """Real ids may start with ``_`` (DESIGN §1): their edges are imported on the
    vectorised path. A parent that is not an id makes no edge and is reported with its
    line, in the result, its summary line and the run's counts."""
    objs = [
        {"id": "LeroyDyer/_Spydaz_Web_AI_BIBLE_002", "tags": []},
        {"id": "LeroyDyer/_Spydaz_Web_AI_LCARS_001",
         "tags": ["base_model:finetune:LeroyDyer/_Spydaz_Web_AI_BIBLE_002"]},
        {"id": "a/ok", "tags": ["base_model:finetune:LeroyDyer/_Spydaz_Web_AI_BIBLE_002",
                                "base_model:finetune:not an id"]},
        {"id": "a/card", "cardData": {"base_model": ["x/y", 42]}},
        {"id": "a/nothing", "tags": ["base_model:"]},
    ]
    src = _write_jsonl(tmp_path / "u.jsonl", objs)
    for batch_size in (100, 1):
        with Store.open(tmp_path / f"eco{batch_size}.db") as store:
            res = import_snapshot(store, src, batch_size=batch_size)
            got = store.load()
            counts = json.loads(store.runs()["counts"][0])
        _assert_same(got, read_snapshot(src), src)
        edges = set(got[1].select("parent", "child").rows())
        assert ("LeroyDyer/_Spydaz_Web_AI_BIBLE_002", "LeroyDyer/_Spydaz_Web_AI_LCARS_001") in edges
        assert ("LeroyDyer/_Spydaz_Web_AI_BIBLE_002", "a/ok") in edges
        assert [p.line() for p in res.problems] == [
            f"{src}:3: a/ok: invalid_parent_id 'base_model:finetune:not an id'",
            f"{src}:4: a/card: non_string_parent '42'",
            f"{src}:5: a/nothing: invalid_parent_id 'base_model:'",
        ]
        assert counts["unread_parents"] == 3
        assert res.summary_line().endswith(
            f"; 3 parent references not read (first: {res.problems[0].line()})"
        )
    # the two clean lines stayed on the vectorised path
    with Store.open(tmp_path / "v.db") as store:
        assert import_snapshot(store, src).slow_rows == 3


def test_unreadable_parents_in_a_parquet_dump_name_their_row(tmp_path: Path) -> None:
    rows = [
        {"id": "a/root", "tags": []},
        {"id": "a/bad", "tags": ["base_model:finetune:a b c"]},
        {"id": "_u/_v", "tags": ["base_model:quantized:a/root"]},
    ]
    pl.DataFrame(rows).write_parquet(tmp_path / "m.parquet")
    with Store.open(tmp_path / "eco.db") as store:
        res = import_snapshot(store, tmp_path / "m.parquet", batch_size=2)
        edges = store.load()[1]
    assert [(p.where, p.model_id) for p in res.problems] == [
        (f"{tmp_path / 'm.parquet'}:row 2", "a/bad")
    ]
    assert edges.select("parent", "child").rows() == [("a/root", "_u/_v")]


@pytest.mark.parametrize("layout", ["jsonl", "jsonl.gz", "parquet"])
def test_imported_records_carry_their_observation_time(tmp_path: Path, layout: str) -> None:
    """fetched_at = the snapshot file's mtime (not null, not the import's clock): the same
    on every re-import; placeholders of missing parents were never observed."""
    import os
    from datetime import UTC, datetime

    objs = [
        {"id": "a/root", "tags": []},
        {"id": "a/fast", "tags": ["base_model:finetune:a/root"]},
        {"id": "a/slow", "downloads": 1.5, "tags": ["base_model:finetune:gone/x"]},
    ]
    if layout == "parquet":
        src = tmp_path / "m.parquet"
        pl.DataFrame([{k: o[k] for k in ("id", "tags")} for o in objs]).write_parquet(src)
    else:
        src = _write_jsonl(tmp_path / f"s.{layout}", objs, gz=layout == "jsonl.gz")
    when = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    os.utime(src, ns=(0, int(when.timestamp()) * 10**9 + 891011 * 1000))
    with Store.open(tmp_path / "eco.db") as store:
        res = import_snapshot(store, src)
        first = store.load()[0]
        import_snapshot(store, src)
        again = store.load()[0]
    assert res.fetched_at == when
    stamps = dict(first.select("id", "fetched_at").rows())
    assert stamps == {"a/root": when, "a/fast": when, "a/slow": when, "gone/x": None}
    assert_frame_equal(again, first)
