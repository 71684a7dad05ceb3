"""Training runs the 03_training graders hand to the student's functions.

This module runs on both sides: the graders send its source to the student's process,
where `build_run` makes the objects the student's function receives (kept there as
handles), and import it in the grading process, where the same objects are built from
the same data and initial weights for the reference run. Only torch is imported, so
the source runs as it is in the student's process.

The objects record what the student's code does with them (`EventLog`): forward passes
(in which mode, with gradients or not, on which device), backward passes, gradient
resets, optimizer steps, loss values. Verdicts come from the numbers (weights, losses)
compared in the grading process; the log only names the mistake.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


class EventLog:
    """What happened to a run's model, optimizer and loss, in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def add(self, *event) -> None:
        self.events.append(tuple(event))

    def export(self) -> list:
        return [list(e) for e in self.events]

    def backward_hook(self, grad):
        self.add("backward")


class ProbeNet(nn.Module):
    """A model whose forward passes, backward passes and `zero_grad` calls are logged."""

    def __init__(self, layers: nn.Module, log: EventLog) -> None:
        super().__init__()
        self.layers = layers
        self.log = log  # a plain attribute: not part of the state_dict

    def forward(self, x):
        self.log.add("forward", bool(self.training), bool(torch.is_grad_enabled()), x.device.type, int(x.shape[0]))
        out = self.layers(x)
        if out.requires_grad:
            out.register_hook(self.log.backward_hook)
        return out

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.log.add("zero_grad", "model")
        super().zero_grad(set_to_none)


class RecordingLoss(nn.Module):
    """A loss function that logs each value it returns and the batch size."""

    def __init__(self, loss: nn.Module, log: EventLog) -> None:
        super().__init__()
        self.loss = loss
        self.log = log

    def forward(self, output, target):
        value = self.loss(output, target)
        self.log.add("loss", float(value.detach()), int(target.shape[0]))
        return value


ARCHITECTURES = ("linear", "dropout", "batchnorm", "dropout_batchnorm", "regression")


def make_layers(kind: str, features: int, outputs: int) -> nn.Module:
    if kind == "linear":
        return nn.Sequential(nn.Linear(features, outputs))
    if kind == "dropout":
        return nn.Sequential(nn.Linear(features, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, outputs))
    if kind == "batchnorm":
        return nn.Sequential(nn.Linear(features, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, outputs))
    if kind == "dropout_batchnorm":
        # No bias before BatchNorm: its gradient is zero up to rounding, which Adam would
        # blow up into full steps that differ between two processes.
        return nn.Sequential(
            nn.Linear(features, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, outputs)
        )
    if kind == "regression":
        return nn.Sequential(nn.Linear(features, 8), nn.Tanh(), nn.Linear(8, outputs))
    raise ValueError(kind)


def make_loss(kind: str) -> nn.Module:
    return {"cross_entropy": nn.CrossEntropyLoss, "mse": nn.MSELoss}[kind]()


def make_optimizer(spec: dict, params, log: EventLog) -> torch.optim.Optimizer:
    base = getattr(torch.optim, spec["optimizer"])

    class Recording(base):  # type: ignore[misc, valid-type]
        def step(self, closure=None):
            log.add("step")
            return super().step(closure)

        def zero_grad(self, set_to_none: bool = True):
            log.add("zero_grad", "optimizer")
            return super().zero_grad(set_to_none)

    Recording.__name__ = Recording.__qualname__ = base.__name__
    return Recording(params, **spec.get("optimizer_args", {}))


def initial_state(spec: dict) -> dict:
    """The run's initial weights (made in the grading process, sent to the student's)."""
    torch.manual_seed(spec["init_seed"])
    layers = make_layers(spec["model"], spec["features"], spec["outputs"])
    return {k: v.clone() for k, v in ProbeNet(layers, EventLog()).state_dict().items()}


def make_loader(X, y, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    # A generator of its own: the data order does not depend on the global random state.
    return DataLoader(
        TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed)
    )


def build_run(spec: dict, state: dict, data: dict, device: str):
    """(model, train_loader, val_loader, loss_fn, optimizer, log) for one graded call.

    The model starts with `state` on `device`, in train or eval mode as `spec["mode"]`
    says (a function must set the mode it needs); the loaders yield CPU batches."""
    log = EventLog()
    model = ProbeNet(make_layers(spec["model"], spec["features"], spec["outputs"]), log)
    model.load_state_dict(state)
    model.to(device)
    model.train(spec.get("mode", "train") == "train")
    train_loader = make_loader(data["X"], data["y"], spec["batch_size"], True, spec["shuffle_seed"])
    val_loader = None
    if "X_val" in data:
        val_loader = make_loader(data["X_val"], data["y_val"], spec.get("val_batch_size", spec["batch_size"]), False, 0)
    loss_fn = RecordingLoss(make_loss(spec["loss"]), log)
    optimizer = make_optimizer(spec, model.parameters(), log)
    return model, train_loader, val_loader, loss_fn, optimizer, log


class Recorder:
    """A function for gradient_descent that remembers every point it was called at.
    The objective comes as source (the hidden graders' functions stay in their module)."""

    def __init__(self, source: str, name: str) -> None:
        scope: dict = {"torch": torch}
        exec(source, scope)
        self.objective = scope[name]
        self.points: list = []

    def __call__(self, x):
        self.points.append(x.detach().clone())
        return self.objective(x)


def make_recorder(source: str, name: str) -> Recorder:
    return Recorder(source, name)


def loader_passes(train_loader, val_loader) -> dict:
    """Two passes over each loader, as lists of batches (plain data for the graders)."""

    def one_pass(loader):
        return [list(batch) if isinstance(batch, (list, tuple)) else batch for batch in loader]

    return {
        "train": [one_pass(train_loader), one_pass(train_loader)],
        "val": [one_pass(val_loader), one_pass(val_loader)],
    }


def run_facts(model, log) -> dict:
    """What the graders read back after a call: the weights and buffers, the log, the mode."""
    return {
        "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "events": log.export(),
        "training": bool(model.training),
    }
