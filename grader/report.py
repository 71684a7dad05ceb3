"""The batch report: `grader.report_data`'s numbers drawn (matplotlib, Agg) and rendered
(Jinja2) into one self-contained HTML page, figures embedded as SVG data URIs, nothing
fetched from the network. Every label is a `Text`, in the language asked.

matplotlib and Jinja2 are imported only when a report is rendered: `grade` pays for them
once, at the end of the batch, and `grader check` never does.
"""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import asdict
from pathlib import Path

from grader.i18n import Text
from grader.report_data import ReportData, report_data
from grader.results import write_text_atomic

LABELS: dict[str, Text] = {
    "title": Text(pt="Relatório da turma", en="Class report"),
    "folder": Text(pt="Pasta", en="Folder"),
    "assignment": Text(pt="Atividade", en="Assignment"),
    "scores": Text(pt="Distribuição das notas", en="Score distribution"),
    "submissions": Text(pt="Entregas", en="Submissions"),
    "graded": Text(pt="Corrigidas", en="Graded"),
    "mean": Text(pt="Média", en="Mean"),
    "median": Text(pt="Mediana", en="Median"),
    "std": Text(pt="Desvio padrão", en="Standard deviation"),
    "range": Text(pt="Mínimo – máximo", en="Minimum – maximum"),
    "full_marks": Text(pt="Nota máxima", en="Full marks"),
    "zero": Text(pt="Nota zero", en="Zero"),
    "score": Text(pt="Nota", en="Score"),
    "count": Text(pt="Entregas", en="Submissions"),
    "exercises": Text(pt="Questões", en="Exercises"),
    "exercises_note": Text(
        pt="Sobre as entregas corrigidas. Discriminação: correlação entre a nota da questão e o resto da nota "
        "(perto de 0 ou negativa: a questão não separa quem domina o assunto; confira se ela está quebrada).",
        en="Over the graded submissions. Discrimination: correlation between the exercise's score and the rest "
        "of the score (near 0 or negative: the exercise does not tell who masters the subject; check it is not broken).",
    ),
    "exercise": Text(pt="Questão", en="Exercise"),
    "points": Text(pt="Pontos", en="Points"),
    "pass_rate": Text(pt="Acertos", en="Passed"),
    "partial_rate": Text(pt="Parcial", en="Partial"),
    "fail_rate": Text(pt="Zero", en="Zero"),
    "not_attempted_rate": Text(pt="Não tentada", en="Not attempted"),
    "mean_fraction": Text(pt="Média", en="Mean"),
    "discrimination": Text(pt="Discriminação", en="Discrimination"),
    "mistakes": Text(pt="Erros mais comuns", en="Most common mistakes"),
    "mistakes_note": Text(
        pt="Chaves de dica: erros que o corretor reconhece e nomeia. Mensagens: falhas sem dica, com números e "
        "textos entre aspas trocados por # e '…' para agrupar.",
        en="Hint keys: mistakes the grader recognises and names. Messages: failures no hint names, with numbers "
        "and quoted text replaced by # and '…' to group them.",
    ),
    "hint": Text(pt="dica", en="hint"),
    "message": Text(pt="mensagem", en="message"),
    "examples": Text(pt="Exemplos", en="Examples"),
    "feedback": Text(pt="O que o aluno leu", en="What the student read"),
    "no_mistakes": Text(pt="Nenhum erro.", en="No mistakes."),
    "attention": Text(pt="Precisam de um humano", en="Need a human"),
    "attention_none": Text(pt="Nada a revisar.", en="Nothing to review."),
    "kind": Text(pt="Tipo", en="Kind"),
    "detail": Text(pt="Detalhe", en="Detail"),
    "file": Text(pt="Arquivo", en="File"),
    "time": Text(pt="Tempo por entrega", en="Time per submission"),
    "seconds": Text(pt="segundos", en="seconds"),
    "isolation": Text(pt="Isolamento", en="Isolation"),
    "time_summary": Text(
        pt="Mediana {median:.2f} s, máximo {maximum:.2f} s, total {total:.1f} s.",
        en="Median {median:.2f} s, maximum {maximum:.2f} s, total {total:.1f} s.",
    ),
}

KINDS: dict[str, Text] = {
    "grader_error": Text(
        pt="erro do corretor (corrigida de novo na próxima execução)", en="grader error (graded again on the next run)"
    ),
    "malformed": Text(pt="arquivo inválido", en="malformed file"),
    "timeout": Text(pt="tempo esgotado", en="timeout"),
    "crashed": Text(
        pt="processo derrubado (inclui mortes por falta de memória do sistema)",
        en="crashed process (includes the system's out-of-memory kills)",
    ),
    "memory": Text(pt="falta de memória (MemoryError)", en="out of memory (MemoryError)"),
    "needs_review": Text(pt="estrutura do notebook alterada", en="notebook structure changed"),
    "unreadable_result": Text(pt="results.json ilegível", en="unreadable results.json"),
}


def import_in_background() -> threading.Thread:
    """Import matplotlib and Jinja2 in a thread of this process while it only waits on its
    grading processes, so that the report at the end of the batch starts at once: about
    0.8 s of a core. `grade` starts it at the first result, not before: until then the cores
    are busy with the three `import torch` every result waits for (a cold batch of 16
    01_neurons notebooks, A/B alternated: 0.3 s sooner than importing from the start). The
    report's own imports then find the modules loaded, or wait for them (Python's
    per-module import locks)."""

    def imports() -> None:
        import jinja2  # noqa: F401
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.backends.backend_svg
        import matplotlib.figure

    thread = threading.Thread(target=imports, name="report-imports", daemon=True)
    thread.start()
    return thread


def labels(lang: str) -> dict[str, str]:
    return {key: text.render(lang) for key, text in LABELS.items()}


def _svg_uri(figure) -> str:
    import matplotlib

    buffer = io.BytesIO()
    # Labels as SVG text, not glyph outlines: searchable and selectable on the page, a third
    # smaller, and 0.15 s less of drawing at the end of every batch.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figures(data: ReportData, lang: str) -> dict[str, str]:
    """Each figure as a data URI: the score histogram, the exercises' outcome bars, the times."""
    import matplotlib

    matplotlib.use("Agg")  # no display, and never a GUI backend picked up from the environment
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot global state

    text = labels(lang)
    out = {}

    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    top = data.summary.max_score or 1.0
    ax.hist(data.scores, bins=min(20, max(5, int(top))), range=(0, top), color="#3b6ea8", edgecolor="white")
    ax.set_xlabel(text["score"])
    ax.set_ylabel(text["count"])
    ax.axvline(data.summary.mean, color="#c0392b", linestyle="--", label=f"{text['mean']} {data.summary.mean:.2f}")
    ax.legend(loc="upper left")
    out["scores"] = _svg_uri(fig)

    if data.exercises:
        fig = Figure(figsize=(7, 0.35 * len(data.exercises) + 1.2))
        ax = fig.subplots()
        names = [e.exercise for e in data.exercises][::-1]
        left = [0.0] * len(names)
        for key, color in (
            ("pass_rate", "#2e8b57"),
            ("partial_rate", "#e0a526"),
            ("fail_rate", "#c0392b"),
            ("not_attempted_rate", "#aaaaaa"),
        ):
            values = [getattr(e, key) * 100 for e in data.exercises][::-1]
            ax.barh(names, values, left=left, color=color, label=text[key])
            left = [a + b for a, b in zip(left, values)]
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
        out["exercises"] = _svg_uri(fig)

    if data.times:
        fig = Figure(figsize=(7, 2.6))
        ax = fig.subplots()
        ax.hist(data.times, bins=min(30, max(5, len(data.times) // 3)), color="#6c5b7b", edgecolor="white")
        ax.set_xlabel(text["seconds"])
        ax.set_ylabel(text["count"])
        out["times"] = _svg_uri(fig)
    return out


def render_html(data: ReportData, lang: str = "pt") -> str:
    import statistics

    from jinja2 import Environment, PackageLoader, select_autoescape

    # Autoescaping: submission names, feedback and error messages are the students' text.
    env = Environment(loader=PackageLoader("grader", "templates"), autoescape=select_autoescape(["html", "j2"]))
    template = env.get_template("report.html.j2")
    times = data.times or [0.0]
    return template.render(
        lang=lang,
        t=labels(lang),
        kinds={k: v.render(lang) for k, v in KINDS.items()},
        data=data,
        raw=asdict(data),
        figures=figures(data, lang),
        time_summary=LABELS["time_summary"].render(
            lang, median=statistics.median(times), maximum=max(times), total=sum(times)
        ),
    )


def write_report(folder: Path, html: Path | None = None, lang: str = "pt") -> Path:
    """Read every results.json under `folder`, write the page (default: folder/report.html)."""
    folder = Path(folder)
    html = Path(html) if html else folder / "report.html"
    write_text_atomic(html, render_html(report_data(folder), lang))
    return html
