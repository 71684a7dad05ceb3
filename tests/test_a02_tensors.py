"""02_tensors proven both ways: the reference gets full marks, every mutant loses exactly
its exercise's marks with the expected hint, every correct alternative gets full marks."""

import pytest

from grader.course import load_assignment
from grader.variants import load_variants
from variant_harness import check_variant, grade_variants

ASSIGNMENT = "02_tensors"
VARIANTS = load_variants(ASSIGNMENT)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return grade_variants(ASSIGNMENT, VARIANTS, tmp_path_factory.mktemp("a02"))


def test_reference_full_marks(results):
    reference = results["reference"]
    assert reference["score"] == reference["max_score"] == load_assignment(ASSIGNMENT).max_score, [
        (t["name"], t["output"]) for t in reference["tests"] if t["status"] != "passed"]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant(results, variant):
    check_variant(results, variant)


def test_enough_variants():
    mutants = [v for v in VARIANTS if v.breaks]
    alternatives = [v for v in VARIANTS if not v.breaks]
    assert len(mutants) >= 20 and len(alternatives) >= 10
