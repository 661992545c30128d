"""Parsing of Hub model objects: ids, base_model values, tags, relations, problems."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecograph.errors import InvalidModelIdError
from ecograph.records import (
    EdgeSource,
    Relation,
    is_model_id,
    normalize_id,
    parse_base_model_tags,
    parse_base_model_value,
    parse_datetime,
    parse_model,
)

# (raw card value, expected parent ids, expected problem kinds) — shapes seen in real cards
# (Model Atlas README extraction, hub-stats dumps, the anatomy family tree).
CARD_CASES = [
    ("meta-llama/Llama-3.1-8B", ("meta-llama/Llama-3.1-8B",), ()),
    ("https://huggingface.co/meta-llama/Llama-3.1-8B", ("meta-llama/Llama-3.1-8B",), ()),
    ("http://huggingface.co/Qwen/Qwen2.5-7B/", ("Qwen/Qwen2.5-7B",), ()),
    ("huggingface.co/google/gemma-2-9b", ("google/gemma-2-9b",), ()),
    ("https://hf.co/mistralai/Mistral-7B-v0.1", ("mistralai/Mistral-7B-v0.1",), ()),
    ("https://www.huggingface.co/mistralai/Mistral-7B-v0.1", ("mistralai/Mistral-7B-v0.1",), ()),
    ("https://huggingface.co/Qwen/Qwen2.5-7B/tree/main", ("Qwen/Qwen2.5-7B",), ()),
    ("https://huggingface.co/Qwen/Qwen2.5-7B/blob/main/config.json", ("Qwen/Qwen2.5-7B",), ()),
    ("0-hero/Matter-0.1-7B/", ("0-hero/Matter-0.1-7B",), ()),
    ("  unsloth/llama-3-8b-bnb-4bit  ", ("unsloth/llama-3-8b-bnb-4bit",), ()),
    ("Qwen/Qwen2.5-7B@main", ("Qwen/Qwen2.5-7B",), ()),
    ("'mistralai/Mistral-7B-v0.1'", ("mistralai/Mistral-7B-v0.1",), ()),
    ("a/b, c/d", ("a/b", "c/d"), ()),
    ("a/b;c/d\ne/f", ("a/b", "c/d", "e/f"), ()),
    (["a/b", "c/d", "a/b"], ("a/b", "c/d"), ("duplicate_parent",)),
    (["a/b", "A/B"], ("a/b",), ("duplicate_parent",)),
    (["a/b", None, 3], ("a/b",), ("non_string_parent", "non_string_parent")),
    (42, (), ("non_string_parent",)),
    ({"name": "x"}, (), ("non_string_parent",)),
    (None, (), ()),
    ("", (), ()),
    ([], (), ()),
    ("gpt2", ("gpt2",), ()),
    ("bert-base-uncased", ("bert-base-uncased",), ()),
    ("not a model id", (), ("invalid_parent_id",)),
    ("org/name/extra", (), ("invalid_parent_id",)),
    ("datasets/HuggingFaceH4/ultrachat_200k", (), ("dataset_parent",)),
    ("https://huggingface.co/datasets/tatsu-lab/alpaca", (), ("dataset_parent",)),
    ("Llama 3.1 8B (Meta)", (), ("invalid_parent_id",)),
    ("org/-bad", (), ("invalid_parent_id",)),
    ("org/bad--name", (), ("invalid_parent_id",)),
    ("org/name.", (), ("invalid_parent_id",)),
    ("LeroyDyer/_Spydaz_Web_AI_BIBLE_002", ("LeroyDyer/_Spydaz_Web_AI_BIBLE_002",), ()),
    ("_org/_name_", ("_org/_name_",), ()),
    ([{"id": "a/b"}], ("a/b",), ()),
    ("me/model", ("me/model",), ("self_loop",)),
]


@pytest.mark.parametrize(("value", "ids", "kinds"), CARD_CASES)
def test_parse_base_model_value(value, ids, kinds):
    parsed = parse_base_model_value(value, self_id="me/model")
    assert parsed.ids == ids
    assert tuple(k for k, _ in parsed.problems) == kinds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"),
        ("https://huggingface.co/meta-llama/Llama-3.1-8B/", "meta-llama/Llama-3.1-8B"),
        (" Qwen/Qwen2.5-7B ", "Qwen/Qwen2.5-7B"),
        ("models/google/gemma-2-9b", "google/gemma-2-9b"),
    ],
)
def test_normalize_id_accepts(value, expected):
    assert normalize_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "", "   ", "a b/c", "a/b/c", "/", "a//b", "x/y z", "-a/b", ".a/b", "a/b-", "a/b.",
        "a/b..c", "a--b/c", "a/" + "x" * 97, "é/b",
    ],
)
def test_normalize_id_rejects(value):
    with pytest.raises(InvalidModelIdError, match="is not a Hub model id"):
        normalize_id(value)


def test_tags_plain_and_relation():
    parents, rel = parse_base_model_tags(
        [
            "transformers",
            "base_model:meta-llama/Llama-3.1-8B",
            "base_model:finetune:meta-llama/Llama-3.1-8B",
            "license:llama3.1",
        ]
    )
    assert parents == ["meta-llama/Llama-3.1-8B"]
    assert rel is Relation.FINETUNE


def test_tags_legacy_single_segment_parent_with_relation():
    assert parse_base_model_tags(["base_model:adapter:gpt2"]) == (["gpt2"], Relation.ADAPTER)


def test_tags_merge_several_parents_keep_order():
    tags = [
        "base_model:merge:b/two",
        "base_model:merge:a/one",
        "base_model:a/one",
        "base_model:b/two",
    ]
    assert parse_base_model_tags(tags) == (["b/two", "a/one"], Relation.MERGE)


def test_tags_ignore_junk():
    assert parse_base_model_tags([None, 3, "base_model:", "base_model:bad id"]) == ([], None)


def test_relation_precedence_basemodels_over_tags_over_card():
    obj = {
        "id": "x/child",
        "baseModels": {"relation": "quantized", "models": [{"_id": "1", "id": "a/Root"}]},
        "tags": ["base_model:finetune:a/root"],
        "cardData": {"base_model": "z/other", "base_model_relation": "adapter"},
    }
    p = parse_model(obj)
    assert p.record.parents == ("a/Root",)
    assert p.record.relation is Relation.QUANTIZED
    assert p.edges[0].source is EdgeSource.BASE_MODELS


def test_card_only_parent_and_relation():
    p = parse_model(
        {
            "id": "x/child",
            "tags": [],
            "cardData": {
                "base_model": "https://huggingface.co/a/root/",
                "base_model_relation": "adapter",
            },
        }
    )
    assert p.record.parents == ("a/root",)
    assert p.record.relation is Relation.ADAPTER
    assert p.edges[0].source is EdgeSource.CARD


def test_unknown_relation_recorded():
    p = parse_model({"id": "x/c", "cardData": {"base_model": "a/r"}})
    assert p.record.relation is Relation.UNKNOWN
    assert [pr.kind for pr in p.problems] == ["unknown_relation"]


def test_relation_conflicts_recorded_not_fixed():
    merge_one = parse_model({"id": "x/m", "tags": ["base_model:merge:a/r"]})
    assert merge_one.record.relation is Relation.MERGE
    assert [pr.kind for pr in merge_one.problems] == ["relation_conflict"]
    tags = ["base_model:finetune:a/r", "base_model:finetune:b/r"]
    ft_two = parse_model({"id": "x/f", "tags": tags})
    assert [pr.kind for pr in ft_two.problems] == ["relation_conflict"]


def test_self_loop_tag_kept_and_reported():
    p = parse_model({"id": "x/self", "tags": ["base_model:finetune:x/self"]})
    assert [(e.parent, e.child) for e in p.edges] == [("x/self", "x/self")]
    assert "self_loop" in [pr.kind for pr in p.problems]


def test_no_parents_no_relation():
    p = parse_model({"id": "meta-llama/Llama-3.1-8B", "tags": ["license:llama3.1"]})
    assert p.record.relation is None and p.edges == () and p.problems == ()
    assert p.record.license == "llama3.1"
    assert p.record.author == "meta-llama"


def test_fields_are_all_optional_and_typed():
    p = parse_model(
        {
            "id": "a/b",
            "createdAt": "2024-07-18T08:56:00.000Z",
            "downloads": "12",  # wrong type: dropped, not crashed
            "likes": 3,
            "gated": "manual",
            "tags": "not-a-list",
        }
    )
    r = p.record
    assert r.created_at == datetime(2024, 7, 18, 8, 56, tzinfo=UTC)
    assert r.downloads is None and r.likes == 3 and r.gated == "manual" and r.tags == ()


def test_missing_id_is_a_problem_not_an_exception():
    p = parse_model({"author": "x"})
    assert [pr.kind for pr in p.problems] == ["missing_id"]


def test_parse_datetime_forms():
    assert parse_datetime("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_datetime("2024-01-02T03:04:05+02:00") == datetime(
        2024, 1, 2, 1, 4, 5, tzinfo=UTC
    )
    assert parse_datetime(None) is None and parse_datetime(12) is None


@pytest.mark.parametrize("value", [1e30, 2**64, -(2**64), float("inf"), float("nan"), True])
def test_out_of_range_counts_are_unknown(value):
    assert parse_model({"id": "a/b", "downloads": value}).record.downloads is None


def test_adapter_with_several_parents_is_a_conflict():
    p = parse_model({"id": "x/a", "tags": ["base_model:adapter:a/r", "base_model:adapter:b/r"]})
    assert [pr.kind for pr in p.problems] == ["relation_conflict"]


# ------------------------------------------------------------------ ids (DESIGN §1)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
REAL_EDGES = REAL / "hf_dep_network_hakanotal" / "edges.csv"


@pytest.mark.parametrize(
    "value",
    [
        "LeroyDyer/_Spydaz_Web_AGI_DeepThink_Prime_R1",  # real: a part may start with _
        "_/_",
        "_leading/x",
        "gpt2",
        "a/" + "x" * 96,
        "a.b_c-d/e.f_g-h",
    ],
)
def test_ids_the_hub_allows(value):
    assert is_model_id(value)
    assert normalize_id(value) == value
    assert normalize_id(f"https://huggingface.co/{value}/") == value


def test_underscore_parent_in_tags_and_baseModels():
    tags = ["base_model:LeroyDyer/_Spydaz_Web_AI_BIBLE_002",
            "base_model:finetune:LeroyDyer/_Spydaz_Web_AI_BIBLE_002"]
    p = parse_model({"id": "LeroyDyer/_Spydaz_Web_AI_LCARS_001", "tags": tags})
    assert p.record.parents == ("LeroyDyer/_Spydaz_Web_AI_BIBLE_002",)
    assert p.record.relation is Relation.FINETUNE and p.problems == ()
    bm = {"relation": "merge", "models": [{"id": "_a/_b"}, {"id": "c/d"}]}
    assert parse_model({"id": "x/y", "baseModels": bm}).record.parents == ("_a/_b", "c/d")


def test_rejected_parent_references_are_counted_not_dropped():
    tags = ["base_model:finetune:a/ok", "base_model:finetune:not an id", "base_model:"]
    p = parse_model({"id": "x/child", "tags": tags})
    assert p.record.parents == ("a/ok",)
    assert p.rejected_parents == ("base_model:finetune:not an id", "base_model:")
    assert [pr.kind for pr in p.problems] == ["invalid_parent_id", "invalid_parent_id"]
    # the only parent tag is junk: the card is read instead, and the tag still reported
    p = parse_model(
        {"id": "x/c", "tags": ["base_model:bad--id"], "cardData": {"base_model": "a/r"}}
    )
    assert p.record.parents == ("a/r",) and p.rejected_parents == ("base_model:bad--id",)
    card = parse_model({"id": "x/c", "cardData": {"base_model": ["a b", 42, "a/r"]}})
    assert sorted(card.rejected_parents) == ["42", "a b"] and card.record.parents == ("a/r",)
    # baseModels lists the parents: the tags are not used, nothing is lost
    bm = {"relation": "finetune", "models": [{"id": "a/r"}]}
    assert parse_model({"id": "x/c", "baseModels": bm, "tags": ["base_model:??"]}
                       ).rejected_parents == ()
    assert parse_model({"id": "x/c", "tags": ["base_model:a/r"]}).rejected_parents == ()


@pytest.mark.skipif(not REAL_EDGES.exists(), reason="real lineage data not available")
def test_every_real_edge_parses():
    """All 28,155 tag-derived edges of the real 29k-model lineage graph survive parsing
    (7 of them have a parent whose name starts with ``_``)."""
    relation = {"finetuned": "finetune", "quantized": "quantized", "merged": "merge",
                "adapter": "adapter"}
    with REAL_EDGES.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 28_155
    tags: dict[str, list[str]] = {}
    for r in rows:
        rel = relation[r["edge"]]
        tags.setdefault(r["target"], []).extend(
            [f"base_model:{r['source']}", f"base_model:{rel}:{r['source']}"]
        )
    parsed = [parse_model({"id": child, "tags": t}) for child, t in tags.items()]
    got = {(e.parent, e.child) for p in parsed for e in p.edges}
    assert got == {(r["source"], r["target"]) for r in rows}
    assert len(got) == 28_155
    assert not [p.rejected_parents for p in parsed if p.rejected_parents]
    underscored = {(s, c) for s, c in got if "/_" in s}
    assert len(underscored) == 7
