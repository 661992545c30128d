"""How fast the community moves on, drawn: author flows, retention, succession (DESIGN §8).

- :func:`flow_chart` (``ecograph plot migration``): an alluvial figure. One column per
  period, a stacked box per group (the ``top`` groups and ``other``), ribbons from period t
  to t+1: an author who built on G in t and on H in t+1 (not on G) is a ribbon G → H; one
  who built on G again is a ribbon G → G (the *returning* authors). A box is as tall as
  the larger of its outgoing and incoming ribbons (authors who published in both periods).
- :func:`retention_chart` (``ecograph plot retention``): retention(G, t) per group, one
  line per group, x = the earlier period t of each pair.
- :func:`succession_chart` (``ecograph plot succession VENDOR``): new derivatives per month
  of each series of a vendor, release dates as vertical lines, crossovers marked.

Each takes an optional ``ax=`` and returns the Figure (nothing is shown or saved). Colours
are :data:`ecograph.style.GROUP_COLORS`, ``other`` grey (the house style,
:mod:`ecograph.style`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, MaxNLocator

from . import style
from .errors import UsageError
from .migration import OTHER, Migration
from .plots_dynamics import _by_word, _figure, _legend, _period_axis, _titles, period_range
from .render import figure_text
from .style import GROUP_COLORS, OTHER_COLOR

__all__ = ["MIGRATION_PLOTS", "flow_layout", "flow_chart", "retention_chart",
           "succession_chart", "migration_plot"]

_PERIOD_WORD = {"month": "month", "quarter": "quarter"}


def _after(label: str) -> str:
    """The period after ``label`` (``2024-Q4`` → ``2025-Q1``, ``2024-12`` → ``2025-01``)."""
    year, rest = label.split("-")
    if rest.startswith("Q"):
        q = int(rest[1:])
        return f"{int(year) + q // 4:04d}-Q{q % 4 + 1}"
    m = int(rest)
    return f"{int(year) + m // 12:04d}-{m % 12 + 1:02d}"


def _group_order(result: Migration) -> list[str]:
    """Groups by total authors (largest first), ``other`` last."""
    totals = (
        result.retention.group_by("group").agg(pl.col("authors").sum())
        .with_columns((pl.col("group") == OTHER).alias("_other"))
        .sort(["_other", "authors", "group"], descending=[False, True, False])
    )
    return totals.get_column("group").to_list()


def _colors(groups: list[str]) -> dict[str, str]:
    out, k = {}, 0
    for g in groups:
        if g == OTHER:
            out[g] = OTHER_COLOR
        else:
            out[g] = GROUP_COLORS[k % len(GROUP_COLORS)]
            k += 1
    return out


def flow_layout(result: Migration, last: int | None = 6
                ) -> tuple[list[str], list[str], list[tuple[int, str, str, int]]]:
    """The periods (columns), groups (largest first, ``other`` last) and ribbons
    ``(column of t, from, to, authors)`` of :func:`flow_chart`: one ribbon per non-zero
    flow and one G → G per group with returning authors, for the ``last`` period pairs.

    >>> r = pl.DataFrame({"period": ["2024-Q1"], "group": ["a"], "authors": [3],
    ...                   "returning": [2], "retention": [2 / 3]})
    >>> f = pl.DataFrame({"period": ["2024-Q1"], "from_group": ["a"], "to_group": ["b"],
    ...                   "authors": [1]})
    >>> flow_layout(Migration(r, f))
    (['2024-Q1', '2024-Q2'], ['a'], [(0, 'a', 'a', 2), (0, 'a', 'b', 1)])
    """
    starts = sorted(result.retention.get_column("period").unique().to_list())
    if last is not None:
        starts = starts[-last:]
    periods = period_range([*starts, _after(starts[-1])]) if starts else []
    col = {p: i for i, p in enumerate(periods)}
    ribbons: list[tuple[int, str, str, int]] = []
    keep = result.retention.filter(pl.col("period").is_in(starts) & (pl.col("returning") > 0))
    for t, g, n in keep.select("period", "group", "returning").iter_rows():
        ribbons.append((col[t], g, g, int(n)))
    flows = result.flows.filter(pl.col("period").is_in(starts) & (pl.col("authors") > 0))
    for t, g, h, n in flows.select("period", "from_group", "to_group", "authors").iter_rows():
        ribbons.append((col[t], g, h, int(n)))
    ribbons.sort()
    return periods, _group_order(result), ribbons


def _ribbon(x0: float, x1: float, y0: tuple[float, float], y1: tuple[float, float],
            color: str, alpha: float) -> PathPatch:
    """A band from [y0] at x0 to [y1] at x1 with cubic (S-shaped) edges."""
    mid = (x0 + x1) / 2
    verts = [(x0, y0[0]), (mid, y0[0]), (mid, y1[0]), (x1, y1[0]),
             (x1, y1[1]), (mid, y1[1]), (mid, y0[1]), (x0, y0[1]), (x0, y0[0])]
    codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
             MplPath.LINETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
             MplPath.CLOSEPOLY]
    patch = PathPatch(MplPath(verts, codes), facecolor=color, edgecolor="none", alpha=alpha,
                      lw=0)
    patch.set_gid("ecograph-ribbon")
    return patch


def flow_chart(
    result: Migration,
    *,
    last: int | None = 6,
    ax: Axes | None = None,
    title: str | None = None,
    size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """Where builders went next: an alluvial figure of the ``last`` period pairs of
    ``result`` (see the module docstring). Ribbons take the colour of the group they
    leave; G → G ribbons (returning authors) are drawn stronger. The subtitle gives the
    first headline sentence (:meth:`Migration.headlines`) or, without a large group, the
    largest flow."""
    style.preset(size)
    with style.house(size):
        return _flow_chart(result, last, ax, title, size, observed)


def _flow_chart(result: Migration, last: int | None, ax: Axes | None, title: str | None,
                size: str, observed: dt.date | None) -> Figure:
    own = ax is None
    fig, ax = _figure(ax, size)
    word = _PERIOD_WORD.get(result.period, result.period)
    heading = title or f"Where builders went next, {word} to {word}, by {_by_word(result.by)}"
    periods, groups, ribbons = flow_layout(result, last)
    colors = _colors(groups)
    n_cols = len(periods)
    out_sum = np.zeros((n_cols, len(groups)))
    in_sum = np.zeros((n_cols, len(groups)))
    gpos = {g: i for i, g in enumerate(groups)}
    for c, g, h, n in ribbons:
        out_sum[c, gpos[g]] += n
        in_sum[c + 1, gpos[h]] += n
    height = np.maximum(out_sum, in_sum)
    total = height.sum(axis=1).max() if height.size else 0.0
    gap = 0.03 * total if total else 1.0
    box_w = 0.12
    # boxes: stacked from the top, largest group first, a gap between groups
    top = np.zeros_like(height)
    for c in range(n_cols):
        y = total + gap * (len(groups) - 1)
        for i in range(len(groups)):
            top[c, i] = y
            if height[c, i] > 0:
                ax.add_patch(Rectangle((c - box_w / 2, y - height[c, i]), box_w,
                                       height[c, i], facecolor=colors[groups[i]],
                                       edgecolor="white", lw=0.5, zorder=3))
                y -= height[c, i] + gap
    # ribbons: outgoing stacked from a box's top on its right, incoming on its left
    # (in the order of the groups on both sides, so that few ribbons cross)
    by_origin = sorted(ribbons, key=lambda r: (r[0], gpos[r[1]], gpos[r[2]]))
    by_target = sorted(ribbons, key=lambda r: (r[0], gpos[r[2]], gpos[r[1]]))
    left: dict[tuple[int, str, str], float] = {}
    cursor = top.copy()
    for c, g, h, n in by_origin:
        left[c, g, h] = cursor[c, gpos[g]]
        cursor[c, gpos[g]] -= n
    right: dict[tuple[int, str, str], float] = {}
    cursor = top.copy()
    for c, g, h, n in by_target:
        right[c, g, h] = cursor[c + 1, gpos[h]]
        cursor[c + 1, gpos[h]] -= n
    for c, g, h, n in by_origin:
        y0, y1 = left[c, g, h], right[c, g, h]
        ax.add_patch(_ribbon(c + box_w / 2, c + 1 - box_w / 2, (y0, y0 - n), (y1, y1 - n),
                             colors[g], 0.6 if g == h else 0.3))
    for g in groups:
        ax.add_patch(Rectangle((0, 0), 0, 0, facecolor=colors[g], label=figure_text(g)))
    ax.set_xlim(-0.5, max(n_cols - 1, 1) + 0.5)
    ax.set_ylim(0, total + gap * len(groups) if total else 1)
    ax.set_xticks(np.arange(n_cols), periods)
    ax.set_yticks([])
    style.style_axes(ax, size)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    lines = result.headlines(n=1)
    if lines:
        subtitle = lines[0]
    elif ribbons:
        c, g, h, n = max((r for r in ribbons if r[1] != r[2]), key=lambda r: r[3],
                         default=ribbons[0])
        subtitle = f"Largest flow: {n:,} authors from {g} to {h}, {periods[c]} → {periods[c + 1]}"
    else:
        subtitle = "no author published in two consecutive periods"
    if own:
        style.decorate(fig, heading, figure_text(subtitle), observed, size=size, note=(
            f"Boxes: a group's authors who also published in the {word} before or after; "
            f"ribbons: where they built next {word} (strong: on the same group again; an "
            "author who moved to two groups counts in both)."))
    else:
        _titles(fig, ax, heading, figure_text(subtitle), own, size, observed)
    _legend(ax, reverse=False, size=size)
    return fig


def retention_chart(
    result: Migration,
    *,
    min_authors: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
    size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """Retention per group (one line each, ``other`` grey), x = the earlier period t of
    each pair (t, t+1). Points resting on fewer than ``min_authors`` authors are not drawn
    (a share of 3 authors is noise). The subtitle gives the largest group's retention in
    the last pair."""
    style.preset(size)
    with style.house(size):
        return _retention_chart(result, min_authors, ax, title, size, observed)


def _retention_chart(result: Migration, min_authors: int, ax: Axes | None,
                     title: str | None, size: str, observed: dt.date | None) -> Figure:
    own = ax is None
    fig, ax = _figure(ax, size)
    word = _PERIOD_WORD.get(result.period, result.period)
    heading = title or (f"Retention of builders by {_by_word(result.by)}, {word} to next "
                        f"{word}")
    periods = period_range(result.retention.get_column("period").unique().to_list())
    ppos = {p: i for i, p in enumerate(periods)}
    groups = _group_order(result)
    colors = _colors(groups)
    big = result.retention.filter(pl.col("authors") >= max(min_authors, 1))
    for g in groups:
        rows = big.filter(pl.col("group") == g).sort("period")
        if rows.is_empty():
            continue
        x = np.array([ppos[p] for p in rows.get_column("period")])
        y = rows.get_column("retention").to_numpy() * 100
        ax.plot(x, y, color=colors[g], lw=1.6 if size != "slide" else 2.6,
                marker="o" if len(periods) <= 24 else "", ms=3, label=figure_text(g))
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    ax.set_ylabel(f"built on the group again next {word}")
    if periods:
        _period_axis(ax, periods, size)
    ax.grid(True, axis="y", color=style.GRID_COLOR, lw=0.6)
    ax.set_axisbelow(True)
    named = big.filter(pl.col("group") != OTHER)
    if named.is_empty():
        subtitle = f"no group has {min_authors} authors in two consecutive {word}s"
    else:
        t = str(named.get_column("period").max())
        row = named.filter(pl.col("period") == t).sort(
            ["authors", "group"], descending=[True, False]).row(0, named=True)
        subtitle = (f"{t} → {_after(t)}: {row['retention']:.0%} of the {row['authors']:,} "
                    f"{row['group']} builders who published again stayed with {row['group']}")
    _titles(fig, ax, heading, figure_text(subtitle), own, size, observed)
    _legend(ax, reverse=False, size=size)
    return fig


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def succession_chart(
    rows: pl.DataFrame,
    trend: pl.DataFrame,
    lineages: pl.DataFrame,
    *,
    vendor: str,
    ax: Axes | None = None,
    title: str | None = None,
    size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """New derivatives per month of each series of ``vendor`` (``trend``: a monthly
    :func:`ecograph.dynamics.trends` frame by series; ``lineages``: the lineage frame, to
    know the vendor's series), release dates as dashed vertical lines, each crossover of
    ``rows`` (:func:`ecograph.migration.succession`) marked with a dot and its month."""
    style.preset(size)
    with style.house(size):
        return _succession_chart(rows, trend, lineages, vendor, ax, title, size, observed)


def _succession_chart(rows: pl.DataFrame, trend: pl.DataFrame, lineages: pl.DataFrame,
                      vendor: str, ax: Axes | None, title: str | None, size: str,
                      observed: dt.date | None) -> Figure:
    own = ax is None
    fig, ax = _figure(ax, size)
    heading = title or f"New derivatives per month of each {vendor} series"
    mine = rows.filter(pl.col("vendor") == vendor)
    order = [*mine.get_column("old").head(1).to_list(), *mine.get_column("new").to_list()]
    released = dict(zip(mine.get_column("old"), mine.get_column("old_released"), strict=True))
    released.update(zip(mine.get_column("new"), mine.get_column("new_released"), strict=True))
    series = set(lineages.filter(pl.col("vendor") == vendor).get_column("series").to_list())
    frame = trend.filter(pl.col("group").is_in(list(series & set(order))))
    periods = period_range([*frame.get_column("period").unique().to_list(),
                            *(_month(d) for d in released.values() if d is not None)])
    ppos = {p: i for i, p in enumerate(periods)}
    colors = {s: GROUP_COLORS[k % len(GROUP_COLORS)] for k, s in enumerate(order)}
    counts = {s: np.zeros(len(periods)) for s in order}
    for p, g, n in frame.select("period", "group", "new").iter_rows():
        counts[g][ppos[p]] = n
    x = np.arange(len(periods))
    for s in order:
        day = released.get(s)
        line = counts[s].copy()
        if day is not None:  # nothing to draw before the series existed
            line[: ppos[_month(day)]] = np.nan
        ax.plot(x, line, color=colors[s], lw=1.6 if size != "slide" else 2.6,
                label=figure_text(s))
        if day is not None:
            # the release day inside its month: month index + fraction of the month
            pos = ppos[_month(day)] + (day.day - 1) / 31
            ax.axvline(pos, color=colors[s], lw=0.9, ls="--", zorder=1)
    ax.set_ylim(bottom=0)
    ymax = max((float(c.max()) for c in counts.values()), default=0.0)
    crossed = []
    for old, new, month in mine.select("old", "new", "crossover").iter_rows():
        if month is None or month not in ppos:
            continue
        i = ppos[month]
        ax.plot([i], [counts[new][i]], "o", color=colors[new], ms=5, zorder=4,
                markeredgecolor="white")
        crossed.append((i, counts[new][i], f"{new} passed {old} in {month}",
                        f"{new} > {old}"))
    if len(crossed) <= 3:  # more labels would pile up: the dots and the subtitle say it
        for i, y, _long, short in crossed:
            ax.annotate(figure_text(short), (i, y), xytext=(-4, 6),
                        textcoords="offset points", ha="right",
                        fontsize=style.preset(size).tick, color=style.TEXT_COLOR)
    ax.set_ylim(0, ymax * 1.18 if ymax else 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_ylabel("new derivatives")
    if periods:
        _period_axis(ax, periods, size)
    ax.grid(True, axis="y", color=style.GRID_COLOR, lw=0.6)
    ax.set_axisbelow(True)
    if not crossed:
        subtitle = f"{len(order)} series; no newer series has passed its predecessor yet"
    elif len(crossed) == 1:
        subtitle = f"{crossed[0][2]}"
    else:
        subtitle = (f"{len(order)} series, {len(crossed)} crossovers (dots); latest: "
                    f"{crossed[-1][2]}")
    subtitle += "; dashed lines: releases"
    _titles(fig, ax, heading, figure_text(subtitle), own, size, observed)
    _legend(ax, reverse=False, size=size)
    return fig


#: ``ecograph plot migration|retention``: kind -> function of a :class:`Migration`.
MIGRATION_PLOTS: dict[str, Callable[..., Figure]] = {"migration": flow_chart,
                                                     "retention": retention_chart}


def migration_plot(kind: str, result: Migration, **kw: Any) -> Figure:
    """Dispatch on ``kind`` (``migration``, ``retention``)."""
    if kind not in MIGRATION_PLOTS:
        raise UsageError(f"unknown plot {kind!r}; choose one of {', '.join(MIGRATION_PLOTS)}")
    return MIGRATION_PLOTS[kind](result, **kw)
