"""The library API: ecograph.open, Ecosystem, Family."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import polars as pl
import pytest

import ecograph
from ecograph.errors import StoreError, UnknownModelError
from ecograph.metrics import HEADLINE_COLUMNS, METRIC_COLUMNS
from ecograph.snapshot import read_snapshot

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"
EXPECTED = json.loads((ROOT / "fixtures" / "small_hub_expected.json").read_text())


@pytest.fixture(scope="module")
def eco() -> ecograph.Ecosystem:
    return ecograph.Ecosystem.from_frames(*read_snapshot(FIXTURE))


def test_reexports():
    assert {"open", "Ecosystem", "Family"} <= set(ecograph.__all__)
    assert ecograph.open is ecograph.api.open


def test_foundations_sorted_by_size(eco):
    f = eco.foundations()
    assert tuple(f.columns) == HEADLINE_COLUMNS
    exp = sorted(EXPECTED["foundations"].items(), key=lambda kv: -kv[1]["size"])
    assert f.select("root", "size").rows() == [(k, v["size"]) for k, v in exp]
    assert eco.foundations(top=2).height == 2


def test_stats_cached_and_by_root(eco):
    all_stats = eco.stats()
    assert eco.stats() is all_stats
    assert tuple(all_stats.columns) == METRIC_COLUMNS
    two = eco.stats(["qwen/qwen2.5-7b", "google/gemma-2-9b"])
    assert two.get_column("root").to_list() == ["Qwen/Qwen2.5-7B", "google/gemma-2-9b"]
    one = eco.stats("https://huggingface.co/google/gemma-2-9b")
    assert one.row(0, named=True)["size"] == 29


def test_family(eco):
    fam = eco.family("google/gemma-2-9b")
    exp = EXPECTED["foundations"]["google/gemma-2-9b"]
    assert fam.root == "google/gemma-2-9b" and len(fam) == exp["size"]
    assert fam.nodes.get_column("depth").max() == exp["max_depth"]
    assert fam.nodes.row(0, named=True)["depth"] == 0
    m = fam.metrics()
    assert m["size"] == exp["size"] and m["longest_chain"] == exp["longest_chain"]
    assert fam.metrics(as_frame=True).height == 1
    G = fam.to_networkx()
    assert isinstance(G, nx.DiGraph)
    assert G.number_of_nodes() == exp["size"] + 1
    assert G.nodes["google/gemma-2-9b"]["depth"] == 0
    assert nx.descendants(G, fam.root) == set(fam.nodes.get_column("id")) - {fam.root}
    assert isinstance(fam.quality(), pl.DataFrame)


def test_unknown_family(eco):
    with pytest.raises(UnknownModelError) as err:
        eco.family("google/gemma-2-9")
    assert err.value.suggestions == ["google/gemma-2-9b"]


def test_repr_html_escapes():
    models = pl.DataFrame({"id": ["a/<b>", "a/c&d", "x/y"], "author": ["a", "a", "x"],
                           "relation": [None, "finetune", "quantized"],
                           "status": ["ok", "ok", "ok"]})
    edges = pl.DataFrame({"parent": ["a/<b>", "a/c&d"], "child": ["a/c&d", "x/y"],
                          "relation": ["finetune", "quantized"]})
    eco = ecograph.Ecosystem.from_frames(models, edges)
    page = eco._repr_html_()
    assert "a/&lt;b&gt;" in page and "a/<b>" not in page
    fam_page = eco.family("a/<b>")._repr_html_()
    assert "Family of a/&lt;b&gt;" in fam_page and "<table>" in fam_page
    assert "a/c&amp;d" in fam_page and "a/c&d" not in fam_page  # max_fanout_node
    assert repr(eco) == "<Ecosystem frames: 3 models, 2 edges>"


def test_open_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no ecograph store at"):
        ecograph.open(tmp_path / "x.db")


def test_open_snapshot_path():
    eco = ecograph.open(FIXTURE)
    assert eco.models.height == EXPECTED["global"]["nodes"]


def test_open_store_lazily(tmp_path):
    store_mod = pytest.importorskip("ecograph.store")
    importer = pytest.importorskip("ecograph.importer")
    db = tmp_path / "hub.db"
    with store_mod.Store.open(db) as store:
        importer.import_snapshot(store, FIXTURE)
    eco = ecograph.open(db)
    assert "not loaded" in repr(eco)
    assert eco.foundations().get_column("root").to_list()[0] == "meta-llama/Llama-3.1-8B"
    assert eco.models.height == EXPECTED["global"]["nodes"]


def test_stats_with_foundations_puts_the_roots_first(eco):
    by_size = sorted(EXPECTED["foundations"].items(), key=lambda kv: (-kv[1]["size"], kv[0]))
    ranked = [root for root, _ in by_size]
    assert eco.stats(with_foundations=True).get_column("root").to_list() == ranked
    mixed = eco.stats(["google/gemma-2-9b"], with_foundations=True).get_column("root")
    assert mixed.to_list() == ["google/gemma-2-9b", *(r for r in ranked
                                                      if r != "google/gemma-2-9b")]


def test_output_methods_write_files_and_say_what_they_drew(eco, tmp_path):
    from ecograph.errors import UsageError
    from ecograph.render import ForkTree

    fam = eco.family("qwen/qwen2.5-7b")
    tree = fam.render(tmp_path / "q.svg", max_nodes=20, labels=2, dpi=60)
    assert isinstance(tree, ForkTree) and tree.counts.size == len(fam)
    assert tree.layout.n_markers <= 20 and (tmp_path / "q.svg").read_text().startswith("<?xml")
    with pytest.raises(UsageError, match="use .png, .svg, .pdf or .html"):
        fam.render(tmp_path / "q.gif")
    assert not (tmp_path / "q.gif").exists()
    (path,) = fam.export(tmp_path / "q.GEXF")  # format from the suffix, any case
    assert "<description>Qwen/Qwen2.5-7B</description>" in path.read_text(encoding="utf-8")
    (plain,) = fam.export(tmp_path / "q")  # no suffix: node-link JSON
    assert json.loads(plain.read_text())["graph"]["name"] == "Qwen/Qwen2.5-7B"
    nodes_csv, edges_csv = eco.export(tmp_path / "hub.csv")
    assert pl.read_csv(nodes_csv).height == eco.models.height
    assert "depth" not in pl.read_csv(nodes_csv).columns
    assert eco.save_plot("relations", tmp_path / "mix.png", ["qwen/qwen2.5-7b"],
                         dpi=50).stat().st_size > 0
    paths = fam.report(tmp_path / "report", dpi=50)
    assert paths["html"].is_file() and tree.caption.splitlines()[0] in \
        paths["html"].read_text(encoding="utf-8")
