"""Breadth-first search, once per data shape (pure).

Every family, depth, reach and spanning tree in ecograph comes from one of two
traversals:

- :func:`bfs_frame` walks an ``edges`` polars frame (string ids), one filter per
  generation. It serves single families and small id sets: :func:`ecograph.graph.family_frames`,
  :func:`family_ids` (the crawl's scope; ids compared case-insensitively).
- :func:`bfs_csr` walks CSR adjacency arrays (integer node positions), one numpy gather
  per generation, for many independent searches at once. It serves whole-Hub work:
  :func:`expand_families` (every foundation's family), :func:`reach_mask` (descendants
  and ancestors of a node set), :func:`foundation_counts` (bridges), the spanning tree
  of :func:`ecograph.layout.spanning_tree` and the family sizes of :mod:`ecograph.synth`.

Both are cycle-safe: a node is reached once per search, at its shortest depth, and a
search never comes back to its own sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ._arrays import _gather, _unique

if TYPE_CHECKING:
    from .index import GraphIndex

__all__ = [
    "bfs_frame",
    "family_ids",
    "bfs_csr",
    "reach_mask",
    "expand_families",
    "foundation_counts",
]


# --------------------------------------------------------------------------- frames


def bfs_frame(
    edges: pl.DataFrame,
    roots: Iterable[str],
    *,
    max_depth: int | None = None,
    ignore_case: bool = False,
) -> pl.DataFrame:
    """Every node reachable from ``roots`` along ``edges``, with its depth.

    Parameters
    ----------
    edges : polars.DataFrame
        ``parent`` and ``child`` columns (string ids).
    roots : iterable of str
        Where the search starts (depth 0); they need not appear in ``edges``.
    max_depth : int, optional
        Stop after this many generations.
    ignore_case : bool
        Compare ids case-insensitively; the ``id`` column then holds lower-cased ids.

    Returns
    -------
    polars.DataFrame
        ``id`` (Utf8) and ``depth`` (Int64): the roots at depth 0, then every reachable
        node once, at its shortest distance from the nearest root (cycles terminate).

    Examples
    --------
    >>> e = pl.DataFrame({"parent": ["r", "r", "a", "b", "m"], "child": ["a", "b", "m", "m", "R"]})
    >>> bfs_frame(e, ["r"]).sort("depth", "id").rows()
    [('r', 0), ('a', 1), ('b', 1), ('m', 2), ('R', 3)]
    >>> bfs_frame(e, ["R"], ignore_case=True, max_depth=1).sort("depth", "id").rows()
    [('r', 0), ('a', 1), ('b', 1)]
    """
    if ignore_case:
        links = edges.select(
            pl.col("parent").cast(pl.Utf8).str.to_lowercase(),
            pl.col("child").cast(pl.Utf8).str.to_lowercase(),
        )
    else:
        links = edges.select(pl.col("parent").cast(pl.Utf8), pl.col("child").cast(pl.Utf8))
    start = pl.Series("id", list(roots), dtype=pl.Utf8)
    if ignore_case:
        start = start.str.to_lowercase()
    reached = pl.DataFrame({"id": start.unique(maintain_order=True)}).with_columns(
        pl.lit(0, dtype=pl.Int64).alias("depth")
    )
    frontier = reached.get_column("id")
    depth = 0
    while frontier.len() and (max_depth is None or depth < max_depth):
        depth += 1
        found = (
            links.filter(pl.col("parent").is_in(frontier.implode()))
            .select(pl.col("child").alias("id"))
            .drop_nulls()
            .unique()
            .join(reached, on="id", how="anti")
        )
        reached = pl.concat(
            [reached, found.with_columns(pl.lit(depth, dtype=pl.Int64).alias("depth"))]
        )
        frontier = found.get_column("id")
    return reached


def family_ids(edges: pl.DataFrame, roots: Iterable[str]) -> set[str]:
    """Ids reachable from ``roots`` along ``edges`` (roots included), for a crawl's scope.

    Ids compare case-insensitively (the Hub treats ``Org/Name`` and ``org/name`` as one
    repo); the roots are returned as given and every other member in each spelling it has
    as a ``child`` in ``edges``.

    Examples
    --------
    >>> e = pl.DataFrame({"parent": ["Org/R", "org/a", "x/y"], "child": ["org/A", "u/b", "x/z"]})
    >>> sorted(family_ids(e, ["org/r"]))
    ['org/A', 'org/r', 'u/b']
    """
    roots = list(roots)
    keys = bfs_frame(edges, roots, ignore_case=True).get_column("id")
    children = edges.get_column("child").cast(pl.Utf8).drop_nulls().unique()
    lower = children.str.to_lowercase()
    root_keys = pl.Series([r.lower() for r in roots], dtype=pl.Utf8)
    members = children.filter(lower.is_in(keys.implode()) & ~lower.is_in(root_keys.implode()))
    return set(roots) | set(members.to_list())


# --------------------------------------------------------------------------- integers


def bfs_csr(
    indptr: np.ndarray,
    adj: np.ndarray,
    sources: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    in_degree: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first search over CSR adjacency, many searches at once.

    The neighbours of node ``i`` are ``adj[indptr[i]:indptr[i + 1]]``. Each source belongs
    to the search named by its label; sources sharing a label are searched together (one
    set of visited nodes). Each search yields every node it reaches once, at its shortest
    depth, and never its own sources; cycles terminate.

    Vectorised over (search, node) pairs: one CSR gather per generation. A node with a
    single in-edge is produced once per search (its parent is), so only nodes with several
    in-edges, and sources, are checked against the pairs already visited.

    Parameters
    ----------
    indptr, adj : numpy.ndarray
        CSR adjacency (``indptr`` has one entry more than there are nodes).
    sources : numpy.ndarray
        Node positions where the searches start.
    labels : numpy.ndarray, optional
        The search of each source (non-negative ints). Default: one search from all.
    in_degree : numpy.ndarray, optional
        Number of entries of each node in ``adj`` (computed when not given).

    Returns
    -------
    label, node, depth : numpy.ndarray
        Parallel arrays (int64, int64, int32), one entry per (search, reached node) pair
        with depth >= 1, generation by generation.

    Examples
    --------
    >>> indptr = np.array([0, 2, 3, 4, 5])   # 0 -> 1, 2;  1 -> 3;  2 -> 3;  3 -> 0
    >>> adj = np.array([1, 2, 3, 3, 0])
    >>> [a.tolist() for a in bfs_csr(indptr, adj, np.array([0]))]
    [[0, 0, 0], [1, 2, 3], [1, 1, 2]]
    >>> [a.tolist() for a in bfs_csr(indptr, adj, np.array([1, 2]), labels=np.array([0, 1]))]
    [[0, 1, 0, 1, 0, 1], [3, 3, 0, 0, 2, 1], [1, 1, 2, 2, 3, 3]]
    """
    n = indptr.size - 1
    sources = np.asarray(sources, dtype=np.int64)
    if labels is None:
        labels = np.zeros(sources.size, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if in_degree is None:
        in_degree = np.bincount(adj, minlength=n)
    check = in_degree >= 2  # a new array: safe to mark the sources in it
    check[sources] = True
    width = np.int64(max(n, 1))
    start = _unique(labels * width + sources)
    seen: list[np.ndarray] = [start]  # sorted chunks of visited keys label * n + node
    fr_label, fr_node = start // width, start % width
    out_l: list[np.ndarray] = []
    out_n: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    depth = 0
    while fr_node.size:
        depth += 1
        rep, node = _gather(indptr, adj, fr_node)
        if node.size == 0:
            break
        label = fr_label[rep]
        node = node.astype(np.int64)
        m = check[node]
        if m.any():
            keys = label[m] * width + node[m]
            uk, first = np.unique(keys, return_index=True)
            fresh = np.ones(uk.size, dtype=bool)
            if len(seen) > 16:  # deep graphs: merge the chunks now and then
                seen = [np.unique(np.concatenate(seen))]
            for chunk in seen:  # cheaper than merging every generation
                pos = np.minimum(np.searchsorted(chunk, uk), chunk.size - 1)
                fresh &= chunk[pos] != uk
            idx = np.flatnonzero(m)
            keep = np.ones(node.size, dtype=bool)
            keep[idx] = False
            keep[idx[first[fresh]]] = True
            if fresh.any():
                seen.append(uk[fresh])
            label, node = label[keep], node[keep]
        out_l.append(label)
        out_n.append(node)
        out_d.append(np.full(node.size, depth, dtype=np.int32))
        fr_label, fr_node = label, node
    if not out_l:
        z = np.zeros(0, np.int64)
        return z, z.copy(), np.zeros(0, np.int32)
    return np.concatenate(out_l), np.concatenate(out_n), np.concatenate(out_d)


def reach_mask(
    indptr: np.ndarray,
    adj: np.ndarray,
    sources: np.ndarray,
    *,
    in_degree: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of the nodes reachable from any of ``sources`` (sources included).

    >>> indptr, adj = np.array([0, 1, 2, 2, 2]), np.array([1, 2])   # 0 -> 1 -> 2;  3
    >>> reach_mask(indptr, adj, np.array([1])).tolist()
    [False, True, True, False]
    """
    mask = np.zeros(indptr.size - 1, dtype=bool)
    mask[np.asarray(sources, dtype=np.int64)] = True
    _, node, _ = bfs_csr(indptr, adj, sources, in_degree=in_degree)
    mask[node] = True
    return mask


def expand_families(
    index: GraphIndex, roots: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (root, node, depth) with ``node`` in family(root), for many roots at once.

    One :func:`bfs_csr` search per root: each node is kept once per root at its shortest
    depth, the root itself is never part of its family, and cycles terminate.

    Parameters
    ----------
    index : GraphIndex
    roots : numpy.ndarray
        Node positions of the roots (``root`` in the result is the position in ``roots``).

    Returns
    -------
    root, node, depth : numpy.ndarray
        Parallel int arrays, one entry per (root, family node) pair, in BFS order.

    Examples
    --------
    >>> from ecograph.graph import GraphIndex
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "m"]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "a", "b", "m"], "child": ["a", "b", "m", "m", "r"]})
    >>> g = GraphIndex.from_frames(m, e)
    >>> r, node, depth = expand_families(g, g.positions(["r"]))
    >>> sorted(zip(g.id_of(node).to_list(), depth.tolist()))
    [('a', 1), ('b', 1), ('m', 2)]
    """
    roots = np.asarray(roots, dtype=np.int64)
    return bfs_csr(
        index.indptr,
        index.children,
        roots,
        labels=np.arange(roots.size, dtype=np.int64),
        in_degree=index.in_degree,
    )


def foundation_counts(
    index: GraphIndex, fmask: np.ndarray, among: np.ndarray | None = None
) -> np.ndarray:
    """Number of foundations each node descends from.

    With ``among`` (a node mask), only the foundations that are ancestors of those nodes
    are expanded — enough to count them exactly for the nodes of ``among``.

    >>> from ecograph.graph import GraphIndex
    >>> g = GraphIndex.from_frames(pl.DataFrame({"id": ["f1", "f2", "x"]}),
    ...     pl.DataFrame({"parent": ["f1", "f2"], "child": ["x", "x"]}))
    >>> dict(sorted(zip(g.ids.to_list(), foundation_counts(g, g.foundation_mask()).tolist())))
    {'f1': 0, 'f2': 0, 'x': 2}
    """
    found = np.flatnonzero(fmask)
    if among is not None:
        found = found[index.ancestors_mask(np.flatnonzero(among))[found]]
    _, node, _ = expand_families(index, found)
    return np.bincount(node, minlength=index.n)
