"""Issue 11, the crawl's part: what a hostile or careless user found, one test each.

Every test here failed on the code before the fix (or hung: those run in a thread or a
subprocess with a time limit, so they fail instead).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecograph.cli import main
from ecograph.crawl import crawl, plan
from ecograph.errors import HubError, StoreError, UsageError
from ecograph.fakehub import FakeHub
from ecograph.graph import quality
from ecograph.hub import HubClient
from ecograph.pacing import RateLimiter
from ecograph.records import parse_model
from ecograph.responses import ListingLoopError, RetryableHubError
from ecograph.store import Store, raise_if_interrupted
from ecograph.synth import generate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "small_hub.jsonl"
LLAMA = "meta-llama/Llama-3.1-8B"
SMOL = "HuggingFaceTB/SmolLM2-135M"
INTERRUPTED = "Error: interrupted; everything collected so far is saved."
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def client(hub: FakeHub | str, **kw: Any) -> HubClient:
    url = hub if isinstance(hub, str) else hub.url
    return HubClient(url, token=False, timeout=5, limiter=RateLimiter(), **kw)


def _m(mid: str, parents: tuple[str, ...] = (), rel: str | None = None) -> dict:
    """A Hub model object (tags as the Hub writes them)."""
    tags = ["transformers"]
    for p in parents:
        tags.append(f"base_model:{p}")
        if rel:
            tags.append(f"base_model:{rel}:{p}")
    return {"id": mid, "author": mid.split("/")[0], "createdAt": "2024-01-01T00:00:00.000Z",
            "downloads": 10, "likes": 1, "tags": tags}


def contents(store: Store) -> tuple[list[tuple], list[tuple]]:
    """Everything a crawl stores about the graph (fetch times aside)."""
    models, edges = store.load()
    return sorted(models.drop("fetched_at").rows()), sorted(edges.rows())


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` in a thread; fails (instead of hanging the suite) when it takes longer."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s (an endless loop?)"
    if "error" in out:
        raise out["error"]
    return out["value"]


def env() -> dict[str, str]:
    out = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out.pop("ECOGRAPH_DEBUG", None)
    return out


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ecograph", *args]


def runs(db: Path) -> list[tuple[int, str, str]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT id, kind, status FROM runs ORDER BY id").fetchall()
    finally:
        con.close()


def done_nodes(db: Path) -> int:
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


# ----------------------------------------------- item 3: parents checked, refresh idempotent


@pytest.fixture(scope="module")
def synth_hub() -> tuple[list[dict], list[str]]:
    """A 20k synthetic hub and its two largest families' foundations: their members
    reference a few dozen parents of other families (merges), all on the Hub."""
    objs = list(generate(20_000, seed=1))
    parsed = [parse_model(o) for o in objs]
    kids = Counter(p for pm in parsed for p in pm.record.parents)
    roots = sorted((pm.record.id for pm in parsed if not pm.record.parents),
                   key=lambda r: (-kids[r], r))
    return objs, roots[:2]


def test_every_parent_is_checked_and_a_refresh_changes_nothing(
        tmp_path: Path, synth_hub: tuple[list[dict], list[str]]) -> None:
    objs, roots = synth_hub
    on_hub = {o["id"].lower() for o in objs}
    seen: list[tuple[list[tuple], list[tuple]]] = []
    with FakeHub(objs) as fh, Store.open(tmp_path / "s.db") as store:
        for _ in range(3):
            res = crawl(store, client(fh), roots, workers=8)
            assert res.status == "done" and res.failures == []
            # "missing" means missing on the Hub; nothing was left unchecked
            assert [p for p in res.missing_parents if p.lower() in on_hub] == []
            assert res.unchecked_parents == []
            seen.append(contents(store))
        models, edges = store.load()
    # the store's own quality report agrees: no existing model is a missing parent
    problems = quality(models, edges)
    missing = problems.filter(problems["kind"] == "missing_parent")["model_id"].to_list()
    assert [m for m in missing if m.lower() in on_hub] == []
    # out-of-family parents were checked (stored ok), not left as placeholders
    assert len(seen[0][0]) > len({n for n in seen[0][0] if n[0] in roots})
    assert seen[0] == seen[1] == seen[2]


def test_parents_left_unchecked_are_reported_as_such(tmp_path: Path) -> None:
    snap = [_m("org/A"), _m("x/P1"), _m("x/P2"), _m("x/P3"),
            _m("u/m1", ("org/A", "x/P1"), "merge"), _m("u/m2", ("org/A", "x/P2"), "merge"),
            _m("u/m3", ("org/A", "x/P3"), "merge"), _m("u/m4", ("org/A", "gone/none"), "merge")]
    db = tmp_path / "s.db"
    with FakeHub(snap) as fh:
        r = CliRunner().invoke(main, ["crawl", "org/A", "--db", str(db), "--endpoint", fh.url,
                                      "--verify-parents", "1", "-q"])
        assert r.exit_code == 0, r.output
        with Store.open(db) as store:
            first = crawl(store, client(fh), ["org/A"], verify_parents=1)
            # one more checked per run (those never checked first), none called missing
            assert len(first.unchecked_parents) == 2
            assert set(first.missing_parents) <= {"gone/none"}
            everything = crawl(store, client(fh), ["org/A"])
            assert everything.missing_parents == ["gone/none"]
            assert everything.unchecked_parents == []
            status = dict(store.load()[0].select("id", "status").iter_rows())
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("  parents not checked: ")]
    assert line.startswith("  parents not checked: 3 (they may exist on the Hub; run the same "
                           "command again (with a larger --verify-parents) to check them)")
    # the one request went to the parent never checked first: it is missing indeed
    assert "  missing parents: 1" in r.stdout.splitlines()
    assert "    gone/none" in r.stdout.splitlines()
    assert {status[p] for p in ("x/P1", "x/P2", "x/P3")} == {"ok"}


# ----------------------------------------------- item 4: deadline, Link cycles


def test_a_trickling_server_fails_the_request_at_its_deadline() -> None:
    with FakeHub([_m("org/A"), *[_m(f"u/c{i}", ("org/A",), "finetune") for i in range(5)]]
                 ) as fh:
        fh.trickle_seconds = 0.05  # 4 bytes every 50 ms: each read is quick, the whole slow
        hub = client(fh, deadline=0.5)
        with pytest.raises(RetryableHubError, match=r"no complete answer from http://127\.0\.0"
                                                    r"\.1:\d+ within 0\.5 s"):
            within(20, lambda: hub.model_info("org/A"))
        fh.trickle_seconds = 0.0005
        info = within(60, lambda: client(fh, deadline=60).model_info("org/A"))
        assert info.exists and info.children_total == 5


def test_a_link_cycle_fails_the_node_not_the_crawl(tmp_path: Path) -> None:
    snap = [_m("org/A"), _m("org/B"), _m("u/ft", ("org/A",), "finetune"),
            _m("u/q", ("org/B",), "quantized")]
    db = tmp_path / "s.db"
    with FakeHub(snap) as fh:
        fh.loop_links = True  # every listing's last page links back to its first
        proc = subprocess.run(cli("crawl", "org/A", "--db", str(db), "--endpoint", fh.url,
                                  "-q"), env=env(), capture_output=True, text=True, timeout=60)
        # the only root failed: exit 3, the summary names it, one Error line
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.splitlines() == [
            "Error: the crawl finished with 1 failed node (listed above); run the same "
            "command again to retry it"]
        assert "  failures: 1" in proc.stdout.splitlines()
        assert "went round in a cycle" in proc.stdout
        with Store.open(db) as store:
            (failed,) = store.failed()
            assert failed[0] == "org/A" and "page 2 links back" in failed[1]
            # a scan of a looping listing stops with one clear error; what it read stays
            with pytest.raises(HubError, match="went round in a cycle"):
                within(30, lambda: crawl(store, client(fh), strategy="scan"))
            assert store.runs()["status"].to_list()[-1] == "failed"
            assert {"org/A", "org/B", "u/ft", "u/q"} <= set(store.load()[0]["id"])
        fh.loop_links = False
        proc = subprocess.run(cli("crawl", "org/A", "--db", str(db), "--endpoint", fh.url,
                                  "-q"), env=env(), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stderr == ""  # retried and done


def test_hub_iterators_stop_a_link_cycle() -> None:
    with FakeHub([_m("org/A"), _m("u/ft", ("org/A",), "finetune")]) as fh:
        fh.loop_links = True
        with pytest.raises(ListingLoopError):
            within(20, lambda: list(client(fh).list_children("org/A")))
        with pytest.raises(ListingLoopError):
            within(20, lambda: list(client(fh).list_all()))


# ----------------------------------------------- item 6: Ctrl-C


class _InterruptAfterBegin:
    """A connection whose ``BEGIN`` is followed at once by a Ctrl-C (the signal landing
    between the statement and the code that would roll it back)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        cur = self.conn.execute(sql, *args)
        if sql.startswith("BEGIN"):
            raise KeyboardInterrupt
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_a_write_cut_short_by_ctrl_c_does_not_break_the_next_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        run_id = store.begin_run("crawl", {})
        real = store._conn
        store._conn = _InterruptAfterBegin(real)  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt):
            store.set_state("k", "v")
        store._conn = real
        # the next write (recording the interruption) works, nothing half-written stays
        store.end_run(run_id, status="interrupted", counts={})
        assert store.runs()["status"].to_list() == ["interrupted"]
        assert store.get_state("k") is None and not real.in_transaction


def test_ctrl_c_inside_adbc_is_an_interruption(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import adbc_driver_manager

    import ecograph.importer as importer

    def cancelled(exc: type[BaseException]) -> BaseException:
        # what ADBC raises for Ctrl-C: the driver's cancel is NOT_IMPLEMENTED
        try:
            raise exc("NOT_IMPLEMENTED") from KeyboardInterrupt()
        except BaseException as err:  # noqa: BLE001
            return err

    with pytest.raises(KeyboardInterrupt):
        raise_if_interrupted(cancelled(adbc_driver_manager.NotSupportedError))
    raise_if_interrupted(ValueError("an ordinary error"))  # not an interruption

    def write_batch(*a: object, **k: object) -> None:
        raise cancelled(adbc_driver_manager.NotSupportedError)

    monkeypatch.setattr(importer, "_write_batch", write_batch)
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(KeyboardInterrupt):
            importer.import_snapshot(store, FIXTURE)
        assert store.runs()["status"].to_list() == ["interrupted"]


def _sigint_crawl(db: Path, url: str, *, after_done: int, ignored: bool,
                  pause: float) -> subprocess.CompletedProcess[str]:
    """Start a crawl, send SIGINT once ``after_done`` nodes are done (then ``pause``)."""
    preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignored else None
    proc = subprocess.Popen(cli("crawl", LLAMA, "--db", str(db), "--endpoint", url,
                                "--workers", "4", "-q"),
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=preexec)
    deadline = time.monotonic() + 30
    while proc.poll() is None and done_nodes(db) < after_done:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(pause)
    assert proc.poll() is None, "the crawl ended before the signal"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@POSIX
@pytest.mark.slow
def test_ctrl_c_always_ends_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with FakeHub(FIXTURE, latency_ms=40) as fh:
        # several moments, and a process started with SIGINT ignored (a background job)
        for i, (after, pause, ignored) in enumerate([(1, 0.0, False), (4, 0.013, False),
                                                     (9, 0.027, True), (15, 0.005, False),
                                                     (20, 0.031, True)]):
            proc = _sigint_crawl(db, fh.url, after_done=after, ignored=ignored, pause=pause)
            assert proc.returncode == 130, (i, proc.stderr)
            assert proc.stderr.splitlines()[-1] == INTERRUPTED
            assert "Traceback" not in proc.stderr
            statuses = [s for _, _, s in runs(db)]
            assert "running" not in statuses and statuses[-1] == "interrupted", statuses
            # every interruption is a clean start: the next run refreshes from there
            with Store.open(db) as store:
                store.requeue_done()


# ----------------------------------------------- item 7: exit codes, conflicting flags


@pytest.mark.parametrize(("args", "message"), [
    ([LLAMA, "--direction", "up", "--strategy", "scan"],
     "Error: --strategy cannot be used with --direction up"),
    ([LLAMA, "--direction", "up", "--max-depth", "2", "--relations", "merge"],
     "Error: --max-depth, --relations cannot be used with --direction up"),
    ([LLAMA, "--direction", "up", "--since", "2025-01-01"],
     "Error: --since cannot be used with --direction up"),
    (["--direction", "both"], "Error: --direction both needs at least one ROOT model id"),
    ([LLAMA, "--strategy", "scan", "--max-models", "5"],
     "Error: --max-models cannot be used with --strategy scan"),
    ([LLAMA, "--since", "2025-01-01", "--max-depth", "1"],
     "Error: --max-depth cannot be used with --since (a scan)"),
    ([LLAMA, "--since", "2025-01-01", "--strategy", "bfs"],
     "Error: --since applies to --strategy scan, not bfs"),
])
def test_conflicting_crawl_flags_are_usage_errors(tmp_path: Path, args: list[str],
                                                  message: str) -> None:
    db = tmp_path / "s.db"
    with FakeHub(FIXTURE) as fh:
        r = CliRunner().invoke(main, ["crawl", *args, "--db", str(db), "--endpoint", fh.url])
        assert fh.requests == 0
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.splitlines()
    assert line.startswith(message)
    assert not db.exists()


def test_library_option_errors_are_usage_errors() -> None:
    hub = HubClient("http://127.0.0.1:9", token=False)
    for kw in ({"direction": "sideways"}, {"strategy": "fast"},
               {"direction": "up", "strategy": "scan"}, {"strategy": "scan", "max_depth": 2}):
        with pytest.raises(UsageError):
            plan(hub, [LLAMA], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="direction must be"):  # still a ValueError
        plan(hub, [LLAMA], direction="sideways")


# ----------------------------------------------- item 8: credentials, one crawl per store


def test_endpoint_credentials_are_never_stored_or_shown(tmp_path: Path) -> None:
    secret = "s3cretPW"
    db = tmp_path / "s.db"
    with FakeHub(FIXTURE) as fh:
        url = fh.url.replace("http://", f"http://me:{secret}@")
        ok = CliRunner().invoke(main, ["crawl", SMOL, "--db", str(db), "--endpoint", url])
    assert ok.exit_code == 0, ok.output
    down = CliRunner().invoke(main, ["crawl", SMOL, "--db", str(db), "--endpoint",
                                     f"http://me:{secret}@127.0.0.1:9"])
    bad = CliRunner().invoke(main, ["crawl", SMOL, "--db", str(db), "--endpoint",
                                    f"http://me:{secret}@127.0.0.1:port"])
    assert (down.exit_code, bad.exit_code) == (1, 1)
    assert down.stderr.startswith("Error: cannot reach http://127.0.0.1:9: ")
    assert bad.stderr.startswith("Error: invalid endpoint 'http://***@127.0.0.1:port'")
    for r in (ok, down, bad):
        assert secret not in r.output
    with Store.open(db) as store:
        params = store.runs()["params"].to_list()
    assert json.loads(params[0])["endpoint"] == fh.url
    for f in tmp_path.iterdir():
        assert secret.encode() not in f.read_bytes(), f


@POSIX
@pytest.mark.slow
def test_one_crawl_at_a_time_per_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with FakeHub(FIXTURE, latency_ms=30) as fh:
        command = cli("crawl", LLAMA, "--db", str(db), "--endpoint", fh.url, "--workers", "1",
                      "-q")
        first = subprocess.Popen(command, env=env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while done_nodes(db) < 2:
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.01)
            second = subprocess.run(command, env=env(), capture_output=True, text=True,
                                    timeout=60)
            assert second.returncode == 1
            (line,) = second.stderr.splitlines()
            assert line.startswith(f"Error: {db} is in use by another crawl (pid {first.pid}, ")
            assert first.poll() is None  # the first one goes on
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        # the lock of a killed crawl is taken over
        third = subprocess.run(command, env=env(), capture_output=True, text=True, timeout=120)
        assert third.returncode == 0, third.stderr
    with Store.open(db) as store:
        assert store.get_state("crawl_lock") is None
        assert store.frontier_counts()["pending"] == 0


def test_the_crawl_lock_in_one_process(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as one, Store.open(tmp_path / "s.db") as two:
        with one.crawl_lock():
            with pytest.raises(StoreError, match=f"pid {os.getpid()}"):
                with two.crawl_lock():
                    pass
        with two.crawl_lock():  # released
            pass
        # a lock left by a process that is gone is taken over
        one.set_state("crawl_lock", json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname(),
                                                "started": "x", "token": "t"}))
        with two.crawl_lock():
            pass
