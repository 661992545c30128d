"""The synthetic Hub generator: deterministic, realistic shares and shapes, every quirk."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from statistics import median

import networkx as nx
import pytest
from click.testing import CliRunner

from ecograph import synth
from ecograph.cli import main
from ecograph.records import ParsedModel, Relation, normalize_id, parse_model

N = 20_000
SEED = 7


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.SynthSummary]:
    path = tmp_path_factory.mktemp("synth") / "hub.jsonl.gz"
    return path, synth.write_snapshot(path, N, SEED)


@pytest.fixture(scope="module")
def objs(snapshot: tuple[Path, synth.SynthSummary]) -> list[dict]:
    with gzip.open(snapshot[0], "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def parsed(objs: list[dict]) -> dict[str, ParsedModel]:
    return {o["id"]: parse_model(o) for o in objs}


@pytest.fixture(scope="module")
def graph(parsed: dict[str, ParsedModel]) -> nx.DiGraph:
    known = {m.lower(): m for m in parsed}
    g = nx.DiGraph()
    g.add_nodes_from(parsed)
    for p in parsed.values():
        for e in p.edges:
            g.add_edge(known.get(e.parent.lower(), e.parent), e.child)
    return g


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl.gz"
    synth.write_snapshot(a, 3000, 1)
    synth.write_snapshot(b, 3000, 1)
    synth.write_snapshot(c, 3000, 2)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert a.read_bytes()[:2] == b"\x1f\x8b"
    plain = tmp_path / "a.jsonl"
    synth.write_snapshot(plain, 3000, 1)
    assert plain.read_bytes() == gzip.decompress(a.read_bytes())


def test_generate_matches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    synth.write_snapshot(path, 1500, 3)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(synth.generate(1500, 3))


def test_iter_lines_leaves_the_hub_alone_and_summary_names_the_right_rows(
    tmp_path: Path,
) -> None:
    import dataclasses

    import numpy as np

    hub = synth.build(3000, 5)
    before = {f.name: getattr(hub, f.name) for f in dataclasses.fields(hub)}
    before = {k: v.copy() if isinstance(v, np.ndarray) else json.dumps(v, default=str)
              for k, v in before.items()}
    first = [line for chunk in synth.iter_lines(hub, chunk=700) for line in chunk]
    for name, value in before.items():
        now = getattr(hub, name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(now, value), name
        else:
            assert json.dumps(now, default=str) == value, name
    assert not hasattr(hub, "ids")
    assert [line for chunk in synth.iter_lines(hub) for line in chunk] == first  # repeatable
    ids = [json.loads(line)["id"] for line in first]
    assert [synth.line_id(line) for line in first] == ids
    summary = synth.write_snapshot(tmp_path / "s.jsonl", 3000, 5)
    top = synth._top_families(hub)
    assert summary.top_families == [(ids[row], size) for row, size in top]
    src, _ = synth.edge_arrays(hub)
    fan = np.bincount(src, minlength=hub.n)
    assert summary.max_fanout == (ids[int(np.argmax(fan))], int(fan.max()))


def test_every_line_parses_with_valid_unique_ids(objs: list[dict], parsed: dict) -> None:
    assert len(objs) == N == len(parsed)
    ids = [o["id"] for o in objs]
    assert len({i.lower() for i in ids}) == N
    for o in objs:
        assert normalize_id(o["id"]) == o["id"]
        assert o["author"] == o["id"].split("/")[0]
        assert o["lastModified"] >= o["createdAt"]
        assert "baseModels" not in o and "childrenModelCount" not in o
        assert o["downloads"] >= 0 and o["likes"] >= 0


def test_share_with_parent(
    parsed: dict[str, ParsedModel], snapshot: tuple[Path, synth.SynthSummary]
) -> None:
    share = sum(1 for p in parsed.values() if p.record.parents) / N
    assert 0.26 <= share <= 0.30
    assert snapshot[1].with_parent == sum(1 for p in parsed.values() if p.record.parents)


def test_relation_shares(parsed: dict[str, ParsedModel]) -> None:
    rels = Counter(p.record.relation for p in parsed.values() if p.record.parents)
    total = sum(rels.values())
    expected = {
        Relation.ADAPTER: 0.43,
        Relation.FINETUNE: 0.36,
        Relation.QUANTIZED: 0.19,
        Relation.MERGE: 0.02,
    }
    for rel, share in expected.items():
        assert abs(rels[rel] / total - share) <= max(0.03, share * 0.5), (rel, rels)
    assert rels[Relation.UNKNOWN] / total < 0.01  # messy cards without a relation


def test_quantizations_are_almost_always_leaves(parsed: dict, graph: nx.DiGraph) -> None:
    quants = [m for m, p in parsed.items() if p.record.relation is Relation.QUANTIZED]
    with_children = sum(1 for m in quants if graph.out_degree(m) > 0)
    assert with_children / len(quants) < 0.03


def test_merges_have_two_to_five_parents(parsed: dict, graph: nx.DiGraph) -> None:
    merges = [p for p in parsed.values() if p.record.relation is Relation.MERGE]
    counts = Counter(len(p.record.parents) for p in merges)
    assert set(counts) <= {2, 3, 4, 5} and {2, 3} <= set(counts)
    # some merges cross families: they descend from more than one foundation
    roots = [n for n in graph if graph.in_degree(n) == 0 and graph.out_degree(n) and n in parsed]
    reach = Counter(n for r in roots for n in nx.descendants(graph, r))
    bridges = [p.record.id for p in merges if reach[p.record.id] > 1]
    assert bridges


def test_created_after_parents(
    parsed: dict[str, ParsedModel], snapshot: tuple[Path, synth.SynthSummary]
) -> None:
    cycles = late = 0
    for p in parsed.values():
        for parent in p.record.parents:
            q = parsed.get(parent)
            if q is None or parent == p.record.id:
                continue
            if p.record.created_at <= q.record.created_at:
                late += 1
                cycles += p.record.id in q.record.parents  # the back edge of a 2-cycle
    assert late == cycles


def test_heavy_tailed_families_and_depth(
    graph: nx.DiGraph, parsed: dict, snapshot: tuple[Path, synth.SynthSummary]
) -> None:
    roots = [n for n in graph if graph.in_degree(n) == 0 and graph.out_degree(n) and n in parsed]
    sizes = sorted((len(nx.descendants(graph, r)) for r in roots), reverse=True)
    assert sizes[0] >= 20 * median(sizes) and sizes[0] >= 200
    assert sum(sizes[:10]) >= 0.15 * sum(1 for p in parsed.values() if p.record.parents)
    top = dict(snapshot[1].top_families)
    biggest = max(top, key=top.__getitem__)
    assert top[biggest] == sizes[0] == len(nx.descendants(graph, biggest))
    depth = nx.single_source_shortest_path_length(graph, biggest)
    assert max(depth.values()) >= 4
    fan = max(d for _, d in graph.out_degree())
    assert fan == snapshot[1].max_fanout[1] and fan >= 50


def test_heavy_tailed_authors_and_downloads(objs: list[dict], parsed: dict) -> None:
    quant_authors = Counter(
        p.record.author for p in parsed.values() if p.record.relation is Relation.QUANTIZED
    )
    total = sum(quant_authors.values())
    prolific = sum(quant_authors[a] for a in ("mradermacher", "bartowski", "RichardErkhov"))
    assert prolific / total > 0.2
    authors = Counter(o["author"] for o in objs)
    assert authors.most_common(1)[0][1] > 50 * median(authors.values())
    downloads = sorted(o["downloads"] for o in objs)
    assert downloads[-1] > 1000 * max(1, downloads[N // 2])


def test_quirks_present(
    objs: list[dict], parsed: dict[str, ParsedModel], graph: nx.DiGraph
) -> None:
    kinds = Counter(pr.kind for p in parsed.values() for pr in p.problems)
    assert kinds["self_loop"] >= 1 and kinds["duplicate_parent"] >= 1
    assert kinds["non_string_parent"] >= 1
    assert any(len(c) == 2 for c in nx.strongly_connected_components(graph))
    assert nx.number_of_selfloops(graph) >= 1
    missing = {n for n in graph if n not in parsed}
    assert len(missing) >= 2
    card_only = [
        o["cardData"]["base_model"]
        for o in objs
        if "base_model" in o["cardData"] and not any(t.startswith("base_model:") for t in o["tags"])
    ]
    strings = [v for v in card_only if isinstance(v, str)]
    assert any(v.startswith("https://huggingface.co/") for v in strings)
    assert any(v.endswith("/") for v in strings)
    assert any("@" in v for v in strings)
    assert any("," in v for v in strings)
    assert any(isinstance(v, list) and len(v) != len(set(v)) for v in card_only)
    assert any(not isinstance(v, str | list) for v in card_only)
    lower = {m.lower(): m for m in parsed}
    assert any(v in lower and lower[v] != v for v in strings)  # case variant of a real id


def test_tags_carry_both_forms(objs: list[dict]) -> None:
    for o in objs[:5000]:
        bare = [t for t in o["tags"] if t.startswith("base_model:") and t.count(":") == 1]
        typed = [t for t in o["tags"] if t.startswith("base_model:") and t.count(":") == 2]
        assert len(bare) == len(typed)
        assert [t.split(":", 2)[2] for t in typed] == [t.split(":", 1)[1] for t in bare]


def test_cli_writes_a_snapshot(tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl.gz"
    res = CliRunner().invoke(
        main, ["synth", "--models", "2000", "--seed", "5", "-o", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert "Wrote 2,000 models" in res.output and "with a parent" in res.output
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 2000


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        synth.build(0, 1)
    res = CliRunner().invoke(main, ["synth", "--models", "0", "-o", "x.jsonl"])
    assert res.exit_code == 2
