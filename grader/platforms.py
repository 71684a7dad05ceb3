"""Gradescope and PrairieLearn: our results.json in their formats, and their entry points.

One internal result, several serializers: `build_results` (via `grade_submission`) makes
the one dict that the CLI writes as it is, and `to_gradescope` / `to_prairielearn` are
pure functions of that dict, so the three files cannot disagree on a score.

The entry points run inside the platform's container, once per submission:
`python -m grader.platforms gradescope --root /autograder --config .../grader_export.json`
(the exported `run_autograder` calls it) and `... prairielearn --root /grade` (the image's
entrypoint). They find the student's file, grade it with `safe_grade` (student code runs in
the engine's child process, never here) and write the platform's results.json once, at the
end, atomically. The roots are arguments (and GRADER_AUTOGRADER_ROOT / GRADER_PL_ROOT in the
shell scripts) so that the tests can use a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Literal, TypedDict

from grader.i18n import LANGUAGES, Text
from grader.personal import student_from_gradescope

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's
SANDBOXES = ("auto", "bwrap", "none")
PL_MAX_BYTES = 1_000_000  # PrairieLearn refuses a results.json over 1 MB
CONFIG_NAME = "grader_export.json"  # written by `grader export` beside setup.sh

# --------------------------------------------------------------------------- Gradescope


class GradescopeTest(TypedDict):
    name: str
    score: float
    max_score: float
    status: Literal["passed", "failed"]
    output: str
    output_format: str
    visibility: str
    extra_data: dict


class GradescopeResults(TypedDict):
    score: float
    execution_time: float
    output: str
    output_format: str
    stdout_visibility: str
    tests: list[GradescopeTest]
    extra_data: dict


def to_gradescope(results: dict, visibility: str = "after_published") -> GradescopeResults:
    """Gradescope's results.json from ours. Public checks are `visible` (the student ran them
    in the notebook anyway); hidden tests get `visibility` (`after_published` by default:
    shown once the instructor publishes the grades; Gradescope hides the total score from
    students while any test is not yet visible). Feedback is Markdown (`md`)."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    tests: list[GradescopeTest] = [
        {
            "name": test["name"],
            "score": test["score"],
            "max_score": test["max_score"],
            "status": test["status"],
            "output": test["output"],
            "output_format": "md",
            "visibility": "visible" if test["extra_data"].get("kind") == "public" else visibility,
            "extra_data": dict(test["extra_data"]),
        }
        for test in results["tests"]
    ]
    return {
        "score": results["score"],
        "execution_time": results["execution_time"],
        "output": results["output"],
        "output_format": "text",  # notes on the whole file: cell errors, flags; shown as written
        "stdout_visibility": "hidden",  # run_autograder's own log is for the instructor
        "tests": tests,
        # Gradescope's top level has no max_score: it travels with the rest of ours
        "extra_data": {**results["extra_data"], "max_score": results["max_score"]},
    }


# --------------------------------------------------------------------------- PrairieLearn


class PrairieLearnTest(TypedDict):
    name: str
    description: str
    points: float
    max_points: float
    message: str
    output: str


class PrairieLearnResults(TypedDict, total=False):
    gradable: bool
    score: float
    message: str
    output: str
    format_errors: list[str]
    tests: list[PrairieLearnTest]


SCORE_LINE = Text(pt="Nota: {score:g} de {max_score:g} pontos.", en="Score: {score:g} out of {max_score:g} points.")
CUT = Text(pt="[… cortado]", en="[… cut]")
CUT_NOTE = Text(
    pt="Parte das mensagens foi cortada para caber no limite de 1 MB do PrairieLearn.",
    en="Part of the feedback was cut to fit PrairieLearn's 1 MB limit.",
)


def to_prairielearn(results: dict, max_bytes: int = PL_MAX_BYTES) -> PrairieLearnResults:
    """PrairieLearn's results.json from ours: `score` is ours over max_score, clipped to
    [0, 1]. A file that could not be read as a submission is `gradable: false` with
    `format_errors` (the attempt is not counted: the student fixes the file); a grader
    failure is `gradable: false` too, with the reason in `message`. Long feedback is cut
    until the JSON is under `max_bytes`, and the message says so."""
    extra = results["extra_data"]
    lang = extra.get("lang", "pt")
    graded = bool(extra.get("graded", True)) and not extra.get("grader_error")
    max_score = results["max_score"] or 0
    score = min(max(results["score"] / max_score, 0.0), 1.0) if max_score > 0 else 0.0
    head = SCORE_LINE.render(lang, score=results["score"], max_score=max_score)
    out: PrairieLearnResults = {
        "gradable": graded,
        "score": round(score, 6),
        "message": "\n".join(x for x in (head if graded else "", results["output"]) if x),
        "output": f"isolation: {extra.get('isolation', '')}",
        "tests": [],
    }
    if not graded:
        if not extra.get("grader_error"):
            out["format_errors"] = [results["output"]]
        return _fit(out, max_bytes, lang)
    out["tests"] = [
        {
            "name": test["name"],
            "description": test["extra_data"].get("exercise", ""),
            "points": test["score"],
            "max_points": test["max_score"],
            "message": test["output"],
            "output": _details(test["extra_data"]),
        }
        for test in results["tests"]
    ]
    return _fit(out, max_bytes, lang)


def _details(extra: dict) -> str:
    """A test's outcome for the instructor's eye: the outcome, the devices, the mistake's key."""
    parts = [f"outcome: {extra.get('outcome', '')}", f"kind: {extra.get('kind', '')}"]
    if extra.get("devices"):
        parts.append("devices: " + ", ".join(f"{d}={o}" for d, o in extra["devices"].items()))
    if extra.get("hint"):
        parts.append(f"hint: {extra['hint']}")
    return "; ".join(parts)


def _size(data: dict) -> int:
    return len(json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _fit(data: PrairieLearnResults, max_bytes: int, lang: str) -> PrairieLearnResults:
    """Cut every string field to `cap` characters, halving `cap` until the JSON fits."""
    if _size(data) < max_bytes:
        return data
    marker = " " + CUT.render(lang)
    note = CUT_NOTE.render(lang)
    strings = [data["message"], data["output"], *data.get("format_errors", [])]
    strings += [t[k] for t in data.get("tests", []) for k in ("message", "output")]
    cap = max(len(s) for s in strings)
    while True:
        cap //= 2

        def cut(text: str, cap: int = cap) -> str:
            return text if len(text) <= cap else text[:cap] + marker

        fitted: PrairieLearnResults = {
            **data,
            "message": note + "\n" + cut(data["message"]),
            "output": cut(data["output"]),
        }
        if "format_errors" in data:
            fitted["format_errors"] = [cut(e) for e in data["format_errors"]]
        fitted["tests"] = [{**t, "message": cut(t["message"]), "output": cut(t["output"])} for t in data["tests"]]
        if _size(fitted) < max_bytes or cap == 0:
            return fitted


# --------------------------------------------------------------------------- the student's file

NO_NOTEBOOK = Text(
    pt="Nenhum notebook (.ipynb) foi encontrado na entrega. Arquivos recebidos: {files}. Envie o notebook do exercício.",
    en="No notebook (.ipynb) was found in the submission. Files received: {files}. Submit the assignment's notebook.",
)
MANY_NOTEBOOKS = Text(
    pt="A entrega tem mais de um notebook ({files}); não dá para saber qual corrigir. Envie só o notebook do exercício.",
    en="The submission has more than one notebook ({files}); there is no telling which to grade. Submit only the assignment's notebook.",
)
BWRAP_REQUIRED = Text(
    pt="Erro de configuração do corretor: o sandbox bubblewrap foi exigido (--sandbox bwrap) mas não funciona aqui ({problem}). Avise a equipe do curso.",
    en="Grader misconfiguration: the bubblewrap sandbox was required (--sandbox bwrap) but does not work here ({problem}). Tell the course staff.",
)


class NoSubmission(Exception):
    def __init__(self, text: Text, files: list[str]) -> None:
        super().__init__(text.en)
        self.text, self.files = text, files

    def render(self, lang: str) -> str:
        return self.text.render(lang, files=", ".join(self.files) or "—")


def find_submission(folder: Path) -> Path:
    """The one notebook in `folder`, whatever its name and however deep (a zip upload keeps
    its folders); a `.py` with `# %%` cells where there is no notebook. Editor leftovers
    (dot files, `.ipynb_checkpoints`, `__MACOSX`) do not count. Raises NoSubmission."""
    files = sorted(
        p
        for p in (folder.rglob("*") if folder.is_dir() else [])
        if p.is_file() and not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(folder).parts)
    )
    names = [str(p.relative_to(folder)) for p in files]
    for suffix in (".ipynb", ".py"):
        found = [p for p in files if p.suffix.lower() == suffix]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise NoSubmission(MANY_NOTEBOOKS, [str(p.relative_to(folder)) for p in found])
    raise NoSubmission(NO_NOTEBOOK, names)


# --------------------------------------------------------------------------- grading in the container


SECRET_NAME = "grader_secret"  # in the payload, beside CONFIG_NAME (grader.export.write_secret)


def use_payload_secret(payload: Path, config: dict) -> None:
    """The course secret and version count `grader export` packed, for grader.personal (only
    the grading process's environment: student processes never get GRADER_SECRET)."""
    from grader.personal import SECRET_ENV, VERSIONS_ENV

    if (payload / SECRET_NAME).exists():
        os.environ[SECRET_ENV] = (payload / SECRET_NAME).read_text(encoding="utf-8").strip()
    if config.get("versions"):
        os.environ[VERSIONS_ENV] = str(config["versions"])


def read_config(path: Path) -> dict:
    """What `grader export` baked in: the assignment, language, sandbox, visibility, limits."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config.setdefault("lang", "pt")
    config.setdefault("sandbox", "auto")
    config.setdefault("hidden_visibility", "after_published")
    config.setdefault("limits", {})
    return config


def _lock_down(paths: list[Path]) -> None:
    """Without bubblewrap, student processes run as another user and see the file system:
    make what they must not read (the payload with the source notebooks and the wheel, the
    installed hidden graders, the results folder) root's alone. The grading process, root,
    reads them still."""
    for path in paths:
        if path.exists():
            path.chmod(path.stat().st_mode & ~(stat.S_IRWXG | stat.S_IRWXO))


def hidden_grader_files(assignment_id: str) -> list[Path]:
    """The installed package's files a student process must never read: the assignment's
    hidden graders and variants, and any compiled copy of them."""
    import importlib

    from grader.bundle import is_hidden
    from grader.course import module_name

    folder = Path(importlib.import_module(module_name(assignment_id)).__file__).parent
    paths = [p for p in folder.iterdir() if p.is_file() and is_hidden(p.name)]
    paths += [p for p in (folder / "__pycache__").glob("*") if is_hidden(p.name.split(".")[0] + ".py")]
    return paths


def grade_in_container(
    submission_folder: Path,
    results_folder: Path,
    config_path: Path,
    lang: str | None = None,
    student: str | None = None,
) -> dict:
    """Grade the one submission in `submission_folder` as `config_path` says; our results dict.
    `student`: the platform's student id (per-student variants, `grader.personal`)."""
    config = read_config(config_path)
    payload = config_path.parent
    os.environ["GRADER_COURSE_ROOT"] = str(payload / "course")
    os.environ["GRADER_SANDBOX"] = "none" if config["sandbox"] == "none" else "auto"
    use_payload_secret(payload, config)
    lang = lang if lang in LANGUAGES else config["lang"]

    from grader.course import load_assignment
    from grader.engine import sandbox
    from grader.engine.session import Limits
    from grader.grading import GradeOptions, not_graded, safe_grade

    started = time.monotonic()
    assignment = load_assignment(config["assignment"])
    options = GradeOptions(
        lang=lang,
        limits=Limits(**config["limits"]),
        # out of the sandbox's sight: the upload, the results, the payload (source notebooks)
        hidden=tuple(str(p.resolve()) for p in (submission_folder, results_folder, payload)),
    )
    problem = sandbox.bwrap_problem()
    if config["sandbox"] == "bwrap" and problem is not None:
        message = BWRAP_REQUIRED.render(lang, problem=problem)
        print(f"[grader] {message}", file=sys.stderr)
        return not_graded(assignment, "submission", options, message, grader_error=True)
    if problem is not None and sandbox.fallback_user() is not None:
        _lock_down([payload, results_folder, *hidden_grader_files(assignment.id)])
    try:
        path = find_submission(submission_folder)
    except NoSubmission as exc:
        return not_graded(assignment, "submission", options, exc.render(lang), elapsed=time.monotonic() - started)
    return safe_grade(path, path.stem, assignment, options, student)


def run_gradescope(root: Path, config_path: Path) -> dict:
    """Gradescope's run: /autograder/submission in, /autograder/results/results.json out."""
    from grader.results import write_json_atomic

    results_folder = root / "results"
    results_folder.mkdir(parents=True, exist_ok=True)
    config = read_config(config_path)
    student = student_from_gradescope(root / "submission_metadata.json")
    ours = grade_in_container(root / "submission", results_folder, config_path, student=student)
    write_json_atomic(results_folder / "results.json", to_gradescope(ours, config["hidden_visibility"]))
    return ours


def run_prairielearn(root: Path, config_path: Path) -> dict:
    """PrairieLearn's run: /grade/student and /grade/data/data.json in, /grade/results/results.json
    out. data.json's `params.lang` ("pt" or "en"), where a question sets it, picks the language."""
    from grader.results import write_json_atomic

    results_folder = root / "results"
    results_folder.mkdir(parents=True, exist_ok=True)
    data_path = root / "data" / "data.json"
    try:
        data = json.loads(data_path.read_text(encoding="utf-8")) if data_path.exists() else {}
    except ValueError:
        data = {}
    params = data.get("params") if isinstance(data, dict) else None
    lang = params.get("lang") if isinstance(params, dict) else None
    # PrairieLearn's own variants come from the question's params; ours from its student id, where given
    student = params.get("student") if isinstance(params, dict) else None
    ours = grade_in_container(root / "student", results_folder, config_path, lang=lang, student=student)
    write_json_atomic(results_folder / "results.json", to_prairielearn(ours))
    return ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader.platforms", description="grade one submission inside a platform")
    parser.add_argument("platform", choices=("gradescope", "prairielearn"))
    parser.add_argument("--root", required=True, help="/autograder (Gradescope) or /grade (PrairieLearn)")
    parser.add_argument("--config", required=True, help=f"the exported {CONFIG_NAME}")
    args = parser.parse_args(argv)
    run = run_gradescope if args.platform == "gradescope" else run_prairielearn
    ours = run(Path(args.root), Path(args.config))
    extra = ours["extra_data"]
    print(f"[grader] {extra['submission']}: {ours['score']:g}/{ours['max_score']:g} ({extra['isolation']})")
    return 1 if extra.get("grader_error") else 0


if __name__ == "__main__":
    sys.exit(main())
