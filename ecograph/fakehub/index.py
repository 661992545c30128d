"""The fake Hub's in-memory snapshot index: lookups, listings and the derived fields.

Everything here is plain Python over lists and dicts (no sockets), so it can be tested
and reused without a server. The index is built to hold a whole synthetic Hub (millions
of models): each model is kept as its JSON line (parsed again only when served), plus a
handful of compact columns for filtering and sorting:

- ``ids`` (canonical ids, snapshot order) and ``by_lower`` (lower-cased id -> position),
  so lookups are case-insensitive and answer with the canonical id, like the Hub;
- the children of every parent, keyed by the parent **as the child's tag spells it**, all
  relations together and per relation: that is what ``filter=base_model:X`` /
  ``filter=base_model:quantized:X`` list. Tag filters match exactly (case-sensitive):
  whether the Hub's are is unknown, real tags do spell parents in another case than the
  repo id (DESIGN §1), and the fake takes the strict side so that a crawler that relies
  on a lenient match fails here first;
- per relation, the number of children of every parent whatever the case of the tag
  (keyed by the lower-cased id): ``childrenModelCount``, which, like ``baseModels``, the
  Hub derives from the canonical repo and not from the tag's spelling. A parent whose
  children spell it in another case thus has more children counted than listed, as a
  crawler comparing the two on the Hub may find;
- numeric sort columns (downloads, likes, trending score, creation and modification time).

Other tags are indexed lazily (exactly as spelled), the first time a listing filters on one.

``baseModels`` and ``childrenModelCount`` are derived from the ``base_model:`` tags, as
DESIGN §7 specifies: the snapshot never carries them.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SnapshotError
from ..records import RELATIONS

__all__ = [
    "SnapshotIndex",
    "ListQuery",
    "QueryError",
    "LIST_DEFAULT_FIELDS",
    "DETAIL_DEFAULT_FIELDS",
    "LIST_EXPAND",
    "DETAIL_EXPAND",
    "SORT_KEYS",
    "MAX_PAGE_SIZE",
]

#: The Hub caps a listing page at 1000 models; it is also our page size when ``limit``
#: is absent.
MAX_PAGE_SIZE = 1000

#: Fields of ``GET /api/models`` without ``expand`` / ``full`` (what the Hub returns).
LIST_DEFAULT_FIELDS: tuple[str, ...] = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)

#: Added to the list fields by ``full=true``.
LIST_FULL_EXTRA: tuple[str, ...] = (
    "author",
    "gated",
    "lastModified",
    "disabled",
    "sha",
    "siblings",
)

#: Fields of ``GET /api/models/{id}`` without ``expand``. Like the Hub, the detail route
#: leaves out ``downloadsAllTime``, ``trendingScore``, ``baseModels`` and
#: ``childrenModelCount`` unless they are expanded. Fields the snapshot lacks are omitted.
DETAIL_DEFAULT_FIELDS: tuple[str, ...] = (
    "_id",
    "id",
    "modelId",
    "author",
    "sha",
    "lastModified",
    "private",
    "disabled",
    "gated",
    "pipeline_tag",
    "tags",
    "downloads",
    "library_name",
    "likes",
    "widgetData",
    "model-index",
    "config",
    "cardData",
    "transformersInfo",
    "siblings",
    "spaces",
    "createdAt",
    "safetensors",
    "inference",
    "usedStorage",
)

#: ``expand[]`` values the list route accepts (the Hub's own list, from its 400 message).
#: Not ``baseModels``, ``childrenModelCount`` nor ``usedStorage``: the Hub's listing routes
#: refuse them with 400 (huggingface_hub PR #3182, citing the Hub's ``apiListingRoutes``).
LIST_EXPAND: frozenset[str] = frozenset(
    {
        "author",
        "cardData",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "widgetData",
        "xetEnabled",
    }
)

#: The detail route also accepts these three (the Hub refuses them when listing).
DETAIL_EXPAND: frozenset[str] = LIST_EXPAND | {"baseModels", "childrenModelCount", "usedStorage"}

#: Defaults for fields a snapshot line may leave out (the Hub always sends these).
_DEFAULTS: dict[str, Any] = {
    "private": False,
    "disabled": False,
    "gated": False,
    "likes": 0,
    "downloads": 0,
    "trendingScore": 0,
    "tags": [],
    "siblings": [],
}

#: ``sort`` values -> column name; snake_case aliases are accepted too.
SORT_KEYS: dict[str, str] = {
    "createdAt": "created",
    "created_at": "created",
    "lastModified": "modified",
    "last_modified": "modified",
    "downloads": "downloads",
    "likes": "likes",
    "trendingScore": "trending",
    "trending_score": "trending",
    "id": "id",
}

_BASE = "base_model:"
_CACHE_SIZE = 64


class _BadLine(ValueError):
    """A snapshot object that cannot be indexed (the loader adds where it is)."""


class QueryError(ValueError):
    """A request the Hub would refuse with ``400 Bad Request``; the message is the body."""


def _object_id(position: int) -> str:
    """A stable 24-hex-digit Mongo-style ``_id`` for snapshot lines that have none."""
    return f"{(0x650F1A2B << 64) | position:024x}"


def _epoch(value: Any) -> float:
    """ISO timestamp -> epoch seconds for sorting (``-inf`` when absent or unparsable)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    return float("-inf")


def _number(value: Any) -> float:
    t = type(value)
    return value if t is int or t is float else 0.0


def tag_parents(tags: Any) -> tuple[list[str], str | None]:
    """Direct parents (as written in the tags, first-seen order) and the relation.

    A child's relation comes from its ``base_model:<relation>:`` tags; when it has none,
    the Hub's own default applies: ``merge`` for several parents, else ``finetune``.

    >>> tag_parents(["base_model:Org/A", "base_model:quantized:Org/A", "gguf"])
    (['Org/A'], 'quantized')
    >>> tag_parents(["base_model:a/x", "base_model:b/y"])
    (['a/x', 'b/y'], 'merge')
    >>> tag_parents(["license:mit"])
    ([], None)
    """
    parents: list[str] = []
    seen: set[str] = set()
    relation: str | None = None
    if not isinstance(tags, list):
        return parents, relation
    for tag in tags:
        if not isinstance(tag, str) or not tag.startswith(_BASE):
            continue
        rest = tag[len(_BASE) :]
        head, sep, tail = rest.partition(":")
        if sep and head in RELATIONS:
            relation = relation or head
            rest = tail
        rest = rest.strip()
        if rest and rest.lower() not in seen:
            seen.add(rest.lower())
            parents.append(rest)
    if parents and relation is None:
        relation = "merge" if len(parents) > 1 else "finetune"
    return parents, relation


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a listing selects and in which order (pagination and fields aside).

    ``filters`` are ANDed and match tags exactly (case-sensitive, see the module
    docstring); ``author`` matches the id's namespace and ``search`` a substring of the id,
    both case-insensitively. The Hub sorts descending; ``descending=False``
    (``direction=1``) is an extension.
    """

    filters: tuple[str, ...] = ()
    author: str | None = None
    search: str | None = None
    sort: str | None = None
    descending: bool = True

    @property
    def key(self) -> str:
        """A short stable digest, used as the result-cache key and inside cursors."""
        raw = json.dumps(
            [
                sorted(f.strip() for f in self.filters),
                self.author,
                self.search,
                self.sort,
                self.descending,
            ]
        )
        return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


class SnapshotIndex:
    """A snapshot held in memory and indexed for the fake Hub's routes.

    Build it with :meth:`from_path` (JSONL or ``.jsonl.gz``) or :meth:`from_objects`
    (any iterable of model dicts). Read-only once built, apart from lazily built caches
    (guarded by a lock), so one index may serve many threads and many servers.

    >>> idx = SnapshotIndex.from_objects([
    ...     {"id": "Org/Base", "tags": []},
    ...     {"id": "u/ft", "tags": ["base_model:Org/Base", "base_model:finetune:Org/Base"]},
    ...     {"id": "u/q", "tags": ["base_model:org/base", "base_model:quantized:org/base"]},
    ... ])
    >>> idx.lookup("org/base"), idx.ids[0]
    (0, 'Org/Base')
    >>> idx.children_count(0)
    {'adapter': 0, 'merge': 0, 'quantized': 1, 'finetune': 1}
    >>> idx.select(ListQuery(filters=("base_model:Org/Base",)))
    [1]
    >>> idx.base_models(idx.model(1))
    {'relation': 'finetune', 'models': [{'_id': '650f1a2b0000000000000000', 'id': 'Org/Base'}]}
    """

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lines: list[str] = []
        self.by_lower: dict[str, int] = {}
        self.children: dict[str, list[int]] = {}
        self.children_by_relation: dict[str, dict[str, list[int]]] = {r: {} for r in RELATIONS}
        self.child_counts: dict[str, dict[str, int]] = {r: {} for r in RELATIONS}
        self.columns: dict[str, array[Any]] = {
            "downloads": array("d"),
            "likes": array("d"),
            "trending": array("d"),
            "created": array("d"),
            "modified": array("d"),
        }
        self._append = [
            self.columns[c].append
            for c in ("downloads", "likes", "trending", "created", "modified")
        ]
        self.duplicates = 0
        self.with_parents = 0
        #: positions of deleted models (their lines stay; lookups and listings skip them)
        self.deleted: set[int] = set()
        self._tag_index: dict[str, list[int]] | None = None
        self._cache: OrderedDict[str, Sequence[int]] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ building

    @classmethod
    def from_path(cls, path: str | Path) -> SnapshotIndex:
        """Load a JSONL snapshot (optionally gzipped), keeping each line as it is.

        Raises :class:`~ecograph.errors.SnapshotError` for a missing file or a line that
        is not a JSON object with a string ``id``.
        """
        from ..snapshot import open_text

        index = cls()
        with open_text(path) as fh:
            try:
                for lineno, line in enumerate(fh, 1):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise SnapshotError(
                            f"{path}:{lineno}: not valid JSON ({exc.msg})"
                        ) from None
                    try:
                        index._add(obj, line)
                    except _BadLine as exc:
                        raise SnapshotError(f"{path}:{lineno}: {exc}") from None
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                raise SnapshotError(f"{path}: cannot read snapshot ({exc})") from None
        return index

    @classmethod
    def from_objects(cls, objects: Iterable[Mapping[str, Any]]) -> SnapshotIndex:
        """Index model dicts (each serialised once, compactly)."""
        index = cls()
        for n, obj in enumerate(objects, 1):
            try:
                index._add(obj, json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
            except _BadLine as exc:
                raise SnapshotError(f"model object #{n}: {exc}") from None
        return index

    def _add(self, obj: Any, line: str) -> None:
        """Index one model (the hot loop of a load: keep it lean)."""
        if not isinstance(obj, dict):
            if not isinstance(obj, Mapping):
                raise _BadLine("expected a JSON object per line")
            obj = dict(obj)
        mid = obj.get("id")
        if mid is None:
            mid = obj.get("modelId")
        if not isinstance(mid, str) or not mid.strip():
            raise _BadLine("model object without a string 'id'")
        low = mid.lower()
        if low == mid:
            low = mid  # share the string object
        by_lower = self.by_lower
        if low in by_lower:
            self.duplicates += 1
            return
        i = len(self.ids)
        self.ids.append(mid)
        self.lines.append(line)
        by_lower[low] = i
        if _BASE in line:
            parents, relation = tag_parents(obj.get("tags"))
            if parents:
                self.with_parents += 1
                per_rel = self.children_by_relation[relation or "finetune"]
                counts = self.child_counts[relation or "finetune"]
                children = self.children
                for p in parents:
                    children.setdefault(p, []).append(i)
                    per_rel.setdefault(p, []).append(i)
                    key = p.lower()
                    counts[key] = counts.get(key, 0) + 1
        cols = self._append
        get = obj.get
        cols[0](_number(get("downloads")))
        cols[1](_number(get("likes")))
        cols[2](_number(get("trendingScore")))
        cols[3](_epoch(get("createdAt")))
        cols[4](_epoch(get("lastModified")))

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return len(self.ids)

    def lookup(self, model_id: str) -> int | None:
        """Position of a model, matching its id case-insensitively (``None`` if absent)."""
        return self.by_lower.get(model_id.lower())

    def model(self, position: int) -> dict[str, Any]:
        """The model's snapshot object (a fresh dict, parsed from its stored line)."""
        obj: dict[str, Any] = json.loads(self.lines[position])
        return obj

    def object_id(self, position: int, obj: Mapping[str, Any] | None = None) -> str:
        """The model's ``_id``: the snapshot's own when present, else a stable synthetic one."""
        oid = (obj if obj is not None else self.model(position)).get("_id")
        return oid if isinstance(oid, str) else _object_id(position)

    def base_models(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        """``baseModels`` derived from the object's tags (``None`` when it has no parents).

        Known parents are given with their ``_id`` and canonical id. A parent the snapshot
        does not contain (a deleted model) is kept, with its id as tagged and no ``_id``,
        so clients that prefer ``baseModels`` over tags still see the dangling edge.
        """
        parents, relation = tag_parents(obj.get("tags"))
        if not parents:
            return None
        models = []
        for p in parents:
            j = self.lookup(p)
            if j is None:
                models.append({"id": p})
            else:
                models.append({"_id": self.object_id(j), "id": self.ids[j]})
        return {"relation": relation, "models": models}

    def children_count(self, position: int) -> dict[str, int]:
        """Direct children by relation (the Hub's ``childrenModelCount``), whatever the case
        in which their tags spell this model."""
        low = self.ids[position].lower()
        return {
            r: self.child_counts[r].get(low, 0)
            for r in ("adapter", "merge", "quantized", "finetune")
        }

    # ------------------------------------------------------------------ rendering

    def render(
        self,
        position: int,
        fields: Iterable[str],
        obj: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON object the Hub would send for ``fields`` (absent fields left out)."""
        if obj is None:
            obj = self.model(position)
        mid = self.ids[position]
        out: dict[str, Any] = {}
        for name in fields:
            if name in out:
                continue
            if name == "_id":
                out[name] = self.object_id(position, obj)
            elif name in ("id", "modelId"):
                out[name] = mid
            elif name == "author":
                author = obj.get("author")
                if not isinstance(author, str) and "/" in mid:
                    author = mid.split("/", 1)[0]
                if isinstance(author, str):
                    out[name] = author
            elif name == "baseModels":
                bm = self.base_models(obj)
                if bm is not None:
                    out[name] = bm
            elif name == "childrenModelCount":
                out[name] = self.children_count(position)
            elif name in obj:
                out[name] = obj[name]
            elif name in _DEFAULTS:
                default = _DEFAULTS[name]
                out[name] = list(default) if isinstance(default, list) else default
        return out

    # ------------------------------------------------------------------ listing

    def select(self, query: ListQuery) -> Sequence[int]:
        """Positions of the models a listing returns, in order (cached per query)."""
        key = query.key
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        result = self._select(query)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _select(self, query: ListQuery) -> Sequence[int]:
        if query.sort is not None and query.sort not in SORT_KEYS:
            raise QueryError(
                f"Invalid sort {query.sort!r}: expected one of {', '.join(sorted(SORT_KEYS))}"
            )
        base: Sequence[int]
        if query.filters:
            lists = sorted((self._filter(f) for f in query.filters), key=len)
            others = [set(lst) for lst in lists[1:]]
            base = [i for i in lists[0] if all(i in s for s in others)] if others else lists[0]
        else:
            base = range(len(self.ids))
        if query.author:
            prefix = query.author.lower() + "/"
            base = [i for i in base if self.ids[i].lower().startswith(prefix)]
        if query.search:
            needle = query.search.lower()
            if isinstance(base, range):
                base = [i for low, i in self.by_lower.items() if needle in low]
            else:
                base = [i for i in base if needle in self.ids[i].lower()]
        if query.sort is not None:
            if isinstance(base, range) and not query.filters:
                return self._full_order(query.sort, query.descending)
            base = self._sorted(base, query.sort, query.descending)
        if self.deleted:
            deleted = self.deleted
            base = [i for i in base if i not in deleted]
        return base

    def sort_key(self, query: ListQuery, position: int) -> tuple[Any, ...] | None:
        """Where a model falls in a listing sorted by a numeric column (``None`` for an
        unsorted listing or one sorted by id): the listing is ascending in this key, so a
        cursor holding the last key served resumes right after it even when models were
        added, edited or deleted in between (a keyset cursor)."""
        if query.sort is None or SORT_KEYS.get(query.sort, "id") == "id":
            return None
        value = self.columns[SORT_KEYS[query.sort]][position]
        if query.descending:
            return (-value, position)
        return (value == float("-inf"), value, position)

    def resume_at(self, query: ListQuery, positions: Sequence[int], key: Sequence[Any]) -> int:
        """The index in ``positions`` (a sorted listing) of the first model after ``key``
        (a :meth:`sort_key`)."""
        target = tuple(key)
        return bisect.bisect_right(
            positions, target, key=lambda i: self.sort_key(query, i)  # type: ignore[arg-type,return-value]
        )
    def _full_order(self, sort: str, descending: bool) -> Sequence[int]:
        """The whole snapshot sorted by one key (cached: a scan pages through it)."""
        key = f"order:{SORT_KEYS[sort]}:{descending}"
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            column = SORT_KEYS[sort]
            if column == "id":
                order = array("I", self._sorted(range(len(self.ids)), sort, descending))
            else:
                values = np.frombuffer(self.columns[column], dtype=np.float64)
                # stable: ties keep snapshot order; missing timestamps (-inf) stay last
                keys = -values if descending else np.where(np.isneginf(values), np.inf,
                                                             values)
                order = array("I", np.argsort(keys, kind="stable").astype(np.uint32).tobytes())
            if self.deleted:
                order = array("I", (i for i in order if i not in self.deleted))
            hit = order
            with self._lock:
                self._cache[key] = hit
        return hit

    def _sorted(self, positions: Iterable[int], sort: str, descending: bool) -> list[int]:
        # Python's sort is stable, also with reverse=True: ties keep snapshot order.
        # Missing timestamps are -inf: last when descending, and kept last when ascending.
        column = SORT_KEYS[sort]
        if column == "id":
            return sorted(positions, key=self.ids.__getitem__, reverse=descending)
        values = self.columns[column]
        if descending:
            return sorted(positions, key=values.__getitem__, reverse=True)
        inf = float("-inf")
        return sorted(positions, key=lambda i: (values[i] == inf, values[i]))

    def _filter(self, value: str) -> Sequence[int]:
        """Positions matching one ``filter`` value exactly (ascending snapshot order)."""
        tag = value.strip()
        if tag.startswith(_BASE):
            rest = tag[len(_BASE) :]
            head, sep, tail = rest.partition(":")
            if sep and head in RELATIONS:
                return self.children_by_relation[head].get(tail.strip(), [])
            return self.children.get(rest.strip(), [])
        return self._tags().get(tag, [])

    def _tags(self) -> dict[str, list[int]]:
        """Tag -> positions, built on first use (parses every line once)."""
        with self._lock:
            if self._tag_index is None:
                index: dict[str, list[int]] = {}
                for i, line in enumerate(self.lines):
                    if i in self.deleted:
                        continue
                    tags = json.loads(line).get("tags")
                    if not isinstance(tags, list):
                        continue
                    for tag in {t for t in tags if isinstance(t, str)}:
                        if not tag.startswith(_BASE):
                            index.setdefault(tag, []).append(i)
                self._tag_index = index
            return self._tag_index

    # ------------------------------------------------------------------ changes
    # The Hub moves on: models are added, edited (card and ``lastModified``) and deleted.
    # These keep every derived structure in step; callers serialise them with listings.

    def _forget_parents(self, position: int) -> None:
        parents, relation = tag_parents(self.model(position).get("tags"))
        if not parents:
            return
        self.with_parents -= 1
        rel = relation or "finetune"
        for p in parents:
            for lst in (self.children.get(p), self.children_by_relation[rel].get(p)):
                if lst is not None and position in lst:
                    lst.remove(position)
            key = p.lower()
            self.child_counts[rel][key] = self.child_counts[rel].get(key, 1) - 1

    def _learn_parents(self, position: int, obj: Mapping[str, Any]) -> None:
        parents, relation = tag_parents(obj.get("tags"))
        if not parents:
            return
        self.with_parents += 1
        rel = relation or "finetune"
        for p in parents:
            bisect.insort(self.children.setdefault(p, []), position)
            bisect.insort(self.children_by_relation[rel].setdefault(p, []), position)
            key = p.lower()
            self.child_counts[rel][key] = self.child_counts[rel].get(key, 0) + 1

    def _changed(self) -> None:
        with self._lock:
            self._cache.clear()
            self._tag_index = None

    def add(self, obj: Mapping[str, Any]) -> int:
        """Add a model (a new upload); returns its position.

        Raises :class:`ValueError` when a live model already has that id."""
        mid = obj.get("id")
        if isinstance(mid, str) and self.lookup(mid) is not None:
            raise ValueError(f"model {mid!r} already exists")
        try:
            self._add(obj, json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
        except _BadLine as exc:
            raise ValueError(str(exc)) from None
        self._changed()
        return len(self.ids) - 1

    def replace(self, position: int, obj: Mapping[str, Any]) -> None:
        """Replace a live model's object (same id): its parents, columns and line."""
        if position in self.deleted or obj.get("id") != self.ids[position]:
            raise ValueError("replace() keeps a live model's id")
        self._forget_parents(position)
        self.lines[position] = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        self._learn_parents(position, obj)
        self.columns["downloads"][position] = _number(obj.get("downloads"))
        self.columns["likes"][position] = _number(obj.get("likes"))
        self.columns["trending"][position] = _number(obj.get("trendingScore"))
        self.columns["created"][position] = _epoch(obj.get("createdAt"))
        self.columns["modified"][position] = _epoch(obj.get("lastModified"))
        self._changed()

    def delete(self, position: int) -> None:
        """Delete a model: the detail route answers 404 and listings leave it out; its
        children keep their tags (as on the Hub), so it stays a parent in ``baseModels``."""
        if position in self.deleted:
            return
        self._forget_parents(position)
        self.deleted.add(position)
        del self.by_lower[self.ids[position].lower()]
        self._changed()

    def live(self) -> Iterable[int]:
        """Positions of the models not deleted, in snapshot order."""
        deleted = self.deleted
        return (i for i in range(len(self.ids)) if i not in deleted)

    def write_jsonl(self, path: str | Path) -> int:
        """Write the live models as a snapshot (gzipped when ``path`` ends in ``.gz``);
        returns how many. Importing it gives the Hub as it stands now."""
        p = Path(path)
        opener = gzip.open if p.suffix == ".gz" else open
        n = 0
        with opener(p, "wt", encoding="utf-8") as fh:
            for i in self.live():
                fh.write(self.lines[i])
                fh.write("\n")
                n += 1
        return n
