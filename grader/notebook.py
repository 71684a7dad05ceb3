"""Reading submissions: a notebook (.ipynb) or a script with `# %%` cells, as a list of
code cells ready to run in plain Python.

Lenient where a student cannot help it (nbformat 4.0 to 4.5, v3 worksheets, missing or
duplicated cell ids, unknown metadata) and clear where the file is unusable (not JSON,
not a notebook, empty, too big).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import LocalizedError, Text
from grader.integrity import source_of

MAX_SUBMISSION_BYTES = 20 * 1024 * 1024  # before parsing: a 100 MB notebook is refused unread
SUBMISSION_SUFFIXES = (".ipynb", ".py")


class SubmissionError(LocalizedError):
    """The submission cannot be read; `text` says why, for the student."""


NOT_JSON = Text(
    pt="O arquivo não é um notebook válido (JSON inválido: {detail}). Salve o notebook de novo no Jupyter e reenvie.",
    en="The file is not a valid notebook (invalid JSON: {detail}). Save the notebook again in Jupyter and resubmit.",
)
NOT_NOTEBOOK = Text(
    pt="O arquivo não tem a estrutura de um notebook Jupyter ({detail}).",
    en="The file does not have the structure of a Jupyter notebook ({detail}).",
)
EMPTY = Text(pt="O arquivo enviado está vazio.", en="The submitted file is empty.")
TOO_BIG = Text(
    pt="O arquivo tem {size} MB, acima do limite de {limit} MB. Limpe as saídas (Kernel > Restart & Clear Output) e reenvie.",
    en="The file is {size} MB, over the {limit} MB limit. Clear the outputs (Kernel > Restart & Clear Output) and resubmit.",
)
WRONG_KIND = Text(
    pt="Tipo de arquivo não suportado: `{name}`. Envie um `.ipynb` ou um `.py`.",
    en="Unsupported file type: `{name}`. Submit an `.ipynb` or a `.py` file.",
)
NOT_UTF8 = Text(
    pt="O arquivo não está em UTF-8; foi lido como Latin-1. Acentos podem ter saído errados.",
    en="The file is not UTF-8; it was read as Latin-1. Accented characters may be wrong.",
)


@dataclass
class Submission:
    path: Path
    cells: list[str]  # code cells, magics neutralised, in notebook order
    warnings: list[Text] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    notebook: dict | None = field(default=None, repr=False)  # the parsed notebook (None for a script)


def read_submission(path: Path | str) -> Submission:
    path = Path(path)
    if path.suffix not in SUBMISSION_SUFFIXES:
        raise SubmissionError(WRONG_KIND, name=path.name)
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise SubmissionError(TOO_BIG, size=round(size / 1e6), limit=MAX_SUBMISSION_BYTES // 1_000_000)
    raw = path.read_bytes()
    if not raw.strip():
        raise SubmissionError(EMPTY)
    warnings: list[Text] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        warnings.append(NOT_UTF8)
    if path.suffix == ".py":
        return Submission(path, [to_python(c) for c in split_py_cells(text)], warnings)
    notebook = parse_notebook_json(text)
    return Submission(
        path,
        [to_python(c) for c in notebook_code_cells(notebook)],
        warnings,
        notebook.get("metadata") if isinstance(notebook.get("metadata"), dict) else {},
        notebook,
    )


def parse_notebook_json(text: str) -> dict:
    try:
        notebook = json.loads(text)
    except ValueError as exc:
        raise SubmissionError(NOT_JSON, detail=str(exc)[:120]) from None
    except RecursionError:
        raise SubmissionError(NOT_JSON, detail="nesting too deep") from None
    if not isinstance(notebook, dict):
        raise SubmissionError(NOT_NOTEBOOK, detail="top level is not an object")
    return notebook


def notebook_code_cells(notebook: dict) -> list[str]:
    """The code cells' sources, for nbformat 4.x and the old v3 worksheets."""
    if isinstance(notebook.get("cells"), list):
        cells, key = notebook["cells"], "source"
    elif isinstance(notebook.get("worksheets"), list) and notebook["worksheets"]:
        sheet = notebook["worksheets"][0]
        cells, key = (sheet.get("cells") if isinstance(sheet, dict) else None), "input"
        if not isinstance(cells, list):
            raise SubmissionError(NOT_NOTEBOOK, detail="no cells")
    else:
        raise SubmissionError(NOT_NOTEBOOK, detail="no 'cells' list")
    return [source_of(c, key) for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]


_PY_CELL = re.compile(r"^# ?%%.*$", re.MULTILINE)


def split_py_cells(text: str) -> list[str]:
    """A script split at `# %%` lines (VS Code / Jupytext percent format)."""
    parts = _PY_CELL.split(text)
    return [p.strip("\n") for p in parts if p.strip()]


# Cell magics whose body is still Python: drop the magic line and run the body.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_LINE_MAGIC = re.compile(r"^(\s*)(?:[%!]|\S+\s*=\s*[%!])")


def to_python(source: str) -> str:
    """Neutralise IPython syntax so the cell runs in plain Python, keeping line numbers:
    line magics and `!shell` lines become `pass`; `%%time`-like cell magics are dropped;
    other cell magics (`%%bash`, `%%writefile`...) turn the whole cell into comments."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic in _PYTHON_CELL_MAGICS:
            lines[0] = ""
        else:
            return "\n".join("# " + line for line in lines)
    out = []
    for line in lines:
        match = _LINE_MAGIC.match(line)
        if match and not line.lstrip().startswith("%%"):
            out.append(f"{match.group(1)}pass  # {line.strip()[:60]}")
        elif line.rstrip().endswith("?") and re.match(r"^\s*[\w.]+\?\??$", line):
            out.append(re.match(r"^(\s*)", line).group(1) + "pass")
        else:
            out.append(line)
    return "\n".join(out)
