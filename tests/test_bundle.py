"""The student bundle (`python -m grader release ID`): the released notebook and the public
kit, nothing that reveals a solution or a hidden test, and self-checks that work from the
bundle alone."""

import itertools
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.bundle import HIDDEN_FILES, KIT_MODULES, build_bundle
from grader.cli import main
from grader.course import SOLUTION_BEGIN, SOLUTION_END, assignment_ids, cell_source, nbgrader_meta, source_notebook
from grader.variants import typed_in_release

ASSIGNMENTS = assignment_ids()


def solution_snippets(assignment_id: str) -> set[str]:
    """Every two consecutive code lines of each reference solution region (a hint may quote
    one line of a solution; two in a row are solution code)."""
    notebook = json.loads(source_notebook(assignment_id).read_text(encoding="utf-8"))
    snippets = set()
    for cell in notebook["cells"]:
        region, inside = [], False
        for line in cell_source(cell).splitlines():
            stripped = line.strip()
            if stripped == SOLUTION_BEGIN:
                region, inside = [], True
            elif stripped == SOLUTION_END:
                inside = False
                snippets.update("\n".join(pair) for pair in itertools.pairwise(region))
            elif inside and stripped and not stripped.startswith("#"):
                region.append(stripped)
    return snippets


def code_lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return {a: build_bundle(a, out) for a in ASSIGNMENTS}


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_bundle_holds_no_solution_and_no_hidden_test(bundles, assignment_id):
    folder = bundles[assignment_id]
    files = [p for p in folder.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert not names & set(HIDDEN_FILES) and not any(n.startswith("hidden_") for n in names)
    assert not any(part in ("source", "solutions", "exercises") for p in files for part in p.relative_to(folder).parts)
    others = [a for a in ASSIGNMENTS if a != assignment_id]
    assert not any(f"a{other}" in p.parts for other in others for p in files)  # only this assignment's checks
    notebook = (folder / f"{assignment_id}.ipynb").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in notebook
    assert_no_solution_code(files)
    code = [cell_source(c) for c in json.loads(notebook)["cells"] if nbgrader_meta(c).get("solution")]
    assert all(re.search(r"raise NotImplementedError\(\)", c) for c in code)


def assert_no_solution_code(files: list[Path]) -> None:
    secrets = set().union(*(solution_snippets(a) for a in ASSIGNMENTS))
    assert secrets
    for path in files:
        if path.suffix == ".py":
            text = code_lines(path.read_text(encoding="utf-8"))
            leaked = [snippet for snippet in secrets if snippet in text]
            assert not leaked, (path, leaked[:3])


@pytest.mark.parametrize("assignment_id", [ASSIGNMENTS[0], ASSIGNMENTS[-1]])
def test_release_wheel_holds_no_solution_no_hidden_test_and_no_later_assignment(assignment_id, tmp_path):
    """`grader release` also writes the kit as a wheel into the bundle: the public kit of this
    assignment and the ones before it, nothing a student must not see, and no torch requirement."""
    assert main(["release", assignment_id, "--out", str(tmp_path)]) == 0
    (wheel,) = (tmp_path / assignment_id).glob("curso_pytorch_kit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "unpacked")
    files = [p for p in (tmp_path / "unpacked").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert not names & set(HIDDEN_FILES) and not any(n.startswith("hidden_") for n in names)
    kit = tmp_path / "unpacked" / "grader"
    assert {p.name for p in kit.iterdir() if p.suffix == ".py"} == set(KIT_MODULES)  # no CLI, grading or bridge
    carried = sorted(p.name for p in (kit / "assignments").iterdir() if p.is_dir())
    assert carried == [f"a{a}" for a in ASSIGNMENTS[: ASSIGNMENTS.index(assignment_id) + 1]]
    assert (kit / "kit" / "digitnet_0a4.pt").stat().st_size > 100_000  # the pretrained weights
    assert_no_solution_code(files)
    (metadata,) = (tmp_path / "unpacked").glob("*.dist-info/METADATA")
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist")]
    assert requires and not any("torch" in line for line in requires)  # never (re)install torch
    (entry_points,) = (tmp_path / "unpacked").glob("*.dist-info/entry_points.txt")
    assert "[pytest11]" in entry_points.read_text() and "grader.kit.pytest_notebook" in entry_points.read_text()


SELF_CHECK = """
import io, json, sys, contextlib
from pathlib import Path
# This checkout is installed in editable mode, whose import hook would quietly supply any
# module the bundle lacks: drop it, as a student's machine has none.
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__ + repr(f)]
import grader
assert Path(grader.__file__).resolve().is_relative_to(Path.cwd().resolve()), grader.__file__
notebook = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
namespace = {"__name__": "__main__"}
for cell in notebook["cells"]:
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    # demonstrations (ids demo-*) teach, check nothing, and some train networks: the
    # notebooks' top-to-bottom run covers them; here only what the self-checks need runs
    if cell["cell_type"] == "code" and not source.startswith("verificar(") and not cell.get("id", "").startswith("demo"):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(source, namespace)
from grader.kit.local import run_public_checks
result = run_public_checks(sys.argv[2], namespace)
outside = [name for name, module in sys.modules.items() if name.split(".")[0] == "grader"
           and getattr(module, "__file__", None) and not Path(module.__file__).resolve().is_relative_to(Path.cwd().resolve())]
assert not outside, outside
print(result["score"], result["max_score"])
"""


@pytest.mark.slow  # each assignment's public checks run from its bundle
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_bundle_self_checks_work_on_their_own(bundles, assignment_id, tmp_path):
    folder = bundles[assignment_id]
    solved = tmp_path / "solved.ipynb"
    solved.write_text(json.dumps(typed_in_release(assignment_id)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", SELF_CHECK, str(solved), assignment_id],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    score, max_score = map(float, done.stdout.split()[-2:])
    assert score == max_score > 0
