"""Plots: adoption race, fan-out distribution, relation mix (library and CLI)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from ecograph.cli import main  # noqa: E402
from ecograph.plots import (  # noqa: E402
    adoption_curves,
    adoption_days,
    families_from_frames,
    fanout_distribution,
    fanout_values,
    plot,
    relation_counts,
    relation_mix,
)
from ecograph.snapshot import read_snapshot  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
ROOTS = ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "google/gemma-2-9b"]


@pytest.fixture(scope="module")
def fams():
    models, edges = read_snapshot(FIXTURE)
    return families_from_frames(models, edges, ROOTS)


def test_adoption_one_line_per_family(fams):
    fig = adoption_curves(fams)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "meta-llama/Llama-3.1-8B (134)", "Qwen/Qwen2.5-7B (45)", "google/gemma-2-9b (29)"]
    # each curve ends at the family's size: cumulative counts
    assert [int(line.get_ydata()[-1]) for line in lines] == [134, 45, 29]
    assert all(np.all(np.diff(line.get_ydata()) >= 0) for line in lines)
    assert ax.get_yscale() == "linear"
    assert adoption_curves(fams, log=True).axes[0].get_yscale() == "log"


def test_adoption_days_are_relative_to_the_root(fams):
    root, nodes, _ = fams[0]
    days = adoption_days(nodes, root)
    assert len(days) == 134 and days.min() >= 0 and np.all(np.diff(days) >= 0)


def test_fanout_loglog_one_line_per_family(fams):
    fig = fanout_distribution(fams)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3
    assert ax.get_xscale() == ax.get_yscale() == "log"
    root, nodes, edges = fams[0]
    vals = fanout_values(nodes, edges)
    assert vals.max() == 42 and (vals >= 1).all()  # Llama's Instruct has 42 children
    y = ax.get_lines()[0].get_ydata()
    assert y[0] == 1.0 and np.all(np.diff(y) < 0)  # a complementary CDF


def test_relation_mix_stacked_bars(fams):
    fig = relation_mix(fams)
    ax = fig.axes[0]
    counts = [relation_counts(n, r) for r, n, _ in fams]
    present = [r for r in ("finetune", "quantized", "adapter", "merge", "unknown")
               if any(c[r] for c in counts)]
    assert len(ax.containers) == len(present)
    assert all(len(c) == 3 for c in ax.containers)
    widths = np.array([[b.get_width() for b in c] for c in ax.containers])
    assert np.allclose(widths.sum(axis=0), 100)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == present


def test_plots_draw_into_a_given_axes_and_dispatch(fams):
    host = Figure()
    ax = host.add_subplot()
    assert adoption_curves(fams, ax=ax) is host
    assert isinstance(plot("relations", fams), Figure)
    with pytest.raises(ValueError, match="unknown plot"):
        plot("pie", fams)
    as_dict = {r: (n, e) for r, n, e in fams}
    assert len(fanout_distribution(as_dict).axes[0].get_lines()) == 3


@pytest.mark.parametrize("args", [
    ["compare", *ROOTS, "--log"],
    ["plot", "adoption", *ROOTS],
    ["plot", "fanout", *ROOTS],
    ["plot", "relations", "qwen/qwen2.5-7b"],
])
def test_cli_plots(tmp_path, args):
    out = tmp_path / "p.png"
    res = CliRunner().invoke(main, [*args, "--db", str(FIXTURE), "-o", str(out),
                                    "--dpi", "60"])
    assert res.exit_code == 0, res.output
    with Image.open(out) as im:
        assert im.format == "PNG"


def test_cli_plot_unknown_root(tmp_path):
    res = CliRunner().invoke(main, ["compare", "nobody/x", "--db", str(FIXTURE), "-o",
                                    str(tmp_path / "p.png")])
    assert res.exit_code == 1 and res.output.startswith("Error: unknown model")
