"""graph.quality: every check equals a plain-Python brute force; case-variant parents.

The brute forces below are literal transcriptions of the definitions (DESIGN §1 and §5
**data quality**), one model and one edge at a time, on random small graphs whose ids come
in several case spellings (``org/m1`` and ``Org/M1`` are different ids that a Hub with a
case-sensitive tag filter tells apart).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import networkx as nx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecograph.graph import (
    GraphIndex,
    case_variant_parents,
    cycles,
    missing_parents,
    quality,
    relation_conflicts,
    self_loops,
)

SINGLE = ("finetune", "quantized", "adapter")
POOL = [f"{org}/{name}" for org in ("org", "Org", "u1") for name in ("m0", "M0", "m1", "x2")]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=len(POOL)))
    rows = [
        {
            "id": mid,
            "status": draw(st.sampled_from(["ok", "ok", "ok", "missing", None])),
            "relation": draw(st.sampled_from(["finetune", "quantized", "adapter", "merge",
                                              "unknown", None])),
        }
        for mid in ids
    ]
    models = pl.DataFrame(
        rows, schema={"id": pl.Utf8, "status": pl.Utf8, "relation": pl.Utf8}
    )
    ends = st.sampled_from(POOL + ["gone/x", "Gone/X"])
    pairs = draw(st.lists(st.tuples(ends, ends), max_size=25, unique=True))
    edges = pl.DataFrame(
        {"parent": [p for p, _ in pairs], "child": [c for _, c in pairs]},
        schema={"parent": pl.Utf8, "child": pl.Utf8},
    )
    return models, edges


def _existing(models: pl.DataFrame) -> set[str]:
    return {r["id"] for r in models.iter_rows(named=True) if r["status"] != "missing"}


def brute_missing(models: pl.DataFrame, edges: pl.DataFrame) -> list[tuple[str, int]]:
    existing = _existing(models)
    children: dict[str, set[str]] = defaultdict(set)
    for parent, child in edges.iter_rows():
        if parent not in existing:
            children[parent].add(child)
    return sorted(((p, len(c)) for p, c in children.items()), key=lambda t: (-t[1], t[0]))


def brute_case_variants(models: pl.DataFrame, edges: pl.DataFrame) -> list[tuple[str, str, int]]:
    existing = _existing(models)
    by_lower: dict[str, list[str]] = defaultdict(list)  # spellings of each lower-cased id
    for m in existing:
        by_lower[m.lower()].append(m)
    out = []
    for parent, n in brute_missing(models, edges):
        same = by_lower.get(parent.lower(), [])
        if len(same) == 1 and same[0] != parent:
            out.append((parent, same[0], n))
    return sorted(out, key=lambda t: (-t[2], t[0]))


def brute_conflicts(models: pl.DataFrame, edges: pl.DataFrame) -> list[tuple[str, str, int]]:
    parents: dict[str, set[str]] = defaultdict(set)
    for parent, child in edges.iter_rows():
        if parent != child:
            parents[child].add(parent)
    out = []
    for row in models.iter_rows(named=True):
        k, rel = len(parents[row["id"]]), row["relation"]
        if k and ((rel == "merge" and k == 1) or (rel in SINGLE and k > 1)):
            out.append((row["id"], rel, k))
    return sorted(out)


def brute_cycles(edges: pl.DataFrame) -> list[list[str]]:
    G = nx.DiGraph((p, c) for p, c in edges.iter_rows() if p != c)
    return sorted((sorted(c) for c in nx.strongly_connected_components(G) if len(c) > 1),
                  key=lambda c: (-len(c), c[0]))


def brute_quality(models: pl.DataFrame, edges: pl.DataFrame) -> list[tuple[str, str, str]]:
    def plural(k: int, word: str) -> str:
        return f"{k} {word}" + ("" if k == 1 else ("ren" if word == "child" else "s"))

    rows = [("missing_parent", p, plural(k, "child")) for p, k in brute_missing(models, edges)]
    rows += [
        ("case_variant_parent", p,
         f"case variant of {real}: {plural(k, 'child')} a case-sensitive BFS from {real} "
         "misses (a scan does not)")
        for p, real, k in brute_case_variants(models, edges)
    ]
    rows += [("self_loop", p, f"{p} is its own parent")
             for p, c in set(edges.iter_rows()) if p == c]
    rows += [("cycle", m, f"cycle {i} of {len(c)} models")
             for i, c in enumerate(brute_cycles(edges), 1) for m in c]
    rows += [("relation_conflict", i, f"{rel} with {plural(k, 'parent')}")
             for i, rel, k in brute_conflicts(models, edges)]
    return sorted(rows, key=lambda r: (r[0], r[1]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_every_check_equals_its_brute_force(graph: tuple[pl.DataFrame, pl.DataFrame]):
    models, edges = graph
    index = GraphIndex.from_frames(models, edges)
    for idx in (None, index):  # built here or shared: the same answers
        assert missing_parents(models, edges, index=idx).rows() == brute_missing(models, edges)
        assert case_variant_parents(models, edges, index=idx).rows() == brute_case_variants(
            models, edges
        )
        assert relation_conflicts(models, edges, index=idx).rows() == brute_conflicts(
            models, edges
        )
        assert quality(models, edges, index=idx).rows() == brute_quality(models, edges)
    assert self_loops(edges) == sorted({p for p, c in edges.iter_rows() if p == c})
    assert cycles(models, edges) == brute_cycles(edges)


def test_case_variant_parent_rows():
    """Children whose edge spells the parent in another case than its repo id (as Hub tags
    do) are reported, with the real id; the spelling is also a missing parent; an exact or
    ambiguous spelling is not a case variant."""
    models = pl.DataFrame(
        {
            "id": ["Qwen/Qwen2.5-7B", "a/ft", "b/q", "c/exact", "Dup/Model", "dup/model", "d/ft"],
            "status": "ok",
            "relation": [None, "finetune", "quantized", "finetune", None, None, "finetune"],
        }
    )
    edges = pl.DataFrame(
        {
            "parent": ["qwen/qwen2.5-7b", "qwen/qwen2.5-7b", "Qwen/Qwen2.5-7B", "DUP/MODEL"],
            "child": ["a/ft", "b/q", "c/exact", "d/ft"],
        }
    )
    assert case_variant_parents(models, edges).rows() == [
        ("qwen/qwen2.5-7b", "Qwen/Qwen2.5-7B", 2)
    ]
    q = quality(models, edges)
    assert q.filter(pl.col("kind") == "case_variant_parent").rows() == [
        ("case_variant_parent", "qwen/qwen2.5-7b",
         "case variant of Qwen/Qwen2.5-7B: 2 children a case-sensitive BFS from "
         "Qwen/Qwen2.5-7B misses (a scan does not)")
    ]
    missing = q.filter(pl.col("kind") == "missing_parent").get_column("model_id").to_list()
    assert missing == ["DUP/MODEL", "qwen/qwen2.5-7b"]
    assert q.get_column("kind").to_list() == sorted(q.get_column("kind").to_list())


def test_missing_status_row_is_no_real_id():
    """A ``missing`` row spelled in another case is not an existing repo."""
    models = pl.DataFrame({"id": ["Org/Base", "u/ft"], "status": ["missing", "ok"]})
    edges = pl.DataFrame({"parent": ["org/base"], "child": ["u/ft"]})
    assert case_variant_parents(models, edges).height == 0
    models = models.with_columns(pl.lit("ok").alias("status"))
    assert case_variant_parents(models, edges).rows() == [("org/base", "Org/Base", 1)]


REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def test_case_variant_parents_in_real_lineage_data():
    """Real Hub tags (hf_dep_network_hakanotal: edges read from ``base_model:`` tags of
    listed models) spell a parent in another case than its repo id; every listed model is
    a child there, so the children are the models with a record."""
    path = REAL / "hf_dep_network_hakanotal" / "edges.csv"
    if not path.exists():
        pytest.skip("real lineage data not available")
    edges = pl.read_csv(path).select(
        pl.col("source").alias("parent"), pl.col("target").alias("child")
    )
    models = edges.select(pl.col("child").alias("id")).unique().sort("id").with_columns(
        pl.lit("ok").alias("status")
    )
    got = case_variant_parents(models, edges).rows()
    assert got == brute_case_variants(models, edges)
    assert ("erayalp/qwen2.5-0.5B-instruct-SFT-v1-tr-math-easy",
            "erayalp/qwen2.5-0.5b-instruct-SFT-v1-tr-math-easy", 1) in got


# --------------------------------------------------------------------------- from records

CASED_HUB = [
    {"id": "Org/Base", "author": "Org", "createdAt": "2024-01-01T00:00:00.000Z", "tags": []},
    {"id": "u/ft", "author": "u", "createdAt": "2024-02-01T00:00:00.000Z",
     "tags": ["base_model:org/base", "base_model:finetune:org/base"]},
    {"id": "v/q", "author": "v", "createdAt": "2024-02-02T00:00:00.000Z",
     "tags": ["base_model:Org/Base", "base_model:quantized:Org/Base"]},
]


@pytest.mark.parametrize("source", ["snapshot", "store"])
def test_case_variant_tags_are_reported_from_a_store_and_a_snapshot(tmp_path, source):
    """Stores and snapshots file u/ft's edge under the real id Org/Base, so the tag's other
    spelling is read from the records' tags (Store.parent_references)."""
    import json

    import ecograph

    snap = tmp_path / "hub.jsonl"
    snap.write_text("".join(json.dumps(o) + "\n" for o in CASED_HUB), encoding="utf-8")
    path = snap
    if source == "store":
        path = tmp_path / "hub.db"
        ecograph.import_file(snap, path)
    eco = ecograph.open(path)
    assert sorted(eco.edges.select("parent", "child").rows()) == [
        ("Org/Base", "u/ft"), ("Org/Base", "v/q")]
    report = eco.quality()
    variants = report.filter(pl.col("kind") == "case_variant_parent")
    assert variants.select("model_id", "detail").rows() == [
        ("org/base", "case variant of Org/Base: 1 child a case-sensitive BFS from Org/Base "
                     "misses (a scan does not)")]
    assert "missing_parent" not in report.get_column("kind").to_list()
