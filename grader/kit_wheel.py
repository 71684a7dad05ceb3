"""The student kit as a wheel: `curso-pytorch-kit`, one `%pip install` away in Colab, Kaggle
or a local Jupyter.

The distribution is named apart from the instructor's `grader` (which carries the hidden
graders and must never reach a student), but it installs the same import package, `grader`,
cut down to the public kit (`grader.bundle.copy_kit`), so notebooks keep `from grader.kit
import ...` wherever they run. It holds the public checks of the assignment being released
and of every assignment before it in the course's order (a student who installs the newest
kit can still check the older notebooks), never a later one's. Its version carries the
assignment (`0.1.0+03training`): pip installs a newer kit over an older one, where the same
version would be "already satisfied".

Requirements: numpy, scikit-learn, pytest and matplotlib (the notebooks' figures), all light. Not torch: the kit uses the torch
already there (Colab's and Kaggle's CUDA builds, a local CPU build), and a requirement that
pip could not see satisfied (torch from conda, say) would download several GB in its place.

It also registers `grader.kit.pytest_notebook` as a pytest plugin (`pytest caderno.ipynb`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader import __version__
from grader.bundle import copy_kit
from grader.course import assignment_ids, course_root, module_name

DISTRIBUTION = "curso-pytorch-kit"
PYTEST_PLUGIN = "grader.kit.pytest_notebook"

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "Kit do aluno do curso de PyTorch: verificar(), dica(), os dados e `pytest caderno.ipynb`"
requires-python = ">=3.10"
dependencies = ["numpy", "scikit-learn", "pytest>=8.4", "matplotlib"]

[project.entry-points.pytest11]
# Named as the module, so `-p {plugin}` given by hand does not register it twice.
"{plugin}" = "{plugin}"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
"grader.kit" = ["*.pt"]
"""


def kit_version(assignment_id: str) -> str:
    return f"{__version__}+{assignment_id.replace('_', '')}"


def kit_assignments(assignment_id: str, root: Path) -> list[str]:
    """The assignments whose public checks the kit of `assignment_id` carries: it and those before it."""
    module_name(assignment_id)  # validates the id
    known = assignment_ids(root)
    if assignment_id not in known:
        raise KeyError(f"unknown assignment {assignment_id!r}")
    return known[: known.index(assignment_id) + 1]


def wheel_name(assignment_id: str) -> str:
    return f"{DISTRIBUTION.replace('-', '_')}-{kit_version(assignment_id)}-py3-none-any.whl"


def build_kit_wheel(assignment_id: str, out: Path, root: Path | None = None) -> Path:
    """Build the student wheel for `assignment_id` into `out` and return its path. Offline:
    pip and setuptools from this environment, no build isolation, no index."""
    root = root or course_root()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        copy_kit(tree / "grader", kit_assignments(assignment_id, root), root)
        text = PYPROJECT.format(name=DISTRIBUTION, version=kit_version(assignment_id), plugin=PYTEST_PLUGIN)
        (tree / "pyproject.toml").write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
        command += ["--wheel-dir", scratch, str(tree)]
        subprocess.run(command, check=True, cwd=scratch, env={**os.environ, "TMPDIR": scratch})
        built = Path(scratch) / wheel_name(assignment_id)
        if not built.exists():
            raise RuntimeError(f"pip built no {built.name} in {scratch}: {sorted(os.listdir(scratch))}")
        return Path(shutil.copy(built, out / built.name))


# The first code cell of every course notebook (`source/`, a test keeps them equal to this):
# nothing to do where the kit is importable (this checkout, a release folder, the grader's
# student process); elsewhere it installs the wheel that came with the assignment.
INSTALL_CELL = """\
# O kit do curso (verificar, dica, os dados) já vem com o repositório e com a pasta da tarefa.
# No Colab, no Kaggle ou em outro computador, esta célula o instala a partir do arquivo
# curso_pytorch_kit-....whl que acompanha a tarefa: envie-o para a pasta deste notebook.
import importlib
import importlib.util

if importlib.util.find_spec("grader") is None:
    import glob
    import os
    import subprocess
    import sys

    rodas = glob.glob("curso_pytorch_kit-*.whl") + glob.glob("/kaggle/input/**/curso_pytorch_kit-*.whl", recursive=True)
    erro = "O kit do curso não está instalado e não achei o arquivo curso_pytorch_kit-*.whl nesta pasta."
    if rodas:
        roda = max(rodas, key=os.path.basename)  # a mais nova, se houver várias
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", roda], capture_output=True, text=True)
        erro = None if pip.returncode == 0 else "A instalação do kit do curso falhou:\\n" + pip.stderr[-2000:]
    if erro:
        raise RuntimeError(
            erro + "\\nEnvie o .whl da tarefa para a pasta do notebook (Colab: ícone de pasta > Upload; "
            "Kaggle: Add Input) ou instale-o com `%pip install caminho/do/arquivo.whl`, e rode esta célula de novo."
        )
    importlib.invalidate_caches()"""
