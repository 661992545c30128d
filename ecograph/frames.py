"""Polars frames: the tables every module exchanges (pure).

``models``: one row per node, including ``missing`` placeholders for referenced parents
that do not exist. ``edges``: one row per (parent, child) with the child's relation and
where the edge was read. Every edge endpoint has a row in ``models``; self-loops and cycles
are kept as they are (graph algorithms are cycle-safe, data-quality reports list them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import polars as pl

from .records import ID_PATTERN, RELATIONS, ModelRecord, ParsedModel, Status

__all__ = [
    "MODEL_SCHEMA",
    "EDGE_SCHEMA",
    "frames_from_parsed",
    "records_to_frame",
    "parent_references_of_tags",
]

_TS = pl.Datetime("us", "UTC")

#: Column names and dtypes of the ``models`` frame.
MODEL_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8(),
    "author": pl.Utf8(),
    "created_at": _TS,
    "last_modified": _TS,
    "downloads": pl.Int64(),
    "downloads_all_time": pl.Int64(),
    "likes": pl.Int64(),
    "library_name": pl.Utf8(),
    "pipeline_tag": pl.Utf8(),
    "license": pl.Utf8(),
    "license_tags": pl.Utf8(),
    "gated": pl.Utf8(),
    "relation": pl.Utf8(),
    "status": pl.Utf8(),
    "fetched_at": _TS,
    #: the Hub's ``safetensors.total`` (parameters), DESIGN §8 ``params_b``
    "safetensors_total": pl.Int64(),
}

#: Column names and dtypes of the ``edges`` frame.
EDGE_SCHEMA: dict[str, pl.DataType] = {
    "parent": pl.Utf8(),
    "child": pl.Utf8(),
    "relation": pl.Utf8(),
    "source": pl.Utf8(),
}


def _val(v: object) -> object:
    return v.value if hasattr(v, "value") else v


def records_to_frame(records: Iterable[ModelRecord]) -> pl.DataFrame:
    """Build a ``models`` frame from records (column-wise, no per-row dicts).

    >>> records_to_frame([ModelRecord(id="a/b")]).select("id", "status").row(0)
    ('a/b', 'ok')
    """
    cols: dict[str, list[object]] = {name: [] for name in MODEL_SCHEMA}
    for r in records:
        for name, values in cols.items():
            v = getattr(r, name)
            values.append(_val(v) if v is not None else None)
    return pl.DataFrame(cols, schema=MODEL_SCHEMA)


def frames_from_parsed(
    parsed: Iterable[ParsedModel], *, fetched_at: datetime | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Turn parsed Hub objects into the ``models`` and ``edges`` frames.

    Parent ids that match a parsed model case-insensitively take its canonical spelling;
    parents still unknown get a ``missing`` placeholder row. Duplicate model ids keep the
    last occurrence; duplicate edges are dropped. Output is sorted by id (deterministic).

    >>> from ecograph.records import parse_model
    >>> m, e = frames_from_parsed([parse_model({"id": "a/c", "tags": [
    ...     "base_model:finetune:A/ROOT", "base_model:finetune:gone/x"]}),
    ...     parse_model({"id": "a/root"})])
    >>> m.select("id", "status").rows()
    [('a/c', 'ok'), ('a/root', 'ok'), ('gone/x', 'missing')]
    >>> e.select("parent", "child").rows()
    [('a/root', 'a/c'), ('gone/x', 'a/c')]
    """
    by_id: dict[str, ParsedModel] = {}
    for p in parsed:
        if p.record.id:
            by_id[p.record.id] = p
    known = {mid.lower(): mid for mid in by_id}
    records: list[ModelRecord] = [p.record for p in by_id.values()]
    edge_cols: dict[str, list[str]] = {name: [] for name in EDGE_SCHEMA}
    missing: dict[str, ModelRecord] = {}
    from .records import missing_record

    for p in by_id.values():
        for e in p.edges:
            parent = known.get(e.parent.lower(), e.parent)
            if parent not in by_id and parent not in missing:
                missing[parent] = missing_record(parent, status=Status.MISSING)
            edge_cols["parent"].append(parent)
            edge_cols["child"].append(e.child)
            edge_cols["relation"].append(str(e.relation.value))
            edge_cols["source"].append(str(e.source.value))
    models = records_to_frame([*records, *missing.values()])
    if fetched_at is not None:
        models = models.with_columns(pl.lit(fetched_at, dtype=MODEL_SCHEMA["fetched_at"]).alias(
            "fetched_at"))
    edges = (
        pl.DataFrame(edge_cols, schema=EDGE_SCHEMA)
        .unique(subset=["parent", "child"], keep="first", maintain_order=True)
        .sort(["child", "parent"])
    )
    return models.sort("id"), edges.sort(["parent", "child"])


def parent_references_of_tags(tags: pl.DataFrame) -> pl.DataFrame:
    """The parents that ``base_model:`` tags name, as spelled: ``child``, ``parent``.

    ``tags`` has one tag a row (``child``, ``tag``); vectorised, for a whole store. Tags
    whose reference is not a model id are left out (:func:`rejected_tag_parents` reports
    those).

    >>> t = pl.DataFrame({"child": ["u/a", "u/a", "u/b"],
    ...                   "tag": ["base_model:Org/X", "base_model:finetune:org/x",
    ...                           "base_model:merge:not an id"]})
    >>> parent_references_of_tags(t).rows()
    [('u/a', 'Org/X'), ('u/a', 'org/x')]
    """
    relation = "|".join(RELATIONS)
    reference = (
        pl.col("tag").str.strip_prefix("base_model:").str.replace(f"^(?:{relation}):", "")
    )
    return (
        tags.filter(pl.col("tag").str.starts_with("base_model:"))
        .select(pl.col("child").cast(pl.Utf8), reference.alias("parent"))
        .filter(pl.col("parent").str.contains(ID_PATTERN)
                & ~pl.col("parent").str.contains("--", literal=True)
                & ~pl.col("parent").str.contains("..", literal=True))
        .unique()
        .sort(["child", "parent"])
    )
