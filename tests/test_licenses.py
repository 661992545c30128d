"""Licence normalisation and the licence-class table (DESIGN §9)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecograph.licenses import (
    COPYLEFT,
    LICENSE_CLASSES,
    NON_COMMERCIAL,
    PERMISSIVE,
    RESTRICTED,
    UNKNOWN,
    classify_licenses,
    license_class,
    license_column,
    license_table,
    normalize_license,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

#: Every licence identifier the Hub accepts in a card, in the order of its documentation
#: (huggingface/hub-docs, docs/hub/repositories-licenses.md at commit 242f4a1).
HUB_LICENSE_IDS = [
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
    "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
    "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl",
    "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research",
    "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by",
    "odbl", "openmdw-1.0", "openmdw-1.1", "openrail++", "osl-3.0", "postgresql", "ofl-1.1",
    "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license",
    "fair-noncommercial-research-license", "llama2", "llama3", "llama3.1", "llama3.2",
    "llama3.3", "llama4", "grok2-community", "gemma", "unknown", "other",
]

#: Licence values that occur in ../shared/data/real/ (the anatomy family's cards and
#: ``license:`` tags; the other two datasets carry no licence), with their class.
REAL_VALUES = {"apache-2.0": PERMISSIVE, "mit": PERMISSIVE, "other": RESTRICTED}


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("card", "tags", "expected"),
    [
        ("apache-2.0", [], "apache-2.0"),
        ("  Apache-2.0\n", ["license:mit"], "apache-2.0"),  # the card wins
        (None, ["license:MIT", "region:us"], "mit"),
        ("", ["license:mit"], "mit"),  # an empty card value is no value
        (["MIT", "apache-2.0", "mit", " "], [], "apache-2.0|mit"),
        (["gemma", 3, None], [], "gemma"),  # non-string items are ignored
        (2.0, ["license:other"], "other"),  # a non-string card value is ignored
        ({"name": "x"}, [], None),
        (None, ["license:mit", "License:Apache-2.0 "], "apache-2.0|mit"),
        (None, [], None),
        (None, None, None),
        ("mit|apache-2.0", [], "apache-2.0|mit"),  # a normalised value is kept as it is
        ("cc-by-nc-4.0", ["license:cc-by-nc-4.0"], "cc-by-nc-4.0"),
    ],
)
def test_normalize_license(card, tags, expected):
    assert normalize_license(card, tags) == expected


def test_license_column_reads_what_a_store_has():
    # today's store: only the ``license`` column (first license: tag, else the card string)
    only = pl.DataFrame({"id": ["a", "b", "c"], "license": [" MIT", None, ""]})
    assert license_column(only).to_list() == ["mit", None, None]
    # the store's tags column is JSON text; it comes before the ``license`` column
    text = pl.DataFrame({"id": ["a", "b"], "license": ["mit", "x"],
                         "tags": ['["license:mit", "license:apache-2.0"]', None]})
    assert license_column(text).to_list() == ["apache-2.0|mit", "x"]
    # a Utf8 card column comes first
    card = pl.DataFrame({"id": ["a", "b"], "card_license": ["Gemma", None],
                         "license": ["apache-2.0", "llama2"]})
    assert license_column(card).to_list() == ["gemma", "llama2"]
    assert license_column(pl.DataFrame({"id": ["a"]})).to_list() == [None]
    assert license_column(pl.DataFrame({"id": ["a"], "card_license": [3]})).to_list() == [None]


_PIECE = st.sampled_from(["mit", "MIT", " apache-2.0 ", "Apache-2.0", "llama3.1", "", " ",
                          "other", "a|b", "cc-by-nc-4.0", "\tgemma\n", "É-Licence"])


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.lists(st.none() | _PIECE, max_size=3),
            st.none() | st.lists(
                st.sampled_from(["license:", "License:", "region:us", "license: x "])
                .flatmap(lambda pre: _PIECE.map(lambda p: pre + p)), max_size=3),
            st.none() | _PIECE,
        ),
        max_size=12,
    ),
    card_as_text=st.booleans(),
    tags_as_json=st.booleans(),
)
def test_license_column_is_normalize_license_row_by_row(rows, card_as_text, tags_as_json):
    cards = [(c[0] if c else None) if card_as_text else c for c, _, _ in rows]
    frame = pl.DataFrame(
        {
            "id": [str(i) for i in range(len(rows))],
            "card_license": cards,
            "tags": [json.dumps(t) if tags_as_json and t is not None else t
                     for _, t, _ in rows],
            "license": [lic for _, _, lic in rows],
        },
        schema={"id": pl.Utf8,
                "card_license": pl.Utf8 if card_as_text else pl.List(pl.Utf8),
                "tags": pl.Utf8 if tags_as_json else pl.List(pl.Utf8),
                "license": pl.Utf8},
    )
    expected = [
        normalize_license(card, tags) or normalize_license(lic)
        for card, (_, tags, lic) in zip(cards, rows, strict=True)
    ]
    assert license_column(frame).to_list() == expected


# --------------------------------------------------------------------------- classes


def test_the_table_classifies_every_hub_licence_id_once():
    table = license_table()
    assert table["license"].n_unique() == table.height  # no duplicates
    assert set(table["class"]) <= set(LICENSE_CLASSES)
    hub = table.filter(pl.col("source") == "hub")
    assert hub["license"].to_list() == HUB_LICENSE_IDS
    assert set(table["source"]) == {"hub", "license_name"}
    # only ``unknown`` and the unspecific Creative Commons family say nothing usable
    assert sorted(table.filter(pl.col("class") == UNKNOWN)["license"]) == ["cc", "unknown"]
    for value in table["license"]:
        assert value == value.strip().lower() and "|" not in value


@pytest.mark.parametrize(
    ("value", "klass"),
    [
        # the examples DESIGN §9 names
        ("llama2", RESTRICTED), ("llama3", RESTRICTED), ("llama3.1", RESTRICTED),
        ("llama3.2", RESTRICTED), ("llama3.3", RESTRICTED), ("llama4", RESTRICTED),
        ("gemma", RESTRICTED), ("other", RESTRICTED), ("cc-by-nc-4.0", NON_COMMERCIAL),
        ("cc-by-nc-sa-4.0", NON_COMMERCIAL), ("apache-2.0", PERMISSIVE), ("mit", PERMISSIVE),
        ("bsd-3-clause", PERMISSIVE), ("cc-by-4.0", PERMISSIVE),
        # more facts
        ("openrail", RESTRICTED), ("bigscience-openrail-m", RESTRICTED),
        ("creativeml-openrail-m", RESTRICTED), ("afl-3.0", PERMISSIVE),
        ("agpl-3.0", COPYLEFT), ("gpl-3.0", COPYLEFT), ("cc-by-sa-4.0", COPYLEFT),
        ("cc0-1.0", PERMISSIVE), ("fair-noncommercial-research-license", NON_COMMERCIAL),
        ("deepseek", RESTRICTED), ("qwen", RESTRICTED), ("qwen-research", NON_COMMERCIAL),
        ("mrl", NON_COMMERCIAL),
        ("unknown", UNKNOWN), ("cc", UNKNOWN), ("not-a-licence", UNKNOWN), (None, UNKNOWN),
        # several licences: the most restrictive known part
        ("apache-2.0|mit", PERMISSIVE), ("apache-2.0|llama3", RESTRICTED),
        ("cc-by-nc-4.0|gpl-3.0", NON_COMMERCIAL), ("gpl-3.0|mit", COPYLEFT),
        ("mit|whatever", PERMISSIVE), ("unknown|whatever", UNKNOWN),
    ],
)
def test_license_class(value, klass):
    assert license_class(value) == klass


def test_classify_licenses_is_license_class_per_value():
    values = pl.Series(HUB_LICENSE_IDS + [None, "apache-2.0|gemma", "junk"])
    assert classify_licenses(values).to_list() == [license_class(v) for v in values]


def test_real_licence_values_have_a_deliberate_class():
    for value, klass in REAL_VALUES.items():
        assert value in set(license_table()["license"])
        assert license_class(value) == klass


def _real_licence_values() -> set[str]:
    """Every licence value in ../shared/data/real/: the anatomy family's card licences and
    ``license:`` tags, and every column named like a licence in the other CSV files."""
    values: set[str] = set()
    for path in sorted(REAL.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            lic_cols = [c for c in reader.fieldnames or [] if "licen" in c.lower()]
            for row in reader:
                for col in lic_cols:
                    if row[col]:
                        values.add(normalize_license(row[col]) or "")
                if "metadata" in row:
                    meta = json.loads(row["metadata"])
                    tags = meta.get("tags") or []
                    values.add(normalize_license(None, tags) or "")
                    for line in (meta.get("card_data") or "").splitlines():
                        if line.startswith("license:"):
                            values.add(normalize_license(line[len("license:"):]) or "")
    values.discard("")
    return values


def test_every_licence_in_the_real_data_is_classified():
    if not REAL.exists():
        pytest.skip("real data not available")
    values = _real_licence_values()
    assert values == set(REAL_VALUES)  # the literal list above is complete
    known = set(license_table()["license"])
    for value in values:
        for part in value.split("|"):
            assert part in known, part
        assert license_class(value) != UNKNOWN or value == "unknown", value
