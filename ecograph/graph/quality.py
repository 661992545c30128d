"""Data quality of the fork graph: one implementation per check (pure).

DESIGN §5 **data quality**: missing parents, self-loops, cycles, nodes whose declared
relation conflicts with their number of parents; and (DESIGN §1) case-variant parent
references, parents spelled in another case than the repo id. Each check is one public
function over the integer engine (:class:`~ecograph.graph.GraphIndex`, built once and
shared through ``index=``); :func:`quality` calls them all and lists every problem, one row
each, as ``ecograph quality`` prints it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .chains import scc_labels
from .index import GraphIndex

__all__ = [
    "QUALITY_SCHEMA",
    "self_loops",
    "cycles",
    "missing_parents",
    "case_variant_parents",
    "relation_conflicts",
    "quality",
]

#: Relations whose child has exactly one parent (several parents = relation conflict).
_SINGLE_PARENT_RELATIONS = ("finetune", "quantized", "adapter")

#: Columns of :func:`quality`.
QUALITY_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.Utf8(),
    "model_id": pl.Utf8(),
    "detail": pl.Utf8(),
}


def _index(models: pl.DataFrame, edges: pl.DataFrame, index: GraphIndex | None) -> GraphIndex:
    return index if index is not None else GraphIndex.from_frames(models, edges)


def self_loops(edges: pl.DataFrame, *, index: GraphIndex | None = None) -> list[str]:
    """Models that name themselves as a parent (sorted).

    >>> self_loops(pl.DataFrame({"parent": ["a", "b"], "child": ["a", "c"]}))
    ['a']
    """
    index = _index(pl.DataFrame(schema={"id": pl.Utf8}), edges, index)
    return index.id_of(np.flatnonzero(index.self_loop)).sort().to_list()


def cycles(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> list[list[str]]:
    """Strongly connected components of more than one node, each sorted; largest first.

    >>> m = pl.DataFrame({"id": ["a", "b", "c"]})
    >>> cycles(m, pl.DataFrame({"parent": ["a", "b", "b"], "child": ["b", "a", "c"]}))
    [['a', 'b']]
    """
    index = _index(models, edges, index)
    labels = scc_labels(index)
    nodes = np.flatnonzero(labels != np.arange(index.n))
    if nodes.size == 0:
        return []
    members = np.unique(np.concatenate([nodes, labels[nodes]]))
    frame = pl.DataFrame(
        {"label": labels[members], "id": index.id_of(members)}
    ).group_by("label").agg(pl.col("id").sort())
    comps = frame.get_column("id").to_list()
    return sorted(comps, key=lambda c: (-len(c), c[0]))


def missing_parents(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> pl.DataFrame:
    """Parents referenced by edges that are ``missing`` (or have no model row at all).

    Returns a frame ``id``, ``n_children`` (distinct children) sorted by ``n_children``
    descending, then id.

    >>> m = pl.DataFrame({"id": ["gone", "c"], "status": ["missing", "ok"]})
    >>> missing_parents(m, pl.DataFrame({"parent": ["gone"], "child": ["c"]})).rows()
    [('gone', 1)]
    """
    index = _index(models, edges, index)
    n_children = index.out_degree + index.self_loop
    gone = np.flatnonzero(index.missing & (n_children > 0))
    return pl.DataFrame(
        {"id": index.id_of(gone), "n_children": n_children[gone].astype(np.int64)},
        schema={"id": pl.Utf8, "n_children": pl.Int64},
    ).sort(["n_children", "id"], descending=[True, False])


def case_variant_parents(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    index: GraphIndex | None = None,
    references: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Parent references spelled in another case than an existing repo id.

    A parent spelling with no (non-missing) model row whose lower-cased form equals the
    lower-cased id of exactly one existing model: the children's tags spell the parent
    ``org/Name`` while the repo is ``Org/name``. A breadth-first crawl down from the real
    id, on a Hub whose tag filter is case-sensitive, does not list these children; a scan
    of the whole Hub does.

    Stores and snapshots file an edge under the parent's real id when that model is known,
    so the spellings are read from ``references`` (``child``, ``parent`` as the record
    declares it: :meth:`ecograph.store.Store.parent_references`) when given, as well as
    from ``edges`` (frames built by hand keep the spelling there).

    Returns ``id`` (the spelling used), ``real_id`` (the existing model) and
    ``n_children`` (distinct children using that spelling), sorted by ``n_children``
    descending, then id.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["Org/Base", "u/ft", "x/A", "X/a"], "status": "ok"})
    >>> e = pl.DataFrame({"parent": ["org/base", "x/a", "gone/x"],
    ...                   "child": ["u/ft", "u/ft", "u/ft"]})
    >>> case_variant_parents(m, e).rows()   # x/a is ambiguous, gone/x has no repo
    [('org/base', 'Org/Base', 1)]
    >>> stored = pl.DataFrame({"parent": ["Org/Base"], "child": ["u/ft"]})
    >>> refs = pl.DataFrame({"child": ["u/ft"], "parent": ["org/base"]})
    >>> case_variant_parents(m, stored, references=refs).rows()
    [('org/base', 'Org/Base', 1)]
    """
    del index  # the check is a pair of joins on the spellings; no graph walk is needed
    schema = {"id": pl.Utf8, "real_id": pl.Utf8, "n_children": pl.Int64}
    pairs = [edges.select(pl.col("parent").cast(pl.Utf8), pl.col("child").cast(pl.Utf8))]
    if references is not None:
        pairs.append(references.select(pl.col("parent").cast(pl.Utf8),
                                       pl.col("child").cast(pl.Utf8)))
    existing = models
    if "status" in models.columns:
        existing = existing.filter(pl.col("status").fill_null("ok") != "missing")
    existing_ids = existing.get_column("id").cast(pl.Utf8)
    spelled = (
        pl.concat(pairs)
        .filter(~pl.col("parent").is_in(existing_ids.implode()))
        .group_by("parent")
        .agg(pl.col("child").n_unique().cast(pl.Int64).alias("n_children"))
        .rename({"parent": "id"})
        .with_columns(pl.col("id").str.to_lowercase().alias("key"))
    )
    if not spelled.height:
        return pl.DataFrame(schema=schema)
    real = (
        existing_ids.rename("real_id").to_frame()
        .filter(pl.col("real_id").str.to_lowercase().is_in(spelled.get_column("key").implode()))
        .unique()
        .with_columns(pl.col("real_id").str.to_lowercase().alias("key"))
        .group_by("key")
        .agg(pl.col("real_id").first(), pl.len().alias("n_spellings"))
        .filter(pl.col("n_spellings") == 1)
    )
    return (
        spelled.join(real, on="key", how="inner")
        .filter(pl.col("real_id") != pl.col("id"))
        .select(list(schema))
        .cast(pl.Schema(schema))
        .sort(["n_children", "id"], descending=[True, False])
    )


def relation_conflicts(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> pl.DataFrame:
    """Nodes whose declared relation conflicts with their number of parents.

    ``merge`` with a single parent, or ``finetune`` / ``quantized`` / ``adapter`` with
    several. Self-loops are not counted as parents (:func:`self_loops` reports them).
    Returns ``id``, ``relation``, ``n_parents`` sorted by id (no rows when ``models`` has
    no ``relation`` column).

    >>> m = pl.DataFrame({"id": ["a", "b", "c"], "relation": [None, "merge", "finetune"]})
    >>> e = pl.DataFrame({"parent": ["a", "a", "b"], "child": ["b", "c", "c"]})
    >>> relation_conflicts(m, e).rows()
    [('b', 'merge', 1), ('c', 'finetune', 2)]
    """
    if "relation" not in models.columns:
        return pl.DataFrame(schema={"id": pl.Utf8, "relation": pl.Utf8, "n_parents": pl.Int64})
    index = _index(models, edges, index)
    kids = np.flatnonzero((index.in_degree > 0) & (index.model_row >= 0))
    relation = models.get_column("relation").gather(index.model_row[kids])
    n_parents = pl.Series(index.in_degree[kids].astype(np.int64))
    bad = (
        ((relation == "merge") & (n_parents == 1))
        | (relation.is_in(_SINGLE_PARENT_RELATIONS) & (n_parents > 1))
    ).fill_null(False)
    return pl.DataFrame(
        {
            "id": index.id_of(kids[bad.to_numpy()]),
            "relation": relation.filter(bad),
            "n_parents": n_parents.filter(bad),
        }
    ).sort("id")


def _plural(count: pl.Expr, word: str, plural: str) -> pl.Expr:
    return count.cast(pl.Utf8) + pl.when(count == 1).then(pl.lit(word)).otherwise(pl.lit(plural))


def quality(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    index: GraphIndex | None = None,
    references: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every data-quality problem of the graph, one row each: ``kind``, ``model_id``,
    ``detail``.

    Kinds (one check function each, called here):

    - ``missing_parent`` (:func:`missing_parents`; detail: number of children),
    - ``case_variant_parent`` (:func:`case_variant_parents`; ``model_id`` is the spelling
      the children use, detail names the real id and the number of children): a
      breadth-first crawl from the real id on a case-sensitive Hub cannot find those
      children, a scan does. Spellings come from ``edges`` and from ``references``
      (the parents as the records declare them; see :func:`case_variant_parents`).
    - ``self_loop`` (:func:`self_loops`),
    - ``cycle`` (:func:`cycles`; one row per member; detail: the component's size and
      number),
    - ``relation_conflict`` (:func:`relation_conflicts`; detail: e.g.
      ``merge with 1 parent``).

    Sorted by kind, then model id.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["a", "b", "gone", "Org/Base"],
    ...                   "relation": [None, "merge", None, None],
    ...                   "status": ["ok", "ok", "missing", "ok"]})
    >>> e = pl.DataFrame({"parent": ["gone", "a", "org/base"], "child": ["b", "a", "u/ft"]})
    >>> for row in quality(m, e).iter_rows():
    ...     print(row)
    ('case_variant_parent', 'org/base', 'case variant of Org/Base: 1 child a case-sensitive BFS from Org/Base misses (a scan does not)')
    ('missing_parent', 'gone', '1 child')
    ('missing_parent', 'org/base', '1 child')
    ('relation_conflict', 'b', 'merge with 1 parent')
    ('self_loop', 'a', 'a is its own parent')
    """  # noqa: E501
    index = _index(models, edges, index)
    model_id, n = pl.col("model_id"), pl.col("n")
    gone = missing_parents(models, edges, index=index)
    variants = case_variant_parents(models, edges, references=references)
    comps = cycles(models, edges, index=index)
    parts = [
        gone.select(
            pl.lit("missing_parent").alias("kind"),
            pl.col("id").alias("model_id"),
            _plural(pl.col("n_children"), " child", " children").alias("detail"),
        ),
        variants.select(
            pl.lit("case_variant_parent").alias("kind"),
            pl.col("id").alias("model_id"),
            (
                "case variant of " + pl.col("real_id") + ": "
                + _plural(pl.col("n_children"), " child", " children")
                + " a case-sensitive BFS from " + pl.col("real_id")
                + " misses (a scan does not)"
            ).alias("detail"),
        ),
        pl.DataFrame({"model_id": self_loops(edges, index=index)}, schema={"model_id": pl.Utf8})
        .select(pl.lit("self_loop").alias("kind"), model_id,
                (model_id + " is its own parent").alias("detail")),
        pl.DataFrame(
            [("cycle", mid, f"cycle {i} of {len(comp)} models")
             for i, comp in enumerate(comps, 1) for mid in comp],
            schema=QUALITY_SCHEMA,
            orient="row",
        ),
        relation_conflicts(models, edges, index=index)
        .rename({"id": "model_id", "n_parents": "n"})
        .select(
            pl.lit("relation_conflict").alias("kind"),
            model_id,
            (pl.col("relation").cast(pl.Utf8) + " with " + _plural(n, " parent", " parents"))
            .alias("detail"),
        ),
    ]
    return pl.concat([p.cast(pl.Schema(QUALITY_SCHEMA)) for p in parts]).sort(
        ["kind", "model_id"]
    )
