"""Refresh: bring a store up to date with the Hub at the lowest request cost (DESIGN §10).

The Hub lists models newest first by ``lastModified`` (``sort=lastModified&direction=-1``);
a new model and an edited card both move to the top of that listing. :func:`refresh` reads
it, 1000 models a request with the fields a scan expands, until the **watermark**: the
newest ``lastModified`` the previous refresh saw (kept in the store's state; models modified
at that very instant count as seen). Every model read is saved as a scan saves it (an
edited card replaces the model's parent edges).

What that listing cannot tell is re-read only on request:

- **deletions**: a deleted model just vanishes from listings. ``check_deleted=True``
  spends one detail request per ``ok`` model of the store (or per model of a seeded
  ``sample``) and marks the ones the Hub answers 404 for as deleted
  (:meth:`ecograph.store.Store.mark_deleted`: kept, status ``missing``);
- **downloads and likes**: the Hub changes them without touching ``lastModified``, so the
  listing does not bring them for models not edited since the watermark. A scan of the
  whole Hub (``ecograph crawl --strategy scan``, about one request per 1000 models)
  re-reads them all.

Like every crawl, a refresh is a run of the store's runs table, holds the store's crawl
lock, checkpoints its listing cursor after every page and resumes after a kill (the same
command again): the watermark moves only when the listing reached the old one, so a kill
at any moment loses nothing and saves nothing twice (saves are upserts).

A first refresh of a store starts from the newest ``lastModified`` the store holds (or the
newest ``fetched_at`` when it holds no date of change), and says so. A store whose runs
name another endpoint is refused, and so is a watermark in the future: the clocks of this
machine and of whatever wrote the store disagree, and listing "since the future" would
silently miss every change (``since=`` overrides it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from .crawl import (
    HubLike,
    ProgressCallback,
    StoreLike,
    _Cancelled,
    _interrupted,
    _params,
    _Run,
)
from .errors import EcographError, HubError, UsageError
from .records import ParsedModel, Status
from .responses import CursorGuard, HubUnreachableError, Page, RetryableHubError

__all__ = [
    "CLOCK_TOLERANCE",
    "RefreshHub",
    "RefreshResult",
    "RefreshStore",
    "refresh",
]

#: How far in the future (by this machine's clock) a watermark may lie before a refresh
#: refuses it: the Hub's clock and ours may differ by a little.
CLOCK_TOLERANCE = timedelta(minutes=10)
#: Store state keys: the watermark of the last finished refresh, and the unfinished one.
WATERMARK_KEY = "refresh_watermark"
PROGRESS_KEY = "refresh"
#: Models checked for deletion between two checkpoints.
CHECK_BATCH = 100


class RefreshHub(HubLike, Protocol):
    """A hub client that can also list the Hub newest first by ``lastModified``."""

    def recent_page(self, cursor: str | None = None) -> Page: ...


class RefreshStore(StoreLike, Protocol):
    """The store methods a refresh uses beyond a crawl's."""

    def newest_timestamps(self) -> tuple[datetime | None, datetime | None]: ...
    def child_edges(self, children: Iterable[str]) -> set[tuple[str, str]]: ...
    def ok_ids(self, *, after: str | None = None, limit: int | None = None) -> list[str]: ...
    def mark_deleted(self, ids: Iterable[str], at: datetime | None = None) -> list[str]: ...
    def runs(self) -> Any: ...


@dataclass
class RefreshResult:
    """What a refresh did and found (the totals of the runs it took, when resumed)."""

    run_id: int = 0
    status: str = "done"
    endpoint: str = ""
    #: where the listing stopped, and where the next refresh will stop
    watermark: datetime | None = None
    new_watermark: datetime | None = None
    #: how the starting watermark was chosen
    watermark_source: str = ""
    pages: int = 0
    listed: int = 0  # models read from the listing (this run)
    new: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    edges_added: int = 0
    edges_removed: int = 0
    checked: int = 0  # detail requests spent checking for deletions
    requests: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    elapsed: float = 0.0
    resumed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def total_requests(self) -> int:
        return self.requests.get("requests", 0)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat()


def _dt(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _stored_endpoints(store: RefreshStore) -> set[str]:
    """Endpoints named by the store's runs (crawls, scans, refreshes; imports name none)."""
    out: set[str] = set()
    for raw in store.runs().get_column("params").to_list():
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            continue
        if isinstance(params, dict) and isinstance(params.get("endpoint"), str):
            out.add(params["endpoint"].rstrip("/"))
    return out


def _start_watermark(store: RefreshStore, endpoint: str, since: datetime | None,
                     now: datetime) -> tuple[datetime, str]:
    """The watermark to list down to and how it was chosen (see the module docstring)."""
    if since is not None:
        if since > now + CLOCK_TOLERANCE:
            raise UsageError(f"since {since:%Y-%m-%d} is in the future: nothing to list")
        return since.astimezone(UTC), "given (--since)"
    raw = store.get_state(WATERMARK_KEY)
    saved = json.loads(raw) if raw else None
    if isinstance(saved, dict) and saved.get("endpoint") == endpoint and \
            _dt(saved.get("watermark")) is not None:
        mark = _dt(saved["watermark"])
        assert mark is not None
        source = "the previous refresh"
    else:
        last_modified, fetched = store.newest_timestamps()
        if last_modified is not None:
            mark, source = last_modified, "first refresh: the newest lastModified in the store"
        elif fetched is not None:
            mark, source = fetched, "first refresh: the newest fetched_at in the store"
        else:
            raise UsageError("the store holds no models to refresh; crawl or import first")
    if mark > now + CLOCK_TOLERANCE:
        raise UsageError(
            f"the store's refresh watermark {mark:%Y-%m-%d %H:%M:%S} UTC is in the future "
            f"(this machine's clock says {now:%Y-%m-%d %H:%M:%S} UTC): a clock is wrong; "
            "fix it, or pass --since DATE to list the changes since a date you choose")
    return mark, source


def refresh(store: RefreshStore, hub: RefreshHub, *, check_deleted: bool = False,
            sample: int | None = None, since: datetime | None = None, seed: int = 0,
            attempts: int = 6, progress: ProgressCallback | None = None) -> RefreshResult:
    """Bring ``store`` up to date with ``hub`` (see the module docstring).

    Parameters
    ----------
    check_deleted
        Also check the store's ``ok`` models for deletion (one detail request each).
    sample
        With ``check_deleted``: check only this many, drawn with ``seed``.
    since
        List down to this date instead of the stored watermark.

    Raises :class:`~ecograph.errors.UsageError` for a store from another endpoint, a
    watermark in the future or an empty store, :class:`~ecograph.errors.StoreError` when
    another crawl holds the store, :class:`~ecograph.errors.HubError` when the Hub fails.
    ``KeyboardInterrupt`` stops at once; the same call again resumes.
    """
    if sample is not None and sample < 0:
        raise UsageError(f"sample must be >= 0, not {sample}")
    if sample is not None and not check_deleted:
        raise UsageError("sample applies to check_deleted (--sample needs --check-deleted)")
    endpoint = hub.endpoint.rstrip("/")
    with store.crawl_lock():
        others = _stored_endpoints(store) - {endpoint}
        if others and endpoint not in _stored_endpoints(store):
            raise UsageError(
                f"the store was crawled from {', '.join(sorted(others))}, not {endpoint}; "
                "refresh it from the same endpoint (--endpoint)")
        return _refresh_locked(store, hub, endpoint, check_deleted=check_deleted,
                               sample=sample, since=since, seed=seed, attempts=attempts,
                               progress=progress)


def _refresh_locked(store: RefreshStore, hub: RefreshHub, endpoint: str, *,
                    check_deleted: bool, sample: int | None, since: datetime | None,
                    seed: int, attempts: int,
                    progress: ProgressCallback | None) -> RefreshResult:
    now = datetime.now(UTC)
    raw = store.get_state(PROGRESS_KEY)
    state: dict[str, Any] = json.loads(raw) if raw else {}
    wanted = {"check_deleted": check_deleted, "sample": sample, "seed": seed,
              "since": _iso(since)}
    resumed = state.get("status") == "running" and state.get("endpoint") == endpoint and \
        state.get("options") == wanted
    if resumed:
        mark = _dt(state["watermark"])
        assert mark is not None
        source = str(state.get("source", ""))
    else:
        mark, source = _start_watermark(store, endpoint, since, now)
        state = {"status": "running", "endpoint": endpoint, "options": wanted,
                 "watermark": _iso(mark), "source": source, "new_watermark": None,
                 "phase": "list", "cursor": None, "pages": 0, "new": [], "edited": [],
                 "edges_added": 0, "edges_removed": 0, "checked": 0, "deleted": [],
                 "check_after": None, "check_left": None}
    run = _Run(store, hub, "refresh",
               _params(hub, watermark=_iso(mark), check_deleted=check_deleted or None,
                       sample=sample, since=_iso(since)),
               progress, attempts=attempts)
    result = RefreshResult(run_id=run.run_id, endpoint=endpoint, watermark=mark,
                           watermark_source=source, resumed=resumed)

    def checkpoint() -> None:
        store.set_state(PROGRESS_KEY, json.dumps(state))

    try:
        checkpoint()
        if state["phase"] == "list":
            _list_recent(run, hub, state, mark, result, checkpoint)
            state["phase"] = "check" if check_deleted else "finish"
            checkpoint()
        if state["phase"] == "check":
            _check_deleted(run, store, hub, state, sample, seed, checkpoint)
            state["phase"] = "finish"
            checkpoint()
    except (KeyboardInterrupt, _Cancelled):
        _interrupted(run)
        raise KeyboardInterrupt from None
    except HubUnreachableError as exc:
        run.finish("failed")
        raise HubError(str(exc)) from None
    except RetryableHubError as exc:
        run.finish("failed")
        raise HubError(f"refresh stopped ({exc}); run the same command again to resume") \
            from None
    except BaseException:
        run.finish("failed")
        raise
    new_mark = _dt(state.get("new_watermark")) or mark
    store.set_state(WATERMARK_KEY, json.dumps({"endpoint": endpoint,
                                               "watermark": _iso(new_mark)}))
    state["status"] = "done"
    checkpoint()
    crawl_result = run.finish("done")
    result.new_watermark = new_mark
    result.pages = int(state["pages"])
    result.new, result.edited = list(state["new"]), list(state["edited"])
    result.deleted = list(state["deleted"])
    result.edges_added, result.edges_removed = state["edges_added"], state["edges_removed"]
    result.checked = int(state["checked"])
    result.requests = crawl_result.requests
    result.retries = crawl_result.retries
    result.elapsed = crawl_result.elapsed
    result.listed = len(run.models)
    result.notes = [*crawl_result.notes, *result.notes]
    return result


def _list_recent(run: _Run, hub: RefreshHub, state: dict[str, Any], mark: datetime,
                 result: RefreshResult, checkpoint: Any) -> None:
    """List newest first by ``lastModified`` down to ``mark``, saving and checkpointing
    every page. New models (created after ``mark``) and edited ones are counted in
    ``state`` (so the totals survive a resume)."""
    store = run.store
    cursor = state.get("cursor")
    guard = CursorGuard(f"the Hub by lastModified from {hub.endpoint}", max_pages=None)
    first_try = cursor
    while True:
        try:
            page = run.call(partial(hub.recent_page, cursor))
        except RetryableHubError:
            raise
        except HubError as exc:
            if cursor is None or cursor != first_try:
                raise
            result.notes.append(f"the saved listing position was rejected ({exc}); "
                                "started again from the newest model")
            cursor = first_try = None
            continue
        models: list[ParsedModel] = []
        stop = not page.next_cursor
        for m in page.models:
            modified = m.record.last_modified
            if modified is not None and modified <= mark:
                stop = True
                break
            models.append(m)
        if state.get("new_watermark") is None and models:
            stamps = [m.record.last_modified for m in models if m.record.last_modified]
            if stamps:
                state["new_watermark"] = _iso(max(stamps))
        _count_changes(store, models, mark, state)
        store.save_models(models)
        run.saved(models)
        state["pages"] += 1
        if stop:
            state["cursor"] = None
            return
        cursor = guard.next(page.next_cursor or "")
        state["cursor"] = cursor
        checkpoint()
        run.emit(phase="refresh", done=state["pages"], force=False)


def _count_changes(store: StoreLike, models: list[ParsedModel], mark: datetime,
                   state: dict[str, Any]) -> None:
    """Add the page's new and edited models and its edge changes to ``state``."""
    ok = [m for m in models if m.record.status is Status.OK and m.record.id]
    changed = [m for m in ok if m.record.last_modified is None or m.record.last_modified > mark]
    new_ids = {x.lower() for x in state["new"]}
    edited_ids = {x.lower() for x in state["edited"]}
    for m in changed:
        rid = m.record.id
        if rid.lower() in new_ids or rid.lower() in edited_ids:
            continue
        created = m.record.created_at
        (state["new"] if created is not None and created > mark else state["edited"]).append(rid)
    refresh_store: Any = store
    before = refresh_store.child_edges([m.record.id for m in ok])
    after = {(e.parent.lower(), e.child.lower()) for m in ok for e in m.edges}
    state["edges_added"] += len(after - before)
    state["edges_removed"] += len(before - after)


def _check_deleted(run: _Run, store: RefreshStore, hub: RefreshHub, state: dict[str, Any],
                   sample: int | None, seed: int, checkpoint: Any) -> None:
    """One detail request per ``ok`` model (in id order, or a seeded sample), marking the
    ones the Hub no longer has; checkpointed every :data:`CHECK_BATCH` models."""
    fresh = {x.lower() for x in (*state["new"], *state["edited"])}
    if sample is not None:
        if state.get("check_left") is None:
            everyone = [i for i in store.ok_ids() if i.lower() not in fresh]
            picked = random.Random(seed).sample(everyone, min(sample, len(everyone)))
            state["check_left"] = sorted(picked)
            checkpoint()
        todo_list: list[str] = list(state["check_left"])
    while True:
        if sample is not None:
            batch = todo_list[:CHECK_BATCH]
            todo_list = todo_list[CHECK_BATCH:]
        else:
            batch = [i for i in store.ok_ids(after=state.get("check_after"), limit=CHECK_BATCH)]
        if not batch:
            return
        gone: list[str] = []
        for mid in batch:
            if mid.lower() in fresh:
                continue
            try:
                info = run.call(partial(hub.model_info, mid))
            except HubUnreachableError:
                raise
            except RetryableHubError:
                raise
            except EcographError:
                continue  # cannot tell: left as it is
            state["checked"] += 1
            if info.parsed.record.status is Status.MISSING:
                gone.append(mid)
            run.emit(phase="check", done=state["checked"], force=False)
        if gone:
            store.mark_deleted(gone)
            state["deleted"] += gone
        if sample is not None:
            state["check_left"] = todo_list
        else:
            state["check_after"] = batch[-1]
        checkpoint()

