"""graph.py: families, foundations, roots, quality reports, networkx conversion."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
import pytest

from ecograph.errors import UnknownModelError
from ecograph.graph import (
    GraphIndex,
    bridges,
    chain_heights,
    cycles,
    expand_families,
    family_frames,
    foundations,
    missing_parents,
    quality,
    relation_conflicts,
    resolve_root,
    self_loops,
    to_networkx,
)
from ecograph.snapshot import read_snapshot

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"
EXPECTED = json.loads((ROOT / "fixtures" / "small_hub_expected.json").read_text())
G_EXP = EXPECTED["global"]


@pytest.fixture(scope="module")
def hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    return read_snapshot(FIXTURE)


def test_fixture_global_facts(hub):
    models, edges = hub
    assert foundations(models, edges) == G_EXP["foundations"]
    assert self_loops(edges) == G_EXP["self_loops"]
    assert cycles(models, edges) == G_EXP["cycles"]
    assert sorted(missing_parents(models, edges).get_column("id")) == G_EXP["missing_parents"]
    assert sorted(bridges(models, edges).get_column("id")) == G_EXP["bridges"]


def test_fixture_quality_report(hub):
    q = quality(*hub)
    assert q.columns == ["kind", "model_id", "detail"]
    by_kind = {k: sorted(g.get_column("model_id")) for (k,), g in q.group_by("kind")}
    assert by_kind["self_loop"] == G_EXP["self_loops"]
    assert by_kind["cycle"] == G_EXP["cycles"][0]
    assert by_kind["missing_parent"] == G_EXP["missing_parents"]
    # the self-referencing fine-tune is a self-loop, not a relation conflict
    assert "relation_conflict" not in by_kind


@pytest.mark.parametrize("root", sorted(EXPECTED["foundations"]))
def test_family_frames_depths(hub, root):
    exp = EXPECTED["foundations"][root]
    nodes, fam_edges = family_frames(*hub, root)
    assert nodes.row(0, named=True)["id"] == root and nodes.row(0, named=True)["depth"] == 0
    assert nodes.height == exp["size"] + 1
    assert nodes.get_column("id").n_unique() == nodes.height
    counts = nodes.filter(pl.col("depth") > 0).group_by("depth").len().sort("depth")
    assert {str(d): n for d, n in counts.rows()} == exp["depth_counts"]
    assert nodes.columns[-1] == "depth" and nodes.schema["depth"] == pl.Int64
    ids = set(nodes.get_column("id"))
    assert all(p in ids and c in ids for p, c in fam_edges.select("parent", "child").rows())
    assert fam_edges.columns == ["parent", "child", "relation", "source"]


def test_family_frames_max_depth_and_unknown(hub):
    nodes, _ = family_frames(*hub, "meta-llama/Llama-3.1-8B", max_depth=1)
    assert nodes.get_column("depth").max() == 1 and nodes.height == 18
    with pytest.raises(UnknownModelError):
        family_frames(*hub, "meta-llama/nope")


def test_to_networkx_family(hub):
    nodes, fam_edges = family_frames(*hub, "HuggingFaceTB/SmolLM2-135M")
    G = to_networkx(nodes, fam_edges)
    assert G.number_of_nodes() == 5 and G.number_of_edges() == fam_edges.height
    attrs = G.nodes["HuggingFaceTB/SmolLM2-135M"]
    assert attrs["depth"] == 0 and isinstance(attrs["created_at"], datetime)
    assert attrs["downloads"] > 0 and "relation" not in attrs  # nulls are left out
    for _, _, data in G.edges(data=True):
        assert data["relation"] in ("finetune", "quantized", "adapter", "merge", "unknown")


def test_resolve_root(hub):
    models, _ = hub
    assert resolve_root(models, "meta-llama/Llama-3.1-8B") == "meta-llama/Llama-3.1-8B"
    assert resolve_root(models, " META-LLAMA/llama-3.1-8b ") == "meta-llama/Llama-3.1-8B"
    assert resolve_root(models, "hf.co/Qwen/Qwen2.5-7B/tree/main") == "Qwen/Qwen2.5-7B"
    with pytest.raises(UnknownModelError) as err:
        resolve_root(models, "google/gemma-2-9")
    assert err.value.suggestions == ["google/gemma-2-9b"]
    with pytest.raises(UnknownModelError) as err:
        resolve_root(models, "not an id at all")
    assert err.value.model_id == "not an id at all"


def test_resolve_root_suggests_among_many_ids():
    # correctness on a large id set (its speed is measured in benchmarks/bench_metrics.py)
    n = 200_000
    ids = pl.Series("id", [f"org{i % 5000}/model-{i}" for i in range(n)])
    models = pl.DataFrame({"id": ids})
    with pytest.raises(UnknownModelError) as err:
        resolve_root(models, "org2345/model-12345x")
    assert err.value.suggestions and err.value.suggestions[0] == "org2345/model-12345"
    assert resolve_root(models, "ORG2345/MODEL-12345") == "org2345/model-12345"


def test_relation_conflicts():
    models = pl.DataFrame({"id": ["a", "b", "m1", "m2", "f", "ad"],
                           "relation": [None, None, "merge", "merge", "finetune", "adapter"]})
    edges = pl.DataFrame({
        "parent": ["a", "a", "b", "a", "b", "a", "b", "f"],
        "child": ["m1", "m2", "m2", "f", "f", "ad", "ad", "f"],
    })
    rows = relation_conflicts(models, edges).rows()
    assert rows == [("ad", "adapter", 2), ("f", "finetune", 2), ("m1", "merge", 1)]


def test_index_handles_unknown_endpoints_and_duplicates():
    models = pl.DataFrame({"id": ["b", "a", "lonely"], "status": ["ok", "ok", "ok"]})
    edges = pl.DataFrame({"parent": ["a", "a", "zz"], "child": ["b", "b", "a"]})
    g = GraphIndex.from_frames(models, edges)
    assert sorted(g.ids.to_list()) == ["a", "b", "zz"]  # nodes = edge endpoints
    a, b, zz = g.positions(["a", "b", "zz"])
    assert sorted(zip(g.src.tolist(), g.dst.tolist(), strict=True)) == sorted([(a, b), (zz, a)])
    assert g.model_row[[a, b, zz]].tolist() == [1, 0, -1]
    assert g.missing[[a, b, zz]].tolist() == [False, False, True]
    assert not g.foundation_mask()[zz]  # no model row: treated as missing
    with pytest.raises(KeyError):
        g.positions(["lonely"])
    g2 = GraphIndex.from_frames(models, edges, extra=["lonely"])
    assert g2.n == 4 and g2.out_degree[g2.positions(["lonely"])[0]] == 0


def test_expand_and_heights_match_networkx_on_random_graphs():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        m = int(rng.integers(0, 3 * n))
        pairs = rng.integers(0, n, size=(m, 2))
        ids = [f"n{i:03d}" for i in range(n)]
        models = pl.DataFrame({"id": ids})
        edges = pl.DataFrame({"parent": [ids[a] for a, _ in pairs],
                              "child": [ids[b] for _, b in pairs]},
                             schema={"parent": pl.Utf8, "child": pl.Utf8})
        G = nx.DiGraph()
        G.add_nodes_from(ids)
        G.add_edges_from(edges.rows())
        g = GraphIndex.from_frames(models, edges)
        names = g.ids.to_list()
        r, node, depth = expand_families(g, np.arange(g.n))
        got = sorted(
            zip([names[i] for i in r], [names[i] for i in node], depth.tolist(), strict=True)
        )
        exp = sorted(
            (x, y, d)
            for x in names
            for y, d in nx.single_source_shortest_path_length(G, x).items()
            if y != x
        )
        assert got == exp
        H = G.copy()
        H.remove_edges_from(list(nx.selfloop_edges(H)))
        C = nx.condensation(H)
        heights = chain_heights(g)
        for i, x in enumerate(names):
            c = C.graph["mapping"][x]
            sub = C.subgraph(nx.descendants(C, c) | {c})
            assert heights[i] == nx.dag_longest_path_length(sub)


def test_id_table_probes_through_collisions_and_wraps_around():
    """Hashes sharing a home slot (including the last slot) are all placed, numbered once
    each however often they repeat, and found; misses whose probe runs through the
    cluster are not."""
    from ecograph.graph.index import _IdTable

    rng = np.random.default_rng(3)
    top = np.uint64(0xFFFF_0000_0000_0000)  # the home slot is the table's last one
    same_home = top | (rng.integers(1, 2**40, 12, dtype=np.int64).astype(np.uint64) << 1 | 1)
    spread = rng.integers(1, 2**62, 30, dtype=np.int64).astype(np.uint64) | np.uint64(1)
    keys = np.unique(np.concatenate([same_home, spread]))
    hashes = np.concatenate([keys, keys[::-1], keys[:5]])  # duplicates, any order
    t = _IdTable(hashes)
    assert t.n == keys.size
    inv = t.inverse
    assert sorted(set(inv.tolist())) == list(range(keys.size))
    assert all(inv[i] == inv[j] for i in range(keys.size)
               for j in np.flatnonzero(hashes == hashes[i]))
    misses = np.array([top | np.uint64(0xABC1), 7], dtype=np.uint64)
    idx, node = t.find(np.concatenate([keys, misses]))
    assert sorted(idx.tolist()) == list(range(keys.size))  # the two misses are not found
    found = dict(zip(idx.tolist(), node.tolist(), strict=True))
    assert [found[i] for i in range(keys.size)] == inv[: keys.size].tolist()
