"""A fake Hugging Face Hub: the model API subset ecograph uses, served from a snapshot.

>>> from ecograph.fakehub import FakeHub
>>> with FakeHub([{"id": "org/base", "tags": []}]) as hub:
...     hub.url.startswith("http://127.0.0.1:")
True

See :mod:`ecograph.fakehub.server` for the routes and knobs and
:mod:`ecograph.fakehub.index` for how a snapshot is indexed and fields are derived.
"""

from __future__ import annotations

from .index import ListQuery, QueryError, SnapshotIndex
from .server import UNLIMITED_QUOTA, FakeHub

__all__ = ["FakeHub", "SnapshotIndex", "ListQuery", "QueryError", "UNLIMITED_QUOTA"]
