"""Who leads, drawn: shares and counts of new derivatives per period (DESIGN §8).

Each function takes a :func:`ecograph.dynamics.trends` frame (unfolded: every group),
keeps its ``top`` groups and folds the rest into ``other``
(:func:`ecograph.dynamics.top_groups`), takes an optional ``ax=`` and returns the Figure
(nothing is shown or saved; see :func:`ecograph.render.save_figure`).

- :func:`share_chart`: a stacked area of each period's shares (they sum to 100%), largest
  group at the bottom, ``other`` in grey on top.
- :func:`new_chart`: new derivatives per period, one line per group.

Periods run without gaps from the first to the last one with a derivative (a period
without any stays blank in the share chart and at 0 in the lines). Colours are Paul Tol's *muted*
qualitative scheme (distinguishable with the common colour-vision deficiencies), a group
keeping its colour in both charts; ``other`` is grey (:mod:`ecograph.style`, the house
style: ``size`` is a preset, ``observed`` the date in the source line).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import ScaledTranslation

from . import style
from .dynamics import OTHER, UNKNOWN_SIZE, period_summary, top_groups
from .errors import UsageError
from .lineage import SIZE_CLASSES
from .style import GROUP_COLORS, OTHER_COLOR, UNKNOWN_COLOR

__all__ = [
    "GROUP_COLORS",
    "OTHER_COLOR",
    "TREND_PLOTS",
    "TrendTable",
    "period_range",
    "trend_table",
    "share_chart",
    "new_chart",
    "trend_plot",
]


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_PERIOD_WORD = {"month": "month", "quarter": "quarter"}


def _code(label: str) -> tuple[int, str]:
    """A period label as (months or quarters since year 0, kind)."""
    if m := _QUARTER.fullmatch(label):
        return int(m[1]) * 4 + int(m[2]) - 1, "quarter"
    if m := _MONTH.fullmatch(label):
        return int(m[1]) * 12 + int(m[2]) - 1, "month"
    raise UsageError(f"not a period label: {label!r} (expected 2024-07 or 2024-Q3)")


def period_range(labels: list[str]) -> list[str]:
    """Every period from the first to the last of ``labels`` (sorted, gaps filled).

    >>> period_range(["2024-Q3", "2025-Q1"])
    ['2024-Q3', '2024-Q4', '2025-Q1']
    >>> period_range(["2024-12", "2024-11", "2025-01"])
    ['2024-11', '2024-12', '2025-01']
    """
    if not labels:
        return []
    codes = [_code(label) for label in labels]
    kind = codes[0][1]
    low, high = min(c for c, _ in codes), max(c for c, _ in codes)
    if kind == "quarter":
        return [f"{c // 4:04d}-Q{c % 4 + 1}" for c in range(low, high + 1)]
    return [f"{c // 12:04d}-{c % 12 + 1:02d}" for c in range(low, high + 1)]


class TrendTable(NamedTuple):
    """A trends frame laid out for drawing: ``periods`` (every period of the range),
    ``groups`` (the kept groups by total ``new``, largest first, then ``other`` when
    something was folded), and ``new`` / ``share`` arrays of shape (groups, periods),
    0 where a group had no derivative; the shares of a period with derivatives sum to 1."""

    periods: list[str]
    groups: list[str]
    new: np.ndarray
    share: np.ndarray


def trend_table(frame: pl.DataFrame, top: int | None = 8, *, by: str = "") -> TrendTable:
    """Lay out a :func:`ecograph.dynamics.trends` frame for drawing (see
    :class:`TrendTable`), keeping the ``top`` largest groups (None: all). With
    ``by="size"`` the groups follow the size classes, smallest first, ``unknown`` last.

    >>> f = pl.DataFrame({"period": ["2024-Q1", "2024-Q1", "2024-Q3"],
    ...                   "group": ["a", "b", "b"], "new": [3.0, 1.0, 2.0],
    ...                   "touching": [3, 1, 2], "share": [0.75, 0.25, 1.0],
    ...                   "leader": [True, False, True], "concentration": [0.625, 0.625, 1.0]})
    >>> t = trend_table(f)
    >>> t.periods, t.groups, t.share.tolist()
    (['2024-Q1', '2024-Q2', '2024-Q3'], ['a', 'b'], [[0.75, 0.0, 0.0], [0.25, 0.0, 1.0]])
    """
    folded = top_groups(frame, top)
    periods = period_range(folded.get_column("period").unique().to_list())
    totals = (
        folded.group_by("group").agg(pl.col("new").sum())
        .with_columns(pl.col("group").is_in([OTHER, f"{OTHER} groups"]).alias("_other"))
        .sort(["_other", "new", "group"], descending=[False, True, False])
    )
    groups = totals.get_column("group").to_list()
    if by == "size":
        rank = {c: i for i, c in enumerate((*SIZE_CLASSES, UNKNOWN_SIZE))}
        groups.sort(key=lambda g: rank.get(g, len(rank)))
    gpos = {g: i for i, g in enumerate(groups)}
    ppos = {p: i for i, p in enumerate(periods)}
    new = np.zeros((len(groups), len(periods)))
    share = np.zeros((len(groups), len(periods)))
    for period, group, n, s in folded.select("period", "group", "new", "share").iter_rows():
        new[gpos[group], ppos[period]] = n
        share[gpos[group], ppos[period]] = s
    return TrendTable(periods, groups, new, share)


def _colors(groups: list[str]) -> list[str]:
    out, k = [], 0
    for g in groups:
        if g in (OTHER, f"{OTHER} groups"):
            out.append(OTHER_COLOR)
        elif g == UNKNOWN_SIZE:
            out.append(UNKNOWN_COLOR)
        else:
            out.append(GROUP_COLORS[k % len(GROUP_COLORS)])
            k += 1
    return out


def _figure(ax: Axes | None, size: str) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.get_figure(root=True)
        if fig is None:
            raise UsageError("ax is not attached to a figure")
        if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
            FigureCanvasAgg(fig)
        return fig, ax
    fig = style.figure(size, aspect={"slide": None, "column": 1.0}.get(size, 0.68))
    return fig, fig.add_subplot()


def _period_axis(ax: Axes, periods: list[str], size: str) -> None:
    x = np.arange(len(periods))
    most = 4 if size == "column" else 8
    step = max(1, int(np.ceil(len(periods) / most)))
    if len(periods) > most and _MONTH.fullmatch(periods[0]):
        step = 12 if len(periods) > 6 * most else 6 if len(periods) > 3 * most else 3
        # ticks on January (and July / each quarter's first month) for months
        first = next((i for i, p in enumerate(periods) if int(p[5:]) % step == 1 % step), 0)
        ticks = x[first::step]
    else:
        ticks = x[::step]
    ax.set_xticks(ticks, [periods[i] for i in ticks])
    ax.set_xlim(-0.02 * max(len(periods) - 1, 1), len(periods) - 1 + 0.02 * max(
        len(periods) - 1, 1))
    style.style_axes(ax, size)


def _titles(fig: Figure, ax: Axes, title: str, subtitle: str, own: bool, size: str,
            observed: dt.date | None) -> None:
    """Title, key number and source line: on the figure when it is ours, else on ``ax``."""
    if own:
        style.decorate(fig, title, subtitle, observed, size=size)
    else:
        ax.set_title(f"{title}\n{subtitle}", loc="left",
                     fontsize=style.preset(None, fig).subtitle)


def _legend(ax: Axes, reverse: bool, size: str) -> None:
    """Beside the axes, or under them at column width (too narrow for a side legend)."""
    handles, labels = ax.get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    if size == "column":  # under the tick labels (an offset in inches: layout-proof)
        fig = ax.get_figure(root=True)
        assert fig is not None
        p = style.preset(size)
        drop = (p.tick * 1.5 + 8) / 72
        ncol = style.fit_legend_columns(len(labels), max(map(len, labels), default=8), size)
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 0.0), ncol=ncol,
                  bbox_transform=ax.transAxes + ScaledTranslation(0, -drop,
                                                                  fig.dpi_scale_trans),
                  frameon=False, borderaxespad=0.0, handlelength=1.2, columnspacing=1.0)
        return
    ax.legend(handles, labels, frameon=False, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, handlelength=1.2)


def _by_word(by: str) -> str:
    return {"size": "size class", "root": "foundation"}.get(by, by)


def share_chart(
    frame: pl.DataFrame,
    *,
    by: str = "vendor",
    period: str = "quarter",
    top: int | None = 8,
    ax: Axes | None = None,
    title: str | None = None,
    size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """Stacked area of each period's shares of new derivatives: the ``top`` groups
    (largest at the bottom) and ``other`` (grey, on top), one flat step per period (a
    period without derivatives stays blank). On a new figure, a narrow panel above shows
    how many derivatives each period's shares are made of. The subtitle names the last
    period's leader and its concentration (Σ share², with the number of equally sized
    groups it equals)."""
    style.preset(size)
    with style.house(size):
        return _share_chart(frame, by, period, top, ax, title, size, observed)


def _share_chart(frame: pl.DataFrame, by: str, period: str, top: int | None,
                 ax: Axes | None, title: str | None, size: str,
                 observed: dt.date | None) -> Figure:
    own = ax is None
    if own:
        fig = style.figure(size, aspect={"slide": None, "column": 1.15}.get(size, 0.74))
        count_ax, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, 4])
    else:
        fig, ax = _figure(ax, size)
        count_ax = None
    table = trend_table(frame, top, by=by)
    heading = title or (f"Share of new derivatives by {_by_word(by)}, "
                        f"per {_PERIOD_WORD.get(period, period)}")
    if not table.periods:
        if count_ax is not None:
            fig.delaxes(count_ax)
        _titles(fig, ax, heading, "no derivatives in this range", own, size, observed)
        ax.set_axis_off()
        return fig
    x = np.arange(len(table.periods))
    colors = _colors(table.groups)
    # one flat step per period: edges at -0.5 .. n-0.5, the last value repeated
    edges = np.arange(len(x) + 1) - 0.5
    steps = np.concatenate([table.share, table.share[:, -1:]], axis=1) * 100
    ax.stackplot(edges, steps, labels=table.groups, colors=colors, step="post",
                 edgecolor="white", linewidth=0.3)
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    ax.set_ylabel("share of new derivatives")
    _period_axis(ax, table.periods, size)
    ax.set_xlim(-0.5, len(x) - 0.5)
    summary = period_summary(frame)
    last = summary.row(-1, named=True)
    conc = last["concentration"]
    subtitle = (
        f"{last['period']}: {last['leader']} leads with {last['leader_share']:.0%} of "
        f"{last['derivatives']:,.0f}; concentration Σ share² {conc:.2f} "
        f"(≈ {1 / conc:.1f} equal groups)"
    )
    if count_ax is not None:
        totals = table.new.sum(axis=0)
        count_ax.bar(x, totals, width=0.9 if len(x) <= 48 else 1.0, color="#777777")
        count_ax.set_ylabel("derivatives")
        count_ax.yaxis.set_major_locator(MaxNLocator(nbins=2, integer=True))
        count_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        style.style_axes(count_ax, size)
        count_ax.tick_params(axis="x", bottom=False)
        # both y labels at the same distance from their axes (they read as one column)
        fig.align_ylabels([count_ax, ax])
        _titles(fig, count_ax, heading, subtitle, own, size, observed)
    else:
        _titles(fig, ax, heading, subtitle, own, size, observed)
    _legend(ax, reverse=True, size=size)
    return fig


def new_chart(
    frame: pl.DataFrame,
    *,
    by: str = "vendor",
    period: str = "quarter",
    top: int | None = 8,
    ax: Axes | None = None,
    title: str | None = None,
    log: bool = False,
    size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """New derivatives per period (fractional attribution), one line per group: the
    ``top`` groups (the smaller ones are not drawn, their total is in the subtitle: their
    sum would dwarf every line). ``log`` puts the counts on a log scale. The subtitle names
    the busiest period and the total."""
    style.preset(size)
    with style.house(size):
        return _new_chart(frame, by, period, top, ax, title, log, size, observed)


def _new_chart(frame: pl.DataFrame, by: str, period: str, top: int | None,
               ax: Axes | None, title: str | None, log: bool, size: str,
               observed: dt.date | None) -> Figure:
    own = ax is None
    fig, ax = _figure(ax, size)
    table = trend_table(frame, top, by=by)
    heading = title or (f"New derivatives per {_PERIOD_WORD.get(period, period)} "
                        f"by {_by_word(by)}")
    if not table.periods:
        _titles(fig, ax, heading, "no derivatives in this range", own, size, observed)
        ax.set_axis_off()
        return fig
    x = np.arange(len(table.periods))
    folded = 0.0
    for group, color, counts in zip(table.groups, _colors(table.groups), table.new,
                                    strict=True):
        if color == OTHER_COLOR:  # the sum of many groups would dwarf every line
            folded = float(counts.sum())
            continue
        marker, ms = ("o", 3.5 if size != "column" else 2.5) if len(x) <= 24 else ("", 0.0)
        ax.plot(x, counts, color=color, lw=1.6 if size != "slide" else 2.6, label=group,
                marker=marker, ms=ms)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_ylabel("new derivatives")
    _period_axis(ax, table.periods, size)
    ax.grid(True, axis="y", color=style.GRID_COLOR, lw=0.6)
    ax.set_axisbelow(True)
    totals = table.new.sum(axis=0)
    busiest = int(np.argmax(totals))
    subtitle = (f"{totals.sum():,.0f} derivatives; most in {table.periods[busiest]} "
                f"({totals[busiest]:,.0f})")
    if folded:
        subtitle += (f"; {len(frame.get_column('group').unique()) - len(table.groups) + 1:,}"
                     f" smaller groups ({folded:,.0f}) not drawn")
    _titles(fig, ax, heading, subtitle, own, size, observed)
    _legend(ax, reverse=False, size=size)
    return fig


#: ``ecograph plot share|new``: kind -> function.
TREND_PLOTS = {"share": share_chart, "new": new_chart}


def trend_plot(kind: str, frame: pl.DataFrame, **kw: Any) -> Figure:
    """Dispatch on ``kind`` (``share``, ``new``)."""
    if kind not in TREND_PLOTS:
        raise UsageError(f"unknown plot {kind!r}; choose one of {', '.join(TREND_PLOTS)}")
    return TREND_PLOTS[kind](frame, **kw)
