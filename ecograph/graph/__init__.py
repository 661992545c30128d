"""The fork graph (pure): families, foundations, bridges, data quality, the integer engine.

Everything here works on the ``models`` / ``edges`` polars frames of
:mod:`ecograph.frames` and never touches the network or the disk. One module per concern:

- :mod:`~ecograph.graph.frames`: the frame-level API of DESIGN §5 (:func:`to_networkx`,
  :func:`family_frames`, :func:`foundations`, :func:`bridges`);
- :mod:`~ecograph.graph.index`: :class:`GraphIndex`, ids mapped to integers and CSR
  adjacency in numpy, for whole-Hub work;
- :mod:`~ecograph.graph.traverse`: breadth-first search, one per data shape (frames and
  integer arrays): :func:`expand_families`, :func:`family_ids`, reach masks;
- :mod:`~ecograph.graph.chains`: longest chains and cycles on the whole graph;
- :mod:`~ecograph.graph.quality`: one function per data-quality check and
  :func:`quality`, which lists them all.

User input is matched to ids by :mod:`ecograph.resolve` (:func:`resolve_root`, re-exported
here).
"""

from __future__ import annotations

from ..resolve import resolve_root
from .chains import chain_heights
from .frames import bridges, family_frames, foundations, to_networkx
from .index import GraphIndex
from .quality import (
    QUALITY_SCHEMA,
    case_variant_parents,
    cycles,
    missing_parents,
    quality,
    relation_conflicts,
    self_loops,
)
from .traverse import bfs_csr, bfs_frame, expand_families, family_ids, foundation_counts

__all__ = [
    "GraphIndex",
    "to_networkx",
    "family_frames",
    "foundations",
    "resolve_root",
    "self_loops",
    "cycles",
    "missing_parents",
    "case_variant_parents",
    "relation_conflicts",
    "quality",
    "QUALITY_SCHEMA",
    "bridges",
    "expand_families",
    "foundation_counts",
    "family_ids",
    "bfs_frame",
    "bfs_csr",
    "chain_heights",
]
