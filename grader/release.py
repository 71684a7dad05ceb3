"""Generating the student and solution notebooks from `source/` (one source of truth).

- `exercises/<id>/<id>.ipynb`: what `nbgrader generate_assignment` makes of the source
  notebook (solution regions replaced by a stub, hidden-test regions removed, outputs
  cleared, locked cells marked read-only, checksums): nbgrader itself writes it, in a
  scratch copy of the course (`nbgrader_bridge.generate_release`).
- `solutions/<id>/<id>.ipynb`: markers and hidden tests removed, the solutions kept.

`out_of_sync()` tells which committed files differ from what would be generated.
"""

from __future__ import annotations

import copy
from pathlib import Path

from grader.course import (
    assignment_ids,
    cell_source,
    course_root,
    nbgrader_meta,
    read_notebook,
    source_notebook,
    strip_markers,
    write_notebook,
)
from grader.nbgrader_bridge import generate_release


def _render(notebook: dict, transform) -> dict:
    result = copy.deepcopy(notebook)
    for cell in result["cells"]:
        if cell.get("cell_type") == "code":
            cell["source"] = transform(cell_source(cell))
            cell["outputs"] = []
            cell["execution_count"] = None
    return result


def solution_notebook(notebook: dict) -> dict:
    result = _render(notebook, strip_markers)
    for cell in result["cells"]:
        meta = nbgrader_meta(cell)
        if meta:  # a solution is not an nbgrader assignment: drop its grading metadata
            cell["metadata"].pop("nbgrader", None)
    return result


def targets(assignment_id: str, root: Path) -> dict[Path, str]:
    notebook = read_notebook(source_notebook(assignment_id, root))
    name = f"{assignment_id}.ipynb"
    return {
        root / "exercises" / assignment_id / name: generate_release(root, assignment_id),
        root / "solutions" / assignment_id / name: write_notebook(solution_notebook(notebook)),
    }


def generate(root: Path | None = None) -> list[Path]:
    root = root or course_root()
    written = []
    for assignment_id in assignment_ids(root):
        for path, text in targets(assignment_id, root).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def out_of_sync(root: Path | None = None) -> list[Path]:
    root = root or course_root()
    stale = []
    for assignment_id in assignment_ids(root):
        for path, text in targets(assignment_id, root).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
    return stale
