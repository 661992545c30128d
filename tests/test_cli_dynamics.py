"""``ecograph lineages``, ``ecograph trends`` and ``ecograph plot share|new`` end to end,
and their bad input: one ``Error:`` line and a non-zero exit each."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from ecograph.cli import main
from ecograph.cli.dynamics import BY_CHOICES, LINEAGE_KEYS, PERIOD_CHOICES, TREND_KEYS
from ecograph.dynamics import BY_CHOICES as LIB_BY
from ecograph.dynamics import PERIOD_CHOICES as LIB_PERIOD
from ecograph.dynamics import TREND_SCHEMA
from ecograph.lineage import SIZE_CLASSES

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"
FOUNDATIONS = {
    "HuggingFaceTB/SmolLM2-135M": ("Hugging Face", "SmolLM2", "<1B"),
    "Qwen/Qwen2.5-7B": ("Qwen (Alibaba)", "Qwen2.5", "5-9B"),
    "google/gemma-2-9b": ("Google", "Gemma 2", "5-9B"),
    "meta-llama/Llama-3.1-8B": ("Meta", "Llama 3.1", "5-9B"),
    "mistralai/Mistral-7B-v0.1": ("Mistral AI", "Mistral 7B", "5-9B"),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ecograph.api import import_file

    db = tmp_path_factory.mktemp("store") / "small.db"
    import_file(FIXTURE, db)
    return db


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output


def _json(*args: str) -> list[dict]:
    code, out = run(*args, "--format", "json")
    assert code == 0, out
    return json.loads(out)


def test_cli_choices_are_the_library_choices() -> None:
    assert BY_CHOICES == LIB_BY and PERIOD_CHOICES == LIB_PERIOD
    assert set(TREND_KEYS) == set(TREND_SCHEMA)


# --------------------------------------------------------------------------- lineages


def test_lineages_json_lists_every_foundation(store: Path) -> None:
    rows = _json("lineages", "--db", str(store))
    assert [list(r) for r in rows] == [list(LINEAGE_KEYS)] * len(FOUNDATIONS)
    got = {r["root"]: (r["vendor"], r["series"], r["size_class"]) for r in rows}
    assert got == FOUNDATIONS
    llama = next(r for r in rows if r["root"] == "meta-llama/Llama-3.1-8B")
    assert llama["params_b"] == 8.0 and llama["released"] == "2024-07-14"  # ISO date


def test_lineages_table_csv_and_parquet(store: Path, tmp_path: Path) -> None:
    code, out = run("lineages", "--db", str(store))
    assert code == 0
    assert out.splitlines()[0].split() == ["root", "vendor", "series", "params", "(B)",
                                           "size", "released"]
    assert "0.135" in out and "Mistral 7B" in out
    code, out = run("lineages", "--db", str(store), "--format", "csv")
    assert out.splitlines()[0] == ",".join(LINEAGE_KEYS)
    assert len(out.splitlines()) == 1 + len(FOUNDATIONS)
    target = tmp_path / "l.parquet"
    code, _ = run("lineages", "--db", str(store), "--format", "parquet", "-o", str(target))
    assert code == 0 and pl.read_parquet(target).columns == list(LINEAGE_KEYS)


def test_lineages_override_file(store: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text("org,vendor,id,series\nmistralai,Mistral,,\n"
                    ",,google/gemma-2-9b,Gemma Two\n")
    rows = {r["root"]: r for r in _json("lineages", "--db", str(store), "--lineages",
                                        str(mine))}
    assert rows["mistralai/Mistral-7B-v0.1"]["vendor"] == "Mistral"
    assert rows["google/gemma-2-9b"]["series"] == "Gemma Two"
    groups = {r["group"] for r in _json("trends", "--db", str(store), "--lineages",
                                        str(mine))}
    assert "Mistral" in groups and "Mistral AI" not in groups


# --------------------------------------------------------------------------- trends


def _sums(rows: list[dict], key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        out[r["period"]] = out.get(r["period"], 0.0) + r[key]
    return out


def test_trends_json_shape_and_shares(store: Path) -> None:
    rows = _json("trends", "--db", str(store), "--by", "vendor", "--period", "quarter")
    assert rows and all(list(r) == list(TREND_KEYS) for r in rows)
    assert all(s == pytest.approx(1.0) for s in _sums(rows, "share").values())
    assert {r["period"] for r in rows} >= {"2023-Q3", "2024-Q3", "2025-Q1"}
    lead = {r["period"]: r["group"] for r in rows if r["leader"]}
    assert lead["2024-Q3"] == "Meta" and lead["2023-Q3"] == "Mistral AI"
    monthly = _json("trends", "--db", str(store), "--period", "month")
    assert all(len(r["period"]) == 7 and r["period"][4] == "-" for r in monthly)
    # every derivative counts once (fractional) in both
    assert sum(r["new"] for r in monthly) == pytest.approx(sum(r["new"] for r in rows))


def test_trends_top_folds_the_rest_into_other(store: Path) -> None:
    every = _json("trends", "--db", str(store), "--by", "series")
    top = _json("trends", "--db", str(store), "--by", "series", "--top", "2")
    totals: dict[str, float] = {}
    for r in every:
        totals[r["group"]] = totals.get(r["group"], 0.0) + r["new"]
    kept = sorted(totals, key=lambda g: (-totals[g], g))[:2]
    assert {r["group"] for r in top} == {*kept, "other"}
    assert all(s == pytest.approx(1.0) for s in _sums(top, "share").values())
    assert _sums(top, "new") == pytest.approx(_sums(every, "new"))
    assert _sums(top, "touching") == pytest.approx(_sums(every, "touching"))
    for period in {r["period"] for r in every}:
        folded = [r for r in every if r["period"] == period and r["group"] not in kept]
        other = [r for r in top if r["period"] == period and r["group"] == "other"]
        if folded:
            assert other[0]["new"] == pytest.approx(sum(r["new"] for r in folded))
            assert not other[0]["leader"]
        else:
            assert not other
    # without --top every group is listed
    assert len({r["group"] for r in every}) == len(FOUNDATIONS)


def test_trends_by_size_end_to_end(store: Path) -> None:
    rows = _json("trends", "--db", str(store), "--by", "size")
    assert {r["group"] for r in rows} == {"5-9B", "<1B"}
    assert {r["group"] for r in rows} <= set(SIZE_CLASSES)
    small = [r for r in rows if r["group"] == "<1B"]
    assert [r["period"] for r in small] == ["2024-Q4"]  # SmolLM2's derivatives
    assert all(s == pytest.approx(1.0) for s in _sums(rows, "share").values())
    code, out = run("trends", "--db", str(store), "--by", "size", "--relation", "quantized")
    assert code == 0 and "5-9B" in out


def test_trends_table_shows_leaders_and_concentration(store: Path) -> None:
    code, out = run("trends", "--db", str(store))
    assert code == 0, out
    lines = out.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("quarter  derivatives"))
    assert "leader (share)" in lines[summary] and "Σ share²" in lines[summary]
    q3 = next(line for line in lines[summary:] if line.startswith("2024-Q3  "))
    assert "Meta (74.1%)" in q3 and q3.rstrip().endswith("0.58")
    assert sum(1 for line in lines if line.endswith("leader")) == 6  # one per period
    assert lines[-1].startswith("Concentration Σ share² 1.00 (2023-Q3")
    assert "→ 0.51 (2025-Q1" in lines[-1] and "4 leaders in 6 quarters" in lines[-1]


def test_trends_since_until_and_outputs(store: Path, tmp_path: Path) -> None:
    rows = _json("trends", "--db", str(store), "--since", "2024-07-01", "--until",
                 "2024-12-31")
    assert {r["period"] for r in rows} == {"2024-Q3", "2024-Q4"}
    code, out = run("trends", "--db", str(store), "--since", "2030-01-01")
    assert code == 0 and out == "No derivatives in this range.\n"
    assert _json("trends", "--db", str(store), "--since", "2030-01-01") == []
    target = tmp_path / "t.parquet"
    code, _ = run("trends", "--db", str(store), "--format", "parquet", "-o", str(target))
    assert code == 0 and pl.read_parquet(target).columns == list(TREND_KEYS)
    code, out = run("trends", "--db", str(store), "--format", "csv")
    assert out.splitlines()[0] == ",".join(TREND_KEYS)


# --------------------------------------------------------------------------- plots


@pytest.mark.parametrize("kind", ["share", "new"])
def test_plot_share_and_new(store: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / f"{kind}.png"
    code, out = run("plot", kind, "--db", str(store), "--by", "vendor", "--top", "3",
                    "-o", str(target))
    assert code == 0, out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"to {target}" in out


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def undated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("undated") / "hub.jsonl"
    path.write_text(json.dumps({"id": "a/b"}) + "\n" + json.dumps(
        {"id": "c/d", "tags": ["base_model:a/b", "base_model:finetune:a/b"]}) + "\n")
    return path


@pytest.fixture(scope="module")
def malformed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lineages") / "mine.csv"
    path.write_text("org,vendor\nacme,ACME\n\nbroken\n")
    return path


@pytest.mark.parametrize(("args", "code", "message"), [
    (["trends", "--by", "vndor"], 2,
     "unknown --by 'vndor'; expected one of vendor, series, root, size"),
    (["trends", "--period", "week"], 2, "unknown --period 'week'; expected one of month, "
                                        "quarter"),
    (["plot", "share", "--by", "org", "-o", "{tmp}/x.png"], 2, "unknown --by 'org'"),
    (["trends", "--since", "2025-01-01", "--until", "2024-12-31"], 1,
     "empty period range: since 2025-01-01 is after until 2024-12-31"),
    (["plot", "new", "--since", "2025-01-01", "--until", "2024-12-31", "-o", "{tmp}/x.png"],
     1, "empty period range"),
    (["trends", "--since", "soon"], 1, "since: not an ISO date: 'soon'"),
    (["trends", "--relation", "fork"], 1, "unknown relation 'fork'"),
    (["trends", "--lineages", "{bad}"], 1, "{bad}:4: expected 2 fields (org,vendor), got 1"),
    (["lineages", "--lineages", "{bad}"], 1, "{bad}:4: expected 2 fields"),
    (["plot", "share", "--lineages", "{bad}", "-o", "{tmp}/x.png"], 1, "{bad}:4: expected"),
    (["trends", "--lineages", "{tmp}/nope.csv"], 1, "cannot read lineages file"),
])
def test_bad_input_is_one_error_line(store: Path, tmp_path: Path, malformed: Path,
                                     args: list[str], code: int, message: str) -> None:
    argv = [a.format(tmp=tmp_path, bad=malformed) for a in args] + ["--db", str(store)]
    exit_code, out = run(*argv)
    assert exit_code == code, out
    assert out.startswith("Error: ") and out.count("\n") == 1, out
    assert message.format(bad=malformed) in out
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args", [["trends"], ["trends", "--by", "size"],
                                  ["plot", "share", "-o", "{tmp}/x.png"]])
def test_a_store_without_dates_is_one_error_line(undated: Path, tmp_path: Path,
                                                 args: list[str]) -> None:
    argv = [a.format(tmp=tmp_path) for a in args] + ["--db", str(undated)]
    code, out = run(*argv)
    assert code == 1
    assert out == "Error: the models have no creation dates (created_at is empty)\n"


def test_plot_share_takes_no_roots_and_adoption_needs_them(store: Path,
                                                           tmp_path: Path) -> None:
    code, out = run("plot", "share", "Qwen/Qwen2.5-7B", "--db", str(store), "-o",
                    str(tmp_path / "x.png"))
    assert code == 2 and "takes no ROOTS" in out
    code, out = run("plot", "adoption", "--db", str(store), "-o", str(tmp_path / "x.png"))
    assert code == 2 and "needs at least one ROOT" in out
