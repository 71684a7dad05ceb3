"""Per-student exercise variants: numbers that change from student to student, from a seed.

An assignment package may declare `PERSONAL = {exercise id: Personal(...)}`: how to draw the
exercise's parameters from a `random.Random`, and the defaults the single (un-rostered)
release and the reference solution use. Parameters are the notebook's own constants
(`N_ENTRADAS`, `K`): the released notebook defines them in a plain code cell
(`K = 2`), and its markdown shows them as `` `2`<!--K--> `` so a release can fill them in.

The seed is HMAC-SHA256(course secret, assignment / exercise / student): the same student
always gets the same numbers, and no one computes another student's without the secret. The
secret is the `GRADER_SECRET` environment variable, or the file that `nbgrader_config.py`
names in `c.Personal.secret_file`; it is never in the repository or a student's bundle.
With `versions` K (`GRADER_VERSIONS`, or `c.Personal.versions`) a student gets one of K
versions of each exercise, so an instructor can talk about "version 3".

The grader recomputes a student's parameters from the student id (the submission's path,
nbgrader's student id, Gradescope's metadata) and never trusts the numbers in a notebook: it
compares them, and a notebook carrying someone else's numbers is flagged (`mismatch_flags`).
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import hmac
import importlib
import json
import os
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import Text
from grader.integrity import Flag

SECRET_ENV = "GRADER_SECRET"
VERSIONS_ENV = "GRADER_VERSIONS"
METADATA_KEY = "personal"  # notebook metadata["grader"]["personal"]: {student, versions, params}

Params = dict[str, int | float]


@dataclass(frozen=True)
class Personal:
    """One exercise's variable numbers: `draw(rng)` gives them, `default` is the release's."""

    draw: Callable[[random.Random], Params]
    default: Params


@dataclass(frozen=True)
class Settings:
    secret: bytes | None = None
    versions: int | None = None  # at most this many versions of each exercise (None: one per student)


def settings(course: Path | None = None) -> Settings:
    """The course's secret and version count: environment first, then nbgrader_config.py."""
    secret: bytes | None = os.environ.get(SECRET_ENV, "").strip().encode() or None
    versions = os.environ.get(VERSIONS_ENV)
    if course is not None and (secret is None or not versions):
        config = _nbgrader_personal(course.resolve())
        if secret is None and config.get("secret_file"):
            secret = Path(config["secret_file"]).expanduser().read_bytes().strip() or None
        versions = versions or config.get("versions")
    return Settings(secret, int(versions) if versions else None)


@functools.cache  # once per process
def _nbgrader_personal(course: Path) -> dict:
    """`c.Personal.*` in the course's nbgrader_config.py. Where each is a literal
    (`c.Personal.versions = 4`, as the README shows) it is read from the file's syntax tree:
    running the file imports nbgrader (about 1 s of a core in every grading process). Anything
    else (a computed path) is read by traitlets, running the file as nbgrader does."""
    path = course / "nbgrader_config.py"
    if not path.exists():
        return {}
    literal = _literal_personal(path.read_text(encoding="utf-8"))
    if literal is not None:
        return literal
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return dict(config.get("Personal", {}))


def _literal_personal(source: str) -> dict | None:
    """`{name: value}` for every `c.Personal.<name> = <literal>` at the file's top level, or
    None where `Personal` is set any other way (inside a function, computed, by `c.Personal = ...`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None  # traitlets reports it, as nbgrader would
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "Personal":
            statement = next((s for s in tree.body if node in ast.walk(s)), None)
            target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 else None
            if not (isinstance(target, ast.Attribute) and target.value is node):
                return None  # `c.Personal` used other than as `c.Personal.x = ...` at top level
            try:
                found[target.attr] = ast.literal_eval(statement.value)
            except (ValueError, TypeError, SyntaxError):
                return None
    return found


def declared(assignment_id: str) -> dict[str, Personal]:
    """The assignment's exercises with variable numbers (none for most)."""
    from grader.course import module_name

    return dict(getattr(importlib.import_module(module_name(assignment_id)), "PERSONAL", {}))


def defaults(assignment_id: str) -> dict[str, Params]:
    return {exercise: dict(p.default) for exercise, p in declared(assignment_id).items()}


def from_namespace(assignment_id: str, namespace: Mapping) -> dict[str, Params]:
    """The numbers a notebook's parameter cell defined (for its self-checks), else the defaults."""
    return {e: {k: namespace.get(k, v) for k, v in p.default.items()} for e, p in declared(assignment_id).items()}


def from_metadata(assignment_id: str, notebook: dict | None) -> dict[str, Params]:
    """The numbers a released notebook's metadata records (for its self-checks), else the defaults."""
    meta = (notebook or {}).get("metadata", {})
    recorded = meta.get("grader", {}).get(METADATA_KEY, {}).get("params", {}) if isinstance(meta, dict) else {}
    return {e: {**p, **(recorded.get(e) or {})} for e, p in defaults(assignment_id).items()}


def _digest(secret: bytes, *parts: str) -> int:
    message = "\0".join(parts).encode()
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big")


def version_of(config: Settings, assignment_id: str, exercise: str, student: str) -> int | None:
    """The student's version (1..K) of an exercise, where the course has K versions."""
    if config.secret is None or not config.versions:
        return None
    return _digest(config.secret, "version", assignment_id, exercise, student) % config.versions + 1


def params_for(assignment_id: str, student: str | None, config: Settings) -> dict[str, Params]:
    """Every variable exercise's parameters for `student`; the defaults without a student
    id or without a secret (a course that does not personalise)."""
    result = {}
    for exercise, personal in declared(assignment_id).items():
        if student is None or config.secret is None:
            result[exercise] = dict(personal.default)
            continue
        version = version_of(config, assignment_id, exercise, student)
        who = f"version {version}" if version is not None else f"student {student}"
        result[exercise] = personal.draw(random.Random(_digest(config.secret, assignment_id, exercise, who)))
    return result


def versions_for(assignment_id: str, student: str, config: Settings) -> dict[str, int | None]:
    return {e: version_of(config, assignment_id, e, student) for e in declared(assignment_id)}


# --------------------------------------------------------------------------- the student id


def student_from_path(path: Path, assignment_id: str) -> str:
    """A submission's student id from where it lies: `alice.ipynb`, `alice/01_neurons.ipynb`,
    or nbgrader's `alice/01_neurons/<any name>.ipynb` (submitted/ and autograded/)."""
    if path.parent.name == assignment_id:
        return path.parent.parent.name
    return path.parent.name if path.stem in (assignment_id, "submission") else path.stem


def student_from_gradescope(metadata_path: Path) -> str | None:
    """The submitter's id in Gradescope's submission_metadata.json (sid, else email)."""
    try:
        users = json.loads(metadata_path.read_text(encoding="utf-8")).get("users") or []
    except (OSError, ValueError):
        return None
    user = users[0] if users and isinstance(users[0], dict) else {}
    return str(user.get("sid") or user.get("email") or "") or None


# --------------------------------------------------------------------------- notebooks

_MARKDOWN_VALUE = re.compile(r"`[^`\n]*`<!--([A-Za-z_]\w*)-->")


def _code_line(name: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(name)} = .*$", re.MULTILINE)


def _lines(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _set(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def render(notebook: dict, assignment_id: str, student: str, params: Mapping[str, Params], versions: Mapping) -> dict:
    """The release notebook with `student`'s parameters filled into the markdown and code,
    and recorded in its metadata (for the self-checks; the grader only compares them)."""
    values = {k: v for p in params.values() for k, v in p.items()}
    result = copy.deepcopy(notebook)
    for cell in result["cells"]:
        text = _lines(cell)
        if cell.get("cell_type") == "markdown":
            text = _MARKDOWN_VALUE.sub(lambda m: f"`{values[m[1]]}`<!--{m[1]}-->" if m[1] in values else m[0], text)
        elif cell.get("cell_type") == "code":
            for name, value in values.items():
                text = _code_line(name).sub(f"{name} = {value!r}", text)
        _set(cell, text)
    grader_meta = result.setdefault("metadata", {}).setdefault("grader", {"assignment": assignment_id})
    grader_meta[METADATA_KEY] = {"student": student, "versions": dict(versions), "params": {**params}}
    return result


def notebook_values(notebook: dict, names: set[str]) -> dict[str, object]:
    """The literal values a notebook's code cells give `names` (`K = 3`), where it gives them."""
    found: dict[str, object] = {}
    for cell in notebook.get("cells", []) if isinstance(notebook.get("cells"), list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for name in names:
            for match in _code_line(name).finditer(_lines(cell)):
                try:
                    found[name] = ast.literal_eval(match[0].split("=", 1)[1].split("#")[0].strip())
                except (ValueError, SyntaxError):
                    found[name] = match[0]
    return found


OTHER_PARAMS = Text(
    pt="Os números do exercício `{cell}` neste notebook ({found}) não são os deste aluno ({own}): o notebook "
    "parece ter vindo de outro aluno. Foi corrigido com os números do próprio aluno.",
    en="The numbers of exercise `{cell}` in this notebook ({found}) are not this student's ({own}): the notebook "
    "looks as if it came from another student. It was graded with the student's own numbers.",
)
OTHER_STUDENT = Text(
    pt="Este notebook foi liberado para `{other}`, mas foi entregue por `{student}`.",
    en="This notebook was released to `{other}`, but was submitted by `{student}`.",
)


NO_SECRET = Text(
    pt="Este notebook foi liberado com números próprios do aluno, mas a correção rodou sem o segredo do curso "
    "(GRADER_SECRET): foi corrigido com os números padrão.",
    en="This notebook was released with the student's own numbers, but grading ran without the course secret "
    "(GRADER_SECRET): it was graded with the default numbers.",
)


def no_secret_flags(notebook: dict | None) -> list[Flag]:
    """Grading without the secret a notebook released for one student: say so (its grade is suspect)."""
    meta = (notebook or {}).get("metadata", {})
    recorded = meta.get("grader", {}).get(METADATA_KEY) if isinstance(meta, dict) else None
    return [Flag.of("no_secret", None, NO_SECRET)] if recorded else []


def _shown(params: Mapping) -> str:
    return ", ".join(f"{k} = {v}" for k, v in sorted(params.items()))


def mismatch_flags(notebook: dict | None, student: str, own: Mapping[str, Params]) -> list[Flag]:
    """Flags for a notebook whose recorded or written numbers are not `student`'s own."""
    if not notebook:
        return []
    meta = notebook.get("metadata", {})
    recorded = meta.get("grader", {}).get(METADATA_KEY, {}) if isinstance(meta, dict) else {}
    recorded = recorded if isinstance(recorded, dict) else {}
    flags = []
    if recorded.get("student") not in (None, student):
        flags.append(Flag.of("other_student", None, OTHER_STUDENT, other=recorded.get("student"), student=student))
    recorded_params = recorded.get("params") if isinstance(recorded.get("params"), dict) else {}
    written = notebook_values(notebook, {k for p in own.values() for k in p})
    for exercise, params in own.items():
        claimed = {**(recorded_params.get(exercise) or {}), **{k: written[k] for k in params if k in written}}
        if any(claimed.get(k, v) != v for k, v in params.items()):
            flags.append(Flag.of("other_params", exercise, OTHER_PARAMS, found=_shown(claimed), own=_shown(params)))
    return flags


# --------------------------------------------------------------------------- release with a roster


def read_roster(path: Path) -> list[str]:
    """Student ids from a roster CSV: its `student`/`id`/`email` column, else the first one."""
    import csv

    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    column = next((header.index(k) for k in ("student", "student_id", "id", "email") if k in header), None)
    body = rows[1:] if column is not None else rows
    column = column or 0
    return list(dict.fromkeys(r[column].strip() for r in body if len(r) > column and r[column].strip()))


def release_roster(assignment_id: str, release: dict, roster: list[str], out: Path, config: Settings) -> Path:
    """One notebook per student, OUT/<id>-students/<student>/<id>.ipynb (nothing else in it:
    no secret, no one else's numbers), and the instructor's table OUT/<id>-variants.csv (who
    got which version and numbers), kept apart from the students' folders. Returns the table."""
    import csv

    from grader.course import write_notebook

    if config.secret is None:
        raise ValueError(f"a release with a roster needs the course secret ({SECRET_ENV})")
    unsafe = [s for s in roster if "/" in s or "\\" in s or s.startswith(".")]
    if unsafe:
        raise ValueError(f"student ids that cannot name a folder: {unsafe[:5]}")
    table = out / f"{assignment_id}-variants.csv"
    out.mkdir(parents=True, exist_ok=True)
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "exercise", "version", "params"])
        for student in roster:
            params = params_for(assignment_id, student, config)
            versions = versions_for(assignment_id, student, config)
            folder = out / f"{assignment_id}-students" / student
            folder.mkdir(parents=True, exist_ok=True)
            notebook = render(release, assignment_id, student, params, versions)
            (folder / f"{assignment_id}.ipynb").write_text(write_notebook(notebook), encoding="utf-8")
            for exercise, values in params.items():
                writer.writerow([student, exercise, versions[exercise] or "", json.dumps(values, sort_keys=True)])
    return table
