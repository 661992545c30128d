"""``ecograph migration`` and ``ecograph succession`` end to end on a synthetic store, and
their bad input: one ``Error:`` line and a non-zero exit each."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from ecograph.api import import_file
from ecograph.api import open as open_store
from ecograph.cli import main
from ecograph.cli._common import AS_OF_COMMANDS
from ecograph.cli.migration import FLOW_KEYS, RETENTION_KEYS, SUCCESSION_KEYS
from ecograph.migration import FLOW_SCHEMA, OTHER, RETENTION_SCHEMA, SUCCESSION_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "fixtures" / "small_hub.jsonl"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mig")
    dump = folder / "hub.jsonl.gz"
    res = CliRunner().invoke(main, ["synth", "--models", "30000", "--seed", "5", "-o",
                                    str(dump)])
    assert res.exit_code == 0, res.output
    db = folder / "hub.db"
    import_file(dump, db)
    return db


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output


def test_keys_are_the_library_schemas() -> None:
    assert RETENTION_KEYS == tuple(RETENTION_SCHEMA) and FLOW_KEYS == tuple(FLOW_SCHEMA)
    assert SUCCESSION_KEYS == tuple(SUCCESSION_SCHEMA)
    assert {"migration", "succession"} <= set(AS_OF_COMMANDS)


def test_json_has_both_tables_with_their_keys(store: Path) -> None:
    code, out = run("migration", "--db", str(store), "--by", "vendor", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert list(data) == ["retention", "flows"]
    assert data["retention"] and data["flows"]
    assert all(list(r) == list(RETENTION_KEYS) for r in data["retention"])
    assert all(list(f) == list(FLOW_KEYS) for f in data["flows"])
    # periods spelled as in trends (2024-Q3), and the same rows as the library
    trends_periods = {r["period"] for r in json.loads(run(
        "trends", "--db", str(store), "--format", "json")[1])}
    assert {r["period"] for r in data["retention"]} <= trends_periods
    lib = open_store(store).migration("vendor", "quarter")
    assert len(data["retention"]) == lib.retention.height
    assert sum(f["authors"] for f in data["flows"]) == lib.flows["authors"].sum()


def test_top_folds_the_rest_into_other(store: Path) -> None:
    data = json.loads(run("migration", "--db", str(store), "--by", "series", "--top", "3",
                          "--format", "json")[1])
    groups = {r["group"] for r in data["retention"]}
    assert OTHER in groups and len(groups) == 4
    every = json.loads(run("migration", "--db", str(store), "--by", "series", "--format",
                           "json")[1])
    assert len({r["group"] for r in every["retention"]}) > 4 and OTHER not in {
        r["group"] for r in every["retention"]}


def test_table_ends_with_the_headlines_of_the_data(store: Path) -> None:
    code, out = run("migration", "--db", str(store), "--by", "vendor", "--top", "4")
    assert code == 0, out
    expected = open_store(store).migration("vendor", "quarter", top=4).headlines()
    assert expected, "the synthetic store has large groups"
    assert out.rstrip("\n").splitlines()[-len(expected):] == expected
    assert "retention" in out.splitlines()[3] and "moved to" in out.splitlines()[3]


def test_csv_and_parquet_write_two_tables(store: Path, tmp_path: Path) -> None:
    code, out = run("migration", "--db", str(store), "--format", "csv", "-o",
                    str(tmp_path / "m.csv"))
    assert code == 0, out
    assert pl.read_csv(tmp_path / "m_retention.csv").columns == list(RETENTION_KEYS)
    assert pl.read_csv(tmp_path / "m_flows.csv").columns == list(FLOW_KEYS)
    code, _ = run("migration", "--db", str(store), "--format", "parquet", "-o",
                  str(tmp_path / "m.parquet"))
    assert code == 0
    assert pl.read_parquet(tmp_path / "m_flows.parquet").columns == list(FLOW_KEYS)


def test_succession_formats(store: Path, tmp_path: Path) -> None:
    rows = json.loads(run("succession", "Meta", "--db", str(store), "--format", "json")[1])
    assert rows and all(list(r) == list(SUCCESSION_KEYS) for r in rows)
    assert {r["vendor"] for r in rows} == {"Meta"}
    lib = open_store(store).succession("meta-llama")
    assert [(r["old"], r["new"]) for r in rows] == lib.select("old", "new").rows()
    code, out = run("succession", "meta-llama", "--db", str(store))
    assert code == 0 and "crossover" in out and rows[-1]["new"] in out
    code, _ = run("succession", "--db", str(store), "--format", "parquet", "-o",
                  str(tmp_path / "s.parquet"))
    assert code == 0 and pl.read_parquet(tmp_path / "s.parquet").columns == list(
        SUCCESSION_KEYS)


@pytest.mark.parametrize("args, code, words", [
    (("migration", "--by", "family"), 2, "unknown --by 'family'"),
    (("migration", "--period", "week"), 2, "unknown --period 'week'"),
    (("migration", "--format", "csv"), 2, "needs -o FILE"),
    (("migration", "--since", "2025-07-01", "--until", "2025-08-01"), 1, "nothing to compare"),
    (("succession", "nobody-at-all"), 1, "unknown vendor"),
    (("plot", "succession"), 2, "one VENDOR"),
    (("plot", "migration", "meta-llama/Llama-2-7b-hf"), 2, "takes no ROOTS"),
])
def test_bad_input_one_error_line(store: Path, tmp_path: Path, args: tuple[str, ...],
                                  code: int, words: str) -> None:
    extra = ("-o", str(tmp_path / "x.png")) if args[0] == "plot" else ()
    got, out = run(*args, "--db", str(store), *extra)
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert got == code and len(errors) == 1 and words in errors[0], out
    assert "Traceback" not in out


def test_vendor_with_one_series_and_store_without_dates(tmp_path: Path) -> None:
    db = tmp_path / "small.db"
    import_file(SMALL, db)
    code, out = run("succession", "Meta", "--db", str(db))
    assert code == 1 and out.count("Error:") == 1 and "one series" in out, out
    with sqlite3.connect(db) as con:
        con.execute("UPDATE models SET created_at = NULL")
    shutil.rmtree(db.with_name(db.name + ".ecograph-cache"), ignore_errors=True)
    code, out = run("migration", "--db", str(db))
    assert code == 1 and out.count("Error:") == 1 and "date" in out, out


def test_help_has_examples() -> None:
    for name in ("migration", "succession"):
        code, out = run(name, "--help")
        assert code == 0 and "Examples:" in out and f"ecograph {name} --db" in out


def test_report_says_where_the_builders_went(store: Path, tmp_path: Path) -> None:
    from datetime import datetime

    from ecograph.report import next_html, next_record

    eco = open_store(store)
    root = "meta-llama/Llama-2-7b-hf"
    rec = next_record(eco.models, eco.edges, root)
    assert rec["series"] == "Llama 2" and rec["rows"]
    lib = eco.migration("series", "quarter")
    last = rec["rows"][-1]
    row = lib.retention.filter((pl.col("group") == "Llama 2")
                               & (pl.col("period") == last["period"])).row(0, named=True)
    assert (last["authors"], last["returning"]) == (row["authors"], row["returning"])
    assert len(last["went_to"]) <= 5
    code, _ = run("report", root, "--db", str(store), "--out", str(tmp_path / "r"))
    assert code == 0
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Where its builders went next</h2>" in page
    assert f"{last['period']} → {last['next']}" in page
    # one quarter only: a one-line note instead of a table; names escaped
    m = pl.DataFrame({"id": ["meta-llama/Llama-2-7b", "u/<b>x</b>"],
                      "created_at": [datetime(2023, 7, 1), datetime(2023, 8, 1)]})
    e = pl.DataFrame({"parent": ["meta-llama/Llama-2-7b"], "child": ["u/<b>x</b>"]})
    thin = next_html(next_record(m, e, "meta-llama/Llama-2-7b"))
    assert "<table>" not in thin and "nothing to compare" in thin and "<b>" not in thin
