"""The course as its source notebooks define it.

`source/<assignment>/<assignment>.ipynb` is the one place an exercise is authored: its
solution cell (nbgrader `solution: true`, `grade_id` = the exercise id) holds the
reference solution, and its test cell (`grade: true`, `grade_id` = `test_<id>`) holds its
points. Everything else (the order of exercises, the references the graders place in
the student's process, the released and solution notebooks) is read from there.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT_ENV = "GRADER_COURSE_ROOT"
SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def course_root() -> Path:
    """The course directory (the one holding `source/`)."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "source").is_dir():
        return here
    raise RuntimeError(f"course root not found: set {ROOT_ENV} to the folder that holds source/")


def _nbformat():
    """nbformat, imported when first needed (without the IRI parser: see grader/__init__.py)."""
    import nbformat

    return nbformat


def read_notebook(path: Path) -> dict:
    """A notebook the course wrote (source, release, solutions), read and validated with
    nbformat: the one reader for trusted notebooks. Submissions, which may be anything, go
    through the lenient `grader.notebook.read_submission` instead."""
    return _nbformat().read(path, as_version=4)


def write_notebook(notebook: dict) -> str:
    """A notebook's text as nbformat writes it (the generated `solutions/`)."""
    nbformat = _nbformat()
    return nbformat.writes(nbformat.from_dict(notebook)) + "\n"


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def strip_markers(source: str) -> str:
    """The solution as it runs: solution markers removed, hidden-test regions dropped."""
    out, hidden = [], False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            hidden = True
        elif stripped == HIDDEN_END:
            hidden = False
        elif not hidden and stripped not in (SOLUTION_BEGIN, SOLUTION_END):
            out.append(line)
    return "\n".join(out)


@dataclass(frozen=True)
class Exercise:
    id: str
    points: float
    kind: str  # "function", "class" or "value"
    reference: str  # source of the one top-level definition, markers removed


@dataclass
class Assignment:
    id: str
    path: Path  # the source notebook
    exercises: list[Exercise]
    setup: str  # the locked setup cell (imports)
    notebook: dict = field(repr=False, default_factory=dict)

    @property
    def root(self) -> Path:
        """The course folder (the one holding `source/`)."""
        return self.path.parent.parent.parent

    @property
    def order(self) -> list[str]:
        return [e.id for e in self.exercises]

    @property
    def max_score(self) -> float:
        return sum(e.points for e in self.exercises)

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)

    def function_references(self) -> dict[str, str]:
        """References that may stand in for a student's definition while another exercise
        is graded (functions and classes; constants are graded, never substituted)."""
        return {e.id: e.reference for e in self.exercises if e.kind in ("function", "class")}

    def reference_namespace(self) -> dict:
        """The reference solutions, executed in the grading process (trusted code)."""
        namespace: dict = {"__name__": f"reference_{self.id}"}
        exec(compile(self.setup_without_kit(), f"<{self.id} setup>", "exec"), namespace)
        from grader.personal import defaults  # a reference written with the notebook's numbers (`= K`)

        for params in defaults(self.id).values():
            namespace.update(params)
        for exercise in self.exercises:
            exec(compile(exercise.reference, f"<{self.id}:{exercise.id}>", "exec"), namespace)
        return namespace

    @functools.cached_property
    def release_shape(self) -> dict:
        """The source notebook as far as the release's structure goes (cells, nbgrader
        metadata, the text of locked cells): what a submission's metadata is checked against."""
        notebook = json.loads(json.dumps(self.notebook))
        for cell in notebook.get("cells", []):
            meta = nbgrader_meta(cell)
            if meta.get("locked") and not meta.get("solution"):
                cell["source"] = strip_markers(cell_source(cell))
        return notebook

    @functools.cached_property
    def student_preload(self) -> tuple[str, ...]:
        """What every student process of this assignment imports, for the sandbox's fork server
        to import once instead (each costs a submission seconds): the setup cell's modules,
        then the graders' package's `STUDENT_PRELOAD` (what torch imports on first use)."""
        import importlib

        modules = []
        for node in ast.parse(self.setup).body:
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.append(node.module)
        modules += getattr(importlib.import_module(module_name(self.id)), "STUDENT_PRELOAD", ())
        return tuple(dict.fromkeys(modules))

    def setup_without_kit(self) -> str:
        """The setup cell minus the self-check import (the grading process needs none)."""
        lines = self.setup.split("\n")
        return "\n".join(line for line in lines if not line.strip().startswith("from grader.kit import"))


def _definition(source: str, name: str) -> tuple[str, str]:
    """The source of the top-level definition of `name` in a solution cell, and its kind."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(source, node, padded=False), "function"
        if isinstance(node, ast.ClassDef) and node.name == name:
            return ast.get_source_segment(source, node, padded=False), "class"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ast.get_source_segment(source, node, padded=False), "value"
    raise ValueError(f"solution cell {name!r} does not define {name}")


def parse_assignment(assignment_id: str, path: Path) -> Assignment:
    notebook = read_notebook(path)
    cells = notebook["cells"]
    points = {}
    for cell in cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and str(meta.get("grade_id", "")).startswith("test_"):
            points[meta["grade_id"][len("test_") :]] = float(meta.get("points", 0))
    exercises, setup = [], ""
    for cell in cells:
        meta = nbgrader_meta(cell)
        if cell.get("cell_type") != "code":
            continue
        if meta.get("grade_id") == "setup":
            setup = cell_source(cell)
        if meta.get("solution"):
            exercise_id = meta["grade_id"]
            reference, kind = _definition(strip_markers(cell_source(cell)), exercise_id)
            if exercise_id not in points:
                raise ValueError(f"{path}: exercise {exercise_id} has no test cell test_{exercise_id}")
            exercises.append(Exercise(exercise_id, points[exercise_id], kind, reference))
    # A plain dict, not nbformat's NotebookNode: unpickling one (an Assignment handed to a
    # grading process) would import nbformat there.
    return Assignment(assignment_id, path, exercises, setup, json.loads(json.dumps(notebook)))


def source_notebook(assignment_id: str, root: Path | None = None) -> Path:
    return (root or course_root()) / "source" / assignment_id / f"{assignment_id}.ipynb"


def load_assignment(assignment_id: str, root: Path | None = None) -> Assignment:
    """The assignment as `source/` in the course at `root` (default: `course_root()`) defines it."""
    return _load_assignment(assignment_id, (root or course_root()).resolve())


# Parsed assignments by (id, course root), read once per process.
_assignments: dict[tuple[str, Path], Assignment] = {}


def _load_assignment(assignment_id: str, root: Path) -> Assignment:
    if (assignment_id, root) not in _assignments:
        path = source_notebook(assignment_id, root)
        if not path.exists():
            raise KeyError(f"unknown assignment {assignment_id!r} (no {path})")
        _assignments[assignment_id, root] = parse_assignment(assignment_id, path)
    return _assignments[assignment_id, root]


def forget_assignments() -> None:
    """Read every assignment again on its next use (its source or graders changed)."""
    _assignments.clear()


def adopt_assignment(assignment: Assignment) -> None:
    """Use `assignment`, parsed by another process (a grading process is handed the
    coordinator's), instead of reading its source notebook again: a grading process then
    never imports nbformat, 0.3 s of a core before its first submission."""
    _assignments[assignment.id, assignment.root.resolve()] = assignment


def assignment_ids(root: Path | None = None) -> list[str]:
    base = (root or course_root()) / "source"
    return sorted(p.name for p in base.iterdir() if (p / f"{p.name}.ipynb").exists()) if base.is_dir() else []


_ASSIGNMENT_ID = re.compile(r"^\d\d_[a-z0-9_]+$")


def module_name(assignment_id: str) -> str:
    """`01_neurons` -> `grader.assignments.a01_neurons` (the hidden graders' package)."""
    if not _ASSIGNMENT_ID.match(assignment_id):
        raise ValueError(f"invalid assignment id {assignment_id!r}")
    return f"grader.assignments.a{assignment_id}"
