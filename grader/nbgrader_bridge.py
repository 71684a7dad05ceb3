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

`autograde` wraps `nbgrader autograde` for a whole assignment so that no student is left
out of the gradebook. It grades every submission with the engine first (in parallel; the
engine finds answers by name and needs no nbgrader metadata). A notebook whose nbgrader
structure was damaged or tampered with (see `grader.integrity`: a demoted or renamed check
cell, a duplicated cell, another schema_version, cells pasted into a new notebook) is
flagged for review and handed to nbgrader rebuilt from the release; a notebook nbgrader
still refuses is rebuilt and retried; and where even that fails, the engine's scores are
written into `gradebook.db` through nbgrader's API. nbgrader's log, tracebacks and
warnings go to a log file, and a report lists every student, score and flag.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import csv
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from nbformat import from_dict
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from grader.course import read_notebook
from grader.grading import GradeOptions
from grader.i18n import Text
from grader.integrity import Flag, rebuilt
from grader.ledger import file_digest

COURSE_ID = "pytorch-pt"
CODE_STUB = "# SEU CÓDIGO AQUI\nraise NotImplementedError()"


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
    # nbconvert validates the whole notebook after every preprocessor (a dozen times per
    # student in autograde); once, after the last one, catches the same invalid notebook.
    c.Exporter.optimistic_validation = True
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    check_metadata_schema_once()
    share_gradebook_engines()
    alembic_version_in_process()


class _SchemaCheckedOnce:
    """`jsonschema` as nbgrader's metadata validator sees it, with `validate` building one
    validator per schema. nbgrader calls `jsonschema.validate(cell_metadata, schema)` for
    every cell, which first checks the schema itself against its metaschema each time: most
    of the CheckCellMetadata step (some 0.1 s of a core per notebook). The schema is
    nbgrader's own and fixed; the cells are validated exactly as before."""

    def __init__(self, module) -> None:
        self._module, self._validators = module, {}

    def validate(self, instance, schema) -> None:
        validator = self._validators.get(id(schema))
        if validator is None or validator.schema is not schema:
            cls = self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[id(schema)] = cls(schema)
        error = self._module.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name: str):
        return getattr(self._module, name)


def check_metadata_schema_once() -> None:
    import nbgrader.nbgraderformat.common as common

    if not isinstance(common.jsonschema, _SchemaCheckedOnce):
        common.jsonschema = _SchemaCheckedOnce(common.jsonschema)


def share_gradebook_engines() -> None:
    """One SQLAlchemy engine per gradebook URL in this process, as SQLAlchemy intends.

    nbgrader opens a `Gradebook` ten times per student in autograde, each creating an engine
    (and so an empty cache of compiled SQL: every query compiled again) and asking SQLite
    about each of its tables one by one (`create_all`). A shared engine keeps its compiled
    statements (`Gradebook.close` still disposes of its connections), and the tables are
    listed in one query: created, as before, where any is missing. About a third of
    nbgrader's own time per student."""
    import nbgrader.api as api

    if getattr(api.create_engine, "shared_by_grader", False):
        return
    engines: dict[tuple, object] = {}
    create_engine, create_all = api.create_engine, api.Base.metadata.create_all

    def shared_engine(url, **options):
        key = (str(url), tuple(sorted(options.items())))
        if key not in engines:
            engines[key] = create_engine(url, **options)
        return engines[key]

    def create_missing_tables(bind, **options) -> None:
        from sqlalchemy import inspect

        if options or not set(api.Base.metadata.tables) <= set(inspect(bind).get_table_names()):
            create_all(bind=bind, **options)

    shared_engine.shared_by_grader = True
    api.create_engine = shared_engine
    api.Base.metadata.create_all = create_missing_tables


def alembic_version_in_process() -> None:
    """nbgrader stamps every new gradebook with the newest revision of its migration scripts,
    found by running the `alembic heads` command in a new process: 5 s of a core on the
    2-core machine, because one of the scripts imports nbgrader again (jsonschema's IRI
    grammar included), for one line of text. The same scripts read in this process answer in
    0.2 s, once per process; where they have more than one head, nbgrader's own way decides
    (the command, made findable first)."""
    import functools

    import nbgrader.api as api

    if getattr(api.get_alembic_version, "in_process", False):
        return
    by_command = api.get_alembic_version

    @functools.cache
    def newest_revision() -> str:
        from alembic.script import ScriptDirectory
        from nbgrader.dbutil import ALEMBIC_DIR

        heads = ScriptDirectory(ALEMBIC_DIR).get_heads()
        if len(heads) == 1:
            return heads[0]
        _alembic_on_path()
        return by_command()

    newest_revision.in_process = True
    api.get_alembic_version = newest_revision


def autograde_preprocessors() -> list[type]:
    """nbgrader's own autograde steps, in its order, with `Execute` swapped for `EngineGrade`
    (derived, not copied, so that an nbgrader upgrade's new steps come along)."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if Execute not in steps:
        raise RuntimeError(f"nbgrader's autograde steps no longer include Execute: {steps}")
    return [EngineGrade if step is Execute else step for step in steps]


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
        result = engine_result(
            submitted / f"{info['notebook']}.ipynb",
            info["assignment"],
            info["student"],
            self.results_directory,
            GradeOptions(lang=self.lang, course_root=Path(coursedir.root)),
        )
        fill_test_cells(nb.cells, result)
        return nb, resources


def fill_test_cells(cells, result: dict) -> None:
    """Each check cell `test_<exercise>` shows the engine's feedback and outputs its score
    (what SaveAutoGrades stores); the submission's notes (flags, cell errors) go to the first."""
    exercises = result["extra_data"]["exercises"]
    first = True
    for cell in cells:
        meta = cell["metadata"].get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if (
            cell["cell_type"] == "code"
            and meta.get("grade")
            and grade_id.startswith("test_")
            and grade_id[5:] in exercises
        ):
            exercise = grade_id[5:]
            # the outputs nbformat's new_output makes, less its schema check of each one:
            # nbconvert validates the whole notebook once it is done (optimistic_validation)
            cell["outputs"] = [
                from_dict(
                    {"output_type": "stream", "name": "stdout", "text": feedback_text(result, exercise, notes=first)}
                ),
                from_dict(
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": repr(exercises[exercise]["score"])},
                        "metadata": {},
                        "execution_count": None,
                    }
                ),
            ]
            cell["execution_count"] = None
            first = False


def feedback_text(result: dict, exercise: str, notes: bool = True) -> str:
    """What a test cell shows in the autograded notebook and the feedback HTML."""
    info = result["extra_data"]["exercises"][exercise]
    lines = []
    if notes and result.get("output"):
        lines.extend(result["output"].splitlines())
        lines.append("")
    lines.append(f"{exercise}: {info['score']:g} / {info['max_score']:g}")
    for test in result["tests"]:
        if test["extra_data"]["exercise"] == exercise:
            mark = "✅" if test["status"] == "passed" else "❌"
            lines.append(f"{mark} {test['name']}")
            if test["status"] != "passed" and test["output"]:
                lines.extend("    " + line for line in test["output"].splitlines())
    return "\n".join(lines) + "\n"


def cached_result_path(results_directory: str | Path, student: str, notebook: str) -> Path:
    return Path(results_directory) / student / f"{notebook}.json"


def engine_result(path: Path, assignment_id: str, student: str, results_directory: str, options: GradeOptions) -> dict:
    """The engine's results for one submitted notebook: from this batch's results when they
    are for exactly this file (the student's, or the one rebuilt from it), graded now otherwise."""
    if results_directory:
        cached = cached_result_path(results_directory, student, path.stem)
        if cached.exists() and path.exists():
            data = json.loads(cached.read_text(encoding="utf-8"))
            digest = file_digest(path)
            if digest in (data["extra_data"].get("sha256"), data["extra_data"].get("nbgrader_sha256")):
                return data
    from grader.course import load_assignment
    from grader.grading import safe_grade

    assignment = load_assignment(assignment_id, options.course_root)
    return safe_grade(path, f"{student}-{path.stem}", assignment, options, student)


# --------------------------------------------------------------------------- autograde

RENAMED_FILE = Text(
    pt="O notebook foi entregue como `{name}` (esperado: `{expected}`).",
    en="The notebook was submitted as `{name}` (expected: `{expected}`).",
)
NO_NOTEBOOK = Text(
    pt="Nenhum notebook `{expected}` na entrega ({found}).", en="No `{expected}` notebook in the submission ({found})."
)
NOT_GRADED = Text(
    pt="O corretor não conseguiu avaliar este notebook (o motivo está no feedback); nota 0.",
    en="The grader could not grade this notebook (the feedback says why); score 0.",
)
REBUILT = Text(
    pt="O nbgrader recebeu este notebook reconstruído a partir da versão liberada: células travadas e "
    "metadados restaurados, as suas células mantidas. A nota é a do corretor.",
    en="nbgrader was given this notebook rebuilt from the release: locked cells and metadata "
    "restored, your own cells kept. The score is the grader's.",
)
ROUTES = {
    "nbgrader": Text(pt="pelo nbgrader", en="by nbgrader"),
    "rebuilt": Text(pt="reconstruída(s) a partir da versão liberada", en="rebuilt from the release"),
    "direct": Text(pt="gravada(s) direto no gradebook", en="written straight into the gradebook"),
}


@dataclass
class Entry:
    """One student's notebook in an autograde run."""

    student: str
    notebook: str
    route: str = "nbgrader"  # nbgrader, rebuilt, direct, or failed
    score: float | None = None
    max_score: float | None = None
    flags: list[dict] = field(default_factory=list)

    @property
    def review_flags(self) -> list[dict]:
        return [f for f in self.flags if f.get("review", True)]

    @property
    def needs_review(self) -> bool:
        return bool(self.review_flags)


@dataclass
class AutogradeReport:
    assignment: str
    entries: list[Entry] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # student -> why not even a direct write worked
    log_path: Path | None = None
    report_path: Path | None = None

    @property
    def graded(self) -> list[str]:
        """Students whose grades are in the gradebook."""
        return sorted({e.student for e in self.entries if e.route != "failed"})

    def summary(self, lang: str = "pt") -> str:
        counts = {route: len({e.student for e in self.entries if e.route == route}) for route in ROUTES}
        parts = ", ".join(f"{n} {ROUTES[route].render(lang)}" for route, n in counts.items() if n)
        lines = [
            Text(
                pt="{n} aluno(s) no gradebook de {assignment}", en="{n} student(s) in the {assignment} gradebook"
            ).render(lang, n=len(self.graded), assignment=self.assignment)
            + (f": {parts}" if parts else "")
        ]
        review = Text(pt="PRECISA DE REVISÃO", en="NEEDS REVIEW").render(lang)
        for entry in self.entries:
            for flag in entry.review_flags:
                lines.append(f"{review}: {entry.student}: {flag['en' if lang == 'en' else 'pt']}")
        not_graded = Text(pt="FORA DO GRADEBOOK", en="NOT IN THE GRADEBOOK").render(lang)
        lines += [f"{not_graded}: {student}: {why}" for student, why in sorted(self.problems.items())]
        if self.report_path:
            lines.append(Text(pt="Relatório: {path}", en="Report: {path}").render(lang, path=self.report_path))
        if self.log_path:
            lines.append(
                Text(pt="Log completo do nbgrader: {path}", en="Full nbgrader log: {path}").render(
                    lang, path=self.log_path
                )
            )
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        from grader.results import write_text_atomic

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["student", "notebook", "score", "max_score", "gradebook", "needs_review", "reasons_pt", "reasons_en"]
        )
        for e in self.entries:
            writer.writerow(
                [
                    e.student,
                    e.notebook,
                    e.score,
                    e.max_score,
                    e.route,
                    "yes" if e.needs_review else "no",
                    " | ".join(f["pt"] for f in e.flags),
                    " | ".join(f["en"] for f in e.flags),
                ]
            )
        write_text_atomic(path, buffer.getvalue())


def nbgrader_config(root: Path, **settings):
    from traitlets.config import Config

    c = Config()
    configure(c)
    c.CourseDirectory.root = str(root)
    for dotted, value in settings.items():
        section, name = dotted.split(".")
        setattr(c[section], name, value)
    return c


# nbgrader's step runs in this process, one student at a time: the run's one serial stage.
# Its grading processes take the lowest CPU priority once set up (their student processes
# keep the normal one): where they and nbgrader want the same core, nbgrader goes first and
# keeps up with the engine instead of being left with the whole tail at the end (2 cores,
# 64 notebooks of 01: nbgrader done 17.1 s -> 14.4 s after the start). Alone on the machine,
# they run as fast as before.
NBGRADER_FIRST = 19

NbgraderStep = Callable[[object, str, str], dict]  # (NbGraderAPI, assignment, student) -> nbgrader's outcome


def _nbgrader_autograde(api, assignment_id: str, student: str) -> dict:
    return api.autograde(assignment_id, student, force=True, create=True)


def autograde(
    root: Path,
    assignment_id: str,
    options: GradeOptions | None = None,
    *,
    jobs: int = 2,
    progress=None,
    regrade: bool = False,
    nbgrader_step: NbgraderStep = _nbgrader_autograde,
    on_first_result: Callable[[], object] | None = None,
) -> AutogradeReport:
    """`nbgrader autograde` for every submission of an assignment, judged by the engine; every
    student ends up in the gradebook with the engine's score (see the module's docstring).

    Running it again redoes only what changed: the engine's results live in
    `reports/<id>/engine/` with their ledger (`grader.ledger`), so only new or resubmitted
    notebooks (or all, after a change of graders) are graded again; and a student whose
    results are those already in `gradebook.db` (`reports/<id>/gradebook.jsonl` says which
    results went in, the gradebook itself is asked for the score) is not handed to nbgrader
    again. `regrade`: grade and record everything again. `on_first_result()`: called once, when
    the engine's first result is in (the CLI starts the report's imports then)."""
    from grader.executors import LocalExecutor
    from grader.grading import grade_batch

    root = Path(root).resolve()
    options = replace(options or GradeOptions(), course_root=root)  # its source/: the exercises, points and references
    lang = options.lang
    outdir = root / "reports" / assignment_id
    report = AutogradeReport(assignment_id, log_path=outdir / "autograde.log", report_path=outdir / "autograde.csv")
    release = release_notebooks(root, assignment_id)
    folders = sorted(p for p in (root / "submitted").glob(f"*/{assignment_id}") if p.is_dir())
    files = {folder: submitted_notebooks(folder, list(release)) for folder in folders}
    # one stable name per notebook (`alice-01_neurons`), whoever else submitted: the ledger's key
    names = {
        path: f"{folder.parent.name}-{notebook}" for folder in folders for notebook, (path, _) in files[folder].items()
    }
    # Each student goes into the gradebook (nbgrader, one student at a time, in a thread of its
    # own) as soon as the engine has graded all their notebooks, while the engine grades the
    # others: nbgrader's share of the run overlaps the grading instead of following it.
    folder_of = {path: folder for folder in folders for path, _ in files[folder].values()}
    waiting = {folder: {path for path, _ in files[folder].values()} for folder in folders}
    results: dict[Path, dict] = {}
    with (
        tempfile.TemporaryDirectory(prefix="autograde-") as scratch,
        captured_into(report.log_path) as log,
        futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbgrader") as nbgrader,
    ):
        batch = _Batch(
            root, assignment_id, lang, release, outdir / "results", Path(scratch) / "submitted", log, nbgrader_step
        )
        recorded = {} if regrade else batch.already_recorded()
        students: dict[Path, futures.Future] = {}

        def into_gradebook(folder: Path) -> None:
            students[folder] = nbgrader.submit(batch.record_student, folder, files[folder], results, recorded)

        def graded(path: Path, result: dict) -> None:
            if not results and on_first_result:
                on_first_result()
            results[path] = result
            waiting[folder_of[path]].discard(path)
            if not waiting[folder_of[path]]:
                into_gradebook(folder_of[path])

        for folder in folders:
            if not waiting[folder]:  # no notebook at all: nbgrader scores it 0
                into_gradebook(folder)
        grade_batch(
            list(names),
            assignment_id,
            outdir / "engine",
            options,
            jobs=jobs,
            resume=not regrade,
            progress=progress,
            names=names,
            on_result=graded,
            executor=LocalExecutor(jobs, nice=NBGRADER_FIRST),
        )
        for folder in folders:  # in order, whenever each was recorded; an error of ours raises here
            entries, problem = students[folder].result()
            if problem:
                report.problems[folder.parent.name] = problem
            report.entries.extend(entries)
    report.write_csv(report.report_path)
    return report


@dataclass
class _Batch:
    """One `autograde` run: where the engine's results go, and how a student gets into the gradebook."""

    root: Path
    assignment_id: str
    lang: str
    release: dict[str, dict]  # notebook id -> the released notebook
    results_dir: Path  # reports/<assignment>/results: the engine's results, read by EngineGrade
    rebuilt_root: Path  # a submitted/ tree holding the notebooks rebuilt from the release
    log: io.TextIOBase
    nbgrader_step: NbgraderStep

    def __post_init__(self) -> None:
        from nbgrader.apps import NbGraderAPI

        shutil.rmtree(self.results_dir, ignore_errors=True)
        settings = {"EngineGrade.results_directory": str(self.results_dir), "EngineGrade.lang": self.lang}
        self.config = nbgrader_config(self.root, **settings)
        self.api = NbGraderAPI(config=self.config)
        self.rebuilt_api = NbGraderAPI(
            config=nbgrader_config(
                self.root, **settings, **{"CourseDirectory.submitted_directory": str(self.rebuilt_root)}
            )
        )

    @property
    def recorded_path(self) -> Path:
        return self.results_dir.parent / "gradebook.jsonl"

    def record_student(
        self,
        folder: Path,
        files: dict[str, tuple[Path, list[Flag]]],
        results: dict[Path, dict],
        recorded: dict[str, tuple[str, str]],
    ) -> tuple[list[Entry], str | None]:
        """One student into the gradebook, unless these very results are there already: their
        entries (each with the route taken) and what failed, if nothing worked."""
        student = folder.parent.name
        entries = self.record_engine_results(folder, files, results)
        key = self.gradebook_key(student, entries)
        problem = None
        if recorded.get(student, (None,))[0] == key:  # these very results are in gradebook.db
            route = recorded[student][1]
            if route == "rebuilt":  # the results' note and the digest nbgrader graded
                self.rebuild(folder, files)
        else:
            route, problem = self.into_gradebook(
                folder, files, needs_rebuild=any(e.needs_review for e in entries if e.notebook in files)
            )
            if not problem:
                self.remember(student, key, route)
        for entry in entries:
            entry.route = route
        return entries, problem

    def gradebook_key(self, student: str, entries: list[Entry]) -> str:
        """What this run puts in the gradebook for a student: the results files EngineGrade
        reads (each holding its submitted file's digest) and the entries, under this version."""
        import hashlib

        from grader import __version__

        digest = hashlib.sha256(f"{__version__}\0{self.assignment_id}\0{student}".encode())
        for entry in entries:
            digest.update(json.dumps(asdict(entry), sort_keys=True).encode())
            path = cached_result_path(self.results_dir, student, entry.notebook)
            digest.update(path.read_bytes() if path.exists() else b"-")
        return digest.hexdigest()

    def already_recorded(self) -> dict[str, tuple[str, str]]:
        """student -> (key, route) of the results last written into the gradebook, for the
        students whose score in `gradebook.db` is still the one written then."""
        from nbgrader.api import Gradebook

        lines: dict[str, dict] = {}
        with contextlib.suppress(OSError):
            for raw in self.recorded_path.read_text(encoding="utf-8").splitlines():
                try:
                    line = json.loads(raw)
                    lines[line["student"]] = line
                except (ValueError, KeyError, TypeError):  # a line cut short by a crash
                    continue
        if not lines:
            return {}
        with Gradebook(self.api.coursedir.db_url, COURSE_ID) as gradebook:
            try:
                scores = {s.student.id: s.score for s in gradebook.assignment_submissions(self.assignment_id)}
            except Exception:  # no such assignment yet (a new gradebook.db): nothing is recorded
                return {}
        return {
            student: (line["key"], line["route"])
            for student, line in lines.items()
            if student in scores and abs(scores[student] - float(line.get("score", -1))) < 1e-6
        }

    def remember(self, student: str, key: str, route: str) -> None:
        """Append what went into the gradebook for `student`, with the score nbgrader now holds."""
        from nbgrader.api import Gradebook

        with Gradebook(self.api.coursedir.db_url, COURSE_ID) as gradebook:
            score = gradebook.find_submission(self.assignment_id, student).score
        with open(self.recorded_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"student": student, "key": key, "route": route, "score": score}) + "\n")

    def record_engine_results(
        self, folder: Path, files: dict[str, tuple[Path, list[Flag]]], results: dict[Path, dict]
    ) -> list[Entry]:
        """Store each notebook's engine result (with the flags about the file itself) for EngineGrade."""
        from grader.course import load_assignment
        from grader.results import flag_line, write_json_atomic

        student, entries = folder.parent.name, []
        for notebook, (path, file_flags) in files.items():
            result = results[path]
            if not result["extra_data"]["graded"]:  # unreadable, or a grader failure: the output says why
                file_flags = [*file_flags, Flag.of("not_graded", None, NOT_GRADED)]
            if file_flags:
                result["output"] = "\n".join(
                    [flag_line(f, self.lang) for f in file_flags] + ([result["output"]] if result["output"] else [])
                )
                result["extra_data"]["flags"] = [f.as_dict() for f in file_flags] + result["extra_data"]["flags"]
                result["extra_data"]["needs_review"] = result["extra_data"]["needs_review"] or any(
                    f.review for f in file_flags
                )
            result["extra_data"]["sha256"] = file_digest(path)
            write_json_atomic(cached_result_path(self.results_dir, student, notebook), result)
            entries.append(
                Entry(
                    student,
                    notebook,
                    score=result["score"],
                    max_score=result["max_score"],
                    flags=result["extra_data"]["flags"],
                )
            )
        for notebook in self.release:  # nothing stands for it: nbgrader scores it 0
            if notebook not in files:
                flag = Flag.of(
                    "missing_notebook",
                    None,
                    NO_NOTEBOOK,
                    expected=f"{notebook}.ipynb",
                    found=", ".join(p.name for p in folder.glob("*.ipynb")) or "-",
                )
                entries.append(
                    Entry(
                        student,
                        notebook,
                        score=0.0,
                        flags=[flag.as_dict()],
                        max_score=load_assignment(self.assignment_id, self.root).max_score,
                    )
                )
        return entries

    def into_gradebook(
        self, folder: Path, files: dict[str, tuple[Path, list[Flag]]], needs_rebuild: bool
    ) -> tuple[str, str | None]:
        """nbgrader on the student's files (or on the rebuilt ones when flagged), then on the
        rebuilt ones, then a direct write: the route that worked, and what failed if none did."""
        student = folder.parent.name
        routes = ["rebuilt"] if needs_rebuild else ["nbgrader", "rebuilt"]
        for route in routes:
            if route == "rebuilt":
                self.rebuild(folder, files)
            api = self.rebuilt_api if route == "rebuilt" else self.api
            outcome = self.nbgrader_step(api, self.assignment_id, student)
            self._log(f"{student}: nbgrader autograde ({route})", outcome)
            if outcome.get("success"):
                return route, None
        try:
            for notebook in files:
                record_directly(
                    self.config,
                    self.assignment_id,
                    student,
                    notebook,
                    folder,
                    json.loads(cached_result_path(self.results_dir, student, notebook).read_text(encoding="utf-8")),
                    self.rebuilt_root / student / self.assignment_id / f"{notebook}.ipynb",
                )
            return "direct", None
        except Exception as exc:
            self._log(f"{student}: writing into the gradebook", {"error": _traceback()})
            return "failed", f"{type(exc).__name__}: {str(exc)[:200]}"

    def rebuild(self, folder: Path, files: dict[str, tuple[Path, list[Flag]]]) -> None:
        """The student's submission folder as nbgrader will read it: every file copied, each
        notebook rebuilt from the release; the engine's results learn the rebuilt file's digest."""
        from grader.results import write_json_atomic

        target = self.rebuilt_root / folder.parent.name / self.assignment_id
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.ipynb"))
        for notebook, layout in self.release.items():
            path = target / f"{notebook}.ipynb"
            source = files[notebook][0] if notebook in files else None
            path.write_text(
                json.dumps(
                    rebuilt(read_submitted_notebook(source) if source else None, layout), ensure_ascii=False, indent=1
                ),
                encoding="utf-8",
            )
            cached = cached_result_path(self.results_dir, folder.parent.name, notebook)
            if cached.exists():
                result = json.loads(cached.read_text(encoding="utf-8"))
                result["extra_data"]["nbgrader_sha256"] = file_digest(path)
                note = "ℹ " + REBUILT.render(self.lang)
                if note not in result["output"]:
                    result["output"] = "\n".join(x for x in (result["output"], note) if x)
                write_json_atomic(cached, result)

    def _log(self, title: str, outcome: dict) -> None:
        self.log.write(f"===== {title}: {'ok' if outcome.get('success') else 'FAILED'}\n")
        for key in ("log", "error"):
            if outcome.get(key):
                self.log.write(outcome[key].rstrip() + "\n")
        self.log.flush()


def submitted_notebooks(folder: Path, release: list[str]) -> dict[str, tuple[Path, list[Flag]]]:
    """notebook id -> (the file that stands for it, flags about the file itself). A lone
    notebook under another name (`01_neurons-Copy1.ipynb`) stands for the assignment's only one."""
    found = {}
    for notebook in release:
        path = folder / f"{notebook}.ipynb"
        if path.is_file():
            found[notebook] = (path, [])
    others = sorted(p for p in folder.glob("*.ipynb") if p.stem not in release and p.is_file())
    if len(release) == 1 and not found and len(others) == 1:
        expected = f"{release[0]}.ipynb"
        found[release[0]] = (
            others[0],
            [Flag.of("renamed_file", None, RENAMED_FILE, name=others[0].name, expected=expected)],
        )
    return found


def release_notebooks(root: Path, assignment_id: str) -> dict[str, dict]:
    """notebook id -> the released notebook nbgrader wrote (`exercises/`), made afresh when absent."""
    folder = root / "exercises" / assignment_id
    notebooks = {p.stem: read_notebook(p) for p in sorted(folder.glob("*.ipynb"))}
    if not notebooks:
        import nbformat

        notebooks = {assignment_id: nbformat.reads(generate_release(root, assignment_id), as_version=4)}
    return notebooks


def read_submitted_notebook(path: Path) -> dict | None:
    """A submitted notebook as nbformat 4 (v3 worksheets converted), or None when unreadable."""
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return json.loads(
                nbformat.writes(nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4))
            )
    except Exception:
        try:
            data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
            return data if isinstance(data, dict) else None
        except ValueError:
            return None


def record_directly(
    config, assignment_id: str, student: str, notebook: str, folder: Path, result: dict, rebuilt_path: Path
) -> None:
    """The engine's scores written into gradebook.db through nbgrader's API, and the
    autograded notebook (for `generate_feedback`) written beside nbgrader's own."""
    import nbformat
    from nbgrader.api import Gradebook

    coursedir = CourseDirectory(config=config)
    timestamp = coursedir.get_existing_timestamp(str(folder))
    exercises = result["extra_data"]["exercises"]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(assignment_id, student, **({"timestamp": timestamp} if timestamp else {}))
        submitted = gradebook.find_submission_notebook(notebook, assignment_id, student)
        for grade in submitted.grades:
            exercise = grade.name[len("test_") :] if grade.name.startswith("test_") else grade.name
            grade.auto_score = float(exercises.get(exercise, {}).get("score", 0.0))
            grade.needs_manual_grade = False
        gradebook.db.commit()
    if rebuilt_path.exists():
        autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment_id))
        autograded.mkdir(parents=True, exist_ok=True)
        node = nbformat.reads(rebuilt_path.read_text(encoding="utf-8"), as_version=4)
        fill_test_cells(node.cells, result)
        nbformat.write(node, str(autograded / f"{notebook}.ipynb"))


@contextlib.contextmanager
def captured_into(path: Path):
    """nbgrader's log, stray stderr and Python warnings (SQLAlchemy's SAWarning) go to the
    file at `path`, not to the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as log, warnings.catch_warnings(), contextlib.redirect_stderr(log):
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: log.write(
            warnings.formatwarning(message, category, filename, lineno, line)
        )
        handler = logging.StreamHandler(log)
        loggers = [logging.getLogger(), logging.getLogger("traitlets")]
        for logger in loggers:
            logger.addHandler(handler)
        try:
            yield log
        finally:
            for logger in loggers:
                logger.removeHandler(handler)


def _traceback() -> str:
    import traceback

    return traceback.format_exc()


def generate_release(source_root: Path, assignment_id: str) -> str:
    """The student notebook `nbgrader generate_assignment` makes from `source/` (its text),
    made in a scratch copy of the course so that no gradebook is touched."""
    from nbgrader.apps import NbGraderAPI

    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        shutil.copytree(Path(source_root) / "source" / assignment_id, Path(tmp) / "source" / assignment_id)
        config = nbgrader_config(Path(tmp), **{"CourseDirectory.db_url": f"sqlite:///{tmp}/gradebook.db"})
        outcome = NbGraderAPI(config=config).generate_assignment(assignment_id, force=True, create=True)
        if not outcome.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment {assignment_id} failed:\n{outcome.get('log', '')}")
        return (Path(tmp) / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8")


def _alembic_on_path() -> None:
    """nbgrader's own way to a new gradebook's revision runs the `alembic` script, found on
    PATH: make the one installed next to this interpreter findable (a venv that is not
    activated)."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
