"""The integer engine: ids mapped to node positions, CSR adjacency in numpy (pure).

Whole-Hub work (every foundation of a 2M-model hub at once) goes through
:class:`GraphIndex`: string searches, sorts and joins over millions of ids are the slow
part of graph work in polars, so ids become integers once, through a vectorised hash
table (:class:`_IdTable`), and every traversal (:mod:`ecograph.graph.traverse`) is a numpy
gather per generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from ._arrays import _unique
from .traverse import reach_mask

__all__ = ["GraphIndex"]

_SEEDS = ((0x9E3779B9, 0x85EBCA6B), (0xC2B2AE35, 0x27D4EB2F), (0x165667B1, 0xD3A2646C))


def _hashes(values: pl.Series, seeds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of ``values``; the first is never 0 (the empty slot
    of :class:`_IdTable`)."""
    v = values.cast(pl.Utf8)
    return v.hash(seeds[0]).to_numpy() | np.uint64(1), v.hash(seeds[1]).to_numpy()


@dataclass(frozen=True, eq=False)
class GraphIndex:
    """Integer view of the fork graph for whole-Hub computations.

    The nodes are the edge endpoints (plus any ``extra`` ids asked for); models without
    edges have no family and are left out. Ids are mapped to integers through a 64-bit
    hash kept in a vectorised open-addressing table (:class:`_IdTable`), verified with a
    second independent hash (a collision triggers new seeds). This keeps the whole mapping
    in integer arrays: string searches, sorts and joins over millions of ids are otherwise
    the slow part. Node order is therefore arbitrary; everything user-facing sorts by id.

    Edges are deduplicated and self-loops kept apart (``self_loop`` flags nodes that have
    one); ``src``/``dst`` and the CSR arrays (``indptr``, ``children``) hold the others.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["b", "a", "c", "lonely"]})
    >>> e = pl.DataFrame({"parent": ["a", "a", "c"], "child": ["b", "c", "c"]})
    >>> g = GraphIndex.from_frames(m, e)
    >>> a, b, c = g.positions(["a", "b", "c"])
    >>> g.n, int(g.out_degree[a]), int(g.in_degree[c]), bool(g.self_loop[c])
    (3, 2, 1, True)
    >>> sorted(g.id_of(g.children[g.indptr[a]:g.indptr[a + 1]]).to_list())
    ['b', 'c']
    """

    table: _IdTable  # first hash of every node's id -> node
    names: pl.Series  # Utf8; node i's id is names[name_row[i]]
    name_row: np.ndarray
    model_row: np.ndarray  # row of node i in ``models`` (-1: no row)
    missing: np.ndarray  # bool per node: status ``missing`` (or no model row)
    src: np.ndarray  # int32, parent of each edge (no self-loops), sorted by src
    dst: np.ndarray  # int32, child of each edge
    self_loop: np.ndarray  # bool per node
    indptr: np.ndarray  # int64, CSR by parent: children of i = children[indptr[i]:indptr[i+1]]
    children: np.ndarray  # int32
    seeds: tuple[int, int]
    check: np.ndarray  # uint64, second hash of node i's id

    @classmethod
    def from_frames(
        cls, models: pl.DataFrame, edges: pl.DataFrame, extra: Iterable[str] = ()
    ) -> GraphIndex:
        """Build the index of ``edges`` (and of the ``extra`` ids), with each node's row in
        ``models``."""
        names = pl.concat(
            [
                edges.get_column("parent").cast(pl.Utf8),
                edges.get_column("child").cast(pl.Utf8),
                pl.Series(list(extra), dtype=pl.Utf8),
            ]
        ).rename("id")
        m = edges.height
        for seeds in _SEEDS:
            h1, h2 = _hashes(names, seeds)
            table = _IdTable(h1)
            inv = table.inverse
            first = np.zeros(table.n, dtype=np.int64)
            first[inv] = np.arange(inv.size)
            check = h2[first]
            if np.array_equal(check[inv], h2):
                break
        else:  # pragma: no cover - three 128-bit collisions in a row
            raise RuntimeError("hash collisions while indexing ids")
        n = table.n
        p, c = inv[:m], inv[m : 2 * m]
        key = p * n + c
        key = _unique(key)
        p = (key // max(n, 1)).astype(np.int32)
        c = (key % max(n, 1)).astype(np.int32)
        loop = p == c
        self_loop = np.zeros(n, dtype=bool)
        self_loop[p[loop]] = True
        src, dst = p[~loop], c[~loop]
        counts = np.bincount(src, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        # each node's row in ``models``
        model_row = np.full(n, -1, dtype=np.int64)
        missing = np.ones(n, dtype=bool)
        if models.height and n:
            mh1, mh2 = _hashes(models.get_column("id"), seeds)
            rows, pos = table.find(mh1)
            ok = check[pos] == mh2[rows]
            model_row[pos[ok]] = rows[ok]
            if "status" in models.columns:
                st = (models.get_column("status") == "missing").fill_null(False).to_numpy()
                missing = (model_row < 0) | st[np.maximum(model_row, 0)]
            else:
                missing = model_row < 0
        return cls(
            table=table,
            names=names,
            name_row=first,
            model_row=model_row,
            missing=missing,
            src=src,
            dst=dst,
            self_loop=self_loop,
            indptr=indptr,
            children=dst,
            seeds=seeds,
            check=check,
        )

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.table.n

    @cached_property
    def ids(self) -> pl.Series:
        """Every node's id, in node order."""
        return self.id_of(np.arange(self.n))

    def id_of(self, nodes: np.ndarray) -> pl.Series:
        """The ids of ``nodes`` (node positions)."""
        return self.names.gather(self.name_row[np.asarray(nodes, dtype=np.int64)])

    @cached_property
    def out_degree(self) -> np.ndarray:
        """Number of children of each node (self-loops excluded)."""
        return np.diff(self.indptr)

    @cached_property
    def in_degree(self) -> np.ndarray:
        """Number of parents of each node (self-loops excluded)."""
        return np.bincount(self.dst, minlength=self.n)

    @cached_property
    def _in_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR by child: parents of i = ``parents[indptr[i]:indptr[i+1]]``.

        Most nodes have one parent: their edge goes straight to its slot; only the edges
        into nodes with several parents are sorted.
        """
        indeg = self.in_degree
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(indeg, out=indptr[1:])
        parents = np.empty(self.src.size, dtype=self.src.dtype)
        single = indeg[self.dst] == 1
        parents[indptr[self.dst[single]]] = self.src[single]
        multi = np.flatnonzero(~single)
        if multi.size:
            multi = multi[np.argsort(self.dst[multi], kind="stable")]
            # the slots of the multi-parent nodes, in node order = the sorted edges' order
            slots = np.flatnonzero(np.repeat(indeg > 1, indeg))
            parents[slots] = self.src[multi]
        return indptr, parents

    def lookup(self, ids: Iterable[str] | pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``ids`` and whether each is a node."""
        s = pl.Series("id", ids, dtype=pl.Utf8)
        if self.n == 0:
            return np.zeros(s.len(), np.int64), np.zeros(s.len(), bool)
        h1, h2 = _hashes(s, self.seeds)
        idx, node = self.table.find(h1)
        ok = self.check[node] == h2[idx]
        pos = np.zeros(s.len(), dtype=np.int64)
        found = np.zeros(s.len(), dtype=bool)
        pos[idx[ok]] = node[ok]
        found[idx[ok]] = True
        return pos, found

    def positions(self, ids: Iterable[str] | pl.Series) -> np.ndarray:
        """Integer positions of ``ids`` (``KeyError`` if one is not a node)."""
        ids = ids if isinstance(ids, pl.Series) else list(ids)
        pos, found = self.lookup(ids)
        if not found.all():
            raise KeyError(pl.Series(ids, dtype=pl.Utf8).filter(pl.Series(~found))[0])
        return pos

    def foundation_mask(self, models: pl.DataFrame | None = None) -> np.ndarray:
        """Boolean mask of foundations (see :func:`ecograph.graph.foundations`)."""
        return (self.in_degree == 0) & (self.out_degree > 0) & ~self.missing

    def descendants_mask(self, sources: np.ndarray) -> np.ndarray:
        """Nodes reachable from any of ``sources`` (sources included)."""
        return reach_mask(self.indptr, self.children, sources, in_degree=self.in_degree)

    def ancestors_mask(self, targets: np.ndarray) -> np.ndarray:
        """Nodes from which any of ``targets`` is reachable (targets included)."""
        indptr, parents = self._in_csr
        return reach_mask(indptr, parents, targets, in_degree=self.out_degree)


class _IdTable:
    """A set of nonzero uint64 hashes, numbered densely: a vectorised open-addressing
    (linear probing) table.

    Built from all the hashes at once (duplicates welcome): every round, each pending hash
    reads its slot; it is done if the slot holds it, claims the slot if empty (when several
    claim one slot, one write wins and the others move on), and otherwise moves to the next
    slot. The table has at least twice as many slots as hashes, so a few rounds place
    everything. Nodes are numbered in slot order. Lookups first ask a small bit filter
    (a Bloom filter with one hash, ~3% false positives at the usual load) that fits in
    cache, so the misses — most of the models of a hub have no edge — never touch the big
    table. This avoids sorting the hashes, the slow part of a sort-based index.
    """

    def __init__(self, hashes: np.ndarray) -> None:
        h = np.asarray(hashes, dtype=np.uint64)
        bits = max(int(h.size).bit_length() + 1, 4)
        size = 1 << bits
        self.shift = np.uint64(64 - bits)
        table = np.zeros(size, dtype=np.uint64)
        slot_of = (h >> self.shift).astype(np.int64)
        # round 1: every hash writes its home slot (the table is empty); one write per
        # slot wins, the others probe on
        table[slot_of] = h
        pend = np.flatnonzero(table[slot_of] != h)
        hp, slot = h[pend], (slot_of[pend] + 1) & (size - 1)
        while pend.size:
            empty = table[slot] == 0
            table[slot[empty]] = hp[empty]
            ok = table[slot] == hp
            slot_of[pend[ok]] = slot[ok]
            miss = ~ok
            pend, hp, slot = pend[miss], hp[miss], (slot[miss] + 1) & (size - 1)
        self.table = table
        self.node_of_slot = np.cumsum(table != 0, dtype=np.int32) - 1
        self.n = int(self.node_of_slot[-1]) + 1
        #: node of each input hash
        self.inverse = self.node_of_slot[slot_of].astype(np.int64)
        fbits = bits + 2
        self.fshift = np.uint64(64 - fbits)
        flags = np.zeros(1 << fbits, dtype=bool)
        flags[(h >> self.fshift).astype(np.int64)] = True
        self.filter = np.packbits(flags, bitorder="little")

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The queries found: ``(query indices, their nodes)``, compact (most lookups of a
        hub's models miss, so no per-query output array is written)."""
        q = np.asarray(queries, dtype=np.uint64)
        f = (q >> self.fshift).astype(np.int64)
        maybe = (self.filter[f >> 3] >> (f & 7).astype(np.uint8)) & 1
        active = np.flatnonzero(maybe)
        qa = q[active]
        slot = (qa >> self.shift).astype(np.int64)
        mask = self.table.size - 1
        hits: list[np.ndarray] = []
        slots: list[np.ndarray] = []
        while active.size:
            cur = self.table[slot]
            hit = cur == qa
            hits.append(active[hit])
            slots.append(slot[hit])
            more = ~hit & (cur != 0)
            active, qa, slot = active[more], qa[more], (slot[more] + 1) & mask
        if not hits:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(hits), self.node_of_slot[np.concatenate(slots)].astype(np.int64)
