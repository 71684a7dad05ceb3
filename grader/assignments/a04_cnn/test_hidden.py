"""Hidden graders for 04_cnn (never released to students).

Sizes and counts are checked against PyTorch's own layers on many random parameter sets
(drawn from fixed seeds: the same submission gets the same grade every run); the naive
convolution against `F.conv2d`; the conv block against the functional ops applied with
its own weights; trained models are evaluated by the grader on data they never saw.
"""

import ast
import random

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader import checks
from grader.assignments.a04_cnn import MISTAKES
from grader.assignments.a04_cnn.common import (
    CONV_BATCH,
    PARAMS,
    block_parts,
    block_reference,
    conv_output_shape_check,
    conv_size_mistake,
    has_layer,
    torch_conv2d_param_count,
    torch_conv2d_shape,
    torch_conv_size,
    torch_pool_size,
    whole,
)
from grader.checks import Mistake
from grader.engine.session import StudentError
from grader.kit.data import digits_split, make_signals

HIDDEN_SIGNAL_SEED = 90210


def cases(seed: int, count: int, draw) -> list:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        case = draw(rng)
        if case is not None:
            out.append(case)
    return out


def draw_conv(rng):
    size, kernel, stride = rng.randint(1, 64), rng.randint(1, 7), rng.randint(1, 4)
    padding, dilation = rng.randint(0, 3), rng.choice([1, 1, 2, 3])
    return None if dilation * (kernel - 1) + 1 > size + 2 * padding else (size, kernel, stride, padding, dilation)


@pytest.mark.exercise("conv_output_size")
def test_conv_output_size_matches_pytorch(student):
    """igual ao nn.Conv1d em 300 combinações de tamanho, kernel, stride, padding e dilatação
    en: matches nn.Conv1d on 300 combinations of size, kernel, stride, padding and dilation
    """
    for index, (size, kernel, stride, padding, dilation) in enumerate(cases(1, 300, draw_conv)):
        what = f"conv_output_size({size}, {kernel}, stride={stride}, padding={padding}, dilation={dilation})"
        if index % 2:
            value = student.call("conv_output_size", size, kernel, stride, padding, dilation)
        else:
            value = student.call("conv_output_size", size, kernel, stride=stride, padding=padding, dilation=dilation)
        actual, expected = whole(value, what), torch_conv_size(size, kernel, stride, padding, dilation)
        if actual != expected:
            key = conv_size_mistake(actual, size, kernel, stride, padding, dilation) or "size_wrong"
            raise Mistake(MISTAKES[key], key, what=what, expected=expected, actual=actual)


def draw_pool(rng):
    kernel = rng.randint(1, 5)
    size, padding = rng.randint(kernel, 64), rng.randint(0, kernel // 2)
    return size, kernel, rng.choice([None, None, 1, 2, 3]), padding


@pytest.mark.exercise("pool_output_size")
def test_pool_output_size_matches_pytorch(student):
    """igual ao nn.MaxPool1d em 200 combinações, com e sem stride (padrão = kernel_size)
    en: matches nn.MaxPool1d on 200 combinations, with and without stride (default = kernel_size)
    """
    for size, kernel, stride, padding in cases(2, 200, draw_pool):
        if stride is None:
            what = f"pool_output_size({size}, {kernel}, padding={padding})"
            value = student.call("pool_output_size", size, kernel, padding=padding)
        else:
            what = f"pool_output_size({size}, {kernel}, stride={stride}, padding={padding})"
            value = student.call("pool_output_size", size, kernel, stride, padding)
        actual, expected = whole(value, what), torch_pool_size(size, kernel, stride, padding)
        if actual != expected:
            step = kernel if stride is None else stride
            if stride is None and actual == size + 2 * padding - kernel + 1:
                raise Mistake(MISTAKES["pool_default_stride"], "pool_default_stride", what=what)
            if actual == -(-(size + 2 * padding - kernel) // step) + 1:
                raise Mistake(MISTAKES["pool_ceil"], "pool_ceil", what=what)
            raise Mistake(MISTAKES["size_wrong"], "size_wrong", what=what, expected=expected, actual=actual)


def draw_shape(rng):
    def param(low, high):
        return rng.randint(low, high) if rng.random() < 0.5 else (rng.randint(low, high), rng.randint(low, high))

    def pair(v):
        return v if isinstance(v, tuple) else (v, v)

    n, c, h, w = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 40), rng.randint(1, 40)
    kernel, stride, padding, dilation = param(1, 5), param(1, 3), param(0, 2), param(1, 2)
    for side, k, p, d in zip((h, w), pair(kernel), pair(padding), pair(dilation)):
        if d * (k - 1) + 1 > side + 2 * p:
            return None
    return (n, c, h, w), rng.randint(1, 8), kernel, stride, padding, dilation


@pytest.mark.exercise("conv2d_output_shape")
def test_conv2d_output_shape_matches_pytorch(student):
    """igual ao nn.Conv2d em 150 combinações, com parâmetros int ou pares (h, w)
    en: matches nn.Conv2d on 150 combinations, with int or (h, w) pair parameters
    """
    for shape, out_channels, kernel, stride, padding, dilation in cases(3, 150, draw_shape):
        what = (
            f"conv2d_output_shape({shape}, {out_channels}, {kernel}, stride={stride}, padding={padding}, "
            f"dilation={dilation})"
        )
        got = student.call(
            "conv2d_output_shape", shape, out_channels, kernel, stride=stride, padding=padding, dilation=dilation
        )
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            raise Mistake(MISTAKES["shape_not_tuple"], "shape_not_tuple", detail=checks.describe_type(got))
        got = tuple(whole(v, what) for v in got)
        expected = torch_conv2d_shape(shape, out_channels, kernel, stride, padding, dilation)
        if got != expected:
            if got[1] == shape[1] != out_channels:
                raise Mistake(MISTAKES["out_channels"], "out_channels", what=what)
            if any(isinstance(v, tuple) for v in (kernel, stride, padding, dilation)):
                raise Mistake(MISTAKES["pair_arguments"], "pair_arguments", what=what)
            raise Mistake(MISTAKES["size_wrong"], "size_wrong", what=what, expected=expected, actual=got)


@pytest.mark.exercise("CONV_OUTPUT_SHAPE")
def test_conv_output_shape_against_a_real_layer(student, params):
    """a forma que uma nn.Conv2d de verdade dá, com os seus números
    en: the shape a real nn.Conv2d gives, with your numbers
    """
    size, filters, kernel, stride, padding = (int(params[k]) for k in PARAMS)
    layer = nn.Conv2d(3, filters, kernel, stride=stride, padding=padding, device="meta")  # shapes, no numbers
    expected = tuple(layer(torch.empty(CONV_BATCH, 3, size, size, device="meta")).shape)
    conv_output_shape_check(student, params, expected)


def draw_count(rng):
    kernel = rng.randint(1, 7) if rng.random() < 0.6 else (rng.randint(1, 7), rng.randint(1, 7))
    return rng.randint(1, 64), rng.randint(1, 128), kernel, rng.choice([True, False, None])


@pytest.mark.exercise("conv2d_param_count")
def test_conv2d_param_count_matches_pytorch(student):
    """igual a sum(p.numel()) de um nn.Conv2d em 100 combinações, com e sem viés, kernel int ou par
    en: matches sum(p.numel()) of an nn.Conv2d on 100 combinations, with and without bias, int or pair kernel
    """
    for cin, cout, kernel, bias in cases(4, 100, draw_count):
        args = (cin, cout, kernel) if bias is None else (cin, cout, kernel, bias)
        what = f"conv2d_param_count{args}"
        got = whole(student.call("conv2d_param_count", *args), what)
        kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        expected = torch_conv2d_param_count(cin, cout, kernel, bias is not False)
        if got != expected:
            weights = cout * cin * kh * kw
            if bias is not False and got == weights:
                raise Mistake(MISTAKES["forgot_bias"], "forgot_bias")
            if bias is False and got == weights + cout:
                raise Mistake(MISTAKES["bias_flag"], "bias_flag")
            if got == cout * kh * kw + (cout if bias is not False else 0):
                raise Mistake(MISTAKES["per_input_channel"], "per_input_channel")
            if isinstance(kernel, tuple) and got in (
                cout * cin * kh * kh + (cout if bias is not False else 0),
                cout * cin * kw * kw + (cout if bias is not False else 0),
            ):
                raise Mistake(MISTAKES["pair_kernel"], "pair_kernel")
            raise Mistake(MISTAKES["size_wrong"], "size_wrong", what=what, expected=expected, actual=got)


# ----------------------------------------------------------------------- conv2d_naive


def draw_naive(rng):
    n, c, h, w = rng.randint(1, 3), rng.randint(1, 4), rng.randint(3, 10), rng.randint(3, 10)
    kh, kw = rng.randint(1, min(h, 4)), rng.randint(1, min(w, 4))
    return (
        (n, c, h, w),
        (rng.randint(1, 5), c, kh, kw),
        rng.choice(["yes", "none", "omitted"]),
        rng.randint(1, 3),
        rng.randint(0, 2),
    )


@pytest.mark.exercise("conv2d_naive")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_conv2d_naive_matches_f_conv2d(student, device, dtype):
    """igual a F.conv2d em formas aleatórias, com e sem viés, stride e padding
    en: matches F.conv2d on random shapes, with and without bias, stride and padding
    """
    g = torch.Generator().manual_seed(5)
    for shape, wshape, bias_mode, stride, padding in cases(5, 12, draw_naive):
        x = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
        weight = torch.randn(wshape, generator=g, dtype=torch.float64).to(dtype)
        bias = torch.randn(wshape[0], generator=g, dtype=torch.float64).to(dtype) if bias_mode == "yes" else None
        what = f"conv2d_naive(x{tuple(shape)}, weight{tuple(wshape)}, stride={stride}, padding={padding})"
        if bias_mode == "omitted":
            got = student.call("conv2d_naive", x, weight, stride=stride, padding=padding, device=device)
        else:
            got = student.call("conv2d_naive", x, weight, bias, stride, padding, device=device)
        got = checks.tensor_on(got, what, device, dtype)
        expected = F.conv2d(x.double(), weight.double(), None if bias is None else bias.double(), stride, padding)
        tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-7, "atol": 1e-9}
        if tuple(got.shape) == tuple(expected.shape) and not torch.allclose(got.double(), expected, **tolerance):
            flipped = F.conv2d(
                x.double(), weight.double().flip(2, 3), None if bias is None else bias.double(), stride, padding
            )
            if torch.allclose(got.double(), flipped, **tolerance):
                raise Mistake(MISTAKES["kernel_flipped"], "kernel_flipped")
            if bias is not None and torch.allclose(
                got.double(), F.conv2d(x.double(), weight.double(), None, stride, padding), **tolerance
            ):
                raise Mistake(MISTAKES["naive_bias"], "naive_bias")
        if tuple(got.shape) != tuple(expected.shape) or not torch.allclose(got.double(), expected, **tolerance):
            if stride > 1 or padding > 0:
                raise Mistake(MISTAKES["naive_stride_padding"], "naive_stride_padding", what=what)
            checks.close(got, expected, what, **tolerance)


# Blocked in the student's process while the grader calls `conv2d_naive` (grader.kit.forbid).
CONV_FUNCTIONS = [
    ["torch.nn.functional", "conv1d"],
    ["torch.nn.functional", "conv2d"],
    ["torch.nn.functional", "conv3d"],
    ["torch", "conv1d"],
    ["torch", "conv2d"],
    ["torch", "conv3d"],
    ["torch", "convolution"],
    ["torch", "_convolution"],
    ["torch.nn", "Conv1d.forward"],
    ["torch.nn", "Conv2d.forward"],
]
CONV_FORBIDDEN = "GRADER_CONV_FORBIDDEN"
FORBIDDEN_NAMES = {"conv1d", "conv2d", "conv3d", "Conv1d", "Conv2d", "Conv3d", "convolution", "_convolution"}


def names_used(cells: list[str], function: str) -> set[str]:
    """Attribute and variable names inside the student's definition of `function`."""
    found = set()
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == function:
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Attribute):
                        found.add(inner.attr)
                    elif isinstance(inner, ast.Name):
                        found.add(inner.id)
    return found


@pytest.mark.exercise("conv2d_naive")
def test_conv2d_naive_uses_no_convolution_operator(student):
    """funciona com os operadores de convolução do PyTorch bloqueados, e não os menciona
    en: works with PyTorch's convolution operators blocked, and does not mention them
    """
    checks.expect(
        not names_used(student.cells, "conv2d_naive") & FORBIDDEN_NAMES,
        MISTAKES["conv_operator_used"],
        "conv_operator_used",
    )
    x, weight = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    try:
        with checks.forbidding(student, CONV_FUNCTIONS, CONV_FORBIDDEN, "conv2d_naive"):
            got, trace = student.call("conv2d_naive", x, weight, trace_ops=True)
    except StudentError as exc:
        if CONV_FORBIDDEN in str(getattr(exc, "error", {}).get("message", "")):
            raise Mistake(MISTAKES["conv_operator_used"], "conv_operator_used") from None
        raise
    # At the operator level, whatever Python name reached it (getattr, torch._C, torch.ops...).
    checks.expect(not convolution_operators(trace.ops), MISTAKES["conv_operator_used"], "conv_operator_used")
    checks.close(checks.tensor(got, "conv2d_naive(x, weight)"), F.conv2d(x, weight), "conv2d_naive(x, weight)")


def convolution_operators(ops: frozenset[str]) -> set[str]:
    """The ATen convolution kernels among `ops` (convolution, _convolution, cudnn_convolution,
    mkldnn_convolution, slow_conv2d, conv_depthwise2d, conv_tbc...); `im2col` (unfold) is allowed."""
    return {op for op in ops if "conv" in op and "convert" not in op}


# ----------------------------------------------------------------------- ConvBlock

BLOCK_SHAPES = [(3, 8, (2, 3, 8, 8)), (1, 4, (3, 1, 7, 9)), (5, 2, (2, 5, 6, 5)), (2, 16, (4, 2, 12, 2))]


@pytest.mark.exercise("ConvBlock")
def test_conv_block_shapes(student, device):
    """(N, in, H, W) vira (N, out, H//2, W//2), também com H e W ímpares
    en: (N, in, H, W) becomes (N, out, H//2, W//2), odd H and W too
    """
    for cin, cout, shape in BLOCK_SHAPES:
        block = student.call("ConvBlock", cin, cout, keep=True)
        student.call_handle(block, ["to"], device, name=f"ConvBlock({cin}, {cout}).to")
        out = checks.tensor_on(
            student.call_handle(block, [], torch.randn(shape), device=device, name=f"ConvBlock({cin}, {cout})(x)"),
            "ConvBlock(x)",
            device,
        )
        expected = (shape[0], cout, shape[2] // 2, shape[3] // 2)
        checks.expect(
            tuple(out.shape) == expected,
            MISTAKES["block_shape"],
            "block_shape",
            cin=cin,
            cout=cout,
            input=shape,
            expected=expected,
            actual=tuple(out.shape),
        )


@pytest.mark.exercise("ConvBlock")
def test_conv_block_layers_in_order_train_and_eval(student, device):
    """Conv2d → BatchNorm2d → ReLU → MaxPool2d com os próprios pesos, em treino e em avaliação
    en: Conv2d → BatchNorm2d → ReLU → MaxPool2d with its own weights, in training and in eval mode
    """
    cin, cout = 3, 6
    x = torch.randn(4, cin, 10, 10, generator=torch.Generator().manual_seed(7)) * 2 + 1
    block = student.call("ConvBlock", cin, cout, keep=True)
    student.call_handle(block, ["to"], device, name="ConvBlock.to")
    parts = block_parts(student.call_handle(block, ["state_dict"], name="ConvBlock.state_dict"), cin, cout)
    student.call_handle(block, ["train"], name="ConvBlock.train")
    trained = checks.tensor(student.call_handle(block, [], x, device=device, name="ConvBlock(x)"), "ConvBlock(x)")
    expected, mean, var = block_reference(parts, x, training=True)
    tolerance = {"rtol": 1e-3, "atol": 1e-4}
    if tuple(trained.shape) != tuple(expected.shape) or not torch.allclose(trained.double(), expected, **tolerance):
        swapped, _, _ = block_reference(parts, x, training=True, relu_first=True)
        if tuple(trained.shape) == tuple(swapped.shape) and torch.allclose(trained.double(), swapped, **tolerance):
            raise Mistake(MISTAKES["block_order"], "block_order")
        raise Mistake(MISTAKES["block_wrong"], "block_wrong", mode="train")
    after = block_parts(student.call_handle(block, ["state_dict"], name="ConvBlock.state_dict"), cin, cout)
    checks.expect(
        torch.allclose(after["running_mean"].double(), mean, **tolerance)
        and torch.allclose(after["running_var"].double(), var, **tolerance),
        MISTAKES["block_wrong"],
        "block_wrong",
        mode="running_mean/running_var",
    )
    student.call_handle(block, ["eval"], name="ConvBlock.eval")
    evaluated = checks.tensor(student.call_handle(block, [], x, device=device, name="ConvBlock(x)"), "ConvBlock(x)")
    expected, _, _ = block_reference(after, x, training=False)
    checks.expect(
        tuple(evaluated.shape) == tuple(expected.shape) and torch.allclose(evaluated.double(), expected, **tolerance),
        MISTAKES["block_wrong"],
        "block_wrong",
        mode="eval",
    )


# ----------------------------------------------------------------------- CNNs


@pytest.mark.exercise("build_signal_cnn")
@pytest.mark.parametrize("n_classes", [3, 5])
def test_signal_cnn_shapes(student, device, n_classes):
    """(N, 1, 128) vira (N, n_classes), em treino e em avaliação, com uma Conv1d
    en: (N, 1, 128) becomes (N, n_classes), in training and in eval mode, with a Conv1d
    """
    model = (
        student.call("build_signal_cnn", n_classes, keep=True)
        if n_classes != 3
        else student.call("build_signal_cnn", keep=True)
    )
    checks.expect(has_layer(student, model, "Conv1d"), MISTAKES["no_conv1d"], "no_conv1d")
    student.call_handle(model, ["to"], device, name="model.to")
    for mode, batch in (("train", 6), ("eval", 1), ("eval", 5)):
        student.call_handle(model, [mode], name=f"model.{mode}()")
        out = checks.tensor_on(
            student.call_handle(model, [], torch.randn(batch, 1, 128), device=device, name="model(x)"),
            "model(x)",
            device,
        )
        checks.expect(
            tuple(out.shape) == (batch, n_classes),
            checks.LOGITS_SHAPE,
            "logits_shape",
            what=f"model(x) [{mode}]",
            expected=(batch, n_classes),
            actual=tuple(out.shape),
        )
        checks.logits_not_probabilities(out, f"model(x) [{mode}]")


@pytest.mark.exercise("train_signal_cnn")
def test_train_signal_cnn(student, device):
    """≥ 95% em 1000 sinais que o corretor sorteia, no dispositivo pedido, em até 60 s
    en: ≥ 95% on 1000 signals drawn by the grader, on the requested device, within 60 s
    """
    X, y = make_signals(1000, seed=HIDDEN_SIGNAL_SEED)
    model = checks.trained_model(student, "train_signal_cnn", device, 60)
    accuracy = checks.classifier_accuracy(student, model, X, y, device, "model")
    checks.expect(
        accuracy >= 0.95,
        MISTAKES["accuracy"],
        "accuracy",
        accuracy=accuracy,
        data="1000 sinais do corretor / 1000 grader signals",
        device=device,
    )


@pytest.mark.exercise("train_digits_cnn")
def test_train_digits_cnn(student, device):
    """≥ 95% no teste fixo dos dígitos, no dispositivo pedido, em até 90 s, com uma Conv2d
    en: ≥ 95% on the fixed digits test set, on the requested device, within 90 s, with a Conv2d
    """
    _, _, X, y = digits_split()
    model = checks.trained_model(student, "train_digits_cnn", device, 90, blind=True)
    checks.expect(has_layer(student, model, "Conv2d"), MISTAKES["no_conv2d"], "no_conv2d")
    accuracy = checks.classifier_accuracy(
        student, model, X, y, device, "model", wrong_labels=checks.wrong_labels_of(digits_split)
    )
    checks.expect(
        accuracy >= 0.95, MISTAKES["accuracy"], "accuracy", accuracy=accuracy, data="digits_split()", device=device
    )
