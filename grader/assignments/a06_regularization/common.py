"""Grading-side helpers shared by the public and hidden checks of 06_regularization.

Models, generators, optimizers and training runs are built in the student's process by
`PROBES` (grader code) and handed to the student's functions; what comes back is plain data
(tensors, numbers, state dicts), and every decision is taken here, in the grading process,
often against the same grader code run here (`probes`, imported as a trusted module).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import torch

from grader import checks
from grader.assignments.a06_regularization import MISTAKES, probes
from grader.checks import Mistake
from grader.engine.protocol import Handle
from grader.engine.session import StudentError

PROBES = Path(probes.__file__).read_text(encoding="utf-8")
SMALL_DIGITS_MINIMUM = 0.93  # T: CATALOG.md 06; tests/test_regularization.py calibrates it over seeds


def probe(student, function: str, *args: Any, keep: bool = False, device: str | None = None) -> Any:
    return student.run_grader_code(PROBES, function, *args, keep=keep, device=device, name=function)


def raised(exc: StudentError) -> str | None:
    error = exc.error if isinstance(exc.error, dict) else {}
    return error.get("type")


# ----------------------------------------------------------------------- l2_penalty


def check_l2_penalty(student, kind: str, device: str) -> None:
    model = probe(student, "build", kind, keep=True)
    student.call_handle(model, ["to"], device, name="model.to")
    value = student.call("l2_penalty", model, keep="whole")
    report = probe(student, "penalty_report", model, value)
    params = dict(zip(probe(student, "parameter_names", model), probes.build(kind).parameters()))
    names = list(params)
    weights = [n for n in names if params[n].dim() > 1]
    expected = sum(float(params[n].double().pow(2).sum()) for n in weights)
    if not report["is_tensor"]:
        raise Mistake(MISTAKES["l2_not_tensor"], "l2_not_tensor", type=report["type"])
    checks.expect(report["shape"] == [], MISTAKES["l2_not_scalar"], "l2_not_scalar", shape=tuple(report["shape"]))
    checks.expect(
        report["device"] == str(torch.device(device)) or (device == "cuda" and report["device"].startswith("cuda")),
        MISTAKES["l2_device"],
        "l2_device",
        actual=report["device"],
        expected=device,
    )
    actual = report["value"]

    def near(target: float) -> bool:
        return abs(actual - target) <= 1e-4 * max(1.0, abs(target))

    if not near(expected):
        everything = sum(float(p.double().pow(2).sum()) for p in params.values())
        named_weight = sum(float(params[n].double().pow(2).sum()) for n in names if n.endswith("weight"))
        shared = sum(
            float(m.weight.double().pow(2).sum())
            for m in probes.build(kind).modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))
        )
        roots = sum(math.sqrt(float(params[n].double().pow(2).sum())) for n in weights)
        if near(everything) and everything != expected:
            raise Mistake(MISTAKES["l2_biases"], "l2_biases")
        if near(named_weight) and named_weight != expected:
            raise Mistake(MISTAKES["l2_norm_weights"], "l2_norm_weights")
        if near(shared) and shared != expected:
            raise Mistake(MISTAKES["l2_shared_twice"], "l2_shared_twice")
        if near(math.sqrt(expected)) or near(roots):
            raise Mistake(MISTAKES["l2_not_squared"], "l2_not_squared")
        raise Mistake(MISTAKES["l2_value"], "l2_value", actual=actual, expected=expected)
    if not weights:
        return
    checks.expect(report["requires_grad"] and report["grads"], MISTAKES["l2_no_grad"], "l2_no_grad")
    for name, grad in report["grads"].items():
        if name in weights:
            checks.expect(
                grad is not None and torch.allclose(grad.double(), 2 * params[name].double(), rtol=1e-4, atol=1e-5),
                MISTAKES["l2_gradient"],
                "l2_gradient",
                name=name,
            )


# ----------------------------------------------------------------------- dropout_forward


def dropout(student, x: torch.Tensor, p: float, device: str, training: bool = True, seed: int | None = None):
    args: list[Any] = [x, p, training]
    if seed is not None:
        args.append(probe(student, "generator", seed, device, keep=True))
    out = student.call("dropout_forward", *args, device=device)
    return checks.tensor_on(out, "dropout_forward(x, p)", device, x.dtype)


# Blocked in the student's process while dropout_forward runs: the exercise is writing it by hand.
DROPOUT_FUNCTIONS = [
    ["torch.nn.functional", "dropout"],
    ["torch", "dropout"],
    ["torch", "native_dropout"],
    ["torch", "dropout_"],
]
DROPOUT_FORBIDDEN = "GRADER_DROPOUT_FORBIDDEN: nn.Dropout / F.dropout"


def check_dropout_values(student, device: str, p: float, shape: tuple, dtype: torch.dtype = torch.float32) -> None:
    """Each element 0 or x/(1-p), each independently (a mask per example), about a fraction p
    zeroed, mean kept; the builtin dropout not used."""
    x = (torch.rand(shape, generator=torch.Generator().manual_seed(1)) + 0.5).to(dtype)
    try:
        with checks.forbidding(student, DROPOUT_FUNCTIONS, DROPOUT_FORBIDDEN, "dropout_forward"):
            out = student.call("dropout_forward", x, p, device=device)
    except StudentError as exc:
        if DROPOUT_FORBIDDEN in str(exc.error):
            raise Mistake(MISTAKES["dropout_builtin"], "dropout_builtin") from None
        raise
    out = checks.tensor_on(out, "dropout_forward(x, p)", device, x.dtype)
    checks.shape(out, tuple(x.shape), "dropout_forward(x, p)")
    out, x = out.cpu().double(), x.double()
    zero = out == 0
    kept = ~zero
    scaled = torch.isclose(out, x / (1 - p), rtol=1e-3, atol=1e-6)
    if not bool((zero | scaled).all()):
        if bool((zero | torch.isclose(out, x, rtol=1e-3, atol=1e-6)).all()):
            raise Mistake(MISTAKES["dropout_no_scaling"], "dropout_no_scaling")
        if bool((zero | torch.isclose(out, x * (1 - p), rtol=1e-3, atol=1e-6)).all()):
            raise Mistake(MISTAKES["dropout_scaled_wrong"], "dropout_scaled_wrong")
        raise Mistake(MISTAKES["dropout_values"], "dropout_values", p=p)
    rows = kept.reshape(shape[0], -1)
    checks.expect(not bool((rows == rows[0]).all()), MISTAKES["dropout_shared_mask"], "dropout_shared_mask")
    if len(shape) > 2:  # a mask per element, not per feature map
        per_map = kept.reshape(shape[0] * shape[1], -1)
        checks.expect(
            not bool((per_map == per_map[:, :1]).all()), MISTAKES["dropout_shared_mask"], "dropout_shared_mask"
        )
    rate = float(zero.double().mean())
    n = zero.numel()
    spread = 5 * math.sqrt(p * (1 - p) / n)
    if abs(rate - p) > spread:
        key = "dropout_keep_swapped" if abs(rate - (1 - p)) <= spread else "dropout_rate"
        raise Mistake(MISTAKES[key], key, p=p, rate=rate)


def check_dropout_modes(student, device: str) -> None:
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(2))
    for p in (0.0, 0.5, 0.9):
        out = dropout(student, x, p, device, training=False).cpu()
        checks.expect(torch.equal(out, x), MISTAKES["dropout_at_eval"], "dropout_at_eval", p=p)
    checks.expect(torch.equal(dropout(student, x, 0.0, device).cpu(), x), MISTAKES["dropout_p_zero"], "dropout_p_zero")
    out = dropout(student, x, 1.0, device).cpu()
    checks.expect(
        bool(torch.isfinite(out).all()) and bool((out == 0).all()), MISTAKES["dropout_p_one"], "dropout_p_one"
    )
    for p, training in ((1.5, True), (-0.1, True), (1.2, False)):
        try:
            student.call("dropout_forward", x, p, training, device=device)
        except StudentError as exc:
            if raised(exc) == "ValueError":
                continue
            raise
        raise Mistake(MISTAKES["dropout_p_unchecked"], "dropout_p_unchecked", p=p, training=training)


def check_dropout_generator(student, device: str) -> None:
    x = torch.rand(64, 32, generator=torch.Generator().manual_seed(3)) + 0.5
    first = dropout(student, x, 0.4, device, seed=11).cpu()
    again = dropout(student, x, 0.4, device, seed=11).cpu()
    other = dropout(student, x, 0.4, device, seed=12).cpu()
    checks.expect(
        torch.equal(first, again) and not torch.equal(first == 0, other == 0),
        MISTAKES["dropout_generator"],
        "dropout_generator",
    )


# ----------------------------------------------------------------------- EarlyStopping


def expected_stops(losses: list[float], patience: int, min_delta: float) -> list[tuple[bool, float, int]]:
    best, bad, out = math.inf, 0, []
    for loss in losses:
        if loss < best - min_delta:
            best, bad = loss, 0
        else:
            bad += 1
        out.append((bad >= patience, best, bad))
    return out


def check_early_stopping(
    student, losses: list[float], patience: int | None, min_delta: float | None, as_tensor: bool = False
) -> None:
    kwargs = {}
    if patience is not None:
        kwargs["patience"] = patience
    if min_delta is not None:
        kwargs["min_delta"] = min_delta
    stopper = student.call("EarlyStopping", keep="whole", **kwargs)
    if not isinstance(stopper, Handle):
        raise Mistake(MISTAKES["early_not_object"], "early_not_object", type=checks.describe_type(stopper))
    state = probe(student, "early_state", stopper)
    checks.expect(
        state["best"] == math.inf and state["bad_epochs"] == 0, MISTAKES["early_initial"], "early_initial", **state
    )
    patience = 3 if patience is None else patience
    min_delta = 0.0 if min_delta is None else min_delta
    expected = expected_stops(losses, patience, min_delta)
    returns, states = [], []
    for loss in losses:
        value = torch.tensor(loss) if as_tensor else loss
        returned = student.call_handle(stopper, ["step"], value, name=f"step({loss})")
        if isinstance(returned, torch.Tensor) and returned.numel() == 1:
            returned = bool(returned)
        returns.append(returned)
        states.append(probe(student, "early_state", stopper))
    history = ", ".join(f"{v:g}" for v in losses)
    wanted = [stop for stop, _, _ in expected]
    if returns != wanted or any(type(r) is not bool for r in returns):
        # The classic mistakes, replayed on the same losses: which one gives these answers?
        last_based, previous, bad_count = [], math.inf, 0
        for loss in losses:
            bad_count = 0 if loss < previous - min_delta else bad_count + 1
            previous = loss
            last_based.append(bad_count >= patience)
        strict = [stop for stop, _, _ in expected_stops(losses, patience + 1, min_delta)]
        loose = [stop for stop, _, _ in expected_stops(losses, patience - 1, min_delta)]
        off_by_one = returns in (strict, loose)
        if returns == last_based and not off_by_one:
            raise Mistake(MISTAKES["early_last_loss"], "early_last_loss", history=history)
        if off_by_one and returns != last_based:
            raise Mistake(MISTAKES["early_off_by_one"], "early_off_by_one", history=history, patience=patience)
        index = next(i for i, (a, b) in enumerate(zip(returns, wanted)) if a is not b)
        raise Mistake(
            MISTAKES["early_wrong"],
            "early_wrong",
            history=", ".join(f"{v:g}" for v in losses[: index + 1]),
            expected=wanted[index],
            returned=returns[index],
        )
    for index, (state, (_, best, bad)) in enumerate(zip(states, expected)):
        if state["bad_epochs"] != bad or state["best"] is None or abs(state["best"] - best) > 1e-6:
            raise Mistake(
                MISTAKES["early_state"],
                "early_state",
                history=", ".join(f"{v:g}" for v in losses[: index + 1]),
                best=best,
                bad=bad,
                got_best=state["best"],
                got_bad=state["bad_epochs"],
            )


# ----------------------------------------------------------------------- random_shift


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x (C, H, W) moved down by dy and right by dx, zeros entering."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
    xs, xd = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def offsets_of(x: torch.Tensor, out: torch.Tensor, m: int) -> list[tuple[int, int] | None]:
    found = []
    for image, result in zip(x, out):
        match = None
        for dy in range(-m - 1, m + 2):
            for dx in range(-m - 1, m + 2):
                if torch.equal(shifted(image, dy, dx), result):
                    match = (dy, dx)
                    break
            if match:
                break
        found.append(match)
    return found


def shift_call(student, x: torch.Tensor, m: int, device: str, seed: int | None = None) -> torch.Tensor:
    args: list[Any] = [x, m]
    if seed is not None:
        args.append(probe(student, "generator", seed, device, keep=True))
    out = student.call("random_shift", *args, device=device)
    out = checks.tensor_on(out, "random_shift(x, max_shift)", device, x.dtype)
    checks.shape(out, tuple(x.shape), "random_shift(x, max_shift)")
    return out.cpu()


def check_random_shift(student, device: str, n: int, c: int, size: int, m: int) -> None:
    """Every image moved by its own offsets within [-m, m], zeros entering; every offset occurs."""
    x = torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(n + m)) + 0.5
    out = shift_call(student, x, m, device)
    found = offsets_of(x, out, m)
    bad = [i for i, f in enumerate(found) if f is None or max(abs(f[0]), abs(f[1])) > m]
    if bad:
        i = bad[0]
        image, result = x[i], out[i]
        if any(
            torch.equal(torch.roll(image, (dy, dx), (-2, -1)), result)
            for dy in range(-m, m + 1)
            for dx in range(-m, m + 1)
        ):
            raise Mistake(MISTAKES["shift_wraps"], "shift_wraps")
        if (
            torch.equal(result, image.flip(-1))
            or torch.equal(result, image.flip(-2))
            or any(
                torch.equal(shifted(image.flip(-1), dy, dx), result)
                for dy in range(-m, m + 1)
                for dx in range(-m, m + 1)
            )
        ):
            raise Mistake(MISTAKES["shift_flips"], "shift_flips")
        if found[i] is not None:
            raise Mistake(MISTAKES["shift_too_far"], "shift_too_far", m=m, offset=found[i])
        channels = [offsets_of(x[i, k : k + 1].unsqueeze(0), out[i, k : k + 1].unsqueeze(0), m)[0] for k in range(c)]
        if c > 1 and all(ch is not None for ch in channels):
            raise Mistake(MISTAKES["shift_channels"], "shift_channels")
        raise Mistake(MISTAKES["shift_wrong"], "shift_wrong", m=m)
    distinct = set(found)
    checks.expect(len(distinct) > 1, MISTAKES["shift_same_for_batch"], "shift_same_for_batch")
    every = {(dy, dx) for dy in range(-m, m + 1) for dx in range(-m, m + 1)}
    missing = sorted(every - distinct)
    checks.expect(not missing, MISTAKES["shift_range"], "shift_range", m=m, missing=missing[:4])


def check_shift_zero_and_generator(student, device: str) -> None:
    x = torch.rand(5, 2, 6, 6, generator=torch.Generator().manual_seed(5))
    checks.expect(torch.equal(shift_call(student, x, 0, device), x), MISTAKES["shift_zero"], "shift_zero")
    first = shift_call(student, x, 1, device, seed=21)
    again = shift_call(student, x, 1, device, seed=21)
    other = [shift_call(student, x, 1, device, seed=s) for s in (22, 23)]
    checks.expect(
        torch.equal(first, again) and any(not torch.equal(first, o) for o in other),
        MISTAKES["shift_generator"],
        "shift_generator",
    )


# ----------------------------------------------------------------------- checkpoints

RESUME_STEPS = 4


def find_paths(content: Any, expected: dict, epoch: int) -> dict:
    """Where a checkpoint holds the model's and the optimizer's state dicts and the epoch:
    {"model": path | None, "optimizer": ..., "epoch": ...} (paths of keys and indices)."""
    found: dict[str, list | None] = {"model": None, "optimizer": None, "epoch": None}

    def walk(value: Any, path: list) -> None:
        if found["model"] is None and same_state(value, expected["model"]):
            found["model"] = path
            return
        if found["optimizer"] is None and isinstance(value, dict) and {"state", "param_groups"} <= set(value):
            found["optimizer"] = path
            return
        if found["epoch"] is None and type(value) is int and value == epoch:
            found["epoch"] = path
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, (str, int)):
                    walk(item, [*path, key])
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, [*path, index])

    walk(content, [])
    return found


def same_state(value: Any, expected: dict) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(expected)
        and all(
            isinstance(value[k], torch.Tensor)
            and value[k].shape == expected[k].shape
            and torch.equal(value[k].cpu(), expected[k])
            for k in expected
        )
    )


def same_optimizer_state(value: Any, expected: Any) -> bool:
    if isinstance(expected, torch.Tensor):
        return isinstance(value, torch.Tensor) and value.shape == expected.shape and torch.equal(value.cpu(), expected)
    if isinstance(expected, dict):
        return (
            isinstance(value, dict)
            and set(value) == set(expected)
            and all(same_optimizer_state(value[k], expected[k]) for k in expected)
        )
    if isinstance(expected, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(expected)
            and all(same_optimizer_state(a, b) for a, b in zip(value, expected))
        )
    return value == expected


def at(content: Any, path: list) -> Any:
    for key in path:
        content = content[key]
    return content


def student_checkpoint(student, optimizer: str, device: str, epoch: int, path: str) -> tuple[dict, dict]:
    """Train a run 3 steps, save it with the student's save_checkpoint; (file content, run state)."""
    run = probe(student, "new_run", optimizer, 0, device, keep=True)
    probe(student, "train", run, 3)
    model, opt = probe(student, "parts", run, keep=True)
    student.call("save_checkpoint", path, model, opt, epoch, keep=True)
    return probe(student, "read_checkpoint", path), probe(student, "run_state", run), run


def check_save_checkpoint(student, optimizer: str, device: str) -> None:
    path, epoch = "/tmp/grader_checkpoint_save.pt", 37
    read, expected, run = student_checkpoint(student, optimizer, device, epoch, path)
    if not read["ok"]:
        raise Mistake(MISTAKES["checkpoint_unreadable"], "checkpoint_unreadable", error=read["error"])
    paths = find_paths(read["content"], expected, epoch)
    checks.expect(paths["model"] is not None, MISTAKES["checkpoint_no_model"], "checkpoint_no_model")
    checks.expect(paths["optimizer"] is not None, MISTAKES["checkpoint_no_optimizer"], "checkpoint_no_optimizer")
    checks.expect(paths["epoch"] is not None, MISTAKES["checkpoint_no_epoch"], "checkpoint_no_epoch", epoch=epoch)
    checks.expect(
        same_optimizer_state(at(read["content"], paths["optimizer"]), expected["optimizer"]),
        MISTAKES["checkpoint_stale_optimizer"],
        "checkpoint_stale_optimizer",
    )
    # Resumed from the student's file by the grader, training continues as if never stopped.
    resumed = probe(student, "resume_from", path, paths, optimizer, 5, device, RESUME_STEPS)
    straight = probe(student, "train", run, RESUME_STEPS)
    checks.expect(resumed["losses"] == straight, MISTAKES["checkpoint_resume_differs"], "checkpoint_resume_differs")


def layout_of_student_save(student, optimizer: str, device: str) -> tuple[dict | None, str]:
    path, epoch = "/tmp/grader_checkpoint_layout.pt", 37
    try:
        read, expected, _ = student_checkpoint(student, optimizer, device, epoch, path)
    except StudentError:
        return None, path
    if not read["ok"]:
        return None, path
    paths = find_paths(read["content"], expected, epoch)
    return (paths if all(v is not None for v in paths.values()) else None), path


def check_load_checkpoint(student, optimizer: str, saved_on: str, device: str) -> None:
    """A correct file (in the layout of the student's save_checkpoint) written with tensors on
    `saved_on`, loaded by the student's load_checkpoint on `device`: the epoch comes back and
    training continues exactly as the run that never stopped."""
    layout, template = layout_of_student_save(student, optimizer, device)
    path, epoch = "/tmp/grader_checkpoint_load.pt", 12
    run = probe(student, "new_run", optimizer, 0, device, keep=True)
    probe(student, "train", run, 3)
    probe(student, "write_checkpoint", path, run, epoch, layout, template, saved_on)
    restored = probe(student, "run_state", run)
    straight = probe(student, "train", run, RESUME_STEPS)
    expected = probe(student, "run_state", run)

    fresh = probe(student, "new_run", optimizer, 5, device, keep=True)
    model, opt = probe(student, "parts", fresh, keep=True)
    restore = probe(student, "watch_loads", keep=True)
    try:
        returned = student.call("load_checkpoint", path, model, opt, device, keep=True)
    finally:
        loads = student.call_handle(restore, [], name="torch.load")
    if loads and any(entry["weights_only"] is False for entry in loads):
        raise Mistake(MISTAKES["load_not_weights_only"], "load_not_weights_only")
    if loads and all(entry["map_location"] is None for entry in loads):
        raise Mistake(MISTAKES["load_no_map_location"], "load_no_map_location")
    try:
        returned_epoch = checks.number(returned, "load_checkpoint(...)")
    except Mistake:
        returned_epoch = None
    checks.expect(
        returned_epoch == epoch,
        MISTAKES["load_epoch"],
        "load_epoch",
        returned=checks.describe_type(returned) if returned_epoch is None else returned_epoch,
        epoch=epoch,
    )
    after = probe(student, "run_state", fresh)
    checks.expect(same_state(after["model"], restored["model"]), MISTAKES["load_no_model"], "load_no_model")
    resumed = probe(student, "train", fresh, RESUME_STEPS)
    final = probe(student, "run_state", fresh)
    same = resumed == straight and same_state(final["model"], expected["model"])
    checks.expect(same, MISTAKES["load_no_optimizer"], "load_no_optimizer")


# ----------------------------------------------------------------------- init_xavier_


def check_init_xavier(student, device: str) -> None:
    model = probe(student, "build", "mixed", keep=True)
    student.call_handle(model, ["to"], device, name="model.to")
    before = probe(student, "state", model)
    returned = student.call("init_xavier_", model, keep=True, mutates=True)
    if returned is None:
        raise Mistake(MISTAKES["returned_none"], "returned_none", name="init_xavier_")
    if not isinstance(returned, Handle) or probe(student, "same", model, returned) is not True:
        raise Mistake(MISTAKES["not_same_model"], "not_same_model", name="init_xavier_")
    after = probe(student, "state", model)
    layers = probe(student, "layers", model)
    touched = set()
    for name, _ in layers:
        prefix = f"{name}." if name else ""
        weight = after[f"{prefix}weight"].double()
        touched.add(f"{prefix}weight")
        fan_in = weight.shape[1] * weight[0, 0].numel()
        fan_out = weight.shape[0] * weight[0, 0].numel()
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        checks.expect(
            not torch.equal(weight, before[f"{prefix}weight"].double()),
            MISTAKES["xavier_untouched"],
            "xavier_untouched",
            name=f"{prefix}weight",
        )
        std, top = float(weight.std()), float(weight.abs().max())
        if top > bound * (1 + 1e-5):
            uniform_std = bound / math.sqrt(3)
            key = "xavier_normal" if abs(std - uniform_std) < 0.1 * uniform_std else "xavier_fan"
            raise Mistake(MISTAKES[key], key, name=f"{prefix}weight", bound=bound, top=top)
        if abs(std - bound / math.sqrt(3)) > 0.12 * bound / math.sqrt(3) or top < 0.9 * bound:
            raise Mistake(MISTAKES["xavier_fan"], "xavier_fan", name=f"{prefix}weight", bound=bound, top=top)
        if f"{prefix}bias" in after:
            touched.add(f"{prefix}bias")
            checks.expect(
                bool((after[f"{prefix}bias"] == 0).all()), MISTAKES["xavier_bias"], "xavier_bias", name=f"{prefix}bias"
            )
    changed = [k for k in before if k not in touched and not torch.equal(before[k], after[k])]
    checks.expect(not changed, MISTAKES["xavier_others"], "xavier_others", names=", ".join(changed[:4]))


# ----------------------------------------------------------------------- optimizer_race


def reference_race(kind: str, makers: list[str], X: torch.Tensor, y: torch.Tensor, steps: int) -> dict:
    model, loss_fn, factories = probes.race_setup(kind, makers, "cpu")
    curves = {}
    for name, factory in factories.items():
        twin = copy.deepcopy(model)
        optimizer = factory(twin.parameters())
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(twin(X), y)
            loss.backward()
            losses.append(float(loss))  # the loss before the step, as the contract says
            optimizer.step()
        curves[name] = losses
    return curves


def race_data(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(9)
    X = torch.randn(40, 6, generator=g) if kind == "mlp" else torch.rand(30, 1, 8, 8, generator=g)
    y = torch.randint(0, 3 if kind == "mlp" else 5, (len(X),), generator=g)
    return X, y


def check_optimizer_race(student, kind: str, makers: list[str], steps: int, device: str) -> None:
    X, y = race_data(kind)
    model, loss_fn, factories = probe(student, "race_setup", kind, makers, device, keep=True)
    before = probe(student, "state", model)
    result = student.call("optimizer_race", model, X, y, loss_fn, factories, steps, device=device)
    checks.expect(
        all(torch.equal(before[k], v) for k, v in probe(student, "state", model).items()),
        MISTAKES["race_model_changed"],
        "race_model_changed",
    )
    if not isinstance(result, dict) or set(result) != set(makers):
        raise Mistake(
            MISTAKES["race_keys"],
            "race_keys",
            expected=sorted(makers),
            actual=sorted(result) if isinstance(result, dict) else checks.describe_type(result),
        )
    expected = reference_race(kind, makers, X, y, steps)
    for name in makers:
        curve = result[name]
        if not isinstance(curve, list) or not all(type(v) is float for v in curve):
            raise Mistake(MISTAKES["race_not_floats"], "race_not_floats", name=name, type=checks.describe_type(curve))
        checks.expect(
            len(curve) == steps, MISTAKES["race_length"], "race_length", name=name, steps=steps, actual=len(curve)
        )

    def close(a: list[float], b: list[float]) -> bool:
        return len(a) == len(b) and all(abs(u - v) <= 2e-3 * max(1.0, abs(v)) for u, v in zip(a, b))

    for index, name in enumerate(makers):
        curve, target = result[name], expected[name]
        if close(curve, target):
            continue
        if index > 0 and abs(curve[0] - expected[makers[0]][0]) > 1e-3 and curve[0] < expected[makers[0]][0]:
            raise Mistake(MISTAKES["race_sequential"], "race_sequential", name=name)
        if close(curve[:-1], target[1:]):
            raise Mistake(MISTAKES["race_after_step"], "race_after_step")
        if abs(curve[0] - target[0]) > 2e-3 * max(1.0, abs(target[0])):
            raise Mistake(MISTAKES["race_start"], "race_start", name=name)
        raise Mistake(MISTAKES["race_values"], "race_values", name=name)


# ----------------------------------------------------------------------- train_small_digits


def check_small_digits(student, device: str) -> None:
    from grader.kit.data import digits_split

    model = checks.trained_model(student, "train_small_digits", device, 90, blind=True)
    _, _, X_test, y_test = digits_split()
    accuracy = checks.classifier_accuracy(
        student, model, X_test, y_test, device, "model", wrong_labels=checks.wrong_labels_of(digits_split)
    )
    checks.expect(
        accuracy >= SMALL_DIGITS_MINIMUM,
        MISTAKES["small_accuracy"],
        "small_accuracy",
        accuracy=accuracy,
        device=device,
        minimum=SMALL_DIGITS_MINIMUM,
    )
