"""Per-student numbers with nbgrader's exchange, as the README's "With nbgrader's exchange"
says instructors do it: the shared release goes through the exchange, each student's own
notebook is put where `fetch_assignment` would put it, and `submit`, `collect` and `autograde`
carry and grade it with that student's numbers. Real nbgrader on a temporary exchange."""

import getpass
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_nbgrader_course import make_course

from grader import personal
from grader.course import load_assignment
from grader.variants import typed_in_release

A = "01_neurons"
EXERCISE = "AT_LEAST_K_THRESHOLD"


def run(args, cwd) -> subprocess.CompletedProcess:
    """A command with the environment as it is now (the secret this test set included)."""
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def ok(args, cwd) -> None:
    done = run(args, cwd)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def test_nbgrader_has_no_per_student_outbound():
    """Why `release --roster` does not write into the exchange (README): nbgrader's own
    exchange has one outbound folder per assignment. When a release of nbgrader adds a
    per-student one, this fails, and the README and `release --roster` should use it."""
    from nbgrader.exchange import default

    traits = set()
    for name in ("Exchange", "ExchangeReleaseAssignment", "ExchangeFetchAssignment", "ExchangeSubmit"):
        traits |= set(getattr(default, name).class_trait_names())
    assert not {t for t in traits if "personal" in t or "per_student" in t}, traits


@pytest.mark.slow  # nbgrader release, fetch, submit, collect and autograde for real
def test_a_students_own_notebook_goes_through_the_exchange_and_is_graded_with_their_numbers(
    root, tmp_path, monkeypatch
):
    student = getpass.getuser()  # nbgrader's student id on submit: the user running it
    defaults = personal.defaults(A)
    # a secret that gives this user numbers other than the defaults, so the numbers matter
    secret = next(
        s
        for s in (f"exchange test {i}".encode() for i in range(50))
        if personal.params_for(A, student, personal.Settings(secret=s)) != defaults
    )
    monkeypatch.setenv(personal.SECRET_ENV, secret.decode())
    monkeypatch.delenv(personal.VERSIONS_ENV, raising=False)
    config = personal.Settings(secret=secret)
    own = personal.params_for(A, student, config)

    course = make_course(root, tmp_path, A)
    exchange, home = tmp_path / "exchange", tmp_path / "home"
    exchange.mkdir()
    home.mkdir()
    options = [f"--Exchange.root={exchange}", "--CourseDirectory.course_id=curso", f"--Exchange.cache={tmp_path}/cache"]

    # 1. the shared release, through the exchange: the defaults, nobody's numbers
    ok([sys.executable, "-m", "nbgrader", "release_assignment", A, *options], course)
    shared = json.loads((exchange / "curso" / "outbound" / A / f"{A}.ipynb").read_text(encoding="utf-8"))
    assert personal.notebook_values(shared, set(own[EXERCISE])) == defaults[EXERCISE]
    assert personal.METADATA_KEY not in shared["metadata"].get("grader", {})

    # 2. the roster's notebooks, and 3. this student's put where fetch_assignment would put it
    roster = tmp_path / "turma.csv"
    roster.write_text(f"student\n{student}\noutra\n", encoding="utf-8")
    dist = tmp_path / "dist"
    ok([sys.executable, "-m", "grader", "release", A, "--roster", str(roster), "--out", str(dist)], root)
    mine = json.loads((dist / f"{A}-students" / student / f"{A}.ipynb").read_text(encoding="utf-8"))
    solved = personal.render(typed_in_release(A), A, student, own, personal.versions_for(A, student, config))
    assert personal.notebook_values(solved, set(own[EXERCISE])) == personal.notebook_values(mine, set(own[EXERCISE]))
    (home / A).mkdir()
    (home / A / f"{A}.ipynb").write_text(json.dumps(solved, ensure_ascii=False), encoding="utf-8")
    fetch = [sys.executable, "-m", "nbgrader", "fetch_assignment", A, *options]
    refused = run(fetch, home)
    assert refused.returncode != 0 and "already have a copy" in refused.stdout + refused.stderr
    assert json.loads((home / A / f"{A}.ipynb").read_text(encoding="utf-8")) == solved  # the student's own stays

    # 4. submit, collect, autograde: the student's own numbers, full marks, no flag
    ok([sys.executable, "-m", "nbgrader", "submit", A, *options], home)
    ok([sys.executable, "-m", "nbgrader", "collect", A, *options], course)
    collected = course / "submitted" / student / A / f"{A}.ipynb"
    assert json.loads(collected.read_text(encoding="utf-8"))["metadata"]["grader"]["personal"]["student"] == student
    # and the same notebook handed in by another student: copied, flagged, graded with theirs
    shutil.copytree(course / "submitted" / student, course / "submitted" / "outra")
    ok([sys.executable, "-m", "grader", "autograde", A], course)
    folder = course / "reports" / A / "results"
    results = {s: json.loads(next((folder / s).glob("*.json")).read_text(encoding="utf-8")) for s in (student, "outra")}
    assert results[student]["score"] == load_assignment(A).max_score
    assert not results[student]["extra_data"]["flags"]
    assert {f["code"] for f in results["outra"]["extra_data"]["flags"]} >= {"other_student"}
