"""The licence-transitions chart: what the forks of each family re-licensed (DESIGN §9).

:func:`drift_transitions` draws, for each family, horizontal bars of its top licence
transitions (``from -> to``, members), coloured by the class of the licence they move
to (:mod:`ecograph.licenses`), in the house style (:mod:`ecograph.style`): a title, a
subtitle giving the key number (the share of members with a known licence that changed
it), a note on how to read it and the source line; ``size`` is a preset. ``ecograph plot
drift ROOT...`` and the report's "What its forks changed" section draw it. Returns the
Figure; nothing is shown or saved (see :func:`ecograph.render.save_figure`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import style
from .errors import UsageError
from .licenses import (
    COPYLEFT,
    LICENSE_CLASSES,
    NON_COMMERCIAL,
    PERMISSIVE,
    RESTRICTED,
    UNKNOWN,
    license_class,
)
from .render import figure_text

__all__ = ["CLASS_COLORS", "drift_transitions", "headline"]

#: Colour of each licence class: Okabe-Ito (colour-blind safe), grey for unknown.
CLASS_COLORS: dict[str, str] = {
    PERMISSIVE: "#009E73",
    COPYLEFT: "#0072B2",
    RESTRICTED: "#E69F00",
    NON_COMMERCIAL: "#D55E00",
    UNKNOWN: "#999999",
}
_BAR_IN = 0.27
_LABEL_CHARS = 34
_ARROW = " → "


def headline(rows: Iterable[Mapping[str, Any]]) -> str:
    """The key number of the chart, over all ``rows`` (one per family; a model in two
    families counts in both).

    >>> for part in headline([{"license_known": 50, "license_changed": 19,
    ...                        "relicensed_permissive": 4}]).split("; "):
    ...     print(part)
    38% of members with a known licence changed it (19 of 50)
    4 went from a restricted or non-commercial licence to a permissive one
    >>> headline([{"license_known": 0, "license_changed": 0, "relicensed_permissive": 0}])
    'no member declares a licence'
    """
    rows = list(rows)
    known = sum(r["license_known"] or 0 for r in rows)
    changed = sum(r["license_changed"] or 0 for r in rows)
    permissive = sum(r["relicensed_permissive"] or 0 for r in rows)
    if not known:
        return "no member declares a licence"
    text = (f"{100 * changed / known:.0f}% of members with a known licence changed it "
            f"({changed:,} of {known:,})")
    if permissive:
        text += (f"; {permissive:,} went from a restricted or non-commercial licence to a "
                 "permissive one")
    return text


def _clip(text: str, width: int = _LABEL_CHARS) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _rows(drift: pl.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = drift.to_dicts() if isinstance(drift, pl.DataFrame) else [dict(r) for r in drift]
    for r in rows:
        if "transitions" not in r or "root" not in r:
            raise UsageError("drift_transitions needs rows of ecograph.drift.drift "
                             "(root, transitions, license_known, ...)")
    return rows


def drift_transitions(
    drift: pl.DataFrame | Iterable[Mapping[str, Any]],
    *,
    top: int = 8,
    title: str | None = None,
    ax: Axes | None = None,
    size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """Horizontal bars of the top licence transitions of each family, in the house style
    (:mod:`ecograph.style`).

    Parameters
    ----------
    drift : polars.DataFrame or iterable of mappings
        Rows of :func:`ecograph.drift.drift` (trait ``license``), one per family, in the
        order to draw.
    top : int
        Most transitions drawn per family (the rest are summed in the panel's title).
    title : str, optional
        The title (default: "What the forks changed: licence transitions"); the subtitle
        always gives :func:`headline`.
    ax : matplotlib Axes, optional
        Draw on this axis (one family only); by default a new figure with one panel per
        family under a legend of the licence classes.
    size : str
        Size preset of the house style: ``column``, ``page`` (default) or ``slide``.
    observed : datetime.date, optional
        The date in the source line (the rows carry none: without it the line says the
        observation date is unknown).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _rows(drift)
    if top < 1:
        raise UsageError("top must be at least 1")
    p = style.preset(size)
    chars = _LABEL_CHARS if p.name != "column" else 44
    shown = [r["transitions"][:top] for r in rows]
    used = {license_class(t["to"]) for trans in shown for t in trans}
    handles = [Patch(color=CLASS_COLORS[c], label=c) for c in LICENSE_CLASSES if c in used]
    text = figure_text(title, keep_newlines=True) if title else \
        "What the forks changed: licence transitions"
    subtitle = headline(rows) if rows else "no family given"
    lines = [part.strip() for part in subtitle.split(";")]
    lines = [part[:1].upper() + part[1:] + "." for part in lines]
    if len(rows) == 1:
        lines.insert(0, f"Family of {figure_text(_clip(rows[0]['root'], 80))}")
    note = ("Each panel has its own scale. " if len(rows) > 1 else "") + \
        "A merge counts once, under all its parents' licences."
    with style.house(size):
        header: Axes | None = None
        if ax is None:
            fig, header, axes = _frame(p, rows, shown, handles, text, "\n".join(lines), note,
                                       observed)
        else:
            root_fig = ax.get_figure(root=True)
            if root_fig is None:
                raise UsageError("ax is not attached to a figure")
            if len(rows) != 1:
                raise UsageError("drift_transitions draws one family on a given ax")
            fig, axes = root_fig, [ax]
        small = max(p.tick - 0.5, style.MIN_FONT_PT)
        for a, row, trans in zip(axes, rows, shown, strict=True):
            _panel(a, row, trans, p, chars, small, titled=len(rows) > 1)
        axes[-1].set_xlabel("members")
        if header is None:  # a given ax: title and subtitle above it
            axes[0].set_title(f"{text}\n{subtitle}", loc="left", fontsize=p.subtitle,
                              pad=14)
            if handles:
                axes[0].legend(handles=handles, frameon=False, loc="lower right")
        elif handles:
            header.axis("off")
            ncol = style.fit_legend_columns(len(handles), 14, p)
            header.legend(handles=handles, title="colour: class of the new licence",
                          ncol=ncol, frameon=False, loc="center left", alignment="left",
                          handlelength=1.2, borderaxespad=0, borderpad=0)
    return fig


def _panel(a: Axes, row: dict[str, Any], trans: list[dict[str, Any]],
           p: style.SizePreset, chars: int, small: float, *, titled: bool) -> None:
    """One family's bars (``trans``) on ``a``, with the rest counted at the bottom right."""
    changed, known = row["license_changed"] or 0, row["license_known"] or 0
    share = f" ({100 * changed / known:.0f}%)" if known else ""
    rest = changed - sum(t["count"] for t in trans)
    xmax = max((t["count"] for t in trans), default=1)
    if titled:  # one family: the subtitle names it
        root = figure_text(_clip(row["root"], 56))
        sep = ":\n" if p.name == "column" else ": "
        a.set_title(f"{root}{sep}{changed:,} of {known:,} changed their licence{share}",
                    fontsize=p.label, loc="left", fontweight="bold")
    if rest > 0:
        a.text(1, 0, f"+ {rest:,} in other transitions", transform=a.transAxes,
               ha="right", va="bottom", fontsize=small, color=style.MUTED_COLOR)
    if not trans:
        a.text(0.5, 0.5, "no member changed its licence" if known else
               "no member declares a licence", transform=a.transAxes, ha="center",
               va="center", fontsize=p.label, color=style.MUTED_COLOR)
        a.set_yticks([])
    else:
        classes = [license_class(t["to"]) for t in trans]
        ypos = np.arange(len(trans))[::-1]
        counts = [t["count"] for t in trans]
        labels = [figure_text(_clip(f"{t['from']}{_ARROW}{t['to']}", chars)) for t in trans]
        above = p.name == "column"  # a column is too narrow for labels beside the bars
        a.barh(ypos, counts, height=0.42 if above else 0.68,
               color=[CLASS_COLORS[c] for c in classes])
        if above:
            a.set_yticks([])
            for y, label in zip(ypos, labels, strict=True):
                a.text(0, y + 0.25, label, va="bottom", ha="left", fontsize=small)
        else:
            a.set_yticks(ypos, labels)
        for y, c in zip(ypos, counts, strict=True):
            a.text(c + xmax * 0.01, y, f"{c:,}", va="center", ha="left", fontsize=small)
        a.set_ylim(-0.45 if above else -0.6, len(trans) - (0.1 if above else 0.4))
        a.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    style.style_axes(a, p, grid="x")
    a.tick_params(axis="y", length=0)
    a.spines["left"].set_visible(False)
    a.set_xlim(0, xmax * 1.12)


def _frame(p: style.SizePreset, rows: list[dict[str, Any]], shown: list[list[Any]],
           handles: list[Patch], title: str, subtitle: str, note: str,
           observed: dt.date | None) -> tuple[Figure, Axes | None, list[Axes]]:
    """The figure (as tall as its bars need between the title block and the source line),
    a header Axes for the legend (None without bars) and one Axes per family."""
    bar_in = _BAR_IN * p.label / 9 * (1.55 if p.name == "column" else 1.0)
    line_in = 1.6 / 72
    n_bars = [max(len(s), 1) for s in shown]
    panels_in = [(p.label * line_in * (2 if p.name == "column" else 1) if len(rows) > 1
                  else 0) + p.tick * 2.2 / 72 + bar_in * n for n in n_bars]
    header_in = 0.0
    if handles:
        ncol = style.fit_legend_columns(len(handles), 14, p)
        header_in = (1 + math.ceil(len(handles) / ncol)) * p.legend * 1.5 / 72
    probe = style.figure(p, dpi=72)  # the bands only depend on the width
    bands = style.decorate(probe, title, subtitle, observed, size=p, note=note)
    body = sum(panels_in) + header_in + p.label * 2 / 72
    height = bands.top + bands.bottom + body + 2 * p.pad
    if p.name == "slide":
        height = max(height, p.height)
    fig = style.figure(p, height=height)
    style.decorate(fig, title, subtitle, observed, size=p, note=note)
    if handles:
        grid = fig.subplots(len(rows) + 1, 1, squeeze=False,
                            height_ratios=[header_in, *panels_in])[:, 0]
        return fig, grid[0], list(grid[1:])
    grid = fig.subplots(len(rows), 1, squeeze=False, height_ratios=panels_in)[:, 0]
    return fig, None, list(grid)
