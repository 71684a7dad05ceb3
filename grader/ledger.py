"""The results ledger of a batch folder: what each results.json was graded from.

The coordinator (the process running the batch; grading processes only return results)
writes a submission's results.json, then appends one JSON line here: the submission's
name, the sha256 of the file graded, the digest of the graders that graded it (the
assignment's source notebook and grader package), the grader's version, and whether the
grader, not the student, failed. `--resume` keeps a results.json only when its line says it
came from this very file, these very graders and this version, and the grader did not fail:
a resubmitted file, a changed grader or a grader failure is graded again. Appending twice
changes nothing (the last line for a name wins), and a line cut short by a crash is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from grader import __version__

LEDGER = "ledger.jsonl"


@dataclass(frozen=True)
class Line:
    name: str
    sha256: str  # of the submitted file
    graders: str  # graders_digest() of what graded it
    version: str  # grader.__version__
    grader_error: bool
    score: float


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def graders_digest(assignment) -> str:
    """The assignment as graded: its source notebook (exercises, points, references) and
    every file of its grader package."""
    import importlib

    from grader.course import module_name

    package = Path(importlib.import_module(module_name(assignment.id)).__file__).parent
    digest = hashlib.sha256(Path(assignment.path).read_bytes())
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def line_for(name: str, path: Path, graders: str, result: dict) -> Line:
    return Line(
        name,
        file_digest(path),
        graders,
        __version__,
        bool(result["extra_data"].get("grader_error")),
        float(result["score"]),
    )


def append(folder: Path, line: Line) -> None:
    with open(Path(folder) / LEDGER, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(line), ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read(folder: Path) -> dict[str, Line]:
    """name -> its latest line (none for a folder without a ledger)."""
    lines: dict[str, Line] = {}
    try:
        text = (Path(folder) / LEDGER).read_text(encoding="utf-8")
    except OSError:
        return lines
    for raw in text.splitlines():
        try:
            line = Line(**json.loads(raw))
        except (ValueError, TypeError):
            continue  # cut short by a crash
        lines[line.name] = line
    return lines


def still_valid(line: Line | None, path: Path, graders: str) -> bool:
    """The line vouches for a results.json of this very file, graders and version."""
    return (
        line is not None
        and not line.grader_error
        and line.graders == graders
        and line.version == __version__
        and line.sha256 == file_digest(path)
    )
