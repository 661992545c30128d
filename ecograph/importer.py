"""Bulk import of Hub snapshots into a store, without HTTP.

Two input layouts:

* the snapshot format (JSONL, optionally gzipped; one Hub model object per line, see
  :mod:`ecograph.snapshot`), and
* a whole-Hub dump in the public ``models.parquet`` layout (``id``, ``author``,
  ``createdAt``, ``lastModified``, ``downloads``, ``downloadsAllTime``, ``likes``,
  ``trendingScore``, ``pipeline_tag``, ``library_name``, ``tags``, ``baseModels`` =
  struct of ``relation`` + list of ``{_id, id}``, ``cardData`` = the card's metadata as
  a JSON string, ``safetensors`` = struct of ``parameters`` + ``total``, of which only
  ``total`` is read, into ``safetensors_total``).

The import streams in batches (100,000 rows by default): each batch is parsed column-wise
with polars (ids, dates, the licence (DESIGN §9: the card's ``license``, else the
``license:`` tags; see :func:`card_license`), parents and relation from ``base_model:``
tags or ``baseModels``), written through Arrow (ADBC) into temporary staging tables, and merged
into the store with set-based upserts, in one transaction per batch. Rows the vectorised
path cannot reproduce exactly (card-only parents, odd ids or dates, a relation only in the
card, ...) go through :func:`ecograph.records.parse_model`, so the store loads the same
frames as :func:`ecograph.snapshot.read_snapshot` on the same data (two differences by
design: the store treats ids that differ only in case as one node, as the Hub does, and
imported records carry their observation time in ``fetched_at``, see
:func:`ecograph.snapshot.observed_at`). The card is parsed as JSON only for the few rows
whose text mentions a ``base_model`` or a ``base_model_relation`` the tags lack, or a
``license`` that is not one plain string (a vectorised substring test picks them). A
parent reference that is not a model id makes no edge and is reported in
:attr:`ImportResult.problems`, with its line (or row).

A parser thread prepares the next batch while the current one is written. Measured with
``benchmarks/bench_import.py`` on two shared cores: 2,000,000 synthetic models (572,751
edges) import in 30-46 s from JSONL.gz and ~30 s from parquet, peak RSS 1.0-1.2 GB.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from .errors import SnapshotError, StoreError
from .frames import MODEL_SCHEMA
from .licenses import license_column
from .records import (
    ID_PATTERN,
    REJECTED_PARENT_KINDS,
    REJECTED_RECORD_KINDS,
    RELATIONS,
    ParsedModel,
    parse_datetime,
    parse_model,
)
from .snapshot import observed_at
from .store import (
    BUMP_GENERATION_SQL,
    MODEL_COLUMNS,
    UPSERT_MODELS_FROM,
    Store,
    adbc_errors,
    edge_events_sql,
    first_line,
    history_sql,
    raise_if_interrupted,
    to_micros,
)

__all__ = [
    "ImportProblem",
    "ImportResult",
    "import_snapshot",
    "snapshot_format",
    "count_rows",
    "parse_batch",
    "card_license",
]

#: Rows per batch (one transaction each).
BATCH_SIZE = 100_000

#: Most pyarrow attempts per batch when bisecting around lines it refuses.
_BISECT_BUDGET = 400

_MODELS_STAGE = "_ecograph_import_models"
_EDGES_STAGE = "_ecograph_import_edges"

# The columns of the JSONL objects the vectorised path reads (anything else is ignored).
_JSON_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8(),
    "modelId": pl.Utf8(),
    "author": pl.Utf8(),
    "createdAt": pl.Utf8(),
    "created_at": pl.Utf8(),
    "lastModified": pl.Utf8(),
    "last_modified": pl.Utf8(),
    "downloads": pl.Int64(),
    "downloadsAllTime": pl.Int64(),
    "likes": pl.Int64(),
    "library_name": pl.Utf8(),
    "pipeline_tag": pl.Utf8(),
    "gated": pl.Utf8(),
    "tags": pl.List(pl.Utf8()),
}

_PARQUET_COLUMNS = (
    "id",
    "modelId",
    "author",
    "createdAt",
    "lastModified",
    "downloads",
    "downloadsAllTime",
    "likes",
    "library_name",
    "pipeline_tag",
    "gated",
    "tags",
    "baseModels",
    "cardData",
)

# Ids the vectorised path may take as they are: exactly what normalize_id returns unchanged.
_FAST_ID = ID_PATTERN
_SLOW_PREFIX = r"^(?:models/|datasets/|spaces/|(?i:(?:www\.)?(?:huggingface\.co|hf\.co)/))"
_RELATION_HEAD = rf"^({'|'.join(RELATIONS)}):"
# Timestamps polars parses exactly as parse_datetime does; anything else goes to Python.
_FAST_TS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6})?Z$"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"

_TS = pl.Datetime("us", "UTC")
# Characters records.clean_text drops or replaces (escape.plain_text: controls, line
# breaks, U+FFFE/U+FFFF, format characters; Arrow text holds no surrogates): a row with
# one in its free text is parsed in Python
_DIRTY_TEXT = r"[\x00-\x1f\x7f-\x9f\x{FFFE}\x{FFFF}\p{Cf}]"
# The models frame as the store holds it: timestamps as integer microseconds, plus the
# JSON text columns ``tags`` and ``parents``.
_STAGE_SCHEMA: dict[Any, pl.DataType] = {
    **{name: (pl.Int64() if dtype == _TS else dtype) for name, dtype in MODEL_SCHEMA.items()},
    "tags": pl.Utf8(),
    "parents": pl.Utf8(),
}
_EDGE_STAGE_SCHEMA: dict[Any, pl.DataType] = {
    "parent": pl.Utf8(),
    "child": pl.Utf8(),
    "relation": pl.Utf8(),
    "source": pl.Utf8(),
    "parent_author": pl.Utf8(),
}
assert tuple(_STAGE_SCHEMA) == MODEL_COLUMNS


@dataclass(frozen=True)
class ImportProblem:
    """A line (or row) that is not a model, or a parent reference of an imported record
    that could not be read (no edge made).

    ``where`` is ``FILE:LINE`` for JSONL and ``FILE:row N`` (1-based) for parquet;
    ``kind`` is ``missing_id`` (no id: the line is skipped, ``reference`` shows it),
    ``cleaned_text`` (free text with control or invisible characters, lone surrogates or
    bytes that are not UTF-8: kept cleaned, ``reference`` names the field),
    ``invalid_id`` (an id that breaks the id rules: skipped, ``model_id`` empty,
    ``reference`` the id as written), ``invalid_parent_id`` (text that is not a model
    id), ``non_string_parent`` (a card value that is not text) or ``invalid_card_json``
    (a ``cardData`` string that is not a JSON object); ``reference`` is the value as
    written.
    """

    where: str
    model_id: str
    kind: str
    reference: str

    def line(self) -> str:
        """``FILE:LINE: MODEL: KIND REFERENCE``, one line for a report.

        >>> ImportProblem("hub.jsonl:3", "a/b", "invalid_parent_id", "base_model:x y").line()
        "hub.jsonl:3: a/b: invalid_parent_id 'base_model:x y'"
        """
        return f"{self.where}: {self.model_id}: {self.kind} {self.reference!r}"

    @property
    def skipped(self) -> bool:
        """Whether the line is not a model (no id, or one that breaks the id rules)."""
        return self.kind in REJECTED_RECORD_KINDS


@dataclass(frozen=True)
class ImportResult:
    """What an import did. ``models`` counts the lines (rows) imported as models and
    ``skipped`` those that are not models (no id, or one that breaks the id rules: never
    stored); ``missing`` counts the store's missing placeholders afterwards; ``problems``
    lists the skipped lines and every parent reference that could not be read, in file
    order; ``fetched_at`` is the observation time given to the imported records."""

    path: str
    format: str
    models: int
    edges: int
    slow_rows: int
    store_models: int
    store_edges: int
    missing: int
    elapsed: float
    run_id: int
    problems: tuple[ImportProblem, ...] = ()
    fetched_at: datetime | None = None
    skipped: int = 0

    def summary_line(self) -> str:
        """``Imported N models and M edges (K missing parents) from FILE in S s; store: ...``,
        plus, when some lines are not models, their count and the first, and when some
        parent references could not be read, their count and the first."""
        line = (
            f"Imported {self.models:,} models and {self.edges:,} edges "
            f"({self.missing:,} missing parents) from {self.path} in {self.elapsed:.1f} s; "
            f"store: {self.store_models:,} models, {self.store_edges:,} edges"
        )
        skipped = [p for p in self.problems if p.skipped]
        if skipped:
            unit = "row" if self.format == "parquet" else "line"
            line += (
                f"; {self.skipped:,} {unit}{'s' if self.skipped != 1 else ''} skipped "
                f"(no valid model id; first: {skipped[0].line()})"
            )
        cleaned = [p for p in self.problems if p.kind == "cleaned_text"]
        if cleaned:
            n = len(cleaned)
            line += (
                f"; {n:,} text value{'s' if n != 1 else ''} cleaned "
                f"(first: {cleaned[0].line()})"
            )
        parents = [p for p in self.problems if not p.skipped and p.kind != "cleaned_text"]
        if parents:
            n = len(parents)
            line += (
                f"; {n:,} parent reference{'s' if n != 1 else ''} not read "
                f"(first: {parents[0].line()})"
            )
        return line


# --------------------------------------------------------------------------- formats


def snapshot_format(path: str | Path) -> str:
    """``"parquet"``, ``"jsonl.gz"`` or ``"jsonl"``, from the file's first bytes."""
    p = Path(path)
    if not p.is_file():
        raise SnapshotError(f"snapshot not found: {p}")
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SnapshotError(f"{p}: cannot read snapshot ({exc.strerror or exc})") from None
    if magic == b"PAR1":
        return "parquet"
    if magic[:2] == b"\x1f\x8b":
        return "jsonl.gz"
    return "jsonl"


def count_rows(path: str | Path) -> int | None:
    """Rows in a parquet dump (from its footer); ``None`` for JSONL (unknown up front)."""
    if snapshot_format(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(str(path)).metadata.num_rows)
    except Exception:  # noqa: BLE001 - reported properly by the import itself
        return None


# --------------------------------------------------------------------------- parsing


def _nonempty(name: str) -> pl.Expr:
    c = pl.col(name)
    return pl.when(c.str.len_bytes() > 0).then(c).otherwise(None)


def _fast_id(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.contains(_FAST_ID)
        & ~expr.str.contains("--", literal=True)
        & ~expr.str.contains("..", literal=True)
        & ~expr.str.contains(_SLOW_PREFIX)
    ).fill_null(False)


def _micros(df: pl.DataFrame, col: str) -> tuple[pl.Series, pl.Series]:
    """Timestamps as epoch microseconds, and a mask of rows polars could not parse."""
    s = df.get_column(col)
    if s.dtype == pl.Utf8:
        fast = s.str.contains(_FAST_TS).fill_null(False)
        parsed = s.str.strptime(pl.Datetime("us"), _TS_FORMAT, strict=False)
        parsed = parsed.dt.replace_time_zone("UTC").dt.epoch("us")
        nonempty = s.is_not_null() & (s.str.len_bytes() > 0)
        odd = (nonempty & (~fast | parsed.is_null())).fill_null(False)
        if odd.any():
            lookup = {v: to_micros(parse_datetime(v)) for v in s.filter(odd).unique().to_list()}
            fixed = s.replace_strict(lookup, default=None, return_dtype=pl.Int64)
            parsed = pl.select(pl.when(odd).then(fixed).otherwise(parsed)).to_series()
        return parsed.cast(pl.Int64).rename(col), pl.Series(col, [False] * len(s))
    if isinstance(s.dtype, pl.Datetime):
        if s.dtype.time_zone is None:  # type: ignore[attr-defined]
            s = s.dt.replace_time_zone("UTC")
        return s.dt.convert_time_zone("UTC").dt.epoch("us").rename(col), pl.Series(
            col, [False] * len(s)
        )
    if s.dtype == pl.Null:
        return pl.Series(col, [None] * len(s), dtype=pl.Int64), pl.Series(col, [False] * len(s))
    # Anything else (dates, numbers): let parse_model decide, row by row.
    return pl.Series(col, [None] * len(s), dtype=pl.Int64), s.is_not_null()


def _json_list(name: str) -> pl.Expr:
    """A list-of-strings column as JSON text (exact JSON escaping, vectorised)."""
    return (
        pl.struct(pl.col(name).fill_null(pl.lit([], dtype=pl.List(pl.Utf8))).alias("x"))
        .struct.json_encode()
        .str.strip_prefix('{"x":')
        .str.strip_suffix("}")
    )


def parse_batch(
    df: pl.DataFrame,
    *,
    card_base_model: pl.Series | None = None,
    card_relation: pl.Series | None = None,
    card_license: pl.Series | None = None,
    card_license_value: pl.Series | None = None,
    odd_rows: pl.Series | None = None,
    fetched_at: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Vectorised :func:`~ecograph.records.parse_model` over a batch of Hub objects.

    ``df`` holds the raw Hub fields (``id``, ``author``, ``createdAt``, ..., ``tags`` as a
    list of strings, optionally ``baseModels`` as a struct). The ``card_*`` masks say which
    rows have a card ``base_model`` / ``base_model_relation`` / a ``license`` this path
    cannot read (see :func:`card_license`); ``card_license_value`` is the card's licence
    text where it could be read (null: none); ``odd_rows`` forces rows to the slow path;
    ``fetched_at`` (epoch microseconds) is every row's observation time.

    Returns the staging ``models`` frame (store columns; timestamps as epoch microseconds;
    tags and parents as JSON; plus ``_row``, the row of ``df``), the staging ``edges``
    frame (with the parent's author for placeholders), and a boolean mask of the rows the
    caller must parse with ``parse_model`` instead (they are *not* in the returned frames).
    """
    n = df.height
    false = pl.Series([False] * n)
    for name in ("id", "modelId", "author", "library_name", "pipeline_tag", "gated"):
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias(name))
    for name in ("downloads", "downloadsAllTime", "likes"):
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Int64).alias(name))
    if "tags" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.List(pl.Utf8)).alias("tags"))
    slow = odd_rows.fill_null(False) if odd_rows is not None else false

    # timestamps: createdAt, falling back to created_at like parse_model's ``or``
    stamps: dict[str, pl.Series] = {}
    for out, names in (
        ("created_at", ("createdAt", "created_at")),
        ("last_modified", ("lastModified", "last_modified")),
    ):
        present = [c for c in names if c in df.columns]
        if not present:
            stamps[out] = pl.Series(out, [None] * n, dtype=pl.Int64)
            continue
        if len(present) > 1 and df.get_column(present[1]).is_not_null().any():
            # both spellings present somewhere: rare, exact semantics in Python
            slow = slow | df.get_column(present[1]).is_not_null()
        micros, odd = _micros(df, present[0])
        slow = slow | odd
        stamps[out] = micros

    df = df.with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        pl.coalesce(_nonempty("id"), _nonempty("modelId")).alias("_id"),
        stamps["created_at"].alias("_created_at"),
        stamps["last_modified"].alias("_last_modified"),
        pl.col("tags").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))).list.drop_nulls(),
    )
    # Python parses (and reports) the rows without an id, or with one that breaks the id
    # rules, and cleans the rows whose free text holds what clean_text changes
    dirty = [pl.col(c).str.contains(_DIRTY_TEXT).fill_null(False)
             for c in ("author", "library_name", "pipeline_tag", "gated")]
    slow = slow | df.select((~_fast_id(pl.col("_id"))).alias("x")).to_series()
    slow = slow | df.select(pl.any_horizontal(dirty).alias("x")).to_series()

    # ---- tags: license and base_model parents/relation
    tags = (
        df.select("_row", "tags")
        .explode("tags")
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_pos"))
        .filter(pl.col("tags").is_not_null())
    )
    dirty_tag_rows = tags.filter(pl.col("tags").str.contains(_DIRTY_TEXT)).get_column("_row")
    slow = slow | df.get_column("_row").is_in(dirty_tag_rows.unique().implode())
    # licence (DESIGN §9): the card's, else the ``license:`` tags; both kept. The tags'
    # values are joined per row (only rows with such a tag), then normalised per distinct
    # text (ecograph.licenses.license_column)
    tag_text = (
        tags.select("_row", pl.col("tags").str.extract(_LICENSE_TAG, 1).alias("_value"))
        .drop_nulls("_value")
        .group_by("_row")
        .agg(pl.col("_value").str.join("|"))
    )
    license_tags = license_column(
        df.select("_row").join(tag_text, on="_row", how="left", maintain_order="left")
        .select(pl.col("_value").alias("license"))
    )
    card_value = (
        card_license_value.cast(pl.Utf8)
        if card_license_value is not None
        else pl.Series([None] * n, dtype=pl.Utf8)
    )
    license_card = license_column(pl.DataFrame({"card_license": card_value}))
    lic = pl.DataFrame(
        {
            "_row": df.get_column("_row"),
            "_license": license_card.fill_null(license_tags),
            "_license_tags": license_tags,
        }
    )
    bm = (
        tags.filter(pl.col("tags").str.starts_with("base_model:"))
        .with_columns(pl.col("tags").str.slice(len("base_model:")).alias("_rest"))
        .with_columns(pl.col("_rest").str.extract(_RELATION_HEAD, 1).alias("_rel"))
        .with_columns(
            pl.when(pl.col("_rel").is_not_null())
            .then(pl.col("_rest").str.slice(pl.col("_rel").str.len_chars() + 1))
            .otherwise(pl.col("_rest"))
            .alias("_parent")
        )
    )
    tag_rel = (
        bm.filter(pl.col("_rel").is_not_null())
        .group_by("_row")
        .agg(pl.col("_rel").first().alias("_tag_rel"))
    )
    bad_tag_rows = bm.filter(~_fast_id(pl.col("_parent"))).get_column("_row").unique()
    tag_parents = bm.select("_row", "_pos", "_parent", pl.lit("tag").alias("_source"))

    # ---- baseModels (parquet dumps): preferred over tags when it lists models
    has_bm = false
    bm_rel = pl.Series([None] * n, dtype=pl.Utf8)
    bm_parents = pl.DataFrame(schema={"_row": pl.UInt32, "_pos": pl.UInt32, "_parent": pl.Utf8})
    bad_bm_rows = pl.Series([], dtype=pl.UInt32)
    if "baseModels" in df.columns and isinstance(df.schema["baseModels"], pl.Struct):
        fields = {f.name for f in df.schema["baseModels"].fields}  # type: ignore[attr-defined]
        if "models" in fields:
            models_col = pl.col("baseModels").struct.field("models")
            ids = df.select(
                "_row",
                models_col.list.eval(pl.element().struct.field("id")).alias("_parent")
                if _list_of_struct_with_id(df.schema["baseModels"])
                else pl.lit(None, dtype=pl.List(pl.Utf8)).alias("_parent"),
            )
            has_bm = ids.get_column("_parent").list.len().fill_null(0) > 0
            rel_raw = (
                df.get_column("baseModels").struct.field("relation")
                if "relation" in fields
                else pl.Series([None] * n, dtype=pl.Utf8)
            )
            rel_norm = rel_raw.cast(pl.Utf8).str.strip_chars().str.to_lowercase()
            # the relation counts only when baseModels lists models (as in parse_model)
            bm_rel = pl.select(
                pl.when(rel_norm.is_in(list(RELATIONS)) & has_bm).then(rel_norm).otherwise(None)
            ).to_series()
            exploded = (
                ids.filter(has_bm)
                .explode("_parent")
                .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_pos"))
            )
            bad_bm_rows = exploded.filter(~_fast_id(pl.col("_parent"))).get_column("_row")
            bm_parents = exploded.select("_row", "_pos", "_parent")
    has_bm_s = pl.Series("_has_bm", has_bm)
    bm_rows = df.get_column("_row").filter(has_bm_s)

    parents = pl.concat(
        [
            bm_parents.with_columns(pl.lit("baseModels").alias("_source")),
            tag_parents.filter(~pl.col("_row").is_in(bm_rows.implode())),
        ]
    )
    # per child: first spelling of each parent, case-insensitively, in declaration order
    parents = (
        parents.with_columns(pl.col("_parent").str.to_lowercase().alias("_key"))
        .sort("_row", "_pos")
        .unique(subset=["_row", "_key"], keep="first", maintain_order=True)
    )
    slow = slow | df.get_column("_row").is_in(bad_tag_rows.implode())
    slow = slow | df.get_column("_row").is_in(bad_bm_rows.implode())

    per_row = parents.group_by("_row").agg(
        pl.col("_parent").alias("_parents"), pl.col("_source").first().alias("_source")
    )
    df = (
        df.with_columns(has_bm_s, bm_rel.alias("_bm_rel"))
        .join(lic, on="_row", how="left")
        .join(tag_rel, on="_row", how="left")
        .join(per_row, on="_row", how="left")
        .sort("_row")
    )
    n_parents = df.get_column("_parents").list.len().fill_null(0)
    relation = df.select(pl.coalesce("_bm_rel", "_tag_rel")).to_series()
    # Parents but no relation: the card's base_model_relation decides (Python), else unknown.
    if card_relation is not None:
        slow = slow | ((n_parents > 0) & relation.is_null() & card_relation)
    # No parents from tags / baseModels: card-only parents need the card parser.
    if card_base_model is not None:
        slow = slow | ((n_parents == 0) & card_base_model)
    # A card licence this path cannot read (a list, a number, escapes): Python decides.
    if card_license is not None:
        slow = slow | card_license.fill_null(False)

    gated = pl.col("gated")
    params = _safetensors_total(df)
    models = df.with_columns(
        pl.when(n_parents > 0).then(relation.fill_null("unknown")).otherwise(None).alias("_rel")
    ).select(
        pl.col("_id").alias("id"),
        pl.coalesce(
            _nonempty("author"),
            pl.when(pl.col("_id").str.contains("/", literal=True)).then(
                pl.col("_id").str.split("/").list.first()
            ),
        ).alias("author"),
        pl.col("_created_at").alias("created_at"),
        pl.col("_last_modified").alias("last_modified"),
        pl.col("downloads").cast(pl.Int64, strict=False),
        pl.col("downloadsAllTime").cast(pl.Int64, strict=False).alias("downloads_all_time"),
        pl.col("likes").cast(pl.Int64, strict=False),
        _nonempty("library_name").alias("library_name"),
        _nonempty("pipeline_tag").alias("pipeline_tag"),
        pl.col("_license").alias("license"),
        pl.col("_license_tags").alias("license_tags"),
        pl.when(gated.is_null() | (gated.str.to_lowercase() == "false"))
        .then(None)
        .otherwise(gated)
        .alias("gated"),
        pl.col("_rel").alias("relation"),
        pl.lit("ok").alias("status"),
        pl.lit(fetched_at, dtype=pl.Int64).alias("fetched_at"),
        params.alias("safetensors_total"),
        _json_list("tags").alias("tags"),
        _json_list("_parents").alias("parents"),
        pl.col("_row"),
        pl.col("_source"),
    )
    keep = ~slow & models.get_column("id").is_not_null()
    models = models.filter(keep)
    # the same id twice: the last line wins (as in frames_from_parsed)
    models = models.unique(subset=["id"], keep="last", maintain_order=True)
    edges = (
        parents.join(
            models.select("_row", pl.col("id").alias("child"), "relation", "_source"),
            on="_row",
            how="inner",
        )
        .sort("_row", "_pos")
        .select(
            pl.col("_parent").alias("parent"),
            "child",
            "relation",
            pl.col("_source").alias("source"),
            pl.when(pl.col("_parent").str.contains("/", literal=True))
            .then(pl.col("_parent").str.split("/").list.first())
            .alias("parent_author"),
        )
    )
    slow_mask = slow
    models = models.select(*_STAGE_SCHEMA, "_row").cast({**_STAGE_SCHEMA, "_row": pl.UInt32()})
    return models, edges, slow_mask


def _safetensors_total(df: pl.DataFrame) -> pl.Expr:
    """``safetensors.total`` of each row as :func:`~ecograph.records.safetensors_total`
    reads it: a positive integer count, else null (no ``safetensors`` struct with a
    numeric ``total``: all null).

    >>> df = pl.DataFrame({"safetensors": [{"total": 8}, {"total": 0}, None]})
    >>> df.select(_safetensors_total(df)).to_series().to_list()
    [8, None, None]
    """
    dtype = df.schema.get("safetensors")
    fields = {f.name: f.dtype for f in dtype.fields} if isinstance(dtype, pl.Struct) else {}
    total_type = fields.get("total")
    if total_type is None or not total_type.is_numeric():
        return pl.lit(None, dtype=pl.Int64)
    total = pl.col("safetensors").struct.field("total").cast(pl.Int64, strict=False)
    return pl.when(total > 0).then(total)


def _list_of_struct_with_id(dtype: pl.DataType) -> bool:
    for f in dtype.fields:  # type: ignore[attr-defined]
        if f.name == "models":
            inner = getattr(f.dtype, "inner", None)
            return isinstance(inner, pl.Struct) and any(g.name == "id" for g in inner.fields)
    return False


def frames_from_slow(parsed: list[ParsedModel]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Staging frames for rows parsed in Python by :func:`parse_model`."""
    from .store import _record_row

    by_id: dict[str, ParsedModel] = {}
    for p in parsed:  # the same id twice: the last one wins
        if p.record.id:
            by_id.pop(p.record.id, None)
            by_id[p.record.id] = p
    parsed = list(by_id.values())
    rows = [_record_row(p.record) for p in parsed]
    models = pl.DataFrame(rows, schema=_STAGE_SCHEMA, orient="row")
    erows = [
        (
            e.parent,
            e.child,
            e.relation.value,
            e.source.value,
            e.parent.split("/", 1)[0] if "/" in e.parent else None,
        )
        for p in parsed
        for e in p.edges
    ]
    edges = pl.DataFrame(erows, schema=_EDGE_STAGE_SCHEMA, orient="row")
    return models, edges


# --------------------------------------------------------------------------- readers


@dataclass
class _Batch:
    models: pl.DataFrame
    edges: pl.DataFrame
    rows: int
    slow: int
    problems: list[ImportProblem] = field(default_factory=list)


def _problems(where: str, parsed: ParsedModel) -> list[ImportProblem]:
    """What of one parsed line was not imported: the line itself (no valid id), or the
    parent references that made no edge."""
    mid = parsed.record.id
    return [
        ImportProblem(where, mid, p.kind, p.detail)
        for p in parsed.problems
        if p.kind in REJECTED_PARENT_KINDS or p.kind in REJECTED_RECORD_KINDS
        or p.kind in ("invalid_card_json", "cleaned_text")
    ]


def _card_flags(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Which rows' text (a JSONL line, or a ``cardData`` JSON string) may hold a card
    ``base_model`` (not null) or ``base_model_relation``: a vectorised substring
    prefilter, so only those few rows are parsed as JSON. Null text is ``False``.

    >>> [s.to_list() for s in _card_flags(pl.Series(['{"base_model": "a/b"}',
    ...                                              '{"base_model": null}', None]))]
    [[True, False, False], [False, False, False]]
    """
    n_bm = text.str.count_matches('"base_model"', literal=True)
    n_bm_null = text.str.count_matches(r'"base_model"\s*:\s*null')
    return (
        (n_bm > n_bm_null).fill_null(False),
        text.str.contains('"base_model_relation"', literal=True).fill_null(False),
    )


_LICENSE_TAG = r"(?is)^[ \t\n\r\x0b\x0c]*license:(.*)$"
_LICENSE_KEY = r'"license"\s*:'
_LICENSE_STRING = r'"license"\s*:\s*"([^"\\]*)"'
_LICENSE_NULL = r'"license"\s*:\s*null\b'


def card_license(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The card's ``license`` text of every row, read without a JSON parser, and the rows
    whose value needs one.

    ``text`` is a JSONL line or a ``cardData`` JSON string. A row with one ``"license"``
    key whose value is a plain JSON string (no escapes) yields that string; ``null`` or
    no key yields null; anything else (a list, a number, escapes, the key twice) is
    flagged, for :func:`~ecograph.records.parse_model`. Hub model objects carry a
    ``license`` key only in their card, so one key is the card's. A substring test picks
    the rows worth a regular expression (a JSON path reader parses the whole object and
    is ~8x slower on whole lines).

    Returns
    -------
    (polars.Series, polars.Series)
        The licence text (Utf8, raw: :func:`ecograph.licenses.license_column` normalises
        it) and the flag (Boolean) of the rows to parse in Python.

    Examples
    --------
    >>> value, odd = card_license(pl.Series(['{"cardData": {"license": "MIT"}}',
    ...     '{"license": ["mit", "gpl-3.0"]}', '{"license": null}', '{"id": "a/b"}', None]))
    >>> value.to_list(), odd.to_list()
    (['MIT', None, None, None, None], [False, True, False, False, False])
    """
    mentions = text.str.contains('"license"', literal=True).fill_null(False)
    frame = pl.DataFrame({"text": text, "mentions": mentions})
    picked = frame.filter(pl.col("mentions")).select(
        pl.col("text").str.count_matches(_LICENSE_KEY).alias("keys"),
        pl.col("text").str.extract(_LICENSE_STRING, 1).alias("value"),
        pl.col("text").str.contains(_LICENSE_NULL).alias("null"),
    )
    one = picked.get_column("keys") == 1
    readable = one & (picked.get_column("value").is_not_null() | picked.get_column("null"))
    value = picked.get_column("value").zip_with(one, pl.Series([None], dtype=pl.Utf8))
    odd = (picked.get_column("keys") > 0) & ~readable
    rows = mentions.arg_true()
    full_value = pl.Series("card_license", [None] * text.len(), dtype=pl.Utf8)
    full_odd = pl.Series("card_license_odd", [False] * text.len(), dtype=pl.Boolean)
    if rows.len():
        full_value = full_value.scatter(rows, value)
        full_odd = full_odd.scatter(rows, odd)
    return full_value, full_odd


def _open_binary(path: Path, fmt: str) -> BinaryIO:
    if fmt == "jsonl.gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _jsonl_batches(
    path: Path, fmt: str, batch_size: int, fetched_at: datetime | None = None
) -> Iterator[_Batch]:
    with _open_binary(path, fmt) as fh:
        first_line = 1
        while True:
            try:
                raw = list(itertools.islice(fh, batch_size))
            except (OSError, EOFError) as exc:
                raise SnapshotError(f"{path}: cannot read snapshot ({exc})") from None
            if not raw:
                return
            numbered = [(first_line + i, ln) for i, ln in enumerate(raw) if ln.strip()]
            first_line += len(raw)
            if numbered:
                yield _jsonl_batch(path, numbered, fetched_at)


def _arrow_json_schema() -> Any:
    import pyarrow as pa

    types = {
        pl.Utf8(): pa.string(),
        pl.Int64(): pa.int64(),
        pl.List(pl.Utf8()): pa.list_(pa.string()),
    }
    # ``gated`` is false | "auto" | "manual": mixed JSON types, read from the text instead
    fields = [(k, types[v]) for k, v in _JSON_SCHEMA.items() if k != "gated"]
    # the Hub's ``safetensors`` object: only its integer ``total`` (anything else in it is
    # ignored; a total that is not an integer sends the line to Python)
    return pa.schema([*fields, ("safetensors", pa.struct([("total", pa.int64())]))])


def _arrow_ranges(
    lines: list[bytes], lo: int, hi: int, out: list[tuple[int, int, Any]], budget: list[int]
) -> None:
    """Parse ``lines[lo:hi]`` with pyarrow's JSON reader; on a value it will not take,
    bisect so only the offending lines go to Python (``budget`` caps the attempts, so a
    file full of odd lines falls back to Python instead of bisecting forever)."""
    budget[0] -= 1
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    chunk = b"".join(lines[lo:hi])
    longest = max(len(ln) for ln in lines[lo:hi])
    try:
        table = pj.read_json(
            io.BytesIO(chunk),
            read_options=pj.ReadOptions(block_size=max(1 << 22, 2 * longest)),
            parse_options=pj.ParseOptions(
                explicit_schema=_arrow_json_schema(), unexpected_field_behavior="ignore"
            ),
        )
        if table.num_rows != hi - lo:
            raise pa.ArrowInvalid("row count mismatch")
    except (pa.ArrowException, ValueError):
        if hi - lo <= 1 or budget[0] <= 0:
            out.append((lo, hi, None))
            return
        mid = (lo + hi) // 2
        _arrow_ranges(lines, lo, mid, out, budget)
        _arrow_ranges(lines, mid, hi, out, budget)
        return
    out.append((lo, hi, table))


def _gated_from_text(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The top-level ``gated`` value as parse_model renders it, and rows too odd for this."""
    token = text.str.extract(r'"gated"\s*:\s*("[^"\\]*"|true|false|null)', 1)
    count = text.str.count_matches('"gated"', literal=True)
    odd = (count > 1) | ((count == 1) & token.is_null())
    value = pl.select(
        pl.when(token == "true")
        .then(pl.lit("true"))
        .when(token.str.starts_with('"'))
        .then(token.str.slice(1, token.str.len_chars() - 2))
        .otherwise(None)
    ).to_series()
    return value.rename("gated"), odd.fill_null(False)


def _jsonl_batch(
    path: Path, numbered: list[tuple[int, bytes]], fetched_at: datetime | None = None
) -> _Batch:
    import pyarrow as pa

    lines = [ln if ln.endswith(b"\n") else ln + b"\n" for _, ln in numbered]
    ranges: list[tuple[int, int, Any]] = []
    _arrow_ranges(lines, 0, len(lines), ranges, [_BISECT_BUDGET])
    fast_idx = [i for lo, hi, t in ranges if t is not None for i in range(lo, hi)]
    slow_idx = [i for lo, hi, t in ranges if t is None for i in range(lo, hi)]
    models = pl.DataFrame(schema={**_STAGE_SCHEMA, "_row": pl.UInt32()})
    edges = pl.DataFrame(schema=_EDGE_STAGE_SCHEMA)
    if fast_idx:
        tables = [t for _, _, t in ranges if t is not None]
        df = pl.from_arrow(pa.concat_tables(tables))
        assert isinstance(df, pl.DataFrame)
        try:
            text = pl.Series([lines[i] for i in fast_idx], dtype=pl.Binary).cast(pl.Utf8)
        except Exception:  # noqa: BLE001 - not UTF-8: let the Python path report it
            return _python_batch(path, numbered, fetched_at)
        gated, gated_odd = _gated_from_text(text)
        # A card ``base_model`` matters only when the tags declare no parent; null is none.
        card_base_model, card_relation = _card_flags(text)
        license_value, license_odd = card_license(text)
        models, edges, slow = parse_batch(
            df.with_columns(gated),
            card_base_model=card_base_model,
            card_relation=card_relation,
            card_license=license_odd,
            card_license_value=license_value,
            odd_rows=text.str.contains('"baseModels"', literal=True) | gated_odd,
            fetched_at=to_micros(fetched_at),
        )
        slow_idx += [fast_idx[i] for i in slow.arg_true().to_list()]
    models, edges, problems = _combine(
        models,
        edges,
        fast_idx,
        slow_idx,
        lambda i: parse_model(_loads(path, *numbered[i]), fetched_at=fetched_at),
        lambda i: f"{path}:{numbered[i][0]}",
    )
    return _Batch(models, edges, len(numbered), len(slow_idx), problems)


def _combine(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    fast_src: list[int],
    slow_src: list[int],
    parse_at: Callable[[int], ParsedModel],
    where: Callable[[int], str],
) -> tuple[pl.DataFrame, pl.DataFrame, list[ImportProblem]]:
    """Merge the vectorised rows with the rows parsed in Python.

    ``models._row`` indexes ``fast_src`` (source positions of the vectorised rows);
    ``parse_at(i)`` parses the source row at position ``i`` and ``where(i)`` names it for
    a report. An id found on both paths is re-parsed entirely in Python, so that the last
    occurrence wins, as in :func:`~ecograph.frames.frames_from_parsed`. Also returns the
    parent references of the Python-parsed rows that made no edge (the vectorised path
    takes only rows whose parents are all ids).
    """
    parsed = {i: parse_at(i) for i in slow_src}
    problems = [pr for i in sorted(parsed) for pr in _problems(where(i), parsed[i])]
    if parsed:
        slow_ids = [p.record.id for p in parsed.values() if p.record.id]
        clash = models.filter(pl.col("id").is_in(slow_ids))
        for r in clash.get_column("_row").to_list():
            parsed[fast_src[r]] = parse_at(fast_src[r])
        sm, se = frames_from_slow([parsed[i] for i in sorted(parsed)])
        models = pl.concat(
            [models.drop("_row").filter(~pl.col("id").is_in(slow_ids)), sm], how="vertical"
        )
        edges = pl.concat([edges.filter(~pl.col("child").is_in(slow_ids)), se], how="vertical")
        return models, edges, problems
    return models.drop("_row"), edges, problems


def _loads(path: Path, lineno: int, line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise SnapshotError(f"{path}:{lineno}: not valid JSON ({msg})") from None
    if not isinstance(obj, dict):
        raise SnapshotError(f"{path}:{lineno}: expected a JSON object per line")
    return obj


def _python_batch(
    path: Path, numbered: list[tuple[int, bytes]], fetched_at: datetime | None = None
) -> _Batch:
    parsed = [parse_model(_loads(path, n, ln), fetched_at=fetched_at) for n, ln in numbered]
    models, edges = frames_from_slow(parsed)
    problems = [pr for (n, _), p in zip(numbered, parsed, strict=True)
                for pr in _problems(f"{path}:{n}", p)]
    return _Batch(models, edges, len(numbered), len(numbered), problems)


def card_from_json(text: str) -> dict[str, Any] | None:
    """A ``cardData`` JSON string (the models.parquet layout) as the mapping
    :func:`~ecograph.records.parse_model` reads, or ``None`` when it is not a JSON object.

    >>> card_from_json('{"base_model": "a/b", "license": "mit"}')
    {'base_model': 'a/b', 'license': 'mit'}
    >>> card_from_json("not json") is None, card_from_json("[1]") is None
    (True, True)
    """
    try:
        card = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return card if isinstance(card, dict) else None


def _row_parser(rb: Any, fetched_at: datetime | None) -> Callable[[int], ParsedModel]:
    """``parse_model`` of row ``i`` of an Arrow record batch (its ``cardData`` JSON string
    decoded first; one that is not a JSON object but mentions a ``base_model`` the row's
    tags do not replace is an ``invalid_card_json`` problem)."""
    from dataclasses import replace

    from .records import Problem

    def parse_at(i: int) -> ParsedModel:
        obj = rb.slice(i, 1).to_pylist()[0]
        text = obj.get("cardData")
        if not isinstance(text, str):
            return parse_model(obj, fetched_at=fetched_at)
        card = card_from_json(text)
        parsed = parse_model({**obj, "cardData": card}, fetched_at=fetched_at)
        if card is None and '"base_model"' in text and not parsed.record.parents:
            problem = Problem(parsed.record.id, "invalid_card_json", text[:200])
            parsed = replace(parsed, problems=(*parsed.problems, problem))
        return parsed

    return parse_at


def _row_namer(path: Path, first_row: int) -> Callable[[int], str]:
    """``FILE:row N`` (1-based in the file) of row ``i`` of a batch starting at ``first_row``."""
    return lambda i: f"{path}:row {first_row + i}"


def _card_text(df: pl.DataFrame) -> pl.Series | None:
    """The ``cardData`` column as JSON text (a dump stores a string; a struct is encoded)."""
    if "cardData" not in df.columns:
        return None
    dtype = df.schema["cardData"]
    if dtype == pl.Utf8:
        return df.get_column("cardData")
    if isinstance(dtype, pl.Struct):
        return df.select(pl.col("cardData").struct.json_encode()).to_series()
    return None


def _is_text(dtype: Any) -> bool:
    import pyarrow.types as pat

    if pat.is_dictionary(dtype):
        dtype = dtype.value_type
    return bool(pat.is_string(dtype) or pat.is_large_string(dtype)
                or pat.is_string_view(dtype) or pat.is_null(dtype))


def _is_text_list(dtype: Any) -> bool:
    import pyarrow.types as pat

    if pat.is_null(dtype):
        return True
    if not (pat.is_list(dtype) or pat.is_large_list(dtype) or pat.is_list_view(dtype)
            or pat.is_large_list_view(dtype) or pat.is_fixed_size_list(dtype)):
        return False
    return _is_text(dtype.value_type)


def _has_safetensors_total(schema: Any) -> bool:
    """Whether a dump has a ``safetensors`` struct column with a numeric ``total`` field
    (the models.parquet layout; otherwise the column is not read)."""
    import pyarrow.types as pat

    if "safetensors" not in schema.names:
        return False
    dtype = schema.field("safetensors").type
    if not pat.is_struct(dtype) or dtype.get_field_index("total") < 0:
        return False
    total = dtype.field("total").type
    return bool(pat.is_integer(total) or pat.is_floating(total))


def _check_parquet_types(path: Path, schema: Any) -> None:
    """Refuse a dump whose columns the importer reads have the wrong type, with one line
    naming the column, its type and the type expected (the models.parquet layout)."""
    import pyarrow.types as pat

    expected: dict[str, tuple[str, Callable[[Any], bool]]] = {
        **{name: ("text (string)", _is_text)
           for name in ("id", "modelId", "author", "library_name", "pipeline_tag")},
        "gated": ("text or a boolean",
                  lambda t: _is_text(t) or bool(pat.is_boolean(t))),
        "tags": ("a list of strings", _is_text_list),
        **{name: ("a number", lambda t: bool(pat.is_integer(t) or pat.is_floating(t)
                                             or pat.is_decimal(t) or pat.is_null(t)))
           for name in ("downloads", "downloadsAllTime", "likes")},
    }
    for name, (want, ok) in expected.items():
        if name in schema.names and not ok(schema.field(name).type):
            raise SnapshotError(
                f"{path}: column '{name}' has type {schema.field(name).type}, expected "
                f"{want} (the models.parquet layout)"
            )


def _valid_or_empty(value: Any) -> str:
    from .records import is_model_id

    return value if isinstance(value, str) and is_model_id(value) else ""


def _repair_utf8(rb: Any) -> tuple[Any, list[tuple[int, str]]]:
    """``rb`` with every text value that is not valid UTF-8 (a lone surrogate written as
    CESU-8 bytes, a cut multi-byte character) decoded with U+FFFD for the bad bytes, and
    the ``(row, column)`` pairs repaired outside the id columns (a repaired id breaks the
    id rules: its row is skipped and reported as ``invalid_id``). Arrow and polars take
    such bytes as they are, but SQLite could not read them back. Batches that validate
    (the usual case) come back unchanged, without a copy."""
    import pyarrow as pa
    import pyarrow.types as pat

    try:
        rb.validate(full=True)
        return rb, []
    except pa.ArrowInvalid:
        pass
    columns = list(rb.columns)
    repaired: list[tuple[int, str]] = []

    def fix(value: Any) -> tuple[Any, bool]:
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8"), False
            except UnicodeDecodeError:
                return value.decode("utf-8", "replace"), True
        if isinstance(value, list):
            fixed = [fix(v) for v in value]
            return [v for v, _ in fixed], any(bad for _, bad in fixed)
        return value, False

    for k, (name, column) in enumerate(zip(rb.schema.names, columns, strict=True)):
        dtype = column.type
        text = pat.is_string(dtype) or pat.is_large_string(dtype)
        text_list = (pat.is_list(dtype) or pat.is_large_list(dtype)) and (
            pat.is_string(dtype.value_type) or pat.is_large_string(dtype.value_type))
        if not (text or text_list):
            continue
        try:
            column.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        as_bytes = column.cast(pa.list_(pa.binary()) if text_list else pa.binary())
        values = []
        for i, value in enumerate(as_bytes.to_pylist()):
            value, bad = fix(value)
            values.append(value)
            if bad and name not in ("id", "modelId"):
                repaired.append((i, name))
        columns[k] = pa.array(values, type=dtype)
    return pa.RecordBatch.from_arrays(columns, schema=rb.schema), sorted(repaired)


def _parquet_batches(
    path: Path, batch_size: int, fetched_at: datetime | None = None
) -> Iterator[_Batch]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
        names = set(pf.schema_arrow.names)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
        raise SnapshotError(f"{path}: not a readable parquet file ({exc})") from None
    if "id" not in names and "modelId" not in names:
        raise SnapshotError(f"{path}: no 'id' column (expected the models.parquet layout)")
    columns = [c for c in _PARQUET_COLUMNS if c in names]
    if _has_safetensors_total(pf.schema_arrow):
        columns.append("safetensors.total")  # the struct's total alone, not its dtypes
    _check_parquet_types(path, pf.schema_arrow)
    it = pf.iter_batches(batch_size=batch_size, columns=columns)
    first_row = 1
    while True:
        try:
            rb = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001
            raise SnapshotError(f"{path}: cannot read parquet ({exc})") from None
        rb, repaired = _repair_utf8(rb)
        df = pl.from_arrow(rb)
        assert isinstance(df, pl.DataFrame)
        if "tags" in df.columns and df.schema["tags"] != pl.List(pl.Utf8):
            df = df.with_columns(pl.col("tags").cast(pl.List(pl.Utf8), strict=False))
        for name in ("id", "modelId", "author", "library_name", "pipeline_tag", "gated"):
            if name in df.columns and df.schema[name] != pl.Utf8:
                df = df.with_columns(pl.col(name).cast(pl.Utf8, strict=False))
        flags: dict[str, pl.Series] = {}
        card_text = _card_text(df)
        if card_text is not None:
            # the card's parents, relation and licence count where the tags lack them
            bm, rel = _card_flags(card_text)
            lic, lic_odd = card_license(card_text)
            flags = {"card_base_model": bm, "card_relation": rel, "card_license": lic_odd,
                     "card_license_value": lic}
        models, edges, slow = parse_batch(
            df.drop("cardData", strict=False), fetched_at=to_micros(fetched_at), **flags
        )
        slow_rows = slow.arg_true().to_list()
        models, edges, problems = _combine(
            models,
            edges,
            list(range(rb.num_rows)),
            slow_rows,
            _row_parser(rb, fetched_at),
            _row_namer(path, first_row),
        )
        if repaired:
            name_row = _row_namer(path, first_row)
            ids = rb.column("id" if "id" in rb.schema.names else "modelId").to_pylist()
            problems = sorted(
                [*problems, *(ImportProblem(name_row(i), _valid_or_empty(ids[i]),
                                            "cleaned_text", column)
                              for i, column in repaired)],
                key=lambda pr: int(pr.where.rsplit(" ", 1)[1]),
            )
        first_row += rb.num_rows
        yield _Batch(models, edges, rb.num_rows, len(slow_rows), problems)


# --------------------------------------------------------------------------- writing

_EXISTING = "_ecograph_existing"
_OLD_EDGES = "_ecograph_old_edges"
_SEEN = "_ecograph_seen"
_OLD_EDGES_DDL = (f"CREATE TEMP TABLE IF NOT EXISTS {_OLD_EDGES} (parent TEXT COLLATE NOCASE, "
                  "child TEXT COLLATE NOCASE, relation TEXT, source TEXT)")
_OLD_EDGES_INDEX = (f"CREATE INDEX IF NOT EXISTS temp.{_OLD_EDGES}_key "
                    f"ON {_OLD_EDGES} (parent, child)")
_MERGE_SQL = (
    # imported ids already stored (maybe spelled differently: placeholder "a/b", "A/B")
    f"CREATE TEMP TABLE IF NOT EXISTS {_EXISTING} (id TEXT, stored TEXT)",
    f"DELETE FROM {_EXISTING}",
    f"INSERT INTO {_EXISTING} SELECT s.id, m.id FROM temp.{_MODELS_STAGE} s "
    "JOIN models m ON m.id = s.id",
    # their edges before the merge: the history records what changed (edge_events_sql)
    _OLD_EDGES_DDL,
    _OLD_EDGES_INDEX,
    f"DELETE FROM {_OLD_EDGES}",
    f"INSERT INTO {_OLD_EDGES} SELECT parent, child, relation, source FROM edges "
    f"WHERE child IN (SELECT stored FROM {_EXISTING})",
    # every imported record is the truth about its own parents
    f"DELETE FROM edges WHERE child IN (SELECT stored FROM {_EXISTING})",
    UPSERT_MODELS_FROM.format(src=f"temp.{_MODELS_STAGE}"),
    # edges pointing at a renamed id take the record's spelling
    f"UPDATE edges SET parent = (SELECT x.id FROM {_EXISTING} x WHERE x.stored = edges.parent)"
    f" WHERE parent IN (SELECT stored FROM {_EXISTING} WHERE stored <> id)",
    # placeholders for parents not stored (never overwriting a stored row)
    f"INSERT INTO models (id, author, status, tags, parents) "
    f"SELECT parent, parent_author, 'missing', '[]', '[]' FROM temp.{_EDGES_STAGE} WHERE true "
    "ON CONFLICT(id) DO NOTHING",
    # edges, with each parent in its stored spelling
    f"INSERT INTO edges (parent, child, relation, source) "
    f"SELECT m.id, s.child, s.relation, s.source FROM temp.{_EDGES_STAGE} s "
    "JOIN models m ON m.id = s.parent WHERE true "
    "ON CONFLICT(parent, child) DO UPDATE SET relation = excluded.relation, "
    "source = excluded.source",
)


def _history_sql(run_id: int | None, at: int) -> tuple[str, ...]:
    """The history of one merged batch: a row for each imported model or new placeholder
    whose tracked values changed, and the open / close events of the imported children's
    edges (set-based: one statement each over the staging tables)."""
    touched = (f"SELECT id FROM temp.{_MODELS_STAGE} UNION "
               f"SELECT parent FROM temp.{_EDGES_STAGE}")
    return (history_sql(touched, run_id, at),
            *edge_events_sql(f"temp.{_OLD_EDGES}", f"SELECT id FROM temp.{_MODELS_STAGE}",
                             run_id, at))


def _write_batch(conn: Any, batch: _Batch,
                 observation: tuple[int | None, int] | None = None) -> None:
    """Stage one batch through Arrow and merge it, in one transaction, with its history
    (``observation`` = the run id and time the history rows carry; default: now)."""
    if observation is None:
        now = to_micros(datetime.now(UTC))
        assert now is not None
        observation = (None, now)
    # insert in key order: B-tree pages are then touched once, not at random
    models = (
        batch.models.select(list(_STAGE_SCHEMA))
        .cast(_STAGE_SCHEMA)
        .sort(pl.col("id").str.to_lowercase())
    )
    edges = (
        batch.edges.select(list(_EDGE_STAGE_SCHEMA))
        .cast(_EDGE_STAGE_SCHEMA)
        .sort(pl.col("parent").str.to_lowercase(), pl.col("child").str.to_lowercase())
    )
    with conn.cursor() as cur:
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.adbc_ingest(_MODELS_STAGE, models.to_arrow(), mode="replace", temporary=True)
            cur.adbc_ingest(_EDGES_STAGE, edges.to_arrow(), mode="replace", temporary=True)
            for sql in (*_MERGE_SQL, *_history_sql(*observation)):
                cur.execute(sql)
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_SEEN} "
                        "(id TEXT PRIMARY KEY COLLATE NOCASE)")
            cur.execute(f"INSERT OR IGNORE INTO {_SEEN} SELECT id FROM temp.{_MODELS_STAGE}")
            cur.execute(BUMP_GENERATION_SQL)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")


def _prefetch(batches: Iterator[_Batch]) -> Generator[_Batch, None, None]:
    """Parse the next batch in a thread while the current one is written.

    pyarrow, polars and SQLite (through ADBC) release the GIL, so on two cores parsing and
    writing overlap. At most one parsed batch waits; an error in the parser is re-raised
    here, and closing this generator stops the parser.
    """
    import queue
    import threading

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        q.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: tuple[str, Any] = ("end", None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            item = ("error", exc)
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="ecograph-import-parse", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=10)


def _delete_unseen(conn: Any, observation: tuple[int | None, int]) -> int:
    """Mark deleted every stored model that is not ``missing`` and was not in the import
    (a complete snapshot of the Hub), in one transaction; returns how many."""
    gone = "_ecograph_gone"
    run_id, at = observation
    with conn.cursor() as cur:
        cur.execute("BEGIN IMMEDIATE")
        try:
            for sql in (
                f"CREATE TEMP TABLE IF NOT EXISTS {gone} (id TEXT PRIMARY KEY COLLATE NOCASE)",
                f"DELETE FROM {gone}",
                _OLD_EDGES_DDL,
                _OLD_EDGES_INDEX,
                f"INSERT INTO {gone} SELECT id FROM models WHERE status <> 'missing' "
                f"AND id NOT IN (SELECT id FROM temp.{_SEEN})",
                f"DELETE FROM {_OLD_EDGES}",
                f"INSERT INTO {_OLD_EDGES} SELECT parent, child, relation, source FROM edges "
                f"WHERE child IN (SELECT id FROM temp.{gone})",
                f"DELETE FROM edges WHERE child IN (SELECT id FROM temp.{gone})",
                f"UPDATE models SET status = 'missing', fetched_at = {int(at)} "
                f"WHERE id IN (SELECT id FROM temp.{gone})",
                history_sql(f"SELECT id FROM temp.{gone}", run_id, at),
                *edge_events_sql(f"temp.{_OLD_EDGES}", f"SELECT id FROM temp.{gone}",
                                 run_id, at),
                BUMP_GENERATION_SQL,
            ):
                cur.execute(sql)
            cur.execute(f"SELECT count(*) FROM temp.{gone}")
            row = cur.fetchone()
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    return int(row[0]) if row else 0


def _scalar(conn: Any, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return int(row[0]) if row else 0


def import_snapshot(
    store: Store,
    path: str | os.PathLike[str],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    complete: bool = False,
) -> ImportResult:
    """Import a snapshot (JSONL, JSONL.gz or models.parquet) into ``store``.

    ``progress`` is called with the number of rows of each batch once it is committed.
    Each batch is one transaction: if the file turns out to be bad half-way, the store
    stays valid and keeps the batches before the error (re-running the import after
    fixing the file converges, since every write is an upsert). Raises
    :class:`~ecograph.errors.SnapshotError` for a missing or malformed file.

    Every imported record gets the snapshot's observation time as ``fetched_at``
    (:func:`~ecograph.snapshot.observed_at`); parent references that could not be read
    are listed in :attr:`ImportResult.problems` and counted in the run's ``counts``.

    The import is an observation dated at that time (DESIGN §10): the store's history gets
    a row for each model whose downloads, likes, status, licence or relation changed and
    an event for each edge that appeared, changed or disappeared (:mod:`ecograph.history`).
    ``complete=True`` says the file is the whole Hub: stored models it lacks are marked
    deleted, as :meth:`~ecograph.store.Store.mark_deleted` does (counted as ``deleted``).
    """
    p = Path(path)
    fmt = snapshot_format(p)
    fetched_at = observed_at(p)
    problems: list[ImportProblem] = []
    started = time.perf_counter()
    run_id = store.begin_run(
        "import", {"file": str(p), "format": fmt, "batch_size": batch_size,
                   "complete": complete}, observed_at=fetched_at)
    observation = store.observation()
    rows = edges = slow = skipped = cleaned = deleted = 0
    status = "failed"
    try:
        reader = (
            _parquet_batches(p, batch_size, fetched_at)
            if fmt == "parquet"
            else _jsonl_batches(p, fmt, batch_size, fetched_at)
        )
        with closing(_prefetch(reader)) as batches, store.adbc(cache_mb=128) as conn:
            try:
                with conn.cursor() as cur:
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_SEEN} "
                                "(id TEXT PRIMARY KEY COLLATE NOCASE)")
                    cur.execute(f"DELETE FROM {_SEEN}")
                for batch in batches:
                    _write_batch(conn, batch, observation)
                    rows += batch.rows
                    edges += batch.edges.height
                    slow += batch.slow
                    skipped += sum(p.skipped for p in batch.problems)
                    cleaned += sum(p.kind == "cleaned_text" for p in batch.problems)
                    problems.extend(batch.problems)
                    if progress is not None:
                        progress(batch.rows)
                if complete:
                    deleted = _delete_unseen(conn, observation)
            except SnapshotError as exc:
                done = (
                    "nothing was imported"
                    if rows == 0
                    else f"the store is valid and keeps the {rows:,} rows imported before it"
                )
                raise SnapshotError(f"{exc}; {done}") from None
            except adbc_errors() as exc:  # ADBC / SQLite errors (locked, disk full, ...)
                raise_if_interrupted(exc)  # Ctrl-C inside ADBC: "NOT_IMPLEMENTED" (cancel)
                done = (
                    "nothing was imported"
                    if rows == 0
                    else f"the store is valid and keeps the {rows:,} rows imported before it"
                )
                raise StoreError(
                    f"{store.path}: import failed ({first_line(exc)}); {done}"
                ) from None
            missing = _scalar(conn, "SELECT count(*) FROM models WHERE status = 'missing'")
            store_models = _scalar(conn, "SELECT count(*) FROM models")
            store_edges = _scalar(conn, "SELECT count(*) FROM edges")
        status = "ok"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        elapsed = time.perf_counter() - started
        counts = {"models": rows - skipped, "edges": edges, "slow_rows": slow,
                  "elapsed": round(elapsed, 3), "skipped_rows": skipped,
                  "cleaned_values": cleaned, "unread_parents": len(problems) - skipped - cleaned}
        if status == "ok":
            counts["missing"] = missing
            if complete:
                counts["deleted"] = deleted
        store.end_run(run_id, status=status, counts=counts)
    return ImportResult(
        path=str(p),
        format=fmt,
        models=rows - skipped,
        edges=edges,
        slow_rows=slow,
        store_models=store_models,
        store_edges=store_edges,
        missing=missing,
        elapsed=elapsed,
        run_id=run_id,
        problems=tuple(problems),
        fetched_at=fetched_at,
        skipped=skipped,
    )
