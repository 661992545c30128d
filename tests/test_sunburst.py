"""Sunburst fork trees: geometry (pure) and the drawn artists."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.patches import Wedge  # noqa: E402

from ecograph.cli import main  # noqa: E402
from ecograph.layout import random_family, spanning_tree  # noqa: E402
from ecograph.render import SUNBURST_MIN_SIZE, choose_style, fork_tree  # noqa: E402
from ecograph.render_sunburst import (  # noqa: E402
    OTHERS_GID,
    ROOT_LABEL_GID,
    WEDGE_GID,
    WEDGE_LABEL_GID,
)
from ecograph.sunburst import subtree_sizes, sunburst_layout  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
LLAMA = "meta-llama/Llama-3.1-8B"


def _family(n: int, seed: int):
    rows, edges = random_family(n, seed=seed)
    return (pl.DataFrame(rows),
            pl.DataFrame(edges, schema=["parent", "child", "relation"], orient="row"),
            rows[0]["id"])


def _tree(n: int, seed: int):
    nodes, edges, root = _family(n, seed)
    return spanning_tree(nodes["id"].to_list(),
                         list(zip(edges["parent"], edges["child"], strict=True)), root)


@pytest.fixture(scope="module")
def big():
    return _family(3000, 5)


@pytest.fixture(scope="module")
def drawn(big):
    return fork_tree(*big, style="sunburst", dpi=80)


# ---- geometry


@st.composite
def random_trees(draw):
    n = draw(st.integers(1, 60))
    parent = [-1] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    return parent


@settings(max_examples=80, deadline=None)
@given(random_trees())
def test_subtree_sizes_match_a_brute_force_count(parent):
    depth = [0] * len(parent)
    for i in range(1, len(parent)):
        depth[i] = depth[parent[i]] + 1

    def below(i):  # brute force: walk up from every node
        count = 0
        for j in range(len(parent)):
            k = j
            while k != -1 and k != i:
                k = parent[k]
            count += k == i
        return count

    got = subtree_sizes(np.array(parent), np.array(depth)).tolist()
    assert got == [below(i) for i in range(len(parent))]


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 400), st.integers(0, 10_000), st.sampled_from([0.0, 0.5, 1.2, 5.0]),
       st.integers(1, 8))
def test_wedges_account_for_every_model_once(n, seed, min_angle, max_rings):
    tree = _tree(n, seed)
    sb = sunburst_layout(tree, min_angle=min_angle, max_rings=max_rings)
    family = len(tree) - 1
    assert sb.family_size == family
    # angle ∝ subtree size, the first ring closes the circle
    assert np.allclose(sb.extent, sb.count * 360.0 / family)
    ring1 = sb.ring == 1
    assert sb.count[ring1].sum() == family
    assert np.isclose(sb.extent[ring1].sum(), 360.0)
    # a drawn model's count = its subtree size = itself + what its child wedges hold,
    # unless it sits on the outer ring (its subtree is counted in it)
    for w in np.flatnonzero(sb.node >= 0):
        node = int(sb.node[w])
        assert sb.count[w] == sb.sizes[node]
        kids = sb.parent == node
        if sb.ring[w] < max_rings:
            assert sb.count[w] == 1 + sb.count[kids].sum()
            # children nest inside the parent's angular span
            if kids.any():
                assert sb.start[kids].min() >= sb.start[w] - 1e-9
                assert (sb.start[kids] + sb.extent[kids]).max() <= (
                    sb.start[w] + sb.extent[w] + 1e-9)
    # wedges of one ring never overlap
    for ring in np.unique(sb.ring):
        on = np.flatnonzero(sb.ring == ring)
        order = on[np.argsort(sb.start[on])]
        ends = sb.start[order] + sb.extent[order]
        assert (sb.start[order][1:] >= ends[:-1] - 1e-9).all()
    # "+N others": one per parent and relation, only small subtrees, and never shown
    others = sb.others
    pairs = list(zip(sb.parent[others].tolist(), sb.key[others].tolist(), strict=True))
    assert len(pairs) == len(set(pairs))
    shown = set(sb.node[sb.node >= 0].tolist())
    small = np.flatnonzero(sb.sizes * sb.unit < min_angle)
    assert not shown & set(small.tolist())
    if min_angle == 0.0:
        assert others.size == 0


def test_small_wedges_merge_into_others_that_add_up():
    tree = _tree(3000, 5)
    sb = sunburst_layout(tree, min_angle=1.2, max_rings=30)
    assert sb.others.size > 0
    # every model is in a drawn wedge or in exactly one "+N others" wedge
    drawn = int((sb.node >= 0).sum())
    assert drawn + int(sb.count[sb.others].sum()) == sb.family_size
    assert (sb.extent[sb.node >= 0] >= 1.2).all()


# ---- the drawn picture


def test_drawn_wedges_match_the_geometry(drawn):
    sb = drawn.sunburst
    assert drawn.style == "sunburst" and drawn.layout is None
    ax = drawn.figure.axes[0]
    wedges = [a for a in ax.get_children()
              if isinstance(a, Wedge) and a.get_gid() in (WEDGE_GID, OTHERS_GID)]
    assert len(wedges) == len(sb)
    angles = np.array([(w.theta2 - w.theta1) % 360.0 for w in wedges])
    assert np.allclose(angles, sb.extent)
    # proportional to the models they stand for
    ratio = angles / sb.count
    assert np.allclose(ratio, 360.0 / drawn.counts.size)
    assert sum(w.get_gid() == OTHERS_GID for w in wedges) == sb.others.size
    assert drawn.folded == int(sb.count[sb.others].sum()) > 0


def test_labels_stay_in_the_frame_and_never_overlap(drawn):
    fig = drawn.figure
    fig.canvas.draw()  # lay out the legend
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]
    for t in texts:
        bb = t.get_window_extent(renderer)
        assert (bb.x0 >= frame.x0 - 0.5 and bb.x1 <= frame.x1 + 0.5
                and bb.y0 >= frame.y0 - 0.5 and bb.y1 <= frame.y1 + 0.5), t.get_text()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_gid() in (WEDGE_LABEL_GID, ROOT_LABEL_GID)]
    wedge_labels = [t for t in labels if t.get_gid() == WEDGE_LABEL_GID]
    assert len(wedge_labels) >= 4
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    # labels are at least 7 pt and name the largest subtrees with their size
    assert min(t.get_fontsize() for t in labels) >= 7.0
    sb = drawn.sunburst
    biggest = sb.node[sb.node >= 0][np.argmax(sb.count[sb.node >= 0])]
    name = sb.tree.ids[int(biggest)].split("/")[-1]
    size = f"{int(sb.sizes[biggest]):,}"
    assert any(t.get_text().split("\n")[0].rstrip("…") in name
               and t.get_text().endswith(size) for t in wedge_labels)


def test_root_is_labelled_in_the_centre(drawn):
    ax = drawn.figure.axes[0]
    (root,) = [t for t in ax.texts if t.get_gid() == ROOT_LABEL_GID]
    assert root.get_position() == (0, 0)
    assert f"{drawn.counts.size:,} derivatives" in root.get_text()


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_same_input_same_bytes(big, tmp_path, suffix):
    paths = []
    for k in range(2):
        tree = fork_tree(*big, style="sunburst", dpi=60)
        paths.append(tree.save(tmp_path / f"a{k}{suffix}"))
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_auto_style_follows_the_family_size():
    assert choose_style(SUNBURST_MIN_SIZE) == "tree"
    assert choose_style(SUNBURST_MIN_SIZE + 1) == "sunburst"
    small = _family(SUNBURST_MIN_SIZE + 1, 3)  # root + 300 derivatives
    large = _family(SUNBURST_MIN_SIZE + 2, 3)
    assert fork_tree(*small, dpi=40).style == "tree"
    assert fork_tree(*large, dpi=40).style == "sunburst"
    assert fork_tree(*large, dpi=40, style="tree").style == "tree"
    assert fork_tree(*small, dpi=40, style="sunburst").style == "sunburst"
    with pytest.raises(Exception, match="unknown style"):
        fork_tree(*small, style="pie")


def test_cli_style_option(tmp_path):
    out = tmp_path / "llama.png"
    res = CliRunner().invoke(main, ["render", LLAMA, "--db", str(FIXTURE), "-o", str(out),
                                    "--dpi", "50", "--style", "sunburst"])
    assert res.exit_code == 0, res.output
    assert "(134 derivatives, sunburst" in res.output
    assert out.read_bytes()[:4] == b"\x89PNG"
