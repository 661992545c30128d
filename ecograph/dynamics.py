"""Ecosystem dynamics: who leads, and how fast the community answers a release (DESIGN §8;
pure).

- **Attribution**: a derivative (a model that descends from at least one foundation)
  descends from one or more groups (vendor, series, root or size class). It counts ``1/k``
  for each of its ``k`` distinct groups (``new``, fractional, sums to the number of
  derivatives) and ``1`` in ``touching`` for each. Foundations themselves are not
  derivatives. Periods are calendar months (``2024-07``) or quarters (``2024-Q3``) of
  ``created_at`` (UTC).
- **trends** (:func:`trends`): per (period, group): ``new``, ``touching``, ``share`` = new /
  Σ new of the period; the ``leader`` of each period (largest share) and the period's
  ``concentration`` = Σ share² over its groups.
- **response times** (:func:`response_times`): ``first_by_relation_days`` (days from the
  root's creation to its first family member of each relation; null when none) and
  ``by_relation_30d`` (family members created 0-30 days after the root, by relation).

Descent is reachability along edges (:func:`ecograph.graph.expand_families`): one integer
BFS over (foundation, node) pairs for all foundations, then numpy group-bys.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from .errors import InputError
from .graph import GraphIndex, expand_families
from .lineage import LineageTable
from .lineage import lineages as lineage_frame
from .metrics import RELATION_KEYS
from .metrics import response_times as family_response_times

__all__ = [
    "BY_CHOICES",
    "PERIOD_CHOICES",
    "TREND_SCHEMA",
    "RESPONSE_SCHEMA",
    "trends",
    "dated_derivatives",
    "response_times",
    "OTHER",
    "top_groups",
    "period_summary",
]

#: What :func:`trends` can group by.
BY_CHOICES: tuple[str, ...] = ("vendor", "series", "root", "size")
#: The periods :func:`trends` can count in.
PERIOD_CHOICES: tuple[str, ...] = ("month", "quarter")
#: The group of the derivatives of a foundation whose size is unknown (``by="size"``).
UNKNOWN_SIZE = "unknown"

#: Columns and dtypes of :func:`trends`.
TREND_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.Utf8(),
    "group": pl.Utf8(),
    "new": pl.Float64(),
    "touching": pl.Int64(),
    "share": pl.Float64(),
    "leader": pl.Boolean(),
    "concentration": pl.Float64(),
}

#: Columns and dtypes of :func:`response_times`.
RESPONSE_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.Utf8(),
    "first_by_relation_days": pl.Struct({k: pl.Float64 for k in RELATION_KEYS}),
    "by_relation_30d": pl.Struct({k: pl.Int64 for k in RELATION_KEYS}),
}

_DAY_US = 86_400 * 1_000_000
_REL_CODE = {name: i for i, name in enumerate(RELATION_KEYS)}
_UNKNOWN_REL = _REL_CODE["unknown"]
_BY_COLUMN = {"vendor": "vendor", "series": "series", "size": "size_class"}


# --------------------------------------------------------------------------- inputs


def _date_column(models: pl.DataFrame) -> pl.Series:
    """The ``created_at`` column as a datetime series (a date column is cast), or an
    :class:`~ecograph.errors.InputError` when there is none."""
    if "created_at" not in models.columns:
        raise InputError("the models have no creation dates (no created_at column)")
    col = models.get_column("created_at")
    if col.dtype == pl.Date:
        col = col.cast(pl.Datetime("us"))
    if not isinstance(col.dtype, pl.Datetime):
        raise InputError(f"created_at must be a datetime column, not {col.dtype}")
    return col


def _created_us(models: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``created_at`` of every row of ``models`` as µs since the epoch (UTC), and whether
    it is known."""
    col = _date_column(models)
    us = col.dt.epoch("us")  # naive values are taken as UTC; aware ones are converted
    known = us.is_not_null().to_numpy()
    return us.fill_null(0).to_numpy().astype(np.int64, copy=False), known


def _relation_codes(models: pl.DataFrame) -> np.ndarray:
    """Each row's relation as an index into ``RELATION_KEYS`` (null/other: unknown)."""
    if "relation" not in models.columns:
        return np.full(models.height, _UNKNOWN_REL, dtype=np.int64)
    return (
        models.get_column("relation")
        .cast(pl.Utf8)
        .replace_strict(_REL_CODE, default=_UNKNOWN_REL, return_dtype=pl.Int64)
        .to_numpy()
    )


def _bound(value: date | datetime | str | None, name: str, *, upper: bool) -> int | None:
    """A ``since`` / ``until`` bound as µs since the epoch (UTC). A date covers its whole
    day: ``until=2024-06-30`` includes that day."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(
                text)
        except ValueError:
            raise InputError(f"{name}: not an ISO date: {text!r}") from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        us = int(moment.timestamp() * 1_000_000)
        return us
    if isinstance(value, date):
        start = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if upper:
            start += timedelta(days=1)
        return int(start.timestamp() * 1_000_000) - (1 if upper else 0)
    raise InputError(f"{name}: expected a date, got {value!r}")


def _relations(relation: str | Iterable[str] | None) -> list[str] | None:
    if relation is None:
        return None
    wanted = [relation] if isinstance(relation, str) else list(relation)
    bad = [r for r in wanted if r not in _REL_CODE]
    if bad or not wanted:
        raise InputError(
            f"unknown relation {bad[0] if bad else ''!r}; expected one of "
            + ", ".join(RELATION_KEYS)
        )
    return wanted


# --------------------------------------------------------------------------- trends


def _group_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``keys`` and each key's position in them (``np.unique(keys,
    return_inverse=True)``, sort-based: numpy's hash-based unique is far slower on large
    integer keys)."""
    if keys.size == 0:
        return keys, np.zeros(0, dtype=np.int64)
    order = (pl.Series(keys).arg_sort().to_numpy() if keys.size > 50_000
             else np.argsort(keys, kind="stable"))
    ordered = keys[order]
    flag = np.empty(keys.size, dtype=bool)
    flag[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=flag[1:])
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = np.cumsum(flag) - 1
    return ordered[flag], inverse


def _period_codes(created_us: np.ndarray, period: str) -> np.ndarray:
    """Months (or quarters) since 1970-01 of µs timestamps (UTC), floor for earlier dates."""
    days = np.floor_divide(created_us, _DAY_US).astype("datetime64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    return np.floor_divide(months, 3) if period == "quarter" else months


def _period_labels(codes: np.ndarray, period: str) -> list[str]:
    """``2024-07`` for a month, ``2024-Q3`` for a quarter."""
    out = []
    for code in codes.tolist():
        if period == "quarter":
            year, q = divmod(code, 4)
            out.append(f"{year + 1970:04d}-Q{q + 1}")
        else:
            year, m = divmod(code, 12)
            out.append(f"{year + 1970:04d}-{m + 1:02d}")
    return out


def _foundation_groups(
    models: pl.DataFrame,
    ids: pl.Series,
    by: str,
    given: pl.DataFrame | None,
    overrides: str | LineageTable | None,
) -> pl.Series:
    """The group label of each foundation (``ids``) for ``by``."""
    if by == "root":
        return ids
    column = _BY_COLUMN[by]
    if given is not None:
        if "root" not in given.columns or column not in given.columns:
            raise InputError(f"lineages must have the columns root and {column}")
        table = given.select(pl.col("root").cast(pl.Utf8), pl.col(column).cast(pl.Utf8))
        table = table.unique("root", keep="last")
        absent = ids.filter(~ids.is_in(table.get_column("root").implode()))
        if absent.len():
            extra = lineage_frame(models, absent, overrides).select("root", column)
            table = pl.concat([table, extra])
    else:
        table = lineage_frame(models, ids, overrides).select("root", column)
    labels = (
        pl.DataFrame({"root": ids})
        .join(table, on="root", how="left", maintain_order="left")
        .get_column(column)
    )
    if by == "size":
        return labels.fill_null(UNKNOWN_SIZE)
    # a given lineages frame may leave a vendor / series null: the root stands for itself
    return pl.select(pl.coalesce(labels, ids)).to_series().rename(column)



def _check_range(since: date | datetime | str | None,
                 until: date | datetime | str | None) -> tuple[int | None, int | None]:
    """``since`` and ``until`` as µs bounds; an empty range is an :class:`InputError`."""
    low, high = _bound(since, "since", upper=False), _bound(until, "until", upper=True)
    if low is not None and high is not None and low > high:
        raise InputError(f"empty period range: since {since} is after until {until}")
    return low, high


def dated_derivatives(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    index: GraphIndex | None = None,
) -> tuple[np.ndarray, GraphIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Every (foundation, derivative) pair of the hub whose derivative is dated in
    ``[since, until]`` (DESIGN §8: a derivative descends from at least one foundation; a
    missing placeholder or an undated model is none): ``(found, index, pair_found,
    pair_node, pair_created)`` — the foundations' positions, the graph index, and per
    pair the foundation's index in ``found``, the derivative's position and its creation
    time (µs since the epoch, UTC). The one descent behind :func:`trends` and
    :mod:`ecograph.migration`.

    Raises
    ------
    InputError
        ``since`` after ``until``, or models without any creation date.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> m = pl.DataFrame({"id": ["f", "a", "b"], "created_at": [
    ...     datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC), None]})
    >>> e = pl.DataFrame({"parent": ["f", "f"], "child": ["a", "b"]})
    >>> found, g, pf, node, created = dated_derivatives(m, e)
    >>> g.id_of(found[pf]).to_list(), g.id_of(node).to_list()
    (['f'], ['a'])
    """
    low, high = _check_range(since, until)
    created_all, known_all = _created_us(models)
    if not known_all.any():
        raise InputError("the models have no creation dates (created_at is empty)")
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    found = np.flatnonzero(index.foundation_mask()).astype(np.int64)
    r, node, _ = expand_families(index, found)
    # derivatives: family nodes with a model row (not missing placeholders) and a date
    row = index.model_row[node]
    keep = (row >= 0) & ~index.missing[node]
    row_safe = np.maximum(row, 0)
    keep &= known_all[row_safe]
    created = created_all[row_safe]
    if low is not None:
        keep &= created >= low
    if high is not None:
        keep &= created <= high
    return found, index, r[keep], node[keep], created[keep]

def trends(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    by: str = "vendor",
    period: str = "month",
    relation: str | Iterable[str] | None = None,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    lineages: pl.DataFrame | None = None,
    overrides: str | LineageTable | None = None,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """New derivatives per period and group, with shares and leaders (DESIGN §8).

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames` (``created_at`` required).
    by : {"vendor", "series", "root", "size"}
        The groups: a foundation's vendor, series, id, or size class (``unknown`` when its
        size is not known).
    period : {"month", "quarter"}
        Calendar months (``2024-07``) or quarters (``2024-Q3``) of ``created_at`` (UTC).
    relation : str or list of str, optional
        Count only derivatives whose own relation is one of these (``finetune``,
        ``quantized``, ``adapter``, ``merge``; ``unknown`` = none declared).
    since, until : date, datetime or ISO string, optional
        Count only derivatives created in this range (dates include their whole day).
    lineages : polars.DataFrame, optional
        A :func:`ecograph.lineage.lineages` frame to group by (foundations missing from
        it are looked up); by default computed with the default table and ``overrides``.
    overrides : path or LineageTable, optional
        A user lineage file extending the default table.
    index : GraphIndex, optional
        A prebuilt index of the same frames.

    Returns
    -------
    polars.DataFrame
        :data:`TREND_SCHEMA`: ``period``, ``group``, ``new`` (fractional), ``touching``,
        ``share`` (of the period's ``new``; the shares of a period sum to 1), ``leader``
        (True for the group with the largest share of its period; ties: the smallest group
        name) and ``concentration`` (the period's Σ share², repeated on its rows). One row
        per (period, group) with at least one derivative; derivatives without a creation
        date are left out. Sorted by period, then ``new`` descending, then group.

    Raises
    ------
    InputError
        Unknown ``by`` / ``period`` / relation, ``since`` after ``until``, or models
        without creation dates.

    Examples
    --------
    Two Meta foundations and a Qwen one; ``m/x`` merges Llama 3.1 and Qwen2.5:

    >>> from datetime import datetime as dt
    >>> m = pl.DataFrame({
    ...     "id": ["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.2-1B", "Qwen/Qwen2.5-7B",
    ...            "u/a", "u/b", "m/x"],
    ...     "created_at": [dt(2024, 7, 1), dt(2024, 9, 1), dt(2024, 9, 1),
    ...                    dt(2024, 7, 9), dt(2024, 9, 30), dt(2024, 10, 2)],
    ...     "relation": [None, None, None, "finetune", "quantized", "merge"]})
    >>> e = pl.DataFrame({"parent": ["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.2-1B",
    ...                              "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B"],
    ...                   "child": ["u/a", "u/b", "m/x", "m/x"]})
    >>> trends(m, e, by="vendor", period="quarter").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('2024-Q3', 'Meta', 2.0, 2, 1.0, True, 1.0),
     ('2024-Q4', 'Meta', 0.5, 1, 0.5, True, 0.5),
     ('2024-Q4', 'Qwen (Alibaba)', 0.5, 1, 0.5, False, 0.5)]
    >>> trends(m, e, by="series", relation="quantized").select("period", "group").rows()
    [('2024-09', 'Llama 3.2')]
    """
    if by not in BY_CHOICES:
        raise InputError(f"unknown grouping {by!r}; expected one of {', '.join(BY_CHOICES)}")
    if period not in PERIOD_CHOICES:
        raise InputError(
            f"unknown period {period!r}; expected one of {', '.join(PERIOD_CHOICES)}"
        )
    wanted = _relations(relation)
    if not models.height:
        _check_range(since, until)
        return pl.DataFrame(schema=TREND_SCHEMA)
    found, index, r, node, created = dated_derivatives(models, edges, since=since,
                                                       until=until, index=index)
    if wanted is not None:
        codes = np.asarray([_REL_CODE[w] for w in wanted])
        keep = np.isin(_relation_codes(models)[index.model_row[node]], codes)
        r, node, created = r[keep], node[keep], created[keep]
    if node.size == 0:
        return pl.DataFrame(schema=TREND_SCHEMA)

    # the group of each foundation, as dense codes over the sorted group names
    fids = index.id_of(found)
    # (the lineages read only the foundations' rows, not the whole hub's)
    frows = models[index.model_row[found]] if by != "root" else models.clear()
    labels = _foundation_groups(frows, fids, by, lineages, overrides)
    names = labels.unique().sort()
    gcode = (labels.rank("dense").cast(pl.Int64) - 1).to_numpy()
    n_groups = names.len()

    # distinct (derivative, group) pairs; each counts 1/k for a derivative with k groups
    pair, _ = _group_keys(node * n_groups + gcode[r])
    pair_node, pair_group = pair // n_groups, pair % n_groups
    first = np.searchsorted(pair_node, pair_node, side="left")
    last = np.searchsorted(pair_node, pair_node, side="right")
    weight = 1.0 / (last - first)
    # each derivative's period (its pairs share its creation date)
    node_created = np.empty(index.n, dtype=np.int64)
    node_created[node] = created
    pcode = _period_codes(node_created[pair_node], period)
    p0 = int(pcode.min())
    key = (pcode - p0) * n_groups + pair_group
    cells, inverse = _group_keys(key)
    new = np.bincount(inverse, weights=weight, minlength=cells.size)
    touching = np.bincount(inverse, minlength=cells.size)
    cell_period = cells // n_groups
    cell_group = cells % n_groups
    periods, pinv = _group_keys(cell_period)
    period_total = np.bincount(pinv, weights=new)
    share = new / period_total[pinv]
    concentration = np.bincount(pinv, weights=share * share)[pinv]
    # leader: the largest share of each period; ties go to the smallest group name
    # (group codes follow name order)
    order = np.lexsort((cell_group, -share, pinv))
    lead = np.zeros(cells.size, dtype=bool)
    starts = np.flatnonzero(np.r_[True, pinv[order][1:] != pinv[order][:-1]])
    lead[order[starts]] = True
    labels_of = _period_labels(periods + p0, period)
    frame = pl.DataFrame(
        {
            "period": pl.Series([labels_of[i] for i in pinv.tolist()], dtype=pl.Utf8),
            "group": names.gather(cell_group),
            "new": new,
            "touching": touching.astype(np.int64),
            "share": share,
            "leader": lead,
            "concentration": concentration,
        },
        schema=TREND_SCHEMA,
    )
    return frame.sort(["period", "new", "group"], descending=[False, True, False])


# --------------------------------------------------------------------------- response


def response_times(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    roots: Iterable[str] | pl.Series,
    *,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """How fast the community answered each root, by relation (DESIGN §8).

    ``first_by_relation_days``: days (fractional) from the root's creation to the earliest
    creation among its family members of each relation (negative when the data says one is
    older; null when the family has no dated member of that relation or the root has no
    date). ``by_relation_30d``: family members created 0-30 days after the root
    (``0 <= age <= 30`` days), by relation (the whole struct is null when the root has no
    date). A member's relation is its own; null counts as ``unknown``. The columns are
    those of the foundation metrics, computed by the same code
    (:func:`ecograph.metrics.response_times`).

    Returns
    -------
    polars.DataFrame
        :data:`RESPONSE_SCHEMA`, one row per distinct root in the order given.

    Raises
    ------
    UnknownModelError
        If a root is not in ``models``.

    Examples
    --------
    >>> from datetime import datetime as dt
    >>> m = pl.DataFrame({"id": ["org/r", "u/a", "u/q", "u/late"],
    ...     "created_at": [dt(2024, 1, 1), dt(2024, 1, 3), dt(2024, 1, 1, 12), dt(2024, 3, 1)],
    ...     "relation": [None, "finetune", "quantized", "finetune"]})
    >>> e = pl.DataFrame({"parent": ["org/r", "u/a", "org/r"], "child": ["u/a", "u/q", "u/late"]})
    >>> row = response_times(m, e, ["org/r"]).row(0, named=True)
    >>> row["first_by_relation_days"]
    {'finetune': 2.0, 'quantized': 0.5, 'adapter': None, 'merge': None, 'unknown': None}
    >>> row["by_relation_30d"]
    {'finetune': 1, 'quantized': 1, 'adapter': 0, 'merge': 0, 'unknown': 0}
    """
    _date_column(models)
    return family_response_times(models, edges, list(roots), index=index)


# --------------------------------------------------------------------------- folding


#: The group :func:`top_groups` folds the smaller groups into.
OTHER = "other"


def top_groups(frame: pl.DataFrame, top: int | None) -> pl.DataFrame:
    """Keep the ``top`` largest groups of a :func:`trends` frame and fold the rest into
    one ``other`` group per period.

    The largest groups are those with the most ``new`` derivatives over the whole frame
    (ties: the smaller group name first). In ``other``, ``new`` and ``touching`` are the
    sums over the folded groups; every ``share`` is recomputed as new / Σ new of the
    period, so the shares of a period still sum to 1. ``concentration`` stays the
    period's Σ share² over all its groups (folding does not change how concentrated the
    period is); ``leader`` keeps its rows' values and is False for ``other`` (a period
    whose leader was folded has no leader row). ``top=None``, or no more than ``top``
    groups: the frame unchanged. ``other`` comes last in its period.

    Examples
    --------
    >>> f = pl.DataFrame({"period": ["2024-Q1"] * 3 + ["2024-Q2"],
    ...                   "group": ["a", "b", "c", "c"], "new": [3.0, 1.5, 0.5, 2.0],
    ...                   "touching": [3, 2, 1, 2], "share": [0.6, 0.3, 0.1, 1.0],
    ...                   "leader": [True, False, False, True],
    ...                   "concentration": [0.46, 0.46, 0.46, 1.0]}, schema=TREND_SCHEMA)
    >>> top_groups(f, 1).select("period", "group", "new", "touching", "share").rows()
    ... # doctest: +NORMALIZE_WHITESPACE
    [('2024-Q1', 'a', 3.0, 3, 0.6), ('2024-Q1', 'other', 2.0, 3, 0.4),
     ('2024-Q2', 'other', 2.0, 2, 1.0)]
    """
    if top is not None and top < 1:
        raise InputError(f"top must be at least 1, got {top}")
    if top is None or frame.is_empty():
        return frame
    totals = (
        frame.group_by("group")
        .agg(pl.col("new").sum())
        .sort(["new", "group"], descending=[True, False])
    )
    if totals.height <= top:
        return frame
    kept = totals.head(top).get_column("group")
    label = OTHER if OTHER not in kept.to_list() else f"{OTHER} groups"
    is_kept = pl.col("group").is_in(kept.implode())
    rest = (
        frame.filter(~is_kept)
        .group_by("period")
        .agg(
            pl.lit(label).alias("group"),
            pl.col("new").sum(),
            pl.col("touching").sum(),
            pl.col("share").sum(),
            pl.lit(False).alias("leader"),
            pl.col("concentration").first(),
        )
        .select(frame.columns)
    )
    out = pl.concat([frame.filter(is_kept), rest.cast(frame.schema)])  # type: ignore[arg-type]
    return (
        out.with_columns((pl.col("new") / pl.col("new").sum().over("period")).alias("share"))
        .with_columns((pl.col("group") == label).alias("_other"))
        .sort(["period", "_other", "new", "group"], descending=[False, False, True, False])
        .drop("_other")
    )


def period_summary(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per period of a :func:`trends` frame (unfolded): ``period``,
    ``derivatives`` (Σ new), ``groups`` (groups with a derivative), ``leader`` and
    ``leader_share``, ``runner_up`` and ``runner_up_share`` (null with one group), and
    ``concentration`` (Σ share²).

    Examples
    --------
    >>> f = pl.DataFrame({"period": ["2024-Q1"] * 2, "group": ["a", "b"],
    ...                   "new": [3.0, 1.0], "touching": [3, 1], "share": [0.75, 0.25],
    ...                   "leader": [True, False], "concentration": [0.625, 0.625]},
    ...                  schema=TREND_SCHEMA)
    >>> period_summary(f).rows()
    [('2024-Q1', 4.0, 2, 'a', 0.75, 'b', 0.25, 0.625)]
    """
    ranked = frame.sort(["period", "share", "group"], descending=[False, True, False])
    return (
        ranked.group_by("period", maintain_order=True)
        .agg(
            pl.col("new").sum().alias("derivatives"),
            pl.len().cast(pl.Int64).alias("groups"),
            pl.col("group").first().alias("leader"),
            pl.col("share").first().alias("leader_share"),
            pl.col("group").get(1, null_on_oob=True).alias("runner_up"),
            pl.col("share").get(1, null_on_oob=True).alias("runner_up_share"),
            pl.col("concentration").first(),
        )
        .sort("period")
    )
