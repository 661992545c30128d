"""Plots comparing families: adoption race, fan-out distribution, relation mix.

Each function takes the families to draw, an optional ``ax=`` and returns the Figure
(nothing is shown or saved; see :func:`ecograph.render.save_figure`). A family is given
as a ``(root, nodes, edges)`` tuple — ``nodes`` with ``id``, ``created_at``, ``relation``
and a ``depth`` column (root at 0), as :func:`ecograph.graph.family_frames` returns —, or
any object with ``.root``, ``.nodes`` and ``.edges`` (an :class:`ecograph.api.Family`).
:func:`families_from_frames` builds the tuples from a store's frames.

Ids and titles are drawn as literal text (:func:`ecograph.render.figure_text`) and
matplotlib's warnings are silenced while drawing (:func:`ecograph.render.quiet_warnings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .errors import UsageError
from .records import RELATION_KEYS
from .render import RELATION_COLORS, FamilyLike, figure_text, quiet_warnings

__all__ = [
    "FamilyFrames",
    "Families",
    "families_from_frames",
    "adoption_curves",
    "fanout_distribution",
    "relation_mix",
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

#: Okabe-Ito (black last), then cycled with dashes for more than 8 families.
LINE_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
               "#F0E442", "#000000"]
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


def _figure(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.get_figure(root=True)
        if fig is None:
            raise UsageError("ax is not attached to a figure")
        return fig, ax
    fig = Figure(figsize=size, dpi=200, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


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
    families: Families, *, ax: Axes | None = None, log: bool = False, title: str | None = None
) -> Figure:
    """The adoption race: cumulative derivatives over days since each root's release.

    One step line per family (families whose root has no creation date are left out and
    named in the title). ``log`` puts the y axis on a log scale.
    """
    fams = _normalise(families)
    fig, ax = _figure(ax, (8.0, 5.0))
    skipped = []
    for k, (root, nodes, _e) in enumerate(fams):
        days = adoption_days(nodes, root)
        if len(days) == 0 and nodes.filter(pl.col("id") == root)["created_at"].null_count():
            skipped.append(root)
            continue
        x = np.concatenate([[min(0.0, float(days[0]) if len(days) else 0.0)], days])
        y = np.arange(len(x), dtype=np.float64)
        if log:
            x, y = x[1:], y[1:]
        ax.step(x, y, where="post", lw=1.8, label=f"{figure_text(root)} ({len(days):,})",
                **_style(k))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("days since the foundation's release")
    ax.set_ylabel("derivatives (cumulative)")
    ax.grid(True, color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    text = (figure_text(title, keep_newlines=True) if title
            else "Adoption race: derivatives since release")
    if skipped:
        text += f"\n(no release date: {', '.join(map(figure_text, skipped))})"
    ax.set_title(text, fontsize=11)
    if ax.get_lines():
        ax.legend(frameon=False, fontsize=8, loc="best")
    return fig


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
    families: Families, *, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Fan-out distribution, log-log: for each family, the share of parents with at least
    ``k`` children (complementary CDF), one line per family."""
    fams = _normalise(families)
    fig, ax = _figure(ax, (7.0, 5.0))
    for k, (root, nodes, edges) in enumerate(fams):
        if edges is None:
            raise UsageError("fanout_distribution needs each family's edges")
        vals = np.sort(fanout_values(nodes, edges))
        if len(vals) == 0:
            ax.plot([], [], label=f"{figure_text(root)} (no parents)", **_style(k))
            continue
        uniq = np.unique(vals)
        ccdf = np.array([(vals >= u).mean() for u in uniq])
        ax.plot(uniq, ccdf, marker="o", ms=3.5, lw=1.4,
                label=f"{figure_text(root)} (max {int(vals.max()):,})", **_style(k))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("fan-out k (children of a model)")
    ax.set_ylabel("share of parents with ≥ k children")
    ax.grid(True, which="major", color="#e5e5e5", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(figure_text(title, keep_newlines=True) if title
                 else "Fan-out distribution (log-log)", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    return fig


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
    families: Families, *, ax: Axes | None = None, share: bool = True, title: str | None = None
) -> Figure:
    """Relation mix per family as stacked horizontal bars (shares, or counts with
    ``share=False``); a bar's segments are labelled with their count when wide enough."""
    fams = _normalise(families)
    fig, ax = _figure(ax, (8.0, 1.4 + 0.55 * max(len(fams), 1)))
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
            if v and w / span > 0.06:
                ax.text(b.get_x() + w / 2, b.get_y() + b.get_height() / 2, f"{int(v):,}",
                        ha="center", va="center", fontsize=7.5,
                        color="white" if rel in ("finetune", "merge") else "black")
        left = left + width
    ax.set_yticks(ypos, labels, fontsize=8.5)
    ax.set_xlabel("share of the family (%)" if share else "models")
    if share:
        ax.set_xlim(0, 100)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(figure_text(title, keep_newlines=True) if title
                 else "Relation mix per family", fontsize=11, pad=22)
    if present:
        ax.legend(ncol=len(present), frameon=False, fontsize=8, loc="lower center",
                  bbox_to_anchor=(0.5, 1.0), borderaxespad=0.2, handlelength=1.2)
    return fig


#: ``ecograph plot KIND``: kind -> function.
PLOT_KINDS = {"adoption": adoption_curves, "fanout": fanout_distribution,
              "relations": relation_mix}


def plot(kind: str, families: Families, **kw: Any) -> Figure:
    """Dispatch on ``kind`` (``adoption``, ``fanout``, ``relations``)."""
    if kind not in PLOT_KINDS:
        raise UsageError(f"unknown plot {kind!r}; choose one of {', '.join(PLOT_KINDS)}")
    return PLOT_KINDS[kind](families, **kw)
