"""The shape of the command line: one suffix rule, thin commands, a light start.

Every command parses, makes one call on :mod:`ecograph.api`, and formats; the file
suffix rule is :func:`ecograph.formats.format_for`; and the analysis commands start
without loading matplotlib or huggingface_hub.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecograph.cli import main
from ecograph.errors import EcographError, UsageError
from ecograph.formats import (
    EXPORT_FORMATS,
    PICTURE_FORMATS,
    SNAPSHOT_SUFFIXES,
    format_for,
    is_snapshot,
)

ROOT = Path(__file__).resolve().parents[1]
CLI_DIR = ROOT / "ecograph" / "cli"
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"


# --------------------------------------------------------------------------- format_for


@pytest.mark.parametrize("table", [EXPORT_FORMATS, PICTURE_FORMATS])
def test_format_for_every_suffix_in_any_case(table):
    for name, suffix in table.items():
        assert format_for(f"out/fam{suffix}", table) == name
        assert format_for(f"out/fam{suffix.upper()}", table) == name
        assert format_for(Path("a.b") / f"x{suffix}", table) == name  # only the last suffix


def test_format_for_without_a_suffix_takes_the_default():
    assert format_for("llama", default="json") == "json"
    assert format_for("out.d/llama", PICTURE_FORMATS, default="png") == "png"
    with pytest.raises(UsageError, match=r"^cannot tell the format from 'llama': use \.png"):
        format_for("llama", PICTURE_FORMATS)


def test_format_for_unknown_suffix_is_a_one_line_usage_error():
    with pytest.raises(UsageError) as err:
        format_for("x/tree.gif", PICTURE_FORMATS, default="png")
    assert str(err.value) == "cannot tell the format from 'x/tree.gif': use .png, .svg or .pdf"
    assert isinstance(err.value, ValueError) and isinstance(err.value, EcographError)
    assert err.value.exit_code == 2
    with pytest.raises(UsageError) as err:
        format_for("fam.xyz", default="json")
    assert "\n" not in str(err.value)
    assert str(err.value).endswith(".graphml, .gexf, .json, .csv, .parquet or .dot")


def test_snapshot_suffixes():
    for suffix in SNAPSHOT_SUFFIXES:
        assert is_snapshot(f"dir/hub{suffix}") and is_snapshot(f"HUB{suffix.upper()}")
    assert not is_snapshot("hub.db") and not is_snapshot("hub.json")


def test_the_suffix_rule_is_written_once():
    """No module but formats.py spells the picture / export / snapshot suffixes."""
    offenders = []
    for path in sorted((ROOT / "ecograph").rglob("*.py")):
        if path.name == "formats.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {".png", ".svg"} <= words or {".jsonl", ".jsonl.gz"} <= words:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# --------------------------------------------------------------------------- thin CLI


def _ecograph_imports(path: Path) -> set[str]:
    """The ecograph modules a cli module imports (``from ..store import X`` -> store)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ecograph."):
            found.add(node.module.split(".")[1])
    return found


# crawling.py is being rewritten around crawl.plan/run (issue 10, item 3)
_THIN = sorted(p for p in CLI_DIR.glob("*.py") if p.name != "crawling.py")


@pytest.mark.parametrize("path", _THIN, ids=lambda p: p.name)
def test_cli_modules_go_through_the_api(path):
    """Commands reach data only through ecograph.api: no store, graph or drawing code."""
    internals = {"store", "graph", "importer", "crawl", "hub", "render", "plots", "export",
                 "report", "snapshot", "layout", "frames"}
    assert _ecograph_imports(path) & internals == set()


def test_output_commands_share_the_option_decorators():
    source = (CLI_DIR / "outputs.py").read_text(encoding="utf-8")
    assert '"--dpi"' not in source and '"-o"' not in source and '"--format"' not in source
    for name in ("render", "compare", "plot", "report"):
        params = {p.name: p for p in main.commands[name].params}
        assert params["dpi"].default == 200 and params["dpi"].type.min == 50


def test_a_usage_error_from_the_library_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "tree.gif"
    res = CliRunner().invoke(main, ["render", "qwen/qwen2.5-7b", "--db", str(FIXTURE),
                                    "-o", str(out)])
    assert res.exit_code == 2
    assert res.output == f"Error: cannot tell the format from {str(out)!r}: use .png, .svg, " \
                         ".pdf or .html\n"
    assert not out.exists()


def test_cli_demo_module_is_named_like_its_siblings():
    assert (CLI_DIR / "demo.py").is_file() and not (CLI_DIR / "democmd.py").exists()
    assert "demo" in main.commands


# --------------------------------------------------------------------------- import cost

_PROBE = """
import json, sys
from ecograph.cli import main
try:
    main(sys.argv[1:], prog_name="ecograph", standalone_mode=False)
finally:
    sys.stdout.flush()
    heavy = ("matplotlib", "huggingface_hub", "ecograph.render", "ecograph.plots",
             "ecograph.hub", "ecograph.crawl", "networkx")
    print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    from ecograph.api import import_file

    db = tmp_path_factory.mktemp("store") / "small.db"
    import_file(FIXTURE, db)
    return db


@pytest.mark.parametrize("args", [
    ["stats", "--all", "--format", "json"],
    ["families"],
    ["quality"],
    ["export", "--all", "--format", "json", "-o", "{tmp}/hub.json"],
])
def test_analysis_commands_load_no_drawing_or_hub_client(args, small_store, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--db", str(small_store)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    env.pop("MPLBACKEND", None)
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True,
                          text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "matplotlib" not in loaded and "huggingface_hub" not in loaded, loaded
    assert not {"ecograph.render", "ecograph.plots", "ecograph.hub", "ecograph.crawl"} \
        & set(loaded), loaded
    assert proc.stdout.strip() or args[0] == "export"  # the command did its work
