"""Small numpy helpers shared by the integer engine (index, traversal, chains); private.

They work on node positions (``int`` arrays) and CSR adjacency ``(indptr, adj)``: the
neighbours of node ``i`` are ``adj[indptr[i]:indptr[i + 1]]``.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort-based: numpy's hash-based unique is slower here; big
    arrays are sorted by polars, multi-threaded).

    >>> _unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    if values.size == 0:
        return values
    s = pl.Series(values).sort().to_numpy() if values.size > 50_000 else np.sort(values)
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _dedupe(values: np.ndarray, n: int) -> np.ndarray:
    """Sorted unique node positions: a mask for big arrays, a sort for small ones.

    >>> _dedupe(np.array([4, 0, 4]), 8).tolist()
    [0, 4]
    """
    if values.size > n // 16:
        mask = np.zeros(n, dtype=bool)
        mask[values] = True
        return np.flatnonzero(mask)
    return _unique(values)


def _gather(indptr: np.ndarray, adj: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Neighbours of ``nodes`` in CSR ``(indptr, adj)``: returns (repeat index, neighbour).

    ``repeat index`` is the position in ``nodes`` each neighbour was reached from.

    >>> indptr, adj = np.array([0, 2, 2, 3]), np.array([1, 2, 0])  # 0 -> 1, 2; 2 -> 0
    >>> [a.tolist() for a in _gather(indptr, adj, np.array([2, 0]))]
    [[0, 1, 1], [0, 1, 2]]
    """
    starts = indptr[nodes]
    counts = indptr[nodes + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, adj.dtype)
    rep = np.repeat(np.arange(len(nodes)), counts)
    offs = np.cumsum(counts) - counts
    pos = np.arange(total) - np.repeat(offs, counts) + np.repeat(starts, counts)
    return rep, adj[pos]


def _decrement(counts: np.ndarray, idx: np.ndarray) -> None:
    """``counts[i] -= 1`` for each occurrence of ``i`` in ``idx``.

    >>> c = np.array([2, 2, 2]); _decrement(c, np.array([0, 0, 2])); c.tolist()
    [0, 2, 1]
    """
    if idx.size > counts.size // 16:
        counts -= np.bincount(idx, minlength=counts.size)
    else:
        np.subtract.at(counts, idx, 1)
