"""The numbers of a batch's report, computed from its results.json files (no figures, no HTML).

`report_data(folder)` reads every results.json under a folder (`grade --out`, or the
`reports/<id>/results/` that `autograde` writes, one folder per student) and returns a
`ReportData`: the score distribution, per-exercise rates and discrimination, the most
common mistakes, the submissions a human should look at, and the time each one took.
`grader.report` draws and renders it; the tests check these numbers directly.

What counts where:
- The score distribution is the gradebook's: every submission, a malformed file's 0 included.
- The per-exercise numbers and the mistakes cover the submissions that could be graded (a
  file that could not be read says nothing about an exercise); they are all "attention" items.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

MAX_EXAMPLES = 3  # example submissions shown per mistake
MAX_MISTAKES = 5  # mistakes shown per exercise
NOT_MISTAKES = ("passed", "not_attempted", "grader_error")  # outcomes that say nothing about the student's code


@dataclass
class ScoreSummary:
    submissions: int  # results read
    graded: int  # of them, could be graded (the file was readable, no grader failure)
    max_score: float
    mean: float
    median: float
    std: float  # population standard deviation
    minimum: float
    maximum: float
    full_marks: int
    zero: int


@dataclass
class Mistake:
    key: str  # a hint key (named) or a normalized error message (unnamed)
    named: bool
    count: int  # submissions that made it (each counted once, however many tests showed it)
    examples: list[str]  # a few of those submissions, sorted
    feedback: str  # what the first example was told (one test's output)


@dataclass
class ExerciseStats:
    exercise: str
    max_score: float
    graded: int  # submissions counted below
    pass_rate: float  # full marks
    partial_rate: float  # some of the points, not all
    fail_rate: float  # attempted, no points
    not_attempted_rate: float
    mean_fraction: float  # mean score / max_score
    # Pearson correlation of this exercise's score with the rest of the score (total minus
    # this exercise), over graded submissions. None where either does not vary.
    discrimination: float | None
    mistakes: list[Mistake] = field(default_factory=list)


@dataclass
class Attention:
    submission: str
    kind: str  # ATTENTION_KINDS
    detail: str  # the exercises it concerns, or the message
    file: str  # the results file, relative to the folder


# Each kind, in the order the report lists them.
ATTENTION_KINDS = ("grader_error", "malformed", "timeout", "crashed", "memory", "needs_review", "unreadable_result")

# A MemoryError or a CUDA out-of-memory error raised in student code. A process the kernel's
# OOM killer (or the cgroup's limit) ended is a plain crash to the engine: it cannot tell.
_MEMORY = re.compile(r"MemoryError|out of memory|OutOfMemoryError", re.IGNORECASE)


@dataclass
class ReportData:
    folder: str
    assignments: list[str]
    submissions: list[str]  # in file order
    scores: list[float]  # same order
    summary: ScoreSummary
    exercises: list[ExerciseStats]
    attention: list[Attention]
    attention_counts: dict[str, int]  # kind -> submissions
    times: list[float]  # seconds per submission (execution_time), graded ones
    isolation: dict[str, int]  # how student code was isolated -> submissions


# --------------------------------------------------------------------------- helpers

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?")
_SPACES = re.compile(r"\s+")


def normalize_message(output: str, limit: int = 160) -> str:
    """An unnamed failure's message made comparable across submissions: its first line, with
    addresses, numbers and quoted text replaced (`limite 3` and `limite 7` are one mistake;
    `célula 15, linha 2` does not split it either)."""
    line = next((s for s in output.splitlines() if s.strip()), "")
    line = _HEX.sub("<hex>", line)
    line = _QUOTED.sub("'…'", line)
    line = _NUMBER.sub("#", line)
    line = _SPACES.sub(" ", line).strip()
    return line[:limit] + ("…" if len(line) > limit else "")


def pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def is_results(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("tests"), list) and isinstance(data.get("extra_data"), dict)


def read_results(folder: Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """(relative path, results) for every results.json under `folder`, and the .json files
    that could not be read (a truncated write from another tool): those are reported too."""
    found, unreadable = [], []
    for path in sorted(folder.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):  # write-then-rename temporaries
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, OSError):
            unreadable.append(str(path.relative_to(folder)))
            continue
        if is_results(data):
            found.append((str(path.relative_to(folder)), data))
    return found, unreadable


def graded(result: dict) -> bool:
    extra = result["extra_data"]
    return extra.get("graded", True) is not False and not extra.get("grader_error")


# --------------------------------------------------------------------------- the report


def exercise_order(results: list[dict]) -> list[str]:
    order: OrderedDict[str, None] = OrderedDict()
    for result in results:
        for exercise in result["extra_data"].get("exercises", {}):
            order.setdefault(exercise, None)
    return list(order)


def mistakes_of(exercise: str, results: list[dict]) -> list[Mistake]:
    """The most common mistakes in one exercise, over graded results: hint keys, then
    normalized messages for failures no hint names; each submission counted once per mistake."""
    who: dict[tuple[str, bool], set[str]] = {}
    feedback: dict[tuple[str, bool], dict[str, str]] = {}
    for result in results:
        name = result["extra_data"].get("submission", "")
        for test in result["tests"]:
            extra = test.get("extra_data", {})
            if extra.get("exercise") != exercise or extra.get("outcome") in NOT_MISTAKES or extra.get("grader_error"):
                continue
            hint = extra.get("hint")
            key = (
                (hint, True) if hint else (normalize_message(test.get("output", "")) or extra.get("outcome", ""), False)
            )
            who.setdefault(key, set()).add(name)
            feedback.setdefault(key, {}).setdefault(name, test.get("output", ""))
    ranked = sorted(who.items(), key=lambda item: (-len(item[1]), not item[0][1], item[0][0]))
    mistakes = []
    for (key, named), names in ranked[:MAX_MISTAKES]:
        examples = sorted(names)[:MAX_EXAMPLES]
        mistakes.append(Mistake(key, named, len(names), examples, feedback[(key, named)][examples[0]]))
    return mistakes


def exercise_stats(exercise: str, results: list[dict]) -> ExerciseStats:
    rows = [r for r in results if exercise in r["extra_data"].get("exercises", {})]
    infos = [r["extra_data"]["exercises"][exercise] for r in rows]
    n = len(infos)
    max_score = max((float(i["max_score"]) for i in infos), default=0.0)

    def rate(pred) -> float:
        return sum(1 for i in infos if pred(i)) / n if n else 0.0

    full = lambda i: i["max_score"] > 0 and i["score"] >= i["max_score"]  # noqa: E731
    none = lambda i: i["score"] <= 0  # noqa: E731
    mine = [float(i["score"]) for i in infos]
    rest = [float(r["score"]) - s for r, s in zip(rows, mine)]
    return ExerciseStats(
        exercise=exercise,
        max_score=max_score,
        graded=n,
        pass_rate=rate(full),
        partial_rate=rate(lambda i: not full(i) and not none(i)),
        fail_rate=rate(lambda i: none(i) and i["status"] != "not_attempted"),
        not_attempted_rate=rate(lambda i: i["status"] == "not_attempted"),
        mean_fraction=(
            statistics.fmean(s / i["max_score"] for s, i in zip(mine, infos) if i["max_score"]) if n else 0.0
        ),
        discrimination=pearson(mine, rest),
        mistakes=mistakes_of(exercise, rows),
    )


def attention_of(file: str, result: dict) -> list[Attention]:
    """What in one result a human should look at (one item per kind)."""
    extra = result["extra_data"]
    name = extra.get("submission") or Path(file).stem
    items: list[Attention] = []
    first_line = (result.get("output") or "").splitlines()[0] if result.get("output") else ""
    if extra.get("grader_error"):
        items.append(Attention(name, "grader_error", first_line, file))
    elif extra.get("graded", True) is False:
        items.append(Attention(name, "malformed", first_line, file))
    by_kind: dict[str, list[str]] = {}
    for test in result["tests"]:
        t = test.get("extra_data", {})
        outcome, exercise = t.get("outcome"), t.get("exercise", "?")
        if outcome == "grader_error" and not extra.get("grader_error"):
            by_kind.setdefault("grader_error", []).append(exercise)
        elif outcome in ("timeout", "crashed"):
            by_kind.setdefault(outcome, []).append(exercise)
        elif outcome == "error" and _MEMORY.search(test.get("output", "")):
            by_kind.setdefault("memory", []).append(exercise)
    for kind in ATTENTION_KINDS:
        if kind in by_kind:
            items.append(Attention(name, kind, ", ".join(OrderedDict.fromkeys(by_kind[kind])), file))
    reviews = [f for f in extra.get("flags", []) if f.get("review", True)]
    if extra.get("needs_review") or reviews:
        items.append(Attention(name, "needs_review", "; ".join(f.get("code", "") for f in reviews), file))
    return items


def report_data(folder: Path) -> ReportData:
    folder = Path(folder)
    found, unreadable = read_results(folder)
    results = [r for _, r in found]
    names = [r["extra_data"].get("submission") or Path(f).stem for f, r in found]
    scores = [float(r["score"]) for r in results]
    ok = [r for r in results if graded(r)]
    max_score = max((float(r["max_score"]) for r in results), default=0.0)
    summary = ScoreSummary(
        submissions=len(results),
        graded=len(ok),
        max_score=max_score,
        mean=statistics.fmean(scores) if scores else 0.0,
        median=statistics.median(scores) if scores else 0.0,
        std=statistics.pstdev(scores) if scores else 0.0,
        minimum=min(scores, default=0.0),
        maximum=max(scores, default=0.0),
        full_marks=sum(1 for r in results if r["score"] >= r["max_score"] > 0),
        zero=sum(1 for s in scores if s <= 0),
    )
    attention = [item for file, r in found for item in attention_of(file, r)]
    attention += [Attention(Path(f).stem, "unreadable_result", f, f) for f in unreadable]
    order = {kind: i for i, kind in enumerate(ATTENTION_KINDS)}
    attention.sort(key=lambda a: (order[a.kind], a.submission))
    counts = Counter(a.kind for a in attention)
    return ReportData(
        folder=str(folder),
        assignments=sorted({r["extra_data"].get("assignment", "") for r in results} - {""}),
        submissions=names,
        scores=scores,
        summary=summary,
        exercises=[exercise_stats(e, ok) for e in exercise_order(results)],
        attention=attention,
        attention_counts={kind: counts[kind] for kind in ATTENTION_KINDS if counts[kind]},
        times=[float(r.get("execution_time", 0.0)) for r in ok],
        isolation=dict(Counter(r["extra_data"].get("isolation", "?") for r in results).most_common()),
    )
