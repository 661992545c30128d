"""Crawling: schedule Hub requests into a store, concurrently, paced and resumable.

This module knows neither the wire format (a hub client turns HTTP into records and the
plain values of :mod:`ecograph.responses`: :class:`ecograph.hub.HubClient`) nor the disk
format (a store saves them: :class:`ecograph.store.Store`). It decides what to fetch next,
retries, counts and reports.

A crawl is planned, then run:

- :func:`plan` resolves the roots (unknown ones fail before anything is written), picks
  the strategy (``auto``: the cheaper of BFS and scan by :func:`estimate`) and returns a
  :class:`Plan` a caller can show before running it;
- :func:`run` executes a plan into a store: **up** from the roots through ``baseModels``
  (detail route) to their foundations, **down** breadth-first over the store's frontier
  (a node = all pages of its direct children, saved with the node's ``done`` mark in one
  transaction), or a **scan** of the whole Hub (or of the models created since a date),
  newest first, checkpointing the listing cursor after every page.

:func:`crawl` does both in one call. Progress goes to a callback (a :class:`CrawlProgress`
snapshot); the library never prints. Running the same crawl again resumes an unfinished
one (pending frontier) and refreshes a finished one.
"""

from __future__ import annotations

import heapq
import json
import math
import queue
import random
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypedDict, TypeVar, Unpack

from .errors import EcographError, HubError, UnknownModelError, UsageError
from .pacing import backoff_delay
from .records import RELATIONS, ModelRecord, ParsedModel, Status, missing_record, normalize_id
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
    "CrawlProgress",
    "CrawlResult",
    "Estimate",
    "Gap",
    "HubLike",
    "Limits",
    "Plan",
    "PlanOptions",
    "StoreLike",
    "crawl",
    "check_options",
    "estimate",
    "hold_ctrl_c",
    "plan",
    "resolve_roots",
    "run",
]

T = TypeVar("T")

#: Models on the public Hub (late 2025), for the scan estimate.
HUB_SIZE = 2_200_000
#: New models a day on the public Hub, for the estimate of a ``since`` scan.
NEW_MODELS_PER_DAY = 3_000
#: Directions and strategies a plan accepts.
DIRECTIONS = ("down", "up", "both")
STRATEGIES = ("bfs", "scan", "auto")


class HubLike(Protocol):
    """What the crawler needs from a hub client (see :class:`ecograph.hub.HubClient`)."""

    endpoint: str

    def model_info(self, model_id: str) -> ModelInfoResult: ...
    def children_page(self, model_id: str, cursor: str | None = None) -> Page: ...
    def scan_page(self, cursor: str | None = None) -> Page: ...
    def request_counts(self) -> dict[str, int]: ...


class StoreLike(Protocol):
    """Every store method the crawler uses (see :class:`ecograph.store.Store`)."""

    # runs and resumable state
    def begin_run(self, kind: str, params: dict[str, Any]) -> int: ...
    def end_run(self, run_id: int, *, status: str, counts: dict[str, Any]) -> None: ...
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...

    # writes (each one transaction)
    def save_models(self, parsed: Iterable[ParsedModel]) -> None: ...
    def save_node(self, node_id: str, *, parsed: Sequence[ParsedModel], follow: Iterable[str],
                  depth: int, expected_children: dict[str, int] | int | None = None,
                  node_record: ModelRecord | None = None, listed: Iterable[str] | None = None,
                  fresh_since: datetime | None = None,
                  max_depth: int | None = None) -> None: ...

    # the frontier
    def seed_frontier(self, items: Iterable[tuple[str, int]], *,
                      max_depth: int | None = None) -> int: ...
    def requeue_done(self, ids: Iterable[str] | None = None) -> int: ...
    def requeue_failed(self, ids: Iterable[str] | None = None) -> int: ...
    def frontier_status(self, ids: Iterable[str]) -> dict[str, tuple[str, int]]: ...
    def frontier_counts(self) -> dict[str, int]: ...
    def pending(self, limit: int | None = None) -> list[tuple[str, int]]: ...
    def mark_failed(self, node_id: str, error: str) -> None: ...

    # one crawl at a time on a store; placeholders checked on the Hub
    def crawl_lock(self) -> AbstractContextManager[None]: ...
    def mark_checked(self, ids: Iterable[str]) -> int: ...

    # queries of the completeness checks (no whole-store load)
    def descendants(self, roots: Iterable[str]) -> list[str]: ...
    def child_counts(self, ids: Iterable[str]) -> dict[str, dict[str, int]]: ...
    def missing_parents_of(self, children: Iterable[str] | None = None, *,
                           checked: bool | None = None) -> list[str]: ...
    def expected_children_of(self, ids: Iterable[str]) -> dict[str, dict[str, int] | int]: ...
    def unlisted_children(self, parent: str, listed: Iterable[str], *,
                          fresh_since: datetime | None = None) -> list[str]: ...


@dataclass
class CrawlProgress:
    """A snapshot of a running crawl, handed to the progress callback."""

    phase: str = ""  # "roots", "down", "up", "verify", "scan"
    models: int = 0  # distinct models saved by this run
    edges: int = 0  # distinct edges saved by this run
    done: int = 0  # nodes listed (down) / pages read (scan) / models fetched (up)
    frontier: int = 0  # nodes waiting to be listed
    requests: int = 0
    waits: int = 0  # rate-limit waits
    wait_seconds: float = 0.0
    retries: int = 0
    failures: int = 0


ProgressCallback = Callable[[CrawlProgress], None]


@dataclass(frozen=True)
class Gap:
    """A node whose children found fall short of the Hub's ``childrenModelCount``.

    ``expected_by_relation`` is empty when the Hub gave only a total.
    """

    node: str
    expected: int
    found: int
    expected_by_relation: dict[str, int] = field(default_factory=dict)
    found_by_relation: dict[str, int] = field(default_factory=dict)


def _gap(node: str, expected: ChildrenCount, found: Mapping[str, int]) -> Gap | None:
    """A :class:`Gap` when the children found fall short of the expected total.

    >>> _gap("a/b", {"finetune": 2}, {"finetune": 1})
    Gap(node='a/b', expected=2, found=1, expected_by_relation={'finetune': 2}, \
found_by_relation={'finetune': 1})
    >>> _gap("a/b", 3, {"finetune": 1, "merge": 2}) is None
    True
    """
    total = expected if isinstance(expected, int) else sum(expected.values())
    got = sum(found.values())
    if got >= total:
        return None
    by_relation = {} if isinstance(expected, int) else dict(expected)
    return Gap(node, total, got, by_relation, dict(found))


@dataclass(frozen=True)
class Estimate:
    """Requests each strategy would need, and the cheaper one."""

    family_size: int
    bfs_requests: int
    scan_requests: int
    method: str  # how the family size was estimated

    @property
    def choice(self) -> str:
        return "scan" if self.scan_requests < self.bfs_requests else "bfs"


@dataclass(frozen=True)
class Limits:
    """How far and how wide a crawl goes.

    ``max_depth``: generations to discover below the roots (1 = direct children);
    ``max_models``: stop scheduling once this many models were saved (the rest stays
    pending); ``relations``: relations to follow (``None``: all); ``workers``: concurrent
    requests; ``attempts``: tries per request; ``max_pages``: pages a scan reads in this
    run; ``refresh``: re-list a family already crawled; ``verify_parents``: detail
    requests spent checking parents outside the crawl (``None``: as many as there are),
    so that ``missing`` means missing on the Hub; parents left over are reported as not
    checked (:attr:`CrawlResult.unchecked_parents`), never as missing.
    """

    max_depth: int | None = None
    max_models: int | None = None
    relations: frozenset[str] | None = None
    workers: int = 8
    attempts: int = 6
    max_pages: int | None = None
    refresh: bool = True
    verify_parents: int | None = None


@dataclass(frozen=True)
class Plan:
    """A crawl ready to :func:`run`: what :func:`plan` resolved and decided.

    ``strategy`` is ``bfs`` or ``scan``; it stays ``auto`` only for ``direction="both"``,
    where the roots of the down crawl are known after the up crawl (the estimate is made
    then). ``requests``: the requests planning made (they count in the run's totals).
    """

    direction: str
    strategy: str
    roots: tuple[str, ...]
    infos: tuple[ModelInfoResult, ...] = field(repr=False)
    estimate: Estimate | None
    since: datetime | None
    limits: Limits
    endpoint: str
    hub_size: int = HUB_SIZE
    requests: Mapping[str, int] = field(default_factory=dict, repr=False)


class PlanOptions(TypedDict, total=False):
    """The keyword options of :func:`plan` (and of :func:`crawl`)."""

    direction: str
    strategy: str
    since: datetime | None
    max_depth: int | None
    max_models: int | None
    relations: Iterable[str] | None
    workers: int
    attempts: int
    max_pages: int | None
    refresh: bool
    verify_parents: int | None
    hub_size: int


@dataclass
class CrawlResult:
    """What a crawl did: totals for the end summary (also stored in the runs table)."""

    kind: str
    run_ids: list[int] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    models: int = 0
    edges: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    retries: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: parents referenced by the crawled models that the Hub says do not exist
    missing_parents: list[str] = field(default_factory=list)
    #: parents referenced by the crawled models not checked on the Hub (they may exist)
    unchecked_parents: list[str] = field(default_factory=list)
    #: parent references that are not model ids, as ``(model id, reference)``: they made
    #: no edge (:attr:`ecograph.records.ParsedModel.rejected_parents`), so they are listed
    rejected_parents: list[tuple[str, str]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    elapsed: float = 0.0
    status: str = "done"
    estimate: Estimate | None = None
    strategy: str = "bfs"
    #: things the user should know about the run (printed in the summary)
    notes: list[str] = field(default_factory=list)

    @property
    def total_requests(self) -> int:
        return self.requests.get("requests", 0)

    def merge(self, other: CrawlResult) -> None:
        self.run_ids += other.run_ids
        self.models += other.models
        self.edges += other.edges
        for k, v in other.requests.items():
            self.requests[k] = self.requests.get(k, 0) + v
        self.rate_limited += other.rate_limited
        self.retries += other.retries
        self.waits += other.waits
        self.wait_seconds += other.wait_seconds
        self.failures += [f for f in other.failures if f not in self.failures]
        self.missing_parents = sorted(set(self.missing_parents) | set(other.missing_parents))
        self.unchecked_parents = sorted(
            (set(self.unchecked_parents) | set(other.unchecked_parents))
            - set(self.missing_parents))
        self.rejected_parents = sorted(set(self.rejected_parents) | set(other.rejected_parents))
        self.gaps += other.gaps
        self.notes += other.notes
        self.elapsed += other.elapsed
        if other.status != "done":
            self.status = other.status


class _Cancelled(Exception):
    pass


# --------------------------------------------------------------------------- run bookkeeping


class _Run:
    """Counters of one run, its row in the runs table and progress reporting."""

    def __init__(self, store: StoreLike, hub: HubLike, kind: str, params: dict[str, Any],
                 progress: ProgressCallback | None, *, attempts: int = 6,
                 carried: Mapping[str, int] | None = None) -> None:
        self.store = store
        self.hub = hub
        self.kind = kind
        self.progress_cb = progress
        self.attempts = max(1, attempts)
        self.rng = random.Random()
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.started = datetime.now(UTC)
        # requests made for this run before it started (planning: the roots, the estimate)
        # count in it too
        self.req0 = Counter(hub.request_counts())
        self.req0.subtract(carried or {})
        self.lim0 = self._limiter()
        self.lock = threading.Lock()
        self.retries = 0
        self.models: set[str] = set()
        self.edges: set[tuple[str, str]] = set()
        self.rejected: set[tuple[str, str]] = set()  # (model id, parent reference)
        self.failures: list[tuple[str, str]] = []
        self.state = CrawlProgress(phase=kind)
        self._last_emit = 0.0
        self.run_id = store.begin_run(kind, params)
        self.result = CrawlResult(kind=kind, run_ids=[self.run_id])

    def _limiter(self) -> dict[str, float]:
        lim = getattr(self.hub, "limiter", None)
        return lim.snapshot() if lim is not None else {"waits": 0, "wait_seconds": 0.0}

    def requests(self) -> dict[str, int]:
        now = Counter(self.hub.request_counts())
        now.subtract(self.req0)
        return {k: v for k, v in sorted(now.items()) if v}

    def saved(self, parsed: Iterable[ParsedModel]) -> None:
        with self.lock:
            for p in parsed:
                self.models.add(p.record.id)
                self.edges.update((e.parent, e.child) for e in p.edges)
                self.rejected.update((p.record.id, ref) for ref in p.rejected_parents)

    def due(self, force: bool = False) -> bool:
        """Whether a progress event is due (at most ~20 a second; always when forced)."""
        if self.progress_cb is None:
            return False
        now = time.monotonic()
        if force or now - self._last_emit >= 0.05:
            self._last_emit = now
            return True
        return False

    def emit(self, *, force: bool = True, **kw: Any) -> None:
        """Send a progress snapshot; values given as callables are computed only when
        the event is actually sent."""
        if not self.due(force):
            return
        lim = self._limiter()
        s = self.state
        for k, v in kw.items():
            setattr(s, k, v() if callable(v) else v)
        s.models, s.edges = len(self.models), len(self.edges)
        s.requests = self.requests().get("requests", 0)
        s.waits = int(lim["waits"] - self.lim0["waits"])
        s.wait_seconds = float(lim["wait_seconds"] - self.lim0["wait_seconds"])
        s.retries, s.failures = self.retries, len(self.failures)
        if self.progress_cb is not None:
            self.progress_cb(replace(s))

    def pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Cancelled

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` with retries (:func:`_retrying`), counted and cancellable."""
        return _retrying(fn, attempts=self.attempts, rng=self.rng, pause=self.pause,
                         on_retry=self._count_retry, stopped=self.stop.is_set)

    def _count_retry(self) -> None:
        with self.lock:
            self.retries += 1

    def finish(self, status: str) -> CrawlResult:
        r = self.result
        r.status = status
        r.elapsed = time.monotonic() - self.t0
        r.requests = self.requests()
        r.rate_limited = r.requests.get("status_429", 0)
        r.retries = self.retries
        lim = self._limiter()
        r.waits = int(lim["waits"] - self.lim0["waits"])
        r.wait_seconds = float(lim["wait_seconds"] - self.lim0["wait_seconds"])
        r.models, r.edges = len(self.models), len(self.edges)
        r.rejected_parents = sorted(self.rejected)
        r.failures = list(self.failures)
        counts: dict[str, Any] = dict(r.requests)
        counts.update(
            rate_limited=r.rate_limited, retries=r.retries, failures=len(r.failures),
            models=r.models, edges=r.edges, elapsed_ms=int(r.elapsed * 1000),
            rate_limit_waits=r.waits, rate_limit_wait_ms=int(r.wait_seconds * 1000),
            missing_parents=len(r.missing_parents), unchecked_parents=len(r.unchecked_parents),
            rejected_parents=len(r.rejected_parents), gaps=len(r.gaps),
        )
        hold_ctrl_c(partial(self.store.end_run, self.run_id, status=status, counts=counts))
        return r


def hold_ctrl_c(fn: Callable[[], T]) -> T:
    """``fn()`` with Ctrl-C held back until it returns (in the main thread), so that a
    second Ctrl-C cannot cut short the recording of how a run ended."""
    if threading.current_thread() is not threading.main_thread():
        return fn()
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not the main interpreter
        return fn()
    try:
        return fn()
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, None)  # (Python's default handler raises KeyboardInterrupt)


def _params(hub: HubLike, **kw: Any) -> dict[str, Any]:
    """Run parameters for the runs table (never the token)."""
    out: dict[str, Any] = {"endpoint": hub.endpoint}
    for k, v in kw.items():
        if v is None:
            continue
        out[k] = sorted(v) if isinstance(v, set | frozenset) else v
    return out


# --------------------------------------------------------------------------- roots


def resolve_roots(hub: HubLike, roots: Sequence[str], *,
                  attempts: int = 6) -> list[ModelInfoResult]:
    """Fetch every root's detail (with retries); unknown models raise
    :class:`~ecograph.errors.UnknownModelError` before anything is written."""
    ids = [normalize_id(r) for r in roots]
    caller = _Caller(attempts)
    out: list[ModelInfoResult] = []
    for mid in ids:
        info = caller.call(partial(hub.model_info, mid))
        if info.parsed.record.status is Status.MISSING:
            raise UnknownModelError(mid)
        if info.parsed.record.status is Status.PRIVATE:
            raise HubError(f"model {mid!r} is private or gated and cannot be read; "
                           "pass a token with access (--token or HF_TOKEN)")
        out.append(info)
    return out


class _Caller:
    """Retries outside a run (root resolution)."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self.rng = random.Random()

    def call(self, fn: Callable[[], T]) -> T:
        return _retrying(fn, attempts=self.attempts, rng=self.rng, pause=time.sleep)


def _retrying(fn: Callable[[], T], *, attempts: int, rng: random.Random,
              pause: Callable[[float], None], on_retry: Callable[[], None] | None = None,
              stopped: Callable[[], bool] | None = None) -> T:
    """``fn()`` with retries on retryable Hub errors: capped exponential backoff with
    jitter, honouring the server's Retry-After. Connection failures are retried at most
    3 times, so an unreachable endpoint fails fast."""
    attempt = 0
    while True:
        if stopped is not None and stopped():
            raise _Cancelled
        attempt += 1
        try:
            return fn()
        except HubUnreachableError:
            if attempt >= min(attempts, 3):
                raise
            delay = backoff_delay(attempt, base=0.2, rng=rng)
        except RetryableHubError as exc:
            if attempt >= attempts:
                raise
            delay = backoff_delay(attempt, base=0.25, cap=20.0, retry_after=exc.retry_after,
                                  rng=rng)
        if on_retry is not None:
            on_retry()
        pause(delay)


# --------------------------------------------------------------------------- workers


class _DaemonPool:
    """A minimal thread pool of *daemon* workers returning :class:`Future` objects.

    ``concurrent.futures.ThreadPoolExecutor`` joins its (non-daemon) workers at
    interpreter exit, so an interrupted crawl would wait for in-flight requests (up to
    the request timeout) and a second Ctrl-C would print a ``threading._shutdown``
    traceback. Work saved by the crawl is committed by the main thread; an abandoned
    worker only holds a request whose answer nobody needs.
    """

    def __init__(self, workers: int, name: str = "ecograph-crawl") -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = \
            queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(max(1, workers))]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fut, fn = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                fut.set_exception(exc)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        fut: Future[T] = Future()
        self._jobs.put((fut, partial(fn, *args)))
        return fut

    def shutdown(self, pending: Iterable[Future[Any]] = ()) -> None:
        """Cancel the ``pending`` futures not started yet and let the workers end (never
        waits for them)."""
        for fut in pending:
            fut.cancel()
        for _ in self._threads:
            self._jobs.put(None)


# --------------------------------------------------------------------------- plan, run


def plan(
    hub: HubLike,
    roots: Sequence[str] = (),
    *,
    direction: str = "down",
    strategy: str = "bfs",
    since: datetime | None = None,
    max_depth: int | None = None,
    max_models: int | None = None,
    relations: Iterable[str] | None = None,
    workers: int = 8,
    attempts: int = 6,
    max_pages: int | None = None,
    refresh: bool = True,
    verify_parents: int | None = None,
    hub_size: int = HUB_SIZE,
) -> Plan:
    """Plan a crawl: resolve ``roots`` on the Hub and choose the strategy; writes nothing.

    ``direction``: ``down`` (the families of ``roots``), ``up`` (their ancestors only) or
    ``both`` (ancestors, then the families of the foundations found). ``strategy``:
    ``bfs`` (one listing per family node), ``scan`` (list the whole Hub, or the models
    created ``since``) or ``auto`` (the cheaper by :func:`estimate`). With no ``roots``, a
    BFS resumes the store's pending frontier. The other options are :class:`Limits`.

    Options that contradict each other (an up crawl with a scan or ``since``, a scan
    with BFS limits, ...) raise :class:`~ecograph.errors.UsageError` (see
    :func:`check_options`); ``auto`` picks ``bfs`` when BFS limits are given (a scan
    cannot honour them). Unknown or unreadable roots raise
    :class:`~ecograph.errors.UnknownModelError` / :class:`~ecograph.errors.HubError`
    here, before any store is opened.
    """
    check_options(roots, direction=direction, strategy=strategy, since=since,
                  max_depth=max_depth, max_models=max_models, relations=relations)
    if verify_parents is not None and verify_parents < 0:
        raise UsageError(f"verify_parents must be >= 0 or None, not {verify_parents}")
    rels = None if relations is None else frozenset(str(r) for r in relations)
    if rels is not None and rels >= set(RELATIONS):
        rels = None  # all relations, including "unknown"
    limits = Limits(max_depth=max_depth, max_models=max_models, relations=rels,
                    workers=max(1, workers), attempts=max(1, attempts), max_pages=max_pages,
                    refresh=refresh, verify_parents=verify_parents)
    before = Counter(hub.request_counts())
    infos = resolve_roots(hub, roots, attempts=attempts) if roots else []
    est = None
    if strategy == "auto" and _bfs_limited(max_depth, max_models, relations):
        strategy = "bfs"  # only a BFS honours them
    if strategy == "auto" and direction == "down":
        est = estimate(hub, infos, hub_size=hub_size, since=since, attempts=attempts)
        strategy = est.choice
    spent = Counter(hub.request_counts())
    spent.subtract(before)
    return Plan(direction=direction, strategy=strategy,
                roots=tuple(i.parsed.record.id for i in infos), infos=tuple(infos),
                estimate=est, since=since, limits=limits, endpoint=hub.endpoint,
                hub_size=hub_size, requests={k: v for k, v in spent.items() if v})


def _bfs_limited(max_depth: int | None, max_models: int | None,
                 relations: Iterable[str] | None) -> bool:
    return max_depth is not None or max_models is not None or relations is not None


def check_options(roots: Sequence[str] = (), *, direction: str = "down",
                  strategy: str = "bfs", since: datetime | None = None,
                  max_depth: int | None = None, max_models: int | None = None,
                  relations: Iterable[str] | None = None) -> None:
    """Refuse options that are unknown or contradict each other, with a
    :class:`~ecograph.errors.UsageError` naming them (never silently ignore one).

    >>> check_options(["org/a"], direction="up", strategy="scan")
    Traceback (most recent call last):
    ...
    ecograph.errors.UsageError: strategy scan lists the whole Hub; it does not apply to \
direction up (which follows baseModels)
    >>> check_options(["org/a"], strategy="auto", max_depth=2) is None
    True
    """
    if direction not in DIRECTIONS:
        raise UsageError(f"direction must be down, up or both, not {direction!r}")
    if strategy not in STRATEGIES:
        raise UsageError(f"strategy must be bfs, scan or auto, not {strategy!r}")
    if direction in ("up", "both") and not roots:
        raise UsageError(f"direction {direction} needs at least one ROOT model id")
    if direction == "up":
        if strategy == "scan":
            raise UsageError("strategy scan lists the whole Hub; it does not apply to "
                             "direction up (which follows baseModels)")
        given = [name for name, value in (("since", since), ("max_depth", max_depth),
                                          ("max_models", max_models),
                                          ("relations", relations)) if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} do(es) not apply to direction up "
                             "(it follows baseModels to the foundations)")
    if since is not None and strategy == "bfs":
        raise UsageError("since applies to strategy scan, not bfs")
    if strategy == "scan" and _bfs_limited(max_depth, max_models, relations):
        given = [name for name, value in (("max_depth", max_depth), ("max_models", max_models),
                                          ("relations", relations)) if value is not None]
        raise UsageError(f"{', '.join(given)} limit(s) a BFS; strategy scan lists every "
                         "model and cannot honour them")


def run(store: StoreLike, hub: HubLike, plan: Plan,
        progress: ProgressCallback | None = None) -> CrawlResult:
    """Run a :class:`Plan` into ``store``; returns the totals (planning requests included).

    Each phase (up, down, scan) is one row of the store's runs table. Ctrl-C
    (``KeyboardInterrupt``) stops at once, with everything saved so far kept and the run
    marked ``interrupted``. One crawl at a time writes to a store: the store's crawl lock
    is held for the whole run (a second crawl fails at once with a
    :class:`~ecograph.errors.StoreError` naming the process that holds it).
    """
    with store.crawl_lock():
        return _run_locked(store, hub, plan, progress)


def _run_locked(store: StoreLike, hub: HubLike, plan: Plan,
                progress: ProgressCallback | None) -> CrawlResult:
    if not plan.roots and plan.strategy != "scan" and store.frontier_counts()["pending"] == 0:
        raise UsageError("give at least one ROOT model id (or --strategy scan)")
    carried: Mapping[str, int] = plan.requests
    total = CrawlResult(kind="crawl")
    infos = list(plan.infos)
    if plan.direction in ("up", "both") and infos:
        up, infos = _run_up(store, hub, plan, infos, progress, carried)
        carried = {}
        total.merge(up)
        total.roots = up.roots
        if plan.direction == "up":
            return total
        if not infos:
            before = Counter(hub.request_counts())
            infos = resolve_roots(hub, up.roots, attempts=plan.limits.attempts)
            carried = Counter(hub.request_counts())
            carried.subtract(before)
    total.roots = [i.parsed.record.id for i in infos]
    chosen, est = plan.strategy, plan.estimate
    if chosen == "auto":  # direction "both": the foundations are known now
        before = Counter(hub.request_counts())
        est = estimate(hub, infos, hub_size=plan.hub_size, since=plan.since,
                       attempts=plan.limits.attempts)
        spent = Counter(hub.request_counts())
        spent.subtract(before)
        spent.update(carried)
        carried, chosen = spent, est.choice
    total.estimate, total.strategy = est, chosen
    if chosen == "scan":
        total.merge(_run_scan(store, hub, plan, progress, carried))
        if infos:
            _check_after_scan(store, infos, total)
    else:
        total.merge(_run_down(store, hub, plan, infos, progress, carried))
    return total


def crawl(store: StoreLike, hub: HubLike, roots: Sequence[str] = (), *,
          progress: ProgressCallback | None = None,
          **options: Unpack[PlanOptions]) -> CrawlResult:
    """:func:`plan` then :func:`run`: the ``ecograph crawl`` command as one call.

    ``options`` are those of :func:`plan` (``direction``, ``strategy``, ``since``,
    ``max_depth``, ``max_models``, ``relations``, ``workers``, ...).
    """
    return run(store, hub, plan(hub, roots, **options), progress)


def _interrupted(run: _Run) -> None:
    run.stop.set()
    hold_ctrl_c(partial(run.finish, "interrupted"))


# --------------------------------------------------------------------------- down


def _follow_ok(p: ParsedModel, relations: frozenset[str] | None) -> bool:
    if p.record.status is not Status.OK:
        return False
    if relations is None:
        return True
    rel = p.record.relation
    return rel is not None and rel.value in relations


def _run_down(store: StoreLike, hub: HubLike, plan: Plan, infos: list[ModelInfoResult],
              progress: ProgressCallback | None, carried: Mapping[str, int]) -> CrawlResult:
    """Breadth-first crawl of the families of ``infos`` (the resolved roots) into ``store``.

    Every frontier node is listed (``filter=base_model:<node>``, all pages) by a pool of
    ``workers`` threads sharing the hub client's rate limiter; its children are saved
    with the node's ``done`` mark in one transaction (``store.save_node``). Children whose
    relation is in ``relations`` (default: all) join the frontier, once each. A node that
    keeps failing after ``attempts`` tries is marked failed and listed in the result.

    Roots come with their detail (metadata and ``childrenModelCount``, compared with the
    children found: the result's ``gaps``). Up to ``verify_parents`` detail requests
    check parents outside the crawl, so that ``missing`` means missing on the Hub.

    Per root: resumes its family when any node of it (along the store's edges) is
    pending; otherwise re-lists (refreshes) the family already crawled, unless
    ``refresh=False``. Only nodes reachable from the roots are listed (another crawl's
    pending work stays queued); with no roots, the whole pending frontier is resumed.
    A node's listing replaces its child edges: a stored child it no longer lists is read
    again (one detail request) and loses the edge only if its record no longer declares
    that parent (the listing may miss a child that spells the parent in another case).
    """
    lim = plan.limits
    root_ids = [i.parsed.record.id for i in infos]
    params = _params(hub, roots=root_ids, max_depth=lim.max_depth, max_models=lim.max_models,
                     relations=lim.relations, workers=lim.workers)
    run = _Run(store, hub, "down", params, progress, attempts=lim.attempts, carried=carried)
    try:
        left = _down(run, infos, lim)
    except (KeyboardInterrupt, _Cancelled):
        _interrupted(run)
        raise KeyboardInterrupt from None
    except BaseException:
        run.stop.set()
        run.finish("failed")
        raise
    run.result.roots = root_ids
    if left:
        return run.finish("partial")  # --max-models reached: the rest stays queued
    return run.finish("done" if not run.failures else "done_with_failures")


@dataclass(frozen=True)
class _Listing:
    """A node's complete listing, and the stored children it lacks, read again."""

    children: list[ParsedModel]
    reread: list[ParsedModel]
    kept: list[str]  # unlisted children that could not be read again: their edges stay


def _declares(child: ParsedModel, parent: str) -> bool:
    return child.record.status is Status.OK and \
        parent.lower() in {p.lower() for p in child.record.parents}


def _down(run: _Run, infos: list[ModelInfoResult], lim: Limits) -> int:
    """The BFS; returns how many nodes of its scope are left pending (``max_models``)."""
    store, hub = run.store, run.hub
    max_depth, max_models, rels, workers = lim.max_depth, lim.max_models, lim.relations, \
        lim.workers
    root_ids = [i.parsed.record.id for i in infos]
    root_records = {i.parsed.record.id.lower(): i for i in infos}
    # The BFS lists only nodes reachable from the named roots (their families in the
    # store, and what it follows), never another crawl's leftovers; with no roots it
    # resumes the whole pending frontier.
    scope: set[str] | None = None
    if root_ids:
        families = {r: store.descendants([r]) for r in root_ids}
        members = sorted({n for fam in families.values() for n in fam})
        scope = {n.lower() for n in members}
        store.requeue_failed(members)  # earlier failures get another chance
        if lim.refresh:
            state = {k.lower(): v for k, (v, _) in store.frontier_status(members).items()}
            for fam in families.values():
                # per root: unfinished (pending) work is resumed, a finished family refreshed
                if not any(state.get(n.lower()) == "pending" for n in fam):
                    store.requeue_done(sorted(fam))
    else:
        store.requeue_failed()
    store.seed_frontier(((r, 0) for r in root_ids), max_depth=max_depth)
    run.saved([ParsedModel(i.parsed.record) for i in infos])

    heap: list[tuple[int, str]] = []
    queued: dict[str, int] = {}  # lower-case id -> depth, pending and not yet submitted

    def push(node: str, depth: int) -> None:
        key = node.lower()
        if scope is not None and key not in scope:
            return
        if key in queued and queued[key] <= depth:
            return
        queued[key] = depth
        heapq.heappush(heap, (depth, node))

    for node, depth in store.pending():
        push(node, depth)

    def fetch(node: str) -> _Listing:
        children: list[ParsedModel] = []
        cursor: str | None = None
        guard = CursorGuard(f"the children of {node} from {hub.endpoint}")
        while True:
            page = run.call(partial(hub.children_page, node, cursor))
            children.extend(page.models)
            if not page.next_cursor:
                break
            # a Link cycle (or an endless listing) fails the node: marked failed, not lost
            cursor = guard.next(page.next_cursor)
        # stored children the listing lacks: their own record says whether the edge holds
        listed = [c.record.id for c in children if c.record.id]
        reread: list[ParsedModel] = []
        kept: list[str] = []
        for child in store.unlisted_children(node, listed, fresh_since=run.started):
            try:
                reread.append(run.call(partial(hub.model_info, child)).parsed)
            except HubUnreachableError:
                raise
            except EcographError:
                kept.append(child)  # cannot tell: keep the edge
        return _Listing(children, reread, kept)

    in_flight: dict[Future[_Listing], tuple[str, int]] = {}
    busy: set[str] = set()
    listed = 0

    def frontier() -> int:
        return len(queued) + len(in_flight)

    pool = _DaemonPool(workers)
    try:
        while True:
            capped = max_models is not None and len(run.models) >= max_models
            while heap and not capped and len(in_flight) < workers * 2:
                depth, node = heapq.heappop(heap)
                key = node.lower()
                if queued.get(key) != depth:
                    continue  # superseded by a smaller depth
                del queued[key]
                if key in busy:
                    continue
                busy.add(key)
                in_flight[pool.submit(fetch, node)] = (node, depth)
            if not in_flight:
                break
            finished, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                node, depth = in_flight.pop(fut)
                busy.discard(node.lower())
                try:
                    listing = fut.result()
                except HubUnreachableError as exc:
                    raise HubError(str(exc)) from None
                except _Cancelled:
                    raise
                except EcographError as exc:
                    msg = str(exc).splitlines()[0]
                    store.mark_failed(node, msg)
                    run.failures.append((node, msg))
                    run.emit(phase="down", frontier=frontier)
                    continue
                children = listing.children
                still = [c for c in listing.reread if _declares(c, node)]
                grow = max_depth is None or depth + 1 < max_depth
                follow = [c.record.id for c in (*children, *still)
                          if grow and c.record.id != node and _follow_ok(c, rels)]
                info = root_records.get(node.lower())
                store.save_node(
                    node, parsed=[*children, *listing.reread], follow=follow, depth=depth,
                    expected_children=info.children_count if info else None,
                    node_record=info.parsed.record if info else None,
                    # the complete listing: edges to children no longer listed (and whose
                    # record, read again, no longer declares the node) are stale
                    listed=[*(c.record.id for c in children if c.record.id), *listing.kept],
                    fresh_since=run.started, max_depth=max_depth,
                )
                run.saved([*children, *(c for c in listing.reread
                                        if c.record.status is Status.OK)])
                if follow:
                    if scope is not None:
                        scope.update(f.lower() for f in follow)
                    for fid, (status, fdepth) in store.frontier_status(follow).items():
                        if status == "pending":
                            push(fid, fdepth)
                listed += 1
                run.emit(phase="down", done=listed, frontier=frontier,
                         force=not in_flight)
    finally:
        run.stop.set()
        pool.shutdown(in_flight)
    run.stop.clear()
    _verify_parents(run, root_ids, budget=lim.verify_parents)
    _check(run, root_ids)
    return len(queued)


def _verify_parents(run: _Run, roots: Sequence[str], *, budget: int | None) -> None:
    """Fetch the detail of placeholder parents referenced by the crawled families (and,
    for those that exist, of their own unknown parents), at most ``budget`` requests
    (``None``: all of them), those never checked first: a parent outside the families is
    then stored ``ok``, marked checked when the Hub says it does not exist, and the ones
    left over are reported as not checked (``missing`` only ever means missing)."""
    store, hub = run.store, run.hub
    touched = sorted(set(run.models) | set(store.descendants(roots)))
    unchecked = store.missing_parents_of(touched, checked=False)
    queue_ = deque([*unchecked, *store.missing_parents_of(touched, checked=True)])
    seen: set[str] = set()
    found: list[str] = []
    spent = 0
    while queue_ and (budget is None or spent < budget):
        mid = queue_.popleft()
        if mid.lower() in seen:
            continue
        seen.add(mid.lower())
        spent += 1
        try:
            info = run.call(partial(hub.model_info, mid))
        except HubUnreachableError:
            raise
        except EcographError:
            continue  # stays not checked (or as last checked)
        rec = info.parsed.record
        if rec.status is Status.OK:
            # (the Hub may spell the id otherwise: the store then renames our placeholder
            # and its edges to the Hub's spelling)
            store.save_models([info.parsed])
            run.saved([info.parsed])
            found.append(rec.id)
            queue_.extendleft(p for p in store.missing_parents_of([rec.id], checked=False)
                              if p.lower() not in seen)
        elif rec.status is Status.PRIVATE:
            store.save_models([ParsedModel(missing_record(mid, status=Status.PRIVATE))])
        else:
            store.mark_checked([mid])
        run.emit(phase="verify", force=False)
    referenced = [*touched, *found]
    run.result.missing_parents = store.missing_parents_of(referenced, checked=True)
    run.result.unchecked_parents = store.missing_parents_of(referenced, checked=False)


def _check(run: _Run, roots: Sequence[str]) -> None:
    """Completeness: children found vs the Hub's ``childrenModelCount`` where known (by
    relation or as a total: the totals are compared)."""
    expected = run.store.expected_children_of(sorted(set(run.models) | set(roots)))
    if not expected:
        return
    found = run.store.child_counts(expected)
    run.result.gaps = [g for node, exp in sorted(expected.items())
                       if (g := _gap(node, exp, found.get(node, {}))) is not None]


# --------------------------------------------------------------------------- up


def _run_up(store: StoreLike, hub: HubLike, plan: Plan, infos: list[ModelInfoResult],
            progress: ProgressCallback | None, carried: Mapping[str, int],
            ) -> tuple[CrawlResult, list[ModelInfoResult]]:
    """Follow ``baseModels`` from ``infos`` (one detail request per model) to their roots.

    Saves every model on the way (with its parent edges; parents that do not exist
    become ``missing`` nodes); cycle-safe. The result's ``roots`` are the ancestors with
    no readable parent (the foundations of the start models); their details come back
    too, for a down crawl from them.
    """
    run = _Run(store, hub, "up", _params(hub, start=[i.parsed.record.id for i in infos]),
               progress, attempts=plan.limits.attempts, carried=carried)
    try:
        roots, root_infos = _up(run, infos)
    except (KeyboardInterrupt, _Cancelled):
        _interrupted(run)
        raise KeyboardInterrupt from None
    except BaseException:
        run.finish("failed")
        raise
    run.result.roots = roots
    return run.finish("done" if not run.failures else "done_with_failures"), root_infos


def _up(run: _Run, infos: list[ModelInfoResult]) -> tuple[list[str], list[ModelInfoResult]]:
    store, hub = run.store, run.hub
    fetched: dict[str, ParsedModel] = {}
    by_id: dict[str, ModelInfoResult] = {}
    queue_: deque[tuple[str, ModelInfoResult | None]] = deque(
        (i.parsed.record.id, i) for i in infos)
    seen: set[str] = set()
    while queue_:
        mid, info = queue_.popleft()
        if mid.lower() in seen:
            continue
        seen.add(mid.lower())
        if info is None:
            try:
                info = run.call(partial(hub.model_info, mid))
            except HubUnreachableError as exc:
                raise HubError(str(exc)) from None
            except EcographError as exc:
                run.failures.append((mid, str(exc).splitlines()[0]))
                continue
        rec = info.parsed.record
        if rec.status is not Status.OK:
            store.save_models([ParsedModel(missing_record(mid, status=rec.status))])
            if rec.status is Status.MISSING:
                store.mark_checked([mid])
            run.emit(phase="up", done=len(seen), force=False)
            continue
        store.save_models([info.parsed])
        run.saved([info.parsed])
        fetched[rec.id.lower()] = info.parsed
        by_id[rec.id] = info
        for p in rec.parents:
            if p.lower() not in seen:
                queue_.append((p, None))
        run.emit(phase="up", done=len(seen), frontier=len(queue_), force=not queue_)
    failed = {mid.lower() for mid, _ in run.failures}
    parents = {p for f in fetched.values() for p in f.record.parents if p.lower() not in fetched}
    run.result.missing_parents = sorted(p for p in parents if p.lower() not in failed)
    run.result.unchecked_parents = sorted(p for p in parents if p.lower() in failed)
    roots = [f.record.id for f in fetched.values()
             if not any(p.lower() in fetched for p in f.record.parents if p != f.record.id)]
    if not roots:  # only cycles above: take the models we started from
        roots = [i.parsed.record.id for i in infos]
    roots = sorted(roots)
    return roots, [by_id[r] for r in roots if r in by_id]


# --------------------------------------------------------------------------- scan

_SCAN_STATE = "scan"


def _run_scan(store: StoreLike, hub: HubLike, plan: Plan, progress: ProgressCallback | None,
              carried: Mapping[str, int]) -> CrawlResult:
    """List the whole Hub newest first (or the models created ``plan.since``), saving every
    page and checkpointing the cursor in the store's state after it; a re-run resumes an
    unfinished scan of the same endpoint and ``since``, or starts a fresh one."""
    since, max_pages = plan.since, plan.limits.max_pages
    since_iso = since.astimezone(UTC).isoformat() if since else None
    run = _Run(store, hub, "scan", _params(hub, since=since_iso, max_pages=max_pages),
               progress, attempts=plan.limits.attempts, carried=carried)
    raw = store.get_state(_SCAN_STATE)
    state = json.loads(raw) if raw else {}
    cursor = None
    if state.get("status") == "running" and state.get("endpoint") == hub.endpoint \
            and state.get("since") == since_iso:
        cursor = state.get("cursor")

    def checkpoint(status: str, cur: str | None) -> None:
        store.set_state(_SCAN_STATE, json.dumps(
            {"status": status, "endpoint": hub.endpoint, "since": since_iso, "cursor": cur}))

    pages = 0
    finished = False
    # (no page cap: a scan saves and checkpoints every page, nothing piles up in memory)
    guard = CursorGuard(f"the whole Hub from {hub.endpoint}", max_pages=None)
    try:
        checkpoint("running", cursor)
        while True:
            try:
                page = run.call(partial(hub.scan_page, cursor))
            except RetryableHubError:
                raise
            except HubError as exc:
                if pages or cursor is None or cursor != state.get("cursor"):
                    raise
                # the Hub no longer takes the saved cursor (expired, or the API changed):
                # start the listing over; what was saved stays (saves are upserts)
                run.result.notes.append(
                    f"the saved scan position was rejected ({exc}); started again from the "
                    "newest model")
                cursor = None
                checkpoint("running", None)
                continue
            models = list(page.models)
            stop = False
            if since is not None:
                keep = [m for m in models
                        if m.record.created_at is None or m.record.created_at >= since]
                stop = len(keep) < len(models)
                models = keep
            store.save_models(models)
            run.saved(models)
            pages += 1
            if stop or not page.next_cursor:
                checkpoint("done", None)
                finished = True
                break
            cursor = guard.next(page.next_cursor)
            checkpoint("running", cursor)
            run.emit(phase="scan", done=pages, force=False)
            if max_pages is not None and pages >= max_pages:
                break
    except (KeyboardInterrupt, _Cancelled):
        _interrupted(run)
        raise KeyboardInterrupt from None
    except HubUnreachableError as exc:
        run.finish("failed")
        raise HubError(str(exc)) from None
    except RetryableHubError as exc:
        run.finish("failed")
        raise HubError(f"scan stopped after {pages} pages ({exc}); run the same command "
                       "again to resume") from None
    except BaseException:
        run.finish("failed")
        raise
    if finished and since is None:
        # the whole Hub was listed: a parent it does not hold is missing (or private)
        store.mark_checked(store.missing_parents_of(checked=False))
    run.result.missing_parents = store.missing_parents_of(checked=True)
    run.result.unchecked_parents = store.missing_parents_of(checked=False)
    return run.finish("done" if finished else "partial")


def _check_after_scan(store: StoreLike, infos: Sequence[ModelInfoResult],
                      total: CrawlResult) -> None:
    """Store the roots' records and compare their children with childrenModelCount."""
    store.save_models([i.parsed for i in infos])
    ids = [i.parsed.record.id for i in infos]
    found = store.child_counts(ids)
    for info, rid in zip(infos, ids, strict=True):
        if info.children_count is None:
            continue
        gap = _gap(rid, info.children_count, found.get(rid, {}))
        if gap is not None:
            total.gaps.append(gap)


# --------------------------------------------------------------------------- strategy


def estimate(hub: HubLike, root_infos: Sequence[ModelInfoResult], *, sample: int = 8,
             hub_size: int = HUB_SIZE, since: datetime | None = None,
             attempts: int = 6) -> Estimate:
    """Estimate the requests of a BFS (about one per family node, plus extra pages) and of
    a scan (the Hub's size / 1000) for the families of ``root_infos``.

    The family size comes from the roots' ``childrenModelCount`` (by relation or a total)
    and, for each root with children, the ``childrenModelCount`` of a sample of its
    children (``sample`` detail requests after one listing page):
    direct children × (1 + mean grandchildren) × 1.1.
    """
    caller = _Caller(attempts)
    size = 0
    pages = 0
    method = "childrenModelCount"
    for info in root_infos:
        direct = info.children_total or 0
        if direct == 0:
            continue
        pages += math.ceil(direct / PAGE_SIZE)
        branching = 0.0
        if sample > 0:
            rid = info.parsed.record.id
            page = caller.call(partial(hub.children_page, rid))
            kids = [m.record.id for m in page.models]
            step = max(1, len(kids) // sample)
            picked = kids[::step][:sample]
            counts = []
            for kid in picked:
                ki = caller.call(partial(hub.model_info, kid))
                counts.append(ki.children_total or 0)
            if counts:
                branching = sum(counts) / len(counts)
                method = f"childrenModelCount + sample of {len(counts)}"
        size += math.ceil(direct * (1 + branching) * 1.1)
    bfs = len(root_infos) + size + pages
    if since is not None:
        days = max((datetime.now(UTC) - since).total_seconds() / 86400, 1)
        scan = math.ceil(min(hub_size, days * NEW_MODELS_PER_DAY) / PAGE_SIZE)
    else:
        scan = math.ceil(hub_size / PAGE_SIZE)
    return Estimate(family_size=size, bfs_requests=bfs, scan_requests=scan, method=method)
