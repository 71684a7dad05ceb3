"""Public checks inside the notebook's kernel: the same tests, the same plain-data
boundary (a JSON round trip), but the student's own namespace instead of a child process.
Trust does not matter here (it is the student's own feedback); sameness does."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from grader.engine.session import StudentSession
from grader.engine.transport import InKernel


class InProcessStudent(StudentSession):
    """The student's own namespace as a session (no process to start, replay or kill)."""

    def __init__(self, namespace: dict) -> None:
        super().__init__(cells=[], transport=InKernel(namespace))


def run_public_checks(assignment_id: str, namespace: dict, *, only: str | None = None, lang: str = "pt") -> dict:
    from grader.course import Assignment, Exercise, module_name
    from grader.plugin import GradingPlugin, available_devices, run_pytest
    from grader.results import build_results

    package = importlib.import_module(module_name(assignment_id))
    order = list(package.LADDER)
    started = time.monotonic()
    plugin = GradingPlugin(
        lambda: InProcessStudent(namespace).start(), order, lang=lang, devices=available_devices(), only=only
    )
    run_pytest(plugin, [str(Path(package.__file__).parent / "test_public.py")])
    # A stand-in assignment (students have no source/): equal points per exercise.
    exercises = [Exercise(e, 1.0, "function", "") for e in order if only is None or e == only]
    assignment = Assignment(assignment_id, Path("."), exercises, "")
    return build_results(
        assignment,
        plugin.records,
        submission="notebook",
        lang=lang,
        notes=[],
        isolation="in-kernel (self-check)",
        elapsed=time.monotonic() - started,
    )
