"""Public checks inside the notebook's kernel: the same tests, the same plain-data
boundary (a JSON round trip), but the student's own namespace instead of a child process.
Trust does not matter here (it is the student's own feedback); sameness does."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

from grader.engine.session import StudentSession
from grader.engine.worker import Worker


class _NoLauncher:
    name = "in-process"

    def start(self):  # pragma: no cover - never called
        raise RuntimeError("in-process students have no child")


class InProcessStudent(StudentSession):
    def __init__(self, namespace: dict) -> None:
        super().__init__(cells=[], launcher=_NoLauncher())
        self._worker = Worker(namespace=namespace)

    def start(self) -> "InProcessStudent":
        self._started = time.monotonic()
        return self

    def close(self) -> None:
        pass

    def _ensure_child(self, name: str) -> None:
        pass

    def _send(self, message: dict, timeout: float, name: str = "") -> dict:
        self._next_id += 1
        message["id"] = self._next_id
        reply = self._worker.handle(json.loads(json.dumps(message)))
        return json.loads(json.dumps(reply))


def run_public_checks(assignment_id: str, namespace: dict, *, only: str | None = None, lang: str = "pt") -> dict:
    from grader.course import module_name
    from grader.grading import available_devices, run_pytest
    from grader.plugin import GradingPlugin
    from grader.results import build_results
    from grader.course import Assignment, Exercise

    package = importlib.import_module(module_name(assignment_id))
    order = list(package.LADDER)
    started = time.monotonic()
    plugin = GradingPlugin(lambda: InProcessStudent(namespace).start(), order, lang=lang,
                           devices=available_devices(), only=only)
    run_pytest(plugin, [str(Path(package.__file__).parent / "test_public.py")])
    # A stand-in assignment (students have no source/): equal points per exercise.
    exercises = [Exercise(e, 1.0, "function", "") for e in order if only is None or e == only]
    assignment = Assignment(assignment_id, Path("."), exercises, "")
    return build_results(assignment, plugin.records, submission="notebook", lang=lang, notes=[],
                         isolation="in-kernel (self-check)", elapsed=time.monotonic() - started)
