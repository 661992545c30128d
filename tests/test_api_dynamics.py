"""Ecosystem.lineages / trends / response_times / plot_trends, and dynamics.top_groups
against a plain-Python fold on random frames."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ecograph
from ecograph.dynamics import OTHER, TREND_SCHEMA, period_summary, top_groups, trends
from ecograph.errors import InputError, UsageError
from ecograph.lineage import LINEAGE_SCHEMA

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"


@pytest.fixture(scope="module")
def eco() -> ecograph.Ecosystem:
    return ecograph.Ecosystem.from_snapshot(FIXTURE)


def _t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_lineages_every_foundation(eco: ecograph.Ecosystem) -> None:
    frame = eco.lineages()
    assert frame.schema == pl.Schema(LINEAGE_SCHEMA)
    assert frame["root"].to_list() == sorted(eco.foundations()["root"].to_list())


def test_trends_is_the_pure_trends(eco: ecograph.Ecosystem) -> None:
    for by in ("vendor", "series", "root", "size"):
        got = eco.trends(by=by, period="month")
        assert got.equals(trends(eco.models, eco.edges, by=by, period="month")), by
    assert eco.trends().equals(trends(eco.models, eco.edges, period="quarter"))
    folded = eco.trends(by="root", top=2)
    assert folded.equals(top_groups(eco.trends(by="root"), 2))


def test_trends_by_size_prefers_the_hubs_parameter_count() -> None:
    models = pl.DataFrame({
        "id": ["acme/Rocket-7B", "u/a", "u/b"],
        "created_at": [_t(2024, 1, 1), _t(2024, 2, 1), _t(2024, 2, 2)],
        "relation": [None, "finetune", "quantized"],
        "safetensors_total": [30_500_000_000, None, None],
    })
    edges = pl.DataFrame({"parent": ["acme/Rocket-7B", "acme/Rocket-7B"],
                          "child": ["u/a", "u/b"]})
    eco = ecograph.Ecosystem.from_frames(models, edges)
    assert eco.lineages()["size_class"].to_list() == ["21-40B"]
    assert eco.trends(by="size").select("group", "new").rows() == [("21-40B", 2.0)]


def test_arguments_are_checked_before_the_store_is_read(tmp_path: Path) -> None:
    calls = []

    def loader(columns=None):
        calls.append(columns)
        raise AssertionError("the store was read")

    eco = ecograph.api.Ecosystem(_loader=loader)
    bad_file = tmp_path / "x.toml"
    bad_file.write_text("[vendors]\nacme = 3\n")
    for kwargs, message in [
        ({"by": "org"}, "unknown grouping 'org'"),
        ({"period": "week"}, "unknown period 'week'"),
        ({"since": "2025-01-01", "until": "2024-01-01"}, "empty period range"),
        ({"relation": "fork"}, "unknown relation"),
        ({"overrides": bad_file}, "x.toml:2: acme must map to a string"),
        ({"top": 0}, "top must be at least 1"),
    ]:
        with pytest.raises(InputError, match=message):
            eco.trends(**kwargs)
    with pytest.raises(InputError, match="x.toml:2"):
        eco.lineages(bad_file)
    assert calls == []


def test_response_times_of_every_foundation(eco: ecograph.Ecosystem) -> None:
    frame = eco.response_times()
    assert frame["root"].to_list() == sorted(eco.foundations()["root"].to_list())
    one = eco.response_times("qwen/qwen2.5-7b")
    assert one.row(0) == frame.filter(pl.col("root") == "Qwen/Qwen2.5-7B").row(0)


def test_plot_share_and_new_through_the_api(eco: ecograph.Ecosystem, tmp_path: Path) -> None:
    fig = eco.plot("share", by="vendor", top=2)
    share_ax = fig.axes[1]
    assert [t.get_text() for t in share_ax.get_legend().get_texts()] == [
        OTHER, "Mistral AI", "Meta"]
    with pytest.raises(UsageError, match="takes no roots"):
        eco.plot("share", ["Qwen/Qwen2.5-7B"])
    path = eco.save_plot("new", tmp_path / "new.svg", by="series")
    assert path.read_text().lstrip().startswith("<?xml")
    # the families' plots keep their default of 5 families
    assert len(eco.plot("adoption").axes[0].get_lines()) == 5


# --------------------------------------------------------------------------- top_groups

_cells = st.dictionaries(
    st.tuples(st.sampled_from(["2024-Q1", "2024-Q2", "2024-Q3"]),
              st.sampled_from(["a", "b", "c", "d", "e", OTHER])),
    st.tuples(st.integers(1, 12), st.integers(0, 3)),
    min_size=1, max_size=18,
)


def _frame(cells: dict) -> pl.DataFrame:
    rows = []
    for (period, group), (halves, extra) in sorted(cells.items()):
        rows.append((period, group, halves / 2, halves + extra))
    frame = pl.DataFrame(rows, schema=["period", "group", "new", "touching"], orient="row")
    frame = frame.with_columns(share=pl.col("new") / pl.col("new").sum().over("period"))
    frame = frame.with_columns(
        leader=pl.col("group") == pl.col("group").sort_by(
            [pl.col("share"), pl.col("group")], descending=[True, False]).first().over("period"),
        concentration=(pl.col("share") ** 2).sum().over("period"),
    )
    return frame.cast(TREND_SCHEMA)  # type: ignore[arg-type]


def _brute_fold(frame: pl.DataFrame, top: int) -> dict[tuple[str, str], tuple]:
    rows = frame.rows(named=True)
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["group"]] = totals.get(r["group"], 0.0) + r["new"]
    if len(totals) <= top:
        return {(r["period"], r["group"]): (r["new"], r["touching"], r["share"]) for r in rows}
    kept = set(sorted(totals, key=lambda g: (-totals[g], g))[:top])
    label = OTHER if OTHER not in kept else f"{OTHER} groups"
    acc: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        key = (r["period"], r["group"] if r["group"] in kept else label)
        cell = acc.setdefault(key, [0.0, 0])
        cell[0] += r["new"]
        cell[1] += r["touching"]
    period_total: dict[str, float] = {}
    for (period, _g), (new, _t) in acc.items():
        period_total[period] = period_total.get(period, 0.0) + new
    return {k: (v[0], v[1], v[0] / period_total[k[0]]) for k, v in acc.items()}


@settings(max_examples=150, deadline=None)
@given(_cells, st.integers(1, 6))
def test_top_groups_matches_a_plain_fold(cells: dict, top: int) -> None:
    frame = _frame(cells)
    got = top_groups(frame, top)
    expected = _brute_fold(frame, top)
    assert {(r[0], r[1]): (r[2], r[3], pytest.approx(r[4])) for r in got.rows()} == expected
    # the shares of every period still sum to 1; concentration is the unfolded one
    sums = got.group_by("period").agg(pl.col("share").sum(), pl.col("concentration").first())
    unfolded = period_summary(frame).select("period", "concentration")
    for period, total, conc in sums.rows():
        assert total == pytest.approx(1.0)
        assert conc == pytest.approx(unfolded.filter(pl.col("period") == period)[0, 1])
    assert top_groups(frame, None).equals(frame)
