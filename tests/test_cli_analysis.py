"""The analysis commands: stats, families, quality (exact error lines, JSON keys)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from ecograph.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = str(ROOT / "fixtures" / "small_hub.jsonl")
EXPECTED = json.loads((ROOT / "fixtures" / "small_hub_expected.json").read_text())

JSON_KEYS = [
    "root", "size", "by_relation", "direct_children", "direct_by_relation", "max_depth",
    "mean_depth", "depth_counts", "longest_chain", "max_fanout", "max_fanout_node",
    "mean_fanout", "leaf_share", "n_authors", "community_share", "community_download_share",
    "author_hhi", "top_authors", "family_downloads", "root_downloads",
    "first_derivative_days", "derivatives_30d", "derivatives_90d",
    "first_by_relation_days", "by_relation_30d", "bridges",
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_stats_json_keys_exact_and_plain_numbers():
    code, out, _ = run("stats", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B",
                       "--snapshot", FIXTURE, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [d["root"] for d in data] == ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B"]
    for obj in data:
        assert list(obj) == JSON_KEYS
        exp = EXPECTED["foundations"][obj["root"]]
        assert obj["size"] == exp["size"]
        assert obj["direct_by_relation"] == exp["direct_children"]["by_relation"]
        assert isinstance(obj["mean_depth"], float)
    assert "NaN" not in out


def test_stats_table_side_by_side_case_insensitive():
    code, out, _ = run("stats", "meta-llama/llama-3.1-8b", "google/gemma-2-9b",
                       "--db", FIXTURE)
    assert code == 0
    lines = out.splitlines()
    assert "meta-llama/Llama-3.1-8B" in lines[0] and "google/gemma-2-9b" in lines[0]
    size = next(line for line in lines if line.startswith("size"))
    assert size.split()[1:] == ["134", "29"]
    assert any(line.startswith("community_share") and "%" in line for line in lines)


def test_stats_unknown_root_exact_error():
    code, out, err = run("stats", "meta-llama/Llama-3.1-8", "--snapshot", FIXTURE)
    assert code == 1
    assert err == "Error: unknown model 'meta-llama/Llama-3.1-8'; did you mean " \
                  "'meta-llama/Llama-3.1-8B'?\n"


def test_stats_unknown_root_without_suggestion():
    code, _, err = run("stats", "zz/qq", "--snapshot", FIXTURE)
    assert (code, err) == (1, "Error: unknown model 'zz/qq'\n")


def test_missing_db_clear_error(tmp_path):
    db = tmp_path / "nope.db"
    code, _, err = run("families", "--db", str(db))
    assert code == 1
    assert err == f"Error: no ecograph store at {db} (create one with `ecograph crawl` or " \
                  "`ecograph import`)\n"


def test_stats_needs_a_root():
    code, _, err = run("stats", "--snapshot", FIXTURE)
    assert code == 2 and "give at least one ROOT, or --all" in err


def test_stats_all_csv_and_parquet(tmp_path):
    code, out, _ = run("stats", "--all", "--snapshot", FIXTURE, "--format", "csv")
    assert code == 0
    frame = pl.read_csv(out.encode())
    assert frame.get_column("root").to_list()[0] == "meta-llama/Llama-3.1-8B"
    assert frame.height == 5 and "by_relation.finetune" in frame.columns
    target = tmp_path / "s.parquet"
    code, _, _ = run("stats", "--all", "--snapshot", FIXTURE, "--format", "parquet",
                     "-o", str(target))
    assert code == 0
    back = pl.read_parquet(target)
    assert back.height == 5 and back.schema["by_relation"].fields[0].name == "finetune"
    code, _, err = run("stats", "--all", "--snapshot", FIXTURE, "--format", "parquet")
    assert code == 2 and "--format parquet needs -o FILE" in err


def test_families_table_and_json(tmp_path):
    code, out, _ = run("families", "--snapshot", FIXTURE, "--top", "2")
    assert code == 0
    rows = out.splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["meta-llama/Llama-3.1-8B",
                                            "mistralai/Mistral-7B-v0.1"]
    target = tmp_path / "f.json"
    code, _, _ = run("families", "--snapshot", FIXTURE, "--format", "json", "-o", str(target))
    data = json.loads(target.read_text())
    assert [d["root"] for d in data][:1] == ["meta-llama/Llama-3.1-8B"]
    assert sorted(d["root"] for d in data) == EXPECTED["global"]["foundations"]


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_quality_lists_problems(fmt):
    code, out, _ = run("quality", "--snapshot", FIXTURE, "--format", fmt)
    assert code == 0
    g = EXPECTED["global"]
    for mid in [*g["self_loops"], *g["missing_parents"], *g["cycles"][0]]:
        assert mid in out
    if fmt == "json":
        kinds = {d["kind"] for d in json.loads(out)}
        assert kinds == {"cycle", "missing_parent", "self_loop"}


def test_help_has_examples():
    for cmd in ("stats", "families", "quality"):
        code, out, _ = run(cmd, "--help")
        assert code == 0 and "Examples:" in out


def test_stats_response_times_in_every_format(tmp_path):
    """DESIGN §8 response times: the same values in JSON, CSV (flattened), Parquet and
    the table as ``dynamics.response_times`` computes for the snapshot."""
    from ecograph.dynamics import response_times
    from ecograph.metrics import RELATION_KEYS
    from ecograph.snapshot import read_snapshot

    root = "meta-llama/Llama-3.1-8B"
    models, edges = read_snapshot(FIXTURE)
    exp = response_times(models, edges, [root]).row(0, named=True)
    assert exp["by_relation_30d"]["quantized"] > 0  # the fixture has data to show
    code, out, _ = run("stats", root, "--snapshot", FIXTURE, "--format", "json")
    obj = json.loads(out)[0]
    assert obj["first_by_relation_days"] == exp["first_by_relation_days"]
    assert obj["by_relation_30d"] == exp["by_relation_30d"]
    code, out, _ = run("stats", root, "--snapshot", FIXTURE, "--format", "csv")
    flat = pl.read_csv(out.encode()).row(0, named=True)
    for rel in RELATION_KEYS:
        assert flat[f"by_relation_30d.{rel}"] == exp["by_relation_30d"][rel]
        days = exp["first_by_relation_days"][rel]
        got = flat[f"first_by_relation_days.{rel}"]
        assert got == days if days is None else abs(got - days) < 1e-9
    target = tmp_path / "s.parquet"
    run("stats", root, "--snapshot", FIXTURE, "--format", "parquet", "-o", str(target))
    assert pl.read_parquet(target).row(0, named=True)["by_relation_30d"] == \
        exp["by_relation_30d"]
    code, out, _ = run("stats", root, "--snapshot", FIXTURE)
    lines = out.splitlines()
    start = lines.index("by_relation_30d")
    assert lines[start + 2].split() == ["quantized", f"{exp['by_relation_30d']['quantized']:,}"]
    assert "first_by_relation_days" in lines
