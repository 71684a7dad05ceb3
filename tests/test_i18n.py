"""Feedback in the language asked: every grader test has a Portuguese and an English name,
and `--lang en` shows only English (test names included)."""

import ast
import re
from pathlib import Path

import pytest

from grader.course import load_assignment
from grader.grading import GradeOptions, grade_submission, safe_grade
from grader.plugin import name_from_doc
from grader.results import summary_table

A = "01_neurons"
ROOT = Path(__file__).resolve().parent.parent
GRADER_MODULES = sorted((ROOT / "grader" / "assignments").glob("a*/test_*.py"))
PORTUGUESE_LETTERS = re.compile(r"[ãõçáéíóúâêôà]", re.IGNORECASE)


def grader_tests(path: Path) -> list[tuple[str, str | None, str | None]]:
    """(function name, exercise id, docstring) of each grader test in a module, read with ast."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            exercise = None
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "exercise"
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    exercise = decorator.args[0].value
            found.append((node.name, exercise, ast.get_docstring(node)))
    return found


def test_every_assignment_has_grader_modules():
    assert {p.parent.name for p in GRADER_MODULES} >= {
        "a01_neurons",
        "a02_tensors",
        "a03_training",
        "a04_cnn",
        "a05_transfer",
        "a06_regularization",
    }
    assert {p.name for p in GRADER_MODULES} == {"test_public.py", "test_hidden.py"}


@pytest.mark.parametrize("path", GRADER_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_grader_test_has_a_portuguese_and_an_english_name(path):
    problems = []
    tests = grader_tests(path)
    assert tests, f"no grader test found in {path}"
    for name, _, doc in tests:
        if not doc:
            problems.append(f"{name}: no docstring (first line: Portuguese name; a line `en: ...`: English name)")
            continue
        pt, en = name_from_doc(doc, "pt"), name_from_doc(doc, "en")
        if not pt or pt.startswith("en:"):
            problems.append(f"{name}: the first docstring line must be the Portuguese name")
        english = [line.strip()[3:].strip() for line in doc.splitlines()[1:] if line.strip().startswith("en:")]
        if len(english) != 1 or not english[0]:
            problems.append(f"{name}: needs exactly one non-empty `en: <English name>` line")
        elif PORTUGUESE_LETTERS.search(en):
            problems.append(f"{name}: the English name looks Portuguese: {en!r}")
    assert not problems, "\n".join(problems)


def test_name_from_doc():
    doc = """tabela verdade do AND
    en: AND truth table
    """
    assert name_from_doc(doc, "pt") == "tabela verdade do AND"
    assert name_from_doc(doc, "en") == "AND truth table"
    assert name_from_doc("só em português", "en") == "só em português"  # no `en:` line: the Portuguese name
    assert name_from_doc(None, "en") == name_from_doc("", "pt") == ""


def expected_names(lang: str) -> set[str]:
    """`<exercise>: <name>` of every 01_neurons grader test, as results.json names them."""
    folder = ROOT / "grader" / "assignments" / "a01_neurons"
    return {
        f"{exercise}: {name_from_doc(doc, lang)}"
        for path in (folder / "test_public.py", folder / "test_hidden.py")
        for _, exercise, doc in grader_tests(path)
    }


@pytest.fixture(scope="module")
def graded(root):
    solution = root / "solutions" / A / f"{A}.ipynb"
    assignment = load_assignment(A)
    return {
        lang: grade_submission(solution, assignment, GradeOptions(lang=lang, devices=("cpu",))) for lang in ("en", "pt")
    }


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_results_name_tests_in_the_language_asked(graded, lang):
    result = graded[lang]
    assert result["score"] == result["max_score"]
    assert result["extra_data"]["lang"] == lang
    names = {t["name"] for t in result["tests"]}
    assert names == expected_names(lang)
    other = expected_names("pt" if lang == "en" else "en")
    assert not names & (other - expected_names(lang)), "names in the other language"


def test_english_results_have_no_portuguese(graded):
    result = graded["en"]
    for test in result["tests"]:
        assert not PORTUGUESE_LETTERS.search(test["name"]), test["name"]
        assert test["output"] == "Correct.", test
    assert {t["output"] for t in graded["pt"]["tests"]} == {"Correto."}


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("en", "Internal grader error while grading this submission: RuntimeError: boom"),
        ("pt", "Erro interno do corretor ao avaliar esta entrega: RuntimeError: boom"),
    ],
)
def test_internal_error_message_in_the_language_asked(monkeypatch, tmp_path, lang, expected):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("grader.grading.grade_submission", broken)
    result = safe_grade(tmp_path / "x.ipynb", "x", load_assignment(A), GradeOptions(lang=lang))
    assert result["output"] == expected
    assert result["score"] == 0 and result["extra_data"]["graded"] is False
    assert all(t["output"] == expected for t in result["tests"])


def test_summary_table_and_cli_messages_in_the_language_asked(tmp_path, capsys, graded):
    table = summary_table(load_assignment(A), [graded["en"]], "en")
    assert table.splitlines()[0].startswith("submission") and "not attempted" in table
    assert summary_table(load_assignment(A), [graded["pt"]], "pt").startswith("entrega")

    from grader.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    for lang, message in (("en", "no submissions found"), ("pt", "nenhuma entrega encontrada")):
        code = main(["grade", str(empty), "--assignment", A, "--out", str(tmp_path / "out"), "--lang", lang])
        assert code == 2 and capsys.readouterr().err.strip() == message


def test_a_syntax_error_is_located_in_the_language_asked():
    from grader.engine.session import Limits, StudentSession, describe_error

    with StudentSession(
        ["x = 1", "def f(:\n    pass"], limits=Limits(call_seconds=2, cell_seconds=2, submission_seconds=60)
    ).start() as s:
        error = s.cell_results[1].error
    assert describe_error(error, "en").startswith("SyntaxError: invalid syntax (cell 2, line 1)")
    assert describe_error(error, "pt").startswith("SyntaxError: invalid syntax (célula 2, linha 1)")
    assert "célula" not in describe_error(error, "en")
