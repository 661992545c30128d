"""The Hub boundary: routes against the fake Hub through huggingface_hub's own session,
and the error mapping on canned responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

import ecograph.hub as hubmod
from ecograph.errors import HubError, InvalidModelIdError
from ecograph.fakehub import FakeHub
from ecograph.hub import HubClient, HubUnreachableError, RetryableHubError
from ecograph.pacing import RateLimiter
from ecograph.records import EdgeSource, ParsedModel, Relation, Status

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "small_hub.jsonl"
EXPECTED = json.loads((FIXTURE.parent / "small_hub_expected.json").read_text())
LLAMA = "meta-llama/Llama-3.1-8B"


@pytest.fixture(scope="module")
def fakehub():
    with FakeHub(FIXTURE) as hub:
        yield hub


@pytest.fixture()
def client(fakehub: FakeHub) -> HubClient:
    return HubClient(fakehub.url, token=False, timeout=5, limiter=RateLimiter())


def test_model_info_record_and_children_count(client: HubClient) -> None:
    info = client.model_info(LLAMA)
    rec = info.parsed.record
    assert info.exists and rec.id == LLAMA and rec.status is Status.OK
    assert rec.author == "meta-llama" and rec.gated == "manual" and rec.license == "llama3.1"
    assert rec.downloads and rec.created_at is not None and rec.fetched_at is not None
    direct = EXPECTED["foundations"][LLAMA]["direct_children"]["by_relation"]
    assert info.children_count == {k: v for k, v in direct.items() if k != "unknown"}


def test_model_info_parents_from_base_models(client: HubClient) -> None:
    rec = client.model_info("meta-llama/Llama-3.1-8B-Instruct").parsed
    assert rec.record.parents == (LLAMA,)
    assert rec.edges[0].source is EdgeSource.BASE_MODELS
    assert rec.record.relation is Relation.FINETUNE


def test_model_info_unknown_is_missing(client: HubClient) -> None:
    info = client.model_info("nobody/nothing-here")
    assert not info.exists
    assert info.parsed.record.status is Status.MISSING and info.children_count is None
    with pytest.raises(InvalidModelIdError):
        client.model_info("not an id")


def test_children_page(client: HubClient) -> None:
    page = client.children_page(LLAMA)
    assert page.next_cursor is None
    assert len(page.models) == EXPECTED["foundations"][LLAMA]["direct_children"]["total"]
    assert all(isinstance(m, ParsedModel) for m in page.models)
    assert all(LLAMA in m.record.parents for m in page.models)
    assert client.request_counts() == {"requests": 1, "status_200": 1}


def test_scan_page_newest_first(client: HubClient) -> None:
    page = client.scan_page()
    assert len(page.models) == EXPECTED["global"]["models"]
    dates = [m.record.created_at for m in page.models if m.record.created_at]
    assert dates == sorted(dates, reverse=True)


def test_pages_follow_link_header() -> None:
    root = {"id": "org/root", "tags": []}
    kids = [{"id": f"u{i}/kid-{i}", "createdAt": "2024-01-01T00:00:00.000Z",
             "tags": ["base_model:org/root", "base_model:quantized:org/root"]}
            for i in range(2500)]
    with FakeHub([root, *kids]) as fh:
        c = HubClient(fh.url, token=False, timeout=5, limiter=RateLimiter())
        pages = list(c.list_children("org/root"))
        assert [len(p.models) for p in pages] == [1000, 1000, 500]
        assert len({m.record.id for p in pages for m in p.models}) == 2500
        assert all(m.record.relation is Relation.QUANTIZED for m in pages[0].models)
        assert len(list(c.list_all())) == 3
        assert fh.requests == 6


def test_limiter_fed_from_headers(fakehub: FakeHub) -> None:
    with FakeHub(FIXTURE, quota=50, window=300) as fh:
        lim = RateLimiter()
        c = HubClient(fh.url, token=False, timeout=5, limiter=lim)
        c.model_info(LLAMA)
        c.children_page(LLAMA)
        # the limiter counts its own requests and takes the server's word for the rest
        assert lim.budget == 48
        assert lim.requests == 2


def test_page_size(fakehub: FakeHub) -> None:
    c = HubClient(fakehub.url, token=False, timeout=5, limiter=RateLimiter(), page_size=50)
    pages = list(c.list_all())
    assert [len(p.models) for p in pages[:-1]] == [50] * (len(pages) - 1)
    assert sum(len(p.models) for p in pages) == EXPECTED["global"]["models"]
    with pytest.raises(HubError, match="page size must be in 1..1000"):
        HubClient(fakehub.url, token=False, page_size=1001)


# --------------------------------------------------------------------------- error mapping


def _mock(monkeypatch: pytest.MonkeyPatch,
          handler: Callable[[httpx2.Request], httpx2.Response]) -> HubClient:
    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    monkeypatch.setattr(hubmod, "get_session", lambda: client)
    return HubClient("https://hub.test", token=False, timeout=1, limiter=RateLimiter())


@pytest.mark.parametrize(("status", "headers", "expected"), [
    (404, {"X-Error-Code": "RepoNotFound"}, Status.MISSING),
    # the real Hub, anonymous, for a repo that does not exist (or that it hides)
    (401, {"X-Error-Code": "RepoNotFound",
           "X-Error-Message": "Invalid username or password."}, Status.MISSING),
    (401, {}, Status.PRIVATE),
    (403, {"X-Error-Code": "GatedRepo"}, Status.PRIVATE),
    (403, {}, Status.PRIVATE),
])
def test_detail_status_mapping(monkeypatch: pytest.MonkeyPatch, status: int,
                               headers: dict[str, str], expected: Status) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(status, json={"error": "x"},
                                                      headers=headers))
    assert c.model_info("a/b").parsed.record.status is expected


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(status, json={"error": "x"}))
    with pytest.raises(RetryableHubError) as exc:
        c.children_page("a/b")
    assert exc.value.status == status
    assert c.request_counts()[f"status_{status}"] == 1


def test_429_retry_after_pauses_the_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(
        429, json={}, headers={"Retry-After": "7", "RateLimit": '"api";r=0;t=7',
                               "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}))
    with pytest.raises(RetryableHubError) as exc:
        c.model_info("a/b")
    assert exc.value.retry_after == 7
    assert c.limiter.budget == 0
    assert c.limiter._paused_until > 0


def test_broken_json_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(200, content=b'[{"id": "a/b", "ta'))
    with pytest.raises(RetryableHubError, match="broken JSON"):
        c.children_page("a/b")
    c2 = _mock(monkeypatch, lambda r: httpx2.Response(200, json={"not": "a list"}))
    with pytest.raises(RetryableHubError):
        c2.children_page("a/b")


def test_network_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(r: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("[Errno 111] Connection refused", request=r)

    c = _mock(monkeypatch, refuse)
    with pytest.raises(HubUnreachableError) as exc:
        c.model_info("a/b")
    assert str(exc.value) == "cannot reach https://hub.test: [Errno 111] Connection refused"

    def slow(r: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=r)

    c = _mock(monkeypatch, slow)
    with pytest.raises(RetryableHubError) as exc2:
        c.children_page("a/b")
    assert not isinstance(exc2.value, HubUnreachableError)
    assert c.request_counts()["network_errors"] == 1


def test_list_route_expands_only_what_the_hub_accepts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def handler(r: httpx2.Request) -> httpx2.Response:
        seen.append(r.url.params.get_list("expand"))
        return httpx2.Response(200, json=[{"id": "c/d", "tags": ["base_model:adapter:a/b"]}])

    c = _mock(monkeypatch, handler)
    page = c.children_page("a/b")
    assert page.models[0].record.parents == ("a/b",)
    assert page.models[0].record.relation is Relation.ADAPTER
    c.scan_page()
    for expand in seen:  # refused by the Hub's list route (huggingface_hub PR #3182)
        assert "tags" in expand and "cardData" in expand
        assert not {"baseModels", "childrenModelCount", "usedStorage"} & set(expand)


def test_next_page_link_to_another_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(
        200, json=[], headers={"Link": '<https://evil.test/api/models?cursor=x>; rel="next"'}))
    with pytest.raises(HubError, match="another host: https://evil.test:443"):
        c.children_page("a/b")


def test_rejected_token_on_the_detail_route(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(
        401, json={"error": "Invalid credentials in Authorization header"},
        headers={"X-Error-Message": "Invalid credentials in Authorization header"}))
    with pytest.raises(HubError, match="rejected the token") as exc:
        c.model_info("a/b")
    assert "\n" not in str(exc.value)


def test_other_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _mock(monkeypatch, lambda r: httpx2.Response(401, json={}))
    with pytest.raises(HubError, match="rejected the token") as exc:
        c.children_page("a/b")
    assert "\n" not in str(exc.value)
    with pytest.raises(HubError, match="invalid endpoint"):
        HubClient("ftp://nowhere", token=False)


def test_token_is_sent_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "hf_FAKEtokenNEVERshown0123456789"
    auth: list[str | None] = []

    def handler(r: httpx2.Request) -> httpx2.Response:
        auth.append(r.headers.get("authorization"))
        return httpx2.Response(404, json={}, headers={"X-Error-Code": "RepoNotFound"})

    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    monkeypatch.setattr(hubmod, "get_session", lambda: client)
    c = HubClient("https://hub.test", token=token, limiter=RateLimiter())
    assert c.authenticated and token not in repr(c)
    c.model_info("a/b")
    assert auth == [f"Bearer {token}"]


@pytest.mark.parametrize(("value", "count", "total", "by_relation"), [
    # what the Hub answers today: direct children by relation
    ({"finetune": 3, "adapter": 0, "quantized": 2}, {"finetune": 3, "adapter": 0, "quantized": 2},
     5, {"finetune": 3, "adapter": 0, "quantized": 2}),
    # what huggingface_hub documents: an int
    (5, 5, 5, None),
    (None, None, None, None),
    ("5", None, None, None),
])
def test_children_model_count_as_dict_or_int(monkeypatch: pytest.MonkeyPatch, value: object,
                                             count: object, total: int | None,
                                             by_relation: dict[str, int] | None) -> None:
    body = {"id": "a/b", "tags": []}
    if value is not None:
        body["childrenModelCount"] = value
    c = _mock(monkeypatch, lambda r: httpx2.Response(200, json=body))
    info = c.model_info("a/b")
    assert info.exists
    assert info.children_count == count
    assert info.children_total == total and info.children_by_relation == by_relation


def test_the_limiter_is_fed_without_any_client_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever HTTP client huggingface_hub hands out (a user's factory, no hooks), every
    response's rate-limit headers reach the limiter."""
    c = _mock(monkeypatch, lambda r: httpx2.Response(
        200, json=[], headers={"RateLimit": '"api";r=40;t=100',
                               "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}))
    c.children_page("a/b")
    assert c.limiter.budget == 40 and c.limiter.requests == 1
