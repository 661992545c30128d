"""The house style every ecograph figure uses: palette, fonts, sizes, titles, source line.

One module owns the look of the pictures; the drawing modules (:mod:`ecograph.render`,
:mod:`ecograph.plots`, :mod:`ecograph.plots_dynamics`) call it:

- **Palette** (safe for the common colour-vision deficiencies): relations in Okabe-Ito
  (:data:`RELATION_COLORS`, fixed: a relation keeps its colour in every figure), lines of
  several families in Okabe-Ito (:data:`LINE_COLORS`), groups of foundations in Paul Tol's
  *muted* scheme (:data:`GROUP_COLORS`) with a neutral grey for ``other``
  (:data:`OTHER_COLOR`).
- **Fonts**: DejaVu Sans (shipped with matplotlib, so every machine draws the same
  glyphs), sizes per size preset, never below :data:`MIN_FONT_PT` (7 pt) at print width.
- **Sizes** (:data:`SIZE_PRESETS`): ``column`` 3.5 in wide (one column of a journal),
  ``page`` 7 in wide (a page's text width), ``slide`` 13.33 x 7.5 in (16:9); the
  resolution is separate (``dpi``). :func:`figure` makes a Figure of a preset.
- **Titles and source**: :func:`decorate` puts a bold title and a subtitle (the key
  number, supplied by the caller) at the top left, wrapped to the width, and a source line
  ``Data: Hugging Face Hub via ecograph, observed YYYY-MM-DD`` (:func:`source_line`) at the
  bottom left, and keeps the axes clear of them.
- **Saving** (:func:`savefig`): PNG, SVG and PDF with the same bytes for the same figure
  (no dates in the metadata, a fixed SVG hash salt). PDF embeds its fonts as TrueType
  (Type 42: ``pdf.fonttype = 42``, text stays selectable and editable in Illustrator /
  Inkscape). SVG draws glyphs as paths (``svg.fonttype = "path"``): matplotlib cannot
  embed a font in an SVG, and ``"none"`` would leave the look to whatever fonts the
  reader's machine has; paths look the same everywhere, at the cost of text search.

Everything runs inside :func:`house`, a :func:`matplotlib.rc_context`: the library never
changes the user's global ``rcParams``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import matplotlib
import polars as pl
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import offset_copy

from .errors import UsageError

__all__ = [
    "OKABE_ITO",
    "RELATION_COLORS",
    "LINE_COLORS",
    "GROUP_COLORS",
    "OTHER_COLOR",
    "UNKNOWN_COLOR",
    "FONT_FAMILY",
    "MIN_FONT_PT",
    "SizePreset",
    "SIZE_PRESETS",
    "SIZES",
    "DEFAULT_SIZE",
    "preset",
    "rc_params",
    "house",
    "figure",
    "style_axes",
    "Decoration",
    "decorate",
    "fit_legend_columns",
    "SAVE_METADATA",
    "source_line",
    "observed_date",
    "savefig",
]

#: Okabe & Ito (2008), "Color Universal Design": eight colours told apart with every
#: common colour-vision deficiency.
OKABE_ITO: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
    "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
    "vermillion": "#D55E00", "reddish purple": "#CC79A7", "grey": "#999999",
}
#: One colour per relation (Okabe-Ito), the same in every figure.
RELATION_COLORS: dict[str, str] = {
    "finetune": OKABE_ITO["blue"],
    "quantized": OKABE_ITO["orange"],
    "adapter": OKABE_ITO["bluish green"],
    "merge": OKABE_ITO["reddish purple"],
    "unknown": OKABE_ITO["grey"],
}
#: Lines of several families (Okabe-Ito, black last), cycled with dashes beyond 8.
LINE_COLORS = [OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "reddish purple",
                                      "vermillion", "sky blue", "yellow", "black")]
#: Groups of foundations: Paul Tol's *muted* qualitative colours, in the order groups get
#: them (https://personal.sron.nl/~pault/#sec:qualitative).
GROUP_COLORS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
                "#CC6677", "#882255", "#AA4499"]
#: The neutral grey of ``other`` (Tol's "pale grey" family).
OTHER_COLOR = "#BBBBBB"
#: The lighter grey of an ``unknown`` group (size class not known).
UNKNOWN_COLOR = "#DDDDDD"
TEXT_COLOR = "#222222"
MUTED_COLOR = "#555555"
GRID_COLOR = "#E5E5E5"

#: The font of every figure (shipped with matplotlib).
FONT_FAMILY = "DejaVu Sans"
#: No text of a figure is smaller than this at print width.
MIN_FONT_PT = 7.0
SOURCE_PREFIX = "Data: Hugging Face Hub via ecograph"


@dataclass(frozen=True)
class SizePreset:
    """A figure size and the font sizes (points) that read well at it.

    ``width`` x ``height`` in inches (``height`` is the default; a figure may be taller or
    shorter); ``pad`` is the margin around the title block and the source line.
    """

    name: str
    width: float
    height: float
    title: float
    subtitle: float
    label: float
    tick: float
    legend: float
    source: float
    pad: float


#: ``--size``: one journal column, a page's text width, a 16:9 slide.
SIZE_PRESETS: dict[str, SizePreset] = {
    "column": SizePreset("column", 3.5, 2.9, title=9.0, subtitle=7.5, label=7.5, tick=7.0,
                         legend=7.0, source=7.0, pad=0.06),
    "page": SizePreset("page", 7.0, 4.6, title=12.0, subtitle=9.5, label=9.0, tick=8.5,
                       legend=8.5, source=7.5, pad=0.1),
    "slide": SizePreset("slide", 13.33, 7.5, title=22.0, subtitle=16.0, label=15.0,
                        tick=13.0, legend=13.0, source=11.0, pad=0.2),
}
SIZES = tuple(SIZE_PRESETS)
DEFAULT_SIZE = "page"


def preset(size: str | SizePreset | None = None, fig: Figure | None = None) -> SizePreset:
    """The :class:`SizePreset` named ``size``; with ``size=None``, the one nearest the
    width of ``fig`` (``page`` without a figure).

    >>> preset("column").width, preset(None).name
    (3.5, 'page')

    Raises
    ------
    UsageError
        For an unknown size name.
    """
    if isinstance(size, SizePreset):
        return size
    if size is None:
        if fig is None:
            return SIZE_PRESETS[DEFAULT_SIZE]
        width = float(fig.get_size_inches()[0])
        return min(SIZE_PRESETS.values(), key=lambda p: abs(p.width - width))
    if size not in SIZE_PRESETS:
        raise UsageError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    return SIZE_PRESETS[size]


def rc_params(size: str | SizePreset | None = None) -> dict[str, Any]:
    """The matplotlib settings of the house style at ``size`` (for :func:`house`).

    >>> rc = rc_params("column")
    >>> rc["pdf.fonttype"], rc["font.size"] >= MIN_FONT_PT
    (42, True)
    """
    p = preset(size)
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [FONT_FAMILY],
        "font.size": p.label,
        "text.color": TEXT_COLOR,
        "axes.titlesize": p.subtitle,
        "axes.labelsize": p.label,
        "axes.labelcolor": TEXT_COLOR,
        "axes.edgecolor": "#666666",
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=LINE_COLORS),
        "xtick.labelsize": p.tick,
        "ytick.labelsize": p.tick,
        "xtick.color": "#444444",
        "ytick.color": "#444444",
        "legend.fontsize": p.legend,
        "legend.title_fontsize": p.legend,
        "legend.frameon": False,
        "grid.color": GRID_COLOR,
        "grid.linewidth": 0.6,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "path",
        "svg.hashsalt": "ecograph",
        "pdf.compression": 6,
        "path.simplify": True,
    }


@contextlib.contextmanager
def house(size: str | SizePreset | None = None) -> Iterator[None]:
    """Draw (and save) inside this block to get the house style; the user's global
    ``rcParams`` are restored on exit.

    >>> before = dict(matplotlib.rcParams)
    >>> with house("slide"):
    ...     matplotlib.rcParams["pdf.fonttype"]
    42
    >>> dict(matplotlib.rcParams) == before
    True
    """
    with matplotlib.rc_context(rc_params(size)):  # type: ignore[arg-type]
        yield


def figure(size: str | SizePreset | None = DEFAULT_SIZE, *, aspect: float | None = None,
           height: float | None = None, dpi: float = 200,
           constrained: bool = True) -> Figure:
    """A new Figure (Agg canvas, no pyplot) of the preset's width.

    ``aspect`` = height / width, or ``height`` in inches; default: the preset's height.
    ``constrained``: let matplotlib's constrained layout place the axes (between the
    title block and the source line once :func:`decorate` has run).

    >>> f = figure("column", aspect=0.75, dpi=100)
    >>> [float(v) for v in f.get_size_inches()], f.dpi
    ([3.5, 2.625], 100)
    """
    p = preset(size)
    h = height if height is not None else p.width * aspect if aspect is not None else p.height
    fig = Figure(figsize=(p.width, h), dpi=dpi,
                 layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    if constrained:
        engine = fig.get_layout_engine()
        assert isinstance(engine, ConstrainedLayoutEngine)
        engine.set(w_pad=p.pad / 2, h_pad=p.pad / 2)
    return fig


def style_axes(ax: Axes, size: str | SizePreset | None = None, *,
               grid: str | None = None) -> None:
    """House look of one Axes: no top/right spines, tick labels in the house font and
    size (also those matplotlib creates later, outside :func:`house`), optional light
    ``grid`` (``"x"``, ``"y"`` or ``"both"``) behind the data."""
    p = preset(size, ax.get_figure(root=True))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=p.tick, labelfontfamily=FONT_FAMILY, width=0.6, length=3)
    ax.xaxis.label.set_fontsize(p.label)
    ax.yaxis.label.set_fontsize(p.label)
    if grid:
        ax.grid(True, axis=grid, color=GRID_COLOR, lw=0.6)  # type: ignore[arg-type]
        ax.set_axisbelow(True)


def observed_date(*frames: pl.DataFrame | None) -> dt.date | None:
    """The latest ``fetched_at`` among ``frames`` (when the data was observed), or None.

    >>> t = dt.datetime(2025, 3, 4, 5, tzinfo=dt.UTC)
    >>> observed_date(pl.DataFrame({"fetched_at": [None, t]}), None)
    datetime.date(2025, 3, 4)
    >>> observed_date(pl.DataFrame({"id": ["a"]})) is None
    True
    """
    best: dt.datetime | dt.date | None = None
    for frame in frames:
        if frame is None or "fetched_at" not in frame.columns or frame.height == 0:
            continue
        value = frame.get_column("fetched_at").max()
        if isinstance(value, dt.datetime | dt.date) and (best is None or value > best):
            best = value
    if isinstance(best, dt.datetime):
        return best.date()
    return best


def source_line(observed: dt.date | dt.datetime | str | None, *,
                today: dt.date | None = None) -> str:
    """The source line under a figure. Without an observation date the drawing date is
    given and the line says so.

    >>> source_line(dt.date(2025, 1, 31))
    'Data: Hugging Face Hub via ecograph, observed 2025-01-31'
    >>> source_line(None, today=dt.date(2025, 2, 1))
    'Data: Hugging Face Hub via ecograph, drawn 2025-02-01 (observation date unknown)'
    """
    if isinstance(observed, dt.datetime):
        observed = observed.date()
    if isinstance(observed, str):
        observed = dt.date.fromisoformat(observed[:10])
    if observed is None:
        day = today or dt.date.today()
        return f"{SOURCE_PREFIX}, drawn {day.isoformat()} (observation date unknown)"
    return f"{SOURCE_PREFIX}, observed {observed.isoformat()}"


@dataclass(frozen=True)
class Decoration:
    """What :func:`decorate` added: the title, subtitle, note and source texts (None when
    absent) and the bands they take at the top and bottom of the figure (inches)."""

    title: Text | None
    subtitle: Text | None
    note: Text | None
    source: Text
    top: float
    bottom: float


def _renderer(fig: Figure) -> Any:
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def _wrap(text: Text, width_px: float, renderer: Any) -> None:
    """Re-flow ``text`` (a paragraph per line) so that no line is wider than
    ``width_px``; words longer than a line are kept whole."""
    if text.get_window_extent(renderer).width <= width_px:
        return
    out: list[str] = []
    for para in text.get_text().split("\n"):
        words = para.split(" ")
        line = ""
        for word in words:
            trial = f"{line} {word}" if line else word
            text.set_text(trial)
            if line and text.get_window_extent(renderer).width > width_px:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    text.set_text("\n".join(out))


def decorate(
    fig: Figure,
    title: str | None,
    subtitle: str | None = None,
    source_date: dt.date | dt.datetime | str | None = None,
    *,
    size: str | SizePreset | None = None,
    note: str | None = None,
    today: dt.date | None = None,
) -> Decoration:
    """Title (bold) and subtitle at the top left, an optional ``note`` (how to read the
    figure) and the source line (:func:`source_line` of ``source_date``) at the bottom left,
    each wrapped to the figure's width, in the fonts of ``size`` (default: the preset
    nearest the figure's width). Text is placed in inches from the top / bottom edge, so
    it stays put if the figure's height changes. A figure with constrained layout keeps
    its axes between the bands; others read the bands from the returned
    :class:`Decoration`.

    The caller escapes text from the data (:func:`ecograph.render.figure_text`).

    >>> fig = figure("column", dpi=72)
    >>> deco = decorate(fig, "A title", "12 models", dt.date(2025, 1, 2))
    >>> deco.source.get_text()
    'Data: Hugging Face Hub via ecograph, observed 2025-01-02'
    >>> 0 < deco.top < 1 and 0 < deco.bottom < 0.5
    True
    """
    p = preset(size, fig)
    renderer = _renderer(fig)
    width_in, height_in = (float(v) for v in fig.get_size_inches())
    avail = (width_in - 2 * p.pad) * fig.dpi
    common: dict[str, Any] = {"ha": "left", "family": FONT_FAMILY, "wrap": False}
    y = p.pad
    made: dict[str, Text | None] = {"title": None, "subtitle": None, "note": None}
    styles: tuple[tuple[str, str | None, float, dict[str, Any]], ...] = (
        ("title", title, p.title, {"weight": "bold", "color": TEXT_COLOR}),
        ("subtitle", subtitle, p.subtitle, {"color": "#333333"}),
    )
    for key, value, fontsize, extra in styles:
        if not value:
            continue
        tr = offset_copy(fig.transFigure, fig=fig, x=p.pad, y=-y, units="inches")
        text = fig.text(0, 1, value, transform=tr, va="top", fontsize=fontsize,
                        linespacing=1.25, **common, **extra)
        _wrap(text, avail, renderer)
        text.set_gid(f"ecograph-{key}")
        y += text.get_window_extent(renderer).height / fig.dpi + 0.35 * fontsize / 72
        made[key] = text
    top = y + (p.pad if made["title"] or made["subtitle"] else 0.0)
    tr = offset_copy(fig.transFigure, fig=fig, x=p.pad, y=p.pad, units="inches")
    source = fig.text(0, 0, source_line(source_date, today=today), transform=tr,
                      va="bottom", fontsize=p.source, color=MUTED_COLOR, **common)
    _wrap(source, avail, renderer)
    source.set_gid("ecograph-source")
    bottom = p.pad + source.get_window_extent(renderer).height / fig.dpi
    if note:
        bottom += 0.3 * p.source / 72
        tr = offset_copy(fig.transFigure, fig=fig, x=p.pad, y=bottom, units="inches")
        note_text = fig.text(0, 0, note, transform=tr, va="bottom", fontsize=p.source,
                             color=MUTED_COLOR, linespacing=1.3, **common)
        _wrap(note_text, avail, renderer)
        note_text.set_gid("ecograph-note")
        bottom += note_text.get_window_extent(renderer).height / fig.dpi
        made["note"] = note_text
    bottom += p.pad / 2
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        low, high = bottom / height_in, max(1 - top / height_in, bottom / height_in + 0.1)
        engine.set(rect=(0, low, 1, high - low))
    return Decoration(made["title"], made["subtitle"], made["note"], source, float(top),
                      float(bottom))


def fit_legend_columns(count: int, width_chars: int, size: str | SizePreset) -> int:
    """How many legend columns fit the preset's width for ``count`` entries whose label
    is about ``width_chars`` characters long (an estimate: 0.55 em per character plus the
    marker), at least 1.

    >>> fit_legend_columns(5, 16, "column"), fit_legend_columns(5, 16, "page")
    (2, 4)
    """
    p = preset(size)
    entry_in = (width_chars * 0.55 + 3.5) * p.legend / 72
    return max(1, min(count, int((p.width - 2 * p.pad) // entry_in)))


#: Metadata without dates (same figure, same bytes), per format.
SAVE_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": "ecograph"},
    "svg": {"Date": None, "Creator": "ecograph"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "ecograph",
            "Producer": "ecograph"},
}


def savefig(fig: Figure, target: str | Path | IO[bytes], fmt: str, *, dpi: float) -> None:
    """Write ``fig`` as ``fmt`` (png, svg, pdf) with the house saving settings: no dates,
    fixed SVG ids, PDF fonts embedded as TrueType (Type 42), white background. Only the
    font-embedding and hash settings are applied, so a figure drawn in another style is
    saved as drawn."""
    if fig.canvas is None or not hasattr(fig.canvas, "print_figure"):
        FigureCanvasAgg(fig)
    keep = {k: v for k, v in rc_params().items()
            if k.startswith(("pdf.", "ps.", "svg.")) or k == "savefig.facecolor"}
    with matplotlib.rc_context(keep):  # type: ignore[arg-type]
        fig.savefig(target, format=fmt, dpi=dpi, metadata=SAVE_METADATA[fmt],
                    facecolor="white")
