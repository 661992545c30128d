"""Issue 11, the data's part: hostile input data and read-only stores, one test each.

Every test here failed on the code before the fix: a lone surrogate aborted a whole import
or crawl ("unexpected UnicodeEncodeError"), NUL and control characters went into stored
ids and authors, rows without an id were counted as imported, a parquet column of the
wrong type gave "unexpected ...", and a store that may only be read could not be opened.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ecograph.cli import main
from ecograph.crawl import crawl
from ecograph.fakehub import FakeHub
from ecograph.hub import HubClient
from ecograph.importer import import_snapshot
from ecograph.pacing import RateLimiter
from ecograph.records import parse_model
from ecograph.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "small_hub.jsonl"


def _m(mid: Any, parents: tuple[str, ...] = (), rel: str | None = None, **kw: Any) -> dict:
    tags = ["transformers"]
    for p in parents:
        tags += [f"base_model:{p}", f"base_model:{rel}:{p}"]
    return {"id": mid, "author": "org", "downloads": 1, "tags": tags, **kw}


def _lines(path: Path, raw_lines: list[str]) -> Path:
    """Write JSONL lines exactly as given (JSON escapes such as ``\\ud800`` kept)."""
    path.write_text("".join(line + "\n" for line in raw_lines), encoding="utf-8")
    return path


def _stored(db: Path) -> dict[str, tuple]:
    con = sqlite3.connect(db)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT id, author, pipeline_tag, library_name, tags, status FROM models")}
    finally:
        con.close()


# ----------------------------------------------- item 2: surrogates, NUL, control characters


HOSTILE_LINES = [
    json.dumps(_m("org/root")),
    # a lone surrogate (JSON escape) in the author, a tag and the pipeline tag
    '{"id": "org/ft", "author": "x\\ud800y", "pipeline_tag": "text\\udfff", '
    '"tags": ["base_model:org/root", "base_model:finetune:org/root", "t\\ud800"]}',
    # NUL / control characters in ids: not models
    '{"id": "org/nul\\u0000", "author": "org"}',
    '{"id": "org/bell\\u0007x", "author": "org"}',
    '{"id": "org/sur\\ud800", "author": "org"}',
    # control and invisible characters in free text: cleaned, the model kept
    '{"id": "org/ctl", "author": "a\\u0000b\\u202ec", "library_name": "lib\\u0001", '
    '"tags": ["base_model:finetune:org/root", "base_model:org/root", "x\\ufeffy"]}',
    json.dumps(_m("org/after", ("org/root",), "quantized")),
]


@pytest.mark.parametrize("batch_size", [100, 1])
def test_hostile_text_in_an_import_is_cleaned_and_counted(tmp_path: Path,
                                                         batch_size: int) -> None:
    src = _lines(tmp_path / "h.jsonl", HOSTILE_LINES)
    db = tmp_path / "h.db"
    with Store.open(db) as store:
        res = import_snapshot(store, src, batch_size=batch_size)
        counts = json.loads(store.runs()["counts"][0])
    rows = _stored(db)
    # every model kept, nothing of the bad ids stored
    assert sorted(rows) == ["org/after", "org/ctl", "org/ft", "org/root"]
    assert rows["org/ft"][:2] == ("x\ufffdy", "text\ufffd")
    assert json.loads(rows["org/ft"][3])[-1] == "t\ufffd"
    assert rows["org/ctl"][0] == "abc" and rows["org/ctl"][2] == "lib"
    assert json.loads(rows["org/ctl"][3])[-1] == "xy"
    # the edges of the cleaned records are imported too
    with Store.open(db) as store:
        edges = set(store.load()[1].select("parent", "child").rows())
    assert edges == {("org/root", "org/ft"), ("org/root", "org/ctl"), ("org/root", "org/after")}
    # counted: imported = stored; skipped lines and cleaned values listed with their line
    assert res.models == 4 and res.skipped == 3
    assert [(p.where, p.kind) for p in res.problems if p.skipped] == [
        (f"{src}:3", "invalid_id"), (f"{src}:4", "invalid_id"), (f"{src}:5", "invalid_id")]
    assert [(p.where, p.model_id, p.reference) for p in res.problems
            if p.kind == "cleaned_text"] == [
        (f"{src}:2", "org/ft", "author"), (f"{src}:2", "org/ft", "pipeline_tag"),
        (f"{src}:2", "org/ft", "tags"), (f"{src}:6", "org/ctl", "author"),
        (f"{src}:6", "org/ctl", "library_name"), (f"{src}:6", "org/ctl", "tags")]
    assert counts["skipped_rows"] == 3 and counts["cleaned_values"] == 6
    assert counts["unread_parents"] == 0 and counts["models"] == 4
    line = res.summary_line()
    assert line.startswith("Imported 4 models and 3 edges")
    assert f"; 3 lines skipped (no valid model id; first: {src}:3: : invalid_id " in line
    assert "'org/nul\\x00')" in line and "; 6 text values cleaned (first: " in line
    line.encode("utf-8")  # printable: no surrogate, no NUL
    assert "\x00" not in line


def test_the_import_command_survives_a_lone_surrogate(tmp_path: Path) -> None:
    src = _lines(tmp_path / "h.jsonl", HOSTILE_LINES)
    r = CliRunner().invoke(main, ["import", str(src), "--db", str(tmp_path / "h.db"), "-q"])
    assert r.exit_code == 0, r.output
    assert "unexpected" not in r.output and "Imported 4 models" in r.output


def _bad_utf8(values: list[bytes]) -> pa.Array:
    """A parquet string column holding bytes that are not UTF-8 (a CESU-8 surrogate)."""
    raw = pa.array(values, pa.binary())
    return pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())


def test_bytes_that_are_not_utf8_in_a_parquet_dump(tmp_path: Path) -> None:
    src = tmp_path / "m.parquet"
    pq.write_table(pa.table({
        "id": _bad_utf8([b"a/root", b"a/\xed\xa0\x80", b"a/ft", b"a/ok"]),
        "author": _bad_utf8([b"a", b"a", b"x\xed\xa0\x80y", b"ok"]),
        "tags": pa.array([[], [], ["base_model:finetune:a/root"], ["base_model:a/root"]],
                         pa.list_(pa.string())),
    }), src)
    db = tmp_path / "m.db"
    with Store.open(db) as store:
        res = import_snapshot(store, src)
        models, edges = store.load()  # reads back: the store holds only valid text
    assert sorted(models["id"]) == ["a/ft", "a/ok", "a/root"]
    assert dict(models.select("id", "author").iter_rows())["a/ft"] == "x\ufffd\ufffd\ufffdy"
    assert edges.select("parent", "child").rows() == [("a/root", "a/ft"), ("a/root", "a/ok")]
    assert res.models == 3 and res.skipped == 1
    assert [(p.where, p.model_id, p.kind) for p in res.problems] == [
        (f"{src}:row 2", "", "invalid_id"), (f"{src}:row 3", "a/ft", "cleaned_text")]


def test_parse_model_cleans_text_and_refuses_bad_ids() -> None:
    from ecograph.records import clean_text

    p = parse_model({"id": "a/b", "author": "a\ud800", "tags": ["x\x00", "\x07", "ok"],
                     "gated": "auto\u200b", "cardData": {"license": "mit\x00"}})
    assert (p.record.author, p.record.tags, p.record.gated, p.record.license) == (
        "a\ufffd", ("x", "ok"), "auto", "mit")
    assert [(x.kind, x.detail) for x in p.problems] == [
        ("cleaned_text", "author"), ("cleaned_text", "gated"), ("cleaned_text", "tags"),
        ("cleaned_text", "cardData.license")]
    for bad in ("a/b\x00", "a/\ud800", "a b/c", "org/name.", "a/b/c"):
        parsed = parse_model({"id": bad, "tags": ["base_model:finetune:x/y"]})
        assert parsed.record.id == "" and parsed.edges == ()
        assert [(x.kind, x.detail) for x in parsed.problems][0] == ("invalid_id", bad)
    # clean text is the output rule's plain_text: a cleaned value never changes again
    for text in ("x\ud800y", "a\x00b\u202e", "two\nlines", "fine"):
        once = clean_text(text)
        assert once is not None and clean_text(once) == once


def _client(hub: FakeHub) -> HubClient:
    return HubClient(hub.url, token=False, timeout=5, limiter=RateLimiter())


def test_a_crawl_goes_on_past_hostile_records(tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    snap = [
        _m("org/A"),
        _m("u/ft", ("org/A",), "finetune", author="x\ud800y", pipeline_tag="a\x00b"),
        _m("u/q", ("org/A",), "quantized"),
        _m("u/nul\x00", ("org/A",), "finetune"),  # an id the Hub should not have
        _m("u/sur\ud800", ("org/A",), "finetune"),
    ]
    db = tmp_path / "c.db"
    with FakeHub(snap) as fh, Store.open(db) as store:
        res = crawl(store, _client(fh), ["org/A"])
        assert res.status == "done" and res.failures == []
        assert res.requests["invalid_records"] == 2
        models, edges = store.load()
        again = CliRunner().invoke(main, ["crawl", "org/A", "--db", str(tmp_path / "d.db"),
                                          "--endpoint", fh.url, "-q"])
    assert sorted(models["id"]) == ["org/A", "u/ft", "u/q"]
    row = dict(zip(models["id"], models.select("author", "pipeline_tag").rows(), strict=True))
    assert row["u/ft"] == ("x\ufffdy", "ab")
    assert sorted(edges.select("parent", "child").rows()) == [("org/A", "u/ft"),
                                                              ("org/A", "u/q")]
    assert again.exit_code == 0, again.output
    assert "  listed objects skipped (no valid model id): 2" in again.output.splitlines()
    # the fake Hub served them (escaped, as the Hub does) without a traceback
    err = capfd.readouterr().err
    assert "Traceback" not in err and "UnicodeEncodeError" not in err


def test_a_snapshot_file_with_surrogates_is_served(tmp_path: Path,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    src = _lines(tmp_path / "h.jsonl", HOSTILE_LINES)
    with FakeHub(src) as fh:
        info = _client(fh).model_info("org/ft")
        page = _client(fh).children_page("org/root")
    assert info.parsed.record.author == "x\ufffdy"
    assert sorted(m.record.id for m in page.models) == ["org/after", "org/ctl", "org/ft"]
    assert "Traceback" not in capfd.readouterr().err


# ----------------------------------------------- item 8: parquet column types, dropped rows


@pytest.mark.parametrize(("column", "values", "message"), [
    ("tags", ["x", "base_model:a/b"], "column 'tags' has type string, expected a list "
                                      "of strings"),
    ("id", [1, 2], "column 'id' has type int64, expected text (string)"),
    ("downloads", ["1", "2"], "column 'downloads' has type string, expected a number"),
])
def test_a_parquet_column_of_the_wrong_type_is_one_error_line(
        tmp_path: Path, column: str, values: list, message: str) -> None:
    frame: dict[str, list] = {"id": ["a/b", "a/c"], "tags": [["x"], []]}
    frame[column] = values
    pq.write_table(pa.table(frame), tmp_path / "m.parquet")
    r = CliRunner().invoke(main, ["import", str(tmp_path / "m.parquet"),
                                  "--db", str(tmp_path / "m.db"), "-q"])
    assert r.exit_code == 1
    assert r.output.splitlines() == [
        f"Error: {tmp_path / 'm.parquet'}: {message} (the models.parquet layout); "
        "nothing was imported"]


@pytest.mark.parametrize("layout", ["jsonl", "parquet"])
def test_rows_without_a_valid_id_are_counted_not_imported(tmp_path: Path, layout: str) -> None:
    if layout == "jsonl":
        src = _lines(tmp_path / "m.jsonl", ['{"id": "a/b"}', '{"id": null}', '{"id": 5}',
                                            '{"author": "x"}', '{"id": "a/c"}'])
        bad = 3
    else:
        src = tmp_path / "m.parquet"
        pq.write_table(pa.table({"id": ["a/b", None, "", "a/c"],
                                 "tags": [[], None, [], []]}), src)
        bad = 2
    r = CliRunner().invoke(main, ["import", str(src), "--db", str(tmp_path / "m.db"), "-q"])
    assert r.exit_code == 0, r.output
    with Store.open(tmp_path / "m.db") as store:
        assert sorted(store.load()[0]["id"]) == ["a/b", "a/c"]
    unit = "lines" if layout == "jsonl" else "rows"
    assert r.output.startswith("Imported 2 models and 0 edges")
    assert f"; {bad} {unit} skipped (no valid model id; first: {src}:" in r.output


# ----------------------------------------------- item 5: a store you may only read

LLAMA = "meta-llama/Llama-3.1-8B"


def _make_read_only(path: Path, request: pytest.FixtureRequest) -> None:
    """Make ``path`` (a file or a directory) impossible to write, even for root: plain
    permissions for a normal user; ``chattr +i`` (immutable: the kernel refuses root
    too, as on a read-only mount) when the tests run as root. Undone after the test."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        request.addfinalizer(lambda: path.chmod(mode))
    else:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(path)],
                                            capture_output=True).returncode != 0:
            pytest.skip("cannot make a path read-only for root here (no chattr +i)")
        request.addfinalizer(lambda: subprocess.run([chattr, "-i", str(path)], check=True))
    if os.access(path, os.W_OK):
        pytest.skip(f"{path} is still writable")


@pytest.fixture(scope="module")
def bundled_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ecograph.snapshot import bundled_snapshot

    db = tmp_path_factory.mktemp("bundled") / "v.db"
    r = CliRunner().invoke(main, ["import", str(bundled_snapshot()), "--db", str(db), "-q"])
    assert r.exit_code == 0, r.output
    return db


_READERS = [
    ("info",), ("stats", LLAMA), ("stats", "--all", "--format", "json"), ("families",),
    ("quality",), ("lineages",), ("trends",),
    ("export", LLAMA, "-o", "{out}/f.json"), ("export", "--all", "-o", "{out}/all.graphml"),
    ("render", LLAMA, "-o", "{out}/t.png", "--dpi", "50"),
    ("plot", "fanout", LLAMA, "-o", "{out}/f.png"), ("plot", "share", "-o", "{out}/d.png"),
    ("compare", LLAMA, "-o", "{out}/c.png"), ("report", LLAMA, "--out", "{out}/report"),
]


@pytest.mark.parametrize("locked", ["file", "directory"])
def test_every_reader_works_on_a_read_only_store(
        bundled_store: Path, tmp_path: Path, request: pytest.FixtureRequest,
        locked: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "v.db"
    shutil.copy(bundled_store, db)
    out = tmp_path / "out"
    out.mkdir()
    before = db.read_bytes()
    _make_read_only(db if locked == "file" else folder, request)
    # only readers (no output flags that would write next to the store)
    for argv in _READERS:
        args = [a.replace("{out}", str(out)) for a in argv]
        r = CliRunner().invoke(main, [*args, "--db", str(db)])
        assert r.exit_code == 0, (argv, r.output)
    assert db.read_bytes() == before
    with Store.open(db, create=False) as store:
        assert store.read_only
        assert store.summary() is not None
    # the writers say, in one line, that they cannot write
    snap = _lines(tmp_path / "s.jsonl", [json.dumps(_m("x/y"))])
    reason = ("the file is read-only" if locked == "file"
              else f"its directory {folder} is read-only")
    with FakeHub([_m(LLAMA)]) as fh:
        for argv in (["import", str(snap)], ["crawl", LLAMA, "--endpoint", fh.url]):
            r = CliRunner().invoke(main, [*argv, "--db", str(db), "-q"])
            assert r.exit_code == 1
            assert r.output.splitlines() == [
                f"Error: cannot write {db}: read-only ({reason}); the commands that only "
                "read the store still work"]
    assert db.read_bytes() == before


def test_a_store_opened_read_only_never_writes(bundled_store: Path, tmp_path: Path) -> None:
    """The read-only forms themselves (``mode=ro``, then ``immutable=1``), also where the
    kernel would allow writing (root ignores permissions): nothing changes on disk."""
    from ecograph.errors import StoreError

    db = tmp_path / "v.db"
    shutil.copy(bundled_store, db)
    before = db.read_bytes()
    with Store.open(db, read_only=True) as store:
        assert store.read_only
        models, edges = store.load()
        assert models.height > 100 and edges.height > 100
        with pytest.raises(StoreError):
            store.begin_run("import", {})
    with Store.open(db) as store:
        assert not store.read_only
    assert db.read_bytes()[:100] == before[:100]
    # a missing store is not created by a reader
    with pytest.raises(StoreError, match="no ecograph store"):
        Store.open(tmp_path / "none.db", create=False, read_only=True)
    assert not (tmp_path / "none.db").exists()


# ----------------------------------------------- the demo's stats.json is written atomically


def test_the_demo_never_leaves_a_half_written_stats_json(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails before its data reaches the disk (a full disk at ``fsync``)
    keeps the previous stats.json; written in place, it was replaced by unsynced data."""
    import errno

    from ecograph.demo import run_demo

    stats = tmp_path / "stats.json"
    stats.write_text('{"previous": true}\n')

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        run_demo(tmp_path, snapshot=FIXTURE)
    assert stats.read_text() == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
