"""The interactive fork tree: one self-contained page, escaped text, safe links, budget."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import ecograph
from ecograph.cli import main
from ecograph.errors import UnknownModelError, UsageError
from ecograph.escape import plain_text
from ecograph.frames import MODEL_SCHEMA
from ecograph.html_tree import (
    HUB_URL,
    TREE_COLORS,
    InteractiveTree,
    hub_url,
    interactive_tree,
    script_json,
)
from ecograph.layout import random_family

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
SVG_NS = "{http://www.w3.org/2000/svg}"
ROOT = "org/root"
HOSTILE = [
    'evil/<script>alert("x")</script>',
    "a/</svg><img src=x onerror=alert(1)>",
    "c/'quote\"&amp;",
    "javascript:alert(1)",
    "d/</script><script>document.title='pwned'</script>",
    "e/\u2028line\ufeff\x00sep",
]


def hostile_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = [ROOT, *HOSTILE]
    n = len(ids)
    models = pl.DataFrame({
        "id": ids,
        "author": ["org", "<i>evil</i>", "a", "c & co", "j", "d", "e"],
        "created_at": [dt.datetime(2024, 1, d + 1, tzinfo=dt.UTC) for d in range(n)],
        "downloads": [1000, 50, 20, None, 3, 7, 1],
        "relation": [None, "finetune", "quantized", "merge", "adapter", "finetune", None],
        "status": ["ok"] * n,
    }, schema_overrides={"created_at": MODEL_SCHEMA["created_at"]})
    parents = [ROOT, HOSTILE[0], ROOT, HOSTILE[0], ROOT, HOSTILE[1]]
    edges = pl.DataFrame({"parent": [*parents, HOSTILE[1]],
                          "child": [*HOSTILE, HOSTILE[2]]})
    return models, edges


def svg_part(page: str) -> str:
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    return page[start:end]


def data_block(page: str) -> dict:
    m = re.search(r'<script type="application/json" class="eg-data">(.*?)</script>', page,
                  re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_hostile_ids_are_escaped_and_links_stay_on_the_hub():
    models, edges = hostile_frames()
    page = interactive_tree(models, edges, ROOT, labels=20).page
    # one SVG, well-formed XML once cut out of the page
    assert page.count("<svg") == 1 and page.count("</svg>") == 1
    svg = ET.fromstring(svg_part(page))
    # no data text reaches the markup unescaped; the JSON block holds no "<" at all
    block = re.search(r'(<script type="application/json" class="eg-data">)(.*?)</script>',
                      page, re.S)
    assert block is not None and "<" not in block.group(2) and ">" not in block.group(2)
    markup = page.replace(block.group(2), "")
    for raw in ("<script>alert", "<img", "<i>evil", "'pwned'", "\ufeff", "\x00"):
        assert raw not in markup
    # exactly our two scripts: the JSON data and the inline code (no src)
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script type="application/json" class="eg-data">',
                       '<script type="text/javascript">']
    # every node links to its Hub page, percent-encoded, in a new tab without an opener
    links = svg.findall(f".//{SVG_NS}a")
    assert len(links) == len(HOSTILE) + 1
    for a in links:
        href = a.get("href")
        assert href.startswith(HUB_URL) and re.fullmatch(r"[A-Za-z0-9%/._~:-]+", href)
        assert a.get("target") == "_blank" and "noopener" in a.get("rel").split()
    targets = {unquote(a.get("href")[len(HUB_URL):]) for a in links}
    assert targets == {plain_text(m) for m in [ROOT, *HOSTILE]}
    # labels are text nodes holding the ids as they are
    labels = {t.text for t in svg.iter(f"{SVG_NS}text")}
    assert ROOT in labels and plain_text(HOSTILE[0]) in labels
    # no external resource: the only URLs are Hub model pages and the SVG namespace
    urls = re.findall(r"""https?://[^\s"'<>)\\]+""", page)
    assert set(urls) - {"http://www.w3.org/2000/svg"}
    assert all(u.startswith(HUB_URL) or u == "http://www.w3.org/2000/svg" for u in urls)
    assert not re.search(r"<[^>]*\s(src|srcset|xlink:href)=|@import|url\(|<link|<iframe",
                         markup)


def test_tooltip_data_holds_every_drawn_node():
    models, edges = hostile_frames()
    tree = interactive_tree(models, edges, ROOT)
    data = data_block(tree.page)
    by_id = {n[0]: n for n in data["nodes"]}
    assert data["nodes"][0][:2] == [ROOT, "root"]
    evil = by_id[plain_text(HOSTILE[0])]
    assert evil == [plain_text(HOSTILE[0]), "finetune", "<i>evil</i>", 50, "2024-01-02"]
    assert by_id[plain_text(HOSTILE[2])][1:4] == ["merge", "c & co", 0]
    assert by_id[plain_text(HOSTILE[5])][1] == "unknown"
    # each circle points at its row of the data
    svg = ET.fromstring(svg_part(tree.page))
    index = sorted(int(c.get("data-i")) for c in svg.iter(f"{SVG_NS}circle")
                   if c.get("data-i") is not None)
    assert index == list(range(len(data["nodes"])))


def test_large_family_keeps_the_node_budget_and_shows_badges():
    rows, edge_rows = random_family(5000, seed=3)
    models = pl.DataFrame(rows)
    edges = pl.DataFrame(edge_rows, schema=["parent", "child", "relation"], orient="row")
    tree = interactive_tree(models, edges, rows[0]["id"], max_nodes=300)
    lay = tree.layout
    assert lay.n_markers <= 300 and lay.folded > 4000
    assert tree.counts.size == 4999 and sum(tree.counts.by_relation.values()) == 4999
    svg = ET.fromstring(svg_part(tree.page))
    circles = list(svg.iter(f"{SVG_NS}circle"))
    assert len(circles) == lay.n_markers
    badges = [c for c in circles if c.get("data-b") is not None]
    assert len(badges) == len(lay.badge_parent) > 0
    data = data_block(tree.page)
    assert sum(b[1] for b in data["badges"]) == lay.folded
    shown = {t.text for t in svg.iter(f"{SVG_NS}text")}
    biggest = int(lay.badge_count.max())
    assert f"+{biggest:,}" in shown
    assert f"{lay.folded:,} models folded into {len(lay.badge_parent):,} badges" in tree.page


def test_same_input_same_bytes_and_layouts():
    models, edges = hostile_frames()
    one = interactive_tree(models, edges, ROOT, layout="layered")
    two = interactive_tree(models, edges, ROOT, layout="layered")
    assert one.page == two.page
    assert one.page != interactive_tree(models, edges, ROOT).page
    with pytest.raises(UsageError):
        interactive_tree(models, edges, ROOT, layout="sideways")
    with pytest.raises(UnknownModelError):
        interactive_tree(models, edges, "no/such")


def test_colours_match_the_static_tree():
    from ecograph.render import BADGE_COLOR, RELATION_COLORS, ROOT_COLOR

    assert {k: TREE_COLORS[k] for k in RELATION_COLORS} == RELATION_COLORS
    assert TREE_COLORS["root"] == ROOT_COLOR and TREE_COLORS["badge"] == BADGE_COLOR


def test_html_tree_does_not_load_matplotlib():
    code = ("import sys, ecograph.html_tree, ecograph.api; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@given(st.text())
def test_script_json_round_trips_and_cannot_end_a_script(text):
    encoded = script_json({"id": text})
    assert json.loads(encoded) == {"id": text}
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded


@given(st.text())
def test_hub_url_stays_on_the_hub(text):
    url = hub_url(text)
    assert url.startswith(HUB_URL)
    assert re.fullmatch(r"[A-Za-z0-9%/._~-]*", url[len(HUB_URL):])
    assert unquote(url[len(HUB_URL):], errors="strict") == plain_text(text)


def test_family_draw_interactive_and_render_html(tmp_path):
    eco = ecograph.Ecosystem.from_snapshot(FIXTURE)
    fam = eco.family("meta-llama/Llama-3.1-8B")
    live = fam.draw(interactive=True, max_nodes=60)
    assert isinstance(live, InteractiveTree)
    shown = live._repr_html_()  # what Jupyter displays: a fragment, no document
    assert shown.startswith('<div class="eg-tree"') and "<html" not in shown
    assert shown.count("<svg") == 1 and live.layout.n_markers <= 60
    path = fam.render(tmp_path / "deep" / "tree.html")
    page = path_text = (tmp_path / "deep" / "tree.html").read_text(encoding="utf-8")
    assert isinstance(path, InteractiveTree) and path_text.startswith("<!DOCTYPE html>")
    assert "<title>Fork tree of meta-llama/Llama-3.1-8B</title>" in page
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["tree.html"]
    with pytest.raises(UsageError, match=r"\.png, \.svg, \.pdf or \.html"):
        fam.render(tmp_path / "tree.gif")


def test_cli_render_html(tmp_path):
    out = tmp_path / "tree.html"
    res = CliRunner().invoke(main, ["render", "meta-llama/Llama-3.1-8B", "--db", str(FIXTURE),
                                    "-o", str(out), "--max-nodes", "40"])
    assert res.exit_code == 0, res.output
    assert "Wrote the fork tree of meta-llama/Llama-3.1-8B (134 derivatives" in res.output
    assert "folded into" in res.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "134 derivatives" in page
