"""03_training's harness and judging helpers: the event-log reading that names a training
mistake, the runs both processes build alike, and the fit scenario that keeps its best
epoch inside the run (grader/assignments/a03_training)."""

import numpy as np
import pytest
import torch
from conftest import DEVICES

from grader.assignments.a03_training import harness
from grader.assignments.a03_training.runs import (
    Run,
    classification_data,
    evaluation_mistake,
    same_state,
    spec,
    state_on_cpu,
    training_mistake,
)
from grader.course import load_assignment

F, B, S, Z, L = (
    ("forward", True, True, "cpu", 8),
    ("backward",),
    ("step",),
    ("zero_grad", "optimizer"),
    ("loss", 1.0, 8),
)
EVAL = ("forward", False, True, "cpu", 8)
QUIET = ("forward", False, False, "cpu", 8)


@pytest.mark.parametrize(
    "events, mistake",
    [
        ([Z, F, L, B, S] * 3, None),  # the textbook order
        ([F, L, B, S, Z] * 3, None),  # zero_grad at the end of the loop
        ([F, L, Z, B, S] * 3, None),  # zero_grad after the forward pass
        ([("zero_grad", "model"), F, L, B, S] * 3, None),  # model.zero_grad()
        ([F, L, B, S] * 3, "no_zero_grad"),
        ([Z, F, L, B, S, F, L, B, S], "no_zero_grad"),  # reset once, before the loop
        ([Z, F, L, S, B] * 3, "step_order"),
        ([F, L, B, Z, S] * 3, "step_order"),
        ([Z, F, L, B] * 3, "no_step"),
        ([Z, F, L] * 3, "ignores_optimizer"),  # nothing the grader handed over was used to update
        ([Z, EVAL, L, B, S] * 3, "no_train_mode"),
        ([Z, F, B, S] * 3, "ignores_loss_fn"),
    ],
)
def test_training_mistake_reads_the_event_log(events, mistake):
    assert training_mistake([list(e) for e in events]) == mistake


@pytest.mark.parametrize(
    "events, mistake",
    [
        ([QUIET, L] * 3, None),
        ([EVAL, L] * 3, "no_no_grad"),
        ([F, L] * 3, "no_eval_mode"),
        ([EVAL, L, B] * 3, "eval_updates_weights"),
    ],
)
def test_evaluation_mistake_reads_the_event_log(events, mistake):
    assert evaluation_mistake([list(e) for e in events]) == mistake


@pytest.mark.parametrize("device", DEVICES)
def test_both_sides_build_the_same_run(device):
    run_spec = spec("dropout_batchnorm", "Adam", lr=0.01, mode="eval", seed=3)
    data = classification_data(3, 21, 7)
    state = harness.initial_state(run_spec)
    assert same_state(harness.initial_state(run_spec), state, rtol=0, atol=0)
    first, second = harness.build_run(run_spec, state, data, device), harness.build_run(run_spec, state, data, device)
    assert not first[0].training and same_state(state_on_cpu(first[0]), state, rtol=0, atol=0)
    orders = [[y.tolist() for _, y in run[1]] for run in (first, second)]
    assert orders[0] == orders[1]  # the training loader's order depends on the spec alone
    first[0].train()
    first[4].zero_grad()
    first[3](first[0](data["X"][:8].to(device)), data["y"][:8].to(device)).backward()
    first[4].step()
    kinds = [e[0] for e in first[5].events]
    assert kinds == ["zero_grad", "forward", "loss", "backward", "step"]


def test_fit_scenarios_keep_the_best_epoch_inside_the_run():
    """The public and hidden fit checks rely on runs whose lowest validation loss is neither
    the first nor the last epoch, by a clear margin, and (hidden) whose best accuracy is at
    another epoch that is not the last either."""
    from grader.assignments.a03_training.test_hidden import FIT_SCENARIOS, fit_trajectory

    reference = load_assignment("03_training").reference_namespace()
    public = (spec("batchnorm", "SGD", lr=0.2, momentum=0.9, seed=6), classification_data(6, 40, 20, noise=0.5), 6)
    for run_spec, data, epochs in (public, FIT_SCENARIOS["best-inside"]):
        run = Run(run_spec, harness.initial_state(run_spec), data, "cpu", *([None] * 6))
        _, losses, accuracies = fit_trajectory(reference, run, epochs, seed=0)
        best = int(np.argmin(losses))
        assert 0 < best < epochs - 1, losses
        assert sorted(losses)[1] - losses[best] > 0.02 and losses[-1] - losses[best] > 0.1, losses
    best_accuracy = int(np.argmax(accuracies))
    assert best_accuracy not in (best, epochs - 1), (losses, accuracies)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_batches_left_on_the_cpu_fail_only_on_cuda(tmp_path):
    """A loop that never moves its batches to `device` passes on the CPU and fails on CUDA
    with the device hint (CPU-only CI cannot see this mistake; the device machine can)."""
    import json

    from grader.assignments.a03_training.variants import edit
    from grader.grading import GradeOptions, grade_submission
    from grader.variants import Variant, make_submission

    variant = Variant("batches_on_cpu", edit("train_one_epoch", ("        X, y = X.to(device), y.to(device)\n", "")))
    path = tmp_path / "batches_on_cpu.ipynb"
    path.write_text(json.dumps(make_submission("03_training", variant)), encoding="utf-8")
    result = grade_submission(path, load_assignment("03_training"), GradeOptions())
    epoch = [
        t for t in result["tests"] if t["extra_data"]["exercise"] == "train_one_epoch" and "devices" in t["extra_data"]
    ]
    assert epoch and all(t["extra_data"]["devices"]["cpu"] == "passed" for t in epoch)
    failed = [t for t in epoch if t["extra_data"]["devices"]["cuda"] != "passed"]
    assert failed and all(t["status"] == "failed" and t["extra_data"].get("hint") == "device_mismatch" for t in failed)
