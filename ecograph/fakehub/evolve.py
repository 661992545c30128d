"""The Hub moves on: seeded, deterministic changes to a fake Hub's snapshot index.

:func:`evolve` applies ``n`` changes of four kinds, as they happen on the real Hub:

- ``new``: a derivative of a live model is uploaded (a fine-tune, quantization or
  adapter; ``createdAt`` = ``lastModified`` = the evolution clock);
- ``edit``: a model card is edited (its parent or its licence changes) and
  ``lastModified`` moves to the clock;
- ``delete``: a model is deleted (404 afterwards; its children keep their tags);
- ``downloads``: the 30-day download count changes, ``lastModified`` does **not** (on the
  Hub, downloads are not an edit of the repo).

The clock starts one second after the newest ``lastModified`` of the index and ticks one
second per change, so listing newest first by ``lastModified`` meets the changes first.

>>> from ecograph.fakehub.index import SnapshotIndex
>>> idx = SnapshotIndex.from_objects([
...     {"id": "org/base", "lastModified": "2025-01-01T00:00:00.000Z", "tags": []},
...     {"id": "u/ft", "lastModified": "2025-01-02T00:00:00.000Z",
...      "tags": ["base_model:org/base", "base_model:finetune:org/base"]},
... ])
>>> changes = evolve(idx, 2, seed=1, kinds={"new": 1})
>>> len(changes.added), len(idx) - len(idx.deleted)
(2, 4)
>>> changes.added == evolve(SnapshotIndex.from_objects(
...     [idx.model(0), idx.model(1)]), 2, seed=1, kinds={"new": 1}).added
True
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .index import SnapshotIndex, tag_parents

__all__ = ["Changes", "KINDS", "evolve"]

#: Kinds of change and their default weights.
KINDS: dict[str, float] = {"new": 0.4, "edit": 0.3, "delete": 0.1, "downloads": 0.2}
_LICENCES = ("apache-2.0", "mit", "llama3.1", "cc-by-nc-4.0", "other", "gemma")
_NEW_RELATIONS = ("finetune", "quantized", "adapter")


@dataclass
class Changes:
    """What one :func:`evolve` call changed (model ids, in the order applied)."""

    added: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.edited) + len(self.deleted) + len(self.downloads)

    def merge(self, other: Changes) -> None:
        self.added += other.added
        self.edited += other.edited
        self.deleted += other.deleted
        self.downloads += other.downloads


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _clock(index: SnapshotIndex) -> float:
    newest = max((v for v in index.columns["modified"] if v != float("-inf")), default=None)
    if newest is None:
        newest = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    return float(int(newest)) + 1.0


def _pick(index: SnapshotIndex, rng: random.Random, touched: set[int]) -> int | None:
    live = len(index.ids) - len(index.deleted)
    if live <= len(touched):
        return None
    for _ in range(1000):
        i = rng.randrange(len(index.ids))
        if i not in index.deleted and i not in touched:
            return i
    return None


def _with_parents(obj: dict[str, Any], parents: list[str], relation: str) -> None:
    """Set the card's parents and the tags the Hub derives from them."""
    tags = [t for t in obj.get("tags") or [] if isinstance(t, str)
            and not t.startswith("base_model:")]
    for p in parents:
        tags += [f"base_model:{p}", f"base_model:{relation}:{p}"]
    obj["tags"] = tags
    old = obj.get("cardData")
    card: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
    card["base_model"] = parents[0] if len(parents) == 1 else list(parents)
    card["base_model_relation"] = relation
    obj["cardData"] = card


def _with_licence(obj: dict[str, Any], licence: str) -> None:
    tags = [t for t in obj.get("tags") or [] if isinstance(t, str)
            and not t.startswith("license:")]
    obj["tags"] = [*tags, f"license:{licence}"]
    card = dict(obj["cardData"]) if isinstance(obj.get("cardData"), dict) else {}
    card["license"] = licence
    card.pop("license_name", None)
    obj["cardData"] = card


def evolve(index: SnapshotIndex, n: int, *, seed: int,
           kinds: Mapping[str, float] | None = None) -> Changes:
    """Apply ``n`` seeded changes to ``index`` (see the module docstring); the same index,
    ``n``, ``seed`` and ``kinds`` always make the same changes. ``kinds`` weighs the kinds
    of :data:`KINDS` (default: those weights). Each model changes at most once per call.
    Call it while no request is being served (:meth:`FakeHub.evolve` takes care of that).
    """
    weights = dict(KINDS if kinds is None else kinds)
    bad = sorted(set(weights) - set(KINDS))
    if bad or not any(w > 0 for w in weights.values()):
        raise ValueError(f"kinds must weigh some of {', '.join(KINDS)}; got {dict(weights)}")
    names = [k for k in KINDS if weights.get(k, 0) > 0]
    rng = random.Random(seed)
    clock = _clock(index)
    changes = Changes()
    touched: set[int] = set()
    for step in range(n):
        kind = rng.choices(names, weights=[weights[k] for k in names])[0]
        pos = _pick(index, rng, touched)
        if pos is None:
            break
        now = _iso(clock + step)
        obj = index.model(pos)
        mid = index.ids[pos]
        if kind == "new":
            relation = rng.choice(_NEW_RELATIONS)
            name = mid.split("/", 1)[-1][:60]
            new_id = f"evolved-{seed % 10_000}/{name}-{relation[:5]}-{step}"
            if index.lookup(new_id) is not None:
                continue
            new: dict[str, Any] = {
                "id": new_id, "author": new_id.split("/", 1)[0], "createdAt": now,
                "lastModified": now, "downloads": rng.randrange(0, 500),
                "downloadsAllTime": 0, "likes": 0, "trendingScore": 0,
                "library_name": obj.get("library_name"),
                "pipeline_tag": obj.get("pipeline_tag"), "private": False, "gated": False,
                "tags": [t for t in obj.get("tags") or [] if isinstance(t, str)
                         and not t.startswith("base_model:")],
                "cardData": {},
            }
            if not new["tags"] or not any(t.startswith("license:") for t in new["tags"]):
                _with_licence(new, rng.choice(_LICENCES))
            else:
                new["cardData"] = {"license": next(t[8:] for t in new["tags"]
                                                   if t.startswith("license:"))}
            _with_parents(new, [mid], relation)
            touched.add(index.add(new))
            changes.added.append(new_id)
        elif kind == "edit":
            parents, declared = tag_parents(obj.get("tags"))
            if parents and rng.random() < 0.5:
                other = _pick(index, rng, touched | {pos})
                if other is None:
                    continue
                _with_parents(obj, [index.ids[other]], declared or "finetune")
            else:
                current: str | None = next((t[8:] for t in obj.get("tags") or []
                                if isinstance(t, str) and t.startswith("license:")), None)
                _with_licence(obj, rng.choice([x for x in _LICENCES if x != current]))
            obj["lastModified"] = now
            index.replace(pos, obj)
            touched.add(pos)
            changes.edited.append(mid)
        elif kind == "delete":
            index.delete(pos)
            touched.add(pos)
            changes.deleted.append(mid)
        else:
            old = obj.get("downloads")
            base = old if isinstance(old, int) and not isinstance(old, bool) else 0
            obj["downloads"] = base + rng.randrange(1, 1000)
            index.replace(pos, obj)
            touched.add(pos)
            changes.downloads.append(mid)
    return changes

