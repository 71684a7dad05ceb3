"""Public checks for 01_neurons: the examples a student can see and run (`verificar`).

They use only inputs shown in the notebook; the hidden graders check the rest.
"""

import pytest
import torch

from grader import checks
from grader.assignments.a01_neurons import MISTAKES

TABLE = [(0, 0), (0, 1), (1, 0), (1, 1)]
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0], "XOR": [0, 1, 1, 0]}


@pytest.mark.exercise("mcp_neuron")
def test_mcp_neuron_examples(student):
    """exemplos do enunciado
    en: examples from the exercise statement
    """
    fired = checks.number(student.call("mcp_neuron", [1, 1], 2), "mcp_neuron([1, 1], 2)")
    checks.expect(fired == 1, MISTAKES["gt_instead_of_ge"], "gt_instead_of_ge")
    quiet = checks.number(student.call("mcp_neuron", [1, 0], 2), "mcp_neuron([1, 0], 2)")
    checks.expect(quiet == 0, MISTAKES["mcp_wrong"], "mcp_wrong")


def gate_check(student, name, gate, fires):
    threshold = checks.number(student.get(name), name)
    got = [int(fires(x1 + x2, threshold)) for x1, x2 in TABLE]
    for row, (g, e) in enumerate(zip(got, GATES[gate])):
        if g != e:
            raise checks.Mistake(MISTAKES["gate_row"], "gate_row", row=TABLE[row], got=g, expected=e)


@pytest.mark.exercise("AND_THRESHOLD")
def test_and_threshold_table(student):
    """tabela verdade do AND
    en: AND truth table
    """
    gate_check(student, "AND_THRESHOLD", "AND", lambda s, t: s >= t)


@pytest.mark.exercise("OR_THRESHOLD")
def test_or_threshold_table(student):
    """tabela verdade do OR
    en: OR truth table
    """
    gate_check(student, "OR_THRESHOLD", "OR", lambda s, t: s >= t)


def at_least_k_check(student, params: dict, sums) -> None:
    """The student's threshold fires for every sum in `sums` that is >= K, and for no other;
    K is the student's own (the `params` fixture), never the notebook's."""
    t = checks.number(student.get("AT_LEAST_K_THRESHOLD"), "AT_LEAST_K_THRESHOLD")
    k = int(params["K"])
    for total in sums:
        fires = total >= t
        if fires and total < k:
            raise checks.Mistake(MISTAKES["at_least_k_too_low"], "at_least_k_too_low", fewer=k - 1, k=k)
        if not fires and total >= k:
            raise checks.Mistake(MISTAKES["at_least_k_too_high"], "at_least_k_too_high", k=k)


@pytest.mark.exercise("AT_LEAST_K_THRESHOLD")
def test_at_least_k_boundary(student, params):
    """pelo menos K de N_ENTRADAS: K − 1 entradas não disparam, K disparam
    en: at least K of N_ENTRADAS: K − 1 active inputs do not fire, K do
    """
    at_least_k_check(student, params, [int(params["K"]) - 1, int(params["K"])])


@pytest.mark.exercise("step")
def test_step_example(student):
    """step([-1, 0, 2]) == [0, 1, 1]
    en: step([-1, 0, 2]) == [0, 1, 1]
    """
    got = checks.tensor(student.call("step", torch.tensor([-1.0, 0.0, 2.0])), "step([-1., 0., 2.])")
    checks.close(
        got, torch.tensor([0.0, 1.0, 1.0]), "step([-1., 0., 2.])", hint=MISTAKES["step_at_zero"], key="step_at_zero"
    )


@pytest.mark.exercise("sigmoid")
def test_sigmoid_example(student):
    """sigmoid(0) == 0.5
    en: sigmoid(0) == 0.5
    """
    got = checks.tensor(student.call("sigmoid", torch.tensor([0.0, 2.0])), "sigmoid([0., 2.])")
    checks.close(
        got,
        torch.sigmoid(torch.tensor([0.0, 2.0])),
        "sigmoid([0., 2.])",
        hint=MISTAKES["sigmoid_sign"],
        key="sigmoid_sign",
    )


@pytest.mark.exercise("tanh")
def test_tanh_example(student):
    """tanh(0) == 0
    en: tanh(0) == 0
    """
    z = torch.tensor([0.0, 1.0])
    checks.close(checks.tensor(student.call("tanh", z), "tanh([0., 1.])"), torch.tanh(z), "tanh([0., 1.])")


@pytest.mark.exercise("relu")
def test_relu_example(student):
    """relu([-1, 0, 2]) == [0, 0, 2]
    en: relu([-1, 0, 2]) == [0, 0, 2]
    """
    z = torch.tensor([-1.0, 0.0, 2.0])
    checks.close(checks.tensor(student.call("relu", z), "relu([-1., 0., 2.])"), torch.relu(z), "relu([-1., 0., 2.])")


@pytest.mark.exercise("softmax")
def test_softmax_example(student):
    """softmax([1, 2, 3]) soma 1
    en: softmax([1, 2, 3]) sums to 1
    """
    z = torch.tensor([1.0, 2.0, 3.0])
    got = checks.tensor(student.call("softmax", z), "softmax([1., 2., 3.])")
    checks.close(got, torch.softmax(z, dim=-1), "softmax([1., 2., 3.])")


@pytest.mark.exercise("perceptron")
def test_perceptron_example(student):
    """perceptron de uma amostra devolve um tensor 0-D
    en: perceptron on one sample returns a 0-D tensor
    """
    x, w = torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0])
    got = checks.tensor(student.call("perceptron", x, w, -1.5), "perceptron(x, w, b)")
    checks.close(
        got,
        torch.tensor(1.0),
        "perceptron([1., 1.], [1., 1.], -1.5)",
        hint=MISTAKES["perceptron_shape"],
        key="perceptron_shape",
    )


def weights_check(student, name, gate):
    value = student.get(name)
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise checks.Mistake(MISTAKES["gate_format"], "gate_format", type=checks.describe_type(value))
    w1, w2, b = (checks.number(v, name) for v in value)
    for row, (x1, x2) in enumerate(TABLE):
        got = int(w1 * x1 + w2 * x2 + b >= 0)
        if got != GATES[gate][row]:
            raise checks.Mistake(MISTAKES["gate_row"], "gate_row", row=(x1, x2), got=got, expected=GATES[gate][row])


@pytest.mark.exercise("AND_WEIGHTS")
def test_and_weights_table(student):
    """tabela verdade do AND
    en: AND truth table
    """
    weights_check(student, "AND_WEIGHTS", "AND")


@pytest.mark.exercise("OR_WEIGHTS")
def test_or_weights_table(student):
    """tabela verdade do OR
    en: OR truth table
    """
    weights_check(student, "OR_WEIGHTS", "OR")


@pytest.mark.exercise("NAND_WEIGHTS")
def test_nand_weights_table(student):
    """tabela verdade do NAND
    en: NAND truth table
    """
    weights_check(student, "NAND_WEIGHTS", "NAND")


@pytest.mark.exercise("XOR_WEIGHTS")
def test_xor_weights_is_a_dict(student):
    """XOR_WEIGHTS tem W1, b1, w2 e b2
    en: XOR_WEIGHTS has W1, b1, w2 and b2
    """
    value = student.get("XOR_WEIGHTS")
    if not isinstance(value, dict) or not {"W1", "b1", "w2", "b2"} <= set(value):
        raise checks.Mistake(MISTAKES["xor_format"], "xor_format", detail=checks.describe_type(value))


@pytest.mark.exercise("perceptron_update")
def test_perceptron_update_example(student):
    """um passo da regra de Rosenblatt
    en: one step of Rosenblatt's rule
    """
    w, x = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 1.0])
    result = student.call("perceptron_update", w, 0.0, x, 0.0, 1.0)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise checks.Mistake(MISTAKES["update_format"], "update_format")
    checks.close(
        checks.tensor(result[0], "w"),
        torch.tensor([-1.0, -1.0]),
        "w novo",
        hint=MISTAKES["update_wrong"],
        key="update_wrong",
    )
    checks.expect(checks.number(result[1], "b novo") == -1.0, MISTAKES["update_wrong"], "update_wrong")


@pytest.mark.exercise("train_perceptron")
def test_train_perceptron_learns_and(student):
    """aprende o AND
    en: learns AND
    """
    X = torch.tensor(TABLE, dtype=torch.float32)
    y = torch.tensor(GATES["AND"], dtype=torch.float32)
    result = student.call("train_perceptron", X, y)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise checks.Mistake(MISTAKES["update_format"], "update_format")
    w = checks.tensor(result[0], "w").double()
    b = checks.number(result[1], "b")
    predictions = (X.double() @ w + b >= 0).double()
    errors = int((predictions != y.double()).sum())
    if errors:
        raise checks.Mistake(MISTAKES["train_misclassifies"], "train_misclassifies", errors=errors, total=4)
