"""04_cnn's grading helpers and the kit's datasets: sizes as PyTorch computes them, the
named wrong formulas, the conv block's expected behaviour, reproducible data."""

import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.assignments.a04_cnn.common import block_parts, block_reference, conv_size_mistake, torch_conv_size
from grader.kit.data import SIGNAL_LENGTH, digits_split, make_signals


@st.composite
def conv_parameters(draw):
    kernel, dilation, padding = draw(st.integers(1, 7)), draw(st.integers(1, 3)), draw(st.integers(0, 3))
    size = draw(st.integers(max(1, dilation * (kernel - 1) + 1 - 2 * padding), 80))
    return size, kernel, draw(st.integers(1, 4)), padding, dilation


@settings(max_examples=150, deadline=None)
@given(conv_parameters())
def test_pytorch_sizes_follow_the_formula_and_no_slip_is_named_for_the_right_answer(params):
    size, kernel, stride, padding, dilation = params
    expected = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    assert torch_conv_size(*params) == expected
    assert conv_size_mistake(expected, *params) is None


def test_each_slip_is_named_where_it_changes_the_answer():
    assert conv_size_mistake(29, 32, 3, 1, 0, 1) == "missing_plus_one"
    assert conv_size_mistake(32, 32, 3, 1, 2, 1) == "padding_once"
    assert conv_size_mistake(30, 32, 3, 1, 0, 2) == "dilation_ignored"
    assert conv_size_mistake(30, 32, 3, 2, 0, 1) == "stride_ignored"


def test_block_reference_is_what_the_layers_compute():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(), nn.MaxPool2d(2))
    x = torch.randn(4, 3, 9, 6)
    parts = block_parts({k: v.clone() for k, v in block.state_dict().items()}, 3, 5)
    expected, mean, var = block_reference(parts, x, training=True)
    assert torch.allclose(block(x).double(), expected, atol=1e-5)
    assert torch.allclose(block[1].running_mean.double(), mean, atol=1e-6)
    assert torch.allclose(block[1].running_var.double(), var, atol=1e-6)
    block.eval()
    after = block_parts(block.state_dict(), 3, 5)
    assert torch.allclose(block(x).double(), block_reference(after, x, training=False)[0], atol=1e-5)


def test_signals_are_reproducible_and_balanced():
    X, y = make_signals(600, seed=3)
    again, labels = make_signals(600, seed=3)
    assert X.shape == (600, 1, SIGNAL_LENGTH) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(X, again) and torch.equal(y, labels)
    assert not torch.equal(X, make_signals(600, seed=4)[0])
    assert all(150 <= c <= 250 for c in torch.bincount(y, minlength=3).tolist())


def test_digits_split_is_fixed_and_stratified():
    X_train, _, X_test, y_test = digits_split()
    assert X_train.shape == (1347, 1, 8, 8) and X_test.shape == (450, 1, 8, 8)
    assert X_train.dtype == torch.float32 and float(X_test.min()) >= 0 and float(X_test.max()) <= 1
    assert torch.equal(X_test, digits_split()[2])
    assert all(43 <= c <= 46 for c in torch.bincount(y_test, minlength=10).tolist())
