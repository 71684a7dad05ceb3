"""The kit's pretrained network and target task (05_transfer): the shipped weights are what
the script makes, the task is fixed, and the transfer claims of the notebook hold."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.course import load_assignment
from grader.kit import pretrained
from grader.kit.pretrained import (
    DigitNet,
    accuracy,
    load_pretrained_backbone,
    shipped_metadata,
    shipped_state,
    source_task,
    target_task,
)


def test_shipped_weights_load_without_pickle_and_fit_the_network():
    state = shipped_state()  # torch.load(weights_only=True): no code runs when reading the file
    assert set(state) == set(DigitNet().state_dict())
    assert tuple(state["fc.weight"].shape) == (5, pretrained.FEATURES)
    assert all(v.dtype in (torch.float32, torch.int64) for v in state.values())
    meta = shipped_metadata()
    assert meta["seed"] == pretrained.PRETRAIN_SEED and meta["epochs"] == pretrained.PRETRAIN_EPOCHS


@pytest.mark.slow  # the pretraining run, again
def test_shipped_weights_are_what_the_script_makes():
    """Retrained from the seed: bit for bit on the torch build and CPU kind that made the file.
    Elsewhere float sums may round differently (another torch build, another SIMD width), so
    the retrained network must give the same predictions on (nearly) every 0-4 test image."""
    meta = shipped_metadata()
    retrained = pretrained.pretrain()
    if meta["torch"] == str(torch.__version__) and meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability():
        state = shipped_state()
        different = [k for k, v in retrained.state_dict().items() if not torch.equal(v, state[k])]
        assert not different, different
    else:
        agree = sum(a == b for a, b in zip(pretrained.fingerprint(retrained), meta["fingerprint"]))
        assert agree >= 0.98 * len(meta["fingerprint"])


def test_backbone_is_pretrained_on_zero_to_four_and_fresh_each_time():
    _, _, X_test, y_test = source_task()
    model = load_pretrained_backbone()
    assert model.training, "a fresh module, in training mode like any other"
    assert accuracy(model, X_test, y_test) >= 0.98
    model.fc.weight.data.zero_()
    assert not torch.equal(load_pretrained_backbone().fc.weight, model.fc.weight)


def test_target_task_is_fixed_five_per_class():
    X_train, y_train, X_test, y_test = target_task()
    assert tuple(X_train.shape) == (25, 1, 8, 8) and tuple(X_test.shape) == (224, 1, 8, 8)
    assert torch.bincount(y_train).tolist() == [5] * 5
    assert set(y_test.tolist()) == set(range(5))
    again = target_task()
    assert torch.equal(again[0], X_train) and torch.equal(again[2], X_test)
    assert tuple(target_task(shots=2)[0].shape) == (10, 1, 8, 8)


def reference_functions() -> dict:
    """The reference solution's functions (source/05_transfer), defined in one namespace."""
    assignment = load_assignment("05_transfer")
    namespace = {
        "torch": torch,
        "nn": nn,
        "F": F,
        "DigitNet": DigitNet,
        "TARGET_DIGITS": pretrained.TARGET_DIGITS,
        "load_pretrained_backbone": load_pretrained_backbone,
        "target_task": target_task,
    }
    for exercise in assignment.order:
        exec(assignment.exercise(exercise).reference, namespace)
    return namespace


def test_fine_tuning_beats_the_same_network_from_scratch():
    """The catalog's promise, with the notebook's recipe: the same network and the same
    training (make_finetune_optimizer, 100 full-batch steps) from the pretrained weights
    beats it from random weights, on average over seeds; the probe and fine-tuning clear
    their thresholds."""
    solution = reference_functions()
    X_train, y_train, X_test, y_test = target_task()

    def train(model):
        optimizer = solution["make_finetune_optimizer"](model, head_lr=0.01, backbone_lr=0.001)
        model.train()
        for _ in range(100):
            optimizer.zero_grad()
            F.cross_entropy(model(X_train), y_train).backward()
            optimizer.step()
        return accuracy(model, X_test, y_test)

    finetuned, scratch = [], []
    for seed in range(3):
        torch.manual_seed(seed)
        finetuned.append(train(solution["replace_head"](load_pretrained_backbone(), 5)))
        torch.manual_seed(seed)
        scratch.append(train(DigitNet(num_classes=5)))
    assert sum(finetuned) / 3 > sum(scratch) / 3 + 0.01, (finetuned, scratch)
    assert min(finetuned) >= 0.92
    assert accuracy(solution["train_linear_probe"](), X_test, y_test) >= 0.90
    assert accuracy(solution["finetune"](), X_test, y_test) >= 0.93
