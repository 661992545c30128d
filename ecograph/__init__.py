"""ecograph: map the derivative ecosystem of open-weight models on the Hugging Face Hub.

Crawl ``base_model`` links into a local fork graph, measure each foundation model's family
(size, depth, fan-out, community, adoption), export it and draw it.
"""

from __future__ import annotations

from .errors import (
    EcographError,
    HubError,
    InvalidModelIdError,
    SnapshotError,
    StoreError,
    UnknownModelError,
    UsageError,
)
from .records import ForkEdge, ModelRecord, Relation, Status, normalize_id, parse_model

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "EcographError",
    "HubError",
    "InvalidModelIdError",
    "SnapshotError",
    "StoreError",
    "UnknownModelError",
    "UsageError",
    "ForkEdge",
    "ModelRecord",
    "Relation",
    "Status",
    "normalize_id",
    "parse_model",
    "open",
    "crawl_hub",
    "import_file",
    "Ecosystem",
    "Family",
]

_API = ("open", "crawl_hub", "import_file", "Ecosystem", "Family")


def __getattr__(name: str) -> object:
    # The analysis API (polars, networkx) is imported on first use, so that
    # `import ecograph` and the CLI stay fast.
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'ecograph' has no attribute {name!r}")
