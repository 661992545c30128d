"""The house style: every figure inside its frame at every size, fonts >= 7 pt at column
width, the source line and its date, deterministic bytes, embedded PDF fonts, the
documented colour-blind-safe palette, no change to the user's rcParams."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import polars as pl  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from ecograph import style  # noqa: E402
from ecograph.api import Ecosystem  # noqa: E402
from ecograph.cli import main  # noqa: E402
from ecograph.drift import drift  # noqa: E402
from ecograph.drift_plot import drift_transitions  # noqa: E402
from ecograph.dynamics import trends  # noqa: E402
from ecograph.errors import UsageError  # noqa: E402
from ecograph.plots import (  # noqa: E402
    adoption_curves,
    families_from_frames,
    fanout_distribution,
    relation_mix,  # noqa: E402
)
from ecograph.plots_dynamics import new_chart, share_chart  # noqa: E402
from ecograph.render import fork_tree, save_figure  # noqa: E402
from ecograph.snapshot import read_snapshot  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
ROOTS = ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "google/gemma-2-9b"]
DAY = dt.date(2025, 3, 14)


@pytest.fixture(scope="module")
def hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    return read_snapshot(FIXTURE)


@pytest.fixture(scope="module")
def fams(hub):
    return families_from_frames(*hub, ROOTS)


@pytest.fixture(scope="module")
def frame(hub) -> pl.DataFrame:
    return trends(*hub, by="vendor", period="quarter")


def _figures(hub, fams, frame) -> dict[str, Callable[[str], Figure]]:
    models, edges = hub
    root = ROOTS[0]
    nodes = fams[0][1]
    fam_edges = fams[0][2]
    return {
        "tree": lambda size: fork_tree(nodes, fam_edges, root, size=size, observed=DAY,
                                       dpi=72).figure,
        "sunburst": lambda size: fork_tree(nodes, fam_edges, root, size=size, observed=DAY,
                                           dpi=72, style="sunburst").figure,
        "drift": lambda size: drift_transitions(drift(models, edges, ROOTS[:2]), size=size,
                                                observed=DAY),
        "adoption": lambda size: adoption_curves(fams, size=size, observed=DAY),
        "fanout": lambda size: fanout_distribution(fams, size=size, observed=DAY),
        "relations": lambda size: relation_mix(fams, size=size, observed=DAY),
        "share": lambda size: share_chart(frame, size=size, observed=DAY),
        "new": lambda size: new_chart(frame, size=size, observed=DAY),
    }


KINDS = ["tree", "sunburst", "adoption", "fanout", "relations", "share", "new", "drift"]


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("size", style.SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_text_outside_the_figure_and_fonts_readable(hub, fams, frame, kind, size):
    fig = _figures(hub, fams, frame)[kind](size)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.get_size_inches() * fig.dpi
    assert fig.get_size_inches()[0] == pytest.approx(style.SIZE_PRESETS[size].width)
    # everything drawn (texts, legends, tick labels, markers) lies inside the figure
    drawn = fig.get_tightbbox(renderer)  # inches
    size_in = fig.get_size_inches()
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, drawn
    assert drawn.x1 <= size_in[0] + 0.01 and drawn.y1 <= size_in[1] + 0.01, drawn
    texts = _texts(fig)
    assert len(texts) > 5
    for text in texts:
        assert text.get_fontsize() >= style.MIN_FONT_PT, (text.get_text(), text.get_fontsize())
    # the title block and the source line do not overlap each other or the axes' text
    parts = {t.get_gid(): t.get_window_extent(renderer) for t in fig.texts
             if t.get_gid() and t.get_gid().startswith("ecograph-")}
    assert {"ecograph-title", "ecograph-subtitle", "ecograph-source"} <= set(parts)
    for ax in fig.axes:
        inner = ax.get_window_extent(renderer)
        assert not inner.overlaps(parts["ecograph-title"])
        assert not inner.overlaps(parts["ecograph-source"])
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent(renderer)
            assert not box.overlaps(parts["ecograph-subtitle"])
            assert box.x1 <= width + 1 and box.y0 >= -1


@pytest.mark.parametrize("kind", KINDS)
def test_source_line_with_the_observation_date(hub, fams, frame, kind):
    fig = _figures(hub, fams, frame)[kind]("page")
    (source,) = [t.get_text() for t in fig.texts if t.get_gid() == "ecograph-source"]
    assert source == "Data: Hugging Face Hub via ecograph, observed 2025-03-14"


def test_source_date_defaults_to_the_data_and_says_when_unknown(fams):
    stamp = dt.datetime(2024, 11, 2, 9, tzinfo=dt.UTC)
    dated = [(r, n.with_columns(pl.lit(stamp).alias("fetched_at")), e) for r, n, e in fams]
    fig = adoption_curves(dated)
    assert any(t.get_text().endswith("observed 2024-11-02") for t in fig.texts)
    fig = adoption_curves([(r, n.drop("fetched_at", strict=False), e) for r, n, e in fams])
    (source,) = [t.get_text() for t in fig.texts if t.get_gid() == "ecograph-source"]
    assert re.fullmatch(r"Data: Hugging Face Hub via ecograph, drawn \d{4}-\d\d-\d\d "
                        r"\(observation date unknown\)", source)


def test_observed_on_reads_the_store(tmp_path):
    db = tmp_path / "hub.db"
    result = CliRunner().invoke(main, ["import", str(FIXTURE), "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    from ecograph.api import open as open_store
    from ecograph.snapshot import observed_at

    expected = observed_at(FIXTURE).date()
    assert open_store(db).observed_on() == expected  # the import's observation time
    assert Ecosystem.from_snapshot(FIXTURE).observed_on() == expected
    out = tmp_path / "t.png"
    fig = open_store(db).family(ROOTS[1]).draw(size="column")
    assert any(t.get_text().endswith(f"observed {expected.isoformat()}") for t in fig.texts)
    result = CliRunner().invoke(main, ["render", ROOTS[1], "--db", str(db), "-o", str(out),
                                       "--size", "column", "--dpi", "100"])
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] == 350


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
@pytest.mark.parametrize("kind", ["tree", "sunburst", "share", "relations", "drift"])
def test_same_figure_same_bytes(hub, fams, frame, tmp_path, kind, suffix):
    make = _figures(hub, fams, frame)[kind]
    blobs = [save_figure(make("column"), tmp_path / f"{k}{suffix}", dpi=72).read_bytes()
             for k in range(2)]
    assert blobs[0] == blobs[1] and len(blobs[0]) > 1000


def test_pdf_embeds_truetype_fonts(fams, tmp_path):
    pdf = save_figure(adoption_curves(fams, size="column", observed=DAY),
                      tmp_path / "a.pdf").read_bytes()
    # Type 42: matplotlib writes a Type0 font over a CIDFontType2 (TrueType outlines)
    # whose TrueType program is embedded as /FontFile2
    assert b"/FontFile2" in pdf
    assert b"/Subtype /CIDFontType2" in pdf
    assert b"DejaVuSans" in pdf
    assert b"/Type3" not in pdf


def test_relation_palette_is_the_documented_okabe_ito():
    assert style.RELATION_COLORS == {
        "finetune": "#0072B2", "quantized": "#E69F00", "adapter": "#009E73",
        "merge": "#CC79A7", "unknown": "#999999"}
    assert set(style.RELATION_COLORS.values()) <= set(style.OKABE_ITO.values())
    assert set(style.LINE_COLORS) <= set(style.OKABE_ITO.values())
    # Paul Tol's muted scheme, and a grey for other that is none of the group colours
    assert style.GROUP_COLORS == ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                                  "#DDCC77", "#CC6677", "#882255", "#AA4499"]
    r, g, b = matplotlib.colors.to_rgb(style.OTHER_COLOR)
    assert r == g == b and style.OTHER_COLOR not in style.GROUP_COLORS


def test_relation_colours_reach_the_pictures(fams):
    fig = relation_mix(fams, observed=DAY)
    bars = fig.axes[0].patches
    drawn = {matplotlib.colors.to_hex(p.get_facecolor()) for p in bars}
    assert drawn == {c.lower() for r, c in style.RELATION_COLORS.items() if r != "unknown"}


def test_style_does_not_leak_into_global_rcparams(hub, fams, frame, tmp_path):
    before = dict(matplotlib.rcParams)
    for kind, make in _figures(hub, fams, frame).items():
        save_figure(make("slide"), tmp_path / f"{kind}.pdf", dpi=50)
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_sizes_and_errors():
    assert [style.SIZE_PRESETS[s].width for s in ("column", "page", "slide")] == [
        3.5, 7.0, 13.33]
    slide = style.SIZE_PRESETS["slide"]
    assert slide.width / slide.height == pytest.approx(16 / 9, rel=0.01)
    for preset in style.SIZE_PRESETS.values():
        assert min(preset.title, preset.subtitle, preset.label, preset.tick, preset.legend,
                   preset.source) >= style.MIN_FONT_PT
    with pytest.raises(UsageError, match="unknown size 'poster'"):
        style.preset("poster")
    result = CliRunner().invoke(main, ["plot", "adoption", ROOTS[0], "--db", str(FIXTURE),
                                       "-o", "x.png", "--size", "poster"])
    assert result.exit_code == 2 and "'poster' is not one of" in result.output


def test_long_titles_wrap_inside_a_column(fams):
    title = "A very long title about " + "the derivatives of open-weight models " * 3
    fig = adoption_curves(fams, size="column", title=title, observed=DAY)
    fig.canvas.draw()
    (text,) = [t for t in fig.texts if t.get_gid() == "ecograph-title"]
    box = text.get_window_extent(fig.canvas.get_renderer())  # type: ignore[attr-defined]
    assert "\n" in text.get_text() and box.x1 <= 3.5 * fig.dpi
