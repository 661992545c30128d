"""A family report: metrics (JSON + Markdown), pictures and one self-contained HTML page.

:func:`write_report` writes into a directory::

    metrics.json   every DESIGN §5 metric of the family (ecograph.metrics)
    metrics.md     the same as Markdown tables
    fork_tree.png  the fork tree (ecograph.render)
    adoption.png   cumulative derivatives since the root's release
    fanout.png     fan-out distribution (log-log)
    drift.png      what its forks changed: the top licence transitions (only when a
                   member changed its licence; ecograph.drift_plot)
    report.html    all of the above on one page, images embedded (base64), every model
                   id and author HTML-escaped, with the interactive fork tree
                   (:mod:`ecograph.html_tree`: hover, click to the Hub, zoom, pan) inline

Text from the data is cleaned of control and invisible characters
(:func:`ecograph.escape.plain_text`) and escaped for its file: HTML-escaped in
report.html, backslash-escaped Markdown in metrics.md (no link, image, HTML or table
cell can be smuggled in through an id or an author: the file is meant to be pasted into
pages). Every file is written atomically (:mod:`ecograph.atomic`).

``report.html`` has a section "Where its builders went next" (DESIGN §8,
:func:`next_record`): the authors who built on the root's series and published in the
next quarter, the share who stayed and where the others went.

``metrics.md`` and ``report.html`` end with the section "What its forks changed"
(DESIGN §9, :func:`ecograph.drift.drift`): licence changes, relicensing to a permissive
licence, ungated copies, gating / task / library changes and the top licence transitions.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from .atomic import atomic_write, check_output
from .escape import markdown_literal, plain_text
from .html_tree import interactive_tree
from .render import fork_tree, save_figure

__all__ = ["write_report", "metrics_markdown", "metrics_record", "drift_record",
           "drift_markdown", "next_record", "next_html"]

_SCALARS = [
    ("size", "family size (derivatives)"),
    ("direct_children", "direct children"),
    ("max_depth", "max depth (generations)"),
    ("mean_depth", "mean depth"),
    ("longest_chain", "longest chain"),
    ("max_fanout", "max fan-out"),
    ("max_fanout_node", "max fan-out model"),
    ("mean_fanout", "mean fan-out of parents"),
    ("leaf_share", "leaf share"),
    ("n_authors", "authors"),
    ("community_share", "community share"),
    ("community_download_share", "community download share"),
    ("author_hhi", "author concentration (HHI)"),
    ("family_downloads", "family downloads (30 d)"),
    ("root_downloads", "root downloads (30 d)"),
    ("downloads_ratio", "family / root downloads"),
    ("first_derivative_days", "days to first derivative"),
    ("derivatives_30d", "derivatives in its first 30 days"),
    ("derivatives_90d", "derivatives in its first 90 days"),
    ("bridges", "bridges (cross-family)"),
]
_SHARES = {"leaf_share", "community_share", "community_download_share"}


def metrics_record(models: pl.DataFrame, edges: pl.DataFrame, root: str) -> dict[str, Any]:
    """All metrics of ``root``'s family as a JSON-ready dict (ecograph.metrics)."""
    from .metrics import METRIC_COLUMNS, family_metrics, to_records

    return to_records(family_metrics(models, edges, [root]), keys=METRIC_COLUMNS)[0]


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if key in _SHARES:
            return f"{v:.1%}"
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


#: Title of the response-times section (DESIGN §8) in metrics.md and report.html.
RESPONSE_TITLE = "How fast the community responded"


def _response_rows(rec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(relation, days to its first family member, members within 30 days) per relation
    from ``first_by_relation_days`` / ``by_relation_30d`` (``unknown`` only when present).

    >>> _response_rows({"first_by_relation_days": {"finetune": 2.0, "unknown": None},
    ...                 "by_relation_30d": {"finetune": 3, "unknown": 0}})
    [('finetune', '2.00', '3')]
    """
    first = rec.get("first_by_relation_days") or {}
    within = rec.get("by_relation_30d") or {}
    return [(r, _fmt("days", first.get(r)), _fmt("count", within.get(r)))
            for r in dict.fromkeys([*first, *within])
            if r != "unknown" or first.get(r) is not None or within.get(r)]


def metrics_markdown(rec: dict[str, Any]) -> str:
    """Markdown tables of a metrics record (headline numbers, relations, authors, months).

    Ids, authors and relations are literal text: code spans, or backslash-escaped when
    they hold anything but id characters (:func:`ecograph.escape.markdown_literal`).

    >>> print(metrics_markdown({"root": "a/r", "size": 2}).splitlines()[0])
    # Family of `a/r`
    >>> md = metrics_markdown({"root": "a/r", "top_authors": [
    ...     {"author": "[x](http://e.vil)", "count": 1, "downloads": 0}]})
    >>> print(md.splitlines()[-1])
    | \\[x\\]\\(http\\://e\\.vil\\) | 1 | 0 |
    """
    md = markdown_literal
    lines = [f"# Family of {md(rec['root'])}", "", "| metric | value |", "|---|---|"]
    for key, label in _SCALARS:
        if key in rec:
            value = rec[key]
            cell = md(value) if isinstance(value, str) else _fmt(key, value)
            lines.append(f"| {label} | {cell} |")
    for key, title in (("by_relation", "By relation"), ("direct_by_relation",
                                                          "Direct children by relation")):
        if rec.get(key):
            lines += ["", f"## {title}", "", "| relation | models |", "|---|---|"]
            lines += [f"| {md(r)} | {n:,} |" for r, n in rec[key].items()]
    if response := _response_rows(rec):
        lines += ["", f"## {RESPONSE_TITLE}", "",
                  "| relation | days to first | within 30 days |", "|---|---|---|"]
        lines += [f"| {md(r)} | {days} | {n} |" for r, days, n in response]
    if rec.get("depth_counts"):
        lines += ["", "## Generations", "", "| depth | models |", "|---|---|"]
        lines += [f"| {i} | {n:,} |" for i, n in enumerate(rec["depth_counts"], 1)]
    if rec.get("top_authors"):
        lines += ["", "## Top authors", "", "| author | models | downloads (30 d) |",
                  "|---|---|---|"]
        lines += [f"| {md(a['author'])} | {a['count']:,} | "
                  f"{(a['downloads'] or 0):,} |" for a in rec["top_authors"]]
    if rec.get("monthly"):
        lines += ["", "## Derivatives per month", "", "| month | models |", "|---|---|"]
        lines += [f"| {m['month'][:7]} | {m['count']:,} |" for m in rec["monthly"]]
    return "\n".join(lines) + "\n"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{_escape(alt)}" src="data:image/png;base64,{data}">'
            f"</figure>")


def _escape(value: object, *, keep_newlines: bool = False) -> str:
    """HTML-escaped clean text (quotes too: safe in attributes)."""
    return html.escape(plain_text(value, keep_newlines=keep_newlines), quote=True)


def _html(rec: dict[str, Any], nodes: pl.DataFrame, images: dict[str, Path],
          caption: str, interactive: str = "") -> str:
    e = _escape
    root = rec["root"]
    rows = "".join(f"<tr><th>{e(label)}</th><td>{e(_fmt(k, rec.get(k)))}</td></tr>"
                   for k, label in _SCALARS if k in rec)
    rel = "".join(f"<tr><th>{e(r)}</th><td>{n:,}</td></tr>"
                  for r, n in (rec.get("by_relation") or {}).items())
    response = "".join(f"<tr><th>{e(r)}</th><td>{e(days)}</td><td>{e(n)}</td></tr>"
                       for r, days, n in _response_rows(rec))
    authors = "".join(
        f"<tr><td>{e(str(a['author']))}</td><td>{a['count']:,}</td>"
        f"<td>{(a['downloads'] or 0):,}</td></tr>" for a in rec.get("top_authors") or [])
    cols = [c for c in ("id", "author", "relation", "depth", "downloads", "likes")
            if c in nodes.columns]
    top = (nodes.filter(pl.col("id") != root)
           .sort(["downloads", "id"], descending=[True, False], nulls_last=True)
           .head(25).select(cols))
    models = "".join(
        "<tr>" + "".join(f"<td>{e(_fmt(c, v))}</td>" for c, v in zip(cols, row, strict=True))
        + "</tr>" for row in top.iter_rows())
    head = "".join(f"<th>{e(c)}</th>" for c in cols)
    css = ("body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;"
           "margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;"
           "margin:1em 0}th,td{border-bottom:1px solid #ddd;padding:.25em .7em;"
           "text-align:left}td{font-variant-numeric:tabular-nums}img{max-width:100%}"
           "figure{margin:1.5em 0}.cap{color:#555;font-size:.9em;white-space:pre-line}"
           # tables side by side keep their own height (flex would stretch the shorter
           # one's rows to the taller one's height)
           ".grid{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}"
           ".grid table{margin:0}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ecograph report: {e(root)}</title>
<style>{css}</style>
</head>
<body>
<h1>Family of <code>{e(root)}</code></h1>
<h2>Fork tree</h2>
{_img(images['fork_tree'], f'fork tree of {root}')}
<p class="cap">{e(caption, keep_newlines=True)}</p>
{f'<h2>Interactive fork tree</h2>{chr(10)}{interactive}' if interactive else ''}
<h2>Metrics</h2>
<div class="grid">
<table>{rows}</table>
<table><tr><th>relation</th><th>models</th></tr>{rel}</table>
</div>
<h2>{RESPONSE_TITLE}</h2>
<table><tr><th>relation</th><th>days to first</th><th>within 30 days</th></tr>{response}</table>
<h2>Adoption</h2>
{_img(images['adoption'], 'adoption curve')}
<h2>Fan-out</h2>
{_img(images['fanout'], 'fan-out distribution')}
<h2>Top authors</h2>
<table><tr><th>author</th><th>models</th><th>downloads (30 d)</th></tr>{authors}</table>
<h2>Most downloaded derivatives</h2>
<table><tr>{head}</tr>{models}</table>
<p class="cap">Written by ecograph. Downloads are the Hub's 30-day counts.</p>
</body>
</html>
"""


def write_report(
    models: pl.DataFrame,
    edges: pl.DataFrame,
    root: str,
    out_dir: str | Path,
    *,
    layout: str = "radial",
    max_nodes: int = 1500,
    dpi: int = 200,
    protected: Iterable[str | os.PathLike[str]] = (),
    size: str = "page",
    observed: dt.date | None = None,
) -> dict[str, Path]:
    """Write the report on ``root``'s family (an exact id) into ``out_dir`` (created if
    needed); return the paths by name (``metrics_json``, ``metrics_md``, ``fork_tree``,
    ``adoption``, ``fanout``, ``html``; ``drift`` when a member changed its licence).

    Each file is written atomically. A file that would overwrite one of ``protected``
    (the store or snapshot being read; :func:`ecograph.atomic.check_output`) is refused
    before anything is written. ``size`` is the pictures' size preset
    (:mod:`ecograph.style`); ``observed`` the date in their source line (default: the
    latest ``fetched_at`` of ``models``).
    """
    from .graph import family_frames
    from .plots import adoption_curves, fanout_distribution
    from .style import observed_date, preset

    preset(size)  # an unknown size is refused before anything is written
    out = Path(out_dir)
    names = {"metrics_json": "metrics.json", "metrics_md": "metrics.md",
             "fork_tree": "fork_tree.png", "adoption": "adoption.png",
             "fanout": "fanout.png", "html": "report.html"}
    protected = tuple(protected)
    check_output(out, protected)
    paths = {key: check_output(out / name, protected) for key, name in names.items()}
    out.mkdir(parents=True, exist_ok=True)
    rec = metrics_record(models, edges, root)
    nodes, fam_edges = family_frames(models, edges, root)
    with atomic_write(paths["metrics_json"]) as fh:
        fh.write(json.dumps(rec, indent=2, ensure_ascii=False) + "\n")
    drift_row = drift_record(models, edges, root)
    with atomic_write(paths["metrics_md"]) as fh:
        fh.write(metrics_markdown(rec) + "\n" + drift_markdown(drift_row))
    when = observed or observed_date(models)
    tree = fork_tree(nodes, fam_edges, root, layout=layout, max_nodes=max_nodes, dpi=dpi,
                     size=size, observed=when)
    tree.save(paths["fork_tree"], dpi=dpi)
    fam = [(root, nodes, fam_edges)]
    save_figure(adoption_curves(fam, size=size, observed=when), paths["adoption"], dpi=dpi)
    save_figure(fanout_distribution(fam, size=size, observed=when), paths["fanout"],
                dpi=dpi)
    if drift_row["transitions"]:
        from .drift_plot import drift_transitions

        paths["drift"] = check_output(out / "drift.png", protected)
        save_figure(drift_transitions([drift_row], size=size, observed=when), paths["drift"],
                    dpi=dpi)
    live = interactive_tree(nodes, fam_edges, root, layout=layout, max_nodes=max_nodes)
    page = _html(rec, nodes, paths, tree.caption, live.fragment)
    section = next_html(next_record(models, edges, root)) + _drift_html(
        drift_row, paths.get("drift"))
    if _DRIFT_SLOT in page:  # before the closing caption
        page = page.replace(_DRIFT_SLOT, section + _DRIFT_SLOT, 1)
    else:
        page = page.replace("</body>", section + "</body>", 1)
    with atomic_write(paths["html"]) as fh:
        fh.write(page)
    return paths


# --------------------------------------------------------------------------- trait drift

_DRIFT_TITLE = "What its forks changed"
_DRIFT_SLOT = '<p class="cap">Written by ecograph.'


def drift_record(models: pl.DataFrame, edges: pl.DataFrame, root: str) -> dict[str, Any]:
    """The trait drift of ``root``'s family (:func:`ecograph.drift.drift`) as a dict."""
    from .drift import drift

    return drift(models, edges, [root]).row(0, named=True)


def _drift_sentences(row: dict[str, Any]) -> list[str]:
    known, changed = row["license_known"], row["license_changed"]
    if known:
        out = [f"{changed:,} of the {known:,} members with a known licence "
               f"({changed / known:.0%}) declare a licence different from that of every parent "
               "that declares one."]
    else:
        out = ["No member declares a licence."]
    if row["relicensed_permissive"]:
        out.append(f"{row['relicensed_permissive']:,} of them went from a restricted or "
                   "non-commercial licence to a permissive one.")
    if row["ungated_copies"]:
        out.append(f"The foundation is gated; {row['ungated_copies']:,} members are "
                   "ungated copies.")
    others = ", ".join(f"{label} {row[f'{trait}_changed']:,} of {row[f'{trait}_known']:,}"
                       for trait, label in (("gated", "gating"), ("pipeline", "task"),
                                            ("library", "library")))
    out.append(f"Other changes (members / members with a known value): {others}.")
    return out


def drift_markdown(row: dict[str, Any]) -> str:
    """The "What its forks changed" section as Markdown (numbers, then transitions).

    >>> row = {"license_known": 4, "license_changed": 1, "relicensed_permissive": 1,
    ...        "ungated_copies": 0, "gated_known": 4, "gated_changed": 0,
    ...        "pipeline_known": 4, "pipeline_changed": 0, "library_known": 2,
    ...        "library_changed": 1,
    ...        "transitions": [{"from": "llama3", "to": "mit", "count": 1}]}
    >>> print(drift_markdown(row).splitlines()[0])
    ## What its forks changed
    """
    lines = [f"## {_DRIFT_TITLE}", "", *(" ".join(_drift_sentences(row)).splitlines()), "",
             "| trait | members with a known value | changed |", "|---|---|---|"]
    lines += [f"| {t} | {row[f'{t}_known']:,} | {row[f'{t}_changed']:,} |"
              for t in ("license", "gated", "pipeline", "library")]
    lines += ["", f"relicensed permissive: {row['relicensed_permissive']:,}; "
              f"ungated copies: {_fmt('', row['ungated_copies'])}"]
    if row["transitions"]:
        lines += ["", "### Top licence transitions", "", "| from | to | members |",
                  "|---|---|---|"]
        lines += [f"| {markdown_literal(t['from'])} | {markdown_literal(t['to'])} "
                  f"| {t['count']:,} |" for t in row["transitions"]]
    return "\n".join(lines) + "\n"


def _drift_html(row: dict[str, Any], image: Path | None) -> str:
    e = html.escape
    parts = [f"<h2>{_DRIFT_TITLE}</h2>",
             f"<p>{e(' '.join(_drift_sentences(row)))}</p>"]
    if image is not None:
        parts.append(_img(image, "top licence transitions"))
    if row["transitions"]:
        body = "".join(f"<tr><td>{e(t['from'])}</td><td>{e(t['to'])}</td>"
                       f"<td>{t['count']:,}</td></tr>" for t in row["transitions"])
        parts.append("<table><tr><th>from</th><th>to</th><th>members</th></tr>"
                     f"{body}</table>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- migration

_NEXT_TITLE = "Where its builders went next"


def next_record(models: pl.DataFrame, edges: pl.DataFrame, root: str, *, pairs: int = 2,
                destinations: int = 5) -> dict[str, Any]:
    """Where the builders of ``root``'s series went next (DESIGN §8 retention and flows by
    series, per quarter): the ``pairs`` most recent quarter pairs (t, t+1) in which some
    of the series' builders published again, each with ``authors``, ``returning``,
    ``retention`` and the ``destinations`` largest flows. ``rows`` is empty and
    ``note`` says why when there is not enough data.

    >>> from datetime import datetime as dt
    >>> L2, M7 = "meta-llama/Llama-2-7b", "mistralai/Mistral-7B-v0.1"
    >>> m = pl.DataFrame({"id": [L2, M7, "u/a", "u/b", "v/a", "v/b"],
    ...     "created_at": [dt(2023, 7, 1), dt(2023, 9, 1), dt(2023, 10, 2), dt(2024, 1, 5),
    ...                    dt(2023, 11, 1), dt(2024, 2, 1)]})
    >>> e = pl.DataFrame({"parent": [L2, M7, L2, L2], "child": ["u/a", "u/b", "v/a", "v/b"]})
    >>> rec = next_record(m, e, L2)
    >>> rec["series"], rec["rows"][0]["retention"], rec["rows"][0]["went_to"]
    ('Llama 2', 0.5, [('Mistral 7B', 1)])
    """
    from .errors import InputError
    from .lineage import lineages
    from .migration import _next_period, migration

    series = lineages(models, [root]).get_column("series")[0]
    record: dict[str, Any] = {"series": series, "rows": [], "note": None}
    if series is None:
        record["note"] = "The foundation has no series: nothing to follow."
        return record
    try:
        result = migration(models, edges, by="series", period="quarter")
    except InputError as err:
        record["note"] = f"Not enough data to follow its builders: {err}."
        return record
    mine = (result.retention.filter((pl.col("group") == series) & (pl.col("authors") > 0))
            .sort("period").tail(pairs))
    for t, _, authors, returning, retention in mine.iter_rows():
        went = (result.flows.filter((pl.col("period") == t) & (pl.col("from_group") == series))
                .sort(["authors", "to_group"], descending=[True, False]).head(destinations))
        record["rows"].append({"period": t, "next": _next_period(t), "authors": authors,
                               "returning": returning, "retention": retention,
                               "went_to": went.select("to_group", "authors").rows()})
    if not record["rows"]:
        record["note"] = (f"No builder of {series} published in two consecutive quarters: "
                          "nothing to follow.")
    return record


def next_html(record: dict[str, Any]) -> str:
    """The "Where its builders went next" section (values escaped)."""
    e = html.escape
    parts = [f"<h2>{_NEXT_TITLE}</h2>"]
    if not record["rows"]:
        parts.append(f"<p>{e(plain_text(record['note'] or ''))}</p>")
        return "\n".join(parts) + "\n"
    series = e(plain_text(record["series"]))
    parts.append(f"<p>Of the authors who built on {series} in a quarter and published "
                 "again in the next, the share who built on it again and the series the "
                 "others built on (an author who moved to two counts in both).</p>")
    body = ""
    for r in record["rows"]:
        went = ", ".join(f"{e(plain_text(g))} ({n:,})" for g, n in r["went_to"]) or "-"
        body += (f"<tr><td>{e(r['period'])} → {e(r['next'])}</td><td>{r['authors']:,}</td>"
                 f"<td>{r['returning']:,} ({r['retention']:.0%})</td><td>{went}</td></tr>")
    parts.append("<table><tr><th>quarter</th><th>authors</th><th>built on it again</th>"
                 f"<th>moved to (authors)</th></tr>{body}</table>")
    return "\n".join(parts) + "\n"
