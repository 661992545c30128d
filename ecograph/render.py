"""Fork-tree pictures of a family, good enough to print (matplotlib, no pyplot state).

:func:`fork_tree` draws a family on its BFS spanning tree (see :mod:`ecograph.layout`):
root at the centre (``radial``) or at the top (``layered``), one ring / row per generation,
colour = relation (Okabe-Ito, colour-blind safe), marker area ~ log downloads, the extra
parents of merges as faint curves, labels for the most downloaded models placed so that no
two collide, a legend of the relations present and a title with the family's counts. Above
``max_nodes`` the largest hubs stay expanded and the rest is folded into "+N" badges per
relation on their parents, and the caption says so. It returns a
:class:`ForkTree`: the Figure with the layout and the caption it shows (what a report or
the command line tells about the picture); :func:`draw_fork_tree` returns the Figure only.

:func:`save_figure` writes PNG / SVG / PDF deterministically (no dates, fixed SVG ids): the
same input gives the same bytes. It writes atomically (:mod:`ecograph.atomic`): a failed
save leaves the previous picture as it was.

Text from the data (ids, titles) goes through :func:`ecograph.escape.plain_text` before it
reaches matplotlib: control characters would make the SVG ill-formed and a byte-order mark
(U+FEFF) crashes matplotlib's PDF backend. Drawing and saving run with matplotlib's
warnings (missing glyphs, layout notes) silenced: a picture is drawn with a fallback glyph
and the command line stays clean (:func:`quiet_warnings`).

Everything is built from one :class:`~matplotlib.collections.LineCollection` per edge kind
and a single scatter, which keeps a 5,000-node family well under a second to draw.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox, ScaledTranslation

from . import style as _style  # the module; ``style`` is fork_tree's tree|sunburst
from .atomic import atomic_paths
from .errors import UnknownModelError, UsageError
from .escape import plain_text
from .formats import PICTURE_FORMATS, format_for
from .layout import KEYED_BADGE_SHARE, SpanningTree, TreeLayout, spanning_tree, tree_layout
from .records import RELATION_KEYS
from .sunburst import Sunburst, sunburst_layout

__all__ = [
    "RELATION_COLORS",
    "ROOT_COLOR",
    "BADGE_COLOR",
    "DEFAULT_MAX_NODES",
    "SUNBURST_MIN_SIZE",
    "STYLES",
    "choose_style",
    "FamilyLike",
    "FamilyCounts",
    "ForkTree",
    "fork_tree",
    "draw_fork_tree",
    "save_figure",
    "family_counts",
    "LABEL_GID",
    "BADGE_GID",
    "quiet_warnings",
    "figure_text",
]

#: Okabe-Ito colours (colour-blind safe), one per relation (:data:`ecograph.style.RELATION_COLORS`).
RELATION_COLORS: dict[str, str] = _style.RELATION_COLORS
#: Text versions of the relation colours, dark enough on white (contrast >= 4.5:1).
_DARKER: dict[str, str] = {
    "finetune": "#005A8C", "quantized": "#8A5F00", "adapter": "#006B4E",
    "merge": "#9B3F78", "unknown": "#555555",
}
ROOT_COLOR = "#000000"
BADGE_COLOR = "#7f7f7f"
EDGE_COLOR = "#a6a6a6"
DEFAULT_MAX_NODES = 1500
#: ``style="auto"`` draws families of more than this many models as a sunburst: beyond
#: about 300 members a node-link tree at print width has sub-millimetre markers and a ring
#: of spokes around an empty disc, while a sunburst's wedges stay readable at any size.
SUNBURST_MIN_SIZE = 300
STYLES = ("auto", "tree", "sunburst")
#: Sunburst wedges narrower than this (degrees) are merged into "+N others" per parent.
MIN_WEDGE_ANGLE = 1.2
#: Sunburst rings drawn at most (deeper generations count in their ancestors' wedges).
MAX_RINGS = 7
LABEL_GID = "ecograph-label"
BADGE_GID = "ecograph-badge"
_REL_NAMES = RELATION_KEYS
_REL_ORDER = {r: i for i, r in enumerate(_REL_NAMES)}

_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # glyphs missing from the font, layout
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on empty / log-scale data
        yield


def figure_text(value: object, *, keep_newlines: bool = False) -> str:
    r"""``value`` as literal text for a matplotlib label or title: cleaned with
    :func:`ecograph.escape.plain_text` and ``$`` escaped (matplotlib reads ``$...$`` as
    math, and a malformed formula in a title or an id stops the drawing).

    >>> figure_text("org/\ufeffcosts $5 and $\\frac{$")
    'org/costs \\$5 and \\$\\frac{\\$'
    """
    return plain_text(value, keep_newlines=keep_newlines).replace("$", r"\$")


def quiet_warnings(func: _F) -> _F:
    """Run ``func`` (a drawing or saving function) with matplotlib's and numpy's
    ``UserWarning`` / ``RuntimeWarning`` silenced, so none reaches the user's terminal.

    >>> @quiet_warnings
    ... def draw():
    ...     warnings.warn("Glyph 20013 missing from font(s) DejaVu Sans.")
    ...     return "drawn"
    >>> draw()
    'drawn'
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _silenced():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class FamilyCounts:
    """Counts shown in the title: family size (root excluded), by relation, depth."""

    size: int
    by_relation: dict[str, int]
    max_depth: int

    def line(self) -> str:
        """``1,234 derivatives · finetune 800 · quantized 400 · ... · 3 generations``."""
        parts = [f"{self.size:,} derivative{'s' if self.size != 1 else ''}"]
        parts += [f"{figure_text(r)} {n:,}" for r, n in self.by_relation.items()]
        parts.append(f"{self.max_depth} generation{'s' if self.max_depth != 1 else ''}")
        return " · ".join(parts)


class FamilyLike(Protocol):
    """A family given as one object (an :class:`ecograph.api.Family`): its ``nodes``
    (with ``depth``), ``edges`` and ``root``."""

    @property
    def nodes(self) -> pl.DataFrame: ...

    @property
    def edges(self) -> pl.DataFrame: ...

    @property
    def root(self) -> str: ...


@dataclass(frozen=True)
class ForkTree:
    """A drawn fork tree: the Figure and what it shows.

    Attributes
    ----------
    figure
        The matplotlib Figure (nothing saved; see :meth:`save`).
    layout
        The :class:`~ecograph.layout.TreeLayout` drawn (``style="tree"``): visible nodes,
        and the leaves folded into badges (``layout.folded`` models in
        ``len(layout.badge_parent)`` badges). ``None`` for a sunburst.
    caption
        The caption under the tree (how to read it, and what was folded).
    counts
        The family's counts shown in the title.
    root
        The family's root id.
    style
        ``"tree"`` or ``"sunburst"``: what was drawn (``"auto"`` resolved by
        :func:`choose_style`).
    sunburst
        The :class:`~ecograph.sunburst.Sunburst` drawn (``style="sunburst"``), else None.
    """

    figure: Figure
    layout: TreeLayout | None
    caption: str
    counts: FamilyCounts
    root: str
    style: str = "tree"
    sunburst: Sunburst | None = None

    @property
    def folded(self) -> int:
        """Models not drawn as their own marker or wedge (folded into badges or merged
        into "+N others" wedges)."""
        if self.sunburst is not None:
            sb = self.sunburst
            return int(sb.count[sb.others].sum())
        return self.layout.folded if self.layout is not None else 0

    @property
    def n_groups(self) -> int:
        """Badges (tree) or "+N others" wedges (sunburst) holding the folded models."""
        if self.sunburst is not None:
            return int(self.sunburst.others.size)
        return len(self.layout.badge_parent) if self.layout is not None else 0

    def save(self, path: str | os.PathLike[str], *, dpi: float | None = None) -> Path:
        """Write the picture (PNG, SVG or PDF by suffix) with :func:`save_figure`."""
        return save_figure(self.figure, path, dpi=dpi)


def choose_style(size: int, style: str = "auto") -> str:
    """The style drawn for a family of ``size`` models (root excluded): ``tree`` or
    ``sunburst`` as asked; for ``auto``, a sunburst above :data:`SUNBURST_MIN_SIZE`.

    >>> choose_style(120), choose_style(2000), choose_style(2000, "tree")
    ('tree', 'sunburst', 'tree')
    """
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose auto, tree or sunburst")
    if style != "auto":
        return style
    return "sunburst" if size > SUNBURST_MIN_SIZE else "tree"


def family_counts(nodes: pl.DataFrame, edges: pl.DataFrame, root: str) -> FamilyCounts:
    """Size, relation counts and depth of ``root``'s family (reachable nodes, root excluded).

    >>> n = pl.DataFrame({"id": ["r", "a", "b"], "relation": [None, "finetune", "merge"]})
    >>> e = pl.DataFrame({"parent": ["r", "a"], "child": ["a", "b"]})
    >>> family_counts(n, e, "r").line()
    '2 derivatives · finetune 1 · merge 1 · 2 generations'
    """
    tree = spanning_tree(nodes["id"].to_list(), _pairs(edges), root)
    return _counts(tree, _relations(nodes))


def _pairs(edges: pl.DataFrame) -> list[tuple[str, str]]:
    return list(zip(edges["parent"].to_list(), edges["child"].to_list(), strict=True))


def _relations(nodes: pl.DataFrame) -> dict[str, str | None]:
    rel = nodes["relation"].to_list() if "relation" in nodes.columns else [None] * len(nodes)
    return dict(zip(nodes["id"].to_list(), rel, strict=True))


def _counts(tree: SpanningTree, rel: dict[str, str | None]) -> FamilyCounts:
    by: dict[str, int] = {}
    for mid in tree.ids[1:]:
        r = rel.get(mid) or "unknown"
        by[r] = by.get(r, 0) + 1
    ordered = {r: by[r] for r in sorted(by, key=lambda r: (_REL_ORDER.get(r, 99), r))}
    return FamilyCounts(len(tree.ids) - 1, ordered, int(tree.depth.max()) if len(tree) else 0)


def _short(mid: str, width: int = 34) -> str:
    mid = plain_text(mid)
    mid = mid if len(mid) <= width else mid[: width - 1] + "…"
    return mid.replace("$", r"\$")


def draw_fork_tree(
    nodes: pl.DataFrame | FamilyLike,
    edges: pl.DataFrame | None = None,
    root: str | None = None,
    *,
    ax: Axes | None = None,
    layout: str = "radial",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    labels: int = 12,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 200,
    style: str = "auto",
) -> Figure:
    """Draw the fork tree of ``root``'s family and return the Figure (nothing is saved).

    The same as ``fork_tree(...).figure``; see :func:`fork_tree` for the parameters.
    """
    return fork_tree(nodes, edges, root, ax=ax, layout=layout, max_nodes=max_nodes,
                     labels=labels, title=title, figsize=figsize, dpi=dpi,
                     style=style).figure


@quiet_warnings
def fork_tree(
    nodes: pl.DataFrame | FamilyLike,
    edges: pl.DataFrame | None = None,
    root: str | None = None,
    *,
    ax: Axes | None = None,
    layout: str = "radial",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    labels: int = 12,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 200,
    style: str = "auto",
    size: str | None = None,
    observed: dt.date | None = None,
) -> ForkTree:
    """Draw the fork tree of ``root``'s family (nothing is saved), in the house style
    (:mod:`ecograph.style`).

    Parameters
    ----------
    nodes, edges, root
        The family's ``models`` rows (``id``, ``relation``, ``downloads``, optional
        ``status``) and ``edges`` (``parent``, ``child``), or a
        :class:`~ecograph.api.Family`-like object with ``.nodes``, ``.edges``, ``.root``
        passed as ``nodes``. Nodes not reachable from ``root`` are ignored.
    ax
        Draw into this Axes (its figure is returned); default: a new Figure of the size
        preset's width, as tall as the layout needs, with the title and key numbers
        above the tree and the legend, caption and source line below it.
    layout
        ``"radial"`` (root at the centre) or ``"layered"`` (root at the top).
    max_nodes
        Node budget: above it the largest hubs stay expanded and the rest is folded into
        "+N" badges per relation (``None``: never fold).
    labels
        How many of the most downloaded models get a label (the root always has one).
    title
        Main title; the counts line (size, each relation, generations) is always shown
        under it.
    figsize
        Width and height in inches (default: from ``size`` and the layout).
    style
        ``"tree"`` (node-link, ``layout`` applies), ``"sunburst"`` (rings = generations,
        wedge angle ∝ subtree size, small wedges merged into "+N others") or ``"auto"``:
        a sunburst above :data:`SUNBURST_MIN_SIZE` models (:func:`choose_style`). Both
        get the same title block, legend, caption and source line.
    size
        Size preset of the house style: ``column``, ``page`` (default) or ``slide``.
    observed
        The date in the source line (default: the latest ``fetched_at`` of ``nodes``).

    Returns
    -------
    ForkTree
        The Figure, the layout drawn (None for a sunburst), the caption and the
        family's counts.

    Raises
    ------
    UnknownModelError
        If ``root`` is not among ``nodes``.
    UsageError
        For an unknown ``layout``, ``style`` or ``size``, or an ``ax`` attached to no
        figure.

    Examples
    --------
    >>> n = pl.DataFrame({"id": ["r", "a", "b"], "relation": [None, "finetune", "merge"]})
    >>> e = pl.DataFrame({"parent": ["r", "a"], "child": ["a", "b"]})
    >>> tree = fork_tree(n, e, "r", dpi=50)
    >>> tree.counts.size, tree.layout.folded, tree.caption.startswith("Marker area")
    (2, 0, True)
    """
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose auto, tree or sunburst")
    chosen = _style.preset(size if size is not None or figsize is None else None,
                           Figure(figsize=figsize) if figsize is not None else None)
    with _style.house(chosen):
        return _fork_tree(nodes, edges, root, ax=ax, layout=layout, max_nodes=max_nodes,
                          labels=labels, title=title, figsize=figsize, dpi=dpi,
                          style=style, size=chosen, observed=observed)


def _fork_tree(
    nodes: pl.DataFrame | FamilyLike,
    edges: pl.DataFrame | None = None,
    root: str | None = None,
    *,
    ax: Axes | None = None,
    layout: str = "radial",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    labels: int = 12,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 200,
    style: str = "auto",
    size: _style.SizePreset = _style.SIZE_PRESETS[_style.DEFAULT_SIZE],
    observed: dt.date | None = None,
) -> ForkTree:
    """The drawing of :func:`fork_tree` (run inside the house style's rc context;
    parameters as there, ``size`` resolved)."""
    if not isinstance(nodes, pl.DataFrame):
        fam = nodes
        nodes, edges, root = fam.nodes, fam.edges, (root or fam.root)
    if edges is None or root is None:
        raise TypeError("fork_tree needs (nodes, edges, root) or a Family")
    if layout not in ("radial", "layered"):
        raise UsageError(f"unknown layout {layout!r}; choose radial or layered")
    if root not in set(nodes["id"].to_list()):
        raise UnknownModelError(root)
    rel = _relations(nodes)
    dl_list = (nodes["downloads"].fill_null(0).to_list() if "downloads" in nodes.columns
               else [0] * len(nodes))
    downloads = dict(zip(nodes["id"].to_list(), dl_list, strict=True))
    status = (dict(zip(nodes["id"].to_list(), nodes["status"].to_list(), strict=True))
              if "status" in nodes.columns else {})
    order_key = {mid: (_REL_ORDER.get(r or "unknown", 99),) for mid, r in rel.items()}
    tree = spanning_tree(nodes["id"].to_list(), _pairs(edges), root, order_key=order_key)
    codes = [_REL_ORDER.get(rel.get(m) or "unknown", _REL_ORDER["unknown"]) for m in tree.ids]
    when = observed or _style.observed_date(nodes)
    if choose_style(len(tree) - 1, style) == "sunburst":
        return _sunburst_fork_tree(tree, codes, _counts(tree, rel), root, ax=ax,
                                   labels=labels, title=title, figsize=figsize, dpi=dpi,
                                   size=size, observed=when)
    # above the budget the largest hubs stay expanded; equal subtrees: most downloaded first
    reach = [float(downloads.get(m) or 0) for m in tree.ids]
    lay = tree_layout(tree, kind=layout, max_nodes=max_nodes, key=codes, priority=reach)
    keyed = True
    if len(lay.badge_parent) > KEYED_BADGE_SHARE * lay.n_markers:
        # deep families: one badge per relation per parent would crowd out the nodes,
        # so fold into one badge per parent (ring colour = the most frequent relation)
        lay = tree_layout(tree, kind=layout, max_nodes=max_nodes, key=codes, one_badge=True,
                          priority=reach)
        keyed = False
    counts = _counts(tree, rel)

    own_fig = ax is None
    heading, handles = _heading(root, title, counts, size)
    caption = _caption(lay, max_nodes, keyed)
    if ax is None:
        if figsize is None and size.name == "slide":  # a slide is 16:9, whatever the tree
            figsize = (size.width, size.height)
        width = figsize[0] if figsize is not None else size.width
        frame = _framed_figure(heading, counts.line(), caption, handles, width, size, dpi,
                               when)
        geo = _Geometry.for_layout(lay, figsize, width=width, top_in=frame.top,
                                   bottom_in=frame.bottom)
        frame.fit(geo.figsize)
        fig = frame.fig
        ax = fig.add_axes(geo.rect)
    else:
        geo = _Geometry.for_layout(lay, figsize)
        root_fig = ax.get_figure(root=True)
        if root_fig is None:
            raise UsageError("ax is not attached to a figure")
        fig = root_fig
        if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
            FigureCanvasAgg(fig)
    assert ax is not None
    ax.set_axis_off()
    if layout == "radial":
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlim(*geo.xlim)
    ax.set_ylim(*geo.ylim)
    ax.apply_aspect()

    ids = [tree.ids[i] for i in lay.visible]
    dl = np.array([downloads.get(m) or 0 for m in ids], dtype=np.float64)
    base = _base_marker(fig, ax, lay)  # diameter in points of a typical node

    logd = np.log10(1.0 + dl)
    top = max(float(logd.max()) if len(logd) else 1.0, 1.0)
    diam = base * np.sqrt(0.35 + 1.65 * logd / top)  # area ~ log downloads
    diam[0] = max(base * 1.8, 8.0)
    faces = [RELATION_COLORS.get(rel.get(m) or "unknown", RELATION_COLORS["unknown"])
             for m in ids]
    faces[0] = ROOT_COLOR
    edgecols = ["white"] * len(ids)
    for k, m in enumerate(ids):
        if status.get(m) not in (None, "ok"):  # missing / private / error: hollow
            edgecols[k], faces[k] = faces[k], "white"
    bdiam = base * (0.8 + 0.35 * np.log10(np.maximum(lay.badge_count, 1)))
    bcols = [RELATION_COLORS[_REL_NAMES[int(k)]] for k in lay.badge_key]
    _draw_edges(ax, lay, base, faces, bcols)
    sizes = np.concatenate([diam, bdiam]) ** 2
    xs = np.concatenate([lay.x, lay.badge_x])
    ys = np.concatenate([lay.y, lay.badge_y])
    lw_marker = 0.25 if base < 4 else 0.5
    sc = ax.scatter(
        xs, ys, s=sizes, c=faces + ["white"] * len(bdiam),
        edgecolors=edgecols + bcols,
        linewidths=[lw_marker] * len(ids) + [max(base * 0.18, 0.6)] * len(bdiam),
        zorder=3, clip_on=False,
    )
    sc.set_gid("ecograph-nodes")

    # ---- labels (root first, then the most downloaded, then the biggest badges)
    # FigureCanvasBase does not declare get_renderer; the canvas was checked for it above
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fs = 7.0  # the figure is 7 in wide (radial): 7 pt at print width
    placer = _LabelPlacer(ax, fig, renderer, lay, xs, ys, np.concatenate([diam, bdiam]))
    root_txt = placer.place_root(_short(root, 48), float(diam[0]), weight="bold",
                                 fontsize=fs + 1.5)
    if root_txt is None:  # never drop the root's label
        placer.force(0, _short(root, 48), fontsize=fs + 1.5)
    # the largest hubs (most models below them), then the most downloaded: never
    # arbitrary ones; a hub's label says how many models it carries
    below = tree.subtree_sizes() - 1
    hubs = sorted((k for k in range(1, len(ids)) if below[lay.visible[k]] >= 2),
                  key=lambda k: (-int(below[lay.visible[k]]), ids[k]))[: (labels + 2) // 3]
    popular = sorted(range(1, len(ids)), key=lambda k: (-dl[k], ids[k]))
    shown = 0
    done: set[int] = set()
    for k in [*hubs, *popular]:
        if shown >= labels:
            break
        if k in done:
            continue
        done.add(k)
        text = _short(ids[k])
        if k in hubs:
            text += f" (+{int(below[lay.visible[k]]):,})"
        if placer.place(k, text, fontsize=fs) is not None:
            shown += 1
    if len(lay.badge_count):
        big = sorted(range(len(lay.badge_count)),
                     key=lambda b: (-int(lay.badge_count[b]), int(lay.badge_parent[b])))
        for b in big[:40]:
            if lay.badge_count[b] < 2:
                break
            rel_name = _REL_NAMES[int(lay.badge_key[b])]
            badge_text = f"+{int(lay.badge_count[b]):,}"
            if keyed:  # one badge per relation: say which ("+37 quantized")
                badge_text += f" {rel_name}"
            placer.place_badge(b, badge_text, fontsize=fs,
                               color=_DARKER.get(rel_name, "#444444"))
    placer.draw_leaders()

    # ---- title, legend, caption: on the figure when it is ours (see _framed_figure)
    if not own_fig:
        _decorate_axes(ax, heading, counts, handles, size)
    return ForkTree(figure=fig, layout=lay, caption=caption, counts=counts, root=root)


def _sunburst_fork_tree(tree: SpanningTree, codes: list[int], counts: FamilyCounts,
                        root: str, *, ax: Axes | None, labels: int, title: str | None,
                        figsize: tuple[float, float] | None, dpi: float,
                        size: _style.SizePreset, observed: dt.date | None) -> ForkTree:
    """The ``style="sunburst"`` branch of :func:`fork_tree`: the same title block, legend,
    caption and source line as the tree (:func:`_framed_figure`), a square wheel between
    them."""
    from .render_sunburst import draw_sunburst

    sb = sunburst_layout(tree, key=np.asarray(codes, dtype=np.int64), min_angle=MIN_WEDGE_ANGLE,
                          max_rings=MAX_RINGS)
    merged = int(sb.count[sb.others].sum())
    caption = ("Rings = generations from the root (centre) · wedge angle ~ models in the "
               "subtree · colour = relation")
    if merged:
        caption += (f"\n{merged:,} models in wedges under {MIN_WEDGE_ANGLE:g}° merged into "
                    f"{sb.others.size:,} pale “+N” wedges (per parent and relation)")
    if sb.n_rings == MAX_RINGS and counts.max_depth > MAX_RINGS:
        caption += (f"\ngenerations beyond {MAX_RINGS} are counted in their ancestors' "
                    "wedges")
    heading, handles = _heading(root, title, counts, size)
    own_fig = ax is None
    if ax is None:
        if figsize is None and size.name == "slide":  # a slide is 16:9
            figsize = (size.width, size.height)
        width = figsize[0] if figsize is not None else size.width
        frame = _framed_figure(heading, counts.line(), caption, handles, width, size, dpi,
                               observed)
        room = width - 2 * size.pad
        if figsize is not None:  # the wheel takes the height left between the bands
            side = max(min(figsize[1] - frame.top - frame.bottom, room), 1.0)
            height = figsize[1]
        else:  # the wheel spans the width (less a margin), the figure grows to hold it
            side = room * 0.92
            # whole quarter inches: whole pixels at 72, 100, 120, 200, 300 dpi
            height = math.ceil((side + frame.top + frame.bottom) * 4) / 4
        frame.fit((width, height))
        fig = frame.fig
        bottom = frame.bottom + (height - frame.top - frame.bottom - side) / 2
        ax = fig.add_axes(((width - side) / 2 / width, bottom / height, side / width,
                           side / height))
    else:
        root_fig = ax.get_figure(root=True)
        if root_fig is None:
            raise UsageError("ax is not attached to a figure")
        fig = root_fig
        if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
            FigureCanvasAgg(fig)
    assert ax is not None
    colors = [RELATION_COLORS[r] for r in _REL_NAMES]
    org, _, name = root.partition("/")
    root_label = (f"{figure_text(org)}/\n{_short(name, 26)}" if name else _short(root, 26))
    root_label += f"\n{counts.size:,} derivative{'s' if counts.size != 1 else ''}"
    draw_sunburst(fig, ax, sb, colors, labels=labels, root_label=root_label,
                  text=figure_text, relation_names=list(_REL_NAMES),
                  fontsize=max(size.tick - 1.0, 7.5))  # 7.5 pt in print, larger on slides
    if not own_fig:
        _decorate_axes(ax, heading, counts, handles, size)
    return ForkTree(figure=fig, layout=None, caption=caption, counts=counts, root=root,
                    style="sunburst", sunburst=sb)


def _heading(root: str, title: str | None, counts: FamilyCounts,
             size: _style.SizePreset) -> tuple[str, list[Line2D]]:
    """The title (``title`` or "Fork tree of ROOT") and the relation legend's handles,
    each relation with its count (the same for the tree and the sunburst)."""
    heading = (figure_text(title, keep_newlines=True) if title
               else f"Fork tree of {_short(root, 80)}")
    handles = [
        Line2D([], [], ls="", marker="o", ms=size.legend, mfc=RELATION_COLORS.get(r, "#999999"),
               mec="white", label=f"{figure_text(r)} ({counts.by_relation[r]:,})")
        for r in counts.by_relation
    ]
    return heading, handles


def _decorate_axes(ax: Axes, heading: str, counts: FamilyCounts, handles: list[Line2D],
                   size: _style.SizePreset) -> None:
    """Title, counts line and relation legend in a caller's Axes (the figure is theirs:
    no title block, caption or source line on it)."""
    ax.set_title(f"{heading}\n{counts.line()}", fontsize=size.subtitle)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False, fontsize=size.legend)


def _caption(lay: TreeLayout, max_nodes: int | None, keyed: bool = True) -> str:
    text = "Marker area ~ log downloads · colour = relation"
    drawn = set(lay.visible.tolist())
    if any(p in drawn and c in drawn for p, c in lay.tree.extra_edges):
        text += " · pink curves: extra parents (merges)"  # only when one is drawn
    if lay.folded:
        nb = len(lay.badge_parent)
        text += (f"\n{lay.folded:,} models folded into {nb:,} hollow “+N” badge"
                 f"{'s' if nb != 1 else ''} on their parents, largest hubs expanded, "
                 f"to stay within {max_nodes:,} markers\n("
                 + ("ring colour and label = their relation)" if keyed
                    else "ring colour = their most frequent relation)"))
    return text


def _framed_figure(heading: str, subtitle: str, caption: str, handles: list[Line2D],
                   width: float, size: _style.SizePreset, dpi: float,
                   observed: dt.date | None) -> _Frame:
    """A new figure ``width`` inches wide framed in the house style, for the tree and the
    sunburst alike: title and key numbers at the top (:func:`ecograph.style.decorate`),
    the relation legend (as many columns as fit the width), the caption and the source
    line at the bottom. The caller picks the height from the bands and calls
    :meth:`_Frame.fit`."""
    fig = Figure(figsize=(width, size.height), dpi=dpi)
    renderer = FigureCanvasAgg(fig).get_renderer()
    deco = _style.decorate(fig, heading, subtitle, observed, size=size, note=caption)
    legend_in = 0.0
    legend = None
    if handles:
        avail = (width - 2 * size.pad) * dpi
        for ncol in range(len(handles), 0, -1):
            if legend is not None:
                legend.remove()
            legend = fig.legend(handles=handles, loc="lower left", ncol=ncol, frameon=False,
                                fontsize=size.legend, handletextpad=0.3, columnspacing=1.2,
                                borderaxespad=0.0, borderpad=0.0)
            if legend.get_window_extent(renderer).width <= avail:
                break
        assert legend is not None
        legend_in = legend.get_window_extent(renderer).height / dpi + size.pad
    return _Frame(fig, deco.top, deco.bottom + legend_in, legend,
                  deco.bottom + size.pad / 2, size.pad)


@dataclass
class _Frame:
    """A figure with its title block and bottom band drawn (:func:`_framed_figure`):
    ``top`` and ``bottom`` are the inches they take; the legend's lower left corner sits
    ``pad`` from the left edge and ``legend_y`` above the bottom edge."""

    fig: Figure
    top: float
    bottom: float
    legend: Legend | None
    legend_y: float
    pad: float

    def fit(self, figsize: tuple[float, float]) -> None:
        """Give the figure its final size (the texts keep their distance to the edges)."""
        self.fig.set_size_inches(figsize)
        if self.legend is not None:
            self.legend.set_bbox_to_anchor((self.pad / figsize[0], self.legend_y / figsize[1]),
                                           transform=self.fig.transFigure)


@dataclass(frozen=True)
class _Geometry:
    """Figure size (inches), axes rectangle (figure fraction) and data limits."""

    figsize: tuple[float, float]
    rect: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @classmethod
    def for_layout(cls, lay: TreeLayout, figsize: tuple[float, float] | None, *,
                   width: float = 7.0, top_in: float = 0.85,
                   bottom_in: float | None = None) -> _Geometry:
        # the frame holds every marker, badge and connector (an arc can reach past the
        # markers when a parent sits far round the ring from its children)
        polys, ticks, _, bticks, _ = _connectors(
            lay, [""] * len(lay.visible), [""] * len(lay.badge_parent))
        pts = [np.asarray(q).reshape(-1, 2) for q in (*polys, *ticks, *bticks)]
        xs = np.concatenate([lay.x, lay.badge_x, *(q[:, 0] for q in pts)])
        ys = np.concatenate([lay.y, lay.badge_y, *(q[:, 1] for q in pts)])
        x0, x1 = float(xs.min()), float(xs.max())
        y0, y1 = float(ys.min()), float(ys.max())
        if bottom_in is None:  # legend + caption
            bottom_in = 0.75 if not lay.folded else 0.95
        frame_w = width
        if lay.kind == "radial":
            span = max(x1 - x0, y1 - y0, 1.0)
            # never thinner than 0.6 x the other side (tiny or one-branch families)
            for lo_hi in ("x", "y"):
                a, b = (x0, x1) if lo_hi == "x" else (y0, y1)
                if b - a < 0.6 * span:
                    mid, half = (a + b) / 2, 0.3 * span
                    a, b = mid - half, mid + half
                x0, x1 = (a, b) if lo_hi == "x" else (x0, x1)
                y0, y1 = (a, b) if lo_hi == "y" else (y0, y1)
            pad = 0.08 * span
            x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
            ratio = float(np.clip((y1 - y0) / (x1 - x0), 0.55, 1.0))  # never portrait
            if figsize is not None:  # a given frame: the data box takes its proportions
                ratio = max(figsize[1] - top_in - bottom_in, 1.0) / (figsize[0] * 0.96)
            # make the data box match the axes box exactly (equal aspect, nothing moves)
            if (y1 - y0) / (x1 - x0) > ratio:
                mid, half = (x0 + x1) / 2, (y1 - y0) / ratio / 2
                x0, x1 = mid - half, mid + half
            else:
                mid, half = (y0 + y1) / 2, (x1 - x0) * ratio / 2
                y0, y1 = mid - half, mid + half
            ax_w = width * 0.96
            ax_h = ax_w * ratio
        else:
            padx = max(0.6, 0.015 * (x1 - x0))
            x0, x1 = x0 - padx, x1 + padx
            y0, y1 = y0 - 0.45, y1 + 0.45
            # the proportions of a drawing 0.14 in per leaf slot wide (10-24 in), scaled
            # to the frame's width
            natural_w = float(np.clip(lay.n_slots * 0.14, 10.0, 24.0)) * 0.96
            natural_h = float(np.clip(1.15 * (y1 - y0), 3.5, 11.0))
            width = frame_w
            ax_w = width * 0.96
            ax_h = ax_w * natural_h / natural_w
        if figsize is not None:  # a given size is kept as given
            width, height = figsize
            ax_w, ax_h = width * 0.96, max(height - top_in - bottom_in, 1.0)
        else:  # whole quarter inches: whole pixels at 72, 100, 120, 200, 300 dpi
            height = math.ceil((ax_h + top_in + bottom_in) * 4) / 4
        rect = (0.02, bottom_in / height, ax_w / width, ax_h / height)
        return cls((width, height), rect, (x0, x1), (y0, y1))


def _base_marker(fig: Figure, ax: Axes, lay: TreeLayout) -> float:
    """Diameter (points) of a typical node: fits the tightest leaf slot and ring gap."""
    bbox = ax.get_window_extent()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ppx = bbox.width * 72.0 / fig.dpi / (x1 - x0)  # points per data unit
    ppy = bbox.height * 72.0 / fig.dpi / (y1 - y0)
    n = len(lay.visible)
    is_parent = np.zeros(len(lay.tree), dtype=bool)
    if n > 1:
        is_parent[lay.tree.parent[lay.visible[1:]]] = True
    leaf = ~is_parent[lay.visible]
    leaf[0] = n == 1
    if lay.kind == "radial":
        r = np.concatenate([np.hypot(lay.x, lay.y)[leaf], np.hypot(lay.badge_x, lay.badge_y)])
        r_in = float(r.min()) if len(r) else 1.0
        pitch = r_in * 2 * math.pi / max(lay.n_slots, 1) * ppx
        gap = ppx
    else:
        pitch, gap = ppx, ppy
    return float(np.clip(0.8 * min(pitch, 0.45 * gap), 2.2, 10.0))


def _draw_edges(ax: Axes, lay: TreeLayout, base: float, colors: list[str],
                bcolors: list[str]) -> None:
    """Tree links as elbow connectors (radial: out, along the ring, out; layered: down,
    across, down) so that sibling groups never cross. The last leg to each child takes the
    child's relation colour (so sectors read by colour even when markers are tiny); badges
    hang off dotted legs; the extra parents of merges are faint pink curves."""
    tree = lay.tree
    lw = float(np.clip(base * 0.09, 0.2, 0.7))
    polys, ticks, tick_cols, bticks, btick_cols = _connectors(lay, colors, bcolors)
    if polys:
        lc = LineCollection(polys, colors=EDGE_COLOR, linewidths=lw, zorder=1,
                            capstyle="butt", joinstyle="round")
        lc.set_gid("ecograph-tree-edges")
        ax.add_collection(lc)
    if ticks:
        lc = LineCollection(ticks, colors=tick_cols, linewidths=lw * 1.3, zorder=1.1,
                            alpha=0.75, capstyle="butt")
        lc.set_gid("ecograph-child-edges")
        ax.add_collection(lc)
    if bticks:
        lc = LineCollection(bticks, colors=btick_cols, linewidths=lw * 1.3,
                            linestyles=(0, (1, 1)), zorder=1)
        lc.set_gid("ecograph-badge-edges")
        ax.add_collection(lc)
    pos = {int(i): (lay.x[k], lay.y[k]) for k, i in enumerate(lay.visible)}
    extra = [(pos[p], pos[c]) for p, c in tree.extra_edges if p in pos and c in pos]
    if extra:
        curves = [_curve(a, b, lay.kind) for a, b in extra]
        lc = LineCollection(curves, colors=RELATION_COLORS["merge"], linewidths=lw,
                            alpha=0.3 if len(curves) < 100 else 0.15, zorder=0.5)
        lc.set_gid("ecograph-extra-edges")
        ax.add_collection(lc)


def _connectors(lay: TreeLayout, colors: list[str], bcolors: list[str]) -> tuple[Any, ...]:
    tree = lay.tree
    k_of = {int(i): k for k, i in enumerate(lay.visible)}
    depth = tree.depth[lay.visible]
    groups: dict[int, list[tuple[float, str]]] = {}
    for k in range(1, len(lay.visible)):
        groups.setdefault(k_of[int(tree.parent[lay.visible[k]])], []).append(
            (float(lay.s[k]), colors[k]))
    bgroups: dict[int, list[tuple[float, str]]] = {}
    for b, p in enumerate(lay.badge_parent):
        bgroups.setdefault(k_of[int(p)], []).append((float(lay.badge_s[b]), bcolors[b]))
    polys: list[np.ndarray] = []
    ticks: list[np.ndarray] = []
    bticks: list[np.ndarray] = []
    tcols: list[str] = []
    bcols: list[str] = []
    radial = lay.kind == "radial"
    for p in sorted(set(groups) | set(bgroups)):
        kids = groups.get(p, [])
        bk = bgroups.get(p, [])
        sp = float(lay.s[p])
        ss = [t[0] for t in kids + bk] + ([] if p == 0 else [sp])
        lo, hi = min(ss), max(ss)
        dp = float(depth[p])
        if radial:
            r_p = float(lay.radius(dp))
            r_c = float(lay.radius(dp + 1))
            r_mid = r_c - 0.5
            if p != 0 or (hi - lo) < 0.5 * lay.n_slots:  # the root: a spoke unless ringed
                th = float(lay.angle(sp))
                polys.append(np.array([[r_p * math.cos(th), r_p * math.sin(th)],
                                       [r_mid * math.cos(th), r_mid * math.sin(th)]]))
            if hi > lo:
                t0, t1 = float(lay.angle(lo)), float(lay.angle(hi))
                npts = max(2, int(abs(t1 - t0) / 0.02) + 2)
                arc = np.linspace(t0, t1, npts)
                polys.append(np.column_stack([r_mid * np.cos(arc), r_mid * np.sin(arc)]))
            for lst, out, cols in ((kids, ticks, tcols), (bk, bticks, bcols)):
                if lst:
                    ths = lay.angle(np.asarray([t[0] for t in lst]))
                    c, s = np.cos(ths), np.sin(ths)
                    seg = np.stack([np.column_stack([r_mid * c, r_mid * s]),
                                    np.column_stack([r_c * c, r_c * s])], axis=1)
                    out.extend(seg)
                    cols.extend(t[1] for t in lst)
        else:
            y_mid = -dp - 0.5
            polys.append(np.array([[sp, -dp], [sp, y_mid]]))
            if hi > lo:
                polys.append(np.array([[lo, y_mid], [hi, y_mid]]))
            for lst, out, cols in ((kids, ticks, tcols), (bk, bticks, bcols)):
                for x, col in lst:
                    out.append(np.array([[x, y_mid], [x, -dp - 1]]))
                    cols.append(col)
    return polys, ticks, tcols, bticks, bcols


def _curve(a: tuple[float, float], b: tuple[float, float], kind: str, n: int = 16
           ) -> np.ndarray:
    """A quadratic Bézier from ``a`` to ``b`` bending towards the centre (radial) or up."""
    pa, pb = np.asarray(a), np.asarray(b)
    mid = (pa + pb) / 2
    if kind == "radial":
        ctrl = mid * 0.55
    else:
        ctrl = mid + np.array([0.0, 0.6])
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * pa + 2 * (1 - t) * t * ctrl + t**2 * pb


class _LabelPlacer:
    """Greedy label placement.

    For each label (most important first) try offsets around its node, nearest first; keep
    the first whose box (renderer extent, padded) stays inside the axes, overlaps no placed
    label and covers no node marker; failing that, the first that only covers markers;
    failing that, drop the label. Far offsets get a thin leader line.
    """

    def __init__(self, ax: Axes, fig: Figure, renderer: Any, lay: TreeLayout,
                 xs: np.ndarray, ys: np.ndarray, diam: np.ndarray) -> None:
        self.ax, self.fig, self.renderer, self.lay = ax, fig, renderer, lay
        self.boxes: list[Bbox] = []
        self.leaders: list[tuple[tuple[float, float], tuple[float, float]]] = []
        self.limit = ax.get_window_extent()
        self.pad = 1.2 * fig.dpi / 72.0
        pts = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
        self.mx, self.my = pts[:, 0], pts[:, 1]
        self.mr = diam / 2.0 * fig.dpi / 72.0
        self.rpts = diam / 2.0

    def _candidates(self, x: float, y: float, own: float = 0.0) -> list[tuple[float, float]]:
        """Offsets (points) to try, nearest first; ``own`` = the node's marker radius."""
        out: list[tuple[float, float]] = []
        if self.lay.kind == "radial":
            r = math.hypot(x, y)
            ux, uy = (x / r, y / r) if r > 0 else (0.0, 1.0)
            px, py = -uy, ux
            for dist in (2.5, 8.0, 16.0, 26.0, 38.0):
                d = dist + own
                for t in (0.0, 7.0, -7.0, 14.0, -14.0, 24.0, -24.0):
                    out.append((ux * d + px * t, uy * d + py * t))
        else:
            for dist in (2.5, 8.0, 15.0, 25.0, 37.0):
                for dx, dy in ((0, -1), (1, 0), (-1, 0), (0, 1), (1, -1), (-1, -1),
                               (1, 1), (-1, 1)):
                    out.append((dx * (dist * 1.2 + own), dy * (dist * 0.8 + own)))
        return out

    def _move(self, t: Any, x: float, y: float, dx: float, dy: float) -> None:
        t.set_horizontalalignment("left" if dx > 2 else "right" if dx < -2 else "center")
        t.set_verticalalignment("bottom" if dy > 2 else "top" if dy < -2 else "center")
        t.set_transform(self.ax.transData + ScaledTranslation(dx / 72.0, dy / 72.0,
                                                              self.fig.dpi_scale_trans))

    def _new_text(self, x: float, y: float, s: str, **kw: Any) -> Any:
        return self.ax.text(x, y, s, zorder=5, clip_on=False,
                            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none",
                                  "alpha": 0.85}, **kw)

    def _check(self, t: Any, own: int) -> tuple[Bbox | None, bool]:
        """(padded box if it may stay, whether it is clear of node markers)."""
        bb = t.get_window_extent(self.renderer).padded(self.pad)
        lim = self.limit
        if bb.x0 < lim.x0 or bb.x1 > lim.x1 or bb.y0 < lim.y0 or bb.y1 > lim.y1:
            return None, False
        if any(bb.overlaps(o) for o in self.boxes):
            return None, False
        hit = ((self.mx + self.mr > bb.x0) & (self.mx - self.mr < bb.x1)
               & (self.my + self.mr > bb.y0) & (self.my - self.mr < bb.y1))
        if 0 <= own < len(hit):
            hit[own] = False
        return bb, not bool(hit.any())

    def _place(self, own: int, x: float, y: float, s: str, cands: list[tuple[float, float]],
               gid: str, leader: bool, **kw: Any) -> Any:
        t = self._new_text(x, y, s, **kw)
        fallback: tuple[float, float, Bbox] | None = None
        for dx, dy in cands:
            self._move(t, x, y, dx, dy)
            bb, clear = self._check(t, own)
            if bb is None:
                continue
            if clear:
                return self._accept(t, x, y, dx, dy, bb, gid, leader)
            if fallback is None:
                fallback = (dx, dy, bb)
        if fallback is not None:
            dx, dy, bb = fallback
            self._move(t, x, y, dx, dy)
            return self._accept(t, x, y, dx, dy, bb, gid, leader)
        t.remove()
        return None

    def _accept(self, t: Any, x: float, y: float, dx: float, dy: float, bb: Bbox, gid: str,
                leader: bool) -> Any:
        t.set_gid(gid)
        self.boxes.append(bb)
        if leader and math.hypot(dx, dy) > 9:
            self._leader(x, y, t)
        return t

    def place(self, k: int, s: str, *, centre: bool = False, **kw: Any) -> Any:
        x, y = float(self.lay.x[k]), float(self.lay.y[k])
        cands = [(0.0, 0.0)] if centre else self._candidates(x, y, float(self.rpts[k]))
        return self._place(k, x, y, s, cands, LABEL_GID, True, **kw)

    def place_root(self, s: str, diam: float, **kw: Any) -> Any:
        # below the root marker (radial: the root is at the centre of the rings), else above
        gap = diam / 2 + 2.0
        cands = [(0.0, -gap), (0.0, gap), (gap, 0.0), (-gap, 0.0)]
        return self._place(0, float(self.lay.x[0]), float(self.lay.y[0]), s, cands,
                           LABEL_GID, False, **kw)

    def force(self, k: int, s: str, **kw: Any) -> Any:
        x, y = float(self.lay.x[k]), float(self.lay.y[k])
        t = self._new_text(x, y, s, weight="bold", ha="center", va="center", **kw)
        t.set_gid(LABEL_GID)
        self.boxes.append(t.get_window_extent(self.renderer).padded(self.pad))
        return t

    def place_badge(self, b: int, s: str, **kw: Any) -> Any:
        x, y = float(self.lay.badge_x[b]), float(self.lay.badge_y[b])
        own = len(self.lay.x) + b
        kw.setdefault("color", "#444444")
        return self._place(own, x, y, s, self._candidates(x, y, float(self.rpts[own]))[:14],
                           BADGE_GID, False, **kw)

    def _leader(self, x: float, y: float, t: Any) -> None:
        # a thin line from the node to the nearest point of the label's box
        inv = self.ax.transData.inverted()
        node = self.ax.transData.transform((x, y))
        bb = t.get_window_extent(self.renderer)
        tx = min(max(node[0], bb.x0), bb.x1)
        ty = min(max(node[1], bb.y0), bb.y1)
        end = inv.transform((tx, ty))
        self.leaders.append(((x, y), (float(end[0]), float(end[1]))))

    def draw_leaders(self) -> None:
        if self.leaders:
            lc = LineCollection(self.leaders, colors="#444444", linewidths=0.4, zorder=4)
            lc.set_gid("ecograph-leaders")
            self.ax.add_collection(lc)


@quiet_warnings
def save_figure(
    fig: Figure, path: str | os.PathLike[str], *, dpi: float | None = None
) -> Path:
    """Save ``fig`` as PNG, SVG or PDF (from the suffix; :func:`ecograph.style.savefig`:
    PDF fonts embedded as TrueType), byte-for-byte reproducibly and atomically (a failed
    save leaves no partial file and keeps the previous one), parent directories created.

    Raises
    ------
    UsageError
        If the suffix of ``path`` is not ``.png``, ``.svg`` or ``.pdf``.
    """
    p = Path(path)
    fmt = format_for(p, PICTURE_FORMATS)
    with atomic_paths(p) as (tmp,):
        _style.savefig(fig, tmp, fmt, dpi=dpi or fig.dpi)
    return p
