"""Traits in the store (DESIGN §9): licence (card first, else tags), the tags' licence,
gated, pipeline and library, the same from a crawl, a scan and both import layouts; a
store without the ``license_tags`` column is upgraded in place."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecograph.crawl import crawl
from ecograph.fakehub import FakeHub
from ecograph.hub import HubClient
from ecograph.importer import card_license, import_snapshot
from ecograph.licenses import normalize_license
from ecograph.pacing import RateLimiter
from ecograph.records import parse_model
from ecograph.snapshot import read_snapshot
from ecograph.store import Store

ROOT = "org/base"
TRAITS = ["id", "license", "license_tags", "gated", "pipeline_tag", "library_name"]


def _obj(mid: str, *, card: dict[str, Any] | None = None, tags: tuple[str, ...] = (),
         gated: Any = False, pipeline: str | None = "text-generation",
         library: str | None = "transformers", parent: str | None = ROOT) -> dict[str, Any]:
    base = [f"base_model:{parent}", f"base_model:finetune:{parent}"] if parent else []
    obj: dict[str, Any] = {
        "id": mid, "author": mid.split("/")[0], "createdAt": "2024-07-01T00:00:00.000Z",
        "lastModified": "2024-07-02T00:00:00.000Z", "downloads": 10, "likes": 1,
        "gated": gated, "tags": ["transformers", *base, *tags, "region:us"],
    }
    if pipeline is not None:
        obj["pipeline_tag"] = pipeline
    if library is not None:
        obj["library_name"] = library
    if card is not None:
        obj["cardData"] = card
    return obj


# id -> (the model object, expected licence, expected licence of the tags)
CASES: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
    ROOT: (_obj(ROOT, card={"license": "Llama3.1"}, tags=("license:llama3.1",),
                gated="manual", parent=None), "llama3.1", "llama3.1"),
    "a/list": (_obj("a/list", card={"license": ["MIT", "apache-2.0", " mit"]},
                    tags=("license:mit", "license:apache-2.0")), "apache-2.0|mit",
               "apache-2.0|mit"),
    "b/conflict": (_obj("b/conflict", card={"license": "apache-2.0"}, tags=("license:MIT",)),
                   "apache-2.0", "mit"),
    "c/tagonly": (_obj("c/tagonly", card={"base_model": ROOT},
                       tags=("License:Other", " license:MIT|other\n")), "mit|other",
                  "mit|other"),
    "d/cardonly": (_obj("d/cardonly", card={"license": " GEMMA "}), "gemma", None),
    "e/number": (_obj("e/number", card={"license": 2.0}, tags=("license:mit",)), "mit", "mit"),
    "f/none": (_obj("f/none", gated="auto", pipeline=None, library=None), None, None),
    "g/pipe": (_obj("g/pipe", card={"license": "cc-by-nc-4.0|MIT"}, tags=("license:mit",),
                    pipeline="feature-extraction", library="sentence-transformers"),
               "cc-by-nc-4.0|mit", "mit"),
    "h/escaped": (_obj("h/escaped", card={"license": "apache\u002d2.0 \"x\""}),
                  'apache-2.0 "x"', None),
    "i/null": (_obj("i/null", card={"license": None}, tags=("license:mit",)), "mit", "mit"),
    "k/nested": (_obj("k/nested", card={"license": "MIT", "model-index": [{"license": "x"}]},
                      tags=("license:gpl-3.0",)), "mit", "gpl-3.0"),
    "l/empty": (_obj("l/empty", card={"license": ""}, tags=("license:gpl-3.0",)),
                "gpl-3.0", "gpl-3.0"),
    "m/gguf": (_obj("m/gguf", card={"license": "llama3.1"}, gated="manual", library="gguf",
                    tags=("license:llama3.1", "gguf")), "llama3.1", "llama3.1"),
}
OBJS = [obj for obj, _, _ in CASES.values()]


def _expected() -> pl.DataFrame:
    rows = []
    for mid, (obj, lic, lic_tags) in CASES.items():
        gated = obj["gated"] if isinstance(obj["gated"], str) else None
        rows.append((mid, lic, lic_tags, gated, obj.get("pipeline_tag"),
                     obj.get("library_name")))
    return pl.DataFrame(rows, schema=TRAITS, orient="row").sort("id")


def _traits(models: pl.DataFrame) -> pl.DataFrame:
    return models.filter(pl.col("status") == "ok").select(TRAITS).sort("id")


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "hub.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in OBJS), encoding="utf-8")
    return path


def _parquet(objs: list[dict[str, Any]], path: Path) -> Path:
    """``objs`` in the models.parquet layout: ``cardData`` as a JSON string."""
    rows = [
        {
            "id": o["id"], "author": o["author"], "downloads": o["downloads"],
            "likes": o["likes"], "pipeline_tag": o.get("pipeline_tag"),
            "library_name": o.get("library_name"), "tags": o["tags"],
            "gated": o["gated"] if isinstance(o["gated"], str) else "False",
            "createdAt": o["createdAt"], "lastModified": o["lastModified"],
            "cardData": json.dumps(o["cardData"]) if "cardData" in o else None,
        }
        for o in objs
    ]
    pl.DataFrame(rows).with_columns(
        pl.col("createdAt").str.to_datetime(time_unit="ms", time_zone="UTC"),
        pl.col("lastModified").str.to_datetime(time_unit="ms", time_zone="UTC"),
    ).write_parquet(path)
    return path


def _client(hub: FakeHub) -> HubClient:
    return HubClient(hub.url, token=False, timeout=5, limiter=RateLimiter())


def test_normalised_licence_of_every_case_matches_the_hand_values() -> None:
    for mid, (obj, lic, lic_tags) in CASES.items():
        record = parse_model(obj).record
        assert (record.license, record.license_tags) == (lic, lic_tags), mid
        assert record.license == normalize_license(obj.get("cardData", {}).get("license"),
                                                   obj["tags"])


def test_read_snapshot_carries_the_traits(snapshot_file: Path) -> None:
    models, _ = read_snapshot(snapshot_file)
    assert_frame_equal(_traits(models), _expected())


@pytest.mark.parametrize("batch_size", [3, 100])
def test_jsonl_and_parquet_imports_carry_identical_traits(
    tmp_path: Path, snapshot_file: Path, batch_size: int
) -> None:
    got = {}
    sources = {"jsonl": snapshot_file, "parquet": _parquet(OBJS, tmp_path / "models.parquet")}
    for name, src in sources.items():
        with Store.open(tmp_path / f"{name}.db") as store:
            res = import_snapshot(store, src, batch_size=batch_size)
            got[name] = _traits(store.load()[0])
        # only the odd card licences (a list, a number, escapes, a key twice) and the tag
        # holding a newline (text to clean, c/tagonly) go to Python
        assert res.slow_rows == 5, name
    assert_frame_equal(got["jsonl"], _expected())
    assert_frame_equal(got["parquet"], _expected())


def test_crawl_and_scan_carry_the_same_traits(tmp_path: Path, snapshot_file: Path) -> None:
    with FakeHub(snapshot_file) as hub:
        with Store.open(tmp_path / "down.db") as store:
            crawl(store, _client(hub), [ROOT])
            down = _traits(store.load()[0])
        with Store.open(tmp_path / "scan.db") as store:
            crawl(store, _client(hub), strategy="scan")
            scan = _traits(store.load()[0])
    assert_frame_equal(down, _expected())
    assert_frame_equal(scan, _expected())


def test_card_license_reads_plain_strings_and_flags_the_rest() -> None:
    text = pl.Series([
        '{"cardData": {"license": "MIT"}}',
        '{"cardData": {"license" : "a|b", "x": 1}}',
        '{"cardData": {"license": ["mit"]}}',
        '{"cardData": {"license": 2}}',
        '{"cardData": {"license": "a\\"b"}}',
        '{"cardData": {"license": "mit", "y": {"license": "x"}}}',
        '{"cardData": {"license": null}}',
        '{"tags": ["license:mit"]}',
        None,
    ])
    value, odd = card_license(text)
    assert value.to_list() == ["MIT", "a|b", None, None, None, None, None, None, None]
    assert odd.to_list() == [False, False, True, True, True, True, False, False, False]


# --------------------------------------------------------------------------- upgrade


def _old_store(path: Path) -> None:
    """A store as ecograph wrote it before ``license_tags`` existed (same layout, minus
    the column and the later ``safetensors_total``), holding one model."""
    with Store.open(path) as store:
        store.save_models([parse_model(OBJS[0])])
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE models DROP COLUMN license_tags")
    conn.execute("ALTER TABLE models DROP COLUMN safetensors_total")
    conn.commit()
    conn.close()


def _columns(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(models)")]
    finally:
        conn.close()


def test_a_store_without_the_column_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path)
    assert "license_tags" not in _columns(path)
    conn = sqlite3.connect(path)
    (version_before,) = conn.execute("PRAGMA user_version").fetchone()
    conn.close()
    with Store.open(path, create=False) as store:
        models, _ = store.load()
        # the old row is kept; its tags' licence is unknown until it is read again
        assert models.select("id", "license", "license_tags").rows() == [
            (ROOT, "llama3.1", None)]
        store.save_models([parse_model(o) for o in OBJS])
        assert_frame_equal(_traits(store.load()[0]), _expected())
    assert _columns(path)[-2:] == ["license_tags", "safetensors_total"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version_before  # untouched
    conn.close()
    with Store.open(path) as store:  # opening again changes nothing
        tags_licence = store.load(["license_tags"])[0].get_column("license_tags")
        assert tags_licence.null_count() == sum(t is None for _, _, t in CASES.values())


def test_a_new_store_has_the_column_where_an_upgraded_one_has_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.db"):
        pass
    _old_store(tmp_path / "old.db")
    with Store.open(tmp_path / "old.db"):
        pass
    assert _columns(tmp_path / "new.db") == _columns(tmp_path / "old.db")


def test_an_old_store_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path)
    path.chmod(0o444)
    try:
        if sqlite3.connect(path).execute("PRAGMA user_version").fetchone() is None:
            pytest.skip("no sqlite")
        try:
            with open(path, "r+b"):
                pytest.skip("running as a user who may write a read-only file")
        except PermissionError:
            pass
        from ecograph.errors import StoreError

        with pytest.raises(StoreError, match=r"^cannot open store .*old\.db: "):
            Store.open(path, create=False)
    finally:
        path.chmod(0o644)


# --------------------------------------------------------------------------- quality


def _conflicts_by_hand() -> dict[str, str]:
    """Card and tags licences that differ, computed in plain Python from CASES."""
    out = {}
    for mid, (obj, _lic, lic_tags) in CASES.items():
        card = normalize_license(obj.get("cardData", {}).get("license"), ())
        if card is not None and lic_tags is not None and card != lic_tags:
            out[mid] = f"card {card}, tags {lic_tags}"
    return out


def test_quality_reports_licence_conflicts(tmp_path: Path, snapshot_file: Path) -> None:
    from click.testing import CliRunner

    from ecograph.cli import main

    want = _conflicts_by_hand()
    assert set(want) == {"b/conflict", "g/pipe", "k/nested"}
    db = tmp_path / "q.db"
    with Store.open(db) as store:
        import_snapshot(store, snapshot_file)
    for source in (["--db", str(db)], ["--snapshot", str(snapshot_file)]):
        res = CliRunner().invoke(main, ["quality", *source, "--format", "json"])
        assert res.exit_code == 0, res.output
        got = {r["model_id"]: r["detail"] for r in json.loads(res.output)
               if r["kind"] == "license_conflict"}
        assert got == want
    res = CliRunner().invoke(main, ["quality", "--db", str(db)])
    assert "3 license_conflict" in res.output
    assert "license_conflict  b/conflict  card apache-2.0, tags mit" in res.output


def test_an_upgraded_store_reports_no_conflict_it_cannot_know(tmp_path: Path) -> None:
    from ecograph.api import open as open_store

    path = tmp_path / "old.db"
    _old_store(path)
    assert "license_conflict" not in open_store(path).quality().get_column("kind").to_list()
