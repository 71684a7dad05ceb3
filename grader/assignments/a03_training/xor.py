"""`train_xor_mlp`: the grader calls the student's function for several seeds and judges
the networks that come back by what they do on the four XOR points and on probe points.

Hand-set weights are rejected by behaviour, not by reading code: no backward pass ran
while the function built its network (the operator trace), or the seed changes nothing
(every seed gives the same function), or the same seed gives another network.
"""

from __future__ import annotations

import torch

from grader import checks
from grader.assignments.a03_training import MISTAKES
from grader.checks import Mistake
from grader.engine.protocol import Handle
from grader.i18n import Text

XOR_INPUTS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = torch.tensor([0, 1, 1, 0])
# Points around and between the four corners: two networks that agree here compute the same function.
PROBES = torch.cat([XOR_INPUTS, torch.rand(28, 2, generator=torch.Generator().manual_seed(19)) * 5 - 2])
TIMEOUT = 10.0  # the catalog's bound per seed
TRACED_SEED = 0  # one traced call shows whether autograd ran (tracing every call would slow all of them)


def xor_model(student, seed: int, device: str, call_seed: int | None = None) -> Handle:
    """The network `train_xor_mlp(seed, device)` returns (once per seed, device and process), in eval mode."""
    traced = seed == TRACED_SEED and call_seed is None
    value = student.call(
        "train_xor_mlp",
        seed,
        device,
        keep=True,
        reuse=call_seed is None,
        timeout=TIMEOUT,
        trace_ops=traced,
        seed=call_seed,
    )
    model, trace = value if traced else (value, None)
    if not isinstance(model, Handle):
        raise Mistake(checks.NOT_A_MODEL, "not_a_model", name="train_xor_mlp", type=checks.describe_type(model))
    if trace is not None and not trace.backward:
        raise Mistake(MISTAKES["xor_not_trained"], "xor_not_trained")
    student.call_handle(model, ["eval"], name="model.eval()")  # a network with Dropout answers the same every time
    return model


def outputs(student, model: Handle, device: str) -> torch.Tensor:
    """The network's logits on PROBES (the four XOR points first), checked as logits (N, 2)."""
    what = "model(X)"
    logits = checks.tensor_on(student.call_handle(model, [], PROBES, device=device, name=what), what, device)
    checks.shape(logits, (len(PROBES), 2), what)
    checks.finite(logits, what)
    checks.logits_not_probabilities(logits, what)
    return logits.double()


def solves_xor(logits: torch.Tensor) -> bool:
    return bool((logits[:4].argmax(dim=1) == XOR_LABELS).all())


def is_affine(logits: torch.Tensor) -> bool:
    """The outputs on PROBES are an affine function of the inputs (no nonlinearity between the
    layers, or none that does anything): a least-squares affine fit leaves almost nothing."""
    design = torch.cat([PROBES.double(), torch.ones(len(PROBES), 1, dtype=torch.float64)], dim=1)
    fit = torch.linalg.lstsq(design, logits).solution
    residual = (design @ fit - logits).abs().max()
    return bool(residual <= 1e-3 * (1 + logits.abs().max()))


def check_seeds(student, seeds: list[int], device: str) -> dict[int, torch.Tensor]:
    """Every seed's network solves XOR; different seeds give different networks. Returns
    seed -> logits on PROBES."""
    found = {seed: outputs(student, xor_model(student, seed, device), device) for seed in seeds}
    failing = [seed for seed, logits in found.items() if not solves_xor(logits)]
    if failing and all(is_affine(logits) for logits in found.values()):
        raise Mistake(MISTAKES["xor_linear"], "xor_linear")
    if failing and len(failing) < len(seeds):
        raise Mistake(MISTAKES["xor_some_seeds"], "xor_some_seeds", failing=failing, total=len(seeds), device=device)
    if failing:
        raise Mistake(MISTAKES["xor_not_learned"], "xor_not_learned", device=device)
    first = found[seeds[0]]
    if all(same_function(first, logits) for logits in found.values()):
        raise Mistake(
            MISTAKES["xor_seed_ignored"],
            "xor_seed_ignored",
            detail=Text(
                pt=f"as sementes {seeds} deram todas a mesma rede", en=f"seeds {seeds} all gave the same network"
            ),
        )
    return found


def same_function(a: torch.Tensor, b: torch.Tensor) -> bool:
    # Float32 networks trained the same way agree to rounding; TF32 on a GPU stays well inside this.
    return bool(torch.allclose(a, b, rtol=1e-3, atol=1e-4))
