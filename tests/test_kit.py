"""Students' self-checks: `verificar`, `dica`, `verificar_tudo` and `grader check`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import assignment_ids, cell_source, load_assignment
from grader.kit import dica, verificar, verificar_tudo
from grader.kit.local import run_public_checks

A = "01_neurons"


def solved_namespace(root, assignment_id):
    """A notebook namespace where every solution cell ran, as in a student's kernel."""
    notebook = json.loads((root / "solutions" / assignment_id / f"{assignment_id}.ipynb").read_text(encoding="utf-8"))
    namespace = {"__name__": "__main__"}
    for cell in notebook["cells"]:
        if (
            cell["cell_type"] == "code"
            and not cell_source(cell).startswith("verificar")
            and "demo" not in cell.get("id", "")
        ):
            exec(cell_source(cell), namespace)
    return namespace


@pytest.fixture()
def solved(root):
    return solved_namespace(root, A)


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_public_checks_pass_on_the_reference(root, assignment_id):
    result = run_public_checks(assignment_id, solved_namespace(root, assignment_id))
    failed = [t for t in result["tests"] if t["status"] != "passed"]
    assert not failed, failed
    assert {t["extra_data"]["exercise"] for t in result["tests"]} == set(load_assignment(assignment_id).order)


def test_public_check_names_the_mistake(solved):
    exec("def step(z):\n    return (z > 0).float()", solved)
    result = run_public_checks(A, solved, only="step")
    assert result["tests"][0]["extra_data"]["hint"] == "step_at_zero"


def test_verificar_reports_pass_fail_and_not_attempted(solved, capsys):
    verificar("relu", _namespace=solved)
    assert "✅ relu" in capsys.readouterr().out
    exec("def relu(z):\n    raise NotImplementedError()", solved)
    verificar("relu", _namespace=solved)
    assert "⏳ relu" in capsys.readouterr().out
    exec("def relu(z):\n    return z", solved)
    verificar("relu", _namespace=solved)
    out = capsys.readouterr().out
    assert "❌ relu" in out and 'dica("relu")' in out


def test_verificar_tudo_and_dica(solved, capsys):
    verificar_tudo(A, _namespace=solved)
    out = capsys.readouterr().out
    assert out.count("✅") == len(load_assignment(A).order)
    dica("softmax")
    first = capsys.readouterr().out
    dica("softmax")
    second = capsys.readouterr().out
    assert "1/2" in first and "2/2" in second and "máximo" in second


def test_self_checks_are_silent_while_grading(monkeypatch, solved, capsys):
    monkeypatch.setenv("GRADER_CHILD", "1")
    verificar("relu", _namespace=solved)
    assert capsys.readouterr().out == ""


def test_public_checks_show_no_hidden_inputs():
    from grader.assignments.a01_neurons import test_hidden, test_public

    public = Path(test_public.__file__).read_text(encoding="utf-8")
    assert "test_hidden" not in public and "gen(" not in public
    assert test_hidden.__file__ != test_public.__file__


@pytest.mark.slow  # the CLI in a fresh interpreter (the fast tier calls the same code in-process)
def test_grader_check_command(root, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(root / "exercises" / A / f"{A}.ipynb")],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert proc.returncode == 1  # nothing attempted yet
    assert "⏳ mcp_neuron" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(root / "solutions" / A / f"{A}.ipynb")],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_blinding_changes_only_the_test_labels_and_is_undone():
    """While a grader trains a student's model, the fixed test split's labels are wrong
    however the digits are loaded; the split, the images and the training labels are not."""
    import torch
    from sklearn.datasets import load_digits

    from grader.kit.data import blind_test_labels, digits_split, wrong_test_labels
    from grader.kit.pretrained import target_task

    real, real_task = digits_split(), target_task()
    restore = blind_test_labels(5)
    try:
        blind, blind_task = digits_split(), target_task()
        _, y_loaded = load_digits(return_X_y=True)
    finally:
        restore()
    assert all(torch.equal(a, b) for a, b in zip(real[:3], blind[:3]))
    assert torch.equal(blind[3], wrong_test_labels(5)) and bool((blind[3] != real[3]).all())
    assert all(torch.equal(a, b) for a, b in zip(real_task[:3], blind_task[:3]))  # the same 5-9 images
    assert bool((blind_task[3] != real_task[3]).all()) and int(blind_task[3].max()) <= 4
    assert (
        int(
            (
                torch.tensor(y_loaded, dtype=torch.int64)
                != torch.tensor(load_digits(return_X_y=True)[1], dtype=torch.int64)
            ).sum()
        )
        == 450
    )
    assert all(torch.equal(a, b) for a, b in zip(real, digits_split()))


def test_small_digits_are_the_first_ten_training_images_of_each_digit():
    """06_regularization's set: 100 images, 10 per digit, all from the training part (in its
    order), the same under blinding (only test labels change)."""
    import torch

    from grader.kit.data import blind_test_labels, digits_split, small_digits

    X, y = small_digits()
    X_train, y_train, X_test, _ = digits_split()
    assert tuple(X.shape) == (100, 1, 8, 8) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [10] * 10
    rows = [int(torch.nonzero((X_train == image).flatten(1).all(1)).flatten()[0]) for image in X]
    assert rows == sorted(rows) and torch.equal(y_train[rows], y)
    for digit in range(10):  # the first ten of each digit, none skipped
        assert [r for r in rows if y_train[r] == digit] == torch.nonzero(y_train == digit).flatten()[:10].tolist()
    assert not any((X_test == image).flatten(1).all(1).any() for image in X)
    restore = blind_test_labels(7)
    try:
        again = small_digits()
    finally:
        restore()
    assert torch.equal(again[0], X) and torch.equal(again[1], y)
