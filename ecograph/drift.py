"""Trait drift along edges: what forks change (DESIGN §9; pure).

Four traits are tracked for every model (:func:`trait_values`):

- ``license``: ``cardData.license``, else its ``license:`` tags; trimmed, lower-cased;
  several values de-duplicated, sorted and joined with ``|``
  (:func:`ecograph.licenses.license_column`);
- ``gated``: ``false`` / ``auto`` / ``manual`` (lower-cased). The store keeps an open
  model's ``gated`` as null, so a null ``gated`` of a model that exists reads ``false``;
  a ``missing`` placeholder's gating is unknown;
- ``pipeline`` (``pipeline_tag``) and ``library`` (``library_name``): trimmed,
  lower-cased; empty is unknown.

A child **changes** a trait when its value is known and differs from the value of every
direct parent whose value is known (at least one such parent). Direct parents are the
parents of its edges, whatever family they belong to; self-loops are not parents.
For a root ``R`` and its family (every node reachable from ``R``, ``R`` excluded):

- ``license_known`` = members with a known licence; ``license_changed`` = members that
  change their licence; the same for ``gated``, ``pipeline`` and ``library``
  (``gated_known``, ``gated_changed``, ...).
- ``transitions`` = the top 10 changes of one trait (the licence unless told) as
  ``{from, to, count}``: one per changed member, ``to`` its value and ``from`` the distinct
  known values of its direct parents, sorted and joined with `` + `` (a merge of an
  apache-2.0 and a llama3 model published as mit counts once, as
  ``apache-2.0 + llama3 -> mit``). Ordered by count (descending), then from, then to.
- ``relicensed_permissive`` = members that change their licence to a permissive one
  while at least one direct parent has a known restricted/custom or non-commercial
  licence (classes of :mod:`ecograph.licenses`).
- ``ungated_copies`` = members with ``gated`` false whose foundation is gated; in a
  family's row the root stands for the foundation. A member of several foundations is an
  ungated copy in the row of each gated foundation it descends from (and in no row of an
  open one). 0 when the root is not gated, null when its gating is unknown.

Everything is vectorised like :mod:`ecograph.metrics`: one change flag per node computed
over all edges at once (``bincount`` over the edges' children), then one integer BFS over
(root, member) pairs for all roots (:func:`ecograph.graph.expand_families`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import polars as pl
import pyarrow as pa

from .errors import EcographError, UnknownModelError
from .graph import GraphIndex, expand_families
from .licenses import (
    NON_COMMERCIAL,
    PERMISSIVE,
    RESTRICTED,
    classify_licenses,
    distinct_codes,
    labels_of,
    license_codes,
    recode,
)

__all__ = [
    "TRAITS",
    "DRIFT_COLUMNS",
    "DRIFT_SCHEMA",
    "MEMBER_SCHEMA",
    "EDGE_DRIFT_SCHEMA",
    "UnknownTraitError",
    "trait_values",
    "edge_drift",
    "drift",
    "changed_members",
]

#: The tracked traits, as the CLI's ``--trait`` names them.
TRAITS: tuple[str, ...] = ("license", "gated", "pipeline", "library")

#: The ``models`` column each trait is read from (the licence has its own reader).
_TRAIT_COLUMN = {"gated": "gated", "pipeline": "pipeline_tag", "library": "library_name"}
#: Every ``models`` column the traits are read from.
_TRAIT_INPUTS = ("card_license", "tags", "license", "status", *_TRAIT_COLUMN.values())

#: Columns of :func:`drift`, in order.
DRIFT_COLUMNS: tuple[str, ...] = (
    "root",
    "license_known",
    "license_changed",
    "relicensed_permissive",
    "ungated_copies",
    "transitions",
    "gated_known",
    "gated_changed",
    "pipeline_known",
    "pipeline_changed",
    "library_known",
    "library_changed",
)

_TRANSITION = pl.Struct({"from": pl.Utf8, "to": pl.Utf8, "count": pl.Int64})
_TRANSITION_ARROW = pa.struct(
    [("from", pa.large_string()), ("to", pa.large_string()), ("count", pa.int64())]
)

#: Dtypes of :func:`drift`.
DRIFT_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Utf8() if c == "root" else pl.List(_TRANSITION) if c == "transitions" else pl.Int64()
    for c in DRIFT_COLUMNS
}

#: Dtypes of :func:`changed_members`.
MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8(),
    "depth": pl.Int64(),
    "from": pl.Utf8(),
    "to": pl.Utf8(),
    "path": pl.List(pl.Utf8),
}

#: Dtypes of :func:`edge_drift`.
EDGE_DRIFT_SCHEMA: dict[str, pl.DataType] = {
    "parent": pl.Utf8(),
    "child": pl.Utf8(),
    "parent_value": pl.Utf8(),
    "child_value": pl.Utf8(),
    "differs": pl.Boolean(),
    "child_changes": pl.Boolean(),
}

_TOP = 10
_FALSE = "false"
_FROM_SEPARATOR = " + "


class UnknownTraitError(EcographError, ValueError):
    """A trait name that is not one of :data:`TRAITS`."""

    def __init__(self, trait: str) -> None:
        super().__init__(f"unknown trait {trait!r}; choose from {', '.join(TRAITS)}")


def _check_trait(trait: str) -> None:
    if trait not in TRAITS:
        raise UnknownTraitError(trait)


# --------------------------------------------------------------------------- values


def trait_values(models: pl.DataFrame, trait: str) -> pl.Series:
    """The normalised value of ``trait`` for every row of ``models`` (null = unknown).

    Parameters
    ----------
    models : polars.DataFrame
        A ``models`` frame; absent columns make the trait unknown (``gated``: ``false``
        for the models that exist).
    trait : str
        One of :data:`TRAITS`.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["a", "b", "c"], "status": ["ok", "ok", "missing"],
    ...                   "gated": ["Auto", None, None],
    ...                   "pipeline_tag": ["text-generation", " ", None]})
    >>> trait_values(m, "gated").to_list()
    ['auto', 'false', None]
    >>> trait_values(m, "pipeline").to_list()
    ['text-generation', None, None]
    """
    _check_trait(trait)
    return labels_of(*_row_codes(models, trait)).alias(trait)


def _row_codes(models: pl.DataFrame, trait: str) -> tuple[np.ndarray, pl.Series]:
    """:func:`trait_values` as integers: ``(code per row, sorted values)``, -1 = unknown.
    Each distinct raw value is cleaned once; rows are mapped with a numpy lookup."""
    if trait == "license":
        return license_codes(models)
    column = _TRAIT_COLUMN[trait]
    if column in models.columns and models.schema[column] in (pl.Utf8, pl.Null):
        raw = models.get_column(column).cast(pl.Utf8)
    else:
        raw = pl.select(pl.repeat(None, models.height, dtype=pl.Utf8)).to_series()
    if trait == "gated":  # null = open for a model that exists, unknown for a missing one
        raw = raw.fill_null(_FALSE)
        if "status" in models.columns:
            missing = models.get_column("status") == "missing"
            raw = raw.zip_with(~missing.fill_null(False), pl.Series([None], dtype=pl.Utf8))
    code, distinct = distinct_codes(raw)
    clean = distinct.str.strip_chars().str.to_lowercase()
    clean = clean.set(clean == "", None)
    if trait == "gated":
        clean = clean.fill_null(_FALSE)
    return recode(code, clean)


class _Codes(NamedTuple):
    """A trait's values as integers: ``code[node]`` indexes ``labels`` (sorted), -1 when
    unknown. Arrays built over the labels have one extra last slot for "unknown", so
    ``array[code]`` works for every node (index -1 is the last slot)."""

    code: np.ndarray
    labels: pl.Series


def _node_models(models: pl.DataFrame, index: GraphIndex) -> tuple[pl.DataFrame, np.ndarray]:
    """The ``models`` rows of the nodes that have one (most models of a hub have no edge
    and are skipped), and those nodes."""
    nodes = np.flatnonzero(index.model_row >= 0)
    wanted = [c for c in _TRAIT_INPUTS if c in models.columns]
    frame = models.select(wanted) if wanted else models.select(pl.lit(None).alias("_pad"))
    return frame[index.model_row[nodes]], nodes


def _codes(node_models: pl.DataFrame, nodes: np.ndarray, n: int, trait: str) -> _Codes:
    """The trait's codes for the ``n`` nodes; ``node_models`` holds the rows of ``nodes``."""
    row_code, labels = _row_codes(node_models, trait)
    code = np.full(n, -1, dtype=np.int64)
    code[nodes] = row_code
    return _Codes(code, labels)


def _changes(index: GraphIndex, code: np.ndarray) -> np.ndarray:
    """Per node: does it change the trait (known, and unlike every known direct parent)?"""
    parent_code, child_code = code[index.src], code[index.dst]
    parent_known = parent_code >= 0
    n_known = np.bincount(index.dst[parent_known], minlength=index.n)
    same = parent_known & (parent_code == child_code)
    n_same = np.bincount(index.dst[same], minlength=index.n)
    return (code >= 0) & (n_known > 0) & (n_same == 0)


def _from_labels(index: GraphIndex, codes: _Codes, nodes: np.ndarray) -> pl.DataFrame:
    """``node``, ``from`` for every node of the mask ``nodes`` that has a parent with a
    known value: its parents' distinct known values, sorted, joined with `` + ``."""
    parent_code = codes.code[index.src]
    sel = nodes[index.dst] & (parent_code >= 0)
    pairs = (
        pl.DataFrame({"node": index.dst[sel].astype(np.int64), "value": parent_code[sel]})
        .unique()
        .sort(["node", "value"])
    )
    return (
        pairs.with_columns(codes.labels.gather(pairs.get_column("value")).alias("label"))
        .group_by("node", maintain_order=True)
        .agg(pl.col("label").str.join(_FROM_SEPARATOR).alias("from"))
    )


# --------------------------------------------------------------------------- per edge


def edge_drift(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    trait: str = "license",
    *,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """Every edge with the trait's value at both ends.

    Edges are de-duplicated and self-loops left out. ``differs`` = both values known and
    different; ``child_changes`` = the child changes the trait (DESIGN §9: unlike *every*
    known direct parent), the same on all of a child's edges.

    Returns
    -------
    polars.DataFrame
        Columns of :data:`EDGE_DRIFT_SCHEMA`, sorted by (parent, child).

    Examples
    --------
    ``m`` merges an mit and an apache-2.0 model and is apache-2.0 itself:

    >>> m = pl.DataFrame({"id": ["a", "b", "m"], "license": ["mit", "apache-2.0", "Apache-2.0"]})
    >>> e = pl.DataFrame({"parent": ["a", "b"], "child": ["m", "m"]})
    >>> edge_drift(m, e).select("parent", "differs", "child_changes").rows()
    [('a', True, False), ('b', False, False)]
    """
    _check_trait(trait)
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    codes = _codes(*_node_models(models, index), index.n, trait)
    changed = _changes(index, codes.code)
    labels = pl.concat([codes.labels, pl.Series([None], dtype=pl.Utf8)])  # -1 -> null
    last = labels.len() - 1
    pcode, ccode = codes.code[index.src], codes.code[index.dst]
    frame = pl.DataFrame(
        {
            "parent": index.id_of(index.src),
            "child": index.id_of(index.dst),
            "parent_value": labels.gather(np.where(pcode >= 0, pcode, last)),
            "child_value": labels.gather(np.where(ccode >= 0, ccode, last)),
            "differs": (pcode >= 0) & (ccode >= 0) & (pcode != ccode),
            "child_changes": changed[index.dst],
        }
    )
    return frame.select([pl.col(c).cast(t) for c, t in EDGE_DRIFT_SCHEMA.items()]).sort(
        ["parent", "child"]
    )


# --------------------------------------------------------------------------- per family


def _root_positions(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    roots: Iterable[str] | None,
    index: GraphIndex | None,
) -> tuple[GraphIndex, np.ndarray, pl.Series]:
    """The index, the roots' node positions and their ids (every foundation, sorted by id,
    when ``roots`` is None). A model without edges becomes a node with an empty family."""
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    if roots is None:
        fpos = np.flatnonzero(index.foundation_mask()).astype(np.int64)
        fids = index.id_of(fpos)
        order = fids.arg_sort().to_numpy()
        return index, fpos[order], fids.gather(order)
    root_ids = pl.Series("root", list(dict.fromkeys(roots)), dtype=pl.Utf8)
    _, found = index.lookup(root_ids)
    if not found.all():
        absent = root_ids.filter(pl.Series(~found))
        known = models.get_column("id").cast(pl.Utf8)
        for rid in absent.to_list():
            if not known.is_in([rid]).any():
                raise UnknownModelError(rid)
        index = GraphIndex.from_frames(models, edges, extra=absent)
    return index, index.positions(root_ids), root_ids


def drift(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    roots: Iterable[str] | None = None,
    *,
    trait: str = "license",
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """What the forks of each root changed: one row per root (DESIGN §9).

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames` (extra trait columns such as
        ``card_license`` and ``tags`` are read when present, see
        :func:`ecograph.licenses.license_column`).
    roots : iterable of str, optional
        Model ids (exact). ``None`` = every foundation, sorted by id.
    trait : str
        The trait whose ``transitions`` are listed (one of :data:`TRAITS`).
    index : GraphIndex, optional
        A prebuilt index of the same frames.

    Returns
    -------
    polars.DataFrame
        Columns :data:`DRIFT_COLUMNS` with dtypes :data:`DRIFT_SCHEMA`, in the order of
        ``roots``.

    Raises
    ------
    UnknownModelError
        If a root is not in ``models``.
    UnknownTraitError
        If ``trait`` is not one of :data:`TRAITS`.

    Examples
    --------
    A gated llama3 foundation; ``a`` keeps its licence, ``b`` re-publishes it as mit,
    ``q`` (a copy of ``b``) says nothing:

    >>> m = pl.DataFrame({"id": ["r", "a", "b", "q"],
    ...                   "license": ["llama3", "llama3", "MIT", None],
    ...                   "gated": ["manual", "manual", None, None]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "b"], "child": ["a", "b", "q"]})
    >>> row = drift(m, e).row(0, named=True)
    >>> row["root"], row["license_known"], row["license_changed"], row["relicensed_permissive"]
    ('r', 2, 1, 1)
    >>> row["transitions"]
    [{'from': 'llama3', 'to': 'mit', 'count': 1}]
    >>> row["ungated_copies"], row["gated_changed"]
    (2, 1)
    """
    _check_trait(trait)
    index, root_pos, root_ids = _root_positions(models, edges, roots, index)
    k = len(root_pos)
    r, node, _ = expand_families(index, root_pos)
    columns: dict[str, Any] = {"root": root_ids}
    changed_of: dict[str, np.ndarray] = {}
    codes_of: dict[str, _Codes] = {}
    node_models, nodes = _node_models(models, index)
    for name in TRAITS:
        codes = _codes(node_models, nodes, index.n, name)
        changed = _changes(index, codes.code)
        codes_of[name], changed_of[name] = codes, changed
        columns[f"{name}_known"] = np.bincount(r[codes.code[node] >= 0], minlength=k)
        columns[f"{name}_changed"] = np.bincount(r[changed[node]], minlength=k)

    # relicensed: changed to a permissive licence from a restricted or non-commercial one
    lic = codes_of["license"]
    klass = classify_licenses(lic.labels).to_numpy()
    permissive = np.append(klass == PERMISSIVE, False)  # last slot: unknown (code -1)
    restrictive = np.append((klass == RESTRICTED) | (klass == NON_COMMERCIAL), False)
    parent_restrictive = restrictive[lic.code[index.src]]
    from_restrictive = np.bincount(index.dst[parent_restrictive], minlength=index.n) > 0
    relicensed = changed_of["license"] & permissive[lic.code] & from_restrictive
    columns["relicensed_permissive"] = np.bincount(r[relicensed[node]], minlength=k)

    # ungated copies: members with gated false in the family of a gated root
    gated = codes_of["gated"]
    gated_labels = gated.labels.to_list()
    false_code = gated_labels.index(_FALSE) if _FALSE in gated_labels else -2
    is_false = gated.code == false_code
    root_code = gated.code[root_pos]
    root_gated = (root_code >= 0) & (root_code != false_code)
    copies = np.bincount(r[is_false[node]], minlength=k) * root_gated
    columns["ungated_copies"] = pl.Series(copies).scatter(np.flatnonzero(root_code < 0), None)

    columns["transitions"] = _transitions(
        index, codes_of[trait], changed_of[trait], r, node, k
    )
    return pl.DataFrame(
        [pl.Series(c, columns[c]).cast(DRIFT_SCHEMA[c]) for c in DRIFT_COLUMNS]
    )


def _transitions(
    index: GraphIndex, codes: _Codes, changed: np.ndarray, r: np.ndarray, node: np.ndarray,
    k: int,
) -> pl.Series:
    """The top transitions (from, to, count) per root, as a list-of-structs column."""
    froms = _from_labels(index, codes, changed)
    if froms.height == 0:
        offsets = pa.array(np.zeros(k + 1, np.int64), pa.int64())
        return pl.Series(
            pa.LargeListArray.from_arrays(offsets, pa.array([], _TRANSITION_ARROW))
        )
    # one code per distinct (from, to) pair, in (from, to) order
    to_codes = codes.code[froms.get_column("node").to_numpy()]
    per_node = froms.with_columns(
        codes.labels.gather(pl.Series(to_codes)).alias("to")
    )
    pairs = per_node.select("from", "to").unique().sort(["from", "to"])
    pairs = pairs.with_row_index("pair")
    per_node = per_node.join(pairs, on=["from", "to"], how="left")
    pair_of = np.full(index.n, -1, dtype=np.int64)
    pair_of[per_node.get_column("node").to_numpy()] = per_node.get_column("pair").to_numpy()

    pair = pair_of[node]
    sel = pair >= 0
    width = pairs.height
    keys, counts = np.unique(r[sel] * width + pair[sel], return_counts=True)
    g_root, g_pair = keys // width, keys % width
    order = np.lexsort((g_pair, -counts, g_root))  # root, count desc, (from, to)
    g_root, g_pair, counts = g_root[order], g_pair[order], counts[order]
    start = np.flatnonzero(np.r_[True, g_root[1:] != g_root[:-1]])
    rank = np.arange(g_root.size) - np.repeat(start, np.diff(np.r_[start, g_root.size]))
    top = rank < _TOP
    g_root, g_pair, counts = g_root[top], g_pair[top], counts[top]
    values = pa.StructArray.from_arrays(
        [
            pairs.get_column("from").gather(g_pair).to_arrow().cast(pa.large_string()),
            pairs.get_column("to").gather(g_pair).to_arrow().cast(pa.large_string()),
            pa.array(counts.astype(np.int64)),
        ],
        names=["from", "to", "count"],
    )
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(g_root, minlength=k), out=offsets[1:])
    return pl.Series(pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values))


# --------------------------------------------------------------------------- members


def changed_members(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    root: str,
    trait: str = "license",
    *,
    index: GraphIndex | None = None,
) -> pl.DataFrame:
    """The members of ``root``'s family that change ``trait``, with a path from the root.

    ``path`` is a shortest path (ids, root first, the member last) so a reader can check
    every step on the Hub; among several, each step back goes to the parent with the
    smallest id among those one generation closer to the root.

    Returns
    -------
    polars.DataFrame
        ``id``, ``depth``, ``from`` (the parents' distinct known values, joined with
        `` + ``), ``to`` (the member's value), ``path``; sorted by (depth, id).

    Raises
    ------
    UnknownModelError, UnknownTraitError

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "c"],
    ...                   "license": ["llama3", None, "llama3", "mit"]})
    >>> e = pl.DataFrame({"parent": ["r", "a", "r", "b"], "child": ["a", "c", "b", "c"]})
    >>> changed_members(m, e, "r").rows()
    [('c', 2, 'llama3', 'mit', ['r', 'a', 'c'])]
    """
    _check_trait(trait)
    index, root_pos, _ = _root_positions(models, edges, [root], index)
    _, node, depth = expand_families(index, root_pos)
    codes = _codes(*_node_models(models, index), index.n, trait)
    changed = _changes(index, codes.code)
    members = node[changed[node]]
    if members.size == 0:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    # generation of every node of the family (root 0, outsiders -1)
    generation = np.full(index.n, -1, dtype=np.int64)
    generation[node] = depth
    generation[root_pos[0]] = 0
    # one parent per family node: one generation up, smallest id first
    step = (generation[index.dst] > 0) & (generation[index.src] == generation[index.dst] - 1)
    src, dst = index.src[step].astype(np.int64), index.dst[step].astype(np.int64)
    src_rank = index.id_of(src).rank("dense").to_numpy()
    first = np.lexsort((src_rank, dst))
    keep = np.r_[True, dst[first][1:] != dst[first][:-1]]
    parent_of = np.full(index.n, -1, dtype=np.int64)
    parent_of[dst[first][keep]] = src[first][keep]
    # walk every member back to the root at once: hops[j] = the j-th ancestor on the path
    member_depth = generation[members]
    hops = [members]
    for _ in range(int(member_depth.max())):
        hops.append(np.where(hops[-1] >= 0, parent_of[np.maximum(hops[-1], 0)], -1))
    walk = np.stack(hops, axis=1)  # (members, max_depth + 1), -1 past the root
    offsets = np.zeros(members.size + 1, dtype=np.int64)
    np.cumsum(member_depth + 1, out=offsets[1:])
    row = np.repeat(np.arange(members.size), member_depth + 1)
    col = member_depth[row] - (np.arange(offsets[-1]) - offsets[row])  # root first
    path_nodes = walk[row, col]
    paths = pl.Series(
        pa.LargeListArray.from_arrays(
            pa.array(offsets, pa.int64()), index.id_of(path_nodes).to_arrow()
        )
    )
    wanted = np.zeros(index.n, dtype=bool)
    wanted[members] = True
    froms = _from_labels(index, codes, wanted)
    frame = pl.DataFrame(
        {
            "node": members,
            "id": index.id_of(members),
            "depth": member_depth,
            "to": codes.labels.gather(pl.Series(codes.code[members])),
            "path": paths,
        }
    )
    frame = frame.join(froms, on="node", how="left")
    return frame.select(
        [pl.col(c).cast(t) for c, t in MEMBER_SCHEMA.items()]
    ).sort(["depth", "id"])
