"""Longest chains and strongly connected components of the whole graph (pure).

Both peel the integer graph of :class:`~ecograph.graph.GraphIndex` vectorially (Kahn's
algorithm, a generation at a time) and hand only what is left, the nodes on or between
cycles (a few hundred in real data), to networkx.
"""

from __future__ import annotations

import numpy as np

from ._arrays import _decrement, _dedupe, _gather
from .index import GraphIndex

__all__ = ["scc_labels", "chain_heights"]


def scc_labels(index: GraphIndex) -> np.ndarray:
    """Component label of every node: its own position, or for members of a strongly
    connected component of several nodes, the smallest position in it.

    Scalable: nodes that cannot be on a cycle are peeled off vectorially (repeatedly
    removing nodes without parents, then nodes without children, in what is left); only the
    remaining core — cycles and the nodes between them, a few hundred in real data — goes
    to networkx.

    >>> import polars as pl
    >>> g = GraphIndex.from_frames(pl.DataFrame({"id": ["a", "b", "c"]}),
    ...     pl.DataFrame({"parent": ["a", "b", "b"], "child": ["b", "a", "c"]}))
    >>> a, b, c = scc_labels(g)[g.positions(["a", "b", "c"])].tolist()
    >>> a == b == int(min(g.positions(["a", "b"]))), c == int(g.positions(["c"])[0])
    (True, True)
    """
    n = index.n
    alive = np.ones(n, dtype=bool)
    src, dst = index.src, index.dst
    # 1. Kahn from the sources: drop nodes whose parents are all dropped
    indeg = index.in_degree.copy()
    frontier = np.flatnonzero(indeg == 0)
    while frontier.size:
        alive[frontier] = False
        _, kids = _gather(index.indptr, index.children, frontier)
        if kids.size == 0:
            break
        _decrement(indeg, kids)
        kids = _dedupe(kids, n)
        frontier = kids[(indeg[kids] == 0) & alive[kids]]
    if alive.any():
        # 2. Kahn from the sinks, inside what is left
        e_alive = alive[src] & alive[dst]
        outdeg = np.bincount(src[e_alive], minlength=n)
        in_ptr, parents = index._in_csr
        frontier = np.flatnonzero(alive & (outdeg == 0))
        while frontier.size:
            alive[frontier] = False
            _, par = _gather(in_ptr, parents, frontier)
            par = par[alive[par]]
            if par.size == 0:
                break
            _decrement(outdeg, par)
            par = _dedupe(par, n)
            frontier = par[outdeg[par] == 0]
    labels = np.arange(n, dtype=np.int64)
    core = np.flatnonzero(alive)
    if core.size == 0:
        return labels
    e_alive = alive[src] & alive[dst]
    import networkx as nx  # only the few nodes on or between cycles get here

    G = nx.DiGraph()
    G.add_nodes_from(core.tolist())
    G.add_edges_from(zip(src[e_alive].tolist(), dst[e_alive].tolist(), strict=True))
    for comp in nx.strongly_connected_components(G):
        if len(comp) > 1:
            members = np.fromiter(comp, dtype=np.int64)
            labels[members] = members.min()
    return labels


def chain_heights(index: GraphIndex) -> np.ndarray:
    """``longest_chain`` of every node: the longest path starting at it, self-loops removed,
    on the condensation (strongly connected components collapsed) — all nodes at once.

    Everything reachable from a node is in its family, so the longest chain from ``R`` in
    the (condensed) family graph is the height of ``R``'s component in the condensation of
    the whole graph. Computed by peeling sinks level by level (reverse topological order);
    the few nodes that can reach a cycle are then condensed with networkx.

    Examples
    --------
    >>> import polars as pl
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "c"]})
    >>> e = pl.DataFrame({"parent": ["r", "a", "b", "b"], "child": ["a", "b", "a", "c"]})
    >>> g = GraphIndex.from_frames(m, e)   # r -> {a <-> b} -> c
    >>> dict(sorted(zip(g.ids.to_list(), chain_heights(g).tolist())))
    {'a': 1, 'b': 1, 'c': 0, 'r': 2}
    """
    n = index.n
    height = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    outdeg = index.out_degree.copy()
    in_ptr, parents = index._in_csr
    # 1. peel sinks level by level: exact for every node that cannot reach a cycle
    frontier = np.flatnonzero(outdeg == 0)
    level = 0
    while frontier.size:
        height[frontier] = level
        done[frontier] = True
        _, par = _gather(in_ptr, parents, frontier)
        if par.size == 0:
            break
        _decrement(outdeg, par)
        par = _dedupe(par, n)
        frontier = par[outdeg[par] == 0]
        level += 1
    rest = np.flatnonzero(~done)
    if rest.size == 0:
        return height
    # 2. the nodes left reach a cycle (cycle members and their ancestors: few): condense
    #    them with networkx and finish the longest paths in reverse topological order
    sub_src, sub_dst = _gather(index.indptr, index.children, rest)
    sub_src = rest[sub_src]
    inner = ~done[sub_dst]
    import networkx as nx  # only the few nodes on or between cycles get here

    G = nx.DiGraph()
    G.add_nodes_from(rest.tolist())
    G.add_edges_from(zip(sub_src[inner].tolist(), sub_dst[inner].tolist(), strict=True))
    C = nx.condensation(G)
    comp_height: dict[int, int] = {}
    for comp in reversed(list(nx.topological_sort(C))):
        members = np.fromiter(C.nodes[comp]["members"], dtype=np.int64)
        h = 0
        for nxt in C.successors(comp):
            h = max(h, comp_height[nxt] + 1)
        _, kids = _gather(index.indptr, index.children, members)
        kids = kids[done[kids]]
        if kids.size:
            h = max(h, int(height[kids].max()) + 1)
        comp_height[comp] = h
        height[members] = h
    return height
