"""Public checks for 04_cnn: the notebook's own examples."""

import pytest
import torch
import torch.nn.functional as F

from grader import checks
from grader.assignments.a04_cnn import MISTAKES
from grader.assignments.a04_cnn.common import (
    CONV_BATCH,
    conv_output_shape_check,
    conv_size_mistake,
    has_layer,
    whole,
)
from grader.checks import Mistake
from grader.kit.data import digits_split, make_signals

CONV_EXAMPLES = [
    ((32, 3), {}, 30),
    ((32, 3), {"padding": 1}, 32),
    ((32, 3), {"stride": 2}, 15),
    ((32, 3), {"dilation": 2}, 28),
    ((28, 5), {"stride": 1, "padding": 2}, 28),
]


@pytest.mark.exercise("conv_output_size")
def test_conv_output_size_examples(student):
    """32 com kernel 3 dá 30; com padding 1, 32; com stride 2, 15; com dilatação 2, 28
    en: 32 with kernel 3 gives 30; with padding 1, 32; with stride 2, 15; with dilation 2, 28
    """
    for args, kwargs, expected in CONV_EXAMPLES:
        what = f"conv_output_size({', '.join(map(str, args))}{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        actual = whole(student.call("conv_output_size", *args, **kwargs), what)
        if actual != expected:
            key = (
                conv_size_mistake(
                    actual, *args, kwargs.get("stride", 1), kwargs.get("padding", 0), kwargs.get("dilation", 1)
                )
                or "size_wrong"
            )
            raise Mistake(MISTAKES[key], key, what=what, expected=expected, actual=actual)


@pytest.mark.exercise("pool_output_size")
def test_pool_output_size_examples(student):
    """MaxPool2d(2) leva 32 a 16 e 7 a 3
    en: MaxPool2d(2) takes 32 to 16 and 7 to 3
    """
    for args, expected in (((32, 2), 16), ((7, 2), 3), ((30, 3, 1), 28)):
        what = f"pool_output_size{args}"
        actual = whole(student.call("pool_output_size", *args), what)
        checks.expect(
            actual == expected, MISTAKES["size_wrong"], "size_wrong", what=what, expected=expected, actual=actual
        )


@pytest.mark.exercise("conv2d_output_shape")
def test_conv2d_output_shape_example(student):
    """(8, 3, 32, 32) com 16 filtros 3×3 e padding 1 dá (8, 16, 32, 32)
    en: (8, 3, 32, 32) with 16 3×3 filters and padding 1 gives (8, 16, 32, 32)
    """
    got = student.call("conv2d_output_shape", (8, 3, 32, 32), 16, 3, padding=1)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        raise Mistake(MISTAKES["shape_not_tuple"], "shape_not_tuple", detail=checks.describe_type(got))
    got = tuple(whole(v, "conv2d_output_shape(...)") for v in got)
    checks.expect(
        got == (8, 16, 32, 32),
        MISTAKES["size_wrong"],
        "size_wrong",
        what="conv2d_output_shape(...)",
        expected=(8, 16, 32, 32),
        actual=got,
    )


@pytest.mark.exercise("CONV_OUTPUT_SHAPE")
def test_conv_output_shape_formula(student, params):
    """(8, FILTROS, H', W') da sua camada, pela fórmula da Parte 2
    en: (8, FILTROS, H', W') of your layer, by Part 2's formula
    """
    size, kernel, stride, padding = (int(params[k]) for k in ("LADO", "KERNEL", "STRIDE", "PADDING"))
    side = (size + 2 * padding - kernel) // stride + 1
    conv_output_shape_check(student, params, (CONV_BATCH, int(params["FILTROS"]), side, side))


@pytest.mark.exercise("conv2d_param_count")
def test_conv2d_param_count_example(student):
    """Conv2d(3, 16, 3) tem 448 parâmetros
    en: Conv2d(3, 16, 3) has 448 parameters
    """
    got = whole(student.call("conv2d_param_count", 3, 16, 3), "conv2d_param_count(3, 16, 3)")
    if got == 432:
        raise Mistake(MISTAKES["forgot_bias"], "forgot_bias")
    checks.expect(
        got == 448, MISTAKES["size_wrong"], "size_wrong", what="conv2d_param_count(3, 16, 3)", expected=448, actual=got
    )


@pytest.mark.exercise("conv2d_naive")
def test_conv2d_naive_example(student):
    """igual a F.conv2d numa imagem 1×1×4×4 com um kernel 2×2
    en: matches F.conv2d on a 1×1×4×4 image with a 2×2 kernel
    """
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    weight = torch.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
    got = checks.tensor(student.call("conv2d_naive", x, weight), "conv2d_naive(x, weight)")
    expected = F.conv2d(x, weight)
    if tuple(got.shape) == tuple(expected.shape) and torch.allclose(got, F.conv2d(x, weight.flip(2, 3))):
        raise Mistake(MISTAKES["kernel_flipped"], "kernel_flipped")
    checks.close(got, expected, "conv2d_naive(x, weight)")


@pytest.mark.exercise("ConvBlock")
def test_conv_block_shape(student):
    """ConvBlock(3, 8) leva (2, 3, 8, 8) a (2, 8, 4, 4)
    en: ConvBlock(3, 8) takes (2, 3, 8, 8) to (2, 8, 4, 4)
    """
    block = student.call("ConvBlock", 3, 8, keep=True)
    out = checks.tensor(
        student.call_handle(block, [], torch.randn(2, 3, 8, 8), name="ConvBlock(3, 8)(x)"), "ConvBlock(3, 8)(x)"
    )
    checks.expect(
        tuple(out.shape) == (2, 8, 4, 4),
        MISTAKES["block_shape"],
        "block_shape",
        cin=3,
        cout=8,
        input=(2, 3, 8, 8),
        expected=(2, 8, 4, 4),
        actual=tuple(out.shape),
    )


@pytest.mark.exercise("build_signal_cnn")
def test_signal_cnn_shape(student):
    """(4, 1, 128) vira (4, 3) logits, com pelo menos uma Conv1d
    en: (4, 1, 128) becomes (4, 3) logits, with at least one Conv1d
    """
    model = student.call("build_signal_cnn", keep=True)
    checks.expect(has_layer(student, model, "Conv1d"), MISTAKES["no_conv1d"], "no_conv1d")
    out = checks.tensor(student.call_handle(model, [], torch.randn(4, 1, 128), name="model(x)"), "model(x)")
    checks.expect(
        tuple(out.shape) == (4, 3),
        checks.LOGITS_SHAPE,
        "logits_shape",
        what="model(x)",
        expected=(4, 3),
        actual=tuple(out.shape),
    )
    checks.logits_not_probabilities(out, "model(x)")


@pytest.mark.exercise("train_signal_cnn")
def test_train_signal_cnn_cpu(student):
    """≥ 95% em 300 sinais de make_signals(300, seed=1), na CPU
    en: ≥ 95% on 300 signals from make_signals(300, seed=1), on CPU
    """
    X, y = make_signals(300, seed=1)
    model = checks.trained_model(student, "train_signal_cnn", "cpu", 60)
    accuracy = checks.classifier_accuracy(student, model, X, y, "cpu", "model")
    checks.expect(
        accuracy >= 0.95,
        MISTAKES["accuracy"],
        "accuracy",
        accuracy=accuracy,
        data="make_signals(300, seed=1)",
        device="cpu",
    )


@pytest.mark.exercise("train_digits_cnn")
def test_train_digits_cnn_cpu(student):
    """≥ 95% no teste fixo de digits_split(), na CPU, com pelo menos uma Conv2d
    en: ≥ 95% on the fixed test set of digits_split(), on CPU, with at least one Conv2d
    """
    _, _, X, y = digits_split()
    model = checks.trained_model(student, "train_digits_cnn", "cpu", 90, blind=True)
    checks.expect(has_layer(student, model, "Conv2d"), MISTAKES["no_conv2d"], "no_conv2d")
    accuracy = checks.classifier_accuracy(
        student, model, X, y, "cpu", "model", wrong_labels=checks.wrong_labels_of(digits_split)
    )
    checks.expect(
        accuracy >= 0.95, MISTAKES["accuracy"], "accuracy", accuracy=accuracy, data="digits_split()", device="cpu"
    )
