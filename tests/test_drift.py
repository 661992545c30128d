"""Trait drift (DESIGN §9): a hand-counted fixture family and the real anatomy family."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from ecograph.drift import (
    DRIFT_COLUMNS,
    DRIFT_SCHEMA,
    TRAITS,
    UnknownTraitError,
    changed_members,
    drift,
    edge_drift,
    trait_values,
)
from ecograph.errors import EcographError, UnknownModelError
from ecograph.frames import frames_from_parsed
from ecograph.records import parse_model

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
ANATOMY = (
    REAL / "anatomy_laufer_family_tree"
    / "Mistral-Small-24B-Base-2501_finetunes_20250405_001816.csv"
)

F = "meta/base"
OUT = "other/outside"

# id, status, license (store column), card_license, tags, gated, pipeline_tag, library_name
_ROWS = [
    (F, "ok", "llama3", None, ["license:llama3"], "manual", "text-generation", "transformers"),
    # the card wins over the tags (and over the store column, which holds the tag)
    ("u1/ft", "ok", "apache-2.0", ["Llama3"], ["license:apache-2.0"], None,
     "text-generation", "Transformers"),
    ("u2/apache", "ok", "apache-2.0", None, ["license:apache-2.0"], None,
     "feature-extraction", "sentence-transformers"),
    ("u3/nolic", "ok", None, None, [], "auto", None, "gguf"),
    ("u4/quant", "ok", "mit", None, ["license:mit"], None, None, "gguf"),
    ("u5/merge", "ok", "apache-2.0", ["apache-2.0"], [], "False", "Text-Generation ",
     "transformers"),
    ("u6/merge2", "ok", "mit", ["MIT", "Apache-2.0", "mit"], ["license:mit"], None,
     "text-generation", None),
    # two licence tags and no card licence: the store column holds only the first tag
    ("u7/lists", "ok", "mit", None, ["license:mit", "license:Apache-2.0"], None, None, None),
    ("u8/nc", "ok", "CC-BY-NC-4.0 ", None, [], None, "text-classification", None),
    ("u9/back", "ok", "Apache-2.0", None, [], "manual", None, "peft"),
    ("u10/self", "ok", "other", None, [], None, "text-generation", ""),
    ("u11/gone-merge", "ok", "mit", None, [], None, None, "mlx"),
    ("u12/mit", "ok", "mit", None, [], None, "text-generation", None),
    (OUT, "ok", "cc-by-nc-4.0", None, [], None, "text-generation", None),
    ("gone/x", "missing", None, None, [], None, None, None),
]
_EDGES = [
    (F, "u1/ft"), (F, "u1/ft"),  # a duplicate edge
    (F, "u2/apache"), (F, "u3/nolic"), ("u3/nolic", "u4/quant"),
    ("u1/ft", "u5/merge"), ("u2/apache", "u5/merge"),
    ("u1/ft", "u6/merge2"), ("u2/apache", "u6/merge2"), (OUT, "u6/merge2"),
    ("u6/merge2", "u7/lists"), ("u2/apache", "u8/nc"), ("u8/nc", "u9/back"),
    (F, "u10/self"), ("u10/self", "u10/self"),  # a self-loop is not a parent
    (F, "u11/gone-merge"), ("gone/x", "u11/gone-merge"), (F, "u12/mit"),
]


@pytest.fixture()
def hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    cols = ["id", "status", "license", "card_license", "tags", "gated", "pipeline_tag",
            "library_name"]
    models = pl.DataFrame(
        [dict(zip(cols, row, strict=True)) for row in _ROWS],
        schema={"id": pl.Utf8, "status": pl.Utf8, "license": pl.Utf8,
                "card_license": pl.List(pl.Utf8), "tags": pl.List(pl.Utf8),
                "gated": pl.Utf8, "pipeline_tag": pl.Utf8, "library_name": pl.Utf8},
    )
    edges = pl.DataFrame(_EDGES, schema=["parent", "child"], orient="row")
    return models, edges


def test_trait_values_follow_the_design(hub):
    models, _ = hub
    lic = dict(zip(models["id"], trait_values(models, "license"), strict=True))
    assert lic["u1/ft"] == "llama3"  # card before tags
    assert lic["u6/merge2"] == "apache-2.0|mit"  # list: de-duplicated, sorted, joined
    assert lic["u7/lists"] == "apache-2.0|mit"  # several tags
    assert lic["u8/nc"] == "cc-by-nc-4.0"  # trimmed, lower-cased
    assert lic["u3/nolic"] is None
    gated = dict(zip(models["id"], trait_values(models, "gated"), strict=True))
    assert (gated[F], gated["u3/nolic"], gated["u5/merge"], gated["u1/ft"]) == (
        "manual", "auto", "false", "false")
    assert gated["gone/x"] is None  # a missing placeholder: unknown
    lib = dict(zip(models["id"], trait_values(models, "library"), strict=True))
    assert lib["u1/ft"] == "transformers" and lib["u10/self"] is None


def test_drift_of_the_fixture_family_is_the_hand_count(hub):
    models, edges = hub
    out = drift(models, edges)
    assert out.columns == list(DRIFT_COLUMNS)
    assert dict(out.schema) == DRIFT_SCHEMA
    assert out["root"].to_list() == [F, OUT]  # the two foundations; gone/x is missing
    row = out.row(0, named=True)
    # 12 members; u3 has no licence. Changes: u2, u6, u8, u9, u10, u11, u12. Not: u1
    # (llama3 as spelled Llama3), u4 (its only parent's licence is unknown), u5 (same as
    # its parent u2), u7 (same as u6, read from two tags).
    assert (row["license_known"], row["license_changed"]) == (11, 7)
    # to permissive from llama3 / cc-by-nc-4.0: u2, u6, u9, u11, u12 (u8 goes to nc,
    # u10 to other)
    assert row["relicensed_permissive"] == 5
    assert row["transitions"] == [
        {"from": "llama3", "to": "mit", "count": 2},
        {"from": "apache-2.0", "to": "cc-by-nc-4.0", "count": 1},
        {"from": "apache-2.0 + cc-by-nc-4.0 + llama3", "to": "apache-2.0|mit", "count": 1},
        {"from": "cc-by-nc-4.0", "to": "apache-2.0", "count": 1},
        {"from": "llama3", "to": "apache-2.0", "count": 1},
        {"from": "llama3", "to": "other", "count": 1},
    ]
    # gated: all 12 exist; false except u3 (auto) and u9 (manual)
    assert (row["gated_known"], row["ungated_copies"]) == (12, 10)
    # changes: u1, u2, u3 (auto under manual), u4, u9, u10, u11, u12
    assert row["gated_changed"] == 8
    # pipeline known: u1 u2 u5 u6 u8 u10 u12; changes: u2, u8 (u5 matches u1)
    assert (row["pipeline_known"], row["pipeline_changed"]) == (7, 2)
    # library known: u1 u2 u3 u4 u5 u9 u11; changes: u2, u3, u11 (u9's parent unknown)
    assert (row["library_known"], row["library_changed"]) == (7, 3)

    other = out.row(1, named=True)  # family {u6, u7}; an open foundation
    assert (other["license_known"], other["license_changed"]) == (2, 1)
    assert other["relicensed_permissive"] == 1
    assert other["ungated_copies"] == 0
    assert other["transitions"] == [
        {"from": "apache-2.0 + cc-by-nc-4.0 + llama3", "to": "apache-2.0|mit", "count": 1}
    ]
    assert (other["gated_known"], other["gated_changed"]) == (2, 0)
    assert (other["pipeline_known"], other["pipeline_changed"]) == (1, 0)
    assert (other["library_known"], other["library_changed"]) == (0, 0)


def test_transitions_of_another_trait(hub):
    models, edges = hub
    row = drift(models, edges, [F], trait="pipeline").row(0, named=True)
    assert row["transitions"] == [
        {"from": "feature-extraction", "to": "text-classification", "count": 1},
        {"from": "text-generation", "to": "feature-extraction", "count": 1},
    ]
    gated = drift(models, edges, [F], trait="gated").row(0, named=True)["transitions"]
    assert gated[0] == {"from": "manual", "to": "false", "count": 5}
    assert sum(t["count"] for t in gated) == 8


def test_given_roots_keep_their_order_and_models_without_edges_have_empty_families(hub):
    models, edges = hub
    models = pl.concat([models, models.head(1).with_columns(pl.lit("solo/x").alias("id"))])
    out = drift(models, edges, ["u2/apache", "solo/x", F])
    assert out["root"].to_list() == ["u2/apache", "solo/x", F]
    sub = out.row(0, named=True)  # family of u2: u5, u6, u7, u8, u9
    assert (sub["license_known"], sub["license_changed"]) == (5, 3)  # u6, u8, u9
    assert sub["ungated_copies"] == 0  # u2 itself is not gated
    solo = out.row(1, named=True)
    assert solo["license_known"] == 0 and solo["transitions"] == []
    assert solo["ungated_copies"] == 0  # solo/x is gated (manual) but has no family
    missing = drift(models, edges, ["gone/x"]).row(0, named=True)
    assert missing["ungated_copies"] is None  # a missing root's gating is unknown
    assert missing["license_known"] == 1  # u11


def test_errors(hub):
    models, edges = hub
    with pytest.raises(UnknownModelError):
        drift(models, edges, ["nobody/here"])
    with pytest.raises(UnknownTraitError) as info:
        drift(models, edges, trait="colour")
    assert isinstance(info.value, EcographError)
    assert str(info.value) == (
        "unknown trait 'colour'; choose from license, gated, pipeline, library"
    )
    with pytest.raises(UnknownTraitError):
        changed_members(models, edges, F, "colour")


def test_edge_drift(hub):
    models, edges = hub
    out = edge_drift(models, edges)
    assert out.height == len(set(_EDGES)) - 1  # duplicates and the self-loop dropped
    rows = {(r["parent"], r["child"]): r for r in out.iter_rows(named=True)}
    # u5 merges llama3 (u1) and apache-2.0 (u2) as apache-2.0: the u1 edge differs, but
    # u5 does not change its licence
    assert rows[("u1/ft", "u5/merge")]["differs"] is True
    assert rows[("u1/ft", "u5/merge")]["child_changes"] is False
    assert rows[("u3/nolic", "u4/quant")]["parent_value"] is None
    assert rows[("u3/nolic", "u4/quant")]["differs"] is False
    assert rows[(F, "u2/apache")]["child_changes"] is True
    assert out["parent"].to_list() == sorted(out["parent"].to_list())


def test_changed_members_with_their_paths(hub):
    models, edges = hub
    out = changed_members(models, edges, F)
    assert out.rows() == [
        ("u10/self", 1, "llama3", "other", [F, "u10/self"]),
        ("u11/gone-merge", 1, "llama3", "mit", [F, "u11/gone-merge"]),
        ("u12/mit", 1, "llama3", "mit", [F, "u12/mit"]),
        ("u2/apache", 1, "llama3", "apache-2.0", [F, "u2/apache"]),
        # u6 is reached through u1 and u2 at the same depth: the smaller id is shown
        ("u6/merge2", 2, "apache-2.0 + cc-by-nc-4.0 + llama3", "apache-2.0|mit",
         [F, "u1/ft", "u6/merge2"]),
        ("u8/nc", 2, "apache-2.0", "cc-by-nc-4.0", [F, "u2/apache", "u8/nc"]),
        ("u9/back", 3, "cc-by-nc-4.0", "apache-2.0", [F, "u2/apache", "u8/nc", "u9/back"]),
    ]
    assert changed_members(models, edges, OUT)["id"].to_list() == ["u6/merge2"]
    lib = changed_members(models, edges, F, "library")
    assert lib["id"].to_list() == ["u11/gone-merge", "u2/apache", "u3/nolic"]
    assert changed_members(models, edges, "u12/mit").height == 0


def test_every_trait_has_its_columns():
    for trait in TRAITS:
        assert f"{trait}_known" in DRIFT_COLUMNS and f"{trait}_changed" in DRIFT_COLUMNS


# --------------------------------------------------------------------------- real data


def _anatomy_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The anatomy family as ecograph reads a crawl: each row's ``metadata`` is a real
    ``model_info`` JSON whose ``card_data`` is the card's YAML header."""
    yaml = pytest.importorskip("yaml")
    if not ANATOMY.exists():
        pytest.skip("real data not available")
    with ANATOMY.open(newline="", encoding="utf-8") as fh:
        metas = [json.loads(row["metadata"]) for row in csv.DictReader(fh)]
    parsed, card_license = [], {}
    for meta in metas:
        card = yaml.safe_load(meta.get("card_data") or "") or {}
        obj = {"id": meta["id"], "author": meta.get("author"), "tags": meta.get("tags"),
               "cardData": card, "gated": meta.get("gated"),
               "pipeline_tag": meta.get("pipeline_tag"),
               "library_name": meta.get("library_name")}
        parsed.append(parse_model(obj))
        value = card.get("license")
        card_license[meta["id"]] = [value] if isinstance(value, str) else value
    models, edges = frames_from_parsed(parsed)
    models = models.with_columns(
        pl.col("id").replace_strict(card_license, default=None,
                                    return_dtype=pl.List(pl.Utf8)).alias("card_license")
    )
    return models, edges


def test_real_anatomy_family_matches_a_hand_count():
    """The family of mistralai/Mistral-Small-24B-Base-2501 (67 real models).

    Counted with a throwaway script that does not use ecograph:

        meta = [json.loads(r["metadata"]) for r in csv.DictReader(open(ANATOMY))]
        for m in meta:
            card = yaml.safe_load(m["card_data"] or "") or {}
            v = card.get("license") or next(
                (t[8:] for t in m["tags"] if t.startswith("license:")), None)
            lic[m["id"]] = v.strip().lower() if v else None
            gated[m["id"]] = str(m["gated"]).lower()
            pipe[m["id"]], lib[m["id"]] = m["pipeline_tag"], m["library_name"]
            parents[m["id"]] |= {t[20:] for t in m["tags"]
                                 if t.startswith("base_model:finetune:")}
        def changes(val, c):
            known = [val.get(q) for q in parents[c] if val.get(q) is not None]
            return val[c] is not None and known and all(k != val[c] for k in known)

    which printed (66 members, all reachable from the root; every parent is a row):
    license known 62 changed 5 [(apache-2.0 -> mit) 4, (apache-2.0 -> other) 1];
    gated known 66 changed 49 [(auto -> false) 47, (false -> manual) 1,
    (auto -> manual) 1]; pipeline known 46 changed 3 [(text-generation ->
    text-classification) 3]; library known 46 changed 17 [(vllm -> transformers) 14,
    (vllm -> fasttext) 1, (vllm -> keras) 1, (vllm -> fastai) 1]; ungated 63
    (all but mistralai/Mistral-Small-24B-Instruct-2501 (auto), brokenlander/AlphaBuffett
    and ubitus/Mistral-24B-Reasoning-zhTW (manual)). No change goes from a restricted
    licence: the root is apache-2.0.
    """
    models, edges = _anatomy_frames()
    root = "mistralai/Mistral-Small-24B-Base-2501"
    assert drift(models, edges)["root"].to_list() == [root]
    row = drift(models, edges, [root]).row(0, named=True)
    assert (row["license_known"], row["license_changed"]) == (62, 5)
    assert row["transitions"] == [
        {"from": "apache-2.0", "to": "mit", "count": 4},
        {"from": "apache-2.0", "to": "other", "count": 1},
    ]
    assert row["relicensed_permissive"] == 0
    assert (row["gated_known"], row["gated_changed"], row["ungated_copies"]) == (66, 49, 63)
    assert (row["pipeline_known"], row["pipeline_changed"]) == (46, 3)
    assert (row["library_known"], row["library_changed"]) == (46, 17)
    gated = drift(models, edges, [root], trait="gated").row(0, named=True)["transitions"]
    assert gated == [
        {"from": "auto", "to": "false", "count": 47},
        {"from": "auto", "to": "manual", "count": 1},
        {"from": "false", "to": "manual", "count": 1},
    ]
    library = drift(models, edges, [root], trait="library").row(0, named=True)
    assert library["transitions"][0] == {"from": "vllm", "to": "transformers", "count": 14}

    members = changed_members(models, edges, root)
    assert members.height == 5
    assert members.filter(pl.col("to") == "other")["path"].to_list() == [[
        root, "mistralai/Mistral-Small-24B-Instruct-2501", "Mawdistical/Pawdistic-FurMittens-24B"
    ]]
    assert sorted(members.filter(pl.col("depth") == 1)["id"].to_list()) == [
        "jhu-clsp/rank1-mistral-2501-24b", "v2ray/GPT4chan-24B"]
