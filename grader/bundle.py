"""The student bundle: what a student downloads for one assignment, and nothing else.

    <out>/<assignment>/
        <assignment>.ipynb     the released notebook (exercises/, nbgrader's release)
        grader/                the public course kit it imports: `verificar`, `dica`,
                               `verificar_tudo`, the public checks and what they need
        LEIA-ME.md             how to use it
        curso_pytorch_kit-*.whl  the same kit as a wheel (`python -m grader release` adds it:
                               `grader.kit_wheel`), for Colab, Kaggle or any Python

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
    "notebook.py",  # `pytest caderno.ipynb` (grader.kit.pytest_notebook) reads the notebook as the grader does
    "personal.py",  # the student's own numbers for the self-checks (code only: the secret is never here)
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
   No Colab ou no Kaggle, envie também o arquivo `curso_pytorch_kit-*.whl` desta pasta: a primeira
   célula do notebook instala o kit a partir dele (ou rode `%pip install curso_pytorch_kit-...whl`).
2. Resolva cada exercício no lugar de `raise NotImplementedError()`.
3. Depois de cada exercício, rode a célula `verificar(...)` logo abaixo dele; `dica("nome")` dá uma dica, e
   `verificar_tudo("{assignment}")` roda todas as verificações públicas. Num terminal, `pytest {assignment}.ipynb`
   (com o kit instalado) roda as mesmas verificações, um teste por exercício.
4. Entregue o notebook `{assignment}.ipynb`. A nota vem de verificações ocultas, mais completas, que rodam o
   seu código num processo isolado.

Requisitos: Python 3.10+ e `torch` (o kit usa o que já estiver instalado); `pip` instala o resto
(`numpy`, `scikit-learn`, `pytest` e `matplotlib`, para as figuras).
"""


def _ignore(directory, names):
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def build_bundle(assignment_id: str, out: Path, root: Path | None = None) -> Path:
    """Write the bundle for `assignment_id` under `out` and return its folder."""
    from grader.course import module_name

    root = root or course_root()
    module_name(assignment_id)  # validates the id
    dest = Path(out) / assignment_id
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(root / "exercises" / assignment_id / f"{assignment_id}.ipynb", dest)
    copy_kit(dest / "grader", [assignment_id], root)
    (dest / "LEIA-ME.md").write_text(README.format(assignment=assignment_id), encoding="utf-8")
    return dest


def copy_kit(dest: Path, assignment_ids: list[str], root: Path) -> None:
    """Write the public kit as a `grader` package at `dest`, with the public checks of
    `assignment_ids` (the bundle's folder and the student wheel both hold this tree)."""
    package = root / "grader"
    (dest / "assignments").mkdir(parents=True)
    for name in KIT_MODULES:
        shutil.copy(package / name, dest / name)
    for name in KIT_PACKAGES:
        shutil.copytree(package / name, dest / name, ignore=_ignore)
    shutil.copy(package / "assignments" / "__init__.py", dest / "assignments" / "__init__.py")
    for assignment_id in assignment_ids:
        graders = package / "assignments" / f"a{assignment_id}"
        (dest / "assignments" / graders.name).mkdir()
        for path in sorted(graders.glob("*.py")):
            if not is_hidden(path.name):
                shutil.copy(path, dest / "assignments" / graders.name / path.name)
