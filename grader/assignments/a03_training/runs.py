"""Grading-side helpers shared by the public and hidden checks of 03_training.

A `Run` is one set of harness objects (model, loaders, loss, optimizer, log) built in
the student's process from data and initial weights made here; `Run.local` builds the
same objects in the grading process for a reference run. The judging helpers compare
plain data and name the mistake from the run's event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sklearn.datasets import load_iris

from grader import checks
from grader.assignments.a03_training import MISTAKES, harness
from grader.checks import Mistake
from grader.engine.protocol import Handle, tensor_meta
from grader.i18n import Text

HARNESS_SOURCE = Path(harness.__file__).read_text(encoding="utf-8")

# Weights after an epoch: a loop that computes the same thing in another order (or under
# TF32 on a GPU) lands within these; each known mistake lands far outside.
STATE_RTOL, STATE_ATOL = 1e-3, 1e-4
LOSS_RTOL, LOSS_ATOL = 1e-3, 1e-6


def classification_data(
    seed: int, n: int, n_val: int = 0, *, features: int = 5, classes: int = 3, noise: float = 0.0
) -> dict:
    """Points labelled by a random linear rule; `noise`: the fraction of training labels redrawn."""
    g = torch.Generator().manual_seed(seed)
    rule = torch.randn(features, classes, generator=g)
    X = torch.randn(n, features, generator=g)
    y = (X @ rule).argmax(dim=1)
    flip = torch.rand(n, generator=g) < noise
    y = torch.where(flip, torch.randint(0, classes, (n,), generator=g, dtype=torch.int64), y)
    data = {"X": X, "y": y}
    if n_val:
        X_val = torch.randn(n_val, features, generator=g)
        data.update(X_val=X_val, y_val=(X_val @ rule).argmax(dim=1))
    return data


def regression_data(seed: int, n: int, features: int = 5) -> dict:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, features, generator=g)
    return {"X": X, "y": (X.sin() @ torch.randn(features, 1, generator=g)) + 0.1}


def spec(
    model: str,
    optimizer: str,
    *,
    lr: float,
    batch_size: int = 8,
    mode: str = "train",
    loss: str = "cross_entropy",
    outputs: int = 3,
    seed: int = 0,
    val_batch_size: int | None = None,
    **optimizer_args,
) -> dict:
    """A run's description for `harness.build_run` (plain data: it travels to the student's process).
    `mode`: the mode the model is handed over in; `seed`: initial weights and data order."""
    return {
        "model": model,
        "features": 5,
        "outputs": outputs,
        "init_seed": seed,
        "shuffle_seed": seed + 100,
        "batch_size": batch_size,
        "val_batch_size": val_batch_size or batch_size,
        "mode": mode,
        "loss": loss,
        "optimizer": optimizer,
        "optimizer_args": {"lr": lr, **optimizer_args},
    }


@dataclass
class Run:
    spec: dict
    state: dict  # the initial weights and buffers
    data: dict
    device: str
    model: Any
    train_loader: Any
    val_loader: Any
    loss_fn: Any
    optimizer: Any
    log: Any

    @classmethod
    def start(cls, student, spec: dict, data: dict, device: str) -> Run:
        """The run's objects, built in the student's process and kept there (handles)."""
        state = harness.initial_state(spec)
        objects = student.run_grader_code(
            HARNESS_SOURCE, "build_run", spec, state, data, device, keep=True, name="harness"
        )
        return cls(spec, state, data, device, *objects)

    def local(self) -> tuple:
        """The same objects in the grading process, for a reference run."""
        return harness.build_run(self.spec, self.state, self.data, self.device)

    def facts(self, student) -> dict:
        """Weights and buffers, event log and mode of the student's-side model, as plain data."""
        return student.run_grader_code(HARNESS_SOURCE, "run_facts", self.model, self.log, name="harness")


def state_on_cpu(model) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def same_state(got: Any, expected: dict, rtol: float = STATE_RTOL, atol: float = STATE_ATOL) -> bool:
    """Every weight and buffer of `expected` is in `got`, with the same shape and close values."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return False
    for key, value in expected.items():
        other = got[key]
        if not isinstance(other, torch.Tensor) or other.shape != value.shape:
            return False
        if not torch.allclose(other.double(), value.double(), rtol=rtol, atol=atol):
            return False
    return True


def loss_number(value: Any, what: str) -> float:
    """A loss the student returned: a Python number, or a tensor without a graph."""
    if isinstance(value, torch.Tensor):
        meta = tensor_meta(value)
        if meta is not None and meta.requires_grad:
            raise Mistake(MISTAKES["loss_keeps_graph"], "loss_keeps_graph", what=what)
    return checks.number(value, what)


def close_number(actual: float, expected: float, rtol: float = LOSS_RTOL, atol: float = LOSS_ATOL) -> bool:
    return abs(actual - expected) <= atol + rtol * abs(expected)


def training_mistake(events: list) -> str | None:
    """The known mistake a training epoch's event log shows, if any (the first one seen)."""
    forwards = [e for e in events if e[0] == "forward"]
    if any(not e[1] for e in forwards):
        return "no_train_mode"
    if forwards and not any(e[0] == "loss" for e in events):
        return "ignores_loss_fn"
    if not any(e[0] == "step" for e in events):
        return "ignores_optimizer" if not any(e[0] == "backward" for e in events) else "no_step"
    if not any(e[0] == "zero_grad" for e in events):
        return "no_zero_grad"
    pending = dirty = False  # a backward not yet used by a step; gradients not reset since
    for event in events:
        kind = event[0]
        if kind == "backward":
            if pending:
                return "step_order"
            if dirty:
                return "no_zero_grad"
            pending = dirty = True
        elif kind == "step":
            if not pending:
                return "step_order"
            pending = False
        elif kind == "zero_grad":
            if pending:
                return "step_order"
            dirty = False
    return None


def evaluation_mistake(events: list) -> str | None:
    if any(e[0] in ("backward", "step") for e in events):
        return "eval_updates_weights"
    forwards = [e for e in events if e[0] == "forward"]
    if any(e[1] for e in forwards):
        return "no_eval_mode"
    if any(e[2] for e in forwards):
        return "no_no_grad"
    return None


def logged_losses(events: list) -> list[tuple[float, int]]:
    return [(float(e[1]), int(e[2])) for e in events if e[0] == "loss"]


def check_epoch_loss(value: float, expected: float, events: list, what: str) -> None:
    """The epoch's loss is the sample-weighted mean of its batch losses; name the usual slips."""
    if close_number(value, expected):
        return
    losses = logged_losses(events)
    if losses:
        unweighted = sum(v for v, _ in losses) / len(losses)
        if close_number(value, unweighted) and not close_number(unweighted, expected):
            raise Mistake(MISTAKES["unweighted_mean"], "unweighted_mean", what=what)
        if close_number(value, losses[-1][0]):
            raise Mistake(MISTAKES["last_batch_loss"], "last_batch_loss", what=what)
    raise Mistake(MISTAKES["loss_wrong"], "loss_wrong", what=what, actual=value, expected=expected)


def evaluation_expected(run: Run, state: dict | None = None) -> tuple[float, float]:
    """Loss and accuracy on the validation data by their definitions (the whole set at
    once, eval mode), for the run's initial weights or `state`."""
    model, _, _, loss_fn, _, _ = run.local()
    if state is not None:
        model.load_state_dict(state)
    model.eval()
    X, y = run.data["X_val"].to(run.device), run.data["y_val"].to(run.device)
    with torch.no_grad():
        logits = model(X)
        loss = loss_fn.loss(logits, y)
    return float(loss), float((logits.argmax(dim=1) == y).double().mean())


def check_evaluation(result: Any, run: Run, facts: dict, what: str) -> None:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Mistake(MISTAKES["evaluate_pair"], "evaluate_pair", detail=checks.describe_type(result))
    loss = loss_number(result[0], f"{what}[0]")
    accuracy = loss_number(result[1], f"{what}[1]")
    mistake = evaluation_mistake(facts["events"])
    if not same_state(facts["state"], run.state, rtol=0, atol=1e-7):
        raise Mistake(MISTAKES[mistake or "eval_updates_weights"], mistake or "eval_updates_weights")
    if mistake is not None:
        raise Mistake(MISTAKES[mistake], mistake)
    expected_loss, expected_accuracy = evaluation_expected(run)
    check_epoch_loss(loss, expected_loss, facts["events"], f"{what}[0]")
    if not 0 <= accuracy <= 1:
        raise Mistake(MISTAKES["accuracy_not_fraction"], "accuracy_not_fraction", actual=accuracy)
    checks.expect(
        abs(accuracy - expected_accuracy) < 1e-6,
        MISTAKES["accuracy_wrong"],
        "accuracy_wrong",
        actual=accuracy,
        expected=expected_accuracy,
    )


def check_history_shape(history: Any, epochs: int) -> dict:
    keys = ("train_loss", "val_loss", "val_acc")
    if not isinstance(history, dict) or not all(k in history for k in keys):
        detail = sorted(map(str, history)) if isinstance(history, dict) else checks.describe_type(history)
        raise Mistake(MISTAKES["history_shape"], "history_shape", epochs=epochs, detail=detail)
    out = {}
    for key in keys:
        values = history[key]
        if not isinstance(values, (list, tuple)) or len(values) != epochs:
            size = len(values) if isinstance(values, (list, tuple)) else checks.describe_type(values)
            raise Mistake(MISTAKES["history_shape"], "history_shape", epochs=epochs, detail=f"'{key}': {size}")
        out[key] = [loss_number(v, f"history['{key}']") for v in values]
    return out


# ----------------------------------------------------------------------- Iris: loaders and the trained model

IRIS_X, IRIS_Y = load_iris(return_X_y=True)
IRIS_INPUTS = torch.tensor(IRIS_X, dtype=torch.float32)
IRIS_LABELS = torch.tensor(IRIS_Y, dtype=torch.int64)  # NumPy's int32 on some platforms


def loader_passes(student, *args, **kwargs) -> dict:
    pair = student.call("make_iris_loaders", *args, keep=True, **kwargs)
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(isinstance(p, Handle) for p in pair):
        raise Mistake(MISTAKES["loaders_pair"], "loaders_pair", detail=checks.describe_type(pair))
    return student.run_grader_code(HARNESS_SOURCE, "loader_passes", *pair, name="make_iris_loaders")


TRAIN, VAL = Text(pt="treino", en="train"), Text(pt="validação", en="validation")


def batches_of(passes: list, which: Text) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    for batch in passes:
        if not (isinstance(batch, list) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)):
            raise Mistake(MISTAKES["loader_batches"], "loader_batches", which=which, detail=checks.describe_type(batch))
        X, y = batch
        if X.dim() != 2 or X.shape[1] != 4 or y.shape != (X.shape[0],):
            raise Mistake(
                MISTAKES["loader_batches"],
                "loader_batches",
                which=which,
                detail=f"X {tuple(X.shape)}, y {tuple(y.shape)}",
            )
        if X.dtype != torch.float32 or y.dtype != torch.int64:
            raise Mistake(
                MISTAKES["loader_dtypes"],
                "loader_dtypes",
                x_dtype=str(X.dtype).removeprefix("torch."),
                y_dtype=str(y.dtype).removeprefix("torch."),
            )
        out.append((X, y))
    if not out:
        raise Mistake(
            MISTAKES["loader_batches"], "loader_batches", which=which, detail=Text(pt="0 lotes", en="0 batches")
        )
    return out


def trained_iris(student, device: str) -> Handle:
    """The model `train_iris(device)` returns (trained once per device and student process), in eval mode."""
    model = checks.trained_model(student, "train_iris", device, 60)
    student.call_handle(model, ["eval"], name="model.eval()")
    return model


def iris_accuracy(student, model: Handle, inputs: torch.Tensor, device: str) -> float:
    """The grader evaluates the student's Iris model itself: its logits for `inputs`, their arg-max."""
    logits = student.call_handle(model, [], inputs, device=device, name="model(X)")
    logits = checks.tensor_on(logits, "model(X)", device)
    checks.shape(logits, (150, 3), "model(X)")
    checks.finite(logits, "model(X)", MISTAKES["iris_diverged"], "iris_diverged")
    checks.logits_not_probabilities(logits, "model(X)")  # the contract asks for logits, whatever the accuracy
    return float((logits.argmax(dim=1) == IRIS_LABELS).double().mean())
