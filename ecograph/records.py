"""ecograph's own data model, and the parsers that turn Hub model objects into it.

This module is pure: no I/O, no ``huggingface_hub`` import. Everything that comes from the
Hub (or from a snapshot file) is a plain JSON mapping, and every field of it is optional.

A model declares its parents in its card (``base_model``: a string or a list) and optionally
its relation to them (``base_model_relation``). The Hub derives ``base_model:ORG/NAME`` and
``base_model:<relation>:ORG/NAME`` tags for the *direct* parents, and the detail route can
expand ``baseModels = {"relation": ..., "models": [{"id": ...}]}`` with canonical ids.
Precedence, most trusted first: ``baseModels`` > tags > card.

Card values are messy in real data (URLs, trailing ``/``, ``@revision``, comma-joined lists,
non-string values, self references); :func:`parse_base_model_value` normalises what can be
normalised and records a :class:`Problem` for the rest. Parsing never raises on Hub data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .errors import InvalidModelIdError
from .escape import plain_text
from .licenses import normalize_license

__all__ = [
    "Relation",
    "Status",
    "EdgeSource",
    "ModelRecord",
    "ForkEdge",
    "Problem",
    "ParsedModel",
    "ParsedParents",
    "REJECTED_PARENT_KINDS",
    "REJECTED_RECORD_KINDS",
    "ID_PATTERN",
    "is_model_id",
    "normalize_id",
    "try_normalize_id",
    "parse_base_model_value",
    "parse_base_model_tags",
    "split_base_model_tag",
    "rejected_tag_parents",
    "parse_datetime",
    "clean_text",
    "safetensors_total",
    "parse_model",
    "RELATIONS",
    "RELATION_KEYS",
]


class Relation(StrEnum):
    """A child's relation to its parent(s). One relation per child, for all its parents."""

    ADAPTER = "adapter"
    MERGE = "merge"
    QUANTIZED = "quantized"
    FINETUNE = "finetune"
    UNKNOWN = "unknown"  # declared parents but no relation anywhere (card-only data)


#: The four relations the Hub knows, in a stable display order.
RELATIONS: tuple[str, ...] = ("finetune", "quantized", "adapter", "merge")

#: The relations and ``unknown`` (declared parents, no relation): the keys of counts by
#: relation, of colours and legends, in display order.
RELATION_KEYS: tuple[str, ...] = (*RELATIONS, "unknown")


class Status(StrEnum):
    """What we know about a node."""

    OK = "ok"
    MISSING = "missing"  # referenced as a parent but not on the Hub (deleted, typo, ...)
    PRIVATE = "private"  # exists but we may not read it (401/403, gated/private)
    ERROR = "error"  # could not be fetched after retries


class EdgeSource(StrEnum):
    """Where an edge was read."""

    BASE_MODELS = "baseModels"
    TAG = "tag"
    CARD = "card"


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One model as ecograph stores it. Every Hub field is optional."""

    id: str
    author: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    downloads: int | None = None
    downloads_all_time: int | None = None
    likes: int | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    license: str | None = None
    gated: str | None = None  # None/"false" = open; "auto" / "manual" = gated
    tags: tuple[str, ...] = ()
    relation: Relation | None = None  # this model's relation to its parents; None = no parents
    parents: tuple[str, ...] = ()
    status: Status = Status.OK
    fetched_at: datetime | None = None
    #: the normalised ``license:`` tags alone (``license`` prefers the card, DESIGN §9);
    #: kept so that a card and tags that disagree can be reported
    license_tags: str | None = None
    #: parameter count the Hub reports from the safetensors weights (``safetensors.total``;
    #: DESIGN §8 ``params_b`` prefers it); None when the Hub does not know it
    safetensors_total: int | None = None


@dataclass(frozen=True, slots=True)
class ForkEdge:
    """A parent -> child link. ``relation`` is the child's relation (one per child)."""

    parent: str
    child: str
    relation: Relation
    source: EdgeSource


@dataclass(frozen=True, slots=True)
class Problem:
    """A data-quality problem found while parsing (never raised, always recorded).

    ``kind`` is one of: ``non_string_parent``, ``invalid_parent_id``, ``self_loop``,
    ``unknown_relation``, ``relation_conflict``, ``duplicate_parent``, ``url_parent``,
    ``revision_parent``, ``dataset_parent``, ``missing_id``, ``invalid_id``, ``cleaned_text``
    (free text that held control or invisible characters or lone surrogates, kept cleaned
    by :func:`clean_text`; ``detail`` names the field). The first two
    are the :data:`REJECTED_PARENT_KINDS`: a declared parent that could not be read as a
    model id (its edge is not stored, so callers count and report them). The last two are
    the :data:`REJECTED_RECORD_KINDS`: an object without a readable model id, which is not
    a model (its record's ``id`` is empty: never stored; callers count and report it).
    """

    model_id: str
    kind: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ParsedParents:
    """Normalised parent ids of one ``base_model`` value plus the problems met on the way."""

    ids: tuple[str, ...]
    problems: tuple[tuple[str, str], ...] = ()  # (kind, detail)


#: Problem kinds of a parent reference that is not a model id (no edge comes from it).
REJECTED_PARENT_KINDS: frozenset[str] = frozenset({"invalid_parent_id", "non_string_parent"})

#: Problem kinds of an object that is not a model: no id, or an id that breaks the id rules
#: (its record has an empty ``id`` and is never stored).
REJECTED_RECORD_KINDS: frozenset[str] = frozenset({"missing_id", "invalid_id"})


@dataclass(frozen=True, slots=True)
class ParsedModel:
    """A Hub model object turned into a record, its parent edges and its problems."""

    record: ModelRecord
    edges: tuple[ForkEdge, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def rejected_parents(self) -> tuple[str, ...]:
        """The declared parent references that are not model ids, as written.

        Each is a parent this record names but no edge was made for (a tag such as
        ``base_model:finetune:not an id``, a card value such as ``42``), so a crawl,
        scan or import counts them instead of losing them silently.

        >>> parse_model({"id": "a/b", "tags": ["base_model:finetune:no such id"]}).rejected_parents
        ('base_model:finetune:no such id',)
        >>> parse_model({"id": "a/b", "tags": ["base_model:LeroyDyer/_Spydaz"]}).rejected_parents
        ()
        """
        return tuple(p.detail for p in self.problems if p.kind in REJECTED_PARENT_KINDS)


# --------------------------------------------------------------------------- ids

# An id part (DESIGN §1): ``[A-Za-z0-9_][A-Za-z0-9._-]*``, at most 96 characters, no ``--``
# or ``..``; real ids may start with ``_`` (``LeroyDyer/_Spydaz_Web_AI_...``). Like the
# Hub (huggingface_hub's ``validate_repo_id``: "cannot start or end with '-' or '.'") a part
# ends in a letter, digit or ``_``, so a card's ``org/name.`` is not read as an id. Legacy
# canonical models (``gpt2``, ``bert-base-uncased``) have no namespace.
_ID_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
#: A well-formed Hub model id (``org/name`` or a legacy single-segment name), as a regex
#: (the one definition: :func:`is_model_id`, :func:`normalize_id` and the importer's
#: vectorised path use it; ``--`` and ``..`` are refused separately).
ID_PATTERN = rf"^(?:{_ID_PART})(?:/(?:{_ID_PART}))?$"
_ID_RE = re.compile(ID_PATTERN)


def is_model_id(value: str) -> bool:
    """Whether ``value`` is a well-formed Hub model id, exactly as written.

    >>> is_model_id("LeroyDyer/_Spydaz_Web_AI_BIBLE_002"), is_model_id("gpt2")
    (True, True)
    >>> is_model_id("org/bad--name"), is_model_id("org/name."), is_model_id("a/b/c")
    (False, False, False)
    """
    return bool(_ID_RE.fullmatch(value)) and "--" not in value and ".." not in value
_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/+", flags=re.IGNORECASE
)
# Paths inside a repo URL that are not part of the id (tree/main, blob/..., resolve/...).
_URL_TAIL_RE = re.compile(r"/(?:tree|blob|resolve|commit|discussions|raw)/.*$")


def _clean(value: str) -> tuple[str, list[tuple[str, str]]]:
    """Strip URL forms, revisions and stray slashes; return the candidate and notes."""
    notes: list[tuple[str, str]] = []
    s = value.strip().strip("\"'").strip()
    if _URL_RE.match(s):
        notes.append(("url_parent", value))
        s = _URL_RE.sub("", s)
        s = _URL_TAIL_RE.sub("", s)
        s = s.split("?", 1)[0].split("#", 1)[0]
    if s.startswith("models/"):
        s = s[len("models/") :]
    if s.startswith(("datasets/", "spaces/")):
        return "", [("dataset_parent", value)]
    if "@" in s:
        s, _, rev = s.partition("@")
        notes.append(("revision_parent", rev))
    s = s.strip().strip("/").strip()
    return s, notes


def normalize_id(value: str) -> str:
    """Normalise a user- or card-given model id to ``org/name``.

    Raises :class:`~ecograph.errors.InvalidModelIdError` when ``value`` cannot be an id.

    Examples
    --------
    >>> normalize_id("https://huggingface.co/meta-llama/Llama-3.1-8B/")
    'meta-llama/Llama-3.1-8B'
    >>> normalize_id("  Qwen/Qwen2.5-7B@main ")
    'Qwen/Qwen2.5-7B'
    >>> normalize_id("not an id")
    Traceback (most recent call last):
    ...
    ecograph.errors.InvalidModelIdError: 'not an id' is not a Hub model id (expected org/name)
    """
    if not isinstance(value, str):
        raise InvalidModelIdError(f"{value!r} is not a Hub model id (expected org/name)")
    s, _ = _clean(value)
    if not s or not is_model_id(s):
        raise InvalidModelIdError(f"{value!r} is not a Hub model id (expected org/name)")
    return s


def try_normalize_id(value: object) -> str | None:
    """Like :func:`normalize_id` but returns ``None`` instead of raising.

    >>> try_normalize_id("hf.co/google/gemma-2-9b") is not None
    True
    >>> try_normalize_id(42) is None
    True
    """
    if not isinstance(value, str):
        return None
    try:
        return normalize_id(value)
    except InvalidModelIdError:
        return None


def parse_base_model_value(value: Any, *, self_id: str | None = None) -> ParsedParents:
    """Parse a card's ``base_model`` value (string, list, or junk) into parent ids.

    Normalises every form seen in real cards; what cannot be an id becomes a problem.
    A self reference is kept as an id (self-loops are stored and reported) and flagged.
    Duplicates are dropped (case-insensitively), keeping the first spelling.

    >>> parse_base_model_value("a/b, c/d").ids
    ('a/b', 'c/d')
    >>> parse_base_model_value(["a/b", "A/B", None]).problems
    (('non_string_parent', 'None'), ('duplicate_parent', 'A/B'))
    """
    problems: list[tuple[str, str]] = []
    raw: list[Any]
    if value is None:
        return ParsedParents(())
    if isinstance(value, str):
        raw = [value]
    elif isinstance(value, list | tuple):
        raw = list(value)
    else:
        return ParsedParents((), (("non_string_parent", repr(value)),))
    pieces: list[str] = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            item = item["id"]
        if not isinstance(item, str):
            problems.append(("non_string_parent", repr(item)))
            continue
        # comma/semicolon/newline joined lists inside one string
        pieces.extend(p for p in re.split(r"[,;\n]", item) if p.strip())
    ids: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        cand, notes = _clean(piece)
        problems.extend(n for n in notes if n[0] == "dataset_parent")
        nid = cand if cand and is_model_id(cand) else None
        if nid is None:
            if not any(n[0] == "dataset_parent" for n in notes):
                problems.append(("invalid_parent_id", piece.strip()))
            continue
        key = nid.lower()
        if key in seen:
            problems.append(("duplicate_parent", nid))
            continue
        seen.add(key)
        if self_id is not None and key == self_id.lower():
            problems.append(("self_loop", nid))
        ids.append(nid)
    return ParsedParents(tuple(ids), tuple(problems))


def parse_base_model_tags(tags: Iterable[Any]) -> tuple[list[str], Relation | None]:
    """Read direct parents and the relation from Hub tags.

    ``base_model:ORG/NAME`` names a parent, ``base_model:<relation>:ORG/NAME`` names a parent
    and the relation. Returns parent ids (first-seen order, no duplicates) and the relation
    (``None`` when no relation tag is present).

    >>> parse_base_model_tags(["base_model:Qwen/Qwen2.5-7B",
    ...                        "base_model:quantized:Qwen/Qwen2.5-7B", "gguf"])
    (['Qwen/Qwen2.5-7B'], <Relation.QUANTIZED: 'quantized'>)
    """
    parents: list[str] = []
    seen: set[str] = set()
    relation: Relation | None = None
    for tag in tags:
        split = split_base_model_tag(tag)
        if split is None:
            continue
        tag_relation, reference = split
        relation = relation or tag_relation
        pid = try_normalize_id(reference)
        if pid is None:
            continue  # not an id: parse_model reports it (see rejected_tag_parents)
        if pid.lower() not in seen:
            seen.add(pid.lower())
            parents.append(pid)
    return parents, relation


def split_base_model_tag(tag: Any) -> tuple[Relation | None, str] | None:
    """The relation (if the tag names one) and the parent reference of a ``base_model:``
    tag, as written; ``None`` for any other tag.

    >>> split_base_model_tag("base_model:quantized:Qwen/Qwen2.5-7B")
    (<Relation.QUANTIZED: 'quantized'>, 'Qwen/Qwen2.5-7B')
    >>> split_base_model_tag("base_model:gpt2"), split_base_model_tag("gguf")
    ((None, 'gpt2'), None)
    """
    if not isinstance(tag, str) or not tag.startswith("base_model:"):
        return None
    rest = tag[len("base_model:") :]
    head, sep, tail = rest.partition(":")
    if sep and head in RELATIONS:
        return Relation(head), tail
    return None, rest


def rejected_tag_parents(tags: Iterable[Any]) -> list[str]:
    """The ``base_model:`` tags whose parent reference is not a model id (whole tags).

    >>> rejected_tag_parents(["base_model:finetune:a/b", "base_model:bad id", "base_model:"])
    ['base_model:bad id', 'base_model:']
    """
    out: list[str] = []
    for tag in tags:
        split = split_base_model_tag(tag)
        if split is not None and try_normalize_id(split[1]) is None:
            out.append(tag)
    return out


# --------------------------------------------------------------------------- fields


def parse_datetime(value: Any) -> datetime | None:
    """Parse a Hub timestamp (``2024-07-18T08:56:00.000Z``) into an aware UTC datetime.

    >>> parse_datetime("2024-07-18T08:56:00.000Z")
    datetime.datetime(2024, 7, 18, 8, 56, tzinfo=datetime.timezone.utc)
    >>> parse_datetime("garbage") is None
    True
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    s = value.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


_INT64_MAX = 2**63 - 1


def _int(value: Any) -> int | None:
    """A count as a 64-bit int; anything else (bools, NaN, out of range) is unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, int) and -_INT64_MAX <= value <= _INT64_MAX:
        return value
    return None


def safetensors_total(value: Any) -> int | None:
    """The parameter count in the Hub's ``safetensors`` object (``{"parameters": {dtype:
    count}, "total": count}``): its ``total`` when it is a positive count, else None.

    >>> safetensors_total({"parameters": {"BF16": 8030261248}, "total": 8030261248})
    8030261248
    >>> safetensors_total(None), safetensors_total({"total": "8B"}), safetensors_total({"total": 0})
    (None, None, None)
    """
    total = _int(value.get("total")) if isinstance(value, Mapping) else None
    return total if total is not None and total > 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def clean_text(value: Any) -> str | None:
    r"""Free text from the data (an author, a tag, a card value) as ecograph stores it:
    :func:`~ecograph.escape.plain_text` (control characters and invisible format
    characters dropped, lone surrogates replaced by U+FFFD, line breaks and tabs turned
    into a space); ``None`` for what is not text or is empty afterwards.

    Real data is dirty: a lone surrogate (a JSON ``"\ud800"``) cannot be written to
    SQLite or Arrow, and a NUL makes SVG ill-formed. Cleaning at this one boundary keeps
    the record instead of losing the batch.

    >>> clean_text("x\ud800y"), clean_text("n\x00a\u200bme"), clean_text("\x07")
    ('x\ufffdy', 'name', None)
    >>> clean_text("meta-llama"), clean_text(42)
    ('meta-llama', None)
    """
    if not isinstance(value, str) or not value:
        return None
    if value.isprintable():  # the common case: nothing plain_text would change
        return value
    return plain_text(value) or None


def _cleaned(value: Any) -> bool:
    """Whether :func:`clean_text` changes ``value`` (a non-empty string)."""
    return isinstance(value, str) and bool(value) and clean_text(value) != value


def _gated(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return "true"
    text = clean_text(str(value))
    return text if text is not None and text.lower() != "false" else None


def _licenses(tags: Iterable[str], card: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(licence, licence of the tags)``: the model's licence (DESIGN §9:
    ``cardData.license``, else its ``license:`` tags, normalised by
    :func:`ecograph.licenses.normalize_license`) and what its ``license:`` tags alone say.

    >>> _licenses(["license:MIT"], {"license": ["Apache-2.0", "mit"]})
    ('apache-2.0|mit', 'mit')
    """
    from_tags = normalize_license(None, tags)
    card_value = card.get("license")
    if isinstance(card_value, str):
        card_value = clean_text(card_value)
    from_card = normalize_license(card_value, ())
    return (from_card if from_card is not None else from_tags), from_tags


def _relation_from_card(value: Any) -> Relation | None:
    if isinstance(value, str) and value.strip().lower() in RELATIONS:
        return Relation(value.strip().lower())
    return None


def parse_model(obj: Mapping[str, Any], *, fetched_at: datetime | None = None) -> ParsedModel:
    """Turn one Hub model object (list or detail route JSON) into a :class:`ParsedModel`.

    Parents come from ``baseModels`` when present, else from the ``base_model:`` tags, else
    from ``cardData.base_model``; the relation from ``baseModels``, else the tags, else the
    card's ``base_model_relation``, else :attr:`Relation.UNKNOWN`. A model whose declared
    relation is ``merge`` with one parent, or a non-merge with several, gets a
    ``relation_conflict`` problem (kept as declared).

    >>> p = parse_model({"id": "a/child", "tags": ["base_model:finetune:a/root"]})
    >>> p.record.parents, p.record.relation.value, p.edges[0].source.value
    (('a/root',), 'finetune', 'tag')
    """
    mid = _str(obj.get("id")) or _str(obj.get("modelId")) or ""
    problems: list[Problem] = []
    if not mid:
        problems.append(Problem("", "missing_id", repr(dict(obj))[:200]))
    elif not is_model_id(mid):
        # not a model: its record has no id (never stored), the problem says what it was
        problems.append(Problem("", "invalid_id", mid[:200]))
        mid = ""
    tags_raw = obj.get("tags")
    tags_raw = [t for t in tags_raw if isinstance(t, str)] if isinstance(tags_raw, list) else []
    # parents are read from the tags as written (a broken id is a problem, not repaired);
    # the record keeps the tags cleaned
    tags = tuple(c for c in map(clean_text, tags_raw) if c is not None)
    card = obj.get("cardData")
    card = card if isinstance(card, Mapping) else {}

    parents: list[str] = []
    relation: Relation | None = None
    source: EdgeSource | None = None

    bm = obj.get("baseModels")
    if isinstance(bm, Mapping) and isinstance(bm.get("models"), list) and bm["models"]:
        parsed = parse_base_model_value(bm["models"], self_id=mid)
        parents = list(parsed.ids)
        relation = _relation_from_card(bm.get("relation"))
        source = EdgeSource.BASE_MODELS
        problems.extend(Problem(mid, k, d) for k, d in parsed.problems)
    tag_parents, tag_relation = parse_base_model_tags(tags_raw)
    if not parents:
        # a parent tag that is not an id loses an edge: say so (baseModels, when it lists
        # the parents, supersedes the tags and nothing is lost)
        problems.extend(Problem(mid, "invalid_parent_id", t)
                        for t in rejected_tag_parents(tags_raw))
    if not parents and tag_parents:
        parents = tag_parents
        source = EdgeSource.TAG
        problems.extend(
            Problem(mid, "self_loop", p) for p in parents if p.lower() == mid.lower()
        )
    relation = relation or tag_relation
    card_rel = _relation_from_card(card.get("base_model_relation"))
    if not parents and "base_model" in card:
        parsed = parse_base_model_value(card.get("base_model"), self_id=mid)
        parents = list(parsed.ids)
        source = EdgeSource.CARD
        problems.extend(Problem(mid, k, d) for k, d in parsed.problems)
    relation = relation or card_rel
    if parents and relation is None:
        relation = Relation.UNKNOWN
        problems.append(Problem(mid, "unknown_relation", ""))
    if not parents:
        relation = None
    if relation is Relation.MERGE and len(parents) == 1:
        problems.append(Problem(mid, "relation_conflict", "merge with one parent"))
    elif relation in (Relation.FINETUNE, Relation.QUANTIZED, Relation.ADAPTER) and len(parents) > 1:
        detail = f"{relation} with {len(parents)} parents"
        problems.append(Problem(mid, "relation_conflict", detail))

    license_value, license_tags = _licenses(tags, card)
    dirty = [name for name in ("author", "library_name", "pipeline_tag", "gated")
             if _cleaned(obj.get(name))]
    if any(map(_cleaned, tags_raw)):
        dirty.append("tags")
    if _cleaned(card.get("license")):
        dirty.append("cardData.license")
    problems.extend(Problem(mid, "cleaned_text", name) for name in dirty)
    author = clean_text(obj.get("author"))
    if author is None and "/" in mid:
        author = mid.split("/", 1)[0]
    record = ModelRecord(
        id=mid,
        author=author,
        created_at=parse_datetime(obj.get("createdAt") or obj.get("created_at")),
        last_modified=parse_datetime(obj.get("lastModified") or obj.get("last_modified")),
        downloads=_int(obj.get("downloads")),
        downloads_all_time=_int(obj.get("downloadsAllTime")),
        likes=_int(obj.get("likes")),
        library_name=clean_text(obj.get("library_name")),
        pipeline_tag=clean_text(obj.get("pipeline_tag")),
        license=license_value,
        gated=_gated(obj.get("gated")),
        tags=tags,
        relation=relation,
        parents=tuple(parents),
        status=Status.OK,
        fetched_at=fetched_at,
        license_tags=license_tags,
        safetensors_total=safetensors_total(obj.get("safetensors")),
    )
    edges = tuple(
        ForkEdge(parent=p, child=mid, relation=relation or Relation.UNKNOWN, source=source)
        for p in parents
        if source is not None and mid  # an object that is not a model has no edges
    )
    return ParsedModel(record=record, edges=edges, problems=tuple(problems))


def missing_record(model_id: str, *, status: Status = Status.MISSING) -> ModelRecord:
    """The placeholder record of a referenced parent that is not (readable) on the Hub."""
    author = model_id.split("/", 1)[0] if "/" in model_id else None
    return ModelRecord(id=model_id, author=author, status=status)
