"""How self-check results look to a student: plain text (a terminal, `grader check`, pytest)
and a small HTML block for notebooks (JupyterLab, Colab, VS Code, Kaggle).

The HTML block sets no text color and no opaque background: it inherits the front end's text
color and tints a translucent band over whatever the theme's background is, so it reads the
same in light and dark themes.
"""

from __future__ import annotations

import html
import re

from grader.i18n import Text

ICONS = {"passed": "✅", "not_attempted": "⏳", "failed": "❌"}
PASSED = Text(pt="passou nas verificações públicas ({n}).", en="passed the public checks ({n}).")
NOT_ATTEMPTED = Text(pt="ainda não tentado.", en="not attempted yet.")
HINT = Text(pt='Precisa de ajuda? `dica("{name}")`.', en='Need help? `dica("{name}")`.')
ON_GPU = Text(pt="Verificado na CPU e na GPU (cuda).", en="Checked on the CPU and on the GPU (cuda).")
NEXT_HINT = Text(pt="💡 Dica {level}/{total}", en="💡 Hint {level}/{total}")
REMINDER = Text(
    pt="Lembre: estas são as verificações públicas; a nota final vem de verificações ocultas, mais completas.",
    en="Remember: these are the public checks; the final grade comes from more thorough hidden checks.",
)
# Accent per status: a solid left border and a translucent tint of the same color.
COLORS = {"passed": "46, 125, 50", "not_attempted": "191, 144, 0", "failed": "198, 40, 40"}


def exercise_status(tests: list[dict]) -> str:
    outcomes = [t["extra_data"]["outcome"] for t in tests]
    if outcomes and all(o == "passed" for o in outcomes):
        return "passed"
    if outcomes and all(o == "not_attempted" for o in outcomes):
        return "not_attempted"
    return "failed"


def ran_on_gpu(tests: list[dict]) -> bool:
    return any("cuda" in t["extra_data"].get("devices", {}) for t in tests)


def failure_messages(tests: list[dict]) -> list[str]:
    """What the student reads about a failing exercise: each distinct message once."""
    seen: list[str] = []
    for test in tests:
        if test["extra_data"]["outcome"] != "passed" and test["output"] not in seen:
            seen.append(test["output"])
    return seen


def exercise_lines(exercise: str, tests: list[dict], lang: str) -> list[str]:
    status = exercise_status(tests)
    gpu = [ON_GPU.render(lang)] if ran_on_gpu(tests) else []
    if status == "passed":
        return [" ".join([f"{ICONS['passed']} {exercise}: {PASSED.render(lang, n=len(tests))}", *gpu])]
    if status == "not_attempted":
        return [f"{ICONS['not_attempted']} {exercise}: {NOT_ATTEMPTED.render(lang)}"]
    lines = [f"{ICONS['failed']} {exercise}:"]
    for message in failure_messages(tests):
        lines.extend("    " + line for line in message.split("\n"))
    lines.extend("    " + line for line in gpu)
    lines.append("    " + HINT.render(lang, name=exercise))
    return lines


def by_exercise(result: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for test in result["tests"]:
        groups.setdefault(test["extra_data"]["exercise"], []).append(test)
    return groups


def format_exercises(result: dict, lang: str = "pt") -> str:
    """Text for a results.json: one block per exercise, then the submission's notes."""
    lines = []
    for exercise, tests in by_exercise(result).items():
        lines.extend(exercise_lines(exercise, tests, lang))
    if result.get("output"):
        lines.append("")
        lines.append(result["output"])
    return "\n".join(lines)


# --------------------------------------------------------------------------- HTML


def inline_html(text: str) -> str:
    """The messages' little Markdown (`code`, **bold**) as HTML, everything else escaped."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*\n]+)\*\*", r"<strong>\1</strong>", escaped)


def _block(status: str, body: str) -> str:
    rgb = COLORS[status]
    style = (
        f"border-left: 4px solid rgb({rgb}); background: rgba({rgb}, 0.12); color: inherit; "
        "padding: 0.45em 0.8em; margin: 0.3em 0; border-radius: 4px; line-height: 1.45"
    )
    return f'<div class="curso-feedback curso-{status}" style="{style}">{body}</div>'


def _paragraphs(text: str) -> str:
    style = "margin: 0.25em 0; white-space: pre-wrap; color: inherit; background: transparent"
    return "".join(f'<p style="{style}">{inline_html(part)}</p>' for part in text.split("\n") if part.strip())


def exercise_html(exercise: str, tests: list[dict], lang: str, next_hint: tuple[int, int, str] | None = None) -> str:
    """One exercise as an HTML block: icon, exercise, message, and `next_hint` (level, total,
    text) folded in a <details> while the exercise does not pass."""
    status = exercise_status(tests)
    head = f"{ICONS[status]} <strong><code>{html.escape(exercise)}</code></strong>: "
    gpu = ran_on_gpu(tests)
    if status == "passed":
        body = head + inline_html(PASSED.render(lang, n=len(tests)))
        body += f" <span>{inline_html(ON_GPU.render(lang))}</span>" if gpu else ""
        return _block(status, body)
    if status == "not_attempted":
        body = head + inline_html(NOT_ATTEMPTED.render(lang))
    else:
        body = head + "".join(_paragraphs(message) for message in failure_messages(tests))
        body += _paragraphs(ON_GPU.render(lang)) if gpu else ""
    if next_hint is not None:
        level, total, text = next_hint
        summary = html.escape(NEXT_HINT.render(lang, level=level, total=total))
        body += (
            '<details style="margin-top: 0.3em"><summary style="cursor: pointer">'
            f"{summary}</summary>{_paragraphs(text)}</details>"
        )
    return _block(status, body)


def results_html(result: dict, lang: str, next_hints: dict[str, tuple[int, int, str]] | None = None) -> str:
    """Every exercise of a results.json as HTML blocks, then its notes and the reminder."""
    blocks = [
        exercise_html(exercise, tests, lang, (next_hints or {}).get(exercise))
        for exercise, tests in by_exercise(result).items()
    ]
    if result.get("output"):
        blocks.append(_paragraphs(result["output"]))
    blocks.append(f"<p style='opacity: 0.8'><em>{inline_html(REMINDER.render(lang))}</em></p>")
    return "".join(blocks)
