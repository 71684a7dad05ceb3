"""`pytest caderno.ipynb`: a course notebook's public checks as pytest items, one per exercise.

    pytest meu_caderno.ipynb              # every exercise of the notebook
    pytest meu_caderno.ipynb -k mcp_neuron
    pytest exercises/                     # every course notebook in a folder

A notebook is a course notebook when its metadata names its assignment (`grader.assignment`,
as released; `--nb-assignment ID` for one that lost it). Its cells run like Run All in a
child process, as when grading (`grader.kit.local.check_notebook`): a cell or a call that
hangs is killed at its time limit and costs its exercises, not the run. An item passes when
every public check of its exercise passes; otherwise its failure text is the feedback
`verificar()` shows, in Portuguese (`GRADER_LANG=en` for English). A notebook's checks run
once, for the exercises selected, the first time one of its items runs.

The kit's wheel registers this module under the `pytest11` entry point; in the course's own
checkout, `pytest -p grader.kit.pytest_notebook caderno.ipynb`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.i18n import Text

NO_ASSIGNMENT = Text(
    pt="`{name}` não diz de qual tarefa é (falta `grader.assignment` nos metadados do notebook): "
    "rode `pytest {name} --nb-assignment 01_neurons`, com o código da tarefa.",
    en="`{name}` does not say which assignment it is (no `grader.assignment` in the notebook's metadata): "
    "run `pytest {name} --nb-assignment 01_neurons`, with the assignment's id.",
)
NOT_IN_KIT = Text(
    pt="O kit instalado não tem as verificações de `{assignment}`: instale o kit desta tarefa "
    "(`%pip install curso_pytorch_kit-...whl`, o arquivo que veio com ela).",
    en="The installed kit has no checks for `{assignment}`: install this assignment's kit "
    "(`%pip install curso_pytorch_kit-...whl`, the file that came with it).",
)

_LAUNCHER = pytest.StashKey[object]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("curso-pytorch", "course notebooks (grader.kit.pytest_notebook)")
    group.addoption("--nb-assignment", default=None, help="the assignment of notebooks whose metadata does not say")
    group.addoption("--nb-cell-timeout", type=float, default=60.0, help="seconds a notebook cell may run (60)")
    group.addoption("--nb-call-timeout", type=float, default=10.0, help="seconds one checked call may run (10)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".ipynb" or ".ipynb_checkpoints" in file_path.parts:
        return None
    assignment = parent.config.getoption("nb_assignment") or _assignment_in(file_path)
    named = parent.session.isinitpath(file_path)
    if assignment is None and not named:
        return None  # a folder's other notebooks are not the course's
    return NotebookFile.from_parent(parent, path=file_path, assignment=assignment)


def pytest_unconfigure(config: pytest.Config) -> None:
    launcher = config.stash.get(_LAUNCHER, None)
    if launcher is not None:
        launcher.close()


def _assignment_in(path: Path) -> str | None:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        assignment = metadata.get("grader", {}).get("assignment")
    except (OSError, ValueError, AttributeError):
        return None
    return assignment if isinstance(assignment, str) else None


def _language() -> str:
    from grader.kit import _language

    return _language()


class NotebookFile(pytest.File):
    def __init__(self, *, assignment: str | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.assignment = assignment
        self._results: dict | None = None

    def collect(self):
        from grader.kit.local import exercise_order

        if self.assignment is None:
            raise self.CollectError(NO_ASSIGNMENT.render(_language(), name=self.path.name))
        try:
            order = exercise_order(self.assignment)
        except (ImportError, ValueError):
            raise self.CollectError(NOT_IN_KIT.render(_language(), assignment=self.assignment)) from None
        for exercise in order:
            yield ExerciseItem.from_parent(self, name=exercise)

    def results(self) -> dict:
        """The notebook's public checks (run once, for the exercises selected in this session)."""
        if self._results is None:
            from grader.engine.launcher import ForkServer
            from grader.engine.session import Limits
            from grader.kit.local import check_notebook

            config = self.config
            if _LAUNCHER not in config.stash:
                # One warm process (torch imported once) forks a student process per notebook. No
                # sandbox: this is the student's own code on the student's own machine.
                config.stash[_LAUNCHER] = ForkServer(sandboxed=False)
            selected = [item.name for item in self.session.items if item.parent is self]
            limits = Limits(
                call_seconds=config.getoption("nb_call_timeout"), cell_seconds=config.getoption("nb_cell_timeout")
            )
            self._results = check_notebook(
                self.path,
                self.assignment,
                launcher=config.stash[_LAUNCHER],
                only=selected[0] if len(selected) == 1 else None,
                lang=_language(),
                limits=limits,
            )
        return self._results


class ExerciseFailed(Exception):
    """An exercise's public checks did not pass; the message is the student's feedback."""


class ExerciseItem(pytest.Item):
    parent: NotebookFile

    def runtest(self) -> None:
        from grader.kit.report import exercise_lines, exercise_status

        results = self.parent.results()
        if "unreadable" in results:
            raise ExerciseFailed(results["unreadable"])
        tests = [t for t in results["tests"] if t["extra_data"]["exercise"] == self.name]
        status = exercise_status(tests)
        # For tools (`--junitxml`): the outcome and the keys of the mistakes the checks recognised.
        self.user_properties.append(("status", status))
        hints = sorted({t["extra_data"]["hint"] for t in tests if t["extra_data"].get("hint")})
        self.user_properties.append(("hints", ",".join(hints)))
        if status == "passed":
            return
        text = "\n".join(exercise_lines(self.name, tests, _language()))
        raise ExerciseFailed(text + ("\n\n" + results["output"] if results.get("output") else ""))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ExerciseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.parent.assignment}: {self.name}"
