"""The pytest plugin that turns graders into grades.

Graders are plain pytest tests marked with the exercise they check:

    @pytest.mark.exercise("step")
    def test_step_values(student, device):
        got = checks.tensor(student.call("step", z, device=device), "step(z)")
        ...

Fixtures: `student` (the submission's student process, or the notebook's namespace for
in-notebook self-checks), `device` (each available device in turn: "cpu", and "cuda"
where it is available), `lang`, `params` (the student's numbers for an exercise with
per-student variants, `grader.personal`). Hidden graders may also use `reference` (the reference
solutions, run in the grading process). The plugin records each test's outcome and
feedback; `grader.results` turns the records into a results.json.
"""

from __future__ import annotations

import os
import traceback
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from grader.checks import Mistake
from grader.diagnosis import diagnosis_of
from grader.engine.session import StudentFailure
from grader.i18n import Text
from grader.results import TestRecord  # re-exported: graders' records are the results' rows

INTERNAL_ERROR = Text(
    pt="Não foi possível avaliar esta verificação (erro interno do corretor). Avise a equipe do curso.",
    en="This check could not be run (an internal grader error). Please tell the course staff.",
)
GENERIC_FAILURE = Text(pt="A verificação falhou.", en="The check failed.")


def name_from_doc(doc: str | None, lang: str = "pt") -> str:
    """A grader test's name from its docstring: the first line (Portuguese), or with
    lang="en" the line `en: <English name>` (the Portuguese one where there is none)."""
    lines = [line.strip() for line in (doc or "").strip().splitlines()]
    if lang == "en":
        for line in lines[1:]:
            if line.startswith("en:"):
                return line[3:].strip()
    return lines[0] if lines else ""


def exercise_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("exercise")
    return str(marker.args[0]) if marker and marker.args else None


class GradingPlugin:
    def __init__(
        self,
        student_factory: Callable[[], Any],
        order: list[str],
        *,
        lang: str = "pt",
        devices: tuple[str, ...] = ("cpu",),
        only: str | None = None,
        reference_factory: Callable[[], dict] | None = None,
        params: Mapping[str, dict] | None = None,
    ) -> None:
        self.student_factory = student_factory
        self.order = order
        self.language = lang
        self.devices = devices
        self.only = only
        self.reference_factory = reference_factory
        self.student_params = dict(params or {})  # exercise -> this student's numbers (grader.personal)
        self.records: list[TestRecord] = []
        self.collection_errors: list[str] = []
        self._student: Any = None

    # ------------------------------------------------------------------ config
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "exercise(id): the catalog exercise this test grades")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "device" in metafunc.fixturenames:
            metafunc.parametrize("device", list(self.devices), ids=list(self.devices))

    def pytest_collection_modifyitems(self, session, config, items: list[pytest.Item]) -> None:
        keep, position = [], {name: i for i, name in enumerate(self.order)}
        for index, item in enumerate(items):
            exercise = exercise_of(item)
            if exercise not in position:
                raise pytest.UsageError(f"{item.nodeid}: mark it with @pytest.mark.exercise(<an exercise id>)")
            if self.only is None or exercise == self.only:
                keep.append((position[exercise], index, item))
        # Exercises in catalog order: a reference stands in for an exercise only after it
        # has been graded (see StudentSession.set_exercise).
        items[:] = [item for _, _, item in sorted(keep, key=lambda t: (t[0], t[1]))]

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collection_errors.append(str(report.longrepr)[-2000:])

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def student(self, request: pytest.FixtureRequest):
        if self._student is None:
            self._student = self.student_factory()
        exercise = exercise_of(request.node)
        self._student.set_exercise(exercise, seed=zlib.crc32(request.node.nodeid.encode()) % 2**31)
        return self._student

    @pytest.fixture
    def params(self, request: pytest.FixtureRequest) -> dict:
        """The numbers of this student's variant of the exercise (grader.personal): recomputed
        from the student id when grading, the defaults where no student id is known."""
        return dict(self.student_params.get(exercise_of(request.node) or "", {}))

    @pytest.fixture
    def lang(self) -> str:
        return self.language

    @pytest.fixture(scope="session")
    def reference(self) -> dict:
        if self.reference_factory is None:
            pytest.skip("reference solutions are only available to the grader")
        return self.reference_factory()

    def pytest_sessionfinish(self, session) -> None:
        if self._student is not None and hasattr(self._student, "close"):
            self._student.close()

    # ------------------------------------------------------------------ records
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.records.append(self._record(item, call, report))

    def _record(self, item: pytest.Item, call: pytest.CallInfo, report) -> TestRecord:
        callspec = getattr(item, "callspec", None)
        device = callspec.params.get("device") if callspec else None
        doc = name_from_doc(getattr(item, "function", None).__doc__, self.language) if hasattr(item, "function") else ""
        record = TestRecord(
            nodeid=item.nodeid,
            name=doc or item.name,
            exercise=exercise_of(item) or "",
            kind="public" if "public" in item.path.name else "hidden",
            device=device,
            outcome="passed",
        )
        if report.passed:
            return record
        if report.skipped:
            record.outcome = "skipped"
            longrepr = report.longrepr  # (file, line, "Skipped: reason") for a pytest.skip
            record.message = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")
            return record
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, Mistake):
            record.outcome, record.message, record.hint = "failed", exc.render(self.language), exc.key
        elif isinstance(exc, StudentFailure):
            record.outcome, record.message, record.hint = exc.outcome, exc.render(self.language), exc.hint
            diagnosis = diagnosis_of(exc)
            if diagnosis is not None:
                record.hint = diagnosis.key
                record.message += "\n" + diagnosis.text.render(self.language)
        elif isinstance(exc, AssertionError):
            record.outcome = "failed"
            record.message = str(exc).split("\nassert ")[0].strip() or GENERIC_FAILURE.render(self.language)
        else:
            record.outcome, record.message = "grader_error", INTERNAL_ERROR.render(self.language)
            record.detail = "".join(traceback.format_exception(exc))[-4000:] if exc else str(report.longrepr)
        return record


# --------------------------------------------------------------------------- running

# pytest's own plugins a grading session does without.
_PLUGINS_OFF = (
    "cacheprovider",
    "terminal",
    "stepwise",
    # These two end every session with gc.collect() passes (pytest >= 8.4), ~0.14 s each with
    # torch loaded: most of a submission's pytest overhead. Graders do not need their warnings.
    "unraisableexception",
    "threadexception",
    "logging",  # a log handler set up and torn down around every test phase; graders log nothing
    # Fixtures and collectors no grader uses, each with hooks called for every test (10% of
    # the Python calls of a 01_neurons submission in its grading process; output capture
    # alone a third of that: graders print nothing, and student output is the student
    # process's, captured there). A grader that needs one of these takes it off this list.
    *("capture", "monkeypatch", "tmpdir", "legacypath", "recwarn", "doctest", "unittest", "subtests"),
    *("junitxml", "pastebin", "setuponly", "setupplan"),
)

_PYTEST_ARGS = [
    # Only our plugin and pytest's own: a plugin installed beside the grader (pytest-randomly,
    # pytest-timeout, hypothesis's) must neither change a grade nor cost time per submission.
    "--disable-plugin-autoload",
    *(arg for name in _PLUGINS_OFF for arg in ("-p", f"no:{name}")),
    "--assert=plain",
    "--import-mode=importlib",
    "-o",
    "python_files=test_*.py",
]


def available_devices() -> tuple[str, ...]:
    """The devices graders run on here: cpu, and cuda where there is one."""
    import torch

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def run_pytest(plugin: GradingPlugin, files: list[str]) -> int:
    """Run grader modules through pytest with `plugin` (no terminal output, no cache)."""
    folder = str(Path(files[0]).parent)
    code = pytest.main([*_PYTEST_ARGS, "--rootdir", folder, "-c", os.devnull, *files], plugins=[plugin])
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"pytest could not run the graders ({code!r}): {plugin.collection_errors}")
    return code
