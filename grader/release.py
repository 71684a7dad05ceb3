"""Generating the student and solution notebooks from `source/` (one source of truth).

- `exercises/<id>/<id>.ipynb`: solution regions replaced by a stub, hidden-test regions
  removed, outputs cleared (what nbgrader's generate_assignment does to a source notebook).
- `solutions/<id>/<id>.ipynb`: markers and hidden tests removed, the solutions kept.

`check_in_sync()` tells whether the committed files match what would be generated.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from grader.course import (HIDDEN_BEGIN, HIDDEN_END, SOLUTION_BEGIN, SOLUTION_END, assignment_ids, cell_source,
                           course_root, nbgrader_meta, source_notebook, strip_markers)

STUB = ["# SEU CÓDIGO AQUI", "raise NotImplementedError()"]


def _clear_solution(source: str) -> str:
    out, skipping, hidden = [], False, False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            hidden = True
            continue
        if stripped == HIDDEN_END:
            hidden = False
            continue
        if hidden:
            continue
        if stripped == SOLUTION_BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in STUB)
            skipping = True
        elif stripped == SOLUTION_END:
            skipping = False
        elif not skipping:
            out.append(line)
    return "\n".join(out)


def _render(notebook: dict, transform) -> dict:
    result = copy.deepcopy(notebook)
    for cell in result["cells"]:
        if cell.get("cell_type") == "code":
            cell["source"] = transform(cell_source(cell))
            cell["outputs"] = []
            cell["execution_count"] = None
    return result


def student_notebook(notebook: dict) -> dict:
    return _render(notebook, _clear_solution)


def solution_notebook(notebook: dict) -> dict:
    result = _render(notebook, strip_markers)
    for cell in result["cells"]:
        meta = nbgrader_meta(cell)
        if meta:  # a solution is not an nbgrader assignment: drop its grading metadata
            cell["metadata"].pop("nbgrader", None)
    return result


def dumps(notebook: dict) -> str:
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"


def targets(assignment_id: str, root: Path) -> dict[Path, str]:
    notebook = json.loads(source_notebook(assignment_id, root).read_text(encoding="utf-8"))
    name = f"{assignment_id}.ipynb"
    return {
        root / "exercises" / assignment_id / name: dumps(student_notebook(notebook)),
        root / "solutions" / assignment_id / name: dumps(solution_notebook(notebook)),
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
