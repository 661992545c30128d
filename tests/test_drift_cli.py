"""``ecograph drift`` and the library calls behind it (``Ecosystem.drift``,
``Family.drift``, ``changed_members``) on a store imported from the bundled fixture."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from ecograph.api import Ecosystem, import_file
from ecograph.api import open as open_store
from ecograph.cli import main
from ecograph.drift import DRIFT_COLUMNS
from ecograph.licenses import normalize_license

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_hub.jsonl"
LLAMA = "meta-llama/Llama-3.1-8B"
QWEN = "Qwen/Qwen2.5-7B"
COLUMN = {"license": "license", "gated": "gated", "pipeline": "pipeline_tag",
          "library": "library_name"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drift") / "hub.db"
    import_file(FIXTURE, path)
    return path


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output


# --------------------------------------------------------------------------- brute force


def _truth(trait: str) -> tuple[dict[str, set[str]], dict[str, str | None]]:
    """Parents of every model and its normalised trait value, read straight from the
    fixture's JSON (plain Python, independent of the store and of ecograph.drift)."""
    from ecograph.records import parse_model

    parents: dict[str, set[str]] = {}
    value: dict[str, str | None] = {}
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        rec = parse_model(obj).record
        parents[rec.id] = {p for p in rec.parents if p != rec.id}
        card = obj.get("cardData") if isinstance(obj.get("cardData"), dict) else {}
        if trait == "license":
            value[rec.id] = normalize_license(card.get("license"), obj.get("tags") or [])
        elif trait == "gated":
            gated = obj.get("gated")
            value[rec.id] = "false" if gated in (None, False, "false") else str(gated).lower()
        else:
            raw = obj.get(COLUMN[trait])
            value[rec.id] = raw.strip().lower() if isinstance(raw, str) and raw.strip() \
                else None
    return parents, value


def _family(parents: dict[str, set[str]], root: str) -> set[str]:
    children: dict[str, set[str]] = {}
    for child, ps in parents.items():
        for p in ps:
            children.setdefault(p, set()).add(child)
    seen, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), ()):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    seen.discard(root)
    return seen


def _changed(trait: str, root: str) -> dict[str, tuple[str, str]]:
    parents, value = _truth(trait)
    out = {}
    for m in _family(parents, root):
        known = {value[p] for p in parents[m] if value.get(p) is not None}
        if value[m] is not None and known and value[m] not in known:
            out[m] = (" + ".join(sorted(known)), value[m])
    return out


# --------------------------------------------------------------------------- CLI


def test_json_has_exactly_the_design_keys_and_brute_force_counts(db: Path) -> None:
    code, out = run("drift", LLAMA, QWEN, "--db", str(db), "--format", "json")
    assert code == 0, out
    rows = json.loads(out)
    assert [r["root"] for r in rows] == [LLAMA, QWEN]
    for row in rows:
        assert list(row) == list(DRIFT_COLUMNS)
        for trait in ("license", "gated", "pipeline", "library"):
            assert row[f"{trait}_changed"] == len(_changed(trait, row["root"])), trait
        want: dict[tuple[str, str], int] = {}
        for pair in _changed("license", row["root"]).values():
            want[pair] = want.get(pair, 0) + 1
        got = {(t["from"], t["to"]): t["count"] for t in row["transitions"]}
        assert got == want  # fewer than 10 distinct transitions: all of them
        assert all(set(t) == {"from", "to", "count"} for t in row["transitions"])
    llama = rows[0]
    assert llama["license_changed"] == 10 and llama["relicensed_permissive"] == 1
    assert llama["ungated_copies"] == 132  # gated foundation: its open members


@pytest.mark.parametrize("trait", ["gated", "pipeline", "library"])
def test_trait_selects_the_transitions_only(db: Path, trait: str) -> None:
    base = json.loads(run("drift", LLAMA, "--db", str(db), "--format", "json")[1])[0]
    code, out = run("drift", LLAMA, "--db", str(db), "--format", "json", "--trait", trait)
    assert code == 0, out
    row = json.loads(out)[0]
    assert {k: v for k, v in row.items() if k != "transitions"} == \
        {k: v for k, v in base.items() if k != "transitions"}
    want: dict[tuple[str, str], int] = {}
    for pair in _changed(trait, LLAMA).values():
        want[pair] = want.get(pair, 0) + 1
    top = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [((t["from"], t["to"]), t["count"]) for t in row["transitions"]] == top


def test_list_prints_every_changed_member_with_a_checkable_path(db: Path) -> None:
    code, out = run("drift", "meta-llama/llama-3.1-8b", "--list", "--db", str(db),
                    "--format", "json")
    assert code == 0, out
    members = json.loads(out)
    want = _changed("license", LLAMA)
    assert {m["id"]: (m["from"], m["to"]) for m in members} == want
    parents, _ = _truth("license")
    for m in members:
        path = m["path"]
        assert path[0] == LLAMA and path[-1] == m["id"] and len(path) - 1 == m["depth"]
        assert all(a in parents[b] for a, b in zip(path, path[1:], strict=False))
    # the table shows the same members, each with its path joined by " > "
    code, table = run("drift", LLAMA, "--list", "--db", str(db))
    assert code == 0 and table.startswith(f"{len(want)} members of the family of {LLAMA}")
    for m in members:
        assert " > ".join(m["path"]) in table


def test_list_with_another_trait_and_csv_paths(db: Path) -> None:
    code, out = run("drift", QWEN, "--list", "--trait", "library", "--db", str(db),
                    "--format", "csv")
    assert code == 0, out
    frame = pl.read_csv(out.encode())
    assert frame.columns == ["id", "depth", "from", "to", "path"]
    assert set(frame.get_column("id")) == set(_changed("library", QWEN))
    assert all(p.startswith(f"{QWEN} > ") for p in frame.get_column("path"))


def test_csv_and_parquet_hold_one_row_per_root_and_transition(db: Path,
                                                              tmp_path: Path) -> None:
    code, out = run("drift", "--all", "--db", str(db), "--format", "csv")
    assert code == 0, out
    flat = pl.read_csv(out.encode())
    nested = json.loads(run("drift", "--all", "--db", str(db), "--format", "json")[1])
    assert flat.columns == [*(c for c in DRIFT_COLUMNS if c != "transitions"),
                            "rank", "from", "to", "count"]
    assert flat.height == sum(max(len(r["transitions"]), 1) for r in nested)
    for r in nested:
        rows = flat.filter(pl.col("root") == r["root"])
        assert rows.get_column("license_changed").unique().to_list() == [r["license_changed"]]
        got = [(t["from"], t["to"], t["count"]) for t in rows.drop_nulls("rank").iter_rows(
            named=True)]
        assert got == [(t["from"], t["to"], t["count"]) for t in r["transitions"]]
    code, out = run("drift", "--all", "--db", str(db), "--format", "parquet", "-o",
                    str(tmp_path / "d.parquet"))
    assert code == 0, out
    assert pl.read_parquet(tmp_path / "d.parquet").height == flat.height


def test_table_names_roots_and_transitions(db: Path) -> None:
    code, out = run("drift", LLAMA, "--db", str(db))
    assert code == 0, out
    assert out.splitlines()[0].split()[:4] == ["root", "license", "known", "changed"]
    assert f"Top license transitions of {LLAMA} (from -> to: members):" in out
    assert "  llama3.1         -> mit: 1" in out


@pytest.mark.parametrize(("args", "code", "message"), [
    (["drift", LLAMA, "--all"], 2, "Error: give ROOTs or --all, not both"),
    (["drift"], 2, "Error: give at least one ROOT, or --all"),
    (["drift", LLAMA, QWEN, "--list"], 2, "Error: --list takes exactly one ROOT"),
    (["drift", "--all", "--list"], 2, "Error: --list takes exactly one ROOT"),
    (["drift", LLAMA, "--format", "parquet"], 2, "Error: --format parquet needs -o FILE"),
    (["drift", LLAMA, "--trait", "colour"], 2, "Error: Invalid value for '--trait'"),
    (["drift", "nobody/nothing"], 1, "Error: unknown model 'nobody/nothing'"),
])
def test_bad_input_is_one_error_line(db: Path, args: list[str], code: int,
                                     message: str) -> None:
    got, out = run(*args, "--db", str(db))
    assert got == code
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(message), out
    assert "Traceback" not in out


def test_missing_store_is_one_error_line(tmp_path: Path) -> None:
    code, out = run("drift", LLAMA, "--db", str(tmp_path / "none.db"))
    assert code == 1 and out.startswith("Error: no ecograph store at ")


# --------------------------------------------------------------------------- library


def test_library_calls_agree_with_the_cli(db: Path) -> None:
    eco = open_store(db)
    frame = eco.drift()  # every foundation, sorted by id
    assert frame.columns == list(DRIFT_COLUMNS)
    assert frame.get_column("root").to_list() == sorted(eco.foundations()["root"])
    cli = json.loads(run("drift", "--all", "--db", str(db), "--format", "json")[1])
    assert frame.to_dicts() == cli
    fam = eco.family("qwen/qwen2.5-7b")
    assert fam.drift() == eco.drift(QWEN).row(0, named=True)
    # the bundled GGUF builds declare library gguf, the adapters peft
    assert fam.drift("library")["transitions"][:2] == [
        {"from": "transformers", "to": "gguf", "count": 16},
        {"from": "transformers", "to": "peft", "count": 7}]
    assert set(fam.changed_members().get_column("id")) == set(_changed("license", QWEN))


def test_snapshot_and_store_give_the_same_drift(db: Path) -> None:
    from_store = open_store(db).drift()
    from_snapshot = Ecosystem.from_snapshot(FIXTURE).drift()
    assert from_store.equals(from_snapshot)
