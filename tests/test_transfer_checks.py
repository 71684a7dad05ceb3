"""05_transfer's grading helpers: the shipped backbone compared bit for bit, the similarity
that tells fine-tuned from scratch, and the head the grader trains to name an untrained one."""

import pytest
import torch

from grader.assignments.a05_transfer.common import (
    INSPECT,
    backbone_differences,
    backbone_similarity,
    grader_probe_accuracy,
    same_rate,
)
from grader.checks import Mistake
from grader.kit.local import InProcessStudent
from grader.kit.pretrained import DigitNet, initial_network, shipped_state


def edited(key, change):
    state = {k: v.clone() for k, v in shipped_state().items()}
    state[key] = change(state[key])
    return state


@pytest.mark.parametrize(
    "state, expected",
    [
        (shipped_state(), ([], [], [])),
        (edited("features.1.running_mean", lambda v: v + 1e-6), ([], [], ["features.1.running_mean"])),
        (edited("features.4.num_batches_tracked", lambda v: v + 1), ([], [], ["features.4.num_batches_tracked"])),
        (edited("features.0.weight", lambda v: v.nextafter(v + 1)), ([], ["features.0.weight"], [])),
        (edited("fc.weight", lambda v: v * 0), ([], [], [])),  # the head is the student's own
        ({k: v for k, v in shipped_state().items() if k != "features.3.bias"}, (["features.3.bias"], [], [])),
        ({f"0.{k}": v for k, v in shipped_state().items()}, ([], [], [])),  # a backbone wrapped in a Sequential
    ],
    ids=["shipped", "bn_mean", "bn_count", "one_ulp", "head", "missing", "wrapped"],
)
def test_backbone_differences_bit_for_bit(state, expected):
    assert backbone_differences(state) == expected


def test_backbone_differences_rejects_what_is_not_a_state_dict():
    with pytest.raises(Mistake) as info:
        backbone_differences(["not", "a", "dict"])
    assert info.value.key == "not_the_backbone"


def test_similarity_tells_fine_tuned_from_scratch():
    shipped = shipped_state()
    assert backbone_similarity(shipped) == pytest.approx(1.0)
    nudged = {k: v + 0.1 * v.std() * torch.randn_like(v) if v.dim() == 4 else v for k, v in shipped.items()}
    assert backbone_similarity(nudged) > 0.9
    torch.manual_seed(1)
    assert abs(backbone_similarity(DigitNet().state_dict())) < 0.1
    assert backbone_similarity({}) == 0.0
    # torch.manual_seed(0) then DigitNet() recreates the weights pretraining started from:
    # similar to the shipped ones, but far more to those initial ones (the grader compares both)
    torch.manual_seed(0)
    scratch = DigitNet().state_dict()
    assert backbone_similarity(scratch, initial_network().state_dict()) == pytest.approx(1.0)
    assert backbone_similarity(scratch) < 0.6


def test_grader_probe_finds_good_features_behind_an_untrained_head():
    """The shipped backbone with a random 5-way head: the student's head is at chance, the
    grader's own head on the same features is not."""
    student = InProcessStudent({}).start()
    model = student.run_grader_code(INSPECT, "build", "digitnet", "none", keep=True)
    assert grader_probe_accuracy(student, model, "cpu") >= 0.85


@pytest.mark.parametrize(
    "lr, target, same",
    [(0.01, 0.01, True), (0.01 * (1 + 1e-12), 0.01, True), (0.001, 0.01, False), (None, 0.01, False)],
)
def test_rates_compare_exactly_up_to_rounding(lr, target, same):
    assert same_rate(lr, target) is same
