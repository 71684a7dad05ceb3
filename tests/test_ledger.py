"""The results ledger (grader.ledger): the latest line per submission wins, a line cut short
by a crash is skipped, and a line vouches only for the same file, graders and version."""

import json
import shutil
from dataclasses import replace

import pytest

from grader.course import forget_assignments, load_assignment, read_notebook
from grader.ledger import LEDGER, Line, append, file_digest, graders_digest, read, still_valid

A = "01_neurons"


def test_latest_line_wins_and_a_torn_line_is_skipped(tmp_path):
    first = Line("ana", "a" * 64, "g", "0.1.0", False, 19.0)
    append(tmp_path, first)
    append(tmp_path, replace(first, score=18.0))
    append(tmp_path, replace(first, name="bia"))
    with open(tmp_path / LEDGER, "a", encoding="utf-8") as handle:
        handle.write('{"name": "caio", "sha2')  # the coordinator died mid-line
    lines = read(tmp_path)
    assert set(lines) == {"ana", "bia"} and lines["ana"].score == 18.0
    assert read(tmp_path / "nothing") == {}


def test_a_line_vouches_only_for_the_same_file_graders_and_version(tmp_path):
    from grader import __version__

    path = tmp_path / "x.ipynb"
    path.write_text("{}", encoding="utf-8")
    line = Line("x", file_digest(path), "g", __version__, False, 1.0)
    assert still_valid(line, path, "g")
    assert not still_valid(None, path, "g")
    assert not still_valid(line, path, "other graders")
    assert not still_valid(replace(line, version="0.0.0"), path, "g")
    assert not still_valid(replace(line, grader_error=True), path, "g")
    path.write_text('{"cells": []}', encoding="utf-8")  # resubmitted
    assert not still_valid(line, path, "g")


def test_the_graders_digest_follows_the_course(root, tmp_path):
    shutil.copytree(root / "source" / A, tmp_path / "source" / A)
    here, there = load_assignment(A), load_assignment(A, tmp_path)
    assert graders_digest(here) == graders_digest(there)
    path = tmp_path / "source" / A / f"{A}.ipynb"
    notebook = read_notebook(path)
    notebook["cells"][0]["source"] += "\n"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    forget_assignments()  # the file changed under the cache
    assert graders_digest(load_assignment(A, tmp_path)) != graders_digest(here)


@pytest.mark.slow  # the CLI twice, the first run killed halfway
def test_a_coordinator_killed_mid_batch_is_finished_by_the_same_command(root, tmp_path):
    """`grade` killed (SIGKILL, no clean-up) after some results: every file it left parses,
    and running the very same command again grades only what is left."""
    import signal
    import subprocess
    import sys
    import time

    from grader.variants import Variant, write_submissions

    write_submissions(A, [Variant(f"s{i}", {}) for i in range(6)], tmp_path / "batch")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", str(tmp_path / "batch"), "--assignment", A]
    command += ["--out", str(out), "--jobs", "1", "--quiet"]
    first = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(read(out)) < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    graded_before = set(read(out))
    assert 2 <= len(graded_before) < 6, "the batch must be killed halfway"
    assert all(json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json"))  # no torn file
    lines_before = len((out / LEDGER).read_text(encoding="utf-8").splitlines())

    subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL, timeout=600)
    regraded = [json.loads(x)["name"] for x in (out / LEDGER).read_text(encoding="utf-8").splitlines()[lines_before:]]
    assert sorted(regraded) == sorted({f"s{i}" for i in range(6)} - graded_before)
    assert len(list(out.glob("s*.json"))) == 6
