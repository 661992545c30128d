"""``ecograph refresh``: a store brought up to date against a fake Hub that changes under it
equals a fresh import of the changed Hub, at the cost of the listing pages that changed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from ecograph import synth
from ecograph.cli import main
from ecograph.errors import UsageError
from ecograph.fakehub import FakeHub, SnapshotIndex
from ecograph.hub import HubClient
from ecograph.importer import import_snapshot
from ecograph.refresh import WATERMARK_KEY, refresh
from ecograph.store import Store

#: model columns a refresh and an import must agree on (fetched_at: when read)
SKIP = ("fetched_at",)
N_MODELS = 3000
LISTING = {"new": 0.5, "edit": 0.5}  # the changes the lastModified listing tells


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return list(synth.generate(N_MODELS, seed=5))


def _index(objects: list[dict]) -> SnapshotIndex:
    return SnapshotIndex.from_objects(objects)


def _imported(tmp: Path, name: str, index: SnapshotIndex) -> Path:
    """A store holding a fresh import of the index as it stands."""
    snap = tmp / f"{name}.jsonl"
    index.write_jsonl(snap)
    db = tmp / f"{name}.db"
    with Store.open(db) as store:
        import_snapshot(store, snap)
    return db


def _frames(db: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    with Store.open(db) as store:
        models, edges = store.load(cache=False)
    assert models["id"].is_unique().all()
    assert not edges.select("parent", "child").is_duplicated().any()
    return models.drop(SKIP), edges


def assert_same_hub(refreshed: Path, fresh: Path, deleted: set[str] = frozenset()) -> None:
    """Models (every column but fetched_at), edges and statuses equal; the refreshed store
    may also keep placeholders no edge names any more and the deleted models (``missing``)."""
    rm, re_ = _frames(refreshed)
    fm, fe = _frames(fresh)
    assert re_.equals(fe), "edges differ"
    ok_r = rm.filter(pl.col("status") == "ok")
    ok_f = fm.filter(pl.col("status") == "ok")
    assert ok_r.equals(ok_f), "ok models differ"
    miss_r = set(rm.filter(pl.col("status") != "ok")["id"])
    miss_f = set(fm.filter(pl.col("status") != "ok")["id"])
    assert miss_f <= miss_r
    named = set(re_["parent"]) | set(re_["child"])
    extra = miss_r - miss_f
    assert not (extra & named - miss_f), "an extra placeholder is still named by an edge"
    assert {d.lower() for d in deleted} <= {m.lower() for m in miss_r}


def _refresh(db: Path, url: str, *, page_size: int = 1000, **kw):
    with Store.open(db) as store:
        return refresh(store, HubClient(url, token=False, page_size=page_size), **kw)


def test_refresh_catches_new_models_and_edited_cards(tmp_path: Path, objects) -> None:
    index = _index(objects)
    db = _imported(tmp_path, "before", index)
    with FakeHub(index) as hub:
        changes = hub.evolve(400, seed=3, kinds=LISTING)
        hub.reset_counters()
        result = _refresh(db, hub.url)
        assert hub.requests == result.total_requests == 1  # 400 changes: one page
    assert result.watermark_source.startswith("first refresh")
    assert sorted(result.new) == sorted(changes.added)
    assert sorted(result.edited) == sorted(changes.edited)
    assert result.edges_added > 0 and result.edges_removed > 0
    assert_same_hub(db, _imported(tmp_path, "after", index))


def test_second_refresh_of_an_unchanged_hub_costs_one_request(tmp_path: Path, objects) -> None:
    index = _index(objects)
    db = _imported(tmp_path, "before", index)
    with FakeHub(index) as hub:
        hub.evolve(50, seed=4, kinds=LISTING)
        first = _refresh(db, hub.url)
        models, edges = _frames(db)
        hub.reset_counters()
        second = _refresh(db, hub.url)
        assert hub.requests == 1
    assert first.new or first.edited
    assert second.watermark_source == "the previous refresh"
    assert (second.new, second.edited, second.deleted) == ([], [], [])
    assert (second.edges_added, second.edges_removed) == (0, 0)
    again_models, again_edges = _frames(db)
    assert again_models.equals(models) and again_edges.equals(edges)


def test_refresh_pages_through_many_changes_between_runs(tmp_path: Path, objects) -> None:
    index = _index(objects)
    db = _imported(tmp_path, "before", index)
    with FakeHub(index, page_size=100) as hub:
        for step in range(3):  # three refreshes, the Hub changing before each
            changes = hub.evolve(250, seed=10 + step, kinds=LISTING)
            hub.reset_counters()
            result = _refresh(db, hub.url, page_size=100)
            assert result.total_requests == 3  # 250 changes: 3 pages of 100
            assert len(result.new) + len(result.edited) == changes.total
    assert_same_hub(db, _imported(tmp_path, "after", index))


def test_refresh_while_the_hub_changes_under_it(tmp_path: Path, objects) -> None:
    """Changes during a listing are never lost: they are newer than the new watermark, so
    the next refresh brings them (keyset cursors: nothing shifts between pages)."""
    index = _index(objects)
    db = _imported(tmp_path, "before", index)
    with FakeHub(index, evolve_every=2, evolve_changes=30, evolve_seed=8) as hub:
        hub.evolve(600, seed=1, kinds=LISTING)
        with Store.open(db) as store:
            refresh(store, HubClient(hub.url, token=False, page_size=100))
        assert hub.changes.deleted  # some models went while it listed
        hub.evolve_every = None  # the Hub stops moving
        with Store.open(db) as store:
            refresh(store, HubClient(hub.url, token=False, page_size=100),
                    check_deleted=True)
        deleted = set(hub.changes.deleted)
    # downloads changed without lastModified: a refresh does not re-read them
    fresh = _imported(tmp_path, "after", index)
    changed_downloads = set(hub.changes.downloads)
    _drop_downloads(db, changed_downloads)
    _drop_downloads(fresh, changed_downloads)
    assert_same_hub(db, fresh, deleted)


def _drop_downloads(db: Path, ids: set[str]) -> None:
    with Store.open(db) as store:
        store._conn.execute("UPDATE models SET downloads = NULL WHERE id IN "
                            "(SELECT value FROM json_each(?))", (json.dumps(sorted(ids)),))
        store._conn.commit()


def test_check_deleted_marks_the_models_gone_and_keeps_them(tmp_path: Path, objects) -> None:
    index = _index(objects)
    db = _imported(tmp_path, "before", index)
    with FakeHub(index) as hub:
        changes = hub.evolve(30, seed=2, kinds={"delete": 1})
        plain = _refresh(db, hub.url)
        assert plain.deleted == []  # the listing cannot tell
        hub.reset_counters()
        result = _refresh(db, hub.url, check_deleted=True, sample=200)
        assert result.checked == 200 and hub.counts["route"]["detail"] == 200
        found = set(result.deleted)
        assert found <= set(changes.deleted)
        result = _refresh(db, hub.url, check_deleted=True)
    assert set(result.deleted) | found == set(changes.deleted)
    with Store.open(db) as store:
        models, edges = store.load(cache=False)
    gone = models.filter(pl.col("id").is_in(changes.deleted))
    assert gone.height == len(changes.deleted) and set(gone["status"]) == {"missing"}
    assert not set(edges["child"]) & set(changes.deleted)
    assert_same_hub(db, _imported(tmp_path, "after", index), set(changes.deleted))


def test_refresh_refuses_a_store_from_another_endpoint(tmp_path: Path, objects) -> None:
    index = _index(objects[:200])
    db = _imported(tmp_path, "before", index)
    with Store.open(db) as store:
        run = store.begin_run("scan", {"endpoint": "https://huggingface.co"})
        store.end_run(run, status="done", counts={})
    with FakeHub(index) as hub, pytest.raises(UsageError, match="crawled from https://hugg"):
        _refresh(db, hub.url)


def test_refresh_refuses_a_watermark_in_the_future(tmp_path: Path, objects) -> None:
    index = _index(objects[:200])
    db = _imported(tmp_path, "before", index)
    with FakeHub(index) as hub:
        future = datetime.now(UTC) + timedelta(days=3)
        with Store.open(db) as store:
            store.set_state(WATERMARK_KEY, json.dumps(
                {"endpoint": hub.url, "watermark": future.isoformat()}))
        with pytest.raises(UsageError, match="in the future"):
            _refresh(db, hub.url)
        with pytest.raises(UsageError, match="in the future"):
            _refresh(db, hub.url, since=future)
        changes = hub.evolve(5, seed=1, kinds={"new": 1})
        # --since overrides it (every model is then new or edited since that date)
        result = _refresh(db, hub.url, since=datetime(2000, 1, 1, tzinfo=UTC))
    assert set(changes.added) <= set(result.new) and result.listed == 205
    assert result.watermark_source == "given (--since)"


def test_refresh_of_an_empty_store_is_refused(tmp_path: Path, objects) -> None:
    with FakeHub(objects[:10]) as hub, pytest.raises(UsageError, match="no models"):
        _refresh(tmp_path / "empty.db", hub.url)


def test_refresh_cli_prints_requests_and_changes(tmp_path: Path, objects) -> None:
    index = _index(objects)
    db = _imported(tmp_path, "before", index)
    with FakeHub(index) as hub:
        changes = hub.evolve(20, seed=6, kinds={"new": 1, "edit": 1, "downloads": 1})
        res = CliRunner().invoke(main, ["refresh", "--db", str(db), "--endpoint", hub.url,
                                        "--quiet"])
    assert res.exit_code == 0, res.output
    assert "requests: 1 " in res.output
    assert f"new models: {len(changes.added)}" in res.output
    assert f"edited: {len(changes.edited)}" in res.output
    assert "downloads" in res.output  # says what it did not re-read
    res = CliRunner().invoke(main, ["refresh", "--db", str(db), "--sample", "3"])
    assert res.exit_code == 2 and "--check-deleted" in res.output


# --------------------------------------------------------------------------- SIGKILL


def _cmd(db: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "ecograph", "refresh", "--db", str(db), "--endpoint", url,
            "--check-deleted", "--quiet"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigkill_mid_refresh_then_rerun_equals_an_uninterrupted_one(
        tmp_path: Path, objects) -> None:
    env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rng = random.Random(15)
    index = _index(objects)
    base = tmp_path / "base.jsonl"
    index.write_jsonl(base)
    with FakeHub(index, latency_ms=4, page_size=50) as hub:
        hub.evolve(400, seed=9)
        ref = tmp_path / "ref.db"
        killed = tmp_path / "killed.db"
        for db in (ref, killed):
            with Store.open(db) as store:
                import_snapshot(store, base)
        subprocess.run(_cmd(ref, hub.url), env=env, check=True, timeout=120,
                       capture_output=True)
        kills = 0
        for _ in range(2):
            proc = subprocess.Popen(_cmd(killed, hub.url), env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.8, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        done = subprocess.run(_cmd(killed, hub.url), env=env, timeout=120,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert kills >= 1
    rm, re_ = _frames(ref)
    km, ke = _frames(killed)
    assert ke.equals(re_)
    assert km.equals(rm)
    with Store.open(killed) as store:
        assert json.loads(store.get_state("refresh") or "{}")["status"] == "done"
