"""Crawls against the fake Hub through the real huggingface_hub client.

The truth is computed independently: a networkx graph over the fixture's tag edges (what
``filter=base_model:X`` can find) and ``fixtures/small_hub_expected.json``.
"""

from __future__ import annotations

import _thread
import hashlib
import json
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import networkx as nx
import polars as pl
import pytest
from click.testing import CliRunner

from ecograph import cache
from ecograph.cli import main
from ecograph.crawl import (
    CrawlProgress,
    Gap,
    crawl,
    estimate,
    plan,
    resolve_roots,
    run,
)
from ecograph.errors import UnknownModelError
from ecograph.fakehub import FakeHub
from ecograph.hub import HubClient
from ecograph.pacing import RateLimiter
from ecograph.records import EdgeSource, parse_model
from ecograph.responses import ModelInfoResult, Page, RetryableHubError
from ecograph.store import Store

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "small_hub.jsonl"
EXPECTED = json.loads((FIXTURE.parent / "small_hub_expected.json").read_text())
FOUNDATIONS = sorted(EXPECTED["foundations"])
LLAMA = "meta-llama/Llama-3.1-8B"
SMOL = "HuggingFaceTB/SmolLM2-135M"
GEMMA = "google/gemma-2-9b"
LEAF = "mradermacher/Aurora_faustus-8B-LINEAR-ORPO-GGUF"
BRIDGE = "allknowingroger/MistralQwen-7B-slerp"


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return [json.loads(x) for x in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tag_graph(objs: list[dict]) -> nx.DiGraph:
    """Edges the Hub's listing can find: the tags (case resolved to known ids)."""
    parsed = [parse_model(o) for o in objs]
    known = {p.record.id.lower(): p.record.id for p in parsed}
    g = nx.DiGraph()
    for p in parsed:
        g.add_node(p.record.id, relation=p.record.relation and p.record.relation.value)
        for e in p.edges:
            if e.source is EdgeSource.TAG:
                g.add_edge(known.get(e.parent.lower(), e.parent), e.child,
                           relation=e.relation.value)
    return g


@pytest.fixture(scope="module")
def fakehub():
    with FakeHub(FIXTURE) as hub:
        yield hub


def client(hub: FakeHub | str, page_size: int = 1000) -> HubClient:
    url = hub if isinstance(hub, str) else hub.url
    return HubClient(url, token=False, timeout=5, limiter=RateLimiter(), page_size=page_size)


def family(store: Store, root: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Root + descendants along the store's edges, and the edges among them."""
    _, edges = store.load()
    kids: dict[str, list[tuple[str, str]]] = {}
    for p, c, r in edges.select("parent", "child", "relation").iter_rows():
        kids.setdefault(p, []).append((c, r))
    seen, queue = {root}, deque([root])
    while queue:
        for c, _ in kids.get(queue.popleft(), []):
            if c not in seen:
                seen.add(c)
                queue.append(c)
    fam_edges = {(p, c, r) for p, lst in kids.items() if p in seen for c, r in lst}
    return seen, fam_edges


def truth(g: nx.DiGraph, root: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    nodes = nx.descendants(g, root) | {root}
    return nodes, {(p, c, d["relation"]) for p, c, d in g.edges(data=True) if p in nodes}


def snapshot(store: Store) -> tuple[list[tuple], list[tuple]]:
    models, edges = store.load()
    return (sorted(models.drop("fetched_at").rows()), sorted(edges.rows()))


# --------------------------------------------------------------------------- down


@pytest.mark.parametrize("root", FOUNDATIONS)
def test_down_finds_exactly_the_family(tmp_path: Path, fakehub: FakeHub,
                                       tag_graph: nx.DiGraph, root: str) -> None:
    hub = client(fakehub)
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, hub, [root], workers=4)
        nodes, edges = family(store, root)
        models, _ = store.load()
    want_nodes, want_edges = truth(tag_graph, root)
    assert nodes == want_nodes
    assert edges == want_edges
    assert len(nodes) - 1 == EXPECTED["foundations"][root]["size_tag_edges_only"]
    rel = dict(models.select("id", "relation").iter_rows())
    assert all(rel[n] == tag_graph.nodes[n]["relation"] for n in nodes)
    assert res.failures == [] and res.gaps == [] and res.status == "done"
    # one listing per family node, plus the root's detail and a few parent checks
    assert len(nodes) + 1 <= res.total_requests <= len(nodes) + 1 + 10
    assert res.requests.get("status_200", 0) + res.requests.get("status_404", 0) \
        == res.total_requests


def test_request_counts_stored_in_runs(tmp_path: Path, fakehub: FakeHub) -> None:
    fakehub.reset_counters()
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, client(fakehub), [LLAMA])
        runs = store.runs()
    assert runs.height == 1 and runs["status"][0] == "done"
    counts = json.loads(runs["counts"][0])
    assert counts["requests"] == res.total_requests == fakehub.requests
    assert counts["models"] == res.models and counts["edges"] == res.edges
    assert counts["rate_limited"] == 0 and counts["failures"] == 0
    assert json.loads(runs["params"][0])["roots"] == [LLAMA]


def test_missing_parents_are_verified(tmp_path: Path, fakehub: FakeHub) -> None:
    qwen = "Qwen/Qwen2.5-7B"
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, client(fakehub), [qwen])
        models, _ = store.load()
    status = dict(models.select("id", "status").iter_rows())
    assert res.missing_parents == ["deleted-user/qwen2.5-7b-rp-sft"]
    assert status["deleted-user/qwen2.5-7b-rp-sft"] == "missing"
    # the Mistral parent of the cross-family merge exists: stored ok, not "missing"
    assert status["mistralai/Mistral-7B-v0.1"] == "ok"


def test_max_depth_and_relations(tmp_path: Path, fakehub: FakeHub,
                                 tag_graph: nx.DiGraph) -> None:
    hub = client(fakehub)
    with Store.open(tmp_path / "a.db") as store:
        res = crawl(store, hub, [LLAMA], max_depth=1, verify_parents=0)
        nodes, _ = family(store, LLAMA)
    assert nodes == {LLAMA, *tag_graph.successors(LLAMA)}
    assert res.total_requests == 2
    with Store.open(tmp_path / "b.db") as store:
        crawl(store, hub, [LLAMA], relations=["quantized"], verify_parents=0)
        nodes, _ = family(store, LLAMA)
    expect = {LLAMA}
    frontier = [LLAMA]
    while frontier:
        n = frontier.pop()
        for c in tag_graph.successors(n):
            if c not in expect:
                expect.add(c)
                if tag_graph.nodes[c]["relation"] == "quantized":
                    frontier.append(c)
    assert nodes == expect


def test_resume_and_refresh(tmp_path: Path, fakehub: FakeHub) -> None:
    hub = client(fakehub)
    with Store.open(tmp_path / "full.db") as store:
        crawl(store, hub, [GEMMA])
        full = snapshot(store)
    with Store.open(tmp_path / "part.db") as store:
        first = crawl(store, hub, [GEMMA], max_models=8, workers=1)
        assert store.frontier_counts()["pending"] > 0 and first.models < 30
        assert first.status == "partial"
        again = crawl(store, hub, [GEMMA])  # resumes: lists only what is pending
        assert snapshot(store) == full
        assert first.total_requests + again.total_requests <= 30 + 2 + 2 + 10
        done = store.frontier_counts()["done"]
        refresh = crawl(store, hub, [GEMMA])  # finished: re-lists the family
        assert refresh.total_requests >= done
        assert snapshot(store) == full
        assert store.runs().height == 3


def test_interrupt_keeps_work(tmp_path: Path, fakehub: FakeHub) -> None:
    hub = client(fakehub)
    calls = []

    def progress(p: CrawlProgress) -> None:
        if p.phase == "down" and p.done >= 5:
            calls.append(p)
            raise KeyboardInterrupt

    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(KeyboardInterrupt):
            crawl(store, hub, [LLAMA], progress=progress, workers=2)
        assert store.frontier_counts()["done"] == calls[0].done < 100
        assert store.runs()["status"].to_list() == ["interrupted"]
        crawl(store, hub, [LLAMA])
        got = snapshot(store)
    with Store.open(tmp_path / "ref.db") as store:
        crawl(store, hub, [LLAMA])
        assert snapshot(store) == got


class FlakyHub:
    """A hub double: wraps a real client and fails some nodes."""

    def __init__(self, inner: HubClient, bad: set[str], fail_times: int) -> None:
        self.inner, self.bad, self.fail_times = inner, bad, fail_times
        self.endpoint = inner.endpoint
        self.seen: dict[str, int] = {}

    def model_info(self, model_id: str) -> ModelInfoResult:
        return self.inner.model_info(model_id)

    def children_page(self, model_id: str, cursor: str | None = None) -> Page:
        n = self.seen[model_id] = self.seen.get(model_id, 0) + 1
        if model_id in self.bad and n <= self.fail_times:
            raise RetryableHubError("HTTP 503 from test", status=503)
        return self.inner.children_page(model_id, cursor)

    def scan_page(self, cursor: str | None = None) -> Page:
        return self.inner.scan_page(cursor)

    def request_counts(self) -> dict[str, int]:
        return self.inner.request_counts()


def test_failing_node_is_marked_listed_and_retried_later(tmp_path: Path,
                                                          fakehub: FakeHub) -> None:
    bad = "meta-llama/Llama-3.1-8B-Instruct"
    hub = FlakyHub(client(fakehub), {bad}, fail_times=2)
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, hub, [LLAMA], attempts=2)
        assert [n for n, _ in res.failures] == [bad]
        assert res.status == "done_with_failures"
        assert store.failed() == [(bad, "HTTP 503 from test")]
        res2 = crawl(store, hub, [LLAMA], attempts=2)  # failed nodes are retried
        assert res2.failures == [] and store.failed() == []
        got = snapshot(store)
    with Store.open(tmp_path / "ref.db") as store:
        crawl(store, client(fakehub), [LLAMA])
        assert snapshot(store) == got


def test_transient_errors_are_retried(tmp_path: Path, fakehub: FakeHub) -> None:
    hub = FlakyHub(client(fakehub), {LLAMA, GEMMA}, fail_times=1)
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, hub, [LLAMA], attempts=3)
    assert res.failures == [] and res.retries == 1


class GappyHub(FlakyHub):
    def model_info(self, model_id: str) -> ModelInfoResult:
        info = self.inner.model_info(model_id)
        counts = dict(info.children_by_relation or {})
        counts["adapter"] = counts.get("adapter", 0) + 5
        return ModelInfoResult(info.parsed, counts)


def test_gaps_against_children_model_count(tmp_path: Path, fakehub: FakeHub) -> None:
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, GappyHub(client(fakehub), set(), 0), [SMOL])
    assert [(g.node, g.expected - g.found) for g in res.gaps] == [(SMOL, 5)]
    assert res.gaps[0].found_by_relation == {"finetune": 1, "quantized": 1, "adapter": 1}


# --------------------------------------------------------------------------- pacing, faults


def test_quota_over_several_windows(tmp_path: Path, fakehub: FakeHub) -> None:
    hub_clean = client(fakehub)
    with Store.open(tmp_path / "ref.db") as store:
        crawl(store, hub_clean, [LLAMA])
        want = snapshot(store)
    with FakeHub(FIXTURE, quota=100, window=2) as fh:
        hub = client(fh)
        with Store.open(tmp_path / "s.db") as store:
            res = crawl(store, hub, [LLAMA], workers=8)
            assert snapshot(store) == want
    assert res.total_requests > 100  # more than one window's quota
    assert res.rate_limited <= 2
    assert res.waits >= 1  # it did wait for the reset


def test_fail_rate_gives_the_same_result(tmp_path: Path, fakehub: FakeHub) -> None:
    with Store.open(tmp_path / "ref.db") as store:
        crawl(store, client(fakehub), [LLAMA])
        want = snapshot(store)
    with FakeHub(FIXTURE, fail_rate=0.1, truncate_rate=0.03, drop_rate=0.02, seed=7) as fh:
        with Store.open(tmp_path / "s.db") as store:
            res = crawl(store, client(fh), [LLAMA], workers=8)
            assert snapshot(store) == want
    assert res.failures == []
    assert res.retries >= 5


# --------------------------------------------------------------------------- up, scan, auto


def test_up_from_a_leaf_reaches_the_foundation(tmp_path: Path, fakehub: FakeHub,
                                               tag_graph: nx.DiGraph) -> None:
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, client(fakehub), [LEAF], direction="up")
        models, edges = store.load()
    assert res.roots == [LLAMA]
    ancestors = nx.ancestors(tag_graph, LEAF) | {LEAF}
    assert set(models["id"]) == ancestors
    assert res.total_requests == len(ancestors)
    assert set(edges.select("parent", "child").rows()) == {
        (p, c) for p, c in tag_graph.edges if c in ancestors}


def test_up_from_a_bridge_reaches_both_foundations(tmp_path: Path, fakehub: FakeHub) -> None:
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, client(fakehub), [BRIDGE], direction="up")
    assert res.roots == ["Qwen/Qwen2.5-7B", "mistralai/Mistral-7B-v0.1"]


def test_both_directions(tmp_path: Path, fakehub: FakeHub, tag_graph: nx.DiGraph) -> None:
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, client(fakehub), [LEAF], direction="both")
        nodes, _ = family(store, LLAMA)
    assert res.roots == [LLAMA]
    assert nodes == nx.descendants(tag_graph, LLAMA) | {LLAMA}


def test_scan_whole_hub(tmp_path: Path, fakehub: FakeHub, objs: list[dict]) -> None:
    from ecograph.frames import frames_from_parsed

    want_models, want_edges = frames_from_parsed(parse_model(o) for o in objs)
    hub = client(fakehub, page_size=50)
    with Store.open(tmp_path / "s.db") as store:
        part = crawl(store, hub, strategy="scan", max_pages=2)
        assert part.status == "partial" and part.total_requests == 2
        cursor = json.loads(store.get_state("scan"))["cursor"]
        assert cursor
        rest = crawl(store, hub, strategy="scan")  # resumes from the checkpointed cursor
        assert rest.total_requests == 4 and rest.status == "done"
        models, edges = store.load()
    assert sorted(models["id"]) == sorted(want_models["id"])
    assert set(edges.select("parent", "child").rows()) == \
        set(want_edges.select("parent", "child").rows())
    assert set(rest.missing_parents) == set(EXPECTED["global"]["missing_parents"])


def test_scan_restarts_when_the_hub_rejects_the_saved_cursor(
        tmp_path: Path, fakehub: FakeHub, objs: list[dict]) -> None:
    """A saved position the Hub no longer takes (HTTP 400) does not wedge the scan: the
    next run starts over from the newest model, keeps what was saved, and says so."""
    hub = client(fakehub, page_size=50)
    with Store.open(tmp_path / "s.db") as store:
        crawl(store, hub, strategy="scan", max_pages=2)
        saved = store.load()[0].height
        state = json.loads(store.get_state("scan"))
        state["cursor"] = state["cursor"].replace("cursor=", "cursor=stale")
        store.set_state("scan", json.dumps(state))
        res = crawl(store, hub, strategy="scan")
        assert res.status == "done" and res.total_requests == 1 + 6  # rejected + all pages
        assert len(res.notes) == 1 and "rejected" in res.notes[0] and "400" in res.notes[0]
        models, _ = store.load()
        assert json.loads(store.get_state("scan"))["status"] == "done"
    assert models.height >= saved
    assert sorted(models.filter(models["status"] != "missing")["id"]) == \
        sorted(o["id"] for o in objs)


def test_scan_since(tmp_path: Path, fakehub: FakeHub, objs: list[dict]) -> None:
    from datetime import UTC, datetime

    since = datetime(2024, 9, 1, tzinfo=UTC)
    want = {o["id"] for o in objs if o.get("createdAt") and o["createdAt"] >= "2024-09-01"}
    with Store.open(tmp_path / "s.db") as store:
        crawl(store, client(fakehub), strategy="scan", since=since)
        models, _ = store.load()
    got = set(models.filter(pl.col("status") == "ok")["id"])
    assert got == want and 0 < len(want) < len(objs)


def test_estimate_and_auto(tmp_path: Path, fakehub: FakeHub) -> None:
    hub = client(fakehub)
    infos = resolve_roots(hub, [LLAMA])
    est = estimate(hub, infos)
    assert est.choice == "bfs" and 60 <= est.bfs_requests <= 400
    assert est.scan_requests == 2200
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, hub, [LLAMA], strategy="auto", hub_size=300)
        assert res.strategy == "scan" and res.estimate is not None
        assert res.estimate.scan_requests == 1
        nodes, _ = family(store, LLAMA)
    assert len(nodes) == 135
    with pytest.raises(UnknownModelError):
        resolve_roots(hub, ["no/such-model"])


def test_progress_events(tmp_path: Path, fakehub: FakeHub) -> None:
    events: list[CrawlProgress] = []
    with Store.open(tmp_path / "s.db") as store:
        res = crawl(store, client(fakehub), [SMOL], progress=events.append)
    downs = [e for e in events if e.phase == "down"]
    assert downs[-1].frontier == 0 and downs[-1].done == 5
    assert downs[-1].models == res.models and events[-1].requests <= res.total_requests


def test_plan_then_run(tmp_path: Path, fakehub: FakeHub) -> None:
    """A plan resolves and decides without a store; its requests count in the run."""
    hub = client(fakehub)
    fakehub.reset_counters()
    # (a scan cannot honour BFS limits: with them, auto plans a BFS without estimating)
    limited = plan(hub, [LLAMA], strategy="auto", hub_size=300,
                   relations=["finetune", "merge"], max_depth=3)
    assert limited.strategy == "bfs" and limited.estimate is None
    assert limited.limits.relations == frozenset({"finetune", "merge"})
    assert limited.limits.max_depth == 3
    fakehub.reset_counters()
    crawl_plan = plan(hub, [LLAMA.lower()], strategy="auto", hub_size=300)
    assert crawl_plan.roots == (LLAMA,)  # as the Hub spells it
    assert crawl_plan.strategy == "scan" and crawl_plan.estimate is not None
    assert crawl_plan.requests["requests"] == fakehub.requests > 1  # detail + sample
    with Store.open(tmp_path / "s.db") as store:
        res = run(store, hub, crawl_plan)
        counts = json.loads(store.runs()["counts"][0])
    assert res.total_requests == fakehub.requests == counts["requests"]
    with pytest.raises(ValueError, match="direction must be"):
        plan(hub, [LLAMA], direction="sideways")


@contextmanager
def int_counts(upstream: str, extra: int = 0) -> Iterator[str]:
    """A proxy of ``upstream`` whose detail route answers ``childrenModelCount`` as one
    total (what huggingface_hub's docstring promises) plus ``extra``."""
    up = urlsplit(upstream).netloc

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            conn = HTTPConnection(up, timeout=10)
            conn.request("GET", self.path)
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status == 200 and self.path.startswith("/api/models/"):
                obj = json.loads(body)
                count = obj.get("childrenModelCount")
                if isinstance(count, dict):
                    obj["childrenModelCount"] = sum(count.values()) + extra
                body = json.dumps(obj).encode()
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value.replace(up, f"127.0.0.1:{port}"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_children_model_count_as_a_total(tmp_path: Path, fakehub: FakeHub,
                                         tag_graph: nx.DiGraph) -> None:
    direct = {"finetune": 1, "quantized": 1, "adapter": 1}
    with int_counts(fakehub.url) as url:
        assert client(url).model_info(SMOL).children_count == 3
        with Store.open(tmp_path / "a.db") as store:
            res = crawl(store, client(url), [SMOL])
        assert res.status == "done" and res.gaps == []
        # --strategy auto: the same estimate as from the counts by relation
        by_total = plan(client(url), [LLAMA], strategy="auto")
        by_relation = plan(client(fakehub), [LLAMA], strategy="auto")
        assert by_total.estimate == by_relation.estimate and by_total.strategy == "bfs"
        with Store.open(tmp_path / "b.db") as store:
            res = crawl(store, client(url), [LLAMA], strategy="auto", hub_size=300)
            nodes, _ = family(store, LLAMA)
        assert res.strategy == "scan" and res.gaps == []
        assert nodes == nx.descendants(tag_graph, LLAMA) | {LLAMA}
    with int_counts(fakehub.url, extra=5) as url, Store.open(tmp_path / "c.db") as store:
        res = crawl(store, client(url), [SMOL])
        assert res.gaps == [Gap(SMOL, 8, 3, {}, direct)]  # the totals are compared
        res = crawl(store, client(url), [SMOL], strategy="scan")
        assert res.gaps == [Gap(SMOL, 8, 3, {}, direct)]


class CaseSensitiveListing(FlakyHub):
    """Lists a model's children the strict way: only those whose tag spells its id
    exactly (a case-sensitive Hub filter)."""

    def children_page(self, model_id: str, cursor: str | None = None) -> Page:
        page = self.inner.children_page(model_id, cursor)
        exact = f"base_model:{model_id}"
        return Page(tuple(m for m in page.models if exact in m.record.tags), page.next_cursor)


def test_crawl_keeps_edges_the_childs_own_record_declares(tmp_path: Path) -> None:
    """A stored child the listing misses (it spells the parent in another case) is read
    again; its record still names the parent, so the edge stays and the child is
    followed; a child whose record no longer names it loses the edge."""
    v1 = [_m("org/Base"), _m("u/ft", ("org/Base",), "finetune"),
          _m("u/cased", ("org/base",), "finetune"), _m("u/kid", ("u/cased",), "quantized"),
          _m("u/moved", ("org/Base",), "adapter"), _m("org/Other")]
    v2 = [*v1[:4], _m("u/moved", ("org/Other",), "adapter"), v1[5]]
    with Store.open(tmp_path / "s.db") as store:
        # imported records (no observation time); the Hub has since changed u/moved
        store.save_models(parse_model(o) for o in v1)
        assert ("org/Base", "u/cased") in _edges(store)
        with FakeHub(v2) as h:
            hub = CaseSensitiveListing(client(h), set(), 0)
            res = crawl(store, hub, ["org/Base"])
        edges = _edges(store)
        assert ("org/Base", "u/cased") in edges and ("u/cased", "u/kid") in edges
        assert ("org/Base", "u/moved") not in edges and ("org/Other", "u/moved") in edges
        assert res.status == "done"
        assert store.frontier_status(["u/cased"])["u/cased"][0] == "done"


# --------------------------------------------------------------------------- CLI


def run_cli(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, env=env)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_crawl_and_export(tmp_path: Path, fakehub: FakeHub, tag_graph: nx.DiGraph) -> None:
    db = tmp_path / "s.db"
    r = run_cli(["crawl", GEMMA, "--db", str(db), "--endpoint", fakehub.url, "-q"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    # the plan first, then the summary
    assert lines[0] == f"Crawling the families of {GEMMA} (strategy: bfs; workers: 8) " \
        f"from {fakehub.url}"
    assert lines[1].startswith("Crawl done in ")
    assert re.fullmatch(r"  models: 3\d  edges: 3\d", lines[2])
    assert lines[3].startswith("  requests: ") and "429s: 0" in lines[3]
    assert "  failures: 0" in lines and "  gaps: 0" in lines
    out = tmp_path / "g.json"
    r = run_cli(["export", "google/GEMMA-2-9b", "--db", str(db), "--format", "json",
                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    g = nx.node_link_graph(data, edges="edges")
    assert set(g) == nx.descendants(tag_graph, GEMMA) | {GEMMA}
    assert g.nodes[GEMMA]["depth"] == 0 and g.nodes[GEMMA]["created_at"].endswith("Z")
    assert {"author", "relation", "downloads", "likes", "status"} <= set(g.nodes[GEMMA])
    assert all(d["relation"] for _, _, d in g.edges(data=True))


@pytest.fixture()
def existing(tmp_path: Path, fakehub: FakeHub) -> Path:
    db = tmp_path / "s.db"
    r = run_cli(["crawl", SMOL, "--db", str(db), "--endpoint", fakehub.url, "-q"])
    assert r.exit_code == 0
    return db


@pytest.mark.parametrize(("args", "message"), [
    (["x y"], "Error: 'x y' is not a Hub model id (expected org/name)"),
    (["nobody/nothing-here"], "Error: unknown model 'nobody/nothing-here'"),
])
def test_cli_bad_roots(existing: Path, fakehub: FakeHub, args: list[str],
                       message: str) -> None:
    before = sha(existing)
    r = run_cli(["crawl", *args, "--db", str(existing), "--endpoint", fakehub.url])
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [message] and r.stdout == ""
    assert sha(existing) == before


def test_cli_unknown_root_creates_no_store(tmp_path: Path, fakehub: FakeHub) -> None:
    r = run_cli(["crawl", "nobody/x", "--db", str(tmp_path / "n.db"), "--endpoint", fakehub.url])
    assert r.exit_code == 1 and not (tmp_path / "n.db").exists()


def test_cli_unreachable_endpoint(existing: Path) -> None:
    before = sha(existing)
    r = run_cli(["crawl", SMOL, "--db", str(existing), "--endpoint", "http://127.0.0.1:9"])
    assert r.exit_code == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith("Error: cannot reach http://127.0.0.1:9: ")
    assert sha(existing) == before


def test_cli_bad_db(tmp_path: Path, fakehub: FakeHub) -> None:
    foreign = tmp_path / "notes.db"
    foreign.write_text("my precious notes\n" * 100)
    before = sha(foreign)
    for db in (foreign, tmp_path / "no" / "such" / "dir.db"):
        r = run_cli(["crawl", SMOL, "--db", str(db), "--endpoint", fakehub.url])
        assert r.exit_code == 1
        (line,) = r.stderr.splitlines()
        assert line.startswith("Error: ") and str(db) in line
    assert sha(foreign) == before
    r = run_cli(["export", SMOL, "--db", str(tmp_path / "none.db"), "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and len(r.stderr.splitlines()) == 1


def test_cli_debug_shows_the_exception(existing: Path, fakehub: FakeHub) -> None:
    r = run_cli(["crawl", "x y", "--db", str(existing)], env={"ECOGRAPH_DEBUG": "1"})
    assert r.exit_code == 1 and type(r.exception).__name__ == "InvalidModelIdError"


def test_cli_interrupt_message(existing: Path, fakehub: FakeHub,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    import ecograph.crawl as crawlmod

    def boom(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(crawlmod, "run", boom)
    r = run_cli(["crawl", SMOL, "--db", str(existing), "--endpoint", fakehub.url])
    assert r.exit_code == 130
    assert r.stderr.splitlines() == ["Error: interrupted; everything collected so far is saved."]


def test_cli_bad_options(existing: Path) -> None:
    r = run_cli(["crawl", SMOL, "--db", str(existing), "--relations", "forks"])
    assert r.exit_code == 2 and "forks is not a relation" in r.stderr
    r = run_cli(["crawl", "--db", str(existing), "--since", "yesterday-ish"])
    assert r.exit_code == 2 and "is not a date" in r.stderr


def test_token_never_written(tmp_path: Path, fakehub: FakeHub,
                             caplog: pytest.LogCaptureFixture) -> None:
    token = "hf_FAKEsecretTOKEN0123456789abcdef"
    db = tmp_path / "s.db"
    caplog.set_level(logging.DEBUG)
    r1 = run_cli(["crawl", SMOL, "--db", str(db), "--endpoint", fakehub.url, "--token", token])
    r2 = run_cli(["crawl", "--db", str(db), "--endpoint", fakehub.url, "--strategy", "scan"],
                 env={"HF_TOKEN": token, "HF_DEBUG": "1"})
    r3 = run_cli(["crawl", "nobody/nothing", "--db", str(db), "--endpoint", fakehub.url,
                  "--token", token])
    out = tmp_path / "e.json"
    r4 = run_cli(["export", SMOL, "--db", str(db), "-o", str(out)])
    assert (r1.exit_code, r2.exit_code, r3.exit_code, r4.exit_code) == (0, 0, 1, 0)
    texts = [r.output for r in (r1, r2, r3, r4)] + [caplog.text, out.read_text()]
    assert not any(token in t for t in texts)
    cache.wait()  # (the analysis cache beside the store is written in a thread)
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert token.encode() not in f.read_bytes(), f
    with Store.open(db) as store:
        assert token not in store.runs().write_csv()
    assert os.environ.get("HF_TOKEN") != token


# --------------------------------------------------------------------------- review fixes


def _m(mid: str, parents: tuple[str, ...] = (), rel: str | None = None) -> dict:
    """A Hub model object for an inline snapshot (tags as the Hub writes them)."""
    tags = ["transformers"]
    for p in parents:
        tags.append(f"base_model:{p}")
        if rel:
            tags.append(f"base_model:{rel}:{p}")
    return {"id": mid, "author": mid.split("/")[0], "createdAt": "2024-01-01T00:00:00.000Z",
            "downloads": 10, "likes": 1, "tags": tags}


def _edges(store: Store) -> set[tuple[str, str]]:
    return set(store.load()[1].select("parent", "child").iter_rows())


def test_refresh_removes_stale_edges(tmp_path: Path) -> None:
    v1 = [_m("org/A"), _m("org/B"), _m("u/ft1", ("org/A",), "finetune"),
          _m("u/ft2", ("u/ft1",), "finetune"), _m("u/gone", ("org/A",), "adapter"),
          _m("u/q", ("org/A",), "quantized")]
    # v2: u/ft1 now declares org/B as its parent; u/gone was deleted from the Hub
    v2 = [_m("org/A"), _m("org/B"), _m("u/ft1", ("org/B",), "finetune"),
          _m("u/ft2", ("u/ft1",), "finetune"), _m("u/q", ("org/A",), "quantized")]
    with Store.open(tmp_path / "s.db") as store:
        with FakeHub(v1) as h:
            crawl(store, client(h), ["org/A"])
        assert _edges(store) == {("org/A", "u/ft1"), ("org/A", "u/gone"),
                                 ("org/A", "u/q"), ("u/ft1", "u/ft2")}
        with FakeHub(v2) as h:
            res = crawl(store, client(h), ["org/A"])
        assert res.status == "done"
        # the unlisted children were read again: u/ft1's record now names org/B (that edge
        # is its own truth), u/gone is gone; neither keeps its edge from org/A
        assert _edges(store) == {("org/A", "u/q"), ("u/ft1", "u/ft2"), ("org/B", "u/ft1")}
        ids = set(store.load()[0]["id"])
        assert {"u/gone", "u/ft1"} <= ids  # vanished children stay as models


def test_refresh_with_relations_keeps_unfollowed_children(tmp_path: Path) -> None:
    snap = [_m("org/A"), _m("u/ft", ("org/A",), "finetune"), _m("u/q", ("org/A",), "quantized"),
            _m("u/ftq", ("u/ft",), "quantized")]
    with Store.open(tmp_path / "s.db") as store, FakeHub(snap) as h:
        for _ in range(2):  # crawl, then refresh
            res = crawl(store, client(h), ["org/A"], relations=["quantized"],
                             max_models=50)
            assert res.status == "done"
            # u/ft is listed (not followed): its edge is not stale
            assert _edges(store) == {("org/A", "u/ft"), ("org/A", "u/q")}


def test_refresh_per_root_despite_another_roots_pending_work(tmp_path: Path) -> None:
    other = [_m("org/B"), *[_m(f"b/c{i}", ("org/B",), "finetune") for i in range(3)],
             *[_m(f"b/g{i}", (f"b/c{i}",), "quantized") for i in range(3)]]
    v1 = [_m("org/A"), _m("a/x", ("org/A",), "finetune"), *other]
    v2 = [*v1, _m("a/new", ("org/A",), "adapter")]
    with Store.open(tmp_path / "s.db") as store:
        with FakeHub(v1) as h:
            crawl(store, client(h), ["org/A"])
            part = crawl(store, client(h), ["org/B"], max_models=2, workers=1)
        assert part.status == "partial"
        b_pending = store.pending()
        assert {n for n, _ in b_pending} == {"b/c0", "b/c1", "b/c2"}
        with FakeHub(v2) as h:
            res = crawl(store, client(h), ["org/A"])
        # A's finished family is refreshed (the new child found) ...
        assert ("org/A", "a/new") in _edges(store)
        assert res.status == "done"
        # ... and B's leftovers are neither listed under A nor lost
        assert store.pending() == b_pending
        assert not any(p.startswith("b/c") for p, _ in _edges(store))
        assert res.models == 3  # org/A, a/x, a/new


def test_max_depth_uses_the_depth_from_the_roots_of_this_crawl(tmp_path: Path) -> None:
    snap = [_m("org/A"), _m("u/C", ("org/A",), "finetune"), _m("u/G", ("u/C",), "finetune"),
            _m("u/GG", ("u/G",), "quantized")]
    with Store.open(tmp_path / "s.db") as store, FakeHub(snap) as h:
        crawl(store, client(h), ["org/A"], max_depth=2)
        assert set(store.load()[0]["id"]) == {"org/A", "u/C", "u/G"}
        res = crawl(store, client(h), ["u/C"], max_depth=2)
        assert res.status == "done"
        assert set(store.load()[0]["id"]) == {"org/A", "u/C", "u/G", "u/GG"}
        assert dict(store._query("SELECT id, depth FROM frontier"))["u/C"] == 0


def test_parent_spelled_in_another_case_is_not_missing(tmp_path: Path) -> None:
    snap = [_m("org/Base"), _m("org/ft", ("org/Base",), "finetune"), _m("other/Model-X"),
            _m("org/merge", ("org/Base", "Other/model-x"), "merge")]
    with Store.open(tmp_path / "s.db") as store, FakeHub(snap) as h:
        res = crawl(store, client(h), ["org/Base"])
        models, _ = store.load()
        assert res.missing_parents == []
        status = dict(models.select("id", "status").iter_rows())
        assert status["other/Model-X"] == "ok" and "Other/model-x" not in status
        assert ("other/Model-X", "org/merge") in _edges(store)


class BlockingHub(FlakyHub):
    """Listings of ``slow`` block until released (a request hanging on the network)."""

    def __init__(self, inner: HubClient, slow: set[str]) -> None:
        super().__init__(inner, set(), 0)
        self.slow = slow
        self.entered = threading.Event()
        self.release = threading.Event()
        self.left = threading.Event()  # a slow request has returned

    def children_page(self, model_id: str, cursor: str | None = None) -> Page:
        if model_id in self.slow:
            self.entered.set()
            self.release.wait(30)
            self.left.set()
        return self.inner.children_page(model_id, cursor)


def test_interrupt_does_not_wait_for_in_flight_requests(tmp_path: Path) -> None:
    snap = [_m("org/A"), _m("u/slow", ("org/A",), "finetune"),
            _m("u/k", ("u/slow",), "finetune")]
    with Store.open(tmp_path / "s.db") as store, FakeHub(snap) as h:
        hub = BlockingHub(client(h), {"u/slow"})

        def interrupt() -> None:
            if hub.entered.wait(10):
                _thread.interrupt_main()

        threading.Thread(target=interrupt, daemon=True).start()
        try:
            with pytest.raises(KeyboardInterrupt):
                crawl(store, hub, ["org/A"], workers=2)
            # the crawl returned while the request was still hanging: it did not wait
            assert not hub.left.is_set()
            # workers still inside a request never block the interpreter's exit
            workers = [t for t in threading.enumerate() if t.name.startswith("ecograph-crawl")]
            assert workers and all(t.daemon for t in workers)
            assert store.runs()["status"].to_list() == ["interrupted"]
            assert store.frontier_counts()["done"] == 1  # org/A's listing is kept
        finally:
            hub.release.set()


def test_cli_scan_prints_the_restart_note(tmp_path: Path, fakehub: FakeHub) -> None:
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        crawl(store, client(fakehub, page_size=100), strategy="scan", max_pages=1)
        state = json.loads(store.get_state("scan"))
        state["cursor"] = state["cursor"].replace("cursor=", "cursor=stale")
        store.set_state("scan", json.dumps(state))
    r = run_cli(["crawl", "--db", str(db), "--endpoint", fakehub.url, "--strategy", "scan"])
    assert r.exit_code == 0, r.output
    notes = [line for line in r.stdout.splitlines() if line.startswith("  note: ")]
    assert len(notes) == 1 and "started again from the newest model" in notes[0]


def test_parent_references_that_are_not_ids_are_reported(tmp_path: Path) -> None:
    """A child whose tags name a parent that is not a model id keeps its real edges, and
    the crawl lists the reference it could not read (truth item 1 of issue 10)."""
    lines = [
        {"id": "org/Base", "author": "org", "createdAt": "2024-01-01T00:00:00.000Z",
         "tags": []},
        {"id": "u/ft", "author": "u", "createdAt": "2024-02-01T00:00:00.000Z",
         "tags": ["base_model:org/Base", "base_model:finetune:org/Base",
                  "base_model:finetune:see the paper"]},
    ]
    snap = tmp_path / "hub.jsonl"
    snap.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    db = tmp_path / "s.db"
    with FakeHub(snap) as hub:
        r = run_cli(["crawl", "org/Base", "--db", str(db), "--endpoint", hub.url, "-q"])
    assert r.exit_code == 0, r.output
    assert "  parent references not read: 1 (not model ids; no edge was made)" in r.stdout
    assert "    u/ft: 'base_model:finetune:see the paper'" in r.stdout
    with Store.open(db) as store:
        _, edges = store.load()
        counts = store.runs().row(-1, named=True)
    assert edges.select("parent", "child").rows() == [("org/Base", "u/ft")]
    assert json.loads(counts["counts"])["rejected_parents"] == 1
