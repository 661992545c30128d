"""The bundled small Hub fixture: parses cleanly, carries every quirk, matches its facts.

The expected facts in ``fixtures/small_hub_expected.json`` were written from the design of
``fixtures/make_small_hub.py``; here they are recomputed independently with networkx over the
edges :func:`ecograph.records.parse_model` yields.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from ecograph.records import EdgeSource, ParsedModel, Relation, parse_model

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"
EXPECTED = ROOT / "fixtures" / "small_hub_expected.json"
PACKAGE_COPY = ROOT / "ecograph" / "data" / "small_hub.jsonl"
RELS = ["finetune", "quantized", "adapter", "merge", "unknown"]


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def parsed(objs: list[dict]) -> dict[str, ParsedModel]:
    return {o["id"]: parse_model(o) for o in objs}


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def graph(parsed: dict[str, ParsedModel]) -> tuple[nx.DiGraph, set[str]]:
    known = {mid.lower(): mid for mid in parsed}
    g = nx.DiGraph()
    g.add_nodes_from(parsed)
    missing: set[str] = set()
    for p in parsed.values():
        for e in p.edges:
            parent = known.get(e.parent.lower(), e.parent)
            if parent not in parsed:
                missing.add(parent)
            g.add_edge(parent, e.child, relation=e.relation.value, source=e.source.value)
    return g, missing


def _rel(parsed: dict[str, ParsedModel], node: str) -> str:
    p = parsed.get(node)
    return p.record.relation.value if p and p.record.relation else "none"


def test_every_line_is_a_hub_object(objs: list[dict]) -> None:
    assert 200 <= len(objs) <= 400
    keys = {
        "id",
        "author",
        "createdAt",
        "lastModified",
        "downloads",
        "downloadsAllTime",
        "likes",
        "trendingScore",
        "library_name",
        "pipeline_tag",
        "private",
        "gated",
        "tags",
        "cardData",
    }
    for o in objs:
        assert set(o) == keys, o["id"]
        assert "baseModels" not in o and "childrenModelCount" not in o
        assert o["createdAt"].endswith(".000Z") and o["lastModified"] >= o["createdAt"]
        assert any(t.startswith("license:") for t in o["tags"])
    assert len({o["id"] for o in objs}) == len(objs)


def test_package_copy_is_identical() -> None:
    assert PACKAGE_COPY.read_bytes() == FIXTURE.read_bytes()


def test_generator_reproduces_the_file() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_small_hub", FIXTURE.parent / "make_small_hub.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lines = [json.dumps(o, ensure_ascii=False, separators=(", ", ": ")) for o in mod.build()]
    assert "\n".join(lines) + "\n" == FIXTURE.read_text(encoding="utf-8")


def test_tags_carry_both_forms(objs: list[dict], parsed: dict[str, ParsedModel]) -> None:
    for o in objs:
        rec = parsed[o["id"]].record
        bare = [t for t in o["tags"] if t.startswith("base_model:") and t.count(":") == 1]
        typed = [t for t in o["tags"] if t.startswith("base_model:") and t.count(":") == 2]
        assert len(bare) == len(typed)
        if typed:
            assert rec.relation is not None
            assert all(t.split(":")[1] == rec.relation.value for t in typed)


def test_created_after_parents(parsed: dict[str, ParsedModel], expected: dict) -> None:
    cycle = {m for c in expected["global"]["cycles"] for m in c}
    for p in parsed.values():
        for parent in p.record.parents:
            if parent in parsed and parent != p.record.id and p.record.id not in cycle:
                assert p.record.created_at > parsed[parent].record.created_at, p.record.id


def test_quirks_are_recorded(parsed: dict[str, ParsedModel], objs: list[dict]) -> None:
    kinds = {(pr.model_id, pr.kind) for p in parsed.values() for pr in p.problems}
    assert ("Undi95/Meta-Llama-3.1-8B-Claude", "self_loop") in kinds
    assert ("Undi95/Meta-Llama-3.1-8B-Claude", "relation_conflict") in kinds
    assert ("trainer-x/Qwen2.5-7B-Instruct-lora", "duplicate_parent") in kinds
    assert ("student42/my-first-llm", "non_string_parent") in kinds
    assert ("someuser1/mistral-7b-sft-lora", "unknown_relation") in kinds
    by_id = {o["id"]: o for o in objs}
    card = {
        mid: by_id[mid]["cardData"]["base_model"]
        for mid in by_id
        if "base_model" in by_id[mid]["cardData"]
        and not any(t.startswith("base_model:") for t in by_id[mid]["tags"])
    }
    assert card["someuser1/mistral-7b-sft-lora"].startswith("https://huggingface.co/")
    assert card["jdoe/qwen2.5-7b-medical"].endswith("/")
    assert "@" in card["kim-lab/gemma-2-9b-ko-sft"]
    assert "," in card["merge-enjoyer/Mistral-Hermes-Zephyr-7B"]
    assert (
        card["trainer-x/Qwen2.5-7B-Instruct-lora"][0]
        == card["trainer-x/Qwen2.5-7B-Instruct-lora"][1]
    )
    assert not isinstance(card["student42/my-first-llm"], str)
    case = card["lowercase-fan/mistral-7b-instruct-v0.1-dpo"]
    assert case not in by_id and case.lower() == "mistralai/mistral-7b-instruct-v0.1"
    # card-only models get their edges from the card, and the card's forms normalise
    assert parsed["kim-lab/gemma-2-9b-ko-sft"].record.parents == ("google/gemma-2-9b",)
    assert parsed["merge-enjoyer/Mistral-Hermes-Zephyr-7B"].record.relation is Relation.MERGE
    assert len(parsed["merge-enjoyer/Mistral-Hermes-Zephyr-7B"].edges) == 2
    for mid in card:
        assert all(e.source is EdgeSource.CARD for e in parsed[mid].edges)
    assert by_id["meta-llama/Llama-3.1-8B"]["gated"] == "manual"


def test_structural_quirks(
    graph: tuple[nx.DiGraph, set[str]], parsed: dict[str, ParsedModel], expected: dict
) -> None:
    g, missing = graph
    exp = expected["global"]
    assert sorted(missing) == exp["missing_parents"]
    assert sorted(n for n, _ in nx.selfloop_edges(g)) == exp["self_loops"]
    sccs = sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)
    assert sccs == exp["cycles"] and any(len(c) == 2 for c in sccs)
    # quantizations of quantizations exist but are rare
    qq = [c for p, c in g.edges if _rel(parsed, p) == "quantized" == _rel(parsed, c)]
    assert 1 <= len(qq) <= 3
    # merges have 2-5 parents, including 2, 3, 4 and 5
    merge_parents = {
        len(p.record.parents) for p in parsed.values() if p.record.relation is Relation.MERGE
    }
    assert {2, 3, 4, 5} <= merge_parents <= {2, 3, 4, 5}
    # one node with more than 30 children; prolific quantizers
    top, n = max(((m, g.out_degree(m)) for m in g), key=lambda x: x[1])
    assert (top, n) == (exp["max_children"]["id"], exp["max_children"]["children"]) and n > 30
    authors = Counter(
        p.record.author for p in parsed.values() if p.record.relation is Relation.QUANTIZED
    )
    assert authors["bartowski"] >= 15 and authors["mradermacher"] >= 15
    assert authors["TheBloke"] >= 10
    # parentless models without children, and the Instruct model as a finetune child
    for mid in exp["parentless_without_children"]:
        assert g.in_degree(mid) == 0 and g.out_degree(mid) == 0
    assert (
        g.edges["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct"]["relation"]
        == "finetune"
    )


def test_global_facts(
    graph: tuple[nx.DiGraph, set[str]],
    parsed: dict[str, ParsedModel],
    expected: dict,
    objs: list[dict],
) -> None:
    g, missing = graph
    exp = expected["global"]
    found = sorted(n for n in g if n not in missing and g.in_degree(n) == 0 and g.out_degree(n))
    assert found == exp["foundations"]
    assert len(parsed) == exp["models"]
    assert g.number_of_nodes() == exp["nodes"] and g.number_of_edges() == exp["edges"]
    n_card = sum(1 for *_, s in g.edges(data="source") if s == "card")
    assert (g.number_of_edges() - n_card, n_card) == (exp["tag_edges"], exp["card_edges"])
    reach = Counter(n for r in found for n in nx.descendants(g, r))
    assert sorted(n for n, c in reach.items() if c > 1) == exp["bridges"]
    assert sum(1 for p in parsed.values() if p.record.parents) == exp["with_parent"]
    rels = Counter(_rel(parsed, m) for m in parsed)
    assert {k: rels.get(k, 0) for k in exp["relations"]} == exp["relations"]
    card_only = sorted(
        o["id"]
        for o in objs
        if "base_model" in o["cardData"] and not any(t.startswith("base_model:") for t in o["tags"])
    )
    assert card_only == exp["card_only"]


@pytest.mark.parametrize(
    "root",
    [
        "meta-llama/Llama-3.1-8B",
        "mistralai/Mistral-7B-v0.1",
        "Qwen/Qwen2.5-7B",
        "google/gemma-2-9b",
        "HuggingFaceTB/SmolLM2-135M",
    ],
)
def test_family_facts(
    root: str, graph: tuple[nx.DiGraph, set[str]], parsed: dict[str, ParsedModel], expected: dict
) -> None:
    g, _ = graph
    exp = expected["foundations"][root]
    fam = nx.descendants(g, root)
    assert len(fam) == exp["size"]
    rels = Counter(_rel(parsed, n) for n in fam)
    assert {k: rels.get(k, 0) for k in RELS} == exp["by_relation"]
    children = [c for c in g.successors(root) if c != root]
    assert len(children) == exp["direct_children"]["total"]
    crels = Counter(g.edges[root, c]["relation"] for c in children)
    assert {k: crels.get(k, 0) for k in RELS} == exp["direct_children"]["by_relation"]
    depth = nx.single_source_shortest_path_length(g, root)
    del depth[root]
    assert max(depth.values()) == exp["max_depth"]
    assert {str(k): v for k, v in sorted(Counter(depth.values()).items())} == exp["depth_counts"]
    sub = g.subgraph(fam | {root}).copy()
    sub.remove_edges_from(list(nx.selfloop_edges(sub)))
    assert nx.dag_longest_path_length(nx.condensation(sub)) == exp["longest_chain"]
    assert len({parsed[n].record.author.lower() for n in fam}) == exp["n_authors"]
    tag_g = nx.DiGraph((u, v) for u, v, s in g.edges(data="source") if s == "tag")
    assert len(nx.descendants(tag_g, root)) == exp["size_tag_edges_only"]


def test_hand_checked_small_families(expected: dict) -> None:
    """Numbers counted by hand from the design, independent of any graph code."""
    smol = expected["foundations"]["HuggingFaceTB/SmolLM2-135M"]
    assert (smol["size"], smol["max_depth"], smol["n_authors"]) == (4, 2, 4)
    gemma = expected["foundations"]["google/gemma-2-9b"]
    assert gemma["size"] == 29 and gemma["depth_counts"] == {
        "1": 7,
        "2": 14,
        "3": 4,
        "4": 3,
        "5": 1,
    }
    llama = expected["foundations"]["meta-llama/Llama-3.1-8B"]
    assert (
        llama["size"] == 134 and llama["max_depth"] == 7 and llama["direct_children"]["total"] == 17
    )
    mistral = expected["foundations"]["mistralai/Mistral-7B-v0.1"]
    assert (mistral["max_depth"], mistral["longest_chain"]) == (5, 7)
