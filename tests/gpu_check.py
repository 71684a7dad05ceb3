"""The GPU check: what a CPU-only CI cannot see, in one command on a CUDA machine.

    bash tests/gpu_check.sh            # a fresh CUDA machine: finds or installs what it needs
    python tests/gpu_check.py          # where torch with CUDA is already installed

Parts, each in a process of its own with a time budget (the whole under 8 minutes on one
H200 and 16 cores; independent parts run side by side):

  pytest_gpu         the project's GPU-only tests (`pytest -m gpu`: the `gpu` mark and the
                     cuda instances of conftest.DEVICES), none skipped
  grade_03_training  the device-parametrized graders on the reference, two or three mutants
  grade_04_cnn       of the assignment's variants.py (and an alternative), and mistakes only
  grade_05_transfer  a GPU shows (a batch, a model or a new head left on the CPU, a
  grade_06_regular.. hard-coded `.cuda()`, a random draw left on the CPU), graded with
                     grade_batch (jobs=2) on the default devices; the first judged by
                     variant_harness.check_variant, the GPU-only ones by where they lose
                     marks and the hint they get
  cuda_coverage      every device-parametrized test of those gradings ran on every device
  gpu_memory_cap     a student process is held to its share of the GPU (LaunchSettings): an
                     allocation over it is an OutOfMemoryError for that call only, whether
                     the grader passes `device=` or the student's function gets the device
                     as an argument (03-05's training calls); graded, it costs one exercise
  cuda_hang_kill     a call stuck on the GPU (a spinning kernel and a synchronize, or a sleep
                     after CUDA work) comes back as a timeout, its process is gone, and the
                     next call and the next exercises are graded

The last line is the summary, e.g. `GPU CHECK: 8/8 passed (torch 2.11.0+cu130, NVIDIA
H200, sandbox bwrap, 241 s)`; the exit code is 0 only when every part passed, 2 when CUDA
is not available (nothing is run). With $OUT set (or --report), a JSON report is written
to $OUT/gpu_check.json and the parts' logs to $OUT/gpu_check.log.

`--devices cpu` runs the same parts on the CPU alone (what a GPU changes is then expected
not to show, and the hangs are triggered on the CPU): it proves the plumbing on a machine
without a GPU and is no GPU check; its summary says so.

Importing this module has no side effects (tests/test_gpu_check.py imports it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
EXIT_NO_CUDA = 2
INNER_ENV = "GPU_CHECK_INNER"  # set in what the check starts: tests/test_gpu_check.py does not recurse
RUN_ENV = "GPU_CHECK_RUN"  # a per-run id every process the check starts inherits (for the cleanup)
NO_CUDA = (
    "GPU CHECK: refused: CUDA is not available on this machine ({why}). This check needs an "
    "NVIDIA GPU: run `bash tests/gpu_check.sh` on a CUDA machine (or pass --devices cpu to try "
    "its plumbing on the CPU alone)."
)
TOTAL_SECONDS = 480  # the whole check, parts side by side
MEMORY_FRACTION = 0.25  # each student process's GPU share while the cap is checked

# Mutants and alternatives of each assignment's variants.py graded here (the whole list is
# tests/test_assignments.py's job on the CPU; these train or move tensors on the device).
LIBRARY_PICKS = {
    "03_training": ["mutant_epoch_no_train_mode", "mutant_eval_no_no_grad", "mutant_xor_two_hidden_units"],
    "04_cnn": ["mutant_block_relu_before_bn", "mutant_train_digits_lr_too_low"],
    "05_transfer": [
        "mutant_probe_head_not_replaced",
        "mutant_finetune_one_large_rate",
        "alt_head_device_from_any_parameter",
    ],
    "06_regularization": [
        "mutant_load_without_map_location",
        "mutant_dropout_mask_shared_across_batch",
        "alt_checkpoint_tutorial_keys",
    ],
}


# --------------------------------------------------------------------------- checks


class Checks:
    """Named sub-checks of one part; a failing one is recorded and the part goes on."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def run(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            detail = fn(*args, **kwargs)
        except Exception as exc:
            message = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, AssertionError):
                message += "\n" + "".join(traceback.format_exception(exc))[-1500:]
            self.items.append(
                {
                    "name": name,
                    "ok": False,
                    "detail": _cut(message or "assertion failed"),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
            return None
        self.items.append(
            {
                "name": name,
                "ok": True,
                "detail": _cut(str(detail or "")),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
        return detail

    def note(self, name: str, ok: bool, detail: str = "") -> None:
        self.items.append({"name": name, "ok": ok, "detail": _cut(detail), "seconds": 0.0})

    @property
    def ok(self) -> bool:
        return bool(self.items) and all(item["ok"] for item in self.items)


def _cut(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"


# --------------------------------------------------------------------------- results.json readers


@dataclass
class Run:
    """One test of a results.json, with the outcome on each device that ran it."""

    exercise: str
    name: str
    outcomes: dict[str, str]  # device -> outcome ("cpu" for a test without a device)
    has_device: bool
    hints: set[str] = field(default_factory=set)
    outputs: list[str] = field(default_factory=list)


def device_runs(result: dict) -> list[Run]:
    """The tests of a results.json, one Run per test, in either shape: one entry per test
    with `extra_data.devices` (device -> outcome), or one entry per device with
    `extra_data.device` and the device in brackets at the end of its name."""
    runs: list[Run] = []
    open_slots: dict[tuple[str, str], list[Run]] = {}
    for test in result.get("tests", []):
        extra = test.get("extra_data", {})
        exercise, outcome, hint = extra.get("exercise", ""), extra.get("outcome", ""), extra.get("hint")
        devices = extra.get("devices")
        if isinstance(devices, dict) and devices:
            run = Run(exercise, test["name"], {str(d): str(o) for d, o in devices.items()}, True)
            runs.append(run)
        elif extra.get("device"):
            device = str(extra["device"])
            suffix = f" [{device}]"
            base = test["name"][: -len(suffix)] if test["name"].endswith(suffix) else test["name"]
            slots = open_slots.setdefault((exercise, base), [])
            run = next((r for r in slots if device not in r.outcomes), None)
            if run is None:
                run = Run(exercise, base, {}, True)
                slots.append(run)
                runs.append(run)
            run.outcomes[device] = outcome
        else:
            run = Run(exercise, test["name"], {"cpu": outcome}, False)
            runs.append(run)
        if hint:
            run.hints.add(hint)
        if test.get("status") != "passed":
            run.outputs.append(test.get("output", "")[:600])
    return runs


def coverage(result: dict, devices: tuple[str, ...]) -> dict:
    """Which device-parametrized tests did not run on every device."""
    runs = [r for r in device_runs(result) if r.has_device]
    missing = [f"{r.name}: ran on {sorted(r.outcomes)}" for r in runs if set(r.outcomes) != set(devices)]
    on = {d: sum(d in r.outcomes for r in runs) for d in devices}
    return {"device_tests": len(runs), "on": on, "missing": missing}


def _failing_outputs(result: dict, exercise: str) -> list[str]:
    return [o for r in device_runs(result) if r.exercise == exercise for o in r.outputs][:4]


# --------------------------------------------------------------------------- the graded cases


@dataclass(frozen=True)
class DeviceCase:
    """A mistake only one device shows: `breaks` loses marks through the tests that run on
    `fails_on` (the devices of this run only), named by one of `hints`
    (`hints_without_cuda` on a machine without CUDA, where it differs)."""

    variant: Any  # grader.variants.Variant
    fails_on: frozenset
    hints: frozenset
    hints_without_cuda: frozenset | None = None

    @property
    def breaks(self) -> str:
        return next(iter(self.variant.replace))


def device_cases(assignment_id: str) -> list[DeviceCase]:
    from grader.variants import Variant, edit_reference

    def case(name, exercise, old, new, fails_on, hints, hints_without_cuda=None):
        return DeviceCase(
            Variant(name, edit_reference(assignment_id, exercise, (old, new))),
            frozenset(fails_on),
            frozenset(hints),
            frozenset(hints_without_cuda) if hints_without_cuda else None,
        )

    if assignment_id == "03_training":
        return [
            case(
                "gpu_eval_batches_on_cpu",
                "evaluate",
                "            X, y = X.to(device), y.to(device)\n",
                "",
                {"cuda"},
                {"device_mismatch"},
            ),
            case(
                "gpu_xor_data_on_cpu",
                "train_xor_mlp",
                "    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=device)\n",
                "    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # fica na CPU\n",
                {"cuda"},
                {"device_mismatch"},
            ),
        ]
    if assignment_id == "04_cnn":
        return [
            case(
                "gpu_signal_model_on_cpu",
                "train_signal_cnn",
                "    model = build_signal_cnn().to(device)\n",
                "    model = build_signal_cnn()  # fica na CPU\n",
                {"cuda"},
                {"device_mismatch", "wrong_device"},
            ),
            case(
                "gpu_naive_hardcoded_cuda",
                "conv2d_naive",
                'out = torch.einsum("ncijuv,ocuv->noij", janelas, weight)',
                'out = torch.einsum("ncijuv,ocuv->noij", janelas.cuda(), weight.cuda())',
                {"cpu"},
                {"device_mismatch", "wrong_device"},
                {"hardcoded_cuda"},
            ),
        ]
    if assignment_id == "06_regularization":
        # draws left on the CPU: with the grader's CUDA generator torch refuses it (the
        # generator's device), without one the CPU draw meets the CUDA input
        return [
            case(
                "gpu_dropout_mask_on_cpu",
                "dropout_forward",
                "torch.rand(x.shape, generator=generator, device=x.device)",
                "torch.rand(x.shape, generator=generator)",
                {"cuda"},
                {"device_mismatch", "generator_device"},
            ),
            case(
                "gpu_shift_offsets_on_cpu",
                "random_shift",
                "torch.randint(-m, m + 1, (n, 2), generator=generator, device=x.device)",
                "torch.randint(-m, m + 1, (n, 2), generator=generator)",
                {"cuda"},
                {"device_mismatch", "generator_device"},
            ),
        ]
    if assignment_id == "05_transfer":
        return [
            case(
                "gpu_head_left_on_cpu",
                "replace_head",
                "    model.fc = nova.to(antiga.weight.device)\n",
                "    model.fc = nova  # fica na CPU\n",
                {"cuda"},
                {"head_device"},
            )
        ]
    return []


def check_device_case(
    results: dict, case: DeviceCase, devices: tuple[str, ...], cuda_present: bool, what: str = "marks"
) -> str:
    """what="marks": `breaks` loses marks through the tests on the devices that show the
    mistake, and only there, and nothing else loses marks; what="hint": the failing tests
    name the mistake with one of the expected hints."""
    result, reference = results[case.variant.name], results["reference"]
    failing = case.fails_on & set(devices)
    exercises = result["extra_data"]["exercises"]
    runs = [r for r in device_runs(result) if r.exercise == case.breaks]
    bad = [r for r in runs if any(o != "passed" for o in r.outcomes.values())]
    if what == "hint":
        expected = case.hints if cuda_present or case.hints_without_cuda is None else case.hints_without_cuda
        hints = set().union(*(r.hints for r in bad)) if bad else set()
        assert hints & expected, (
            "the mistake is not named",
            {"expected one of": sorted(expected), "got": sorted(hints)},
            [o for r in bad for o in r.outputs][:3],
        )
        return f"hints {sorted(hints)}"
    for exercise, info in exercises.items():
        if exercise != case.breaks or not failing:
            assert info["score"] == info["max_score"], (exercise, info, _failing_outputs(result, exercise))
    if not failing:
        return f"invisible on {', '.join(devices)}: full marks, as expected"
    info = exercises[case.breaks]
    assert info["score"] < info["max_score"], (case.breaks, "kept its marks", info)
    assert bad, (case.breaks, "no test failed")
    wrong = [(r.name, r.outcomes) for r in runs for d, o in r.outcomes.items() if d not in failing and o != "passed"]
    assert not wrong, ("failed on a device that does not show this mistake", wrong, [r.outputs for r in bad][:2])
    lost = reference["max_score"] - result["score"]
    assert abs(lost - (info["max_score"] - info["score"])) < 1e-3, ("other exercises lost marks", lost, info)
    return (
        f"{case.breaks}: {info['score']}/{info['max_score']}, {len(bad)} of {len(runs)} tests fail on "
        f"{', '.join(sorted(failing))}"
    )


def check_exercise_fails_on(result: dict, exercise: str, device: str, outcomes: set[str]) -> str:
    """`exercise`'s tests fail with one of `outcomes` where they run on `device` and pass
    elsewhere; every other exercise keeps full marks (one mistake costs one exercise)."""
    exercises = result["extra_data"]["exercises"]
    others = {e: i for e, i in exercises.items() if e != exercise and i["score"] != i["max_score"]}
    assert not others, ("other exercises lost marks", others, [_failing_outputs(result, e) for e in others])
    runs = [r for r in device_runs(result) if r.exercise == exercise]
    hit = [r for r in runs if device in r.outcomes]
    assert hit, (exercise, f"no test ran on {device}")
    wrong = [
        (r.name, r.outcomes)
        for r in runs
        for d, o in r.outcomes.items()
        if (d == device and o not in outcomes) or (d != device and o != "passed")
    ]
    assert not wrong, (
        f"expected {sorted(outcomes)} on {device} and passed elsewhere",
        wrong,
        [o for r in runs for o in r.outputs][:3],
    )
    info = exercises[exercise]
    assert info["score"] < info["max_score"], (exercise, info)
    return f"{exercise}: {len(hit)} tests {'/'.join(sorted({r.outcomes[device] for r in hit}))} on {device}"


# --------------------------------------------------------------------------- parts


@dataclass
class Context:
    devices: tuple[str, ...]  # the devices this run grades on
    cuda: bool  # CUDA is used by this run (not a cpu plumbing run)
    cuda_present: bool  # this machine has CUDA at all
    workdir: Path

    @property
    def grade_devices(self) -> tuple[str, ...] | None:
        return None if self.cuda else self.devices  # None: grading's default devices (cpu and cuda)

    @property
    def trigger(self) -> str:
        """Where the hang and memory submissions misbehave: on CUDA, or on the CPU in a plumbing run."""
        return "cuda" if self.cuda else "cpu"


def part_pytest_gpu(ctx: Context, checks: Checks) -> dict:
    import re
    import xml.etree.ElementTree as ET

    pattern = re.compile(r"mark\.gpu\b|\bDEVICES\b")
    files = sorted(
        str(p.relative_to(ROOT))
        for p in TESTS.rglob("test_*.py")
        if p.name != "test_gpu_check.py" and pattern.search(p.read_text(encoding="utf-8"))
    )
    checks.note("GPU tests found", bool(files), ", ".join(files) or "no test file has a gpu mark")
    if not files:
        return {}
    xml = ctx.workdir / "pytest_gpu.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "gpu",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfEs",
        f"--junitxml={xml}",
        *files,
    ]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, INNER_ENV: "1"})
    print(proc.stdout[-6000:], proc.stderr[-3000:], sep="\n", flush=True)
    cases: list[tuple[str, str, str]] = []  # (test id, outcome, message)
    if xml.exists():
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            verdict = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
            outcome = verdict.tag if verdict is not None else "passed"
            message = (verdict.get("message", "") if verdict is not None else "")[:300]
            cases.append((name, outcome, message))
    counts = {k: sum(o == k for _, o, _ in cases) for k in ("passed", "failure", "error", "skipped")}
    checks.note(
        "pytest ran",
        proc.returncode in (0, 1, 5) and xml.exists(),
        f"exit code {proc.returncode}, {json.dumps(counts)}, {time.monotonic() - started:.0f} s",
    )
    bad = [f"{n}: {o}: {m}" for n, o, m in cases if o in ("failure", "error")]
    checks.note("no GPU test failed", not bad and proc.returncode in (0, 5), "\n".join(bad))
    skipped = [f"{n}: {m}" for n, o, m in cases if o == "skipped"]
    if ctx.cuda:
        checks.note(
            "every GPU test ran (none skipped)",
            counts["passed"] > 0 and not skipped,
            "\n".join(skipped) or f"{counts['passed']} passed",
        )
    else:
        checks.note(
            "collected, skipped without CUDA (plumbing run)",
            bool(cases),
            f"{len(cases)} collected, {len(skipped)} skipped",
        )
    return {"tests": [{"id": n, "outcome": o, "message": m} for n, o, m in cases]}


def part_grade(assignment_id: str) -> Callable[[Context, Checks], dict]:
    def part(ctx: Context, checks: Checks) -> dict:
        from variant_harness import REFERENCE, check_variant

        from grader.grading import GradeOptions, grade_batch
        from grader.variants import load_variants, write_submissions

        library = {v.name: v for v in load_variants(assignment_id)}
        picks = [library[name] for name in LIBRARY_PICKS[assignment_id]]
        cases = device_cases(assignment_id)
        variants = [REFERENCE, *picks, *(c.variant for c in cases)]
        folder = ctx.workdir / assignment_id
        paths = write_submissions(assignment_id, variants, folder / "submissions")
        started = time.monotonic()
        graded = grade_batch(
            list(paths.values()), assignment_id, folder / "results", GradeOptions(devices=ctx.grade_devices), jobs=2
        )
        seconds = time.monotonic() - started
        results = dict(zip(paths, graded))
        print(f"{assignment_id}: {len(graded)} submissions graded in {seconds:.0f} s", flush=True)
        for name, result in results.items():
            print(f"  {name}: {result['score']}/{result['max_score']}", flush=True)

        def reference_full_marks():
            check_variant(results, REFERENCE)
            return f"{results['reference']['score']}/{results['reference']['max_score']}"

        checks.run("reference: full marks", reference_full_marks)
        for variant in picks:
            label = f"{variant.name}: loses {variant.breaks}" if variant.breaks else f"{variant.name}: full marks"
            checks.run(
                label,
                lambda v=variant: (
                    check_variant(results, v) or f"{results[v.name]['score']}/{results[v.name]['max_score']}"
                ),
            )
        for case in cases:
            where = "/".join(sorted(case.fails_on))
            checks.run(
                f"{case.variant.name}: loses {case.breaks} only where {where} runs it",
                check_device_case,
                results,
                case,
                ctx.devices,
                ctx.cuda_present,
                "marks",
            )
            if case.fails_on & set(ctx.devices):
                checks.run(
                    f"{case.variant.name}: the feedback names it",
                    check_device_case,
                    results,
                    case,
                    ctx.devices,
                    ctx.cuda_present,
                    "hint",
                )
        reports = {name: coverage(result, ctx.devices) for name, result in results.items()}
        isolation = sorted({r["extra_data"].get("isolation", "?") for r in graded})
        return {
            "seconds": round(seconds, 1),
            "coverage": reports,
            "isolation": isolation,
            "scores": {n: [r["score"], r["max_score"]] for n, r in results.items()},
        }

    return part


def _hang_cells() -> list[str]:
    return [
        "import signal, time\nimport torch",
        # Stuck below Python: a kernel that spins for minutes and a synchronize waiting for it
        # (on the CPU, in a plumbing run: a sleep with the time-limit signal blocked).
        "def spin(x):\n    y = x * 2\n    if x.is_cuda:\n        torch.cuda._sleep(1 << 40)\n"
        "        torch.cuda.synchronize()\n    else:\n"
        "        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n        time.sleep(1e9)\n    return y",
        # Stuck in Python after CUDA work: the time-limit signal reaches it.
        "def nap(x):\n    y = float((x * 2).sum())\n    time.sleep(1e9)\n    return y",
        "def double(x):\n    return x * 2",
    ]


def _process_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return True
        time.sleep(0.2)
    return False


def part_hang(ctx: Context, checks: Checks) -> dict:
    import torch

    from grader.engine.session import GRACE_SECONDS, Limits, StudentSession, StudentTimeout

    device, call_seconds = ctx.trigger, 2.0
    x = torch.arange(4.0)
    data: dict = {}

    def direct() -> str:
        limits = Limits(call_seconds=call_seconds, cell_seconds=30, submission_seconds=240)
        with StudentSession(_hang_cells(), limits=limits) as s:
            first = time.monotonic()
            assert torch.equal(s.call("double", x, device=device).cpu(), x * 2), "double is wrong before the hang"
            data["first_call_s"] = round(time.monotonic() - first, 2)
            pid = s.transport.child.pid
            started = time.monotonic()
            try:
                s.call("spin", x, device=device)
                raise AssertionError("spin returned")
            except StudentTimeout:
                pass
            took = time.monotonic() - started
            data["spin_timeout_s"] = round(took, 2)
            assert took < call_seconds + GRACE_SECONDS + 10, f"the stuck call came back after {took:.1f} s"
            assert _process_gone(pid, 20), f"the killed student process {pid} is still there 20 s later"
            started = time.monotonic()
            assert torch.equal(s.call("double", x, device=device).cpu(), x * 2), "double is wrong after the kill"
            data["call_after_kill_s"] = round(time.monotonic() - started, 2)
            assert s.restarts == 1, f"restarts: {s.restarts}"
            started = time.monotonic()
            try:
                s.call("nap", x, device=device)
                raise AssertionError("nap returned")
            except StudentTimeout:
                pass
            took = time.monotonic() - started
            data["nap_timeout_s"] = round(took, 2)
            assert took < call_seconds + GRACE_SECONDS + 10, f"the sleeping call came back after {took:.1f} s"
            assert torch.equal(s.call("double", x, device=device).cpu(), x * 2), "double is wrong after the nap"
            kept = s.restarts == 1
        return (
            f"spin on {device}: timeout after {data['spin_timeout_s']} s, process {pid} gone, next call "
            f"{data['call_after_kill_s']} s in a new process; nap: timeout after {data['nap_timeout_s']} s, "
            f"{'same process kept' if kept else 'process replaced'}"
        )

    checks.run(f"a call stuck on {device} times out, its process is killed, the next call works", direct)

    def graded() -> str:
        from grader.engine.session import Limits as L
        from grader.grading import GradeOptions, grade_batch
        from grader.variants import Variant, edit_reference, write_submissions

        on = f'getattr(getattr(z, "device", None), "type", None) == "{device}"'
        spin = (
            f"    if {on}:\n        import signal, time\n        y = z * 2\n"
            "        if z.is_cuda:\n            torch.cuda._sleep(1 << 40)\n            torch.cuda.synchronize()\n"
            "        else:\n            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
            "            time.sleep(1e9)\n"
        )
        nap = f"    if {on}:\n        import time\n        float((z * 2).sum())\n        time.sleep(1e9)\n"
        tanh_return = "    return 2 / (1 + torch.exp(-2 * z)) - 1"
        sigmoid_return = "    return 1 / (1 + torch.exp(-z))"
        variants = [
            Variant("hang_tanh_spins", edit_reference("01_neurons", "tanh", (tanh_return, spin + tanh_return))),
            Variant(
                "hang_sigmoid_naps", edit_reference("01_neurons", "sigmoid", (sigmoid_return, nap + sigmoid_return))
            ),
        ]
        folder = ctx.workdir / "hang"
        paths = write_submissions("01_neurons", variants, folder / "submissions")
        started = time.monotonic()
        options = GradeOptions(
            devices=ctx.grade_devices, limits=L(call_seconds=3, cell_seconds=30, submission_seconds=400)
        )
        results = dict(zip(paths, grade_batch(list(paths.values()), "01_neurons", folder / "results", options, jobs=2)))
        data["graded_s"] = round(time.monotonic() - started, 1)
        lines = [
            check_exercise_fails_on(results["hang_tanh_spins"], "tanh", device, {"timeout", "crashed"}),
            check_exercise_fails_on(results["hang_sigmoid_naps"], "sigmoid", device, {"timeout"}),
        ]
        return "; ".join(lines) + f"; every other exercise full marks ({data['graded_s']} s)"

    checks.run(f"graded: a hang on {device} costs its exercise, the next exercises are graded", graded)
    return data


def part_memory(ctx: Context, checks: Checks) -> dict:
    import torch

    from grader.engine.launcher import LaunchSettings
    from grader.engine.session import Limits, StudentError, StudentSession

    capped = LaunchSettings(gpu_memory_fraction=MEMORY_FRACTION)

    over, under = MEMORY_FRACTION + 0.15, MEMORY_FRACTION - 0.10
    cells = [
        "import torch",
        "def fraction(x):\n    get = getattr(torch.cuda, 'get_per_process_memory_fraction', None)\n"
        "    return -1.0 if get is None else float(get(x.device))",
        "def hog(x, share):\n    n = int(torch.cuda.get_device_properties(x.device).total_memory * share)\n"
        "    blob = torch.empty(n, dtype=torch.uint8, device=x.device)\n    blob[-1] = 1\n    return int(blob.numel())",
        "def hog_on(device, share):\n    return hog(torch.zeros(1, device=device), share)",
    ]
    limits = Limits(call_seconds=60, cell_seconds=60, submission_seconds=240)
    x = torch.zeros(1)
    data: dict = {"fraction": MEMORY_FRACTION}

    def expect_oom(call: Callable[[], Any], what: str) -> str:
        try:
            got = call()
        except StudentError as exc:
            error = getattr(exc, "error", {}) or {}
            kind, message = str(error.get("type", "")), str(error.get("message", ""))
            assert kind == "OutOfMemoryError" or "out of memory" in message.lower(), (what, kind, message[:300])
            return f"{kind}: {message[:120]}"
        raise AssertionError(f"{what}: allocated {got} bytes, over the cap of {MEMORY_FRACTION} of the GPU")

    if ctx.cuda:
        free, total = torch.cuda.mem_get_info()
        data.update(gpu_free_gib=round(free / 2**30, 1), gpu_total_gib=round(total / 2**30, 1))
        checks.note(
            "the GPU has room beyond the cap (an OOM then comes from the cap)",
            free > (over + 0.05) * total,
            f"{free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB; over-cap request {over:.2f}",
        )

        def designed() -> str:
            with StudentSession(cells, limits=limits, settings=capped) as s:
                got = s.call("fraction", x, device="cuda")
                if got >= 0:
                    assert abs(got - MEMORY_FRACTION) < 1e-6, f"the student process's fraction is {got}"
                assert s.call("hog", x, under, device="cuda") > 0, "an allocation under the cap failed"
                oom = expect_oom(lambda: s.call("hog", x, over, device="cuda"), "device= call")
                assert s.call("hog", x, under, device="cuda") > 0, "no allocation under the cap after the OOM"
                assert s.restarts == 0, f"the student process was replaced {s.restarts} times"
            seen = f"fraction {got}" if got >= 0 else "no get_per_process_memory_fraction in this torch"
            return f"{seen}; {under:.2f} of the GPU allocated, {over:.2f} refused ({oom}); the process lives on"

        def as_argument() -> str:
            with StudentSession(cells, limits=limits, settings=capped) as s:
                return expect_oom(lambda: s.call("hog_on", "cuda", over), "device passed as an argument")

        checks.run(f"capped at {MEMORY_FRACTION} when the grader calls with device='cuda'", designed)
        checks.run("capped when the device is an argument (03-05's training calls: call(name, 'cuda'))", as_argument)
    else:
        checks.note("direct checks of the cap", True, "no CUDA in this run: nothing to cap")

    def graded() -> str:
        from grader.grading import GradeOptions, grade_batch
        from grader.variants import Variant, edit_reference, write_submissions

        hog = (
            '    if getattr(getattr(z, "device", None), "type", None) == "cuda":\n'
            f"        blob = torch.empty(int(torch.cuda.get_device_properties(z.device).total_memory * {over}),\n"
            "                           dtype=torch.uint8, device=z.device)\n"
        )
        relu_return = "    return torch.clamp(z, min=0)"
        variant = Variant(
            "relu_over_the_gpu_cap", edit_reference("01_neurons", "relu", (relu_return, hog + relu_return))
        )
        folder = ctx.workdir / "memory"
        paths = write_submissions("01_neurons", [variant], folder / "submissions")
        options = GradeOptions(devices=ctx.grade_devices, gpu_share=MEMORY_FRACTION)
        result = grade_batch(list(paths.values()), "01_neurons", folder / "results", options, jobs=1)[0]
        if not ctx.cuda:
            exercises = result["extra_data"]["exercises"]
            lost = {e: i for e, i in exercises.items() if i["score"] != i["max_score"]}
            assert not lost, ("no CUDA: the submission should keep full marks", lost)
            return "no CUDA: the allocation never runs, full marks"
        return check_exercise_fails_on(result, "relu", "cuda", {"error", "crashed"})

    checks.run("graded: an allocation over the cap costs its exercise only", graded)
    return data


PARTS: list[tuple[str, int, Callable[[Context, Checks], dict]]] = [
    # (name, budget in seconds on the H200 machine, function); started in this order
    ("grade_05_transfer", 360, part_grade("05_transfer")),
    ("grade_03_training", 300, part_grade("03_training")),
    ("grade_04_cnn", 300, part_grade("04_cnn")),
    ("grade_06_regularization", 300, part_grade("06_regularization")),
    ("pytest_gpu", 240, part_pytest_gpu),
    ("cuda_hang_kill", 180, part_hang),
    ("gpu_memory_cap", 150, part_memory),
]
SUMMARY_ORDER = [
    "pytest_gpu",
    "grade_03_training",
    "grade_04_cnn",
    "grade_05_transfer",
    "grade_06_regularization",
    "cuda_coverage",
    "gpu_memory_cap",
    "cuda_hang_kill",
]


def run_part(name: str, ctx: Context) -> dict:
    """Inside a part's own process: run it, return its report."""
    function = {n: f for n, _, f in PARTS}[name]
    checks = Checks()
    started = time.monotonic()
    try:
        data = function(ctx, checks) or {}
    except Exception as exc:
        checks.note("part ran to the end", False, "".join(traceback.format_exception(exc))[-3000:])
        data = {}
    return {
        "name": name,
        "ok": checks.ok,
        "checks": checks.items,
        "data": data,
        "seconds": round(time.monotonic() - started, 1),
    }


# --------------------------------------------------------------------------- the driver


def cuda_problem() -> str | None:
    """None when torch sees a CUDA device, else why not."""
    try:
        import torch
    except Exception as exc:
        return f"torch cannot be imported: {type(exc).__name__}: {exc}"
    if not torch.cuda.is_available():
        build = torch.version.cuda
        return f"torch {torch.__version__} " + (f"(CUDA {build}) sees no GPU" if build else "is a CPU-only build")
    return None


def machine() -> dict:
    import platform

    import torch

    info = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cuda": torch.version.cuda,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    try:
        from grader.engine.sandbox import bwrap_problem

        problem = bwrap_problem()
        info["sandbox"] = "bwrap" if problem is None else f"none ({problem})"
    except Exception as exc:
        info["sandbox"] = f"unknown ({exc})"
    return info


def _kill_leftovers(run_id: str) -> list[int]:
    """End the processes this run started that outlived it (student processes start their
    own sessions): exactly those whose environment carries this run's id."""
    killed = []
    marker = f"{RUN_ENV}={run_id}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as env:
                if marker not in env.read().split(b"\0"):
                    continue
            os.kill(int(entry), signal.SIGKILL)
            killed.append(int(entry))
        except (OSError, ProcessLookupError):
            continue
    return killed


def _start(name: str, ctx: Context, result_file: Path, log: Path, env: dict) -> subprocess.Popen:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--part",
        name,
        "--part-result",
        str(result_file),
        "--devices",
        ",".join(ctx.devices),
        "--workdir",
        str(ctx.workdir),
    ]
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def drive(ctx: Context, parallel: int, scale: float, total: float, only: list[str] | None) -> list[dict]:
    """Run the parts in processes of their own, `parallel` at a time, each within its
    budget (times `scale`) and all within `total` seconds; return their reports."""
    run_id = uuid.uuid4().hex
    env = {
        **os.environ,
        INNER_ENV: "1",
        RUN_ENV: run_id,
        "PYTHONUNBUFFERED": "1",
        "GRADER_COURSE_ROOT": str(ROOT),
        # grading processes side by side: a few intra-op threads each, not one per core each
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // (2 * parallel)))),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    queue = [(n, b * scale) for n, b, _ in PARTS if only is None or n in only]
    running: dict[str, tuple[subprocess.Popen, float, float]] = {}
    reports: dict[str, dict] = {}
    started = time.monotonic()
    try:
        while queue or running:
            left = total - (time.monotonic() - started)
            while queue and len(running) < parallel:
                name, budget = queue.pop(0)
                if left < 20:
                    reports[name] = {
                        "name": name,
                        "ok": False,
                        "seconds": 0.0,
                        "data": {},
                        "checks": [
                            {"name": "started", "ok": False, "detail": f"not started: {left:.0f} s of {total:.0f} left"}
                        ],
                    }
                    _print_part(reports[name], budget)
                    continue
                budget = min(budget, left)
                proc = _start(name, ctx, ctx.workdir / f"{name}.json", ctx.workdir / f"{name}.log", env)
                running[name] = (proc, time.monotonic(), budget)
                print(f"  ... {name} started (budget {budget:.0f} s)", flush=True)
            time.sleep(0.5)
            for name, (proc, since, budget) in list(running.items()):
                took = time.monotonic() - since
                if proc.poll() is None and took < budget:
                    continue
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
                    report = {
                        "name": name,
                        "ok": False,
                        "seconds": round(took, 1),
                        "data": {},
                        "checks": [{"name": "within its budget", "ok": False, "detail": f"killed after {took:.0f} s"}],
                    }
                    partial = ctx.workdir / f"{name}.json"
                    if partial.exists():
                        partial.unlink()
                else:
                    report = _read_report(name, ctx.workdir / f"{name}.json", proc.returncode, took)
                report["budget"] = round(budget, 1)
                report["log_tail"] = _tail(ctx.workdir / f"{name}.log", 4000) if not report["ok"] else ""
                reports[name] = report
                del running[name]
                _print_part(report, budget)
    finally:
        for proc, _, _ in running.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed = _kill_leftovers(run_id)
        if killed:
            print(f"  (ended {len(killed)} leftover processes of this run: {killed[:10]})", flush=True)
    return [reports[n] for n, _, _ in PARTS if n in reports]


def _read_report(name: str, path: Path, code: int, took: float) -> dict:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {
            "name": name,
            "ok": False,
            "data": {},
            "checks": [{"name": "part finished", "ok": False, "detail": f"no report (exit code {code})"}],
        }
    report["seconds"] = round(took, 1)
    return report


def _tail(path: Path, size: int) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError:
        return ""


def _print_part(report: dict, budget: float) -> None:
    mark = "PASS" if report["ok"] else "FAIL"
    print(f"[{mark}] {report['name']}  {report.get('seconds', 0):.0f} s (budget {budget:.0f} s)", flush=True)
    for item in report["checks"]:
        if not item["ok"] or os.environ.get("GPU_CHECK_VERBOSE"):
            print(f"    {'ok  ' if item['ok'] else 'FAIL'} {item['name']}: {item['detail']}", flush=True)
        else:
            print(f"    ok   {item['name']}" + (f": {item['detail'][:160]}" if item["detail"] else ""), flush=True)
    if not report["ok"] and report.get("log_tail"):
        print(
            "    --- log tail ---\n" + "\n".join("    " + line for line in report["log_tail"].splitlines()[-25:]),
            flush=True,
        )


def coverage_part(reports: list[dict], ctx: Context) -> dict:
    """cuda_coverage, from the grading parts' reports: every device test ran on every device."""
    checks = Checks()
    for report in reports:
        if not report["name"].startswith("grade_"):
            continue
        per = report.get("data", {}).get("coverage")
        if not per:
            checks.note(report["name"], False, "no coverage data (the grading did not finish)")
            continue
        missing = {n: c["missing"][:5] for n, c in per.items() if c["missing"]}
        empty = [n for n, c in per.items() if any(c["on"].get(d, 0) == 0 for d in ctx.devices)]
        counts = {n: c["on"] for n, c in per.items()}
        checks.note(
            f"{report['name']}: every device test ran on {'+'.join(ctx.devices)}",
            not missing and not empty,
            json.dumps(
                missing or {"no test on a device": empty} if (missing or empty) else counts["reference"],
                ensure_ascii=False,
            ),
        )
    if not checks.items:
        checks.note("grading parts", False, "none ran")
    return {"name": "cuda_coverage", "ok": checks.ok, "checks": checks.items, "data": {}, "seconds": 0.0}


def default_parallel(cores: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    return len(PARTS) if cores >= 16 else 3 if cores >= 8 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--devices", default="cpu,cuda", help="cpu,cuda (default: the GPU check); cpu: a plumbing run without a GPU"
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=default_parallel(),
        help="parts run side by side (default: all 6 with 16 cores or more, 3 with 8, else 1)",
    )
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every part's budget")
    parser.add_argument("--total", type=float, default=TOTAL_SECONDS, help="seconds for the whole check")
    parser.add_argument("--only", help="comma-separated part names (default: all)")
    parser.add_argument("--report", help="JSON report path (default: $OUT/gpu_check.json when OUT is set)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (submissions, results)")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--part-result", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    devices = tuple(d for d in args.devices.split(",") if d)
    if not set(devices) <= {"cpu", "cuda"} or "cpu" not in devices:
        parser.error("--devices: cpu,cuda or cpu")
    for path in (str(ROOT), str(TESTS)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.setdefault("GRADER_COURSE_ROOT", str(ROOT))

    if args.part:  # inside a part's process
        ctx = Context(devices, "cuda" in devices, cuda_problem() is None, Path(args.workdir))
        report = run_part(args.part, ctx)
        Path(args.part_result).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        return 0

    problem = cuda_problem()
    if "cuda" in devices and problem is not None:
        print(NO_CUDA.format(why=problem), flush=True)
        return EXIT_NO_CUDA
    started = time.monotonic()
    info = machine()
    plumbing = "cuda" not in devices
    print(
        f"GPU check on {info.get('gpu', 'no GPU')}: torch {info['torch']}, python {info['python']}, "
        f"{info['cores']} cores, sandbox {info['sandbox']}"
        + ("  [cpu plumbing run: not a GPU check]" if plumbing else ""),
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="gpu_check-"))
    ctx = Context(devices, not plumbing, problem is None, workdir)
    only = args.only.split(",") if args.only else None
    try:
        reports = drive(ctx, max(args.parallel, 1), args.budget_scale, args.total, only)
        if only is None or "cuda_coverage" in only:
            reports.append(coverage_part(reports, ctx))
            _print_part(reports[-1], 0)
        logs = "".join(f"===== {r['name']}\n{_tail(workdir / (r['name'] + '.log'), 200_000)}\n" for r in reports)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"working folder kept: {workdir}", flush=True)
    order = {n: i for i, n in enumerate(SUMMARY_ORDER)}
    reports.sort(key=lambda r: order.get(r["name"], len(order)))
    seconds = time.monotonic() - started
    passed = sum(r["ok"] for r in reports)
    isolation = sorted({i for r in reports for i in r.get("data", {}).get("isolation", [])})
    sandbox = isolation[0] if len(isolation) == 1 else (", ".join(isolation) or info["sandbox"])
    label = "GPU CHECK (cpu plumbing only, not a GPU check)" if plumbing else "GPU CHECK"
    verdict = "passed" if passed == len(reports) and reports else "FAILED"
    failed = [r["name"] for r in reports if not r["ok"]]
    summary = (
        f"{label}: {passed}/{len(reports)} {verdict} (torch {info['torch']}, {info.get('gpu', 'no GPU')}, "
        f"sandbox {sandbox}, {seconds:.0f} s)" + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    report_path = args.report or (os.path.join(os.environ["OUT"], "gpu_check.json") if os.environ.get("OUT") else None)
    if report_path:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        Path(report_path).write_text(
            json.dumps(
                {
                    "summary": summary,
                    "ok": verdict == "passed",
                    "machine": info,
                    "seconds": round(seconds, 1),
                    "devices": list(devices),
                    "parts": reports,
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
        Path(report_path).with_suffix(".log").write_text(logs, encoding="utf-8")
        print(f"report: {report_path} (logs: {Path(report_path).with_suffix('.log')})", flush=True)
    print(summary, flush=True)
    return 0 if verdict == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
