"""Public checks where the student works, with the grader's own tests and plain-data boundary:

- `run_public_checks`: inside the notebook's kernel (`verificar`), against the student's own
  namespace, through a JSON round trip. Trust does not matter here (it is the student's own
  feedback); sameness does.
- `check_notebook`: a saved notebook (`pytest caderno.ipynb`), whose cells run in a child
  process as when grading, so a cell that hangs or crashes costs its exercises, not the run.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.engine.session import Limits, StudentSession
from grader.engine.transport import InKernel


class InProcessStudent(StudentSession):
    """The student's own namespace as a session (no process to start, replay or kill)."""

    def __init__(self, namespace: dict) -> None:
        super().__init__(cells=[], transport=InKernel(namespace))


def exercise_order(assignment_id: str) -> list[str]:
    """The assignment's exercises in the course's order (its hint ladders are written in it)."""
    from grader.course import module_name

    return list(importlib.import_module(module_name(assignment_id)).LADDER)


def public_results(
    assignment_id: str,
    student_factory: Callable[[], Any],
    *,
    only: str | None = None,
    lang: str = "pt",
    isolation: str = "in-kernel (self-check)",
    notes: Callable[[], list[str]] | None = None,
    params: dict[str, dict] | None = None,
) -> dict:
    """Run the assignment's public checks (every exercise, or `only`) against the student
    `student_factory` starts, and return them as a results.json (`notes`: asked for after the
    checks ran, e.g. the cells that failed; `params`: the student's numbers, `grader.personal`)."""
    from grader.course import Assignment, Exercise, module_name
    from grader.plugin import GradingPlugin, available_devices, run_pytest
    from grader.results import build_results

    package = importlib.import_module(module_name(assignment_id))
    order = exercise_order(assignment_id)
    started = time.monotonic()
    plugin = GradingPlugin(student_factory, order, lang=lang, devices=available_devices(), only=only, params=params)
    run_pytest(plugin, [str(Path(package.__file__).parent / "test_public.py")])
    # A stand-in assignment (students have no source/): equal points per exercise.
    exercises = [Exercise(e, 1.0, "function", "") for e in order if only is None or e == only]
    assignment = Assignment(assignment_id, Path("."), exercises, "")
    return build_results(
        assignment,
        plugin.records,
        submission="notebook",
        lang=lang,
        notes=notes() if notes else [],
        isolation=isolation,
        elapsed=time.monotonic() - started,
    )


def run_public_checks(assignment_id: str, namespace: dict, *, only: str | None = None, lang: str = "pt") -> dict:
    from grader.personal import from_namespace

    # the numbers of the student's own variant, as the notebook's parameter cell defined them
    params = from_namespace(assignment_id, namespace)
    return public_results(
        assignment_id, lambda: InProcessStudent(namespace).start(), only=only, lang=lang, params=params
    )


def check_notebook(
    path: Path,
    assignment_id: str,
    *,
    launcher: Any,
    only: str | None = None,
    lang: str = "pt",
    limits: Limits | None = None,
) -> dict:
    """The public checks of a saved notebook (or `# %%` script): its cells run like Run All in
    a student process from `launcher`, killed and replaced when a cell or a call passes its
    time limit. An unreadable file gives every exercise its reason."""
    from grader.notebook import SubmissionError, read_submission
    from grader.personal import from_metadata
    from grader.results import cell_notes

    try:
        submission = read_submission(path)
    except SubmissionError as exc:
        return {"tests": [], "unreadable": exc.render(lang)}
    session = StudentSession(
        submission.cells, order=exercise_order(assignment_id), limits=limits or Limits(), launcher=launcher
    )
    try:
        return public_results(
            assignment_id,
            session.start,
            only=only,
            lang=lang,
            isolation="student process (self-check)",
            notes=lambda: cell_notes(session.cell_results, lang),
            params=from_metadata(assignment_id, submission.notebook),
        )
    finally:
        session.close()
