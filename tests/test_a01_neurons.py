"""01_neurons proven both ways: the reference gets full marks, every mutant loses exactly
its exercise's marks with the expected hint, every correct alternative gets full marks."""

import pytest

from grader.course import load_assignment
from grader.variants import load_variants
from variant_harness import check_variant, grade_variants

ASSIGNMENT = "01_neurons"
VARIANTS = load_variants(ASSIGNMENT)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return grade_variants(ASSIGNMENT, VARIANTS, tmp_path_factory.mktemp("a01"))


def test_reference_full_marks(results):
    reference = results["reference"]
    assert reference["score"] == reference["max_score"] == load_assignment(ASSIGNMENT).max_score
    assert all(t["status"] == "passed" for t in reference["tests"])


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant(results, variant):
    check_variant(results, variant)


def test_enough_variants():
    mutants = [v for v in VARIANTS if v.breaks]
    alternatives = [v for v in VARIANTS if not v.breaks]
    assert len(mutants) >= 15 and len(alternatives) >= 8
    assert {v.breaks for v in mutants} >= {"mcp_neuron", "step", "softmax", "perceptron", "perceptron_update"}
