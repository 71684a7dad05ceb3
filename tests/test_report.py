"""The class report: its numbers from a real graded batch (golden), pure data edge cases,
the CLI, and the page opened in headless Chromium with a screenshot kept for a human."""

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading import GradeOptions, grade_batch
from grader.report import render_html, write_report
from grader.report_data import normalize_message, pearson, report_data
from grader.variants import Variant, load_variants, typed_in_release

A = "01_neurons"
MUTANTS = ("mutant_mcp_gt", "mutant_sigmoid_sign", "mutant_step_bool")


def raising_relu(n: int) -> Variant:
    """An unnamed failure: no hint knows it, so the report groups it by its normalized message."""
    return Variant(f"raises_{n}", {"relu": f"def relu(z):\n    raise ValueError('limite {n} excedido')\n"})


@pytest.fixture(scope="module")
def golden(tmp_path_factory, root):
    """9 submissions graded once: the reference twice, 3 mutants, 2 unnamed failures, the
    untouched release, a truncated file."""
    folder = tmp_path_factory.mktemp("golden")
    subs = folder / "subs"
    subs.mkdir()
    variants = {v.name: v for v in load_variants(A)}

    def write(name, notebook):
        (subs / f"{name}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")

    write("ref_a", typed_in_release(A))
    write("ref_b", typed_in_release(A))
    for name in MUTANTS:
        write(name, typed_in_release(A, variants[name]))
    for n in (3, 7):
        write(f"raises_{n}", typed_in_release(A, raising_relu(n)))
    shutil.copy(root / "exercises" / A / f"{A}.ipynb", subs / "release.ipynb")
    (subs / "truncated.ipynb").write_text(json.dumps(typed_in_release(A))[:2000], encoding="utf-8")
    out = folder / "out"
    results = grade_batch(sorted(subs.iterdir()), A, out, GradeOptions(), jobs=2)
    return out, {r["extra_data"]["submission"]: r for r in results}, variants


def test_golden_summary(golden):
    out, _, _ = golden
    data = report_data(out)
    s = data.summary
    assert (s.submissions, s.graded, s.max_score) == (9, 8, 20)
    assert (s.full_marks, s.zero, s.minimum, s.maximum) == (2, 2, 0, 20)
    # 2 references (20), 4 single mistakes (19), step_bool's partial credit (19.25), release and truncated (0)
    assert sorted(data.scores) == [0, 0, 19, 19, 19, 19, 19.25, 20, 20]
    assert s.mean == pytest.approx(135.25 / 9)
    assert s.median == 19
    assert data.assignments == [A]
    assert len(data.times) == 8 and all(t > 0 for t in data.times)
    assert sum(data.isolation.values()) == 9


def test_golden_exercises(golden):
    out, results, variants = golden
    stats = {e.exercise: e for e in report_data(out).exercises}
    assert list(stats) == list(results["ref_a"]["extra_data"]["exercises"])  # the assignment's order
    # Each exercise over the 8 graded submissions: the untouched release is the one not attempted.
    for e in stats.values():
        assert e.graded == 8 and e.not_attempted_rate == 1 / 8
    untouched = [e for name, e in stats.items() if name not in ("mcp_neuron", "step", "sigmoid", "relu")]
    assert all(e.pass_rate == 7 / 8 and e.fail_rate == 0 and e.partial_rate == 0 for e in untouched)
    assert (stats["mcp_neuron"].pass_rate, stats["mcp_neuron"].fail_rate) == (6 / 8, 1 / 8)
    assert (stats["sigmoid"].pass_rate, stats["sigmoid"].fail_rate) == (6 / 8, 1 / 8)
    assert (stats["step"].pass_rate, stats["step"].partial_rate, stats["step"].fail_rate) == (6 / 8, 1 / 8, 0)
    assert stats["step"].mean_fraction == pytest.approx((6 + variants["mutant_step_bool"].score) / 8, abs=1e-3)
    assert (stats["relu"].pass_rate, stats["relu"].fail_rate) == (5 / 8, 2 / 8)
    # Discrimination is the correlation with the rest of the score, recomputed here from the results.
    graded = [r for r in results.values() if r["extra_data"]["graded"]]
    for name in ("relu", "step", "tanh"):
        mine = [r["extra_data"]["exercises"][name]["score"] for r in graded]
        rest = [r["score"] - m for r, m in zip(graded, mine)]
        assert stats[name].discrimination == pytest.approx(statistics.correlation(mine, rest))
    assert 0 < stats["relu"].discrimination < stats["tanh"].discrimination


def test_golden_mistakes(golden):
    out, _, variants = golden
    stats = {e.exercise: e for e in report_data(out).exercises}
    for name in MUTANTS:
        variant = variants[name]
        (top,) = stats[variant.breaks].mistakes
        assert (top.key, top.named, top.count, top.examples) == (variant.hint, True, 1, [name])
    (relu,) = stats["relu"].mistakes
    assert not relu.named and relu.count == 2 and relu.examples == ["raises_3", "raises_7"]
    assert "ValueError: limite # excedido" in relu.key
    assert "limite 3 excedido" in relu.feedback
    assert stats["tanh"].mistakes == []


def test_golden_attention(golden):
    out, _, _ = golden
    data = report_data(out)
    assert [(a.submission, a.kind) for a in data.attention] == [("truncated", "malformed")]
    assert "JSON" in data.attention[0].detail
    assert data.attention_counts == {"malformed": 1}


def result(name, scores, *, outcomes=None, graded=True, grader_error=False, hint=None, output="", elapsed=1.0):
    """A hand-made results.json: exercises e1, e2 (1 point each)."""
    outcomes = outcomes or {}
    tests, exercises = [], {}
    for exercise, score in scores.items():
        outcome = outcomes.get(exercise, "passed" if score == 1 else "failed")
        extra = {"exercise": exercise, "outcome": outcome}
        if hint and outcome == "failed":
            extra["hint"] = hint
        tests.append(
            {
                "name": exercise,
                "score": score,
                "max_score": 1,
                "status": "passed" if score == 1 else "failed",
                "output": output,
                "extra_data": extra,
            }
        )
        status = "passed" if score == 1 else "not_attempted" if outcome == "not_attempted" else "failed"
        exercises[exercise] = {"score": score, "max_score": 1, "status": status}
    return {
        "score": sum(scores.values()),
        "max_score": 2,
        "execution_time": elapsed,
        "output": output,
        "tests": tests,
        "extra_data": {
            "assignment": "x",
            "submission": name,
            "isolation": "none",
            "exercises": exercises,
            "graded": graded,
            "grader_error": grader_error,
            "flags": [],
        },
    }


def write_results(folder: Path, *results) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, r in enumerate(results):
        (folder / f"{index}.json").write_text(json.dumps(r), encoding="utf-8")
    return folder


def test_attention_kinds_and_nested_folders(tmp_path):
    """autograde's layout (a folder per student), every kind of outcome a human must see,
    and a results file cut short; other .json-looking files are ignored."""
    folder = tmp_path / "results"
    write_results(folder / "ana", result("ana", {"e1": 0, "e2": 1}, outcomes={"e1": "timeout"}))
    write_results(
        folder / "bia",
        result(
            "bia", {"e1": 0, "e2": 0}, outcomes={"e1": "crashed", "e2": "error"}, output="MemoryError: cannot allocate"
        ),
    )
    write_results(
        folder / "caio",
        result("caio", {"e1": 0, "e2": 0}, graded=False, grader_error=True, output="Erro interno\nmais"),
    )
    write_results(folder / "davi", result("davi", {"e1": 1, "e2": 1}))
    (folder / "eva").mkdir()
    (folder / "eva" / "eva.json").write_text('{"score": 1, "tests": [', encoding="utf-8")
    (folder / "config.json").write_text("{}", encoding="utf-8")
    data = report_data(folder)
    assert data.summary.submissions == 4 and data.summary.graded == 3
    kinds = [(a.submission, a.kind, a.detail) for a in data.attention]
    assert kinds == [
        ("caio", "grader_error", "Erro interno"),
        ("ana", "timeout", "e1"),
        ("bia", "crashed", "e1"),
        ("bia", "memory", "e2"),
        ("eva", "unreadable_result", str(Path("eva") / "eva.json")),
    ]
    # A grader error says nothing about the exercises: caio is left out of their numbers.
    e1 = data.exercises[0]
    assert (e1.exercise, e1.graded, e1.pass_rate, e1.fail_rate) == ("e1", 3, 1 / 3, 2 / 3)


def test_mistakes_count_submissions_not_tests(tmp_path):
    r = result("ana", {"e1": 0, "e2": 1}, hint="off_by_one")
    r["tests"].append(dict(r["tests"][0]))  # the same mistake seen by a second test of e1
    folder = write_results(
        tmp_path,
        r,
        result("bia", {"e1": 0, "e2": 1}, hint="off_by_one"),
        result("caio", {"e1": 0, "e2": 1}, output="TypeError: got 3 'x'"),
    )
    (first, second) = report_data(folder).exercises[0].mistakes
    assert (first.key, first.count, first.examples) == ("off_by_one", 2, ["ana", "bia"])
    assert (second.key, second.named, second.count) == ("TypeError: got # '…'", False, 1)


def test_normalize_message_and_pearson():
    assert (
        normalize_message("\n  Célula 15: erro 0x7f3a em 'abc' (2.5e-3)\nsegunda") == "Célula #: erro <hex> em '…' (#)"
    )
    assert normalize_message("x" * 300, limit=10) == "x" * 10 + "…"
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1)
    assert pearson([1, 1, 1], [1, 2, 3]) is None  # no variation: no discrimination to speak of
    assert pearson([1], [1]) is None


def test_empty_folder_renders(tmp_path):
    data = report_data(tmp_path)
    assert data.summary.submissions == 0 and data.exercises == [] and data.attention == []
    assert "<html" in render_html(data, "en")


def test_page_is_self_contained_escaped_and_localized(tmp_path):
    folder = write_results(
        tmp_path / "r", result("<script>alert(1)</script>", {"e1": 0, "e2": 1}, output="<i>oops</i>")
    )
    page = write_report(folder, lang="en").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<i>oops</i>" not in page and "&lt;i&gt;oops&lt;/i&gt;" in page
    assert "Class report" in page and "Relatório da turma" not in page
    assert "data:image/svg+xml;base64," in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # nothing fetched
    assert "Relatório da turma" in render_html(report_data(folder), "pt")


@pytest.mark.parametrize("lang, label, other", [("pt", "Nota", "Score"), ("en", "Score", "Nota")])
def test_the_figures_labels_are_text_in_the_language_asked(tmp_path, lang, label, other):
    import base64
    import re

    folder = write_results(tmp_path / "r", result("ana", {"e1": 1, "e2": 0}), result("bia", {"e1": 0, "e2": 0}))
    page = render_html(report_data(folder), lang)
    svgs = [base64.b64decode(uri).decode() for uri in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page)]
    assert len(svgs) == 3  # scores, exercises, times
    texts = [re.findall(r"<text[^>]*>([^<]*)</text>", svg) for svg in svgs]
    assert label in texts[0] and other not in texts[0]


def test_report_command(tmp_path, root):
    folder = write_results(tmp_path / "r", result("ana", {"e1": 1, "e2": 0}))
    html = tmp_path / "elsewhere.html"
    run = subprocess.run(
        [sys.executable, "-m", "grader", "report", str(folder), "--html", str(html), "--lang", "en"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert html.exists() and "Class report" in html.read_text(encoding="utf-8")


def test_failed_report_is_a_warning(tmp_path, monkeypatch, capsys):
    from grader import cli, report

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_report", broken)
    assert cli.write_batch_report(tmp_path, "en") is None
    assert "disk full" in capsys.readouterr().err


@pytest.mark.parametrize("jobs, during", [(2, True), (1, False)])
def test_grade_imports_the_reports_libraries_while_other_processes_grade(tmp_path, jobs, during):
    """With grading processes, `grade` imports matplotlib and Jinja2 while it waits on them,
    from their first result on (before it, the cores are busy with the grading processes'
    torch imports, which hold up every result); grading in its own process (one job), it
    does not compete with itself."""
    (tmp_path / "s.ipynb").write_text("{}", encoding="utf-8")
    probe = (
        "import sys, time\n"
        "import grader.grading\n"
        "def imported():\n"
        "    return 'matplotlib.figure' in sys.modules and 'jinja2' in sys.modules\n"
        "def grade_batch(*args, on_result=None, **kwargs):\n"
        "    time.sleep(0.5)\n"
        "    print('before the first result:', imported())\n"
        "    if on_result:\n"
        "        on_result(args[0][0], {})\n"
        "    deadline = time.monotonic() + 30\n"
        "    while not imported() and time.monotonic() < deadline and kwargs['jobs'] > 1:\n"
        "        time.sleep(0.05)\n"
        "    print('during grading:', imported())\n"
        "    raise SystemExit(0)\n"
        "grader.grading.grade_batch = grade_batch\n"
        "from grader.cli import main\n"
        f"main(['grade', {str(tmp_path / 's.ipynb')!r}, '--assignment', {A!r}, '--jobs', '{jobs}', '--quiet',"
        f" '--out', {str(tmp_path / 'out')!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[:2] == ["before the first result: False", f"during grading: {during}"], (
        done.stdout + done.stderr
    )


def test_autograde_imports_the_reports_libraries_from_its_first_result(tmp_path):
    """`autograde` has the report's imports done while the engine grades, started at the
    engine's first result (its grading processes' torch imports are done by then)."""
    probe = (
        "import sys, time\n"
        "import grader.nbgrader_bridge\n"
        "def imported():\n"
        "    return 'matplotlib.figure' in sys.modules and 'jinja2' in sys.modules\n"
        "def autograde(*args, on_first_result=None, **kwargs):\n"
        "    time.sleep(0.5)\n"
        "    print('before the first result:', imported())\n"
        "    on_first_result()\n"
        "    deadline = time.monotonic() + 30\n"
        "    while not imported() and time.monotonic() < deadline:\n"
        "        time.sleep(0.05)\n"
        "    print('during grading:', imported())\n"
        "    raise SystemExit(0)\n"
        "grader.nbgrader_bridge.autograde = autograde\n"
        "from grader.cli import main\n"
        f"main(['autograde', {A!r}, '--course', {str(tmp_path)!r}, '--quiet'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[:2] == ["before the first result: False", "during grading: True"], (
        done.stdout + done.stderr
    )


# --------------------------------------------------------------------------- the browser

SECTIONS = ("title", "scores", "exercises", "mistakes", "attention", "time")


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.mark.skipif(
    chromium_paths() is None, reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
)
def test_page_in_headless_chromium(golden, tmp_path):
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    out, _, _ = golden
    html = write_report(out, tmp_path / "report.html")
    browser, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(html.as_uri())
        for section in SECTIONS:
            assert driver.find_element(By.ID, section).is_displayed(), section
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) == 3
        assert all(
            driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i) for i in images
        )
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1200, min(height + 100, 8000))
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    if os.environ.get("OUT"):  # for a human to look at
        shutil.copy(shot, Path(os.environ["OUT"]) / "report.png")
    print(f"screenshot: {shot}")
    image = Image.open(shot).convert("L")
    colors = image.getcolors(maxcolors=1 << 20)
    assert image.size[1] > 1500
    assert len(colors) > 50  # text, bars and charts, not a blank page
    white = max(count for count, value in colors if value >= 250) if any(v >= 250 for _, v in colors) else 0
    assert white < 0.97 * image.size[0] * image.size[1]
