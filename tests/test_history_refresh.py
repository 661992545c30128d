"""Issue 15, done when: ``--as-of`` on a store refreshed three times reproduces the metrics
of each earlier snapshot exactly.

A store imports a synthetic Hub, then a fake Hub serving it moves on three times (new
models and edited cards each time, deletions in the second step) and the store is
refreshed after each step. As of each observation (the import and the three refreshes) the
store's metrics and edges equal those of a fresh import of the Hub's snapshot dumped right
after that step.

The Hub is evolved only in ways a refresh sees: new models and edited cards (the
``lastModified`` listing) and deletions (``check_deleted=True``). Download changes are left
out on purpose: the Hub changes downloads without touching ``lastModified``, so by design
(DESIGN §10, :mod:`ecograph.refresh`) a refresh does not re-read them for unedited models,
and a refreshed store then legitimately differs from a fresh import in those counts.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

import ecograph
from ecograph import synth
from ecograph.cli import main
from ecograph.fakehub import FakeHub, SnapshotIndex
from ecograph.hub import HubClient
from ecograph.importer import import_snapshot
from ecograph.metrics import ANALYSIS_COLUMNS
from ecograph.refresh import refresh
from ecograph.store import Store

N_MODELS = 3000
CHANGES = 150
LISTING = {"new": 0.5, "edit": 0.5}  # what the lastModified listing tells
#: per step: the kinds of change, and whether the refresh checks for deletions
STEPS = (
    (LISTING, False),
    ({"new": 0.4, "edit": 0.3, "delete": 0.3}, True),
    (LISTING, False),
)


def _import(db: Path, snapshot: Path) -> int:
    """Import ``snapshot`` into ``db``; the import's run id."""
    with Store.open(db) as store:
        import_snapshot(store, snapshot)
        return int(store.runs()["id"].to_list()[-1])


def _observed_at(db: Path, run_id: int) -> datetime:
    with Store.open(db) as store:
        runs = store.runs()
    (when,) = runs.filter(pl.col("id") == run_id)["observed_at"].to_list()
    assert isinstance(when, datetime)
    return when


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store imported from a synthetic Hub and refreshed three times as the Hub moved
    on; the Hub's snapshot at each observation, that observation's time, and the changes."""
    tmp = tmp_path_factory.mktemp("asof")
    index = SnapshotIndex.from_objects(list(synth.generate(N_MODELS, seed=15)))
    db = tmp / "hub.db"
    snapshots = [tmp / "hub-0.jsonl"]
    index.write_jsonl(snapshots[0])
    times = [_observed_at(db, _import(db, snapshots[0]))]
    steps = []
    with FakeHub(index) as hub:
        for step, (kinds, check_deleted) in enumerate(STEPS, 1):
            changes = hub.evolve(CHANGES, seed=100 + step, kinds=kinds)
            snapshots.append(tmp / f"hub-{step}.jsonl")
            index.write_jsonl(snapshots[-1])  # the Hub as this refresh will see it
            with Store.open(db) as store:
                result = refresh(store, HubClient(hub.url, token=False),
                                 check_deleted=check_deleted)
            times.append(_observed_at(db, result.run_id))
            steps.append((changes, result))
    return {"db": db, "snapshots": snapshots, "times": times, "steps": steps}


def _fresh(snapshot: Path) -> ecograph.Ecosystem:
    db = snapshot.with_suffix(".fresh.db")
    if not db.exists():
        _import(db, snapshot)
    return ecograph.open(db)


def test_the_hub_really_moved_and_the_refreshes_saw_it(refreshed) -> None:
    """The premise: each step changed models, edges and (step 2) deleted models, and each
    refresh found exactly those changes; so the four states differ."""
    for (changes, result), (_, check_deleted) in zip(refreshed["steps"], STEPS, strict=True):
        assert sorted(result.new) == sorted(changes.added) and changes.added
        assert sorted(result.edited) == sorted(changes.edited) and changes.edited
        assert sorted(result.deleted) == sorted(changes.deleted)
        assert bool(changes.deleted) == check_deleted
        assert result.edges_added > 0
    times = refreshed["times"]
    assert times == sorted(times) and len(set(times)) == len(times)
    stats = [_fresh(s).stats().sort("root") for s in refreshed["snapshots"]]
    for before, after in zip(stats, stats[1:], strict=False):
        assert not before.equals(after)


@pytest.mark.parametrize("state", [0, 1, 2, 3])
def test_as_of_each_observation_equals_a_fresh_import_of_that_snapshot(
        refreshed, state: int) -> None:
    """State 0 is the import; state k the refresh after the Hub's k-th step."""
    snapshot, when = refreshed["snapshots"][state], refreshed["times"][state]
    fresh = _fresh(snapshot)
    then = ecograph.open(refreshed["db"], as_of=when)
    assert_frame_equal(then.stats().sort("root"), fresh.stats().sort("root"))
    assert_frame_equal(then.edges, fresh.edges)
    # the live models too (deleted ones stay in the store as ``missing``)
    cols = list(ANALYSIS_COLUMNS)
    assert_frame_equal(then.models.filter(pl.col("status") == "ok").select(cols),
                       fresh.models.filter(pl.col("status") == "ok").select(cols))
    # and the snapshot read directly gives the same metrics as its fresh import
    assert_frame_equal(ecograph.Ecosystem.from_snapshot(snapshot).stats().sort("root"),
                       fresh.stats().sort("root"))


def test_cli_stats_as_of_an_earlier_refresh(refreshed) -> None:
    """``ecograph stats --all --as-of T`` on the refreshed store prints what the snapshot of
    then prints (the state before the last refresh, after the deletions)."""
    snapshot, when = refreshed["snapshots"][2], refreshed["times"][2]
    runner = CliRunner()
    res = runner.invoke(main, ["stats", "--all", "--db", str(refreshed["db"]),
                               "--as-of", when.isoformat(), "--format", "json"])
    assert res.exit_code == 0, res.output
    fresh = runner.invoke(main, ["stats", "--all", "--snapshot", str(snapshot),
                                 "--format", "json"])
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(res.output) == json.loads(fresh.output)
    now = runner.invoke(main, ["stats", "--all", "--db", str(refreshed["db"]),
                               "--format", "json"])
    assert json.loads(now.output) != json.loads(res.output)  # the last refresh changed it
