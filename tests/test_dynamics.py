"""trends and response_times (DESIGN §8) on a hand-computed fixture hub."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from ecograph.dynamics import TREND_SCHEMA, response_times, trends
from ecograph.errors import InputError, UnknownModelError


def _t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Foundations: 6 vendors, 8 series (lineage in the comment).
FOUNDATIONS = [
    ("meta-llama/Llama-2-7b-hf", _t(2023, 7, 18)),  # Meta, Llama 2, 5-9B
    ("meta-llama/Meta-Llama-3-8B", _t(2024, 4, 18)),  # Meta, Llama 3, 5-9B
    ("meta-llama/Llama-3.1-8B", _t(2024, 7, 23)),  # Meta, Llama 3.1, 5-9B
    ("mistralai/Mistral-7B-v0.1", _t(2023, 9, 27)),  # Mistral AI, Mistral 7B, 5-9B
    ("Qwen/Qwen2.5-7B", _t(2024, 9, 19)),  # Qwen (Alibaba), Qwen2.5, 5-9B
    ("google/gemma-2-9b", _t(2024, 6, 27)),  # Google, Gemma 2, 5-9B
    ("microsoft/phi-2", _t(2023, 12, 13)),  # Microsoft, Phi-2, size unknown
    ("Qwen/Qwen2.5-0.5B", _t(2024, 9, 19)),  # Qwen (Alibaba), Qwen2.5, <1B
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", _t(2025, 1, 20)),  # DeepSeek, 1-4B
]
L2, L3, L31, M7, Q7, G9, PHI, Q05, R1 = (f for f, _ in FOUNDATIONS)

# Derivatives: (id, created, relation, parents)
DERIVATIVES = [
    # 2023-Q3
    ("a/llama2-ft", _t(2023, 8, 1), "finetune", [L2]),
    ("b/llama2-gguf", _t(2023, 8, 15), "quantized", ["a/llama2-ft"]),
    ("c/llama2-lora", _t(2023, 9, 30), "adapter", [L2]),
    # 2023-Q4
    ("a/mistral-ft", _t(2023, 10, 5), "finetune", [M7]),
    ("x/mistral-llama-merge", _t(2023, 11, 11), "merge", ["a/llama2-ft", M7]),
    ("b/mistral-gguf", _t(2023, 12, 24), "quantized", ["a/mistral-ft"]),
    ("c/phi2-ft", _t(2023, 12, 31, 23, 30), "finetune", [PHI]),
    # 2024-Q1
    ("a/phi2-gguf", _t(2024, 1, 1), "quantized", ["c/phi2-ft"]),
    ("m/llama2-phi-merge", _t(2024, 2, 10), "merge", [L2, PHI]),
    ("m/merge-of-merges", _t(2024, 3, 5), "merge",
     ["x/mistral-llama-merge", "m/llama2-phi-merge"]),
    # 2024-Q2
    ("a/llama3-ft", _t(2024, 4, 20, 18), "finetune", [L3]),
    ("b/llama3-gguf", _t(2024, 4, 21), "quantized", [L3]),
    ("u/llama3-ft-2", _t(2024, 5, 1), "finetune", [L3]),
    ("c/gemma2-ft", _t(2024, 6, 28), "finetune", [G9]),
    ("o/orphan-ft", _t(2024, 5, 5), "finetune", ["gone/deleted"]),  # missing parent
    # 2024-Q3
    ("a/llama31-ft", _t(2024, 7, 24), "finetune", [L31]),
    ("b/llama31-gguf", _t(2024, 7, 24), "quantized", [L31]),
    ("q/qwen25-ft", _t(2024, 9, 20), "finetune", [Q7]),
    ("q/qwen-small-ft", _t(2024, 9, 25), "finetune", [Q05]),
    ("x/qwen-llama31-merge", _t(2024, 9, 30), "merge", [L31, Q7]),
    # 2024-Q4
    ("a/qwen-adapter", _t(2024, 10, 1), "adapter", [Q7]),
    ("x/gemma-qwen-merge", _t(2024, 11, 15), "merge", [G9, Q05]),
    ("q/qwen25-both", _t(2024, 12, 1), "merge", [Q7, Q05]),
    # 2025-Q1
    ("d/r1-ft", _t(2025, 1, 21), "finetune", [R1]),
    ("d/r1-gguf", _t(2025, 1, 25), "quantized", [R1]),
    ("d/r1-undated", None, "finetune", [R1]),  # no date: in no period
]


def _hub() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [(f, c, None, "ok") for f, c in FOUNDATIONS]
    rows += [(d, c, rel, "ok") for d, c, rel, _ in DERIVATIVES]
    rows += [("gone/deleted", None, None, "missing"), ("solo/alone", _t(2024, 1, 1), None, "ok")]
    models = pl.DataFrame(
        rows,
        schema={"id": pl.Utf8, "created_at": pl.Datetime("us", "UTC"), "relation": pl.Utf8,
                "status": pl.Utf8},
        orient="row",
    )
    edge_rows = [(p, d, rel) for d, _, rel, parents in DERIVATIVES for p in parents]
    edge_rows.append((L2, L2, "finetune"))  # a self-loop: L2 stays a foundation
    edges = pl.DataFrame(edge_rows, schema=["parent", "child", "relation"], orient="row")
    return models, edges


def _rows(frame: pl.DataFrame) -> list[tuple]:
    return [(p, g, round(n, 6), t, round(s, 6), lead, round(c, 6))
            for p, g, n, t, s, lead, c in frame.iter_rows()]


def test_trends_by_vendor_per_quarter() -> None:
    models, edges = _hub()
    got = trends(models, edges, by="vendor", period="quarter")
    assert got.schema == pl.Schema(TREND_SCHEMA)
    third, sixth = 1 / 3, 1 / 6
    expected = [
        # 2023-Q3: a/llama2-ft, b/llama2-gguf (generation 2), c/llama2-lora: all Meta
        ("2023-Q3", "Meta", 3, 3, 1, True, 1),
        # 2023-Q4: mistral-ft 1 + merge 1/2 + mistral-gguf 1; phi2-ft 1; merge 1/2 -> total 4
        ("2023-Q4", "Mistral AI", 2.5, 3, 0.625, True, 0.46875),
        ("2023-Q4", "Microsoft", 1, 1, 0.25, False, 0.46875),
        ("2023-Q4", "Meta", 0.5, 1, 0.125, False, 0.46875),
        # 2024-Q1: phi2-gguf 1 (MS); llama2-phi-merge 1/2 + 1/2; merge-of-merges 1/3 each of
        # Meta, Mistral AI, Microsoft -> MS 11/6, Meta 5/6, Mistral 1/3; Σ share² = 150/324
        ("2024-Q1", "Microsoft", 11 / 6, 3, 11 / 18, True, 150 / 324),
        ("2024-Q1", "Meta", 5 / 6, 2, 5 / 18, False, 150 / 324),
        ("2024-Q1", "Mistral AI", third, 1, 2 / 18, False, 150 / 324),
        # 2024-Q2: three Llama 3 derivatives, one Gemma 2 (the orphan has no foundation)
        ("2024-Q2", "Meta", 3, 3, 0.75, True, 0.625),
        ("2024-Q2", "Google", 1, 1, 0.25, False, 0.625),
        # 2024-Q3: Llama 3.1 ft + gguf + merge/2 = 2.5; Qwen ft + ft + merge/2 = 2.5: a tie,
        # led by the smaller name
        ("2024-Q3", "Meta", 2.5, 3, 0.5, True, 0.5),
        ("2024-Q3", "Qwen (Alibaba)", 2.5, 3, 0.5, False, 0.5),
        # 2024-Q4: qwen-adapter 1, gemma-qwen-merge 1/2 + 1/2, qwen25-both 1 (both parents
        # are Qwen: one group) -> Qwen 5/2, Google 1/2 of 3; Σ share² = 26/36
        ("2024-Q4", "Qwen (Alibaba)", 2.5, 3, 5 / 6, True, 26 / 36),
        ("2024-Q4", "Google", 0.5, 1, sixth, False, 26 / 36),
        # 2025-Q1: two dated R1 derivatives (the undated one is in no period)
        ("2025-Q1", "DeepSeek", 2, 2, 1, True, 1),
    ]
    assert _rows(got) == [(p, g, round(n, 6), t, round(s, 6), lead, round(c, 6))
                          for p, g, n, t, s, lead, c in expected]
    # new sums to the number of dated derivatives (25 with a foundation, 1 undated)
    assert got.get_column("new").sum() == pytest.approx(24)


def test_trends_by_series_per_quarter() -> None:
    models, edges = _hub()
    got = trends(models, edges, by="series", period="quarter")
    expected = [
        ("2023-Q3", "Llama 2", 3, 3),
        ("2023-Q4", "Mistral 7B", 2.5, 3),
        ("2023-Q4", "Phi-2", 1, 1),
        ("2023-Q4", "Llama 2", 0.5, 1),
        ("2024-Q1", "Phi-2", 11 / 6, 3),
        ("2024-Q1", "Llama 2", 5 / 6, 2),
        ("2024-Q1", "Mistral 7B", 1 / 3, 1),
        ("2024-Q2", "Llama 3", 3, 3),
        ("2024-Q2", "Gemma 2", 1, 1),
        # Qwen2.5-0.5B is Qwen2.5 too: qwen-small-ft counts for it
        ("2024-Q3", "Llama 3.1", 2.5, 3),
        ("2024-Q3", "Qwen2.5", 2.5, 3),
        ("2024-Q4", "Qwen2.5", 2.5, 3),
        ("2024-Q4", "Gemma 2", 0.5, 1),
        ("2025-Q1", "DeepSeek-R1 Distill Qwen", 2, 2),
    ]
    assert [(p, g, round(n, 6), t) for p, g, n, t in
            got.select("period", "group", "new", "touching").iter_rows()] == [
        (p, g, round(n, 6), t) for p, g, n, t in expected]
    leaders = got.filter(pl.col("leader")).select("period", "group").rows()
    assert leaders == [("2023-Q3", "Llama 2"), ("2023-Q4", "Mistral 7B"),
                       ("2024-Q1", "Phi-2"), ("2024-Q2", "Llama 3"),
                       ("2024-Q3", "Llama 3.1"), ("2024-Q4", "Qwen2.5"),
                       ("2025-Q1", "DeepSeek-R1 Distill Qwen")]
    sums = got.group_by("period").agg(pl.col("share").sum()).get_column("share")
    assert sums.to_list() == pytest.approx([1.0] * 7)


def test_trends_by_root_and_size() -> None:
    models, edges = _hub()
    by_root = trends(models, edges, by="root", period="quarter").filter(
        pl.col("period") == "2024-Q4")
    # qwen-adapter: Q7 1; gemma-qwen-merge: G9 1/2, Q05 1/2; qwen25-both: Q7 1/2, Q05 1/2
    assert [(g, round(n, 6), t) for g, n, t in
            by_root.select("group", "new", "touching").iter_rows()] == [
        (Q7, 1.5, 2), (Q05, 1.0, 2), (G9, 0.5, 1)]
    by_size = trends(models, edges, by="size", period="quarter")
    # phi-2 spells no size: its derivatives are "unknown"; the Mistral/Llama merge has one
    # size class (both 5-9B)
    assert by_size.filter(pl.col("period") == "2023-Q4").select(
        "group", "new", "touching").rows() == [("5-9B", 3.0, 3), ("unknown", 1.0, 1)]
    # gemma-qwen-merge and qwen25-both are half 5-9B, half <1B
    assert by_size.filter(pl.col("period") == "2024-Q4").select(
        "group", "new", "touching").rows() == [("5-9B", 2.0, 3), ("<1B", 1.0, 2)]


def test_trends_per_month_uses_utc_calendar_months() -> None:
    models, edges = _hub()
    got = trends(models, edges, by="vendor", period="month")
    # c/phi2-ft was created 2023-12-31 23:30 UTC: December, not January
    assert got.filter(pl.col("period") == "2023-12").select("group", "new").rows() == [
        ("Microsoft", 1.0), ("Mistral AI", 1.0)]
    assert got.filter(pl.col("period") == "2024-01").select("group", "new").rows() == [
        ("Microsoft", 1.0)]
    # the same instants in another time zone fall in the same UTC months
    shifted = models.with_columns(pl.col("created_at").dt.convert_time_zone("Asia/Tokyo"))
    assert trends(shifted, edges, by="vendor", period="month").equals(got)


def test_trends_relation_and_date_filters() -> None:
    models, edges = _hub()
    merges = trends(models, edges, by="vendor", period="quarter", relation="merge")
    assert merges.filter(pl.col("period") == "2024-Q4").select("group", "new").rows() == [
        ("Qwen (Alibaba)", 1.5), ("Google", 0.5)]
    assert merges.get_column("new").sum() == pytest.approx(6)  # six merges
    both = trends(models, edges, by="vendor", relation=["adapter", "quantized"])
    assert both.get_column("new").sum() == pytest.approx(8)
    window = trends(models, edges, by="vendor", period="quarter", since="2024-04-01",
                    until=date(2024, 6, 30))
    assert window.select("period", "group", "new").rows() == [
        ("2024-Q2", "Meta", 3.0), ("2024-Q2", "Google", 1.0)]
    # a date bound covers its whole day: a/llama3-ft was created 2024-04-20 18:00
    day = trends(models, edges, by="vendor", since="2024-04-20", until="2024-04-20")
    assert day.select("period", "group", "new").rows() == [("2024-04", "Meta", 1.0)]
    lineage = pl.DataFrame({"root": [L2, M7], "vendor": ["Meta Platforms", "Mistral"]})
    given = trends(models, edges, by="vendor", period="quarter", lineages=lineage)
    assert given.filter(pl.col("period") == "2023-Q4").get_column("group").to_list() == [
        "Mistral", "Microsoft", "Meta Platforms"]


def test_trends_bad_input() -> None:
    models, edges = _hub()
    with pytest.raises(InputError, match="unknown grouping 'author'"):
        trends(models, edges, by="author")
    with pytest.raises(InputError, match="unknown period 'week'"):
        trends(models, edges, period="week")
    with pytest.raises(InputError, match="unknown relation 'finetuned'"):
        trends(models, edges, relation="finetuned")
    with pytest.raises(InputError, match="empty period range"):
        trends(models, edges, since="2024-05-01", until="2024-04-30")
    with pytest.raises(InputError, match="not an ISO date"):
        trends(models, edges, since="last week")
    with pytest.raises(InputError, match="no creation dates"):
        trends(models.drop("created_at"), edges)
    undated = models.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("created_at"))
    with pytest.raises(InputError, match="no creation dates"):
        trends(undated, edges)
    with pytest.raises(InputError) as info:
        trends(models, edges, by="author", period="week")
    assert "\n" not in str(info.value)  # one line for the CLI's "Error: ..."
    # no derivative in range: an empty frame with the schema, not an error
    empty = trends(models, edges, since="2030-01-01")
    assert empty.height == 0 and empty.schema == pl.Schema(TREND_SCHEMA)


def test_response_times() -> None:
    models, edges = _hub()
    got = response_times(models, edges, [L2, PHI, R1, "a/llama2-ft", "solo/alone"])
    rows = {r["root"]: r for r in got.iter_rows(named=True)}
    assert list(rows) == [L2, PHI, R1, "a/llama2-ft", "solo/alone"]
    # Llama 2 (2023-07-18): ft 2023-08-01 = 14 d, gguf 08-15 = 28 d, lora 09-30 = 74 d,
    # first merge 11-11 = 116 d; within 30 days: the ft and the gguf
    assert rows[L2]["first_by_relation_days"] == {
        "finetune": 14.0, "quantized": 28.0, "adapter": 74.0, "merge": 116.0, "unknown": None}
    assert rows[L2]["by_relation_30d"] == {
        "finetune": 1, "quantized": 1, "adapter": 0, "merge": 0, "unknown": 0}
    # phi-2 (2023-12-13): ft 12-31 23:30 = 18 d 23.5 h, gguf 2024-01-01 = 19 d,
    # llama2-phi-merge 2024-02-10 = 59 d
    assert rows[PHI]["first_by_relation_days"] == {
        "finetune": pytest.approx(18 + 23.5 / 24), "quantized": 19.0, "adapter": None,
        "merge": 59.0, "unknown": None}
    assert rows[PHI]["by_relation_30d"] == {
        "finetune": 1, "quantized": 1, "adapter": 0, "merge": 0, "unknown": 0}
    # R1 (2025-01-20): ft +1 d, gguf +5 d; the undated ft counts nowhere
    assert rows[R1]["first_by_relation_days"]["finetune"] == 1.0
    assert rows[R1]["first_by_relation_days"]["quantized"] == 5.0
    assert rows[R1]["by_relation_30d"]["finetune"] == 1
    # any root works: a/llama2-ft (2023-08-01): its gguf +14 d, the merge 11-11 +102 d
    assert rows["a/llama2-ft"]["first_by_relation_days"]["quantized"] == 14.0
    assert rows["a/llama2-ft"]["first_by_relation_days"]["merge"] == 102.0
    # a model without edges: nothing first, nothing within 30 days
    assert set(rows["solo/alone"]["first_by_relation_days"].values()) == {None}
    assert set(rows["solo/alone"]["by_relation_30d"].values()) == {0}


def test_response_times_root_without_date_and_unknown_root() -> None:
    models, edges = _hub()
    undated = models.with_columns(
        pl.when(pl.col("id") == R1).then(None).otherwise(pl.col("created_at"))
        .alias("created_at"))
    row = response_times(undated, edges, [R1]).row(0, named=True)
    assert set(row["first_by_relation_days"].values()) == {None}
    assert row["by_relation_30d"] is None
    with pytest.raises(UnknownModelError, match="meta-llama/Llama-2-7b-hf"):
        response_times(models, edges, ["meta-llama/Llama-2-7b"])


def test_response_window_is_0_to_30_days_inclusive() -> None:
    """DESIGN §8: ``by_relation_30d`` counts members created 0-30 days after the root:
    the same instant and exactly 30 days count, 30 days and a second, or a second before
    the root, do not."""
    root = datetime(2024, 1, 1, tzinfo=UTC)
    second = pl.duration(seconds=1)
    models = pl.DataFrame({
        "id": ["o/root", "u/same", "u/day30", "u/late", "u/early"],
        "created_at": [root, root, datetime(2024, 1, 31, tzinfo=UTC),
                       datetime(2024, 1, 31, tzinfo=UTC), root],
        "relation": [None, "finetune", "quantized", "adapter", "merge"],
    }).with_columns(
        pl.when(pl.col("id") == "u/late").then(pl.col("created_at") + second)
        .when(pl.col("id") == "u/early").then(pl.col("created_at") - second)
        .otherwise(pl.col("created_at")).alias("created_at"))
    edges = pl.DataFrame({"parent": ["o/root"] * 4,
                          "child": ["u/same", "u/day30", "u/late", "u/early"]})
    row = response_times(models, edges, ["o/root"]).row(0, named=True)
    assert row["by_relation_30d"] == {"finetune": 1, "quantized": 1, "adapter": 0,
                                      "merge": 0, "unknown": 0}
