"""Grading-side helpers shared by the public and hidden checks of 05_transfer.

The graders hand the student's functions models the student never saw (built in the
student's process by `INSPECT`, the grader's own code), then read back plain data: which
parameters require gradients, which objects are the same as before, which parameters each
optimizer group holds and at which rate. Every decision is taken here, in the grading
process, on that data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from grader import checks
from grader.assignments.a05_transfer import MISTAKES, probes
from grader.checks import Mistake
from grader.diagnosis import diagnosis_of
from grader.engine.protocol import Handle
from grader.engine.session import StudentError
from grader.i18n import Text
from grader.kit.pretrained import initial_network, shipped_state, target_task

# Runs in the student's process, in a namespace of its own (grader code, not the student's).
INSPECT = Path(probes.__file__).read_text(encoding="utf-8")

INPUT_SHAPES = {
    "head_first": (2, 6, 6),
    "tied": (2, 6, 6),
    "prefixed": (2, 6, 6),
    "digitnet": (1, 8, 8),
    "resnet18": (3, 32, 32),
}
HEAD_IN_FEATURES = {"head_first": 7, "tied": 33, "prefixed": 12, "digitnet": 256, "resnet18": 512}


def on_root(name: str) -> bool:
    """A parameter registered on the model itself, in no child (`scale`, not `fc1.weight`)."""
    return "." not in name


def build(student, kind: str, frozen: str = "none", device: str | None = None) -> Handle:
    model = student.run_grader_code(INSPECT, "build", kind, frozen, keep=True, name=f"modelo de teste {kind}")
    if device is not None:
        student.call_handle(model, ["to"], device, name="model.to")
    return model


def snapshot(student, model: Handle) -> Handle:
    return student.run_grader_code(INSPECT, "snapshot", model, keep=True, name="snapshot")


def report(student, model: Handle, before: Handle) -> dict:
    return student.run_grader_code(INSPECT, "report", model, before, name="report")


def short(names: list[str], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" (+{len(names) - limit})" if len(names) > limit else "")


def returned_model(student, name: str, model: Handle, returned: Any) -> None:
    """The function gave back the very model it was handed."""
    if returned is None:
        raise Mistake(MISTAKES["returned_none"], "returned_none", name=name)
    if (
        not isinstance(returned, Handle)
        or student.run_grader_code(INSPECT, "same", model, returned, name="same") is not True
    ):
        raise Mistake(MISTAKES["not_same_model"], "not_same_model", name=name)


def forward(student, model: Handle, kind: str, device: str, what: str) -> torch.Tensor:
    x = torch.randn(3, *INPUT_SHAPES[kind], generator=torch.Generator().manual_seed(3))
    return checks.tensor_on(student.call_handle(model, [], x, device=device, name=what), what, device)


# ----------------------------------------------------------------------- the shipped backbone


def matching(state: dict, key: str) -> torch.Tensor | None:
    """The tensor stored under `key` in a returned state_dict, matched by its end so that a
    backbone wrapped in another module still counts (None when absent or ambiguous)."""
    found = [k for k in state if k == key or k.endswith("." + key)]
    value = state[found[0]] if len(found) == 1 else None
    return value if isinstance(value, torch.Tensor) else None


def backbone_differences(state: Any) -> tuple[list[str], list[str], list[str]]:
    """(missing, changed weights, changed BatchNorm statistics) of a returned model's
    state_dict against the shipped backbone, bit for bit."""
    if not isinstance(state, dict):
        raise Mistake(MISTAKES["not_the_backbone"], "not_the_backbone", names=checks.describe_type(state))
    shipped = {k: v for k, v in shipped_state().items() if not k.startswith("fc.")}
    missing, weights, statistics = [], [], []
    for key, expected in shipped.items():
        value = matching(state, key)
        if value is None or tuple(value.shape) != tuple(expected.shape):
            missing.append(key)
        elif not torch.equal(value.cpu().to(expected.dtype), expected):
            (
                statistics
                if key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")
                else weights
            ).append(key)
    return missing, weights, statistics


def backbone_similarity(state: dict, reference: dict | None = None) -> float:
    """Cosine similarity between the returned convolution kernels and the shipped ones (or
    `reference`'s): near 1 for a backbone fine-tuned gently, lower the farther it moved, and
    near 0 for one trained from other random weights."""
    pairs = []
    for key, expected in (shipped_state() if reference is None else reference).items():
        value = matching(state, key) if expected.dim() == 4 else None
        if value is not None and tuple(value.shape) == tuple(expected.shape):
            pairs.append((value.double().flatten(), expected.double().flatten()))
    if not pairs:
        return 0.0
    a, b = torch.cat([p for p, _ in pairs]), torch.cat([q for _, q in pairs])
    return float(F.cosine_similarity(a, b, dim=0))


def grader_probe_accuracy(student, model: Handle, device: str) -> float | None:
    """The accuracy of a head the grader trains itself on what reaches the student's
    `model.fc`: high while the student's own head scores at chance means the head never
    learned. None when the features cannot be read."""
    X_train, y_train, X_test, y_test = target_task()
    try:
        train = student.run_grader_code(INSPECT, "head_inputs", model, X_train, device=device, name="model.fc input")
        test = student.run_grader_code(INSPECT, "head_inputs", model, X_test, device=device, name="model.fc input")
    except StudentError:
        return None
    if not isinstance(train, torch.Tensor) or not isinstance(test, torch.Tensor) or train.dim() != 2:
        return None
    train, test = train.double(), test.double()
    mean, std = train.mean(0), train.std(0) + 1e-6
    train, test = (train - mean) / std, (test - mean) / std
    weight = torch.zeros(train.shape[1], 5, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(train @ weight + bias, y_train) + 1e-3 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float(((test @ weight + bias).argmax(1) == y_test).double().mean())


# ----------------------------------------------------------------------- structural checks


def check_freeze(student, kind: str, frozen: str = "none", device: str | None = None) -> None:
    model = build(student, kind, frozen, device)
    before = snapshot(student, model)
    returned_model(student, "freeze", model, student.call("freeze", model, keep=True))
    params = report(student, model, before)
    trainable = [p["name"] for p in params["params"] if p["requires_grad"]]
    if trainable:
        if params["requires_grad_attribute"] is False:
            raise Mistake(MISTAKES["requires_grad_attribute"], "requires_grad_attribute")
        if all(on_root(name) for name in trainable):
            raise Mistake(MISTAKES["root_parameters"], "root_parameters", names=short(trainable))
        raise Mistake(MISTAKES["freeze_partial"], "freeze_partial", names=short(trainable))
    changed = [p["name"] for p in params["params"] if not p["same_values"]]
    checks.expect(
        not changed, MISTAKES["weights_changed"], "weights_changed", name="freeze", names=short(changed), extra=""
    )


def check_replace_head(student, kind: str, frozen: str, classes: int, device: str = "cpu") -> None:
    model = build(student, kind, frozen, device)
    before = snapshot(student, model)
    returned_model(student, "replace_head", model, student.call("replace_head", model, classes, keep=True))
    params = report(student, model, before)
    checks.expect(
        params["fc_is_module"] and not params["fc_is_old"], MISTAKES["head_not_replaced"], "head_not_replaced"
    )
    try:
        out = forward(student, model, kind, device, "model(x)")
    except StudentError as exc:  # the engine already recognised the error: name it for the head
        known = diagnosis.key if (diagnosis := diagnosis_of(exc)) else None
        if known == "device_mismatch":
            raise Mistake(MISTAKES["head_device"], "head_device", device=device) from None
        if known == "shape_mismatch":
            raise Mistake(
                MISTAKES["head_in_features"],
                "head_in_features",
                model=Text(pt=f"{HEAD_IN_FEATURES[kind]} características", en=f"{HEAD_IN_FEATURES[kind]} features"),
            ) from None
        raise
    checks.expect(
        out.dim() == 2 and out.shape[1] == classes,
        MISTAKES["head_outputs"],
        "head_outputs",
        classes=classes,
        expected=classes,
        actual=tuple(out.shape)[1:] or "()",
    )
    checks.logits_not_probabilities(out, "model(x)")  # the head is a Linear: logits, no softmax after it
    head_frozen = [p["name"] for p in params["params"] if p["in_fc"] and not p["requires_grad"]]
    checks.expect(not head_frozen, MISTAKES["head_frozen"], "head_frozen", names=short(head_frozen))
    others = [p for p in params["params"] if not p["in_fc"]]
    flipped = [p["name"] for p in others if p["requires_grad"] != p["was_trainable"]]
    checks.expect(not flipped, MISTAKES["others_changed"], "others_changed", names=short(flipped))
    changed = [p["name"] for p in others if not (p["same_object"] and p["same_values"])]
    checks.expect(
        not changed,
        MISTAKES["weights_changed"],
        "weights_changed",
        name="replace_head",
        names=short(changed),
        extra=" e em `model.fc` / and `model.fc`",
    )


def check_trainable_parameters(student, kind: str, frozen: str) -> None:
    model = build(student, kind, frozen)
    result = student.call("trainable_parameters", model, keep="whole")
    if result is None:
        raise Mistake(MISTAKES["not_a_list"], "not_a_list", type="None")
    found = student.run_grader_code(INSPECT, "items", model, result, name="trainable_parameters(model)")
    if found["type"] != "list" and found["type"] != "tuple":
        raise Mistake(MISTAKES["not_a_list"], "not_a_list", type=found["type"])
    params = report(student, model, snapshot(student, model))["params"]
    flags = [p["requires_grad"] for p in params]
    expected = [i for i, trainable in enumerate(flags) if trainable]
    indices = found["indices"]
    if -1 in indices:
        kinds = sorted({kind for kind, i in zip(found["kinds"], indices) if i == -1})
        raise Mistake(
            MISTAKES["not_parameters"],
            "not_parameters",
            detail=", ".join(f"`{k}`" for k in kinds)
            + (" (cópias? / copies?)" if "Parameter" in kinds or "Tensor" in kinds else ""),
        )
    checks.expect(len(set(indices)) == len(indices), MISTAKES["duplicates"], "duplicates")
    if indices == expected:
        return
    if sorted(indices) == expected:
        raise Mistake(MISTAKES["order"], "order")
    if sorted(indices) == list(range(len(flags))):
        raise Mistake(MISTAKES["all_parameters"], "all_parameters")
    if sorted(indices) == [i for i, trainable in enumerate(flags) if not trainable]:
        raise Mistake(MISTAKES["inverted_filter"], "inverted_filter")
    names = [p["name"] for p in params]
    missing = [names[i] for i in expected if i not in indices]
    if missing and all(on_root(name) for name in missing) and set(indices) <= set(expected):
        raise Mistake(MISTAKES["root_parameters"], "root_parameters", names=short(missing))
    if indices == student.run_grader_code(INSPECT, "distinct_by_value", model, name="trainable_parameters(model)"):
        raise Mistake(MISTAKES["dedup_by_value"], "dedup_by_value", names=short(missing))
    raise Mistake(MISTAKES["trainable_wrong"], "trainable_wrong", expected=len(expected), actual=len(indices))


def same_rate(lr: float | None, target: float) -> bool:
    return lr is not None and abs(lr - target) <= 1e-9 * abs(target)


def check_finetune_optimizer(
    student, kind: str, frozen: str, head_lr: float, backbone_lr: float, keywords: bool = False
) -> None:
    model = build(student, kind, frozen)
    if keywords:
        optimizer = student.call(
            "make_finetune_optimizer", model, head_lr=head_lr, backbone_lr=backbone_lr, keep="whole"
        )
    else:
        optimizer = student.call("make_finetune_optimizer", model, head_lr, backbone_lr, keep="whole")
    found = student.run_grader_code(INSPECT, "optimizer_groups", model, optimizer, name="optimizer.param_groups")
    if found["groups"] is None:
        raise Mistake(MISTAKES["not_an_optimizer"], "not_an_optimizer", type=found["type"])
    params = report(student, model, snapshot(student, model))["params"]
    rate: dict[int, float] = {}
    foreign = 0
    for group in found["groups"]:
        for index in group["indices"]:
            if index == -1:
                foreign += 1
            else:
                rate[index] = group["lr"]
    checks.expect(not foreign, MISTAKES["foreign_parameters"], "foreign_parameters", count=foreign)
    head = [i for i, p in enumerate(params) if p["in_fc"]]
    body = [i for i, p in enumerate(params) if not p["in_fc"] and p["requires_grad"]]
    if all(same_rate(rate.get(i), head_lr) for i in head) and all(same_rate(rate.get(i), backbone_lr) for i in body):
        return
    if len(set(rate.values())) == 1 and set(rate) >= set(head + body):
        raise Mistake(MISTAKES["one_lr"], "one_lr", lr=next(iter(rate.values())))
    if all(same_rate(rate.get(i), backbone_lr) for i in head) and all(same_rate(rate.get(i), head_lr) for i in body):
        raise Mistake(MISTAKES["lrs_swapped"], "lrs_swapped")
    at_head_rate = [params[i]["name"] for i in body if same_rate(rate.get(i), head_lr)]
    if at_head_rate and all(name.startswith("fc") for name in at_head_rate):
        raise Mistake(MISTAKES["head_by_prefix"], "head_by_prefix", names=short(at_head_rate))
    left_out = [params[i]["name"] for i in body if rate.get(i) is None]
    if left_out and all(on_root(name) for name in left_out):
        raise Mistake(MISTAKES["root_parameters"], "root_parameters", names=short(left_out))

    def where(indices: list[int], target: float) -> Text:
        wrong = [(params[i]["name"], rate.get(i)) for i in indices if not same_rate(rate.get(i), target)]
        return Text(
            *(
                short([f"{name}: {missing if lr is None else f'lr={lr:g}'}" for name, lr in wrong])
                for missing in ("fora", "missing")
            )
        )

    if not all(same_rate(rate.get(i), head_lr) for i in head):
        raise Mistake(MISTAKES["head_missing"], "head_missing", detail=where(head, head_lr))
    raise Mistake(MISTAKES["backbone_missing"], "backbone_missing", detail=where(body, backbone_lr))


# ----------------------------------------------------------------------- trained models

PROBE_MINIMUM, FINETUNE_MINIMUM = 0.85, 0.90


def check_probe_backbone(student, device: str) -> None:
    model = checks.trained_model(student, "train_linear_probe", device, 60, blind=True)
    state = student.call_handle(model, ["state_dict"], name="model.state_dict()")
    missing, weights, statistics = backbone_differences(state)
    checks.expect(not missing, MISTAKES["not_the_backbone"], "not_the_backbone", names=short(missing))
    checks.expect(not weights, MISTAKES["backbone_trained"], "backbone_trained", names=short(weights))
    checks.expect(not statistics, MISTAKES["bn_drift"], "bn_drift", names=short(statistics))


def accuracy_or_hint(student, model: Handle, device: str, minimum: float, key: str) -> None:
    _, _, X_test, y_test = target_task()
    accuracy = checks.classifier_accuracy(
        student, model, X_test, y_test, device, "model", wrong_labels=checks.wrong_labels_of(target_task)
    )
    if accuracy >= minimum:
        return
    state = student.call_handle(model, ["state_dict"], name="model.state_dict()")
    old_head = shipped_state()["fc.weight"]
    head = state.get("fc.weight") if isinstance(state, dict) else None
    if (
        isinstance(head, torch.Tensor)
        and tuple(head.shape) == tuple(old_head.shape)
        and torch.equal(head.cpu(), old_head)
    ):
        raise Mistake(MISTAKES["head_not_replaced"], "head_not_replaced")
    if accuracy < 0.5:
        probe = grader_probe_accuracy(student, model, device)
        if probe is not None and probe >= PROBE_MINIMUM:
            raise Mistake(MISTAKES["head_untrained"], "head_untrained", accuracy=accuracy, probe=probe)
    raise Mistake(MISTAKES[key], key, accuracy=accuracy, device=device)


def check_probe_accuracy(student, device: str) -> None:
    model = checks.trained_model(student, "train_linear_probe", device, 60, blind=True)
    accuracy_or_hint(student, model, device, PROBE_MINIMUM, "probe_accuracy")


def check_finetune_accuracy(student, device: str) -> None:
    model = checks.trained_model(student, "finetune", device, 90, blind=True)
    accuracy_or_hint(student, model, device, FINETUNE_MINIMUM, "finetune_accuracy")


def check_finetuned_backbone(student, device: str) -> None:
    model = checks.trained_model(student, "finetune", device, 90, blind=True)
    state = student.call_handle(model, ["state_dict"], name="model.state_dict()")
    missing, weights, _ = backbone_differences(state)
    checks.expect(not missing, MISTAKES["not_the_backbone"], "not_the_backbone", names=short(missing))
    checks.expect(bool(weights), MISTAKES["not_finetuned"], "not_finetuned")
    # Closer to the shipped kernels than to the random ones pretraining started from (which
    # `torch.manual_seed(0)` then `DigitNet()` recreates), and clearly above chance.
    similarity = backbone_similarity(state)
    to_initial = backbone_similarity(state, initial_network().state_dict())
    checks.expect(
        similarity >= 0.1 and similarity > to_initial,
        MISTAKES["not_from_pretrained"],
        "not_from_pretrained",
        similarity=similarity,
    )
