"""SIGKILL a crawl at random moments, re-run the same command: the store ends up exactly
as after an uninterrupted crawl (no lost node, no duplicate edge)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecograph.fakehub import FakeHub
from ecograph.store import Store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "small_hub.jsonl"
ROOT = "meta-llama/Llama-3.1-8B"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def command(db: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "ecograph", "crawl", ROOT, "--db", str(db),
            "--endpoint", url, "--workers", "4", "--quiet"]


def done_nodes(db: Path) -> int:
    """Nodes marked done so far, read while the crawl runs (WAL readers do not block)."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM frontier WHERE status = 'done'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def contents(db: Path) -> tuple[list[tuple], list[tuple]]:
    with Store.open(db) as store:
        models, edges = store.load()
    assert models["id"].is_unique().all()
    assert not edges.select("parent", "child").is_duplicated().any()
    return sorted(models.drop("fetched_at").rows()), sorted(edges.rows())


def test_sigkill_then_rerun_gives_the_same_store(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("ECOGRAPH_DEBUG", None)
    rng = random.Random(20241126)
    with FakeHub(FIXTURE, latency_ms=15) as hub:
        ref = tmp_path / "ref.db"
        subprocess.run(command(ref, hub.url), env=env, check=True, timeout=60,
                       capture_output=True)
        want = contents(ref)

        db = tmp_path / "killed.db"
        killed, progress = 0, []
        # kill the same crawl again and again, at random points of its progress
        for target in sorted(rng.sample(range(1, 130), 4)):
            proc = subprocess.Popen(command(db, hub.url), env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while proc.poll() is None and done_nodes(db) < target:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=30)
            with Store.open(db) as store:
                progress.append(store.frontier_counts())
        done = subprocess.run(command(db, hub.url), env=env, timeout=60, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
        assert any(line.startswith("Crawl done") for line in done.stdout.splitlines())
    assert killed >= 3
    # at least one kill landed in the middle of the crawl
    assert any(c["done"] > 0 and c["pending"] > 0 for c in progress), progress
    assert contents(db) == want
    with Store.open(db) as store:
        assert store.frontier_counts()["pending"] == 0
        assert store.failed() == []
