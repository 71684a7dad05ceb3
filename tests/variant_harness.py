"""Grade every variant of an assignment once per test session, in one batch."""

from __future__ import annotations

from pathlib import Path

from grader.grading import GradeOptions, grade_batch
from grader.redaction import REDACTED
from grader.variants import Variant, write_submissions

REFERENCE = Variant("reference", {})


def grade_variants(assignment_id: str, variants: list[Variant], folder: Path) -> dict[str, dict]:
    paths = write_submissions(assignment_id, [REFERENCE, *variants], folder / "submissions")
    results = grade_batch(list(paths.values()), assignment_id, folder / "results", GradeOptions(), jobs=2)
    return {name: result for name, result in zip(paths, results)}


def check_variant(results: dict[str, dict], variant: Variant) -> None:
    reference = results["reference"]
    result = results[variant.name]
    exercises = result["extra_data"]["exercises"]
    for exercise, info in exercises.items():
        if exercise == variant.breaks:
            # A test counts once whatever devices ran it: partial scores are the same everywhere.
            assert info["score"] == variant.score, (exercise, info, _outputs(result, exercise))
            hints = {t["extra_data"].get("hint") for t in result["tests"] if t["extra_data"]["exercise"] == exercise}
            assert variant.hint in hints, (variant.hint, hints, _outputs(result, exercise))
        else:
            assert info["score"] == info["max_score"], (exercise, info, _outputs(result, exercise))
    redacted = [t["output"] for t in result["tests"] if REDACTED.pt in t["output"] or REDACTED.en in t["output"]]
    assert not redacted, ("feedback cut as if it quoted a reference", redacted)
    lost = reference["max_score"] - result["score"]
    if variant.breaks:
        breaks = result["extra_data"]["exercises"][variant.breaks]
        assert abs(lost - (breaks["max_score"] - breaks["score"])) < 1e-3
    else:
        assert lost == 0


def _outputs(result: dict, exercise: str) -> list[str]:
    return [t["output"] for t in result["tests"] if t["extra_data"]["exercise"] == exercise and t["status"] != "passed"]
