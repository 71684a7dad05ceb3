"""tests/gpu_check.py, the GPU check (`bash tests/gpu_check.sh` on a CUDA machine).

On a CUDA machine the whole check runs here (marked gpu and slow: several minutes). Without
CUDA, CI checks its entry path: it refuses cleanly (exit code 2, one clear line), a plumbing
run on the CPU goes through its driver, part processes and report, importing it does
nothing, and its results.json reader takes both shapes of a device-parametrized test."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, cuda_available

SCRIPT = ROOT / "tests" / "gpu_check.py"
NO_CUDA_HERE = "this machine has CUDA: the check itself runs instead (test_the_gpu_check_passes)"


@pytest.mark.skipif(cuda_available(), reason=NO_CUDA_HERE)
def test_refuses_without_cuda():
    proc = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("GPU CHECK: refused: CUDA is not available"), proc.stdout
    assert "tests/gpu_check.sh" in lines[0]


@pytest.mark.skipif(cuda_available(), reason=NO_CUDA_HERE)
def test_the_one_command_refuses_without_cuda_and_installs_nothing():
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_INSTALL": "0"}
    proc = subprocess.run(
        ["bash", str(ROOT / "tests" / "gpu_check.sh")], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "GPU CHECK: refused" in proc.stdout or "no usable Python" in proc.stdout, proc.stdout


@pytest.mark.slow  # a short run of the whole GPU check, on the CPU
def test_a_plumbing_run_on_the_cpu_reports(tmp_path):
    """One part on the CPU alone: the driver, a part's own process, the summary line and the
    JSON report (the whole check on the CPU: `python tests/gpu_check.py --devices cpu`)."""
    report = tmp_path / "gpu_check.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--devices", "cpu", "--only", "gpu_memory_cap", "--report", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert last.startswith("GPU CHECK (cpu plumbing only, not a GPU check): 1/1 passed ("), last
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["ok"] and data["summary"] == last and [p["name"] for p in data["parts"]] == ["gpu_memory_cap"]
    assert report.with_suffix(".log").exists()


def test_importing_it_has_no_side_effects(tmp_path):
    code = (
        "import os, sys\n"
        "before = (list(sys.path), dict(os.environ), set(sys.modules), os.getcwd())\n"
        "import gpu_check\n"
        "heavy = sorted(m for m in set(sys.modules) - before[2] if m.split('.')[0] in ('torch', 'grader', 'numpy'))\n"
        "assert (list(sys.path), dict(os.environ), os.getcwd()) == (before[0], before[1], before[3]), 'changed'\n"
        "assert not heavy, heavy\n"
        "print('clean')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0 and proc.stdout == "clean\n", (proc.stdout, proc.stderr)
    assert not list(tmp_path.iterdir())


def _test(name, exercise, outcome, device=None, devices=None, hint=None):
    extra = {"exercise": exercise, "outcome": outcome}
    if device:
        extra["device"] = device
    if devices:
        extra["devices"] = devices
    if hint:
        extra["hint"] = hint
    return {"name": name, "status": "passed" if outcome == "passed" else "failed", "output": "", "extra_data": extra}


def test_results_are_read_in_both_shapes():
    """One entry per device (`extra_data.device`, the device in the name) or one entry per
    test (`extra_data.devices`): the same runs, outcomes and missing devices."""
    import gpu_check

    per_device = {
        "tests": [
            _test("f: valores [cpu]", "f", "passed", "cpu"),
            _test("f: valores [cuda]", "f", "failed", "cuda", hint="x"),
            _test("f: valores [cpu]", "f", "passed", "cpu"),
            _test("f: valores [cuda]", "f", "passed", "cuda"),
            _test("f: exemplo", "f", "passed"),
            _test("g: forma [cpu]", "g", "passed", "cpu"),
        ]
    }
    per_test = {
        "tests": [
            _test("f: valores", "f", "failed", "cuda", {"cpu": "passed", "cuda": "failed"}, hint="x"),
            _test("f: valores", "f", "passed", "cuda", {"cpu": "passed", "cuda": "passed"}),
            _test("f: exemplo", "f", "passed"),
            _test("g: forma", "g", "passed", "cpu", {"cpu": "passed"}),
        ]
    }
    for result in (per_device, per_test):
        runs = gpu_check.device_runs(result)
        assert [(r.exercise, r.name, r.outcomes, r.has_device, r.hints) for r in runs] == [
            ("f", "f: valores", {"cpu": "passed", "cuda": "failed"}, True, {"x"}),
            ("f", "f: valores", {"cpu": "passed", "cuda": "passed"}, True, set()),
            ("f", "f: exemplo", {"cpu": "passed"}, False, set()),
            ("g", "g: forma", {"cpu": "passed"}, True, set()),
        ]
        report = gpu_check.coverage(result, ("cpu", "cuda"))
        assert report["device_tests"] == 3 and report["on"] == {"cpu": 3, "cuda": 2}
        assert report["missing"] == ["g: forma: ran on ['cpu']"]


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(
    not cuda_available(),
    reason="CUDA is not available on this machine: the GPU check (bash tests/gpu_check.sh) runs on a CUDA machine",
)
def test_the_gpu_check_passes():
    if os.environ.get("GPU_CHECK_INNER"):
        pytest.skip("inside the GPU check itself")
    proc = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0 and last.startswith("GPU CHECK: ") and " passed (" in last, proc.stdout[-6000:]
