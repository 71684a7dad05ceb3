"""The notebooks' figures: drawn where a person runs the notebook, free where it is graded,
and every released solution notebook run top to bottom in a real Jupyter kernel."""

import ast
import base64
import re

import pytest

from grader.course import assignment_ids, cell_source, course_root, load_assignment, nbgrader_meta, read_notebook
from grader.engine.session import Limits, StudentSession
from grader.kit import figures
from grader.variants import solution_path

ASSIGNMENTS = assignment_ids()
DRAWS = "mostrar("  # a cell that shows a figure calls grader.kit.figures.mostrar


def code_cells(assignment_id: str) -> list[dict]:
    return [c for c in read_notebook(solution_path(assignment_id))["cells"] if c["cell_type"] == "code"]


def test_figures_are_drawn_only_outside_grading(monkeypatch, capsys):
    monkeypatch.delenv("GRADER_CHILD", raising=False)
    assert figures.interativo()
    fig, axes = figures.nova_figura(ncols=2)
    axes[0].plot([0, 1], [1, 0])
    assert figures.png_bytes(fig).startswith(b"\x89PNG\r\n\x1a\n")
    figures.mostrar(fig)  # no IPython kernel here: a line instead of an image
    assert "PNG" in capsys.readouterr().out
    monkeypatch.setenv("GRADER_CHILD", "1")  # what the engine sets in the student's process
    assert not figures.interativo()


UNGRADED = re.compile(r"# (Demonstração|Figura) \(sem nota\)")  # the first line of a figure or a demonstration


def ungraded_cells(assignment_id: str) -> list[str]:
    return [s for s in map(cell_source, code_cells(assignment_id)) if UNGRADED.match(s)]


def under_guard(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.If) and ast.unparse(statement.test) == "interativo()"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_ungraded_cells_do_their_work_only_under_the_guard(assignment_id):
    """A "(sem nota)" cell has only imports, definitions and `if interativo():` at its top level,
    so while a submission is graded it defines things and does nothing."""
    cells = ungraded_cells(assignment_id)
    assert any(DRAWS in s for s in cells), f"{assignment_id}: no figure cell"
    definitions = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    for source in cells:
        loose = [
            ast.get_source_segment(source, s)
            for s in ast.parse(source).body
            if not (isinstance(s, definitions) or under_guard(s))
        ]
        assert not loose, (source.splitlines()[0], loose)


def test_ungraded_cells_cost_nothing_while_graded():
    """Every notebook's setup and "(sem nota)" cells, run as grading runs them (in a student
    process, one for all notebooks), with each exercise's name bound to a trap: no error, no
    exercise called, and matplotlib never imported, so no figure was built."""
    cells = []
    for assignment_id in ASSIGNMENTS:
        found = code_cells(assignment_id)
        # The setup cell first, for the imports the others use (the kit's install cell comes before it).
        cells.append(next(cell_source(c) for c in found if c.get("id") == "setup"))
        traps = load_assignment(assignment_id).order
        cells.append("".join(f"def {name}(*args, **kwargs):\n    CALLED.append({name!r})\n" for name in traps))
        cells += ungraded_cells(assignment_id)
    limits = Limits(call_seconds=10, cell_seconds=20, submission_seconds=120)
    with StudentSession(["CALLED = []", *cells], limits=limits).start() as student:
        errors = [r for r in student.cell_results if r.status != "ok"]
        assert not errors, errors
        imported = student.run_grader_code(
            "import sys\ndef loaded():\n    return sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')\n",
            "loaded",
        )
        called = student.get("CALLED")
    assert imported == [], imported
    assert called == [], called


def run_in_kernel(path, monkeypatch, tmp_path, allow_errors: bool = False):
    """Run All in ipykernel (nbclient), headless, as a student's Jupyter would."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MPLBACKEND", "Agg")  # no display; the kit renders with Agg anyway
    # One thread per kernel: torch's spinning worker threads on 2 shared cores cost 3 to 5 times the time.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("GRADER_CHILD", raising=False)
    notebook = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", allow_errors=allow_errors, resources=resources
    )
    client.execute()  # without allow_errors: CellExecutionError, naming the cell, on the first that fails
    return notebook


def texts(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(v for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "".join(p if isinstance(p, str) else "".join(p) for p in parts)


@pytest.mark.slow  # every solution notebook in a kernel: about a minute and a half on 2 cores
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_solution_notebook_runs_top_to_bottom_in_a_kernel(assignment_id, monkeypatch, tmp_path):
    """The solution notebook, Run All: no cell fails, every self-check passes and every figure
    cell leaves a PNG in its output."""
    notebook = run_in_kernel(solution_path(assignment_id), monkeypatch, tmp_path)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    failed = [(c.id, texts(c)) for c in code if "❌" in texts(c)]
    assert not failed, failed
    checked = [c.id for c in code if c.source.startswith("verificar(") and "✅" in texts(c)]
    assert len(checked) == sum(c.source.startswith("verificar(") for c in code), checked
    for cell in code:
        if DRAWS in cell.source:
            pngs = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
            assert pngs, f"{assignment_id}: cell {cell.id} drew no figure: {texts(cell)[:300]}"
            assert all(base64.b64decode(p).startswith(b"\x89PNG") for p in pngs)


@pytest.mark.slow  # every released notebook in a kernel: about half a minute on 2 cores
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_released_notebook_runs_before_anything_is_solved(assignment_id, monkeypatch, tmp_path):
    """The released notebook, untouched, Run All: only the exercises' own cells stop at their
    placeholder; every other cell (setup, self-checks, demonstrations, figures) runs, and says
    what to implement first where it needs an exercise."""
    path = course_root() / "exercises" / assignment_id / f"{assignment_id}.ipynb"
    notebook = run_in_kernel(path, monkeypatch, tmp_path, allow_errors=True)
    failed = [
        (cell.id, [o["ename"] for o in cell.outputs if o.get("output_type") == "error"])
        for cell in notebook.cells
        if cell.cell_type == "code" and not nbgrader_meta(cell).get("solution")
    ]
    assert not [f for f in failed if f[1]], failed
