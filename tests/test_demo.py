"""The offline demo: bundled snapshot -> fake Hub -> crawl -> stats, report, plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecograph
from ecograph.cli import main
from ecograph.demo import DEMO_ROOTS
from ecograph.snapshot import bundled_snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_demo_roots_are_the_bundled_foundations():
    eco = ecograph.Ecosystem.from_snapshot(bundled_snapshot())
    assert sorted(DEMO_ROOTS) == sorted(eco.foundations()["root"].to_list())


@pytest.mark.slow
def test_demo_command_end_to_end(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    expected = json.loads((FIXTURES / "small_hub_expected.json").read_text())["foundations"]
    # the crawl sees what the Hub exposes: tag edges (card-only parents are invisible)
    stats = {r["root"]: r for r in json.loads((out / "stats.json").read_text())}
    assert set(stats) == set(DEMO_ROOTS)
    for root, facts in expected.items():
        assert stats[root]["size"] == facts["size_tag_edges_only"], root
        assert f"{root} " in res.output  # one row of the families table per foundation
    for name in ("ecograph.db", "stats.json", "compare.png", "report/report.html",
                 "report/fork_tree.png", "report/metrics.md"):
        assert (out / name).stat().st_size > 0, name
    assert "meta-llama/Llama-3.1-8B" in (out / "report" / "metrics.md").read_text()
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # re-running refreshes in place: same families, no duplicates
    again = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet"])
    assert again.exit_code == 0, again.output
    eco = ecograph.open(out / "ecograph.db")
    assert eco.edges.select("parent", "child").is_duplicated().sum() == 0
    assert eco.stats(list(DEMO_ROOTS))["size"].sum() == sum(
        f["size_tag_edges_only"] for f in expected.values())
