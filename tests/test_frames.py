"""frames_from_parsed and the snapshot reader."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from ecograph.errors import SnapshotError
from ecograph.frames import EDGE_SCHEMA, MODEL_SCHEMA, frames_from_parsed
from ecograph.records import parse_model
from ecograph.snapshot import iter_snapshot, read_snapshot

OBJS = [
    {"id": "org/Root", "createdAt": "2024-01-01T00:00:00.000Z", "downloads": 10},
    {"id": "q/root-GGUF", "tags": ["base_model:quantized:org/root"]},  # case variant
    {"id": "m/merge", "tags": ["base_model:merge:org/Root", "base_model:merge:gone/away"]},
    {"id": "s/self", "tags": ["base_model:finetune:s/self"]},
    {"id": "c/a", "tags": ["base_model:finetune:c/b"]},
    {"id": "c/b", "tags": ["base_model:finetune:c/a"]},
]


def test_frames_schema_missing_and_case_resolution():
    models, edges = frames_from_parsed(parse_model(o) for o in OBJS)
    assert dict(models.schema) == MODEL_SCHEMA
    assert dict(edges.schema) == EDGE_SCHEMA
    assert models["id"].to_list() == sorted(models["id"].to_list())
    status = dict(zip(models["id"], models["status"], strict=True))
    assert status["gone/away"] == "missing" and status["org/Root"] == "ok"
    pairs = set(edges.select("parent", "child").iter_rows())
    assert ("org/Root", "q/root-GGUF") in pairs  # canonical spelling, not 'org/root'
    assert ("s/self", "s/self") in pairs  # self-loop kept
    assert {("c/a", "c/b"), ("c/b", "c/a")} <= pairs  # 2-cycle kept
    # every endpoint has a model row
    ids = set(models["id"])
    assert set(edges["parent"]) <= ids and set(edges["child"]) <= ids


def test_frames_dedupe_models_and_edges():
    objs = [OBJS[0], OBJS[1], OBJS[1]]
    models, edges = frames_from_parsed(parse_model(o) for o in objs)
    assert models.height == 2 and edges.height == 1


def test_snapshot_roundtrip_plain_and_gzip(tmp_path):
    plain = tmp_path / "s.jsonl"
    plain.write_text("\n".join(json.dumps(o) for o in OBJS) + "\n\n")
    gz = tmp_path / "s.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(plain.read_text())
    a = read_snapshot(plain)
    b = read_snapshot(gz)
    assert a[0].equals(b[0]) and a[1].equals(b[1])
    assert len(list(iter_snapshot(plain))) == len(OBJS)
    assert isinstance(a[0], pl.DataFrame)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json}\n", r"s\.jsonl:1: not valid JSON"), ('{"id": "a/b"}\n[1, 2]\n', r":2: expected")],
)
def test_snapshot_bad_lines(tmp_path, content, message):
    p = tmp_path / "s.jsonl"
    p.write_text(content)
    with pytest.raises(SnapshotError, match=message):
        list(iter_snapshot(p))


def test_snapshot_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match="snapshot not found"):
        list(iter_snapshot(tmp_path / "nope.jsonl"))
