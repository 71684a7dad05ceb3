"""The course as a real nbgrader course, end to end, on a temporary copy: nbgrader
generate_assignment, submissions, `python -m grader autograde` (nbgrader autograde judged
by the engine), nbgrader generate_feedback and export. The gradebook must hold exactly
what `python -m grader grade` gives for the same files, attacks on the student's kernel
must win nothing, and a notebook whose nbgrader metadata was damaged or tampered with (a
duplicated or demoted or renamed check cell, another schema version, cells pasted into a
new notebook, nbformat 4.0...) must still get exactly the engine's score, flagged for
review with the reason, without touching the rest of the batch."""

import copy
import csv
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import assignment_ids, load_assignment, nbgrader_meta
from grader.grading import GradeOptions, grade_batch
from grader.variants import Variant, load_variants, typed_in_release

pytestmark = pytest.mark.slow  # real nbgrader courses, end to end

A = "01_neurons"
ENV = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}

# Wrong answers that win full marks when the checks run in the student's kernel: an object
# equal to everything, and the self-check function replaced by one that always passes.
ATTACK = Variant(
    "attack",
    {
        "mcp_neuron": (
            "class Sempre(int):\n"
            "    def __eq__(self, other):\n"
            "        return True\n"
            "    __hash__ = int.__hash__\n\n\n"
            "def mcp_neuron(inputs, threshold):\n"
            "    return Sempre(0)\n\n\n"
            "import grader.kit\n\n\n"
            "def verificar(*args, **kwargs):\n"
            "    print('Tudo certo!')\n\n\n"
            "grader.kit.verificar = verificar\n"
        )
    },
)
# A correct solution that writes to stderr and warns: nbgrader alone would give it zero.
NOISY = Variant(
    "noisy",
    {
        "relu": (
            "import sys\nimport warnings\n\n\n"
            "def relu(z):\n"
            "    print('depurando relu', file=sys.stderr)\n"
            "    warnings.warn('só um aviso')\n"
            "    return torch.clamp(z, min=0)\n"
        )
    },
)


def run(args, cwd):
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def make_course(root: Path, tmp: Path, assignment_id: str) -> Path:
    course = tmp / "course"
    shutil.copytree(root / "source" / assignment_id, course / "source" / assignment_id)
    shutil.copy(root / "nbgrader_config.py", course)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment_id, "--force"], course)
    released = course / "exercises" / assignment_id / f"{assignment_id}.ipynb"
    assert released.read_bytes() == (root / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_bytes()
    return course


def submit(course: Path, student: str, assignment_id: str, notebook: dict) -> Path:
    path = course / "submitted" / student / assignment_id / f"{assignment_id}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    return path


def exported(course: Path) -> dict[str, float]:
    with open(course / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)}


def with_cell(notebook: dict, grade_id: str, change) -> dict:
    change(next(c for c in notebook["cells"] if nbgrader_meta(c).get("grade_id") == grade_id))
    return notebook


def without_cells(notebook: dict, *grade_ids: str) -> dict:
    notebook["cells"] = [c for c in notebook["cells"] if nbgrader_meta(c).get("grade_id") not in grade_ids]
    return notebook


def pasted(notebook: dict, minor: int = 4) -> dict:
    """Every cell copied into a fresh notebook: no nbgrader metadata, no cell ids."""
    for cell in notebook["cells"]:
        cell["metadata"] = {}
        cell.pop("id", None)
    notebook["nbformat_minor"] = minor
    return notebook


def nbformat_40(notebook: dict) -> dict:
    for cell in notebook["cells"]:
        cell.pop("id", None)
    notebook["nbformat_minor"] = 0
    return notebook


def every_cell(notebook: dict, change) -> dict:
    for cell in notebook["cells"]:
        if nbgrader_meta(cell):
            change(nbgrader_meta(cell))
    return notebook


# student -> the flag codes their notebook must get (none: an untouched notebook)
FLAGS = {
    "alice": set(),
    "bob": set(),
    "carol": set(),
    "dave": set(),
    "frank": set(),
    "erin": {"deleted_test"},
    "eve": {"duplicated"},
    "gina": {"schema_version"},
    "hugo": {"metadata_changed"},
    "ivan": {"renamed"},
    "jane": {"no_metadata", "old_format"},
    "kim": {"metadata_changed", "locked_edited"},
    "leo": {"deleted_answer"},
    "mia": {"old_format"},
    "nina": {"renamed_file"},
    "rita": {"not_graded"},
}
EMPTY = "sam"  # submitted a folder without a notebook


@pytest.fixture(scope="module")
def course_run(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    course = make_course(root, tmp, A)
    mutant = next(v for v in load_variants(A) if v.name == "mutant_step_gt_zero")
    wrong = next(v for v in load_variants(A) if v.name == "mutant_mcp_gt")  # and each of these tampers too

    def demote(cell):
        cell["metadata"]["nbgrader"]["grade"] = False

    def rename(cell):
        cell["metadata"]["nbgrader"]["grade_id"] = "test_mcp"

    def raise_points_and_replace(cell):
        cell["metadata"]["nbgrader"]["points"] = 50
        cell["source"] = "print(1.0)"

    duplicated = typed_in_release(A)
    cell = next(c for c in duplicated["cells"] if nbgrader_meta(c).get("grade_id") == "test_step")
    duplicated["cells"].append(dict(copy.deepcopy(cell), id="copia"))
    paths = {
        "alice": submit(course, "alice", A, typed_in_release(A)),
        "bob": submit(course, "bob", A, typed_in_release(A, mutant)),
        "carol": submit(course, "carol", A, json.loads((root / "exercises" / A / f"{A}.ipynb").read_text())),
        "dave": submit(course, "dave", A, typed_in_release(A, ATTACK)),
        "erin": submit(course, "erin", A, without_cells(typed_in_release(A), "test_sigmoid")),
        "frank": submit(course, "frank", A, typed_in_release(A, NOISY)),
        "eve": submit(course, "eve", A, duplicated),
        "gina": submit(
            course, "gina", A, every_cell(typed_in_release(A, wrong), lambda meta: meta.update(schema_version=4))
        ),
        "hugo": submit(course, "hugo", A, with_cell(typed_in_release(A, wrong), "test_mcp_neuron", demote)),
        "ivan": submit(course, "ivan", A, with_cell(typed_in_release(A, wrong), "test_mcp_neuron", rename)),
        "jane": submit(course, "jane", A, pasted(typed_in_release(A))),
        "kim": submit(
            course, "kim", A, with_cell(typed_in_release(A, wrong), "test_mcp_neuron", raise_points_and_replace)
        ),
        "leo": submit(course, "leo", A, without_cells(typed_in_release(A), "sigmoid")),
        "mia": submit(course, "mia", A, nbformat_40(typed_in_release(A, wrong))),
    }
    renamed = course / "submitted" / "nina" / A / f"{A}-Copy1.ipynb"
    submit(course, "nina", A, typed_in_release(A, wrong)).rename(renamed)
    paths["nina"] = renamed
    paths["rita"] = course / "submitted" / "rita" / A / f"{A}.ipynb"
    paths["rita"].parent.mkdir(parents=True)
    paths["rita"].write_text('{"cells": [', encoding="utf-8")  # cut off mid-upload
    (course / "submitted" / EMPTY / A).mkdir(parents=True)
    (course / "submitted" / EMPTY / A / "timestamp.txt").write_text("2026-12-01 10:00:00", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "grader", "autograde", A, "--jobs", "2", "--quiet"],
        cwd=course,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    run([sys.executable, "-m", "nbgrader", "generate_feedback", A, "--force"], course)
    run([sys.executable, "-m", "nbgrader", "export"], course)
    cli = grade_batch(list(paths.values()), A, tmp / "cli", GradeOptions(), jobs=2)
    return course, done.stdout + done.stderr, exported(course), {s: r for s, r in zip(paths, cli)}


def test_gradebook_equals_the_engine(course_run):
    _, _, grades, cli = course_run
    assert set(grades) == set(FLAGS) | {EMPTY}  # nobody left out
    for student in FLAGS:
        assert grades[student] == cli[student]["score"], student
    assert grades[EMPTY] == grades["rita"] == 0
    assert grades["alice"] == grades["frank"] == grades["jane"] == load_assignment(A).max_score
    assert grades["carol"] == 0
    assert grades["bob"] == grades["alice"] - load_assignment(A).exercise("step").points
    for student in ("gina", "hugo", "ivan", "kim", "mia", "nina"):  # a wrong mcp_neuron, whatever the tampering
        assert grades[student] == grades["alice"] - load_assignment(A).exercise("mcp_neuron").points, student
    assert grades["leo"] == grades["alice"] - load_assignment(A).exercise("sigmoid").points


def test_autograde_writes_the_class_report_of_every_student(course_run):
    from grader.report_data import report_data

    course, _, grades, _ = course_run
    folder = course / "reports" / A / "results"
    assert (folder / "report.html").stat().st_size > 10_000
    data = report_data(folder)
    # One results file per submitted notebook, none twice: every student but the one whose
    # folder holds no notebook (in the gradebook with 0 and in autograde.csv, with nothing to report).
    assert data.summary.submissions == len(grades) - 1
    assert data.summary.full_marks == sum(score == load_assignment(A).max_score for score in grades.values())


def test_attacks_on_the_kernel_win_nothing(course_run):
    _, _, grades, cli = course_run
    assert cli["dave"]["extra_data"]["exercises"]["mcp_neuron"]["score"] == 0
    assert grades["dave"] == grades["alice"] - load_assignment(A).exercise("mcp_neuron").points


def test_damaged_notebooks_are_flagged_with_the_reason_everywhere(course_run):
    course, log, _, _ = course_run
    with open(course / "reports" / A / "autograde.csv", newline="", encoding="utf-8") as handle:
        report = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(report) == set(FLAGS) | {EMPTY}
    assert report[EMPTY]["needs_review"] == "yes" and "No `01_neurons.ipynb` notebook" in report[EMPTY]["reasons_en"]
    for student, codes in FLAGS.items():
        result = json.loads((course / "reports" / A / "results" / student / f"{A}.json").read_text(encoding="utf-8"))
        assert {f["code"] for f in result["extra_data"]["flags"]} == codes, student
        review = codes - {"old_format"}  # an older nbformat is a note, not a reason to review
        assert report[student]["needs_review"] == ("yes" if review else "no"), student
        assert report[student]["gradebook"] == ("rebuilt" if review else "nbgrader"), student
        for flag in result["extra_data"]["flags"]:
            assert flag["en"] in report[student]["reasons_en"] and flag["pt"] in report[student]["reasons_pt"]
            assert (f"PRECISA DE REVISÃO: {student}: {flag['pt']}" in log) == (flag["code"] in review)
            feedback = (course / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8")
            assert html.escape(flag["pt"]) in feedback, student
    assert "A célula `test_mcp_neuron` teve `grade` trocado de true para false." in log
    assert "The cell `test_mcp_neuron` had its grade_id renamed to `test_mcp`." in report["ivan"]["reasons_en"]


def test_no_traceback_or_warning_reaches_the_terminal(course_run):
    course, log, _, _ = course_run
    assert "Traceback" not in log and 'File "' not in log and "Warning" not in log
    assert f"{course / 'reports' / A / 'autograde.log'}" in log
    assert "nbgrader autograde" in (course / "reports" / A / "autograde.log").read_text(encoding="utf-8")


def test_a_tampered_check_cell_never_scores_more_than_the_engine(course_run):
    course, _, _, cli = course_run
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "pytorch-pt") as gradebook:
        for student in ("hugo", "ivan", "kim"):
            grades = {g.name: g for g in gradebook.find_submission_notebook(A, A, student).grades}
            assert grades["test_mcp_neuron"].max_score == load_assignment(A).exercise("mcp_neuron").points
            assert (
                grades["test_mcp_neuron"].score == 0 == cli[student]["extra_data"]["exercises"]["mcp_neuron"]["score"]
            )
            assert not any(g.needs_manual_grade for g in grades.values())


FLAKY_NBGRADER = """
import sys
from pathlib import Path

from grader.nbgrader_bridge import _nbgrader_autograde, autograde

calls = {}


def flaky(api, assignment, student):
    calls[student] = calls.get(student, 0) + 1
    if (student == "olga" and calls[student] == 1) or student == "paul":
        return {"success": False, "error": "Traceback (most recent call last):\\n  nbgrader exploded", "log": "boom"}
    return _nbgrader_autograde(api, assignment, student)


print(autograde(Path("."), sys.argv[1], jobs=1, nbgrader_step=flaky).summary("en"))
"""


def test_when_nbgrader_refuses_the_notebook_is_rebuilt_and_then_written_directly(root, tmp_path):
    """nbgrader fails once for olga (retried on the rebuilt notebook) and always for paul
    (the engine's scores go into gradebook.db through nbgrader's API): both are in the
    export with the engine's score, paul gets feedback, quinn is untouched."""
    course = make_course(root, tmp_path, A)
    mutant = next(v for v in load_variants(A) if v.name == "mutant_step_gt_zero")
    paths = {
        "olga": submit(course, "olga", A, typed_in_release(A)),
        "paul": submit(course, "paul", A, typed_in_release(A, mutant)),
        "quinn": submit(course, "quinn", A, typed_in_release(A, mutant)),
    }
    summary = run([sys.executable, "-c", FLAKY_NBGRADER, A], course)
    run([sys.executable, "-m", "nbgrader", "generate_feedback", A, "--force"], course)
    run([sys.executable, "-m", "nbgrader", "export"], course)
    cli = dict(zip(paths, grade_batch(list(paths.values()), A, tmp_path / "cli", GradeOptions(), jobs=1)))
    assert exported(course) == {s: cli[s]["score"] for s in paths}
    with open(course / "reports" / A / "autograde.csv", newline="", encoding="utf-8") as handle:
        routes = {row["student"]: row["gradebook"] for row in csv.DictReader(handle)}
    assert routes == {"olga": "rebuilt", "paul": "direct", "quinn": "nbgrader"}
    assert "nbgrader exploded" not in summary and "nbgrader exploded" in (
        course / "reports" / A / "autograde.log"
    ).read_text(encoding="utf-8")
    assert "3 student(s) in the 01_neurons gradebook" in summary
    feedback = (course / "feedback" / "paul" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "step: 0 / 1" in feedback


OVERLAP_NBGRADER = """
import json
import sys
from pathlib import Path

from grader.nbgrader_bridge import _nbgrader_autograde, autograde

ledger = Path("reports") / sys.argv[1] / "engine" / "ledger.jsonl"
seen = []


def watched(api, assignment, student):
    seen.append((student, len(ledger.read_text(encoding="utf-8").splitlines())))
    return _nbgrader_autograde(api, assignment, student)


report = autograde(Path(".").resolve(), sys.argv[1], jobs=1, nbgrader_step=watched)
print(json.dumps({"seen": seen, "students": sorted({e.student for e in report.entries})}))
"""


@pytest.mark.slow
def test_a_student_goes_into_the_gradebook_while_the_engine_grades_the_others(root, tmp_path):
    """nbgrader's per-student step overlaps the grading: each student is handed to nbgrader as
    soon as the engine has graded their notebooks, not after the whole batch."""
    course = make_course(root, tmp_path, A)
    for student in ("ana", "bia", "caio", "davi"):
        submit(course, student, A, typed_in_release(A))
    out = json.loads(run([sys.executable, "-c", OVERLAP_NBGRADER, A], course).strip().splitlines()[-1])
    assert out["students"] == ["ana", "bia", "caio", "davi"]
    assert [student for student, _ in out["seen"]] == ["ana", "bia", "caio", "davi"]
    assert out["seen"][0][1] < 4  # ana was in nbgrader's hands before the engine had graded davi


COUNTING_NBGRADER = """
import json
import sys
from pathlib import Path

from grader.nbgrader_bridge import _nbgrader_autograde, autograde

calls = []


def counted(api, assignment, student):
    calls.append(student)
    if student == "olga" and calls.count("olga") == 1 and sys.argv[2] == "first":  # refused once: rebuilt
        return {"success": False, "error": "refused"}
    return _nbgrader_autograde(api, assignment, student)


report = autograde(Path("."), sys.argv[1], jobs=1, nbgrader_step=counted, regrade=sys.argv[2] == "regrade")
print(json.dumps({"calls": sorted(set(calls)), "routes": {e.student: e.route for e in report.entries}}))
"""


@pytest.mark.slow
def test_autograde_again_redoes_only_what_changed(root, tmp_path):
    """The engine's results and what went into gradebook.db are remembered: a second run grades
    nothing and calls nbgrader for nobody; a resubmission is graded and recorded alone; grades
    lost from gradebook.db are written again from the kept results, nothing graded; regrade redoes all."""
    course = make_course(root, tmp_path, A)
    mutant = next(v for v in load_variants(A) if v.name == "mutant_step_gt_zero")
    for student, variant in (("alice", None), ("bob", mutant), ("olga", None)):
        submit(course, student, A, typed_in_release(A, variant))
    ledger = course / "reports" / A / "engine" / "ledger.jsonl"

    def autograde(mode: str) -> dict:
        out = run([sys.executable, "-c", COUNTING_NBGRADER, A, mode], course)
        return json.loads(out.strip().splitlines()[-1])

    def state():
        run([sys.executable, "-m", "nbgrader", "export"], course)
        return len(ledger.read_text(encoding="utf-8").splitlines()), exported(course)

    first = autograde("first")
    assert first == {
        "calls": ["alice", "bob", "olga"],
        "routes": {"alice": "nbgrader", "bob": "nbgrader", "olga": "rebuilt"},
    }
    graded, grades = state()
    full = load_assignment(A).max_score
    assert graded == 3 and grades == {"alice": full, "bob": full - 1, "olga": full}

    assert autograde("again") == {"calls": [], "routes": first["routes"]}
    assert state() == (3, grades)
    olga = json.loads((course / "reports" / A / "results" / "olga" / f"{A}.json").read_text(encoding="utf-8"))
    assert "reconstruído" in olga["output"]  # the rebuilt notebook's note survives a run that skips nbgrader

    submit(course, "bob", A, typed_in_release(A))  # a resubmission
    assert autograde("again")["calls"] == ["bob"]
    assert state() == (4, {**grades, "bob": full})

    # olga's grades lost from gradebook.db: written again from the kept results, nothing graded again
    run([sys.executable, "-m", "nbgrader", "db", "student", "remove", "olga", "--force"], course)
    assert autograde("again")["calls"] == ["olga"]
    assert state() == (4, {**grades, "bob": full})

    assert autograde("regrade")["calls"] == ["alice", "bob", "olga"]
    assert state()[0] == 7


def test_a_deleted_check_cell_scores_zero_with_a_message(course_run):
    course, _, grades, cli = course_run
    assert cli["erin"]["extra_data"]["exercises"]["sigmoid"]["score"] == 0
    assert grades["erin"] == grades["alice"] - load_assignment(A).exercise("sigmoid").points
    feedback = (course / "feedback" / "erin" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "test_sigmoid" in feedback and "apagada" in feedback


def test_feedback_shows_the_engine_and_hides_the_hidden_tests(course_run, root):
    course, _, _, _ = course_run
    feedback = (course / "feedback" / "bob" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "step: 0 / 1" in feedback and "❌" in feedback
    hidden = (root / "grader" / "assignments" / f"a{A}" / "test_hidden.py").read_text(encoding="utf-8")
    for line in hidden.splitlines():
        if line.startswith("def test_"):
            assert line.split("(")[0][4:] not in feedback


@pytest.mark.parametrize("assignment_id", [a for a in assignment_ids() if a != A])
def test_every_assignment_autogrades_through_plain_nbgrader(root, tmp_path, assignment_id):
    """Plain `nbgrader autograde` (no wrapper) is judged by the engine too: the course's
    config replaces its Execute step."""
    course = make_course(root, tmp_path, assignment_id)
    submit(course, "alice", assignment_id, typed_in_release(assignment_id))
    submit(
        course,
        "carol",
        assignment_id,
        json.loads((root / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8")),
    )
    run([sys.executable, "-m", "nbgrader", "autograde", assignment_id], course)
    run([sys.executable, "-m", "nbgrader", "export"], course)
    grades = exported(course)
    assert grades["alice"] == load_assignment(assignment_id).max_score and grades["carol"] == 0


def test_validate_button_flags_a_failing_public_check(course_run):
    """`nbgrader validate` (the notebook's Validate button) runs the student's kernel: there the
    self-checks are feedback, and a failing one fails validation instead of a silent success."""
    course, _, _, _ = course_run
    notebook = course / "submitted" / "{}" / A / f"{A}.ipynb"
    passing = run([sys.executable, "-m", "nbgrader", "validate", str(notebook).format("alice")], course)
    failing = run([sys.executable, "-m", "nbgrader", "validate", str(notebook).format("bob")], course)
    assert "Success! Your notebook passes all the tests." in passing
    assert "VALIDATION FAILED" in failing and "`step` não passou" in failing
