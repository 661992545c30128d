"""The fake Hub's HTTP server: the Hub's model routes over a snapshot, with knobs.

:class:`FakeHub` runs a stdlib threaded HTTP/1.1 server on 127.0.0.1 that the real
``huggingface_hub`` client can be pointed at (``HfApi(endpoint=hub.url)`` or
``HF_ENDPOINT``). It answers

- ``GET /api/models`` — ``filter`` (repeatable, ANDed: ``base_model:X``,
  ``base_model:<relation>:X`` or any tag; matched exactly, case-sensitively), ``author``,
  ``search``, ``sort``, ``direction``, ``limit`` (at most 1000, the default), ``cursor``,
  ``expand`` / ``expand[]`` (``baseModels``, ``childrenModelCount`` and ``usedStorage``
  get the Hub's 400, ``{"error": "..."}``: its listing routes refuse them), ``full``,
  ``cardData``, ``config``; the next page is announced in a ``Link: <...>; rel="next"``
  header with an opaque cursor, as on the Hub;
- ``GET /api/models/{id}`` (and ``.../revision/{rev}``) with ``expand[]``, including the
  derived ``baseModels`` and ``childrenModelCount``; unknown ids get the Hub's 404 with
  ``X-Error-Code: RepoNotFound``.

Every response carries the Hub's ``RateLimit`` and ``RateLimit-Policy`` headers (fixed
windows; 429 with ``Retry-After`` over quota). Seeded fault injection (5xx, stalls,
truncated bodies, dropped connections), per-request latency and thread-safe request
counters make it a test double for crawlers and a bench for their pacing and retries.

Responses go out in a single ``write`` with ``TCP_NODELAY`` set: a keep-alive client
otherwise waits ~40 ms per request on delayed ACKs, and benchmarks would time the server.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from ..errors import UsageError
from .evolve import Changes, evolve
from .index import (
    DETAIL_DEFAULT_FIELDS,
    DETAIL_EXPAND,
    LIST_DEFAULT_FIELDS,
    LIST_EXPAND,
    LIST_FULL_EXTRA,
    MAX_PAGE_SIZE,
    ListQuery,
    QueryError,
    SnapshotIndex,
)

__all__ = ["FakeHub", "UNLIMITED_QUOTA"]

#: The quota advertised in the headers when no quota is set.
UNLIMITED_QUOTA = 1_000_000_000

_SERVER_ERRORS = (500, 502, 503)
_TRUE = ("1", "true", "True", "yes")


class _RateLimiter:
    """Fixed-window request quota, like the Hub's ``"fixed window";"api"`` policy.

    Windows start when the server starts (or is reset) and last ``window`` seconds.
    Only admitted requests use the quota; refused ones get 429 and the time to reset.
    """

    def __init__(self, quota: int | None, window: float) -> None:
        if window <= 0:
            raise UsageError("window must be > 0 seconds")
        if quota is not None and quota < 0:
            raise UsageError("quota must be >= 0")
        self.quota = quota
        self.window = window
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._origin = time.monotonic()
            self._window_no = 0
            self._used = 0

    def admit(self) -> tuple[bool, int, int]:
        """Count one request: ``(allowed, remaining, seconds_to_reset)``."""
        quota = UNLIMITED_QUOTA if self.quota is None else self.quota
        with self._lock:
            elapsed = time.monotonic() - self._origin
            window_no = int(elapsed // self.window)
            if window_no != self._window_no:
                self._window_no, self._used = window_no, 0
            reset = max(1, math.ceil((window_no + 1) * self.window - elapsed))
            if self._used >= quota:
                return False, 0, reset
            self._used += 1
            return True, quota - self._used, reset


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], hub: FakeHub) -> None:
        self.hub = hub
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that times out or hangs up mid-response is business as usual here.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)  # pragma: no cover


class _Handler(BaseHTTPRequestHandler):
    """One connection; requests on it are served one after another (keep-alive)."""

    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "ecograph-fakehub"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.sockets_lock:
            self.server.open_sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if self.server.hub.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.hub._serve(self)

    def send_json(
        self,
        status: int,
        payload: Any = None,
        headers: Iterable[tuple[str, str]] = (),
        *,
        body: bytes | None = None,
    ) -> None:
        """Send a complete response (status line, headers, body) in one write."""
        if body is None:
            body = _json_body(payload)
        reason = HTTPStatus(status).phrase
        head = [
            f"HTTP/1.1 {status} {reason}",
            f"Date: {formatdate(usegmt=True)}",
            "Server: ecograph-fakehub",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}",
        ]
        head.extend(f"{k}: {v}" for k, v in headers)
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.log_request(status)

    def drop(self) -> None:
        """Close the connection without a response (the client sees a protocol error)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeHub:
    """A local fake of the Hugging Face Hub's model API, served from a snapshot.

    Parameters
    ----------
    snapshot
        A JSONL / ``.jsonl.gz`` path, an iterable of model dicts, or a prebuilt
        :class:`~ecograph.fakehub.index.SnapshotIndex` (to share one big index).
    host, port
        Where to listen; port 0 picks a free port (see :attr:`url`).
    latency_ms
        Added to every request before it is answered.
    quota, window
        Requests allowed per fixed window of ``window`` seconds (``None``: unlimited,
        still advertised in the headers).
    fail_rate, stall_rate, truncate_rate, drop_rate
        Probabilities, per request, of a 500/502/503, of a stall of ``stall_seconds``
        before answering, of a 200 whose JSON body is cut short (with a matching
        ``Content-Length``), and of a connection closed without a response. Drawn from a
        ``random.Random(seed)`` in request order, so a sequential client sees the same
        faults on every run.
    page_size
        Models per listing page when the request gives no ``limit``.
    evolve_every, evolve_changes, evolve_seed
        Move the Hub forward while serving: every ``evolve_every`` requests (``None``:
        never), apply ``evolve_changes`` changes (:func:`ecograph.fakehub.evolve.evolve`,
        seeded by ``evolve_seed`` and the step number). :meth:`evolve` does one step on
        demand (e.g. between two runs); :attr:`changes` lists everything changed so far.

    Listings sorted by a numeric field (``sort=lastModified``, ``createdAt``, ...) page
    with keyset cursors (the last model's sort key): a model added, edited or deleted
    between two pages neither shifts the listing nor hides a model that did not change.

    Knobs are plain attributes and may be changed while the server runs. Use as a
    context manager (``with FakeHub(path) as hub: ...``) or call :meth:`start` /
    :meth:`stop`.
    """

    def __init__(
        self,
        snapshot: str | Path | Iterable[Mapping[str, Any]] | SnapshotIndex,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        quota: int | None = None,
        window: float = 300,
        fail_rate: float = 0.0,
        stall_rate: float = 0.0,
        truncate_rate: float = 0.0,
        drop_rate: float = 0.0,
        stall_seconds: float = 30.0,
        seed: int = 0,
        page_size: int = MAX_PAGE_SIZE,
        verbose: bool = False,
        evolve_every: int | None = None,
        evolve_changes: int = 100,
        evolve_seed: int = 0,
    ) -> None:
        if isinstance(snapshot, SnapshotIndex):
            self.index = snapshot
        elif isinstance(snapshot, str | Path):
            self.index = SnapshotIndex.from_path(snapshot)
        else:
            self.index = SnapshotIndex.from_objects(snapshot)
        rates = (fail_rate, stall_rate, truncate_rate, drop_rate)
        if any(not 0 <= r <= 1 for r in rates) or sum(rates) > 1:
            raise UsageError("fault rates must be in [0, 1] and sum to at most 1")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise UsageError(f"page_size must be in 1..{MAX_PAGE_SIZE}")
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.stall_rate = stall_rate
        self.truncate_rate = truncate_rate
        self.drop_rate = drop_rate
        self.stall_seconds = stall_seconds
        self.page_size = page_size
        self.verbose = verbose
        self.limiter = _RateLimiter(quota, window)
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._requests = 0
        self._counts: dict[str, Counter[Any]] = self._empty_counts()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if evolve_every is not None and evolve_every < 1:
            raise ValueError("evolve_every must be >= 1 request (or None)")
        self.evolve_every = evolve_every
        self.evolve_changes = evolve_changes
        self.evolve_seed = evolve_seed
        self.changes = Changes()
        self._steps = 0
        # listings and lookups see the index either before or after a change, never during
        self._index_lock = threading.Lock()

    # ------------------------------------------------------------------ evolution

    def evolve(self, n: int | None = None, *, seed: int | None = None,
               kinds: Mapping[str, float] | None = None) -> Changes:
        """Apply ``n`` changes (default :attr:`evolve_changes`) now and return them; the
        seed defaults to ``evolve_seed`` + the number of steps so far, so a sequence of
        steps is reproducible."""
        with self._index_lock:
            step_seed = self.evolve_seed + self._steps if seed is None else seed
            self._steps += 1
            done = evolve(self.index, self.evolve_changes if n is None else n,
                          seed=step_seed, kinds=kinds)
            self.changes.merge(done)
        return done

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeHub:
        """Bind and serve in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fakehub:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end stalls and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with server.sockets_lock:
            sockets = list(server.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The endpoint to give the client, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def quota(self) -> int | None:
        return self.limiter.quota

    @property
    def window(self) -> float:
        return self.limiter.window

    # ------------------------------------------------------------------ counters

    @staticmethod
    def _empty_counts() -> dict[str, Counter[Any]]:
        return {"route": Counter(), "status": Counter(), "fault": Counter()}

    @property
    def requests(self) -> int:
        """Requests received since start or the last :meth:`reset_counters`."""
        with self._lock:
            return self._requests

    @property
    def counts(self) -> dict[str, dict[Any, int]]:
        """A copy of the counters: ``{"route": {...}, "status": {...}, "fault": {...}}``.

        Routes are ``list``, ``detail`` and ``other``; statuses are ints (``0`` counts
        dropped connections); faults are ``5xx``, ``stall``, ``truncate``, ``drop`` and
        ``rate_limited``.
        """
        with self._lock:
            return {k: dict(v) for k, v in self._counts.items()}

    def stats(self) -> dict[str, Any]:
        """Counters plus the total, e.g. for a benchmark report."""
        with self._lock:
            out: dict[str, Any] = {k: dict(v) for k, v in self._counts.items()}
            out["requests"] = self._requests
        return out

    def reset_counters(self, *, rate_limit: bool = True, reseed: bool = False) -> None:
        """Zero the counters (and by default start a fresh rate-limit window).

        ``reseed=True`` also restarts the fault sequence from the seed.
        """
        with self._lock:
            self._requests = 0
            self._counts = self._empty_counts()
            if reseed:
                self._rng = random.Random(self._seed)
        if rate_limit:
            self.limiter.reset()

    def _count(self, key: str, value: Any) -> None:
        with self._lock:
            self._counts[key][value] += 1

    # ------------------------------------------------------------------ serving

    def _draw_fault(self) -> tuple[str | None, float]:
        """One draw per request, in arrival order: the fault kind (or None) and a
        second number for its details (which 5xx, where to cut)."""
        with self._lock:
            u, v = self._rng.random(), self._rng.random()
        for kind, rate in (
            ("5xx", self.fail_rate),
            ("stall", self.stall_rate),
            ("truncate", self.truncate_rate),
            ("drop", self.drop_rate),
        ):
            if u < rate:
                return kind, v
            u -= rate
        return None, v

    def _serve(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        path = parts.path.rstrip("/") or "/"
        route = (
            "list"
            if path == "/api/models"
            else "detail"
            if path.startswith("/api/models/")
            else "other"
        )
        with self._lock:
            self._requests += 1
            self._counts["route"][route] += 1
            number = self._requests
        if self.evolve_every is not None and number % self.evolve_every == 0:
            self.evolve()
        if self.latency_ms > 0:
            self._stopping.wait(self.latency_ms / 1000)

        allowed, remaining, reset = self.limiter.admit()
        quota = UNLIMITED_QUOTA if self.quota is None else self.quota
        window = self.window
        headers = [
            ("RateLimit", f'"api";r={remaining};t={reset}'),
            ("RateLimit-Policy", f'"fixed window";"api";q={quota};w={window:g}'),
            ("X-Request-Id", f"fakehub-{self.port}-{self.requests}"),
        ]
        if not allowed:
            self._count("fault", "rate_limited")
            self._reply(h, 429, {"error": _RATE_LIMITED}, [*headers, ("Retry-After", str(reset))])
            return

        fault, detail = self._draw_fault()
        if fault is not None:
            self._count("fault", fault)
        if fault == "drop":
            self._count("status", 0)
            h.drop()
            return
        if fault == "stall":
            self._stopping.wait(self.stall_seconds)
        if fault == "5xx":
            status = _SERVER_ERRORS[int(detail * len(_SERVER_ERRORS))]
            self._reply(h, status, {"error": _SERVER_ERROR}, headers)
            return

        try:
            params = parse_qsl(parts.query, keep_blank_values=True)
            with self._index_lock:
                if route == "list":
                    status, payload, extra = self._list(h, parts.path, params)
                elif route == "detail":
                    status, payload, extra = self._detail(path, params)
                else:
                    status, payload, extra = 404, {"error": "Not Found"}, []
        except QueryError as exc:
            status, payload, extra = 400, {"error": str(exc)}, []
        except Exception as exc:  # noqa: BLE001 - a bug here must not hang the client
            status, payload, extra = 500, {"error": f"fakehub: {type(exc).__name__}: {exc}"}, []
        body = _json_body(payload)
        if fault == "truncate":
            body = body[: max(1, int(len(body) * min(detail, 0.9)))] if len(body) > 1 else b""
        self._reply(h, status, None, [*headers, *extra], body=body)

    def _reply(
        self,
        h: _Handler,
        status: int,
        payload: Any,
        headers: list[tuple[str, str]],
        *,
        body: bytes | None = None,
    ) -> None:
        self._count("status", status)
        if self.trickle_seconds > 0:
            self._send_trickling(h, status, payload, headers, body)
            return
        h.send_json(status, payload, headers, body=body)

    # ------------------------------------------------------------------ hostile knobs
    # Opt-in faults of a server that lies, off by default (plain attributes, changeable
    # while serving): ``trickle_seconds`` sends every response body a few bytes at a
    # time with that pause between writes (each read is quick, the whole never ends);
    # ``loop_links`` makes the last page of every listing announce its first page as the
    # next one (a one-page listing then links to itself): a ``Link: next`` cycle.

    trickle_seconds: float = 0.0
    loop_links: bool = False

    def _looping_next(self) -> int | None:
        return 0 if self.loop_links else None

    def _send_trickling(self, h: _Handler, status: int, payload: Any,
                        headers: list[tuple[str, str]], body: bytes | None) -> None:
        if body is None:
            body = _json_body(payload)
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
                "Content-Type: application/json; charset=utf-8",
                f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers)]
        try:
            h.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            for start in range(0, len(body), 4):
                if self._stopping.wait(self.trickle_seconds):
                    return
                h.wfile.write(body[start:start + 4])
        except OSError:  # the client gave up: what a deadline is for
            h.close_connection = True

    # ------------------------------------------------------------------ routes

    def _list(
        self, h: _Handler, raw_path: str, params: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        filters: list[str] = []
        expand: list[str] = []
        one: dict[str, str] = {}
        for k, v in params:
            if k == "filter":
                filters.extend(f for f in v.split(",") if f)
            elif k in ("expand", "expand[]"):
                expand.append(v)
            else:
                one[k] = v
        bad = [e for e in expand if e not in LIST_EXPAND]
        if bad:
            raise QueryError(_expand_error(bad, LIST_EXPAND))
        direction = one.get("direction", "-1")
        if direction not in ("-1", "1"):
            raise QueryError('"direction" must be one of [-1, 1]')
        query = ListQuery(
            filters=tuple(filters),
            author=one.get("author") or None,
            search=one.get("search") or None,
            sort=one.get("sort") or None,
            descending=direction == "-1",
        )
        limit = self.page_size
        if "limit" in one:
            try:
                limit = int(one["limit"])
            except ValueError:
                raise QueryError('"limit" must be a number') from None
            if limit < 1:
                raise QueryError('"limit" must be greater than or equal to 1')
            limit = min(limit, MAX_PAGE_SIZE)
        offset, after = _decode_cursor(one["cursor"], query.key) if "cursor" in one else (0, None)

        positions = self.index.select(query)
        if after is not None:
            offset = self.index.resume_at(query, positions, after)
        page = positions[offset : offset + limit]
        if expand:
            fields: tuple[str, ...] = ("_id", "id", *expand)
        else:
            fields = LIST_DEFAULT_FIELDS
            if one.get("full") in _TRUE:
                fields += LIST_FULL_EXTRA
            if one.get("cardData") in _TRUE:
                fields += ("cardData",)
            if one.get("config") in _TRUE:
                fields += ("config",)
        items = [self.index.render(i, fields) for i in page]

        headers: list[tuple[str, str]] = []
        nxt = offset + limit if offset + limit < len(positions) else self._looping_next()
        if nxt is not None:
            kept = [(k, v) for k, v in params if k != "cursor"]
            last = self.index.sort_key(query, page[-1]) if len(page) and nxt else None
            kept.append(("cursor", _encode_cursor(nxt, query.key, last)))
            host = h.headers.get("Host") or f"{self.host}:{self.port}"
            headers.append(("Link", f'<http://{host}{raw_path}?{urlencode(kept)}>; rel="next"'))
        return 200, items, headers

    def _detail(
        self, path: str, params: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        segments = path[len("/api/models/") :].split("/")
        revision = None
        if len(segments) in (3, 4) and segments[-2] == "revision":
            revision = unquote(segments[-1])
            segments = segments[:-2]
        if len(segments) > 2:
            return 404, {"error": "Not Found"}, []
        model_id = unquote("/".join(segments))
        position = self.index.lookup(model_id)
        if position is None:
            return 404, {"error": "Repository not found"}, _NOT_FOUND_HEADERS
        expand = [v for k, v in params if k in ("expand", "expand[]")]
        bad = [e for e in expand if e not in DETAIL_EXPAND]
        if bad:
            raise QueryError(_expand_error(bad, DETAIL_EXPAND))
        obj = self.index.model(position)
        if revision is not None and revision != "main" and revision != obj.get("sha"):
            return (
                404,
                {"error": f"Invalid rev id: {revision}"},
                [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", "Invalid rev id")],
            )
        fields = ("_id", "id", *expand) if expand else DETAIL_DEFAULT_FIELDS
        return 200, self.index.render(position, fields, obj), []


_RATE_LIMITED = (
    "You have been rate-limited because you reached the request quota of the current "
    "window. Retry after the number of seconds in the Retry-After header."
)
_SERVER_ERROR = "Internal Error - We're working hard to fix this as soon as possible!"
_NOT_FOUND_HEADERS = [
    ("X-Error-Code", "RepoNotFound"),
    ("X-Error-Message", "Repository not found"),
]


def _json_body(payload: Any) -> bytes:
    r"""``payload`` as compact UTF-8 JSON. Text that UTF-8 cannot hold (a lone surrogate,
    read from a snapshot line's ``"\ud800"``) goes out as a JSON escape, as the Hub's
    own JSON writer sends it, instead of failing the request.

    >>> _json_body({"a": "é"}), _json_body({"a": "x\ud800"})
    (b'{"a":"\xc3\xa9"}', b'{"a":"x\\ud800"}')
    """
    try:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode()


def _expand_error(bad: list[str], allowed: frozenset[str]) -> str:
    return (
        f'"expand" contains invalid value(s): {", ".join(bad)}; '
        f"must be one of [{', '.join(sorted(allowed))}]"
    )


def _encode_cursor(offset: int, query_key: str, after: Sequence[Any] | None = None) -> str:
    """A cursor: the next offset, and for a sorted listing the last model's sort key."""
    data: dict[str, Any] = {"o": offset, "q": query_key}
    if after is not None:
        data["k"] = [None if isinstance(v, float) and math.isinf(v) else v for v in after]
        data["i"] = [i for i, v in enumerate(after) if isinstance(v, float) and math.isinf(v)]
        data["s"] = [1 if isinstance(v, float) and v > 0 else -1 for v in after]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, query_key: str) -> tuple[int, tuple[Any, ...] | None]:
    """Offset (and sort key, for a sorted listing) from a cursor issued for the same query
    (else a 400, like a bad cursor)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        offset = data["o"]
        if data["q"] != query_key or not isinstance(offset, int) or offset < 0:
            raise ValueError
        after = None
        if "k" in data:
            key = list(data["k"])
            for i in data["i"]:
                key[i] = math.inf * data["s"][i]
            after = tuple(key)
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError):
        raise QueryError("Invalid cursor") from None
    return offset, after
