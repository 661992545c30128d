"""The interactive tree and report.html in a real browser (headless Chromium).

Each page is opened with ``#selftest``: its script hovers a node, zooms once and writes
what it found into ``<pre id="eg-selftest">``; ``--dump-dom`` prints the DOM after the
scripts ran and ``--enable-logging=stderr`` the console (any console message fails the
test). Skipped where no Chromium is installed (Debian: ``apt-get install
chromium-headless-shell``).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from test_html_tree import ROOT, hostile_frames

from ecograph.report import write_report
from ecograph.snapshot import read_snapshot

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not installed: apt-get install chromium-headless-shell")


def open_selftest(page: Path) -> tuple[dict, str, str]:
    """(the page's self-test result, the DOM after its scripts ran, the browser's log)."""
    exe = browser()
    with tempfile.TemporaryDirectory(prefix="ecograph-chromium-") as profile:
        run = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
             page.resolve().as_uri() + "#selftest"],
            capture_output=True, text=True, timeout=180, check=False,
            env={**os.environ, "HOME": profile})
    dom, log = run.stdout, run.stderr
    found = re.search(r'<pre id="eg-selftest">(.*?)</pre>', dom, re.S)
    assert found, f"no self-test result (exit {run.returncode}):\n{log[-2000:]}"
    return json.loads(html.unescape(found.group(1))), dom, log


def console_messages(log: str) -> list[str]:
    """Console output of the page (Chromium logs every message, errors included, as
    ``INFO:CONSOLE``); the pages log nothing when all is well."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def test_interactive_tree_in_chromium(tmp_path):
    import ecograph

    fam = ecograph.Ecosystem.from_snapshot(FIXTURE).family("meta-llama/Llama-3.1-8B")
    fam.render(tmp_path / "tree.html")
    result, dom, log = open_selftest(tmp_path / "tree.html")
    assert result["svgs"] == 1 and result["nodes"] == 135
    assert result["tooltip"] and result["expected"] in result["tip"]
    assert "relation: " in result["tip"] and "downloads (30 d): " in result["tip"]
    assert result["zoomed"] and "scale(" in result["transform"]
    assert result["link"] == "https://huggingface.co/" + result["expected"]
    assert result["errors"] == [] and console_messages(log) == []
    assert dom.count('class="eg-tip"') == 1


def test_hostile_ids_run_no_script_in_chromium(tmp_path):
    from ecograph.html_tree import interactive_tree

    models, edges = hostile_frames()
    (tmp_path / "evil.html").write_text(interactive_tree(models, edges, ROOT).page,
                                        encoding="utf-8")
    result, dom, log = open_selftest(tmp_path / "evil.html")
    assert result["svgs"] == 1 and result["tooltip"] and result["errors"] == []
    assert "<title>Fork tree of org/root</title>" in dom  # not 'pwned'
    assert "<img" not in dom and console_messages(log) == []


def test_report_in_chromium(tmp_path):
    models, edges = read_snapshot(FIXTURE)
    paths = write_report(models, edges, "meta-llama/Llama-3.1-8B", tmp_path, dpi=50)
    result, dom, log = open_selftest(paths["html"])
    # the interactive tree is the page's only SVG (the other pictures are PNG images)
    assert result["svgs"] == 1 and result["tooltip"] and result["zoomed"]
    assert result["errors"] == [] and console_messages(log) == []
