"""`grader similarity`: renamed and reordered copies score high, independent solutions low,
the release scores nothing, and only pairs that share fingerprints are compared."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import similarity
from grader.course import nbgrader_meta
from grader.similarity import candidate_pairs, code_of, fingerprint, self_similarity, similarity_pairs

A = "01_neurons"

# A student's own code for two exercises (a helper function included) ...
ALICE = {
    "softmax": (
        "def shifted_exp(values, axis):\n"
        "    biggest = values.max(dim=axis, keepdim=True).values\n"
        "    return torch.exp(values - biggest)\n\n\n"
        "def softmax(z, dim=-1):\n"
        "    numerator = shifted_exp(z, dim)\n"
        "    denominator = numerator.sum(dim=dim, keepdim=True)\n"
        "    return numerator / denominator\n"
    ),
    "train_perceptron": (
        "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
        "    weights = torch.zeros(X.shape[1], dtype=X.dtype)\n"
        "    bias = torch.zeros((), dtype=X.dtype)\n"
        "    for epoch in range(max_epochs):\n"
        "        mistakes = 0\n"
        "        for sample, target in zip(X, y):\n"
        "            prediction = step(weights @ sample + bias)\n"
        "            if prediction != target:\n"
        "                mistakes += 1\n"
        "                weights, bias = perceptron_update(weights, bias, sample, target, lr)\n"
        "        if mistakes == 0:\n"
        "            break\n"
        "    return weights, bias\n"
    ),
}
# ... copied with every name changed, the functions in the other order, comments added ...
BOB = {
    "softmax": (
        "def softmax(t, dim=-1):\n"
        "    top = stable(t, dim)  # numerically stable\n"
        "    total = top.sum(dim=dim, keepdim=True)\n"
        "    return top / total\n\n\n"
        "def stable(x, d):\n"
        "    m = x.max(dim=d, keepdim=True).values\n"
        "    return torch.exp(x - m)\n"
    ),
    "train_perceptron": (
        "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
        "    w = torch.zeros(X.shape[1], dtype=X.dtype)\n"
        "    b = torch.zeros((), dtype=X.dtype)\n"
        "    for ep in range(max_epochs):\n"
        "        errors = 0\n"
        "        for xi, yi in zip(X, y):\n"
        "            out = step(w @ xi + b)\n"
        "            if out != yi:\n"
        "                errors += 1\n"
        "                w, b = perceptron_update(w, b, xi, yi, lr)\n"
        "        if errors == 0:\n"
        "            break\n"
        "    return w, b\n"
    ),
}
# ... and correct solutions written independently.
CAROL = {
    "softmax": "def softmax(z, dim=-1):\n    return torch.exp(torch.log_softmax(z, dim=dim))\n",
    "train_perceptron": (
        "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
        "    n_features = len(X[0])\n"
        "    w, b = torch.zeros(n_features, dtype=X.dtype), torch.tensor(0.0, dtype=X.dtype)\n"
        "    epoch = 0\n"
        "    converged = False\n"
        "    while not converged and epoch < max_epochs:\n"
        "        converged = True\n"
        "        i = 0\n"
        "        while i < len(X):\n"
        "            guess = float(torch.dot(w, X[i]) + b >= 0)\n"
        "            if guess != float(y[i]):\n"
        "                w = w + lr * (float(y[i]) - guess) * X[i]\n"
        "                b = b + lr * (float(y[i]) - guess)\n"
        "                converged = False\n"
        "            i += 1\n"
        "        epoch += 1\n"
        "    return w, b\n"
    ),
}


def release_path(root: Path) -> Path:
    return root / "exercises" / A / f"{A}.ipynb"


def filled_release(root: Path, answers: dict[str, str]) -> dict:
    """The released notebook with only these solution cells written (the rest left as released)."""
    notebook = json.loads(release_path(root).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell["source"] = answers[grade_id]
    return notebook


@pytest.fixture(scope="module")
def submissions(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("similarity")
    for name, answers in (("alice", ALICE), ("bob", BOB), ("carol", CAROL)):
        (folder / f"{name}.ipynb").write_text(json.dumps(filled_release(root, answers)), encoding="utf-8")
    (folder / "release.ipynb").write_bytes(release_path(root).read_bytes())
    (folder / "broken.ipynb").write_text("{", encoding="utf-8")
    return folder


def scores(folder: Path, root: Path) -> dict[frozenset, float]:
    codes = {p.stem: code_of(p) for p in sorted(folder.glob("*.ipynb")) if p.stem != "broken"}
    pairs = similarity_pairs(codes, code_of(release_path(root)), common=10)
    return {frozenset((p.a, p.b)): p.similarity for p in pairs}


def test_renamed_and_reordered_copy_scores_high_independent_low(submissions, root):
    found = scores(submissions, root)
    copied = found[frozenset(("alice", "bob"))]
    assert copied > 0.75
    for other in (("alice", "carol"), ("bob", "carol")):
        assert found.get(frozenset(other), 0.0) < 0.35
        assert found.get(frozenset(other), 0.0) < copied / 2.5


def test_release_scores_nothing(submissions, root):
    release = code_of(release_path(root))
    assert self_similarity(release, release) == 0.0
    assert not fingerprint(release, similarity.boilerplate_hashes(release)).hashes
    found = scores(submissions, root)
    assert not any("release" in pair for pair in found)  # it shares nothing beyond the boilerplate
    assert self_similarity(code_of(submissions / "alice.ipynb"), release) == pytest.approx(1.0)


def test_only_pairs_sharing_fingerprints_are_compared(monkeypatch):
    """60 submissions in 20 groups of 3 copies: the inverted index yields the 60 pairs within
    groups, not the 1,770 of every pair; a fingerprint everyone has is left out."""
    groups = 20
    # everyone's: the one obvious way, which the index leaves out
    COMMON = "    value = torch.as_tensor(value, dtype=torch.float32).reshape(-1).clone()\n"
    codes = {}
    for g in range(groups):
        body = "\n".join(f"    total = total * {g * 31 + k} + value_{k} ** {k + 2}" for k in range(12))
        for copy in range(3):
            codes[f"s{g}_{copy}"] = f"def f{copy}(value):\n{COMMON}    total = {g}\n{body}\n    return total\n"
    compared = []
    real_compare = similarity.compare
    monkeypatch.setattr(similarity, "compare", lambda a, b: compared.append((a.name, b.name)) or real_compare(a, b))
    pairs = similarity_pairs(codes, "", common=5)
    assert len(compared) == groups * 3
    assert all(a.split("_")[0] == b.split("_")[0] for a, b in compared)
    assert all(p.similarity > 0.9 for p in pairs)
    documents = [similarity.Document(n, c, fingerprint(c)) for n, c in codes.items()]
    _, too_common = candidate_pairs(documents, common=5)
    assert too_common  # COMMON's fingerprints, in all 60


def test_command_writes_html_and_csv(submissions, root, tmp_path):
    out = tmp_path / "sim"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "similarity",
            str(submissions),
            "--assignment",
            A,
            "--out",
            str(out),
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader((out / "similarity.csv").open(encoding="utf-8")))
    assert {rows[0]["a"], rows[0]["b"]} == {"alice", "bob"} and float(rows[0]["similarity"]) > 0.75
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "<mark>" in page and "shifted_exp" in page and "stable" in page  # both sides, matches marked
    assert "re-derived" in page  # it says what it cannot see
