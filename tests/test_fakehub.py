"""The fake Hub, driven by the real ``huggingface_hub`` client (nothing patched).

Every test starts its own server on a free port, so each gets a fresh endpoint; the
client's global HTTP session is shared but keyed by host and port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import httpx2  # noqa: E402 - huggingface_hub's HTTP client
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from huggingface_hub import HfApi, get_session  # noqa: E402
from huggingface_hub.errors import (  # noqa: E402
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import paginate, parse_ratelimit_headers  # noqa: E402

from ecograph.cli import main  # noqa: E402
from ecograph.fakehub import FakeHub, ListQuery, SnapshotIndex  # noqa: E402
from ecograph.fakehub.index import LIST_DEFAULT_FIELDS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "fixtures" / "small_hub.jsonl"
EXPECTED = REPO / "fixtures" / "small_hub_expected.json"


def _model(mid: str, parents: tuple[str, ...] = (), relation: str = "finetune", **kw: Any):
    tags = ["transformers", "license:apache-2.0", *kw.pop("tags", [])]
    for p in parents:
        tags += [f"base_model:{p}", f"base_model:{relation}:{p}"]
    return {
        "id": mid,
        "author": mid.split("/")[0],
        "createdAt": kw.pop("createdAt", "2024-05-01T00:00:00.000Z"),
        "lastModified": "2024-06-01T00:00:00.000Z",
        "downloads": kw.pop("downloads", 10),
        "downloadsAllTime": 1000,
        "likes": kw.pop("likes", 1),
        "trendingScore": 3,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "private": False,
        "gated": False,
        "tags": tags,
        "cardData": {"base_model": list(parents) or None, "license": "apache-2.0"},
        **kw,
    }


#: A tiny hub: Org/Base with 7 direct children (3 finetunes, 2 quantized, 2 adapters),
#: a grandchild, a merge of Org/Base and Other/Root, and a child of a deleted model.
SNAPSHOT = [
    _model("Org/Base", downloads=1000, createdAt="2024-01-01T00:00:00.000Z"),
    _model("Other/Root", downloads=500, createdAt="2024-01-02T00:00:00.000Z"),
    *[
        _model(
            f"user{k}/Base-ft-{k}",
            ("Org/Base",),
            "finetune",
            downloads=100 + k,
            createdAt=f"2024-02-0{k + 1}T00:00:00.000Z",
        )
        for k in range(3)
    ],
    *[
        _model(f"quant{k}/Base-GGUF-{k}", ("Org/Base",), "quantized", tags=["gguf"], downloads=k)
        for k in range(2)
    ],
    *[_model(f"lora{k}/Base-lora-{k}", ("org/base",), "adapter", downloads=50) for k in range(2)],
    _model("deep/Base-ft-0-GGUF", ("user0/Base-ft-0",), "quantized", tags=["gguf"]),
    _model("merger/Base-Root-slerp", ("Org/Base", "Other/Root"), "merge"),
    _model("orphan/child-of-deleted", ("gone/deleted-model",), "finetune"),
    {"id": "gpt2", "tags": ["transformers"], "downloads": 5},
]
BASE_CHILDREN = {
    "user0/Base-ft-0",
    "user1/Base-ft-1",
    "user2/Base-ft-2",
    "quant0/Base-GGUF-0",
    "quant1/Base-GGUF-1",
    "lora0/Base-lora-0",
    "lora1/Base-lora-1",
    "merger/Base-Root-slerp",
}
#: The adapters' tags spell their parent ``org/base``: a case-sensitive filter for
#: ``base_model:Org/Base`` does not list them (the strict assumption, DESIGN §1).
LORAS = {"lora0/Base-lora-0", "lora1/Base-lora-1"}
TAGGED_ORG_BASE = BASE_CHILDREN - LORAS


@pytest.fixture(scope="module")
def index() -> SnapshotIndex:
    return SnapshotIndex.from_objects(SNAPSHOT)


@pytest.fixture
def hub(index: SnapshotIndex):
    with FakeHub(index) as h:
        yield h


def _api(hub: FakeHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=False)


# ----------------------------------------------------------------------------- listing


def test_list_children_with_expand(hub: FakeHub) -> None:
    api = _api(hub)
    models = list(
        api.list_models(filter="base_model:Org/Base", expand=["author", "tags", "downloads"])
    )
    assert {m.id for m in models} == TAGGED_ORG_BASE
    merge = next(m for m in models if m.id == "merger/Base-Root-slerp")
    assert "base_model:merge:Other/Root" in merge.tags and merge.base_models is None
    (lora, _) = api.list_models(filter="base_model:org/base", expand=["author", "tags",
                                                                      "downloads"])
    assert lora.id == "lora0/Base-lora-0"
    assert lora.author == "lora0" and lora.downloads == 50
    assert "base_model:adapter:org/base" in lora.tags
    assert lora.likes is None and lora.created_at is None  # not expanded
    # the tag says org/base: baseModels (detail route only) gives the canonical id
    assert api.model_info(lora.id, expand=["baseModels"]).base_models == {
        "relation": "adapter",
        "models": [{"_id": hub.index.object_id(0), "id": "Org/Base"}],
    }


def test_list_filters_match_tags_exactly_and_with_and(hub: FakeHub) -> None:
    api = _api(hub)
    quantized = {m.id for m in api.list_models(filter="base_model:quantized:Org/Base")}
    assert quantized == {"quant0/Base-GGUF-0", "quant1/Base-GGUF-1"}
    # case-sensitive, as strict as the Hub may be: another spelling lists other children
    assert list(api.list_models(filter="base_model:quantized:org/BASE")) == []
    assert list(api.list_models(filter="base_model:adapter:Org/Base")) == []
    adapters = {m.id for m in api.list_models(filter="base_model:adapter:org/base")}
    assert adapters == LORAS
    assert list(api.list_models(filter="GGUF")) == []
    both = {m.id for m in api.list_models(filter=["gguf", "base_model:user0/Base-ft-0"])}
    assert both == {"deep/Base-ft-0-GGUF"}
    assert list(api.list_models(filter="base_model:nobody/none")) == []
    assert {m.id for m in api.list_models(filter="gguf")} == {
        "quant0/Base-GGUF-0",
        "quant1/Base-GGUF-1",
        "deep/Base-ft-0-GGUF",
    }
    # a deleted parent still has its (orphaned) children listed
    orphans = [m.id for m in api.list_models(filter="base_model:gone/deleted-model")]
    assert orphans == ["orphan/child-of-deleted"]


def test_list_default_fields_match_the_hub(hub: FakeHub) -> None:
    items = list(paginate(f"{hub.url}/api/models", params={"search": "Base-ft-1"}, headers={}))
    assert len(items) == 1
    assert list(items[0]) == list(LIST_DEFAULT_FIELDS)
    assert items[0]["modelId"] == items[0]["id"] == "user1/Base-ft-1"
    full = list(
        paginate(
            f"{hub.url}/api/models",
            params={"search": "Base-ft-1", "full": True, "cardData": True},
            headers={},
        )
    )[0]
    assert {"author", "gated", "lastModified", "cardData"} <= set(full)


def test_pagination_follows_link_header_over_pages(hub: FakeHub) -> None:
    params = {"filter": "base_model:Org/Base", "expand": ["tags"], "limit": 2}
    items = list(paginate(f"{hub.url}/api/models", params=params, headers={}))
    assert [i["id"] for i in items] == [m["id"] for m in SNAPSHOT if m["id"] in TAGGED_ORG_BASE]
    assert hub.counts["route"]["list"] == 3  # 6 children, 2 a page
    # the Link header keeps the query and adds an opaque cursor
    r = get_session().get(f"{hub.url}/api/models", params=params)
    link = r.headers["Link"]
    assert link.startswith(f"<{hub.url}/api/models?") and link.endswith('>; rel="next"')
    nxt = r.links["next"]["url"]
    assert "filter=base_model%3AOrg%2FBase" in nxt and "limit=2" in nxt and "cursor=" in nxt
    last = get_session().get(f"{hub.url}/api/models", params={**params, "limit": 6})
    assert "Link" not in last.headers and len(last.json()) == 6


def test_list_models_limit_and_default_page_size(index: SnapshotIndex) -> None:
    with FakeHub(index, page_size=3) as hub:
        api = _api(hub)
        assert len(list(api.list_models())) == len(SNAPSHOT)  # pages of 3, no limit sent
        assert hub.counts["route"]["list"] == 5
        assert [m.id for m in api.list_models(limit=2)] == ["Org/Base", "Other/Root"]


def test_sort_search_author(hub: FakeHub) -> None:
    api = _api(hub)
    by_downloads = [m.id for m in api.list_models(sort="downloads", limit=3)]
    assert by_downloads == ["Org/Base", "Other/Root", "user2/Base-ft-2"]
    newest = [
        m.id for m in api.list_models(filter="base_model:finetune:Org/Base", sort="created_at")
    ]
    assert newest == ["user2/Base-ft-2", "user1/Base-ft-1", "user0/Base-ft-0"]
    oldest = paginate(
        f"{hub.url}/api/models", params={"sort": "createdAt", "direction": 1}, headers={}
    )
    assert next(iter(oldest))["id"] == "Org/Base"
    assert {m.id for m in api.list_models(search="GGUF")} == {
        "quant0/Base-GGUF-0",
        "quant1/Base-GGUF-1",
        "deep/Base-ft-0-GGUF",
    }
    assert [m.id for m in api.list_models(author="USER1")] == ["user1/Base-ft-1"]


@pytest.mark.parametrize("field", ["baseModels", "childrenModelCount", "usedStorage"])
def test_list_refuses_detail_only_expands(hub: FakeHub, field: str) -> None:
    """The Hub's listing routes refuse these three (huggingface_hub PR #3182): 400 with a
    JSON ``error`` naming the field, which huggingface_hub raises as BadRequestError."""
    with pytest.raises(BadRequestError) as err:
        list(_api(hub).list_models(filter="base_model:Org/Base", expand=["tags", field]))
    response = err.value.response
    assert response.status_code == 400 and list(response.json()) == ["error"]
    assert f"invalid value(s): {field};" in response.json()["error"]
    assert hub.counts["status"] == {400: 1}
    # the detail route takes them
    assert _api(hub).model_info("Org/Base", expand=[field]).id == "Org/Base"


def test_bad_list_requests_get_400(hub: FakeHub) -> None:
    for params in ({"cursor": "garbage"}, {"limit": "x"}, {"sort": "nope"}, {"limit": 0}):
        r = get_session().get(f"{hub.url}/api/models", params=params)
        assert r.status_code == 400 and "error" in r.json()
    # a cursor only works for the query it was issued for
    r = get_session().get(f"{hub.url}/api/models", params={"limit": 1})
    cursor = r.links["next"]["url"].split("cursor=")[1]
    r = get_session().get(f"{hub.url}/api/models", params={"search": "a", "cursor": cursor})
    assert r.status_code == 400


# ----------------------------------------------------------------------------- model info


def test_model_info_derives_base_models_and_children_count(hub: FakeHub) -> None:
    api = _api(hub)
    base = api.model_info("org/base", expand=["baseModels", "childrenModelCount"])
    assert base.id == "Org/Base"  # canonical id for a case variant
    assert base.children_model_count == {"adapter": 2, "merge": 1, "quantized": 2, "finetune": 3}
    assert base.base_models is None  # no parents: absent
    merge = api.model_info("merger/Base-Root-slerp", expand=["baseModels"])
    assert merge.base_models["relation"] == "merge"
    assert [m["id"] for m in merge.base_models["models"]] == ["Org/Base", "Other/Root"]
    assert all(len(m["_id"]) == 24 for m in merge.base_models["models"])
    orphan = api.model_info("orphan/child-of-deleted", expand=["baseModels"])
    assert orphan.base_models["models"] == [{"id": "gone/deleted-model"}]
    ft = api.model_info("user0/Base-ft-0", expand=["childrenModelCount"])
    assert ft.children_model_count == {"adapter": 0, "merge": 0, "quantized": 1, "finetune": 0}


def test_model_info_default_fields(hub: FakeHub) -> None:
    info = _api(hub).model_info("user1/Base-ft-1")
    assert info.author == "user1" and info.downloads == 101 and info.gated is False
    assert info.card_data["license"] == "apache-2.0"
    assert info.created_at.year == 2024 and info.last_modified is not None
    raw = get_session().get(f"{hub.url}/api/models/user1/Base-ft-1").json()
    assert {"_id", "id", "modelId", "tags", "siblings", "cardData"} <= set(raw)
    # like the Hub, these come only with expand[]
    assert not {"downloadsAllTime", "trendingScore", "baseModels", "childrenModelCount"} & set(raw)
    legacy = _api(hub).model_info("gpt2")
    assert legacy.id == "gpt2" and legacy.author is None
    assert _api(hub).model_info("Org/Base", revision="main").id == "Org/Base"


def test_unknown_model_and_revision_map_to_hub_errors(hub: FakeHub) -> None:
    api = _api(hub)
    with pytest.raises(RepositoryNotFoundError) as err:
        api.model_info("nobody/nothing")
    r = err.value.response
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RepoNotFound"
    assert r.json() == {"error": "Repository not found"}
    with pytest.raises(RevisionNotFoundError):
        api.model_info("Org/Base", revision="no-such-branch")
    with pytest.raises(BadRequestError):
        api.model_info("Org/Base", expand=["notAField"])


# ----------------------------------------------------------------------------- rate limit


def test_rate_limit_headers_and_429(index: SnapshotIndex) -> None:
    with FakeHub(index, quota=3, window=60) as hub:
        api = _api(hub)
        for remaining in (2, 1, 0):
            r = get_session().get(f"{hub.url}/api/models/Org/Base")
            info = parse_ratelimit_headers(r.headers)
            assert r.status_code == 200 and info is not None
            assert (info.remaining, info.limit, info.window_seconds) == (remaining, 3, 60)
            assert 1 <= info.reset_in_seconds <= 60
        with pytest.raises(HfHubHTTPError) as err:
            api.model_info("Org/Base")
        r = err.value.response
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.headers["RateLimit"].startswith('"api";r=0;t=')
        assert r.headers["RateLimit-Policy"] == '"fixed window";"api";q=3;w=60'
        assert hub.counts["fault"] == {"rate_limited": 1}
        hub.reset_counters()  # a fresh window
        assert api.model_info("Org/Base").id == "Org/Base"


def test_fixed_window_resets(index: SnapshotIndex) -> None:
    with FakeHub(index, quota=1, window=1) as hub:
        s = get_session()
        assert s.get(f"{hub.url}/api/models/gpt2").status_code == 200
        r = s.get(f"{hub.url}/api/models/gpt2")
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        time.sleep(1.05)
        assert s.get(f"{hub.url}/api/models/gpt2").status_code == 200


def test_no_quota_still_advertises_headers(hub: FakeHub) -> None:
    r = get_session().get(f"{hub.url}/api/models", params={"limit": 1})
    info = parse_ratelimit_headers(r.headers)
    assert info is not None and info.limit >= 10**6 and info.window_seconds == 300


# ----------------------------------------------------------------------------- faults


def test_fault_5xx(index: SnapshotIndex) -> None:
    with FakeHub(index, fail_rate=1.0) as hub:
        with pytest.raises(HfHubHTTPError) as err:
            _api(hub).model_info("Org/Base")
        assert err.value.response.status_code in (500, 502, 503)
        assert err.value.response.headers["RateLimit-Policy"]
        assert hub.counts["fault"] == {"5xx": 1}


def test_fault_truncated_body(index: SnapshotIndex) -> None:
    with FakeHub(index, truncate_rate=1.0) as hub:
        r = get_session().get(f"{hub.url}/api/models/Org/Base")
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(r.content)
        with pytest.raises(json.JSONDecodeError):
            r.json()
        with pytest.raises(json.JSONDecodeError):
            _api(hub).model_info("Org/Base")


def test_fault_dropped_connection(index: SnapshotIndex) -> None:
    with FakeHub(index, drop_rate=1.0) as hub:
        with pytest.raises(httpx2.TransportError):
            _api(hub).model_info("Org/Base")
        assert hub.counts["fault"] == {"drop": 1} and hub.counts["status"] == {0: 1}


def _wait_for(condition: Any, what: str) -> None:
    """Wait for an event (a liveness bound, not a timing assertion)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_fault_stall_times_the_client_out(index: SnapshotIndex) -> None:
    with FakeHub(index, stall_rate=1.0, stall_seconds=3600) as hub:
        with pytest.raises(httpx2.TimeoutException):
            _api(hub).model_info("Org/Base", timeout=0.3)
        assert hub.counts["fault"] == {"stall": 1} and hub.counts["status"] == {}
    # stop() ended the hour-long stall: the handler went on to answer (to a closed socket)
    _wait_for(lambda: hub.counts["status"] == {200: 1}, "the stalled handler finished")


def test_faults_are_seeded_and_deterministic(index: SnapshotIndex) -> None:
    def statuses(seed: int) -> list[int]:
        with FakeHub(index, fail_rate=0.5, seed=seed) as hub:
            return [get_session().get(f"{hub.url}/api/models/gpt2").status_code for _ in range(30)]

    first = statuses(7)
    assert first == statuses(7)
    assert first != statuses(8)
    assert {200, 500, 502, 503} >= set(first) and 200 in first and len(set(first)) > 1


def test_latency(index: SnapshotIndex) -> None:
    with FakeHub(index, latency_ms=3_600_000) as hub:
        # an hour of latency: the request arrives, and no answer comes before the timeout
        with pytest.raises(httpx2.TimeoutException):
            _api(hub).model_info("gpt2", timeout=0.3)
        assert hub.counts["route"] == {"detail": 1} and hub.counts["status"] == {}
        hub.latency_ms = 0  # a knob, changed while serving
        assert _api(hub).model_info("gpt2").id == "gpt2"
    _wait_for(lambda: hub.counts["status"] == {200: 2}, "stop() ended the latency wait")


# ----------------------------------------------------------------------------- counters


def test_counters_are_thread_safe(hub: FakeHub) -> None:
    def work() -> None:
        s = get_session()
        for _ in range(20):
            assert s.get(f"{hub.url}/api/models/Org/Base").status_code == 200
            assert s.get(f"{hub.url}/api/models", params={"limit": 2}).status_code == 200

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hub.requests == 320
    assert hub.counts == {"route": {"detail": 160, "list": 160}, "status": {200: 320}, "fault": {}}
    get_session().get(f"{hub.url}/nothing/here")
    assert hub.stats()["route"]["other"] == 1 and hub.stats()["status"][404] == 1
    hub.reset_counters()
    assert hub.requests == 0 and hub.stats()["requests"] == 0


def test_index_select_and_bad_snapshots(tmp_path: Path, index: SnapshotIndex) -> None:
    assert index.select(ListQuery(filters=("base_model:merge:Org/Base",))) == [10]
    assert index.select(ListQuery(filters=("base_model:merge:org/base",))) == []
    assert index.select(ListQuery(filters=("base_model:adapter:org/base",))) == [7, 8]
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a/b"}\n[1, 2]\n')
    from ecograph.errors import SnapshotError

    with pytest.raises(SnapshotError, match="bad.jsonl:2"):
        SnapshotIndex.from_path(path)
    path.write_text('{"id": "a/b"}\n{"no": "id"}\n')
    with pytest.raises(SnapshotError, match="bad.jsonl:2"):
        FakeHub(path)
    with pytest.raises(SnapshotError, match="not found"):
        FakeHub(tmp_path / "missing.jsonl")


def test_gzipped_snapshot(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "hub.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for obj in SNAPSHOT:
            fh.write(json.dumps(obj) + "\n")
    with FakeHub(path) as hub:
        assert len(hub.index) == len(SNAPSHOT)
        assert _api(hub).model_info("deep/Base-ft-0-GGUF").id == "deep/Base-ft-0-GGUF"


# ----------------------------------------------------------------------------- fixture


@pytest.mark.skipif(not EXPECTED.exists(), reason="fixture not written yet")
def test_fixture_families_through_the_client() -> None:
    """A breadth-first crawl over the real client finds each foundation's family."""
    expected = json.loads(EXPECTED.read_text())["foundations"]
    with FakeHub(FIXTURE) as hub:
        api = _api(hub)
        for root, facts in expected.items():
            seen: set[str] = set()
            frontier = [root]
            while frontier:
                parent = frontier.pop()
                for m in api.list_models(filter=f"base_model:{parent}", expand=["tags"]):
                    if m.id.lower() not in seen:
                        seen.add(m.id.lower())
                        frontier.append(m.id)
            seen.discard(root.lower())
            # tags only: card-only edges are invisible to the Hub's filter, as on the Hub
            assert len(seen) == facts["size_tag_edges_only"], root
            counts = api.model_info(root, expand=["childrenModelCount"]).children_model_count
            for rel, n in counts.items():
                listed = list(api.list_models(filter=f"base_model:{rel}:{root}"))
                assert len(listed) == n
                assert n <= facts["direct_children"]["by_relation"][rel]


# ----------------------------------------------------------------------------- CLI


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "hub.jsonl"
    path.write_text("".join(json.dumps(obj) + "\n" for obj in SNAPSHOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecograph", "fakehub", str(path), "--quota", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.extend([proc.stdout.readline(), proc.stdout.readline()])
        )
        reader.start()
        reader.join(timeout=30)
        assert lines and lines[0].startswith("Fake Hub serving at http://127.0.0.1:"), lines
        url = lines[0].split()[-1]
        assert lines[1].strip() == f"export HF_ENDPOINT={url}"
        info = HfApi(endpoint=url, token=False).model_info("Org/Base")
        assert info.id == "Org/Base"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "Traceback" not in err and "Stopped after 1 requests." in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_bad_snapshot_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fakehub", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"Error: snapshot not found: {tmp_path / 'nope.jsonl'}"


# ----------------------------------------------------------------------------- evolution


def _modified_hub(n: int = 30) -> list[dict]:
    """``n`` models whose lastModified differ (model i modified on day i)."""
    out = []
    for i in range(n):
        m = _model(f"org/m{i:02d}", parents=("org/m00",) if i else ())
        m["lastModified"] = f"2024-06-{1 + i % 28:02d}T{i // 28:02d}:00:00.000Z"
        out.append(m)
    return out


def test_sort_by_last_modified_newest_first_through_huggingface_hub() -> None:
    objs = _modified_hub()
    with FakeHub(objs, page_size=7) as hub:
        got = [m.id for m in _api(hub).list_models(sort="last_modified")]  # sends lastModified
        assert hub.counts["route"]["list"] == 5  # 30 models, 7 a page
    expected = [m["id"] for m in sorted(objs, key=lambda m: m["lastModified"], reverse=True)]
    assert got == expected


def test_sorted_listing_pages_do_not_shift_when_the_hub_changes_between_them() -> None:
    """Keyset cursors: deleting or editing models already listed, between two pages,
    neither skips nor repeats a model that did not change."""
    objs = _modified_hub()
    with FakeHub(objs, page_size=10) as hub:
        params = {"sort": "lastModified", "direction": -1, "limit": 10, "expand": ["tags"]}
        first = get_session().get(f"{hub.url}/api/models", params=params)
        seen = [m["id"] for m in first.json()]
        # the Hub moves: two listed models go, one is edited (moves to the top)
        hub.index.delete(hub.index.lookup(seen[0]))
        hub.index.delete(hub.index.lookup(seen[3]))
        edited = hub.index.model(hub.index.lookup(seen[5]))
        edited["lastModified"] = "2030-01-01T00:00:00.000Z"
        hub.index.replace(hub.index.lookup(seen[5]), edited)
        rest, url = [], first.links["next"]["url"]
        while url:
            page = get_session().get(url)
            rest += page.json()
            url = page.links.get("next", {}).get("url")
    expected = [m["id"] for m in sorted(objs, key=lambda m: m["lastModified"], reverse=True)]
    assert seen + [m["id"] for m in rest] == expected


def test_evolve_is_seeded_and_reports_what_changed() -> None:
    objs = _modified_hub()

    def run(seed: int) -> tuple[Any, list[str]]:
        with FakeHub(objs) as hub:
            changes = hub.evolve(12, seed=seed)
            listed = [m["id"] for m in paginate(f"{hub.url}/api/models",
                                                params={"expand": ["tags"]}, headers={})]
            return changes, listed

    one, listed = run(3)
    assert (one, listed) == run(3)
    assert run(4)[0] != one
    assert one.total == 12
    assert set(one.deleted).isdisjoint(listed) and set(one.added) <= set(listed)
    assert len(listed) == 30 + len(one.added) - len(one.deleted)


def test_evolution_kinds_behave_like_the_hub() -> None:
    objs = _modified_hub()
    with FakeHub(objs) as hub:
        api = _api(hub)
        before = {m.id: m for m in api.list_models(expand=["lastModified", "downloads"])}
        newest = max(m.last_modified for m in before.values())
        new = hub.evolve(3, seed=1, kinds={"new": 1}).added
        edited = hub.evolve(3, seed=2, kinds={"edit": 1}).edited
        changed = set(new) | set(edited)  # (an edit may hit a new model)
        recent = [m.id for m in api.list_models(sort="last_modified", limit=len(changed))]
        # new and edited models come first by lastModified, the last edit first
        assert set(recent) == changed and recent[0] == edited[-1]
        counted = hub.evolve(3, seed=3, kinds={"downloads": 1}).downloads
        gone = hub.evolve(2, seed=4, kinds={"delete": 1}).deleted
        for mid in set(new) - set(edited) - set(gone):
            info = api.model_info(mid, expand=["baseModels", "createdAt", "lastModified"])
            assert info.created_at == info.last_modified > newest
            assert info.base_models is not None
        for mid in set(counted) - set(gone):  # downloads change, lastModified does not
            info = api.model_info(mid, expand=["downloads", "lastModified"])
            assert info.downloads != before[mid].downloads
            assert info.last_modified == before[mid].last_modified
        for mid in gone:
            with pytest.raises(RepositoryNotFoundError):
                api.model_info(mid)


def test_evolve_every_n_requests_and_the_snapshot_dump(tmp_path: Path) -> None:
    objs = _modified_hub()
    with FakeHub(objs, evolve_every=2, evolve_changes=3, evolve_seed=5) as hub:
        api = _api(hub)
        for _ in range(4):
            list(api.list_models(limit=1))
        assert hub.changes.total == 3 * (hub.requests // 2)
        path = tmp_path / "now.jsonl.gz"
        n = hub.index.write_jsonl(path)
    again = SnapshotIndex.from_path(path)
    assert len(again) == n == 30 + len(hub.changes.added) - len(hub.changes.deleted)


def test_fakehub_cli_evolves_before_serving(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["fakehub", str(FIXTURE), "--evolve-every", "3"])
    assert res.exit_code == 2 and "--evolve-seed" in res.output
    help_text = CliRunner().invoke(main, ["fakehub", "-h"]).output
    assert "--evolve-seed" in help_text and "--evolve-changes" in help_text
