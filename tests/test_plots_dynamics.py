"""The share and new charts: what is drawn (artists), not how it looks."""

from __future__ import annotations

from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ecograph.dynamics import OTHER, trends  # noqa: E402
from ecograph.plots_dynamics import (  # noqa: E402
    GROUP_COLORS,
    OTHER_COLOR,
    new_chart,
    period_range,
    share_chart,
    trend_table,
)


def _t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# 10 vendors' foundations; derivatives in 2024-Q1, Q2 and Q4 (none in Q3)
VENDORS = ["meta-llama", "Qwen", "google", "mistralai", "microsoft", "deepseek-ai",
           "tiiuae", "EleutherAI", "allenai", "nvidia"]


def _hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    ids, created, rel, parents, children = [], [], [], [], []
    for k, org in enumerate(VENDORS):
        root = f"{org}/Model-{k + 1}B"
        ids.append(root)
        created.append(_t(2023, 12, 1))
        rel.append(None)
        for j in range(len(VENDORS) - k):  # vendor k has 10 - k derivatives
            child = f"u{j}/{org}-ft"
            month = (1, 4, 11)[j % 3]
            ids.append(child)
            created.append(_t(2024, month, 1 + k))
            rel.append("finetune")
            parents.append(root)
            children.append(child)
    models = pl.DataFrame({"id": ids, "created_at": created, "relation": rel})
    return models, pl.DataFrame({"parent": parents, "child": children})


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return trends(*_hub(), by="vendor", period="quarter")


def _inside(fig: Figure) -> None:
    """Everything drawn (titles, legend, tick labels) lies inside the figure."""
    fig.canvas.draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # type: ignore[attr-defined]
    size = fig.get_size_inches()
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, drawn
    assert drawn.x1 <= size[0] + 0.01 and drawn.y1 <= size[1] + 0.01, drawn


def _text(fig: Figure, part: str) -> str:
    """The title / subtitle / source line the house style put on ``fig``."""
    (text,) = [t for t in fig.texts if t.get_gid() == f"ecograph-{part}"]
    return text.get_text()


def _covers(collection: PolyCollection, n: int, y: float) -> list[bool]:
    """Whether the layer covers height ``y`` at each period's centre (data coordinates)."""
    path = collection.get_paths()[0]
    return [bool(path.contains_point((x, y))) for x in range(n)]


def test_period_range_fills_gaps() -> None:
    assert period_range(["2024-Q4", "2024-Q1"]) == ["2024-Q1", "2024-Q2", "2024-Q3",
                                                     "2024-Q4"]
    assert period_range(["2023-11", "2024-02"]) == ["2023-11", "2023-12", "2024-01",
                                                     "2024-02"]
    assert period_range([]) == []


def test_trend_table_folds_and_sums_to_one(frame: pl.DataFrame) -> None:
    table = trend_table(frame, top=8)
    assert table.periods == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert len(table.groups) == 9 and table.groups[-1] == OTHER
    assert table.groups[0] == "Meta"  # the most derivatives over the range
    sums = table.share.sum(axis=0)
    assert sums == pytest.approx([1.0, 1.0, 0.0, 1.0])  # Q3 had no derivative
    assert table.new.sum() == pytest.approx(frame["new"].sum())


def test_share_chart_artists(frame: pl.DataFrame) -> None:
    fig = share_chart(frame, by="vendor", period="quarter", top=8)
    count_ax, ax = fig.axes
    layers = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(layers) == 9  # 8 vendors + other
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == OTHER and labels[-1] == "Meta" and len(labels) == 9  # top first
    colors = [matplotlib.colors.to_hex(c.get_facecolor()[0]) for c in layers]
    assert colors[-1] == OTHER_COLOR.lower()
    assert colors[:8] == [c.lower() for c in GROUP_COLORS[:8]]
    # the plotted shares: the top layer reaches 100% in every period with derivatives
    for height in (0.5, 50.0, 99.5):  # the layers fill 0-100% exactly where there is data
        covered = np.array([_covers(layer, 4, height) for layer in layers])
        assert covered.any(axis=0).tolist() == [True, True, False, True]
    assert not any(_covers(layer, 4, 100.5) != [False] * 4 for layer in layers)
    assert _covers(layers[-1], 4, 99.5)[:2] == [True, True]  # other on top
    table = trend_table(frame, 8)
    bottom = table.share[0] * 100  # Meta, the bottom layer, reaches its share
    assert _covers(layers[0], 4, 0.5) == [True, True, False, True]
    assert [bool(c) for c in _covers(layers[0], 4, float(bottom[0]) + 0.5)] == [
        False, bottom[1] > bottom[0] + 0.5, False, bottom[3] > bottom[0] + 0.5]
    # the count panel: one bar per period, the derivatives of each
    heights = [p.get_height() for p in count_ax.patches]
    expected = frame.group_by("period").agg(pl.col("new").sum()).sort("period")["new"]
    assert heights == pytest.approx([expected[0], expected[1], 0.0, expected[2]])
    assert "leads with" in _text(fig, "subtitle")
    assert _text(fig, "source").startswith("Data: Hugging Face Hub via ecograph, ")
    assert fig.get_size_inches()[0] == pytest.approx(7.0)
    _inside(fig)


def test_new_chart_artists(frame: pl.DataFrame) -> None:
    fig = new_chart(frame, by="vendor", period="quarter", top=3)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 3  # the folded groups are not drawn as a line
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Meta", "Qwen (Alibaba)",
                                                                   "Google"]
    assert list(lines[0].get_ydata()) == pytest.approx(
        trend_table(frame, 3).new[0].tolist())
    subtitle = _text(fig, "subtitle")
    assert "7 smaller groups" in subtitle
    _inside(fig)


def test_size_groups_follow_the_size_classes() -> None:
    models, edges = _hub()
    frame = trends(models, edges, by="size", period="quarter")
    table = trend_table(frame, 8, by="size")
    assert table.groups == ["1-4B", "5-9B", "10-20B"]


def test_on_a_given_axes_and_when_empty(frame: pl.DataFrame) -> None:
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    assert share_chart(frame, ax=ax, top=2) is fig and fig.axes == [ax]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3
    assert "Share of new derivatives" in ax.get_title(loc="left")
    empty = share_chart(frame.clear())
    assert _text(empty, "subtitle") == "no derivatives in this range"
    _inside(empty)
    assert not new_chart(frame.clear()).axes[0].get_lines()
