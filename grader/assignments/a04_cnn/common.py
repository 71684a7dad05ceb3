"""Grading-side helpers shared by the public and hidden checks of 04_cnn: sizes as PyTorch
computes them, the known wrong formulas, the conv block's expected behaviour, and the
evaluation of a trained classifier."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader import checks
from grader.assignments.a04_cnn import MISTAKES, probes
from grader.checks import Mistake
from grader.engine.protocol import Handle
from grader.i18n import Text


def whole(value: Any, what: str) -> int:
    """An exact integer from a number the student returned; a fraction means `/` for `//`."""
    return checks.whole(value, what, MISTAKES["float_division"], "float_division")


# What PyTorch's own layers give, asked of real layers. The checks draw the same hundreds of cases
# for every submission and a layer costs milliseconds to build, so a grading process asks each once.


@cache
def torch_conv_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """What nn.Conv1d itself makes of a side of `size`."""
    layer = nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, size)).shape[-1])


@cache
def torch_pool_size(size: int, kernel: int, stride: int | None = None, padding: int = 0) -> int:
    return int(nn.MaxPool1d(kernel, stride=stride, padding=padding)(torch.zeros(1, 1, size)).shape[-1])


@cache
def torch_conv2d_shape(shape: tuple, out_channels: int, kernel, stride, padding, dilation) -> tuple[int, ...]:
    """The output shape of nn.Conv2d on an input of `shape` (int or (h, w) parameters)."""
    layer = nn.Conv2d(shape[1], out_channels, kernel, stride=stride, padding=padding, dilation=dilation)
    with torch.no_grad():
        return tuple(layer(torch.zeros(shape)).shape)


@cache
def torch_conv2d_param_count(in_channels: int, out_channels: int, kernel, bias: bool) -> int:
    return sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, kernel, bias=bias).parameters())


def conv_size_mistake(actual: int, size: int, kernel: int, stride: int, padding: int, dilation: int) -> str | None:
    """The known slip that gives `actual` for these parameters, if one does."""
    span = dilation * (kernel - 1) + 1
    candidates = {
        "missing_plus_one": (size + 2 * padding - span) // stride,
        "padding_once": (size + padding - span) // stride + 1,
        "dilation_ignored": (size + 2 * padding - kernel) // stride + 1,
        "stride_ignored": size + 2 * padding - span + 1,
    }
    expected = (size + 2 * padding - span) // stride + 1
    for key, value in candidates.items():
        if value == actual != expected:
            return key
    return None


CONV_BATCH = 8  # CONV_OUTPUT_SHAPE's input is (8, 3, LADO, LADO): the statement's batch
PARAMS = ("LADO", "FILTROS", "KERNEL", "STRIDE", "PADDING")  # CONV_OUTPUT_SHAPE's numbers


def conv_output_shape_check(student, params: dict, expected: tuple) -> None:
    """`CONV_OUTPUT_SHAPE` against `expected`, the shape the student's own layer gives; the
    numbers are the student's own (the `params` fixture), never the notebook's. Names the slip."""
    what = "CONV_OUTPUT_SHAPE"
    got = student.get(what)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        detail = repr(tuple(got))[:80] if isinstance(got, (tuple, list)) else checks.describe_type(got)
        raise Mistake(MISTAKES["constant_not_shape"], "constant_not_shape", detail=detail)
    got = tuple(whole(v, what) for v in got)
    if got == tuple(expected):
        return
    if got[0] != expected[0]:
        raise Mistake(MISTAKES["batch_changed"], "batch_changed", what=what, expected=expected[0])
    if got[1] != expected[1]:
        raise Mistake(MISTAKES["channels_not_filters"], "channels_not_filters", filters=expected[1])
    side = next(s for s, e in zip(got[2:], expected[2:]) if s != e)
    numbers = {k: int(params[k]) for k in ("LADO", "KERNEL", "STRIDE", "PADDING")}
    key = conv_size_mistake(side, *numbers.values(), 1)
    if key:
        raise Mistake(MISTAKES[key], key, what=what)
    raise Mistake(MISTAKES["conv_shape_wrong"], "conv_shape_wrong", actual=got, **{k: params[k] for k in PARAMS})


# ----------------------------------------------------------------------- ConvBlock


def block_parts(state: Any, cin: int, cout: int) -> dict:
    """The conv's and the BatchNorm's tensors in a ConvBlock's state_dict, found by shape
    and role (any attribute names)."""
    if not isinstance(state, dict):
        raise Mistake(MISTAKES["block_layers"], "block_layers", cin=cin, cout=cout, detail=checks.describe_type(state))
    kernels = [k for k, v in state.items() if isinstance(v, torch.Tensor) and v.dim() == 4]
    norms = [k[: -len("running_mean")] for k in state if k.endswith("running_mean")]
    if len(kernels) != 1 or tuple(state[kernels[0]].shape) != (cout, cin, 3, 3):
        shapes = [tuple(state[k].shape) for k in kernels]
        raise Mistake(
            MISTAKES["block_layers"],
            "block_layers",
            cin=cin,
            cout=cout,
            detail=Text(pt=f"pesos 4-D: {shapes}", en=f"4-D weights: {shapes}"),
        )
    if len(norms) != 1 or tuple(state[norms[0] + "running_mean"].shape) != (cout,):
        raise Mistake(
            MISTAKES["block_layers"],
            "block_layers",
            cin=cin,
            cout=cout,
            detail=f"BatchNorm: {[tuple(state[n + 'running_mean'].shape) for n in norms]}",
        )
    conv, norm = kernels[0][: -len("weight")], norms[0]
    return {
        "weight": state[kernels[0]],
        "bias": state.get(conv + "bias"),
        "bn_weight": state.get(norm + "weight"),
        "bn_bias": state.get(norm + "bias"),
        "running_mean": state[norm + "running_mean"],
        "running_var": state[norm + "running_var"],
    }


def block_reference(parts: dict, x: torch.Tensor, training: bool, relu_first: bool = False):
    """(output, running_mean, running_var) of Conv2d(3, pad 1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)."""
    x = x.double()
    mean, var = parts["running_mean"].double().clone(), parts["running_var"].double().clone()
    bias = None if parts["bias"] is None else parts["bias"].double()
    y = F.conv2d(x, parts["weight"].double(), bias, padding=1)
    if relu_first:
        y = F.relu(y)
    y = F.batch_norm(
        y,
        mean,
        var,
        None if parts["bn_weight"] is None else parts["bn_weight"].double(),
        None if parts["bn_bias"] is None else parts["bn_bias"].double(),
        training=training,
    )
    if not relu_first:
        y = F.relu(y)
    return F.max_pool2d(y, 2), mean, var


# ----------------------------------------------------------------------- trained models

# The trained model and its evaluation: checks.trained_model, checks.classifier_accuracy.

HAS_LAYER = Path(probes.__file__).read_text(encoding="utf-8")  # run in the student's process


def has_layer(student, model: Handle, kind: str) -> bool:
    return student.run_grader_code(HAS_LAYER, "has_layer", model, kind, name=f"{kind}?") is True
