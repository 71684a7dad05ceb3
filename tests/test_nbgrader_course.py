"""The course as a real nbgrader course, end to end, on a temporary copy: nbgrader
generate_assignment, submissions, `python -m grader autograde` (nbgrader autograde judged
by the engine), nbgrader generate_feedback and export. The gradebook must hold exactly
what `python -m grader grade` gives for the same files, attacks on the student's kernel
must win nothing, and notebooks nbgrader cannot take (a duplicated grade cell, a schema
version it does not know: nbgrader#1083) must be reported without stopping the batch."""

import copy
import csv
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

A = "01_neurons"
ENV = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}

# Wrong answers that win full marks when the checks run in the student's kernel: an object
# equal to everything, and the self-check function replaced by one that always passes.
ATTACK = Variant("attack", {"mcp_neuron": (
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
)})
# A correct solution that writes to stderr and warns: nbgrader alone would give it zero.
NOISY = Variant("noisy", {"relu": (
    "import sys\nimport warnings\n\n\n"
    "def relu(z):\n"
    "    print('depurando relu', file=sys.stderr)\n"
    "    warnings.warn('só um aviso')\n"
    "    return torch.clamp(z, min=0)\n"
)})


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


@pytest.fixture(scope="module")
def course_run(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    course = make_course(root, tmp, A)
    mutant = next(v for v in load_variants(A) if v.name == "mutant_step_gt_zero")
    deleted = typed_in_release(A)
    deleted["cells"] = [c for c in deleted["cells"] if nbgrader_meta(c).get("grade_id") != "test_sigmoid"]
    duplicated = typed_in_release(A)
    cell = next(c for c in duplicated["cells"] if nbgrader_meta(c).get("grade_id") == "test_step")
    duplicated["cells"].append(dict(copy.deepcopy(cell), id="copia"))
    bumped = typed_in_release(A)
    next(c for c in bumped["cells"] if nbgrader_meta(c).get("grade_id") == "relu")["metadata"]["nbgrader"][
        "schema_version"] = 4
    paths = {
        "alice": submit(course, "alice", A, typed_in_release(A)),
        "bob": submit(course, "bob", A, typed_in_release(A, mutant)),
        "carol": submit(course, "carol", A, json.loads((root / "exercises" / A / f"{A}.ipynb").read_text())),
        "dave": submit(course, "dave", A, typed_in_release(A, ATTACK)),
        "erin": submit(course, "erin", A, deleted),
        "frank": submit(course, "frank", A, typed_in_release(A, NOISY)),
        "eve": submit(course, "eve", A, duplicated),
        "gina": submit(course, "gina", A, bumped),
    }
    log = run([sys.executable, "-m", "grader", "autograde", A, "--jobs", "2", "--quiet"], course)
    run([sys.executable, "-m", "nbgrader", "generate_feedback", A, "--force"], course)
    run([sys.executable, "-m", "nbgrader", "export"], course)
    cli = grade_batch(list(paths.values()), A, tmp / "cli", GradeOptions(), jobs=2)
    return course, log, exported(course), {s: r for s, r in zip(paths, cli)}


def test_gradebook_equals_the_engine(course_run):
    _, _, grades, cli = course_run
    for student in ("alice", "bob", "carol", "dave", "erin", "frank"):
        assert grades[student] == cli[student]["score"], student
    assert grades["alice"] == grades["frank"] == load_assignment(A).max_score
    assert grades["carol"] == 0
    assert grades["bob"] == grades["alice"] - load_assignment(A).exercise("step").points


def test_attacks_on_the_kernel_win_nothing(course_run):
    _, _, grades, cli = course_run
    assert cli["dave"]["extra_data"]["exercises"]["mcp_neuron"]["score"] == 0
    assert grades["dave"] == grades["alice"] - load_assignment(A).exercise("mcp_neuron").points


def test_a_deleted_check_cell_scores_zero_with_a_message(course_run):
    course, _, grades, cli = course_run
    assert cli["erin"]["extra_data"]["exercises"]["sigmoid"]["score"] == 0
    assert grades["erin"] == grades["alice"] - load_assignment(A).exercise("sigmoid").points
    feedback = (course / "feedback" / "erin" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "test_sigmoid" in feedback and "apagada" in feedback


def test_a_notebook_nbgrader_cannot_take_is_reported_and_the_batch_goes_on(course_run):
    _, log, grades, _ = course_run
    assert "NOT autograded: eve" in log and "duplicated grade cell 'test_step'" in log
    assert "NOT autograded: gina" in log and "schema_version 4" in log
    assert all(grades.get(student, 0) == 0 for student in ("eve", "gina"))
    assert len([s for s in grades if s not in ("eve", "gina")]) == 6


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
    submit(course, "carol", assignment_id, json.loads(
        (root / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8")))
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
