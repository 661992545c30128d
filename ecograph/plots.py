"""Plots comparing families: adoption race, fan-out distribution, relation mix.

Each function takes the families to draw, an optional ``ax=`` and returns the Figure
(nothing is shown or saved; see :func:`ecograph.render.save_figure`). A family is given
as a ``(root, nodes, edges)`` tuple — ``nodes`` with ``id``, ``created_at``, ``relation``
and a ``depth`` column (root at 0), as :func:`ecograph.graph.family_frames` returns —, or
any object with ``.root``, ``.nodes`` and ``.edges`` (an :class:`ecograph.api.Family`).
:func:`families_from_frames` builds the tuples from a store's frames.

Every figure is drawn in the house style (:mod:`ecograph.style`): ``size`` is a preset
(``column``, ``page``, ``slide``), the title is followed by a subtitle with the key number
and the source line dates the data (``observed``: the day the data was fetched; by
default the latest ``fetched_at`` of the frames). Drawn into a given ``ax``, the plot
puts its title and key number on that Axes and leaves the rest of the figure alone.

Ids and titles are drawn as literal text (:func:`ecograph.render.figure_text`) and
matplotlib's warnings are silenced while drawing (:func:`ecograph.render.quiet_warnings`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import style
from .errors import UsageError
from .records import RELATION_KEYS
from .render import FamilyLike, figure_text, quiet_warnings
from .style import LINE_COLORS, RELATION_COLORS

__all__ = [
    "FamilyFrames",
    "Families",
    "families_from_frames",
    "adoption_curves",
    "fanout_distribution",
    "relation_mix",
    "top_parent",
    "PLOT_KINDS",
    "LINE_COLORS",
]

FamilyFrames = tuple[str, pl.DataFrame, pl.DataFrame]
# what the plots work on: a family whose edges may be unknown (``None``)
_Family = tuple[str, pl.DataFrame, pl.DataFrame | None]

#: The families a plot takes: ``(root, nodes, edges)`` tuples (``edges`` may be ``None``
#: where a plot does not need them), :class:`~ecograph.api.Family` objects, or a mapping
#: ``root -> nodes`` / ``root -> (nodes, edges)``.
Families = (
    Iterable[_Family | FamilyLike]
    | Mapping[str, pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame]]
)

_DASHES = ["-", "--", ":", "-."]
_DAY_US = 86_400 * 1_000_000
_RELS = RELATION_KEYS


def families_from_frames(
    models: pl.DataFrame, edges: pl.DataFrame, roots: Iterable[str]
) -> list[FamilyFrames]:
    """``(root, nodes_with_depth, family_edges)`` for each root (exact ids)."""
    from .graph import family_frames

    out = []
    for r in roots:
        n, e = family_frames(models, edges, r)
        out.append((r, n, e))
    return out


def _normalise(families: Families) -> list[_Family]:
    if isinstance(families, Mapping):
        return [(root, *value) if isinstance(value, tuple) else (root, value, None)
                for root, value in families.items()]
    out: list[_Family] = []
    for f in families:
        if isinstance(f, tuple):
            root, nodes, edges = f
            out.append((root, nodes, edges))
        else:
            out.append((f.root, f.nodes, f.edges))
    return out


def _figure(ax: Axes | None, size: str, *, aspect: float | None = None,
            height: float | None = None) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.get_figure(root=True)
        if fig is None:
            raise UsageError("ax is not attached to a figure")
        if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
            FigureCanvasAgg(fig)
        return fig, ax
    if aspect is not None and height is None:
        # a column is narrow: the title block takes a larger part of it, so go taller
        aspect = None if size == "slide" else aspect * 1.5 if size == "column" else aspect
    fig = style.figure(size, aspect=aspect, height=height)
    return fig, fig.add_subplot()


def _finish(fig: Figure, ax: Axes, own: bool, title: str, subtitle: str,
            observed: dt.date | None, frames: list[_Family], size: str) -> None:
    """Title, key number and source line: on the figure when it is ours, else on ``ax``."""
    if own:
        when = observed or style.observed_date(*(n for _r, n, _e in frames))
        style.decorate(fig, title, subtitle, when, size=size)
    else:
        ax.set_title(f"{title}\n{subtitle}", loc="left",
                     fontsize=style.preset(None, fig).subtitle)


def _legend_above(ax: Axes, size: str, labels: list[str], **kw: Any) -> None:
    """A legend between the subtitle and the axes, left-aligned with them, as many
    columns as fit the width (it never covers a line; constrained layout makes room)."""
    width = max((len(label) for label in labels), default=10)
    ncol = style.fit_legend_columns(len(labels), width, size)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=ncol, frameon=False,
              borderaxespad=0.4, handlelength=1.6, columnspacing=1.2, **kw)


def _style(k: int) -> dict[str, Any]:
    return {"color": LINE_COLORS[k % len(LINE_COLORS)],
            "linestyle": _DASHES[(k // len(LINE_COLORS)) % len(_DASHES)]}


def adoption_days(nodes: pl.DataFrame, root: str) -> np.ndarray:
    """Sorted days from ``root``'s creation to each derivative's (unknown dates dropped).

    >>> import datetime as dt
    >>> t = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 3, 2)]
    >>> n = pl.DataFrame({"id": ["r", "a", "b"], "created_at": t, "depth": [0, 1, 1]})
    >>> adoption_days(n, "r").tolist()
    [1.0, 2.0]
    """
    created = nodes.filter(pl.col("id") == root)["created_at"]
    if len(created) == 0 or created[0] is None:
        return np.zeros(0)
    t0 = created[0]
    fam = nodes.filter((pl.col("id") != root) & pl.col("created_at").is_not_null())
    days = ((fam["created_at"] - t0).dt.total_microseconds() / _DAY_US).to_numpy()
    return np.sort(days.astype(np.float64))


@quiet_warnings
def adoption_curves(
    families: Families, *, ax: Axes | None = None, log: bool = False,
    title: str | None = None, size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """The adoption race: cumulative derivatives over days since each root's release.

    One step line per family (families whose root has no creation date are left out and
    named in the subtitle). ``log`` puts the y axis on a log scale. The subtitle names the
    family with the most derivatives and how many days it took.
    """
    fams = _normalise(families)
    style.preset(size)
    with style.house(size):
        own = ax is None
        fig, ax = _figure(ax, size, aspect=0.62)
        skipped: list[str] = []
        finals: list[tuple[str, int, float]] = []
        for k, (root, nodes, _e) in enumerate(fams):
            days = adoption_days(nodes, root)
            if len(days) == 0 and nodes.filter(pl.col("id") == root)["created_at"].null_count():
                skipped.append(root)
                continue
            x = np.concatenate([[min(0.0, float(days[0]) if len(days) else 0.0)], days])
            y = np.arange(len(x), dtype=np.float64)
            if log:
                x, y = x[1:], y[1:]
            ax.step(x, y, where="post", lw=1.6 if size != "slide" else 2.6,
                    label=f"{figure_text(root)} ({len(days):,})", **_style(k))
            finals.append((root, len(days), float(days[-1]) if len(days) else 0.0))
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("days since the foundation's release")
        ax.set_ylabel("derivatives (cumulative)")
        style.style_axes(ax, size, grid="both")
        text = (figure_text(title, keep_newlines=True) if title
                else "Adoption race: derivatives since release")
        subtitle = _adoption_key(finals)
        if skipped:
            subtitle += f"; no release date: {', '.join(map(figure_text, skipped))}"
        if ax.get_lines():
            _legend_above(ax, size, [str(line.get_label()) for line in ax.get_lines()])
        _finish(fig, ax, own, text, subtitle, observed, fams, size)
    return fig


def _adoption_key(finals: list[tuple[str, int, float]]) -> str:
    """The key number of an adoption race: the family with the most derivatives.

    >>> _adoption_key([("a/x", 10, 40.0), ("b/y", 25, 90.4)])
    'b/y: 25 derivatives in 90 days, the most of 2 families'
    >>> _adoption_key([("a/x", 1, 3.0)])
    'a/x: 1 derivative in 3 days since its release'
    """
    if not finals:
        return "no family with a release date"
    root, count, days = max(finals, key=lambda f: (f[1], -f[2], f[0]))
    head = (f"{figure_text(root)}: {count:,} derivative{'s' if count != 1 else ''} in "
            f"{days:,.0f} days")
    if len(finals) == 1:
        return f"{head} since its release"
    return f"{head}, the most of {len(finals)} families"


def fanout_values(nodes: pl.DataFrame, edges: pl.DataFrame) -> np.ndarray:
    """Fan-out (children inside the family, self-loops excluded) of every node with >= 1
    child, root included.

    >>> n = pl.DataFrame({"id": ["r", "a", "b", "c"]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "a", "a"], "child": ["a", "b", "c", "a"]})
    >>> sorted(fanout_values(n, e).tolist())
    [1, 2]
    """
    ids = nodes["id"].implode()
    e = edges.filter(pl.col("parent").is_in(ids) & pl.col("child").is_in(ids)
                     & (pl.col("parent") != pl.col("child")))
    counts = e.unique(subset=["parent", "child"]).group_by("parent").len()
    return counts["len"].to_numpy().astype(np.int64)


@quiet_warnings
def fanout_distribution(
    families: Families, *, ax: Axes | None = None, title: str | None = None,
    size: str = style.DEFAULT_SIZE, observed: dt.date | None = None,
) -> Figure:
    """Fan-out distribution, log-log: for each family, the share of parents with at least
    ``k`` children (complementary CDF), one line per family. The subtitle names the model
    with the most children."""
    fams = _normalise(families)
    style.preset(size)
    with style.house(size):
        own = ax is None
        fig, ax = _figure(ax, size, aspect=0.62)
        best: tuple[int, str, str] | None = None
        for k, (root, nodes, edges) in enumerate(fams):
            if edges is None:
                raise UsageError("fanout_distribution needs each family's edges")
            vals = np.sort(fanout_values(nodes, edges))
            if len(vals) == 0:
                ax.plot([], [], label=f"{figure_text(root)} (no parents)", **_style(k))
                continue
            uniq = np.unique(vals)
            ccdf = np.array([(vals >= u).mean() for u in uniq])
            ax.plot(uniq, ccdf, marker="o", ms=3.5 if size != "column" else 2.5,
                    lw=1.4 if size != "slide" else 2.4,
                    label=f"{figure_text(root)} (max {int(vals.max()):,})", **_style(k))
            node, most = top_parent(nodes, edges)
            if best is None or (most, root) > (best[0], best[2]):
                best = (most, node, root)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("fan-out k (children of a model)")
        ax.set_ylabel("share of parents with ≥ k children" if size != "column"
                      else "parents with ≥ k children")
        style.style_axes(ax, size, grid="both")
        text = (figure_text(title, keep_newlines=True) if title
                else "Fan-out distribution (log-log)")
        subtitle = ("no model with children" if best is None else
                    f"most children: {figure_text(best[1])} with {best[0]:,}"
                    + (f" (family of {figure_text(best[2])})" if len(fams) > 1 else ""))
        _legend_above(ax, size, [str(line.get_label()) for line in ax.get_lines()])
        _finish(fig, ax, own, text, subtitle, observed, fams, size)
    return fig


def top_parent(nodes: pl.DataFrame, edges: pl.DataFrame) -> tuple[str, int]:
    """The family node with the most children (ties: the smallest id) and its count.

    >>> n = pl.DataFrame({"id": ["r", "a", "b", "c"]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "a"], "child": ["a", "b", "c"]})
    >>> top_parent(n, e)
    ('r', 2)
    """
    ids = nodes["id"].implode()
    e = edges.filter(pl.col("parent").is_in(ids) & pl.col("child").is_in(ids)
                     & (pl.col("parent") != pl.col("child")))
    counts = (e.unique(subset=["parent", "child"]).group_by("parent").len()
              .sort(["len", "parent"], descending=[True, False]))
    if counts.height == 0:
        return "", 0
    parent, count = counts.row(0)
    return str(parent), int(count)


def relation_counts(nodes: pl.DataFrame, root: str) -> dict[str, int]:
    """Family nodes (root excluded) by relation; null relation counts as ``unknown``.

    >>> n = pl.DataFrame({"id": ["r", "a", "b"], "relation": [None, "merge", None]})
    >>> relation_counts(n, "r")
    {'finetune': 0, 'quantized': 0, 'adapter': 0, 'merge': 1, 'unknown': 1}
    """
    fam = nodes.filter(pl.col("id") != root)
    rel = fam["relation"].fill_null("unknown").to_list()
    return {r: sum(1 for x in rel if x == r) for r in _RELS}


@quiet_warnings
def relation_mix(
    families: Families, *, ax: Axes | None = None, share: bool = True,
    title: str | None = None, size: str = style.DEFAULT_SIZE,
    observed: dt.date | None = None,
) -> Figure:
    """Relation mix per family as stacked horizontal bars (shares, or counts with
    ``share=False``); a bar's segments are labelled with their count when wide enough.
    The subtitle gives each family's size and largest relation."""
    fams = _normalise(families)
    p = style.preset(size)
    with style.house(size):
        own = ax is None
        rows = max(len(fams), 1)
        height = (p.height if size == "slide"
                  else 1.55 * p.title / 12 + 1.0 * p.label / 9 + rows * 3.4 * p.label / 72)
        fig, ax = _figure(ax, size, height=height)
        counts = [relation_counts(n, r) for r, n, _ in fams]
        present = [r for r in _RELS if any(c[r] for c in counts)]
        labels = [f"{figure_text(r)} ({sum(c.values()):,})"
                  for (r, _, _), c in zip(fams, counts, strict=True)]
        ypos = np.arange(len(fams))[::-1]
        left = np.zeros(len(fams))
        for rel in present:
            vals = np.array([c[rel] for c in counts], dtype=np.float64)
            tot = np.array([max(sum(c.values()), 1) for c in counts], dtype=np.float64)
            width = vals / tot * 100 if share else vals
            bars = ax.barh(ypos, width, left=left, color=RELATION_COLORS[rel], label=rel,
                           height=0.62, edgecolor="white", linewidth=0.6)
            span = 100 if share else max(float((left + width).max()), 1.0)
            for b, v, w in zip(bars, vals, width, strict=True):
                if v and w / span > (0.06 if size != "column" else 0.1):
                    ax.text(b.get_x() + w / 2, b.get_y() + b.get_height() / 2, f"{int(v):,}",
                            ha="center", va="center", fontsize=max(p.tick - 0.5, 7.0),
                            color="white" if rel in ("finetune", "merge") else "black")
            left = left + width
        ax.set_yticks(ypos, labels)
        ax.set_xlabel("share of the family (%)" if share else "models")
        if share:
            ax.set_xlim(0, 100)
        style.style_axes(ax, size)
        ax.tick_params(axis="y", length=0)
        text = (figure_text(title, keep_newlines=True) if title
                else "Relation mix per family")
        if present:  # right-aligned: it may reach over the (empty) space above the labels
            ncol = style.fit_legend_columns(len(present), 9, size)
            ax.legend(ncol=ncol, frameon=False, loc="lower right",
                      bbox_to_anchor=(1.0, 1.0), borderaxespad=0.3, handlelength=1.2,
                      columnspacing=1.0)
        _finish(fig, ax, own, text, _mix_key(fams, counts), observed, fams, size)
    return fig


def _mix_key(fams: list[_Family], counts: list[dict[str, int]], most: int = 3) -> str:
    """Each family's size and largest relation (the first ``most`` families).

    >>> _mix_key([("a/x", None, None)], [{"finetune": 1, "quantized": 3}])
    'a/x: 4 derivatives, 75% quantized'
    """
    parts = []
    for (root, _n, _e), c in list(zip(fams, counts, strict=True))[:most]:
        total = sum(c.values())
        if total == 0:
            parts.append(f"{figure_text(root)}: no derivatives")
            continue
        rel = max(c, key=lambda r: (c[r], -_RELS.index(r) if r in _RELS else 0))
        parts.append(f"{figure_text(root)}: {total:,} derivative{'s' if total != 1 else ''}, "
                     f"{c[rel] / total:.0%} {figure_text(rel)}")
    if len(fams) > most:
        parts.append(f"{len(fams) - most} more")
    return "; ".join(parts)


#: ``ecograph plot KIND``: kind -> function.
PLOT_KINDS = {"adoption": adoption_curves, "fanout": fanout_distribution,
              "relations": relation_mix}


def plot(kind: str, families: Families, **kw: Any) -> Figure:
    """Dispatch on ``kind`` (``adoption``, ``fanout``, ``relations``)."""
    if kind not in PLOT_KINDS:
        raise UsageError(f"unknown plot {kind!r}; choose one of {', '.join(PLOT_KINDS)}")
    return PLOT_KINDS[kind](families, **kw)
