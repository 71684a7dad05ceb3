"""The last line of defence against a reference solution reaching a student.

References stand in for earlier exercises inside the student's process as bytecode only
(`engine.session.compile_reference`), so no text of theirs is there to find. Should any
still come back (a decompiled function raised as an error message, an object whose type
name is a line of code), the grading process, which knows every reference, cuts it out of
everything the student sees before results are written: a line of a reference that the
student's own submission does not contain is replaced by a note, and so is any line of a
bytecode listing (`dis`). A student's own code is never cut, even where it matches the
reference line for line.
"""

from __future__ import annotations

import dis
import functools
import importlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from grader.i18n import Text

REDACTED = Text(
    pt="[trecho removido: coincide com a solução de referência]", en="[removed: it matches the reference solution]"
)
MIN_CHARACTERS = 12  # shorter lines (`return x`, `else:`) are common to any solution
# A line of a disassembly (`dis.dis(reference)`): bytecode is how a reference runs there.
_DISASSEMBLY = re.compile(
    r"^.*\b\d+\s+(" + "|".join(sorted(dis.opmap, key=len, reverse=True)) + r")\b.*$", re.MULTILINE
)


def secret_lines(references: Iterable[str], own_code: str, public: str = "") -> list[str]:
    """The reference lines worth hiding from this student: long enough to mean something,
    not already in the student's own code, and not in what every student is shown anyway
    (`public`: the released notebook, the hint texts)."""
    lines = {line.strip() for source in references for line in source.splitlines()}
    secret = [line for line in lines if len(line) >= MIN_CHARACTERS and line not in own_code and line not in public]
    return sorted(secret, key=len, reverse=True)  # the longest first: a line may contain another


@functools.cache
def public_text(assignment_id: str, root: Path | None = None) -> str:
    """Everything a student of this assignment may see whole: the released notebook and the
    texts of the public checks, hints and feedback (a hint may quote a line of code that a
    reference also has). Hidden graders and variants are not public."""
    from grader.bundle import is_hidden
    from grader.course import cell_source, course_root, module_name

    root = root or course_root()
    package = Path(importlib.import_module(module_name(assignment_id)).__file__).parent
    grader_root = Path(__file__).resolve().parent
    files = [
        root / "exercises" / assignment_id / f"{assignment_id}.ipynb",
        *(f for f in sorted(package.glob("*.py")) if not is_hidden(f.name)),
        grader_root / "checks.py",
        grader_root / "diagnosis.py",
        grader_root / "engine" / "session.py",
    ]
    texts = []
    for path in files:
        try:
            if path.suffix == ".ipynb":  # the cells' text, as the student reads it
                # Plain JSON, not nbformat (the release is our own v4 notebook): a grading
                # process would import nbformat for this alone, 0.2 s before its first result.
                texts.extend(cell_source(cell) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])
            else:
                texts.append(path.read_text(encoding="utf-8"))
        except OSError:
            continue
    return "\n".join(texts)


def redact_text(text: str, secret: list[str], lang: str) -> str:
    for line in secret:
        if line in text:
            text = text.replace(line, REDACTED.render(lang))
    return _DISASSEMBLY.sub(REDACTED.render(lang), text)


def redact_results(results: dict, secret: list[str], lang: str) -> dict:
    """Cut reference lines out of every student-visible text of a results.json (in place)."""
    if not secret:
        return results
    results["output"] = redact_text(results.get("output", ""), secret, lang)
    for test in results.get("tests", []):
        test["output"] = redact_text(test.get("output", ""), secret, lang)
    return results
