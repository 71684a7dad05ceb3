"""Checks that graders use on the plain data a student's code returned.

Each check raises `Mistake` with feedback written for the student; nothing here trusts
the student's types: a number is taken from a Python number, a numpy scalar or a 0-D
tensor, and anything else is reported by its type.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from grader.engine.protocol import Handle, Opaque, tensor_meta
from grader.i18n import LocalizedError, Text


class Mistake(LocalizedError, AssertionError):
    """A failed check: `text` is the feedback, `key` names a known mistake (for tests and
    statistics), and `fields` fill the text's placeholders."""

    def __init__(self, text: Text, key: str | None = None, **fields: Any) -> None:
        self.key = key
        super().__init__(text, **fields)


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
        return f"Tensor{tuple(value.shape)}" + (" (meta)" if value.is_meta else "")
    return type(value).__name__


NOT_A_NUMBER = Text(
    pt="{what}: esperava um número (int, float ou tensor 0-D), mas recebi `{type}`.",
    en="{what}: expected a number (int, float or 0-D tensor), got `{type}`.",
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
NO_DATA = Text(
    pt="{what}: o tensor está no dispositivo `meta` (só forma e dtype, sem valores); devolva-o no dispositivo "
    "da entrada.",
    en="{what}: the tensor is on the `meta` device (a shape and a dtype, no values); return it on the input's device.",
)
NOT_A_TENSOR_SUBCLASS = Text(
    pt="{what}: devolva um `torch.Tensor` comum, não uma subclasse.",
    en="{what}: return a plain `torch.Tensor`, not a subclass.",
)


def number(value: Any, what: str) -> float:
    """A Python float from a number the student returned (bool, int, float, numpy, 0-D tensor)."""
    if type(value) in (bool, int, float):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "biuf":
        return float(value[()])
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_complex() and not value.is_meta:
        return float(value.item())
    raise Mistake(NOT_A_NUMBER, "not_a_number", what=what, type=describe_type(value))


def whole(value: Any, what: str, text: Text, key: str) -> int:
    """An exact integer from a number the student returned (int, integral float, 0-D tensor);
    a fraction raises Mistake(text, key) with `what` and `value`."""
    result = number(value, what)
    if result != int(result):
        raise Mistake(text, key, what=what, value=result)
    return int(result)


def tensor(value: Any, what: str) -> torch.Tensor:
    """The tensor the student returned, with values (not on `meta`), or a Mistake saying what
    came instead."""
    result = _plain_tensor(value, what)
    if result.is_meta:  # a grader that asks for `meta` uses tensor_on
        raise Mistake(NO_DATA, "wrong_device", what=what)
    return result


def _plain_tensor(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise Mistake(NOT_A_TENSOR, "not_a_tensor", what=what, type=describe_type(value))
    meta = tensor_meta(value)
    if meta is not None and meta.subclass:
        raise Mistake(NOT_A_TENSOR_SUBCLASS, "tensor_subclass", what=what)
    return value


def tensor_on(value: Any, what: str, device: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """`tensor`, then: it lived on `device` in the student's process (and has `dtype`).
    With device "meta" the tensor is one without values, of which shape and dtype count."""
    result = _plain_tensor(value, what)
    on_device(result, device, what)
    if dtype is not None:
        same_dtype(result, dtype, what)
    return result


def shape(value: torch.Tensor, expected: tuple, what: str) -> None:
    if tuple(value.shape) != tuple(expected):
        raise Mistake(WRONG_SHAPE, "wrong_shape", what=what, expected=tuple(expected), actual=tuple(value.shape))


def same_dtype(value: torch.Tensor, expected: torch.dtype, what: str) -> None:
    if value.dtype != expected:
        raise Mistake(
            WRONG_DTYPE,
            "wrong_dtype",
            what=what,
            expected=str(expected).removeprefix("torch."),
            actual=str(value.dtype).removeprefix("torch."),
        )


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


def close(
    actual: torch.Tensor,
    expected: torch.Tensor,
    what: str,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    hint: Text | None = None,
    key: str | None = None,
) -> None:
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

NOT_A_MODEL = Text(
    pt="`{name}` deve devolver o modelo treinado (um `nn.Module`), mas devolveu `{type}`.",
    en="`{name}` must return the trained model (an `nn.Module`), but it returned `{type}`.",
)
LOGITS_SHAPE = Text(
    pt="{what} deveria ter forma {expected} (um logit por classe), mas tem {actual}.",
    en="{what} should have shape {expected} (one logit per class), but has {actual}.",
)
DIVERGED = Text(
    pt="O modelo devolve NaN ou infinito: o treino divergiu. Reduza a taxa de aprendizado.",
    en="The model returns NaN or infinity: training diverged. Lower the learning rate.",
)
DOUBLE_SOFTMAX = Text(
    pt="{what} devolve probabilidades, não logits: cada linha é não negativa e soma 1, sinal de uma softmax "
    "(`nn.Softmax`, `F.softmax`) no fim da rede. A `nn.CrossEntropyLoss` já aplica a log-softmax por conta "
    "própria; com outra softmax antes, ela é aplicada duas vezes, achata os gradientes (o treino fica lento e a "
    "perda não desce de um piso, ≈ 0,55 com 3 classes, nem com tudo certo) e a saída deixa de ser o que o "
    "contrato pede. Tire a softmax do `forward` e devolva os escores brutos da última camada; aplique "
    "`torch.softmax(logits, dim=1)` só na hora de ler probabilidades.",
    en="{what} returns probabilities, not logits: every row is non-negative and sums to 1, the mark of a softmax "
    "(`nn.Softmax`, `F.softmax`) at the end of the network. `nn.CrossEntropyLoss` applies log-softmax itself; "
    "with another softmax before it, softmax is applied twice, the gradients are squashed (training slows and "
    "the loss cannot go below a floor, ≈ 0.55 with 3 classes, even with everything right) and the output is no "
    "longer what the contract asks for. Take the softmax out of `forward` and return the last layer's raw "
    "scores; apply `torch.softmax(logits, dim=1)` only when you want to read probabilities.",
)


def looks_like_probabilities(out: torch.Tensor) -> bool:
    """True when every row of a (N, C) output, N >= 2 and C >= 2, is a probability
    distribution: no entry below zero and each row summing to 1 (within 1e-3, which holds for
    a float16 softmax and is far from what raw scores give by chance).

    Raw scores of a real network (random or trained) are never non-negative and normalised on
    every row of several inputs, so the test needs no reference output; one row alone is not
    judged. Log-probabilities (`nn.LogSoftmax`, `log(softmax(z))`) pass as logits: they are
    logits shifted by a constant per row (`log_softmax(z) = z - logsumexp(z)`), softmax and
    arg-max give the same result on them, and `CrossEntropyLoss` on them equals it on `z`
    because log-softmax is idempotent. So outputs whose exp() sums to 1 per row, with negative
    values, are accepted; only outputs that are themselves probabilities are refused."""
    if out.dim() != 2 or out.shape[0] < 2 or out.shape[1] < 2 or not out.is_floating_point():
        return False
    values = out.detach().double()
    if not bool(torch.isfinite(values).all()):
        return False
    return bool((values >= -1e-6).all()) and bool(((values.sum(dim=1) - 1).abs() <= 1e-3).all())


def logits_not_probabilities(out: torch.Tensor, what: str) -> None:
    """Mistake 'double_softmax' when a model asked for logits returned probabilities
    (see `looks_like_probabilities`, which also says why log-probabilities are accepted)."""
    if looks_like_probabilities(out):
        raise Mistake(DOUBLE_SOFTMAX, "double_softmax", what=what)


TRAINED_ON_TEST = Text(
    pt="O modelo aprendeu com as imagens de teste: nelas ele acerta rótulos que só quem treinou com o teste "
    "poderia conhecer. O teste existe para medir o modelo em imagens que ele nunca viu; treinar com ele (juntar "
    "treino e teste, usar `load_digits()` inteiro, somar as imagens de teste às de treino) faz a acurácia "
    "prometer o que o modelo não entrega. Treine só com a parte de treino; para acompanhar o treino, separe uma "
    "validação de dentro dela.",
    en="The model learned from the test images: on them it gives labels only a model trained on the test set could "
    "know. The test set exists to measure the model on images it has never seen; training on it (joining train "
    "and test, using all of `load_digits()`, adding the test images to the training ones) makes the accuracy "
    "promise what the model does not deliver. Train on the training part only; to follow training, carve a "
    "validation set out of it.",
)
BLIND_SEED = 4242  # fixed: a grade never depends on the run
BLIND = """
def blind(seed):
    from grader.kit.data import blind_test_labels
    return blind_test_labels(seed)
"""


def trained_model(student, name: str, device: str, timeout: float, blind: bool = False) -> Handle:
    """The model `name(device)` returns, trained once per device and student process.

    With `blind` (models trained on scikit-learn's digits), the fixed test split carries wrong
    labels while the student's function runs (`kit.data.blind_test_labels`), however the
    function loads the digits: a model that learned from test images then agrees with those
    wrong labels, which `classifier_accuracy(..., wrong_labels=...)` recognises."""
    restore = student.run_grader_code(BLIND, "blind", BLIND_SEED, keep=True, name=name) if blind else None
    try:
        model = student.call(name, device, keep=True, reuse=True, timeout=timeout)
    finally:
        if restore is not None:
            try:
                student.call_handle(restore, [], name=name)
            except Exception:  # the student's process was replaced meanwhile: nothing is blinded there
                pass
    if not isinstance(model, Handle):
        raise Mistake(NOT_A_MODEL, "not_a_model", name=name, type=describe_type(model))
    return model


def wrong_labels_of(task) -> torch.Tensor:
    """The test labels `task()` (`digits_split`, `target_task`) gives while the digits are
    blinded with BLIND_SEED: what a model that trained on the test images learned."""
    from grader.kit.data import blind_test_labels

    restore = blind_test_labels(BLIND_SEED)
    try:
        return task()[3]
    finally:
        restore()


def not_trained_on_test(predictions: torch.Tensor, y: torch.Tensor, wrong_labels: torch.Tensor) -> None:
    """Mistake 'trained_on_test' when a model's errors on the test split are mostly the wrong
    labels the split carried while it trained. An honest model's errors fall on those labels
    only by chance (about one error in four to nine); a model that saw the test images with
    them learned them (most of its errors)."""
    errors = int((predictions != y).sum())
    fooled = int((predictions == wrong_labels).sum())
    if fooled >= max(5, 0.02 * len(y)) and 2 * fooled >= errors:
        raise Mistake(TRAINED_ON_TEST, "trained_on_test")


def classifier_accuracy(
    student,
    model: Handle,
    X: torch.Tensor,
    y: torch.Tensor,
    device: str,
    what: str,
    wrong_labels: torch.Tensor | None = None,
) -> float:
    """The grader runs the student's model itself, in eval mode: the fraction of X whose
    arg-max logit is y. Outputs that are probabilities instead of logits fail first, whatever
    the accuracy (a network ending in a softmax can still reach the threshold); so does a model
    that learned from X itself, where `wrong_labels` (see `trained_model(blind=True)`) are given."""
    classes = int(y.max()) + 1
    student.call_handle(model, ["eval"], name=f"{what}.eval()")
    logits = tensor_on(student.call_handle(model, [], X, device=device, name=f"{what}(X)"), f"{what}(X)", device)
    if tuple(logits.shape) != (len(X), classes):
        raise Mistake(
            LOGITS_SHAPE, "logits_shape", what=f"{what}(X)", expected=(len(X), classes), actual=tuple(logits.shape)
        )
    finite(logits, f"{what}(X)", DIVERGED, "diverged")
    logits_not_probabilities(logits, f"{what}(X)")
    predictions = logits.argmax(dim=1)
    if wrong_labels is not None:
        not_trained_on_test(predictions, y, wrong_labels)
    return float((predictions == y).double().mean())


FORBID_SOURCE = (Path(__file__).parent / "kit" / "forbid.py").read_text(encoding="utf-8")


@contextlib.contextmanager
def forbidding(student, targets: list[list[str]], marker: str, name: str) -> Iterator[None]:
    """While the block runs, each library function of `targets` (`[module, "attribute.path"]`)
    raises `RuntimeError(marker)` in the student's process (`grader.kit.forbid`); afterwards
    the originals are back (unless that process was replaced meanwhile: then nothing is blocked)."""
    restore = student.run_grader_code(FORBID_SOURCE, "forbid", targets, marker, keep=True, name=name)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            student.call_handle(restore, [], name=name)
