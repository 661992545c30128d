"""The interactive fork tree: one self-contained HTML page (pure string building, no I/O).

:func:`interactive_tree` lays a family out exactly like the static picture
(:mod:`ecograph.layout`: BFS spanning tree, siblings by relation, leaves folded into "+N"
badges above the node budget) and writes it as an inline SVG with a few lines of plain
JavaScript and CSS: hover shows a tooltip (id, relation, author, downloads, created date),
a click opens the model on the Hub (``https://huggingface.co/ID`` in a new tab), the wheel
zooms, a drag pans and a button resets the view. Nothing is fetched when the page is
viewed: no CDN, no external font, no image.

Every text from the data is hostile until proven otherwise (an id may hold ``<script>``,
quotes or ``</svg>``): text is cleaned with :func:`ecograph.escape.plain_text` and
HTML-escaped where it lands in markup, links are percent-encoded below
``https://huggingface.co/`` (:func:`hub_url`), and the tooltip data is a JSON block
(``<script type="application/json">``) in which ``<``, ``>`` and ``&`` are ``\\u``-escaped
(:func:`script_json`), so nothing in it can end the block. The script fills the tooltip
with ``textContent`` only.

The page drawn is capped by the node budget, so a 50,000-member family stays a page of
about 1,500 markers. Opening the file with ``#selftest`` at the end of its URL makes the
script hover a node and zoom once, and write what it found into a ``<pre id="eg-selftest">``
(the browser test reads it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np
import polars as pl

from .errors import UnknownModelError, UsageError
from .escape import plain_text
from .layout import KEYED_BADGE_SHARE, TreeLayout, spanning_tree, tree_layout

__all__ = [
    "HUB_URL",
    "TREE_COLORS",
    "TreeCounts",
    "InteractiveTree",
    "interactive_tree",
    "hub_url",
    "script_json",
]

#: Where a click on a node leads: the model's page on the Hub.
HUB_URL = "https://huggingface.co/"

#: Okabe-Ito colours per relation, root and badge: the same as
#: :data:`ecograph.render.RELATION_COLORS` (a test keeps them equal); spelled here so that
#: an HTML page does not load matplotlib.
TREE_COLORS: dict[str, str] = {
    "finetune": "#0072B2",
    "quantized": "#E69F00",
    "adapter": "#009E73",
    "merge": "#CC79A7",
    "unknown": "#999999",
    "root": "#000000",
    "badge": "#7f7f7f",
    "edge": "#a6a6a6",
}
_RELATIONS = ["finetune", "quantized", "adapter", "merge", "unknown"]
_REL_ORDER = {r: i for i, r in enumerate(_RELATIONS)}
_VIEW = 1000.0  # the SVG's user units: the tree fits a 1000-wide box
_LABELS = 12


def hub_url(model_id: object) -> str:
    """The Hub page of ``model_id``: cleaned, percent-encoded (only ``/`` kept), below
    :data:`HUB_URL`, so no id can leave huggingface.co or become a ``javascript:`` link.

    >>> hub_url("meta-llama/Llama-3.1-8B")
    'https://huggingface.co/meta-llama/Llama-3.1-8B'
    >>> hub_url('javascript:alert("x")//<b>')
    'https://huggingface.co/javascript%3Aalert%28%22x%22%29//%3Cb%3E'
    """
    return HUB_URL + quote(plain_text(model_id), safe="/")


def script_json(value: Any) -> str:
    r"""``value`` as JSON that can sit inside a ``<script>`` element of an HTML page:
    ``<``, ``>`` and ``&`` written as ``\u`` escapes (so ``</script>`` and ``<!--`` cannot
    appear), as are the JavaScript line separators U+2028 / U+2029.

    >>> script_json({"id": "</script><b>&"})
    '{"id":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'
    >>> json.loads(script_json(["a\u2028b"])) == ["a\u2028b"]
    True
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


@dataclass(frozen=True)
class TreeCounts:
    """Counts shown in the title: family size (root excluded), by relation, depth."""

    size: int
    by_relation: dict[str, int]
    max_depth: int

    def line(self) -> str:
        """``1,234 derivatives · finetune 800 · quantized 400 · ... · 3 generations``.

        >>> TreeCounts(2, {"finetune": 2}, 1).line()
        '2 derivatives · finetune 2 · 1 generation'
        """
        parts = [f"{self.size:,} derivative{'s' if self.size != 1 else ''}"]
        parts += [f"{plain_text(r)} {n:,}" for r, n in self.by_relation.items()]
        parts.append(f"{self.max_depth} generation{'s' if self.max_depth != 1 else ''}")
        return " · ".join(parts)


@dataclass(frozen=True)
class InteractiveTree:
    """An interactive fork tree: the HTML fragment and what it shows.

    Display it in Jupyter (``_repr_html_``), or write :attr:`page` to a file
    (:meth:`ecograph.api.Family.render` with a ``.html`` path does, atomically).

    Attributes
    ----------
    fragment
        A ``<div>`` with the SVG, its data, CSS and script: embeddable in any page
        (several on one page work independently).
    layout
        The :class:`~ecograph.layout.TreeLayout` drawn (``layout.folded`` models folded
        into ``len(layout.badge_parent)`` badges).
    counts
        The family's counts shown in the title.
    root
        The family's root id.
    """

    fragment: str
    layout: TreeLayout
    counts: TreeCounts
    root: str
    #: always a node-link tree (as :class:`ecograph.render.ForkTree` ``style``)
    style: str = "tree"

    @property
    def folded(self) -> int:
        """Models folded into "+N" badges instead of drawn as their own marker."""
        return self.layout.folded

    @property
    def n_groups(self) -> int:
        """Badges holding the folded models."""
        return len(self.layout.badge_parent)

    @property
    def page(self) -> str:
        """A whole HTML document holding the fragment (what ``tree.html`` contains)."""
        title = html.escape(f"Fork tree of {plain_text(self.root)}", quote=True)
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{title}</title>\n<style>body{{margin:1.2em;"
                "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222}"
                f"</style>\n</head>\n<body>\n{self.fragment}\n</body>\n</html>\n")

    def _repr_html_(self) -> str:
        return self.fragment


def _text(value: object) -> str:
    return html.escape(plain_text(value), quote=True)


def _num(value: float) -> str:
    """A coordinate, short and deterministic."""
    out = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def _column(nodes: pl.DataFrame, name: str, default: Any) -> list[Any]:
    return nodes[name].to_list() if name in nodes.columns else [default] * nodes.height


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    return "" if value is None else plain_text(value)[:10]


def interactive_tree(
    nodes: pl.DataFrame,
    edges: pl.DataFrame,
    root: str,
    *,
    layout: str = "radial",
    max_nodes: int | None = 1500,
    labels: int = _LABELS,
    title: str | None = None,
) -> InteractiveTree:
    """The interactive fork tree of ``root``'s family (an HTML fragment; nothing written).

    Parameters
    ----------
    nodes, edges, root
        The family's models (``id``, optional ``relation``, ``author``, ``downloads``,
        ``created_at``, ``status``) and edges (``parent``, ``child``). Nodes not
        reachable from ``root`` are ignored.
    layout
        ``"radial"`` (root at the centre) or ``"layered"`` (root at the top).
    max_nodes
        Node budget (visible nodes + badges), as for the static tree (``None``: no fold).
    labels
        How many of the most downloaded models get a label (the root always has one).
    title
        Main title (default ``Fork tree of ROOT``); the counts line is always shown.

    Raises
    ------
    UnknownModelError
        If ``root`` is not among ``nodes``.
    UsageError
        For an unknown ``layout``.

    Examples
    --------
    >>> n = pl.DataFrame({"id": ["r", "a/<x>"], "relation": [None, "finetune"]})
    >>> e = pl.DataFrame({"parent": ["r"], "child": ["a/<x>"]})
    >>> t = interactive_tree(n, e, "r")
    >>> t.counts.size, t.fragment.count("<svg"), "a/<x>" in t.fragment
    (1, 1, False)
    """
    if layout not in ("radial", "layered"):
        raise UsageError(f"unknown layout {layout!r}; choose radial or layered")
    ids = nodes["id"].to_list()
    if root not in set(ids):
        raise UnknownModelError(root)
    rel_col = _column(nodes, "relation", None)
    rel = {m: (r if r in _REL_ORDER else "unknown") if r else "unknown"
           for m, r in zip(ids, rel_col, strict=True)}
    order_key = {m: (_REL_ORDER[r],) for m, r in rel.items()}
    pairs = list(zip(edges["parent"].to_list(), edges["child"].to_list(), strict=True))
    tree = spanning_tree(ids, pairs, root, order_key=order_key)
    codes = [_REL_ORDER[rel[m]] for m in tree.ids]
    dl_of = dict(zip(ids, _column(nodes, "downloads", None), strict=True))
    reach = [float(dl_of.get(m) or 0) for m in tree.ids]  # ties: most downloaded expanded
    lay = tree_layout(tree, kind=layout, max_nodes=max_nodes, key=codes, priority=reach)
    if len(lay.badge_parent) > KEYED_BADGE_SHARE * lay.n_markers:  # the static tree's rule
        lay = tree_layout(tree, kind=layout, max_nodes=max_nodes, key=codes, one_badge=True,
                          priority=reach)
    by: dict[str, int] = {}
    for m in tree.ids[1:]:
        by[rel[m]] = by.get(rel[m], 0) + 1
    counts = TreeCounts(len(tree) - 1, {r: by[r] for r in _RELATIONS if r in by},
                        int(tree.depth.max()) if len(tree) else 0)

    row_of = {m: k for k, m in enumerate(ids)}
    shown = [tree.ids[i] for i in lay.visible]
    rows = [row_of[m] for m in shown]
    authors = _column(nodes, "author", None)
    dls = _column(nodes, "downloads", None)
    created = _column(nodes, "created_at", None)
    status = _column(nodes, "status", "ok")
    data = {
        "hub": HUB_URL,
        "nodes": [[plain_text(m), "root" if k == 0 else rel[m],
                   plain_text(authors[r]) if authors[r] is not None else "",
                   int(dls[r] or 0), _date(created[r])]
                  for k, (m, r) in enumerate(zip(shown, rows, strict=True))],
        "badges": [[int(np.searchsorted(lay.visible, p)), int(c), _RELATIONS[int(key)]]
                   for p, c, key in zip(lay.badge_parent, lay.badge_count, lay.badge_key,
                                        strict=True)],
    }
    dl = np.array([float(dls[r] or 0) for r in rows])
    hollow = [status[r] not in (None, "ok") for r in rows]
    svg = _svg(lay, [rel[m] for m in shown], dl, hollow, shown, labels, root)
    heading = plain_text(title) if title else f"Fork tree of {plain_text(root)}"
    frag_id = "eg-" + hashlib.sha1((root + svg).encode("utf-8", "replace")).hexdigest()[:10]
    fragment = _fragment(frag_id, heading, counts, lay, max_nodes, svg, data)
    return InteractiveTree(fragment=fragment, layout=lay, counts=counts, root=root)


def _svg(lay: TreeLayout, rels: list[str], dl: np.ndarray, hollow: list[bool],
         shown: list[str], labels: int, root: str) -> str:
    """The SVG: edges (one path per colour), extra parents, badges, nodes (links), labels."""
    tree = lay.tree
    xs = np.concatenate([lay.x, lay.badge_x])
    ys = np.concatenate([lay.y, lay.badge_y])
    if lay.kind == "radial":
        span = max(float(np.ptp(xs)) if len(xs) else 0.0, float(np.ptp(ys)) if len(ys) else 0.0,
                   1.0)
        sx = sy = _VIEW / span
        r_all = np.hypot(xs[1:], ys[1:])
        r_in = float(r_all.min()) if len(r_all) else 1.0
        pitch = max(r_in, 1.0) * 2 * math.pi / max(lay.n_slots, 1) * sx
        gap = sx
    else:
        sx = max(_VIEW / max(float(np.ptp(xs)) if len(xs) else 1.0, 1.0), 6.0)
        sy = 80.0
        pitch, gap = sx, sy
    px, py = xs * sx, -ys * sy  # SVG y points down
    base = float(np.clip(0.42 * min(pitch, 0.45 * gap), 1.2, 9.0))
    logd = np.log10(1.0 + dl)
    top = max(float(logd.max()) if len(logd) else 1.0, 1.0)
    rad = base * np.sqrt(0.35 + 1.65 * logd / top)
    if len(rad):
        rad[0] = max(base * 1.8, 6.0)
    brad = base * (0.8 + 0.35 * np.log10(np.maximum(lay.badge_count, 1)))
    nv = len(lay.visible)
    k_of = {int(i): k for k, i in enumerate(lay.visible)}
    out: list[str] = []
    # tree links, coloured by the child's relation
    paths: dict[str, list[str]] = {}
    for k in range(1, nv):
        p = k_of[int(tree.parent[lay.visible[k]])]
        paths.setdefault(rels[k], []).append(
            f"M{_num(px[p])} {_num(py[p])}L{_num(px[k])} {_num(py[k])}")
    for r in _RELATIONS:
        if r in paths:
            out.append(f'<path class="eg-edge" stroke="{TREE_COLORS[r]}" '
                       f'd="{"".join(paths[r])}"/>')
    if len(lay.badge_parent):
        legs = "".join(f"M{_num(px[k_of[int(p)]])} {_num(py[k_of[int(p)]])}"
                       f"L{_num(px[nv + b])} {_num(py[nv + b])}"
                       for b, p in enumerate(lay.badge_parent))
        out.append(f'<path class="eg-edge eg-badge-edge" stroke="{TREE_COLORS["badge"]}" '
                   f'd="{legs}"/>')
    extra = [(k_of[p], k_of[c]) for p, c in tree.extra_edges if p in k_of and c in k_of]
    if extra:
        curves = []
        for a, b in extra:
            mx, my = (px[a] + px[b]) / 2, (py[a] + py[b]) / 2
            cx, cy = (mx * 0.55, my * 0.55) if lay.kind == "radial" else (mx, my - 0.6 * sy)
            curves.append(f"M{_num(px[a])} {_num(py[a])}Q{_num(cx)} {_num(cy)} "
                          f"{_num(px[b])} {_num(py[b])}")
        out.append(f'<path class="eg-extra" stroke="{TREE_COLORS["merge"]}" '
                   f'd="{"".join(curves)}"/>')
    # badges, then nodes (root last: on top); every node is a link to its Hub page
    for b in range(len(lay.badge_parent)):
        col = TREE_COLORS[_RELATIONS[int(lay.badge_key[b])]]
        out.append(f'<circle class="eg-badge" data-b="{b}" cx="{_num(px[nv + b])}" '
                   f'cy="{_num(py[nv + b])}" r="{_num(brad[b])}" stroke="{col}"/>')
    for k in [*range(1, nv), 0][: nv]:
        col = TREE_COLORS["root"] if k == 0 else TREE_COLORS[rels[k]]
        fill, stroke = ("#fff", col) if hollow[k] else (col, "#fff")
        out.append(f'<a href="{_text(hub_url(shown[k]))}" target="_blank" '
                   f'rel="noopener noreferrer"><circle class="eg-node" data-i="{k}" '
                   f'cx="{_num(px[k])}" cy="{_num(py[k])}" r="{_num(rad[k])}" '
                   f'fill="{fill}" stroke="{stroke}"/></a>')
    texts, boxes = _labels(lay, px, py, rad, brad, dl, shown, labels, base)
    out.extend(texts)
    # the view holds every marker and every label
    pad = 2.0 * base + 12.0
    x0 = min([float(px.min()) - pad, *(b[0] - 4 for b in boxes)])
    x1 = max([float(px.max()) + pad, *(b[2] + 4 for b in boxes)])
    y0 = min([float(py.min()) - pad, *(b[1] - 4 for b in boxes)])
    y1 = max([float(py.max()) + pad, *(b[3] + 4 for b in boxes)])
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="eg-svg" '
            f'viewBox="{_num(x0)} {_num(y0)} {_num(x1 - x0)} {_num(y1 - y0)}" '
            f'role="img" aria-label="{_text("fork tree of " + root)}">\n<g class="eg-view">')
    return "\n".join([head, *out, "</g></svg>"])


def _labels(lay: TreeLayout, px: np.ndarray, py: np.ndarray, rad: np.ndarray,
            brad: np.ndarray, dl: np.ndarray, shown: Sequence[str], labels: int,
            base: float) -> tuple[list[str], list[tuple[float, float, float, float]]]:
    """Labels for the root, the most downloaded models and the largest badges, greedily
    placed beside their marker (outwards on a radial tree) and dropped when they would
    overlap a placed one. Returns the ``<text>`` elements and their boxes."""
    nv = len(lay.visible)
    size = float(np.clip(base * 2.2, 10.0, 13.0))  # user units: ~8-11 px on screen
    boxes: list[tuple[float, float, float, float]] = []
    out: list[str] = []

    mx = np.concatenate([px, [float("nan")]])
    my = np.concatenate([py, [float("nan")]])
    mr = np.concatenate([rad, brad, [0.0]])

    def clear(box: tuple[float, float, float, float], own: int) -> bool:
        if any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3]
               for o in boxes):
            return False
        hit = ((mx + mr > box[0]) & (mx - mr < box[2]) & (my + mr > box[1])
               & (my - mr < box[3]))
        hit[own] = False
        return not bool(hit.any())

    def place(own: int, text: str, cls: str, force: bool = False) -> bool:
        x, y, r = float(mx[own]), float(my[own]), float(mr[own])
        width = 0.58 * size * len(text)
        outward = x >= 0 if lay.kind == "radial" and (x or y) else True
        for right in ((outward, not outward) if not force else (outward,)):
            tx = x + (r + 2) if right else x - (r + 2)
            box = (tx if right else tx - width, y - size * 0.6,
                   (tx + width) if right else tx, y + size * 0.6)
            if force or clear(box, own):
                break
        else:
            return False
        boxes.append(box)
        anchor = "start" if right else "end"
        out.append(f'<text class="{cls}" x="{_num(tx)}" y="{_num(y)}" '
                   f'font-size="{_num(size)}" text-anchor="{anchor}" '
                   f'dominant-baseline="middle">{_text(text)}</text>')
        return True

    def short(m: str, width: int = 34) -> str:
        m = plain_text(m)
        return m if len(m) <= width else m[: width - 1] + "…"

    if nv:
        place(0, short(shown[0], 48), "eg-label eg-root-label", force=True)
    # the largest badge always tells its count; then the most downloaded models, then
    # the next largest badges, where they fit
    big = sorted(range(len(lay.badge_count)),
                 key=lambda b: (-int(lay.badge_count[b]), int(lay.badge_parent[b])))
    if big and lay.badge_count[big[0]] >= 2:
        place(nv + big[0], f"+{int(lay.badge_count[big[0]]):,}", "eg-label eg-badge-label",
              force=True)
    order = sorted(range(1, nv), key=lambda k: (-dl[k], shown[k]))
    placed = 0
    for k in order:
        if placed >= labels:
            break
        placed += place(k, short(shown[k]), "eg-label")
    for b in big[1:30]:
        if lay.badge_count[b] < 2:
            break
        place(nv + b, f"+{int(lay.badge_count[b]):,}", "eg-label eg-badge-label")
    return out, boxes


_CSS = """
.eg-tree{position:relative;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;
color:#222;max-width:100%}
.eg-tree .eg-title{font-size:1.25em;font-weight:700;margin:0 0 .15em}
.eg-tree .eg-sub,.eg-tree .eg-cap{color:#555;font-size:.85em;margin:.1em 0 .4em}
.eg-tree .eg-bar{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1em;
margin:.3em 0;font-size:.85em}
.eg-tree .eg-key{display:inline-flex;align-items:center;gap:.3em}
.eg-tree .eg-dot{display:inline-block;width:.8em;height:.8em;border-radius:50%}
.eg-tree .eg-ring{background:#fff;border:2px solid #7f7f7f;box-sizing:border-box}
.eg-tree button{font:inherit;padding:.1em .6em;border:1px solid #bbb;border-radius:4px;
background:#f7f7f7;cursor:pointer}
.eg-tree .eg-frame{border:1px solid #e2e2e2;border-radius:6px;overflow:hidden;
background:#fff;touch-action:none;cursor:grab}
.eg-tree .eg-frame.eg-drag{cursor:grabbing}
.eg-tree .eg-svg{display:block;width:100%;height:auto;max-height:85vh;user-select:none}
.eg-tree .eg-edge{fill:none;stroke-width:.7;opacity:.55;vector-effect:non-scaling-stroke}
.eg-tree .eg-badge-edge{stroke-dasharray:2 2}
.eg-tree .eg-extra{fill:none;stroke-width:.7;opacity:.3;vector-effect:non-scaling-stroke}
.eg-tree .eg-node{stroke-width:.5;cursor:pointer;vector-effect:non-scaling-stroke}
.eg-tree .eg-node:hover,.eg-tree .eg-badge:hover{stroke:#000;stroke-width:2}
.eg-tree .eg-badge{fill:#fff;stroke-width:1.5;vector-effect:non-scaling-stroke}
.eg-tree .eg-label{fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-linejoin:round;pointer-events:none}
.eg-tree .eg-root-label{font-weight:700}
.eg-tree .eg-badge-label{fill:#555}
.eg-tree .eg-tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.97);
border:1px solid #999;border-radius:4px;padding:.35em .55em;font-size:.8em;
line-height:1.35;box-shadow:0 2px 6px rgba(0,0,0,.18);max-width:26em;
overflow-wrap:anywhere;z-index:10}
.eg-tree .eg-tip b{display:block}
"""

# Plain JavaScript (no library). It reads the JSON block beside it, so the page works as
# a file, inside report.html and in a Jupyter output cell; text goes in with textContent.
_JS = r"""
(function(){
var errors=[];
window.addEventListener('error',function(e){errors.push(String(e.message));});
var me=document.currentScript;
var box=me?me.parentNode:null;
if(!box||!box.classList||!box.classList.contains('eg-tree')){
  var all=document.querySelectorAll('.eg-tree:not([data-ready])');box=all[all.length-1];}
if(!box||box.getAttribute('data-ready'))return;
box.setAttribute('data-ready','1');
var data=JSON.parse(box.querySelector('script.eg-data').textContent);
var svg=box.querySelector('svg.eg-svg'),view=svg.querySelector('g.eg-view');
var frame=box.querySelector('.eg-frame'),tip=box.querySelector('.eg-tip');
function fmt(n){return Number(n).toLocaleString('en-US');}
function line(label,value){var d=document.createElement('div');
  d.textContent=label+': '+value;return d;}
function show(el,evt){
  var i=el.getAttribute('data-i'),b=el.getAttribute('data-b');
  tip.textContent='';
  var head=document.createElement('b');
  if(i!==null){var n=data.nodes[+i];head.textContent=n[0];tip.appendChild(head);
    tip.appendChild(line('relation',n[1]));
    tip.appendChild(line('author',n[2]||'–'));
    tip.appendChild(line('downloads (30 d)',fmt(n[3])));
    tip.appendChild(line('created',n[4]||'–'));
    var hint=document.createElement('div');hint.className='eg-hint';
    hint.textContent='click: open on the Hub';tip.appendChild(hint);}
  else{var g=data.badges[+b];head.textContent='+'+fmt(g[1])+' folded models';
    tip.appendChild(head);tip.appendChild(line('under',data.nodes[g[0]][0]));
    tip.appendChild(line('relation',g[2]));}
  tip.hidden=false;place(evt);}
function place(evt){var r=box.getBoundingClientRect();
  var x=(evt&&evt.clientX!==undefined?evt.clientX:r.left)-r.left+14;
  var y=(evt&&evt.clientY!==undefined?evt.clientY:r.top)-r.top+14;
  var w=tip.offsetWidth;if(x+w>box.clientWidth)x=Math.max(0,x-w-28);
  tip.style.left=x+'px';tip.style.top=y+'px';}
svg.addEventListener('mouseover',function(e){var t=e.target;
  if(t.hasAttribute&&(t.hasAttribute('data-i')||t.hasAttribute('data-b')))show(t,e);});
svg.addEventListener('mousemove',function(e){if(!tip.hidden)place(e);});
svg.addEventListener('mouseout',function(e){var t=e.target;
  if(t.hasAttribute&&(t.hasAttribute('data-i')||t.hasAttribute('data-b')))tip.hidden=true;});
var k=1,tx=0,ty=0;
function apply(){view.setAttribute('transform','translate('+tx+' '+ty+') scale('+k+')');}
function point(evt){var m=svg.getScreenCTM();if(!m)return{x:0,y:0};
  var p=svg.createSVGPoint();p.x=evt.clientX;p.y=evt.clientY;
  return p.matrixTransform(m.inverse());}
function zoom(f,p){var nk=Math.min(60,Math.max(0.3,k*f));
  tx=p.x-(p.x-tx)*nk/k;ty=p.y-(p.y-ty)*nk/k;k=nk;apply();}
svg.addEventListener('wheel',function(e){e.preventDefault();
  zoom(Math.exp(-e.deltaY*0.0015),point(e));},{passive:false});
var drag=null,moved=false;
svg.addEventListener('pointerdown',function(e){if(e.button!==0)return;
  drag={x:e.clientX,y:e.clientY,tx:tx,ty:ty};moved=false;});
window.addEventListener('pointermove',function(e){if(!drag)return;
  var m=svg.getScreenCTM();var s=m?m.a:1;
  var dx=e.clientX-drag.x,dy=e.clientY-drag.y;
  if(Math.abs(dx)+Math.abs(dy)>3){moved=true;frame.classList.add('eg-drag');}
  if(moved){tx=drag.tx+dx/s;ty=drag.ty+dy/s;apply();}});
window.addEventListener('pointerup',function(){drag=null;frame.classList.remove('eg-drag');});
svg.addEventListener('click',function(e){if(moved){e.preventDefault();moved=false;}},true);
function centre(){var v=svg.viewBox.baseVal;return{x:v.x+v.width/2,y:v.y+v.height/2};}
box.querySelector('.eg-reset').addEventListener('click',function(){k=1;tx=0;ty=0;apply();});
box.querySelector('.eg-in').addEventListener('click',function(){zoom(1.5,centre());});
box.querySelector('.eg-out').addEventListener('click',function(){zoom(1/1.5,centre());});
if(location.hash==='#selftest'&&!document.getElementById('eg-selftest')){
  var out={svgs:document.querySelectorAll('svg').length,nodes:data.nodes.length};
  var target=svg.querySelector('[data-i="1"]')||svg.querySelector('[data-i="0"]');
  target.dispatchEvent(new MouseEvent('mouseover',{bubbles:true,clientX:50,clientY:50}));
  out.tooltip=!tip.hidden&&tip.parentNode===box;out.tip=tip.textContent;
  out.expected=data.nodes[+target.getAttribute('data-i')][0];
  svg.dispatchEvent(new WheelEvent('wheel',{bubbles:true,cancelable:true,deltaY:-300,
    clientX:100,clientY:100}));
  out.zoomed=k>1;out.transform=view.getAttribute('transform');
  out.link=target.parentNode.getAttribute('href');out.errors=errors;
  var pre=document.createElement('pre');pre.id='eg-selftest';
  pre.textContent=JSON.stringify(out);document.body.appendChild(pre);}
})();
"""


def _fragment(frag_id: str, heading: str, counts: TreeCounts, lay: TreeLayout,
              max_nodes: int | None, svg: str, data: dict[str, Any]) -> str:
    keys = "".join(
        f'<span class="eg-key"><span class="eg-dot" style="background:{TREE_COLORS[r]}">'
        f"</span>{_text(r)} ({n:,})</span>" for r, n in counts.by_relation.items())
    keys = (f'<span class="eg-key"><span class="eg-dot" style="background:'
            f'{TREE_COLORS["root"]}"></span>root</span>' + keys)
    if lay.folded:
        nb = len(lay.badge_parent)
        keys += (f'<span class="eg-key"><span class="eg-dot eg-ring"></span>'
                 f"+N: {lay.folded:,} models folded into {nb:,} badge"
                 f"{'s' if nb != 1 else ''} (node budget {max_nodes:,})</span>")
    cap = ("Circle area ~ log downloads · colour = relation · pink curves: extra parents "
           "(merges) · hover for details, click to open on the Hub, wheel to zoom, drag "
           "to pan")
    return (f'<div class="eg-tree" id="{frag_id}">\n<style>{_CSS}</style>\n'
            f'<div class="eg-title">{_text(heading)}</div>\n'
            f'<div class="eg-sub">{_text(counts.line())}</div>\n'
            f'<div class="eg-bar">{keys}<span style="flex:1"></span>'
            '<button type="button" class="eg-in" title="zoom in">+</button>'
            '<button type="button" class="eg-out" title="zoom out">−</button>'
            '<button type="button" class="eg-reset">reset view</button></div>\n'
            f'<div class="eg-frame">\n{svg}\n</div>\n'
            f'<div class="eg-cap">{_text(cap)}</div>\n'
            '<div class="eg-tip" role="tooltip" hidden></div>\n'
            f'<script type="application/json" class="eg-data">{script_json(data)}</script>\n'
            f'<script type="text/javascript">{_JS}</script>\n</div>')
