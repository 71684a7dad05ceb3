"""The student bundle: what a student downloads for one assignment, and nothing else.

    <out>/<assignment>/
        <assignment>.ipynb     the released notebook (exercises/, nbgrader's release)
        grader/                the public course kit it imports: `verificar`, `dica`,
                               `verificar_tudo`, the public checks and what they need
        LEIA-ME.md             how to use it

Left out on purpose: every assignment's hidden graders (`test_hidden.py`), the variants
built from the reference solutions (`variants.py`), the other assignments, source/,
solutions/, the nbgrader bridge, the CLI. `tests/test_bundle.py` proves that no solution
code and no hidden test reaches a bundle, and that the bundle's self-checks work on their own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course import course_root

# The kit's import closure (grader.kit -> grader.kit.local -> plugin, results, ...): not the batch
# orchestrator (grading.py), the reader of submissions or the redaction of feedback.
KIT_MODULES = (
    "__init__.py",
    "i18n.py",
    "checks.py",
    "course.py",
    "diagnosis.py",
    "integrity.py",
    "plugin.py",
    "results.py",
)
KIT_PACKAGES = ("engine", "kit")
HIDDEN_FILES = ("test_hidden.py", "variants.py")  # in an assignment's package: never released


def is_hidden(name: str) -> bool:
    """A file of an assignment's package that never reaches students: the hidden graders,
    the variants, and the graders' own helpers (`hidden_*.py`)."""
    return name in HIDDEN_FILES or name.startswith("hidden_")


README = """# {assignment}

1. Abra `{assignment}.ipynb` no Jupyter **a partir desta pasta** (o notebook importa a pasta `grader/`).
2. Resolva cada exercício no lugar de `raise NotImplementedError()`.
3. Depois de cada exercício, rode a célula `verificar(...)` logo abaixo dele; `dica("nome")` dá uma dica, e
   `verificar_tudo("{assignment}")` roda todas as verificações públicas.
4. Entregue o notebook `{assignment}.ipynb`. A nota vem de verificações ocultas, mais completas, que rodam o
   seu código num processo isolado.

Requisitos: Python 3.10+, `torch`, `numpy`, `scikit-learn`, `pytest`, `nbformat` e `matplotlib` (as figuras).
"""


def _ignore(directory, names):
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def build_bundle(assignment_id: str, out: Path, root: Path | None = None) -> Path:
    """Write the bundle for `assignment_id` under `out` and return its folder."""
    from grader.course import module_name

    root = root or course_root()
    module_name(assignment_id)  # validates the id
    package = root / "grader"
    dest = Path(out) / assignment_id
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "grader" / "assignments").mkdir(parents=True)
    shutil.copy(root / "exercises" / assignment_id / f"{assignment_id}.ipynb", dest)
    for name in KIT_MODULES:
        shutil.copy(package / name, dest / "grader" / name)
    for name in KIT_PACKAGES:
        shutil.copytree(package / name, dest / "grader" / name, ignore=_ignore)
    shutil.copy(package / "assignments" / "__init__.py", dest / "grader" / "assignments" / "__init__.py")
    graders = package / "assignments" / f"a{assignment_id}"
    (dest / "grader" / "assignments" / graders.name).mkdir()
    for path in sorted(graders.glob("*.py")):
        if not is_hidden(path.name):
            shutil.copy(path, dest / "grader" / "assignments" / graders.name / path.name)
    (dest / "LEIA-ME.md").write_text(README.format(assignment=assignment_id), encoding="utf-8")
    return dest
