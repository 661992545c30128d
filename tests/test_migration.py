"""Author activity, retention, flows and succession (DESIGN §8) on a hand-computed hub."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from ecograph.errors import InputError
from ecograph.migration import (
    ACTIVITY_SCHEMA,
    FLOW_SCHEMA,
    RETENTION_SCHEMA,
    SUCCESSION_SCHEMA,
    Migration,
    author_activity,
    author_keys,
    migration,
    succession,
)


def _t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Foundations (vendor, series): all 5-9B
L2 = "meta-llama/Llama-2-7b-hf"  # Meta, Llama 2, released 2023-07-18
M7 = "mistralai/Mistral-7B-v0.1"  # Mistral AI, Mistral 7B, 2023-09-27
L3 = "meta-llama/Meta-Llama-3-8B"  # Meta, Llama 3, 2024-04-18
Q2 = "Qwen/Qwen2-7B"  # Qwen (Alibaba), Qwen2, 2024-06-06
FOUNDATIONS = [(L2, "meta-llama", _t(2023, 7, 18)), (M7, "mistralai", _t(2023, 9, 27)),
               (L3, "meta-llama", _t(2024, 4, 18)), (Q2, "Qwen", _t(2024, 6, 6))]

# What each author group built, quarter by quarter (2023-Q4, 2024-Q1, 2024-Q2, 2024-Q3):
# (parents, creation date) of one derivative per entry; "L3+M7" is a merge of both.
PLANS: dict[tuple[str, ...], list[tuple[str, datetime]]] = {
    # loyal to Llama 2 (l01's Q2 model is a quantization of its Q1 model: still Llama 2)
    ("l01", "l02", "l03"): [("L2", _t(2023, 11, 10)), ("L2", _t(2024, 3, 25)),
                            ("L2", _t(2024, 4, 19)), ("L2", _t(2024, 8, 1))],
    ("l04", "l05", "l06"): [("L2", _t(2023, 11, 10)), ("L2", _t(2024, 3, 25)),
                            ("L2", _t(2024, 5, 10)), ("L2", _t(2024, 8, 1))],
    # loyal to Mistral 7B
    ("m01", "m02", "m03", "m04"): [("M7", _t(2023, 11, 12)), ("M7", _t(2024, 2, 12)),
                                   ("M7", _t(2024, 5, 5)), ("M7", _t(2024, 8, 5))],
    # Llama 2 -> Mistral 7B in 2024-Q1, silent in 2024-Q3
    ("x01", "x02", "x03", "x04", "x05"): [("L2", _t(2023, 12, 1)), ("M7", _t(2024, 2, 1)),
                                         ("M7", _t(2024, 5, 20))],
    # Llama 2 -> Llama 3 in 2024-Q2
    ("y01", "y02", "y03", "y04", "y05", "y06"): [
        ("L2", _t(2023, 11, 20)), ("L2", _t(2024, 2, 20)), ("L3", _t(2024, 5, 3)),
        ("L3", _t(2024, 8, 10))],
    # Llama 2, a silent quarter, back to Llama 2
    ("r01", "r02", "r03"): [("L2", _t(2023, 10, 15)), ("L2", _t(2024, 6, 20))],
    # Mistral 7B -> Qwen2 in 2024-Q3
    ("q01", "q02", "q03"): [("M7", _t(2023, 12, 10)), ("M7", _t(2024, 3, 10)),
                            ("M7", _t(2024, 5, 25)), ("Q2", _t(2024, 8, 20))],
    # Llama 2 -> a merge of Llama 3 and Mistral 7B (leaves for two groups) -> Qwen2
    ("z01", "z02"): [("L2", _t(2023, 11, 25)), ("L2", _t(2024, 1, 10)),
                     ("L3+M7", _t(2024, 5, 1)), ("Q2", _t(2024, 7, 20))],
    # Llama 2 -> Mistral 7B (defect from Meta) -> Qwen2
    ("d01", "d02"): [("L2", _t(2023, 12, 5)), ("L2", _t(2024, 2, 10)),
                     ("M7", _t(2024, 5, 15)), ("Q2", _t(2024, 7, 25))],
    # builds on two groups at once
    ("b01",): [("L2", _t(2023, 10, 20)), ("M7", _t(2023, 10, 21)), ("L2", _t(2024, 3, 30)),
               ("L3", _t(2024, 4, 25)), ("M7", _t(2024, 6, 10))],
    # newcomers to Llama 3
    ("n01", "n02", "n03"): [("L3", _t(2024, 6, 1)), ("L3", _t(2024, 9, 1))],
    # one derivative, never again
    ("o01", "o02"): [("L2", _t(2023, 12, 20))],
    # publishers: not counted for their own groups, counted for others'
    ("meta-llama",): [("L2", _t(2023, 11, 1)), ("L2", _t(2024, 3, 1)), ("M7", _t(2024, 3, 5)),
                      ("L3", _t(2024, 4, 30))],
    ("mistralai",): [("M7", _t(2023, 11, 5)), ("M7", _t(2024, 1, 15))],
    ("Qwen",): [("Q2", _t(2024, 7, 1))],
}
CODES = {"L2": [L2], "M7": [M7], "L3": [L3], "Q2": [Q2], "L3+M7": [L3, M7]}


def _hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    models = [(f, org, created, None, "ok") for f, org, created in FOUNDATIONS]
    edges = []
    for authors, plan in PLANS.items():
        for author in authors:
            for k, (code, created) in enumerate(plan):
                mid = f"{author}/model-{k}"
                parents = CODES[code]
                if author == "l01" and k == 2:
                    parents = ["l01/model-1"]  # a quantization of its Llama 2 fine-tune
                relation = "merge" if len(parents) > 1 else "finetune"
                models.append((mid, author, created, relation, "ok"))
                edges += [(p, mid) for p in parents]
    # l01's models carry no author: the namespace, spelled "L01", stands for it
    models = [(("L01" + m[0][3:]) if m[0].startswith("l01/") else m[0],
               None if m[1] == "l01" else m[1], *m[2:]) for m in models]
    edges = [(("L01" + p[3:]) if p.startswith("l01/") else p,
              ("L01" + c[3:]) if c.startswith("l01/") else c) for p, c in edges]
    # a derivative with neither author nor namespace (skipped, counted), a missing parent,
    # and a model without a date
    models += [("legacy-model", None, _t(2024, 6, 15), "finetune", "ok"),
               ("gone/deleted", None, None, None, "missing"),
               ("o/orphan", "o", _t(2024, 5, 5), "finetune", "ok"),
               ("u/undated", "u", None, "finetune", "ok")]
    edges += [(L2, "legacy-model"), ("gone/deleted", "o/orphan"), (M7, "u/undated")]
    frame = pl.DataFrame(
        models,
        schema={"id": pl.Utf8, "author": pl.Utf8, "created_at": pl.Datetime("us", "UTC"),
                "relation": pl.Utf8, "status": pl.Utf8},
        orient="row",
    )
    return frame, pl.DataFrame(edges, schema=["parent", "child"], orient="row")


# A(series, quarter) by hand (meta-llama / mistralai / Qwen left out of their own series):
#   2023-Q4  Llama 2: l6 x5 y6 r3 z2 d2 b1 o2 = 27     Mistral 7B: m4 q3 b1 = 8
#   2024-Q1  Llama 2: l6 y6 z2 d2 b1 = 17              Mistral 7B: m4 x5 q3 meta-llama = 13
#   2024-Q2  Llama 2: l6 r3 = 9   Llama 3: y6 z2 b1 n3 = 12
#            Mistral 7B: m4 x5 q3 z2 d2 b1 = 17
#   2024-Q3  Llama 2: l6 = 6   Llama 3: y6 n3 = 9   Mistral 7B: m4 = 4   Qwen2: q3 z2 d2 = 7
# Active(t): 2023-Q4 all 36 but nobody else; 2024-Q1 l y z d b m x q + meta-llama,
# mistralai; 2024-Q2 l r y z b n m x q d + meta-llama; 2024-Q3 l y n m q z d + Qwen.


def test_author_activity_excludes_publishers_from_their_own_groups() -> None:
    models, edges = _hub()
    got = author_activity(models, edges, by="series", period="quarter")
    assert got.schema == pl.Schema(ACTIVITY_SCHEMA)
    counts = got.group_by("period", "group").agg(pl.len()).sort("period", "group").rows()
    assert counts == [
        ("2023-Q4", "Llama 2", 27), ("2023-Q4", "Mistral 7B", 8),
        ("2024-Q1", "Llama 2", 17), ("2024-Q1", "Mistral 7B", 13),
        ("2024-Q2", "Llama 2", 9), ("2024-Q2", "Llama 3", 12), ("2024-Q2", "Mistral 7B", 17),
        ("2024-Q3", "Llama 2", 6), ("2024-Q3", "Llama 3", 9), ("2024-Q3", "Mistral 7B", 4),
        ("2024-Q3", "Qwen2", 7),
    ]
    # meta-llama counts only where it built on someone else's foundation
    assert got.filter(pl.col("author") == "meta-llama").rows() == [
        ("meta-llama", "2024-Q1", "Mistral 7B", 1)]
    assert got.filter(pl.col("author").is_in(["mistralai", "qwen"])).height == 0
    # l01 has no author: its namespace "L01", lower-cased; its quantization is Llama 2
    assert got.filter(pl.col("author") == "l01").select("period", "group").rows() == [
        ("2023-Q4", "Llama 2"), ("2024-Q1", "Llama 2"), ("2024-Q2", "Llama 2"),
        ("2024-Q3", "Llama 2")]
    # b01 built twice in 2023-Q4 (two groups) and twice in 2024-Q2
    assert got.filter(pl.col("author") == "b01").rows() == [
        ("b01", "2023-Q4", "Llama 2", 1), ("b01", "2023-Q4", "Mistral 7B", 1),
        ("b01", "2024-Q1", "Llama 2", 1), ("b01", "2024-Q2", "Llama 3", 1),
        ("b01", "2024-Q2", "Mistral 7B", 1)]
    # Active(t): publishers are active (any derivative), on no group of theirs
    active = author_activity(models, edges, by="series", with_active=True).filter(
        pl.col("group").is_null())
    assert active.group_by("period").len().sort("period").rows() == [
        ("2023-Q4", 36), ("2024-Q1", 31), ("2024-Q2", 36), ("2024-Q3", 27)]
    assert active.filter(pl.col("author") == "meta-llama").rows() == [
        ("meta-llama", "2023-Q4", None, 1), ("meta-llama", "2024-Q1", None, 2),
        ("meta-llama", "2024-Q2", None, 1)]
    # by vendor, the two Meta series are one group: z01's merge counts once per group
    vendor = author_activity(models, edges, by="vendor")
    assert vendor.filter(pl.col("author") == "z01").rows() == [
        ("z01", "2023-Q4", "Meta", 1), ("z01", "2024-Q1", "Meta", 1),
        ("z01", "2024-Q2", "Meta", 1), ("z01", "2024-Q2", "Mistral AI", 1),
        ("z01", "2024-Q3", "Qwen (Alibaba)", 1)]


def test_retention_and_flows_by_series() -> None:
    models, edges = _hub()
    got = migration(models, edges, by="series", period="quarter")
    assert isinstance(got, Migration) and got.skipped == 1  # legacy-model
    assert got.retention.schema == pl.Schema(RETENTION_SCHEMA)
    assert got.flows.schema == pl.Schema(FLOW_SCHEMA)
    assert got.retention.rows() == [
        # Llama 2, 2023-Q4: of 27, r3 and o2 are silent in 2024-Q1 -> 22; back on Llama 2:
        # l6 y6 z2 d2 b1 = 17
        ("2023-Q4", "Llama 2", 22, 17, 17 / 22),
        # Mistral 7B: m4 q3 b1 all publish in 2024-Q1; b01 not on Mistral -> 7 of 8
        ("2023-Q4", "Mistral 7B", 8, 7, 7 / 8),
        # Llama 2, 2024-Q1: all 17 publish in 2024-Q2; only l6 stay
        ("2024-Q1", "Llama 2", 17, 6, 6 / 17),
        # Mistral 7B: 13 publish (meta-llama on its own Llama 3); m4 x5 q3 = 12 stay
        ("2024-Q1", "Mistral 7B", 13, 12, 12 / 13),
        # Llama 3, 2024-Q2: b01 is silent -> 11; y6 n3 = 9 stay (z2 leave for Qwen2)
        ("2024-Q2", "Llama 3", 11, 9, 9 / 11),
        # Mistral 7B: of m4 x5 q3 z2 d2 b1, m4 q3 z2 d2 = 11 publish; m4 stay
        ("2024-Q2", "Mistral 7B", 11, 4, 4 / 11),
        # Llama 2: r3 silent -> l6, all stay
        ("2024-Q2", "Llama 2", 6, 6, 1.0),
    ]
    assert got.flows.rows() == [
        ("2023-Q4", "Llama 2", "Mistral 7B", 5),  # x5
        ("2023-Q4", "Mistral 7B", "Llama 2", 1),  # b01
        # y6 + z2 + b01 = 9 to Llama 3; z2 + d2 + b01 = 5 to Mistral 7B (z and b01 left for
        # two groups: they count in both)
        ("2024-Q1", "Llama 2", "Llama 3", 9),
        ("2024-Q1", "Llama 2", "Mistral 7B", 5),
        ("2024-Q2", "Llama 3", "Qwen2", 2),  # z2
        ("2024-Q2", "Mistral 7B", "Qwen2", 7),  # q3 z2 d2
        # (meta-llama left Mistral 7B for its own Llama 3: active, but no flow)
    ]


def test_retention_and_flows_by_vendor() -> None:
    models, edges = _hub()
    got = migration(models, edges, by="vendor")
    assert got.retention.select("period", "group", "authors", "returning").rows() == [
        ("2023-Q4", "Meta", 22, 17),
        ("2023-Q4", "Mistral AI", 8, 7),
        # Meta 2024-Q1: l6 y6 z2 d2 b1 all publish; on Meta again (Llama 2 or 3): l y z b
        ("2024-Q1", "Meta", 17, 15),
        ("2024-Q1", "Mistral AI", 13, 12),
        # Meta 2024-Q2: A = l6 r3 y6 z2 b1 n3 = 21; publish in Q3: l y z n = 17; stay l y n
        ("2024-Q2", "Meta", 17, 15),
        ("2024-Q2", "Mistral AI", 11, 4),
    ]
    assert got.flows.rows() == [
        ("2023-Q4", "Meta", "Mistral AI", 5),
        ("2023-Q4", "Mistral AI", "Meta", 1),
        ("2024-Q1", "Meta", "Mistral AI", 2),  # d2 (z2 and b01 also stayed on Meta)
        ("2024-Q2", "Meta", "Qwen (Alibaba)", 2),
        ("2024-Q2", "Mistral AI", "Qwen (Alibaba)", 7),
    ]


def test_top_folds_groups_before_set_operations() -> None:
    models, edges = _hub()
    # distinct authors: Llama 2 27, Mistral 7B 18 (m4 q3 b1 x5 z2 d2 meta-llama),
    # Llama 3 12, Qwen2 7 -> Llama 3 and Qwen2 fold into "other"
    got = migration(models, edges, by="series", top=2)
    assert got.retention.filter(pl.col("period") == "2024-Q2").rows() == [
        ("2024-Q2", "Mistral 7B", 11, 4, 4 / 11),
        # A(other, Q2) = A(Llama 3, Q2); z2 moved on to Qwen2, also "other": 11 of 11 stay
        ("2024-Q2", "other", 11, 11, 1.0),
        ("2024-Q2", "Llama 2", 6, 6, 1.0),
    ]
    assert got.flows.rows() == [
        ("2023-Q4", "Llama 2", "Mistral 7B", 5),
        ("2023-Q4", "Mistral 7B", "Llama 2", 1),
        ("2024-Q1", "Llama 2", "other", 9),
        ("2024-Q1", "Llama 2", "Mistral 7B", 5),
        ("2024-Q2", "Mistral 7B", "other", 7),
    ]
    everything = migration(models, edges, by="series", top=10)
    assert everything.retention.equals(migration(models, edges, by="series").retention)


def test_headlines() -> None:
    models, edges = _hub()
    got = migration(models, edges, by="series")
    # most recent pair with >= 10 authors per group: Llama 3 and Mistral 7B in 2024-Q2
    # (11 each), Llama 2 in 2024-Q1 (17; only 6 in 2024-Q2)
    assert got.headlines(n=3, min_authors=10) == [
        "Of the 11 authors who built on Llama 3 in 2024-Q2 and published again in 2024-Q3, "
        "82% built on Llama 3 again; 18% moved to Qwen2.",  # 9/11, 2/11
        "Of the 11 authors who built on Mistral 7B in 2024-Q2 and published again in "
        "2024-Q3, 36% built on Mistral 7B again; 64% moved to Qwen2.",  # 4/11, 7/11
        "Of the 17 authors who built on Llama 2 in 2024-Q1 and published again in 2024-Q2, "
        "35% built on Llama 2 again; 53% moved to Llama 3, 29% to Mistral 7B (an author "
        "who built on several groups counts in each).",  # 6, 9, 5: 20 of 17 authors
    ]
    assert got.headlines(n=1, min_authors=12) == [
        "Of the 17 authors who built on Llama 2 in 2024-Q1 and published again in 2024-Q2, "
        "35% built on Llama 2 again; 53% moved to Llama 3, 29% to Mistral 7B (an author "
        "who built on several groups counts in each)."]
    assert got.headlines(min_authors=100) == []


def test_months_compare_consecutive_calendar_periods() -> None:
    models, edges = _hub()
    got = migration(models, edges, by="series", period="month")
    rows = got.retention.filter(pl.col("period") == "2023-10").rows()
    # 2023-10: r01-r03 (Llama 2, Oct 15) and b01 (Llama 2 Oct 20, Mistral Oct 21); in
    # 2023-11 none of them publishes: authors 0, retention null
    assert rows == [("2023-10", "Llama 2", 0, 0, None), ("2023-10", "Mistral 7B", 0, 0, None)]
    # 2024-08 -> 2024-09: n01-n03 build on Llama 3 again in September
    assert got.retention.filter((pl.col("period") == "2024-08")
                                & (pl.col("group") == "Llama 3")).rows() == [
        ("2024-08", "Llama 3", 0, 0, None)]  # y6 built in August; n3 did not
    assert got.retention.get_column("period").max() == "2024-08"


def test_since_until_and_skipped() -> None:
    models, edges = _hub()
    got = migration(models, edges, by="series", since="2024-04-01", until=date(2024, 9, 30))
    assert got.retention.get_column("period").unique().to_list() == ["2024-Q2"]
    assert got.skipped == 1
    # authors with null names fall back to the namespace
    assert author_keys(models.filter(pl.col("id").str.starts_with("L01/"))).unique(
        ).to_list() == ["l01"]


def test_bad_input() -> None:
    models, edges = _hub()
    with pytest.raises(InputError, match="unknown grouping 'author'"):
        migration(models, edges, by="author")
    with pytest.raises(InputError, match="unknown period 'week'"):
        migration(models, edges, period="week")
    with pytest.raises(InputError, match="top must be at least 1"):
        migration(models, edges, top=0)
    with pytest.raises(InputError, match=r"one quarter \(2024-Q2\): nothing to compare"):
        migration(models, edges, since="2024-04-01", until="2024-06-30")
    with pytest.raises(InputError, match="no dated derivatives in range"):
        migration(models, edges, since="2030-01-01")
    with pytest.raises(InputError, match="no creation dates"):
        migration(models.drop("created_at"), edges)
    undated = models.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("created_at"))
    with pytest.raises(InputError, match="no creation dates"):
        migration(undated, edges)
    with pytest.raises(InputError, match="no creation dates"):
        succession(undated, edges)
    # nobody to name: every derivative lacks an author and a namespace
    nameless = pl.DataFrame({"id": ["root/base", "a", "b"], "author": [None, None, None],
                             "created_at": [_t(2024, 1, 1), _t(2024, 1, 2), _t(2024, 5, 1)]})
    e = pl.DataFrame({"parent": ["root/base", "root/base"], "child": ["a", "b"]})
    with pytest.raises(InputError, match=r"no derivative has an author or a namespace \(2 "):
        migration(nameless, e)
    with pytest.raises(InputError, match="no dated derivatives in range"):
        author_activity(models, edges, since="2030-01-01")
    with pytest.raises(InputError, match="vendor 'Mistral AI' has one series "
                                         r"\(Mistral 7B\): no succession"):
        succession(models, edges, "Mistral AI")
    with pytest.raises(InputError, match=r"unknown vendor 'Metta' \(no foundation with "
                                         r"derivatives\); did you mean 'Meta'\?"):
        succession(models, edges, "Metta")
    with pytest.raises(InputError, match="no vendor has two dated series"):
        succession(models.filter(pl.col("id") != L3), edges.filter(pl.col("parent") != L3))
    for call in (lambda: migration(models, edges, by="author"),
                 lambda: succession(models, edges, "Qwen")):
        with pytest.raises(InputError) as info:
            call()
        assert "\n" not in str(info.value)  # one line for the CLI's "Error: ..."


def test_succession() -> None:
    models, edges = _hub()
    got = succession(models, edges)
    assert got.schema == pl.Schema(SUCCESSION_SCHEMA)
    # Meta: Llama 2 (2023-07-18) -> Llama 3 (2024-04-18 = R); Mistral AI and Qwen have one
    # series each
    assert got.rows() == [(
        "Meta", "Llama 2", "Llama 3", date(2023, 7, 18), date(2024, 4, 18),
        275,  # 2023-07-18 -> 2024-01-18 is 184 days, then 31 + 29 + 31
        # April: Llama 2 has l01-l03 (3), Llama 3 b01 + meta-llama (2); May: Llama 2 l04-l06
        # (3), Llama 3 y6 + z01/z02's merges at 1/2 each = 7
        "2024-05",
        # the 30 days before R (03-19..04-17): l6 (03-25) + b01 (03-30) = 7 Llama 2 derivatives;
        # trailing window [R+d-29, R+d]: d=6 drops l6 (03-25 + 30) -> b01 + l01-l03 (04-19)
        # = 4, not below 3.5; d=11 drops b01 (03-30 + 30 = 04-29) -> 3 < 3.5
        11,
        # B (Llama 2 in 01-19..04-17, meta-llama excluded): l6 y6 d2 b01 = 15 (z's 01-10 is
        # too early); on Llama 3 in 04-18..07-16: y6 b01 -> 7/15; elsewhere only: d2 (b01's
        # Mistral derivative does not count: it also built on Llama 3) -> 2/15
        7 / 15,
        2 / 15,
    )]
    assert succession(models, edges, ["meta-llama"]).equals(got)  # an org of the vendor
    assert succession(models, edges, "META").equals(got)
