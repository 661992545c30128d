"""User input -> model ids: normalisation, case-insensitive matching, suggestions (pure).

:func:`resolve_root` turns what a user typed (an id in any case, a Hub URL, ``org/name@rev``)
into a model id of a ``models`` frame; :func:`suggest` proposes close ids when there is
none, fast enough for the ~2M ids of a whole-Hub store.
"""

from __future__ import annotations

import difflib

import polars as pl

from .errors import UnknownModelError
from .records import try_normalize_id

__all__ = ["resolve_root", "suggest"]



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
    raise UnknownModelError(raw, suggest(ids, norm or raw))


def suggest(ids: pl.Series, query: str, n: int = 3) -> list[str]:
    """Close matches of ``query`` among ``ids`` (case-insensitive, fuzzy), best first.

    Fast on millions of ids: a vectorised prefilter keeps ids that share the organisation,
    contain the name, or start like it, and :mod:`difflib` ranks the few thousand left.
    Only the matches about as close as the best one are returned, at most ``n``: a clear
    winner is suggested alone.

    Examples
    --------
    >>> ids = pl.Series(["google/gemma-2-9b", "google/gemma-2-2b", "Qwen/Qwen2.5-7B"])
    >>> suggest(ids, "google/gemma-2-9")
    ['google/gemma-2-9b']
    >>> suggest(ids, "qwen/qwen-2.5-7b")
    ['Qwen/Qwen2.5-7B']
    >>> suggest(ids, "nothing/alike")
    []
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
    best one (a clear winner is suggested alone).

    >>> _close("gemma-2-9", ["gemma-2-9b", "gemma-2-2b", "llama"], 3)
    ['gemma-2-9b']
    """
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
