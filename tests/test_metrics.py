"""Metrics against hand-verified values: the fixture snapshot and a tiny inline hub."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import networkx as nx
import polars as pl
import pytest

from ecograph.errors import UnknownModelError
from ecograph.frames import EDGE_SCHEMA, MODEL_SCHEMA
from ecograph.metrics import (
    HEADLINE_COLUMNS,
    JSON_KEYS,
    METRIC_COLUMNS,
    METRIC_SCHEMA,
    family_metrics,
    headline,
    to_records,
)
from ecograph.snapshot import read_snapshot

sys.path.insert(0, str(Path(__file__).parent))
from test_metrics_property import assert_same, brute_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"
EXPECTED = json.loads((ROOT / "fixtures" / "small_hub_expected.json").read_text())


@pytest.fixture(scope="module")
def hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    return read_snapshot(FIXTURE)


@pytest.fixture(scope="module")
def stats(hub) -> pl.DataFrame:
    return family_metrics(*hub)


# --------------------------------------------------------------------------- fixture


def test_all_foundations_one_row_each_sorted(stats):
    assert stats.get_column("root").to_list() == EXPECTED["global"]["foundations"]
    assert tuple(stats.columns) == METRIC_COLUMNS
    assert dict(stats.schema) == METRIC_SCHEMA


@pytest.mark.parametrize("root", sorted(EXPECTED["foundations"]))
def test_fixture_hand_verified_facts(stats, root):
    exp = EXPECTED["foundations"][root]
    row = stats.filter(pl.col("root") == root).row(0, named=True)
    assert row["size"] == exp["size"]
    assert row["by_relation"] == exp["by_relation"]
    assert row["direct_children"] == exp["direct_children"]["total"]
    assert row["direct_by_relation"] == exp["direct_children"]["by_relation"]
    assert row["max_depth"] == exp["max_depth"]
    assert row["depth_counts"] == [exp["depth_counts"][str(d)] for d in range(1, exp["max_depth"]
                                                                                + 1)]
    assert row["longest_chain"] == exp["longest_chain"]
    assert row["n_authors"] == exp["n_authors"]
    mean = sum(int(d) * c for d, c in exp["depth_counts"].items()) / exp["size"]
    assert math.isclose(row["mean_depth"], mean)


def test_fixture_bridges_count(stats):
    """Bridges of the fixture: 3 nodes, each in the families of the foundations it joins."""
    bridges = set(EXPECTED["global"]["bridges"])
    hub = read_snapshot(FIXTURE)
    G = nx.DiGraph(hub[1].select("parent", "child").rows())
    for row in stats.iter_rows(named=True):
        fam = nx.descendants(G, row["root"])
        assert row["bridges"] == len(fam & bridges)
    assert stats.get_column("bridges").sum() >= len(bridges) * 2


def test_fixture_every_metric_equals_brute_force(hub, stats):
    models, edges = hub
    G = nx.DiGraph()
    for r in models.iter_rows(named=True):
        G.add_node(r["id"], **r)
    G.add_edges_from(edges.select("parent", "child").iter_rows())
    for row in stats.iter_rows(named=True):
        assert_same(row, brute_metrics(G, row["root"]))
    # an arbitrary, non-foundation root too (one of the cycle members, a missing parent)
    some = [
        "cognitivecomputations/dolphin-2.6-mistral-7b",
        "Orenguteng/Llama-3.1-8B-Lexi-Uncensored-V2",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    for row in family_metrics(models, edges, some).iter_rows(named=True):
        assert_same(row, brute_metrics(G, row["root"]))


def test_one_root_equals_its_row_in_all(hub, stats):
    root = "mistralai/Mistral-7B-v0.1"
    one = family_metrics(*hub, [root])
    assert_same(one.row(0, named=True), stats.filter(pl.col("root") == root).row(0, named=True))


def test_max_children_node_of_llama_family(stats):
    exp = EXPECTED["global"]["max_children"]
    row = stats.filter(pl.col("root") == "meta-llama/Llama-3.1-8B").row(0, named=True)
    assert (row["max_fanout_node"], row["max_fanout"]) == (exp["id"], exp["children"])


def test_unknown_root_suggests(hub):
    with pytest.raises(UnknownModelError) as err:
        family_metrics(*hub, ["meta-llama/Llama-3.1-8"])
    assert "meta-llama/Llama-3.1-8B" in err.value.suggestions


# --------------------------------------------------------------------------- tiny hub


def _ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def tiny() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [
        # id, author, created, downloads, relation, status
        ("acme/base", "acme", _ts(2024, 1, 1), 1000, None, "ok"),
        ("acme/base-instruct", "acme", _ts(2024, 1, 10), 500, "finetune", "ok"),
        ("bob/base-gguf", "bob", _ts(2024, 1, 20), 300, "quantized", "ok"),
        ("Bob/instruct-lora", "Bob", _ts(2024, 3, 15), 50, "adapter", "ok"),
        ("carol/merge", "carol", _ts(2024, 5, 1), 20, "merge", "ok"),
        ("carol/merge-gguf", "carol", None, None, "quantized", "ok"),
        ("other/found", "other", _ts(2023, 6, 1), 2000, None, "ok"),
        ("gone/x", "gone", None, None, None, "missing"),
    ]
    models = pl.DataFrame(
        [dict(zip(["id", "author", "created_at", "downloads", "relation", "status"], r,
                  strict=True)) for r in rows]
    )
    models = models.with_columns(
        [pl.lit(None).alias(c) for c in MODEL_SCHEMA if c not in models.columns]
    ).select([pl.col(c).cast(t) for c, t in MODEL_SCHEMA.items()])
    e = [
        ("acme/base", "acme/base-instruct"),
        ("acme/base", "bob/base-gguf"),
        ("acme/base-instruct", "Bob/instruct-lora"),
        ("acme/base-instruct", "carol/merge"),
        ("other/found", "carol/merge"),
        ("gone/x", "carol/merge"),
        ("carol/merge", "carol/merge-gguf"),
    ]
    edges = pl.DataFrame(
        {"parent": [p for p, _ in e], "child": [c for _, c in e], "relation": "x",
         "source": "tag"},
        schema=EDGE_SCHEMA,
    )
    return models, edges


def test_tiny_hub_every_metric_by_hand():
    stats = family_metrics(*tiny())
    assert stats.get_column("root").to_list() == ["acme/base", "other/found"]
    row = stats.row(0, named=True)
    exp = {
        "root": "acme/base",
        "size": 5,
        "by_relation": {"finetune": 1, "quantized": 2, "adapter": 1, "merge": 1, "unknown": 0},
        "direct_children": 2,
        "direct_by_relation": {"finetune": 1, "quantized": 1, "adapter": 0, "merge": 0,
                               "unknown": 0},
        "max_depth": 3,
        "mean_depth": 1.8,
        "depth_counts": [2, 2, 1],
        "longest_chain": 3,
        "max_fanout": 2,
        "max_fanout_node": "acme/base-instruct",
        "mean_fanout": 1.5,
        "leaf_share": 0.6,
        "n_authors": 3,
        "community_share": 0.8,
        "community_download_share": 370 / 870,
        "author_hhi": 0.36,
        "top_authors": [
            {"author": "Bob", "count": 2, "downloads": 350},
            {"author": "carol", "count": 2, "downloads": 20},
            {"author": "acme", "count": 1, "downloads": 500},
        ],
        "family_downloads": 870,
        "root_downloads": 1000,
        "downloads_ratio": 0.87,
        "first_derivative_days": 9.0,
        "derivatives_30d": 2,
        "derivatives_90d": 3,
        # Jan 1 -> Jan 10, Jan 20, Mar 15 (2024 is a leap year), May 1; merge-gguf undated
        "first_by_relation_days": {"finetune": 9.0, "quantized": 19.0, "adapter": 74.0,
                                   "merge": 121.0, "unknown": None},
        "by_relation_30d": {"finetune": 1, "quantized": 1, "adapter": 0, "merge": 0,
                            "unknown": 0},
        "monthly": [
            {"month": date(2024, 1, 1), "count": 2},
            {"month": date(2024, 3, 1), "count": 1},
            {"month": date(2024, 5, 1), "count": 1},
        ],
        "bridges": 2,
    }
    assert_same(row, exp)
    other = stats.row(1, named=True)
    assert other["size"] == 2
    assert other["longest_chain"] == 2
    assert other["first_derivative_days"] == 335.0
    assert (other["derivatives_30d"], other["derivatives_90d"]) == (0, 0)
    assert (other["max_fanout"], other["max_fanout_node"]) == (1, "carol/merge")
    assert other["mean_fanout"] == 1.0 and other["leaf_share"] == 0.5
    assert other["community_share"] == 1.0 and other["community_download_share"] == 1.0
    assert other["downloads_ratio"] == 0.01
    assert other["bridges"] == 2


def test_window_boundaries_are_inclusive():
    models, edges = tiny()
    models = models.with_columns(
        pl.when(pl.col("id") == "bob/base-gguf")
        .then(pl.lit(_ts(2024, 1, 31)))  # exactly 30 days after acme/base
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    row = family_metrics(models, edges, ["acme/base"]).row(0, named=True)
    assert row["derivatives_30d"] == 2


def test_leaf_root_and_missing_root():
    models, edges = tiny()
    stats = family_metrics(models, edges, ["carol/merge-gguf", "gone/x"])
    leaf = stats.row(0, named=True)
    assert leaf["size"] == 0 and leaf["depth_counts"] == [] and leaf["top_authors"] == []
    assert leaf["mean_depth"] is None and leaf["max_fanout_node"] is None
    assert leaf["leaf_share"] is None and leaf["root_downloads"] is None
    assert leaf["derivatives_30d"] is None and leaf["bridges"] == 0
    gone = stats.row(1, named=True)
    assert gone["size"] == 2 and gone["bridges"] == 2 and gone["derivatives_30d"] is None


def test_json_records_keys_and_plain_values():
    recs = to_records(family_metrics(*tiny()))
    assert all(list(r) == list(JSON_KEYS) for r in recs)
    text = json.dumps(recs, allow_nan=False)
    assert json.loads(text)[0]["top_authors"][0] == {"author": "Bob", "count": 2,
                                                     "downloads": 350}


def test_headline_sorted_by_size():
    h = headline(family_metrics(*tiny()))
    assert tuple(h.columns) == HEADLINE_COLUMNS
    assert h.get_column("size").to_list() == [5, 2]
    assert headline(family_metrics(*tiny()), top=1).height == 1


def test_empty_graph():
    models = pl.DataFrame(schema=MODEL_SCHEMA)
    edges = pl.DataFrame(schema=EDGE_SCHEMA)
    out = family_metrics(models, edges)
    assert out.height == 0 and tuple(out.columns) == METRIC_COLUMNS


def test_monthly_handles_far_apart_dates():
    """Creation dates centuries apart (bad data) still bucket into the right months."""
    from datetime import UTC, date, datetime

    created = [datetime(2024, 1, 5, tzinfo=UTC), datetime(1, 3, 1, tzinfo=UTC),
               datetime(9999, 12, 31, 23, tzinfo=UTC), datetime(2024, 1, 30, tzinfo=UTC), None]
    models = pl.DataFrame({"id": ["o/r", "a/1", "a/2", "a/3", "a/4"],
                           "created_at": [created[0], *created[1:]]},
                          schema={"id": pl.Utf8, "created_at": pl.Datetime("us", "UTC")})
    edges = pl.DataFrame({"parent": ["o/r"] * 4, "child": ["a/1", "a/2", "a/3", "a/4"]})
    row = family_metrics(models, edges, ["o/r"]).row(0, named=True)
    assert row["monthly"] == [
        {"month": date(1, 3, 1), "count": 1},
        {"month": date(2024, 1, 1), "count": 1},
        {"month": date(9999, 12, 1), "count": 1},
    ]


def test_models_frame_with_ids_only():
    """Only ids known (no author, dates, downloads, relation): authors come from the id
    namespaces, everything else is unknown, and a parent without a model row still counts."""
    models = pl.DataFrame({"id": ["a/r", "b/c", "c/d"]})
    edges = pl.DataFrame({"parent": ["a/r", "a/r", "b/c"], "child": ["b/c", "c/d", "x/y"]})
    row = family_metrics(models, edges, ["a/r"]).row(0, named=True)
    assert row["size"] == 3 and row["depth_counts"] == [2, 1]
    assert row["n_authors"] == 3 and row["community_share"] == 1.0
    assert row["by_relation"]["unknown"] == 3
    assert row["root_downloads"] is None and row["family_downloads"] == 0
    assert row["first_derivative_days"] is None and row["derivatives_30d"] is None
    assert row["monthly"] == [] and row["max_fanout_node"] == "b/c"


@pytest.mark.parametrize("scale", [1, 2**55])
def test_top_authors_with_negative_and_huge_downloads(scale: int):
    """Bad download counts (negative, or so large the sort keys cannot be packed) still
    rank authors by count, then downloads, and keep each list with its own root."""
    models = pl.DataFrame({"id": ["a/r", "a/x1", "a/x2", "b/y", "d/z", "c/s", "c/t"],
                           "downloads": [1, -100 * scale, -100 * scale, 3 * scale, 5, 0, 0]})
    edges = pl.DataFrame({"parent": ["a/r", "a/r", "a/r", "a/r", "c/s"],
                          "child": ["a/x1", "a/x2", "b/y", "d/z", "c/t"]})
    top = dict(family_metrics(models, edges).select("root", "top_authors").rows())
    assert top["a/r"] == [
        {"author": "a", "count": 2, "downloads": -200 * scale},
        {"author": "b", "count": 1, "downloads": 3 * scale},
        {"author": "d", "count": 1, "downloads": 5},
    ] if scale > 1 else [
        {"author": "a", "count": 2, "downloads": -200},
        {"author": "d", "count": 1, "downloads": 5},
        {"author": "b", "count": 1, "downloads": 3},
    ]
    assert top["c/s"] == [{"author": "c", "count": 1, "downloads": 0}]


def test_derivatives_dated_before_the_root_are_not_recent_adoption():
    """A member created before its root (a re-created repository) makes
    first_derivative_days negative but is not one of the derivatives of the first days."""
    models, edges = tiny()
    before = family_metrics(models, edges, ["acme/base"]).row(0, named=True)
    models = models.with_columns(
        pl.when(pl.col("id") == "bob/base-gguf")
        .then(pl.lit(_ts(2023, 12, 1)))  # a month before acme/base
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    row = family_metrics(models, edges, ["acme/base"]).row(0, named=True)
    assert row["first_derivative_days"] == -31.0
    assert row["derivatives_30d"] == before["derivatives_30d"] - 1
    assert row["derivatives_90d"] == before["derivatives_90d"] - 1
