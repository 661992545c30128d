"""Family metrics (DESIGN §5) for one root or for every foundation at once (pure).

:func:`family_metrics` returns one row per root, a polars DataFrame whose columns are the
DESIGN §5 names (:data:`METRIC_COLUMNS`). Conventions, for a root ``R``:

- **family(R)** = nodes reachable from ``R``, ``R`` excluded; a node reached by several
  paths (merges) counts once, at its shortest depth; cycles terminate.
- A node's **relation** is its own relation to its parents (``models.relation``; null is
  counted as ``unknown``). ``by_relation`` / ``direct_by_relation`` are structs with
  ``finetune``, ``quantized``, ``adapter``, ``merge``, ``unknown``.
- ``depth_counts[i]`` = number of nodes in generation ``i + 1`` (generations 1..max_depth).
- ``longest_chain`` = longest path from ``R`` in the family after removing self-loops, on
  the condensation if cycles remain (a cycle counts as one step).
- **fan-out(n)** = number of children of ``n`` (self-loops excluded; an edge back to
  ``R`` counts). The fan-out metrics are over **family nodes only — the root is not a
  family node**; the root's own fan-out is ``direct_children``. ``max_fanout`` /
  ``max_fanout_node`` = the family node with most children (ties: smallest id; null node
  when no family node has children);
  ``mean_fanout`` = mean fan-out of internal family nodes (those with ≥ 1 child);
  ``leaf_share`` = share of family nodes without children.
- **authors** are compared case-insensitively. A null author is taken from the id's
  namespace (or the id itself for legacy ids without one). ``top_authors`` lists the 10
  largest (count, then downloads, descending; then author), each spelled as its smallest
  spelling within the family. ``author_hhi`` = Σ share² over authors.
- **downloads** are the Hub's 30-day counts; nulls count as 0 in sums. ``root_downloads``
  stays null when unknown; ``downloads_ratio`` = family / root (null when the root's is
  null or 0); ``community_download_share`` is null when the family has no downloads.
- **adoption**: ``first_derivative_days`` = days (fractional) from ``R``'s creation to the
  earliest creation in its family (negative when the data says a derivative is older);
  ``derivatives_30d`` / ``_90d`` = family nodes created in the 30 / 90 days after ``R``
  (``0 <= age <= 30`` days: a node dated before ``R``, which happens when a repository was
  re-created, is not counted; null when ``R``'s creation date is unknown);
  ``monthly`` = family nodes created per
  calendar month (``month`` = first day), months with none left out.
- **response times** (DESIGN §8): ``first_by_relation_days`` (days from the root's
  creation to its first family member of each relation; null when none) and
  ``by_relation_30d`` (family members created 0-30 days after the root, by relation).
  A member's relation is its own (null: ``unknown``); days are fractional and negative
  when the data says a member is older; a relation's days are null when the family has no
  dated member of it or the root has no date; ``by_relation_30d`` is null when the root
  has no date. :func:`response_times` computes just these two.
- ``bridges`` = family nodes that descend from more than one foundation.

Everything is vectorised (see :class:`ecograph.graph.GraphIndex`): one integer BFS over
(root, node) pairs for all roots (:func:`_expand`, a :class:`_Families`), then one helper
per DESIGN §5 group (:func:`_size_columns`, :func:`_depth_columns`,
:func:`_fanout_columns`, :func:`_community_columns`, :func:`_reach_columns`,
:func:`_adoption_columns`, :func:`_response_columns` (DESIGN §8),
:func:`_bridge_columns`), each returning its columns from numpy
group-bys on the root (``bincount``, ``ufunc.at``) and a few sorts of integer keys; list
columns are assembled from offsets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import polars as pl
import pyarrow as pa

from .errors import UnknownModelError
from .graph import GraphIndex, chain_heights, expand_families, foundation_counts
from .records import RELATION_KEYS  # keys of the by_relation structs, in display order
from .resolve import suggest

__all__ = [
    "METRIC_COLUMNS",
    "ANALYSIS_COLUMNS",
    "JSON_KEYS",
    "HEADLINE_COLUMNS",
    "RELATION_KEYS",
    "family_metrics",
    "response_times",
    "headline",
    "to_records",
]


#: The ``models`` columns the metrics read (a store can load just these).
ANALYSIS_COLUMNS: tuple[str, ...] = ("id", "author", "created_at", "downloads", "relation",
                                     "status")

#: Columns of :func:`family_metrics`, in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "root",
    "size",
    "by_relation",
    "direct_children",
    "direct_by_relation",
    "max_depth",
    "mean_depth",
    "depth_counts",
    "longest_chain",
    "max_fanout",
    "max_fanout_node",
    "mean_fanout",
    "leaf_share",
    "n_authors",
    "community_share",
    "community_download_share",
    "author_hhi",
    "top_authors",
    "family_downloads",
    "root_downloads",
    "downloads_ratio",
    "first_derivative_days",
    "derivatives_30d",
    "derivatives_90d",
    "first_by_relation_days",
    "by_relation_30d",
    "monthly",
    "bridges",
)

#: Columns that are frame-only (not in the ``stats`` JSON): a derived ratio and a series.
FRAME_ONLY_COLUMNS: frozenset[str] = frozenset({"downloads_ratio", "monthly"})

#: Keys of each object of ``ecograph stats --format json`` (exactly these, in this order).
JSON_KEYS: tuple[str, ...] = tuple(c for c in METRIC_COLUMNS if c not in FRAME_ONLY_COLUMNS)

#: The columns ``ecograph families`` and ``Ecosystem.foundations()`` show.
HEADLINE_COLUMNS: tuple[str, ...] = (
    "root",
    "size",
    "direct_children",
    "max_depth",
    "longest_chain",
    "n_authors",
    "community_share",
    "family_downloads",
    "root_downloads",
    "bridges",
)

_REL_CODE = {name: i for i, name in enumerate(RELATION_KEYS)}
_UNKNOWN = _REL_CODE["unknown"]
_DAY_US = 86_400 * 1_000_000
_TOP = 10

_REL_STRUCT = pl.Struct({k: pl.Int64 for k in RELATION_KEYS})
_REL_DAYS_STRUCT = pl.Struct({k: pl.Float64 for k in RELATION_KEYS})
_TOP_STRUCT = pl.Struct({"author": pl.Utf8, "count": pl.Int64, "downloads": pl.Int64})
_MONTH_STRUCT = pl.Struct({"month": pl.Date, "count": pl.Int64})
_TOP_ARROW = pa.struct([("author", pa.large_string()), ("count", pa.int64()),
                        ("downloads", pa.int64())])
_MONTH_ARROW = pa.struct([("month", pa.date32()), ("count", pa.int64())])

#: Dtypes of :func:`family_metrics`.
METRIC_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.Utf8(),
    "size": pl.Int64(),
    "by_relation": _REL_STRUCT,
    "direct_children": pl.Int64(),
    "direct_by_relation": _REL_STRUCT,
    "max_depth": pl.Int64(),
    "mean_depth": pl.Float64(),
    "depth_counts": pl.List(pl.Int64),
    "longest_chain": pl.Int64(),
    "max_fanout": pl.Int64(),
    "max_fanout_node": pl.Utf8(),
    "mean_fanout": pl.Float64(),
    "leaf_share": pl.Float64(),
    "n_authors": pl.Int64(),
    "community_share": pl.Float64(),
    "community_download_share": pl.Float64(),
    "author_hhi": pl.Float64(),
    "top_authors": pl.List(_TOP_STRUCT),
    "family_downloads": pl.Int64(),
    "root_downloads": pl.Int64(),
    "downloads_ratio": pl.Float64(),
    "first_derivative_days": pl.Float64(),
    "derivatives_30d": pl.Int64(),
    "derivatives_90d": pl.Int64(),
    "first_by_relation_days": _REL_DAYS_STRUCT,
    "by_relation_30d": _REL_STRUCT,
    "monthly": pl.List(_MONTH_STRUCT),
    "bridges": pl.Int64(),
}


class _Attrs(NamedTuple):
    """Attributes of the distinct nodes of a computation, as numpy arrays (one entry per
    node, see :func:`_node_attrs`)."""

    rel: np.ndarray  # int64 relation code (RELATION_KEYS order)
    acode: np.ndarray  # int64 author code, case-insensitive, in lower-cased name order
    scode: np.ndarray  # int64 code of the author's spelling, in string order
    dl: np.ndarray  # int64 downloads, 0 when unknown
    dl_known: np.ndarray  # bool
    created: np.ndarray  # int64 µs since the epoch, 0 when unknown
    created_known: np.ndarray  # bool
    authors: pl.Series  # the author of each node, as spelled


def _node_attrs(
    models: pl.DataFrame, index: GraphIndex, nodes: np.ndarray
) -> tuple[_Attrs, np.ndarray]:
    """Integer attributes of the distinct ``nodes``, and for each entry of ``nodes`` its
    position in them (``local``).

    A null author is taken from the id's namespace. Author codes come from dense ranks
    of the spellings (and of their lower-cased forms), not from joins on strings.
    """
    n = index.n
    mask = np.zeros(n, dtype=bool)
    mask[nodes] = True
    model_row = index.model_row
    # the nodes with a model row, in row order (so ``models`` is read sequentially), then
    # the nodes without one
    has_row = model_row >= 0
    rowmask = np.zeros(models.height, dtype=bool)
    rowmask[model_row[mask & has_row]] = True
    rows = np.flatnonzero(rowmask)
    node_of_row = np.empty(models.height, dtype=np.int64)
    node_of_row[model_row[has_row]] = np.flatnonzero(has_row)
    rowless = np.flatnonzero(mask & ~has_row)
    distinct = np.concatenate([node_of_row[rows], rowless])
    local_of = np.zeros(n, dtype=np.int64)
    local_of[distinct] = np.arange(distinct.size)
    cols = {
        "id": pl.Utf8(),
        "author": pl.Utf8(),
        "created_at": pl.Datetime("us", "UTC"),
        "downloads": pl.Int64(),
        "relation": pl.Utf8(),
    }
    present = [c for c in cols if c in models.columns and c != "id"]
    # (a frame with only ids still needs one column to keep its height)
    frame = models.select(present or [pl.col("id").is_null().alias("_pad")])
    sub = pl.concat([frame[rows], frame.clear(rowless.size)])
    sub = sub.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in sub.columns]
    ).select([pl.col(c).cast(t) for c, t in cols.items()])
    # ids only where the author must be derived from them
    need = np.flatnonzero(sub.get_column("author").is_null().to_numpy())
    if need.size:
        ids = sub.get_column("id").scatter(need, index.id_of(distinct[need]))
        sub = sub.with_columns(ids.alias("id"))
    created = pl.col("created_at")
    sub = sub.select(
        pl.coalesce(pl.col("author"), pl.col("id").str.split("/").list.first()).alias("author"),
        pl.col("relation")
        .replace_strict(_REL_CODE, default=_UNKNOWN, return_dtype=pl.Int64)
        .alias("rel"),
        pl.col("downloads").fill_null(0).alias("dl"),
        pl.col("downloads").is_not_null().alias("dl_known"),
        created.dt.epoch("us").fill_null(0).alias("created"),
        created.is_not_null().alias("created_known"),
    )
    authors = sub.get_column("author")
    scode = (authors.rank("dense").cast(pl.Int64) - 1).to_numpy()
    # one row per spelling, in string order; lower-case the spellings only
    if scode.size:
        row_of_spelling = np.empty(int(scode.max()) + 1, dtype=np.int64)
        row_of_spelling[scode] = np.arange(scode.size)
        lower = authors.gather(row_of_spelling).str.to_lowercase()
        acode = (lower.rank("dense").cast(pl.Int64) - 1).to_numpy()[scode]
    else:
        acode = scode
    attrs = _Attrs(
        rel=sub.get_column("rel").to_numpy(),
        acode=acode,
        scode=scode,
        dl=sub.get_column("dl").to_numpy(),
        dl_known=sub.get_column("dl_known").to_numpy(),
        created=sub.get_column("created").to_numpy(),
        created_known=sub.get_column("created_known").to_numpy(),
        authors=authors,
    )
    return attrs, local_of[nodes]


def family_metrics(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    roots: Iterable[str] | None = None,
    *,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """Every DESIGN §5 metric for each root: one row per root.

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames`.
    roots : iterable of str, optional
        Model ids (exact; see :func:`ecograph.graph.resolve_root` for user input). ``None``
        = every foundation, sorted by id.
    index : GraphIndex, optional
        A prebuilt :class:`~ecograph.graph.GraphIndex` of the same frames (reuse it across
        calls on a big hub).

    Returns
    -------
    polars.DataFrame
        Columns :data:`METRIC_COLUMNS` with dtypes :data:`METRIC_SCHEMA`, in the order of
        ``roots``.

    Raises
    ------
    UnknownModelError
        If a root is not a node of the graph.

    Examples
    --------
    ``r`` has two fine-tunes, one of which is quantized; ``x`` merges both fine-tunes:

    >>> m = pl.DataFrame({
    ...     "id": ["org/r", "org/a", "u/b", "u/q", "v/x"],
    ...     "author": ["org", "org", "u", "u", "v"],
    ...     "downloads": [100, 10, 20, 5, 1],
    ...     "relation": [None, "finetune", "finetune", "quantized", "merge"]})
    >>> e = pl.DataFrame({"parent": ["org/r", "org/r", "u/b", "org/a", "u/b"],
    ...                   "child": ["org/a", "u/b", "u/q", "v/x", "v/x"]})
    >>> row = family_metrics(m, e, ["org/r"]).row(0, named=True)
    >>> row["size"], row["direct_children"], row["depth_counts"], row["longest_chain"]
    (4, 2, [2, 2], 2)
    >>> row["by_relation"]
    {'finetune': 2, 'quantized': 1, 'adapter': 0, 'merge': 1, 'unknown': 0}
    >>> row["max_fanout"], row["max_fanout_node"], row["mean_fanout"], row["leaf_share"]
    (2, 'u/b', 1.5, 0.5)
    >>> row["n_authors"], row["community_share"], row["author_hhi"]
    (3, 0.75, 0.375)
    >>> row["family_downloads"], row["downloads_ratio"]
    (36, 0.36)
    """
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    index, root_ids, root_pos = _root_positions(models, edges, roots, index)
    families = _expand(models, index, root_pos)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns: dict[str, Any] = {
            "root": root_ids,
            **_size_columns(families),
            **_depth_columns(families, index),
            **_fanout_columns(families, index),
            **_community_columns(families),
            **_reach_columns(families),
            **_adoption_columns(families),
            **_response_columns(families),
            **_bridge_columns(families, index, every_foundation=roots is None),
        }
    return pl.DataFrame(
        [pl.Series(c, columns[c]).cast(METRIC_SCHEMA[c]) for c in METRIC_COLUMNS]
    )


def _root_positions(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    roots: Iterable[str] | None,
    index: GraphIndex,
) -> tuple[GraphIndex, pl.Series, np.ndarray]:
    """The roots to measure: ``(index, root ids, their node positions)``.

    ``roots=None`` means every foundation, sorted by id. A named root that is a model
    without any edge is added to a new index (a leaf with an empty family); a root that
    is not a model raises :class:`~ecograph.errors.UnknownModelError` with suggestions.
    """
    if roots is None:
        foundation_pos = np.flatnonzero(index.foundation_mask()).astype(np.int64)
        foundation_ids = index.id_of(foundation_pos)
        order = foundation_ids.arg_sort().to_numpy()
        return index, foundation_ids.gather(order), foundation_pos[order]
    root_ids = pl.Series(list(dict.fromkeys(roots)), dtype=pl.Utf8)
    _, found = index.lookup(root_ids)
    if not found.all():
        absent = root_ids.filter(pl.Series(~found))
        known = models.get_column("id").cast(pl.Utf8)
        for rid in absent.to_list():
            if not known.is_in([rid]).any():
                raise UnknownModelError(rid, suggest(known, rid))
        # models without any edge: leaves with an empty family
        index = GraphIndex.from_frames(models, edges, extra=absent)
    return index, root_ids, index.positions(root_ids)


class _Families(NamedTuple):
    """The families of ``n_roots`` roots as parallel (root, family node) pair arrays, with
    the node attributes every metric group reads (built by :func:`_expand`).

    Pair ``i`` says: ``node[i]`` belongs to the family of root ``pair_root[i]`` (a row in
    ``range(n_roots)``), at generation ``depth[i]``. ``attrs`` holds each distinct node
    once; ``pair_attr[i]`` is the attribute row of pair ``i``'s node and ``root_attr[j]``
    the attribute row of root ``j``.
    """

    n_roots: int
    root_pos: np.ndarray  # node position of each root
    pair_root: np.ndarray  # root row of each pair
    node: np.ndarray  # node position of each pair
    depth: np.ndarray  # int64 generation of each pair (>= 1)
    attrs: _Attrs
    pair_attr: np.ndarray  # attribute row of each pair's node
    root_attr: np.ndarray  # attribute row of each root
    size: np.ndarray  # family size per root

    def count_where(self, where: np.ndarray) -> np.ndarray:
        """Pairs selected by the boolean mask ``where``, counted per root."""
        return np.bincount(self.pair_root[where], minlength=self.n_roots)

    def total(self, values: np.ndarray) -> np.ndarray:
        """Float sums of per-pair ``values`` per root."""
        return np.bincount(self.pair_root, weights=values, minlength=self.n_roots)

    def maximum(self, values: np.ndarray) -> np.ndarray:
        """Largest of the int64 per-pair ``values`` per root (0 for an empty family)."""
        out = np.zeros(self.n_roots, dtype=np.int64)
        np.maximum.at(out, self.pair_root, values)  # fast only on matching dtypes
        return out

    def of_root(self, per_node: np.ndarray) -> np.ndarray:
        """A per-attribute-row array read at each pair's root."""
        return per_node[self.root_attr][self.pair_root]


def _expand(models: pl.DataFrame, index: GraphIndex, root_pos: np.ndarray) -> _Families:
    """One vectorised BFS for all roots (:func:`~ecograph.graph.expand_families`) and the
    attributes of the nodes it reaches.

    >>> m = pl.DataFrame({"id": ["a/r", "a/c", "b/d"], "author": ["a", "a", "b"]})
    >>> e = pl.DataFrame({"parent": ["a/r", "a/c"], "child": ["a/c", "b/d"]})
    >>> g = GraphIndex.from_frames(m, e)
    >>> fam = _expand(m, g, g.positions(["a/r"]))
    >>> g.id_of(fam.node).to_list(), fam.depth.tolist(), fam.size.tolist()
    (['a/c', 'b/d'], [1, 2], [2])
    """
    n_roots = len(root_pos)
    pair_root, node, depth = expand_families(index, root_pos)
    attrs, local = _node_attrs(models, index, np.concatenate([node, root_pos]))
    return _Families(
        n_roots=n_roots,
        root_pos=root_pos,
        pair_root=pair_root,
        node=node,
        depth=depth.astype(np.int64),
        attrs=attrs,
        pair_attr=local[: node.size],
        root_attr=local[node.size :],
        size=np.bincount(pair_root, minlength=n_roots),
    )


def _size_columns(fam: _Families) -> dict[str, Any]:
    """**size**, **by relation** and **direct children** (total and by relation)."""
    n_rel = len(RELATION_KEYS)
    rel = fam.attrs.rel[fam.pair_attr]
    direct = fam.depth == 1

    def by_relation(where: np.ndarray | slice) -> pl.Series:
        keys = fam.pair_root[where] * n_rel + rel[where]
        counts = np.bincount(keys, minlength=fam.n_roots * n_rel)
        return _rel_struct(counts.reshape(fam.n_roots, n_rel))

    return {
        "size": fam.size,
        "by_relation": by_relation(slice(None)),
        "direct_children": fam.count_where(direct),
        "direct_by_relation": by_relation(direct),
    }


def _depth_columns(fam: _Families, index: GraphIndex) -> dict[str, Any]:
    """**depth**: ``max_depth``, ``mean_depth``, ``depth_counts`` and ``longest_chain``."""
    max_depth = fam.maximum(fam.depth)
    return {
        "max_depth": max_depth,
        "mean_depth": _where(fam.size > 0, fam.total(fam.depth) / fam.size),
        "depth_counts": _depth_counts(fam, max_depth),
        "longest_chain": chain_heights(index)[fam.root_pos],
    }


def _fanout_columns(fam: _Families, index: GraphIndex) -> dict[str, Any]:
    """**fan-out** over family nodes: ``max_fanout`` (and its node), ``mean_fanout`` of
    internal nodes, ``leaf_share``."""
    fanout = index.out_degree[fam.node].astype(np.int64)
    max_fanout = fam.maximum(fanout)
    internal = fam.count_where(fanout > 0)
    return {
        "max_fanout": max_fanout,
        "max_fanout_node": _max_fanout_node(fam, index, fanout, max_fanout),
        "mean_fanout": _where(internal > 0, fam.total(fanout) / internal),
        "leaf_share": _where(fam.size > 0, (fam.size - internal) / fam.size),
    }


def _family_downloads(fam: _Families, where: np.ndarray | None = None) -> np.ndarray:
    """Exact int64 download sums per root (of the pairs in ``where``, or all)."""
    downloads = fam.attrs.dl[fam.pair_attr]
    if where is None:
        return _sum_by(fam.pair_root, downloads, fam.n_roots)
    return _sum_by(fam.pair_root[where], downloads[where], fam.n_roots)


def _community_columns(fam: _Families) -> dict[str, Any]:
    """**community**: ``n_authors``, ``community_share``, ``community_download_share``,
    ``author_hhi`` and ``top_authors`` (authors compared case-insensitively)."""
    author = fam.attrs.acode[fam.pair_attr]
    community = author != fam.of_root(fam.attrs.acode)
    family_dl = _family_downloads(fam)
    community_dl = _family_downloads(fam, community)
    n_authors, hhi, top_authors = _author_stats(fam, author)
    return {
        "n_authors": n_authors,
        "community_share": _where(fam.size > 0, fam.count_where(community) / fam.size),
        "community_download_share": _where(family_dl > 0, community_dl / family_dl),
        "author_hhi": _where(fam.size > 0, hhi),
        "top_authors": top_authors,
    }


def _reach_columns(fam: _Families) -> dict[str, Any]:
    """**reach**: ``family_downloads``, ``root_downloads`` and their ratio."""
    family_dl = _family_downloads(fam)
    root_dl = fam.attrs.dl[fam.root_attr]
    root_known = fam.attrs.dl_known[fam.root_attr]
    return {
        "family_downloads": family_dl,
        "root_downloads": _where(root_known, root_dl),
        "downloads_ratio": _where(root_known & (root_dl > 0), family_dl / root_dl),
    }


def _adoption_columns(fam: _Families) -> dict[str, Any]:
    """**adoption**: ``first_derivative_days``, ``derivatives_30d`` / ``_90d`` (created
    0-30 / 0-90 days after the root) and the ``monthly`` series."""
    created = fam.attrs.created[fam.pair_attr]
    known = fam.attrs.created_known[fam.pair_attr]
    root_created = fam.attrs.created[fam.root_attr]
    root_known = fam.attrs.created_known[fam.root_attr]
    first = np.full(fam.n_roots, np.iinfo(np.int64).max)
    np.minimum.at(first, fam.pair_root[known], created[known])
    age = created - root_created[fam.pair_root]

    def created_within(days: int) -> pl.Series:
        return _where(root_known, fam.count_where(known & (age >= 0) & (age <= days * _DAY_US)))

    return {
        "first_derivative_days": _where(
            root_known & (fam.count_where(known) > 0), (first - root_created) / _DAY_US
        ),
        "derivatives_30d": created_within(30),
        "derivatives_90d": created_within(90),
        "monthly": _monthly(fam.pair_root[known], created[known], fam.n_roots),
    }


def _response_columns(fam: _Families) -> dict[str, Any]:
    """**response times** (DESIGN §8): ``first_by_relation_days`` and ``by_relation_30d``
    from one group-by over (root, relation) cells of the dated family pairs."""
    n_rel = len(RELATION_KEYS)
    created = fam.attrs.created[fam.pair_attr]
    known = fam.attrs.created_known[fam.pair_attr]
    root_created = fam.attrs.created[fam.root_attr]
    root_known = fam.attrs.created_known[fam.root_attr]
    cell = fam.pair_root * n_rel + fam.attrs.rel[fam.pair_attr]
    never = np.iinfo(np.int64).max
    first = np.full(fam.n_roots * n_rel, never, dtype=np.int64)
    np.minimum.at(first, cell[known], created[known])
    first_at = first.reshape(fam.n_roots, n_rel)
    days = (first_at - root_created[:, None]) / _DAY_US
    has_first = (first_at != never) & root_known[:, None]
    age = created - root_created[fam.pair_root]
    window = known & (age >= 0) & (age <= 30 * _DAY_US)
    counts = np.bincount(cell[window], minlength=fam.n_roots * n_rel)
    first_days = pl.DataFrame(
        {name: _where(has_first[:, j], days[:, j]) for j, name in enumerate(RELATION_KEYS)}
    ).to_struct()
    within_30d = (
        _rel_struct(counts.reshape(fam.n_roots, n_rel))
        .to_frame("counts")
        .select(pl.when(pl.Series(root_known)).then(pl.col("counts")))
        .to_series()
    )
    return {"first_by_relation_days": first_days, "by_relation_30d": within_30d}


def response_times(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    roots: Iterable[str] | None = None,
    *,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """Only the response-time metrics of :func:`family_metrics` (``root``,
    ``first_by_relation_days``, ``by_relation_30d``), one row per root, computed by the
    same code (:func:`_response_columns`) without the other metric groups.

    ``roots=None`` = every foundation, sorted by id; otherwise one row per distinct root
    in the order given.

    >>> from datetime import datetime as dt
    >>> m = pl.DataFrame({"id": ["o/r", "u/a", "u/q"], "relation": [None, "finetune",
    ...     "quantized"], "created_at": [dt(2024, 1, 1), dt(2024, 1, 3), dt(2024, 3, 1)]})
    >>> e = pl.DataFrame({"parent": ["o/r", "u/a"], "child": ["u/a", "u/q"]})
    >>> row = response_times(m, e).row(0, named=True)
    >>> row["first_by_relation_days"]["finetune"], row["first_by_relation_days"]["quantized"]
    (2.0, 60.0)
    >>> row["by_relation_30d"]["finetune"], row["by_relation_30d"]["quantized"]
    (1, 0)
    """
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    index, root_ids, root_pos = _root_positions(models, edges, roots, index)
    columns = {"root": root_ids, **_response_columns(_expand(models, index, root_pos))}
    keys = ("root", "first_by_relation_days", "by_relation_30d")
    return pl.DataFrame([pl.Series(c, columns[c]).cast(METRIC_SCHEMA[c]) for c in keys])


def _bridge_columns(
    fam: _Families, index: GraphIndex, *, every_foundation: bool
) -> dict[str, Any]:
    """**bridges**: family nodes that descend from more than one foundation.

    When the roots are every foundation, a node's foundations are the families it appears
    in; otherwise they are counted on the graph, among the family nodes only."""
    if every_foundation:
        n_foundations = np.bincount(fam.node, minlength=index.n)
    else:
        in_family = np.zeros(index.n, dtype=bool)
        in_family[fam.node] = True
        n_foundations = foundation_counts(index, index.foundation_mask(), among=in_family)
    return {"bridges": fam.count_where(n_foundations[fam.node] > 1)}


def _where(valid: np.ndarray, values: np.ndarray) -> pl.Series:
    """``values`` where ``valid``, null elsewhere."""
    return pl.Series(values).scatter(np.flatnonzero(~valid), None)


def _sum_by(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per group (``bincount`` when floats are exact)."""
    if values.size == 0 or int(np.abs(values).max()) * values.size < 2**53:
        return np.bincount(groups, weights=values, minlength=n_groups).astype(np.int64)
    out = np.zeros(n_groups, dtype=np.int64)  # pragma: no cover - beyond 2**53 downloads
    np.add.at(out, groups, values)
    return out


def _rel_struct(counts: np.ndarray) -> pl.Series:
    """A ``(k, len(RELATION_KEYS))`` count matrix as a struct column."""
    return pl.DataFrame(
        {name: counts[:, i].astype(np.int64) for i, name in enumerate(RELATION_KEYS)}
    ).to_struct()


def _lists(offsets: np.ndarray, values: pa.Array) -> pl.Series:
    """A list column: row ``i`` holds ``values[offsets[i]:offsets[i + 1]]``."""
    return pl.Series(pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values))


def _offsets(groups: np.ndarray, k: int) -> np.ndarray:
    """List offsets of values sorted by their group in ``range(k)``."""
    out = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=k), out=out[1:])
    return out


def _depth_counts(fam: _Families, max_depth: np.ndarray) -> pl.Series:
    """Nodes per generation 1..max_depth, per root (every generation up to the deepest is
    non-empty, so a root has exactly ``max_depth`` entries)."""
    width = int(max_depth.max(initial=0)) + 1
    keys, _, starts = _groups(fam.pair_root * width + fam.depth)
    counts = np.diff(np.append(starts, fam.pair_root.size)).astype(np.int64)
    return _lists(_offsets(keys // width, fam.n_roots), pa.array(counts, pa.int64()))


def _max_fanout_node(
    fam: _Families, index: GraphIndex, fanout: np.ndarray, max_fanout: np.ndarray
) -> pl.Series:
    """The family node with most children, per root (ties: smallest id; null if no family
    node has children)."""
    best = np.flatnonzero((fanout == max_fanout[fam.pair_root]) & (fanout > 0))
    smallest = (
        pl.DataFrame({"root": fam.pair_root[best], "id": index.id_of(fam.node[best])})
        .group_by("root")
        .agg(pl.col("id").min())
    )
    out = pl.Series("id", [None] * fam.n_roots, dtype=pl.Utf8)
    return out.scatter(smallest.get_column("root").to_numpy(), smallest.get_column("id"))


def _author_stats(
    fam: _Families, author: np.ndarray
) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """``n_authors``, ``author_hhi`` and ``top_authors`` per root (``author``: the
    case-insensitive author code of each pair): a group-by on (root, author) and one sort
    of the groups."""
    n_roots, attrs = fam.n_roots, fam.attrs
    if fam.pair_root.size == 0:
        empty = _lists(np.zeros(n_roots + 1, np.int64), pa.array([], _TOP_ARROW))
        return np.zeros(n_roots, np.int64), np.zeros(n_roots), empty
    width = int(author.max()) + 1
    keys, order, starts = _groups(fam.pair_root * width + author)
    count = np.diff(np.append(starts, fam.pair_root.size))
    downloads = np.add.reduceat(attrs.dl[fam.pair_attr][order], starts)
    spelling = np.minimum.reduceat(attrs.scode[fam.pair_attr][order], starts)
    group_root = keys // width
    n_authors = np.bincount(group_root, minlength=n_roots)
    share = count / fam.size[group_root]
    hhi = np.bincount(group_root, weights=share * share, minlength=n_roots)
    # top authors: by root, count desc, downloads desc, spelling asc; 10 per root
    top_order = _sort_desc(group_root, count, downloads, spelling)
    sorted_root = group_root[top_order]
    first = np.flatnonzero(np.r_[True, sorted_root[1:] != sorted_root[:-1]])
    rank = np.arange(sorted_root.size) - np.repeat(
        first, np.diff(np.r_[first, sorted_root.size])
    )
    top = top_order[rank < _TOP]
    row_of_spelling = np.empty(int(attrs.scode.max()) + 1, dtype=np.int64)
    row_of_spelling[attrs.scode] = np.arange(attrs.scode.size)
    values = pa.StructArray.from_arrays(
        [
            attrs.authors.gather(row_of_spelling[spelling[top]]).to_arrow(),
            pa.array(count[top].astype(np.int64)),
            pa.array(downloads[top].astype(np.int64)),
        ],
        names=["author", "count", "downloads"],
    )
    return n_authors, hhi, _lists(_offsets(group_root[top], n_roots), values)


def _sort_desc(
    root: np.ndarray, count: np.ndarray, downloads: np.ndarray, spelling: np.ndarray
) -> np.ndarray:
    """Order by root, count desc, downloads desc, spelling: the keys packed into one
    int64 when they fit (one multi-threaded polars sort), else two int64 sort keys."""
    c_bits = max(int(count.max()).bit_length(), 1)
    d_high = int(downloads.max())
    d_bits = max((d_high - int(downloads.min())).bit_length(), 1)  # downloads may be < 0
    s_bits = max(int(spelling.max()).bit_length(), 1)
    r_bits = max(int(root.max()).bit_length(), 1)
    major = (root << c_bits) | ((1 << c_bits) - 1 - count)
    if r_bits + c_bits + d_bits + s_bits <= 63:
        key = (((major << d_bits) | (d_high - downloads)) << s_bits) | spelling
        return pl.Series(key).arg_sort().to_numpy()
    frame = pl.DataFrame({"major": major, "d": downloads, "s": spelling})
    return (
        frame.select(pl.arg_sort_by(["major", "d", "s"], descending=[False, True, False]))
        .to_series()
        .to_numpy()
    )


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group equal integer keys: ``(unique keys sorted, order, starts)`` where
    ``keys[order]`` is sorted and group ``g`` is ``order[starts[g]:starts[g + 1]]``.

    The sort is polars' (multi-threaded, about twice numpy's ``argsort`` here)."""
    order = pl.Series(keys).arg_sort().to_numpy()
    s = keys[order]
    flag = np.empty(s.size, dtype=bool)
    flag[:1] = True
    np.not_equal(s[1:], s[:-1], out=flag[1:])
    starts = np.flatnonzero(flag)
    return s[starts], order, starts


def _monthly(pair_root: np.ndarray, created: np.ndarray, n_roots: int) -> pl.Series:
    """Family nodes created per calendar month, per root (``created``: µs since the epoch,
    of the nodes with a known date). Days map to months through a small table over the
    days spanned, far cheaper than calendar arithmetic per node."""
    if pair_root.size == 0:
        return _lists(np.zeros(n_roots + 1, np.int64), pa.array([], _MONTH_ARROW))
    day = created // _DAY_US
    low_day, high_day = int(day.min()), int(day.max())
    if high_day - low_day <= 4 * day.size + 100_000:
        span = np.arange(low_day, high_day + 1).astype("datetime64[D]")
        month = span.astype("datetime64[M]").astype(np.int64)[day - low_day]
    else:  # absurd dates far apart: per-node calendar arithmetic
        month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    low = int(month.min())
    width = int(month.max()) - low + 1
    keys, _, starts = _groups(pair_root * width + (month - low))
    count = np.diff(np.append(starts, pair_root.size)).astype(np.int64)
    months = (keys % width + low).astype("datetime64[M]").astype("datetime64[D]")
    values = pa.StructArray.from_arrays(
        [pa.array(months, pa.date32()), pa.array(count)], names=["month", "count"]
    )
    return _lists(_offsets(keys // width, n_roots), values)


def headline(stats: pl.DataFrame, top: int | None = None) -> pl.DataFrame:
    """The headline columns (:data:`HEADLINE_COLUMNS`) of a metrics frame, largest first.

    >>> m = pl.DataFrame({"id": ["a/r", "a/c"], "relation": [None, "finetune"]})
    >>> e = pl.DataFrame({"parent": ["a/r"], "child": ["a/c"]})
    >>> headline(family_metrics(m, e)).select("root", "size").rows()
    [('a/r', 1)]
    """
    out = stats.select(HEADLINE_COLUMNS).sort(["size", "root"], descending=[True, False])
    return out.head(top) if top is not None else out


def _plain(value: Any) -> Any:
    """JSON-safe value: NaN/inf → None, dates → ISO strings, containers recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_records(stats: pl.DataFrame, keys: Sequence[str] = JSON_KEYS) -> list[dict[str, Any]]:
    """Rows of a metrics frame as plain JSON-ready dicts with exactly ``keys``.

    Numbers are plain ints/floats, missing values (and NaN) are ``None``.

    >>> m = pl.DataFrame({"id": ["a/r", "a/c"], "relation": [None, "finetune"]})
    >>> e = pl.DataFrame({"parent": ["a/r"], "child": ["a/c"]})
    >>> rec = to_records(family_metrics(m, e, ["a/r"]))[0]
    >>> list(rec) == list(JSON_KEYS), rec["size"], rec["mean_fanout"]
    (True, 1, None)
    """
    return [_plain({k: row[k] for k in keys}) for row in stats.iter_rows(named=True)]


def to_json(stats: pl.DataFrame, keys: Sequence[str] = JSON_KEYS, *,
            indent: int | None = None) -> str:
    """A metrics frame as a JSON list of objects with exactly ``keys`` (what
    ``ecograph stats --format json`` prints): the same values as :func:`to_records`,
    serialised by polars (fast for every foundation of the whole Hub). NaN and missing
    values are ``null``. ``indent`` pretty-prints (meant for a few rows).

    >>> m = pl.DataFrame({"id": ["a/r", "a/c"], "relation": [None, "finetune"]})
    >>> e = pl.DataFrame({"parent": ["a/r"], "child": ["a/c"]})
    >>> stats = family_metrics(m, e, ["a/r"])
    >>> json.loads(to_json(stats)) == to_records(stats)
    True
    """
    text = stats.select(keys).write_json()
    if indent is not None:
        text = json.dumps(json.loads(text), indent=indent)
    return text
