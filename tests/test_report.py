"""Report: metrics files, pictures, a self-contained HTML page with escaped ids."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import polars as pl  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from ecograph.cli import main  # noqa: E402
from ecograph.frames import MODEL_SCHEMA  # noqa: E402
from ecograph.report import metrics_markdown, write_report  # noqa: E402
from ecograph.snapshot import read_snapshot  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
EVIL = 'evil/<script>alert("x")</script>&amp'


def _evil_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    # frames do not validate ids, so the report must escape whatever it is given
    ids = ["org/root", EVIL, "a/<b>child</b>", "c/'quote'"]
    t = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 3, 5, 9)]
    models = pl.DataFrame(
        {"id": ids, "author": ["org", "<i>evil</i>", "a", "c & co"], "created_at": t,
         "downloads": [100, 50, 20, None], "likes": [1, 2, 3, 4],
         "relation": [None, "finetune", "quantized", "merge"], "status": ["ok"] * 4},
        schema_overrides={"created_at": MODEL_SCHEMA["created_at"]},
    ).with_columns([pl.lit(None, dtype=d).alias(c) for c, d in MODEL_SCHEMA.items()
                    if c not in ("id", "author", "created_at", "downloads", "likes",
                                 "relation", "status")]).select(list(MODEL_SCHEMA))
    edges = pl.DataFrame({"parent": ["org/root", EVIL, "org/root", EVIL],
                          "child": [EVIL, "a/<b>child</b>", "c/'quote'", "c/'quote'"],
                          "relation": ["finetune", "quantized", "merge", "merge"],
                          "source": ["tag"] * 4})
    return models, edges


def test_report_files_and_escaped_self_contained_html(tmp_path):
    models, edges = _evil_frames()
    paths = write_report(models, edges, "org/root", tmp_path / "rep", dpi=60)
    assert set(paths) == {"metrics_json", "metrics_md", "fork_tree", "adoption", "fanout",
                          "html"}
    assert all(p.exists() and p.parent == tmp_path / "rep" for p in paths.values())
    page = paths["html"].read_text(encoding="utf-8")
    # the only scripts are the interactive tree's own (its data block and its code)
    assert re.findall(r"<script[^>]*>", page) == [
        '<script type="application/json" class="eg-data">',
        '<script type="text/javascript">']
    assert "<script>alert" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp" in page
    assert "a/&lt;b&gt;child&lt;/b&gt;" in page and "c &amp; co" in page
    # self-contained: every image is embedded, nothing is fetched; links go to the Hub
    imgs = re.findall(r'<img[^>]*src="([^"]*)"', page)
    assert len(imgs) == 3 and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert base64.b64decode(imgs[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(?!data:|https://huggingface\.co/)', page)
    # the interactive tree is inline: one SVG, a link per model
    assert page.count("<svg") == 1 and "<h2>Interactive fork tree</h2>" in page
    assert page.count('href="https://huggingface.co/') == 4
    assert 'href="https://huggingface.co/evil/%3Cscript%3Ealert%28%22x%22%29' in page
    rec = json.loads(paths["metrics_json"].read_text(encoding="utf-8"))
    assert rec["root"] == "org/root" and rec["size"] == 3


def test_side_by_side_tables_keep_their_own_height(tmp_path):
    # flex items stretch to the tallest by default: the relation table's rows were drawn
    # as tall as the metrics table (seen in a 1600x1000 Chromium screenshot)
    models, edges = _evil_frames()
    page = write_report(models, edges, "org/root", tmp_path, dpi=40)["html"].read_text(
        encoding="utf-8")
    grid = re.search(r"\.grid\{([^}]*)\}", page)
    assert grid is not None and "display:flex" in grid.group(1)
    assert "align-items:flex-start" in grid.group(1)
    assert re.search(r'<div class="grid">\s*<table>.*?</table>\s*<table>', page, re.S)


def test_report_shows_how_fast_the_community_responded(tmp_path):
    # root Jan 1; its fine-tune Jan 3, quantized Jan 5, merge Jan 9; no adapter
    models, edges = _evil_frames()
    paths = write_report(models, edges, "org/root", tmp_path, dpi=40)
    rec = json.loads(paths["metrics_json"].read_text(encoding="utf-8"))
    assert rec["first_by_relation_days"] == {"finetune": 2.0, "quantized": 4.0,
                                             "adapter": None, "merge": 8.0, "unknown": None}
    assert rec["by_relation_30d"] == {"finetune": 1, "quantized": 1, "adapter": 0,
                                      "merge": 1, "unknown": 0}
    md = paths["metrics_md"].read_text(encoding="utf-8")
    section = md.split("## How fast the community responded\n\n", 1)[1].split("\n\n")[0]
    assert section.splitlines() == [
        "| relation | days to first | within 30 days |", "|---|---|---|",
        "| `finetune` | 2.00 | 1 |", "| `quantized` | 4.00 | 1 |",
        "| `adapter` | – | 0 |", "| `merge` | 8.00 | 1 |"]
    page = paths["html"].read_text(encoding="utf-8")
    assert "<h2>How fast the community responded</h2>" in page
    assert "<tr><th>quantized</th><td>4.00</td><td>1</td></tr>" in page


def test_fixture_report_numbers_match_the_fixture_facts(tmp_path):
    models, edges = read_snapshot(FIXTURE)
    paths = write_report(models, edges, "meta-llama/Llama-3.1-8B", tmp_path, dpi=60)
    rec = json.loads(paths["metrics_json"].read_text(encoding="utf-8"))
    assert rec["size"] == 134 and rec["direct_children"] == 17 and rec["max_depth"] == 7
    md = paths["metrics_md"].read_text(encoding="utf-8")
    assert md.startswith("# Family of `meta-llama/Llama-3.1-8B`")
    assert "| family size (derivatives) | 134 |" in md and "## Top authors" in md


def test_markdown_escapes_pipes():
    md = metrics_markdown({"root": "a/r", "size": 1, "max_fanout_node": "x|y",
                           "top_authors": [{"author": "p|q", "count": 1, "downloads": None}]})
    assert "x\\|y" in md and "p\\|q" in md


@pytest.mark.slow
def test_cli_report(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(main, ["report", "qwen/qwen2.5-7b", "--db", str(FIXTURE),
                                    "--out", str(out), "--dpi", "60"])
    assert res.exit_code == 0, res.output
    assert "Wrote the report on Qwen/Qwen2.5-7B" in res.output
    assert (out / "report.html").exists() and (out / "fork_tree.png").exists()
