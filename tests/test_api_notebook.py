"""The notebook-facing API: crawl_hub, Family.hubs/draw/export, Ecosystem.compare/plot."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import networkx as nx
import polars as pl
import pytest

import ecograph
from ecograph.demo import DEMO_ROOTS
from ecograph.fakehub import FakeHub
from ecograph.snapshot import bundled_snapshot

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def eco():
    return ecograph.Ecosystem.from_snapshot(bundled_snapshot())


def test_crawl_hub_then_open(tmp_path):
    db = tmp_path / "x.db"
    with FakeHub(bundled_snapshot()) as hub:
        result = ecograph.crawl_hub(["google/gemma-2-9b"], db, endpoint=hub.url, token=False)
    expected = json.loads((Path(__file__).parent.parent / "fixtures" /
                           "small_hub_expected.json").read_text())["foundations"]
    fam = ecograph.open(db).family("google/gemma-2-9b")
    assert len(fam) == expected["google/gemma-2-9b"]["size_tag_edges_only"]
    assert result.total_requests > 0


def test_hubs_counts_children_in_family(eco):
    fam = eco.family("meta-llama/Llama-3.1-8B")
    hubs = fam.hubs(3)
    G = fam.to_networkx()
    G.remove_edges_from(nx.selfloop_edges(G))
    top = sorted(((G.out_degree(n), n) for n in G), key=lambda t: (-t[0], t[1]))[:3]
    assert list(zip(hubs["children"], hubs["id"], strict=True)) == top


def test_draw_and_export(eco, tmp_path):
    fam = eco.family("google/gemma-2-9b")
    fig = fam.draw(layout="layered", labels=5)
    assert fig.axes
    (path,) = fam.export(tmp_path / "g.json")
    G = nx.node_link_graph(json.loads(path.read_text()))
    assert G.number_of_nodes() == fam.nodes.height


def test_compare_and_plot(eco):
    fig = eco.compare(log=True)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label() and
             not ln.get_label().startswith("_")]
    assert len(lines) == len(DEMO_ROOTS)
    fig2 = eco.plot("relations", ["Qwen/Qwen2.5-7B", "google/gemma-2-9b"])
    assert fig2.axes


def test_store_backed_analysis_loads_lean_columns_with_equal_results(tmp_path):
    from ecograph.metrics import ANALYSIS_COLUMNS
    from ecograph.store import Store

    db = tmp_path / "fx.db"
    ecograph.import_file(bundled_snapshot(), db)
    with Store.open(db, create=False) as store:
        lean, _ = store.load(ANALYSIS_COLUMNS)
        full, _ = store.load()
    assert lean.columns == list(ANALYSIS_COLUMNS)
    assert lean.equals(full.select(ANALYSIS_COLUMNS))
    eco = ecograph.open(db)
    stats = eco.stats()
    assert eco._models is None  # metrics did not need the full frame
    assert stats.equals(ecograph.Ecosystem.from_frames(full, eco.edges).stats())
    fam = eco.family("google/gemma-2-9b")  # families carry every attribute
    assert "likes" in fam.nodes.columns
    with pytest.raises(ValueError, match="unknown models column"):
        with Store.open(db, create=False) as store:
            store.load(["id", "nope"])


def test_family_quality_is_judged_on_the_whole_graph(eco):
    # a cross-family merge has all its parents: no false "merge with one parent"
    fam = eco.family("meta-llama/Llama-3.1-8B")
    q = fam.quality()
    whole = eco.quality()
    assert "relation_conflict" not in q["kind"].to_list()
    ids = set(fam.nodes["id"])
    expected = whole.filter(pl.col("model_id").is_in(list(ids)))
    assert q.equals(expected)
    assert "self_loop" in q["kind"].to_list()  # Undi95/Meta-Llama-3.1-8B-Claude


def test_reloading_full_frames_drops_lean_derivations(tmp_path):
    import sqlite3

    db = tmp_path / "fx.db"
    ecograph.import_file(bundled_snapshot(), db)
    eco = ecograph.open(db)
    before = eco.stats(["Qwen/Qwen2.5-7B"]).row(0, named=True)
    with sqlite3.connect(db) as conn:  # the store changes under an open Ecosystem
        conn.execute("INSERT INTO models (id, author, status) VALUES ('0000/aaa', '0000', 'ok')")
    after = eco.stats(["Qwen/Qwen2.5-7B"]).row(0, named=True)
    assert after["root_downloads"] == before["root_downloads"]
    assert after["family_downloads"] == before["family_downloads"]
    assert "0000/aaa" in eco.models["id"].to_list()
