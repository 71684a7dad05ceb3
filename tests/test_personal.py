"""Per-student exercise variants (grader.personal): seeds, graders, release with a roster, flags."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import personal
from grader.course import load_assignment, read_notebook
from grader.kit.local import InProcessStudent
from grader.plugin import GradingPlugin, run_pytest
from grader.variants import typed_in_release

A = "01_neurons"
EXERCISE = "AT_LEAST_K_THRESHOLD"
SECRET = personal.Settings(secret=b"course secret for the tests")
ROSTER = [f"aluno{i:02d}@exemplo.br" for i in range(40)]


def every_variant() -> list[dict]:
    return [{"N_ENTRADAS": n, "K": k} for n in range(3, 8) for k in range(2, n)]


# --------------------------------------------------------------------------- seeds


def test_the_same_student_always_gets_the_same_numbers_and_students_differ():
    first = {s: personal.params_for(A, s, SECRET) for s in ROSTER}
    again = {s: personal.params_for(A, s, personal.Settings(secret=b"course secret for the tests")) for s in ROSTER}
    assert first == again
    for exercise in personal.declared(A):  # every exercise that declares numbers varies
        drawn = {json.dumps(first[s][exercise], sort_keys=True) for s in ROSTER}
        assert len(drawn) >= 8, drawn
    assert first["aluno00@exemplo.br"] != first["aluno01@exemplo.br"]
    assert all(first[s][EXERCISE] in every_variant() for s in ROSTER)  # the draw keeps to the exercise's range


def test_numbers_depend_on_the_secret_and_default_without_one():
    other = personal.Settings(secret=b"another course")
    assert [personal.params_for(A, s, SECRET) for s in ROSTER] != [personal.params_for(A, s, other) for s in ROSTER]
    assert personal.params_for(A, "aluno00@exemplo.br", personal.Settings()) == personal.defaults(A)
    assert personal.params_for(A, None, SECRET) == {EXERCISE: {"N_ENTRADAS": 3, "K": 2}}
    assert personal.params_for("03_training", "aluno00@exemplo.br", SECRET) == {}  # declares none


def test_at_most_k_versions_each_the_same_numbers_for_everyone_who_has_it():
    config = personal.Settings(secret=SECRET.secret, versions=3)
    by_version: dict[int, set[str]] = {}
    for student in ROSTER:
        version = personal.version_of(config, A, EXERCISE, student)
        assert version in (1, 2, 3)
        numbers = json.dumps(personal.params_for(A, student, config)[EXERCISE], sort_keys=True)
        by_version.setdefault(version, set()).add(numbers)
    assert sorted(by_version) == [1, 2, 3] and all(len(n) == 1 for n in by_version.values())


def test_the_secret_from_the_environment_or_the_file_nbgrader_config_names(tmp_path, monkeypatch):
    monkeypatch.delenv(personal.SECRET_ENV, raising=False)
    monkeypatch.delenv(personal.VERSIONS_ENV, raising=False)
    secret_file = tmp_path / "outside-the-course" / "secret"
    secret_file.parent.mkdir()
    secret_file.write_text("from the file\n", encoding="utf-8")
    plain, course = tmp_path / "plain", tmp_path / "course"
    plain.mkdir()
    course.mkdir()
    assert personal.settings(plain) == personal.Settings()
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Personal.secret_file = {str(secret_file)!r}\nc.Personal.versions = 4\n", encoding="utf-8"
    )
    assert personal.settings(course) == personal.Settings(b"from the file", 4)
    monkeypatch.setenv(personal.SECRET_ENV, "from the environment")
    assert personal.settings(course).secret == b"from the environment"


@pytest.mark.parametrize(
    "lines, literal",
    [
        # as the README shows: read without running the file
        ("c.Personal.secret_file = {file!r}", True),
        # computed, or set another way: the file runs, as nbgrader runs it
        ("import os\nc.Personal.secret_file = os.path.join({folder!r}, 'secret')", False),
        ("from traitlets.config import Config\nc.Personal = Config(secret_file={file!r})", False),
        ("if True:\n    c.Personal.secret_file = {file!r}", False),
    ],
)
def test_nbgrader_config_read_without_importing_nbgrader_where_it_can(tmp_path, lines, literal):
    """Every grading process reads c.Personal; running nbgrader_config.py imports nbgrader (about
    1 s of a core), so a literal setting is read from the file's syntax, anything else by running it."""
    secret_file = tmp_path / "keys" / "secret"
    secret_file.parent.mkdir()
    secret_file.write_text("s3cret\n", encoding="utf-8")
    course = tmp_path / "course"
    course.mkdir()
    body = lines.format(file=str(secret_file), folder=str(secret_file.parent))
    course_settings = "from grader.nbgrader_bridge import configure\nc = get_config()\nconfigure(c)"  # as ours
    (course / "nbgrader_config.py").write_text(f"{course_settings}\n{body}\nc.Personal.versions = 3\n")
    probe = (
        "import sys; from pathlib import Path; from grader import personal\n"
        f"s = personal.settings(Path({str(course)!r}))\n"
        "print(s.secret.decode(), s.versions, 'nbgrader' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in (personal.SECRET_ENV, personal.VERSIONS_ENV)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["s3cret", "3", str(not literal)]


def test_student_code_never_sees_the_secret(monkeypatch):
    from grader.engine.launcher import _worker_env

    monkeypatch.setenv(personal.SECRET_ENV, "do not leak")
    assert personal.SECRET_ENV not in _worker_env()


def test_student_ids_from_paths_and_gradescope(tmp_path):
    assert personal.student_from_path(Path("subs/alice.ipynb"), A) == "alice"
    assert personal.student_from_path(Path("subs/alice/01_neurons.ipynb"), A) == "alice"
    # nbgrader's layout, as `autograde` grades it (a renamed notebook too)
    assert personal.student_from_path(Path("submitted/alice/01_neurons/01_neurons.ipynb"), A) == "alice"
    assert personal.student_from_path(Path("submitted/bob/01_neurons/01_neurons-Copy1.ipynb"), A) == "bob"
    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"users": [{"email": "a@x.br", "sid": "123"}]}), encoding="utf-8")
    assert personal.student_from_gradescope(metadata) == "123"
    assert personal.student_from_gradescope(tmp_path / "missing.json") is None


# --------------------------------------------------------------------------- graders


def grade_in_process(namespace: dict, params: dict, exercise: str = EXERCISE) -> list:
    """The exercise's public and hidden graders on a namespace (trusted code: the reference
    and known answers), with `params` as the student's numbers."""
    assignment = load_assignment(A)
    plugin = GradingPlugin(
        lambda: InProcessStudent(namespace).start(), assignment.order, only=exercise, params={exercise: params}
    )
    folder = Path(__file__).resolve().parent.parent / "grader" / "assignments" / "a01_neurons"
    run_pytest(plugin, [str(folder / "test_public.py"), str(folder / "test_hidden.py")])
    assert plugin.records
    return plugin.records


def answered(reference: str, params: dict) -> dict:
    """A notebook's namespace: the parameter cell with `params`, then the answer."""
    namespace = dict(params)
    exec(reference, namespace)
    return namespace


@pytest.mark.parametrize("params", every_variant(), ids=lambda p: f"{p['K']}of{p['N_ENTRADAS']}")
def test_the_reference_gets_full_marks_on_every_variant_and_a_fixed_number_does_not(params):
    reference = load_assignment(A).exercise(EXERCISE).reference
    assert all(r.outcome == "passed" for r in grade_in_process(answered(reference, params), params))
    # the right answer for the numbers of another student (a copied notebook): loses the exercise
    other = {**params, "K": params["K"] % (params["N_ENTRADAS"] - 1) + 1}
    failed = grade_in_process(answered(reference, other), params)
    assert failed and all(r.outcome == "failed" for r in failed)
    assert {r.hint for r in failed} == {"at_least_k_too_low" if other["K"] < params["K"] else "at_least_k_too_high"}


# ------------------------------------------------- every exercise with per-student numbers

# (assignment, exercise, the values each number may take)
DECLARED = [
    (A, EXERCISE, {"N_ENTRADAS": range(3, 8), "K": range(2, 7)}),
    ("02_tensors", "DENSE_IMAGE_GB", {"LADO": range(96, 513), "BYTES_POR_PESO": (2, 4, 8)}),
    (
        "04_cnn",
        "CONV_OUTPUT_SHAPE",
        {
            "LADO": range(28, 225),
            "FILTROS": range(8, 65),
            "KERNEL": (3, 5, 7),
            "STRIDE": (1, 2, 3),
            "PADDING": (0, 1, 2, 3),
        },
    ),
]
DECLARED_IDS = [e for _, e, _ in DECLARED]


def test_every_declared_exercise_is_tested_here():
    from grader.course import assignment_ids

    declared = [(a, e) for a in assignment_ids() for e in personal.declared(a)]
    assert declared == [(a, e) for a, e, _ in DECLARED]


@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_each_exercise_gives_students_their_own_numbers(assignment_id, exercise, ranges):
    first = {s: personal.params_for(assignment_id, s, SECRET)[exercise] for s in ROSTER}
    again = {
        s: personal.params_for(assignment_id, s, personal.Settings(secret=SECRET.secret))[exercise] for s in ROSTER
    }
    assert first == again  # the same student, the same numbers
    assert first[ROSTER[0]] != first[ROSTER[1]]  # two students, two sets of numbers
    assert len({json.dumps(p, sort_keys=True) for p in first.values()}) >= 8  # 01 has 15 gates in all
    for params in first.values():
        assert set(params) == set(ranges) and all(params[k] in ranges[k] for k in ranges), params
    default = personal.declared(assignment_id)[exercise].default
    assert personal.params_for(assignment_id, ROSTER[0], personal.Settings())[exercise] == default


def grade_exercise(assignment_id: str, exercise: str, namespace: dict, params: dict) -> list:
    """The exercise's public and hidden graders on a namespace (trusted code: the reference
    and known answers), with `params` as the student's numbers."""
    from grader.course import module_name

    assignment = load_assignment(assignment_id)
    plugin = GradingPlugin(
        lambda: InProcessStudent(namespace).start(), assignment.order, only=exercise, params={exercise: params}
    )
    folder = Path(__file__).resolve().parent.parent / Path(*module_name(assignment_id).split("."))
    run_pytest(plugin, [str(folder / "test_public.py"), str(folder / "test_hidden.py")])
    assert {r.nodeid.split("::")[0].rsplit("/", 1)[-1] for r in plugin.records} == {"test_public.py", "test_hidden.py"}
    return plugin.records


def the_answer(assignment_id: str, exercise: str, params: dict):
    """The reference's answer with these numbers (what a notebook holds after Run All)."""
    namespace = answered(load_assignment(assignment_id).exercise(exercise).reference, params)
    return namespace[exercise]


@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_the_reference_gets_full_marks_for_every_student_and_someone_elses_answer_does_not(
    assignment_id, exercise, ranges
):
    reference = load_assignment(assignment_id).exercise(exercise).reference
    students = ROSTER[:6]
    own = {s: personal.params_for(assignment_id, s, SECRET)[exercise] for s in students}
    for student in students:
        records = grade_exercise(assignment_id, exercise, answered(reference, own[student]), own[student])
        assert all(r.outcome == "passed" for r in records), [(r.nodeid, r.hint) for r in records]
    # a copied notebook: the neighbour's numbers and the right answer for them
    copied = 0
    for student, neighbour in zip(students, students[1:] + students[:1]):
        if the_answer(assignment_id, exercise, own[neighbour]) == the_answer(assignment_id, exercise, own[student]):
            continue  # two layers (or gates) that happen to share their answer: nothing to tell apart
        records = grade_exercise(assignment_id, exercise, answered(reference, own[neighbour]), own[student])
        assert records and all(r.outcome == "failed" for r in records), [(r.nodeid, r.hint) for r in records]
        copied += 1
    assert copied >= 3


@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_a_number_written_for_the_default_loses_the_marks_of_a_student_with_other_numbers(
    assignment_id, exercise, ranges
):
    default = personal.declared(assignment_id)[exercise].default
    fixed = {exercise: the_answer(assignment_id, exercise, default)}  # `AT_LEAST_K_THRESHOLD = 2`, no K
    assert all(r.outcome == "passed" for r in grade_exercise(assignment_id, exercise, dict(fixed), default))
    others = [p for s in ROSTER if (p := personal.params_for(assignment_id, s, SECRET)[exercise]) != default]
    other = next(p for p in others if the_answer(assignment_id, exercise, p) != fixed[exercise])
    records = grade_exercise(assignment_id, exercise, dict(fixed), other)
    assert records and all(r.outcome == "failed" for r in records)


# --------------------------------------------------------------------------- notebooks


@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_render_fills_the_numbers_in_and_flags_only_someone_elses(assignment_id, exercise, ranges):
    release = read_notebook(
        Path(__file__).resolve().parent.parent / "exercises" / assignment_id / f"{assignment_id}.ipynb"
    )
    alice, bob = "aluno00@exemplo.br", "aluno01@exemplo.br"
    own = personal.params_for(assignment_id, alice, SECRET)
    notebook = personal.render(release, assignment_id, alice, own, personal.versions_for(assignment_id, alice, SECRET))
    text = json.dumps(notebook, ensure_ascii=False)
    for name, value in own[exercise].items():  # the statement and the parameter cell
        assert f"`{name}` = `{value}`<!--{name}-->" in text
    assert personal.notebook_values(notebook, set(ranges)) == own[exercise]
    assert personal.from_metadata(assignment_id, notebook) == own
    assert personal.mismatch_flags(notebook, alice, own) == []
    flags = personal.mismatch_flags(notebook, bob, personal.params_for(assignment_id, bob, SECRET))
    assert {f.code for f in flags} == {"other_student", "other_params"} and all(f.review for f in flags)
    # the numbers typed into one's own notebook are compared too
    name, value = next(iter(own[exercise].items()))
    edited = json.loads(text.replace(f'"{name} = {value}', f'"{name} = {value + 1}'))
    assert [f.code for f in personal.mismatch_flags(edited, alice, own)] == ["other_params"]


@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_a_release_with_a_roster_holds_no_secret_and_no_one_elses_numbers(
    root, tmp_path, monkeypatch, assignment_id, exercise, ranges
):
    from grader.cli import main

    roster = tmp_path / "roster.csv"
    roster.write_text("name,student\nAlice,aluno00@exemplo.br\nBob,aluno01@exemplo.br\n", encoding="utf-8")
    monkeypatch.setenv(personal.SECRET_ENV, SECRET.secret.decode())
    monkeypatch.setenv(personal.VERSIONS_ENV, "4")
    config = personal.settings(root)
    out = tmp_path / "dist"
    assert main(["release", assignment_id, "--out", str(out), "--roster", str(roster)]) == 0
    students = sorted(p.name for p in (out / f"{assignment_id}-students").iterdir())
    assert students == ["aluno00@exemplo.br", "aluno01@exemplo.br"]
    for student in students:
        files = list((out / f"{assignment_id}-students" / student).rglob("*"))
        assert [f.name for f in files] == [f"{assignment_id}.ipynb"]
        text = files[0].read_text(encoding="utf-8")
        assert SECRET.secret.decode() not in text
        assert not any(other in text for other in students if other != student)
        recorded = json.loads(text)["metadata"]["grader"]["personal"]
        assert recorded["params"] == personal.params_for(assignment_id, student, config)
        assert recorded["versions"] == personal.versions_for(assignment_id, student, config)
    for path in (out / assignment_id).rglob("*"):  # the shared bundle: no secret, no student
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md"):
            assert SECRET.secret.decode() not in path.read_text(encoding="utf-8")
    with open(out / f"{assignment_id}-variants.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [(r["student"], r["exercise"]) for r in table] == [(s, exercise) for s in students]
    assert all(
        json.loads(r["params"]) == personal.params_for(assignment_id, r["student"], config)[exercise] for r in table
    )


@pytest.mark.slow  # two submissions graded end to end, for each assignment
@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_a_copied_notebook_is_flagged_and_graded_with_its_students_numbers(
    root, tmp_path, monkeypatch, assignment_id, exercise, ranges
):
    from grader.grading import GradeOptions, grade_submission
    from grader.results import gradebook_rows

    monkeypatch.setenv(personal.SECRET_ENV, SECRET.secret.decode())
    monkeypatch.delenv(personal.VERSIONS_ENV, raising=False)
    own = {s: personal.params_for(assignment_id, s, SECRET) for s in ROSTER}
    alice = ROSTER[0]
    # bob: the first student whose right answer differs from alice's (a copy that cannot pass)
    bob = next(
        s
        for s in ROSTER
        if the_answer(assignment_id, exercise, own[s][exercise])
        != the_answer(assignment_id, exercise, own[alice][exercise])
    )
    release = typed_in_release(assignment_id)
    notebook = personal.render(
        release, assignment_id, alice, own[alice], personal.versions_for(assignment_id, alice, SECRET)
    )
    (tmp_path / alice).mkdir()
    (tmp_path / alice / f"{assignment_id}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (tmp_path / bob).mkdir()
    shutil.copy(
        tmp_path / alice / f"{assignment_id}.ipynb", tmp_path / bob / f"{assignment_id}.ipynb"
    )  # bob hands in alice's

    assignment = load_assignment(assignment_id)
    results = {
        s: grade_submission(tmp_path / s / f"{assignment_id}.ipynb", assignment, GradeOptions(), s)
        for s in (alice, bob)
    }
    assert results[alice]["score"] == assignment.max_score
    assert not results[alice]["extra_data"]["flags"]
    copied = results[bob]["extra_data"]
    assert results[bob]["score"] == assignment.max_score - assignment.exercise(exercise).points
    assert copied["exercises"][exercise]["status"] != "passed"
    assert {f["code"] for f in copied["flags"]} >= {"other_student", "other_params"} and copied["needs_review"]
    rows = gradebook_rows(assignment, [results[alice], results[bob]])
    assert rows[0][-1] == "flags" and rows[1][-1] == "" and "other_params" in rows[2][-1]


@pytest.mark.parametrize("assignment_id, exercise, ranges", DECLARED, ids=DECLARED_IDS)
def test_self_checks_in_the_notebook_use_its_own_numbers(assignment_id, exercise, ranges):
    from grader.kit.local import run_public_checks

    def outcome(namespace: dict) -> str:
        result = run_public_checks(assignment_id, namespace, only=exercise)
        return result["extra_data"]["exercises"][exercise]["status"]

    reference = load_assignment(assignment_id).exercise(exercise).reference
    default = personal.declared(assignment_id)[exercise].default
    fixed = {exercise: the_answer(assignment_id, exercise, default)}  # right only for the default numbers
    mine = next(
        p
        for s in ROSTER
        if the_answer(assignment_id, exercise, p := personal.params_for(assignment_id, s, SECRET)[exercise])
        != fixed[exercise]
    )
    assert outcome(answered(reference, mine)) == "passed"
    assert outcome({**mine, **fixed}) != "passed"
    assert outcome(dict(fixed)) == "passed"  # no parameter cell run: the defaults


def test_without_the_secret_a_personal_notebook_is_flagged_and_its_own_checks_use_its_metadata(monkeypatch):
    from grader.grading import personal_variant
    from grader.notebook import Submission

    alice = "aluno03@exemplo.br"
    own = personal.params_for(A, alice, SECRET)
    notebook = personal.render(typed_in_release(A), A, alice, own, {})
    submission = Submission(Path("alice.ipynb"), [], notebook=notebook)
    assert personal_variant(load_assignment(A), submission, None, self_check=True) == (own, [])
    monkeypatch.delenv(personal.SECRET_ENV, raising=False)
    params, flags = personal_variant(load_assignment(A), submission, None)
    assert params == personal.defaults(A) and [f.code for f in flags] == ["no_secret"]


def test_an_export_carries_the_secret_owner_only_and_the_container_uses_it(root, tmp_path, monkeypatch):
    import os
    import stat

    from grader import export
    from grader.platforms import SECRET_NAME, use_payload_secret

    monkeypatch.setattr(export, "build_wheel", lambda root, folder: None)  # the wheel is not what this checks
    monkeypatch.setenv(personal.SECRET_ENV, "exported secret")
    monkeypatch.setenv(personal.VERSIONS_ENV, "3")
    for assignment_id in (A, "03_training"):  # 03 declares no per-student numbers: no secret travels
        export.write_payload(
            assignment_id, tmp_path / assignment_id, lang="pt", sandbox="auto", visibility="visible", limits={}
        )
    assert not (tmp_path / "03_training" / SECRET_NAME).exists()
    secret = tmp_path / A / SECRET_NAME
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    config = json.loads((tmp_path / A / "grader_export.json").read_text(encoding="utf-8"))
    assert config["versions"] == 3 and "exported secret" not in json.dumps(config)
    monkeypatch.delenv(personal.SECRET_ENV)
    monkeypatch.delenv(personal.VERSIONS_ENV)
    use_payload_secret(tmp_path / A, config)
    assert os.environ[personal.SECRET_ENV] == "exported secret" and os.environ[personal.VERSIONS_ENV] == "3"


def test_hidden_inputs_still_come_from_the_graders_own_seeds():
    class Recorder:
        """A stand-in student that records the seed each grader hands it."""

        def __init__(self, seeds: list) -> None:
            self.seeds = seeds

        def set_exercise(self, exercise, seed):
            self.seeds.append((exercise, seed))

        def get(self, name):
            return 2

    def seeds(params: dict) -> list:
        recorded: list = []
        assignment = load_assignment(A)
        plugin = GradingPlugin(lambda: Recorder(recorded), assignment.order, params={EXERCISE: params})
        folder = Path(__file__).resolve().parent.parent / "grader" / "assignments" / "a01_neurons"
        run_pytest(plugin, [str(folder / "test_hidden.py")])
        return recorded

    first = seeds({"N_ENTRADAS": 3, "K": 2})
    assert first and first == seeds({"N_ENTRADAS": 7, "K": 5})
