"""`grader demo`: grade bundled example submissions and print the gradebook.

For each assignment: the reference solution (full marks), the released notebook as a
student receives it (not attempted), the mutants marked `demo=True` in its variants (each
loses only its broken exercise) and a truncated notebook (unreadable: zero, with a clear
message, and the batch goes on).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from grader.course import assignment_ids, course_root, load_assignment
from grader.grading import GradeOptions, grade_batch
from grader.results import summary_table, write_gradebook
from grader.variants import Variant, load_variants, write_submissions


def build_examples(assignment_id: str, folder: Path) -> list[Path]:
    if folder.exists():
        shutil.rmtree(folder)
    variants = [Variant("referencia", {})] + [v for v in load_variants(assignment_id) if v.demo]
    paths = list(write_submissions(assignment_id, variants, folder).values())
    released = course_root() / "exercises" / assignment_id / f"{assignment_id}.ipynb"
    blank = folder / "nao_tentado.ipynb"
    shutil.copy(released, blank)
    broken = folder / "corrompido.ipynb"
    broken.write_text(json.dumps(json.loads(released.read_text(encoding="utf-8")))[:5000], encoding="utf-8")
    return [*paths, blank, broken]


def run_demo(out: Path, lang: str = "pt", jobs: int = 2, assignments: list[str] | None = None) -> int:
    for assignment_id in assignments or assignment_ids():
        try:
            load_variants(assignment_id)
        except ModuleNotFoundError:
            continue
        examples = build_examples(assignment_id, out / assignment_id / "submissions")
        results_dir = out / assignment_id / "results"
        results = grade_batch(examples, assignment_id, results_dir, GradeOptions(lang=lang), jobs=jobs)
        assignment = load_assignment(assignment_id)
        write_gradebook(results_dir / "gradebook.csv", assignment, results)
        print(f"\n== {assignment_id} ==")
        print(summary_table(assignment, results, lang))
        print(f"results: {results_dir}/")
    return 0
