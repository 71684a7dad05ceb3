"""Runs in the student's process, sent as source (grader code, not the student's): builds
the models, generators, optimizers and training runs that 06_regularization's functions
receive, and reads back plain data about them. Public: the self-checks use it too. It
imports only torch and the standard library."""

import torch
import torch.nn as nn


class Tied(nn.Module):
    """A Linear weight shared by two layers (counted once), biases, a BatchNorm, a Conv2d."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.norm = nn.BatchNorm2d(3)
        self.inp = nn.Linear(12, 6)
        self.mix = nn.Linear(6, 6)
        self.again = nn.Linear(6, 6)
        self.again.weight = self.mix.weight
        self.out = nn.Linear(6, 4, bias=False)

    def forward(self, x):
        h = torch.relu(self.norm(self.conv(x))).flatten(1)
        return self.out(torch.tanh(self.again(torch.tanh(self.mix(torch.tanh(self.inp(h)))))))


class Mixed(nn.Module):
    """Xavier's test model: Linear and Conv2d of several fans, some nested, some without a
    bias, beside modules init_xavier_ must leave alone (BatchNorm, LayerNorm, Embedding, a
    parameter of the model itself)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 30)
        self.scale = nn.Parameter(torch.full((5,), 0.5))
        self.body = nn.Sequential(
            nn.Conv2d(3, 40, 5),
            nn.BatchNorm2d(40),
            nn.Sequential(nn.Conv2d(40, 64, 3, bias=False), nn.LayerNorm([2, 2])),
        )
        self.head = nn.Sequential(nn.Linear(256, 300), nn.ReLU(), nn.Linear(300, 20, bias=False), nn.Linear(20, 5))
        for module in self.modules():  # every bias starts away from 0, every norm away from 1
            for name, parameter in module.named_parameters(recurse=False):
                if name != "weight" or isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
                    with torch.no_grad():
                        parameter.add_(0.25)


def build(kind, seed=0):
    torch.manual_seed(seed)
    if kind == "tied":
        return Tied()
    if kind == "mixed":
        return Mixed()
    if kind == "linear_ones":
        model = nn.Linear(3, 2)
        with torch.no_grad():
            model.weight.fill_(1.0)
            model.bias.fill_(1.0)
        return model
    if kind == "bias_only":
        model = nn.BatchNorm1d(4)
        return model
    if kind == "mlp":
        return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5)
        )
    raise ValueError(kind)


def layers(model):
    """[name, kind] of every Linear and Conv2d (by module name), for the grader."""
    return [
        [name, type(module).__name__]
        for name, module in model.named_modules()
        if isinstance(module, (nn.Linear, nn.Conv2d))
    ]


def state(model):
    """A detached CPU copy of the model's state_dict."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a is b


def generator(seed, device):
    return torch.Generator(device=device).manual_seed(seed)


def penalty_report(model, value):
    """What the student's l2_penalty returned, as plain data: its type, value, device, and the
    gradient it sends each parameter (None where none flows)."""
    report = {"type": type(value).__name__, "is_tensor": isinstance(value, torch.Tensor)}
    if not isinstance(value, torch.Tensor):
        return report
    report.update(
        {
            "shape": list(value.shape),
            "device": str(value.device),
            "value": float(value.detach().double().sum().cpu()) if value.numel() else None,
            "requires_grad": bool(value.requires_grad),
            "grads": {},
        }
    )
    if value.requires_grad and value.numel() == 1:
        for parameter in model.parameters():
            parameter.grad = None
        value.sum().backward()
        report["grads"] = {
            name: None if p.grad is None else p.grad.detach().cpu().clone() for name, p in model.named_parameters()
        }
    return report


def parameter_names(model):
    """Each parameter's name in model.parameters() order (a shared one once)."""
    return [name for name, _ in model.named_parameters()]


def watch_loads():
    """Record the arguments of every torch.load while the student's load_checkpoint runs;
    returns (log, restore)."""
    log = []
    original = torch.load

    def load(*args, **kwargs):
        log.append(
            {
                "map_location": None if kwargs.get("map_location") is None else str(kwargs.get("map_location")),
                "weights_only": kwargs.get("weights_only", "default"),
            }
        )
        return original(*args, **kwargs)

    torch.load = load

    def restore():
        torch.load = original
        return log

    return restore


class Run:
    """A small training run the checkpoint functions are tested on: a model with BatchNorm
    (buffers too), an optimizer with state (momentum, Adam's moments) and fixed data."""

    def __init__(self, optimizer, seed, device):
        torch.manual_seed(seed)
        self.device = device
        self.model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).to(device)
        if optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.05)
        else:
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        g = torch.Generator().manual_seed(7)
        self.X = torch.randn(32, 5, generator=g).to(device)
        self.y = torch.randint(0, 3, (32,), generator=g).to(device)

    def train(self, steps):
        losses = []
        self.model.train()
        for _ in range(steps):
            self.optimizer.zero_grad()
            loss = nn.functional.cross_entropy(self.model(self.X), self.y)
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
        return losses

    def parts(self):
        return self.model, self.optimizer


def new_run(optimizer, seed, device):
    return Run(optimizer, seed, device)


def train(run, steps):
    return run.train(steps)


def parts(run):
    return run.parts()


def run_state(run):
    """The run's model and optimizer state_dicts, on the CPU (plain data)."""
    return {"model": state(run.model), "optimizer": _cpu(run.optimizer.state_dict())}


def _cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


def read_checkpoint(path):
    """The file as torch.load(weights_only=True) reads it (on the CPU), or why it cannot."""
    try:
        return {"ok": True, "content": _cpu(torch.load(path, weights_only=True, map_location="cpu"))}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def _replace(value, path, new):
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        copy[key] = _replace(value[key], rest, new)
        return copy
    items = list(value)
    items[key] = _replace(items[key], rest, new)
    return tuple(items) if isinstance(value, tuple) else items


def _to(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, device) for v in value)
    return value


def write_checkpoint(path, run, epoch, layout, template_path, device):
    """A correct checkpoint of `run` at `epoch`, its tensors on `device`, in the layout the
    grader found in the student's own file (`template_path`: where model, optimizer and epoch
    sit), or {"model", "optimizer", "epoch"} where none was found."""
    model = _to(run.model.state_dict(), device)
    optimizer = _to(run.optimizer.state_dict(), device)
    if layout is None:
        content = {"model": model, "optimizer": optimizer, "epoch": epoch}
    else:
        content = torch.load(template_path, weights_only=True, map_location="cpu")
        content = _replace(content, layout["model"], model)
        content = _replace(content, layout["optimizer"], optimizer)
        content = _replace(content, layout["epoch"], epoch)
    torch.save(content, path)


def resume_from(path, layout, optimizer, seed, device, steps):
    """The grader's own resume from a student's file (found layout): a fresh run restored from
    it, then `steps` more steps; its losses and final state."""
    run = Run(optimizer, seed, device)
    content = torch.load(path, weights_only=True, map_location=device)
    run.model.load_state_dict(_at(content, layout["model"]))
    run.optimizer.load_state_dict(_at(content, layout["optimizer"]))
    losses = run.train(steps)
    return {"losses": losses, **run_state(run)}


def race_setup(kind, makers, device):
    """A model, the loss and the optimizer factories for optimizer_race (kept as handles)."""
    model = build(kind, 3).to(device)
    loss_fn = nn.CrossEntropyLoss() if kind != "regression" else nn.MSELoss()
    choices = {
        "sgd": lambda params: torch.optim.SGD(params, lr=0.2),
        "momentum": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
        "adam": lambda params: torch.optim.Adam(params, lr=0.02),
        "adagrad": lambda params: torch.optim.Adagrad(params, lr=0.1),
    }
    return model, loss_fn, {name: choices[name] for name in makers}


def early_state(stopper):
    """EarlyStopping's best and bad_epochs as plain numbers (None where unreadable)."""

    def number(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    return {"best": number(getattr(stopper, "best", None)), "bad_epochs": number(getattr(stopper, "bad_epochs", None))}
