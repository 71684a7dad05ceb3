"""`python -m grader demo`, the README's first command: the examples it grades, and a run."""

import csv

import pytest

from grader.course import assignment_ids, load_assignment
from grader.demo import build_examples, run_demo
from grader.variants import load_variants


@pytest.mark.parametrize("assignment_id", assignment_ids())
def test_the_examples_are_the_reference_the_demo_mutants_a_blank_and_a_broken_file(assignment_id, tmp_path):
    paths = build_examples(assignment_id, tmp_path / "examples")
    mutants = [v.name for v in load_variants(assignment_id) if v.demo]
    assert [p.stem for p in paths] == ["referencia", *mutants, "nao_tentado", "corrompido"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_a_demo_run_prints_and_writes_the_gradebook(tmp_path, capsys):
    assert run_demo(tmp_path, lang="en", jobs=1, assignments=["01_neurons"]) == 0
    table = capsys.readouterr().out
    assert "== 01_neurons ==" in table and "referencia" in table
    with open(tmp_path / "01_neurons" / "results" / "gradebook.csv", newline="", encoding="utf-8") as handle:
        totals = {row["submission"]: float(row["total"]) for row in csv.DictReader(handle)}
    assert totals["referencia"] == load_assignment("01_neurons").max_score
    assert totals["nao_tentado"] == totals["corrompido"] == 0
    assert all(0 < totals[v.name] < totals["referencia"] for v in load_variants("01_neurons") if v.demo)
