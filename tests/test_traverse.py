"""graph.traverse: the two breadth-first searches (frames, integer arrays) and every caller
of them agree with networkx on random small graphs (cycles, self-loops, merges, case
variants, duplicate edges)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecograph import synth
from ecograph.graph import GraphIndex, bfs_csr, bfs_frame, family_ids
from ecograph.graph.traverse import reach_mask
from ecograph.layout import spanning_tree

POOL = [f"{org}/{name}" for org in ("a", "A", "b") for name in ("x", "X", "y", "z")]


@st.composite
def edge_frames(draw: st.DrawFn) -> pl.DataFrame:
    pairs = draw(st.lists(st.tuples(st.sampled_from(POOL), st.sampled_from(POOL)), max_size=30))
    return pl.DataFrame(
        {"parent": [p for p, _ in pairs], "child": [c for _, c in pairs]},
        schema={"parent": pl.Utf8, "child": pl.Utf8},
    )


def _multi_source_depths(G: nx.DiGraph, roots: list[str], cutoff: int | None) -> dict[str, int]:
    depth = {r: 0 for r in roots}
    frontier = list(dict.fromkeys(roots))
    d = 0
    while frontier and (cutoff is None or d < cutoff):
        d += 1
        nxt = []
        for u in frontier:
            for v in (G.successors(u) if u in G else ()):
                if v not in depth:
                    depth[v] = d
                    nxt.append(v)
        frontier = nxt
    # the same, from networkx's own shortest paths
    exp = {}
    for r in roots:
        lengths = nx.single_source_shortest_path_length(G, r, cutoff) if r in G else {r: 0}
        for v, k in lengths.items():
            exp[v] = min(k, exp.get(v, k))
    assert depth == exp
    return depth


@settings(max_examples=150, deadline=None)
@given(edge_frames(), st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
       st.one_of(st.none(), st.integers(0, 3)), st.booleans())
def test_bfs_frame_equals_networkx(edges, roots, max_depth, ignore_case):
    fold = str.lower if ignore_case else str
    G = nx.DiGraph((fold(p), fold(c)) for p, c in edges.iter_rows())
    exp = _multi_source_depths(G, [fold(r) for r in roots], max_depth)
    got = bfs_frame(edges, roots, max_depth=max_depth, ignore_case=ignore_case)
    assert got.schema == pl.Schema({"id": pl.Utf8, "depth": pl.Int64})
    assert dict(got.iter_rows()) == exp and got.height == len(exp)


@settings(max_examples=150, deadline=None)
@given(edge_frames(), st.lists(st.sampled_from(POOL), min_size=1, max_size=3))
def test_family_ids_equals_networkx(edges, roots):
    """The crawl's scope: ids compare case-insensitively, members keep their spelling."""
    G = nx.DiGraph((p.lower(), c.lower()) for p, c in edges.iter_rows())
    reach: set[str] = set()
    for r in roots:
        reach |= nx.descendants(G, r.lower()) | {r.lower()} if r.lower() in G else {r.lower()}
    root_keys = {r.lower() for r in roots}
    exp = set(roots) | {c for c in edges.get_column("child")
                        if c.lower() in reach and c.lower() not in root_keys}
    assert family_ids(edges, roots) == exp


@st.composite
def csr_graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    n = draw(st.integers(1, 15))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))
    return n, pairs


def _csr(n: int, pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    order = np.argsort(arr[:, 0], kind="stable")
    indptr = np.searchsorted(arr[order, 0], np.arange(n + 1))
    return indptr, arr[order, 1]


@settings(max_examples=200, deadline=None)
@given(csr_graphs(), st.data())
def test_bfs_csr_searches_equal_networkx(graph, data):
    """Several searches at once, some with several sources: each search reaches every node
    at its shortest distance from its nearest source, never its own sources."""
    n, pairs = graph
    indptr, adj = _csr(n, pairs)
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(pairs)
    sources = data.draw(st.lists(st.integers(0, n - 1), max_size=8))
    labels = data.draw(st.lists(st.integers(0, 3), min_size=len(sources),
                                max_size=len(sources)))
    label, node, depth = bfs_csr(indptr, adj, np.array(sources, dtype=np.int64),
                                 labels=np.array(labels, dtype=np.int64))
    got = sorted(zip(label.tolist(), node.tolist(), depth.tolist(), strict=True))
    exp = []
    for lab in sorted(set(labels)):
        srcs = {s for s, k in zip(sources, labels, strict=True) if k == lab}
        best: dict[int, int] = {}
        for s in srcs:
            for v, k in nx.single_source_shortest_path_length(G, s).items():
                best[v] = min(k, best.get(v, k))
        exp += [(lab, v, k) for v, k in best.items() if v not in srcs]
    assert got == sorted(exp)
    assert depth.tolist() == sorted(depth.tolist())  # generation by generation
    # one search from all sources: the reach masks
    mask = reach_mask(indptr, adj, np.array(sources, dtype=np.int64))
    exp_mask = set(sources).union(*(nx.descendants(G, s) for s in sources))
    assert set(np.flatnonzero(mask).tolist()) == exp_mask


@settings(max_examples=100, deadline=None)
@given(csr_graphs(), st.data())
def test_index_reach_masks_equal_networkx(graph, data):
    n, pairs = graph
    ids = [f"n/{i}" for i in range(n)]
    edges = pl.DataFrame({"parent": [ids[p] for p, _ in pairs],
                          "child": [ids[c] for _, c in pairs]},
                         schema={"parent": pl.Utf8, "child": pl.Utf8})
    g = GraphIndex.from_frames(pl.DataFrame({"id": ids}), edges, extra=ids)
    G = nx.DiGraph()
    G.add_nodes_from(ids)
    G.add_edges_from(edges.iter_rows())
    picked = data.draw(st.lists(st.sampled_from(ids), max_size=4))
    pos = g.positions(picked)
    down = set(g.id_of(np.flatnonzero(g.descendants_mask(pos))).to_list())
    up = set(g.id_of(np.flatnonzero(g.ancestors_mask(pos))).to_list())
    assert down == set(picked).union(*(nx.descendants(G, x) for x in picked))
    assert up == set(picked).union(*(nx.ancestors(G, x) for x in picked))


@settings(max_examples=150, deadline=None)
@given(edge_frames(), st.sampled_from(POOL))
def test_spanning_tree_equals_networkx(edges, root):
    """Depth = shortest path from the root; tree parent = smallest-id parent on the previous
    generation; BFS order by (depth, tree parent, id); every other link is extra."""
    ids = sorted(set(POOL) - {"b/z"})  # b/z: an endpoint outside the family's nodes
    pairs = [(p, c) for p, c in edges.iter_rows()]
    t = spanning_tree(ids, pairs, root)
    G = nx.DiGraph()
    G.add_node(root)
    G.add_edges_from((p, c) for p, c in pairs if p != c and p in ids and c in ids)
    depth = nx.single_source_shortest_path_length(G, root)
    parent = {v: min(u for u in G.predecessors(v) if depth.get(u) == d - 1)
              for v, d in depth.items() if d > 0}
    order = [root] + sorted((v for v in depth if v != root),
                            key=lambda v: (depth[v], parent[v], v))
    assert t.ids == order
    assert t.depth.tolist() == [depth[v] for v in order]
    assert [t.ids[p] if p >= 0 else None for p in t.parent] == [parent.get(v) for v in order]
    assert [[t.ids[k] for k in kids] for kids in t.children] == [
        sorted(c for c, p in parent.items() if p == v) for v in order
    ]
    extra = sorted((order.index(p), order.index(c)) for p, c in pairs
                   if p != c and p in depth and c in depth and parent.get(c) != p)
    assert t.extra_edges == extra


@pytest.mark.parametrize("seed", [0, 1])
def test_synth_family_sizes_equal_networkx(seed: int):
    hub = synth.build(3000, seed)
    src, dst = synth.edge_arrays(hub)
    G = nx.DiGraph()
    G.add_nodes_from(range(hub.n))
    G.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    roots = np.concatenate([np.flatnonzero(hub.relation == 0)[:50], np.arange(0, hub.n, 97)])
    sizes = synth.family_sizes(hub, roots)
    assert sizes == {r: len(nx.descendants(G, r) - {r}) for r in roots.tolist()}
    assert max(sizes.values()) > 10  # real families, not only leaves
