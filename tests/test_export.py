"""Export: every format reads back to the same values (networkx / polars readers)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import networkx as nx
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from ecograph.cli import main
from ecograph.export import (
    EDGE_COLUMNS,
    NODE_COLUMNS,
    export_tables,
    read_tables,
    table_paths,
    write_export,
)
from ecograph.frames import MODEL_SCHEMA
from ecograph.layout import random_family

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
UTC = dt.UTC

# Authors (free text in tests) carry everything that breaks naive writers.
AUTHORS = ['say "hi"', "a<b>&c;", "Ünïcødé 模型 🚀", "back\\slash\\n", "new\nline",
           "tab\tand 'single'", "", None, "-> [x=y];", "]]>"]


def _family() -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = ["org/root", "a-b/c.d_e", "u1/x", "u2/y", "u3/z", "u4/q", "gone/missing",
           "u5/m", "u6/n", "u7/o"]
    n = len(ids)
    created = [dt.datetime(2024, 7, 18, 8, 56, i, 123456 * (i % 2), tzinfo=UTC) for i in range(n)]
    created[3] = None
    nodes = pl.DataFrame(
        {
            "id": ids,
            "author": AUTHORS,
            "created_at": created,
            "downloads": [10**12, 5, None, 0, 7, 1, None, 3, 2, 1],
            "likes": [3, None, 1, 0, 0, 0, None, 1, 1, 1],
            "library_name": ["transformers"] * n,
            "relation": [None, "finetune", "quantized", "adapter", "merge", "finetune", None,
                         "unknown", "merge", "finetune"],
            "status": ["ok"] * 6 + ["missing"] + ["ok"] * 3,
            "depth": [0, 1, 2, 2, 2, 3, 1, 1, 1, 2],
        },
        schema_overrides={"created_at": MODEL_SCHEMA["created_at"]},
    )
    edges = pl.DataFrame(
        {
            "parent": ["org/root", "a-b/c.d_e", "a-b/c.d_e", "a-b/c.d_e", "u1/x", "org/root",
                       "gone/missing", "org/root", "u6/n", "org/root", "u6/n"],
            "child": ["a-b/c.d_e", "u1/x", "u2/y", "u3/z", "u4/q", "gone/missing", "u3/z",
                      "u5/m", "u7/o", "u6/n", "u6/n"],
            "relation": ["finetune", "quantized", "adapter", "merge", "finetune", None,
                         "merge", "unknown", "finetune", "merge", "merge"],
            "source": ["tag"] * 11,
        }
    )
    return nodes, edges


def _expected() -> tuple[dict[str, dict], dict[tuple[str, str], str | None]]:
    nodes, edges = _family()
    table, etable = export_tables(nodes, edges)
    exp = {}
    for row in table.iter_rows(named=True):
        mid = row.pop("id")
        if row["created_at"] is not None:
            row["created_at"] = row["created_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        exp[mid] = row
    return exp, {(p, c): r for p, c, r in etable.iter_rows()}


def _no_nulls(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _write(tmp_path: Path, fmt: str, name: str = "fam") -> list[Path]:
    nodes, edges = _family()
    return write_export(nodes, edges, tmp_path / f"{name}.{fmt}", fmt)


def test_tables_select_and_type_the_exported_columns():
    table, etable = export_tables(*_family())
    assert list(table.schema.items()) == list(NODE_COLUMNS.items())
    assert list(etable.schema.items()) == list(EDGE_COLUMNS.items())
    assert table["id"].to_list()[0] == "org/root"  # sorted by (depth, id)
    assert len(etable) == 11  # the self-loop is kept, no duplicates


def test_json_round_trip(tmp_path):
    (path,) = _write(tmp_path, "json")
    G = nx.node_link_graph(json.loads(path.read_text(encoding="utf-8")))
    exp_nodes, exp_edges = _expected()
    assert G.is_directed() and not G.is_multigraph()
    assert dict(G.nodes(data=True)) == exp_nodes  # nulls stay None in JSON
    assert {(u, v): d["relation"] for u, v, d in G.edges(data=True)} == exp_edges
    assert isinstance(G.nodes["org/root"]["downloads"], int)
    assert G.nodes["org/root"]["downloads"] == 10**12


def test_graphml_round_trip(tmp_path):
    (path,) = _write(tmp_path, "graphml")
    G = nx.read_graphml(path)
    exp_nodes, exp_edges = _expected()
    assert {n: d for n, d in G.nodes(data=True)} == {n: _no_nulls(d) for n, d in
                                                     exp_nodes.items()}
    assert {(u, v): d.get("relation") for u, v, d in G.edges(data=True)} == exp_edges
    assert type(G.nodes["org/root"]["downloads"]) is int
    assert type(G.nodes["org/root"]["depth"]) is int
    assert "author" not in G.nodes["u5/m"]  # null author: attribute omitted


def test_gexf_round_trip(tmp_path):
    (path,) = _write(tmp_path, "gexf")
    G = nx.read_gexf(path)
    exp_nodes, exp_edges = _expected()
    got = {}
    for n, d in G.nodes(data=True):
        d = dict(d)
        assert d.pop("label") == n
        got[n] = d
    assert got == {n: _no_nulls(d) for n, d in exp_nodes.items()}
    assert {(u, v): d.get("relation") for u, v, d in G.edges(data=True)} == exp_edges
    assert type(G.nodes["org/root"]["likes"]) is int


def test_csv_round_trip_with_plain_polars_reader(tmp_path):
    npath, epath = _write(tmp_path, "csv")
    assert (npath.name, epath.name) == ("fam_nodes.csv", "fam_edges.csv")
    table, etable = export_tables(*_family())
    got = pl.read_csv(npath, try_parse_dates=True)
    assert got.schema["downloads"] == pl.Int64
    assert got.schema["created_at"] == pl.Datetime("us", "UTC")
    assert_frame_equal(got, table)
    assert_frame_equal(pl.read_csv(epath), etable)
    n2, e2 = read_tables(tmp_path / "fam.csv", "csv")
    assert_frame_equal(n2, table)
    assert_frame_equal(e2, etable)


def test_csv_all_null_column_keeps_its_dtype_through_read_tables(tmp_path):
    nodes, edges = _family()
    nodes = nodes.with_columns(pl.lit(None, dtype=pl.Int64).alias("likes"))
    write_export(nodes, edges, tmp_path / "n.csv", "csv")
    got, _ = read_tables(tmp_path / "n.csv", "csv")
    assert got.schema["likes"] == pl.Int64


def test_parquet_round_trip(tmp_path):
    npath, epath = _write(tmp_path, "parquet")
    table, etable = export_tables(*_family())
    assert_frame_equal(pl.read_parquet(npath), table)
    assert_frame_equal(pl.read_parquet(epath), etable)


# A tiny reader for the DOT we write: quoted strings with \" \\ \n escapes, bare ints.
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(->)|([\[\]=,;{}])|(-?\d+)|([A-Za-z_]+)|(\s+)', re.S)


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def _read_dot(text: str) -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    toks: list[tuple[str, object]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"bad DOT at {text[pos:pos + 30]!r}"
        pos = m.end()
        if m.group(1) is not None:
            toks.append(("str", _unquote(m.group(1))))
        elif m.group(2):
            toks.append(("op", "->"))
        elif m.group(3):
            toks.append(("op", m.group(3)))
        elif m.group(4):
            toks.append(("int", int(m.group(4))))
        elif m.group(5):
            toks.append(("word", m.group(5)))
    nodes: dict[str, dict] = {}
    edges: dict[tuple[str, str], dict] = {}
    i = toks.index(("op", "{")) + 1
    while toks[i] != ("op", "}"):
        stmt = []
        while toks[i] != ("op", ";"):
            stmt.append(toks[i])
            i += 1
        i += 1
        attrs: dict[str, object] = {}
        if ("op", "[") in stmt:
            k = stmt.index(("op", "["))
            body = [t for t in stmt[k + 1:-1] if t != ("op", ",")]
            for j in range(0, len(body), 3):
                assert body[j + 1] == ("op", "=")
                attrs[str(body[j][1])] = body[j + 2][1]
            stmt = stmt[:k]
        if stmt[0] == ("word", "node"):
            continue
        if len(stmt) == 3 and stmt[1] == ("op", "->"):
            edges[(str(stmt[0][1]), str(stmt[2][1]))] = attrs
        else:
            nodes[str(stmt[0][1])] = attrs
    return nodes, edges


def test_dot_round_trip_and_quoting(tmp_path):
    (path,) = _write(tmp_path, "dot")
    text = path.read_text(encoding="utf-8")
    assert text.startswith('digraph "ecograph" {')
    assert '"say \\"hi\\""' in text and '"back\\\\slash\\\\n"' in text
    assert "\t" not in text.split("tab", 1)[0]  # nothing odd before the first tab value
    nodes, edges = _read_dot(text)
    exp_nodes, exp_edges = _expected()
    got = {}
    for n, d in nodes.items():
        assert d.pop("label") == n
        got[n] = d
    assert got == {n: _no_nulls(d) for n, d in exp_nodes.items()}
    assert {k: d.get("relation") for k, d in edges.items()} == exp_edges


def test_all_exports_have_no_depth(tmp_path):
    nodes, edges = _family()
    (path,) = write_export(nodes.drop("depth"), edges, tmp_path / "all.json", "json")
    G = nx.node_link_graph(json.loads(path.read_text(encoding="utf-8")))
    assert "depth" not in G.nodes["org/root"]


def test_table_paths_and_unknown_format(tmp_path):
    assert [p.name for p in table_paths(tmp_path / "x.parquet", ".parquet")] == [
        "x_nodes.parquet", "x_edges.parquet"]
    from ecograph.errors import EcographError

    with pytest.raises(EcographError, match="unknown export format"):
        write_export(*_family(), tmp_path / "x.xml", "xml")


def test_node_link_json_of_50k_family_loads_in_networkx(tmp_path):
    # its speed (target 1 s) is measured in benchmarks/bench_render.py
    rows, edges = random_family(50_000, seed=7)
    nodes = pl.DataFrame(rows).with_columns(
        pl.lit(dt.datetime(2024, 1, 1, tzinfo=UTC)).cast(MODEL_SCHEMA["created_at"])
        .alias("created_at"), pl.lit(1).cast(pl.Int64).alias("depth"))
    e = pl.DataFrame(edges, schema=["parent", "child", "relation"], orient="row")
    write_export(nodes, e, tmp_path / "big.json", "json")
    G = nx.node_link_graph(json.loads((tmp_path / "big.json").read_text(encoding="utf-8")))
    assert G.number_of_nodes() == 50_000


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json", "csv", "parquet", "dot"])
def test_cli_export_family_from_a_store(tmp_path, fmt, fixture_store):
    out = tmp_path / f"llama.{fmt}"
    res = CliRunner().invoke(main, ["export", "meta-llama/llama-3.1-8b", "--db",
                                    str(fixture_store), "--format", fmt, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "135 models of the family of meta-llama/Llama-3.1-8B" in res.output
    if fmt in ("csv", "parquet"):
        nodes = (pl.read_csv(tmp_path / "llama_nodes.csv") if fmt == "csv"
                 else pl.read_parquet(tmp_path / "llama_nodes.parquet"))
        assert len(nodes) == 135 and nodes["depth"].max() == 7
    elif fmt == "graphml":
        assert nx.read_graphml(out).number_of_nodes() == 135


def test_cli_export_all_and_errors(tmp_path, fixture_store):
    r = CliRunner()
    res = r.invoke(main, ["export", "--all", "--db", str(fixture_store), "-o",
                          str(tmp_path / "hub.json")])
    assert res.exit_code == 0, res.output
    G = nx.node_link_graph(json.loads((tmp_path / "hub.json").read_text(encoding="utf-8")))
    assert "depth" not in next(iter(G.nodes.values()))
    res = r.invoke(main, ["export", "--db", str(fixture_store), "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "ROOT" in res.output
    res = r.invoke(main, ["export", "nobody/nothing", "--db", str(fixture_store), "-o",
                          str(tmp_path / "x.json")])
    assert res.exit_code == 1 and res.output.startswith("Error: unknown model")


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory):
    from ecograph.records import parse_model
    from ecograph.snapshot import iter_snapshot
    from ecograph.store import Store

    path = tmp_path_factory.mktemp("store") / "hub.db"
    with Store.open(path) as store:
        store.save_models(parse_model(o) for o in iter_snapshot(FIXTURE))
    return path
