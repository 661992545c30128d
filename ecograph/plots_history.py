"""Plots over the store's observations (DESIGN §10): family downloads over time.

Like :mod:`ecograph.plots`: a function takes plain data and an optional ``ax=`` and returns
the Figure (nothing shown or saved; see :func:`ecograph.render.save_figure`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import style
from .plots import _figure, _legend_above, _style
from .render import figure_text, quiet_warnings

__all__ = ["family_downloads_over_time"]


@quiet_warnings
def family_downloads_over_time(series: pl.DataFrame, *, ax: Axes | None = None,
                               title: str | None = None, size: str = style.DEFAULT_SIZE,
                               observed: dt.date | None = None) -> Figure:
    """Family downloads (Σ downloads (30 d) over family(R)) at each observation, one line
    per root, from the frame :meth:`ecograph.api.Ecosystem.downloads_over_time` returns
    (``observed_at``, ``root``, ``family_downloads``; a null value, a root not observed
    yet, leaves a gap), in the house style (:mod:`ecograph.style`); the subtitle gives the
    largest change between the first and the last observation.

    >>> from datetime import datetime, UTC
    >>> t = [datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2)]
    >>> s = pl.DataFrame({"observed_at": t * 2, "root": ["a", "a", "b", "b"],
    ...                   "family_downloads": [10, 30, 5, None]})
    >>> [len(line.get_xdata()) for line in family_downloads_over_time(s).axes[0].get_lines()]
    [2, 1]
    """
    style.preset(size)
    with style.house(size):
        own = ax is None
        fig, ax = _figure(ax, size, aspect=0.62)
        roots = list(dict.fromkeys(series["root"].to_list()))
        moves: list[tuple[int, str]] = []
        for k, root in enumerate(roots):
            points = series.filter((pl.col("root") == root)
                                   & pl.col("family_downloads").is_not_null()
                                   ).sort("observed_at")
            values = points["family_downloads"].to_list()
            last = values[-1] if values else None
            label = (f"{figure_text(root)} ({last:,})" if last is not None
                     else figure_text(root))
            ax.plot(points["observed_at"].to_list(), values, marker="o", ms=3, lw=1.8,
                    label=label, **_style(k))
            if len(values) > 1:
                moves.append((values[-1] - values[0], root))
        ax.set_xlabel("observation")
        ax.set_ylabel("family downloads (30 days)")
        style.style_axes(ax, size, grid="both")
        text = (figure_text(title, keep_newlines=True) if title
                else "Family downloads over observations")
        if moves:
            change, root = max(moves, key=lambda m: (abs(m[0]), m[1]))
            subtitle = (f"largest change: {figure_text(root)} {change:+,} since the first "
                        "observation")
        else:
            subtitle = "one observation so far: nothing to compare"
        if ax.get_lines():
            _legend_above(ax, size, [str(line.get_label()) for line in ax.get_lines()])
        fig.autofmt_xdate()
        if own:
            when = observed or (series["observed_at"].max().date()  # type: ignore[union-attr]
                                if series.height else None)
            style.decorate(fig, text, subtitle, when, size=size)
        else:
            ax.set_title(f"{text}\n{subtitle}", loc="left",
                         fontsize=style.preset(None, fig).subtitle)
    return fig
