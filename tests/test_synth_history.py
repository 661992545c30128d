"""The synthetic hub shows what its generator put in: real releases, succession, builders'
size preference, licence drift and ungated copies (numbers derived from synth's parameters)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ecograph import synth
from ecograph.dynamics import trends
from ecograph.frames import frames_from_parsed
from ecograph.lineage import size_class
from ecograph.records import parse_model

N = 50_000
SEED = 11
#: months within which a newer release of a vendor and size class overtakes the older one:
#: at a move a builder takes the newest release of the class, and moves are at least
#: 1 - E[loyalty] of community derivatives (all of the quantizers'), while the older release
#: keeps only stays (E[loyalty]) and its existing sub-families' growth; so the newer one
#: leads as soon as its first full month is counted (allow one more for a mid-month release).
LOYALTY_MEAN = synth.LOYALTY[0] / sum(synth.LOYALTY)
OVERTAKE_MONTHS = 2


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return list(synth.generate(N, SEED))


@pytest.fixture(scope="module")
def frames(objs: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return frames_from_parsed(parse_model(o) for o in objs)


@pytest.fixture(scope="module")
def hub() -> synth.SynthHub:
    return synth.build(N, SEED)


def _release_lines(objs: list[dict]) -> dict[str, dict]:
    ids = {r.id for r in synth.RELEASES}
    return {o["id"]: o for o in objs if o["id"] in ids}


def test_releases_at_their_real_dates_with_their_traits(objs: list[dict]) -> None:
    lines = _release_lines(objs)
    assert set(lines) == {r.id for r in synth.RELEASES}  # a 50k hub has room for them all
    for r in synth.RELEASES:
        o = lines[r.id]
        assert o["createdAt"][:10] == r.date, r.id
        assert o["gated"] == (r.gated or False), r.id
        assert o["cardData"]["license"] == r.licence and f"license:{r.licence}" in o["tags"]
        assert o["cardData"].get("license_name", "") == r.licence_name
        assert o["pipeline_tag"] == synth.ARCHS[r.arch][0]
        parents = [t.split(":", 1)[1] for t in o["tags"]
                   if t.startswith("base_model:") and t.count(":") == 1]
        assert parents == ([r.parent] if r.parent else []), r.id


def test_derivatives_follow_their_parents_release_quickly(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    models, edges = frames
    created = dict(zip(models["id"].to_list(), models["created_at"].to_list(), strict=True))
    rel = dict(zip(models["id"].to_list(), models["relation"].to_list(), strict=True))
    llm = {r.id for r in synth.RELEASES if synth.ARCHS[r.arch][2]}
    delays: dict[str, list[float]] = defaultdict(list)
    for parent, child in edges.select("parent", "child").iter_rows():
        if parent in llm and created.get(child) is not None:
            days = (created[child] - created[parent]).total_seconds() / 86_400
            assert days > 0
            delays[rel[child] or "unknown"].append(days)
    med = {k: float(np.median(v)) for k, v in delays.items() if len(v) >= 30}
    # quantizers move at every model, to the newest release: they are the fastest
    assert med["quantized"] == min(med.values())
    assert med["quantized"] < 120 and med["finetune"] < 365


def _series_by_class(models: pl.DataFrame) -> pl.DataFrame:
    """A lineages frame whose series is "<series> <size class>" for the LLM releases."""
    known = set(models["id"].to_list())
    rows = [
        (r.id, f"{r.series} {size_class(r.params_b)}")
        for r in synth.RELEASES
        if r.id in known and not r.parent and synth.ARCHS[r.arch][2]
    ]
    return pl.DataFrame(rows, schema={"root": pl.Utf8, "series": pl.Utf8}, orient="row")


def test_newer_series_overtake_older_ones(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    models, edges = frames
    lineages = _series_by_class(models)
    monthly = trends(models, edges, by="series", period="month", lineages=lineages)
    new = {(p, g): v for p, g, v in monthly.select("period", "group", "new").iter_rows()}
    # consecutive releases of one vendor in one size class (what builders move along)
    chains: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in synth.RELEASES:
        if r.parent or not synth.ARCHS[r.arch][2]:
            continue
        label = f"{r.series} {size_class(r.params_b)}"
        key = (r.vendor, str(size_class(r.params_b)))
        if label not in [x for _, x in chains[key]]:
            chains[key].append((r.date, label))
    checked = 0
    for key, chain in chains.items():
        for (_, old), (date, newer) in zip(chain, chain[1:], strict=False):
            months = pl.date_range(
                pl.Series([date]).str.to_date()[0], pl.Series(["2025-10-31"]).str.to_date()[0],
                "1mo", eager=True,
            ).dt.strftime("%Y-%m").to_list()[: OVERTAKE_MONTHS + 1]
            before = [v for (p, g), v in new.items() if g == old and p < months[0]]
            if sum(before[-3:]) < 15:  # fewer than 5 a month: too small to say anything
                continue
            checked += 1
            assert any(new.get((m, newer), 0) > new.get((m, old), 0) for m in months), (
                key, old, newer, [(m, new.get((m, old)), new.get((m, newer))) for m in months])
    assert checked >= 6


def test_authors_prefer_a_size(hub: synth.SynthHub) -> None:
    params = {k: r.params_b for k, r in enumerate(synth.RELEASES)}
    cls_of_row = {row: size_class(params[k]) for row, k in hub.famous.items()
                  if k < len(synth.RELEASES)}
    direct = [
        (int(a), cls_of_row[int(p)])
        for a, p in zip(hub.author_rank.tolist(), hub.parent.tolist(), strict=True)
        if a >= 0 and p in cls_of_row
    ]
    by_author: dict[int, list[str | None]] = defaultdict(list)
    for a, c in direct:
        by_author[a].append(c)
    many = {a: cs for a, cs in by_author.items() if len(cs) >= 3}
    assert len(many) >= 50

    def modal_share(groups: list[list[str | None]]) -> float:
        return float(np.mean([Counter(g).most_common(1)[0][1] / len(g) for g in groups]))

    observed = modal_share(list(many.values()))
    # at a move the class is the preferred one with probability SIZE_FAITH (or, where the
    # vendor lacks it, a neighbour); between moves the class stays: most derivatives of an
    # author fall in one class
    assert observed >= synth.SIZE_FAITH - 0.15
    # the same derivatives dealt to authors at random fall far less often in one class
    flat = [c for cs in many.values() for c in cs]
    rng = np.random.default_rng(0)
    perm = [flat[i] for i in rng.permutation(len(flat))]
    cut = np.cumsum([len(cs) for cs in many.values()])[:-1]
    shuffled = modal_share([list(x) for x in np.split(np.array(perm, dtype=object), cut)])
    assert observed >= shuffled + 0.1


def _licence(o: dict) -> str | None:
    card = o["cardData"].get("license")
    if card:
        return str(card).strip().lower()
    tags = sorted({t[8:].strip().lower() for t in o["tags"] if t.startswith("license:")})
    return "|".join(tags) or None


def test_licence_changes_at_the_rate_put_in(objs: list[dict]) -> None:
    lic = {o["id"]: _licence(o) for o in objs}
    parsed = {o["id"]: parse_model(o) for o in objs}
    known = changed = 0
    to: Counter[str] = Counter()
    for mid, p in parsed.items():
        if lic[mid] is None:
            continue
        parents = [lic[x] for x in p.record.parents if x in lic and x != mid and lic[x]]
        if not parents:
            continue
        known += 1
        if all(lic[mid] != x for x in parents):
            changed += 1
            to[str(lic[mid])] += 1
    rate = changed / known
    # a child picks its own licence with probability LICENCE_CHANGE; it differs from its
    # parent's unless it drew the same (apache-2.0 is drawn 45% of the time)
    assert 0.10 <= rate <= 0.60
    assert 0.4 * synth.LICENCE_CHANGE <= rate <= synth.LICENCE_CHANGE
    assert (to["apache-2.0"] + to["mit"] + to["other"]) / changed >= 0.6
    derivatives = [m for m, p in parsed.items() if p.record.parents]
    undeclared = sum(lic[m] is None for m in derivatives) / len(derivatives)
    assert abs(undeclared - synth.LICENCE_UNDECLARED) < 0.03


def test_gated_foundations_have_ungated_copies(objs: list[dict]) -> None:
    by_id = {o["id"]: o for o in objs}
    gated = [r for r in synth.RELEASES if r.gated and not r.parent]
    names = Counter(mid.split("/", 1)[1] for mid in by_id)
    reuploaded = 0
    for r in gated:
        children = [
            o for o in objs
            if f"base_model:{r.id}" in o["tags"] and o["gated"] is False
        ]
        assert children, r.id  # ungated members
        reuploaded += names[r.id.split("/", 1)[1]] > 1  # the same name, another author
    assert reuploaded >= len(gated) // 2
    kinds = Counter(
        (o["library_name"], "gguf" in o["tags"]) for o in objs
        if "-GGUF" in o["id"] and any(t.startswith("base_model:quantized:") for t in o["tags"])
    )
    assert set(kinds) == {("gguf", True)}
    assert all(
        o["library_name"] in ("peft", "diffusers")
        for o in objs if any(t.startswith("base_model:adapter:") for t in o["tags"])
    )


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    synth.write_snapshot(a, 20_000, SEED)
    synth.write_snapshot(b, 20_000, SEED)
    assert a.read_bytes() == b.read_bytes()
    first = json.loads(a.read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == next(iter(synth.generate(20_000, SEED)))["id"]
