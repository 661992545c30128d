"""The offline demo: the whole pipeline on the bundled snapshot, no network needed.

Starts the fake Hub on the snapshot shipped with the package, crawls its foundations
through the real ``huggingface_hub`` client into ``OUT/ecograph.db``, then writes the
families table, every foundation's metrics, a report on the largest family and the
adoption race of all families. It is the README's first command (``ecograph demo``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["DEMO_ROOTS", "DemoResult", "run_demo"]

#: The foundations of the bundled snapshot (a test checks this against the data).
DEMO_ROOTS: tuple[str, ...] = (
    "HuggingFaceTB/SmolLM2-135M",
    "Qwen/Qwen2.5-7B",
    "google/gemma-2-9b",
    "meta-llama/Llama-3.1-8B",
    "mistralai/Mistral-7B-v0.1",
)


@dataclass
class DemoResult:
    """What the demo made: the families table and the paths it wrote."""

    out_dir: Path
    db: Path
    families: pl.DataFrame
    crawl: Any
    largest: str
    paths: dict[str, Path] = field(default_factory=dict)
    #: New derivatives per quarter by vendor (:meth:`ecograph.api.Ecosystem.trends`;
    #: None when the snapshot has no dated derivatives).
    trends: pl.DataFrame | None = None


def run_demo(
    out_dir: str | Path = "ecograph-demo",
    *,
    progress: Callable[[Any], None] | None = None,
    snapshot: str | Path | None = None,
    roots: tuple[str, ...] | None = None,
) -> DemoResult:
    """Run the offline demo into ``out_dir`` and return what it made.

    Re-running refreshes the store in place (the crawl is idempotent) and rewrites the
    outputs. ``snapshot`` defaults to the bundled one; ``roots`` to the snapshot's
    foundations (for the bundled one, :data:`DEMO_ROOTS`). Besides the families, the
    demo measures who leads (new derivatives per quarter by vendor) and draws the share
    chart (``share.png``).
    """
    from .api import Ecosystem
    from .atomic import atomic_write
    from .crawl import crawl
    from .errors import InputError
    from .fakehub import FakeHub
    from .hub import HubClient
    from .metrics import to_records
    from .snapshot import bundled_snapshot
    from .store import Store

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "ecograph.db"
    source = snapshot or bundled_snapshot()
    if roots is None:
        roots = tuple(Ecosystem.from_snapshot(source).foundations()["root"].sort().to_list())
    with FakeHub(source) as hub:
        client = HubClient(hub.url, token=False)
        with Store.open(db) as store:
            result = crawl(store, client, list(roots), workers=8, progress=progress)
            models, edges = store.load()
    eco = Ecosystem.from_frames(models, edges)
    stats = eco.stats()
    families = eco.foundations()
    paths: dict[str, Path] = {"db": db}
    paths["stats_json"] = out / "stats.json"
    with atomic_write(paths["stats_json"]) as fh:  # never a half-written stats.json
        fh.write(json.dumps(to_records(stats), indent=2, ensure_ascii=False) + "\n")
    largest = str(families.sort(["size", "root"], descending=[True, False])["root"][0])
    report = eco.family(largest).report(out / "report")
    paths.update({f"report_{k}": v for k, v in report.items()})
    paths["compare"] = eco.save_plot(
        "adoption", out / "compare.png", families["root"].to_list(), log=True,
        title="Adoption race: derivatives since release",
    )
    try:
        trends = eco.trends(by="vendor", period="quarter")
    except InputError:  # a snapshot without dates: no leaders to show
        trends = None
    if trends is not None and trends.height:
        paths["share"] = eco.save_plot("share", out / "share.png", by="vendor",
                                       period="quarter")
    return DemoResult(out_dir=out, db=db, families=families, crawl=result, largest=largest,
                      paths=paths, trends=trends)
