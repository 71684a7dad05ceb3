"""Known-wrong (mutants) and known-right (alternatives) versions of a reference solution.

Each assignment's `variants.py` lists them; the project's tests grade every one and check
that a mutant loses the marks of exactly the exercise it breaks, with the expected hint,
and that an alternative gets full marks. `grader demo` grades a few of them too.
"""

from __future__ import annotations

import copy
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import cell_source, course_root, module_name, nbgrader_meta, read_notebook


@dataclass(frozen=True)
class Variant:
    name: str
    replace: dict[str, str]  # exercise id -> the source its solution cell holds instead
    breaks: str | None = None  # the one exercise that must lose marks (None: full marks)
    hint: str | None = None  # the hint key its feedback must carry
    score: float = 0.0  # what `breaks` still scores (partial credit), 0 by default
    demo: bool = False  # graded by `grader demo`
    extra_cells: list[str] = field(default_factory=list)  # code cells appended at the end


def edit_reference(assignment_id: str, exercise: str, *replacements: tuple[str, str]) -> dict[str, str]:
    """{exercise: its reference solution (from source/) with each (old, new) replaced once}.
    Fails when `old` is not there exactly once, so a change to the source cannot silently
    void a variant."""
    from grader.course import load_assignment

    source = load_assignment(assignment_id).exercise(exercise).reference
    for old, new in replacements:
        assert source.count(old) == 1, f"{exercise}: {old!r} is not in the reference exactly once"
        source = source.replace(old, new)
    return {exercise: source}


def load_variants(assignment_id: str) -> list[Variant]:
    module = importlib.import_module(module_name(assignment_id) + ".variants")
    return list(module.VARIANTS)


def solution_path(assignment_id: str, root: Path | None = None) -> Path:
    return (root or course_root()) / "solutions" / assignment_id / f"{assignment_id}.ipynb"


def source_cells_by_exercise(notebook: dict) -> dict[str, int]:
    """exercise id -> index of its solution cell, from the source notebook's metadata."""
    return {
        nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(notebook["cells"]) if nbgrader_meta(c).get("solution")
    }


def make_submission(assignment_id: str, variant: Variant) -> dict:
    """The reference solution notebook with the variant's cells swapped in."""
    from grader.course import source_notebook

    source = read_notebook(source_notebook(assignment_id))
    solution = read_notebook(solution_path(assignment_id))
    positions = source_cells_by_exercise(source)  # solutions/ keeps the source's cell order
    notebook = copy.deepcopy(solution)
    for exercise, code in variant.replace.items():
        cell = notebook["cells"][positions[exercise]]
        assert exercise in cell_source(cell), f"cell {positions[exercise]} is not {exercise}'s"
        cell["source"] = code
    for index, code in enumerate(variant.extra_cells):
        notebook["cells"].append(
            {
                "cell_type": "code",
                "id": f"extra-{index}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": code,
            }
        )
    return notebook


def typed_in_release(assignment_id: str, variant: Variant | None = None, root: Path | None = None) -> dict:
    """The released notebook (nbgrader metadata and all) with each solution cell filled in
    as a student would: with the reference, or with a variant's code where it has some."""
    root = root or course_root()
    released = read_notebook(root / "exercises" / assignment_id / f"{assignment_id}.ipynb")
    solution = read_notebook(solution_path(assignment_id, root))
    replace = variant.replace if variant else {}
    for cell, solved in zip(released["cells"], solution["cells"]):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution"):
            cell["source"] = replace.get(grade_id, cell_source(solved))
    return released


def write_submissions(assignment_id: str, variants: list[Variant], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for variant in variants:
        path = folder / f"{variant.name}.ipynb"
        path.write_text(json.dumps(make_submission(assignment_id, variant), ensure_ascii=False), encoding="utf-8")
        paths[variant.name] = path
    return paths
