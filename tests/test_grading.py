"""Grading end to end: results.json, gradebook, batches with broken input, determinism, CLI."""

import copy
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import assignment_ids, cell_source, load_assignment, nbgrader_meta
from grader.grading import GradeOptions, grade_batch, submission_names
from grader.ledger import LEDGER, file_digest
from grader.release import out_of_sync
from grader.variants import load_variants, typed_in_release

A = "01_neurons"


def solution_notebook(root):
    return json.loads((root / "solutions" / A / f"{A}.ipynb").read_text(encoding="utf-8"))


def typed_in(root, assignment_id=A):
    """The released notebook with each solution cell filled in, as a student would."""
    return typed_in_release(assignment_id, root=root)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("batch")
    subs = folder / "subs"
    subs.mkdir()
    good = typed_in(root)
    (subs / "typed_in.ipynb").write_text(json.dumps(good), encoding="utf-8")
    broken = copy.deepcopy(good)
    for cell in broken["cells"]:
        if nbgrader_meta(cell).get("grade_id") == "softmax":
            cell["source"] = "def softmax(z, dim=-1):\n    return torch.exp(z) / torch.exp(z).sum(dim, keepdim=True"
    (subs / "syntax_error.ipynb").write_text(json.dumps(broken), encoding="utf-8")
    script = "\n".join("# %%\n" + cell_source(c) for c in solution_notebook(root)["cells"] if c["cell_type"] == "code")
    (subs / "as_script.py").write_text(script, encoding="utf-8")
    (subs / "truncated.ipynb").write_text(json.dumps(good)[:3000], encoding="utf-8")
    (subs / "empty.ipynb").write_text("", encoding="utf-8")
    paths = sorted(subs.iterdir())
    out = folder / "out"
    results = grade_batch(paths, A, out, GradeOptions(), jobs=2)
    return {p.stem: r for p, r in zip(paths, results)}, out, paths


def test_typed_in_release_gets_full_marks(batch):
    results, _, _ = batch
    assert results["typed_in"]["score"] == results["typed_in"]["max_score"] == 20
    assert results["as_script"]["score"] == 20


def test_syntax_error_costs_only_its_exercise(batch):
    result = batch[0]["syntax_error"]
    exercises = result["extra_data"]["exercises"]
    assert exercises["softmax"]["score"] == 0
    assert all(v["score"] == v["max_score"] for k, v in exercises.items() if k != "softmax")
    assert "SyntaxError" in result["output"]


@pytest.mark.parametrize("name, fragment", [("truncated", "JSON"), ("empty", "vazio")])
def test_unreadable_submissions_get_zero_and_a_message(batch, name, fragment):
    result = batch[0][name]
    assert result["score"] == 0 and fragment in result["output"]
    assert not result["extra_data"]["graded"]
    assert {t["extra_data"]["exercise"] for t in result["tests"]} == set(load_assignment(A).order)


def test_results_json_schema(batch):
    _, out, paths = batch
    for path in paths:
        data = json.loads((out / f"{path.stem}.json").read_text(encoding="utf-8"))
        assert set(data) >= {"score", "max_score", "tests", "output", "extra_data"}
        assert data["max_score"] == 20
        total = 0.0
        for test in data["tests"]:
            assert set(test) >= {"name", "score", "max_score", "status", "output", "extra_data"}
            assert test["status"] in ("passed", "failed")
            assert test["extra_data"]["exercise"] in load_assignment(A).order
            assert 0 <= test["score"] <= test["max_score"]
            total += test["score"]
        assert abs(total - data["score"]) < 1e-3
        per_exercise = sum(e["max_score"] for e in data["extra_data"]["exercises"].values())
        assert per_exercise == 20


def test_gradebook_csv(batch, tmp_path):
    from grader.results import write_gradebook

    results, _, paths = batch
    path = tmp_path / "g.csv"
    write_gradebook(path, load_assignment(A), [results[p.stem] for p in paths])
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["submission", *load_assignment(A).order, "total", "max", "flags"]
    assert len(rows) == 1 + len(paths)
    assert {r[0]: float(r[-3]) for r in rows[1:]}["typed_in"] == 20


@pytest.mark.slow  # the batch graded a second time
def test_grading_is_deterministic(batch, tmp_path):
    _, _, paths = batch
    again = grade_batch(paths, A, tmp_path, GradeOptions(), jobs=1)
    first = [json.loads((batch[1] / f"{p.stem}.json").read_text(encoding="utf-8")) for p in paths]
    for a, b in zip(first, again):
        a, b = dict(a), dict(b)
        a.pop("execution_time"), b.pop("execution_time")
        assert a == b


def test_resume_keeps_finished_results(batch, tmp_path):
    _, out, paths = batch
    marker = json.loads((out / "typed_in.json").read_text(encoding="utf-8"))
    marker["output"] = "kept"
    (tmp_path / "typed_in.json").write_text(json.dumps(marker), encoding="utf-8")
    shutil.copy(out / LEDGER, tmp_path / LEDGER)
    results = grade_batch([p for p in paths if p.stem == "typed_in"], A, tmp_path, GradeOptions(), resume=True)
    assert results[0]["output"] == "kept"


@pytest.mark.slow  # three gradings (the ledger itself: tests/test_ledger.py)
def test_resume_grades_a_resubmitted_file_again(batch, tmp_path):
    """The ledger vouches for a result only for the very file it was graded from: a student
    who resubmits under the same name is graded again, an unchanged file is not."""
    _, _, paths = batch
    typed = next(p for p in paths if p.stem == "typed_in")
    folder = tmp_path / "subs"
    folder.mkdir()
    mine = folder / "typed_in.ipynb"
    shutil.copy(typed, mine)
    first = grade_batch([mine], A, tmp_path / "out", GradeOptions())[0]
    assert first["score"] == 20
    mutant = next(v for v in load_variants(A) if v.breaks == "step")
    mine.write_text(json.dumps(typed_in_release(A, mutant)), encoding="utf-8")
    again = grade_batch([mine], A, tmp_path / "out", GradeOptions(), resume=True)[0]
    assert again["extra_data"]["exercises"]["step"]["score"] == 0
    marker = json.loads((tmp_path / "out" / "typed_in.json").read_text(encoding="utf-8"))
    marker["output"] = "kept"
    (tmp_path / "out" / "typed_in.json").write_text(json.dumps(marker), encoding="utf-8")
    assert grade_batch([mine], A, tmp_path / "out", GradeOptions(), resume=True)[0]["output"] == "kept"
    lines = (tmp_path / "out" / LEDGER).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[-1])["sha256"] == file_digest(mine)


def test_submission_names_tell_duplicates_apart(tmp_path):
    a, b = tmp_path / "alice" / "lista.ipynb", tmp_path / "bob" / "lista.ipynb"
    assert submission_names([a, b]) == {a: "alice-lista", b: "bob-lista"}
    assert submission_names([a])[a] == "lista"


@pytest.mark.slow  # the batch graded again through the CLI
def test_cli_grades_a_folder_in_english(batch, tmp_path, root):
    _, _, paths = batch
    out = tmp_path / "cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(paths[0].parent),
            "--assignment",
            A,
            "--out",
            str(out),
            "--lang",
            "en",
            "--quiet",
            "--jobs",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "gradebook.csv").exists() and len(list(out.glob("*.json"))) == len(paths)
    assert "submission" in proc.stdout and "Results in" in proc.stdout
    truncated = json.loads((out / "truncated.json").read_text(encoding="utf-8"))
    assert "not a valid notebook" in truncated["output"]


@pytest.mark.slow  # nbgrader generate_assignment on every assignment
def test_generated_notebooks_in_sync_with_source():
    assert out_of_sync() == [], "run `python -m grader generate`"


def _exercise_names(table_rows: list[str], column: int) -> list[str]:
    """The exercise ids in one column of a Markdown table's rows (`a`, `b` in one cell)."""
    names = []
    for line in table_rows:
        cells = line.split("|")
        if line.startswith("| ") and len(cells) > column + 1:
            names += re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[column])
    return names


def project_extras(root: Path, assignment_id: str) -> list[str]:
    """Exercises the project adds to the catalog: the README's "Exercises beyond the catalog" table."""
    section = (root / "README.md").read_text(encoding="utf-8").split("### Exercises beyond the catalog")[1]
    section = section.split("\n#")[0]
    rows = [line for line in section.splitlines() if line.startswith(f"| {assignment_id} |")]
    return _exercise_names(rows, 2)


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_catalog_and_source_agree(root, assignment_id):
    catalog = root.parent / "shared" / "CATALOG.md"
    if not catalog.exists():
        pytest.skip("../shared/CATALOG.md is not beside this checkout")
    section = catalog.read_text(encoding="utf-8").split(f"## {assignment_id}")[1].split("\n## ")[0]
    names = _exercise_names(section.splitlines(), 1)
    extras = project_extras(root, assignment_id)
    assert not set(extras) & set(names), "an exercise the catalog now has: drop it from the README's table"
    order = load_assignment(assignment_id).order
    # Every authored exercise is in the catalog or the README's table of extras, the catalog's in
    # the catalog's order; the catalog may be ahead of source/ (an exercise an open issue adds).
    assert set(order) <= set(names) | set(extras), sorted(set(order) - set(names) - set(extras))
    assert [name for name in names if name in order] == [name for name in order if name in names]


def test_the_readme_lists_only_authored_extras(root):
    for assignment_id in assignment_ids():
        assert set(project_extras(root, assignment_id)) <= set(load_assignment(assignment_id).order)
    assert project_extras(root, "01_neurons") == ["AT_LEAST_K_THRESHOLD"]


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_every_exercise_has_a_hint_ladder_and_graders(assignment_id):
    import importlib

    from grader.course import module_name
    from grader.grading import grader_files

    package = importlib.import_module(module_name(assignment_id))
    assert list(package.LADDER) == load_assignment(assignment_id).order
    assert all(len(ladder) >= 2 for ladder in package.LADDER.values())
    sources = "".join(Path(f).read_text(encoding="utf-8") for f in grader_files(assignment_id))
    for exercise in load_assignment(assignment_id).order:
        assert f'@pytest.mark.exercise("{exercise}")' in sources, exercise


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_released_notebooks_hide_solutions(root, assignment_id):
    released = (root / "exercises" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
    released_code = "".join(cell_source(c) for c in json.loads(released)["cells"] if c["cell_type"] == "code")
    for exercise in load_assignment(assignment_id).exercises:
        last_line = exercise.reference.strip().split("\n")[-1].strip()  # e.g. the reference's return
        if len(last_line) > 20:
            assert last_line not in released_code, (exercise.id, last_line)


def test_resume_grades_again_what_the_grader_failed(batch, tmp_path):
    """A result written because the grader failed (not the student) is not kept by --resume;
    an unreadable submission's result is the student's and is kept."""
    _, out, paths = batch
    failed = json.loads((out / "typed_in.json").read_text(encoding="utf-8"))
    failed.update(score=0, output="grader crashed")
    failed["extra_data"]["grader_error"] = True
    (tmp_path / "typed_in.json").write_text(json.dumps(failed), encoding="utf-8")
    unreadable = json.loads((out / "truncated.json").read_text(encoding="utf-8"))
    assert unreadable["extra_data"]["grader_error"] is False
    unreadable["output"] = "kept"
    (tmp_path / "truncated.json").write_text(json.dumps(unreadable), encoding="utf-8")
    shutil.copy(out / LEDGER, tmp_path / LEDGER)
    chosen = [p for p in paths if p.stem in ("typed_in", "truncated")]
    results = dict(zip((p.stem for p in chosen), grade_batch(chosen, A, tmp_path, GradeOptions(), resume=True)))
    assert results["typed_in"]["score"] == 20 and not results["typed_in"]["extra_data"]["grader_error"]
    assert results["truncated"]["output"] == "kept"


def test_options_reach_the_launcher_not_the_environment(batch, tmp_path, monkeypatch):
    """Hidden folders and the GPU share travel in GradeOptions to the student session; no
    environment variable carries them, so one batch's settings never stick to the next."""
    import grader.grading as grading

    seen = []
    real = grading.StudentSession

    def spy(*args, **kwargs):
        seen.append(kwargs["settings"])
        return real(*args, **kwargs)

    monkeypatch.setattr(grading, "StudentSession", spy)
    _, _, paths = batch
    typed = [p for p in paths if p.stem == "typed_in"]

    def environment():  # the nested pytest run of the graders manages PYTEST_CURRENT_TEST
        return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    before = environment()
    grade_batch(typed, A, tmp_path / "a", GradeOptions(gpu_share=0.6), jobs=1)
    grade_batch(typed, A, tmp_path / "b", GradeOptions(gpu_share=0.3, hidden=("/srv/other",)), jobs=1)
    assert environment() == before
    first, second = seen
    assert first.gpu_memory_fraction == 0.6 and second.gpu_memory_fraction == 0.3
    assert str((tmp_path / "a").resolve()) in first.hidden and str(typed[0].parent.resolve()) in first.hidden
    assert "/srv/other" in second.hidden and str((tmp_path / "a").resolve()) not in second.hidden


def test_each_course_root_has_its_own_assignments(root, tmp_path):
    """The assignment cache is per course: a course whose source/ gives `step` 3 points is
    not answered from this checkout's cache, nor the other way round."""

    from grader.course import read_notebook

    shutil.copytree(root / "source" / A, tmp_path / "source" / A)
    path = tmp_path / "source" / A / f"{A}.ipynb"
    notebook = read_notebook(path)
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_step":
            cell["metadata"]["nbgrader"]["points"] = 3
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert load_assignment(A).exercise("step").points == 1
    assert load_assignment(A, tmp_path).exercise("step").points == 3
    assert load_assignment(A).exercise("step").points == 1


def test_progress_shows_an_eta_from_this_runs_pace(monkeypatch):
    """Results kept by --resume do not count in the pace: 2 of 10 kept, 1 graded in 4 s,
    7 to go: 28 s."""
    import io

    import grader.cli as cli

    clock = iter([100.0, 100.0, 104.0, 130.0])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    show = cli._progress_printer(stream)
    show(2, 10, None)
    show(3, 10, None)
    show(10, 10, None)
    frames = stream.getvalue().split("\r")[1:]
    assert "ETA" not in frames[0] and "ETA    28s" in frames[1] and "ETA" not in frames[2]
    assert frames[2].endswith("\n") and "10/10" in frames[2]
