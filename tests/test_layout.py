"""Tidy-tree layout: spanning tree, slots proportional to leaves, no overlaps, folding."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_leaves_are_folded_first_biggest_fans_first():
    t = _tree(400)
    leaves = np.array([not kids for kids in t.children])
    for budget in (20, 50, 150, 300):
        visible, _ = fold_tree(t, budget)
        if (~visible & ~leaves).any():  # an inner node folded: every leaf went before it
            assert not (visible & leaves).any()
    # in round 0, a parent's leaves are folded only if every bigger fan was folded too
    visible, _ = fold_tree(t, 300)
    fan: dict[int, list[int]] = {}
    for i in range(1, len(t)):
        if leaves[i]:
            fan.setdefault(int(t.parent[i]), []).append(i)
    folded = [len(v) for v in fan.values() if not visible[v[0]]]
    kept = [len(v) for v in fan.values() if visible[v[0]]]
    assert folded and kept and min(folded) >= max(kept)


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
