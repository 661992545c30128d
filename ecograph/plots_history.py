"""Plots over the store's observations (DESIGN §10): family downloads over time.

Like :mod:`ecograph.plots`: a function takes plain data and an optional ``ax=`` and returns
the Figure (nothing shown or saved; see :func:`ecograph.render.save_figure`).
"""

from __future__ import annotations

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .plots import _figure, _style
from .render import figure_text, quiet_warnings

__all__ = ["family_downloads_over_time"]


@quiet_warnings
def family_downloads_over_time(series: pl.DataFrame, *, ax: Axes | None = None,
                               title: str | None = None) -> Figure:
    """Family downloads (Σ downloads (30 d) over family(R)) at each observation, one line
    per root, from the frame :meth:`ecograph.api.Ecosystem.downloads_over_time` returns
    (``observed_at``, ``root``, ``family_downloads``; a null value, a root not observed
    yet, leaves a gap).

    >>> from datetime import datetime, UTC
    >>> t = [datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2)]
    >>> s = pl.DataFrame({"observed_at": t * 2, "root": ["a", "a", "b", "b"],
    ...                   "family_downloads": [10, 30, 5, None]})
    >>> [len(line.get_xdata()) for line in family_downloads_over_time(s).axes[0].get_lines()]
    [2, 1]
    """
    fig, ax = _figure(ax, (8.0, 5.0))
    roots = list(dict.fromkeys(series["root"].to_list()))
    for k, root in enumerate(roots):
        points = series.filter((pl.col("root") == root)
                               & pl.col("family_downloads").is_not_null()).sort("observed_at")
        last = points["family_downloads"][-1] if points.height else None
        label = f"{figure_text(root)} ({last:,})" if last is not None else figure_text(root)
        ax.plot(points["observed_at"].to_list(), points["family_downloads"].to_list(),
                marker="o", ms=3, lw=1.8, label=label, **_style(k))
    ax.set_xlabel("observation")
    ax.set_ylabel("family downloads (30 days)")
    ax.grid(True, color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(figure_text(title) if title else "Family downloads over observations",
                 fontsize=11)
    if ax.get_lines():
        ax.legend(frameon=False, fontsize=8, loc="best")
    fig.autofmt_xdate()
    return fig
