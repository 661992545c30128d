"""The licence-transitions chart: what the forks of each family re-licensed (DESIGN §9).

:func:`drift_transitions` draws, for each family, horizontal bars of its top licence
transitions (``from -> to``, members), coloured by the class of the licence they move
to (:mod:`ecograph.licenses`), with a title and a subtitle giving the key number: the
share of members with a known licence that changed it. ``ecograph plot drift ROOT...``
and the report's "What its forks changed" section draw it. Returns the Figure; nothing is
shown or saved (see :func:`ecograph.render.save_figure`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

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

__all__ = ["CLASS_COLORS", "drift_transitions", "headline"]

#: Colour of each licence class: Okabe-Ito (colour-blind safe), grey for unknown.
CLASS_COLORS: dict[str, str] = {
    PERMISSIVE: "#009E73",
    COPYLEFT: "#0072B2",
    RESTRICTED: "#E69F00",
    NON_COMMERCIAL: "#D55E00",
    UNKNOWN: "#999999",
}
_WIDTH_IN = 7.0
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
) -> Figure:
    """Horizontal bars of the top licence transitions of each family.

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
        family.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _rows(drift)
    if top < 1:
        raise UsageError("top must be at least 1")
    shown = [r["transitions"][:top] for r in rows]
    n_bars = [max(len(s), 1) for s in shown]
    header: Axes | None = None
    if ax is None:
        height = 1.0 + 0.15 * (len(rows) == 1) + sum(0.45 + _BAR_IN * n for n in n_bars)
        fig = Figure(figsize=(_WIDTH_IN, height), dpi=200, layout="constrained")
        fig.get_layout_engine().set(w_pad=0.12)  # type: ignore[union-attr, call-arg]
        FigureCanvasAgg(fig)
        grid = fig.subplots(len(rows) + 1, 1, squeeze=False,
                            height_ratios=[3.2 + (len(rows) == 1), *n_bars])[:, 0]
        header, axes = grid[0], grid[1:]
    else:
        root_fig = ax.get_figure(root=True)
        if root_fig is None:
            raise UsageError("ax is not attached to a figure")
        if len(rows) != 1:
            raise UsageError("drift_transitions draws one family on a given ax")
        fig, axes = root_fig, np.array([ax])
    used: set[str] = set()
    for panel, (row, trans) in enumerate(zip(rows, shown, strict=True)):
        a = axes[panel]
        changed, known = row["license_changed"] or 0, row["license_known"] or 0
        share = f" ({100 * changed / known:.0f}%)" if known else ""
        rest = changed - sum(t["count"] for t in trans)
        xmax = max((t["count"] for t in trans), default=1)
        if len(rows) > 1:  # one family: the subtitle names it
            a.set_title(f"{_clip(row['root'], 56)}: {changed:,} of {known:,} changed "
                        f"their licence{share}", fontsize=8.5, loc="left", fontweight="bold")
        if rest > 0:
            a.text(1, 0, f"+ {rest:,} in other transitions", transform=a.transAxes,
                   ha="right", va="bottom", fontsize=7, color="#555555")
        if not trans:
            a.text(0.5, 0.5, "no member changed its licence" if known else
                   "no member declares a licence", transform=a.transAxes, ha="center",
                   va="center", fontsize=8, color="#555555")
            a.set_yticks([])
        else:
            classes = [license_class(t["to"]) for t in trans]
            used.update(classes)
            ypos = np.arange(len(trans))[::-1]
            counts = [t["count"] for t in trans]
            a.barh(ypos, counts, height=0.68, color=[CLASS_COLORS[c] for c in classes])
            labels = [_clip(f"{t['from']}{_ARROW}{t['to']}") for t in trans]
            a.set_yticks(ypos, labels, fontsize=7.5)
            for y, c in zip(ypos, counts, strict=True):
                a.text(c + xmax * 0.01, y, f"{c:,}", va="center", ha="left", fontsize=7)
            a.set_ylim(-0.6, len(trans) - 0.4)
            a.xaxis.get_major_locator().set_params(integer=True)
        a.tick_params(axis="y", length=0)
        a.tick_params(axis="x", labelsize=7.5)
        for side in ("top", "right", "left"):
            a.spines[side].set_visible(False)
        a.grid(True, axis="x", color="#e5e5e5", lw=0.6)
        a.set_axisbelow(True)
        a.set_xlim(0, xmax * 1.12)
    scale = "each panel has its own scale; " if len(rows) > 1 else ""
    axes[-1].set_xlabel(f"members ({scale}a merge counts once, under all its parents' "
                        "licences)", fontsize=7.5)
    text = title or "What the forks changed: licence transitions"
    subtitle = headline(rows) if rows else "no family given"

    handles = [Patch(color=CLASS_COLORS[c], label=c) for c in LICENSE_CLASSES if c in used]
    if header is None:  # a given ax: title and subtitle above it
        axes[0].set_title(f"{text}\n{subtitle}", fontsize=10, loc="left", pad=14)
        if handles:
            axes[0].legend(handles=handles, fontsize=7, frameon=False, loc="lower right")
        return fig
    header.axis("off")
    header.text(0, 1, text, transform=header.transAxes, ha="left", va="top", fontsize=11.5,
                fontweight="bold")
    sentences = [p.strip() for p in subtitle.split(";")]
    lines = [p[:1].upper() + p[1:] + "." for p in sentences]
    if len(rows) == 1:
        lines.insert(0, f"Family of {_clip(rows[0]['root'], 80)}")
    header.text(0, 0.72, "\n".join(lines), transform=header.transAxes, ha="left", va="top",
                fontsize=8.5, linespacing=1.35)
    if handles:
        header.legend(handles=handles, title="colour: class of the new licence",
                      title_fontsize=7.5, fontsize=7.5, ncol=len(handles), frameon=False,
                      loc="lower left", bbox_to_anchor=(0, -0.2), alignment="left",
                      handlelength=1.2, borderaxespad=0)
    return fig
