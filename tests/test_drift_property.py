"""Property test: :func:`ecograph.drift.drift` and :func:`changed_members` against a
plain-Python brute force (dicts and a BFS per root) on random hubs."""

from __future__ import annotations

from collections import Counter, deque

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ecograph.drift import TRAITS, changed_members, drift
from ecograph.licenses import (
    NON_COMMERCIAL,
    PERMISSIVE,
    RESTRICTED,
    license_class,
    normalize_license,
)

IDS = ["a/0", "a/1", "B/2", "b/3", "c/4", "c/10", "d/5", "_e/6", "e/7", "f/8", "F/9"]
LICENSES = [None, "mit", "MIT", " apache-2.0", "llama3", "other", "cc-by-nc-4.0", "gemma",
            "junk"]
CARDS = st.none() | st.lists(st.sampled_from(["Llama3", "mit", "apache-2.0", " "]),
                             max_size=2)
TAGS = st.lists(st.sampled_from(["license:mit", "license:LLAMA3", "region:us",
                                 "license:gemma"]), max_size=2)
GATED = [None, "auto", "manual", "false", "False", "true"]
PIPELINES = [None, "", "text-generation", "Text-Generation", "feature-extraction"]
LIBRARIES = [None, "transformers", "gguf", " PEFT", "peft"]

_ROW = st.fixed_dictionaries({
    "has_row": st.sampled_from([True, True, True, False]),  # edges may name unstored ids
    "status": st.sampled_from(["ok", "ok", "ok", "missing", None]),
    "license": st.sampled_from(LICENSES),
    "card_license": CARDS,
    "tags": TAGS,
    "gated": st.sampled_from(GATED),
    "pipeline_tag": st.sampled_from(PIPELINES),
    "library_name": st.sampled_from(LIBRARIES),
})


@st.composite
def hubs(draw):
    n = draw(st.integers(1, len(IDS)))
    ids = IDS[:n]
    rows = {i: draw(_ROW) for i in ids}
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=24))
    return ids, rows, pairs


def _frames(ids, rows, pairs):
    have = [i for i in ids if rows[i]["has_row"]]
    models = pl.DataFrame(
        {
            "id": have,
            **{c: [rows[i][c] for i in have] for c in
               ("status", "license", "card_license", "tags", "gated", "pipeline_tag",
                "library_name")},
        },
        schema={"id": pl.Utf8, "status": pl.Utf8, "license": pl.Utf8,
                "card_license": pl.List(pl.Utf8), "tags": pl.List(pl.Utf8),
                "gated": pl.Utf8, "pipeline_tag": pl.Utf8, "library_name": pl.Utf8},
    )
    edges = pl.DataFrame({"parent": [p for p, _ in pairs], "child": [c for _, c in pairs]},
                         schema={"parent": pl.Utf8, "child": pl.Utf8})
    return models, edges


# --------------------------------------------------------------------------- brute force


def _clean(value):
    return (value.strip().lower() or None) if isinstance(value, str) else None


def _values(ids, rows):
    """{trait: {id: value or None}} for every id, as DESIGN §9 words it."""
    out = {t: {} for t in TRAITS}
    for i in ids:
        row = rows[i]
        if not row["has_row"]:
            for t in TRAITS:
                out[t][i] = None
            continue
        out["license"][i] = (normalize_license(row["card_license"], row["tags"])
                             or normalize_license(row["license"]))
        exists = row["status"] != "missing"
        out["gated"][i] = (_clean(row["gated"]) or "false") if exists else None
        out["pipeline"][i] = _clean(row["pipeline_tag"])
        out["library"][i] = _clean(row["library_name"])
    return out


class Brute:
    def __init__(self, ids, rows, pairs):
        self.nodes = sorted({x for pair in pairs for x in pair})
        self.parents = {i: set() for i in ids}
        self.children = {i: set() for i in ids}
        for p, c in pairs:
            if p != c:
                self.parents[c].add(p)
                self.children[p].add(c)
        self.rows = rows
        self.values = _values(ids, rows)

    def foundations(self):
        return sorted(
            i for i in self.nodes
            if self.rows[i]["has_row"] and self.rows[i]["status"] != "missing"
            and not self.parents[i] and self.children[i]
        )

    def depths(self, root):
        depth = {root: 0}
        queue = deque([root])
        while queue:
            x = queue.popleft()
            for c in sorted(self.children[x]):
                if c not in depth:
                    depth[c] = depth[x] + 1
                    queue.append(c)
        return depth

    def family(self, root):
        return [x for x in self.depths(root) if x != root]

    def known_parent_values(self, trait, node):
        val = self.values[trait]
        return {val[p] for p in self.parents[node] if val[p] is not None}

    def changes(self, trait, node):
        value = self.values[trait][node]
        known = self.known_parent_values(trait, node)
        return value is not None and bool(known) and value not in known

    def row(self, root, trait):
        fam = self.family(root)
        out = {"root": root}
        for t in TRAITS:
            out[f"{t}_known"] = sum(self.values[t][x] is not None for x in fam)
            out[f"{t}_changed"] = sum(self.changes(t, x) for x in fam)
        lic = self.values["license"]
        out["relicensed_permissive"] = sum(
            self.changes("license", x)
            and license_class(lic[x]) == PERMISSIVE
            and any(license_class(v) in (RESTRICTED, NON_COMMERCIAL)
                    for v in self.known_parent_values("license", x))
            for x in fam
        )
        gated = self.values["gated"]
        if gated[root] is None:
            out["ungated_copies"] = None
        elif gated[root] == "false":
            out["ungated_copies"] = 0
        else:
            out["ungated_copies"] = sum(gated[x] == "false" for x in fam)
        counts = Counter(
            (" + ".join(sorted(self.known_parent_values(trait, x))), self.values[trait][x])
            for x in fam if self.changes(trait, x)
        )
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        out["transitions"] = [{"from": f, "to": t, "count": n} for (f, t), n in top]
        return out

    def members(self, root, trait):
        depth = self.depths(root)
        out = []
        for x in self.family(root):
            if not self.changes(trait, x):
                continue
            path = [x]
            while path[-1] != root:
                d = depth[path[-1]]
                path.append(min(p for p in self.parents[path[-1]] if depth.get(p) == d - 1))
            out.append((x, depth[x], " + ".join(sorted(self.known_parent_values(trait, x))),
                        self.values[trait][x], path[::-1]))
        return sorted(out, key=lambda r: (r[1], r[0]))


# --------------------------------------------------------------------------- properties


@settings(max_examples=100, deadline=None)
@given(hub=hubs(), trait=st.sampled_from(TRAITS))
def test_drift_of_every_foundation_matches_brute_force(hub, trait):
    ids, rows, pairs = hub
    models, edges = _frames(ids, rows, pairs)
    brute = Brute(ids, rows, pairs)
    got = drift(models, edges, trait=trait)
    assert got["root"].to_list() == brute.foundations()
    for row in got.iter_rows(named=True):
        assert row == brute.row(row["root"], trait)


@settings(max_examples=100, deadline=None)
@given(hub=hubs(), trait=st.sampled_from(TRAITS), data=st.data())
def test_drift_and_changed_members_of_given_roots_match_brute_force(hub, trait, data):
    ids, rows, pairs = hub
    models, edges = _frames(ids, rows, pairs)
    have = [i for i in ids if rows[i]["has_row"]]
    if not have:
        return
    roots = data.draw(st.lists(st.sampled_from(have), min_size=1, max_size=4, unique=True))
    brute = Brute(ids, rows, pairs)
    got = drift(models, edges, roots, trait=trait)
    assert got["root"].to_list() == roots
    for row in got.iter_rows(named=True):
        assert row == brute.row(row["root"], trait)
    root = roots[0]
    assert changed_members(models, edges, root, trait).rows() == brute.members(root, trait)


@st.composite
def dense_hubs(draw):
    """Few nodes, many edges: merges reached through several shortest paths are common."""
    n = draw(st.integers(3, 7))
    ids = IDS[:n]
    rows = {i: draw(_ROW) for i in ids}
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)),
                          min_size=n, max_size=30))
    return ids, rows, pairs


@settings(max_examples=100, deadline=None)
@given(hub=dense_hubs(), trait=st.sampled_from(TRAITS))
def test_changed_members_of_every_root_match_brute_force(hub, trait):
    ids, rows, pairs = hub
    models, edges = _frames(ids, rows, pairs)
    brute = Brute(ids, rows, pairs)
    for root in (i for i in ids if rows[i]["has_row"]):
        got = changed_members(models, edges, root, trait).rows()
        assert got == brute.members(root, trait)
