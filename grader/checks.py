"""Checks that graders use on the plain data a student's code returned.

Each check raises `Mistake` with feedback written for the student; nothing here trusts
the student's types: a number is taken from a Python number, a numpy scalar or a 0-d
tensor, and anything else is reported by its type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from grader.engine.protocol import Handle, Opaque, tensor_meta
from grader.i18n import Text


class Mistake(AssertionError):
    """A failed check: `text` is the feedback, `key` names a known mistake (for tests and
    statistics), and `fields` fill the text's placeholders."""

    def __init__(self, text: Text, key: str | None = None, **fields: Any) -> None:
        super().__init__(text.en.format(**fields) if fields else text.en)
        self.text = text
        self.key = key
        self.fields = fields

    def render(self, lang: str = "pt") -> str:
        return self.text.render(lang, **self.fields)


def expect(condition: bool, text: Text, key: str | None = None, **fields: Any) -> None:
    """Raise Mistake(text) unless condition holds."""
    if not condition:
        raise Mistake(text, key, **fields)


def describe_type(value: Any) -> str:
    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, Handle):
        return value.type_name
    if isinstance(value, torch.Tensor):
        return f"Tensor{tuple(value.shape)}"
    return type(value).__name__


NOT_A_NUMBER = Text(
    pt="{what}: esperava um número (int, float ou tensor 0-d), mas recebi `{type}`.",
    en="{what}: expected a number (int, float or 0-d tensor), got `{type}`.",
)
NOT_A_TENSOR = Text(
    pt="{what}: esperava um `torch.Tensor`, mas recebi `{type}`.",
    en="{what}: expected a `torch.Tensor`, got `{type}`.",
)
WRONG_SHAPE = Text(
    pt="{what}: a forma (shape) deveria ser {expected}, mas é {actual}.",
    en="{what}: the shape should be {expected}, but it is {actual}.",
)
NOT_FINITE = Text(
    pt="{what}: o resultado tem NaN ou infinito para entradas finitas.",
    en="{what}: the result has NaN or infinity for finite inputs.",
)
WRONG_VALUES = Text(
    pt="{what}: valores diferentes do esperado.",
    en="{what}: values differ from the expected ones.",
)
WRONG_DTYPE = Text(
    pt="{what}: o dtype deveria ser {expected} (o mesmo da entrada), mas é {actual}.",
    en="{what}: the dtype should be {expected} (the input's), but it is {actual}.",
)
WRONG_DEVICE = Text(
    pt="{what}: o resultado deveria estar no dispositivo da entrada ({expected}), mas está em {actual}.",
    en="{what}: the result should be on the input's device ({expected}), but it is on {actual}.",
)
NOT_A_TENSOR_SUBCLASS = Text(
    pt="{what}: devolva um `torch.Tensor` comum, não uma subclasse.",
    en="{what}: return a plain `torch.Tensor`, not a subclass.",
)


def number(value: Any, what: str) -> float:
    """A Python float from a number the student returned (bool, int, float, numpy, 0-d tensor)."""
    if type(value) in (bool, int, float):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf":
        return float(value[()])
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_complex():
        return float(value.item())
    raise Mistake(NOT_A_NUMBER, "not_a_number", what=what, type=describe_type(value))


def whole(value: Any, what: str, text: Text, key: str) -> int:
    """An exact integer from a number the student returned (int, integral float, 0-d tensor);
    a fraction raises Mistake(text, key) with `what` and `value`."""
    result = number(value, what)
    if result != int(result):
        raise Mistake(text, key, what=what, value=result)
    return int(result)


def tensor(value: Any, what: str) -> torch.Tensor:
    """The tensor the student returned, or a Mistake saying what came instead."""
    if not isinstance(value, torch.Tensor):
        raise Mistake(NOT_A_TENSOR, "not_a_tensor", what=what, type=describe_type(value))
    meta = tensor_meta(value)
    if meta is not None and meta.subclass:
        raise Mistake(NOT_A_TENSOR_SUBCLASS, "tensor_subclass", what=what)
    return value


def tensor_on(value: Any, what: str, device: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """`tensor`, then: it lived on `device` in the student's process (and has `dtype`)."""
    result = tensor(value, what)
    on_device(result, device, what)
    if dtype is not None:
        same_dtype(result, dtype, what)
    return result


def shape(value: torch.Tensor, expected: tuple, what: str) -> None:
    if tuple(value.shape) != tuple(expected):
        raise Mistake(WRONG_SHAPE, "wrong_shape", what=what, expected=tuple(expected), actual=tuple(value.shape))


def same_dtype(value: torch.Tensor, expected: torch.dtype, what: str) -> None:
    if value.dtype != expected:
        raise Mistake(WRONG_DTYPE, "wrong_dtype", what=what, expected=str(expected).removeprefix("torch."),
                      actual=str(value.dtype).removeprefix("torch."))


def on_device(value: torch.Tensor, device: str, what: str) -> None:
    """The tensor lived on `device` (its type: 'cuda:0' counts as 'cuda') in the student's process."""
    meta = tensor_meta(value)
    actual = meta.device if meta is not None else str(value.device)
    if actual.split(":")[0] != str(device).split(":")[0]:
        raise Mistake(WRONG_DEVICE, "wrong_device", what=what, expected=device, actual=actual)


def finite(value: torch.Tensor, what: str, hint: Text | None = None, key: str = "not_finite") -> None:
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise Mistake(hint or NOT_FINITE, key, what=what)


# Tolerances hold under TF32 on GPUs and for float32 vs a float64 reference.
RTOL = {torch.float64: 1e-7, torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 2e-2}
ATOL = {torch.float64: 1e-9, torch.float32: 1e-5, torch.float16: 1e-3, torch.bfloat16: 1e-2}


def close(actual: torch.Tensor, expected: torch.Tensor, what: str, *, rtol: float | None = None,
          atol: float | None = None, hint: Text | None = None, key: str | None = None) -> None:
    """Shape, finiteness, then values (in float64), with tolerances by dtype unless given.
    A `hint` replaces the generic feedback; `key` names it (required with a hint)."""
    if hint is not None and key is None:
        raise TypeError("checks.close: a hint needs its key")
    key = key or "wrong_values"
    shape(actual, tuple(expected.shape), what)
    if expected.is_floating_point():
        finite_expected = torch.isfinite(expected)
        if bool((~torch.isfinite(actual.double()) & finite_expected).any()):
            raise Mistake(hint or NOT_FINITE, key if hint else "not_finite", what=what)
    dtype = actual.dtype if actual.is_floating_point() else torch.float64
    rtol = RTOL.get(dtype, 1e-4) if rtol is None else rtol
    atol = ATOL.get(dtype, 1e-5) if atol is None else atol
    if not torch.allclose(actual.double(), expected.double(), rtol=rtol, atol=atol, equal_nan=True):
        raise Mistake(hint or WRONG_VALUES, key, what=what)


# ----------------------------------------------------------------------- trained models

NOT_A_MODEL = Text(pt="`{name}` deve devolver o modelo treinado (um `nn.Module`), mas devolveu `{type}`.",
                   en="`{name}` must return the trained model (an `nn.Module`), but it returned `{type}`.")
LOGITS_SHAPE = Text(pt="{what} deveria ter forma {expected} (um logit por classe), mas tem {actual}.",
                    en="{what} should have shape {expected} (one logit per class), but has {actual}.")
DIVERGED = Text(pt="O modelo devolve NaN ou infinito: o treino divergiu. Reduza a taxa de aprendizado.",
                en="The model returns NaN or infinity: training diverged. Lower the learning rate.")


def trained_model(student, name: str, device: str, timeout: float) -> Handle:
    """The model `name(device)` returns, trained once per device and student process."""
    model = student.call(name, device, keep=True, reuse=True, timeout=timeout)
    if not isinstance(model, Handle):
        raise Mistake(NOT_A_MODEL, "not_a_model", name=name, type=describe_type(model))
    return model


def classifier_accuracy(student, model: Handle, X: torch.Tensor, y: torch.Tensor, device: str, what: str) -> float:
    """The grader runs the student's model itself, in eval mode: the fraction of X whose
    arg-max logit is y."""
    classes = int(y.max()) + 1
    student.call_handle(model, ["eval"], name=f"{what}.eval()")
    logits = tensor_on(student.call_handle(model, [], X, device=device, name=f"{what}(X)"), f"{what}(X)", device)
    if tuple(logits.shape) != (len(X), classes):
        raise Mistake(LOGITS_SHAPE, "logits_shape", what=f"{what}(X)", expected=(len(X), classes),
                      actual=tuple(logits.shape))
    finite(logits, f"{what}(X)", DIVERGED, "diverged")
    return float((logits.argmax(dim=1) == y).double().mean())
