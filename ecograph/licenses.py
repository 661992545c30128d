"""Model licences: normalisation and the curated licence-class table (DESIGN §9; pure).

A model's **licence** = ``cardData.license``, else its ``license:`` tags; trimmed,
lower-cased; several values are de-duplicated, sorted and joined with ``|``.
:func:`normalize_license` does it for one model, :func:`license_column` for a whole
``models`` frame at once.

Every licence value falls in one **class** (:data:`LICENSE_CLASSES`), read from the curated
table ``ecograph/data/licenses.csv`` (:func:`license_table`):

- ``permissive``: use, change and re-license with attribution at most (apache-2.0, mit,
  bsd*, cc-by-*, cc0-1.0, isc, ...);
- ``copyleft``: derivatives must keep the licence (gpl*, agpl-3.0, lgpl*, mpl-2.0,
  cc-by-sa-*, ...);
- ``restricted/custom``: commercial use allowed under a custom or use-restricted licence
  (llama2, llama3*, llama4, gemma, grok2-community, the OpenRAIL family, ``other``, ...);
- ``non-commercial``: research or non-commercial use only (cc-by-nc*, the research
  licences of FAIR, Apple, Intel, DeepFloyd, ...);
- ``unknown``: ``unknown``, the unspecific ``cc`` family, and every value not in the table.

The table holds every licence identifier the Hub accepts (its ``repositories-licenses``
documentation, hub-docs commit ``242f4a1``: ``source = hub``) and a few names that cards
put in ``license_name`` next to ``license: other`` (``source = license_name``: qwen,
tongyi-qianwen, qwen-research, deepseek, mrl, mnpl), for data sources that report those.
A value that joins several licences (``apache-2.0|llama3``) takes the most restrictive class
among its known parts (non-commercial > restricted/custom > copyleft > permissive); it is
``unknown`` only when every part is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "PERMISSIVE",
    "COPYLEFT",
    "RESTRICTED",
    "NON_COMMERCIAL",
    "UNKNOWN",
    "LICENSE_CLASSES",
    "normalize_license",
    "license_column",
    "license_codes",
    "distinct_codes",
    "recode",
    "labels_of",
    "license_table",
    "license_class",
    "classify_licenses",
]

PERMISSIVE = "permissive"
COPYLEFT = "copyleft"
RESTRICTED = "restricted/custom"
NON_COMMERCIAL = "non-commercial"
UNKNOWN = "unknown"

#: The licence classes, from the least to the most restrictive, then ``unknown``.
LICENSE_CLASSES: tuple[str, ...] = (PERMISSIVE, COPYLEFT, RESTRICTED, NON_COMMERCIAL, UNKNOWN)

#: What :func:`normalize_license` trims (ASCII whitespace, the same in Python and polars).
_SPACE = " \t\n\r\x0b\x0c"
_TAG_PREFIX = "license:"
_SEPARATOR = "|"


# --------------------------------------------------------------------------- normalisation


def _card_parts(value: Any) -> list[str]:
    """The licence strings of a card value: a string, or the strings of a list."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return []
    parts = []
    for item in items:
        if isinstance(item, str):
            parts.extend(item.split(_SEPARATOR))
    return parts


def _join(parts: Iterable[str]) -> str | None:
    clean = {p.strip(_SPACE).lower() for p in parts}
    clean.discard("")
    return _SEPARATOR.join(sorted(clean)) if clean else None


def normalize_license(card_value: Any, tags: Iterable[Any] | None = ()) -> str | None:
    """A model's licence: ``cardData.license``, else its ``license:`` tags.

    Values are trimmed and lower-cased; several values (a list in the card, several
    tags) are de-duplicated, sorted and joined with ``|``. A card string is split on ``|``
    first, so a normalised value normalises to itself. Non-string card values (numbers,
    mappings) and non-string list items are ignored; ``None`` means no licence is known.

    Parameters
    ----------
    card_value : object
        ``cardData["license"]`` as the Hub returns it: a string, a list, ``None``, or junk.
    tags : iterable of str, optional
        The model's Hub tags; ``license:X`` tags are read when the card has no licence.

    Returns
    -------
    str or None

    Examples
    --------
    >>> normalize_license(" Apache-2.0 ", ["license:mit"])
    'apache-2.0'
    >>> normalize_license(["MIT", "apache-2.0", "mit"])
    'apache-2.0|mit'
    >>> normalize_license(None, ["region:us", "license:Llama3.1"])
    'llama3.1'
    >>> normalize_license(2.0, []) is None
    True
    """
    value = _join(_card_parts(card_value))
    if value is not None:
        return value
    from_tags = []
    for tag in tags or ():
        if isinstance(tag, str):
            low = tag.strip(_SPACE).lower()
            if low.startswith(_TAG_PREFIX):
                from_tags.extend(low[len(_TAG_PREFIX) :].split(_SEPARATOR))
    return _join(from_tags)


def _clean_list(parts: pl.Expr) -> pl.Expr:
    """A List(Utf8) expression of licence parts -> the normalised licence (or null)."""
    elem = pl.element().str.strip_chars(_SPACE).str.to_lowercase()
    joined = (
        parts.list.eval(elem)
        .list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
        .list.unique()
        .list.sort()
        .list.join(_SEPARATOR)
    )
    return pl.when(joined != "").then(joined)


def distinct_codes(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Integer codes of a string column: ``(code per row, distinct values)`` with
    ``values[i] == distinct[code[i]]`` and -1 for null. One hashing pass; what follows can
    work on the few distinct values and map back with a numpy lookup.

    >>> code, distinct = distinct_codes(pl.Series(["b", None, "a", "b"]))
    >>> code.tolist(), distinct.to_list()
    ([1, -1, 0, 1], ['a', 'b'])
    """
    distinct = values.drop_nulls().unique().sort()
    code = values.cast(pl.Enum(distinct.to_list())).to_physical().cast(pl.Int64).fill_null(-1)
    return code.to_numpy(), distinct


def recode(code: np.ndarray, distinct: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Map codes into ``distinct`` (strings or nulls, possibly repeated) to codes into its
    sorted distinct non-null values: ``(new code per row, labels)``, -1 for null."""
    inner, labels = distinct_codes(distinct)
    lookup = np.append(inner, -1)  # index -1 (a null row) -> -1
    return lookup[code], labels


def _normalize_text(raw: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Normalise ``|``-joined licence text, each distinct value once (a hub has a few
    hundred): ``(code per row, sorted licences)``."""
    code, distinct = distinct_codes(raw)
    clean = pl.DataFrame({"raw": distinct}).select(
        _clean_list(pl.col("raw").str.split(_SEPARATOR))
    ).to_series()
    return recode(code, clean)


def _raw_text(frame: pl.DataFrame, column: str) -> pl.Series | None:
    """One ``|``-joined text of licence values per row of a column (None: unusable dtype).

    ``card_license`` and ``license``: Utf8 or List(Utf8); ``tags``: List(Utf8) or the
    store's JSON text, of which the ``license:`` tags are kept (prefix removed)."""
    dtype = frame.schema[column]
    col = pl.col(column)
    if column == "tags":
        if dtype == pl.Utf8:
            col = col.str.json_decode(pl.List(pl.Utf8))
        elif not (isinstance(dtype, pl.List) and dtype.inner == pl.Utf8):
            return None
        low = pl.element().str.strip_chars(_SPACE).str.to_lowercase()
        tag = pl.element()
        expr = (
            col.list.eval(low)
            .list.eval(tag.filter(tag.str.starts_with(_TAG_PREFIX)).str.slice(len(_TAG_PREFIX)))
            .list.join(_SEPARATOR)
        )
    elif dtype == pl.Utf8:
        expr = col
    elif isinstance(dtype, pl.List) and dtype.inner == pl.Utf8:
        expr = col.list.join(_SEPARATOR)
    else:
        return None
    return frame.select(expr.alias(column)).to_series()


def license_codes(models: pl.DataFrame) -> tuple[np.ndarray, pl.Series]:
    """:func:`license_column` as integers: ``(code per row, licences)`` with ``licences``
    sorted and -1 where no licence is known.

    >>> code, labels = license_codes(pl.DataFrame({"license": ["MIT", None, "gemma"]}))
    >>> code.tolist(), labels.to_list()
    ([1, -1, 0], ['gemma', 'mit'])
    """
    found = []
    for column in ("card_license", "tags", "license"):  # precedence, highest first
        raw = _raw_text(models, column) if column in models.columns else None
        if raw is not None:
            found.append(_normalize_text(raw))
    labels = pl.concat([lab for _, lab in found]).unique().sort() if found else pl.Series(
        [], dtype=pl.Utf8)
    code = np.full(models.height, -1, dtype=np.int64)
    for column_code, column_labels in reversed(found):  # higher precedence overwrites
        lookup = np.append(
            column_labels.cast(pl.Enum(labels.to_list())).to_physical().to_numpy(), -1
        ).astype(np.int64)
        mapped = lookup[column_code]
        code = np.where(mapped >= 0, mapped, code)
    return code, labels.alias("license")


def license_column(models: pl.DataFrame) -> pl.Series:
    """The licence of every row of a ``models`` frame (vectorised :func:`normalize_license`).

    Reads, in order of precedence: ``card_license`` (the card's value: Utf8 or
    List(Utf8)), the ``license:`` tags of ``tags`` (List(Utf8) or JSON text), and
    ``license`` (today's store column: the first ``license:`` tag, else the card's string).
    Absent columns are skipped, so a frame from any store version works. Each distinct
    text is normalised once, so a 2M-model frame takes a fraction of a second.

    Returns
    -------
    polars.Series
        ``license`` (Utf8), one value per row, null when no licence is known.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["a", "b", "c", "d"],
    ...                   "license": ["mit", "MIT", None, "other"],
    ...                   "card_license": [None, ["Apache-2.0", "mit"], None, ["Gemma "]]})
    >>> license_column(m).to_list()
    ['mit', 'apache-2.0|mit', None, 'gemma']
    """
    return labels_of(*license_codes(models)).alias("license")


def labels_of(code: np.ndarray, labels: pl.Series) -> pl.Series:
    """The strings of codes into ``labels`` (-1: null).

    >>> labels_of(np.array([1, -1, 0]), pl.Series(["a", "b"])).to_list()
    ['b', None, 'a']
    """
    padded = pl.concat([labels.cast(pl.Utf8), pl.Series([None], dtype=pl.Utf8)])
    return padded.gather(np.where(code >= 0, code, labels.len()))


# --------------------------------------------------------------------------- classes


@lru_cache(maxsize=1)
def license_table() -> pl.DataFrame:
    """The curated licence-class table: ``license``, ``class``, ``name``, ``source``.

    ``source`` is ``hub`` for the identifiers the Hub accepts in a card's ``license``
    field, ``license_name`` for custom licence names used with ``license: other``.

    >>> t = license_table()
    >>> t.filter(pl.col("license") == "llama3.1").row(0)
    ('llama3.1', 'restricted/custom', 'Llama 3.1 Community License Agreement', 'hub')
    """
    text = resources.files("ecograph").joinpath("data/licenses.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return pl.DataFrame(
        rows, schema={"license": pl.Utf8, "class": pl.Utf8, "name": pl.Utf8, "source": pl.Utf8}
    )


@lru_cache(maxsize=1)
def _class_of() -> dict[str, str]:
    table = license_table()
    return dict(zip(table.get_column("license"), table.get_column("class"), strict=True))


_RANK = {c: i for i, c in enumerate(LICENSE_CLASSES)}


def license_class(value: str | None) -> str:
    """The class of a normalised licence value (see the module docstring).

    >>> license_class("apache-2.0"), license_class("llama3"), license_class("cc-by-nc-4.0")
    ('permissive', 'restricted/custom', 'non-commercial')
    >>> license_class("apache-2.0|gpl-3.0"), license_class("my-own-licence"), license_class(None)
    ('copyleft', 'unknown', 'unknown')
    """
    if value is None:
        return UNKNOWN
    table = _class_of()
    classes = {table.get(part, UNKNOWN) for part in value.split(_SEPARATOR)}
    classes.discard(UNKNOWN)
    if not classes:
        return UNKNOWN
    return max(classes, key=_RANK.__getitem__)


def classify_licenses(values: pl.Series) -> pl.Series:
    """:func:`license_class` of every value (computed once per distinct value).

    >>> classify_licenses(pl.Series(["mit", None, "mit", "gemma"])).to_list()
    ['permissive', 'unknown', 'permissive', 'restricted/custom']
    """
    values = values.cast(pl.Utf8)
    distinct = values.drop_nulls().unique()
    mapping = {v: license_class(v) for v in distinct.to_list()}
    return (
        values.replace_strict(mapping, default=UNKNOWN, return_dtype=pl.Utf8)
        .fill_null(UNKNOWN)
        .alias("class")
    )
