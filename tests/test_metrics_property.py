"""Property test: the vectorised metrics equal a brute-force networkx implementation.

Random small graphs with merges, self-loops, 2-cycles, longer cycles, missing parents,
null authors / dates / downloads and case variants of authors. ``brute_metrics`` below is
a literal transcription of DESIGN §5 (and of the conventions documented in
``ecograph.metrics``), one root at a time, with networkx.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import networkx as nx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecograph.frames import EDGE_SCHEMA, MODEL_SCHEMA
from ecograph.graph import bridges, cycles, foundations, self_loops
from ecograph.metrics import METRIC_COLUMNS, RELATION_KEYS, family_metrics

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _author(row: dict) -> str:
    a = row.get("author")
    return a if a is not None else row["id"].split("/")[0]


def _graph(models: pl.DataFrame, edges: pl.DataFrame) -> nx.DiGraph:
    G = nx.DiGraph()
    for row in models.iter_rows(named=True):
        G.add_node(row["id"], **row)
    G.add_edges_from(edges.select("parent", "child").iter_rows())
    return G


def brute_foundations(G: nx.DiGraph) -> list[str]:
    out = []
    for n, a in G.nodes(data=True):
        parents = [p for p in G.predecessors(n) if p != n]
        kids = [c for c in G.successors(n) if c != n]
        if a.get("status") != "missing" and not parents and kids:
            out.append(n)
    return sorted(out)


def brute_metrics(G: nx.DiGraph, root: str) -> dict:
    """Every metric of DESIGN §5 for one root, the slow obvious way."""
    sp = nx.single_source_shortest_path_length(G, root)
    fam = {n: d for n, d in sp.items() if n != root}
    size = len(fam)
    A = G.nodes

    def rel(n: str) -> str:
        r = A[n].get("relation")
        return r if r in RELATION_KEYS else "unknown"

    def fanout(n: str) -> int:
        return sum(1 for c in G.successors(n) if c != n)

    def dl(n: str) -> int:
        return A[n].get("downloads") or 0

    by_rel = {k: sum(1 for n in fam if rel(n) == k) for k in RELATION_KEYS}
    direct = [c for c in G.successors(root) if c != root]
    dby = {k: sum(1 for n in direct if rel(n) == k) for k in RELATION_KEYS}
    max_depth = max(fam.values(), default=0)
    counts = Counter(fam.values())
    depth_counts = [counts[d] for d in range(1, max_depth + 1)]

    H = G.subgraph(sp).copy()
    H.remove_edges_from(list(nx.selfloop_edges(H)))
    C = nx.condensation(H)
    longest = nx.dag_longest_path_length(C) if C.number_of_nodes() else 0

    fans = {n: fanout(n) for n in fam}
    max_fan = max(fans.values(), default=0)
    max_node = min((n for n, f in fans.items() if f == max_fan), default=None)
    internal = [f for f in fans.values() if f > 0]

    rkey = _author(A[root]).lower()
    keys = {n: _author(A[n]).lower() for n in fam}
    community = [n for n in fam if keys[n] != rkey]
    fam_dl = sum(dl(n) for n in fam)
    by_author: dict[str, list[str]] = {}
    for n in fam:
        by_author.setdefault(keys[n], []).append(n)
    hhi = sum((len(v) / size) ** 2 for v in by_author.values()) if size else None
    top = sorted(
        (
            {
                "author": min(_author(A[n]) for n in v),
                "count": len(v),
                "downloads": sum(dl(n) for n in v),
            }
            for v in by_author.values()
        ),
        key=lambda t: (-t["count"], -t["downloads"], t["author"]),
    )[:10]

    rdl = A[root].get("downloads")
    rc = A[root].get("created_at")
    created = [A[n].get("created_at") for n in fam if A[n].get("created_at") is not None]
    first = (min(created) - rc).total_seconds() / 86400 if rc and created else None
    months = Counter(date(c.year, c.month, 1) for c in created)
    # DESIGN §8 response times, per relation
    dated = {k: [A[n]["created_at"] for n in fam
                 if rel(n) == k and A[n].get("created_at") is not None] for k in RELATION_KEYS}
    first_by_rel = {
        k: (min(dated[k]) - rc).total_seconds() / 86400 if rc and dated[k] else None
        for k in RELATION_KEYS
    }
    within_30d = (
        {k: sum(1 for c in dated[k] if timedelta(0) <= c - rc <= timedelta(days=30))
         for k in RELATION_KEYS}
        if rc else None
    )

    found = brute_foundations(G)
    desc = {f: nx.descendants(G, f) - {f} for f in found}
    n_bridges = sum(1 for n in fam if sum(n in d for d in desc.values()) > 1)

    return {
        "root": root,
        "size": size,
        "by_relation": by_rel,
        "direct_children": len(direct),
        "direct_by_relation": dby,
        "max_depth": max_depth,
        "mean_depth": sum(fam.values()) / size if size else None,
        "depth_counts": depth_counts,
        "longest_chain": longest,
        "max_fanout": max_fan,
        "max_fanout_node": max_node if max_fan > 0 else None,
        "mean_fanout": sum(internal) / len(internal) if internal else None,
        "leaf_share": sum(1 for f in fans.values() if f == 0) / size if size else None,
        "n_authors": len(by_author),
        "community_share": len(community) / size if size else None,
        "community_download_share": (
            sum(dl(n) for n in community) / fam_dl if fam_dl > 0 else None
        ),
        "author_hhi": hhi,
        "top_authors": top,
        "family_downloads": fam_dl,
        "root_downloads": rdl,
        "downloads_ratio": fam_dl / rdl if rdl else None,
        "first_derivative_days": first,
        "derivatives_30d": (
            sum(1 for c in created if timedelta(0) <= c - rc <= timedelta(days=30)) if rc else None
        ),
        "derivatives_90d": (
            sum(1 for c in created if timedelta(0) <= c - rc <= timedelta(days=90)) if rc else None
        ),
        "first_by_relation_days": first_by_rel,
        "by_relation_30d": within_30d,
        "monthly": [{"month": m, "count": months[m]} for m in sorted(months)],
        "bridges": n_bridges,
    }


def assert_same(got: dict, exp: dict) -> None:
    assert list(got) == list(METRIC_COLUMNS)
    for key in METRIC_COLUMNS:
        g, e = got[key], exp[key]
        if key == "first_by_relation_days":  # a struct of floats
            assert list(g) == list(e), (key, g, e)
            for rel in e:
                assert (g[rel] is None) == (e[rel] is None), (exp["root"], key, g, e)
                if e[rel] is not None:
                    assert math.isclose(g[rel], e[rel], rel_tol=1e-9, abs_tol=1e-9), (key, g, e)
        elif isinstance(e, float) or isinstance(g, float):
            assert g is not None and e is not None, (key, g, e)
            assert math.isclose(g, e, rel_tol=1e-9, abs_tol=1e-9), (key, g, e)
        else:
            assert g == e, (exp["root"], key, g, e)


AUTHORS = ["org", "Org", "ORG", "u1", "u2", None]
RELS = ["finetune", "quantized", "adapter", "merge", "unknown", None]


@st.composite
def hubs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(1, 12))
    ids = [f"{draw(st.sampled_from(['org', 'u1', 'u2']))}/m{i}" for i in range(n)]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))
    # mostly forward edges (a DAG with merges), some backward ones (cycles, self-loops)
    edges = {(ids[a], ids[b]) for a, b in pairs}
    rows = []
    for mid in ids:
        missing = draw(st.integers(0, 9)) == 0
        day = draw(st.one_of(st.none(), st.sampled_from([-5, 0, 29, 30, 31, 60, 90, 91]),
                             st.integers(-10, 200)))
        rows.append(
            {
                "id": mid,
                "author": None if missing else draw(st.sampled_from(AUTHORS)),
                "created_at": None if missing or day is None else T0 + timedelta(days=day),
                "downloads": None if missing else draw(st.one_of(st.none(), st.integers(0, 50))),
                "relation": None if missing else draw(st.sampled_from(RELS)),
                "status": "missing" if missing else "ok",
            }
        )
    models = pl.DataFrame(rows).with_columns(
        [pl.lit(None, dtype=MODEL_SCHEMA[c]).alias(c) for c in MODEL_SCHEMA
         if c not in ("id", "author", "created_at", "downloads", "relation", "status")]
    ).select([pl.col(c).cast(t) for c, t in MODEL_SCHEMA.items()])
    edge_frame = pl.DataFrame(
        {
            "parent": [p for p, _ in sorted(edges)],
            "child": [c for _, c in sorted(edges)],
            "relation": "finetune",
            "source": "tag",
        },
        schema=EDGE_SCHEMA,
    )
    return models, edge_frame


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hubs())
def test_every_metric_equals_networkx_brute_force(hub: tuple[pl.DataFrame, pl.DataFrame]):
    models, edges = hub
    G = _graph(models, edges)
    ids = models.get_column("id").to_list()
    stats = family_metrics(models, edges, ids)
    assert stats.get_column("root").to_list() == ids
    for row in stats.iter_rows(named=True):
        assert_same(row, brute_metrics(G, row["root"]))
    # all foundations at once: same rows, sorted by id
    found = brute_foundations(G)
    assert foundations(models, edges) == found
    all_stats = family_metrics(models, edges)
    assert all_stats.get_column("root").to_list() == found
    for row in all_stats.iter_rows(named=True):
        assert_same(row, brute_metrics(G, row["root"]))


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(hubs())
def test_quality_reports_equal_networkx(hub: tuple[pl.DataFrame, pl.DataFrame]):
    models, edges = hub
    G = _graph(models, edges)
    assert self_loops(edges) == sorted(n for n, _ in nx.selfloop_edges(G))
    H = G.copy()
    H.remove_edges_from(list(nx.selfloop_edges(H)))
    exp = sorted(
        (sorted(c) for c in nx.strongly_connected_components(H) if len(c) > 1),
        key=lambda c: (-len(c), c[0]),
    )
    assert cycles(models, edges) == exp
    found = brute_foundations(G)
    desc = {f: nx.descendants(G, f) - {f} for f in found}
    exp_b = sorted(n for n in G if sum(n in d for d in desc.values()) > 1)
    assert sorted(bridges(models, edges).get_column("id").to_list()) == exp_b


@pytest.mark.parametrize("cycle_len", [2, 3, 5])
def test_long_cycles_terminate_and_collapse(cycle_len: int):
    ids = ["r/root"] + [f"c/n{i}" for i in range(cycle_len)] + ["c/tail"]
    models = pl.DataFrame({"id": ids, "relation": [None] + ["finetune"] * (cycle_len + 1)})
    cyc = ids[1:-1]
    par = ["r/root"] + cyc + [cyc[-1]]
    chi = [cyc[0]] + cyc[1:] + [cyc[0], "c/tail"]
    edges = pl.DataFrame({"parent": par, "child": chi})
    row = family_metrics(models, edges, ["r/root"]).row(0, named=True)
    assert row["size"] == cycle_len + 1
    assert row["max_depth"] == cycle_len + 1  # tail hangs off the last cycle node
    assert row["longest_chain"] == 2  # root -> {cycle} -> tail
