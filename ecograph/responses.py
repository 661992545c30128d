"""What a hub client hands the crawler: listing pages, one model's detail, retryable errors.

These are ecograph's own types, free of any ``huggingface_hub`` or HTTP object, so that
:mod:`ecograph.crawl` can schedule requests without knowing the wire:
:mod:`ecograph.hub` (the only importer of ``huggingface_hub``) produces them, and test
doubles of a hub client can produce them too.

>>> from ecograph.records import parse_model
>>> info = ModelInfoResult(parse_model({"id": "org/base"}), {"finetune": 2, "quantized": 1})
>>> info.exists, info.children_total, info.children_by_relation
(True, 3, {'finetune': 2, 'quantized': 1})
>>> ModelInfoResult(parse_model({"id": "org/base"}), 7).children_by_relation is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import HubError
from .records import ParsedModel, Status

__all__ = [
    "MAX_LISTING_PAGES",
    "PAGE_SIZE",
    "ChildrenCount",
    "CursorGuard",
    "HubUnreachableError",
    "ListingLoopError",
    "ModelInfoResult",
    "Page",
    "RetryableHubError",
]

#: Models per listing request: the Hub's maximum ``limit`` (DESIGN §1).
PAGE_SIZE = 1000

#: The Hub's ``childrenModelCount``: direct children by relation (what the Hub answers
#: today), or their total (what ``huggingface_hub`` documents).
ChildrenCount = dict[str, int] | int


class RetryableHubError(HubError):
    """A request failed in a way worth retrying (429, 5xx, timeout, broken body).

    ``retry_after`` holds the seconds the server asked us to wait, when it said.
    """

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class HubUnreachableError(RetryableHubError):
    """The endpoint could not be reached at all (DNS, refused connection, TLS)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing: the models on it and the opaque cursor of the next page."""

    models: tuple[ParsedModel, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ModelInfoResult:
    """One model's detail: its record (status ``ok``/``missing``/``private``) and, when the
    Hub gave it, ``childrenModelCount`` (direct children by relation, or their total)."""

    parsed: ParsedModel
    children_count: ChildrenCount | None

    @property
    def exists(self) -> bool:
        return self.parsed.record.status is Status.OK

    @property
    def children_total(self) -> int | None:
        """Direct children in all relations, or ``None`` when the Hub did not say."""
        count = self.children_count
        if count is None:
            return None
        return count if isinstance(count, int) else sum(count.values())

    @property
    def children_by_relation(self) -> dict[str, int] | None:
        """Direct children by relation, when the Hub answered by relation."""
        count = self.children_count
        return dict(count) if isinstance(count, dict) else None


#: Pages one listing of a node's children may take (10 million children at 1000 a page):
#: a server whose ``Link: next`` never ends would otherwise pile pages in memory forever.
MAX_LISTING_PAGES = 10_000


class ListingLoopError(HubError):
    """A listing's ``Link: next`` headers went round in a cycle (a cursor came back) or
    past :data:`MAX_LISTING_PAGES`: the server lies, retrying will not help."""


class CursorGuard:
    """Follows the cursors of one listing and stops a cycle or an endless listing.

    >>> guard = CursorGuard("the children of org/a", max_pages=3)
    >>> guard.next("c1"), guard.next("c2")
    ('c1', 'c2')
    >>> guard.next("c1")
    Traceback (most recent call last):
    ...
    ecograph.responses.ListingLoopError: the listing of the children of org/a went round \
in a cycle: page 3 links back to a page already read
    """

    def __init__(self, what: str, *, max_pages: int | None = MAX_LISTING_PAGES) -> None:
        self.what = what
        self.max_pages = max_pages
        self.pages = 1  # the first page (no cursor) was read
        self._seen: set[str] = set()

    def next(self, cursor: str) -> str:
        """``cursor``, when following it reads a new page; else :class:`ListingLoopError`."""
        if cursor in self._seen:
            raise ListingLoopError(f"the listing of {self.what} went round in a cycle: page "
                                   f"{self.pages} links back to a page already read")
        if self.max_pages is not None and self.pages >= self.max_pages:
            raise ListingLoopError(f"the listing of {self.what} goes on past "
                                   f"{self.max_pages:,} pages; stopped")
        self._seen.add(cursor)
        self.pages += 1
        return cursor
