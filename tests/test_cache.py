"""The analysis cache beside a store: hits equal the store, every write invalidates it,
corrupt or foreign files are rebuilt, an unwritable directory only skips it, and a reader
racing a writer never sees stale frames."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecograph import cache
from ecograph.importer import import_snapshot
from ecograph.metrics import ANALYSIS_COLUMNS
from ecograph.records import ModelRecord, parse_model
from ecograph.store import SCHEMA_VERSION, Store

REPO = Path(__file__).resolve().parents[1]

OBJS = [
    {"id": "org/root", "author": "org", "downloads": 100, "createdAt": "2024-01-01T00:00:00Z"},
    {"id": "u/ft", "downloads": 5, "tags": ["base_model:finetune:org/root"]},
    {"id": "v/q", "tags": ["base_model:quantized:u/ft"]},
    {"id": "w/m", "tags": ["base_model:merge:u/ft", "base_model:merge:gone/away"]},
]


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "eco.db") as s:
        s.save_models([parse_model(o) for o in OBJS])
        yield s


def _uncached(store: Store, columns=ANALYSIS_COLUMNS) -> tuple[pl.DataFrame, pl.DataFrame]:
    return store.load(columns, cache=False)


def _assert_same(got: tuple[pl.DataFrame, pl.DataFrame], want: tuple[pl.DataFrame, ...]) -> None:
    assert_frame_equal(got[0], want[0])
    assert_frame_equal(got[1], want[1])


def _no_store_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any read of the tables themselves fail: what still loads came from the cache."""

    def refuse(*args, **kwargs):
        raise AssertionError("read the store, not the cache")

    monkeypatch.setattr(Store, "_load_arrow", refuse)


# ------------------------------------------------------------------ hits


def test_cached_columns_are_the_analysis_columns() -> None:
    assert cache.covers(ANALYSIS_COLUMNS)
    assert set(ANALYSIS_COLUMNS) == set(cache.CACHED_MODEL_COLUMNS)


def test_hit_equals_an_uncached_load(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = cache.cache_dir(store.path)
    assert not folder.exists()
    first = store.load(ANALYSIS_COLUMNS)  # builds the cache (in a thread)
    cache.wait(store.path)
    assert sorted(p.name for p in folder.iterdir()) == ["edges.arrow", "models.arrow"]
    want = _uncached(store)
    _assert_same(first, want)
    _no_store_reads(monkeypatch)
    _assert_same(store.load(ANALYSIS_COLUMNS), want)
    # a subset of the cached columns, in the order asked for, also comes from the cache
    sub = store.load(["downloads", "id"])
    assert sub[0].columns == ["id", "downloads"]
    assert_frame_equal(sub[0], want[0].select("id", "downloads"))


def test_a_load_right_after_a_rebuild_waits_for_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    release = threading.Event()
    real_write = cache.write

    def slow_write(*args, **kwargs):
        release.wait(30)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(cache, "write", slow_write)
    want = store.load(ANALYSIS_COLUMNS)  # its write is held back ...
    assert not (cache.cache_dir(store.path) / "models.arrow").exists()
    _no_store_reads(monkeypatch)
    threading.Timer(0.05, release.set).start()
    _assert_same(store.load(ANALYSIS_COLUMNS), want)  # ... and this load waits for it


def test_other_columns_and_opt_outs_read_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.load(ANALYSIS_COLUMNS)
    _no_store_reads(monkeypatch)
    with pytest.raises(AssertionError, match="read the store"):
        store.load()  # every column: not cached
    with pytest.raises(AssertionError, match="read the store"):
        store.load(["id", "likes"])
    with pytest.raises(AssertionError, match="read the store"):
        store.load(ANALYSIS_COLUMNS, cache=False)
    monkeypatch.setenv("ECOGRAPH_CACHE", "0")
    with pytest.raises(AssertionError, match="read the store"):
        store.load(ANALYSIS_COLUMNS)


def test_a_subset_load_does_not_build_the_cache(store: Store) -> None:
    store.load(["id"])
    cache.wait()
    assert not cache.cache_dir(store.path).exists()


def test_disabled_cache_is_neither_read_nor_written(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOGRAPH_CACHE", "off")
    _assert_same(store.load(ANALYSIS_COLUMNS), _uncached(store))
    cache.wait()
    assert not cache.cache_dir(store.path).exists()


# ------------------------------------------------------------------ every write invalidates


def _child(i: int) -> dict:
    return {"id": f"k/c{i}", "downloads": i, "tags": ["base_model:finetune:u/ft"]}


WRITES: dict[str, Callable[[Store], object]] = {
    "save_models": lambda s: s.save_models([parse_model(_child(1))]),
    "save_node": lambda s: s.save_node(
        "u/ft", parsed=[parse_model(_child(2))], follow=["k/c2"], depth=1
    ),
    "save_node_record": lambda s: s.save_node(
        "org/root", parsed=[], follow=[], depth=0,
        node_record=ModelRecord(id="org/root", author="org", downloads=7),
    ),
    "save_node_listing": lambda s: s.save_node(
        "u/ft", parsed=[], follow=[], depth=1, listed=["w/m"]
    ),  # removes the stale edge u/ft -> v/q
    "seed_frontier": lambda s: s.seed_frontier([("org/root", 0)]),
    "mark_failed": lambda s: s.mark_failed("org/root", "HTTP 500"),
    "requeue_done": lambda s: s.requeue_done(),
    "requeue_failed": lambda s: s.requeue_failed(),
    "set_state": lambda s: s.set_state("scan_cursor", "abc"),
    "begin_run": lambda s: s.begin_run("crawl", {"roots": ["org/root"]}),
    "end_run": lambda s: s.end_run(1, status="ok", counts={}),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_bumps_the_generation_and_the_next_load_sees_it(
    store: Store, name: str
) -> None:
    store.load(ANALYSIS_COLUMNS)  # a cache of the current generation
    before = store.generation()
    assert before is not None
    WRITES[name](store)
    assert store.generation() == before + 1
    got = store.load(ANALYSIS_COLUMNS)
    _assert_same(got, _uncached(store))
    # and the rebuilt cache now answers for the new generation
    _assert_same(store.load(ANALYSIS_COLUMNS), got)


def test_a_stale_cache_is_not_served(store: Store) -> None:
    old = store.load(ANALYSIS_COLUMNS)
    store.save_models([parse_model(_child(3))])
    models, edges = store.load(ANALYSIS_COLUMNS)
    assert models.height == old[0].height + 1 and "k/c3" in models.get_column("id").to_list()
    assert ("u/ft", "k/c3") in edges.select("parent", "child").rows()


def test_a_failed_write_leaves_the_generation(store: Store) -> None:
    before = store.generation()

    def follow():
        yield "k/x"
        raise RuntimeError("killed mid-transaction")

    with pytest.raises(RuntimeError):
        store.save_node("u/ft", parsed=[parse_model(_child(4))], follow=follow(), depth=1)
    assert store.generation() == before


def test_import_bumps_the_generation_for_every_batch(store: Store, tmp_path: Path) -> None:
    snap = tmp_path / "snap.jsonl"
    snap.write_text("".join(json.dumps(_child(i)) + "\n" for i in range(10, 17)))
    store.load(ANALYSIS_COLUMNS)
    before = store.generation()
    assert before is not None
    import_snapshot(store, snap, batch_size=2)  # 4 batches, between begin_run and end_run
    assert store.generation() == before + 4 + 2
    models, _ = store.load(ANALYSIS_COLUMNS)
    assert {f"k/c{i}" for i in range(10, 17)} <= set(models.get_column("id").to_list())
    _assert_same((models, _), _uncached(store))


def test_a_new_store_at_the_same_path_does_not_reuse_the_cache(tmp_path: Path) -> None:
    db = tmp_path / "eco.db"
    with Store.open(db) as s:
        s.save_models([parse_model(o) for o in OBJS])
        s.load(ANALYSIS_COLUMNS)
        generation = s.generation()
    for p in tmp_path.glob("eco.db*"):
        if p.is_file():
            p.unlink()
    with Store.open(db) as s:  # a new store: same generation count, other store_id
        s.save_models([parse_model(_child(5))])
        while s.generation() < generation:  # type: ignore[operator]
            s.set_state("k", "v")
        assert s.generation() == generation
        models, _ = s.load(ANALYSIS_COLUMNS)
    assert models.get_column("id").to_list() == ["k/c5", "u/ft"]


# ------------------------------------------------------------------ damaged and foreign files


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "edges_only"])
def test_a_corrupt_cache_is_rebuilt(store: Store, damage: str) -> None:
    want = store.load(ANALYSIS_COLUMNS)
    cache.wait()
    folder = cache.cache_dir(store.path)
    models_file = folder / "models.arrow"
    if damage == "garbage":
        models_file.write_bytes(b"not arrow at all" * 100)
    elif damage == "truncated":
        models_file.write_bytes(models_file.read_bytes()[:-40])
    elif damage == "empty":
        models_file.write_bytes(b"")
    else:
        models_file.unlink()
    _assert_same(store.load(ANALYSIS_COLUMNS), want)
    # rebuilt: the file is whole again and serves the next load
    assert cache.read(store.path, _key(store), ["parent", "child", "relation", "source"])


def _key(store: Store) -> cache.CacheKey:
    rows = dict(store._query("SELECT key, value FROM meta"))
    return cache.CacheKey(rows["store_id"], int(rows["generation"]))


def test_files_of_another_cache_version_or_generation_are_ignored(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    store.load(ANALYSIS_COLUMNS)  # written as another layout version
    cache.wait()
    monkeypatch.undo()
    assert cache.read(store.path, _key(store), ["parent", "child", "relation", "source"]) is None
    want = _uncached(store)
    _assert_same(store.load(ANALYSIS_COLUMNS), want)
    assert cache.read(store.path, _key(store), ["parent", "child", "relation", "source"])
    # one file of another generation (a writer raced in between): both are rebuilt
    key = _key(store)
    cache.write(store.path, cache.CacheKey(key.store_id, key.generation + 5), *want)
    edges = pl.read_ipc(cache.cache_dir(store.path) / "edges.arrow")
    assert edges.height == want[1].height
    assert cache.read(store.path, key, ["parent", "child", "relation", "source"]) is None
    _assert_same(store.load(ANALYSIS_COLUMNS), want)


def test_no_temporary_files_are_left(store: Store) -> None:
    store.load(ANALYSIS_COLUMNS)
    store.set_state("a", "b")
    store.load(ANALYSIS_COLUMNS)
    cache.wait()
    names = sorted(p.name for p in cache.cache_dir(store.path).iterdir())
    assert names == ["edges.arrow", "models.arrow"]


def test_temporary_files_of_killed_writers_are_removed(store: Store) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)  # a process that has exited
    folder = cache.cache_dir(store.path)
    folder.mkdir()
    orphan = folder / f".models.arrow.{dead_pid}.0123abcd.tmp"
    orphan.write_bytes(b"half a file")
    live = folder / f".models.arrow.{os.getppid()}.4567ef.tmp"  # a live process's write
    live.write_bytes(b"in progress")
    store.load(ANALYSIS_COLUMNS)
    cache.wait()
    assert not orphan.exists() and live.exists()


# ------------------------------------------------------------------ never required


def test_an_unwritable_cache_directory_still_loads(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = cache.cache_dir(store.path)
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.geteuid() == 0:  # root ignores permissions: fail the way a read-only dir does
            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(cache.os, "open", refuse)
        _assert_same(store.load(ANALYSIS_COLUMNS), _uncached(store))
        _assert_same(store.load(ANALYSIS_COLUMNS), _uncached(store))
        cache.wait()
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_a_file_in_the_way_of_the_cache_directory_still_loads(store: Store) -> None:
    cache.cache_dir(store.path).write_text("something else\n")
    _assert_same(store.load(ANALYSIS_COLUMNS), _uncached(store))
    cache.wait()
    assert cache.cache_dir(store.path).read_text() == "something else\n"


# ------------------------------------------------------------------ old stores


def _downgrade_to_v1(db: Path) -> None:
    """Turn a store into what schema version 1 wrote: no store_id, no generation."""
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM meta WHERE key IN ('store_id', 'generation')")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "eco.db"
    with Store.open(db) as s:
        s.save_models([parse_model(o) for o in OBJS])
        want = _uncached(s)
    _downgrade_to_v1(db)
    with Store.open(db) as s:
        assert s.generation() == 0
        assert s.summary()["schema_version"] == SCHEMA_VERSION
        _assert_same(s.load(ANALYSIS_COLUMNS), want)
        cache.wait()
        assert (cache.cache_dir(db) / "models.arrow").exists()
        s.save_models([parse_model(_child(6))])
        assert s.generation() == 1
        assert "k/c6" in s.load(ANALYSIS_COLUMNS)[0].get_column("id").to_list()
    conn = sqlite3.connect(db)
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    assert meta["schema_version"] == str(SCHEMA_VERSION) and len(meta["store_id"]) == 32


def test_a_version_1_store_that_cannot_be_upgraded_loads_without_cache(
    tmp_path: Path,
) -> None:
    db = tmp_path / "eco.db"
    with Store.open(db) as s:
        s.save_models([parse_model(o) for o in OBJS])
        want = _uncached(s)
    _downgrade_to_v1(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        conn = sqlite3.connect(db, timeout=0.0)
        Store._upgrade(conn, 1)  # cannot write: leaves the store as it is
        conn.close()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert dict(sqlite3.connect(db).execute("SELECT key, value FROM meta"))[
        "schema_version"] == "1"
    # a read-only connection: no upgrade, no generation, so no cache either
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with Store(db, conn) as s:
        assert s.generation() is None
        _assert_same(s.load(ANALYSIS_COLUMNS), want)
    cache.wait()
    assert not cache.cache_dir(db).exists()


# ------------------------------------------------------------------ concurrency

WRITER = r"""
import json, os, sys, time
from pathlib import Path
from ecograph.records import parse_model
from ecograph.store import Store

db, folder, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])

def publish(name, value):
    tmp = folder / (name + ".tmp")
    tmp.write_text(str(value))
    os.replace(tmp, folder / name)

def acked():
    try:
        return int((folder / "ack").read_text())
    except (OSError, ValueError):
        return -1

with Store.open(db, create=False) as store:
    for i in range(1, n + 1):
        store.save_models([parse_model(
            {"id": f"w/c{i}", "tags": ["base_model:finetune:org/base"]})])
        publish("committed", i)
        if i % 5 == 0:  # let the reader load at least once per 5 writes
            deadline = time.monotonic() + 120
            while acked() < i and time.monotonic() < deadline:
                time.sleep(0.001)
publish("done", 1)
"""


def test_a_reader_racing_a_writer_never_sees_a_stale_cache(tmp_path: Path) -> None:
    db = tmp_path / "eco.db"
    with Store.open(db) as s:
        s.save_models([parse_model({"id": "org/base", "downloads": 1})])
    n = 60
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(tmp_path), str(n)], env=env
    )
    loads = during = 0
    try:
        with Store.open(db, create=False) as reader:
            while True:
                finished = (tmp_path / "done").exists()
                try:
                    committed = int((tmp_path / "committed").read_text())
                except (OSError, ValueError):
                    committed = 0
                models, edges = reader.load(ANALYSIS_COLUMNS)
                loads += 1
                during += 0 < committed < n
                children = edges.height
                # never older than what was committed before the load began ...
                assert children >= committed
                # ... and models and edges of one and the same generation
                assert models.height == children + 1
                ack = tmp_path / "ack.tmp"
                ack.write_text(str(committed))
                os.replace(ack, tmp_path / "ack")
                if finished:
                    break
                if writer.poll() is not None and not (tmp_path / "done").exists():
                    raise AssertionError(f"writer failed with {writer.returncode}")
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert children == n and during >= n // 5 - 1 and loads > during
