"""The fork graph: frames <-> networkx, families, foundations, data quality (pure).

Everything here works on the ``models`` / ``edges`` polars frames of
:mod:`ecograph.frames` and never touches the network or the disk. Definitions follow
DESIGN §5:

- **family(R)** = every node reachable from ``R`` along edges, ``R`` excluded; each node
  has a **depth** = shortest-path length from ``R`` (its generation).
- **foundation** = a non-missing node with no parents and at least one child. Self-loops
  are ignored here (a model that names itself as its base is still a foundation if nothing
  else is its parent).
- **bridge** = a node that descends from more than one foundation (a cross-family merge).
- **data quality**: self-loops, cycles (strongly connected components of more than one
  node), missing parents, relation conflicts (``merge`` with one parent; ``finetune``,
  ``quantized`` or ``adapter`` with several parents).

Whole-Hub work goes through :class:`GraphIndex`: ids mapped to integers, CSR adjacency in
numpy, and vectorised frontier expansions (one numpy gather per generation), so every
foundation of a 2M-model hub is processed at once in under a second. networkx is used for
single families (:func:`to_networkx`) and for the few nodes left in cycles.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import polars as pl

from .errors import UnknownModelError
from .records import try_normalize_id

__all__ = [
    "GraphIndex",
    "to_networkx",
    "family_frames",
    "foundations",
    "resolve_root",
    "self_loops",
    "cycles",
    "missing_parents",
    "relation_conflicts",
    "quality",
    "bridges",
    "expand_families",
    "chain_heights",
]

#: Relations whose child has exactly one parent (several parents = relation conflict).
_SINGLE_PARENT_RELATIONS = ("finetune", "quantized", "adapter")


# --------------------------------------------------------------------------- networkx


def to_networkx(nodes: pl.DataFrame, edges: pl.DataFrame) -> nx.DiGraph:
    """Build a :class:`networkx.DiGraph` from a ``nodes`` frame and an ``edges`` frame.

    Every column of ``nodes`` except ``id`` becomes a node attribute (datetimes stay
    :class:`datetime.datetime`; null values are left out, the networkx convention for "no
    value"). Each edge carries its ``relation``. Edges whose ends are not both in ``nodes``
    are dropped, so ``to_networkx(*family_frames(models, edges, root))`` is the family graph.

    Parameters
    ----------
    nodes : polars.DataFrame
        One row per node with at least an ``id`` column (a ``models`` frame, or the nodes of
        :func:`family_frames`, which add ``depth``).
    edges : polars.DataFrame
        ``parent``, ``child`` and ``relation`` columns.

    Returns
    -------
    networkx.DiGraph

    Examples
    --------
    >>> nodes = pl.DataFrame({"id": ["a/r", "b/c"], "downloads": [10, None]})
    >>> edges = pl.DataFrame({"parent": ["a/r"], "child": ["b/c"], "relation": ["finetune"]})
    >>> G = to_networkx(nodes, edges)
    >>> G.nodes["a/r"], G.nodes["b/c"]
    ({'downloads': 10}, {})
    >>> G.edges["a/r", "b/c"]
    {'relation': 'finetune'}
    """
    G = nx.DiGraph()
    attrs = [c for c in nodes.columns if c != "id"]
    for row in nodes.iter_rows(named=True):
        nid = row["id"]
        G.add_node(nid, **{k: row[k] for k in attrs if row[k] is not None})
    if edges.height:
        has_rel = "relation" in edges.columns
        cols = ["parent", "child"] + (["relation"] if has_rel else [])
        for erow in edges.select(cols).iter_rows():
            p, c = erow[0], erow[1]
            if p in G and c in G:
                if has_rel and erow[2] is not None:
                    G.add_edge(p, c, relation=erow[2])
                else:
                    G.add_edge(p, c)
    return G


# --------------------------------------------------------------------------- families


def _isin(col: str, values: pl.Series) -> pl.Expr:
    return pl.col(col).is_in(values.implode())


def family_frames(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    root: str,
    *,
    max_depth: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The family of ``root``: its nodes with their depth, and the edges among them.

    The root is included at depth 0; every node reachable from it appears once, at its
    shortest depth (a merge reached by several paths counts once; cycles terminate).

    Parameters
    ----------
    models, edges : polars.DataFrame
        Frames in the schemas of :mod:`ecograph.frames`.
    root : str
        A model id present in ``models`` (see :func:`resolve_root` for user input).
    max_depth : int, optional
        Stop after this many generations.

    Returns
    -------
    nodes : polars.DataFrame
        The ``models`` rows of the root and its family plus a ``depth`` column (Int64),
        sorted by (depth, id).
    edges : polars.DataFrame
        Every edge whose two ends are in ``nodes`` (self-loops and edges back to the root
        included), sorted by (parent, child).

    Raises
    ------
    UnknownModelError
        If ``root`` is not in ``models``.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "m", "x"]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "a", "b", "x"],
    ...                   "child":  ["a", "b", "m", "m", "m"], "relation": "finetune"})
    >>> nodes, fam_edges = family_frames(m, e, "r")
    >>> nodes.select("id", "depth").rows()
    [('r', 0), ('a', 1), ('b', 1), ('m', 2)]
    >>> fam_edges.height
    4
    """
    if not models.filter(pl.col("id") == root).height:
        raise UnknownModelError(root, _suggest(models.get_column("id"), root))
    pc = edges.select("parent", "child")
    depth_of: dict[str, int] = {root: 0}
    frontier = [root]
    d = 0
    while frontier and (max_depth is None or d < max_depth):
        d += 1
        kids = (
            pc.filter(pl.col("parent").is_in(frontier))
            .get_column("child")
            .unique()
            .to_list()
        )
        frontier = [k for k in kids if k not in depth_of]
        for k in frontier:
            depth_of[k] = d
    depth_frame = pl.DataFrame(
        {"id": list(depth_of), "depth": list(depth_of.values())},
        schema={"id": pl.Utf8, "depth": pl.Int64},
    )
    ids = depth_frame.get_column("id")
    nodes = (
        models.filter(_isin("id", ids))
        .unique("id", keep="last", maintain_order=True)
        .join(depth_frame, on="id", how="inner")
        .sort(["depth", "id"])
    )
    fam_edges = edges.filter(_isin("parent", ids) & _isin("child", ids)).sort(
        ["parent", "child"]
    )
    return nodes, fam_edges


def foundations(models: pl.DataFrame, edges: pl.DataFrame) -> list[str]:
    """Foundations: non-missing nodes with no parents and at least one child (sorted).

    Self-loops are ignored on both sides.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "c", "gone", "solo"],
    ...                   "status": ["ok", "ok", "missing", "ok"]})
    >>> e = pl.DataFrame({"parent": ["r", "gone", "solo"], "child": ["c", "c", "solo"]})
    >>> foundations(m, e)
    ['r']
    """
    real = edges.filter(pl.col("parent") != pl.col("child"))
    has_parent = real.get_column("child").unique()
    has_child = real.get_column("parent").unique()
    cond = _isin("id", has_child) & ~_isin("id", has_parent)
    if "status" in models.columns:
        cond = cond & (pl.col("status").fill_null("ok") != "missing")
    cand = models.filter(cond)
    return sorted(cand.get_column("id").unique().to_list())


# --------------------------------------------------------------------------- roots


def resolve_root(models: pl.DataFrame, text: str) -> str:
    """Turn user input into a model id present in ``models``.

    The text is normalised (:func:`ecograph.records.normalize_id`: URLs, ``@revision``,
    stray slashes), then matched exactly, then case-insensitively. Otherwise
    :class:`~ecograph.errors.UnknownModelError` is raised with up to three close matches.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B"]})
    >>> resolve_root(m, "https://huggingface.co/meta-llama/llama-3.1-8b")
    'meta-llama/Llama-3.1-8B'
    >>> resolve_root(m, "meta-llama/Llama-3.1-8")
    Traceback (most recent call last):
    ...
    ecograph.errors.UnknownModelError: unknown model 'meta-llama/Llama-3.1-8'; did you mean 'meta-llama/Llama-3.1-8B'?
    """  # noqa: E501
    raw = text.strip() if isinstance(text, str) else str(text)
    ids = models.get_column("id")
    if ids.is_in([raw]).any():
        return raw
    norm = try_normalize_id(raw)
    if norm is not None:
        if ids.is_in([norm]).any():
            return norm
        hits = ids.filter(ids.str.to_lowercase() == norm.lower())
        if hits.len():
            return str(hits.sort()[0])
    raise UnknownModelError(raw, _suggest(ids, norm or raw))


def _suggest(ids: pl.Series, query: str, n: int = 3) -> list[str]:
    """Close matches of ``query`` among ``ids`` (case-insensitive, fuzzy).

    Fast on millions of ids: a vectorised prefilter keeps ids that share the organisation,
    contain the name, or start like it, and :mod:`difflib` ranks the few thousand left.
    """
    if not ids.len() or not query:
        return []
    q = query.lower()
    org, _, name = q.rpartition("/")
    low = ids.str.to_lowercase()
    frame = pl.DataFrame({"id": ids, "low": low}).with_columns(
        pl.col("low").str.split("/").list.last().alias("name")
    )
    # Tiers, most specific first, so a huge weak tier cannot crowd out a strong match.
    tiers: list[pl.Expr] = []
    if org:
        tiers.append(pl.col("low").str.starts_with(org + "/"))
    if name:
        tiers.append(pl.col("name").str.contains(name, literal=True)
                     | pl.col("low").str.contains(name, literal=True)
                     | pl.lit(name).str.contains(pl.col("name"), literal=True))
        tiers.append(pl.col("name").str.starts_with(name[:4]))
    budget, parts = 5000, []
    seen = pl.lit(False)
    for cond in tiers:
        part = (
            frame.filter(cond & ~seen)
            .with_columns((pl.col("low").str.len_chars() - len(q)).abs().alias("_d"))
            .sort(["_d", "id"])
            .head(budget)
            .drop("_d")
        )
        seen = seen | cond
        parts.append(part)
        budget -= part.height
        if budget <= 0:
            break
    cand = pl.concat(parts) if parts else frame.head(0)
    lows = cand.get_column("low").to_list()
    canon = dict(zip(lows, cand.get_column("id").to_list(), strict=True))
    matches = _close(q, lows, n)
    if not matches and name:
        names = cand.get_column("name").to_list()
        by_name: dict[str, str] = {}
        for nm, lw in zip(names, lows, strict=True):
            by_name.setdefault(nm, lw)
        matches = [by_name[m] for m in _close(name, list(by_name), n)]
    return [canon[m] for m in matches]


def _close(word: str, candidates: list[str], n: int, cutoff: float = 0.6) -> list[str]:
    """Like :func:`difflib.get_close_matches`, but only the matches about as close as the
    best one (a clear winner is suggested alone)."""
    scored = []
    for cand in candidates:
        sm = difflib.SequenceMatcher(None, word, cand)
        if sm.real_quick_ratio() >= cutoff and sm.quick_ratio() >= cutoff:
            ratio = sm.ratio()
            if ratio >= cutoff:
                scored.append((ratio, cand))
    if not scored:
        return []
    scored.sort(key=lambda t: (-t[0], t[1]))
    best = scored[0][0]
    return [c for r, c in scored[:n] if r >= best - 0.05]


# --------------------------------------------------------------------------- index


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
        """Boolean mask of foundations (see :func:`foundations`)."""
        return (self.in_degree == 0) & (self.out_degree > 0) & ~self.missing

    def descendants_mask(self, sources: np.ndarray) -> np.ndarray:
        """Nodes reachable from any of ``sources`` (sources included)."""
        return _reach(self.indptr, self.children, self.n, sources)

    def ancestors_mask(self, targets: np.ndarray) -> np.ndarray:
        """Nodes from which any of ``targets`` is reachable (targets included)."""
        indptr, parents = self._in_csr
        return _reach(indptr, parents, self.n, targets)


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


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort-based: numpy's hash-based unique is slower here; big
    arrays are sorted by polars, multi-threaded)."""
    if values.size == 0:
        return values
    s = pl.Series(values).sort().to_numpy() if values.size > 50_000 else np.sort(values)
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _dedupe(values: np.ndarray, n: int) -> np.ndarray:
    """Sorted unique node positions: a mask for big arrays, a sort for small ones."""
    if values.size > n // 16:
        mask = np.zeros(n, dtype=bool)
        mask[values] = True
        return np.flatnonzero(mask)
    return _unique(values)


def _gather(indptr: np.ndarray, adj: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Neighbours of ``nodes`` in CSR ``(indptr, adj)``: returns (repeat index, neighbour)."""
    starts = indptr[nodes]
    counts = indptr[nodes + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, adj.dtype)
    rep = np.repeat(np.arange(len(nodes)), counts)
    offs = np.cumsum(counts) - counts
    pos = np.arange(total) - np.repeat(offs, counts) + np.repeat(starts, counts)
    return rep, adj[pos]


def _reach(indptr: np.ndarray, adj: np.ndarray, n: int, sources: np.ndarray) -> np.ndarray:
    seen = np.zeros(n, dtype=bool)
    frontier = _dedupe(np.asarray(sources, dtype=np.int64), n)
    seen[frontier] = True
    while frontier.size:
        _, nb = _gather(indptr, adj, frontier)
        nb = _dedupe(nb, n)
        nb = nb[~seen[nb]]
        seen[nb] = True
        frontier = nb.astype(np.int64)
    return seen


def expand_families(
    index: GraphIndex, roots: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (root, node, depth) with ``node`` in family(root), for many roots at once.

    A vectorised breadth-first search over (root, node) pairs: one CSR gather per
    generation. A node with a single parent is produced exactly once per root (its parent
    is), so only nodes with several parents (merges, cycles) are checked against the pairs
    already visited; each node is kept once per root at its shortest depth, the root itself
    is never part of its family, and cycles terminate.

    Parameters
    ----------
    index : GraphIndex
    roots : numpy.ndarray
        Node positions of the roots (``root`` in the result is the position in ``roots``).

    Returns
    -------
    root, node, depth : numpy.ndarray
        Parallel int arrays, one entry per (root, family node) pair, in BFS order.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "m"]})
    >>> e = pl.DataFrame({"parent": ["r", "r", "a", "b", "m"], "child": ["a", "b", "m", "m", "r"]})
    >>> g = GraphIndex.from_frames(m, e)
    >>> r, node, depth = expand_families(g, g.positions(["r"]))
    >>> sorted(zip(g.id_of(node).to_list(), depth.tolist()))
    [('a', 1), ('b', 1), ('m', 2)]
    """
    n = np.int64(index.n)
    roots = np.asarray(roots, dtype=np.int64)
    multi = index.in_degree >= 2
    fr_root = np.arange(len(roots), dtype=np.int64)
    fr_node = roots.copy()
    out_r: list[np.ndarray] = []
    out_n: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    seen_multi: list[np.ndarray] = []  # sorted chunks of keys root * n + node, one per depth
    depth = 0
    while fr_node.size:
        depth += 1
        rep, child = _gather(index.indptr, index.children, fr_node)
        if child.size == 0:
            break
        r = fr_root[rep]
        child = child.astype(np.int64)
        keep = child != roots[r]
        m = multi[child] & keep
        if m.any():
            keys = r[m] * n + child[m]
            uk, first = np.unique(keys, return_index=True)
            fresh = np.ones(uk.size, dtype=bool)
            if len(seen_multi) > 16:  # deep graphs: merge the chunks now and then
                seen_multi = [np.unique(np.concatenate(seen_multi))]
            for chunk in seen_multi:  # cheaper than merging every generation
                pos = np.minimum(np.searchsorted(chunk, uk), chunk.size - 1)
                fresh &= chunk[pos] != uk
            idx = np.flatnonzero(m)
            keep[idx] = False
            keep[idx[first[fresh]]] = True
            if fresh.any():
                seen_multi.append(uk[fresh])
        r = r[keep]
        child = child[keep]
        out_r.append(r)
        out_n.append(child)
        out_d.append(np.full(child.size, depth, dtype=np.int32))
        fr_root, fr_node = r, child
    if not out_r:
        z = np.zeros(0, np.int64)
        return z, z.copy(), np.zeros(0, np.int32)
    return np.concatenate(out_r), np.concatenate(out_n), np.concatenate(out_d)


# --------------------------------------------------------------------------- cycles


def _scc_labels(index: GraphIndex) -> np.ndarray:
    """Component label of every node: its own position, or for members of a strongly
    connected component of several nodes, the smallest position in it.

    Scalable: nodes that cannot be on a cycle are peeled off vectorially (repeatedly
    removing nodes without parents, then nodes without children, in what is left); only the
    remaining core — cycles and the nodes between them, a few hundred in real data — goes
    to networkx.
    """
    n = index.n
    alive = np.ones(n, dtype=bool)
    src, dst = index.src, index.dst
    # 1. Kahn from the sources: drop nodes whose parents are all dropped
    indeg = index.in_degree.copy()
    frontier = np.flatnonzero(indeg == 0)
    while frontier.size:
        alive[frontier] = False
        _, kids = _gather(index.indptr, index.children, frontier)
        if kids.size == 0:
            break
        _decrement(indeg, kids)
        kids = _dedupe(kids, n)
        frontier = kids[(indeg[kids] == 0) & alive[kids]]
    if alive.any():
        # 2. Kahn from the sinks, inside what is left
        e_alive = alive[src] & alive[dst]
        outdeg = np.bincount(src[e_alive], minlength=n)
        in_ptr, parents = index._in_csr
        frontier = np.flatnonzero(alive & (outdeg == 0))
        while frontier.size:
            alive[frontier] = False
            _, par = _gather(in_ptr, parents, frontier)
            par = par[alive[par]]
            if par.size == 0:
                break
            _decrement(outdeg, par)
            par = _dedupe(par, n)
            frontier = par[outdeg[par] == 0]
    labels = np.arange(n, dtype=np.int64)
    core = np.flatnonzero(alive)
    if core.size == 0:
        return labels
    e_alive = alive[src] & alive[dst]
    G = nx.DiGraph()
    G.add_nodes_from(core.tolist())
    G.add_edges_from(zip(src[e_alive].tolist(), dst[e_alive].tolist(), strict=True))
    for comp in nx.strongly_connected_components(G):
        if len(comp) > 1:
            members = np.fromiter(comp, dtype=np.int64)
            labels[members] = members.min()
    return labels


def chain_heights(index: GraphIndex) -> np.ndarray:
    """``longest_chain`` of every node: the longest path starting at it, self-loops removed,
    on the condensation (strongly connected components collapsed) — all nodes at once.

    Everything reachable from a node is in its family, so the longest chain from ``R`` in
    the (condensed) family graph is the height of ``R``'s component in the condensation of
    the whole graph. Computed by peeling sinks level by level (reverse topological order);
    the few nodes that can reach a cycle are then condensed with networkx.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["r", "a", "b", "c"]})
    >>> e = pl.DataFrame({"parent": ["r", "a", "b", "b"], "child": ["a", "b", "a", "c"]})
    >>> g = GraphIndex.from_frames(m, e)   # r -> {a <-> b} -> c
    >>> dict(sorted(zip(g.ids.to_list(), chain_heights(g).tolist())))
    {'a': 1, 'b': 1, 'c': 0, 'r': 2}
    """
    n = index.n
    height = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    outdeg = index.out_degree.copy()
    in_ptr, parents = index._in_csr
    # 1. peel sinks level by level: exact for every node that cannot reach a cycle
    frontier = np.flatnonzero(outdeg == 0)
    level = 0
    while frontier.size:
        height[frontier] = level
        done[frontier] = True
        _, par = _gather(in_ptr, parents, frontier)
        if par.size == 0:
            break
        _decrement(outdeg, par)
        par = _dedupe(par, n)
        frontier = par[outdeg[par] == 0]
        level += 1
    rest = np.flatnonzero(~done)
    if rest.size == 0:
        return height
    # 2. the nodes left reach a cycle (cycle members and their ancestors: few): condense
    #    them with networkx and finish the longest paths in reverse topological order
    sub_src, sub_dst = _gather(index.indptr, index.children, rest)
    sub_src = rest[sub_src]
    inner = ~done[sub_dst]
    G = nx.DiGraph()
    G.add_nodes_from(rest.tolist())
    G.add_edges_from(zip(sub_src[inner].tolist(), sub_dst[inner].tolist(), strict=True))
    C = nx.condensation(G)
    comp_height: dict[int, int] = {}
    for comp in reversed(list(nx.topological_sort(C))):
        members = np.fromiter(C.nodes[comp]["members"], dtype=np.int64)
        h = 0
        for nxt in C.successors(comp):
            h = max(h, comp_height[nxt] + 1)
        _, kids = _gather(index.indptr, index.children, members)
        kids = kids[done[kids]]
        if kids.size:
            h = max(h, int(height[kids].max()) + 1)
        comp_height[comp] = h
        height[members] = h
    return height


def _decrement(counts: np.ndarray, idx: np.ndarray) -> None:
    """``counts[i] -= 1`` for each occurrence of ``i`` in ``idx``."""
    if idx.size > counts.size // 16:
        counts -= np.bincount(idx, minlength=counts.size)
    else:
        np.subtract.at(counts, idx, 1)


# --------------------------------------------------------------------------- quality


def self_loops(edges: pl.DataFrame) -> list[str]:
    """Models that name themselves as a parent (sorted).

    >>> self_loops(pl.DataFrame({"parent": ["a", "b"], "child": ["a", "c"]}))
    ['a']
    """
    loops = edges.filter(pl.col("parent") == pl.col("child")).get_column("parent")
    return sorted(loops.unique().to_list())


def cycles(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> list[list[str]]:
    """Strongly connected components of more than one node, each sorted; largest first.

    >>> m = pl.DataFrame({"id": ["a", "b", "c"]})
    >>> cycles(m, pl.DataFrame({"parent": ["a", "b", "b"], "child": ["b", "a", "c"]}))
    [['a', 'b']]
    """
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    labels = _scc_labels(index)
    nodes = np.flatnonzero(labels != np.arange(index.n))
    if nodes.size == 0:
        return []
    members = np.unique(np.concatenate([nodes, labels[nodes]]))
    frame = pl.DataFrame(
        {"label": labels[members], "id": index.id_of(members)}
    ).group_by("label").agg(pl.col("id").sort())
    comps = frame.get_column("id").to_list()
    return sorted(comps, key=lambda c: (-len(c), c[0]))


def missing_parents(models: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Parents referenced by edges that are ``missing`` (or have no model row at all).

    Returns a frame ``id``, ``n_children`` sorted by ``n_children`` descending, then id.

    >>> m = pl.DataFrame({"id": ["gone", "c"], "status": ["missing", "ok"]})
    >>> missing_parents(m, pl.DataFrame({"parent": ["gone"], "child": ["c"]})).rows()
    [('gone', 1)]
    """
    known = models.filter(pl.col("status").fill_null("ok") != "missing").get_column("id")
    return (
        edges.filter(~_isin("parent", known))
        .group_by("parent")
        .agg(pl.col("child").n_unique().alias("n_children"))
        .rename({"parent": "id"})
        .with_columns(pl.col("n_children").cast(pl.Int64))
        .sort(["n_children", "id"], descending=[True, False])
    )


def relation_conflicts(models: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Nodes whose declared relation conflicts with their number of parents.

    ``merge`` with a single parent, or ``finetune`` / ``quantized`` / ``adapter`` with
    several. Self-loops are not counted as parents (:func:`self_loops` reports them).
    Returns ``id``, ``relation``, ``n_parents`` sorted by id.

    >>> m = pl.DataFrame({"id": ["a", "b", "c"], "relation": [None, "merge", "finetune"]})
    >>> e = pl.DataFrame({"parent": ["a", "a", "b"], "child": ["b", "c", "c"]})
    >>> relation_conflicts(m, e).rows()
    [('b', 'merge', 1), ('c', 'finetune', 2)]
    """
    n_par = (
        edges.filter(pl.col("parent") != pl.col("child"))
        .group_by("child")
        .agg(pl.col("parent").n_unique().alias("n_parents"))
    )
    return (
        models.select("id", "relation")
        .join(n_par.rename({"child": "id"}), on="id", how="inner")
        .with_columns(pl.col("n_parents").cast(pl.Int64))
        .filter(
            ((pl.col("relation") == "merge") & (pl.col("n_parents") == 1))
            | (pl.col("relation").is_in(_SINGLE_PARENT_RELATIONS) & (pl.col("n_parents") > 1))
        )
        .sort("id")
    )


QUALITY_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.Utf8(),
    "model_id": pl.Utf8(),
    "detail": pl.Utf8(),
}


def quality(
    models: pl.DataFrame, edges: pl.DataFrame, *, index: GraphIndex | None = None
) -> pl.DataFrame:
    """Every data-quality problem of the graph, one row each: ``kind``, ``model_id``,
    ``detail``.

    Kinds: ``missing_parent`` (detail: number of children), ``self_loop``, ``cycle`` (one row
    per member; detail: the component's size and number), ``relation_conflict`` (detail:
    e.g. ``merge with 1 parent``). Sorted by kind, then model id.

    Examples
    --------
    >>> m = pl.DataFrame({"id": ["a", "b", "gone"], "relation": [None, "merge", None],
    ...                   "status": ["ok", "ok", "missing"]})
    >>> e = pl.DataFrame({"parent": ["gone", "a"], "child": ["b", "a"]})
    >>> for row in quality(m, e).iter_rows():
    ...     print(row)
    ('missing_parent', 'gone', '1 child')
    ('relation_conflict', 'b', 'merge with 1 parent')
    ('self_loop', 'a', 'a is its own parent')
    """
    index = index if index is not None else GraphIndex.from_frames(models, edges)
    rows: list[tuple[str, str, str]] = []
    # missing parents: nodes without a (non-missing) model row that have children
    n_children = index.out_degree + index.self_loop
    gone = np.flatnonzero(index.missing & (n_children > 0))
    for mid, k in zip(index.id_of(gone).to_list(), n_children[gone].tolist(), strict=True):
        rows.append(("missing_parent", mid, f"{k} child" + ("ren" if k != 1 else "")))
    for mid in index.id_of(np.flatnonzero(index.self_loop)).to_list():
        rows.append(("self_loop", mid, f"{mid} is its own parent"))
    for i, comp in enumerate(cycles(models, edges, index=index), 1):
        for mid in comp:
            rows.append(("cycle", mid, f"cycle {i} of {len(comp)} models"))
    # relation conflicts: the declared relation against the number of parents
    if "relation" in models.columns:
        kids = np.flatnonzero((index.in_degree > 0) & (index.model_row >= 0))
        rel = models.get_column("relation")[index.model_row[kids]].to_numpy()
        k = index.in_degree[kids]
        bad = ((rel == "merge") & (k == 1)) | (
            np.isin(rel, _SINGLE_PARENT_RELATIONS) & (k > 1)
        )
        for mid, r, n in zip(
            index.id_of(kids[bad]).to_list(), rel[bad].tolist(), k[bad].tolist(), strict=True
        ):
            rows.append(("relation_conflict", mid, f"{r} with {n} parent" + "s" * (n != 1)))
    return pl.DataFrame(rows, schema=QUALITY_SCHEMA, orient="row").sort(["kind", "model_id"])


def bridges(models: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Bridge nodes: descendants of more than one foundation (cross-family merges).

    Returns ``id``, ``n_foundations`` sorted by ``n_foundations`` descending, then id.

    >>> m = pl.DataFrame({"id": ["f1", "f2", "x", "y"]})
    >>> e = pl.DataFrame({"parent": ["f1", "f2", "x"], "child": ["x", "x", "y"]})
    >>> bridges(m, e).rows()
    [('x', 2), ('y', 2)]
    """
    index = GraphIndex.from_frames(models, edges)
    n_found = foundation_counts(index, index.foundation_mask(models))
    nodes = np.flatnonzero(n_found > 1)
    return pl.DataFrame(
        {"id": index.id_of(nodes), "n_foundations": n_found[nodes].astype(np.int64)},
        schema={"id": pl.Utf8, "n_foundations": pl.Int64},
    ).sort(["n_foundations", "id"], descending=[True, False])


def foundation_counts(
    index: GraphIndex, fmask: np.ndarray, among: np.ndarray | None = None
) -> np.ndarray:
    """Number of foundations each node descends from.

    With ``among`` (a node mask), only the foundations that are ancestors of those nodes
    are expanded — enough to count them exactly for the nodes of ``among``.
    """
    found = np.flatnonzero(fmask)
    if among is not None:
        found = found[index.ancestors_mask(np.flatnonzero(among))[found]]
    _, node, _ = expand_families(index, found)
    return np.bincount(node, minlength=index.n)
