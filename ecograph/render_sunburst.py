"""Sunburst pictures of large families (matplotlib, no pyplot state).

:func:`draw_sunburst` draws the wedges of :func:`ecograph.sunburst.sunburst_layout` into an
Axes: the root in the centre (labelled with its id and the family size), one ring per
generation, wedge angle ∝ subtree size, colour = relation (the colours of
:data:`ecograph.render.RELATION_COLORS`), the "+N others" wedges (small subtrees merged
per parent and relation) a light tint of their relation's colour, labelled "+N relation"
where the text fits. The largest
subtrees are labelled on their wedges with their name and size, along the ring when the
wedge is wide, along the radius when it is narrow, and only where the text fits inside the
wedge and overlaps no other label (largest first, so the choice is deterministic).
:func:`ecograph.render.fork_tree` calls it for ``style="sunburst"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from matplotlib.transforms import Bbox

from .sunburst import Sunburst

__all__ = ["WEDGE_GID", "OTHERS_GID", "WEDGE_LABEL_GID", "draw_sunburst"]

WEDGE_GID = "ecograph-wedge"
OTHERS_GID = "ecograph-others"
WEDGE_LABEL_GID = "ecograph-wedge-label"
ROOT_LABEL_GID = "ecograph-root-label"
MIN_FONT = 7.0


@dataclass
class _Fit:
    """Points per data unit and the renderer, to test whether a label fits its wedge."""

    ppu: float
    renderer: Any
    dpi: float


def _fits(text: Any, fit: _Fit, width_pt: float, height_pt: float) -> bool:
    bb = text.get_window_extent(fit.renderer)
    scale = 72.0 / fit.dpi
    return bool(bb.width * scale <= width_pt and bb.height * scale <= height_pt)


def _short_name(mid: str, width: int) -> str:
    name = mid.split("/", 1)[-1]
    return name if len(name) <= width else name[: max(width - 1, 1)] + "…"


def draw_sunburst(
    fig: Figure,
    ax: Axes,
    sb: Sunburst,
    colors: list[str],
    *,
    labels: int = 12,
    others_labels: int = 8,
    fontsize: float = 7.5,
    root_label: str = "",
    text: Any = None,
    relation_names: list[str] | None = None,
) -> list[Any]:
    """Draw ``sb`` into ``ax`` (equal aspect, limits set here) and return the labels drawn.

    ``colors`` is one colour per relation code (``sb.key``; "+N others" wedges take a
    light tint of it) and ``relation_names`` the names their labels use ("+37 quantized");
    ``text`` cleans ids for matplotlib (default: unchanged). The root's disc carries
    ``root_label``.
    """
    clean = text or (lambda s: s)
    lim = sb.outer_radius * 1.02
    ax.set_aspect("equal")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_axis_off()
    ax.apply_aspect()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    bbox = ax.get_window_extent(renderer)
    ppu = bbox.width * 72.0 / fig.dpi / (2 * lim)  # points per data unit
    fit = _Fit(ppu, renderer, float(fig.dpi))
    edge_lw = 0.5 if len(sb) < 400 else 0.3
    tints = [_tint(c) for c in colors]
    r_in = sb.r_inner(sb.ring)
    r_out = sb.r_outer(sb.ring)
    for w in range(len(sb)):
        is_other = sb.node[w] < 0
        face = tints[int(sb.key[w])] if is_other else colors[int(sb.key[w])]
        patch = Wedge((0.0, 0.0), float(r_out[w]), float(sb.start[w]),
                      float(sb.start[w] + sb.extent[w]), width=float(r_out[w] - r_in[w]),
                      facecolor=face,
                      edgecolor="white", linewidth=edge_lw)
        patch.set_gid(OTHERS_GID if is_other else WEDGE_GID)
        ax.add_artist(patch)
    root_disc = Wedge((0.0, 0.0), sb.inner_radius, 0.0, 360.0, facecolor="#f2f2f2",
                      edgecolor="white", linewidth=edge_lw)
    root_disc.set_gid("ecograph-root-disc")
    ax.add_artist(root_disc)

    placed: list[Bbox] = []
    drawn: list[Any] = []
    # the root's label: centred, shrunk (not below MIN_FONT), then its leading lines
    # dropped (the title names the root) until it fits; at worst its last word (the size)
    room = 2 * sb.inner_radius * 0.92 * ppu / math.sqrt(2) * 1.3
    if root_label:
        lines = root_label.split("\n")
        shorter = ["\n".join(lines[k:]) for k in range(1, len(lines))]
        steps = np.arange(fontsize + 2.0, MIN_FONT, -1.0).tolist() + [MIN_FONT]
        tries = [(root_label, float(size)) for size in steps]
        tries += [(label, MIN_FONT) for label in (*shorter, lines[-1].split(" ")[0])]
        for label, size in tries:
            t = ax.text(0, 0, label, ha="center", va="center", fontsize=size,
                        weight="bold", linespacing=1.25, zorder=5)
            if _fits(t, fit, room, room) or (label, size) == tries[-1]:
                break
            t.remove()
        t.set_gid(ROOT_LABEL_GID)
        placed.append(t.get_window_extent(renderer).padded(1.0))
        drawn.append(t)

    def candidates(mask: np.ndarray, limit: int) -> list[int]:
        idx = np.flatnonzero(mask)
        ranked = idx[np.lexsort((idx, -sb.count[idx]))]
        return ranked[: max(limit * 4, limit)].tolist()

    ids = sb.tree.ids
    jobs = [(w, True) for w in candidates(sb.node >= 0, labels)]
    jobs += [(w, False) for w in candidates(sb.node < 0, others_labels)]
    quota = {True: labels, False: others_labels}
    for w, is_model in jobs:
        if quota[is_model] <= 0:
            continue
        count = int(sb.count[w])
        if is_model:
            name = ids[int(sb.node[w])]
            lines = [clean(_short_name(name, width)) for width in (30, 22, 16)]
            second = f"{count:,}"
        else:
            rel = relation_names[int(sb.key[w])] if relation_names else "others"
            lines = [f"+{count:,} {rel}", f"+{count:,}"]
            second = ""
        face = colors[int(sb.key[w])] if is_model else tints[int(sb.key[w])]
        t = _label_in_wedge(ax, fit, sb, w, lines, second, fontsize, placed, _ink(face))
        if t is not None:
            t.set_gid(WEDGE_LABEL_GID)
            drawn.append(t)
            quota[is_model] -= 1
    return drawn


def _tint(color: str, keep: float = 0.38) -> tuple[float, float, float]:
    """``color`` blended towards white (the "+N others" wedges of a relation).

    >>> _tint("#000000", 0.5)
    (0.5, 0.5, 0.5)
    """
    r, g, b = to_rgb(color)
    return (1 - keep * (1 - r), 1 - keep * (1 - g), 1 - keep * (1 - b))


def _ink(face: Any) -> str:
    """White text on dark wedges, near-black on light ones (WCAG relative luminance).

    >>> _ink("#0072B2"), _ink("#E69F00")
    ('white', '#111111')
    """
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(face)]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "white" if lum < 0.25 else "#111111"


def _inside(sb: Sunburst, w: int, x: float, y: float, rot: float, width: float,
            height: float) -> bool:
    """Whether a ``width`` x ``height`` box (data units) centred at (x, y), turned by
    ``rot`` degrees, lies inside wedge ``w`` (corners and edge midpoints tested)."""
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    u = np.array([-0.5, 0.0, 0.5])
    dx, dy = np.meshgrid(u * width, u * height)
    px = x + c * dx.ravel() - s * dy.ravel()
    py = y + s * dx.ravel() + c * dy.ravel()
    r = np.hypot(px, py)
    a, b = float(sb.r_inner(int(sb.ring[w]))), float(sb.r_outer(int(sb.ring[w])))
    if r.min() < a or r.max() > b:
        return False
    lo = float(sb.start[w])
    ang = (np.degrees(np.arctan2(py, px)) - lo) % 360.0
    return bool(ang.max() <= float(sb.extent[w]))


def _label_in_wedge(ax: Axes, fit: _Fit, sb: Sunburst, w: int, names: list[str],
                    second: str, fontsize: float, placed: list[Bbox], ink: str) -> Any:
    """Put the first of ``names`` (with ``second`` under it) that fits inside wedge ``w``
    (horizontal, along the ring or along the radius), clear of the ``placed`` boxes; None
    if none fits."""
    a = float(sb.r_inner(int(sb.ring[w])))
    b = float(sb.r_outer(int(sb.ring[w])))
    mid_r = (a + b) / 2.0
    lo, ext = float(sb.start[w]), float(sb.extent[w])
    # where to centre the text: mid-wedge; in a wide wedge also the points nearest to
    # 12 and 6 o'clock (text along the ring is level there, so its box stays tight)
    spots = [lo + ext / 2.0]
    if ext >= 60.0:
        for level in (90.0, 270.0, 450.0, -90.0):
            spots.append(min(max(level, lo + 25.0), lo + ext - 25.0))
        spots += [lo + ext * f for f in (0.25, 0.75)]
    places: list[tuple[float, float, float]] = []
    for spot in dict.fromkeys(round(v, 6) for v in spots):
        deg = spot % 360.0
        x, y = mid_r * math.cos(math.radians(deg)), mid_r * math.sin(math.radians(deg))
        # along the ring: text perpendicular to the radius; along the radius: text on it
        tangential = deg - 90.0 if 0.0 <= deg <= 180.0 else deg + 90.0
        radial = deg if (deg <= 90.0 or deg >= 270.0) else deg + 180.0
        turns = (0.0, tangential, radial) if ext >= 90 else (tangential, radial)
        places += [(x, y, rot) for rot in turns]
    margin = 0.94
    for size in (fontsize, MIN_FONT) if fontsize > MIN_FONT else (fontsize,):
        for name in names:
            label = f"{name}\n{second}" if second else name
            t = ax.text(0.0, 0.0, label, ha="center", va="center", fontsize=size,
                        linespacing=1.1, zorder=5, rotation_mode="anchor", color=ink)
            box = t.get_window_extent(fit.renderer)
            scale = 72.0 / fit.dpi / fit.ppu / margin  # pixels -> data units
            width, height = box.width * scale, box.height * scale
            for x, y, rot in places:
                if not _inside(sb, w, x, y, rot, width, height):
                    continue
                t.set_position((x, y))
                t.set_rotation(rot)
                bb = t.get_window_extent(fit.renderer)
                if any(bb.overlaps(o) for o in placed):
                    continue
                placed.append(bb)
                return t
            t.remove()
    return None
