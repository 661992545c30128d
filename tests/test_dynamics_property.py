"""trends and response_times against a plain-Python brute force on random hubs."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecograph.dynamics import response_times, trends
from ecograph.lineage import lineages
from ecograph.metrics import RELATION_KEYS

ORGS = ["meta-llama", "Qwen", "acme", "google"]
SIZES = ["0.5B", "3B", "7B", "13B", "x"]
RELATIONS = [None, "finetune", "quantized", "adapter", "merge"]
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


@st.composite
def hubs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(1, 18))
    ids = [
        f"{draw(st.sampled_from(ORGS))}/m{i}-{draw(st.sampled_from(SIZES))}" for i in range(n)
    ]
    # creation times in hours over ~2 years (some missing), so months and quarters vary
    hours = [draw(st.one_of(st.none(), st.integers(0, 24 * 700))) for _ in range(n)]
    rows = [
        (
            ids[i],
            None if hours[i] is None else EPOCH + timedelta(hours=hours[i]),
            draw(st.sampled_from(RELATIONS)),
            draw(st.sampled_from(["ok", "ok", "ok", "missing"])),
        )
        for i in range(n)
    ]
    models = pl.DataFrame(
        rows,
        schema={"id": pl.Utf8, "created_at": pl.Datetime("us", "UTC"), "relation": pl.Utf8,
                "status": pl.Utf8},
        orient="row",
    )
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          max_size=3 * n))
    edges = pl.DataFrame(
        {"parent": [ids[p] for p, _ in pairs], "child": [ids[c] for _, c in pairs]},
        schema={"parent": pl.Utf8, "child": pl.Utf8},
    )
    return models, edges


def _graph(models: pl.DataFrame, edges: pl.DataFrame):
    info = {r["id"]: r for r in models.iter_rows(named=True)}
    kids: dict[str, set[str]] = defaultdict(set)
    parents: dict[str, set[str]] = defaultdict(set)
    for p, c in edges.select("parent", "child").iter_rows():
        if p != c:
            kids[p].add(c)
            parents[c].add(p)

    def descendants(root: str) -> set[str]:
        seen: set[str] = set()
        stack = [root]
        while stack:
            for k in kids[stack.pop()]:
                if k not in seen:
                    seen.add(k)
                    stack.append(k)
        seen.discard(root)
        return seen

    found = sorted(
        f for f in info
        if info[f]["status"] != "missing" and not parents[f] and kids[f]
    )
    return info, found, descendants


def _period(moment: datetime, period: str) -> str:
    if period == "quarter":
        return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year:04d}-{moment.month:02d}"


def brute_trends(models, edges, by, period, relation):
    info, found, descendants = _graph(models, edges)
    column = {"vendor": "vendor", "series": "series", "size": "size_class"}.get(by)
    if column:
        lin = lineages(models, found)
        group_of = {r: (g if g is not None else "unknown")
                    for r, g in lin.select("root", column).iter_rows()}
    else:
        group_of = {f: f for f in found}
    groups: dict[str, set[str]] = defaultdict(set)
    for f in found:
        for d in descendants(f):
            groups[d].add(group_of[f])
    new: dict[tuple[str, str], float] = defaultdict(float)
    touching: dict[tuple[str, str], int] = defaultdict(int)
    for d, gs in groups.items():
        row = info.get(d)
        if row is None or row["status"] == "missing" or row["created_at"] is None:
            continue
        if relation is not None and (row["relation"] or "unknown") != relation:
            continue
        p = _period(row["created_at"], period)
        for g in gs:
            new[(p, g)] += 1 / len(gs)
            touching[(p, g)] += 1
    totals: dict[str, float] = defaultdict(float)
    for (p, _), v in new.items():
        totals[p] += v
    share = {k: v / totals[k[0]] for k, v in new.items()}
    conc: dict[str, float] = defaultdict(float)
    for (p, _), s in share.items():
        conc[p] += s * s
    leader = {}
    for (p, g), _ in sorted(share.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])):
        leader.setdefault(p, g)
    return {
        k: (new[k], touching[k], share[k], leader[k[0]] == k[1], conc[k[0]]) for k in new
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hubs(),
    st.sampled_from(["vendor", "series", "root", "size"]),
    st.sampled_from(["month", "quarter"]),
    st.sampled_from([None, "finetune", "merge", "unknown"]),
)
def test_trends_match_brute_force(hub, by, period, relation) -> None:
    models, edges = hub
    if models.get_column("created_at").is_null().all():
        return  # an error case, tested in test_dynamics
    got = trends(models, edges, by=by, period=period, relation=relation)
    want = brute_trends(models, edges, by, period, relation)
    assert got.height == len(want)
    for p, g, n, t, s, _, c in got.iter_rows():
        wn, wt, ws, _, wc = want[(p, g)]
        assert n == pytest.approx(wn) and t == wt and s == pytest.approx(ws)
        assert c == pytest.approx(wc)
    for p in {k[0] for k in want}:
        shares = [v[2] for k, v in want.items() if k[0] == p]
        leaders = got.filter((pl.col("period") == p) & pl.col("leader"))
        assert leaders.height == 1
        # the largest share leads (ties, up to float noise, go to the smallest name)
        if sum(abs(s - max(shares)) < 1e-9 for s in shares) == 1:
            assert want[(p, leaders.item(0, "group"))][3]
    assert got.get_column("period").to_list() == sorted(got.get_column("period").to_list())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hubs(), st.data())
def test_response_times_match_brute_force(hub, data) -> None:
    models, edges = hub
    ids = models.get_column("id").to_list()
    roots = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
    got = response_times(models, edges, roots)
    info, _, descendants = _graph(models, edges)
    assert got.get_column("root").to_list() == roots
    for row in got.iter_rows(named=True):
        root_time = info[row["root"]]["created_at"]
        first: dict[str, float | None] = dict.fromkeys(RELATION_KEYS)
        within = dict.fromkeys(RELATION_KEYS, 0)
        for d in descendants(row["root"]):
            rec = info.get(d)
            if rec is None or rec["created_at"] is None or root_time is None:
                continue
            rel = rec["relation"] if rec["relation"] in RELATION_KEYS else "unknown"
            days = (rec["created_at"] - root_time) / timedelta(days=1)
            if first[rel] is None or days < first[rel]:
                first[rel] = days
            if 0 <= days <= 30:
                within[rel] += 1
        assert row["first_by_relation_days"] == {
            k: (pytest.approx(v) if v is not None else None) for k, v in first.items()}
        assert row["by_relation_30d"] == (None if root_time is None else within)
