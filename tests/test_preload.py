"""The fork server imports an assignment's `student_preload` once, so that no student process
pays seconds for the same imports (torch._dynamo, scikit-learn) again."""

import pytest
import torch

from grader.course import assignment_ids, load_assignment
from grader.engine.launcher import LaunchSettings
from grader.engine.session import StudentSession
from grader.grading import GradeOptions, grade_submission
from grader.variants import solution_path

LOADED = "import sys\ndef loaded():\n    return sorted(sys.modules)\n"
# The roots of imports that cost a student process seconds where the fork server has not made
# them (load_iris's data files, sklearn.datasets.data, are packages of their own and cost nothing).
EXPENSIVE = {"torch._dynamo", "sympy", "scipy", "sklearn", "sklearn.datasets", "sklearn.model_selection"}


def modules_at_start(settings: LaunchSettings) -> set[str]:
    with StudentSession([], settings=settings).start() as student:
        return set(student.run_grader_code(LOADED, "loaded"))


def test_a_preloaded_module_is_there_before_any_cell_runs():
    preloaded = modules_at_start(LaunchSettings(preload=("sklearn.datasets", "no_such_module_anywhere")))
    assert "sklearn.datasets" in preloaded  # and a module that fails to import is skipped, not fatal
    assert "sklearn.datasets" not in modules_at_start(LaunchSettings())


def test_student_preload_is_the_setup_cells_imports_and_the_packages_list():
    preload = load_assignment("03_training").student_preload
    assert preload[:2] == ("copy", "torch") and "sklearn.model_selection" in preload
    assert preload[-1] == "torch._dynamo"  # STUDENT_PRELOAD, after the setup cell's
    assert "torch._dynamo" not in load_assignment("01_neurons").student_preload


def test_the_operator_trace_imports_no_dynamo():
    """torch wraps a dispatch mode in dynamo's `disable` unless told not to: 3 to 5 s of imports
    in a student process whose assignment does not preload torch._dynamo."""
    with StudentSession(["import torch\ndef double(x):\n    return x * 2\n"]).start() as student:
        _, trace = student.call("double", torch.ones(2), trace_ops=True)
        assert "mul" in trace.ops
        assert "torch._dynamo" not in student.run_grader_code(LOADED, "loaded")


@pytest.mark.slow  # each assignment's reference graded once: about a minute on 2 cores
@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_grading_a_reference_imports_nothing_expensive_in_the_student_process(assignment_id, monkeypatch):
    """What the student process imported while the reference was graded, beyond what its fork
    server had: none of the expensive modules (a new one belongs in STUDENT_PRELOAD)."""
    assignment = load_assignment(assignment_id)
    ended: list[set[str]] = []
    close = StudentSession.close

    def close_and_look(self):
        if self.transport is not None and self.transport.connected:
            ended.append(set(self.run_grader_code(LOADED, "loaded")))
        close(self)

    monkeypatch.setattr(StudentSession, "close", close_and_look)
    options = GradeOptions(devices=("cpu",))
    result = grade_submission(solution_path(assignment_id), assignment, options)
    assert result["score"] == result["max_score"]
    start = modules_at_start(GradeOptions(devices=("cpu",), preload=assignment.student_preload).launch)
    assert not (ended[0] - start) & EXPENSIVE, sorted((ended[0] - start) & EXPENSIVE)
