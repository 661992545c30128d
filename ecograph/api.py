"""The library API for notebooks and scripts: :func:`open`, :class:`Ecosystem`, :class:`Family`.

This module is the I/O edge of the analysis side: it opens a store or reads a snapshot, and
hands polars frames to the pure modules (:mod:`ecograph.graph`, :mod:`ecograph.metrics`).

>>> import ecograph
>>> from ecograph.snapshot import bundled_snapshot
>>> eco = ecograph.Ecosystem.from_snapshot(bundled_snapshot())
>>> eco.foundations().select("root", "size").head(2).rows()
[('meta-llama/Llama-3.1-8B', 134), ('mistralai/Mistral-7B-v0.1', 54)]
>>> fam = eco.family("meta-llama/llama-3.1-8b")      # case-insensitive
>>> fam.root, fam.nodes.height, fam.metrics()["max_depth"]
('meta-llama/Llama-3.1-8B', 135, 7)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from . import graph as _graph
from . import metrics as _metrics
from .atomic import check_output
from .errors import InputError, StoreError, UsageError
from .formats import PICTURE_FORMATS, RENDER_FORMATS, format_for, is_snapshot

if TYPE_CHECKING:  # the drawing and graph libraries load on first use, not with the CLI
    import networkx as nx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .html_tree import InteractiveTree
    from .lineage import LineageTable
    from .migration import Migration
    from .render import ForkTree

__all__ = ["open", "crawl_hub", "import_file", "Ecosystem", "Family"]


def open(path: str | os.PathLike[str], *, as_of: str | datetime | None = None) -> Ecosystem:
    """Open an ecograph store (the SQLite file written by ``ecograph crawl`` / ``import``).

    ``as_of`` (a date or ISO time, UTC; a date means its midnight): the ecosystem as it
    stood then (:meth:`Ecosystem.as_of`).

    Nothing is read until the first frame is needed. A snapshot file (``.jsonl``,
    ``.jsonl.gz``) is accepted too and read with :func:`ecograph.snapshot.read_snapshot`.

    Raises
    ------
    StoreError
        If ``path`` does not exist (the store is never created here).

    Examples
    --------
    >>> from ecograph.snapshot import bundled_snapshot
    >>> eco = open(bundled_snapshot())
    >>> len(eco.models) > 200
    True
    """
    p = Path(path)
    if not p.exists():
        raise StoreError(f"no ecograph store at {p} (create one with `ecograph crawl` or "
                         "`ecograph import`)")
    if is_snapshot(p):
        return Ecosystem.from_snapshot(p)
    eco = Ecosystem(_loader=lambda columns=None: _load_store(p, columns), _source=str(p))
    eco._inputs = (p,)
    eco._references = lambda: _store_references(p)
    eco._store = p
    return eco if as_of is None else eco.as_of(as_of)


def parse_when(when: str | datetime) -> datetime:
    """A user's date or time as an aware UTC datetime (naive and date-only mean UTC; a date
    is its midnight).

    >>> parse_when("2025-01-02").isoformat()
    '2025-01-02T00:00:00+00:00'
    >>> parse_when("2025-01-02T03:04:05+01:00").isoformat()
    '2025-01-02T02:04:05+00:00'
    """
    if isinstance(when, datetime):
        value = when
    else:
        try:
            value = datetime.fromisoformat(str(when).strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"not a date or time: {when!r} (use YYYY-MM-DD or an ISO "
                             "8601 time)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _history_of(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(observations, model_history, edge_history) of the store at ``path``."""
    from . import history as _history
    from .store import Store

    with Store.open(path, create=False) as store:
        runs = store.runs()
        model_history, edge_history = store.load_history()
    return _history.observations(runs), model_history, edge_history


def _load_store_as_of(
    path: Path, columns: tuple[str, ...] | None, at: datetime | None, run: int | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    from . import history as _history
    from .frames import EDGE_SCHEMA

    models, _ = _load_store(path, columns)
    obs, model_history, edge_history = _history_of(path)
    then = _history.models_as_of(models, model_history, obs, at=at, run=run)
    edges = _history.edges_as_of(edge_history, obs, then, at=at, run=run,
                                 schema=dict(EDGE_SCHEMA))
    return then, edges


def _store_references(path: Path) -> pl.DataFrame:
    from .store import Store

    with Store.open(path, create=False) as store:
        return store.parent_references()


def _store_observed(path: Path) -> dt.date | None:
    """The latest ``fetched_at`` of a store (one indexed-free scan, read-only)."""
    import sqlite3

    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            (micros,) = conn.execute("SELECT max(fetched_at) FROM models").fetchone()
    except sqlite3.Error:
        return None
    if micros is None:
        return None
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)).date()


def _load_store(
    path: Path, columns: tuple[str, ...] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    from .store import Store  # I/O module, imported only when a store is opened

    with Store.open(path, create=False) as store:
        return store.load(columns)


def _export_targets(path: str | os.PathLike[str], fmt: str | None) -> list[Path]:
    """The files an export of ``fmt`` to ``path`` writes (CSV / Parquet: two tables)."""
    from .export import FORMATS, table_paths

    name = format_for(path, FORMATS, default="json") if fmt is None else fmt.lower()
    if name in ("csv", "parquet"):
        return list(table_paths(Path(path), FORMATS[name]))
    return [Path(path)]


def _html_table(frame: pl.DataFrame, title: str, max_rows: int = 10) -> str:
    """A compact HTML table (values escaped) for Jupyter."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(max_rows).iter_rows():
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    more = (
        f"<tr><td colspan='{len(frame.columns)}'>… {frame.height - max_rows} more</td></tr>"
        if frame.height > max_rows
        else ""
    )
    return (
        f"<div><b>{html.escape(title)}</b><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}{more}</tbody></table></div>"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items() if v)
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value[:8]) + (" …" if len(value) > 8 else "")
    return str(value)


class Ecosystem:
    """A fork graph (``models`` and ``edges`` frames) and the metrics of its families.

    Create one with :func:`ecograph.open`, :meth:`from_frames` or :meth:`from_snapshot`.
    Frames are loaded lazily; the metrics of all foundations are computed once and cached.

    Examples
    --------
    >>> from ecograph.snapshot import bundled_snapshot
    >>> eco = Ecosystem.from_snapshot(bundled_snapshot())
    >>> eco.stats(["Qwen/Qwen2.5-7B"]).select("root", "size", "max_depth").row(0)
    ('Qwen/Qwen2.5-7B', 45, 3)
    >>> eco.quality().get_column("kind").unique().sort().to_list()
    ['cycle', 'missing_parent', 'self_loop']
    """

    def __init__(
        self,
        models: pl.DataFrame | None = None,
        edges: pl.DataFrame | None = None,
        *,
        _loader: Callable[..., tuple[pl.DataFrame, pl.DataFrame]] | None = None,
        _source: str = "frames",
    ) -> None:
        self._models = models
        self._edges = edges
        self._loader = _loader
        self._source = _source
        self._index: _graph.GraphIndex | None = None
        self._all_stats: pl.DataFrame | None = None
        self._lean: pl.DataFrame | None = None  # the analysis columns only (store-backed)
        # the files this ecosystem reads (store or snapshot): outputs never overwrite them
        self._inputs: tuple[Path, ...] = ()
        self._traits: tuple[pl.DataFrame, pl.DataFrame] | None = None  # trait columns
        # the parents as the records spell them (store or snapshot), for case variants
        self._references: Callable[[], pl.DataFrame] | None = None
        self._store: Path | None = None  # the store (history lives there)
        self._as_of: datetime | None = None
        self._observed: tuple[dt.date | None] | None = None

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_frames(cls, models: pl.DataFrame, edges: pl.DataFrame) -> Ecosystem:
        """Wrap ``models`` and ``edges`` frames (schemas of :mod:`ecograph.frames`)."""
        return cls(models, edges)

    @classmethod
    def from_snapshot(cls, path: str | os.PathLike[str]) -> Ecosystem:
        """Read a JSONL(.gz) snapshot (:func:`ecograph.snapshot.read_snapshot`)."""
        from .snapshot import parent_references, read_snapshot

        models, edges = read_snapshot(path)
        eco = cls(models, edges)
        eco._source = str(path)
        eco._inputs = (Path(path),)
        eco._references = lambda: parent_references(path)
        return eco

    # ---------------------------------------------------------------- frames
    def _ensure(self) -> None:
        if self._models is None or self._edges is None:
            # models and edges always come from one load, and whatever was derived from
            # an earlier (lean) load is dropped: the store may have changed since
            assert self._loader is not None  # frames given, or a loader to read them
            self._models, self._edges = self._loader()
            if self._lean is not None:
                self._lean = None
                self._index = None
                self._all_stats = None

    @property
    def models(self) -> pl.DataFrame:
        """The ``models`` frame (one row per node, ``missing`` placeholders included)."""
        self._ensure()
        assert self._models is not None
        return self._models

    @property
    def edges(self) -> pl.DataFrame:
        """The ``edges`` frame (parent, child, relation, source)."""
        if self._edges is None:
            self._analysis  # noqa: B018 - loads the lean models and the edges
        assert self._edges is not None
        return self._edges

    @property
    def _analysis(self) -> pl.DataFrame:
        """The models frame for metrics: the full frame when loaded, else (from a store)
        only :data:`ecograph.metrics.ANALYSIS_COLUMNS`, which loads ~4x faster and
        lighter at whole-Hub scale."""
        if self._models is not None:
            return self._models
        if self._lean is None:
            assert self._loader is not None
            self._lean, self._edges = self._loader(_metrics.ANALYSIS_COLUMNS)
        return self._lean

    @property
    def index(self) -> _graph.GraphIndex:
        """The integer view of the graph (built once)."""
        if self._index is None:
            models = self._analysis
            self._index = _graph.GraphIndex.from_frames(models, self.edges)
        return self._index

    # ---------------------------------------------------------------- history
    def _history_store(self, what: str) -> Path:
        if self._store is None:
            raise UsageError(f"{what} needs a store (its history); {self._source} is not one")
        return self._store

    def observations(self) -> pl.DataFrame:
        """The store's observations (runs) in run order: ``id``, ``observed_at``,
        ``effective_at`` and ``skewed`` (:func:`ecograph.history.observations`)."""
        from . import history as _history
        from .store import Store

        with Store.open(self._history_store("observations"), create=False) as store:
            return _history.observations(store.runs())

    def as_of(self, when: str | datetime) -> Ecosystem:
        """The ecosystem as it stood at ``when`` (DESIGN §10): the models observed by
        then with their latest observed downloads, likes, status, licence and relation,
        and the edges open then (:mod:`ecograph.history`). ``when``: a date (its midnight,
        UTC) or an ISO time. Raises :class:`~ecograph.errors.InputError` when ``when`` is
        before the first observation or in the future.

        Examples
        --------
        >>> import ecograph, tempfile, pathlib
        >>> from ecograph.snapshot import bundled_snapshot
        >>> db = pathlib.Path(tempfile.mkdtemp()) / "hub.db"
        >>> _ = ecograph.import_file(bundled_snapshot(), db)
        >>> when = ecograph.open(db).observations()["observed_at"][0]
        >>> ecograph.open(db).as_of(when).stats(["Qwen/Qwen2.5-7B"])["size"].item()
        45
        """
        from . import history as _history

        path = self._history_store("as of")
        at = parse_when(when)
        obs = self.observations()
        first = obs["effective_at"].min() if obs.height else None
        _history.check_as_of(at, first if isinstance(first, datetime) else None,
                             datetime.now(UTC))
        eco = Ecosystem(
            _loader=lambda columns=None: _load_store_as_of(path, columns, at, None),
            _source=f"{path} as of {at.isoformat()}",
        )
        eco._inputs = self._inputs
        eco._store = path
        eco._as_of = at
        return eco

    def _since(self, since: str | int | datetime) -> tuple[datetime | None, int | None]:
        """``since`` as a time or a run id (digits, or ``run:N``)."""
        text = str(since).strip() if not isinstance(since, datetime) else None
        if isinstance(since, int) or (text is not None and (
                text.isdigit() or text.lower().startswith("run:"))):
            run = int(str(since).lower().removeprefix("run:"))
            ids = self.observations()["id"].to_list()
            if run not in ids:
                span = f"runs {min(ids)}-{max(ids)}" if ids else "no runs"
                raise InputError(f"no run {run} in {self._store} ({span})")
            return None, run
        return parse_when(since), None

    def changes(self, since: str | int | datetime, roots: Iterable[str] | None = None, *,
                top: int = 10) -> dict[str, Any]:
        """What changed since an observation (a date or time, or a run id): new
        derivatives per family, deleted models, new foundations and the ``top`` download
        movers between the state then and now (:func:`ecograph.history.changes`).

        Returns a dict with ``since``, ``until`` (ISO times of the two observations),
        ``new_derivatives``, ``deleted``, ``new_foundations``, ``movers`` and ``warnings``
        (clock skew between observations).
        """
        from . import history as _history
        from .metrics import ANALYSIS_COLUMNS

        path = self._history_store("changes")
        obs = self.observations()
        at, run = self._since(since)
        if at is not None:
            first = obs["effective_at"].min() if obs.height else None
            _history.check_as_of(at, first if isinstance(first, datetime) else None,
                                 datetime.now(UTC))
            start = at
        else:
            start = obs.filter(pl.col("id") == run)["effective_at"].item()
        columns = tuple(ANALYSIS_COLUMNS)
        before = _load_store_as_of(path, columns, at, run)
        after = ((self._analysis, self.edges) if self._as_of is None
                 else _load_store_as_of(path, columns, self._as_of, None))
        ids = None if roots is None else [self.resolve(r) for r in roots] or None
        out = _history.changes(before, after, ids, top=top)
        until = self._as_of or obs["effective_at"].max()
        return {"since": start.isoformat(),
                "until": until.isoformat() if isinstance(until, datetime) else None,
                **out, "warnings": _history.clock_skew(obs)}

    def downloads_over_time(self, roots: Iterable[str]) -> pl.DataFrame:
        """Family downloads (Σ downloads (30 d) over family(R)) at each observation:
        ``observed_at``, ``root``, ``family_downloads``, one row per (observation, root),
        in run order (:meth:`as_of` at each observation's effective time)."""
        path = self._history_store("downloads over time")
        ids = [self.resolve(r) for r in ([roots] if isinstance(roots, str) else roots)]
        obs = self.observations().unique("effective_at", keep="last", maintain_order=True)
        rows: list[tuple[Any, str, Any]] = []
        for when in obs["effective_at"].to_list():
            then = Ecosystem(_loader=lambda columns=None, w=when: _load_store_as_of(
                path, columns, w, None))
            present = set(then._analysis["id"].to_list())
            known = [r for r in ids if r in present]
            values = dict(then.stats(known).select("root", "family_downloads").iter_rows()) \
                if known else {}
            rows.extend((when, root, values.get(root)) for root in ids)
        return pl.DataFrame(rows, schema={"observed_at": pl.Datetime("us", "UTC"),
                                          "root": pl.Utf8, "family_downloads": pl.Int64},
                            orient="row")

    def plot_downloads(self, roots: Iterable[str], *, ax: Axes | None = None) -> Figure:
        """Family downloads over the store's observations, one line per root
        (:func:`ecograph.plots_history.family_downloads_over_time`)."""
        from .plots_history import family_downloads_over_time

        return family_downloads_over_time(self.downloads_over_time(roots), ax=ax)

    def save_downloads_plot(self, path: str | os.PathLike[str], roots: Iterable[str], *,
                            dpi: float = 200) -> Path:
        """Draw :meth:`plot_downloads` and write it to ``path`` (checked first, written
        atomically, like :meth:`save_plot`)."""
        from .render import save_figure

        format_for(path, PICTURE_FORMATS)
        check_output(path, self._inputs)
        return save_figure(self.plot_downloads(roots), path, dpi=dpi)

    # ---------------------------------------------------------------- analysis
    def resolve(self, text: str) -> str:
        """The model id matching user input (see :func:`ecograph.graph.resolve_root`)."""
        return _graph.resolve_root(self._analysis, text)

    def stats(self, roots: Iterable[str] | None = None, *,
              with_foundations: bool = False) -> pl.DataFrame:
        """Every DESIGN §5 metric, one row per root (:func:`ecograph.metrics.family_metrics`).

        ``roots=None`` = every foundation (computed once, then cached). Roots are resolved
        like user input (case-insensitive, URLs). ``with_foundations=True`` (``ecograph
        stats --all``): the ``roots`` first, then every other foundation, largest family
        first (ties by id).
        """
        if with_foundations:
            everything = self.stats().sort(["size", "root"], descending=[True, False])
            wanted = [] if roots is None else [roots] if isinstance(roots, str) else list(roots)
            chosen = self.stats(wanted) if wanted else everything.clear()
            rest = everything.filter(~pl.col("root").is_in(chosen.get_column("root").implode()))
            return pl.concat([chosen, rest]) if chosen.height else rest
        if roots is None:
            if self._all_stats is None:
                self._all_stats = _metrics.family_metrics(
                    self._analysis, self.edges, index=self.index
                )
            return self._all_stats
        ids = [self.resolve(r) for r in ([roots] if isinstance(roots, str) else roots)]
        if self._all_stats is not None:
            cached = self._all_stats.filter(pl.col("root").is_in(ids))
            if cached.height == len(set(ids)):
                order = {r: i for i, r in enumerate(dict.fromkeys(ids))}
                return cached.sort(pl.col("root").replace_strict(order, return_dtype=pl.Int64))
        return _metrics.family_metrics(self._analysis, self.edges, ids, index=self.index)

    def foundations(self, top: int | None = None) -> pl.DataFrame:
        """Foundations with their headline metrics, largest family first."""
        return _metrics.headline(self.stats(), top)

    def family(self, root: str) -> Family:
        """The :class:`Family` of ``root`` (resolved like user input)."""
        return Family(self, self.resolve(root))

    def quality(self) -> pl.DataFrame:
        """Data-quality problems (:func:`ecograph.graph.quality`, with the parents as the
        records spell them when the store or snapshot keeps them, for case variants), plus
        the ``license_conflict`` rows of :func:`ecograph.trait_quality.license_conflicts`."""
        from .trait_quality import with_trait_problems

        references = self._references() if self._references is not None else None
        report = _graph.quality(self._analysis, self.edges, index=self.index,
                                references=references)
        return with_trait_problems(report, self._trait_frames()[0])

    def compare(self, roots: Iterable[str] | None = None, *, top: int = 5,
                log: bool = False, ax: Axes | None = None) -> Figure:
        """The adoption race: cumulative derivatives since release, one line per family.

        ``roots=None`` takes the ``top`` largest families. Returns the matplotlib Figure.
        """
        return self.plot("adoption", roots, top=top, log=log, ax=ax)

    def plot(self, kind: str, roots: Iterable[str] | None = None, *,
             top: int | None = None, **kw: Any) -> Figure:
        """A comparison plot of several families: ``adoption``, ``fanout`` or ``relations``
        (:mod:`ecograph.plots`; ``roots=None``: the ``top`` largest, default 5); or who
        leads: ``share`` / ``new`` (:meth:`plot_trends`: ``top`` groups, default 8); or
        how fast builders move on: ``migration`` / ``retention`` (``top`` groups, default
        6) / ``succession`` (``roots`` = one vendor) (:meth:`plot_migration`); or
        ``drift`` (licence transitions, :func:`ecograph.drift_plot.drift_transitions`).
        ``size`` (``column``, ``page``, ``slide``) picks the house style's size preset;
        the source line gives :meth:`observed_on`. Returns the matplotlib Figure."""
        from .plots import families_from_frames
        from .plots import plot as _plot

        if kind in ("share", "new"):  # who leads: groups of foundations, not families
            if roots is not None:
                raise UsageError(f"the {kind} plot groups every foundation (by=...); it "
                                 "takes no roots")
            return self.plot_trends(kind, top=8 if top is None else top, **kw)
        if kind in ("migration", "retention", "succession"):  # authors moving on
            if kind == "succession":
                names = [roots] if isinstance(roots, str) else list(roots or [])
                if len(names) != 1:
                    raise UsageError("the succession plot takes one vendor (e.g. Meta)")
                kw["vendor"] = names[0]
            elif roots is not None:
                raise UsageError(f"the {kind} plot groups every foundation (by=...); it "
                                 "takes no roots")
            return self.plot_migration(kind, top=6 if top is None else top, **kw)
        if roots is None:
            ids = self.foundations(5 if top is None else top)["root"].to_list()
        else:
            ids = [self.resolve(r) for r in ([roots] if isinstance(roots, str) else roots)]
        if kw.get("ax") is None:
            kw.setdefault("observed", self.observed_on())
        if kind == "drift":  # licence transitions (ecograph.drift_plot)
            from .drift_plot import drift_transitions

            return drift_transitions(self.drift(ids), **kw)
        return _plot(kind, families_from_frames(self._analysis, self.edges, ids), **kw)

    def save_plot(self, kind: str, path: str | os.PathLike[str],
                  roots: Iterable[str] | None = None, *, top: int | None = None,
                  dpi: float = 200,
                  **kw: Any) -> Path:
        """Draw :meth:`plot` and write it to ``path`` (``.png``, ``.svg`` or ``.pdf``; the
        suffix, and that ``path`` is not the store or snapshot being read, are checked
        before anything is drawn; written atomically). Returns the path written."""
        from .render import save_figure

        format_for(path, PICTURE_FORMATS)
        check_output(path, self._inputs)
        return save_figure(self.plot(kind, roots, top=top, **kw), path, dpi=dpi)

    def export(self, path: str | os.PathLike[str], fmt: str | None = None, *,
               csv_safe: bool = False) -> list[Path]:
        """Write the whole graph (every model, no ``depth``) to ``path`` as ``fmt`` (default
        from the suffix, ``json`` without one; :func:`ecograph.export.write_export`:
        atomically, never over the store or snapshot being read; ``csv_safe`` guards CSV
        cells against spreadsheet formulas). Returns the files written (CSV and Parquet:
        a node and an edge table)."""
        from .export import write_export

        for target in _export_targets(path, fmt):  # refused before the store is loaded
            check_output(target, self._inputs)
        return write_export(self.models, self.edges, path, fmt, depth=False,
                            csv_safe=csv_safe, protected=self._inputs)

    def to_networkx(self) -> nx.DiGraph:
        """The whole graph as a networkx DiGraph (small hubs only)."""
        return _graph.to_networkx(self.models, self.edges)

    def observed_on(self) -> dt.date | None:
        """The day the data was observed: the latest ``fetched_at`` of the store (a
        crawl's fetch or an import's observation time), of the snapshot's records, or
        the snapshot file's date (what an import would give its records); None when
        unknown (frames without ``fetched_at``). Figures print it in their source line.

        Examples
        --------
        >>> import datetime as dt
        >>> t = dt.datetime(2025, 5, 6, 7, tzinfo=dt.UTC)
        >>> m = pl.DataFrame({"id": ["a"], "fetched_at": [t]})
        >>> Ecosystem.from_frames(m, pl.DataFrame({"parent": [], "child": []})).observed_on()
        datetime.date(2025, 5, 6)
        """
        if self._observed is None:
            self._observed = (self._find_observed(),)
        return self._observed[0]

    def _find_observed(self) -> dt.date | None:
        from .style import observed_date

        if self._models is not None:
            found = observed_date(self._models)
            if found is not None:
                return found
        for path in self._inputs:
            if is_snapshot(path):
                from .snapshot import observed_at

                return observed_at(path).date()
            return _store_observed(path)
        return None

    def __repr__(self) -> str:
        if self._models is None and self._lean is None:
            return f"<Ecosystem {self._source} (not loaded)>"
        return f"<Ecosystem {self._source}: {self._analysis.height:,} models, " \
               f"{self.edges.height:,} edges>"

    def _repr_html_(self) -> str:
        title = (
            f"Ecosystem {self._source}: {self._analysis.height:,} models, "
            f"{self.edges.height:,} edges — foundations by family size"
        )
        return _html_table(self.foundations(), title)

    # ---------------------------------------------------------------- dynamics (DESIGN §8)
    def lineages(self, overrides: str | Path | LineageTable | None = None
                 ) -> pl.DataFrame:
        """The lineage of every foundation (:func:`ecograph.lineage.lineages`): ``root``,
        ``vendor``, ``series``, ``params_b``, ``size_class``, ``released``, sorted by root.

        ``overrides`` is a user lineage file (CSV or TOML, :func:`ecograph.lineage.load_table`)
        extending the default table; it is read (and a malformed one reported with its
        line number) before the store. ``params_b`` uses the Hub's ``safetensors.total``
        when the store holds it.

        Examples
        --------
        >>> from ecograph.snapshot import bundled_snapshot
        >>> eco = Ecosystem.from_snapshot(bundled_snapshot())
        >>> eco.lineages().filter(pl.col("root") == "Qwen/Qwen2.5-7B").row(0)[1:5]
        ('Qwen (Alibaba)', 'Qwen2.5', 7.0, '5-9B')
        """
        from . import lineage

        table = lineage.resolve_table(overrides)
        ids = _graph.foundations(self._analysis, self.edges)
        return lineage.lineages(self.models, ids, table)

    def trends(
        self,
        by: str = "vendor",
        period: str = "quarter",
        relation: str | Iterable[str] | None = None,
        since: Any = None,
        until: Any = None,
        overrides: str | Path | LineageTable | None = None,
        *,
        top: int | None = None,
    ) -> pl.DataFrame:
        """New derivatives per period and group, with shares, leaders and concentration
        (:func:`ecograph.dynamics.trends`, DESIGN §8): ``ecograph trends``.

        ``by``: vendor, series, root or size; ``period``: month or quarter (``2024-07`` /
        ``2024-Q3``); ``relation``: count only derivatives of that relation (or those);
        ``since`` / ``until``: ISO dates (whole days); ``overrides``: a lineage file.
        ``top`` keeps the ``top`` largest groups and folds the rest into ``other``
        (:func:`ecograph.dynamics.top_groups`); by default every group is listed. The
        arguments and the lineage file are checked before the store is read.

        Raises
        ------
        InputError
            Unknown ``by`` / ``period`` / relation, ``since`` after ``until``, a malformed
            lineage file, or a store without creation dates.

        Examples
        --------
        >>> from ecograph.snapshot import bundled_snapshot
        >>> eco = Ecosystem.from_snapshot(bundled_snapshot())
        >>> t = eco.trends(by="vendor", period="quarter")
        >>> t.filter(pl.col("leader")).select("period", "group").tail(2).rows()
        [('2024-Q4', 'Qwen (Alibaba)'), ('2025-Q1', 'Meta')]
        >>> t.group_by("period").agg(pl.col("share").sum().round(9))["share"].unique().to_list()
        [1.0]
        """
        from . import dynamics, lineage

        table = lineage.resolve_table(overrides) if overrides is not None else None
        # check every argument on empty frames before anything is loaded
        dynamics.trends(pl.DataFrame(schema={"id": pl.Utf8, "created_at": pl.Datetime("us")}),
                        pl.DataFrame(schema={"parent": pl.Utf8, "child": pl.Utf8}),
                        by=by, period=period, relation=relation, since=since, until=until)
        if top is not None and top < 1:
            raise InputError(f"top must be at least 1, got {top}")
        # sizes read the Hub's parameter counts, which only the full models frame holds
        given = self.lineages(table) if by == "size" else None
        frame = dynamics.trends(self._analysis, self.edges, by=by, period=period,
                                relation=relation, since=since, until=until,
                                lineages=given, overrides=table, index=self.index)
        return dynamics.top_groups(frame, top)

    def response_times(self, roots: Iterable[str] | None = None) -> pl.DataFrame:
        """How fast the community answered each root, by relation
        (:func:`ecograph.dynamics.response_times`): ``first_by_relation_days`` and
        ``by_relation_30d``. ``roots=None``: every foundation, sorted by id; roots are
        resolved like user input.

        Examples
        --------
        >>> from ecograph.snapshot import bundled_snapshot
        >>> eco = Ecosystem.from_snapshot(bundled_snapshot())
        >>> row = eco.response_times(["qwen/qwen2.5-7b"]).row(0, named=True)
        >>> row["root"], row["first_by_relation_days"]["finetune"] > 0
        ('Qwen/Qwen2.5-7B', True)
        """
        from . import dynamics

        if roots is None:
            ids = _graph.foundations(self._analysis, self.edges)
        else:
            ids = [self.resolve(r) for r in ([roots] if isinstance(roots, str) else roots)]
        return dynamics.response_times(self._analysis, self.edges, ids, index=self.index)

    def plot_trends(
        self,
        kind: str = "share",
        *,
        by: str = "vendor",
        period: str = "quarter",
        top: int = 8,
        relation: str | Iterable[str] | None = None,
        since: Any = None,
        until: Any = None,
        overrides: str | Path | LineageTable | None = None,
        **kw: Any,
    ) -> Figure:
        """Who leads, drawn (:mod:`ecograph.plots_dynamics`): ``share`` (stacked area of
        each period's shares, the ``top`` groups and ``other``) or ``new`` (new derivatives
        per period, one line per group). Arguments as :meth:`trends`; ``kw`` go to the
        plot (``ax``, ``title``, ``size``, ``observed``). ``ecograph plot share|new``; also
        ``eco.plot("share", by=...)`` and :meth:`save_plot`."""
        from .plots_dynamics import trend_plot

        frame = self.trends(by, period, relation, since, until, overrides)
        if kw.get("ax") is None:
            kw.setdefault("observed", self.observed_on())
        return trend_plot(kind, frame, by=by, period=period, top=top, **kw)

    def migration(
        self,
        by: str = "vendor",
        period: str = "quarter",
        since: Any = None,
        until: Any = None,
        top: int | None = None,
        overrides: str | Path | LineageTable | None = None,
    ) -> Migration:
        """Retention and flows of authors between consecutive periods
        (:func:`ecograph.migration.migration`, DESIGN §8): ``ecograph migration``.

        ``retention`` (period, group, authors, returning, retention) and ``flows``
        (period, from_group, to_group, authors), ``period`` being the earlier period t of
        the pair (t, t+1); :meth:`~ecograph.migration.Migration.headlines` says it in
        sentences. ``by``, ``period``, ``since``, ``until``, ``overrides`` as in
        :meth:`trends`; ``top`` folds the groups beyond the ``top`` largest (by distinct
        authors) into ``other`` before counting.

        Raises
        ------
        InputError
            Unknown ``by`` / ``period``, a store without creation dates, no dated
            derivative with an author, or a single period (nothing to compare).

        Examples
        --------
        >>> from ecograph.snapshot import bundled_snapshot
        >>> eco = Ecosystem.from_snapshot(bundled_snapshot())
        >>> m = eco.migration(by="vendor", period="quarter")
        >>> m.retention.columns, m.flows.columns
        (['period', 'group', 'authors', 'returning', 'retention'], ['period', 'from_group', \
'to_group', 'authors'])
        """
        from . import lineage
        from . import migration as _migration

        _migration._check_choices(by, period)
        table = lineage.resolve_table(overrides) if overrides is not None else None
        if top is not None and top < 1:
            raise InputError(f"top must be at least 1, got {top}")
        given = self.lineages(table) if by == "size" else None
        return _migration.migration(self._analysis, self.edges, by=by, period=period,
                                    since=since, until=until, top=top, lineages=given,
                                    overrides=table, index=self.index)

    def succession(
        self,
        vendor: str | Iterable[str] | None = None,
        overrides: str | Path | LineageTable | None = None,
    ) -> pl.DataFrame:
        """How each series of a vendor handed over to the next
        (:func:`ecograph.migration.succession`, DESIGN §8): one row per consecutive pair
        of series (vendor, old, new, old_released, new_released, gap_days, crossover,
        half_life_days, migrated_90d, defected_90d); ``vendor=None``: every vendor with
        two dated series. ``ecograph succession``.

        Raises
        ------
        InputError
            A store without creation dates, an unknown vendor, a vendor with one series.
        """
        from . import lineage
        from . import migration as _migration

        table = lineage.resolve_table(overrides) if overrides is not None else None
        return _migration.succession(self._analysis, self.edges, vendor, overrides=table,
                                     index=self.index)

    def plot_migration(
        self,
        kind: str = "migration",
        *,
        by: str = "vendor",
        period: str = "quarter",
        top: int = 6,
        since: Any = None,
        until: Any = None,
        overrides: str | Path | LineageTable | None = None,
        vendor: str | None = None,
        **kw: Any,
    ) -> Figure:
        """How fast the community moves on, drawn (:mod:`ecograph.plots_migration`):
        ``migration`` (flows between consecutive periods, the ``top`` groups and
        ``other``), ``retention`` (one line per group) or ``succession`` (monthly new
        derivatives of each series of ``vendor``). ``ecograph plot migration|retention|
        succession``; ``kw`` go to the plot (``ax``, ``title``, ``size``, ``observed``)."""
        from . import plots_migration

        if kw.get("ax") is None:
            kw.setdefault("observed", self.observed_on())
        if kind == "succession":
            if not vendor:
                raise UsageError("the succession plot needs a vendor (e.g. Meta)")
            rows = self.succession(vendor, overrides)
            trend = self.trends("series", "month", None, None, None, overrides)
            lineage_frame = self.lineages(overrides)
            return plots_migration.succession_chart(rows, trend, lineage_frame,
                                                    vendor=rows.get_column("vendor")[0],
                                                    **kw)
        if kind not in ("migration", "retention"):
            raise UsageError(f"unknown plot {kind!r}; choose one of migration, retention, "
                             "succession")
        result = self.migration(by, period, since, until, top, overrides)
        return plots_migration.migration_plot(kind, result, **kw)

    # ---------------------------------------------------------------- trait drift
    #: ``models`` columns the traits are read from (DESIGN §9).
    TRAIT_COLUMNS: tuple[str, ...] = ("id", "status", "license", "license_tags", "gated",
                                      "pipeline_tag", "library_name")

    def _trait_frames(self) -> tuple[pl.DataFrame, pl.DataFrame, _graph.GraphIndex | None]:
        """``models`` with the trait columns, the edges, and the index when it fits them.

        A store-backed ecosystem loads only :data:`TRAIT_COLUMNS` (once); the index built
        for the metrics is reused when the rows are the same."""
        if self._models is not None:
            return self._models, self.edges, self.index
        if self._traits is None:
            assert self._loader is not None
            self._traits = self._loader(self.TRAIT_COLUMNS)
        traits, edges = self._traits
        lean = self._analysis
        if lean.get_column("id").equals(traits.get_column("id")):
            return traits, self.edges, self.index
        return traits, edges, None  # the store changed in between: index the new rows

    def drift(self, roots: Iterable[str] | str | None = None, *,
              trait: str = "license") -> pl.DataFrame:
        """What the forks of each root changed (DESIGN §9; :func:`ecograph.drift.drift`):
        ``license_known``, ``license_changed``, ``relicensed_permissive``,
        ``ungated_copies``, the top ``transitions`` of ``trait`` and the change counts of
        the other traits, one row per root.

        ``roots=None`` = every foundation, sorted by id; roots are resolved like user
        input (case-insensitive, URLs).

        >>> from ecograph.snapshot import bundled_snapshot
        >>> eco = Ecosystem.from_snapshot(bundled_snapshot())
        >>> eco.drift("google/gemma-2-9b").select("root", "license_known").row(0)
        ('google/gemma-2-9b', 29)
        """
        from .drift import drift as _drift

        ids = None if roots is None else [
            self.resolve(r) for r in ([roots] if isinstance(roots, str) else roots)]
        models, edges, index = self._trait_frames()
        return _drift(models, edges, ids, trait=trait, index=index)

    def changed_members(self, root: str, trait: str = "license") -> pl.DataFrame:
        """The members of ``root``'s family that change ``trait``, each with a path from
        the root (:func:`ecograph.drift.changed_members`): ``ecograph drift ROOT --list``."""
        from .drift import changed_members as _changed

        models, edges, index = self._trait_frames()
        return _changed(models, edges, self.resolve(root), trait, index=index)


class Family:
    """The family of one root: every node reachable from it (DESIGN §5).

    Examples
    --------
    >>> from ecograph.snapshot import bundled_snapshot
    >>> fam = Ecosystem.from_snapshot(bundled_snapshot()).family("google/gemma-2-9b")
    >>> fam.nodes.select("id", "depth").row(0)
    ('google/gemma-2-9b', 0)
    >>> fam.to_networkx().number_of_nodes() == fam.nodes.height
    True
    """

    def __init__(self, eco: Ecosystem, root: str) -> None:
        self.ecosystem = eco
        self.root = root
        self._frames: tuple[pl.DataFrame, pl.DataFrame] | None = None
        self._metrics: dict[str, Any] | None = None

    def _ensure(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        if self._frames is None:
            self._frames = _graph.family_frames(
                self.ecosystem.models, self.ecosystem.edges, self.root
            )
        return self._frames

    @property
    def nodes(self) -> pl.DataFrame:
        """The root (depth 0) and every family node with its ``depth``."""
        return self._ensure()[0]

    @property
    def edges(self) -> pl.DataFrame:
        """Edges among :attr:`nodes`."""
        return self._ensure()[1]

    def metrics(self, *, as_frame: bool = False) -> dict[str, Any] | pl.DataFrame:
        """Every DESIGN §5 metric of this family: a dict (or a one-row frame)."""
        frame = self.ecosystem.stats([self.root])
        return frame if as_frame else frame.row(0, named=True)

    def to_networkx(self) -> nx.DiGraph:
        """The family as a networkx DiGraph (node attrs: model columns and ``depth``)."""
        return _graph.to_networkx(self.nodes, self.edges)

    def hubs(self, n: int = 10) -> pl.DataFrame:
        """The ``n`` family nodes with the most children (``id``, ``author``, ``relation``,
        ``depth``, ``children``, ``downloads``), most children first, ties by id."""
        kids = (
            self.edges.filter(pl.col("parent") != pl.col("child"))
            .group_by("parent").len("children").rename({"parent": "id"})
        )
        return (
            self.nodes.join(kids, on="id", how="inner")
            .select("id", "author", "relation", "depth", "children", "downloads")
            .sort(["children", "id"], descending=[True, False])
            .head(n)
        )

    def fork_tree(self, **kw: Any) -> ForkTree:
        """The fork tree of this family (:func:`ecograph.render.fork_tree`): the Figure,
        its layout (what was folded) and caption. Keywords: ``style``
        (auto|tree|sunburst: a sunburst above 300 models by default), ``layout``
        (radial|layered), ``max_nodes``, ``labels``, ``title``, ``ax``, ``dpi``, ``size``
        (column|page|slide), ..."""
        from .render import fork_tree

        if kw.get("ax") is None:
            kw.setdefault("observed", self.ecosystem.observed_on())
        return fork_tree(self.nodes, self.edges, self.root, **kw)

    def draw(self, *, interactive: bool = False, **kw: Any) -> Figure | InteractiveTree:
        """The fork-tree Figure (``fork_tree(**kw).figure``), for notebooks.

        ``interactive=True``: the interactive tree instead
        (:func:`ecograph.html_tree.interactive_tree`; keywords ``layout``, ``max_nodes``,
        ``labels``, ``title``), which Jupyter shows inline (hover, click, zoom, pan)."""
        if interactive:
            from .html_tree import interactive_tree

            return interactive_tree(self.nodes, self.edges, self.root, **kw)
        return self.fork_tree(**kw).figure

    def render(self, path: str | os.PathLike[str], *, dpi: float = 200,
               **kw: Any) -> ForkTree | InteractiveTree:
        """Draw the fork tree and write it to ``path`` (``.png``, ``.svg`` or ``.pdf``; or
        ``.html``: one self-contained interactive page, :mod:`ecograph.html_tree`, where
        ``dpi``, ``size`` and ``observed`` do not apply; the suffix is checked before
        anything is drawn; written atomically): ``ecograph render``. Keywords as
        :meth:`fork_tree`; returns the drawn :class:`~ecograph.render.ForkTree` or
        :class:`~ecograph.html_tree.InteractiveTree`."""
        fmt = format_for(path, RENDER_FORMATS)
        check_output(path, self.ecosystem._inputs)
        if fmt == "html":
            from .atomic import atomic_write
            from .html_tree import interactive_tree

            if kw.pop("style", "auto") == "sunburst":
                raise UsageError("the interactive tree (.html) is a node-link tree: "
                                 "--style sunburst draws .png, .svg or .pdf")
            for picture_only in ("size", "observed"):  # the page fits the browser window
                kw.pop(picture_only, None)
            page = interactive_tree(self.nodes, self.edges, self.root, **kw)
            with atomic_write(path) as fh:
                fh.write(page.page)
            return page
        tree = self.fork_tree(dpi=dpi, **kw)
        tree.save(path, dpi=dpi)
        return tree

    def export(self, path: str | os.PathLike[str], fmt: str | None = None, *,
               csv_safe: bool = False) -> list[Path]:
        """Write the family (root included, each node with its ``depth``) to ``path`` as
        ``fmt``: graphml, gexf, json, csv, parquet or dot; default from the suffix, ``json``
        without one (:func:`ecograph.export.write_export`: atomically, never over the store
        or snapshot being read; ``csv_safe`` guards CSV cells against spreadsheet
        formulas). The graph is named after the root. Returns the files written (CSV and
        Parquet: a node and an edge table)."""
        from .export import write_export

        return write_export(self.nodes, self.edges, path, fmt, depth=True,
                            graph_name=self.root, csv_safe=csv_safe,
                            protected=self.ecosystem._inputs)

    def report(self, out_dir: str | os.PathLike[str], *, layout: str = "radial",
               dpi: int = 200, size: str = "page") -> dict[str, Path]:
        """Write the family's report into ``out_dir`` (:func:`ecograph.report.write_report`:
        metrics, fork tree, adoption and fan-out plots, report.html, pictures at the size
        preset ``size``); returns the paths by name."""
        from .report import write_report

        return write_report(self.ecosystem.models, self.ecosystem.edges, self.root,
                            Path(out_dir), layout=layout, dpi=dpi,
                            protected=self.ecosystem._inputs, size=size,
                            observed=self.ecosystem.observed_on())

    def quality(self) -> pl.DataFrame:
        """Data-quality problems of this family's models (root included), judged on the
        whole graph: a cross-family merge has all its parents, a missing parent outside
        the family is still reported."""
        report = self.ecosystem.quality()
        return report.filter(pl.col("model_id").is_in(self.nodes.get_column("id").implode()))

    def __len__(self) -> int:
        return self.nodes.height - 1

    def __repr__(self) -> str:
        return f"<Family {self.root}: {len(self):,} models>"

    def _repr_html_(self) -> str:
        m = self.metrics()
        rows = [
            (k, _fmt(m[k]))
            for k in _metrics.JSON_KEYS
            if k not in ("root", "top_authors")
        ]
        top = ", ".join(f"{t['author']} ({t['count']})" for t in m["top_authors"][:5])
        rows.append(("top_authors", top))
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
        )
        return (
            f"<div><b>Family of {html.escape(self.root)}</b>"
            f"<table><tbody>{body}</tbody></table></div>"
        )

    def drift(self, trait: str = "license", *,
              as_frame: bool = False) -> dict[str, Any] | pl.DataFrame:
        """What this family's forks changed (DESIGN §9): a dict with ``license_known``,
        ``license_changed``, ``relicensed_permissive``, ``ungated_copies``, the top
        ``transitions`` of ``trait`` (``[{from, to, count}, ...]``) and the change counts
        of the other traits (or a one-row frame)."""
        frame = self.ecosystem.drift([self.root], trait=trait)
        return frame if as_frame else frame.row(0, named=True)

    def changed_members(self, trait: str = "license") -> pl.DataFrame:
        """The members that change ``trait``: ``id``, ``depth``, ``from``, ``to`` and a
        ``path`` of ids from the root, so each claim can be checked on the Hub."""
        return self.ecosystem.changed_members(self.root, trait)



def crawl_hub(
    roots: Iterable[str],
    db: str | os.PathLike[str] = "ecograph.db",
    *,
    endpoint: str | None = None,
    token: str | bool | None = None,
    **options: Any,
) -> Any:
    """Crawl the families of ``roots`` from the Hub (or any endpoint) into the store ``db``.

    The library form of ``ecograph crawl`` (:func:`ecograph.crawl.plan`, then
    :func:`ecograph.crawl.run`): ``options`` are ``progress`` and those of
    :func:`~ecograph.crawl.plan` (``direction``, ``strategy``, ``since``, ``max_depth``,
    ``max_models``, ``relations``, ``workers``...). Unknown roots fail before the store is
    created. Returns the :class:`~ecograph.crawl.CrawlResult`; open the store with
    :func:`open` to analyse it.
    """
    from .crawl import plan, run
    from .hub import HubClient
    from .store import Store

    client = HubClient(endpoint, token)
    progress = options.pop("progress", None)
    crawl_plan = plan(client, list(roots), **options)
    with Store.open(db) as store:
        return run(store, client, crawl_plan, progress)


def import_file(
    path: str | os.PathLike[str],
    db: str | os.PathLike[str] = "ecograph.db",
    *,
    progress: Any = None,
) -> Any:
    """Import a snapshot (JSONL, JSONL.gz or a ``models.parquet`` dump) into the store
    ``db`` without HTTP: the library form of ``ecograph import``. Returns the
    :class:`~ecograph.importer.ImportResult`."""
    from .importer import import_snapshot
    from .store import Store

    with Store.open(db) as store:
        return import_snapshot(store, path, progress=progress)
