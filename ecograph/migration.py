"""How fast the community moves on: author activity, retention, flows, succession
(DESIGN §8; pure).

- **author activity** (:func:`author_activity`): author = ``author``, else the id's
  namespace, case-insensitive. An author is *active on group G in period t* when a
  derivative they created in t descends from G; *active in t* when they created any
  derivative in t. The publishers of G's foundations (their orgs) are not counted for G.
- **retention(G, t)** = \\|A(G,t) ∩ A(G,t+1)\\| / \\|A(G,t) ∩ Active(t+1)\\| (of the authors
  who built on G in t and published anything in t+1, the share who built on G again; null
  when the denominator is 0). **flows(G → H, t)** = authors in A(G,t) ∩ Active(t+1) who
  are not in A(G,t+1) but are in A(H,t+1) (an author who leaves for two groups counts in
  both). Both in :func:`migration`.
- **succession** (:func:`succession`; consecutive series of one vendor, ordered by release
  = earliest foundation ``created_at`` of the series): ``gap_days``; ``crossover`` = first
  month from the new release on in which the new series' ``new`` exceeds the old one's;
  ``half_life_days`` = days after the new release until the old series' new derivatives in
  the trailing 30 days fall below half of their count in the 30 days before it (null if
  never or if that is 0); ``migrated_90d`` = share of authors active on the old series in
  the 90 days before the new release who publish a derivative of the new one within 90
  days after it; ``defected_90d`` = share who publish on another vendor's foundations in
  that window but not on the new one.

Groups, periods and descent are those of :func:`ecograph.dynamics.trends` (a derivative is
a model that descends from at least one foundation; periods are calendar months
``2024-07`` or quarters ``2024-Q3`` of ``created_at``, UTC). Everything is computed for all
authors at once: one integer BFS over (foundation, node) pairs
(:func:`ecograph.graph.expand_families`), then numpy / polars set operations on integer
codes (no per-author Python loop).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

import numpy as np
import polars as pl

from .dynamics import (
    _DAY_US,
    BY_CHOICES,
    PERIOD_CHOICES,
    _created_us,
    _foundation_groups,
    _group_keys,
    _period_codes,
    _period_labels,
    dated_derivatives,
    trends,
)
from .errors import InputError
from .graph import GraphIndex
from .lineage import LineageTable, resolve_table

__all__ = [
    "OTHER",
    "ACTIVITY_SCHEMA",
    "RETENTION_SCHEMA",
    "FLOW_SCHEMA",
    "SUCCESSION_SCHEMA",
    "Migration",
    "author_keys",
    "author_activity",
    "migration",
    "succession",
]

#: The group the groups beyond ``top`` are folded into (:func:`migration`).
OTHER = "other"

#: Columns and dtypes of :func:`author_activity`.
ACTIVITY_SCHEMA: dict[str, pl.DataType] = {
    "author": pl.Utf8(),
    "period": pl.Utf8(),
    "group": pl.Utf8(),
    "derivatives": pl.Int64(),
}

#: Columns and dtypes of :attr:`Migration.retention`.
RETENTION_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.Utf8(),
    "group": pl.Utf8(),
    "authors": pl.Int64(),
    "returning": pl.Int64(),
    "retention": pl.Float64(),
}

#: Columns and dtypes of :attr:`Migration.flows`.
FLOW_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.Utf8(),
    "from_group": pl.Utf8(),
    "to_group": pl.Utf8(),
    "authors": pl.Int64(),
}

#: Columns and dtypes of :func:`succession`.
SUCCESSION_SCHEMA: dict[str, pl.DataType] = {
    "vendor": pl.Utf8(),
    "old": pl.Utf8(),
    "new": pl.Utf8(),
    "old_released": pl.Date(),
    "new_released": pl.Date(),
    "gap_days": pl.Int64(),
    "crossover": pl.Utf8(),
    "half_life_days": pl.Int64(),
    "migrated_90d": pl.Float64(),
    "defected_90d": pl.Float64(),
}

#: Separator of the (vendor, series) keys :func:`succession` groups by.
_SEP = "\x1f"


# --------------------------------------------------------------------------- inputs


def _check_choices(by: str, period: str | None = None) -> None:
    if by not in BY_CHOICES:
        raise InputError(f"unknown grouping {by!r}; expected one of {', '.join(BY_CHOICES)}")
    if period is not None and period not in PERIOD_CHOICES:
        raise InputError(
            f"unknown period {period!r}; expected one of {', '.join(PERIOD_CHOICES)}"
        )


def author_keys(models: pl.DataFrame) -> pl.Series:
    """The author of each row of ``models`` (DESIGN §8): ``author``, else the id's
    namespace (the part before ``/``), lower-cased; null when there is neither (a legacy
    id without a namespace and no author).

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["TheBloke/x", "Org/y", "gpt2", "a/z"],
    ...                   "author": ["TheBloke", None, None, " "]})
    >>> author_keys(m).to_list()
    ['thebloke', 'org', None, 'a']
    """
    ids = models.get_column("id").cast(pl.Utf8)
    namespace = (
        pl.when(ids.str.contains("/", literal=True))
        .then(ids.str.split("/").list.first().str.strip_chars())
    )
    columns = []
    if "author" in models.columns:
        author = models.get_column("author").cast(pl.Utf8).str.strip_chars()
        columns.append(pl.when(author.str.len_chars() > 0).then(author))
    columns.append(pl.when(namespace.str.len_chars() > 0).then(namespace))
    return pl.select(pl.coalesce(columns).str.to_lowercase()).to_series().rename("author")


def _publisher_keys(models: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The publishers of foundation rows: their ``author`` and their org (the id's
    namespace), lower-cased (null when absent); a group excludes both."""
    ids = models.get_column("id").cast(pl.Utf8)
    org = pl.select(
        pl.when(ids.str.contains("/", literal=True)).then(ids.str.split("/").list.first())
        .str.strip_chars().str.to_lowercase()
    ).to_series()
    if "author" in models.columns:
        author = models.get_column("author").cast(pl.Utf8).str.strip_chars().str.to_lowercase()
    else:
        author = pl.Series([None] * models.height, dtype=pl.Utf8)
    return author, org


def _take(models: pl.DataFrame, rows: np.ndarray, columns: Iterable[str]) -> pl.DataFrame:
    """The ``rows`` of ``models``, only the ``columns`` it has (gathering every column of
    a whole hub costs more than the rest)."""
    wanted = [c for c in columns if c in models.columns]
    # (a lazy gather: the eager ``frame[rows]`` costs several times more on a whole hub)
    return models.lazy().select(pl.col(wanted).gather(pl.Series(rows))).collect()


class _Descent(NamedTuple):
    """The dated derivatives of a hub and the foundations they descend from."""

    graph: GraphIndex
    found_rows: np.ndarray  # model row of each foundation
    found_ids: pl.Series
    pair_found: np.ndarray  # per (foundation, derivative) pair: index into the foundations
    pair_deriv: np.ndarray  # per pair: index into the derivatives
    deriv_rows: np.ndarray  # model row of each derivative
    deriv_us: np.ndarray  # creation time of each derivative (µs since the epoch, UTC)
    author: np.ndarray  # author code of each derivative (-1: none)
    author_names: pl.Series  # the author keys, sorted (code = position)
    skipped: int  # dated derivatives without an author or a namespace


def _descent(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    since: date | datetime | str | None,
    until: date | datetime | str | None,
    index: GraphIndex | None,
) -> _Descent:
    found, index, r, node, _ = dated_derivatives(models, edges, since=since, until=until,
                                                 index=index)
    created_all, _ = _created_us(models)
    nodes, pair_deriv = _group_keys(node)
    deriv_rows = index.model_row[nodes]
    keys = author_keys(_take(models, deriv_rows, ("id", "author")))
    names = keys.drop_nulls().unique().sort()
    code = (
        pl.DataFrame({"author": keys})
        .join(pl.DataFrame({"author": names, "code": np.arange(names.len(), dtype=np.int64)}),
              on="author", how="left", maintain_order="left")
        .get_column("code").fill_null(-1).to_numpy()
    )
    return _Descent(
        graph=index,
        found_rows=index.model_row[found],
        found_ids=index.id_of(found),
        pair_found=r,
        pair_deriv=pair_deriv,
        deriv_rows=deriv_rows,
        deriv_us=created_all[deriv_rows],
        author=code.astype(np.int64, copy=False),
        author_names=names,
        skipped=int((code < 0).sum()),
    )


def _memberships(
    models: pl.DataFrame, hub: _Descent, labels: pl.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pl.Series]:
    """Distinct (derivative, group) pairs for the foundations' group ``labels``.

    Returns the pairs' derivative and group codes, whether the derivative's author is a
    publisher of the group (not counted for it), and the sorted group names.
    """
    names = labels.unique().sort()
    gcode = (labels.rank("dense").cast(pl.Int64) - 1).to_numpy()
    n_groups = max(names.len(), 1)
    pair, _ = _group_keys(hub.pair_deriv * n_groups + gcode[hub.pair_found])
    deriv, group = pair // n_groups, pair % n_groups
    # the publishers of each group, as author codes (publishers who never built anything
    # are no author of a derivative: nothing to exclude)
    author, org = _publisher_keys(_take(models, hub.found_rows, ("id", "author")))
    publishers = (
        pl.DataFrame({"group": np.concatenate([gcode, gcode]), "key": pl.concat([author, org])})
        .drop_nulls()
        .join(
            pl.DataFrame({"key": hub.author_names,
                          "code": np.arange(hub.author_names.len(), dtype=np.int64)}),
            on="key",
        )
    )
    n_authors = max(hub.author_names.len(), 1)
    excluded_keys = np.unique(
        publishers.get_column("group").to_numpy() * n_authors
        + publishers.get_column("code").to_numpy()
    )
    pair_author = hub.author[deriv]
    excluded = np.isin(group * n_authors + pair_author, excluded_keys) & (pair_author >= 0)
    return deriv, group, excluded, names


def _group_labels(
    models: pl.DataFrame,
    hub: _Descent,
    by: str,
    lineages: pl.DataFrame | None,
    overrides: str | LineageTable | None,
) -> pl.Series:
    frows = (_take(models, hub.found_rows, ("id", "created_at", "safetensors_total"))
             if by != "root" else models.clear())
    return _foundation_groups(frows, hub.found_ids, by, lineages, overrides)


# --------------------------------------------------------------------------- activity


class _Activity(NamedTuple):
    """A(G, t) and Active(t) as sorted integer keys.

    Periods are counted from ``first`` (the earliest period with an authored derivative):
    ``p = period code - first``; ``span`` leaves room for p + 1. ``members`` are the keys
    ``(author * span + p) * n_groups + group`` of A, ``active`` the keys
    ``author * span + p`` of Active; both sorted and distinct, with their derivatives.
    """

    members: np.ndarray
    derivatives: np.ndarray
    active: np.ndarray
    active_derivatives: np.ndarray
    first: int
    span: int
    author_names: pl.Series
    group_names: pl.Series
    skipped: int

    @property
    def n_groups(self) -> int:
        return max(self.group_names.len(), 1)


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of int ``keys``, sorted, and how often each occurs."""
    if keys.size == 0:
        return keys.astype(np.int64), np.zeros(0, dtype=np.int64)
    ordered = pl.Series(keys).sort().to_numpy() if keys.size > 50_000 else np.sort(keys)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, ordered.size]).astype(np.int64)


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` is in ``sorted_keys`` (sorted, distinct)."""
    if sorted_keys.size == 0:
        return np.zeros(values.size, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, values), sorted_keys.size - 1)
    return sorted_keys[pos] == values


def _activity(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    by: str,
    period: str,
    since: date | datetime | str | None,
    until: date | datetime | str | None,
    top: int | None,
    lineages: pl.DataFrame | None,
    overrides: str | LineageTable | None,
    index: GraphIndex | None,
) -> _Activity:
    _check_choices(by, period)
    if top is not None and top < 1:
        raise InputError(f"top must be at least 1, not {top}")
    hub = _descent(models, edges, since=since, until=until, index=index)
    labels = _group_labels(models, hub, by, lineages, overrides)
    deriv, group, excluded, names = _memberships(models, hub, labels)
    # Active(t): any derivative with an author
    has_author = hub.author >= 0
    period_of = _period_codes(hub.deriv_us, period)
    first = int(period_of[has_author].min()) if has_author.any() else 0
    span = int(period_of[has_author].max()) - first + 2 if has_author.any() else 2
    ap = hub.author * span + (period_of - first)  # per derivative (meaningless without author)
    active, active_n = _runs(ap[has_author])
    keep = ~excluded & has_author[deriv]
    deriv, group = deriv[keep], group[keep]
    if top is not None:
        names, deriv, group = _fold(names, deriv, group, hub.author, top)
    n_groups = max(names.len(), 1)
    members, n = _runs(ap[deriv] * n_groups + group)
    return _Activity(
        members=members, derivatives=n, active=active, active_derivatives=active_n,
        first=first, span=span, author_names=hub.author_names, group_names=names,
        skipped=hub.skipped,
    )


def _fold(
    names: pl.Series, deriv: np.ndarray, group: np.ndarray, author: np.ndarray, top: int
) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Keep the ``top`` groups with the most distinct authors (ties: the smaller name) and
    map the others to :data:`OTHER`: the distinct (derivative, folded group) pairs, so a
    derivative of two folded groups counts once for OTHER."""
    n_names = names.len()
    pairs, _ = _runs(author[deriv] * max(n_names, 1) + group)
    reach = np.bincount(pairs % max(n_names, 1), minlength=n_names)
    order = np.lexsort((np.arange(n_names), -reach))[:top]
    kept = np.sort(order[reach[order] > 0])
    if kept.size == np.count_nonzero(reach):
        return names, deriv, group
    folded = pl.concat([names.gather(kept), pl.Series([OTHER])]).unique().sort()
    target = [OTHER] * n_names
    for k, name in zip(kept.tolist(), names.gather(kept).to_list(), strict=True):
        target[k] = name
    remap = folded.search_sorted(pl.Series(target, dtype=pl.Utf8)).to_numpy()
    n_folded = folded.len()
    pair, _ = _group_keys(deriv * n_folded + remap[group])
    return folded, pair // n_folded, pair % n_folded


def _require_authors(act: _Activity, scope: str) -> None:
    """A clear error instead of an empty table when no derivative can be attributed."""
    if act.active.size == 0:
        if act.skipped:
            raise InputError(f"no derivative{scope} has an author or a namespace "
                             f"({act.skipped:,} skipped): nothing to compare")
        raise InputError(f"no dated derivatives{scope}: nothing to compare")


def _label_periods(act: _Activity, relative: np.ndarray, period: str) -> pl.Series:
    """``2024-Q3`` / ``2024-07`` labels of periods counted from ``act.first``."""
    labels = _period_labels(np.arange(act.span) + act.first, period)
    return pl.Series(labels, dtype=pl.Utf8).gather(relative)


def author_activity(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    by: str = "vendor",
    period: str = "quarter",
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    with_active: bool = False,
    lineages: pl.DataFrame | None = None,
    overrides: str | LineageTable | None = None,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """Who built on which group when (DESIGN §8 author activity).

    Author = ``author``, else the id's namespace, case-insensitive (:func:`author_keys`).
    An author is *active on group G in period t* when a derivative they created in t
    descends from G; *active in t* when they created any derivative in t. The publishers
    of G's foundations (their orgs: the foundations' ``author`` and id namespace) are not
    counted for G, and for G only: ``meta-llama`` building on a Qwen model is active on
    Qwen. Derivatives without a creation date, and those with neither an author nor a
    namespace, are left out (:attr:`Migration.skipped` counts the latter).

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames` (``created_at`` required).
    by : {"vendor", "series", "root", "size"}
        The groups, as in :func:`ecograph.dynamics.trends`.
    period : {"month", "quarter"}
        Calendar months (``2024-07``) or quarters (``2024-Q3``) of ``created_at`` (UTC).
    since, until : date, datetime or ISO string, optional
        Count only derivatives created in this range (dates include their whole day).
    with_active : bool
        Also list Active(t): one row per (author, period) with a null ``group`` and the
        number of derivatives the author created in the period (publishers' derivatives
        of their own groups included).
    lineages, overrides, index
        As in :func:`ecograph.dynamics.trends`.

    Returns
    -------
    polars.DataFrame
        :data:`ACTIVITY_SCHEMA`: ``author``, ``period``, ``group``, ``derivatives`` (the
        author's derivatives of the period that descend from the group). Sorted by period,
        group (nulls first), author.

    Raises
    ------
    InputError
        Unknown ``by`` / ``period``, ``since`` after ``until``, models without creation
        dates, or no dated derivative (in range) with an author or a namespace.

    Examples
    --------
    ``u`` fine-tunes Llama 2 in 2023-Q4, then Mistral; ``meta-llama`` quantizes its own
    model (active, but not on Meta):

    >>> from datetime import datetime as dt
    >>> m = pl.DataFrame({
    ...     "id": ["meta-llama/Llama-2-7b", "mistralai/Mistral-7B-v0.1", "u/a", "U/b",
    ...            "meta-llama/q"],
    ...     "author": ["meta-llama", "mistralai", "u", None, "meta-llama"],
    ...     "created_at": [dt(2023, 7, 1), dt(2023, 9, 1), dt(2023, 10, 2), dt(2024, 1, 5),
    ...                    dt(2023, 11, 1)]})
    >>> L2, M7 = "meta-llama/Llama-2-7b", "mistralai/Mistral-7B-v0.1"
    >>> e = pl.DataFrame({"parent": [L2, M7, L2], "child": ["u/a", "U/b", "meta-llama/q"]})
    >>> author_activity(m, e, by="series").rows()
    [('u', '2023-Q4', 'Llama 2', 1), ('u', '2024-Q1', 'Mistral 7B', 1)]
    >>> author_activity(m, e, with_active=True).filter(pl.col("group").is_null()).rows()
    [('meta-llama', '2023-Q4', None, 1), ('u', '2023-Q4', None, 1), ('u', '2024-Q1', None, 1)]
    """
    act = _activity(models, edges, by=by, period=period, since=since, until=until, top=None,
                    lineages=lineages, overrides=overrides, index=index)
    _require_authors(act, " in range" if since is not None or until is not None else "")
    n_groups = act.n_groups
    author_period = act.members // n_groups
    frame = pl.DataFrame(
        {
            "author": act.author_names.gather(author_period // act.span),
            "period": _label_periods(act, author_period % act.span, period),
            "group": act.group_names.gather(act.members % n_groups),
            "derivatives": act.derivatives,
        },
        schema=ACTIVITY_SCHEMA,
    )
    if with_active:
        frame = pl.concat([
            frame,
            pl.DataFrame(
                {
                    "author": act.author_names.gather(act.active // act.span),
                    "period": _label_periods(act, act.active % act.span, period),
                    "group": pl.Series([None] * act.active.size, dtype=pl.Utf8),
                    "derivatives": act.active_derivatives,
                },
                schema=ACTIVITY_SCHEMA,
            ),
        ])
    return frame.sort(["period", "group", "author"], nulls_last=False)


# --------------------------------------------------------------------------- migration


@dataclass(frozen=True, eq=False)
class Migration:
    """Retention and flows between consecutive periods (:func:`migration`).

    Attributes
    ----------
    retention : polars.DataFrame
        :data:`RETENTION_SCHEMA`: ``period`` (the earlier period t of the pair (t, t+1)),
        ``group``, ``authors`` = \\|A(G,t) ∩ Active(t+1)\\|, ``returning`` =
        \\|A(G,t) ∩ A(G,t+1)\\|, ``retention`` = returning / authors (null when authors is 0).
    flows : polars.DataFrame
        :data:`FLOW_SCHEMA`: ``period`` (t), ``from_group`` G, ``to_group`` H, ``authors``
        = \\|flows(G → H, t)\\| (only pairs with at least one author).
    by, period : str
        The grouping and the period the frames were computed with.
    skipped : int
        Dated derivatives left out because they have neither an author nor a namespace.
    """

    retention: pl.DataFrame
    flows: pl.DataFrame
    by: str = "vendor"
    period: str = "quarter"
    skipped: int = 0

    def headlines(self, n: int = 3, min_authors: int = 30) -> list[str]:
        """One sentence a journalist can quote per large group, computed from the frames.

        For each group (``other`` excepted), the sentence uses its most recent period
        pair (t, t+1) in which at least ``min_authors`` of its authors published again
        (``authors`` >= ``min_authors``): the share who built on it again (``retention``)
        and the (at most) two largest flows, as shares of the same authors. The groups
        are taken most recent pair first, then most authors, then by name; the first
        ``n`` are returned. Numbers have thousands separators; percentages are rounded
        to whole numbers. Empty when no group has ``min_authors`` in any pair.

        Examples
        --------
        >>> r = pl.DataFrame({"period": ["2023-Q4", "2024-Q1"], "group": ["Llama 2"] * 2,
        ...                   "authors": [1234, 5], "returning": [383, 5],
        ...                   "retention": [383 / 1234, 1.0]})
        >>> f = pl.DataFrame({"period": ["2023-Q4"] * 3, "from_group": ["Llama 2"] * 3,
        ...                   "to_group": ["Mistral 7B", "Qwen2.5", "Phi-2"],
        ...                   "authors": [272, 222, 10]})
        >>> Migration(r, f).headlines()  # doctest: +NORMALIZE_WHITESPACE
        ['Of the 1,234 authors who built on Llama 2 in 2023-Q4 and published again in
          2024-Q1, 31% built on Llama 2 again; 22% moved to Mistral 7B, 18% to Qwen2.5.']
        """
        big = self.retention.filter((pl.col("authors") >= max(min_authors, 1))
                                    & (pl.col("group") != OTHER))
        chosen = (
            big.sort(["group", "period"], descending=[False, True])
            .unique("group", keep="first", maintain_order=True)
            .sort(["period", "authors", "group"], descending=[True, True, False])
            .head(max(n, 0))
        )
        out = []
        for t, group, authors, returning, _ in chosen.iter_rows():
            nxt = _next_period(t)
            moved = (
                self.flows.filter((pl.col("period") == t) & (pl.col("from_group") == group))
                .sort(["authors", "to_group"], descending=[True, False])
                .head(2)
            )
            parts = []
            shown = returning
            for i, (to, count) in enumerate(moved.select("to_group", "authors").iter_rows()):
                where = "other groups" if to == OTHER else to
                parts.append(f"{_percent(count, authors)} {'moved ' if i == 0 else ''}to {where}")
                shown += count
            tail = ", ".join(parts) if parts else "none moved to another group"
            # an author who builds on several groups in t+1 counts in each (DESIGN §8): say
            # so when the shares quoted add up to more than the whole, lest it be misread
            overlap = (" (an author who built on several groups counts in each)"
                       if shown > authors else "")
            out.append(
                f"Of the {authors:,} authors who built on {group} in {t} and published again "
                f"in {nxt}, {_percent(returning, authors)} built on {group} again; {tail}"
                f"{overlap}."
            )
        return out


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%"


def _next_period(label: str) -> str:
    """The calendar period after ``2024-Q4`` (``2025-Q1``) or ``2024-12`` (``2025-01``)."""
    year, rest = label.split("-")
    if rest.startswith("Q"):
        q = int(rest[1:])
        return f"{int(year) + q // 4:04d}-Q{q % 4 + 1}"
    m = int(rest)
    return f"{int(year) + m // 12:04d}-{m % 12 + 1:02d}"


def migration(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    by: str = "vendor",
    period: str = "quarter",
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    top: int | None = None,
    lineages: pl.DataFrame | None = None,
    overrides: str | LineageTable | None = None,
    index: GraphIndex | None = None,
) -> Migration:
    """Retention and flows of authors between consecutive periods (DESIGN §8).

    For each pair (t, t+1) of consecutive calendar periods (t+1 is the next calendar
    period even when nobody published in it) from the first to the last period with a
    dated derivative (within ``since`` / ``until``), and each group G with builders in t:

    - ``authors`` = \\|A(G,t) ∩ Active(t+1)\\|: the authors who built on G in t and
      published any derivative in t+1;
    - ``returning`` = \\|A(G,t) ∩ A(G,t+1)\\|: of them, those who built on G again;
    - ``retention`` = returning / authors (null when authors is 0: the row stays, saying
      that none of G's builders published in t+1);
    - flows(G → H, t) = the authors in A(G,t) ∩ Active(t+1) who are not in A(G,t+1) but
      are in A(H,t+1) (an author who leaves for two groups counts in both).

    Parameters
    ----------
    models, edges, by, period, since, until, lineages, overrides, index
        As in :func:`author_activity`.
    top : int, optional
        Keep the ``top`` groups with the most distinct authors over all periods (ties:
        the smaller name) and fold the rest into one group ``other`` **before** any set
        operation: A(other, t) = the union of the folded groups' A(G, t) (each computed
        with its own publishers excluded), so ``other`` behaves as one group (an author
        moving between two folded groups is *returning* to ``other``, not a flow).
        Without ``top`` every group is listed.

    Returns
    -------
    Migration
        ``retention`` sorted by period, authors (descending), group; ``flows`` sorted by
        period, from_group, authors (descending), to_group.

    Raises
    ------
    InputError
        Unknown ``by`` / ``period``, ``top`` < 1, ``since`` after ``until``, models without
        creation dates, no dated derivative with an author, or a single period (nothing to
        compare).

    Examples
    --------
    Two authors build on Llama 2 in 2023-Q4; in 2024-Q1 ``u`` moves to Mistral, ``v``
    stays:

    >>> from datetime import datetime as dt
    >>> m = pl.DataFrame({
    ...     "id": ["meta-llama/Llama-2-7b", "mistralai/Mistral-7B-v0.1", "u/a", "u/b",
    ...            "v/a", "v/b"],
    ...     "created_at": [dt(2023, 7, 1), dt(2023, 9, 1), dt(2023, 10, 2), dt(2024, 1, 5),
    ...                    dt(2023, 11, 1), dt(2024, 2, 1)]})
    >>> L2, M7 = "meta-llama/Llama-2-7b", "mistralai/Mistral-7B-v0.1"
    >>> e = pl.DataFrame({"parent": [L2, M7, L2, L2], "child": ["u/a", "u/b", "v/a", "v/b"]})
    >>> result = migration(m, e, by="series")
    >>> result.retention.rows()
    [('2023-Q4', 'Llama 2', 2, 1, 0.5)]
    >>> result.flows.rows()
    [('2023-Q4', 'Llama 2', 'Mistral 7B', 1)]
    """
    act = _activity(models, edges, by=by, period=period, since=since, until=until, top=top,
                    lineages=lineages, overrides=overrides, index=index)
    scope = " in range" if since is not None or until is not None else ""
    _require_authors(act, scope)
    last = act.span - 2  # the last period with an authored derivative, counted from first
    if last == 0:
        label = _period_labels(np.asarray([act.first]), period)[0]
        raise InputError(f"all derivatives{scope} fall in one {period} ({label}): nothing "
                         f"to compare; try a shorter period or a wider range")
    retention, flows = _retention_flows(act, last)
    names = act.group_names
    n_groups = act.n_groups
    retention_frame = pl.DataFrame(
        {
            "period": _label_periods(act, retention.cell // n_groups, period),
            "group": names.gather(retention.cell % n_groups),
            "authors": retention.authors,
            "returning": retention.returning,
        }
    ).with_columns(
        pl.when(pl.col("authors") > 0)
        .then(pl.col("returning") / pl.col("authors"))
        .alias("retention")
    ).cast(RETENTION_SCHEMA)  # type: ignore[arg-type]
    period_from = flows.key // n_groups
    flow_frame = pl.DataFrame(
        {
            "period": _label_periods(act, period_from // n_groups, period),
            "from_group": names.gather(period_from % n_groups),
            "to_group": names.gather(flows.key % n_groups),
            "authors": flows.authors,
        },
        schema=FLOW_SCHEMA,
    )
    return Migration(
        retention=retention_frame,
        flows=flow_frame,
        by=by,
        period=period,
        skipped=act.skipped,
    )


class _Retention(NamedTuple):
    cell: np.ndarray  # p * n_groups + group, in output order
    authors: np.ndarray
    returning: np.ndarray


class _Flows(NamedTuple):
    key: np.ndarray  # (p * n_groups + from) * n_groups + to, in output order
    authors: np.ndarray


def _retention_flows(act: _Activity, last: int) -> tuple[_Retention, _Flows]:
    """The set operations of :func:`migration` on the sorted integer keys of ``act``.

    A member row (a, p, G) is in Active(p+1) when the key ``a * span + p + 1`` is in
    ``act.active``, and in A(G, p+1) when ``member + n_groups`` is a member. A leaver's
    destinations are the members with (a, p+1): one contiguous run of the sorted keys, so
    every (leaver, destination) pair is enumerated with one ``repeat`` (no join).
    """
    n_groups = act.n_groups
    members = act.members
    author_period = members // n_groups
    group = members % n_groups
    base = author_period % act.span < last
    author_period, group, keys = author_period[base], group[base], members[base]
    active_next = _in_sorted(author_period + 1, act.active)
    same_next = _in_sorted(keys + n_groups, members)
    cells, inverse = _group_keys((author_period % act.span) * n_groups + group)
    authors = np.bincount(inverse, weights=active_next, minlength=cells.size).astype(np.int64)
    returning = np.bincount(inverse, weights=same_next, minlength=cells.size).astype(np.int64)
    # sorted by period, authors (descending), group (group codes follow name order)
    order = np.lexsort((cells % n_groups, -authors, cells // n_groups))
    retention = _Retention(cells[order], authors[order], returning[order])

    leave = active_next & ~same_next
    origin = (author_period[leave] % act.span) * n_groups + group[leave]  # p * n + G
    nxt = (author_period[leave] + 1) * n_groups
    start = np.searchsorted(members, nxt, side="left")
    count = np.searchsorted(members, nxt + n_groups, side="left") - start
    del nxt
    exclusive = np.cumsum(count) - count
    position = np.arange(int(count.sum()), dtype=np.int64)
    position += np.repeat(start - exclusive, count)
    destination = members[position] % n_groups
    del position
    flow_keys = np.repeat(origin * n_groups, count)
    flow_keys += destination
    del destination
    key, moved = _runs(flow_keys)
    del flow_keys
    # sorted by period, from group, authors (descending), to group
    order = np.lexsort((-moved, key // n_groups))
    return retention, _Flows(key[order], moved[order])



# --------------------------------------------------------------------------- succession


def _pick_vendors(
    wanted: str | Iterable[str] | None,
    known: list[str],
    overrides: str | LineageTable | None,
) -> list[str] | None:
    """The vendor display names asked for: a display name (case-insensitive) or an org
    of the lineage table (``meta-llama`` → Meta)."""
    if wanted is None:
        return None
    asked = [wanted] if isinstance(wanted, str) else list(wanted)
    by_lower = {v.lower(): v for v in known}
    aliases = resolve_table(overrides).vendors
    out = []
    for name in asked:
        text = name.strip()
        hit = by_lower.get(text.lower())
        if hit is None:
            alias = aliases.get(text.lower())
            hit = by_lower.get(alias.lower()) if alias else None
        if hit is None:
            close = difflib.get_close_matches(text.lower(), list(by_lower), n=3, cutoff=0.6)
            hint = ("; did you mean " + ", ".join(repr(by_lower[c]) for c in close) + "?"
                    if close else "")
            raise InputError(f"unknown vendor {text!r} (no foundation with derivatives)"
                             f"{hint}")
        out.append(hit)
    return list(dict.fromkeys(out))


def succession(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    vendor: str | Iterable[str] | None = None,
    *,
    lineages: pl.DataFrame | None = None,
    overrides: str | LineageTable | None = None,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """How each series of a vendor handed over to the next one (DESIGN §8 succession).

    A vendor's series are those of its foundations (a series is keyed by (vendor,
    series): another org's re-upload named "Llama 2" is its own vendor's), ordered by
    release = the earliest ``created_at`` of the series' foundations (ties: by name;
    foundations without a date do not count, a series without any is left out). One row
    per consecutive pair (old, new). Day-based quantities use UTC calendar days; R is the
    new series' release day:

    - ``gap_days`` = days from the old release day to R.
    - ``crossover`` = the first month (``2024-07``) from R's month on in which the new
      series' ``new`` exceeds the old one's, where ``new`` is :func:`trends`' attribution
      by series (**fractional**: a derivative of k distinct series counts 1/k for each,
      other vendors' series included); "exceeds" = by more than 1e-9 (float noise); null
      if it never does in the data.
    - ``half_life_days`` = the smallest d >= 1 such that the old series' derivatives
      (whole ones: a derivative descending from the old series counts 1) created in the
      trailing 30 days [R+d-29, R+d] are fewer than half of those created in the 30 days
      before R, [R-30, R-1]; only days up to the store's last dated model count (later
      windows would be empty by lack of data, not of builders); null if never or if the
      count before R is 0.
    - ``migrated_90d`` = of the authors B active on the old series (author activity:
      publishers of the old series' foundations excluded) with a derivative created in
      [R-90, R-1], the share active on the new series in [R, R+89] (the 90 days from the
      release day on); ``defected_90d`` = the share of B active in [R, R+89] on another
      vendor's foundations (that vendor's publishers excluded) and not on the new series.
      Both null when B is empty.

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames` (``created_at`` required).
    vendor : str or list of str, optional
        Vendors to list (display name, case-insensitive, or an org of the lineage table:
        ``meta-llama``); by default every vendor with at least two dated series.
    lineages, overrides, index
        As in :func:`ecograph.dynamics.trends`.

    Returns
    -------
    polars.DataFrame
        :data:`SUCCESSION_SCHEMA`, sorted by vendor, then release.

    Raises
    ------
    InputError
        Models without creation dates, an unknown vendor, a vendor named with fewer than
        two dated series, or no vendor with two.

    Examples
    --------
    >>> from datetime import datetime as dt
    >>> L2, L3 = "meta-llama/Llama-2-7b", "meta-llama/Meta-Llama-3-8B"
    >>> m = pl.DataFrame({
    ...     "id": [L2, L3, "u/a", "u/b", "v/a", "v/b"],
    ...     "created_at": [dt(2023, 7, 18), dt(2024, 4, 18), dt(2024, 3, 1), dt(2024, 4, 20),
    ...                    dt(2024, 3, 2), dt(2024, 4, 21)]})
    >>> e = pl.DataFrame({"parent": [L2, L3, L2, L2], "child": ["u/a", "u/b", "v/a", "v/b"]})
    >>> row = succession(m, e, "Meta").row(0, named=True)
    >>> row["old"], row["new"], row["gap_days"], row["crossover"], row["migrated_90d"]
    ('Llama 2', 'Llama 3', 275, None, 0.5)
    """
    hub = _descent(models, edges, since=None, until=None, index=index)
    vendor_labels = _group_labels(models, hub, "vendor", lineages, overrides)
    series_labels = _group_labels(models, hub, "series", lineages, overrides)
    keys = (vendor_labels + _SEP + series_labels).rename("series")
    # series releases: the earliest dated foundation of each (vendor, series)
    created_all, known_all = _created_us(models)
    found_us = pl.Series(created_all[hub.found_rows]).set(
        pl.Series(~known_all[hub.found_rows]), None)
    releases = (
        pl.DataFrame({"key": keys, "vendor": vendor_labels, "series": series_labels,
                      "us": found_us})
        .drop_nulls("us")
        .group_by("key", "vendor", "series")
        .agg(pl.col("us").min())
        .sort(["vendor", "us", "series"])
    )
    counts = releases.group_by("vendor").len()
    wanted = _pick_vendors(vendor, sorted(vendor_labels.unique().to_list()), overrides)
    if wanted is not None:
        for name in wanted:
            have = counts.filter(pl.col("vendor") == name).get_column("len")
            if not have.len() or have[0] < 2:
                listed = releases.filter(pl.col("vendor") == name).get_column("series")
                what = (f"one series ({listed[0]})" if listed.len() == 1
                        else "no dated series")
                raise InputError(f"vendor {name!r} has {what}: no succession to measure")
        releases = releases.filter(pl.col("vendor").is_in(wanted))
    elif not (counts.get_column("len") >= 2).any():
        raise InputError("no vendor has two dated series: no succession to measure")
    pairs = (
        releases.with_columns(
            pl.col("key").shift(-1).over("vendor").alias("new_key"),
            pl.col("series").shift(-1).over("vendor").alias("new"),
            pl.col("us").shift(-1).over("vendor").alias("new_us"),
        )
        .drop_nulls("new_key")
        .select(
            "vendor",
            pl.col("key").alias("old_key"),
            "new_key",
            pl.col("series").alias("old"),
            "new",
            (pl.col("us") // _DAY_US).alias("old_day"),
            (pl.col("new_us") // _DAY_US).alias("day"),
        )
        .with_row_index("pair")
    )
    out = pairs.with_columns(
        (pl.col("day") - pl.col("old_day")).alias("gap_days"),
        pl.from_epoch(pl.col("old_day"), time_unit="d").alias("old_released"),
        pl.from_epoch(pl.col("day"), time_unit="d").alias("new_released"),
    )
    out = out.join(_crossovers(models, edges, hub, pairs, vendor_labels, keys),
                   on="pair", how="left")
    series = _Pairs(*_memberships(models, hub, keys))
    horizon = int(created_all[known_all].max() // _DAY_US)
    out = out.join(_half_lives(pairs, hub, series, horizon), on="pair", how="left")
    vendors = _Pairs(*_memberships(models, hub, vendor_labels))
    out = out.join(_movers(pairs, hub, series, vendors), on="pair", how="left")
    return out.select(list(SUCCESSION_SCHEMA)).cast(
        SUCCESSION_SCHEMA  # type: ignore[arg-type]
    ).sort(["vendor", "new_released", "new"])


def _crossovers(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    hub: _Descent,
    pairs: pl.DataFrame,
    vendor_labels: pl.Series,
    keys: pl.Series,
) -> pl.DataFrame:
    """``crossover`` of each pair, from :func:`trends` by (vendor, series) per month."""
    given = pl.DataFrame({"root": hub.found_ids, "vendor": vendor_labels, "series": keys})
    monthly = trends(models, edges, by="series", period="month", lineages=given,
                     index=hub.graph).select("period", "group", "new")
    release_month = pl.from_epoch(pl.col("day"), time_unit="d").dt.strftime("%Y-%m")
    wanted = pairs.select("pair", "old_key", "new_key", release_month.alias("from_month"))
    newer = (
        wanted.join(monthly, left_on="new_key", right_on="group")
        .filter(pl.col("period") >= pl.col("from_month"))
        .join(monthly.rename({"new": "old_new"}), left_on=["old_key", "period"],
              right_on=["group", "period"], how="left")
        .filter(pl.col("new") > pl.col("old_new").fill_null(0.0) + 1e-9)
    )
    return newer.group_by("pair").agg(pl.col("period").min().alias("crossover"))


class _Pairs(NamedTuple):
    """Distinct (derivative, group) pairs and whether the derivative's author publishes
    the group (:func:`_memberships`)."""

    deriv: np.ndarray
    group: np.ndarray
    excluded: np.ndarray
    names: pl.Series


def _half_lives(pairs: pl.DataFrame, hub: _Descent, series: _Pairs, horizon: int
                ) -> pl.DataFrame:
    """``half_life_days`` of each pair, from the (derivative, series) pairs (whole
    derivatives, whoever made them).

    The trailing count only drops when a derivative leaves the window, so the first day
    below half is day 1 or a day d = x + 30 - R for an old-series derivative created on
    day x: only those candidates are counted (binary search in the sorted (pair, day)
    keys of the old series' derivatives).
    """
    members = pl.DataFrame({"key": series.names.gather(series.group),
                            "x": hub.deriv_us[series.deriv] // _DAY_US})
    old = pairs.select("pair", pl.col("old_key").alias("key"), "day").join(members, on="key")
    if not old.height:
        return pl.DataFrame(schema={"pair": pl.UInt32, "half_life_days": pl.Int64})
    pair = old.get_column("pair").cast(pl.Int64).to_numpy()
    x = old.get_column("x").to_numpy()
    first = int(min(x.min(), pairs.get_column("day").min())) - 40  # type: ignore[arg-type]
    span = max(horizon, int(x.max())) - first + 2
    sorted_keys = np.sort(pair * span + (x - first))

    def count(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        base = p * span - first
        return (np.searchsorted(sorted_keys, base + hi, side="right")
                - np.searchsorted(sorted_keys, base + lo, side="left"))

    all_pairs = pairs.get_column("pair").cast(pl.Int64).to_numpy()
    release = pairs.get_column("day").to_numpy()
    before = count(all_pairs, release - 30, release - 1)
    cand_pair = np.concatenate([all_pairs, pair])
    cand_day = np.concatenate([np.ones(all_pairs.size, np.int64),
                               x + 30 - old.get_column("day").to_numpy()])
    r = release[np.searchsorted(all_pairs, cand_pair)]  # pairs are numbered 0..n-1
    ok = (cand_day >= 1) & (r + cand_day <= horizon)
    cand_pair, cand_day, r = cand_pair[ok], cand_day[ok], r[ok]
    trailing = count(cand_pair, r + cand_day - 29, r + cand_day)
    below = 2 * trailing < before[cand_pair]
    return (
        pl.DataFrame({"pair": cand_pair[below], "d": cand_day[below]})
        .group_by("pair").agg(pl.col("d").min().alias("half_life_days"))
        .with_columns(pl.col("pair").cast(pl.UInt32))
    )


class _DayCounts:
    """How many of a set of (entity, day) rows fall in a range of days, for many (entity,
    range) queries at once: binary search in the sorted keys ``entity * span + day``."""

    def __init__(self, entity: np.ndarray, day: np.ndarray) -> None:
        self.first = int(day.min()) - 1 if day.size else 0
        self.span = (int(day.max()) - self.first + 2) if day.size else 2
        self.keys = np.sort(entity * self.span + (day - self.first))

    def count(self, entity: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Rows of each ``entity`` with ``low <= day <= high`` (days clipped to the rows'
        range, so a query never reaches a neighbouring entity)."""
        last = self.first + self.span - 1
        base = entity * self.span - self.first
        return (np.searchsorted(self.keys, base + np.clip(high, self.first, last), "right")
                - np.searchsorted(self.keys, base + np.clip(low, self.first, last), "left"))


def _movers(pairs: pl.DataFrame, hub: _Descent, series: _Pairs, vendors: _Pairs
            ) -> pl.DataFrame:
    """``migrated_90d`` and ``defected_90d`` of each pair, from the (derivative, series)
    and (derivative, vendor) pairs (their publishers and anonymous derivatives left out)."""
    pair_id = pairs.get_column("pair").cast(pl.Int64).to_numpy()
    release = pairs.get_column("day").to_numpy()
    old = series.names.search_sorted(pairs.get_column("old_key")).to_numpy()
    new = series.names.search_sorted(pairs.get_column("new_key")).to_numpy()
    vendor = vendors.names.search_sorted(pairs.get_column("vendor")).to_numpy()

    def counted(p: _Pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        author = hub.author[p.deriv]
        keep = ~p.excluded & (author >= 0)
        return author[keep], p.group[keep], hub.deriv_us[p.deriv[keep]] // _DAY_US

    s_author, s_group, s_day = counted(series)
    v_author, v_group, v_day = counted(vendors)
    # B: the authors of each pair's old series in [R-90, R-1] (each series is the old one
    # of at most one pair of its vendor: one row per old-series derivative)
    of_pair = np.full(max(series.names.len(), 1), -1, dtype=np.int64)
    of_pair[old] = np.arange(old.size)
    row = of_pair[s_group]
    hit = row >= 0
    row, who, day = row[hit], s_author[hit], s_day[hit]
    inside = (day >= release[row] - 90) & (day <= release[row] - 1)
    n_authors = max(hub.author_names.len(), 1)
    builders, _ = _runs(row[inside] * n_authors + who[inside])
    b_row, b_author = builders // n_authors, builders % n_authors
    low, high = release[b_row], release[b_row] + 89
    n_series = max(series.names.len(), 1)
    on_new = _DayCounts(s_author * n_series + s_group, s_day).count(
        b_author * n_series + new[b_row], low, high) > 0
    n_vendors = max(vendors.names.len(), 1)
    everywhere = _DayCounts(v_author, v_day).count(b_author, low, high)
    at_home = _DayCounts(v_author * n_vendors + v_group, v_day).count(
        b_author * n_vendors + vendor[b_row], low, high)
    defected = (everywhere > at_home) & ~on_new
    total = np.bincount(b_row, minlength=old.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        migrated_share = np.bincount(b_row, weights=on_new, minlength=old.size) / total
        defected_share = np.bincount(b_row, weights=defected, minlength=old.size) / total
    return pl.DataFrame(
        {"pair": pair_id, "migrated_90d": migrated_share, "defected_90d": defected_share}
    ).with_columns(pl.col("pair").cast(pl.UInt32), pl.col("migrated_90d", "defected_90d")
                   .fill_nan(None))
