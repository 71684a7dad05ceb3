"""The adversarial battery: hostile and broken submissions graded in one batch next to the
reference. Each must get its correct outcome, and none may touch the others, the grader,
the results or the machine."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from adversarial.cases import CANARY, MARK_PROCS, cases, cheat, secret_probe
from grader.course import load_assignment
from grader.engine.session import Limits
from grader.grading import GradeOptions, grade_batch
from grader.variants import Variant, write_submissions

pytestmark = pytest.mark.slow  # the whole adversarial battery: dozens of hostile submissions

A = "01_neurons"
FULL = load_assignment(A).max_score  # every exercise right
LIMITS = Limits(call_seconds=3, cell_seconds=4, submission_seconds=240)


def malformed(folder: Path, reference: Path) -> dict[str, Path]:
    """Files that are not what they claim to be."""
    text = reference.read_text(encoding="utf-8")
    notebook = json.loads(text)
    out = {}

    def put(name, data: bytes):
        out[name] = folder / name
        out[name].write_bytes(data)

    put("invalid_json.ipynb", text[: len(text) // 2].encode())
    put("empty.ipynb", b"")
    put("not_a_notebook.ipynb", b'["just", "a", "list"]')
    put("binary_garbage.ipynb", bytes(range(256)) * 100)
    dup = json.loads(text)
    for cell in dup["cells"]:
        cell["id"] = "same"
    put("duplicate_cell_ids.ipynb", json.dumps(dup).encode())
    old = json.loads(text)
    old["nbformat_minor"] = 0
    for cell in old["cells"]:
        cell.pop("id", None)
    put("nbformat_4_0.ipynb", json.dumps(old).encode())
    bumped = json.loads(text)
    for cell in bumped["cells"]:
        cell.setdefault("metadata", {}).setdefault("nbgrader", {})["schema_version"] = 99
    put("schema_bump.ipynb", json.dumps(bumped).encode())
    huge = folder / "huge.ipynb"
    with open(huge, "wb") as handle:
        handle.write(text.encode())
        handle.truncate(100 * 1024 * 1024)
    out["huge.ipynb"] = huge
    outputs = json.loads(text)
    outputs["cells"][1]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * 8_000_000}}
    ]
    put("big_outputs.ipynb", json.dumps(outputs).encode())
    script = "\n".join("# %%\n" + "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    put("latin1_script.py", ("# coding: latin-1\n# ação\n" + script).encode("latin-1", errors="replace"))
    put("syntax_error_script.py", b"def mcp_neuron(:\n")
    return out


# name -> (total expected, fragment of the message)
MALFORMED_EXPECT = {
    "invalid_json": (0, "JSON"),
    "empty": (0, "vazio"),
    "not_a_notebook": (0, "estrutura"),
    "binary_garbage": (0, "JSON"),
    "duplicate_cell_ids": (FULL, ""),
    "nbformat_4_0": (FULL, ""),
    "schema_bump": (FULL, ""),
    "huge": (0, "MB"),
    "big_outputs": (FULL, ""),
    "latin1_script": (FULL, "Latin-1"),
    "syntax_error_script": (0, "SyntaxError"),
}


def host_processes_with(marker: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if marker in line and "ps -eo" not in line]


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    folder = tmp_path_factory.mktemp("battery")
    subs, out = folder / "subs", folder / "results"
    out.mkdir()
    if os.path.exists(CANARY):
        os.unlink(CANARY)
    all_cases = cases(str(out), str(Path(__file__).resolve().parents[2]), str(subs))
    variants = [Variant("reference", {})] + [Variant(c.name, c.replace, extra_cells=c.extra_cells) for c in all_cases]
    paths = write_submissions(A, variants, subs)
    paths.update({Path(n).stem: p for n, p in malformed(subs, paths["reference"]).items()})
    ordered = list(paths.values())
    results = grade_batch(ordered, A, out, GradeOptions(limits=LIMITS), jobs=2)
    return {name: r for name, r in zip(paths, results)}, all_cases, out


def exercises(result):
    return result["extra_data"]["exercises"]


def test_reference_untouched_by_its_neighbours(battery):
    results, _, out = battery
    assert results["reference"]["score"] == FULL
    assert json.loads((out / "reference.json").read_text(encoding="utf-8"))["score"] == FULL


def test_every_case_gets_its_outcome(battery):
    results, all_cases, _ = battery
    problems = []
    for case in all_cases:
        result = results[case.name]
        for exercise, info in exercises(result).items():
            expected = 0 if exercise == case.breaks else info["max_score"]
            if info["score"] != expected:
                problems.append(
                    (
                        case.name,
                        exercise,
                        info,
                        [t["output"] for t in result["tests"] if t["extra_data"]["exercise"] == exercise][:2],
                    )
                )
        if case.hint:
            hints = {t["extra_data"].get("hint") for t in result["tests"] if t["extra_data"]["exercise"] == case.breaks}
            if case.hint not in hints:
                problems.append((case.name, "hint", case.hint, hints))
        if case.note and case.note not in result["output"]:
            problems.append((case.name, "note", case.note, result["output"][:300]))
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("name", sorted(MALFORMED_EXPECT))
def test_malformed_input(battery, name):
    result = battery[0][name]
    total, fragment = MALFORMED_EXPECT[name]
    assert result["score"] == total, result["output"]
    assert fragment in result["output"]


def test_results_are_only_what_the_grader_wrote(battery):
    results, _, out = battery
    import time

    time.sleep(3)  # give a forger's detached process its chance
    names = {p.name for p in out.iterdir()}
    assert "mutant_forge.json" not in names
    for name, result in results.items():
        on_disk = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        assert on_disk == result
    assert exercises(results["forge_results"])["mcp_neuron"]["score"] == 0


def test_nothing_left_running_and_no_pickle_ran(battery):
    assert host_processes_with(MARK_PROCS) == []
    assert not os.path.exists(CANARY)


def test_isolation_is_recorded(battery):
    results, _, _ = battery
    isolation = {r["extra_data"]["isolation"] for r in results.values()}
    assert len(isolation) == 1
    from grader.engine.sandbox import bwrap_problem

    label = isolation.pop()
    assert label.startswith("bwrap") if bwrap_problem() is None else label.startswith("process")


def test_no_reference_text_in_any_feedback(battery):
    """No line of a reference solution reaches a student's feedback unless the student's
    own code has it: the thieves (steal_reference_*) find nothing to raise, and what a
    decompiler would give back is cut by the grading side."""
    from grader.notebook import read_submission

    results, _, out = battery
    references = [e.reference for e in load_assignment(A).exercises]
    leaks = []
    for name, result in results.items():
        path = out.parent / "subs" / f"{name}.ipynb"
        if not path.exists() or not result["extra_data"]["graded"]:
            continue
        own = "\n".join(read_submission(path).cells)
        texts = [result["output"], *(t["output"] for t in result["tests"])]
        for line in {line.strip() for r in references for line in r.splitlines()}:
            if len(line) >= 12 and line not in own and any(line in text for text in texts):
                leaks.append((name, line))
    assert not leaks, leaks
    decompiled = [t["output"] for t in results["steal_reference_decompiled"]["tests"] if "LEAK:" in t["output"]]
    assert decompiled and all("solução de referência" in text for text in decompiled), decompiled
    assert all(
        "LEAK:" in t["output"]
        for t in results["steal_reference_frames"]["tests"]
        if t["extra_data"]["exercise"] == "sigmoid" and t["status"] == "failed"
    )
    disassembly = [t["output"] for t in results["steal_reference_dis"]["tests"] if "LEAK:" in t["output"]]
    assert disassembly and not any("LOAD_" in text for text in disassembly), disassembly


def test_cheats_would_work_without_the_sandbox(tmp_path):
    """The leak probes are real: outside the sandbox they find the secrets."""
    root = str(Path(__file__).resolve().parents[2])
    (tmp_path / "other_student.ipynb").write_text("{}")
    namespace: dict = {}
    exec(cheat(secret_probe(root, [str(tmp_path)])), namespace)
    assert namespace["leak"] is True and namespace["mcp_neuron"]([1, 1], 2) == 1


def test_battery_is_big_enough(battery):
    _, all_cases, _ = battery
    assert len(all_cases) + len(MALFORMED_EXPECT) >= 35
    # a tripwire: when 01_neurons gains an exercise (16 with AT_LEAST_K_THRESHOLD), review the battery
    assert len(load_assignment(A).order) == 16
