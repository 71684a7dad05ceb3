"""Where students work: the kit's first notebook cell, the feedback `verificar()` shows in a
notebook (HTML) and elsewhere (text), `pytest` on a notebook (grader.kit.pytest_notebook),
and the kit as a wheel installed into a fresh virtual environment that already has torch.
The browser test (JupyterLab in headless Chromium) is tests/test_jupyterlab.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.assignments.a01_neurons import LADDER, MISTAKES
from grader.course import assignment_ids, load_assignment, nbgrader_meta, read_notebook, source_notebook
from grader.grading import GradeOptions, grade_submission
from grader.kit import verificar
from grader.kit.report import exercise_html, exercise_lines, results_html
from grader.kit_wheel import INSTALL_CELL, build_kit_wheel, kit_version
from grader.variants import load_variants, typed_in_release

A = "01_neurons"
EXERCISES = list(LADDER)


def write_notebook(path: Path, notebook: dict) -> Path:
    path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    return path


def variant(name: str):
    return next(v for v in load_variants(A) if v.name == name)


def junit_outcomes(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(notebook stem, exercise) -> (status, hint keys), from the plugin's junit properties."""
    found = {}
    for case in ET.parse(path).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        stem = case.get("classname").removesuffix(".ipynb").rsplit(".", 1)[-1]  # "cadernos.reference.ipynb"
        found[(stem, case.get("name"))] = (props["status"], props["hints"])
    return found


# --------------------------------------------------------------------------- the first cell


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_every_course_notebook_starts_with_the_install_cell(assignment_id):
    notebook = read_notebook(source_notebook(assignment_id))
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert nbgrader_meta(first) == {
        "grade": False,
        "grade_id": "kit",
        "locked": True,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    assert first.source == INSTALL_CELL, "paste grader.kit_wheel.INSTALL_CELL into the cell, then `grader generate`"


def test_install_cell_says_in_portuguese_why_it_cannot_install(tmp_path):
    # -S: no site-packages, so no kit to find, and no wheel in the folder.
    done = subprocess.run(
        [sys.executable, "-S", "-c", INSTALL_CELL], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "RuntimeError: O kit do curso não está instalado e não achei o arquivo curso_pytorch_kit-" in done.stderr
    assert "%pip install" in done.stderr


# --------------------------------------------------------------------------- the feedback


def fake_tests(exercise: str, outcomes: list[str], *, output: str = "", hint=None, devices=("cpu",)) -> list[dict]:
    return [
        {
            "output": output if outcome != "passed" else "",
            "extra_data": {
                "exercise": exercise,
                "outcome": outcome,
                "devices": dict.fromkeys(devices, outcome),
                **({"hint": hint} if hint else {}),
            },
        }
        for outcome in outcomes
    ]


def test_html_feedback_per_status():
    passed = exercise_html("relu", fake_tests("relu", ["passed", "passed"]), "pt", (1, 2, "uma dica"))
    assert "✅" in passed and "<code>relu</code>" in passed and "(2)" in passed and "<details" not in passed
    waiting = exercise_html("relu", fake_tests("relu", ["not_attempted"]), "pt", (1, 2, "Use `torch.clamp`."))
    assert "⏳" in waiting and "ainda não tentado" in waiting and "<details" in waiting
    failed = exercise_html(
        "relu",
        fake_tests("relu", ["passed", "failed"], output="relu(z) devolveu <tensor> com **NaN**: use `z >= 0`"),
        "pt",
        (2, 2, "A **última** dica: `torch.clamp(z, min=0)`."),
    )
    assert "❌" in failed and "&lt;tensor&gt;" in failed and "<tensor>" not in failed  # escaped
    assert "<strong>NaN</strong>" in failed and "<code>z &gt;= 0</code>" in failed
    summary, hint = failed.split("<summary", 1)[1].split("</summary>", 1)
    assert "Dica 2/2" in summary and "<strong>última</strong>" in hint and "<code>torch.clamp(z, min=0)</code>" in hint
    # Readable in light and dark themes: the text color is the front end's, the band translucent.
    for block in (passed, waiting, failed):
        assert "color: inherit" in block and "rgba(" in block and "#fff" not in block and "black" not in block


def test_feedback_says_when_it_also_ran_on_the_gpu():
    both = fake_tests("relu", ["passed"], devices=("cpu", "cuda"))
    assert "GPU (cuda)" in exercise_lines("relu", both, "pt")[0]
    assert "GPU (cuda)" in exercise_html("relu", both, "pt")
    assert "GPU" not in exercise_lines("relu", fake_tests("relu", ["passed"]), "pt")[0]
    failed = fake_tests("relu", ["failed"], output="errado", devices=("cpu", "cuda"))
    assert any("GPU (cuda)" in line for line in exercise_lines("relu", failed, "pt"))
    assert "GPU" in exercise_lines("relu", both, "en")[0] and "Checked on" in exercise_lines("relu", both, "en")[0]


def test_verificar_shows_html_in_a_notebook_and_text_elsewhere(monkeypatch, root, capsys):
    import IPython
    import IPython.display
    from test_kit import solved_namespace

    namespace = solved_namespace(root, A)
    exec("def relu(z):\n    return z", namespace)
    verificar("relu", _namespace=namespace)  # no IPython: text
    assert "❌ relu" in capsys.readouterr().out
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    verificar("relu", _namespace=namespace)
    ((bundle, raw),) = shown
    assert raw and bundle["text/plain"].startswith("❌ relu")
    assert "❌" in bundle["text/html"] and "<details" in bundle["text/html"]
    assert LADDER["relu"][0].pt.split("(")[0].strip() in bundle["text/html"]  # the next hint: the first
    assert capsys.readouterr().out == ""


def test_results_html_lists_every_exercise_and_the_reminder():
    result = {"tests": fake_tests("step", ["passed"]) + fake_tests("relu", ["failed"], output="x"), "output": ""}
    page = results_html(result, "pt", {"relu": (1, 2, "dica")})
    assert page.count("curso-feedback") == 2 and "verificações ocultas" in page


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="CUDA is not available on this machine")
def test_self_checks_also_run_on_the_gpu_and_say_so(root, capsys):
    from test_kit import solved_namespace

    verificar("relu", _namespace=solved_namespace(root, A))
    assert "✅ relu" in (out := capsys.readouterr().out) and "GPU (cuda)" in out


# --------------------------------------------------------------------------- pytest on a notebook


def run_pytest_on(args: list[str], cwd: Path, python: str = sys.executable, env: dict | None = None):
    command = [python, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def dev_env() -> dict:
    # This checkout is not installed with the kit's entry point: name the plugin, load nothing else.
    return {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def test_a_notebook_without_its_assignment_is_told_how_to_say_it(tmp_path):
    notebook = typed_in_release(A)
    notebook["metadata"].pop("grader")
    write_notebook(tmp_path / "meu_caderno.ipynb", notebook)
    done = run_pytest_on(["-p", "grader.kit.pytest_notebook", "meu_caderno.ipynb"], tmp_path, env=dev_env())
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout
    assert "não diz de qual tarefa é" in done.stdout and "--nb-assignment 01_neurons" in done.stdout


@pytest.mark.slow  # two pytest runs on notebooks, each with its own student processes
def test_pytest_on_notebooks(tmp_path):
    write_notebook(tmp_path / "referencia.ipynb", typed_in_release(A))
    write_notebook(tmp_path / "mutante.ipynb", typed_in_release(A, variant("mutant_mcp_gt")))
    hang = typed_in_release(A)
    cell = next(c for c in hang["cells"] if nbgrader_meta(c).get("grade_id") == "mcp_neuron")
    cell["source"] = "def mcp_neuron(inputs, threshold):\n    return 1\n\nwhile True:\n    pass\n"
    write_notebook(tmp_path / "trava.ipynb", hang)
    scratch = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write_notebook(tmp_path / "rascunho.ipynb", scratch)  # not a course notebook: not collected
    junit = tmp_path / "out.xml"
    args = ["-p", "grader.kit.pytest_notebook", ".", "--nb-cell-timeout", "3", f"--junitxml={junit}"]
    done = run_pytest_on(args, tmp_path, env=dev_env())
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    outcomes = junit_outcomes(junit)
    assert {stem for stem, _ in outcomes} == {"referencia", "mutante", "trava"}
    assert all(outcomes["referencia", e][0] == "passed" for e in EXERCISES)
    assert {e: s for (stem, e), s in outcomes.items() if stem == "mutante" and s[0] != "passed"} == {
        "mcp_neuron": ("failed", "gt_instead_of_ge")
    }
    # The hanging cell is killed at its limit; the cells after it still ran.
    assert {e for (stem, e), s in outcomes.items() if stem == "trava" and s[0] != "passed"} == {"mcp_neuron"}
    assert f"{len(EXERCISES) * 3 - 2} passed" in done.stdout and "2 failed" in done.stdout
    failures = done.stdout.split("= FAILURES =", 1)[1]
    assert "❌ mcp_neuron:" in failures and MISTAKES["gt_instead_of_ge"].pt in failures  # the Portuguese feedback
    assert "tempo limite" in failures

    one = run_pytest_on(
        ["-p", "grader.kit.pytest_notebook", "referencia.ipynb", "-k", "mcp_neuron"], tmp_path, env=dev_env()
    )
    assert one.returncode == 0 and f"1 passed, {len(EXERCISES) - 1} deselected" in one.stdout, one.stdout[-2000:]


# --------------------------------------------------------------------------- the wheel, in a fresh venv

AGREEING_MUTANTS = ["mutant_mcp_gt", "mutant_and_threshold_is_or", "mutant_sigmoid_sign", "mutant_relu_inplace"]


def fresh_venv_with_torch(folder: Path) -> Path:
    """A new virtual environment that sees this one's packages (torch among them) through a .pth,
    as Colab's Python has its own torch, but none of this checkout's `grader`."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True, timeout=120)
    python = folder / "venv" / "bin" / "python"
    shared = folder / "shared"
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if name.endswith(".pth") or name.startswith(("grader", "__editable__", "_grader", "curso_pytorch_kit")):
            continue
        (shared / entry.name).symlink_to(entry)
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "parent_packages.pth").write_text(str(shared) + "\n", encoding="utf-8")
    return python


@pytest.mark.slow  # a venv, a pip install and a pytest run in it
def test_wheel_in_a_fresh_venv_agrees_with_the_graders_public_checks(tmp_path):
    wheel = build_kit_wheel(A, tmp_path / "dist")
    assert wheel.name == f"curso_pytorch_kit-{kit_version(A)}-py3-none-any.whl"
    python = fresh_venv_with_torch(tmp_path)
    work = tmp_path / "colab"
    work.mkdir()
    (work / wheel.name).write_bytes(wheel.read_bytes())  # the student uploaded it next to the notebook
    # No network, no configured index or wheel folder: pip can only use the wheel and what is installed.
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    env["PIP_NO_INDEX"] = "1"
    installed = subprocess.run([python, "-c", INSTALL_CELL], cwd=work, capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util as u, sys, grader, torch; print(grader.__file__); print(torch.__file__); "
            "print(u.find_spec('grader.assignments.a01_neurons.test_hidden'), u.find_spec('grader.grading'))",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
    )
    kit_file, torch_file, hidden = where.stdout.split("\n")[:3]
    assert Path(kit_file).is_relative_to(tmp_path / "venv"), kit_file  # the wheel's kit, not this checkout
    assert Path(torch_file).parent.parent == tmp_path / "shared", torch_file  # torch was not installed again
    assert hidden == "None None"  # no hidden test, no grading side
    assert not list((tmp_path / "venv").rglob("torch/__init__.py"))

    notebooks = work / "cadernos"
    notebooks.mkdir()
    write_notebook(notebooks / "reference.ipynb", typed_in_release(A))
    for name in AGREEING_MUTANTS:
        write_notebook(notebooks / f"{name}.ipynb", typed_in_release(A, variant(name)))
    junit = tmp_path / "out.xml"
    done = run_pytest_on(["cadernos", f"--junitxml={junit}"], work, python=str(python), env=env)  # the entry point
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:] + done.stderr[-2000:]
    kit = junit_outcomes(junit)

    assignment = load_assignment(A)
    for path in sorted(notebooks.glob("*.ipynb")):
        result = grade_submission(path, assignment, GradeOptions(public_only=True))
        for exercise, info in result["extra_data"]["exercises"].items():
            hints = {t["extra_data"].get("hint") for t in result["tests"] if t["extra_data"]["exercise"] == exercise}
            expected = (info["status"], ",".join(sorted(h for h in hints if h)))
            assert kit[path.stem, exercise] == expected, (path.stem, exercise)
    broken = {stem: e for (stem, e), (status, _) in kit.items() if status != "passed"}
    assert broken == {name: variant(name).breaks for name in AGREEING_MUTANTS}
