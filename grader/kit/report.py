"""How self-check results look to a student (in the notebook and in `grader check`)."""

from __future__ import annotations

from grader.i18n import Text

ICONS = {"passed": "✅", "not_attempted": "⏳", "failed": "❌"}
PASSED = Text(pt="passou nas verificações públicas ({n}).", en="passed the public checks ({n}).")
NOT_ATTEMPTED = Text(pt="ainda não tentado.", en="not attempted yet.")
HINT = Text(pt='Precisa de ajuda? `dica("{name}")`.', en='Need help? `dica("{name}")`.')
REMINDER = Text(
    pt="Lembre: estas são as verificações públicas; a nota final vem de verificações ocultas, mais completas.",
    en="Remember: these are the public checks; the final grade comes from more thorough hidden checks.",
)


def exercise_lines(exercise: str, tests: list[dict], lang: str) -> list[str]:
    outcomes = [t["extra_data"]["outcome"] for t in tests]
    if outcomes and all(o == "passed" for o in outcomes):
        return [f"{ICONS['passed']} {exercise}: {PASSED.render(lang, n=len(tests))}"]
    if outcomes and all(o == "not_attempted" for o in outcomes):
        return [f"{ICONS['not_attempted']} {exercise}: {NOT_ATTEMPTED.render(lang)}"]
    lines = [f"{ICONS['failed']} {exercise}:"]
    seen = set()
    for test in tests:
        if test["extra_data"]["outcome"] != "passed" and test["output"] not in seen:
            seen.add(test["output"])
            lines.extend("    " + line for line in test["output"].split("\n"))
    lines.append("    " + HINT.render(lang, name=exercise))
    return lines


def format_exercises(result: dict, lang: str = "pt") -> str:
    """Text for a results.json: one block per exercise, then the submission's notes."""
    by_exercise: dict[str, list[dict]] = {}
    for test in result["tests"]:
        by_exercise.setdefault(test["extra_data"]["exercise"], []).append(test)
    lines = []
    for exercise, tests in by_exercise.items():
        lines.extend(exercise_lines(exercise, tests, lang))
    if result.get("output"):
        lines.append("")
        lines.append(result["output"])
    return "\n".join(lines)
