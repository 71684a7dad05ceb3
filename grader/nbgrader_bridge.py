"""nbgrader as the course's front end, the grader's engine as its judge.

The course is a real nbgrader course (`nbgrader_config.py` at its root calls `configure`):
`source/` is nbgrader's source directory, `nbgrader generate_assignment` writes the
student notebooks to `exercises/`, and `nbgrader autograde`, `generate_feedback` and
`export` work as usual, with one change. nbgrader normally runs each submission in a
Jupyter kernel and scores a test cell by what that kernel printed, so the student's code
can decide its own grade (an object whose `__eq__` is always true, a monkeypatched check).
Here nbgrader's `Execute` step is replaced by `EngineGrade`: no kernel runs; the submitted
notebook is graded by the engine (`grading.grade_submission`: student code in a sandboxed
child process, every verdict in the grading process), and each test cell's output becomes
the engine's feedback plus its score for that exercise, the number nbgrader's
`SaveAutoGrades` stores in `gradebook.db` (partial credit). The same function grades
`python -m grader grade`, so both give the same score for the same file.

`autograde` wraps `nbgrader autograde` for a whole assignment: it grades all submissions
with the engine in parallel first, reports notebooks whose nbgrader metadata would abort
nbgrader (a duplicated grade cell, a schema version it does not know: jupyter/nbgrader#1083),
and runs nbgrader student by student, so one bad notebook never stops the batch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    NbGraderPreprocessor, SaveAutoGrades)
from traitlets import Unicode

COURSE_ID = "pytorch-pt"
CODE_STUB = "# SEU CÓDIGO AQUI\nraise NotImplementedError()"
SCHEMA_VERSION = 3  # the nbgrader cell-metadata schema this course's notebooks use


def configure(c) -> None:
    """The course's nbgrader settings (called from `nbgrader_config.py`)."""
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.release_directory = "exercises"
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    # A deleted locked check cell comes back (it then shows the engine's zero and why),
    # instead of leaving the exercise at "needs manual grading" forever (nbgrader#1682).
    c.OverwriteCells.add_missing_cells = True
    c.Execute.timeout = 60  # `nbgrader validate` still runs a kernel: one cell's limit
    c.Autograde.autograde_preprocessors = [EngineGrade, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


# --------------------------------------------------------------------------- the preprocessor


class EngineGrade(NbGraderPreprocessor):
    """Replaces nbgrader's Execute: the engine grades the submitted file; test cells get its feedback and scores."""

    results_directory = Unicode(
        "", help="Engine results already computed for this batch (by `autograde`), one JSON per notebook."
    ).tag(config=True)
    lang = Unicode("pt", help="Language of the feedback: pt or en.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
        result = engine_result(submitted / f"{info['notebook']}.ipynb", info["assignment"], info["student"],
                               self.results_directory, self.lang)
        exercises = result["extra_data"]["exercises"]
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade") and \
                    grade_id.startswith("test_") and grade_id[5:] in exercises:
                exercise = grade_id[5:]
                cell.outputs = [new_output("stream", name="stdout", text=feedback_text(result, exercise)),
                                new_output("execute_result", data={"text/plain": repr(exercises[exercise]["score"])},
                                           execution_count=None)]
                cell.execution_count = None
        return nb, resources


def feedback_text(result: dict, exercise: str) -> str:
    """What a test cell shows in the autograded notebook and the feedback HTML."""
    info = result["extra_data"]["exercises"][exercise]
    lines = [f"{exercise}: {info['score']:g} / {info['max_score']:g}"]
    for test in result["tests"]:
        if test["extra_data"]["exercise"] == exercise:
            mark = "✅" if test["status"] == "passed" else "❌"
            lines.append(f"{mark} {test['name']}")
            if test["status"] != "passed" and test["output"]:
                lines.extend("    " + line for line in test["output"].splitlines())
    if result.get("output"):
        lines.append("")
        lines.extend(result["output"].splitlines())
    return "\n".join(lines) + "\n"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cached_result_path(results_directory: str | Path, student: str, notebook: str) -> Path:
    return Path(results_directory) / student / f"{notebook}.json"


def engine_result(path: Path, assignment_id: str, student: str, results_directory: str, lang: str) -> dict:
    """The engine's results for one submitted notebook: from this batch's cache when it
    graded exactly this file, graded now otherwise."""
    if results_directory:
        cached = cached_result_path(results_directory, student, path.stem)
        if cached.exists():
            data = json.loads(cached.read_text(encoding="utf-8"))
            if data.get("extra_data", {}).get("sha256") == file_digest(path):
                return data
    from grader.course import load_assignment
    from grader.grading import GradeOptions, safe_grade

    return safe_grade(path, f"{student}-{path.stem}", load_assignment(assignment_id), GradeOptions(lang=lang))


# --------------------------------------------------------------------------- metadata checks


def metadata_problems(path: Path) -> list[str]:
    """What would make nbgrader abort on this notebook (duplicate grade_ids, a schema
    version other than ours, unreadable JSON); empty when it can be autograded."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = notebook["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"unreadable notebook: {type(exc).__name__}"]
    problems, seen = [], set()
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
        if not isinstance(meta, dict):
            continue
        grade_id = meta.get("grade_id")
        if grade_id in seen:
            problems.append(f"duplicated grade cell {grade_id!r}")
        seen.add(grade_id)
        if meta.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            problems.append(f"cell {grade_id!r} has nbgrader schema_version {meta.get('schema_version')!r}")
    return problems


# --------------------------------------------------------------------------- autograde


@dataclass
class AutogradeReport:
    graded: list[str] = field(default_factory=list)  # students whose grades are in the gradebook
    problems: dict[str, str] = field(default_factory=dict)  # student -> why nbgrader could not take it

    def summary(self) -> str:
        lines = [f"{len(self.graded)} submission(s) autograded into the gradebook"]
        lines += [f"NOT autograded: {student}: {why}" for student, why in sorted(self.problems.items())]
        return "\n".join(lines)


def nbgrader_config(root: Path, **settings):
    from traitlets.config import Config

    c = Config()
    configure(c)
    c.CourseDirectory.root = str(root)
    for dotted, value in settings.items():
        section, name = dotted.split(".")
        setattr(c[section], name, value)
    return c


def autograde(root: Path, assignment_id: str, *, jobs: int = 2, lang: str = "pt", force: bool = True,
              progress=None) -> AutogradeReport:
    """`nbgrader autograde` for every submission of an assignment, judged by the engine."""
    from grader.grading import GradeOptions, grade_batch

    from grader.course import ROOT_ENV

    root = Path(root).resolve()
    os.environ[ROOT_ENV] = str(root)  # the course's source/ defines the exercises, points and references
    _alembic_on_path()
    submitted = sorted((root / "submitted").glob(f"*/{assignment_id}/*.ipynb"))
    report = AutogradeReport()
    good: dict[str, list[Path]] = {}
    for path in submitted:
        student = path.parent.parent.name
        problems = metadata_problems(path)
        if problems:
            report.problems[student] = "; ".join(problems)
        else:
            good.setdefault(student, []).append(path)
    with tempfile.TemporaryDirectory(prefix="engine-results-") as cache:
        paths = [p for paths in good.values() for p in paths]
        results = grade_batch(paths, assignment_id, Path(cache) / "batch", GradeOptions(lang=lang), jobs=jobs,
                              progress=progress)
        for path, result in zip(paths, results):
            result["extra_data"]["sha256"] = file_digest(path)
            target = cached_result_path(cache, path.parent.parent.name, path.stem)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        from nbgrader.apps import NbGraderAPI

        config = nbgrader_config(root, **{"EngineGrade.results_directory": cache, "EngineGrade.lang": lang})
        api = NbGraderAPI(config=config)
        for student in sorted(good):
            outcome = api.autograde(assignment_id, student, force=force, create=True)
            if outcome.get("success"):
                report.graded.append(student)
            else:
                report.problems[student] = (outcome.get("error") or outcome.get("log") or "nbgrader failed")[-500:]
    return report


def generate_release(source_root: Path, assignment_id: str) -> str:
    """The student notebook `nbgrader generate_assignment` makes from `source/` (its text),
    made in a scratch copy of the course so that no gradebook is touched."""
    _alembic_on_path()
    from nbgrader.apps import NbGraderAPI

    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        shutil.copytree(Path(source_root) / "source" / assignment_id, Path(tmp) / "source" / assignment_id)
        config = nbgrader_config(Path(tmp), **{"CourseDirectory.db_url": f"sqlite:///{tmp}/gradebook.db"})
        outcome = NbGraderAPI(config=config).generate_assignment(assignment_id, force=True, create=True)
        if not outcome.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment {assignment_id} failed:\n{outcome.get('log', '')}")
        return (Path(tmp) / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8")


def _alembic_on_path() -> None:
    """nbgrader creates its gradebook by running the `alembic` script, found on PATH: make
    the one installed next to this interpreter findable (a venv that is not activated)."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
