"""History (DESIGN §10): observations in the store, the ecosystem as of a date, changes."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import ecograph
from ecograph.cli import main
from ecograph.errors import InputError
from ecograph.importer import import_snapshot
from ecograph.metrics import ANALYSIS_COLUMNS
from ecograph.records import ModelRecord, ParsedModel, parse_model
from ecograph.store import SCHEMA_VERSION, Store

T1 = datetime(2025, 1, 1, 12, tzinfo=UTC)
T2 = datetime(2025, 2, 1, 12, tzinfo=UTC)
T3 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def hub_model(mid: str, downloads: int, parents: tuple[str, ...] = (),
              relation: str = "finetune", created: str = "2024-06-01") -> dict[str, Any]:
    """One Hub model object as a snapshot line holds it."""
    tags = ["transformers", "license:apache-2.0"]
    for p in parents:
        tags += [f"base_model:{p}", f"base_model:{relation}:{p}"]
    return {"id": mid, "author": mid.split("/")[0], "createdAt": f"{created}T00:00:00.000Z",
            "downloads": downloads, "likes": downloads // 10, "tags": tags}


def write_snapshot(path: Path, models: list[dict[str, Any]], when: datetime) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in models), encoding="utf-8")
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))  # the import's observation time
    return path


# Three snapshots of one Hub: models added, downloads changed, an edge removed (d leaves
# org2/r2), a model deleted (org1/b; its child e still names it, so it stays a node).
S1 = [
    hub_model("org1/r1", 1000, created="2024-01-01"),
    hub_model("org2/r2", 500, created="2024-02-01"),
    hub_model("x/a", 100, ("org1/r1",)),
    hub_model("y/b", 50, ("x/a",), "quantized"),
    hub_model("z/c", 70, ("org2/r2",)),
    hub_model("w/d", 20, ("org1/r1", "org2/r2"), "merge"),
]
S2 = [
    hub_model("org1/r1", 1100, created="2024-01-01"),
    hub_model("org2/r2", 400, created="2024-02-01"),
    hub_model("x/a", 300, ("org1/r1",)),
    hub_model("y/b", 55, ("x/a",), "quantized"),
    hub_model("z/c", 70, ("org2/r2",)),
    hub_model("w/d", 25, ("org1/r1",)),
    hub_model("v/e", 5, ("y/b",), "adapter", created="2025-01-20"),
    hub_model("u/f", 9, ("org2/r2",), created="2025-01-25"),
]
S3 = [
    hub_model("org1/r1", 1200, created="2024-01-01"),
    hub_model("org2/r2", 400, created="2024-02-01"),
    hub_model("x/a", 250, ("org1/r1",)),
    hub_model("z/c", 90, ("org2/r2",)),
    hub_model("w/d", 25, ("org1/r1",)),
    hub_model("v/e", 8, ("y/b",), "adapter", created="2025-01-20"),
    hub_model("u/f", 9, ("org2/r2",), created="2025-01-25"),
    hub_model("org3/r3", 10, created="2025-02-10"),
    hub_model("t/g", 3, ("org3/r3",), created="2025-02-15"),
]
SNAPSHOTS = ((S1, T1), (S2, T2), (S3, T3))


def _import(db: Path, src: Path, **kw: Any) -> None:
    with Store.open(db) as store:
        import_snapshot(store, src, **kw)


@pytest.fixture()
def evolved(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A store that imported the three snapshots in turn, and the snapshot files."""
    db = tmp_path / "hub.db"
    files = []
    for i, (models, when) in enumerate(SNAPSHOTS, 1):
        files.append(write_snapshot(tmp_path / f"s{i}.jsonl", models, when))
        _import(db, files[-1], complete=True)
    return db, files


def _fresh(tmp_path: Path, src: Path, name: str) -> ecograph.Ecosystem:
    db = tmp_path / f"fresh-{name}.db"
    _import(db, src)
    return ecograph.open(db)


def test_as_of_each_observation_reproduces_a_fresh_import(evolved, tmp_path) -> None:
    db, files = evolved
    for i, (src, (_, when)) in enumerate(zip(files, SNAPSHOTS, strict=True), 1):
        fresh = _fresh(tmp_path, src, str(i))
        then = ecograph.open(db).as_of(when)
        assert_frame_equal(then.stats(), fresh.stats())
        assert_frame_equal(then.edges, fresh.edges)
        if i < 3:  # (latest: the deleted model keeps its values, a fresh import has none)
            cols = [c for c in ANALYSIS_COLUMNS if c != "created_at"]
            assert_frame_equal(then.models.select(cols), fresh.models.select(cols))
    # also through open(..., as_of=) and between observations (the earlier one holds)
    mid = T1 + timedelta(days=3)
    assert_frame_equal(ecograph.open(db, as_of=mid).stats(),
                       _fresh(tmp_path, files[0], "mid").stats())


def test_history_is_a_row_per_change_not_a_copy_per_run(evolved) -> None:
    db, files = evolved
    with Store.open(db) as store:
        mh, eh = store.load_history()
        assert store.runs()["observed_at"].to_list() == [T1, T2, T3]
        # re-importing the last snapshot changes nothing and records nothing
        import_snapshot(store, files[2], complete=True)
        mh2, eh2 = store.load_history()
    assert (mh2.height, eh2.height) == (mh.height, eh.height)
    by_id = mh.group_by("id").len().sort("id")
    # z/c: 70, 70, 90 -> two rows; org2/r2: 500, 400, 400 -> two rows
    assert dict(by_id.iter_rows())["z/c"] == 2 and dict(by_id.iter_rows())["org2/r2"] == 2
    b = mh.filter(pl.col("id") == "y/b").sort("seq")
    assert b["status"].to_list() == ["ok", "ok", "missing"]
    assert b["observed_at"].to_list()[-1] == T3
    # the removed edge org2/r2 -> w/d is closed at T2, never deleted from the history
    rd = eh.filter((pl.col("parent") == "org2/r2") & (pl.col("child") == "w/d")).sort("seq")
    assert list(zip(rd["open"], rd["observed_at"], strict=True)) == [(True, T1), (False, T2)]


def test_deleted_model_stays_missing_and_its_edges_close(evolved) -> None:
    db, _ = evolved
    eco = ecograph.open(db)
    row = eco.models.filter(pl.col("id") == "y/b").row(0, named=True)
    assert row["status"] == "missing" and row["downloads"] == 55  # kept, never purged
    assert eco.edges.filter(pl.col("child") == "y/b").height == 0
    assert eco.edges.filter(pl.col("parent") == "y/b")["child"].to_list() == ["v/e"]


def test_changes_between_observations(evolved) -> None:
    db, _ = evolved
    out = ecograph.open(db).changes(T2.isoformat())
    assert out["since"] == T2.isoformat() and out["until"] == T3.isoformat()
    assert [(d["root"], d["id"]) for d in out["new_derivatives"]] == [("org3/r3", "t/g")]
    assert [d["id"] for d in out["deleted"]] == ["y/b"]
    assert [d["id"] for d in out["new_foundations"]] == ["org3/r3"]
    movers = {m["id"]: (m["before"], m["after"], m["change"]) for m in out["movers"]}
    assert movers == {"org1/r1": (1100, 1200, 100), "x/a": (300, 250, -50),
                      "z/c": (70, 90, 20), "v/e": (5, 8, 3)}
    assert [m["id"] for m in out["movers"]] == ["org1/r1", "x/a", "z/c", "v/e"]
    assert "y/b" not in movers  # deleted: its last downloads are not a move
    # by run id, and restricted to one family
    by_run = ecograph.open(db).changes(1, ["org2/r2"])
    assert [(d["root"], d["id"]) for d in by_run["new_derivatives"]] == [("org2/r2", "u/f")]
    assert {m["id"] for m in by_run["movers"]} == {"org2/r2", "z/c", "w/d"}  # d: before
    assert by_run["deleted"] == []


def test_as_of_and_since_errors(evolved) -> None:
    db, _ = evolved
    eco = ecograph.open(db)
    with pytest.raises(InputError, match="before the first observation"):
        eco.as_of("2024-12-31")
    with pytest.raises(InputError, match="in the future"):
        eco.as_of(datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(InputError, match="no run 9 in"):
        eco.changes("9")
    with pytest.raises(InputError, match="not a date"):
        eco.as_of("yesterday")


def test_clock_skew_keeps_run_order_and_says_so(tmp_path) -> None:
    db = tmp_path / "skew.db"
    _import(db, write_snapshot(tmp_path / "a.jsonl", S1, T2))
    _import(db, write_snapshot(tmp_path / "b.jsonl", S2, T1))  # dated before the first
    eco = ecograph.open(db)
    obs = eco.observations()
    assert obs["skewed"].to_list() == [False, True]
    assert obs["effective_at"].to_list() == [T2, T2]
    out = eco.changes("1")
    assert out["warnings"] and "run 2" in out["warnings"][0]
    assert {d["id"] for d in out["new_derivatives"]} == {"v/e", "u/f"}
    # run 2 keeps its place after run 1 (effective at T2): as of T2 its values hold
    then = eco.as_of(T2).models
    assert then.height == len(S2)
    assert then.filter(pl.col("id") == "org1/r1")["downloads"].item() == 1100
    res = CliRunner().invoke(main, ["families", "--db", str(db), "--as-of", T2.isoformat()])
    assert res.exit_code == 0, res.output
    assert "Note: run 2 is dated" in res.output and "runs are kept in run order" in res.output


def test_crawl_path_records_history_per_node(tmp_path) -> None:
    """save_models / save_node / mark_deleted (what crawl and refresh call) record history."""
    def parsed(mid: str, downloads: int, parents: tuple[str, ...] = ()) -> ParsedModel:
        return parse_model(hub_model(mid, downloads, parents))

    with Store.open(tmp_path / "c.db") as store:
        run = store.begin_run("crawl", {}, observed_at=T1)
        store.save_node("org1/r1", parsed=[parsed("x/a", 1, ("org1/r1",))], follow=[],
                        depth=0, node_record=parsed("org1/r1", 10).record)
        store.end_run(run, status="ok", counts={})
        run = store.begin_run("refresh", {}, observed_at=T2)
        store.save_models([parsed("x/a", 1, ("org1/r1",))])  # unchanged: no row
        store.save_models([parsed("y/b", 4, ("x/a",))])
        store.save_node("org1/r1", parsed=[], follow=[], depth=0, listed=[])  # a gone
        assert store.mark_deleted(["y/b", "nobody/here"]) == ["y/b"]
        store.end_run(run, status="ok", counts={})
        mh, eh = store.load_history()
    assert mh.filter(pl.col("id") == "x/a").height == 1
    assert mh.filter(pl.col("id") == "y/b")["status"].to_list() == ["ok", "missing"]
    assert eh.filter(pl.col("child") == "x/a")["open"].to_list() == [True, False]
    assert set(eh["run_id"].to_list()) == {1, 2}
    eco = ecograph.open(tmp_path / "c.db")
    assert eco.as_of(T1).edges.select("parent", "child").rows() == [("org1/r1", "x/a")]
    assert eco.edges.height == 0


# ---------------------------------------------------------------- migration from v2

V2_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE models (id TEXT PRIMARY KEY COLLATE NOCASE, author TEXT, created_at INTEGER,
    last_modified INTEGER, downloads INTEGER, downloads_all_time INTEGER, likes INTEGER,
    library_name TEXT, pipeline_tag TEXT, license TEXT, gated TEXT, relation TEXT,
    status TEXT NOT NULL DEFAULT 'ok', fetched_at INTEGER, tags TEXT, parents TEXT);
CREATE TABLE edges (parent TEXT NOT NULL COLLATE NOCASE, child TEXT NOT NULL COLLATE NOCASE,
    relation TEXT, source TEXT, PRIMARY KEY (parent, child)) WITHOUT ROWID;
CREATE INDEX edges_child ON edges (child);
CREATE TABLE frontier (id TEXT PRIMARY KEY COLLATE NOCASE, depth INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
    expected_children TEXT, updated_at TEXT);
CREATE INDEX frontier_status ON frontier (status, depth, id);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, params TEXT,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL DEFAULT 'running',
    counts TEXT);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);
"""


def test_v2_store_upgrades_in_place_with_one_history_row_per_model(tmp_path) -> None:
    v3 = tmp_path / "v3.db"
    _import(v3, write_snapshot(tmp_path / "s1.jsonl", S1, T1))
    current = ecograph.open(v3)
    models, edges = current.models, current.edges
    # the same content in a store written by the version 2 layout
    v2 = tmp_path / "v2.db"
    conn = sqlite3.connect(v2, isolation_level=None)
    conn.execute("PRAGMA application_id=1162039111")
    conn.execute("PRAGMA user_version=2")
    conn.executescript(V2_DDL)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("application", "ecograph"), ("schema_version", "2"), ("store_id", "abc"),
        ("generation", "3"), ("created_at", "2024-12-01T00:00:00+00:00")])
    src = sqlite3.connect(v3)
    cols = "id, author, created_at, last_modified, downloads, downloads_all_time, likes, " \
           "library_name, pipeline_tag, license, gated, relation, status, fetched_at, tags, parents"
    conn.executemany(f"INSERT INTO models ({cols}) VALUES ({', '.join('?' * 16)})",
                     src.execute(f"SELECT {cols} FROM models").fetchall())
    conn.executemany("INSERT INTO edges VALUES (?, ?, ?, ?)",
                     src.execute("SELECT parent, child, relation, source FROM edges").fetchall())
    src.close()
    conn.execute("INSERT INTO runs (kind, params, started_at, finished_at, status, counts) "
                 "VALUES ('import', '{}', ?, ?, 'ok', '{}')",
                 ("2025-01-05T00:00:00+00:00", "2025-01-05T00:10:00+00:00"))
    conn.close()
    with Store.open(v2) as store:
        assert store.summary()["schema_version"] == SCHEMA_VERSION == 3
        mh, eh = store.load_history()
        assert store.runs()["observed_at"].to_list() == [datetime(2025, 1, 5, tzinfo=UTC)]
    assert mh.height == models.height and eh.height == edges.height
    assert set(mh["observed_at"].to_list()) == {datetime(2025, 1, 5, tzinfo=UTC)}
    upgraded = ecograph.open(v2)
    assert_frame_equal(upgraded.as_of("2025-01-06").stats(), current.stats())
    with pytest.raises(InputError, match="before the first observation"):
        upgraded.as_of("2025-01-04")


# ---------------------------------------------------------------- CLI


def test_cli_as_of_and_changes(evolved, tmp_path) -> None:
    db, files = evolved
    runner = CliRunner()
    res = runner.invoke(main, ["stats", "org2/r2", "--db", str(db), "--format", "json",
                               "--as-of", T1.isoformat()])
    assert res.exit_code == 0, res.output
    fresh = runner.invoke(main, ["stats", "org2/r2", "--snapshot", str(files[0]),
                                 "--format", "json"])
    assert json.loads(res.output)[0]["size"] == json.loads(fresh.output)[0]["size"] == 2
    for cmd in (["families"], ["quality"], ["lineages"]):
        res = runner.invoke(main, [*cmd, "--db", str(db), "--as-of", "2025-02-02"])
        assert res.exit_code == 0, (cmd, res.output)
    res = runner.invoke(main, ["changes", "--since", "2", "--db", str(db), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) >= {"since", "until", "new_derivatives", "deleted", "new_foundations",
                        "movers"}
    assert [d["id"] for d in out["deleted"]] == ["y/b"]
    table = runner.invoke(main, ["changes", "--since", "2025-02-01", "--db", str(db)])
    assert table.exit_code == 0 and "org3/r3" in table.output and "y/b" in table.output
    csv = runner.invoke(main, ["changes", "--since", "2", "--db", str(db), "--format", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines()[0].startswith("kind,")


@pytest.mark.parametrize(("args", "message"), [
    (["stats", "org1/r1", "--as-of", "2020-01-01"], "before the first observation"),
    (["stats", "org1/r1", "--as-of", "2999-01-01"], "in the future"),
    (["changes", "--since", "42"], "no run 42 in"),
    (["changes", "--since", "soon"], "not a date or time"),
])
def test_cli_history_errors_are_one_line(evolved, args, message) -> None:
    db, _ = evolved
    res = CliRunner().invoke(main, [*args, "--db", str(db)])
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], res.output


def test_every_analysis_command_takes_as_of(evolved, tmp_path) -> None:
    db, files = evolved
    runner = CliRunner()
    for name in ("stats", "families", "quality", "export", "render", "plot", "report",
                 "lineages", "trends", "compare"):
        res = runner.invoke(main, [name, "-h"])
        assert "--as-of DATE" in res.output, name
    out = tmp_path / "then.csv"
    res = runner.invoke(main, ["export", "--all", "--db", str(db), "-o", str(out),
                               "--as-of", T1.isoformat()])
    assert res.exit_code == 0, res.output
    exported = sorted(out.parent.glob("then*edges*.csv"))
    assert exported, list(out.parent.iterdir())
    edges = pl.read_csv(exported[0])
    assert ("org2/r2", "w/d") in set(edges.select("parent", "child").rows())  # closed at T2
    fresh = _fresh(tmp_path, files[0], "x")
    assert edges.height == fresh.edges.height


def test_plot_downloads(evolved, tmp_path) -> None:
    db, _ = evolved
    series = ecograph.open(db).downloads_over_time(["org1/r1", "org2/r2"])
    got = {(t, r): v for t, r, v in series.iter_rows()}
    # r1's family: a, b, d (T1: 100+50+20); T2: a, b, d, e; T3: a, d (b deleted)
    assert got[(T1, "org1/r1")] == 170 and got[(T2, "org1/r1")] == 385
    assert got[(T3, "org1/r1")] == 275
    out = tmp_path / "dl.png"
    res = CliRunner().invoke(main, ["plot", "downloads", "org1/r1", "org2/r2", "--db", str(db),
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 1000


# ---------------------------------------------------------------- property: replay

IDS = ["a/m0", "a/m1", "b/m2", "b/m3", "c/m4", "c/m5"]


@st.composite
def hub_states(draw: Any) -> list[dict[str, tuple[int, tuple[str, ...]]]]:
    """A sequence of 2-4 Hub states: id -> (downloads, parents), parents earlier in IDS."""
    states = []
    for _ in range(draw(st.integers(2, 4))):
        present = draw(st.lists(st.sampled_from(IDS), min_size=1, unique=True))
        state = {}
        for mid in present:
            earlier = IDS[: IDS.index(mid)]
            parents = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2)) \
                if earlier else []
            state[mid] = (draw(st.integers(0, 50)), tuple(sorted(parents)))
        states.append(state)
    return states


def replay(states: list[dict[str, tuple[int, tuple[str, ...]]]], k: int
           ) -> tuple[dict[str, tuple[str, int | None]], set[tuple[str, str]]]:
    """Plain Python: models (status, downloads) and edges after the first k states."""
    models: dict[str, tuple[str, int | None]] = {}
    edges: set[tuple[str, str]] = set()
    for state in states[:k]:
        for mid, (status, downloads) in list(models.items()):
            if mid not in state and status == "ok":
                models[mid] = ("missing", downloads)  # deleted: keeps its downloads
        for mid, (downloads, _) in state.items():
            models[mid] = ("ok", downloads)
        for _mid, (_, parents) in state.items():
            for p in parents:
                models.setdefault(p, ("missing", None))
        edges = {(p, c) for c, (_, ps) in state.items() for p in ps}
    return models, edges


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(states=hub_states())
def test_as_of_equals_replay(states, tmp_path_factory) -> None:
    base = tmp_path_factory.mktemp("replay")
    db = base / "r.db"
    times = [T1 + timedelta(days=i) for i in range(len(states))]
    for i, (state, when) in enumerate(zip(states, times, strict=True)):
        rel = "merge"
        lines = [hub_model(mid, d, ps, rel if len(ps) > 1 else "finetune")
                 for mid, (d, ps) in sorted(state.items())]
        _import(db, write_snapshot(base / f"s{i}.jsonl", lines, when), complete=True)
    eco = ecograph.open(db)
    for k, when in enumerate(times, 1):
        then = eco.as_of(when)
        models, edges = replay(states, k)
        got = {i: (s, d) for i, s, d in then.models.select("id", "status", "downloads").rows()}
        assert got == models
        assert set(then.edges.select("parent", "child").rows()) == edges


def test_records_without_a_run_are_observed_when_written(tmp_path) -> None:
    with Store.open(tmp_path / "w.db") as store:
        store.save_models([ParsedModel(ModelRecord(id="o/x", downloads=3))])
        mh, _ = store.load_history()
    assert mh["run_id"].to_list() == [None]
    assert abs(mh["observed_at"][0] - datetime.now(UTC)) < timedelta(minutes=5)
