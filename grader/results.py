"""From test records to a Gradescope-style results.json, a gradebook CSV and a table.

Scoring: an exercise's points are shared equally by its tests (public and hidden). A
test that runs on several devices is one test: it passes only if it passes on every
device that ran it, and its entry shows each device's outcome (`extra_data.devices`). So
a grade is a property of the submission: a device-agnostic submission scores the same on
a CPU-only machine and on a CUDA one; a device bug costs its tests where a GPU shows it.
An exercise has full marks when all its tests pass.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from grader.course import Assignment
from grader.engine.session import CellResult, describe_error
from grader.i18n import Text
from grader.integrity import Flag


@dataclass
class TestRecord:
    """One grader test's outcome in one submission (the plugin records them; here they become results)."""

    __test__ = False  # not a pytest test class, whatever its name

    nodeid: str
    name: str
    exercise: str
    kind: str  # "public" or "hidden"
    device: str | None
    outcome: str  # passed, failed, not_attempted, error, timeout, crashed, grader_error, skipped
    message: str = ""
    hint: str | None = None  # the key of a recognised mistake
    detail: str = ""  # for instructors only (internal errors)


# --------------------------------------------------------------------------- the format
# results.json, as Gradescope reads it plus what the course adds under extra_data.


class TestExtra(TypedDict, total=False):
    exercise: str  # the catalog's exercise id
    outcome: str  # passed, failed, error, timeout, crashed, not_attempted, grader_error
    kind: str  # public or hidden
    device: str  # the device whose outcome the student reads, where the test ran on devices
    devices: dict[str, str]  # each device's outcome
    hint: str  # the key of a known mistake the feedback names
    grader_error: str  # the grader's own traceback (a grader bug, not the student's)


class TestResult(TypedDict):
    name: str  # "<exercise>: <what the test checks>", in the language asked
    score: float
    max_score: float
    status: Literal["passed", "failed"]
    output: str  # the feedback, with a hint where a known mistake is recognised
    visibility: str
    extra_data: TestExtra


class ExerciseResult(TypedDict):
    score: float
    max_score: float
    status: Literal["passed", "failed", "not_attempted"]


class FlagData(TypedDict):
    code: str  # what was found (grader.integrity), e.g. metadata_changed, deleted_test, no_metadata
    cell: str | None  # the grade_id it concerns
    review: bool  # an instructor should look (False: a note)
    pt: str
    en: str


class ResultsExtra(TypedDict, total=False):
    assignment: str
    submission: str
    lang: str
    isolation: str  # how student code was isolated, and which limits held
    exercises: dict[str, ExerciseResult]
    graded: bool  # False: the submission could not be graded at all (the output says why)
    grader_error: bool  # ... and that was the grader's fault: `--resume` grades it again
    needs_review: bool
    flags: list[FlagData]
    skipped: list[str]  # checks this machine cannot run, with why (not scored)
    sha256: str  # of the submitted file (`autograde`)
    nbgrader_sha256: str  # of the notebook rebuilt for nbgrader (`autograde`)


class Results(TypedDict):
    score: float
    max_score: float
    execution_time: float
    output: str  # notes on the whole submission: flags, cell errors
    output_format: str
    tests: list[TestResult]
    extra_data: ResultsExtra


NO_CHECKS = Text(pt="Nenhuma verificação pôde ser executada.", en="No check could be run.")
CELL_FAILED = Text(pt="Célula {index}: {error}", en="Cell {index}: {error}")
CELL_TIMEOUT = Text(
    pt="Célula {index}: passou do tempo limite e foi interrompida.",
    en="Cell {index}: went past its time limit and was stopped.",
)
CELL_CRASHED = Text(
    pt="Célula {index}: derrubou o processo; as células seguintes rodaram num processo novo.",
    en="Cell {index}: crashed the process; the following cells ran in a new process.",
)
CELL_SKIPPED = Text(
    pt="Células a partir da {index} não rodaram (falhas demais ou tempo esgotado).",
    en="Cells from {index} on did not run (too many failures, or out of time).",
)
PASSED = Text(pt="Correto.", en="Correct.")
TEST_CELL_REMOVED = Text(
    pt="A célula de verificação `test_{exercise}` foi apagada do notebook. Ela é travada e faz parte da entrega: "
    "esta questão vale 0. Baixe o notebook de novo e copie suas respostas para ele.",
    en="The check cell `test_{exercise}` was deleted from the notebook. It is locked and part of the submission: "
    "this exercise scores 0. Download the notebook again and copy your answers into it.",
)


NEEDS_REVIEW = Text(pt="Precisa de revisão", en="Needs review")


def flag_line(flag: Flag, lang: str) -> str:
    return f"⚠ {NEEDS_REVIEW.render(lang)}: {flag.render(lang)}" if flag.review else f"ℹ {flag.render(lang)}"


def review_flags(result: dict) -> list[dict]:
    """The flags of a results.json that call for an instructor's review."""
    return [f for f in result["extra_data"].get("flags", []) if f.get("review", True)]


ONLY_ON = Text(
    pt="[{device}] Esta verificação passou em {passed}, mas não em {device}:",
    en="[{device}] This check passed on {passed}, but not on {device}:",
)


def scenario(record: TestRecord) -> str:
    """The test a record belongs to, whatever device ran it: its node id without the device."""
    if not record.device:
        return record.nodeid
    base, bracket, params = record.nodeid.partition("[")
    parts = params[:-1].split("-") if bracket else []
    if record.device in parts:
        parts.remove(record.device)
    return base + (f"[{'-'.join(parts)}]" if parts else "")


def by_scenario(records: list[TestRecord]) -> list[list[TestRecord]]:
    """Records grouped by test, in the order the tests first ran."""
    groups: OrderedDict[str, list[TestRecord]] = OrderedDict()
    for record in records:
        groups.setdefault(scenario(record), []).append(record)
    return list(groups.values())


def _round(x: float) -> float:
    return round(x + 0.0, 4)


def cell_notes(cells: list[CellResult], lang: str) -> list[str]:
    notes = []
    for cell in cells:
        if cell.status == "error" and cell.error and cell.error.get("type") != "NotImplementedError":
            notes.append(CELL_FAILED.render(lang, index=cell.index, error=describe_error(cell.error, lang)))
        elif cell.status == "timeout":
            notes.append(CELL_TIMEOUT.render(lang, index=cell.index))
        elif cell.status == "crashed":
            notes.append(CELL_CRASHED.render(lang, index=cell.index))
        elif cell.status == "skipped":
            notes.append(CELL_SKIPPED.render(lang, index=cell.index))
            break
    return notes


def build_results(
    assignment: Assignment,
    records: list[TestRecord],
    *,
    submission: str,
    lang: str,
    notes: list[str],
    isolation: str,
    elapsed: float,
    failure_message: str | None = None,
    removed_test_cells: frozenset[str] = frozenset(),
    flags: list[Flag] = (),
    grader_error: bool = False,
) -> Results:
    """results.json for one submission. `failure_message`: the submission could not be
    graded at all (unreadable); every exercise gets zero with that message.
    `removed_test_cells`: exercises whose locked check cell the student deleted (zero, with a message).
    `flags`: what the notebook changed in the release's nbgrader structure (it then needs review).
    `grader_error`: the failure was the grader's, not the submission's."""
    by_exercise: OrderedDict[str, list[TestRecord]] = OrderedDict((e.id, []) for e in assignment.exercises)
    for record in records:
        if record.outcome != "skipped" and record.exercise in by_exercise:
            by_exercise[record.exercise].append(record)
    tests, exercises = [], {}
    for exercise in assignment.exercises:
        group = by_exercise[exercise.id]
        if exercise.id in removed_test_cells:
            group = [
                TestRecord(
                    nodeid=f"{exercise.id}::test_cell",
                    name=f"test_{exercise.id}",
                    exercise=exercise.id,
                    kind="hidden",
                    device=None,
                    outcome="failed",
                    hint="test_cell_removed",
                    message=TEST_CELL_REMOVED.render(lang, exercise=exercise.id),
                )
            ]
        if not group:
            group = [
                TestRecord(
                    nodeid=f"{exercise.id}::missing",
                    name=exercise.id,
                    exercise=exercise.id,
                    kind="hidden",
                    device=None,
                    outcome="error",
                    message=failure_message or NO_CHECKS.render(lang),
                )
            ]
        scenarios = by_scenario(group)
        share = exercise.points / len(scenarios)
        earned = 0.0
        for runs in scenarios:
            record = next((r for r in runs if r.outcome != "passed"), runs[-1])  # what the student reads
            score = share if record.outcome == "passed" else 0.0
            earned += score
            extra = {"exercise": exercise.id, "outcome": record.outcome, "kind": record.kind}
            if record.device:
                extra["device"] = record.device
                extra["devices"] = {r.device: r.outcome for r in runs}
            if record.hint:
                extra["hint"] = record.hint
            if record.detail:
                extra["grader_error"] = record.detail
            output = record.message or (PASSED.render(lang) if record.outcome == "passed" else "")
            if len({r.outcome for r in runs}) > 1:  # passes somewhere, not everywhere: say where
                output = (
                    ONLY_ON.render(
                        lang, device=record.device, passed=", ".join(r.device for r in runs if r.outcome == "passed")
                    )
                    + "\n"
                    + output
                )
            tests.append(
                {
                    "name": f"{exercise.id}: {record.name}",
                    "score": _round(score),
                    "max_score": _round(share),
                    "status": "passed" if record.outcome == "passed" else "failed",
                    "output": output,
                    "visibility": "visible",
                    "extra_data": extra,
                }
            )
        outcomes = {r.outcome for r in group}
        status = "passed" if outcomes == {"passed"} else "not_attempted" if outcomes == {"not_attempted"} else "failed"
        exercises[exercise.id] = {"score": _round(earned), "max_score": exercise.points, "status": status}
    score = _round(sum(e["score"] for e in exercises.values()))
    output = "\n".join(([failure_message] if failure_message else []) + [flag_line(f, lang) for f in flags] + notes)
    return {
        "score": score,
        "max_score": assignment.max_score,
        "execution_time": round(elapsed, 3),
        "output": output,
        "output_format": "text",
        "tests": tests,
        "extra_data": {
            "assignment": assignment.id,
            "submission": submission,
            "lang": lang,
            "isolation": isolation,
            "exercises": exercises,
            "graded": failure_message is None,
            "grader_error": grader_error,
            "needs_review": any(f.review for f in flags),
            "flags": [f.as_dict() for f in flags],
            # checks this machine cannot run (no CUDA, no torchvision), with why: not scored
            "skipped": sorted({f"{r.exercise}: {r.name} ({r.message})" for r in records if r.outcome == "skipped"}),
        },
    }


def write_text_atomic(path: Path, text: str) -> None:
    """Write-then-rename, synced: a reader (or a re-run after a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2))


def gradebook_rows(assignment: Assignment, results: list[dict]) -> list[list]:
    header = ["submission", *assignment.order, "total", "max", "flags"]
    rows = [header]
    for result in results:
        exercises = result["extra_data"]["exercises"]
        rows.append(
            [
                result["extra_data"]["submission"],
                *(exercises[e]["score"] for e in assignment.order),
                result["score"],
                result["max_score"],
                # what an instructor should look at (a copied notebook: `other_params`), by code
                " ".join(dict.fromkeys(f["code"] for f in review_flags(result))),
            ]
        )
    return rows


def write_gradebook(path: Path, assignment: Assignment, results: list[dict]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(gradebook_rows(assignment, results))
    write_text_atomic(path, buffer.getvalue())


def _fmt(x: float) -> str:
    return f"{x:g}"


def summary_table(assignment: Assignment, results: list[dict], lang: str = "pt") -> str:
    """A plain-text table: a row per submission, a column per exercise, and a total."""
    columns = assignment.order
    header = [Text(pt="entrega", en="submission").render(lang), *columns, "total"]
    rows = [header]
    for result in results:
        exercises = result["extra_data"]["exercises"]
        cells = []
        for e in columns:
            info = exercises[e]
            mark = {"passed": "", "not_attempted": " -"}.get(info["status"], " x")
            cells.append(_fmt(info["score"]) + mark)
        review = " !" if result["extra_data"].get("needs_review") else ""
        rows.append(
            [result["extra_data"]["submission"], *cells, f"{_fmt(result['score'])}/{_fmt(result['max_score'])}{review}"]
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    legend = Text(
        pt="(x: errou, -: não tentado, !: precisa de revisão)", en="(x: wrong, -: not attempted, !: needs review)"
    ).render(lang)
    reviews = [
        f"{result['extra_data']['submission']}: {flag['en' if lang == 'en' else 'pt']}"
        for result in results
        for flag in review_flags(result)
    ]
    return "\n".join(
        lines + [legend] + ([f"{NEEDS_REVIEW.render(lang)}:"] + ["  " + r for r in reviews] if reviews else [])
    )
