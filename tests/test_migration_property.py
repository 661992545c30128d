"""author_activity, migration (retention, flows, top-N folding) and succession against a
plain-Python brute force (dict-based descent, sets of authors) on random hubs."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecograph.errors import InputError
from ecograph.lineage import lineages
from ecograph.migration import OTHER, author_activity, migration, succession

ORGS = ["meta-llama", "Qwen", "acme", "u1", "U1", "google"]
NAMES = ["Llama-2", "Llama-3", "Mistral", "Qwen2"]
SIZES = ["0.5B", "7B", "13B", "x"]
AUTHORS = [None, None, None, "u1", "U1 ", "acme", "meta-llama", "zed", ""]
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


@st.composite
def hubs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(2, 22))
    ids: list[str] = []
    for i in range(n):
        if draw(st.integers(0, 12)) == 0:
            ids.append(f"legacy{i}")  # no namespace
        else:
            ids.append(f"{draw(st.sampled_from(ORGS))}/{draw(st.sampled_from(NAMES))}-"
                       f"{draw(st.sampled_from(SIZES))}")
    ids = list(dict.fromkeys(ids))
    n = len(ids)
    # creation times in hours over ~14 months (some missing): months, quarters and the
    # 30/90-day windows of succession all vary
    hours = [draw(st.one_of(st.none(), st.integers(0, 24 * 420))) for _ in range(n)]
    rows = [
        (
            ids[i],
            draw(st.sampled_from(AUTHORS)),
            None if hours[i] is None else EPOCH + timedelta(hours=hours[i]),
            draw(st.sampled_from(["ok", "ok", "ok", "ok", "missing"])),
        )
        for i in range(n)
    ]
    models = pl.DataFrame(
        rows,
        schema={"id": pl.Utf8, "author": pl.Utf8, "created_at": pl.Datetime("us", "UTC"),
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


FOUNDATION_IDS = ["meta-llama/Llama-2-7b", "meta-llama/Meta-Llama-3-8B",
                  "meta-llama/Llama-3.1-8B", "facebook/Llama-3.2-1B", "Qwen/Qwen2-7B",
                  "zed/Llama-2-13b"]


BOUNDS = [-91, -90, -89, -31, -30, -29, -1, 0, 1, 29, 30, 31, 88, 89, 90]


@st.composite
def release_hubs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hubs dense around releases: a few foundations of few vendors (two series each), and
    derivatives created within weeks of them, so the 30- and 90-day windows of succession
    hold something."""
    roots = draw(st.lists(st.sampled_from(FOUNDATION_IDS), min_size=2, max_size=5,
                          unique=True))
    release = {f: draw(st.integers(0, 150)) for f in roots}
    rows = [(f, None if draw(st.integers(0, 9)) == 0 else f.split("/")[0],
             EPOCH + timedelta(days=release[f]), "ok") for f in roots]
    edges = []
    ids = list(roots)
    for i in range(draw(st.integers(1, 40))):
        mid = f"{draw(st.sampled_from(['a', 'b', 'c', 'D', 'd', 'meta-llama', 'Qwen']))}/m{i}"
        parents = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True))
        # near any release, often exactly on a window bound (R-91 .. R+90)
        anchor = release[draw(st.sampled_from(roots))]
        day = anchor + draw(st.one_of(st.sampled_from(BOUNDS), st.integers(-100, 120)))
        rows.append((mid, draw(st.sampled_from([None, None, "a", "b"])),
                     EPOCH + timedelta(days=day, hours=draw(st.integers(0, 23))), "ok"))
        edges += [(p, mid) for p in parents]
        ids.append(mid)
    models = pl.DataFrame(
        rows,
        schema={"id": pl.Utf8, "author": pl.Utf8, "created_at": pl.Datetime("us", "UTC"),
                "status": pl.Utf8},
        orient="row",
    )
    return models, pl.DataFrame(edges, schema=["parent", "child"], orient="row")


# --------------------------------------------------------------------------- brute force


class Brute:
    """DESIGN §8 read literally, one model at a time."""

    def __init__(self, models: pl.DataFrame, edges: pl.DataFrame, by: str) -> None:
        self.info = {r["id"]: r for r in models.iter_rows(named=True)}
        kids: dict[str, set[str]] = defaultdict(set)
        parents: dict[str, set[str]] = defaultdict(set)
        for p, c in edges.select("parent", "child").iter_rows():
            if p != c:
                kids[p].add(c)
                parents[c].add(p)
        self.found = sorted(f for f in self.info if self.info[f]["status"] != "missing"
                            and not parents[f] and kids[f])
        self.lineage = {r["root"]: r for r in lineages(models, self.found).iter_rows(
            named=True)}
        column = {"vendor": "vendor", "series": "series", "size": "size_class"}.get(by)
        self.group_of = {
            f: (f if column is None else (self.lineage[f][column] or "unknown"))
            for f in self.found
        }
        self.descendants: dict[str, set[str]] = {}
        for f in self.found:  # breadth-first, dict-based
            seen: set[str] = set()
            queue = [f]
            while queue:
                node = queue.pop(0)
                for k in kids[node]:
                    if k not in seen:
                        seen.add(k)
                        queue.append(k)
            seen.discard(f)
            self.descendants[f] = seen
        # derivatives: dated models (not missing) below a foundation
        self.derivs = sorted(
            d for d in set().union(*self.descendants.values()) if d in self.info
            and self.info[d]["status"] != "missing" and self.info[d]["created_at"] is not None
        ) if self.found else []

    def author(self, mid: str) -> str | None:
        name = self.info[mid]["author"]
        if name is not None and name.strip():
            return name.strip().lower()
        if "/" in mid:
            return mid.split("/")[0].strip().lower() or None
        return None

    def publishers(self, f: str) -> set[str]:
        out = set()
        if self.info[f]["author"] is not None:
            out.add(self.info[f]["author"].strip().lower())
        if "/" in f:
            out.add(f.split("/")[0].strip().lower())
        return out

    def roots_of(self, d: str) -> list[str]:
        return [f for f in self.found if d in self.descendants[f]]


def period_index(moment: datetime, period: str) -> int:
    return moment.year * 12 + moment.month - 1 if period == "month" else (
        moment.year * 4 + (moment.month - 1) // 3)


def period_label(index: int, period: str) -> str:
    if period == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    return f"{index // 4:04d}-Q{index % 4 + 1}"


def brute_activity(b: Brute, period: str, top: int | None = None):
    """A[(group, t)] -> {author: derivatives}, Active[t] -> {author: derivatives}."""
    group_pubs: dict[str, set[str]] = defaultdict(set)
    for f in b.found:
        group_pubs[b.group_of[f]] |= b.publishers(f)
    members: dict[tuple[str, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    active: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in b.derivs:
        who = b.author(d)
        if who is None:
            continue
        t = period_index(b.info[d]["created_at"], period)
        active[t][who] += 1
        for g in {b.group_of[f] for f in b.roots_of(d)}:
            if who not in group_pubs[g]:
                members[(g, t)][who].add(d)
    if top is not None:
        reach: dict[str, set[str]] = defaultdict(set)
        for (g, _), authors in members.items():
            reach[g] |= set(authors)
        ranked = sorted(reach, key=lambda g: (-len(reach[g]), g))[:top]
        if len(ranked) < len(reach):
            folded: dict[tuple[str, int], dict[str, set[str]]] = defaultdict(
                lambda: defaultdict(set))
            for (g, t), authors in members.items():
                target = g if g in ranked else OTHER
                for who, ds in authors.items():
                    folded[(target, t)][who] |= ds
            members = folded
    return members, active


def brute_migration(b: Brute, period: str, top: int | None):
    members, active = brute_activity(b, period, top)
    if not active or min(active) == max(active):
        return None
    groups = sorted({g for g, _ in members})
    sets = {k: set(v) for k, v in members.items()}
    retention, flows = {}, {}
    for t in range(min(active), max(active)):
        for g in groups:
            here = sets.get((g, t), set())
            if not here:
                continue
            published = here & set(active.get(t + 1, {}))
            again = here & sets.get((g, t + 1), set())
            retention[(period_label(t, period), g)] = (len(published), len(again))
            for h in groups:
                moved = {a for a in published - again if a in sets.get((h, t + 1), set())}
                if moved and h != g:
                    flows[(period_label(t, period), g, h)] = len(moved)
    return retention, flows


def brute_succession(b: Brute):
    info = b.info
    key_of = {f: (b.lineage[f]["vendor"], b.lineage[f]["series"]) for f in b.found}
    release: dict[tuple[str, str], datetime] = {}
    for f in b.found:
        when = info[f]["created_at"]
        if when is not None and (key_of[f] not in release or when < release[key_of[f]]):
            release[key_of[f]] = when
    series_pubs: dict[tuple[str, str], set[str]] = defaultdict(set)
    vendor_pubs: dict[str, set[str]] = defaultdict(set)
    for f in b.found:
        series_pubs[key_of[f]] |= b.publishers(f)
        vendor_pubs[key_of[f][0]] |= b.publishers(f)
    keys_of = {d: {key_of[f] for f in b.roots_of(d)} for d in b.derivs}
    day = {d: info[d]["created_at"].date() for d in b.derivs}
    horizon = max(r["created_at"] for r in info.values() if r["created_at"] is not None).date()
    new: dict[tuple[str, tuple[str, str]], Fraction] = defaultdict(Fraction)
    for d, ks in keys_of.items():
        for k in ks:
            new[(f"{day[d]:%Y-%m}", k)] += Fraction(1, len(ks))
    months = sorted({m for m, _ in new})

    def on(key, lo: date, hi: date, *, authors: bool) -> set[str]:
        out = set()
        for d, ks in keys_of.items():
            if key in ks and lo <= day[d] <= hi:
                who = b.author(d)
                if not authors:
                    out.add(d)
                elif who is not None and who not in series_pubs[key]:
                    out.add(who)
        return out

    rows = {}
    by_vendor: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for k in release:
        by_vendor[k[0]].append(k)
    for vendor, keys in by_vendor.items():
        keys.sort(key=lambda k: (release[k], k[1]))
        for old, newer in zip(keys, keys[1:], strict=False):
            r = release[newer].date()
            crossover = next((m for m in months if m >= f"{r:%Y-%m}"
                              and new[(m, newer)] > new[(m, old)]), None)
            before = len(on(old, r - timedelta(30), r - timedelta(1), authors=False))
            half = None
            if before:
                for d in range(1, (horizon - r).days + 1):
                    trailing = on(old, r + timedelta(d - 29), r + timedelta(d), authors=False)
                    if 2 * len(trailing) < before:
                        half = d
                        break
            builders = on(old, r - timedelta(90), r - timedelta(1), authors=True)
            moved = on(newer, r, r + timedelta(89), authors=True)
            elsewhere = set()
            for d, ks in keys_of.items():
                who = b.author(d)
                if who is None or not r <= day[d] <= r + timedelta(89):
                    continue
                if any(k[0] != vendor and who not in vendor_pubs[k[0]] for k in ks):
                    elsewhere.add(who)
            migrated = len(moved & builders) / len(builders) if builders else None
            defected = len((elsewhere - moved) & builders) / len(builders) if builders else None
            rows[(vendor, old[1], newer[1])] = (
                release[old].date(), r, (r - release[old].date()).days, crossover, half,
                migrated, defected)
    return rows


# --------------------------------------------------------------------------- properties


def _dated(models: pl.DataFrame) -> bool:
    return not models.get_column("created_at").is_null().all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hubs(), st.sampled_from(["vendor", "series", "root", "size"]),
       st.sampled_from(["month", "quarter"]))
def test_author_activity_matches_brute_force(hub, by, period) -> None:
    models, edges = hub
    if not _dated(models):
        with pytest.raises(InputError, match="no creation dates"):
            author_activity(models, edges, by=by, period=period)
        return
    members, active = brute_activity(Brute(models, edges, by), period)
    if not active:  # nobody to attribute: an error, not an empty table
        with pytest.raises(InputError, match="nothing to compare"):
            author_activity(models, edges, by=by, period=period)
        return
    got = author_activity(models, edges, by=by, period=period, with_active=True)
    want = {(who, period_label(t, period), g): len(ds)
            for (g, t), authors in members.items() for who, ds in authors.items()}
    want |= {(who, period_label(t, period), None): n
             for t, authors in active.items() for who, n in authors.items()}
    assert {(a, p, g): n for a, p, g, n in got.iter_rows()} == want
    assert got.height == len(want)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(hubs(), release_hubs()), st.sampled_from(["vendor", "series", "root", "size"]),
       st.sampled_from(["month", "quarter"]), st.sampled_from([None, None, 1, 2]))
def test_migration_matches_brute_force(hub, by, period, top) -> None:
    models, edges = hub
    if not _dated(models):
        with pytest.raises(InputError, match="no creation dates"):
            migration(models, edges, by=by, period=period, top=top)
        return
    want = brute_migration(Brute(models, edges, by), period, top)
    if want is None:  # no authored derivative, or a single period
        with pytest.raises(InputError, match="nothing to compare"):
            migration(models, edges, by=by, period=period, top=top)
        return
    got = migration(models, edges, by=by, period=period, top=top)
    retention, flows = want
    assert {(p, g): (n, r) for p, g, n, r, _ in got.retention.iter_rows()} == retention
    assert got.retention.height == len(retention)
    for _, _, n, r, share in got.retention.iter_rows():
        assert share == (None if n == 0 else pytest.approx(r / n))
    assert {(p, g, h): n for p, g, h, n in got.flows.iter_rows()} == flows
    assert got.flows.height == len(flows)
    # sorted as documented
    assert got.retention.rows() == sorted(got.retention.rows(), key=lambda r: (r[0], -r[2],
                                                                                 r[1]))
    assert got.flows.rows() == sorted(got.flows.rows(), key=lambda r: (r[0], r[1], -r[3],
                                                                         r[2]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(hubs(), release_hubs(), release_hubs()))
def test_succession_matches_brute_force(hub) -> None:
    models, edges = hub
    if not _dated(models):
        with pytest.raises(InputError, match="no creation dates"):
            succession(models, edges)
        return
    want = brute_succession(Brute(models, edges, "series"))
    if not want:
        with pytest.raises(InputError, match="no vendor has two dated series"):
            succession(models, edges)
        return
    got = succession(models, edges)
    rows = {(v, o, n): rest for v, o, n, *rest in got.iter_rows()}
    assert set(rows) == set(want)
    for key, (old_day, new_day, gap, cross, half, migrated, defected) in want.items():
        g_old, g_new, g_gap, g_cross, g_half, g_migrated, g_defected = rows[key]
        assert (g_old, g_new, g_gap, g_cross, g_half) == (old_day, new_day, gap, cross, half)
        assert g_migrated == (None if migrated is None else pytest.approx(migrated))
        assert g_defected == (None if defected is None else pytest.approx(defected))
