"""Grading in shards (`grade --shard K/N`) and merging them (`merge`): every submission is in
exactly one shard, whatever the machine, and the merged shards are the unsharded batch."""

import csv
import json
import shutil
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.shards import ShardError, merge, parse_shard, shard_of
from grader.variants import load_variants, typed_in_release, write_submissions

A = "01_neurons"


def test_shard_specifications():
    assert parse_shard("0/1") == (0, 1) and parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(ShardError) as info:
            parse_shard(bad)
        assert "K/N" in info.value.render("en") and bad in info.value.render("pt")


@given(st.lists(st.text(min_size=1, max_size=30), unique=True, max_size=40), st.integers(1, 6))
def test_every_submission_is_in_exactly_one_shard(names, count):
    slices = [{n for n in names if shard_of(n, count) == k} for k in range(count)]
    assert set().union(*slices) == set(names) and sum(len(s) for s in slices) == len(names)
    assert all(shard_of(n, count) == shard_of(n, count) for n in names)


def test_the_slice_does_not_depend_on_the_machine():
    assert [shard_of(n, 4) for n in ("alice-lista", "bob-lista", "carol")] == [
        shard_of("alice-lista", 4),
        shard_of("bob-lista", 4),
        shard_of("carol", 4),
    ]
    assert shard_of("alice-lista", 4) == int.from_bytes(__import__("hashlib").sha256(b"alice-lista").digest()[:8]) % 4


def fake(name: str, score: float, grader_error: bool = False) -> dict:
    return {"score": score, "extra_data": {"submission": name, "grader_error": grader_error}}


def test_merge_keeps_one_result_per_submission(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, results in ((a, [fake("x", 1), fake("y", 0, grader_error=True)]), (b, [fake("y", 2), fake("z", 3)])):
        folder.mkdir()
        for result in results:
            (folder / f"{result['extra_data']['submission']}.json").write_text(json.dumps(result))
    merged = merge([a, b], tmp_path / "out")
    assert [(r["extra_data"]["submission"], r["score"]) for r in merged] == [("x", 1), ("y", 2), ("z", 3)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.json", "y.json", "z.json"]
    (b / "x.json").write_text(json.dumps(fake("x", 5)))
    with pytest.raises(ShardError, match="different scores"):
        merge([a, b], tmp_path / "again")
    with pytest.raises(ShardError):
        merge([tmp_path / "out" / "missing"], tmp_path / "none")


def grade(args, cwd):
    done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def gradebook(folder):
    with open(folder / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return sorted(tuple(row) for row in csv.reader(handle))


@pytest.mark.slow  # the batch graded twice, through the CLI
def test_two_shards_merged_are_the_unsharded_batch(root, tmp_path):
    variants = [v for v in load_variants(A) if v.breaks][:3]
    paths = write_submissions(A, variants, tmp_path / "batch")
    (tmp_path / "batch" / "truncated.ipynb").write_text('{"cells": [', encoding="utf-8")
    for student in ("alice", "bob"):  # the same file name in two folders: names must agree across shards
        (tmp_path / "batch" / student).mkdir()
        (tmp_path / "batch" / student / "lista.ipynb").write_text(json.dumps(typed_in_release(A)), encoding="utf-8")
    shutil.copy(root / "exercises" / A / f"{A}.ipynb", tmp_path / "batch" / "blank.ipynb")
    files = [
        str(p) for p in [*paths.values(), *(tmp_path / "batch").glob("*.ipynb"), *(tmp_path / "batch").glob("*/*")]
    ]
    files = sorted(set(files))
    common = ["--assignment", A, "--jobs", "2", "--quiet", "--lang", "en"]
    grade(["grade", *files, *common, "--out", str(tmp_path / "whole")], root)
    for k in (0, 1):
        grade(["grade", *files, *common, "--out", str(tmp_path / f"shard{k}"), "--shard", f"{k}/2"], root)
    shards = [{p.name for p in (tmp_path / f"shard{k}").glob("*.json")} for k in (0, 1)]
    assert shards[0] and shards[1] and not shards[0] & shards[1]
    grade(
        [
            "merge",
            str(tmp_path / "shard0"),
            str(tmp_path / "shard1"),
            "--assignment",
            A,
            "--out",
            str(tmp_path / "merged"),
        ],
        root,
    )
    whole = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "whole").glob("*.json")}
    merged = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "merged").glob("*.json")}
    assert set(merged) == set(whole) == shards[0] | shards[1]
    assert {"alice-lista.json", "bob-lista.json"} <= set(whole)
    for name, result in whole.items():
        other = merged[name]
        assert (other["score"], other["output"]) == (result["score"], result["output"]), name
        assert [(t["name"], t["status"], t["output"]) for t in other["tests"]] == [
            (t["name"], t["status"], t["output"]) for t in result["tests"]
        ], name
    assert gradebook(tmp_path / "merged") == gradebook(tmp_path / "whole")
