"""Every assignment proven both ways: the reference gets full marks, every mutant loses
exactly its exercise's marks with the expected hint, every correct alternative gets full
marks (the variants are listed in grader/assignments/a<id>/variants.py)."""

import pytest
from variant_harness import check_variant, grade_variants

from grader.course import assignment_ids, load_assignment
from grader.variants import load_variants

ASSIGNMENTS = assignment_ids()
# At least this many mutants and correct alternatives per assignment (from the issues).
MINIMUM = {"01_neurons": (15, 8), "02_tensors": (20, 10)}
CASES = [(a, v) for a in ASSIGNMENTS for v in load_variants(a)]


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """assignment id -> its graded variants: the reference and the variants this run selected
    (`-k 01_neurons-mutant_step_gt_zero` grades that one and the reference, not all of them)."""
    cache: dict[str, dict] = {}

    def results(assignment_id):
        if assignment_id not in cache:
            folder = tmp_path_factory.mktemp(assignment_id)
            wanted = selected_variants(request.session.items, assignment_id)
            cache[assignment_id] = grade_variants(assignment_id, wanted, folder)
        return cache[assignment_id]

    return results


def selected_variants(items, assignment_id: str):
    names = set()
    for item in items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if params.get("assignment_id") == assignment_id and "variant" in params:
            names.add(params["variant"].name)
    return [v for v in load_variants(assignment_id) if v.name in names]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_reference_full_marks(graded, assignment_id):
    reference = graded(assignment_id)["reference"]
    assert reference["score"] == reference["max_score"] == load_assignment(assignment_id).max_score, [
        (t["name"], t["output"]) for t in reference["tests"] if t["status"] != "passed"
    ]


@pytest.mark.slow  # every mutant and alternative of every assignment
@pytest.mark.parametrize("assignment_id, variant", CASES, ids=[f"{a}-{v.name}" for a, v in CASES])
def test_variant(graded, assignment_id, variant):
    check_variant(graded(assignment_id), variant)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_enough_variants(assignment_id):
    variants = load_variants(assignment_id)
    mutants = [v for v in variants if v.breaks]
    alternatives = [v for v in variants if not v.breaks]
    least_mutants, least_alternatives = MINIMUM.get(assignment_id, (20, 10))
    assert len(mutants) >= least_mutants and len(alternatives) >= least_alternatives
    assert {v.breaks for v in mutants} <= set(load_assignment(assignment_id).order)


def test_checks_a_machine_cannot_run_are_listed_with_why(graded):
    """05_transfer's torchvision checks: run where torchvision is installed, otherwise listed
    in results.json's extra_data.skipped with the reason (and not scored)."""
    import importlib.util

    skipped = graded("05_transfer")["reference"]["extra_data"]["skipped"]
    if importlib.util.find_spec("torchvision") is None:
        assert len(skipped) == 3 and all("torchvision" in line for line in skipped), skipped
    else:
        assert not skipped, skipped
