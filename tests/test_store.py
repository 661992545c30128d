"""The SQLite store: opening checks, upserts, placeholders, atomic crawl steps, load()."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ecograph.errors import StoreError
from ecograph.frames import EDGE_SCHEMA, MODEL_SCHEMA, frames_from_parsed
from ecograph.records import ModelRecord, Status, missing_record, parse_model
from ecograph.store import APPLICATION_ID, SCHEMA_VERSION, Store

OBJS = [
    {
        "id": "org/Root",
        "author": "org",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "lastModified": "2024-02-01T12:30:00.123Z",
        "downloads": 10,
        "downloadsAllTime": 100,
        "likes": 3,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "gated": "manual",
        "tags": ["license:apache-2.0", "transformers"],
    },
    {"id": "q/root-GGUF", "tags": ["base_model:quantized:org/root"]},  # case variant
    {"id": "m/merge", "tags": ["base_model:merge:org/Root", "base_model:merge:gone/away"]},
    {"id": "s/self", "tags": ["base_model:finetune:s/self"]},
    {"id": "c/a", "tags": ["base_model:finetune:c/b"]},
    {"id": "c/b", "tags": ["base_model:finetune:c/a"]},
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(store: Store) -> tuple[list[tuple], list[tuple]]:
    m, e = store.load()
    return m.rows(), e.rows()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "eco.db"


# ------------------------------------------------------------------ opening


def test_create_sets_marker_and_versions(db: Path) -> None:
    Store.open(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["application"] == "ecograph" and meta["schema_version"] == str(SCHEMA_VERSION)
    conn.close()
    with Store.open(db, create=False) as store:  # reopening our own store works
        assert store.frontier_counts() == {"pending": 0, "done": 0, "failed": 0}


def test_foreign_sqlite_file_is_refused_untouched(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = _sha(db)
    with pytest.raises(StoreError, match=r"is not an ecograph store$"):
        Store.open(db)
    assert _sha(db) == before
    assert not Path(str(db) + "-wal").exists()


def test_foreign_sqlite_with_our_table_names_is_refused(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('application', 'other')")
    conn.commit()
    conn.close()
    before = _sha(db)
    with pytest.raises(StoreError, match="is not an ecograph store"):
        Store.open(db)
    assert _sha(db) == before


@pytest.mark.parametrize("content", [b"hello, not a database\n" * 20, b"SQLite format 3\x00"])
def test_garbage_file_is_refused_untouched(db: Path, content: bytes) -> None:
    db.write_bytes(content)
    with pytest.raises(StoreError) as exc:
        Store.open(db)
    assert str(exc.value) == f"{db} is not an ecograph store"
    assert db.read_bytes() == content


def test_newer_schema_is_refused_naming_both_versions(db: Path) -> None:
    Store.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _sha(db)
    with pytest.raises(StoreError) as exc:
        Store.open(db)
    msg = str(exc.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in msg and f"({SCHEMA_VERSION})" in msg
    assert _sha(db) == before


def test_missing_directory_and_create_false(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as exc:
        Store.open(tmp_path / "nope" / "eco.db")
    assert str(exc.value) == (
        f"cannot create store {tmp_path / 'nope' / 'eco.db'}: "
        f"directory {tmp_path / 'nope'} does not exist"
    )
    with pytest.raises(StoreError, match="no ecograph store at"):
        Store.open(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)


def test_unwritable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.geteuid() == 0:  # root ignores permissions: make the check see them anyway
            monkeypatch.setattr(os, "access", lambda path, mode: False)
        with pytest.raises(StoreError) as exc:
            Store.open(ro / "eco.db")
        assert (
            str(exc.value) == f"cannot create store {ro / 'eco.db'}: directory {ro} is not writable"
        )
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_path_sqlite_cannot_create_is_one_clear_error() -> None:
    with pytest.raises(StoreError, match=r"^cannot create store /proc/eco\.db: "):
        Store.open("/proc/eco.db")
    with pytest.raises(StoreError, match="not a regular file"):
        Store.open("/dev/null")


# ------------------------------------------------------------------ models & edges


def test_load_schemas_and_same_frames_as_frames_from_parsed(db: Path) -> None:
    parsed = [parse_model(o) for o in OBJS]
    with Store.open(db) as store:
        store.save_models(parsed)
        models, edges = store.load()
    assert dict(models.schema) == MODEL_SCHEMA
    assert dict(edges.schema) == EDGE_SCHEMA
    want_m, want_e = frames_from_parsed(parsed)
    assert models.equals(want_m)
    assert edges.equals(want_e)
    root = models.row(by_predicate=pl.col("id") == "org/Root", named=True)
    assert root["created_at"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert root["last_modified"] == datetime(2024, 2, 1, 12, 30, 0, 123000, tzinfo=UTC)
    assert root["license"] == "apache-2.0" and root["gated"] == "manual"


def test_empty_store_loads_empty_frames_with_schemas(db: Path) -> None:
    with Store.open(db) as store:
        models, edges = store.load()
    assert models.height == 0 and dict(models.schema) == MODEL_SCHEMA
    assert edges.height == 0 and dict(edges.schema) == EDGE_SCHEMA


def test_nulls_in_first_rows_keep_text_types(db: Path) -> None:
    # ADBC infers types from the first rows: many all-null rows, then text, must still load
    parsed = [parse_model({"id": f"a/m{i:05d}"}) for i in range(3000)]
    parsed.append(parse_model({"id": "z/last", "library_name": "gguf", "downloads": 7}))
    with Store.open(db) as store:
        store.save_models(parsed)
        models, _ = store.load()
    assert dict(models.schema) == MODEL_SCHEMA
    assert models.filter(pl.col("id") == "z/last")["library_name"].item() == "gguf"


def test_upsert_is_idempotent(db: Path) -> None:
    parsed = [parse_model(o) for o in OBJS]
    with Store.open(db) as store:
        store.save_models(parsed)
        first = _rows(store)
        store.save_models(parsed)
        store.save_models(reversed(parsed))
        assert _rows(store) == first


def test_self_loops_and_cycles_are_stored(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models(parse_model(o) for o in OBJS)
        _, edges = store.load()
    pairs = set(edges.select("parent", "child").iter_rows())
    assert ("s/self", "s/self") in pairs
    assert {("c/a", "c/b"), ("c/b", "c/a")} <= pairs


def test_placeholder_replaced_by_ok_but_never_the_reverse(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models([parse_model({"id": "k/child", "tags": ["base_model:finetune:A/P"]})])
        models, edges = store.load()
        assert models.filter(pl.col("id") == "A/P")["status"].item() == "missing"
        # the real record arrives, spelled differently: it replaces the placeholder
        store.save_models([parse_model({"id": "a/p", "downloads": 5})])
        models, edges = store.load()
        assert models.filter(pl.col("id").str.to_lowercase() == "a/p").rows() == (
            models.filter(pl.col("id") == "a/p").rows()
        )
        row = models.filter(pl.col("id") == "a/p").row(0, named=True)
        assert row["status"] == "ok" and row["downloads"] == 5
        assert edges.rows() == [("a/p", "k/child", "finetune", "tag")]
        # a later placeholder (another child naming the parent) never downgrades it
        store.save_models([parse_model({"id": "k/two", "tags": ["base_model:adapter:A/P"]})])
        store.save_models([type(parse_model({"id": "x"}))(missing_record("a/p"))])
        store.save_node("k/two", parsed=[], follow=[], depth=0, node_record=missing_record("A/P"))
        models, edges = store.load()
        row = models.filter(pl.col("id") == "a/p").row(0, named=True)
        assert row["status"] == "ok" and row["downloads"] == 5
        assert set(edges["parent"]) == {"a/p"}
        # private/error records do not overwrite ok rows either
        store.save_models(
            [type(parse_model({"id": "x"}))(missing_record("a/p", status=Status.PRIVATE))]
        )
        assert store.load()[0].filter(pl.col("id") == "a/p")["status"].item() == "ok"


def test_refresh_replaces_a_records_edges(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models([parse_model({"id": "k/c", "tags": ["base_model:finetune:p/one"]})])
        store.save_models([parse_model({"id": "k/c", "tags": ["base_model:finetune:p/two"]})])
        _, edges = store.load()
    assert edges.select("parent", "child").rows() == [("p/two", "k/c")]


# ------------------------------------------------------------------ crawl state


def test_frontier_lifecycle(db: Path) -> None:
    with Store.open(db) as store:
        assert store.seed_frontier([("r/a", 0), ("r/b", 0)]) == 2
        assert store.seed_frontier([("r/a", 0), ("r/c", 1)]) == 1
        assert store.pending() == [("r/a", 0), ("r/b", 0), ("r/c", 1)]
        assert store.pending(limit=1) == [("r/a", 0)]
        child = parse_model({"id": "k/x", "tags": ["base_model:finetune:r/a"]})
        store.save_node(
            "r/a",
            parsed=[child],
            follow=["k/x", "r/c"],
            depth=0,
            expected_children={"finetune": 1, "merge": 0},
        )
        # r/c was pending at depth 1 and is followed at depth 1 again: unchanged
        assert store.pending() == [("r/b", 0), ("k/x", 1), ("r/c", 1)]
        store.mark_failed("r/b", "HTTP 500")
        store.mark_failed("r/b", "timeout")
        assert store.failed() == [("r/b", "timeout")]
        assert store.frontier_counts() == {"pending": 2, "done": 1, "failed": 1}
        assert store.expected_children() == {"r/a": {"finetune": 1, "merge": 0}}
        # a later save without counts keeps them; attempts add up
        store.save_node("r/a", parsed=[], follow=[], depth=0)
        assert store.expected_children() == {"r/a": {"finetune": 1, "merge": 0}}
        assert store.requeue_done() == 1
        assert ("r/a", 0) in store.pending()
        assert store.requeue_failed(["r/b"]) == 1
        assert store.frontier_counts()["failed"] == 0
        attempts = dict(store._query("SELECT id, attempts FROM frontier"))
        assert attempts["r/a"] == 2 and attempts["r/b"] == 2


def test_save_node_is_atomic(db: Path) -> None:
    with Store.open(db) as store:
        store.seed_frontier([("r/a", 0)])
        before = _rows(store)

        def follow():
            yield "k/next"
            raise RuntimeError("killed mid-transaction")

        good = parse_model({"id": "k/x", "tags": ["base_model:finetune:r/a"]})
        with pytest.raises(RuntimeError):
            store.save_node("r/a", parsed=[good], follow=follow(), depth=0)
        assert _rows(store) == before
        assert store.pending() == [("r/a", 0)]
        # a failure inside SQLite (bad parameter type) also rolls everything back
        bad = parse_model({"id": "k/y", "tags": ["base_model:finetune:r/a"]})
        with pytest.raises((StoreError, sqlite3.Error, TypeError)):
            store.save_node(
                "r/a",
                parsed=[good, bad],
                follow=[object()],
                depth=0,  # type: ignore[list-item]
            )
        assert _rows(store) == before
        assert store.frontier_counts() == {"pending": 1, "done": 0, "failed": 0}
        # and the store is still usable
        store.save_node("r/a", parsed=[good], follow=["k/x"], depth=0)
        assert store.frontier_counts() == {"pending": 1, "done": 1, "failed": 0}


def test_node_record_upsert_keeps_edges(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models([parse_model({"id": "k/c", "tags": ["base_model:finetune:r/a"]})])
        rec = ModelRecord(id="r/a", downloads=42, fetched_at=datetime(2025, 1, 1, tzinfo=UTC))
        store.save_node("r/a", parsed=[], follow=[], depth=0, node_record=rec)
        models, edges = store.load()
    row = models.filter(pl.col("id") == "r/a").row(0, named=True)
    assert row["status"] == "ok" and row["downloads"] == 42
    assert row["fetched_at"] == datetime(2025, 1, 1, tzinfo=UTC)
    assert edges.select("parent", "child").rows() == [("r/a", "k/c")]


def test_state_runs_and_token_never_stored(db: Path) -> None:
    with Store.open(db) as store:
        assert store.get_state("cursor") is None
        store.set_state("cursor", "abc")
        store.set_state("cursor", "def")
        assert store.get_state("cursor") == "def"
        run = store.begin_run(
            "crawl",
            {"roots": ["a/b"], "token": "hf_SECRET1", "nested": {"HF_TOKEN": "hf_SECRET2"}},
        )
        store.end_run(run, status="ok", counts={"requests": 3, "models": 2})
        runs = store.runs()
        assert runs.height == 1
        row = runs.row(0, named=True)
        assert row["kind"] == "crawl" and row["status"] == "ok"
        assert json.loads(row["counts"]) == {"models": 2, "requests": 3}
        assert json.loads(row["params"]) == {"nested": {}, "roots": ["a/b"]}
        assert row["finished_at"] >= row["started_at"]
    raw = db.read_bytes() + (
        Path(str(db) + "-wal").read_bytes() if Path(str(db) + "-wal").exists() else b""
    )
    assert b"hf_SECRET" not in raw


def test_summary(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models(parse_model(o) for o in OBJS)
        store.seed_frontier([("org/Root", 0)])
        store.mark_failed("x/y", "boom")
        store.end_run(store.begin_run("import", {}), status="ok", counts={})
        s = store.summary()
    assert s["models"] == 7 and s["models_by_status"] == {"ok": 6, "missing": 1}
    assert s["edges"] == 6
    assert s["edges_by_relation"] == {"finetune": 3, "merge": 2, "quantized": 1}
    assert s["foundations"] == 1  # org/Root (s/self is a self-loop only, c/* a cycle)
    assert s["frontier"] == {"pending": 1, "done": 0, "failed": 1} and s["failed"] == 1
    assert s["runs"]["import"]["count"] == 1 and s["runs"]["import"]["last_status"] == "ok"
    assert s["file_size"] > 0 and s["schema_version"] == SCHEMA_VERSION


def test_threads_share_one_store(db: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with Store.open(db) as store:

        def work(i: int) -> None:
            store.save_models([parse_model({"id": f"t/m{i}", "tags": ["base_model:finetune:t/r"]})])
            store.load()

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(20)))
        models, edges = store.load()
    assert models.height == 21 and edges.height == 20


def test_two_stores_on_one_file_in_one_process(db: Path) -> None:
    a = Store.open(db)
    b = Store.open(db)  # must not read the file behind a's back (POSIX locks)
    try:
        a.save_models([parse_model({"id": "a/one", "tags": ["base_model:finetune:a/root"]})])
        assert b.load()[0].height == 2  # ADBC read while a is open: a is closed around it
        b.save_models([parse_model({"id": "b/two", "tags": ["x"]})])
        a.save_models([parse_model({"id": "a/three"})])
        assert a.load()[0]["id"].to_list() == ["a/one", "a/root", "a/three", "b/two"]
        assert b.frontier_counts()["pending"] == 0
        assert Path(str(db) + "-wal").exists()  # nobody thought it was alone
    finally:
        a.close()
        b.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM models").fetchone()[0] == 4
    conn.close()


def test_tags_are_stored(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models([parse_model(o) for o in OBJS])
        tags = store.load_tags()
    assert dict(tags.schema) == {"id": pl.Utf8(), "tags": pl.List(pl.Utf8())}
    row = tags.filter(pl.col("id") == "org/Root").row(0)
    assert row[1] == ["license:apache-2.0", "transformers"]
    assert "gone/away" not in tags["id"].to_list()  # placeholders have no tags


def test_damaged_store_is_reported_not_rewritten(db: Path) -> None:
    Store.open(db).close()
    data = bytearray(db.read_bytes())
    data[100:] = b"\x07" * (len(data) - 100)  # our header, garbage pages
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError) as exc:
        Store.open(db)
    assert str(exc.value) == f"cannot open store {db}: database disk image is malformed"
    assert db.read_bytes() == bytes(data)


# ------------------------------------------------------------------ review fixes


def test_save_node_listing_removes_stale_child_edges(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models([
            parse_model({"id": "k/stays", "tags": ["base_model:finetune:r/a"]}),
            parse_model({"id": "k/moved", "tags": ["base_model:finetune:r/a"]}),
            parse_model({"id": "k/card", "cardData": {"base_model": "r/a"}}),
            parse_model({"id": "k/other", "tags": ["base_model:finetune:r/b"]}),
        ])
        stays = parse_model({"id": "K/Stays", "tags": ["base_model:finetune:r/a"]})
        # the listing of r/a (all pages) returned only K/Stays (spelled otherwise)
        store.save_node("r/a", parsed=[stays], follow=[], depth=0, listed=["k/STAYS"])
        _, edges = store.load()
        models, _ = store.load()
    assert edges.select("parent", "child").rows() == [
        ("r/a", "K/Stays"), ("r/a", "k/card"), ("r/b", "k/other")]
    # the child that vanished from the listing stays as a model
    assert "k/moved" in set(models["id"])


def test_save_node_listing_keeps_edges_of_records_just_read(db: Path) -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(db) as store:
        # read during this crawl (after t0) through another parent's listing: its tags
        # name r/A, which the listing of r/a may not return (another spelling)
        store.save_models([parse_model({"id": "k/m", "tags": ["base_model:merge:r/A",
                                                               "base_model:merge:r/b"]},
                                       fetched_at=datetime(2025, 1, 2, tzinfo=UTC))])
        store.save_node("r/a", parsed=[], follow=[], depth=0, listed=[], fresh_since=t0)
        assert len(store.load()[1]) == 2
        store.save_node("r/a", parsed=[], follow=[], depth=0, listed=[],
                        fresh_since=datetime(2025, 1, 3, tzinfo=UTC))
        assert store.load()[1].select("parent", "child").rows() == [("r/b", "k/m")]


def test_frontier_keeps_the_smallest_depth(db: Path) -> None:
    with Store.open(db) as store:
        store.seed_frontier([("r/a", 2), ("r/b", 1)])
        assert store.seed_frontier([("r/a", 0), ("r/b", 3)]) == 0
        assert store.pending() == [("r/a", 0), ("r/b", 1)]
        # a node listed at depth 1 with max_depth 2 (children cut), found at depth 0 again
        store.save_node("r/b", parsed=[], follow=[], depth=1)
        store.save_node("r/a", parsed=[], follow=["r/b", "k/new"], depth=-1, max_depth=2)
        assert store.frontier_status(["R/B", "k/new"]) == {
            "r/b": ("pending", 0), "k/new": ("pending", 0)}
        # without a depth limit a done node is not listed again for a shorter path
        store.seed_frontier([("k/far", 5)])
        store.save_node("k/far", parsed=[], follow=[], depth=5)
        store.save_node("r/a", parsed=[], follow=["k/far"], depth=0)
        assert store.frontier_status(["k/far"]) == {"k/far": ("done", 1)}
        # a root seeded again gets depth 0, and is requeued when its children were cut
        store.seed_frontier([("k/deep", 1)])
        store.save_node("k/deep", parsed=[], follow=[], depth=1)
        store.seed_frontier([("k/deep", 0)], max_depth=2)
        assert store.frontier_status(["k/deep"]) == {"k/deep": ("pending", 0)}


def test_runs_of_dead_processes_become_interrupted(db: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)
    with Store.open(db) as store:
        killed = store.begin_run("crawl", {})
        alive = store.begin_run("crawl", {})
        with store._tx() as conn:  # as if a SIGKILLed process had started it
            conn.execute("UPDATE runs SET counts = json_set(counts, '$.pid', ?) WHERE id = ?",
                         (dead, killed))
        assert store.runs()["status"].to_list() == ["running", "running"]
        store.begin_run("import", {})
        assert store.runs()["status"].to_list() == ["interrupted", "running", "running"]
        store.end_run(alive, status="done", counts={})
        assert store.runs()["status"].to_list() == ["interrupted", "done", "running"]


def test_adbc_errors_are_store_errors(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import adbc_driver_manager
    import adbc_driver_sqlite.dbapi as adbc_dbapi

    def locked(*a: object, **k: object) -> None:
        raise adbc_driver_manager.OperationalError(
            "IO: Failed to step query: database is locked\ndetails",
            status_code=adbc_driver_manager.AdbcStatusCode.IO)

    with Store.open(db) as store:
        store.save_models([parse_model(o) for o in OBJS])
        with monkeypatch.context() as mp:
            mp.setattr(adbc_dbapi, "connect", locked)
            with pytest.raises(StoreError, match="cannot open store .*database is locked$"):
                store.load()

        class Cursor:
            execute = staticmethod(locked)

            def close(self) -> None:
                pass

        class Conn:
            def cursor(self) -> Cursor:
                return Cursor()

        @contextmanager
        def adbc(*a: object, **k: object) -> Iterator[Conn]:
            yield Conn()

        with monkeypatch.context() as mp:
            mp.setattr(store, "adbc", adbc)
            with pytest.raises(StoreError, match="cannot load .*database is locked[)]$"):
                store.load()
        assert store.load()[0].height == 7  # and the store still works


# ------------------------------------------------------------------ crawl queries
# (each checked against a plain-Python twin over the loaded frames)


def _loaded(store: Store) -> tuple[dict[str, str], list[tuple[str, str, str | None]]]:
    models, edges = store.load()
    status = dict(models.select("id", "status").iter_rows())
    return status, list(edges.select("parent", "child", "relation").iter_rows())


def _reach(edges: list[tuple[str, str, str | None]], roots: list[str]) -> set[str]:
    kids: dict[str, list[str]] = {}
    for p, c, _ in edges:
        kids.setdefault(p.lower(), []).append(c)
    seen = {r.lower(): r for r in roots}
    todo = list(roots)
    while todo:
        for c in kids.get(todo.pop().lower(), []):
            if c.lower() not in seen:
                seen[c.lower()] = c
                todo.append(c)
    return set(seen.values())


def test_descendants_follow_stored_edges_through_cycles(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models(parse_model(o) for o in OBJS)
        status, edges = _loaded(store)
        assert store.descendants(["org/Root"]) == ["m/merge", "org/Root", "q/root-GGUF"]
        assert store.descendants(["c/a"]) == ["c/a", "c/b"]  # a cycle ends
        assert store.descendants(["s/self"]) == ["s/self"]
        # ids compare case-insensitively; roots come back as given
        assert store.descendants(["ORG/root"]) == ["ORG/root", "m/merge", "q/root-GGUF"]
        assert store.descendants([]) == []
        for mid in status:
            assert set(store.descendants([mid])) == _reach(edges, [mid]), mid
        assert set(store.descendants(["c/a", "org/Root"])) == _reach(edges, ["c/a", "org/Root"])


def test_child_counts_by_relation(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models(parse_model(o) for o in OBJS)
        status, edges = _loaded(store)
        got = store.child_counts([*status, "no/such"])
        assert got["org/Root"] == {"merge": 1, "quantized": 1}
        assert "s/self" not in got  # a self-loop is not a child
        want: dict[str, dict[str, int]] = {}
        for p, c, r in edges:
            if p.lower() != c.lower():
                by_rel = want.setdefault(p, {})
                by_rel[r or "unknown"] = by_rel.get(r or "unknown", 0) + 1
        assert got == want
        assert store.child_counts(["ORG/ROOT"]) == {"ORG/ROOT": {"merge": 1, "quantized": 1}}


def test_missing_parents_of(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models(parse_model(o) for o in OBJS)
        status, edges = _loaded(store)
        assert store.missing_parents_of(["m/merge"]) == ["gone/away"]
        assert store.missing_parents_of(["M/MERGE", "c/a"]) == ["gone/away"]
        assert store.missing_parents_of(["org/Root", "c/a"]) == []
        everyone = store.missing_parents_of()
        assert everyone == sorted({p for p, _, _ in edges if status[p] == "missing"})
        assert everyone == ["gone/away"]


def test_expected_children_of_by_relation_or_total(db: Path) -> None:
    with Store.open(db) as store:
        store.save_node("org/Root", parsed=[], follow=[], depth=0,
                        expected_children={"merge": 1, "quantized": 2})
        store.save_node("c/a", parsed=[], follow=[], depth=0, expected_children=3)
        store.save_node("c/b", parsed=[], follow=[], depth=0)
        assert store.expected_children_of(["org/root", "c/a", "c/b", "no/such"]) == {
            "org/Root": {"merge": 1, "quantized": 2}, "c/a": 3}


def test_unlisted_children(db: Path) -> None:
    with Store.open(db) as store:
        store.save_models([
            parse_model({"id": "k/listed", "tags": ["base_model:finetune:r/a"]}),
            parse_model({"id": "k/unlisted", "tags": ["base_model:finetune:r/a"]}),
            parse_model({"id": "k/card", "cardData": {"base_model": "r/a"}}),
            parse_model({"id": "k/fresh", "tags": ["base_model:finetune:r/a"]},
                        fetched_at=datetime(2025, 1, 2, tzinfo=UTC)),
        ])
        t0 = datetime(2025, 1, 1, tzinfo=UTC)
        assert store.unlisted_children("r/a", ["K/LISTED"]) == ["k/fresh", "k/unlisted"]
        assert store.unlisted_children("R/A", ["k/listed"], fresh_since=t0) == ["k/unlisted"]
        # exactly the edges save_node would delete for that listing
        store.save_node("r/a", parsed=[], follow=[], depth=0, listed=["k/listed"],
                        fresh_since=t0)
        children = {c for p, c in store.load()[1].select("parent", "child").iter_rows()}
        assert children == {"k/listed", "k/card", "k/fresh"}
