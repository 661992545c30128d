"""History (DESIGN §10): the ecosystem as it stood at an observation, and what changed.

Pure functions over the frames :meth:`ecograph.store.Store.load_history` and
:meth:`~ecograph.store.Store.runs` return:

* ``model_history``: one row each time a model's tracked values changed (``seq`` = write
  order, ``id``, ``run_id``, ``observed_at``, :data:`TRACKED`);
* ``edge_history``: one event each time an edge opened (``open`` true) or closed;
* ``runs``: the observations (``id``, ``observed_at``).

**Observation order.** Observations are ordered by run id. A run whose ``observed_at`` is
earlier than a previous run's (clock skew, or an older snapshot imported later) keeps its
place: its *effective* time is the latest ``observed_at`` up to it (a running maximum),
and :func:`clock_skew` says so. A write made outside any run is effective at its own
``observed_at``.

**As of a time t**: the models with a history row effective at or before t, each with its
latest such row's values (the other columns as stored now); the edges whose latest event
effective at or before t opened them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from .errors import InputError

__all__ = [
    "TRACKED",
    "observations",
    "clock_skew",
    "check_as_of",
    "models_as_of",
    "edges_as_of",
    "changes",
]

#: The ``models`` columns whose history is kept.
TRACKED: tuple[str, ...] = (
    "downloads", "likes", "downloads_all_time", "status", "license", "relation",
)
_TS = pl.Datetime("us", "UTC")


def observations(runs: pl.DataFrame) -> pl.DataFrame:
    """The observations (runs) in run-id order with their ``effective_at`` (the running
    maximum of ``observed_at``) and ``skewed`` (observed before an earlier run).

    >>> from datetime import datetime, UTC
    >>> t = [datetime(2025, m, 1, tzinfo=UTC) for m in (1, 3, 2)]
    >>> obs = observations(pl.DataFrame({"id": [1, 2, 3], "observed_at": t}))
    >>> obs["effective_at"].dt.month().to_list(), obs["skewed"].to_list()
    ([1, 3, 3], [False, False, True])
    """
    frame = runs.select(pl.col("id").cast(pl.Int64), pl.col("observed_at").cast(_TS)).sort("id")
    return frame.with_columns(
        effective_at=pl.col("observed_at").cum_max(),
    ).with_columns(skewed=pl.col("observed_at") < pl.col("effective_at"))


def clock_skew(obs: pl.DataFrame) -> list[str]:
    """One message per observation dated before an earlier one (see :func:`observations`).

    >>> from datetime import datetime, UTC
    >>> t = [datetime(2025, m, 1, tzinfo=UTC) for m in (3, 2)]
    >>> print(*clock_skew(observations(pl.DataFrame({"id": [1, 2], "observed_at": t}))))
    ... # doctest: +NORMALIZE_WHITESPACE
    run 2 is dated 2025-02-01T00:00:00+00:00, before an earlier run
    (2025-03-01T00:00:00+00:00); runs are kept in run order
    """
    out = []
    for run, seen, eff in obs.filter(pl.col("skewed")).select(
            "id", "observed_at", "effective_at").iter_rows():
        out.append(f"run {run} is dated {seen.isoformat()}, before an earlier run "
                   f"({eff.isoformat()}); runs are kept in run order")
    return out


def check_as_of(at: datetime, first: datetime | None, now: datetime) -> None:
    """Raise :class:`~ecograph.errors.InputError` when ``at`` is before the ``first``
    observation (or there is none) or in the future (after ``now``).

    >>> from datetime import datetime, UTC
    >>> check_as_of(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC),
    ...             datetime(2025, 3, 1, tzinfo=UTC))
    """
    if first is None:
        raise InputError("the store has no observations yet (crawl or import first)")
    if at < first:
        raise InputError(f"as of {at.isoformat()} is before the first observation "
                         f"({first.isoformat()})")
    if at > now:
        raise InputError(f"as of {at.isoformat()} is in the future (now {now.isoformat()})")


def _visible(history: pl.DataFrame, obs: pl.DataFrame, at: datetime | None,
             run: int | None) -> pl.DataFrame:
    """The history rows observed at or before ``at`` (effective time), or up to and
    including run ``run`` (run order; writes outside runs by time), in write order."""
    eff = obs.select(pl.col("id").alias("run_id"), "effective_at")
    rows = history.join(eff, on="run_id", how="left").with_columns(
        _eff=pl.coalesce("effective_at", "observed_at"))
    if run is not None:
        (limit,) = obs.filter(pl.col("id") == run)["effective_at"].to_list() or [None]
        keep = (pl.col("run_id").is_not_null() & (pl.col("run_id") <= run)) | (
            pl.col("run_id").is_null() & (pl.col("observed_at") <= limit))
    else:
        keep = pl.col("_eff") <= at
    return rows.filter(keep).drop("effective_at", "_eff").sort("seq")


def models_as_of(models: pl.DataFrame, model_history: pl.DataFrame, obs: pl.DataFrame, *,
                 at: datetime | None = None, run: int | None = None) -> pl.DataFrame:
    """``models`` as they stood at ``at`` (or after run ``run``): only models observed by
    then, with their latest tracked values then; other columns as given. Sorted by id.

    >>> from datetime import datetime, UTC
    >>> t1, t2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    >>> obs = observations(pl.DataFrame({"id": [1, 2], "observed_at": [t1, t2]}))
    >>> hist = pl.DataFrame({"seq": [1, 2, 3], "id": ["a", "b", "a"], "run_id": [1, 2, 2],
    ...     "observed_at": [t1, t2, t2], "downloads": [5, 1, 9], "status": ["ok"] * 3})
    >>> now = pl.DataFrame({"id": ["a", "b"], "downloads": [9, 1], "status": ["ok", "ok"]})
    >>> models_as_of(now, hist, obs, at=t1).rows()
    [('a', 5, 'ok')]
    """
    visible = _visible(model_history, obs, at, run).with_columns(
        _key=pl.col("id").str.to_lowercase()).unique("_key", keep="last", maintain_order=True)
    tracked = [c for c in TRACKED if c in models.columns and c in visible.columns]
    then = visible.select("_key", *[pl.col(c).alias(f"_h_{c}") for c in tracked])
    out = models.with_columns(_key=pl.col("id").str.to_lowercase()).join(
        then, on="_key", how="inner")
    out = out.with_columns([pl.col(f"_h_{c}").cast(models.schema[c]).alias(c) for c in tracked])
    return out.select(models.columns).sort("id")


def edges_as_of(edge_history: pl.DataFrame, obs: pl.DataFrame, models: pl.DataFrame, *,
                at: datetime | None = None, run: int | None = None,
                schema: dict[str, Any] | None = None) -> pl.DataFrame:
    """The edges open at ``at`` (or after run ``run``): parent, child, relation, source,
    ids spelled as in ``models``; sorted by (parent, child).

    >>> from datetime import datetime, UTC
    >>> t1, t2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    >>> obs = observations(pl.DataFrame({"id": [1, 2], "observed_at": [t1, t2]}))
    >>> ev = pl.DataFrame({"seq": [1, 2], "parent": ["r", "r"], "child": ["c", "c"],
    ...     "relation": ["finetune"] * 2, "source": ["tag"] * 2, "run_id": [1, 2],
    ...     "observed_at": [t1, t2], "open": [True, False]})
    >>> m = pl.DataFrame({"id": ["r", "c"]})
    >>> edges_as_of(ev, obs, m, at=t1).height, edges_as_of(ev, obs, m, at=t2).height
    (1, 0)
    """
    visible = _visible(edge_history, obs, at, run).with_columns(
        _p=pl.col("parent").str.to_lowercase(), _c=pl.col("child").str.to_lowercase(),
    ).unique(["_p", "_c"], keep="last", maintain_order=True).filter(pl.col("open"))
    spelling = models.select(pl.col("id").str.to_lowercase().alias("_k"), pl.col("id"))
    spelling = spelling.unique("_k", keep="first")
    out = (
        visible.join(spelling.rename({"_k": "_p", "id": "_parent"}), on="_p", how="left")
        .join(spelling.rename({"_k": "_c", "id": "_child"}), on="_c", how="left")
        .select(
            pl.coalesce("_parent", "parent").alias("parent"),
            pl.coalesce("_child", "child").alias("child"),
            "relation", "source",
        )
    )
    if schema is not None:
        out = out.select([pl.col(c).cast(t) for c, t in schema.items()])
    return out.sort(["parent", "child"])


# --------------------------------------------------------------------------- changes


def _families(models: pl.DataFrame, edges: pl.DataFrame,
              roots: list[str] | None) -> pl.DataFrame:
    """(root, id) for every node of family(root): of ``roots``, or of every foundation."""
    from .graph import GraphIndex
    from .graph.traverse import expand_families

    index = GraphIndex.from_frames(models, edges)
    if roots is None:
        positions = np.flatnonzero(index.foundation_mask())
    else:
        known = models.filter(pl.col("id").str.to_lowercase().is_in(
            [r.lower() for r in roots]))["id"].to_list()
        positions = index.positions(known) if known else np.zeros(0, dtype=np.int64)
    if positions.size == 0:
        return pl.DataFrame(schema={"root": pl.Utf8, "id": pl.Utf8})
    root, node, _ = expand_families(index, positions)
    return pl.DataFrame({
        "root": index.id_of(np.asarray(positions)[root]),
        "id": index.id_of(node),
    })


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]


def changes(before: tuple[pl.DataFrame, pl.DataFrame], after: tuple[pl.DataFrame, pl.DataFrame],
            roots: list[str] | None = None, *, top: int = 10) -> dict[str, list[dict[str, Any]]]:
    """What changed between two states (``(models, edges)`` frames) of the ecosystem.

    ``new_derivatives``: models present after but not before, per family (``root``, id,
    relation, author, created_at; of ``roots``, or of every foundation after), by root then
    id. ``deleted``: models not ``missing`` before and ``missing`` after (id, author,
    relation). ``new_foundations``: foundations after that were not foundations before
    (id, author, created_at). ``movers``: the ``top`` models whose downloads changed most
    (id, before, after, change; by |change| then id; models present at both, not
    ``missing`` after). With ``roots``, deleted models and movers are those of their
    families (before or after); new foundations are always all of them.

    >>> m0 = pl.DataFrame({"id": ["r", "a"], "author": ["o", "x"], "created_at": [None, None],
    ...     "downloads": [10, 5], "relation": [None, "finetune"], "status": ["ok", "ok"]})
    >>> e0 = pl.DataFrame({"parent": ["r"], "child": ["a"], "relation": ["finetune"]})
    >>> m1 = pl.concat([m0.with_columns(downloads=pl.Series([10, 8])),
    ...     pl.DataFrame({"id": ["b"], "author": ["y"], "created_at": [None], "downloads": [1],
    ...                   "relation": ["quantized"], "status": ["ok"]})], how="vertical_relaxed")
    >>> e1 = pl.concat([e0, pl.DataFrame({"parent": ["a"], "child": ["b"],
    ...     "relation": ["quantized"]})])
    >>> out = changes((m0, e0), (m1, e1))
    >>> [(d["root"], d["id"]) for d in out["new_derivatives"]], out["movers"][0]["change"]
    ([('r', 'b')], 3)
    """
    (m0, e0), (m1, e1) = before, after
    fam_after = _families(m1, e1, roots)
    keys0 = m0.select(pl.col("id").str.to_lowercase().alias("_k"), "status", "downloads")
    keyed1 = m1.with_columns(_k=pl.col("id").str.to_lowercase())
    new = keyed1.filter(pl.col("status") != "missing").join(keys0, on="_k", how="anti")
    new_derivatives = fam_after.join(new, on="id", how="inner").select(
        "root", "id", "relation", "author", "created_at").sort(["root", "id"])
    scope: pl.Series | None = None
    if roots is not None:
        fam_before = _families(m0, e0, roots)
        scope = pl.concat([fam_before["id"], fam_after["id"], fam_after["root"]]).str.to_lowercase()
    gone = keyed1.filter(pl.col("status") == "missing").join(
        keys0.filter(pl.col("status") != "missing").select("_k"), on="_k", how="inner")
    if scope is not None:
        gone = gone.filter(pl.col("_k").is_in(scope.implode()))
    deleted = gone.select("id", "author", "relation").sort("id")

    def founders(models: pl.DataFrame, edges: pl.DataFrame) -> list[str]:
        from .graph import foundations
        return foundations(models, edges)

    f0 = {f.lower() for f in founders(m0, e0)}
    new_found = [f for f in founders(m1, e1) if f.lower() not in f0]
    new_foundations = m1.filter(pl.col("id").is_in(new_found)).select(
        "id", "author", "created_at").sort("id")
    moved = keyed1.join(keys0.rename({"downloads": "_before", "status": "_s0"}), on="_k",
                        how="inner").filter(pl.col("_before").is_not_null()
                                            & pl.col("downloads").is_not_null()
                                            & (pl.col("status") != "missing"))
    if scope is not None:
        moved = moved.filter(pl.col("_k").is_in(scope.implode()))
    movers = moved.select(
        "id", pl.col("_before").alias("before"), pl.col("downloads").alias("after"),
        (pl.col("downloads") - pl.col("_before")).alias("change"),
    ).filter(pl.col("change") != 0).sort(
        [pl.col("change").abs(), pl.col("id")], descending=[True, False]).head(top)
    return {
        "new_derivatives": _records(new_derivatives),
        "deleted": _records(deleted),
        "new_foundations": _records(new_foundations),
        "movers": _records(movers),
    }
