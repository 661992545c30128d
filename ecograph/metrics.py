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
  ``derivatives_30d`` / ``_90d`` = family nodes created at most 30 / 90 days after ``R``
  (null when ``R``'s creation date is unknown); ``monthly`` = family nodes created per
  calendar month (``month`` = first day), months with none left out.
- ``bridges`` = family nodes that descend from more than one foundation.

Everything is vectorised (see :class:`ecograph.graph.GraphIndex`): one integer BFS over
(root, node) pairs for all roots, then a handful of polars group-bys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from .errors import UnknownModelError
from .graph import (
    GraphIndex,
    _suggest,
    _unique_inverse,
    chain_heights,
    expand_families,
    foundation_counts,
)

__all__ = [
    "METRIC_COLUMNS",
    "ANALYSIS_COLUMNS",
    "JSON_KEYS",
    "HEADLINE_COLUMNS",
    "RELATION_KEYS",
    "family_metrics",
    "headline",
    "to_records",
]

#: Keys of the ``by_relation`` / ``direct_by_relation`` structs, in display order.
RELATION_KEYS: tuple[str, ...] = ("finetune", "quantized", "adapter", "merge", "unknown")

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
_TOP_STRUCT = pl.Struct({"author": pl.Utf8, "count": pl.Int64, "downloads": pl.Int64})
_MONTH_STRUCT = pl.Struct({"month": pl.Date, "count": pl.Int64})

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
    "monthly": pl.List(_MONTH_STRUCT),
    "bridges": pl.Int64(),
}


def _empty_list(inner: pl.DataType | type[pl.DataType]) -> pl.Expr:
    return pl.lit(pl.Series([[]], dtype=pl.List(inner)))


def _node_attrs(
    models: pl.DataFrame, index: GraphIndex, nodes: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray, pl.DataFrame]:
    """Integer attributes of the distinct ``nodes``, and the author table.

    Returns ``attrs`` (one row per distinct node), ``local`` (for each entry
    of ``nodes``, its row in ``attrs``) and ``authors``. ``attrs`` has ``rel`` (relation
    code), ``acode`` (author code: authors compared case-insensitively, codes in the order
    of their spelling), ``dl`` (downloads, 0 when null), ``dl_raw`` and ``created`` (µs since the
    epoch), ``scode`` (code of the author's spelling, in string order); and ``spellings``
    (``scode`` → ``author``).
    """
    n = index.n
    mask = np.zeros(n, dtype=bool)
    mask[nodes] = True
    distinct = np.flatnonzero(mask)
    # in model-row order: the gather below then reads ``models`` sequentially
    distinct = distinct[np.argsort(index.model_row[distinct], kind="stable")]
    local_of = np.zeros(n, dtype=np.int64)
    local_of[distinct] = np.arange(distinct.size)
    rows = index.model_row[distinct]
    valid = rows >= 0
    cols = {
        "id": pl.Utf8(),
        "author": pl.Utf8(),
        "created_at": pl.Datetime("us", "UTC"),
        "downloads": pl.Int64(),
        "relation": pl.Utf8(),
    }
    take = np.where(valid, rows, 0)
    present = [c for c in cols if c in models.columns and c != "id"]
    sub = (
        models.select(present)[take]
        if models.height
        else pl.DataFrame(schema={c: cols[c] for c in present}).clear(distinct.size)
    )
    sub = sub.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in cols.items() if c not in sub.columns]
    ).select([pl.col(c).cast(t) for c, t in cols.items()])
    if not valid.all():
        nulls = pl.Series(~valid)
        sub = sub.with_columns(
            [pl.when(nulls).then(None).otherwise(pl.col(c)).alias(c) for c in cols]
        )
    # ids only where the author must be derived from them
    need = np.flatnonzero(sub.get_column("author").is_null().to_numpy())
    if need.size:
        ids = sub.get_column("id").scatter(need, index.id_of(distinct[need]))
        sub = sub.with_columns(ids.alias("id"))
    author = pl.coalesce(pl.col("author"), pl.col("id").str.split("/").list.first())
    sub = sub.with_columns(author.alias("author"))
    # one row per spelling (scode in string order), grouped case-insensitively (acode)
    spellings = (
        sub.select(pl.col("author").unique().sort())
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int32).alias("scode"),
            pl.col("author").str.to_lowercase().rank("dense").cast(pl.Int32).alias("acode"),
        )
    )
    attrs = sub.join(spellings, on="author", how="left", maintain_order="left").select(
        pl.col("relation")
        .replace_strict(_REL_CODE, default=_UNKNOWN, return_dtype=pl.Int8)
        .alias("rel"),
        pl.col("acode"),
        pl.col("scode"),
        pl.col("downloads").fill_null(0).alias("dl"),
        pl.col("downloads").alias("dl_raw"),
        pl.col("created_at").dt.epoch("us").alias("created"),
    )
    spellings = spellings.select("scode", "author")
    return attrs, local_of[nodes], spellings


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
    fmask = index.foundation_mask()
    if roots is None:
        fpos = np.flatnonzero(fmask).astype(np.int64)
        fids = index.id_of(fpos)
        order = fids.arg_sort().to_numpy()
        root_pos = fpos[order]
        root_ids = fids.gather(order)
    else:
        root_list = list(dict.fromkeys(roots))
        root_ids = pl.Series(root_list, dtype=pl.Utf8)
        _, found = index.lookup(root_ids)
        if not found.all():
            absent = root_ids.filter(pl.Series(~found))
            known = models.get_column("id").cast(pl.Utf8)
            for rid in absent.to_list():
                if not known.is_in([rid]).any():
                    raise UnknownModelError(rid, _suggest(known, rid))
            # models without any edge: leaves with an empty family
            index = GraphIndex.from_frames(models, edges, extra=absent)
            fmask = index.foundation_mask()
        root_pos = index.positions(root_ids)
    k = len(root_pos)
    r, node, depth = expand_families(index, root_pos)

    # foundations each family node descends from (bridges)
    if roots is None:
        n_found = np.bincount(node, minlength=index.n)
    else:
        in_fam = np.zeros(index.n, dtype=bool)
        in_fam[node] = True
        n_found = foundation_counts(index, fmask, among=in_fam)
    heights = chain_heights(index)

    attrs, local, authors_table = _node_attrs(
        models, index, np.concatenate([node, root_pos])
    )
    root_attrs = attrs[local[len(node) :]]
    fanout = index.out_degree
    pairs = pl.concat(
        [
            pl.DataFrame(
                {
                    "r": r.astype(np.int32),
                    "node": node.astype(np.int64),
                    "depth": depth.astype(np.int32),
                    "fanout": fanout[node].astype(np.int32),
                    "bridge": n_found[node] > 1,
                    "root_acode": root_attrs.get_column("acode").to_numpy()[r],
                }
            ),
            attrs[local[: len(node)]],
        ],
        how="horizontal",
    )
    rc = root_attrs.get_column("created")
    root_created = pl.DataFrame({"r": np.arange(k, dtype=np.int32), "root_created": rc})
    pairs = pairs.join(root_created, on="r", how="left")
    dl = pl.col("dl")
    community = pl.col("acode") != pl.col("root_acode")
    age = pl.col("created") - pl.col("root_created")
    rel = pl.col("rel")
    d1 = pl.col("depth") == 1
    fan = pl.col("fanout")
    main = pairs.group_by("r").agg(
        pl.len().cast(pl.Int64).alias("size"),
        *[(rel == i).sum().cast(pl.Int64).alias(f"rel_{n}") for n, i in _REL_CODE.items()],
        d1.sum().cast(pl.Int64).alias("direct_children"),
        *[
            (d1 & (rel == i)).sum().cast(pl.Int64).alias(f"drel_{n}")
            for n, i in _REL_CODE.items()
        ],
        pl.col("depth").max().cast(pl.Int64).alias("max_depth"),
        pl.col("depth").mean().alias("mean_depth"),
        fan.max().cast(pl.Int64).alias("max_fanout"),
        (fan > 0).sum().cast(pl.Int64).alias("_internal"),
        fan.sum().cast(pl.Int64).alias("_fansum"),
        pl.col("acode").n_unique().cast(pl.Int64).alias("n_authors"),
        community.sum().cast(pl.Int64).alias("_community"),
        dl.filter(community).sum().cast(pl.Int64).alias("_community_dl"),
        dl.sum().cast(pl.Int64).alias("family_downloads"),
        pl.col("created").min().alias("_first"),
        (age <= 30 * _DAY_US).sum().cast(pl.Int64).alias("_d30"),
        (age <= 90 * _DAY_US).sum().cast(pl.Int64).alias("_d90"),
        pl.col("bridge").sum().cast(pl.Int64).alias("bridges"),
    )
    # the node with most children (ties: smallest id)
    best = pairs.filter((fan == fan.max().over("r")) & (fan > 0)).select("r", "node")
    best = (
        best.with_columns(index.id_of(best.get_column("node").to_numpy()).alias("_maxnode"))
        .group_by("r")
        .agg(pl.col("_maxnode").min())
    )
    depth_counts = (
        pairs.group_by("r", "depth")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .sort("r", "depth")
        .group_by("r", maintain_order=True)
        .agg(pl.col("n").alias("depth_counts"))
    )
    hhi, top = _author_stats(pairs, authors_table)
    monthly = _monthly(pairs)
    base = pl.DataFrame(
        {
            "r": np.arange(k, dtype=np.int32),
            "root": root_ids,
            "longest_chain": heights[root_pos].astype(np.int64),
            "root_downloads": root_attrs.get_column("dl_raw"),
            "_root_created": rc,
        }
    )
    out = (
        base.join(main, on="r", how="left")
        .join(best, on="r", how="left")
        .join(depth_counts, on="r", how="left")
        .join(hhi, on="r", how="left")
        .join(top, on="r", how="left")
        .join(monthly, on="r", how="left")
        .sort("r")
    )
    size = pl.col("size")
    has_created = pl.col("_root_created").is_not_null()
    zero_if_null = [
        "size",
        "direct_children",
        "max_depth",
        "max_fanout",
        "n_authors",
        "family_downloads",
        "bridges",
        "_internal",
        "_fansum",
        "_community",
        "_community_dl",
        "_d30",
        "_d90",
        *[f"rel_{n}" for n in RELATION_KEYS],
        *[f"drel_{n}" for n in RELATION_KEYS],
    ]
    out = out.with_columns(
        *[pl.col(c).fill_null(0) for c in zero_if_null],
        pl.col("depth_counts").fill_null(_empty_list(pl.Int64)),
        pl.col("top_authors").fill_null(_empty_list(_TOP_STRUCT)),
        pl.col("monthly").fill_null(_empty_list(_MONTH_STRUCT)),
    )
    out = out.with_columns(
        pl.struct([pl.col(f"rel_{n}").alias(n) for n in RELATION_KEYS]).alias("by_relation"),
        pl.struct([pl.col(f"drel_{n}").alias(n) for n in RELATION_KEYS]).alias(
            "direct_by_relation"
        ),
        pl.col("_maxnode").alias("max_fanout_node"),
        pl.when(pl.col("_internal") > 0)
        .then(pl.col("_fansum") / pl.col("_internal"))
        .alias("mean_fanout"),
        pl.when(size > 0).then((size - pl.col("_internal")) / size).alias("leaf_share"),
        pl.when(size > 0).then(pl.col("_community") / size).alias("community_share"),
        pl.when(pl.col("family_downloads") > 0)
        .then(pl.col("_community_dl") / pl.col("family_downloads"))
        .alias("community_download_share"),
        pl.when(pl.col("root_downloads") > 0)
        .then(pl.col("family_downloads") / pl.col("root_downloads"))
        .alias("downloads_ratio"),
        ((pl.col("_first") - pl.col("_root_created")) / _DAY_US).alias(
            "first_derivative_days"
        ),
        pl.when(has_created).then(pl.col("_d30")).alias("derivatives_30d"),
        pl.when(has_created).then(pl.col("_d90")).alias("derivatives_90d"),
    )
    return out.select([pl.col(c).cast(METRIC_SCHEMA[c]) for c in METRIC_COLUMNS])


def _author_stats(
    pairs: pl.DataFrame, spellings: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``author_hhi`` and ``top_authors`` per root, with numpy group-bys on integer codes."""
    r = pairs.get_column("r").to_numpy().astype(np.int64)
    acode = pairs.get_column("acode").to_numpy().astype(np.int64)
    if r.size == 0:
        return (
            pl.DataFrame(schema={"r": pl.Int32, "author_hhi": pl.Float64}),
            pl.DataFrame(schema={"r": pl.Int32, "top_authors": pl.List(_TOP_STRUCT)}),
        )
    width = int(acode.max()) + 1
    keys, first, inv = _unique_inverse(r * width + acode)
    count = np.bincount(inv).astype(np.int64)
    downloads = np.bincount(inv, weights=pairs.get_column("dl").to_numpy()).astype(np.int64)
    scode = pairs.get_column("scode").to_numpy().astype(np.int64)
    smin = np.full(keys.size, np.iinfo(np.int64).max)
    np.minimum.at(smin, inv, scode)
    g_root = keys // width
    size = np.bincount(r)
    share = count / size[g_root]
    hhi_all = np.bincount(g_root, weights=share * share, minlength=size.size)
    roots = np.flatnonzero(size)
    hhi = pl.DataFrame({"r": roots.astype(np.int32), "author_hhi": hhi_all[roots]})
    # top authors: by root, count desc, downloads desc, spelling asc; 10 per root
    order = _top_order(g_root, count, downloads, smin)
    gr = g_root[order]
    start = np.flatnonzero(np.r_[True, gr[1:] != gr[:-1]])
    rank = np.arange(gr.size) - np.repeat(start, np.diff(np.r_[start, gr.size]))
    sel = order[rank < _TOP]
    top = (
        pl.DataFrame(
            {
                "r": g_root[sel].astype(np.int32),
                "scode": smin[sel].astype(np.int32),
                "count": count[sel],
                "downloads": downloads[sel],
            }
        )
        .join(spellings, on="scode", how="left", maintain_order="left")
        .group_by("r", maintain_order=True)
        .agg(pl.struct("author", "count", "downloads").alias("top_authors"))
    )
    return hhi, top


def _monthly(pairs: pl.DataFrame) -> pl.DataFrame:
    """Family nodes created per calendar month, per root (numpy ``datetime64[M]``)."""
    created = pairs.get_column("created")
    keep = created.is_not_null().to_numpy()
    r = pairs.get_column("r").to_numpy()[keep].astype(np.int64)
    month = created.to_numpy()[keep].astype(np.int64).astype("datetime64[us]")
    month = month.astype("datetime64[M]").astype(np.int64)
    if r.size == 0:
        return pl.DataFrame(schema={"r": pl.Int32, "monthly": pl.List(_MONTH_STRUCT)})
    low = int(month.min())
    width = int(month.max()) - low + 1
    keys, _, inv = _unique_inverse(r * width + (month - low))
    count = np.bincount(inv).astype(np.int64)
    months = (keys % width + low).astype("datetime64[M]").astype("datetime64[D]")
    return (
        pl.DataFrame(
            {
                "r": (keys // width).astype(np.int32),
                "month": pl.Series(months).cast(pl.Date),
                "count": count,
            }
        )
        .group_by("r", maintain_order=True)
        .agg(pl.struct("month", "count").alias("monthly"))
    )


def _top_order(
    root: np.ndarray, count: np.ndarray, downloads: np.ndarray, spelling: np.ndarray
) -> np.ndarray:
    """Order by root, count desc, downloads desc, spelling: two packed int64 argsorts
    (about 3x faster than ``np.lexsort`` on four keys); ``np.lexsort`` if values overflow."""
    c_bits = max(int(count.max()).bit_length(), 1)
    d_bits = max(int(downloads.max()).bit_length(), 1)
    s_bits = max(int(spelling.max()).bit_length(), 1)
    r_bits = max(int(root.max()).bit_length(), 1)
    if r_bits + c_bits > 62 or d_bits + s_bits > 62:
        return np.lexsort((spelling, -downloads, -count, root))
    minor = (((1 << d_bits) - 1 - downloads) << s_bits) | spelling
    major = (root << c_bits) | ((1 << c_bits) - 1 - count)
    first = np.argsort(minor)
    return first[np.argsort(major[first], kind="stable")]


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
