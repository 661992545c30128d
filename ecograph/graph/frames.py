"""The fork graph as frames: networkx conversion, families, foundations, bridges (pure).

Everything here works on the ``models`` / ``edges`` polars frames of
:mod:`ecograph.frames` and never touches the network or the disk. Definitions follow
DESIGN §5:

- **family(R)** = every node reachable from ``R`` along edges, ``R`` excluded; each node
  has a **depth** = shortest-path length from ``R`` (its generation).
- **foundation** = a non-missing node with no parents that has at least one child.
  Self-loops are ignored here (a model that names itself as its base is still a
  foundation if nothing else is its parent).
- **bridges**: family nodes that descend from more than one foundation (cross-family
  merges).

Single families are walked on the frames (:func:`ecograph.graph.traverse.bfs_frame`);
whole-graph answers (foundations, bridges) come from the integer engine
(:class:`~ecograph.graph.GraphIndex`), the same one :mod:`ecograph.metrics` uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..errors import UnknownModelError
from ..resolve import suggest
from .index import GraphIndex
from .traverse import bfs_frame, foundation_counts

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_networkx", "family_frames", "foundations", "bridges"]


# --------------------------------------------------------------------------- networkx


def to_networkx(nodes: pl.DataFrame, edges: pl.DataFrame) -> nx.DiGraph:
    """Build a :class:`networkx.DiGraph` from a ``nodes`` frame and an ``edges`` frame.

    Every column of ``nodes`` except ``id`` becomes a node attribute (datetimes stay
    :class:`datetime.datetime`; null values are left out, the networkx convention for "no
    value"). Each edge carries its ``relation``. Edges whose ends are not both in ``nodes``
    are dropped, so ``to_networkx(*family_frames(models, edges, root))`` is the family graph.

    Parameters
    ----------
    nodes : polars.DataFrame
        One row per node with at least an ``id`` column (a ``models`` frame, or the nodes of
        :func:`family_frames`, which add ``depth``).
    edges : polars.DataFrame
        ``parent``, ``child`` and ``relation`` columns.

    Returns
    -------
    networkx.DiGraph

    Examples
    --------
    >>> nodes = pl.DataFrame({"id": ["a/r", "b/c"], "downloads": [10, None]})
    >>> edges = pl.DataFrame({"parent": ["a/r"], "child": ["b/c"], "relation": ["finetune"]})
    >>> G = to_networkx(nodes, edges)
    >>> G.nodes["a/r"], G.nodes["b/c"]
    ({'downloads': 10}, {})
    >>> G.edges["a/r", "b/c"]
    {'relation': 'finetune'}
    """
    import networkx as nx  # loaded only when a graph object is asked for

    G = nx.DiGraph()
    attrs = [c for c in nodes.columns if c != "id"]
    for row in nodes.iter_rows(named=True):
        nid = row["id"]
        G.add_node(nid, **{k: row[k] for k in attrs if row[k] is not None})
    if edges.height:
        has_rel = "relation" in edges.columns
        cols = ["parent", "child"] + (["relation"] if has_rel else [])
        for erow in edges.select(cols).iter_rows():
            p, c = erow[0], erow[1]
            if p in G and c in G:
                if has_rel and erow[2] is not None:
                    G.add_edge(p, c, relation=erow[2])
                else:
                    G.add_edge(p, c)
    return G



# --------------------------------------------------------------------------- families


def _isin(col: str, values: pl.Series) -> pl.Expr:
    return pl.col(col).is_in(values.implode())


def family_frames(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    root: str,
    *,
    max_depth: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The family of ``root``: its nodes with their depth, and the edges among them.

    The root is included at depth 0; every node reachable from it appears once, at its
    shortest depth (a merge reached by several paths counts once; cycles terminate).

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames`.
    root : str
        A model id present in ``models`` (see :func:`ecograph.resolve.resolve_root` for
        user input).
    max_depth : int, optional
        Stop after this many generations.

    Returns
    -------
    nodes : polars.DataFrame
        The ``models`` rows of the root and its family plus a ``depth`` column (Int64),
        sorted by (depth, id).
    edges : polars.DataFrame
        Every edge whose two ends are in ``nodes`` (self-loops and edges back to the root
        included), sorted by (parent, child).

    Raises
    ------
    UnknownModelError
        If ``root`` is not in ``models``.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "m", "x"]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "a", "b", "x"],
    ...                   "child":  ["a", "b", "m", "m", "m"], "relation": "finetune"})
    >>> nodes, fam_edges = family_frames(m, e, "r")
    >>> nodes.select("id", "depth").rows()
    [('r', 0), ('a', 1), ('b', 1), ('m', 2)]
    >>> fam_edges.height
    4
    """
    if not models.filter(pl.col("id") == root).height:
        raise UnknownModelError(root, suggest(models.get_column("id"), root))
    depth_frame = bfs_frame(edges, [root], max_depth=max_depth)
    ids = depth_frame.get_column("id")
    nodes = (
        models.filter(_isin("id", ids))
        .unique("id", keep="last", maintain_order=True)
        .join(depth_frame, on="id", how="inner")
        .sort(["depth", "id"])
    )
    fam_edges = edges.filter(_isin("parent", ids) & _isin("child", ids)).sort(
        ["parent", "child"]
    )
    return nodes, fam_edges


# --------------------------------------------------------------------------- foundations


def foundations(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> list[str]:
    """Foundations: non-missing nodes with no parents that have at least one child (sorted).

    Self-loops are ignored on both sides; a node without a model row counts as missing.
    Pass ``index`` (a :class:`GraphIndex` of the same frames) to reuse it.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "c", "gone", "solo"],
    ...                   "status": ["ok", "ok", "missing", "ok"]})
    >>> e = pl.DataFrame({"parent": ["r", "gone", "solo"], "child": ["c", "c", "solo"]})
    >>> foundations(m, e)
    ['r']
    """
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    return index.id_of(np.flatnonzero(index.foundation_mask())).sort().to_list()


def bridges(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> pl.DataFrame:
    """Bridge nodes: descendants of more than one foundation (cross-family merges).

    Returns ``id``, ``n_foundations`` sorted by ``n_foundations`` descending, then id.
    Pass ``index`` (a :class:`GraphIndex` of the same frames) to reuse it.

    >>> m = pl.DataFrame({"id": ["f1", "f2", "x", "y"]})
    >>> e = pl.DataFrame({"parent": ["f1", "f2", "x"], "child": ["x", "x", "y"]})
    >>> bridges(m, e).rows()
    [('x', 2), ('y', 2)]
    """
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    n_found = foundation_counts(index, index.foundation_mask())
    nodes = np.flatnonzero(n_found > 1)
    return pl.DataFrame(
        {"id": index.id_of(nodes), "n_foundations": n_found[nodes].astype(np.int64)},
        schema={"id": pl.Utf8, "n_foundations": pl.Int64},
    ).sort(["n_foundations", "id"], descending=[True, False])
