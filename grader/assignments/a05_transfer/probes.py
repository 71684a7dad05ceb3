"""Runs in the student's process, sent as source (grader code, not the student's): builds
the test models a transfer-learning function receives and reads back plain data about them
(which parameters train, what reaches the head). Public: the self-checks use it too. It
imports only torch, torchvision where a check needs it, and the kit, which the student's
process can import."""

import torch
import torch.nn as nn


class HeadFirst(nn.Module):
    """The head declared first (model.parameters() starts with it); BatchNorm; fc on 7 features."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(7, 4)
        self.stem = nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU())
        self.neck = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(20, 7), nn.ReLU())

    def forward(self, x):
        return self.fc(self.neck(self.stem(x)))


class Tied(nn.Module):
    """No BatchNorm; fc on 33 features; one weight shared by two layers (listed once)."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(72, 33)
        self.mix = nn.Linear(33, 33)
        self.again = nn.Linear(33, 33)
        self.again.weight = self.mix.weight
        self.fc = nn.Linear(33, 3)

    def forward(self, x):
        h = torch.tanh(self.inp(x.flatten(1)))
        return self.fc(torch.tanh(self.again(torch.tanh(self.mix(h)))))


class Prefixed(nn.Module):
    """Backbone layers whose names start like the head's (fc1, fc_norm, fc2, fc2_norm), a
    parameter on the model itself (`scale`, in no child), two LayerNorms whose parameters are
    distinct but equal in value (to `scale` too); the head is model.fc, on 12 features."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(12))
        self.fc1 = nn.Linear(72, 12)
        self.fc_norm = nn.LayerNorm(12)
        self.fc2 = nn.Linear(12, 12)
        self.fc2_norm = nn.LayerNorm(12)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        h = self.fc_norm(torch.tanh(self.fc1(x.flatten(1)))) * self.scale
        return self.fc(self.fc2_norm(torch.tanh(self.fc2(h))))


def build(kind, frozen):
    """A grader model; frozen: "none", "all", "some" (every third parameter, from the second) or
    "some_backbone" (the same, outside model.fc)."""
    if kind == "head_first":
        model = HeadFirst()
    elif kind == "tied":
        model = Tied()
    elif kind == "prefixed":
        model = Prefixed()
    elif kind == "digitnet":
        from grader.kit.pretrained import load_pretrained_backbone

        model = load_pretrained_backbone()
    elif kind == "resnet18":
        import torchvision

        model = torchvision.models.resnet18(weights=None)
    else:
        raise ValueError(kind)
    head = {id(p) for p in model.fc.parameters()}
    for index, parameter in enumerate(model.parameters()):
        if (
            frozen == "all"
            or (frozen == "some" and index % 3 == 1)
            or (frozen == "some_backbone" and index % 3 == 1 and id(parameter) not in head)
        ):
            parameter.requires_grad_(False)
    return model


class Snapshot:
    """What a model held before the student's function ran (an object, so it stays here as a handle)."""

    def __init__(self, model):
        self.fc = getattr(model, "fc", None)
        self.params = {name: (p, p.detach().clone(), p.requires_grad) for name, p in model.named_parameters()}


def snapshot(model):
    return Snapshot(model)


def report(model, before):
    """Plain data on `model` now, against `before` (a snapshot)."""
    fc = getattr(model, "fc", None)
    fc_ids = {id(p) for p in fc.parameters()} if isinstance(fc, nn.Module) else set()
    params = []
    for name, p in model.named_parameters():
        old = before.params.get(name)
        same_values = old is not None and old[1].shape == p.shape and bool(torch.equal(old[1].to(p.device), p.detach()))
        params.append(
            {
                "name": name,
                "requires_grad": bool(p.requires_grad),
                "in_fc": id(p) in fc_ids,
                "same_object": old is not None and old[0] is p,
                "same_values": same_values,
                "was_trainable": None if old is None else bool(old[2]),
                "device": str(p.device),
            }
        )
    attribute = model.__dict__.get("requires_grad")
    return {
        "params": params,
        "fc_is_module": isinstance(fc, nn.Module),
        "fc_is_old": fc is before.fc,
        "requires_grad_attribute": attribute if isinstance(attribute, bool) else None,
    }


def same(a, b):
    return a is b


def distinct_by_value(model):
    """Indices (in model.parameters()) of the trainable parameters left when those equal in shape
    and values to an earlier one are dropped (what a deduplication by value keeps)."""
    kept, indices = [], []
    for i, p in enumerate(model.parameters()):
        if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in kept):
            kept.append(p)
            indices.append(i)
    return indices


def items(model, result):
    """Where each returned item is in model.parameters() (-1: not one of them)."""
    index = {id(p): i for i, p in enumerate(model.parameters())}
    if not isinstance(result, (list, tuple)):
        return {"type": type(result).__name__, "indices": None, "kinds": []}
    return {
        "type": type(result).__name__,
        "indices": [index.get(id(x), -1) for x in result],
        "kinds": [type(x).__name__ for x in result],
    }


def optimizer_groups(model, optimizer):
    """Each group's rate and where its parameters are in model.parameters() (-1: not there)."""
    index = {id(p): i for i, p in enumerate(model.parameters())}
    if not isinstance(optimizer, torch.optim.Optimizer):
        return {"type": type(optimizer).__name__, "groups": None}
    return {
        "type": type(optimizer).__name__,
        "groups": [
            {"lr": float(group["lr"]), "indices": [index.get(id(p), -1) for p in group["params"]]}
            for group in optimizer.param_groups
        ],
    }


def head_inputs(model, X):
    """What reaches model.fc for the images X (a forward hook on the head), in eval mode."""
    seen = []
    hook = model.fc.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    try:
        model.eval()
        with torch.no_grad():
            model(X)
    finally:
        hook.remove()
    return seen[0].flatten(1) if seen else None
