"""The nbgrader bridge's parts, without running nbgrader (tests/test_nbgrader_course.py
runs real courses end to end): the autograde steps derived from nbgrader's own, which
file stands for a notebook, what a check cell shows, the report and the captured log."""

import csv
import logging
import sys
import warnings

import nbformat
import pytest
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import Execute

from grader.integrity import Flag, grade_id_of
from grader.nbgrader_bridge import (
    NO_NOTEBOOK,
    AutogradeReport,
    EngineGrade,
    Entry,
    autograde_preprocessors,
    captured_into,
    fill_test_cells,
    submitted_notebooks,
)

A = "01_neurons"


def test_autograde_steps_are_nbgraders_with_execute_swapped():
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    ours = autograde_preprocessors()
    assert len(ours) == len(default) and Execute in default and EngineGrade in ours
    assert [s for s in ours if s is not EngineGrade] == [s for s in default if s is not Execute]
    assert ours.index(EngineGrade) == default.index(Execute)


def test_a_lone_notebook_under_another_name_stands_for_the_assignment(tmp_path):
    (tmp_path / f"{A}-Copy1.ipynb").write_text("{}", encoding="utf-8")
    [(notebook, (path, [flag]))] = submitted_notebooks(tmp_path, [A]).items()
    assert notebook == A and path.name == f"{A}-Copy1.ipynb" and flag.code == "renamed_file"
    (tmp_path / "other.ipynb").write_text("{}", encoding="utf-8")
    assert submitted_notebooks(tmp_path, [A]) == {}  # two candidates: none is guessed
    (tmp_path / f"{A}.ipynb").write_text("{}", encoding="utf-8")
    assert submitted_notebooks(tmp_path, [A]) == {A: (tmp_path / f"{A}.ipynb", [])}


def test_check_cells_show_the_engines_feedback_and_score(root):
    notebook = nbformat.read(root / "exercises" / A / f"{A}.ipynb", as_version=4)
    result = {
        "output": "⚠ Precisa de revisão: algo",
        "tests": [
            {"name": "step: valores", "status": "failed", "output": "use >=", "extra_data": {"exercise": "step"}},
        ],
        "extra_data": {"exercises": {"step": {"score": 0.0, "max_score": 1.0}, "relu": {"score": 1, "max_score": 1}}},
    }
    fill_test_cells(notebook.cells, result)
    shown = {grade_id_of(c): c.outputs for c in notebook.cells if c.cell_type == "code" and c.get("outputs")}
    assert set(shown) == {"test_step", "test_relu"}
    step_text = shown["test_step"][0]["text"]
    assert step_text.startswith("⚠ Precisa de revisão: algo") and "step: 0 / 1" in step_text and "use >=" in step_text
    assert "Precisa de revisão" not in shown["test_relu"][0]["text"]  # the notes go to the first check cell only
    assert shown["test_step"][1]["data"]["text/plain"] == "0.0"
    nbformat.validate(notebook)  # the outputs are made without new_output's check of each one
    assert shown["test_step"][1] == nbformat.v4.new_output(
        "execute_result", data={"text/plain": "0.0"}, execution_count=None
    )


def test_the_report_lists_every_student_and_says_why(tmp_path):
    review = Flag.of("missing_notebook", None, NO_NOTEBOOK, expected="x.ipynb", found="-")
    note = Flag("old_format", None, "nota", "note", review=False)
    report = AutogradeReport(A, report_path=tmp_path / "r.csv", log_path=tmp_path / "a.log")
    report.entries = [
        Entry("ana", A, "nbgrader", 19, 19, [note.as_dict()]),
        Entry("bia", A, "rebuilt", 0, 19, [review.as_dict()]),
        Entry("caio", A, "direct", 3, 19),
    ]
    report.problems["duda"] = "OperationalError: locked"
    report.write_csv(report.report_path)
    rows = {r["student"]: r for r in csv.DictReader(report.report_path.open(encoding="utf-8"))}
    assert rows["ana"]["needs_review"] == "no" and rows["ana"]["reasons_en"] == "note"
    assert rows["bia"]["needs_review"] == "yes" and "No `x.ipynb` notebook" in rows["bia"]["reasons_en"]
    summary = report.summary("en")
    assert summary.splitlines()[0].startswith("3 student(s) in the 01_neurons gradebook: 1 by nbgrader, 1 rebuilt")
    assert "NEEDS REVIEW: bia: No `x.ipynb`" in summary and "ana" not in summary
    assert "NOT IN THE GRADEBOOK: duda" in summary and str(tmp_path / "a.log") in summary


def test_warnings_logs_and_stderr_go_to_the_log_file(tmp_path, capsys):
    path = tmp_path / "autograde.log"
    with captured_into(path) as log:
        warnings.warn("SAWarning-like noise", UserWarning, stacklevel=1)
        logging.getLogger("traitlets").warning("nbgrader says something")
        print("Traceback (most recent call last): boom", file=sys.stderr)
        log.write("===== done\n")
    captured = capsys.readouterr()
    assert "noise" not in captured.err + captured.out and "boom" not in captured.err
    text = path.read_text(encoding="utf-8")
    assert all(s in text for s in ("SAWarning-like noise", "nbgrader says something", "boom", "===== done"))


def test_nbgrader_validates_cell_metadata_as_before_with_its_schema_checked_once():
    import jsonschema
    from nbformat.v4 import new_code_cell
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    from grader.nbgrader_bridge import check_metadata_schema_once

    check_metadata_schema_once()
    check_metadata_schema_once()  # idempotent: never wrapped twice
    validator = MetadataValidatorV3()
    good = {
        "grade": True,
        "grade_id": "test_x",
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    validator.validate_cell(new_code_cell("1", metadata={"nbgrader": good}))
    for bad in ({**good, "points": "um"}, {k: v for k, v in good.items() if k != "grade_id"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate_cell(new_code_cell("1", metadata={"nbgrader": bad}))


def test_gradebooks_of_one_database_share_an_engine_and_tables_are_still_created(tmp_path):
    """nbgrader opens a Gradebook ten times per student: one engine per database URL keeps
    SQLAlchemy's compiled statements, and the tables are listed in one query, created
    where any is missing (a new database, or one deleted since)."""
    import sqlite3

    from nbgrader.api import Gradebook

    from grader.nbgrader_bridge import alembic_version_in_process, share_gradebook_engines

    alembic_version_in_process()  # new databases stamped without the `alembic` command on PATH
    share_gradebook_engines()
    share_gradebook_engines()  # idempotent: never wrapped twice
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "curso") as first:
        first.add_student("ana")
        engine = first.engine
    with Gradebook(url, "curso") as second:
        assert second.engine is engine and [s.id for s in second.students] == ["ana"]
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}", "curso") as other:
        assert other.engine is not engine and other.students == []
    (tmp_path / "gradebook.db").unlink()
    with Gradebook(url, "curso") as again:  # a deleted database: its tables made afresh
        assert again.students == []
        again.add_student("bia")
    tables = {row[0] for row in sqlite3.connect(tmp_path / "gradebook.db").execute("select name from sqlite_master")}
    assert {"student", "submitted_assignment", "grade", "alembic_version"} <= tables


def test_a_new_gradebook_is_stamped_with_the_revision_alembic_names_without_a_process(tmp_path, monkeypatch):
    """nbgrader asks `alembic heads`, in a new process, which revision to stamp on a new
    gradebook (5 s); the course's config reads the same migration scripts in process: the
    same revision, and no process started."""
    import sqlite3
    import subprocess
    from pathlib import Path

    import nbgrader.api
    from nbgrader.dbutil import _temp_alembic_ini

    from grader.nbgrader_bridge import alembic_version_in_process

    with _temp_alembic_ini("sqlite:///unused.db") as ini:
        alembic = str(Path(sys.executable).parent / "alembic")
        by_command = subprocess.check_output([alembic, "-c", ini, "heads"], text=True, timeout=120).split()[0]
    alembic_version_in_process()
    alembic_version_in_process()  # idempotent: never wrapped twice

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(nbgrader.api.sp, "check_output", no_process)
    path = tmp_path / "gradebook.db"
    with nbgrader.api.Gradebook(f"sqlite:///{path}", "curso") as gradebook:
        gradebook.add_student("ana")
    assert sqlite3.connect(path).execute("select version_num from alembic_version").fetchall() == [(by_command,)]


def test_our_processes_read_notebooks_without_building_jsonschemas_iri_grammar(root):
    """jsonschema builds a Lark grammar for IRIs at import where rfc3987_syntax is installed
    (1.1 s of a core): every process of ours (`grade`, `autograde`, grading processes) skips
    it, and still validates notebooks as nbformat does."""
    import subprocess

    probe = (
        "import sys, grader.nbgrader_bridge, nbformat\n"
        "from grader.course import read_notebook\n"
        f"read_notebook({str(root / 'exercises' / '01_neurons' / '01_neurons.ipynb')!r})\n"
        "bad = nbformat.v4.new_notebook(); bad.cells.append({'cell_type': 'code'})\n"
        "print('lark' in sys.modules, nbformat.validator.isvalid(bad))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]  # no grammar built; an invalid cell still invalid


def test_a_plain_nbgrader_command_does_not_build_the_iri_grammar_either():
    """A plain `nbgrader` command imports nbformat before the course's config runs, so only the
    environment can spare it the grammar: `jsonschema<4.25` in pyproject.toml (3.3 s of a
    core per command). Lifting the cap while jsonschema still builds it eagerly fails here."""
    import subprocess

    probe = "import sys\nfrom nbgrader.apps.nbgraderapp import NbGraderApp\nprint('lark' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
