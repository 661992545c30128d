"""The Hub boundary: the only module that imports ``huggingface_hub``.

:class:`HubClient` issues one request per call (a page of a listing, or one model's detail)
through ``huggingface_hub``'s shared HTTP session, so it gets the library's token handling,
headers and error types, and returns ecograph records (:class:`~ecograph.records.ParsedModel`)
and plain values. Nothing past this module sees a ``huggingface_hub`` object.

Listings are walked page by page (the ``Link: <...>; rel="next"`` header, as
``huggingface_hub.utils.paginate`` does) so that the crawler can retry a single page and
checkpoint a cursor. Every response feeds a shared :class:`~ecograph.pacing.RateLimiter`
(its ``RateLimit`` headers). Requests go through ``huggingface_hub.get_session()``, so a
client factory the user installed with ``huggingface_hub.set_client_factory`` (proxies,
certificates) is honoured; ecograph installs none and reads no private attribute.

Errors are mapped once, here:

- 404 / ``RepoNotFound`` on the detail route → a ``missing`` record;
- 401 / 403 / gated → a ``private`` record;
- 408, 429, 5xx, timeouts, connection errors, broken JSON → :class:`RetryableHubError`
  (:class:`HubUnreachableError` for connection errors);
- anything else → :class:`~ecograph.errors.HubError`.

The token (``token=None``: ``HF_TOKEN`` or the token saved by ``hf auth login``) only
travels in the ``Authorization`` header; it is never stored, logged or put in a message.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx2
from huggingface_hub.utils import (
    GatedRepoError,
    HfHubHTTPError,
    build_hf_headers,
    get_session,
    hf_raise_for_status,
)

from .errors import HubError
from .pacing import RateLimiter, parse_rate_limit
from .records import ParsedModel, Status, missing_record, normalize_id, parse_model
from .responses import (
    PAGE_SIZE,
    ChildrenCount,
    CursorGuard,
    HubUnreachableError,
    ModelInfoResult,
    Page,
    RetryableHubError,
)

__all__ = [
    "DEFAULT_ENDPOINT",
    "HubClient",
    "Page",
    "ModelInfoResult",
    "RetryableHubError",
    "HubUnreachableError",
    "LIST_EXPAND",
    "DETAIL_EXPAND",
    "PAGE_SIZE",
    "default_endpoint",
    "limiter_for",
    "children_count",
    "redact_url",
    "DEFAULT_DEADLINE",
]

DEFAULT_ENDPOINT = "https://huggingface.co"
#: Seconds one request may take in all (connect, headers and the whole body): a server
#: that trickles bytes would otherwise hold a request forever (the timeout is per read).
DEFAULT_DEADLINE = 60.0

#: Fields expanded on the list route (DESIGN §1). The Hub refuses ``baseModels``,
#: ``childrenModelCount`` and ``usedStorage`` there (huggingface_hub PR #3182): parents and
#: relations of listed models come from their ``base_model:<relation>:<id>`` tags.
#: ``safetensors`` (``{"parameters": {dtype: count}, "total": count}``, huggingface_hub's
#: ``ModelInfo.safetensors`` / ``SafeTensorsInfo``) gives ``params_b`` (DESIGN §8).
LIST_EXPAND: tuple[str, ...] = (
    "author", "createdAt", "lastModified", "downloads", "downloadsAllTime", "likes",
    "trendingScore", "tags", "library_name", "pipeline_tag", "gated", "private",
    "cardData", "safetensors",
)
#: Fields expanded on the detail route: the above plus ``baseModels`` (canonical parent
#: ids) and ``childrenModelCount``.
DETAIL_EXPAND: tuple[str, ...] = (*LIST_EXPAND, "baseModels", "childrenModelCount")


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s]*)@")


def redact_url(text: str) -> str:
    """``text`` with the credentials of every ``scheme://user:password@host`` URL in it
    replaced by ``***`` (they must never reach a message, a log or the store).

    >>> redact_url("http://user:pw@host:8080/api")
    'http://***@host:8080/api'
    >>> redact_url("cannot reach https://tok@hf.co: refused")
    'cannot reach https://***@hf.co: refused'
    >>> redact_url("https://huggingface.co")
    'https://huggingface.co'
    """
    return _USERINFO.sub(lambda m: f"{m['scheme']}***@", text)


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and that part (for basic auth)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def default_endpoint() -> str:
    """``HF_ENDPOINT`` if set, else the public Hub."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


# --------------------------------------------------------------------------- HTTP plumbing

_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def _origin(url: str) -> str:
    parts = urlsplit(str(url))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def limiter_for(endpoint: str) -> RateLimiter:
    """The process-wide limiter of an endpoint (one quota per endpoint and token)."""
    key = _origin(endpoint)
    with _LIMITERS_LOCK:
        lim = _LIMITERS.get(key)
        if lim is None:
            lim = _LIMITERS[key] = RateLimiter()
        return lim


def children_count(value: Any) -> ChildrenCount | None:
    """The Hub's ``childrenModelCount`` as ecograph keeps it: a dict by relation (the
    Hub's answer today) or a total (``huggingface_hub`` documents an int); ``None`` for
    anything else.

    >>> children_count({"finetune": 3, "adapter": 1, "odd": "x"})
    {'finetune': 3, 'adapter': 1}
    >>> children_count(4), children_count(True), children_count("4")
    (4, None, None)
    """
    if isinstance(value, dict):
        return {str(k): int(v) for k, v in value.items()
                if isinstance(v, int) and not isinstance(v, bool)}
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    info = parse_rate_limit(response.headers)
    if info is not None and info.remaining == 0:
        return info.reset
    return None


# --------------------------------------------------------------------------- the client


class HubClient:
    """A thin, thread-safe client of the Hub's model routes.

    Parameters
    ----------
    endpoint
        Base URL; default ``HF_ENDPOINT`` or ``https://huggingface.co``.
    token
        ``None``: huggingface_hub's saved token or ``HF_TOKEN``; ``False``: anonymous.
    timeout
        Seconds per network operation (connect, each read).
    deadline
        Seconds per request in all (:data:`DEFAULT_DEADLINE`): a request still unanswered
        then, e.g. from a server that trickles bytes, fails as retryable.
    limiter
        Rate limiter; default: the process-wide limiter of ``endpoint``.
    page_size
        Models per listing request (the Hub's maximum, :data:`PAGE_SIZE`, by default).
    """

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None, *,
                 timeout: float = 30.0, deadline: float = DEFAULT_DEADLINE,
                 limiter: RateLimiter | None = None, page_size: int = PAGE_SIZE) -> None:
        raw = (endpoint or default_endpoint()).rstrip("/")
        try:
            parts = urlsplit(raw)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            valid = False
        if not valid:
            raise HubError(f"invalid endpoint {redact_url(raw)!r} (expected http(s)://host)")
        # credentials in the URL travel as basic auth, never in a message or the store
        self.endpoint, self._credentials = _split_credentials(raw)
        if not timeout > 0 or not deadline > 0:
            raise HubError("timeout and deadline must be positive numbers of seconds")
        self.timeout = timeout
        self.deadline = deadline
        if not 1 <= page_size <= PAGE_SIZE:
            raise HubError(f"page size must be in 1..{PAGE_SIZE}, not {page_size}")
        self.page_size = page_size
        self.limiter = limiter or limiter_for(self.endpoint)
        self._headers = build_hf_headers(token=token, library_name="ecograph")
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"HubClient(endpoint={self.endpoint!r})"

    @property
    def authenticated(self) -> bool:
        return "authorization" in {k.lower() for k in self._headers}

    # ------------------------------------------------------------------ counters

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def request_counts(self) -> dict[str, int]:
        """Requests sent so far: ``requests`` in total and ``status_<code>`` /
        ``network_errors`` by outcome."""
        with self._lock:
            return dict(self._counts)

    # ------------------------------------------------------------------ one request

    def _get(self, url: str, params: Sequence[tuple[str, str]] | None = None) -> Any:
        """GET ``url`` once (after the limiter allows it); return the decoded JSON and the
        response. Raises the mapped errors (see module docstring)."""
        self.limiter.acquire()
        self._count("requests")
        try:
            response = self._fetch(url, params)
        except httpx2.ConnectError as exc:
            self._count("network_errors")
            raise HubUnreachableError(f"cannot reach {self.endpoint}: {_reason(exc)}") from None
        except _DeadlineError as exc:
            self._count("network_errors")
            raise RetryableHubError(str(exc)) from None
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError,
                httpx2.DecodingError) as exc:
            self._count("network_errors")
            raise RetryableHubError(
                f"{type(exc).__name__} from {self.endpoint}: {_reason(exc)}") from None
        except httpx2.HTTPError as exc:
            self._count("network_errors")
            raise HubError(f"request to {self.endpoint} failed: {_reason(exc)}") from None
        limits = parse_rate_limit(response.headers)
        if limits is not None:
            self.limiter.update(limits)
        status = response.status_code
        self._count(f"status_{status}")
        if status == 429 or status == 408 or status >= 500:
            retry_after = _retry_after(response) if status == 429 else None
            if status == 429 and retry_after:
                self.limiter.pause_until_reset(retry_after)
            raise RetryableHubError(f"HTTP {status} from {self.endpoint}", status=status,
                                    retry_after=retry_after)
        if status >= 400:
            return None, response
        try:
            return response.json(), response
        except (ValueError, httpx2.HTTPError) as exc:  # truncated / broken body
            raise RetryableHubError(f"broken JSON from {self.endpoint}: {exc}") from None

    def _fetch(self, url: str, params: Sequence[tuple[str, str]] | None) -> httpx2.Response:
        """The complete response to one GET, within :attr:`deadline` seconds in all.

        httpx's timeouts apply to each network operation, so the body is streamed and the
        deadline checked after every chunk; no single read may outlast the deadline
        either."""
        deadline = time.monotonic() + self.deadline
        per_op = min(self.timeout, self.deadline)
        extra: dict[str, Any] = {}
        if self._credentials is not None:
            extra["auth"] = self._credentials
        with get_session().stream(
            "GET", url, params=list(params) if params else None, headers=self._headers,
            timeout=httpx2.Timeout(per_op, connect=min(per_op, 10.0)), **extra,
        ) as streamed:
            body = bytearray()
            for chunk in streamed.iter_bytes():
                body += chunk
                if time.monotonic() > deadline:
                    raise _DeadlineError(self.endpoint, self.deadline)
            if time.monotonic() > deadline:
                raise _DeadlineError(self.endpoint, self.deadline)
            # the decoded body in a complete response (the headers of the encoding dropped)
            headers = [(k, v) for k, v in streamed.headers.multi_items()
                       if k.lower() not in _BODY_HEADERS]
            response = httpx2.Response(streamed.status_code, headers=headers,
                                       content=bytes(body), request=streamed.request,
                                       extensions=streamed.extensions)
        response.read()
        return response

    # ------------------------------------------------------------------ routes

    def model_info(self, model_id: str) -> ModelInfoResult:
        """The detail of one model with ``baseModels`` and ``childrenModelCount`` (by
        relation, or a total: see :func:`children_count`).

        A model that does not exist comes back with status ``missing``; one we may not
        read (401/403, gated) with status ``private``.
        """
        mid = normalize_id(model_id)
        params = [("expand", f) for f in DETAIL_EXPAND]
        data, response = self._get(f"{self.endpoint}/api/models/{mid}", params)
        fetched_at = datetime.now(UTC)
        if data is None:
            status = _detail_status(response)
            return ModelInfoResult(ParsedModel(missing_record(mid, status=status)), None)
        if not isinstance(data, dict):
            raise RetryableHubError(f"unexpected detail body for {mid} from {self.endpoint}")
        return ModelInfoResult(parse_model(data, fetched_at=fetched_at),
                               children_count(data.get("childrenModelCount")))

    def children_page(self, model_id: str, cursor: str | None = None) -> Page:
        """One page of the direct children of ``model_id`` (``cursor``: from the last page)."""
        if cursor is not None:
            return self._list(cursor, None)
        params = [("filter", f"base_model:{model_id}"), ("limit", str(self.page_size))]
        return self._list(f"{self.endpoint}/api/models", params)

    def scan_page(self, cursor: str | None = None) -> Page:
        """One page of the whole Hub, newest first (``sort=createdAt``, ``direction=-1``)."""
        if cursor is not None:
            return self._list(cursor, None)
        params = [("sort", "createdAt"), ("direction", "-1"), ("limit", str(self.page_size))]
        return self._list(f"{self.endpoint}/api/models", params)

    def recent_page(self, cursor: str | None = None) -> Page:
        """One page of the whole Hub, most recently modified first (``sort=lastModified``,
        ``direction=-1``): new models and edited cards come first (a refresh)."""
        if cursor is not None:
            return self._list(cursor, None)
        params = [("sort", "lastModified"), ("direction", "-1"),
                  ("limit", str(self.page_size))]
        return self._list(f"{self.endpoint}/api/models", params)

    def list_children(self, model_id: str) -> Iterator[Page]:
        """All pages of the direct children of ``model_id`` (no retries; a ``Link`` cycle
        raises :class:`~ecograph.responses.ListingLoopError`)."""
        guard = CursorGuard(f"the children of {model_id}")
        page = self.children_page(model_id)
        yield page
        while page.next_cursor:
            page = self.children_page(model_id, guard.next(page.next_cursor))
            yield page

    def list_all(self, cursor: str | None = None) -> Iterator[Page]:
        """All pages of the whole Hub, newest first, from ``cursor`` (no retries; a
        ``Link`` cycle raises :class:`~ecograph.responses.ListingLoopError`)."""
        guard = CursorGuard("the whole Hub", max_pages=None)
        page = self.scan_page(cursor)
        yield page
        while page.next_cursor:
            page = self.scan_page(guard.next(page.next_cursor))
            yield page

    def _list(self, url: str, query: list[tuple[str, str]] | None) -> Page:
        """One listing request: ``query`` (without ``expand``) for a first page, ``None``
        for a ``Link`` URL that already carries it."""
        params = None
        if query is not None:
            params = [*query, *(("expand", f) for f in LIST_EXPAND)]
        data, response = self._get(url, params)
        if data is None:
            _raise_list_error(response, self.endpoint)
        if not isinstance(data, list):
            raise RetryableHubError(f"unexpected listing body from {self.endpoint}")
        fetched_at = datetime.now(UTC)
        parsed = [parse_model(obj, fetched_at=fetched_at) for obj in data
                  if isinstance(obj, dict)]
        # an object without a readable id is not a model: counted, never stored
        models = tuple(p for p in parsed if p.record.id)
        if len(models) < len(data):
            with self._lock:
                self._counts["invalid_records"] += len(data) - len(models)
        nxt = response.links.get("next", {}).get("url")
        if nxt and _origin(str(nxt)) != _origin(self.endpoint):
            # the token goes with every request: never follow a link to another host
            raise HubError(f"{self.endpoint} sent a next-page link to another host: "
                           f"{_origin(str(nxt))}")
        return Page(models, str(nxt) if nxt else None)


_BODY_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class _DeadlineError(httpx2.TimeoutException):
    """A response not complete within the request's overall deadline."""

    def __init__(self, endpoint: str, deadline: float) -> None:
        super().__init__(f"no complete answer from {endpoint} within {deadline:g} s "
                         "(the request deadline: the server sends too slowly)")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return redact_url(text.splitlines()[0])


_BAD_TOKEN = "Invalid credentials in Authorization header"


def _detail_status(response: httpx2.Response) -> Status:
    """Map a 4xx of the detail route to a record status (or raise)."""
    try:
        hf_raise_for_status(response)
    except GatedRepoError:
        return Status.PRIVATE
    except HfHubHTTPError:
        pass
    status = response.status_code
    code = response.headers.get("X-Error-Code")
    message = (response.headers.get("X-Error-Message") or "").strip()
    if status == 401 and message == _BAD_TOKEN:
        raise HubError(f"the Hub rejected the token ({status} {message}); "
                       "check --token / HF_TOKEN")
    # The Hub answers 401 (anonymous) or 404 with X-Error-Code RepoNotFound for a repo
    # that does not exist *or* that the caller may not see; like huggingface_hub, take
    # the error code at its word: missing. Other 401/403s (gated, disabled): private.
    if status == 404 or code == "RepoNotFound":
        return Status.MISSING
    if status in (401, 403):
        return Status.PRIVATE
    raise HubError(f"HTTP {status} from {response.request.url.copy_with(query=None)}")


def _raise_list_error(response: httpx2.Response, endpoint: str) -> None:
    status = response.status_code
    if status == 401:
        raise HubError(f"{endpoint} rejected the token (HTTP 401); check --token / HF_TOKEN")
    detail = (response.headers.get("X-Error-Message") or "").strip()
    raise HubError(f"HTTP {status} from {endpoint}/api/models" + (f": {detail}" if detail else ""))

