"""CLI edge cases found in review: each gives one clear line, never a traceback."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ecograph.cli import main
from ecograph.snapshot import bundled_snapshot


def test_export_unknown_suffix_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(main, ["export", "google/gemma-2-9b", "--db",
                                    str(bundled_snapshot()), "-o", str(tmp_path / "x.xyz")])
    assert res.exit_code == 2
    assert "Error: cannot tell the format from" in res.output
    assert not (tmp_path / "x.xyz").exists()


def test_export_graph_name_is_the_resolved_id(tmp_path):
    out = tmp_path / "q.GEXF"
    res = CliRunner().invoke(main, ["export", "HTTPS://huggingface.co/qwen/qwen2.5-7b",
                                    "--db", str(bundled_snapshot()), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "<description>Qwen/Qwen2.5-7B</description>" in text
    assert "HTTPS://" not in text


def test_stats_all_on_a_store_without_foundations(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"id": "solo/model"}) + "\n")
    res = CliRunner().invoke(main, ["stats", "--all", "--snapshot", str(empty)])
    assert res.exit_code == 0, res.output
    assert "No foundations" in res.output


def test_snapshot_with_huge_numbers_is_read(tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"id": "a/b", "downloads": 1e30, "likes": 2**70}) + "\n"
                   + json.dumps({"id": "a/c", "tags": ["base_model:finetune:a/b"]}) + "\n")
    res = CliRunner().invoke(main, ["families", "--snapshot", str(big)])
    assert res.exit_code == 0, res.output
    assert "a/b" in res.output
