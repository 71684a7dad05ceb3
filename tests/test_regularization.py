"""06_regularization's threshold T (CATALOG.md 06, `SMALL_DIGITS_MINIMUM`): the notebook's
claim, averaged over seeds. The same CNNPequena with the same optimizer and steps, trained
on small_digits() without regularization, stays below T on the test split; the notebook's
recipe (random_shift each step and a light L2) clears it on every seed, by a clear margin on
average."""

import torch
import torch.nn.functional as F

from grader.assignments.a06_regularization.common import SMALL_DIGITS_MINIMUM
from grader.course import load_assignment
from grader.kit.data import digits_split, small_digits

SEEDS = range(3)


def reference() -> dict:
    return load_assignment("06_regularization").reference_namespace()


def test_to_beat_threshold_regularization_must_help():
    solution = reference()
    X, y = small_digits()
    _, _, X_test, y_test = digits_split()

    def accuracy(model) -> float:
        model.eval()
        with torch.no_grad():
            return float((model(X_test).argmax(1) == y_test).float().mean())

    def train(seed: int, regularized: bool) -> float:
        torch.manual_seed(seed)
        model = solution["CNNPequena"]()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(300):
            model.train()
            optimizer.zero_grad()
            if regularized:
                loss = F.cross_entropy(model(solution["random_shift"](X, 1)), y) + 1e-4 * solution["l2_penalty"](model)
            else:
                loss = F.cross_entropy(model(X), y)
            loss.backward()
            optimizer.step()
        return accuracy(model)

    plain = [train(seed, False) for seed in SEEDS]
    regularized = [train(seed, True) for seed in SEEDS]
    assert max(plain) < SMALL_DIGITS_MINIMUM <= min(regularized), (plain, regularized)
    assert sum(regularized) / len(SEEDS) >= sum(plain) / len(SEEDS) + 0.02, (plain, regularized)
    assert accuracy(solution["train_small_digits"]()) >= SMALL_DIGITS_MINIMUM + 0.01


def test_figures_are_drawn_only_where_a_person_looks(monkeypatch):
    from grader.kit.figures import interativo

    monkeypatch.delenv("GRADER_CHILD", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert interativo()
    monkeypatch.setenv("GRADER_CHILD", "1")
    assert not interativo()


def test_checkpoint_layouts_are_found_wherever_the_student_put_them(tmp_path):
    """The grader finds model, optimizer and epoch in any layout (a dict, a tuple, nested), and
    writes its own correct file in that layout (probes.write_checkpoint)."""
    from grader.assignments.a06_regularization import common, probes

    run = probes.new_run("adam", 0, "cpu")
    run.train(2)
    expected = probes.run_state(run)
    layouts = {
        "dict": lambda m, o, e: {"model": m, "optimizer": o, "epoch": e},
        "tuple": lambda m, o, e: (e, m, o),
        "nested": lambda m, o, e: {"meta": {"epoch": e, "note": "x"}, "states": [o, m]},
    }
    for name, make in layouts.items():
        path = tmp_path / f"{name}.pt"
        torch.save(make(run.model.state_dict(), run.optimizer.state_dict(), 37), path)
        content = probes.read_checkpoint(str(path))["content"]
        paths = common.find_paths(content, expected, 37)
        assert all(paths.values()) or paths["epoch"] == [0], (name, paths)
        assert common.same_optimizer_state(common.at(content, paths["optimizer"]), expected["optimizer"])
        out = tmp_path / f"{name}-grader.pt"
        probes.write_checkpoint(str(out), run, 12, paths, str(path), "cpu")
        again = probes.read_checkpoint(str(out))["content"]
        assert common.at(again, paths["epoch"]) == 12 and type(again) is type(content)
    assert common.find_paths({"model": {}, "epoch": 3.0}, expected, 3) == {
        "model": None,
        "optimizer": None,
        "epoch": None,
    }


def test_shift_offsets_and_early_stopping_replay():
    from grader.assignments.a06_regularization import common

    image = torch.arange(1, 17, dtype=torch.float32).reshape(1, 4, 4)
    moved = common.shifted(image, 1, -1)
    assert moved[0, 0].tolist() == [0, 0, 0, 0] and moved[0, 1].tolist() == [2, 3, 4, 0]
    assert common.offsets_of(image[None], moved[None], 1) == [(1, -1)]
    assert common.offsets_of(image[None], torch.roll(image, 1, -1)[None], 1) == [None]
    stops = [s for s, _, _ in common.expected_stops([1.0, 0.8, 0.9, 0.85], 2, 0.0)]
    assert stops == [False, False, False, True]
