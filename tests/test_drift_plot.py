"""The licence-transitions chart (``ecograph plot drift``) and the report's drift section."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from ecograph.cli import main  # noqa: E402
from ecograph.drift import drift  # noqa: E402
from ecograph.drift_plot import CLASS_COLORS, drift_transitions, headline  # noqa: E402
from ecograph.errors import UsageError  # noqa: E402
from ecograph.licenses import license_class  # noqa: E402
from ecograph.report import write_report  # noqa: E402
from ecograph.snapshot import read_snapshot  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
ROOTS = ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "HuggingFaceTB/SmolLM2-135M"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    models, edges = read_snapshot(FIXTURE)
    return drift(models, edges, ROOTS).to_dicts()


def _bars(ax):
    return [p for p in ax.patches if p.get_width() > 0]


def test_one_panel_per_family_bars_are_the_transitions_coloured_by_class(rows) -> None:
    fig = drift_transitions(rows)
    header, *panels = fig.axes
    assert len(panels) == len(rows)
    for ax, row in zip(panels, rows, strict=True):
        bars = _bars(ax)
        assert [round(b.get_width()) for b in bars] == [t["count"] for t in row["transitions"]]
        assert [to_hex(b.get_facecolor()) for b in bars] == [
            CLASS_COLORS[license_class(t["to"])].lower() for t in row["transitions"]]
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == [f"{t['from']} → {t['to']}" for t in row["transitions"]]
        assert ax.get_title(loc="left").startswith(f"{row['root']}: {row['license_changed']}")
    assert header.get_legend().get_title().get_text() == "colour: class of the new licence"
    block = {t.get_gid(): t.get_text().replace("\n", " ") for t in fig.texts}
    assert block["ecograph-title"].startswith("What the forks changed")
    assert headline(rows).split(";")[0][1:] in block["ecograph-subtitle"]
    # an empty family says so instead of drawing nothing
    assert "no member changed its licence" in [t.get_text() for t in panels[-1].texts]
    assert fig.get_figwidth() == 7.0


def test_headline_is_the_share_over_all_families(rows) -> None:
    known = sum(r["license_known"] for r in rows)
    changed = sum(r["license_changed"] for r in rows)
    assert headline(rows).startswith(
        f"{round(100 * changed / known)}% of members with a known licence changed it "
        f"({changed} of {known})")


def test_top_limits_the_bars_and_counts_the_rest(rows) -> None:
    fig = drift_transitions(rows[1:2], top=2)
    panel = fig.axes[1]
    assert len(_bars(panel)) == 2
    rest = rows[1]["license_changed"] - sum(t["count"] for t in rows[1]["transitions"][:2])
    assert f"+ {rest} in other transitions" in [t.get_text() for t in panel.texts]
    with pytest.raises(UsageError):
        drift_transitions(rows, top=0)


def test_cli_plot_drift_writes_a_7_inch_png(tmp_path: Path) -> None:
    out = tmp_path / "drift.png"
    res = CliRunner().invoke(main, ["plot", "drift", *ROOTS[:2], "--db", str(FIXTURE),
                                    "-o", str(out), "--dpi", "100"])
    assert res.exit_code == 0, res.output
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] == 700


def test_report_has_the_drift_section_and_chart(tmp_path: Path) -> None:
    models, edges = read_snapshot(FIXTURE)
    paths = write_report(models, edges, ROOTS[0], tmp_path, dpi=60)
    assert paths["drift"].name == "drift.png" and paths["drift"].exists()
    page = paths["html"].read_text(encoding="utf-8")
    section = page[page.index("<h2>What its forks changed</h2>"):]
    assert section.index("<h2>What its forks changed</h2>") < section.index(
        "Written by ecograph")
    assert "10 of the 134 members with a known licence (7%)" in section
    assert "132 members are ungated copies" in section
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', page)) == 4
    assert "<td>llama3.1</td><td>mit</td><td>1</td>" in section
    md = paths["metrics_md"].read_text(encoding="utf-8")
    assert "## What its forks changed" in md and "| license | 134 | 10 |" in md


def test_report_without_licence_changes_has_the_section_but_no_chart(tmp_path: Path) -> None:
    models, edges = read_snapshot(FIXTURE)
    paths = write_report(models, edges, ROOTS[2], tmp_path, dpi=60)
    assert "drift" not in paths
    page = paths["html"].read_text(encoding="utf-8")
    assert "<h2>What its forks changed</h2>" in page
    assert "0 of the 4 members with a known licence (0%)" in page
