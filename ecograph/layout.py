"""Tidy-tree layouts of a fork family (pure: no matplotlib, no I/O).

A family is a DAG (merges have several parents), so it is drawn on its **BFS spanning
tree**: every node hangs under its *first* parent, i.e. the parent on the previous
generation with the smallest id (deterministic). The other parent links are returned as
``extra_edges`` for the renderer to draw faintly.

Space is shared like in a tidy tree: every visible leaf gets one slot and an inner node's
span is the union of its children's spans, so a subtree's angular (radial) or horizontal
(layered) extent is proportional to its leaf count and no two subtrees overlap. Radial:
the root is at the origin and generation ``d`` sits on the circle of radius ``d``.
Layered: the root is at the top, generation ``d`` on the row ``y = -d``.

Above a node budget the **largest hubs stay expanded** and the rest is **folded**
(:func:`fold_tree`): nodes are drawn in order of subtree size (largest first, ties: a
priority such as downloads, then id) while visible nodes + badges fit in ``max_nodes``;
every other node is counted in a "+N" badge of its nearest drawn ancestor, one badge per
key (relation). A badge takes one leaf slot next to its parent's visible children.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import UsageError
from .graph.traverse import bfs_csr

__all__ = ["SpanningTree", "TreeLayout", "spanning_tree", "fold_tree", "tree_layout",
           "random_family", "KEYED_BADGE_SHARE"]

#: Renderers fold into one badge per relation ("+23 quantized") unless such badges would
#: take more than this share of the node budget's markers; then one badge per parent.
KEYED_BADGE_SHARE = 2 / 3


@dataclass(frozen=True)
class SpanningTree:
    """The BFS spanning tree of a family. Index 0 is the root; ``order`` is BFS order."""

    ids: list[str]
    parent: np.ndarray  # int64, -1 for the root
    depth: np.ndarray  # int64
    children: list[list[int]]  # tree children, in drawing order
    extra_edges: list[tuple[int, int]]  # non-tree (parent, child) links between tree nodes

    def __len__(self) -> int:
        return len(self.ids)

    def subtree_sizes(self) -> np.ndarray:
        """Number of nodes in each node's subtree (itself included)."""
        size = np.ones(len(self.ids), dtype=np.int64)
        bounds = _generation_bounds(self.depth)
        for d in range(len(bounds) - 2, 0, -1):  # BFS order: one generation at a time
            lo, hi = bounds[d], bounds[d + 1]
            np.add.at(size, self.parent[lo:hi], size[lo:hi])
        return size


@dataclass
class TreeLayout:
    """Positions of the visible nodes and badges of a (possibly folded) spanning tree."""

    kind: str
    tree: SpanningTree
    visible: np.ndarray  # indices into tree.ids, BFS order (root first)
    x: np.ndarray  # per visible node
    y: np.ndarray
    badge_parent: np.ndarray  # tree index of the node carrying each badge
    badge_count: np.ndarray  # nodes folded into each badge
    badge_x: np.ndarray
    badge_y: np.ndarray
    n_slots: int  # leaf slots (visible leaves + badges)
    s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # slot coordinate per node
    badge_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    badge_key: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    folded: int = 0  # nodes hidden in badges
    meta: dict[str, float] = field(default_factory=dict)

    @property
    def n_markers(self) -> int:
        """Visible nodes plus badges: what the node budget counts."""
        return len(self.visible) + len(self.badge_parent)

    def radius(self, depth: np.ndarray | float) -> np.ndarray:
        """Ring radius of generation ``depth`` (radial layouts)."""
        d = np.asarray(depth, dtype=np.float64)
        return np.where(d > 0, d + self.meta.get("inner_radius", 0.0), 0.0)

    def angle(self, s: np.ndarray | float) -> np.ndarray:
        """Angle (radians, unwrapped: monotone in the slot coordinate) of slot ``s``."""
        return _angle(np.asarray(s, dtype=np.float64), self.n_slots)


def spanning_tree(
    ids: Sequence[str],
    edges: Sequence[tuple[str, str]],
    root: str,
    *,
    order_key: Mapping[str, tuple] | None = None,
) -> SpanningTree:
    """BFS spanning tree from ``root`` over ``edges`` (parent, child); cycle-safe.

    Each node's tree parent is its smallest-id parent on the previous generation. Sibling
    order: ``order_key[id]`` (default: id). Nodes not reachable from the root are ignored;
    self-loops are dropped.

    >>> t = spanning_tree(["r", "a", "b", "m"],
    ...                   [("r", "a"), ("r", "b"), ("b", "m"), ("a", "m"), ("m", "r")], "r")
    >>> t.ids, t.parent.tolist(), t.depth.tolist()
    (['r', 'a', 'b', 'm'], [-1, 0, 0, 1], [0, 1, 1, 2])
    >>> [(t.ids[p], t.ids[c]) for p, c in t.extra_edges]
    [('b', 'm'), ('m', 'r')]
    """
    known = set(ids)
    names = sorted(known | {root})  # node = rank in id order: "smallest id" = smallest node
    rank = {name: i for i, name in enumerate(names)}
    pairs = np.array(
        [(rank[p], rank[c]) for p, c in edges if p != c and p in known and c in known],
        dtype=np.int64,
    ).reshape(-1, 2)
    src, dst = pairs[:, 0], pairs[:, 1]
    by_src = np.argsort(src, kind="stable")
    indptr = np.searchsorted(src[by_src], np.arange(len(names) + 1))
    start = rank[root]
    _, reached, generation = bfs_csr(indptr, dst[by_src], np.array([start]))
    depth_of = np.full(len(names), -1, dtype=np.int64)
    depth_of[start] = 0
    depth_of[reached] = generation
    # tree parent: the smallest-id parent on the previous generation
    link = (depth_of[src] >= 0) & (depth_of[dst] == depth_of[src] + 1)
    by_child = np.lexsort((src[link], dst[link]))
    link_src, link_dst = src[link][by_child], dst[link][by_child]
    first = np.ones(link_dst.size, dtype=bool)
    first[1:] = link_dst[1:] != link_dst[:-1]
    tree_parent = np.full(len(names), -1, dtype=np.int64)
    tree_parent[link_dst[first]] = link_src[first]
    # BFS order: the root, then generation by generation, by (tree parent's id, id)
    rest = reached[np.lexsort((reached, tree_parent[reached], generation))]
    nodes = np.concatenate([[start], rest]).astype(np.int64)
    position = np.full(len(names), -1, dtype=np.int64)
    position[nodes] = np.arange(nodes.size)
    par = np.concatenate([[-1], position[tree_parent[rest]]]).astype(np.int64)
    order = [names[i] for i in nodes.tolist()]
    children: list[list[int]] = [[] for _ in order]
    for i in range(1, len(order)):
        children[par[i]].append(i)
    if order_key is not None:
        for lst in children:
            lst.sort(key=lambda i: (order_key.get(order[i], ()), order[i]))
    else:
        for lst in children:
            lst.sort(key=lambda i: order[i])
    # the other links between tree nodes (back edges and second parents), drawn faintly
    ep, ec = position[src], position[dst]
    other = (ep >= 0) & (ec >= 0)
    ep, ec = ep[other], ec[other]
    other = par[ec] != ep
    ep, ec = ep[other], ec[other]
    by_pair = np.lexsort((ec, ep))
    extra = list(zip(ep[by_pair].tolist(), ec[by_pair].tolist(), strict=True))
    return SpanningTree(order, par, depth_of[nodes], children, extra)


def fold_tree(
    tree: SpanningTree,
    max_nodes: int,
    *,
    key: Sequence[int] | np.ndarray | None = None,
    one_badge: bool = False,
    priority: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, list[dict[int, int]]]:
    """Expand the largest hubs, fold the rest into badges: visible nodes + badges <= ``max_nodes``.

    Returns ``(visible, badges)``: a boolean mask over tree nodes and, per node, its badges
    as ``{key: count}`` (``key[i]`` groups folded nodes, e.g. by relation, so a parent can
    carry one badge per relation; default: one badge per parent). ``one_badge=True`` keeps
    the counts by key but budgets (and lays out) a single badge per parent.

    Nodes are drawn (expanded) in order of **subtree size**, largest first, so the largest
    hubs and, recursively, their largest sub-hubs keep their structure; ties go to the
    higher ``priority`` (e.g. downloads; default: none), then to the smaller id. A child's
    subtree is smaller than its parent's, so this order draws every parent before its
    children: a drawn node's parent is always drawn. Every node not drawn is counted in a
    badge of its nearest drawn ancestor, one badge per key. The drawn set is the longest
    prefix of that order whose markers (drawn nodes + badges) fit the budget; with
    ``max_nodes`` below the root's own markers only the root and its badges remain.
    Vectorised: one sort, one pass per generation.

    >>> t = spanning_tree(list("rabcdefg"), [("r", "a"), ("r", "b"), ("a", "c"), ("a", "d"),
    ...                   ("a", "e"), ("b", "f"), ("b", "g")], "r")
    >>> vis, badges = fold_tree(t, 5)
    >>> [t.ids[i] for i in range(len(t)) if vis[i]], {t.ids[i]: b for i, b in
    ...     enumerate(badges) if b}
    (['r', 'a', 'b'], {'a': {0: 3}, 'b': {0: 2}})
    >>> vis, badges = fold_tree(t, 2)  # below the root's markers: the root and its badge
    >>> vis.sum(), badges[0]
    (np.int64(1), {0: 7})
    """
    n = len(tree)
    visible = np.ones(n, dtype=bool)
    badges: list[dict[int, int]] = [{} for _ in range(n)]
    max_nodes = max(int(max_nodes), 1)
    if n <= max_nodes:
        return visible, badges
    keys = np.zeros(n, dtype=np.int64) if key is None else np.asarray(key, dtype=np.int64)
    key_values, key_code = np.unique(keys, return_inverse=True)
    key_code = key_code.astype(np.int64).reshape(-1)
    n_keys = len(key_values)
    par = tree.parent
    size = tree.subtree_sizes()
    prio = (np.zeros(n) if priority is None
            else np.nan_to_num(np.asarray(priority, dtype=np.float64), nan=-np.inf))
    id_rank = np.argsort(np.argsort(np.asarray(tree.ids, dtype=object), kind="stable"),
                         kind="stable")
    reveal = np.lexsort((id_rank, -prio, -size))  # biggest subtree, top priority, id
    rank = np.empty(n, dtype=np.int64)
    rank[reveal] = np.arange(n)
    # A badge (p, k) shows while p is drawn and some child c of p whose subtree holds key k
    # is not: with m nodes drawn (rank < m), for m in [rank[p] + 1, max rank of such c].
    bounds = _generation_bounds(tree.depth)
    if one_badge:
        anchor_key = par[1:]
        child_rank = rank[1:]
    else:
        anchor_parts: list[np.ndarray] = []
        rank_parts: list[np.ndarray] = []
        lifted = np.zeros(0, dtype=np.int64)
        for d in range(len(bounds) - 2, 0, -1):  # deepest generation first
            lo, hi = bounds[d], bounds[d + 1]
            pairs = np.unique(np.concatenate(
                [np.arange(lo, hi, dtype=np.int64) * n_keys + key_code[lo:hi], lifted]))
            child, k = np.divmod(pairs, n_keys)
            lifted = par[child] * n_keys + k  # the keys in each parent's subtree
            anchor_parts.append(lifted)
            rank_parts.append(rank[child])
        anchor_key = np.concatenate(anchor_parts)
        child_rank = np.concatenate(rank_parts)
    by_anchor = np.lexsort((child_rank, anchor_key))
    anchor_key, child_rank = anchor_key[by_anchor], child_rank[by_anchor]
    last = np.ones(anchor_key.size, dtype=bool)
    last[:-1] = anchor_key[1:] != anchor_key[:-1]
    badge_owner = anchor_key[last] if one_badge else anchor_key[last] // n_keys
    shows = np.zeros(n + 2, dtype=np.int64)
    np.add.at(shows, rank[badge_owner] + 1, 1)
    np.add.at(shows, child_rank[last] + 1, -1)
    markers = np.arange(n + 2) + np.cumsum(shows)  # markers[m]: m drawn nodes + badges
    fits = np.flatnonzero(markers[1:n + 1] <= max_nodes) + 1
    n_drawn = int(fits[-1]) if fits.size else 1
    visible = rank < n_drawn
    # each hidden node goes to the badge of its nearest drawn ancestor
    anchor = np.zeros(n, dtype=np.int64)
    for d in range(1, len(bounds) - 1):
        lo, hi = bounds[d], bounds[d + 1]
        up = par[lo:hi]
        anchor[lo:hi] = np.where(visible[up], up, anchor[up])
    hidden = np.flatnonzero(~visible)
    groups, counts = np.unique(anchor[hidden] * n_keys + key_code[hidden],
                               return_counts=True)
    owner, k_of = np.divmod(groups, n_keys)
    for p, k, cnt in zip(owner.tolist(), key_values[k_of].tolist(), counts.tolist(),
                         strict=True):
        badges[p][int(k)] = cnt
    return visible, badges


def _generation_bounds(depth: np.ndarray) -> np.ndarray:
    """Start of each generation in BFS order (``bounds[d]:bounds[d + 1]`` = generation d)."""
    top = int(depth.max()) if depth.size else 0
    return np.searchsorted(depth, np.arange(top + 2))


def tree_layout(
    tree: SpanningTree,
    *,
    kind: str = "radial",
    max_nodes: int | None = None,
    key: Sequence[int] | np.ndarray | None = None,
    one_badge: bool = False,
    inner_radius: float | None = None,
    priority: Sequence[float] | np.ndarray | None = None,
) -> TreeLayout:
    """Place the (folded) tree: slots proportional to leaf counts, one ring/row per generation.

    ``key`` groups folded nodes into badges and ``priority`` breaks ties between equal
    subtrees when choosing what stays expanded (see :func:`fold_tree`); with ``one_badge``
    a parent carries one badge whose ``badge_key`` is its most frequent key. Radial rings are one
    unit apart; generation ``d >= 1`` sits at radius ``inner_radius + d``.
    ``inner_radius=None`` picks it so that the innermost ring holding leaves has room for
    them (about 0.2 ring gaps of arc per slot, at most half the depth), which keeps
    crowded first generations from piling up around the root.

    >>> t = spanning_tree(list("rabc"), [("r", "a"), ("r", "b"), ("a", "c")], "r")
    >>> lay = tree_layout(t, kind="layered")
    >>> lay.x.tolist(), lay.y.tolist()
    ([0.5, 0.0, 1.0, 0.0], [0.0, -1.0, -1.0, -2.0])
    """
    if kind not in ("radial", "layered"):
        raise UsageError(f"unknown layout {kind!r} (radial or layered)")
    n = len(tree)
    if max_nodes is not None:
        visible, badges = fold_tree(tree, max_nodes, key=key, one_badge=one_badge,
                                    priority=priority)
        if one_badge:
            badges = [{max(b, key=lambda k: (b[k], -k)): sum(b.values())} if b else b
                      for b in badges]
    else:
        visible, badges = np.ones(n, dtype=bool), [{} for _ in range(n)]
    centre, blist, total = _slots(tree, visible, badges)
    total = max(total, 1)
    vis_idx = np.flatnonzero(visible)
    depth = tree.depth.astype(np.float64)
    bp = np.array([b[0] for b in blist], dtype=np.int64)
    bkey = np.array([b[1] for b in blist], dtype=np.int64)
    bcount = np.array([b[2] for b in blist], dtype=np.int64)
    bs = np.array([b[3] for b in blist], dtype=np.float64)
    bdepth = depth[bp] + 1 if len(bp) else np.zeros(0)
    meta: dict[str, float] = {}
    if kind == "radial":
        if inner_radius is None:
            inner_radius = _auto_inner_radius(tree, visible, set(bp.tolist()), total)
        meta["inner_radius"] = inner_radius
        rad = np.where(depth > 0, depth + inner_radius, 0.0)
        brad = bdepth + inner_radius
        ang = _angle(centre, total)
        x, y = rad * np.cos(ang), rad * np.sin(ang)
        bang = _angle(bs, total)
        bx, by = brad * np.cos(bang), brad * np.sin(bang)
    else:
        x, y = centre.copy(), 0.0 - depth
        bx, by = bs, 0.0 - bdepth
    return TreeLayout(
        kind=kind, tree=tree, visible=vis_idx, x=x[vis_idx], y=y[vis_idx],
        badge_parent=bp, badge_count=bcount,
        badge_x=np.asarray(bx, dtype=np.float64), badge_y=np.asarray(by, dtype=np.float64),
        n_slots=total, s=centre[vis_idx], badge_s=bs, badge_key=bkey,
        folded=int(n - len(vis_idx)), meta=meta,
    )


def _slots(
    tree: SpanningTree, visible: np.ndarray, badges: list[dict[int, int]]
) -> tuple[np.ndarray, list[tuple[int, int, int, int]], int]:
    """Leaf slots by an iterative depth-first walk; returns each node's position (a leaf:
    its slot; an inner node: midway between its first and last child, badges counted),
    the badges as (node, key, count, slot) and the number of slots. A node's badges take
    the slots right after its visible children (a leaf's right after itself)."""
    n = len(tree)
    pos = np.zeros(n, dtype=np.float64)
    blist: list[tuple[int, int, int, int]] = []
    slot = 0
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:
        i, done = stack.pop()
        kids = [c for c in tree.children[i] if visible[c]]
        if not done and kids:
            stack.append((i, True))
            stack.extend((c, False) for c in reversed(kids))
            continue
        if not kids:
            pos[i] = slot
            slot += 1
        first = pos[kids[0]] if kids else None
        last = pos[kids[-1]] if kids else None
        for k in sorted(badges[i]):
            blist.append((i, k, badges[i][k], slot))
            last = slot
            slot += 1
        if kids:
            assert first is not None and last is not None
            pos[i] = (first + last) / 2.0
    return pos, blist, slot


def _auto_inner_radius(
    tree: SpanningTree, visible: np.ndarray, badge_slot: set[int], total: int
) -> float:
    vis = np.flatnonzero(visible)
    if len(vis) <= 1:
        return 0.0
    has_kid = np.zeros(len(tree), dtype=bool)
    has_kid[tree.parent[vis[1:]]] = True
    leaf_depths = [int(tree.depth[i]) for i in vis if not has_kid[i] and i not in badge_slot]
    leaf_depths += [int(tree.depth[i]) + 1 for i in badge_slot]
    d_in = min(leaf_depths) if leaf_depths else 1
    max_depth = int(tree.depth[vis].max()) + (1 if badge_slot else 0)
    want = total * 0.2 / (2 * math.pi) - d_in
    return float(np.clip(want, 0.0, 0.5 * max_depth))


def _angle(slots: np.ndarray, total: int) -> np.ndarray:
    # slot centres over the full circle, starting at 12 o'clock, clockwise
    return math.pi / 2 - 2 * math.pi * (np.asarray(slots, dtype=np.float64) + 0.5) / total


def random_family(n: int, *, seed: int = 0, root: str = "base/root") -> tuple[list[dict], list[
        tuple[str, str, str]]]:
    """A seeded, heavy-tailed synthetic family of ``n`` nodes (root included).

    For tests, docs and benchmarks. Returns ``(rows, edges)``: rows are dicts with ``id``,
    ``author``, ``relation``, ``downloads``, ``likes``, ``depth``-free model columns;
    edges are (parent, child, relation). About 5% of non-root nodes are merges with a
    second parent elsewhere in the family.

    >>> rows, edges = random_family(50, seed=1)
    >>> len(rows), rows[0]["id"], len(edges) >= 49
    (50, 'base/root', True)
    """
    rng = np.random.default_rng(seed)
    rels = ["finetune", "quantized", "adapter", "merge"]
    rel_draw = rng.choice(4, size=n, p=[0.45, 0.35, 0.15, 0.05])
    auth_draw = rng.zipf(1.6, size=n) % max(3, n // 8)
    dl_draw = rng.lognormal(4, 2.5, size=n).astype(np.int64)
    like_draw = rng.lognormal(1, 1.5, size=n).astype(np.int64)
    pick = rng.random(n)
    other = rng.random(n)
    fan = np.minimum(300, 1 + rng.pareto(1.1, size=n).astype(np.int64))
    name = root.split("/")[-1]
    rows: list[dict[str, Any]] = [
        {"id": root, "author": root.split("/")[0], "relation": None,
         "downloads": int(rng.lognormal(13, 1)), "likes": int(rng.integers(100, 5000))}
    ]
    edges: list[tuple[str, str, str]] = []
    # preferential attachment (a ticket urn): popular parents get more children;
    # quantized models and adapters stay leaves
    tickets = [0] * 200
    for k in range(1, n):
        p = tickets[int(pick[k] * len(tickets))]
        rel = rels[int(rel_draw[k])]
        author = f"user{int(auth_draw[k])}"
        mid = f"{author}/{name}-{rel[:2]}-{k}"
        rows.append({"id": mid, "author": author, "relation": rel,
                     "downloads": int(dl_draw[k]), "likes": int(like_draw[k])})
        edges.append((rows[p]["id"], mid, rel))
        if rel == "merge" and k > 2:
            q = int(other[k] * k)
            if q != p:
                edges.append((rows[q]["id"], mid, rel))
        if rel in ("finetune", "merge"):
            tickets.extend([k] * int(fan[k]))
    return rows, edges
