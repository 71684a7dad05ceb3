"""The course kit a student's notebook imports: self-checks and hints.

    from grader.kit import dica, interativo, verificar, verificar_tudo
    verificar("mcp_neuron")        # the public checks of one exercise
    dica("mcp_neuron")             # the next hint of its ladder (dica("mcp_neuron", 2): the second)
    verificar_tudo("01_neurons")   # every public check of the assignment
    if interativo():               # a demonstration: runs where a person reads it, never while graded

Self-checks run the same public checks the grader runs, in the notebook's own kernel,
against the names the notebook defines. They are feedback for the student, not a grade:
the grade comes from the isolated grader. While a submission is being graded
(GRADER_CHILD is set) these functions do nothing, and `interativo()` is False, so the
notebooks' demonstrations and figures (every "sem nota" cell) cost nothing.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from grader.i18n import Text
from grader.kit.figures import interactive, interativo

__all__ = ["check", "check_all", "dica", "hint", "interactive", "interativo", "verificar", "verificar_tudo"]

UNKNOWN = Text(pt="Exercício desconhecido: `{name}`.", en="Unknown exercise: `{name}`.")
NO_MORE = Text(pt="(Esta é a última dica.)", en="(This is the last hint.)")
FAILED_CHECK = Text(pt="`{name}` não passou nas verificações públicas.", en="`{name}` did not pass its public checks.")
HINT_HEADER = Text(pt="Dica {level}/{total} para `{name}`:", en="Hint {level}/{total} for `{name}`:")

_hint_levels: dict[str, int] = {}


def _language() -> str:
    return "en" if os.environ.get("GRADER_LANG", "pt").lower().startswith("en") else "pt"


def _ladders() -> dict[str, tuple[str, list]]:
    """exercise id -> (assignment id, hint ladder), for every assignment installed."""
    import grader.assignments as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("a") and info.ispkg:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for exercise, ladder in getattr(module, "LADDER", {}).items():
                found[exercise] = (info.name[1:], ladder)
    return found


def _show(text: str, html: str | None = None) -> None:
    """In a notebook: `html` where the front end renders HTML (JupyterLab, Colab, VS Code),
    `text` where it does not (IPython in a terminal); outside IPython, `text` printed."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            if html is None:
                display(Markdown(text.replace("\n", "  \n")))
            else:
                display({"text/plain": text, "text/html": html}, raw=True)
            return
    except ImportError:
        pass
    print(text)


def _next_hint(nome: str, ladders: dict) -> tuple[int, int, str] | None:
    """The hint `dica(nome)` would show next (level, total, text), without moving the ladder on."""
    if nome not in ladders:
        return None
    ladder = ladders[nome][1]
    level = min(_hint_levels.get(nome, 0) + 1, len(ladder))
    return (level, len(ladder), ladder[level - 1].render(_language())) if ladder else None


def _run(assignment_id: str, namespace: dict, only: str | None) -> dict:
    from grader.kit.local import run_public_checks

    return run_public_checks(assignment_id, namespace, only=only, lang=_language())


def verificar(nome: str, *, _namespace: dict | None = None):
    """Run the public checks of exercise `nome` against this notebook's definitions."""
    if os.environ.get("GRADER_CHILD"):
        return None
    from grader.kit.report import exercise_html, exercise_lines

    ladders = _ladders()
    if nome not in ladders:
        _show(UNKNOWN.render(_language(), name=nome))
        return None
    namespace = _namespace if _namespace is not None else sys._getframe(1).f_globals
    result = _run(ladders[nome][0], namespace, nome)
    lang = _language()
    _show(
        "\n".join(exercise_lines(nome, result["tests"], lang)),
        exercise_html(nome, result["tests"], lang, _next_hint(nome, ladders)),
    )
    if os.environ.get("NBGRADER_EXECUTION") == "validate" and result["score"] < result["max_score"]:
        # `nbgrader validate` (the Validate button) reports a cell as failed only when it raises.
        raise AssertionError(FAILED_CHECK.render(_language(), name=nome))
    return None


def verificar_tudo(tarefa: str, *, _namespace: dict | None = None):
    """Run every public check of an assignment (e.g. "01_neurons")."""
    if os.environ.get("GRADER_CHILD"):
        return None
    from grader.kit.report import REMINDER, format_exercises, results_html

    namespace = _namespace if _namespace is not None else sys._getframe(1).f_globals
    result = _run(tarefa, namespace, None)
    lang, ladders = _language(), _ladders()
    hints = {name: _next_hint(name, ladders) for name in ladders if ladders[name][0] == tarefa}
    _show(format_exercises(result, lang) + "\n\n" + REMINDER.render(lang), results_html(result, lang, hints))
    return None


def dica(nome: str, nivel: int | None = None):
    """Show the next hint for `nome` (or hint number `nivel`)."""
    if os.environ.get("GRADER_CHILD"):
        return None
    lang = _language()
    ladders = _ladders()
    if nome not in ladders:
        _show(UNKNOWN.render(lang, name=nome))
        return None
    ladder = ladders[nome][1]
    level = nivel if nivel is not None else _hint_levels.get(nome, 0) + 1
    level = max(1, min(level, len(ladder)))
    _hint_levels[nome] = level
    text = HINT_HEADER.render(lang, level=level, total=len(ladder), name=nome) + "\n" + ladder[level - 1].render(lang)
    if level == len(ladder):
        text += "\n" + NO_MORE.render(lang)
    _show(text)
    return None


check, check_all, hint = verificar, verificar_tudo, dica
