"""Data-quality checks on model traits (DESIGN §9; pure).

:func:`license_conflicts` finds models whose card and tags declare different licences;
:func:`with_trait_problems` adds them to a quality report of
:func:`ecograph.graph.quality` (kind ``license_conflict``).
"""

from __future__ import annotations

import polars as pl

from .licenses import labels_of, license_codes

__all__ = ["LICENSE_CONFLICT", "license_conflicts", "with_trait_problems"]

#: The quality kind of a model whose card and tags disagree on its licence.
LICENSE_CONFLICT = "license_conflict"

_QUALITY_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.Utf8(),
    "model_id": pl.Utf8(),
    "detail": pl.Utf8(),
}


def _normalised(models: pl.DataFrame, column: str) -> pl.Series:
    """``column`` normalised like a licence (a store may hold older raw values)."""
    return labels_of(*license_codes(models.select(pl.col(column).alias("license"))))


def license_conflicts(models: pl.DataFrame) -> pl.DataFrame:
    """Models whose card and ``license:`` tags declare different licences, after
    normalisation (trimmed, lower-cased, several values de-duplicated, sorted, joined
    with ``|``).

    Reads ``license`` (the model's licence: the card's when it has one, DESIGN §9) and
    ``license_tags`` (what its tags alone say); a model whose tags say nothing, or
    whose card says nothing (then ``license`` is the tags' value), is no conflict. A
    frame without ``license_tags`` (an older store) has none.

    Returns
    -------
    polars.DataFrame
        ``kind`` (``license_conflict``), ``model_id``, ``detail`` (``card X, tags Y``),
        sorted by model id.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["a", "b", "c", "d"],
    ...                   "license": ["apache-2.0", "mit", "MIT", None],
    ...                   "license_tags": ["mit", "mit", "mit ", "gpl-3.0"]})
    >>> license_conflicts(m).rows()
    [('license_conflict', 'a', 'card apache-2.0, tags mit')]
    """
    if "license_tags" not in models.columns or "license" not in models.columns \
            or models.height == 0:
        return pl.DataFrame(schema=_QUALITY_SCHEMA)
    card = _normalised(models, "license")
    tags = _normalised(models, "license_tags")
    frame = pl.DataFrame({"model_id": models.get_column("id").cast(pl.Utf8), "card": card,
                          "tags": tags})
    return (
        frame.filter(pl.col("card").is_not_null() & pl.col("tags").is_not_null()
                     & (pl.col("card") != pl.col("tags")))
        .select(
            pl.lit(LICENSE_CONFLICT).alias("kind"),
            "model_id",
            pl.format("card {}, tags {}", "card", "tags").alias("detail"),
        )
        .sort("model_id")
    )


def with_trait_problems(report: pl.DataFrame, models: pl.DataFrame) -> pl.DataFrame:
    """``report`` (kind, model_id, detail) with the :func:`license_conflicts` of
    ``models`` added, sorted by kind then model id like :func:`ecograph.graph.quality`.

    >>> r = pl.DataFrame({"kind": ["self_loop"], "model_id": ["x"], "detail": ["x"]})
    >>> m = pl.DataFrame({"id": ["a"], "license": ["mit"], "license_tags": ["gpl-3.0"]})
    >>> with_trait_problems(r, m).get_column("kind").to_list()
    ['license_conflict', 'self_loop']
    """
    extra = license_conflicts(models)
    if extra.height == 0:
        return report
    return pl.concat([report, extra.cast(report.schema)]).sort(["kind", "model_id"])
