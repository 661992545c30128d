"""Issue 11, outputs: what a hostile or careless user found, each pinned by a test.

- an output path equal to the store (or its -wal/-shm files, its cache, a symlink to it)
  is refused with one ``Error:`` line and the store is untouched;
- every output is written atomically: a writer that fails mid-file (disk full, an
  exception) leaves the previous good file and no temporary file;
- hostile ids and authors (NUL, control characters, U+FEFF, ``<script>``, quotes,
  Markdown links, ``$`` math) keep every format well-formed and escaped;
- ``--csv-safe`` guards CSV cells against spreadsheet formulas, off by default;
- numeric options are bounded; ``-o`` creates parent directories for every command;
  matplotlib's warnings never reach the terminal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import networkx as nx  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

import ecograph  # noqa: E402
from ecograph.atomic import TEMP_PREFIX, atomic_paths, atomic_write, check_output  # noqa: E402
from ecograph.cli import main  # noqa: E402
from ecograph.errors import UsageError  # noqa: E402
from ecograph.frames import EDGE_SCHEMA, MODEL_SCHEMA  # noqa: E402
from ecograph.snapshot import bundled_snapshot  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROOT = "meta-llama/Llama-3.1-8B"


# --------------------------------------------------------------------------- helpers


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(TEMP_PREFIX))


@pytest.fixture(scope="module")
def built_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    db = folder / "v.db"
    code, _, err = run("import", str(bundled_snapshot()), "--db", str(db))
    assert code == 0, err
    return db


@pytest.fixture
def store(built_store: Path, tmp_path: Path) -> Path:
    """A fresh copy of the bundled store in this test's folder (the cwd)."""
    db = tmp_path / "v.db"
    shutil.copy(built_store, db)
    return db


# --------------------------------------------------------------------------- 1. -o == --db


_STORE_WRITERS = [
    ("export", "--all", "--format", "json", "-o", "{out}"),
    ("export", ROOT, "--format", "graphml", "-o", "{out}"),
    ("stats", "--all", "--format", "json", "-o", "{out}"),
    ("stats", ROOT, "-o", "{out}"),
    ("families", "--format", "csv", "-o", "{out}"),
    ("quality", "-o", "{out}"),
    ("render", ROOT, "-o", "{out}"),
    ("compare", ROOT, "-o", "{out}"),
    ("plot", "fanout", ROOT, "-o", "{out}"),
    ("report", ROOT, "--out", "{out}"),
]


@pytest.mark.parametrize("argv", _STORE_WRITERS, ids=lambda a: "-".join(a[:2]))
def test_output_equal_to_the_store_is_refused_and_the_store_untouched(store, monkeypatch,
                                                                       argv):
    monkeypatch.chdir(store.parent)
    before = digest(store)
    args = [a.replace("{out}", "v.db") for a in argv]
    code, out, err = run(*args, "--db", "v.db")
    assert code == 2
    lines = err.strip().splitlines()
    if argv[0] == "report":  # click itself refuses a file as --out directory
        assert lines[-1] == "Error: Invalid value for '--out': Directory 'v.db' is a file."
    else:
        assert lines[-1] == "Error: refusing to write 'v.db': it would overwrite the store v.db"
    assert "Traceback" not in err
    assert digest(store) == before
    code, out, _ = run("stats", ROOT, "--db", "v.db", "--format", "json")
    assert code == 0 and json.loads(out)[0]["size"] == 134


@pytest.mark.parametrize("target", ["./v.db-wal", "v.db-shm", "v.db-journal",
                                    "sub/../v.db", "v.db.ecograph-cache/models.json",
                                    "link.json"])
def test_paths_that_resolve_to_the_store_or_its_files_are_refused(store, monkeypatch,
                                                                   target):
    monkeypatch.chdir(store.parent)
    (store.parent / "sub").mkdir()
    (store.parent / "link.json").symlink_to(store)
    before = digest(store)
    for argv in (("export", "--all", "--format", "json", "-o", target),
                 ("stats", "--all", "--format", "json", "-o", target),
                 ("quality", "--format", "json", "-o", target)):
        code, _, err = run(*argv, "--db", "v.db")
        assert code == 2, (argv, err)
        assert err.strip().splitlines()[-1].startswith(f"Error: refusing to write {target!r}")
    assert digest(store) == before
    assert not (store.parent / "v.db-journal").exists()


def test_the_snapshot_read_is_protected_too(tmp_path):
    snap = tmp_path / "hub.jsonl"
    shutil.copy(bundled_snapshot(), snap)
    before = digest(snap)
    code, _, err = run("stats", "--all", "--snapshot", str(snap), "--format", "json",
                       "-o", str(snap))
    assert code == 2 and "it would overwrite the snapshot" in err
    assert digest(snap) == before
    eco = ecograph.Ecosystem.from_snapshot(snap)
    with pytest.raises(UsageError, match="would overwrite the snapshot"):
        eco.export(snap, "json")
    with pytest.raises(UsageError):
        eco.family(ROOT).render(tmp_path / "hub.jsonl")
    assert digest(snap) == before


def test_library_refuses_to_overwrite_its_own_store(store):
    eco = ecograph.open(store)
    before = digest(store)
    for call in (lambda: eco.export(store, "json"),
                 lambda: eco.family(ROOT).export(str(store) + "-wal", "dot"),
                 lambda: eco.save_plot("fanout", store.with_name("v.db-shm.png"), [ROOT]),
                 lambda: eco.family(ROOT).report(store.with_name("v.db.ecograph-cache"))):
        with pytest.raises(UsageError, match="overwrite the store"):
            call()
    assert digest(store) == before
    # a name that only starts like the store is fine
    assert eco.export(store.with_name("v.db.json"))[0].is_file()


def test_check_output_sees_through_hard_links(tmp_path):
    src = tmp_path / "a.db"
    src.write_bytes(b"x")
    os.link(src, tmp_path / "other.json")
    with pytest.raises(UsageError):
        check_output(tmp_path / "other.json", [src])
    assert check_output(tmp_path / "new.json", [src]) == tmp_path / "new.json"


# --------------------------------------------------------------------------- 1. atomic writes


def _partial_then_fail(original):
    """A polars writer that writes half a file, then runs out of disk."""

    def writer(self, file, *args, **kwargs):
        Path(file).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    return writer


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_failed_table_export_keeps_the_previous_files(store, tmp_path, monkeypatch, fmt):
    eco = ecograph.open(store)
    out = tmp_path / "out" / f"hub.{fmt}"
    good = eco.export(out)
    before = {p.name: digest(p) for p in good}
    # the edge table fails: neither table may change (they are published together)
    method = "write_csv" if fmt == "csv" else "write_parquet"
    real = getattr(pl.DataFrame, method)
    calls = []

    def second_fails(self, file, *args, **kwargs):
        calls.append(file)
        if len(calls) == 2:
            return _partial_then_fail(real)(self, file, *args, **kwargs)
        return real(self, file, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, method, second_fails)
    with pytest.raises(OSError, match="No space left"):
        eco.export(out)
    assert {p.name: digest(p) for p in good} == before
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(before)
    monkeypatch.undo()
    nodes = (pl.read_csv if fmt == "csv" else pl.read_parquet)(good[0])
    assert nodes.height == eco.models.height


def test_a_failed_text_export_keeps_the_previous_file(store, tmp_path, monkeypatch):
    import ecograph.export as export

    fam = ecograph.open(store).family(ROOT)
    out = tmp_path / "fam.json"
    fam.export(out)
    before = digest(out)
    real = pl.DataFrame.write_json
    state = {"n": 0}

    def edges_fail(self, *args, **kwargs):  # the nodes serialise, the edges do not
        state["n"] += 1
        if state["n"] == 2:
            raise MemoryError("out of memory while writing")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_json", edges_fail)
    with pytest.raises(MemoryError):
        fam.export(out)
    assert digest(out) == before and leftovers(tmp_path) == []
    monkeypatch.setattr(export, "_xml", lambda v: 1 / 0)
    graphml = tmp_path / "fam.graphml"
    with pytest.raises(ZeroDivisionError):
        fam.export(graphml)
    assert not graphml.exists() and leftovers(tmp_path) == []


def test_a_failed_picture_keeps_the_previous_one(store, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    fam = ecograph.open(store).family(ROOT)
    out = tmp_path / "tree.svg"
    fam.render(out, max_nodes=50, dpi=50)
    before = digest(out)
    real = Figure.savefig

    def half_then_fail(self, fname, *args, **kwargs):
        real(self, fname, *args, **kwargs)
        with open(fname, "r+b") as fh:
            fh.truncate(100)
        raise KeyboardInterrupt  # Ctrl-C while saving

    monkeypatch.setattr(Figure, "savefig", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        fam.render(out, max_nodes=50, dpi=50)
    assert digest(out) == before and leftovers(tmp_path) == []
    ET.parse(out)


def test_atomic_write_keeps_permissions_and_symlinks(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as fh:
        fh.write("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(ValueError):
        with atomic_write(target, "a"):
            pass
    with pytest.raises(RuntimeError), atomic_paths(tmp_path / "n1", tmp_path / "n2") as temps:
        temps[0].write_text("1")
        raise RuntimeError
    assert not (tmp_path / "n1").exists() and leftovers(tmp_path) == []


def _fsize_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE simulates a full disk")
@pytest.mark.parametrize("argv", [
    ("export", "--all", "--format", "graphml", "-o", "out.graphml"),
    ("export", "--all", "--format", "csv", "-o", "out.csv"),
    ("stats", "--all", "--format", "json", "-o", "out.json"),
], ids=lambda a: "-".join(a[:4:3]))
def test_a_full_disk_leaves_the_previous_file_and_one_error_line(tmp_path, argv):
    """A real process whose files are capped at 4 kB (EFBIG, as a full disk gives
    ENOSPC), reading a snapshot (``--db`` takes one), so only the output is written."""
    folder = tmp_path
    shutil.copy(bundled_snapshot(), folder / "hub.jsonl")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "ecograph", *argv, "--db", "hub.jsonl"]
    first = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    outputs = sorted(p for p in folder.iterdir() if p.name.startswith("out"))
    assert outputs and all(p.stat().st_size > 4096 for p in outputs)
    before = {p.name: digest(p) for p in outputs}
    full = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                          preexec_fn=_fsize_limit(4096))
    assert full.returncode == 1
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: File too large"), last
    assert last.endswith(tuple(f": {name}" for name in before)), last
    assert "Traceback" not in full.stderr
    assert {p.name: digest(p) for p in outputs} == before
    assert leftovers(folder) == []


# --------------------------------------------------------------------------- hostile data

_HOSTILE_IDS = [
    "evil/<script>alert(1)</script>",
    "evil/nul\x00byte",
    "evil/esc\x1b[31mred\x07",
    'evil/quo"te\'s & <b>',
    "evil/\ufeffbom\u202eevil",
    "evil/costs $\\frac{$",
    "evil/line\nbreak\ttab",
]
_HOSTILE_AUTHORS = ["[click](javascript:alert(1))", "<img src=x onerror=alert(1)>",
                    "=cmd|' /C calc'!A0", "a\x00b", "`code` | pipe", "_em_ **b** www.x.com"]


def _hostile_family() -> ecograph.Family:
    ids = ["evil/root", *_HOSTILE_IDS]
    authors = ["evil", *(_HOSTILE_AUTHORS * 2)[: len(_HOSTILE_IDS)]]
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    models = pl.DataFrame(
        {"id": ids, "author": authors,
         "created_at": [t0 + dt.timedelta(days=k) for k in range(len(ids))],
         "downloads": [1000 - k for k in range(len(ids))],
         "relation": [None] + ["finetune"] * len(_HOSTILE_IDS),
         "status": ["ok"] * len(ids)},
    )
    models = models.select(
        (pl.col(c) if c in models.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in MODEL_SCHEMA.items()
    )
    edges = pl.DataFrame(
        {"parent": ["evil/root"] * len(_HOSTILE_IDS), "child": _HOSTILE_IDS,
         "relation": ["finetune"] * len(_HOSTILE_IDS), "source": ["tag"] * len(_HOSTILE_IDS)},
    ).select(pl.col(c).cast(t) for c, t in EDGE_SCHEMA.items())
    return ecograph.Ecosystem.from_frames(models, edges).family("evil/root")


_CONTROL = [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32))]


def test_hostile_ids_keep_graphml_gexf_and_json_well_formed(tmp_path):
    fam = _hostile_family()
    for fmt in ("graphml", "gexf"):
        path = fam.export(tmp_path / f"f.{fmt}")[0]
        ET.parse(path)  # well-formed XML
        text = path.read_text(encoding="utf-8")
        assert "<script>" not in text and not any(c in text for c in _CONTROL)
        graph = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        assert graph.number_of_nodes() == len(_HOSTILE_IDS) + 1
        assert "evil/<script>alert(1)</script>" in graph
    data = json.loads(fam.export(tmp_path / "f.json")[0].read_text(encoding="utf-8"))
    assert {n["id"] for n in data["nodes"]} >= set(_HOSTILE_IDS)  # JSON keeps them exact


def test_hostile_ids_in_dot_are_quoted_and_free_of_control_characters(tmp_path):
    text = _hostile_family().export(tmp_path / "f.dot")[0].read_text(encoding="utf-8")
    assert not any(c in text for c in _CONTROL)
    assert '"evil/quo\\"te\'s & <b>"' in text
    assert '"evil/line\\nbreak\ttab"' in text
    body = text.splitlines()[2:-1]
    assert all(line.rstrip().endswith(";") for line in body)  # one statement per line


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".png"])
def test_hostile_ids_and_title_render_in_every_picture_format(tmp_path, suffix):
    fam = _hostile_family()
    out = tmp_path / f"tree{suffix}"
    tree = fam.render(out, labels=20, dpi=50, title="costs $\\frac{$ \ufeff\x00 <b>")
    assert out.stat().st_size > 1000 and tree.counts.size == len(_HOSTILE_IDS)
    if suffix == ".svg":
        ET.parse(out)
    elif suffix == ".pdf":
        assert out.read_bytes().rstrip().endswith(b"%%EOF")
    assert leftovers(tmp_path) == []


def test_hostile_plots_render(tmp_path):
    eco = _hostile_family().ecosystem
    for kind in ("adoption", "fanout", "relations"):
        out = eco.save_plot(kind, tmp_path / f"{kind}.svg", ["evil/root"],
                            title="$\\frac{$ \ufeff\x00", dpi=50)
        ET.parse(out)


def test_hostile_ids_and_authors_in_the_report_stay_escaped(tmp_path):
    fam = _hostile_family()
    paths = fam.report(tmp_path / "report", dpi=50)
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert not any(c in page for c in _CONTROL if c != "\n")
    md = paths["metrics_md"].read_text(encoding="utf-8")
    assert not any(c in md for c in _CONTROL if c != "\n")
    # every character that could open a link, an image, HTML or code is escaped
    authors = md.split("## Top authors")[1].split("##")[0]
    cells = [line.split(" | ")[0][2:] for line in authors.splitlines()[4:] if line]
    assert len(cells) == len(set(_HOSTILE_AUTHORS))
    for cell in cells:
        assert cell.startswith("`") or not re.search(r"(?<!\\)[\[\]()<>`|*_]", cell), cell
    assert "\\[click\\]\\(javascript\\:alert\\(1\\)\\)" in md
    assert "\\`code\\` \\| pipe" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| ")]
    header_cells = {line.count("|") - line.count("\\|") for line in table_rows}
    assert header_cells <= {3, 4}  # no cell was split by a pipe from the data
    json.loads(paths["metrics_json"].read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- --csv-safe


def _hostile_snapshot(tmp_path: Path) -> Path:
    rows = [
        {"id": "evil/root", "author": "evil", "createdAt": "2024-01-01T00:00:00.000Z",
         "downloads": 10, "tags": []},
        {"id": "evil/child", "author": "=cmd|' /C calc'!A0",
         "createdAt": "2024-01-02T00:00:00.000Z", "downloads": 5,
         "tags": ["base_model:evil/root", "base_model:finetune:evil/root"]},
        {"id": "evil/other", "author": "@SUM(1+1)*cmd",
         "createdAt": "2024-01-03T00:00:00.000Z", "downloads": 5,
         "tags": ["base_model:evil/root", "base_model:finetune:evil/root"]},
    ]
    path = tmp_path / "evil.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_csv_export_is_exact_by_default_and_guarded_with_csv_safe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("import", str(_hostile_snapshot(tmp_path)), "--db", "evil.db")
    assert code == 0, err
    code, _, err = run("export", "evil/root", "--db", "evil.db", "-o", "raw.csv")
    assert code == 0, err
    raw = pl.read_csv("raw_nodes.csv")["author"].to_list()
    assert "=cmd|' /C calc'!A0" in raw and "@SUM(1+1)*cmd" in raw
    code, _, err = run("export", "evil/root", "--db", "evil.db", "-o", "safe.csv",
                       "--csv-safe")
    assert code == 0, err
    safe = pl.read_csv("safe_nodes.csv")["author"].to_list()
    assert "'=cmd|' /C calc'!A0" in safe and "'@SUM(1+1)*cmd" in safe and "evil" in safe
    code, _, err = run("export", "evil/root", "--db", "evil.db", "-o", "x.json",
                       "--csv-safe")
    assert code == 2 and err.strip().splitlines()[-1] == (
        "Error: --csv-safe applies to CSV exports only")


@pytest.mark.parametrize("command", ["stats", "families", "quality"])
def test_every_csv_writer_offers_csv_safe(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    snap = str(_hostile_snapshot(tmp_path))
    extra = ["evil/root"] if command == "stats" else []
    code, out, err = run(command, *extra, "--snapshot", snap, "--format", "csv",
                         "--csv-safe")
    assert code == 0, err
    assert not any(line.startswith(("=", "+", "-", "@")) for line in out.splitlines())
    code, _, err = run(command, *extra, "--snapshot", snap, "--csv-safe")
    assert code == 2 and "--csv-safe applies to --format csv only" in err
    assert "--csv-safe" in run(command, "--help")[1]


def test_csv_safe_frame_prefixes_only_formula_cells():
    from ecograph.escape import csv_safe_frame

    frame = pl.DataFrame({"s": ["=1+1", "+1", "-x", "@a", "\tx", "\rx", "a=b", "", None],
                          "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9]})
    assert csv_safe_frame(frame).to_dict(as_series=False) == {
        "s": ["'=1+1", "'+1", "'-x", "'@a", "'\tx", "'\rx", "a=b", "", None],
        "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
    }


# --------------------------------------------------------------------------- small ones


@pytest.mark.parametrize("argv", [
    ("families", "--top", "100000000000000000000"),
    ("render", ROOT, "-o", "x.png", "--max-nodes", "99999999999999999999"),
    ("render", ROOT, "-o", "x.png", "--labels", "10000000000"),
    ("synth", "-n", "100000000000", "-o", "x.jsonl"),
    ("synth", "--seed", "-1", "-o", "x.jsonl"),
    ("synth", "--seed", "99999999999999999999999", "-o", "x.jsonl"),
    ("fakehub", "x.jsonl", "--latency-ms", "nan"),
    ("fakehub", "x.jsonl", "--stall-seconds", "inf"),
    ("fakehub", "x.jsonl", "--fail-rate", "nan"),
], ids=lambda a: "-".join(a[::2][:2]))
def test_numeric_options_are_bounded(store, monkeypatch, argv):
    monkeypatch.chdir(store.parent)
    code, _, err = run(*argv, *(["--db", "v.db"] if argv[0] in ("families", "render") else []))
    assert code == 2, err
    assert "Error: Invalid value for" in err and "unexpected" not in err
    assert not (store.parent / "x.png").exists() and not (store.parent / "x.jsonl").exists()


@pytest.mark.parametrize("argv", [
    ("stats", ROOT, "--format", "json"), ("families",), ("quality", "--format", "csv"),
    ("stats", "--all", "--format", "parquet"),
    ("export", ROOT), ("render", ROOT), ("report", ROOT),
], ids=lambda a: "-".join(a[:1] + a[2:]))
def test_every_output_creates_its_parent_directories(store, monkeypatch, argv):
    monkeypatch.chdir(store.parent)
    flag = "--out" if argv[0] == "report" else "-o"
    target = "new/deeper/out" + (".png" if argv[0] == "render" else "")
    code, _, err = run(*argv, "--db", "v.db", flag, target)
    assert code == 0, err
    assert (store.parent / "new" / "deeper").is_dir()
    assert any((store.parent / "new" / "deeper").iterdir())


def test_no_matplotlib_warning_reaches_the_user(tmp_path):
    """A CJK / emoji title and ids: glyphs missing from the font, drawn as boxes, quietly."""
    fam = _hostile_family()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree = fam.fork_tree(title="漢字 \U0001F600 family", dpi=50)
        tree.save(tmp_path / "t.png")
        eco = fam.ecosystem
        eco.save_plot("relations", tmp_path / "r.png", ["evil/root"], title="漢字", dpi=50)
        eco.save_plot("adoption", tmp_path / "a.png", ["evil/root"], log=True, dpi=50)
    assert [str(w.message) for w in caught] == []


def test_render_cli_stderr_is_one_line(store, monkeypatch):
    monkeypatch.chdir(store.parent)
    code, _, err = run("render", ROOT, "--db", "v.db", "-o", "t.pdf", "--dpi", "50",
                       "--title", "漢字 \ufeff $\\frac{$")
    assert code == 0, err
    assert err.strip().splitlines() == [
        f"Wrote the fork tree of {ROOT} (134 derivatives) to t.pdf"]
