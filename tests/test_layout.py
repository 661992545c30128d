"""Tidy-tree layout: spanning tree, slots proportional to leaves, no overlaps, folding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecograph.layout import fold_tree, random_family, spanning_tree, tree_layout


def _tree(n: int = 400, seed: int = 3):
    rows, edges = random_family(n, seed=seed)
    return spanning_tree([r["id"] for r in rows], [(p, c) for p, c, _ in edges], rows[0]["id"])


def test_spanning_tree_first_parent_is_smallest_id_on_previous_generation():
    ids = ["r", "b", "a", "m", "deep", "x"]
    edges = [("r", "b"), ("r", "a"), ("b", "m"), ("a", "m"), ("r", "x"), ("x", "deep"),
             ("m", "deep"), ("deep", "r"), ("m", "m"), ("nowhere", "m")]
    t = spanning_tree(ids, edges, "r")
    parent = {t.ids[i]: (t.ids[p] if p >= 0 else None) for i, p in enumerate(t.parent)}
    assert parent == {"r": None, "a": "r", "b": "r", "x": "r", "m": "a", "deep": "x"}
    depth = dict(zip(t.ids, t.depth.tolist(), strict=True))
    assert depth == {"r": 0, "a": 1, "b": 1, "x": 1, "m": 2, "deep": 2}
    # the other parent links (incl. the back edge; never the self-loop) are "extra"
    extra = {(t.ids[p], t.ids[c]) for p, c in t.extra_edges}
    assert extra == {("b", "m"), ("m", "deep"), ("deep", "r")}


def test_unreachable_nodes_are_ignored_and_root_only_works():
    t = spanning_tree(["r", "z"], [("z", "r")], "r")
    assert t.ids == ["r"]
    lay = tree_layout(t, kind="radial")
    assert lay.x.tolist() == [0.0] and lay.y.tolist() == [0.0]


@pytest.mark.parametrize("kind", ["radial", "layered"])
def test_slots_are_proportional_to_leaves_and_nothing_overlaps(kind):
    t = _tree()
    lay = tree_layout(t, kind=kind)
    n_leaves = sum(1 for kids in t.children if not kids)
    assert lay.n_slots == n_leaves
    # each generation: slot coordinates at least one slot apart (disjoint subtree spans)
    depth = t.depth[lay.visible]
    for d in np.unique(depth):
        s = np.sort(lay.s[depth == d])
        assert np.all(np.diff(s) >= 1 - 1e-9)
    # a parent is centred over its children's span
    for i, kids in enumerate(t.children):
        if kids:
            assert lay.s[i] == pytest.approx((lay.s[kids[0]] + lay.s[kids[-1]]) / 2)
    if kind == "layered":
        assert lay.y.tolist() == (-t.depth).astype(float).tolist()
    else:
        r = np.hypot(lay.x, lay.y)
        inner = lay.meta["inner_radius"]
        assert np.allclose(r[1:], t.depth[1:] + inner)


def test_layout_is_deterministic():
    a = tree_layout(_tree(), kind="radial", max_nodes=100)
    b = tree_layout(_tree(), kind="radial", max_nodes=100)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.badge_count, b.badge_count)


@pytest.mark.parametrize("budget", [30, 100, 250, 399, 5000])
def test_folding_respects_the_budget_and_accounts_for_every_node(budget):
    t = _tree(400)
    key = [i % 3 for i in range(len(t))]
    lay = tree_layout(t, kind="radial", max_nodes=budget, key=key)
    assert lay.n_markers <= max(budget, 1)
    assert len(lay.visible) + int(lay.badge_count.sum()) == len(t)
    assert lay.folded == int(lay.badge_count.sum())
    if budget >= len(t):
        assert lay.folded == 0 and len(lay.badge_parent) == 0
    # badges hang on visible nodes, at most one per (node, key)
    assert set(lay.badge_parent.tolist()) <= set(lay.visible.tolist())
    pairs = list(zip(lay.badge_parent.tolist(), lay.badge_key.tolist(), strict=True))
    assert len(pairs) == len(set(pairs))
    # badge slots never collide with node slots of the same generation
    depth = np.concatenate([t.depth[lay.visible], t.depth[lay.badge_parent] + 1])
    s = np.concatenate([lay.s, lay.badge_s])
    for d in np.unique(depth):
        assert np.all(np.diff(np.sort(s[depth == d])) >= 1 - 1e-9)


def _brute_fold(tree, budget, keys, priority, one_badge):
    """Plain-Python twin of fold_tree: draw nodes by (largest subtree, top priority, id)
    and keep the longest prefix whose nodes + badges fit the budget."""
    n = len(tree)
    size = [1] * n
    for i in range(n - 1, 0, -1):
        size[int(tree.parent[i])] += size[i]
    order = sorted(range(n), key=lambda i: (-size[i], -priority[i], tree.ids[i]))

    def badges_of(drawn):
        out = {}
        for h in range(n):
            if h not in drawn:
                a = int(tree.parent[h])
                while a not in drawn:
                    a = int(tree.parent[a])
                out.setdefault(a, {}).setdefault(keys[h], 0)
                out[a][keys[h]] += 1
        return out

    best = 1
    for m in range(1, n + 1):
        got = badges_of(set(order[:m]))
        n_badges = len(got) if one_badge else sum(len(b) for b in got.values())
        if m + n_badges <= max(budget, 1):
            best = m
    drawn = set(order[:best])
    return drawn, badges_of(drawn) if best < n else {}


@st.composite
def _families(draw):
    n = draw(st.integers(1, 40))
    parent = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    names = [f"m{draw(st.integers(0, 9))}-{i}" for i in range(n)]
    edges = [(names[p], names[i]) for i, p in enumerate(parent, start=1)]
    tree = spanning_tree(names, edges, names[0])
    keys = [draw(st.integers(0, 3)) for _ in range(n)]
    priority = [draw(st.sampled_from([0.0, 1.0, 5.0])) for _ in range(n)]
    return tree, keys, priority


@settings(max_examples=150, deadline=None)
@given(_families(), st.integers(1, 45), st.booleans(), st.booleans())
def test_folding_expands_the_largest_hubs_and_matches_a_brute_force(fam, budget, one_badge,
                                                                     use_priority):
    tree, keys, priority = fam
    n = len(tree)
    prio = priority if use_priority else [0.0] * n
    visible, badges = fold_tree(tree, budget, key=keys, one_badge=one_badge,
                                priority=prio if use_priority else None)
    drawn = set(np.flatnonzero(visible).tolist())
    # drawn nodes + badge counts = the family, per key too
    assert len(drawn) + sum(sum(b.values()) for b in badges) == n
    for k in range(4):
        assert (sum(keys[i] == k for i in drawn) + sum(b.get(k, 0) for b in badges)
                == keys.count(k))
    # no orphans: the root and every drawn node's parent are drawn; badges sit on drawn nodes
    assert 0 in drawn and all(int(tree.parent[i]) in drawn for i in drawn if i)
    assert all(i in drawn for i, b in enumerate(badges) if b)
    # the budget holds (unless even the root's own badges exceed it)
    n_badges = sum(min(len(b), 1) if one_badge else len(b) for b in badges)
    root_only = 1 + (min(len(set(keys)), 1) if one_badge else len(set(keys[1:]))) if n > 1 else 1
    assert len(drawn) + n_badges <= max(budget, root_only)
    # the largest hubs first: a folded child never has a larger subtree than a drawn sibling
    size = tree.subtree_sizes()
    for kids in tree.children:
        shown = [size[c] for c in kids if c in drawn]
        hidden = [size[c] for c in kids if c not in drawn]
        if shown and hidden:
            assert max(hidden) <= min(shown)
    # and exactly the plain-Python rule
    want_drawn, want_badges = _brute_fold(tree, budget, keys, prio, one_badge)
    assert drawn == want_drawn
    assert {i: b for i, b in enumerate(badges) if b} == want_badges


def test_folding_literal_example_keeps_the_big_hub_and_counts_the_rest_per_relation():
    # r -> hub (5 below it: 3 finetunes, 2 quants), r -> small (1 below), r -> q1, q2
    ids = ["r", "hub", "small", "q1", "q2", "f1", "f2", "f3", "x1", "x2", "s1"]
    edges = [("r", "hub"), ("r", "small"), ("r", "q1"), ("r", "q2"), ("hub", "f1"),
             ("hub", "f2"), ("hub", "f3"), ("hub", "x1"), ("hub", "x2"), ("small", "s1")]
    rel = {"r": 0, "hub": 0, "small": 0, "q1": 1, "q2": 1, "f1": 0, "f2": 0, "f3": 0,
           "x1": 1, "x2": 1, "s1": 0}
    t = spanning_tree(ids, edges, "r")
    keys = [rel[m] for m in t.ids]
    visible, badges = fold_tree(t, 5, key=keys)  # r + hub would need 2 + 4 badges
    assert [t.ids[i] for i in np.flatnonzero(visible)] == ["r"]
    assert badges[0] == {0: 6, 1: 4}
    visible, badges = fold_tree(t, 6, key=keys)
    assert [t.ids[i] for i in np.flatnonzero(visible)] == ["r", "hub"]
    named = {t.ids[i]: b for i, b in enumerate(badges) if b}
    assert named == {"r": {0: 2, 1: 2}, "hub": {0: 3, 1: 2}}
    # a budget of 7 draws the next hub too ("small": 2 models) and still counts per relation
    visible, badges = fold_tree(t, 7, key=keys)
    assert [t.ids[i] for i in np.flatnonzero(visible)] == ["r", "hub", "small"]
    named = {t.ids[i]: b for i, b in enumerate(badges) if b}
    assert named == {"r": {1: 2}, "hub": {0: 3, 1: 2}, "small": {0: 1}}
    # downloads break ties between equal subtrees: the most downloaded leaf is drawn first
    prio = [{"q2": 100.0}.get(m, 0.0) for m in t.ids]
    visible, _ = fold_tree(t, 8, key=keys, priority=prio)
    assert "q2" in {t.ids[i] for i in np.flatnonzero(visible)}
    assert "q1" not in {t.ids[i] for i in np.flatnonzero(visible)}


def test_one_badge_per_parent_keeps_the_budget_and_the_main_key():
    t = _tree(400)
    key = [i % 3 for i in range(len(t))]
    lay = tree_layout(t, kind="layered", max_nodes=120, key=key, one_badge=True)
    assert lay.n_markers <= 120
    assert len(set(lay.badge_parent.tolist())) == len(lay.badge_parent)  # one per parent
    assert len(lay.visible) + int(lay.badge_count.sum()) == len(t)
    assert set(lay.badge_key.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize("budget", [30, 120, 399])
def test_fold_badges_count_every_relation(budget):
    # per relation: the visible models plus that relation's badges = all its models
    t = _tree(400)
    key = np.array([(i * 7) % 4 for i in range(len(t))])
    lay = tree_layout(t, kind="radial", max_nodes=budget, key=key)
    for k in range(4):
        shown = int((key[lay.visible] == k).sum())
        in_badges = int(lay.badge_count[lay.badge_key == k].sum())
        assert shown + in_badges == int((key == k).sum())
