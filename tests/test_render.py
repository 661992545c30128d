"""Fork-tree rendering: artists, folding, labels, legend, determinism, pixels."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from ecograph.cli import main  # noqa: E402
from ecograph.graph import family_frames  # noqa: E402
from ecograph.layout import random_family  # noqa: E402
from ecograph.render import (  # noqa: E402
    BADGE_GID,
    LABEL_GID,
    RELATION_COLORS,
    ForkTree,
    draw_fork_tree,
    family_counts,
    fork_tree,
    save_figure,
)
from ecograph.snapshot import read_snapshot  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
LLAMA = "meta-llama/Llama-3.1-8B"


@pytest.fixture(scope="module")
def hub():
    return read_snapshot(FIXTURE)


@pytest.fixture(scope="module")
def llama(hub):
    nodes, edges = family_frames(*hub, LLAMA)
    return nodes, edges


@pytest.fixture(scope="module")
def synthetic():
    rows, edges = random_family(2500, seed=11)
    return (pl.DataFrame(rows),
            pl.DataFrame(edges, schema=["parent", "child", "relation"], orient="row"),
            rows[0]["id"])


def _scatter(fig: Figure):
    ax = fig.axes[0]
    (sc,) = [c for c in ax.collections if c.get_gid() == "ecograph-nodes"]
    return sc


def _texts(fig: Figure, gids=(LABEL_GID, BADGE_GID)):
    return [t for t in fig.axes[0].texts if t.get_gid() in gids]


def _assert_no_overlap(fig: Figure):
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in _texts(fig)]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    return boxes


@pytest.mark.parametrize("layout", ["radial", "layered"])
def test_small_family_draws_every_node_with_legend_and_title(llama, layout):
    nodes, edges = llama
    fig = draw_fork_tree(nodes, edges, LLAMA, layout=layout, labels=10)
    assert isinstance(fig, Figure)
    assert len(_scatter(fig).get_offsets()) == len(nodes)  # 135, under the budget
    legend = fig.legends[0]
    present = {r for r in nodes.filter(pl.col("id") != LLAMA)["relation"].to_list()}
    assert [t.get_text().split(" ")[0] for t in legend.get_texts()] == [
        r for r in ("finetune", "quantized", "adapter", "merge", "unknown") if r in present]
    titles = [t.get_text() for t in fig.texts]
    assert f"Fork tree of {LLAMA}" in titles
    assert any(t.startswith("134 derivatives · finetune 40 · quantized 54") for t in titles)
    labels = _texts(fig, (LABEL_GID,))
    assert labels[0].get_text() == LLAMA and 5 <= len(labels) <= 11
    _assert_no_overlap(fig)


def test_node_colours_follow_relations(llama):
    nodes, edges = llama
    fig = draw_fork_tree(nodes, edges, LLAMA, labels=0)
    faces = _scatter(fig).get_facecolors()
    expected = {matplotlib.colors.to_hex(c) for c in faces}
    assert expected <= {*(c.lower() for c in RELATION_COLORS.values()), "#000000", "#ffffff"}
    assert matplotlib.colors.to_hex(faces[0]) == "#000000"  # the root


def test_folding_keeps_markers_within_budget_and_says_so(synthetic):
    nodes, edges, root = synthetic
    tree = fork_tree(nodes, edges, root, max_nodes=300, labels=15, style="tree")
    fig, lay = tree.figure, tree.layout
    n_points = len(_scatter(fig).get_offsets())
    assert n_points == lay.n_markers == len(lay.visible) + len(lay.badge_parent)
    assert n_points <= 300
    assert len(lay.visible) + lay.badge_count.sum() == len(nodes)
    caption = fig.texts[-1].get_text()
    assert f"{lay.folded:,} models folded into {len(lay.badge_parent):,}" in caption
    assert caption == tree.caption
    assert "300 markers" in caption
    assert _texts(fig, (BADGE_GID,))  # the biggest badges say "+N"
    assert all(t.get_text().startswith("+") for t in _texts(fig, (BADGE_GID,)))
    _assert_no_overlap(fig)


def test_fork_tree_result_describes_the_picture(llama, tmp_path):
    import dataclasses

    nodes, edges = llama
    tree = fork_tree(nodes, edges, LLAMA, max_nodes=40, labels=3, dpi=60)
    assert isinstance(tree, ForkTree) and tree.root == LLAMA
    assert tree.counts == family_counts(nodes, edges, LLAMA)
    assert len(_scatter(tree.figure).get_offsets()) == tree.layout.n_markers <= 40
    assert tree.layout.folded > 0  # 134 derivatives in 40 markers
    assert tree.caption in [t.get_text() for t in tree.figure.texts]
    assert f"{tree.layout.folded:,} models folded" in tree.caption
    assert not hasattr(tree.figure, "_ecograph_layout")  # no side channel on the Figure
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.caption = "x"  # type: ignore[misc]
    with Image.open(tree.save(tmp_path / "t.png")) as im:
        assert im.format == "PNG"
    unfolded = fork_tree(nodes, edges, LLAMA, max_nodes=None, labels=0, dpi=60)
    assert unfolded.layout.folded == 0 and "folded" not in unfolded.caption


def test_no_folding_when_disabled(synthetic):
    nodes, edges, root = synthetic
    fig = draw_fork_tree(nodes, edges, root, max_nodes=None, labels=0, style="tree")
    assert len(_scatter(fig).get_offsets()) == len(nodes)


@pytest.mark.parametrize("layout", ["radial", "layered"])
def test_many_labels_never_overlap(synthetic, layout):
    nodes, edges, root = synthetic
    fig = draw_fork_tree(nodes, edges, root, layout=layout, max_nodes=600, labels=60,
                         style="tree")
    boxes = _assert_no_overlap(fig)
    assert len(boxes) >= 20
    inside = fig.axes[0].get_window_extent()
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 for b in boxes)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_same_input_same_bytes(llama, tmp_path, suffix):
    nodes, edges = llama
    out = []
    for k in range(2):
        p = save_figure(draw_fork_tree(nodes, edges, LLAMA), tmp_path / f"t{k}{suffix}",
                        dpi=80)
        out.append(p.read_bytes())
    assert out[0] == out[1] and len(out[0]) > 1000
    if suffix == ".svg":
        assert b"<dc:date>" not in out[0]
    if suffix == ".pdf":
        assert b"CreationDate" not in out[0]


def test_image_size_and_dpi(llama, tmp_path):
    nodes, edges = llama
    fig = draw_fork_tree(nodes, edges, LLAMA)
    assert fig.dpi >= 200
    w, h = fig.get_size_inches()
    p = save_figure(fig, tmp_path / "t.png", dpi=120)
    with Image.open(p) as im:
        assert im.size == (round(w * 120), round(h * 120))
        assert im.info.get("dpi", (0, 0))[0] == pytest.approx(120, abs=1)


def test_pixels_root_is_drawn_at_its_centre_and_corners_are_background(llama, tmp_path):
    nodes, edges = llama
    fig = draw_fork_tree(nodes, edges, LLAMA, layout="radial", dpi=100)
    dpi = fig.dpi
    x, y = fig.axes[0].transData.transform((0.0, 0.0))  # the root sits at the centre
    p = save_figure(fig, tmp_path / "t.png", dpi=dpi)
    with Image.open(p) as im:
        rgb = np.asarray(im.convert("RGB"))
    h = rgb.shape[0]
    assert tuple(rgb[int(round(h - y)), int(round(x))]) == (0, 0, 0)  # black root
    assert tuple(rgb[2, 2]) == (255, 255, 255)
    assert tuple(rgb[-3, -3]) == (255, 255, 255)
    # something of every relation colour made it into the picture
    for rel in ("finetune", "quantized", "adapter", "merge"):
        c = np.array(matplotlib.colors.to_rgb(RELATION_COLORS[rel])) * 255
        assert (np.abs(rgb.astype(int) - c.astype(int)).sum(axis=2) < 12).any(), rel


def test_accepts_family_objects_and_an_existing_axes(llama):
    nodes, edges = llama
    fam = SimpleNamespace(root=LLAMA, nodes=nodes, edges=edges)
    fig = draw_fork_tree(fam, labels=3)
    assert len(_scatter(fig).get_offsets()) == len(nodes)
    host = Figure(figsize=(6, 6))
    ax = host.add_subplot()
    assert draw_fork_tree(nodes, edges, LLAMA, ax=ax, labels=3) is host
    assert ax.get_legend() is not None


def test_errors(llama, tmp_path):
    nodes, edges = llama
    from ecograph.errors import EcographError, UnknownModelError

    with pytest.raises(UnknownModelError):
        draw_fork_tree(nodes, edges, "nobody/nothing")
    with pytest.raises(ValueError, match="layout"):
        draw_fork_tree(nodes, edges, LLAMA, layout="force")
    with pytest.raises(EcographError, match=".png, .svg or .pdf"):
        save_figure(draw_fork_tree(nodes, edges, LLAMA, labels=0), tmp_path / "x.gif")


def test_family_counts(llama):
    nodes, edges = llama
    c = family_counts(nodes, edges, LLAMA)
    assert (c.size, c.max_depth) == (134, 7)
    assert sum(c.by_relation.values()) == 134


def test_cli_render(tmp_path):
    out = tmp_path / "llama.png"
    res = CliRunner().invoke(main, ["render", "meta-llama/llama-3.1-8b", "--db", str(FIXTURE),
                                    "-o", str(out), "--dpi", "60", "--layout", "layered",
                                    "--title", "Llama <3.1> & co"])
    assert res.exit_code == 0, res.output
    assert "Wrote the fork tree of meta-llama/Llama-3.1-8B (134 derivatives)" in res.output
    with Image.open(out) as im:
        assert im.format == "PNG"
    res = CliRunner().invoke(main, ["render", LLAMA, "--db", str(FIXTURE), "-o",
                                    str(tmp_path / "x.gif")])
    assert res.exit_code == 2 and ".png, .svg, .pdf or .html" in res.output


@pytest.mark.parametrize("layout", ["radial", "layered"])
@pytest.mark.parametrize("budget", [10, 40])
def test_every_connector_lies_inside_the_frame(llama, layout, budget):
    from matplotlib.collections import LineCollection

    nodes, edges = llama
    fig = draw_fork_tree(nodes, edges, "meta-llama/Llama-3.1-8B", layout=layout,
                         max_nodes=budget)
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    segs = [s for c in ax.collections if isinstance(c, LineCollection)
            for s in c.get_segments()]
    assert segs
    pts = np.concatenate(segs)
    assert (pts[:, 0] >= x0).all() and (pts[:, 0] <= x1).all()
    assert (pts[:, 1] >= y0).all() and (pts[:, 1] <= y1).all()


def test_caption_mentions_pink_curves_only_when_a_merge_parent_is_drawn():
    nodes = pl.DataFrame({"id": ["r", "a", "b", "m"],
                          "relation": [None, "finetune", "finetune", "merge"]})
    tree_edges = pl.DataFrame({"parent": ["r", "r"], "child": ["a", "b"]})
    merge_edges = pl.DataFrame({"parent": ["r", "r", "a", "b"], "child": ["a", "b", "m", "m"]})
    plain = fork_tree(nodes.head(3), tree_edges, "r", dpi=50)
    merged = fork_tree(nodes, merge_edges, "r", dpi=50)
    assert "pink curves" not in plain.caption
    assert "pink curves: extra parents (merges)" in merged.caption
