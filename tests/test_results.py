"""Scoring: a test is one test whatever devices ran it, so a grade does not depend on the
machine; results.json shows each device's outcome."""

from pathlib import Path

import pytest

from grader.course import Assignment, Exercise
from grader.plugin import TestRecord
from grader.results import build_results, scenario

ASSIGNMENT = Assignment(
    "99_demo", Path("demo.ipynb"), [Exercise("f", 4.0, "function", ""), Exercise("g", 2.0, "function", "")], setup=""
)


def records(devices, cuda_fails=()):
    """Three tests of f (one device-free, two per device, one of those with a second parameter), one of g."""
    out = [TestRecord("test_hidden.py::test_f_shape", "forma", "f", "hidden", None, "passed")]
    for name, params in (("test_f_values", "{}"), ("test_f_dtype", "float32-{}")):
        for device in devices:
            failed = (name, device) in cuda_fails
            out.append(
                TestRecord(
                    f"test_hidden.py::{name}[{params.format(device)}]",
                    name,
                    "f",
                    "hidden",
                    device,
                    "failed" if failed else "passed",
                    message="errado" if failed else "",
                    hint="wrong_device" if failed else None,
                )
            )
    out.append(TestRecord("test_public.py::test_g", "g", "g", "public", None, "passed"))
    return out


def grade(recs):
    return build_results(ASSIGNMENT, recs, submission="s", lang="pt", notes=[], isolation="test", elapsed=0.0)


def test_the_same_submission_scores_the_same_on_every_machine():
    cpu_only, with_cuda = grade(records(["cpu"])), grade(records(["cpu", "cuda"]))
    assert cpu_only["score"] == with_cuda["score"] == 6.0
    assert [t["name"] for t in cpu_only["tests"]] == [t["name"] for t in with_cuda["tests"]]
    assert [t["max_score"] for t in cpu_only["tests"]] == [t["max_score"] for t in with_cuda["tests"]]


def test_a_device_bug_costs_its_test_where_a_gpu_shows_it():
    result = grade(records(["cpu", "cuda"], cuda_fails={("test_f_values", "cuda")}))
    assert result["extra_data"]["exercises"]["f"]["score"] == pytest.approx(4.0 * 2 / 3, abs=1e-3)
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["extra_data"]["devices"] == {"cpu": "passed", "cuda": "failed"}
    assert failed[0]["extra_data"]["device"] == "cuda" and failed[0]["extra_data"]["hint"] == "wrong_device"
    assert failed[0]["output"].startswith("[cuda]") and "errado" in failed[0]["output"]


def test_scenario_drops_only_the_device():
    record = TestRecord("t.py::test_x[float32-cuda-3]", "x", "f", "hidden", "cuda", "passed")
    assert scenario(record) == "t.py::test_x[float32-3]"
    assert scenario(TestRecord("t.py::test_y[cpu]", "y", "f", "hidden", "cpu", "passed")) == "t.py::test_y"
