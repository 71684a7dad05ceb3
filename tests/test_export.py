"""Gradescope and PrairieLearn: the serializers against schemas written from the platforms'
specifications, and the exported autograder run in a simulated layout (a temporary folder
standing for /autograder or /grade), scored exactly like `python -m grader grade`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.platforms import (
    MANY_NOTEBOOKS,
    NO_NOTEBOOK,
    PL_MAX_BYTES,
    NoSubmission,
    find_submission,
    to_gradescope,
    to_prairielearn,
)
from grader.plugin import TestRecord
from grader.results import build_results

# --------------------------------------------------------------------------- schemas
# Written from Gradescope's autograder specification (results.json) and PrairieLearn's
# external grading docs. Each entry: key -> (types, required, allowed values or None).

NUMBER = (int, float)
GS_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
GS_FORMATS = ("text", "html", "simple_format", "md", "ansi")
GRADESCOPE_TOP = {
    "score": (NUMBER, True, None),
    "execution_time": (NUMBER, False, None),
    "output": (str, False, None),
    "output_format": (str, False, GS_FORMATS),
    "test_output_format": (str, False, GS_FORMATS),
    "test_name_format": (str, False, GS_FORMATS),
    "visibility": (str, False, GS_VISIBILITY),
    "stdout_visibility": (str, False, GS_VISIBILITY),
    "extra_data": (dict, False, None),
    "tests": (list, False, None),
    "leaderboard": (list, False, None),
}
GRADESCOPE_TEST = {
    "score": (NUMBER, True, None),
    "max_score": (NUMBER, True, None),
    "status": (str, True, ("passed", "failed")),
    "name": (str, True, None),
    "name_format": (str, False, GS_FORMATS),
    "number": (str, False, None),
    "output": (str, True, None),
    "output_format": (str, True, GS_FORMATS),
    "tags": (list, False, None),
    "visibility": (str, True, GS_VISIBILITY),
    "extra_data": (dict, True, None),
}
PRAIRIELEARN_TOP = {
    "gradable": (bool, True, None),
    "score": (NUMBER, True, None),
    "message": (str, False, None),
    "output": (str, False, None),
    "format_errors": (list, False, None),
    "images": (list, False, None),
    "tests": (list, False, None),
}
PRAIRIELEARN_TEST = {
    "name": (str, True, None),
    "description": (str, False, None),
    "points": (NUMBER, True, None),  # all-or-nothing in PL: every test has both, or none shows
    "max_points": (NUMBER, True, None),
    "message": (str, False, None),
    "output": (str, False, None),
    "images": (list, False, None),
}


def check(data: dict, schema: dict, where: str) -> None:
    assert isinstance(data, dict), where
    unknown = set(data) - set(schema)
    assert not unknown, f"{where}: keys outside the specification: {unknown}"
    for key, (types, required, allowed) in schema.items():
        if key not in data:
            assert not required, f"{where}: missing {key}"
            continue
        value = data[key]
        assert isinstance(value, types) and not (types == NUMBER and isinstance(value, bool)), (where, key, value)
        if allowed is not None:
            assert value in allowed, (where, key, value)


def validate_gradescope(data: dict) -> None:
    check(data, GRADESCOPE_TOP, "gradescope")
    for i, test in enumerate(data.get("tests", [])):
        check(test, GRADESCOPE_TEST, f"gradescope.tests[{i}]")
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
    json.dumps(data)  # plain JSON


def validate_prairielearn(data: dict) -> None:
    check(data, PRAIRIELEARN_TOP, "prairielearn")
    assert 0.0 <= data["score"] <= 1.0
    for i, test in enumerate(data.get("tests", [])):
        check(test, PRAIRIELEARN_TEST, f"prairielearn.tests[{i}]")
    if not data["gradable"]:
        assert data["score"] == 0
    assert len(json.dumps(data, ensure_ascii=False).encode()) < PL_MAX_BYTES


def test_the_validator_rejects_what_the_specifications_do_not_allow():
    good = {
        "score": 1,
        "tests": [
            {
                "name": "a",
                "score": 1,
                "max_score": 1,
                "status": "passed",
                "output": "",
                "output_format": "md",
                "visibility": "visible",
                "extra_data": {},
            }
        ],
    }
    validate_gradescope(good)
    for broken in (
        {**good, "score": "1"},
        {**good, "max_score": 2},  # not a top-level field of Gradescope's
        {**good, "tests": [{**good["tests"][0], "visibility": "later"}]},
        {**good, "tests": [{**good["tests"][0], "output_format": "markdown"}]},
        {**good, "tests": [{**good["tests"][0], "status": "error"}]},
    ):
        with pytest.raises(AssertionError):
            validate_gradescope(broken)
    with pytest.raises(AssertionError):
        validate_prairielearn({"gradable": True, "score": 1.5})
    with pytest.raises(AssertionError):
        validate_prairielearn({"gradable": True, "score": 1, "tests": [{"name": "a", "points": 1}]})


# --------------------------------------------------------------------------- pure serializers


def record(exercise: str, kind: str, outcome: str, message: str = "", hint: str | None = None) -> TestRecord:
    return TestRecord(
        nodeid=f"{exercise}::{kind}::{outcome}",
        name=f"{kind} check",
        exercise=exercise,
        kind=kind,
        device="cpu" if kind == "hidden" else None,
        outcome=outcome,
        message=message,
        hint=hint,
    )


def ours(case: str, lang: str = "pt") -> dict:
    """Our internal results, as build_results makes them, for a named situation."""
    assignment = load_assignment("01_neurons")
    exercises = [e.id for e in assignment.exercises]
    kwargs: dict = {}
    if case == "all_pass":
        records = [record(e, k, "passed") for e in exercises for k in ("public", "hidden")]
    elif case == "one_wrong":
        records = [record(e, k, "passed") for e in exercises for k in ("public", "hidden")]
        records[1] = record(exercises[0], "hidden", "failed", "use `>=`, **não** `>`", hint="gt_instead_of_ge")
    elif case == "unreadable":
        records, kwargs = [], {"failure_message": "O arquivo não é um notebook válido (JSON inválido)."}
    elif case == "grader_error":
        records, kwargs = [], {"failure_message": "Erro interno do corretor", "grader_error": True}
    elif case == "huge":
        records = [record(e, k, "failed", "x" * 300_000) for e in exercises for k in ("public", "hidden")]
    else:
        raise AssertionError(case)
    return build_results(
        assignment, records, submission="s", lang=lang, notes=[], isolation="test", elapsed=1.5, **kwargs
    )


CASES = ["all_pass", "one_wrong", "unreadable", "grader_error", "huge"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("visibility", ["after_published", "hidden", "visible"])
def test_gradescope_keeps_our_scores_and_follows_the_specification(case, visibility):
    result = ours(case)
    out = to_gradescope(result, visibility=visibility)
    validate_gradescope(out)
    assert out["score"] == result["score"]
    assert sum(t["score"] for t in out["tests"]) == pytest.approx(result["score"])
    assert out["extra_data"]["max_score"] == result["max_score"]
    assert [(t["name"], t["score"], t["status"]) for t in out["tests"]] == [
        (t["name"], t["score"], t["status"]) for t in result["tests"]
    ]
    for theirs, mine in zip(out["tests"], result["tests"]):
        expected = "visible" if mine["extra_data"]["kind"] == "public" else visibility
        assert theirs["visibility"] == expected and theirs["output_format"] == "md"


def test_gradescope_refuses_an_unknown_visibility():
    with pytest.raises(ValueError):
        to_gradescope(ours("all_pass"), visibility="after_grading")


@pytest.mark.parametrize("case", CASES)
def test_prairielearn_score_is_ours_over_the_maximum(case):
    result = ours(case)
    out = to_prairielearn(result)
    validate_prairielearn(out)
    graded = case not in ("unreadable", "grader_error")
    assert out["gradable"] is graded
    if graded:
        assert out["score"] == pytest.approx(result["score"] / result["max_score"], abs=1e-6)
        assert [(t["points"], t["max_points"]) for t in out["tests"]] == [
            (t["score"], t["max_score"]) for t in result["tests"]
        ]
    # a file that is not a notebook is the student's to fix: format_errors; a grader failure is not
    assert ("format_errors" in out) is (case == "unreadable")


def test_prairielearn_cuts_feedback_over_one_megabyte_and_says_so():
    result = ours("huge", lang="en")
    assert len(json.dumps(result).encode()) > PL_MAX_BYTES  # the case is really too big
    out = to_prairielearn(result)
    validate_prairielearn(out)
    assert "1 MB" in out["message"] and all(t["message"].endswith("[… cut]") for t in out["tests"])
    small = to_prairielearn(ours("one_wrong"))
    assert "1 MB" not in small["message"] and "**não**" in small["tests"][1]["message"]


def test_prairielearn_clips_the_score_to_one():
    result = ours("all_pass")
    assert to_prairielearn({**result, "score": result["max_score"] + 3})["score"] == 1.0


# --------------------------------------------------------------------------- finding the student's file


def make_files(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}", encoding="utf-8")


@pytest.mark.parametrize(
    "names, expected",
    [
        (["Meu Trabalho (1).ipynb"], "Meu Trabalho (1).ipynb"),
        (
            ["entrega/lista.ipynb", ".ipynb_checkpoints/lista-checkpoint.ipynb", "__MACOSX/x.ipynb"],
            "entrega/lista.ipynb",
        ),
        (["lista.py", "notas.txt"], "lista.py"),
        (["lista.ipynb", "helper.py"], "lista.ipynb"),
        ([], NO_NOTEBOOK),
        (["lista.txt"], NO_NOTEBOOK),
        (["a.ipynb", "b.ipynb"], MANY_NOTEBOOKS),
    ],
)
def test_find_submission(tmp_path, names, expected):
    make_files(tmp_path, names)
    if isinstance(expected, str):
        assert find_submission(tmp_path) == tmp_path / expected
    else:
        with pytest.raises(NoSubmission) as caught:
            find_submission(tmp_path)
        assert caught.value.text is expected
        message = caught.value.render("en")
        assert all(n in message for n in names if n.endswith(".ipynb")) and message


# --------------------------------------------------------------------------- end to end


ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
ATTACK = """
class _Sempre:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __bool__(self):
        return True
    __hash__ = object.__hash__

def mcp_neuron(inputs, threshold):
    return _Sempre()

import importlib.util, pathlib
_pasta = pathlib.Path(list(importlib.util.find_spec("grader").submodule_search_locations)[0])
for _alvo in (_pasta / "assignments" / "a01_neurons" / "test_hidden.py",):
    try:
        _texto = _alvo.read_text()
    except OSError:
        _texto = None
    if _texto:
        raise RuntimeError("VAZOU:" + _texto[:300])
"""


def python() -> str:
    import sys

    return str(PYTHON if PYTHON.exists() else Path(sys.executable))


def world_readable_dir(prefix: str) -> Path:
    """Student processes may run as another user: the simulated root must be traversable."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> dict[str, Path]:
    from grader.variants import load_variants, typed_in_release

    folder = tmp_path_factory.mktemp("entregas")
    mutant = next(v for v in load_variants("01_neurons") if v.name == "mutant_mcp_gt")
    notebooks = {
        "reference": typed_in_release("01_neurons"),
        "mutant": typed_in_release("01_neurons", mutant),
        "untouched": json.loads((ROOT / "exercises" / "01_neurons" / "01_neurons.ipynb").read_text(encoding="utf-8")),
        "attack": typed_in_release("01_neurons", type(mutant)("attack", {"mcp_neuron": ATTACK})),
    }
    paths = {}
    for name, notebook in notebooks.items():
        paths[name] = folder / f"{name}.ipynb"
        paths[name].write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    paths["corrupted"] = folder / "corrupted.ipynb"
    paths["corrupted"].write_bytes(b'{"cells": [ {"cell_type": "code", "sour\x00\xff')
    return paths


@pytest.fixture(scope="module")
def expected(submissions, tmp_path_factory) -> dict[str, dict]:
    """What `python -m grader grade` gives on the same files."""
    from grader.grading import GradeOptions, grade_batch

    paths = list(submissions.values())
    results = grade_batch(paths, "01_neurons", tmp_path_factory.mktemp("grade"), GradeOptions(), jobs=2)
    return {name: result for name, result in zip(submissions, results)}


def install(payload: Path, venv: Path) -> None:
    """setup.sh's install step against local files only: nothing is downloaded."""
    env = {
        **os.environ,
        "GRADER_WHEELHOUSE": str(payload / "wheels"),
        "GRADER_VENV": str(venv),
        "GRADER_PYTHON": python(),
    }
    done = subprocess.run(["bash", str(payload / "setup.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import grader; print(grader.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert str(venv) in installed.stdout, installed  # the wheel's package, not the checkout's


def same_scores(result: dict, reference: dict) -> None:
    assert result["score"] == reference["score"]
    assert result["extra_data"]["exercises"] == reference["extra_data"]["exercises"]


@pytest.mark.slow
def test_gradescope_autograder_in_a_simulated_layout(submissions, expected):
    from grader.export import export

    root = world_readable_dir("autograder-")
    try:
        archive = export("01_neurons", "gradescope", root / "dist")
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            assert {"setup.sh", "run_autograder"} <= set(names)  # at the zip's root
            assert not any(n.startswith("solutions") for n in names)
            assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111  # executable
            zf.extractall(root / "source")
        for script in ("setup.sh", "run_autograder"):
            (root / "source" / script).chmod(0o755)  # Python's extractall drops the modes
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
        install(root / "source", root / "venv")
        env = {**os.environ, "GRADER_AUTOGRADER_ROOT": str(root), "GRADER_VENV": str(root / "venv")}
        env.pop("GRADER_COURSE_ROOT", None)  # the course comes from the zip
        for name, path in submissions.items():
            for folder in ("submission", "results"):
                shutil.rmtree(root / folder, ignore_errors=True)
            (root / "submission").mkdir()
            shutil.copy(path, root / "submission" / f"{name} (envio).ipynb")  # any file name
            done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout + done.stderr
            written = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
            validate_gradescope(written)
            mine = expected[name]
            assert written["score"] == mine["score"], (name, written["output"])
            assert written["extra_data"]["exercises"] == mine["extra_data"]["exercises"], name
            assert [t["name"] for t in written["tests"]] == [t["name"] for t in mine["tests"]]
            assert "VAZOU" not in json.dumps(written), "a hidden grader reached the student"
            isolation = written["extra_data"]["isolation"]
            assert isolation.startswith("bwrap") or "container boundary" in isolation, isolation
        assert expected["reference"]["score"] == expected["reference"]["max_score"]
        assert 0 < expected["mutant"]["score"] < expected["reference"]["score"]
        assert expected["untouched"]["score"] == expected["corrupted"]["score"] == 0
        assert expected["attack"]["extra_data"]["exercises"]["mcp_neuron"]["score"] == 0
        assert not expected["corrupted"]["extra_data"]["graded"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_prairielearn_grader_in_a_simulated_layout(submissions, expected):
    from grader.export import export

    root = world_readable_dir("grade-")
    try:
        folder = export("01_neurons", "prairielearn", root / "dist")
        assert {"Dockerfile", "run_prairielearn", "setup.sh", "info.json.snippet"} <= {p.name for p in folder.iterdir()}
        options = json.loads((folder / "info.json.snippet").read_text())["externalGradingOptions"]
        assert options["entrypoint"] == "/grader/run_prairielearn" and 0 < options["timeout"] <= 600
        assert not options["enableNetworking"]
        install(folder, root / "venv")
        grade = root / "grade"
        env = {**os.environ, "GRADER_PL_ROOT": str(grade), "GRADER_VENV": str(root / "venv")}
        env.pop("GRADER_COURSE_ROOT", None)
        # Without bubblewrap on PATH (as in most containers): the auto fallback, which says so.
        env["PATH"] = str(root / "venv" / "bin")
        for name, lang in (("mutant", "en"), ("corrupted", "pt")):
            shutil.rmtree(grade, ignore_errors=True)
            (grade / "student").mkdir(parents=True)
            (grade / "data").mkdir()
            (grade / "data" / "data.json").write_text(json.dumps({"params": {"lang": lang}}), encoding="utf-8")
            shutil.copy(submissions[name], grade / "student" / "notebook.ipynb")
            done = subprocess.run(
                [shutil.which("bash"), str(folder / "run_prairielearn")],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            written = json.loads((grade / "results" / "results.json").read_text(encoding="utf-8"))
            validate_prairielearn(written)
            mine = expected[name]
            if name == "mutant":
                assert written["gradable"] is True
                assert written["score"] == pytest.approx(mine["score"] / mine["max_score"], abs=1e-6)
                # each test's points are ours (shares rounded to 4 places, so sum them, not the total)
                assert [t["points"] for t in written["tests"]] == [t["score"] for t in mine["tests"]]
                assert written["message"].startswith("Score:")  # data.json's params.lang
                assert "container boundary" in written["output"], written["output"]
            else:
                assert written["gradable"] is False and written["format_errors"]
                assert "notebook" in written["format_errors"][0]
    finally:
        shutil.rmtree(root, ignore_errors=True)
