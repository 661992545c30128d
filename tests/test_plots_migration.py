"""The migration, retention and succession figures: their artists say what the frames say,
everything lies inside the figure; and the synthetic hub shows what its generator put in
(authors move on to newer series)."""

from __future__ import annotations

import math
from datetime import date

import matplotlib
import polars as pl
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ecograph import synth
from ecograph.frames import frames_from_parsed
from ecograph.migration import Migration, migration, succession
from ecograph.plots_migration import (
    flow_chart,
    flow_layout,
    migration_plot,
    retention_chart,
    succession_chart,
)
from ecograph.records import parse_model

matplotlib.use("Agg")


def _inside(fig: Figure) -> None:
    """Everything drawn (titles, legend, tick labels) lies inside the figure."""
    fig.canvas.draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # type: ignore[attr-defined]
    size = fig.get_size_inches()
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, drawn
    assert drawn.x1 <= size[0] + 0.01 and drawn.y1 <= size[1] + 0.01, drawn


def _text(fig: Figure, part: str) -> str:
    """The title / subtitle / source line the house style put on ``fig`` (wrapping undone)."""
    (text,) = [t for t in fig.texts if t.get_gid() == f"ecograph-{part}"]
    return " ".join(text.get_text().split())


@pytest.fixture(scope="module")
def result() -> Migration:
    # 2024-Q1 -> Q2: of 40 Llama builders 30 stay, 6 go to Qwen, 4 to other;
    # Q2 -> Q3: of 36 Llama builders 20 stay, 16 go to Qwen; Qwen keeps 5 of 10
    retention = pl.DataFrame({
        "period": ["2024-Q1", "2024-Q1", "2024-Q2", "2024-Q2", "2024-Q2"],
        "group": ["Llama", "Qwen", "Llama", "Qwen", "other"],
        "authors": [40, 0, 36, 10, 3],
        "returning": [30, 0, 20, 5, 0],
        "retention": [0.75, None, 20 / 36, 0.5, 0.0],
    })
    flows = pl.DataFrame({
        "period": ["2024-Q1", "2024-Q1", "2024-Q2", "2024-Q2", "2024-Q2"],
        "from_group": ["Llama", "Llama", "Llama", "Qwen", "other"],
        "to_group": ["Qwen", "other", "Qwen", "Llama", "Llama"],
        "authors": [6, 4, 16, 5, 3],
    })
    return Migration(retention, flows, by="series", period="quarter")


def test_flow_layout_has_one_ribbon_per_flow_and_returning_group(result: Migration) -> None:
    periods, groups, ribbons = flow_layout(result)
    assert periods == ["2024-Q1", "2024-Q2", "2024-Q3"]
    assert groups == ["Llama", "Qwen", "other"]
    returning = result.retention.filter(pl.col("returning") > 0).height
    assert len(ribbons) == result.flows.height + returning
    assert sum(n for *_, n in ribbons) == (result.flows["authors"].sum()
                                           + result.retention["returning"].sum())
    assert (0, "Llama", "Llama", 30) in ribbons and (1, "Qwen", "Llama", 5) in ribbons


def test_flow_chart_artists(result: Migration) -> None:
    fig = flow_chart(result, observed=date(2025, 1, 2))
    (ax,) = fig.axes
    ribbons = [p for p in ax.patches if p.get_gid() == "ecograph-ribbon"]
    returning = result.retention.filter(pl.col("returning") > 0).height
    assert len(ribbons) == result.flows.height + returning
    # the subtitle is the first headline, computed from the frames
    assert _text(fig, "subtitle") == result.headlines(n=1, min_authors=30)[0]
    assert "Of the 36 authors who built on Llama in 2024-Q2" in _text(fig, "subtitle")
    assert "2025-01-02" in _text(fig, "source")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Llama", "Qwen", "other"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-Q1", "2024-Q2", "2024-Q3"]
    _inside(fig)


def test_retention_chart_lines(result: Migration) -> None:
    fig = retention_chart(result, min_authors=10)
    (ax,) = fig.axes
    lines = {ln.get_label(): ln for ln in ax.get_lines() if isinstance(ln, Line2D)
             and not ln.get_label().startswith("_")}
    assert set(lines) == {"Llama", "Qwen"}  # other rests on 3 authors: not drawn
    assert list(lines["Llama"].get_ydata()) == pytest.approx([75.0, 2000 / 36])
    assert "56% of the 36 Llama builders" in _text(fig, "subtitle")
    _inside(fig)


def test_dispatch_and_small_sizes(result: Migration) -> None:
    with pytest.raises(Exception, match="unknown plot"):
        migration_plot("sankey", result)
    for kind in ("migration", "retention"):
        _inside(migration_plot(kind, result, size="column"))


def test_succession_chart_marks_releases_and_crossovers() -> None:
    rows = pl.DataFrame({
        "vendor": ["Meta"], "old": ["Llama 2"], "new": ["Llama 3"],
        "old_released": [date(2023, 7, 18)], "new_released": [date(2024, 4, 18)],
        "gap_days": [275], "crossover": ["2024-05"], "half_life_days": [20],
        "migrated_90d": [0.5], "defected_90d": [0.1]})
    trend = pl.DataFrame({
        "period": ["2024-03", "2024-04", "2024-04", "2024-05", "2024-05"],
        "group": ["Llama 2", "Llama 2", "Llama 3", "Llama 2", "Llama 3"],
        "new": [9.0, 8.0, 3.0, 4.0, 7.0]})
    lineage = pl.DataFrame({"vendor": ["Meta", "Meta"], "series": ["Llama 2", "Llama 3"]})
    fig = succession_chart(rows, trend, lineage, vendor="Meta")
    (ax,) = fig.axes
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 2  # both releases
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["Llama 3 > Llama 2"]
    assert "Llama 3 passed Llama 2 in 2024-05" in _text(fig, "subtitle")
    _inside(fig)


# --------------------------------------------------------------------------- synthetic hub

N = 50_000
SEED = 11
BIG_VENDORS = ["Meta", "Qwen (Alibaba)", "Mistral AI", "Google"]
#: One-sided significance of the sign test below.
ALPHA = 1e-3


def _sign_test(forward: int, backward: int) -> float:
    """P(X >= forward) for X ~ Binomial(forward + backward, 1/2)."""
    total = forward + backward
    return sum(math.comb(total, k) for k in range(forward, total + 1)) / 2 ** total


def test_synthetic_builders_move_on_to_newer_series() -> None:
    """The generator (:func:`ecograph.synth._builders_choose`) moves a builder, at each
    derivative with probability 1 - loyalty (``Beta(*LOYALTY)``, mean 1/2), to the
    *newest* release of a vendor (their home vendor with probability ``VENDOR_LOYALTY``)
    in their size class: a move never goes back to an older series. The other derivatives
    pick parents by fitness, blind to the series' order, so without the builders the flows
    between two consecutive series of a vendor would go either way alike: forward flows
    (old → new) ~ Binomial(forward + backward, 1/2). Claim: summed over the consecutive
    series pairs of the big vendors (``VENDOR_DEMAND``'s four largest), the forward
    flows exceed that symmetric null at one-sided level ALPHA, and forward > backward in
    most pairs with any flow."""
    models, edges = frames_from_parsed(parse_model(o) for o in synth.generate(N, SEED))
    flows = migration(models, edges, by="series", period="quarter").flows
    pairs = succession(models, edges, BIG_VENDORS).select("old", "new").rows()
    assert len(pairs) >= 8
    moved = {(a, b): n for a, b, n in flows.group_by("from_group", "to_group")
             .agg(pl.col("authors").sum()).iter_rows()}
    forward = [moved.get((old, new), 0) for old, new in pairs]
    backward = [moved.get((new, old), 0) for old, new in pairs]
    assert _sign_test(sum(forward), sum(backward)) < ALPHA, (forward, backward)
    with_flow = [(f, b) for f, b in zip(forward, backward, strict=True) if f + b]
    assert sum(f > b for f, b in with_flow) > len(with_flow) / 2, with_flow
    assert set(synth.VENDOR_DEMAND) >= {"Meta", "Qwen", "Mistral AI", "Google"}
