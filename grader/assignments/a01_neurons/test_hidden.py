"""Hidden graders for 01_neurons (never released to students).

Inputs come from fixed generators, so every run sees the same hidden cases; the
feedback names the mistake without showing them.
"""

import pytest
import torch

from grader import checks
from grader.assignments.a01_neurons import MISTAKES
from grader.assignments.a01_neurons.test_public import TABLE, at_least_k_check, weights_check
from grader.checks import Mistake
from grader.engine.session import StudentTimeout

XOR = [0, 1, 1, 0]
FLOATS = [torch.float32, torch.float64]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_z(seed: int, shape: tuple, dtype: torch.dtype, scale: float = 3.0) -> torch.Tensor:
    """Random values with exact zeros and integers mixed in (the step's edge case)."""
    z = torch.randn(shape, generator=gen(seed), dtype=torch.float64) * scale
    if z.numel() >= 4:
        flat = z.view(-1)
        flat[::4] = 0.0
        flat[1::5] = torch.round(flat[1::5])
    return z.to(dtype)


def unchanged(before: torch.Tensor, after) -> None:
    checks.expect(
        isinstance(after, torch.Tensor) and torch.equal(before.cpu(), after.cpu()),
        MISTAKES["modifies_input"],
        "modifies_input",
    )


# ----------------------------------------------------------------------- McCulloch-Pitts


def mcp_cases():
    g = gen(1)
    cases = []
    for n in range(1, 7):
        for _ in range(3):
            bits = torch.randint(0, 2, (n,), generator=g).tolist()
            total = sum(bits)
            # thresholds on both sides of the sum, and exactly at it (where > and >= differ)
            for t in (total, total + 1, total - 0.5, total + 0.5, max(total - 1, 0)):
                cases.append((bits, t))
    return cases


@pytest.mark.exercise("mcp_neuron")
@pytest.mark.parametrize("container", ["list", "tuple", "tensor"])
def test_mcp_neuron_behaviour(student, device, container):
    """dispara exatamente quando soma >= limiar
    en: fires exactly when sum >= threshold
    """
    at_threshold_wrong = other_wrong = 0
    cases = mcp_cases()
    make = {"list": list, "tuple": tuple, "tensor": torch.tensor}[container]
    answers = student.call_many("mcp_neuron", [(make(bits), t) for bits, t in cases], device=device)
    for (bits, t), answer in zip(cases, answers):
        got = checks.number(answer, "mcp_neuron")
        expected = 1 if sum(bits) >= t else 0
        if got != expected:
            if sum(bits) == t and got == 0:
                at_threshold_wrong += 1
            else:
                other_wrong += 1
    if at_threshold_wrong and not other_wrong:
        raise Mistake(MISTAKES["gt_instead_of_ge"], "gt_instead_of_ge")
    checks.expect(not (at_threshold_wrong or other_wrong), MISTAKES["mcp_wrong"], "mcp_wrong")


@pytest.mark.exercise("AND_THRESHOLD")
def test_and_threshold_range(student):
    """limiar de AND em (1, 2]
    en: AND threshold in (1, 2]
    """
    t = checks.number(student.get("AND_THRESHOLD"), "AND_THRESHOLD")
    checks.expect(t > 1, MISTAKES["and_threshold_is_or"], "and_threshold_is_or")
    checks.expect(t <= 2, MISTAKES["and_threshold_too_high"], "and_threshold_too_high")


@pytest.mark.exercise("OR_THRESHOLD")
def test_or_threshold_range(student):
    """limiar de OR em (0, 1]
    en: OR threshold in (0, 1]
    """
    t = checks.number(student.get("OR_THRESHOLD"), "OR_THRESHOLD")
    checks.expect(t > 0, MISTAKES["or_threshold_too_low"], "or_threshold_too_low")
    checks.expect(t <= 1, MISTAKES["or_threshold_is_and"], "or_threshold_is_and")


@pytest.mark.exercise("AT_LEAST_K_THRESHOLD")
def test_at_least_k_every_input(student, params):
    """pelo menos K de N_ENTRADAS, em todas as combinações de entradas
    en: at least K of N_ENTRADAS, on every combination of inputs
    """
    n = int(params["N_ENTRADAS"])
    sums = [bin(row).count("1") for row in range(2**n)]  # each of the 2^n input rows, by its sum
    at_least_k_check(student, params, sums)


# ----------------------------------------------------------------------- activations

SHAPES = [(7,), (4, 5), (2, 3, 4), ()]  # multi-element first: the mistake probes need them


@pytest.mark.exercise("step")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_step_values(student, device, dtype):
    """degrau elemento a elemento, g(0) = 1, dtype preservado
    en: element-wise step, g(0) = 1, dtype preserved
    """
    for i, shape in enumerate(SHAPES):
        z = random_z(10 + i, shape, dtype)
        got, (z_after,) = student.call("step", z, device=device, return_args=True)
        got = checks.tensor_on(got, "step(z)", device)
        checks.shape(got, tuple(z.shape), "step(z)")
        checks.expect(got.is_floating_point(), MISTAKES["not_floating"], "not_floating")
        checks.same_dtype(got, dtype, "step(z)")
        expected = (z >= 0).to(dtype)
        if not torch.equal(got, expected):
            differs_only_at_zero = torch.equal(got[z != 0], expected[z != 0])
            raise Mistake(
                MISTAKES["step_at_zero"] if differs_only_at_zero else checks.WRONG_VALUES,
                "step_at_zero" if differs_only_at_zero else "wrong_values",
                what="step(z)",
            )
        unchanged(z, z_after)


@pytest.mark.exercise("step")
def test_step_integer_input(student, device):
    """entrada inteira dá resultado de ponto flutuante
    en: integer input gives a floating-point result
    """
    z = torch.tensor([-3, 0, 2, 5])
    got = checks.tensor(student.call("step", z, device=device), "step(z inteiro)")
    checks.expect(got.is_floating_point(), MISTAKES["not_floating"], "not_floating")
    checks.close(
        got, torch.tensor([0.0, 1.0, 1.0, 1.0]), "step(z inteiro)", hint=MISTAKES["step_at_zero"], key="step_at_zero"
    )


def activation_check(student, device, name, reference, dtype, extra_mistake=None):
    zs = [random_z(20 + i, shape, dtype) for i, shape in enumerate(SHAPES)]
    big = torch.tensor([-1e4, -500.0, -50.0, 0.0, 50.0, 500.0, 1e4], dtype=dtype)
    # every input in one round trip to the student's process, checked in this order
    replies = student.call_many(name, [(z,) for z in [*zs, big]], device=device, return_args=True)
    for z, (got, (z_after,)) in zip(zs, replies):
        got = checks.tensor_on(got, f"{name}(z)", device, dtype)
        expected = reference(z)
        if extra_mistake is not None:
            extra_mistake(got, z)
        checks.close(got, expected, f"{name}(z)")
        unchanged(z, z_after)
    got, (big_after,) = replies[-1]
    unchanged(big, big_after)
    got = checks.tensor(got, f"{name}(z grande)")
    checks.finite(got, f"{name}(z grande)", MISTAKES["large_inputs"], "large_inputs")
    checks.close(got, reference(big), f"{name}(z grande)")


def sigmoid_sign(got, z):
    if got.shape == z.shape and z.numel() > 1 and torch.allclose(got.double(), torch.sigmoid(-z.double()), atol=1e-4):
        raise Mistake(MISTAKES["sigmoid_sign"], "sigmoid_sign")


def tanh_is_sigmoid(got, z):
    if got.shape == z.shape and z.numel() > 1 and torch.allclose(got.double(), torch.sigmoid(z.double()), atol=1e-4):
        raise Mistake(MISTAKES["tanh_is_sigmoid"], "tanh_is_sigmoid")


@pytest.mark.exercise("sigmoid")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_sigmoid_values(student, device, dtype):
    """igual a torch.sigmoid, finita para |z| grande
    en: equal to torch.sigmoid, finite for large |z|
    """
    activation_check(student, device, "sigmoid", torch.sigmoid, dtype, sigmoid_sign)


@pytest.mark.exercise("tanh")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_tanh_values(student, device, dtype):
    """igual a torch.tanh, finita para |z| grande
    en: equal to torch.tanh, finite for large |z|
    """
    activation_check(student, device, "tanh", torch.tanh, dtype, tanh_is_sigmoid)


@pytest.mark.exercise("relu")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_relu_values(student, device, dtype):
    """igual a torch.relu, sem alterar a entrada
    en: equal to torch.relu, input left unchanged
    """
    activation_check(student, device, "relu", torch.relu, dtype)


@pytest.mark.exercise("softmax")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_softmax_values(student, device, dtype):
    """igual a torch.softmax ao longo de dim
    en: equal to torch.softmax along dim
    """
    cases = [((6,), None), ((4, 5), None), ((4, 5), 0), ((4, 5), 1), ((2, 3, 4), 1), ((2, 3, 4), -1)]
    for i, (shape, dim) in enumerate(cases):
        z = random_z(40 + i, shape, dtype)
        args = (z,) if dim is None else (z, dim)
        got, (z_after, *_) = student.call("softmax", *args, device=device, return_args=True)
        got = checks.tensor_on(got, "softmax(z)", device, dtype)
        expected = torch.softmax(z, dim=-1 if dim is None else dim)
        checks.shape(got, tuple(z.shape), "softmax(z)")
        sums = got.double().sum(dim=-1 if dim is None else dim)
        checks.expect(torch.allclose(sums, torch.ones_like(sums), atol=1e-4), MISTAKES["softmax_dim"], "softmax_dim")
        checks.close(got, expected, "softmax(z)")
        unchanged(z, z_after)


@pytest.mark.exercise("softmax")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_softmax_large_inputs(student, device, dtype):
    """estável para entradas grandes como [1000, 1000]
    en: stable for large inputs such as [1000, 1000]
    """
    for z in (
        torch.tensor([1000.0, 1000.0], dtype=dtype),
        torch.tensor([[1000.0, 999.0, -1000.0], [-800.0, 0.0, 800.0]], dtype=dtype),
    ):
        got = checks.tensor(student.call("softmax", z, device=device), "softmax(z grande)")
        checks.finite(got, "softmax(z grande)", MISTAKES["naive_softmax"], "naive_softmax")
        checks.close(got, torch.softmax(z, dim=-1), "softmax(z grande)")


# ----------------------------------------------------------------------- perceptron


def expected_perceptron(x, w, b):
    return ((x.double() @ w.double() + float(b)) >= 0).double()


@pytest.mark.exercise("perceptron")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_perceptron_values(student, device, dtype):
    """step(x @ w + b) para uma amostra e para um lote
    en: step(x @ w + b) for one sample and for a batch
    """
    g = gen(60)
    for m in (2, 3, 5):
        w = torch.randn(m, generator=g, dtype=dtype)
        b = float(torch.randn((), generator=g))
        for shape in ((m,), (9, m)):
            x = torch.randint(-2, 3, shape, generator=g).to(dtype)
            got = checks.tensor_on(student.call("perceptron", x, w, b, device=device), "perceptron(x, w, b)", device)
            expected = expected_perceptron(x, w, b)
            if tuple(got.shape) != tuple(expected.shape):
                raise Mistake(MISTAKES["perceptron_shape"], "perceptron_shape")
            if not torch.equal(got.double(), expected):
                if torch.equal(got.double(), expected_perceptron(x, w, -b)):
                    raise Mistake(MISTAKES["bias_subtracted"], "bias_subtracted")
                raise Mistake(checks.WRONG_VALUES, "wrong_values", what="perceptron(x, w, b)")


@pytest.mark.exercise("perceptron")
def test_perceptron_tensor_bias(student, device):
    """b como tensor 0-D
    en: b as a 0-D tensor
    """
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    w, b = torch.tensor([1.0, 1.0]), torch.tensor(-1.5)
    got = checks.tensor(student.call("perceptron", x, w, b, device=device), "perceptron(x, w, b)")
    checks.shape(got, (3,), "perceptron(x, w, b)")
    checks.expect(
        torch.equal(got.double(), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)),
        MISTAKES["bias_subtracted"],
        "bias_subtracted",
    )


@pytest.mark.exercise("AND_WEIGHTS")
def test_and_weights(student):
    """perceptron com esses pesos computa AND
    en: a perceptron with these weights computes AND
    """
    weights_check(student, "AND_WEIGHTS", "AND")


@pytest.mark.exercise("OR_WEIGHTS")
def test_or_weights(student):
    """perceptron com esses pesos computa OR
    en: a perceptron with these weights computes OR
    """
    weights_check(student, "OR_WEIGHTS", "OR")


@pytest.mark.exercise("NAND_WEIGHTS")
def test_nand_weights(student):
    """perceptron com esses pesos computa NAND
    en: a perceptron with these weights computes NAND
    """
    weights_check(student, "NAND_WEIGHTS", "NAND")


def xor_network(weights, transpose=True):
    X = torch.tensor(TABLE, dtype=torch.float64)
    W1 = weights["W1"].T if transpose else weights["W1"]
    h = ((X @ W1 + weights["b1"]) >= 0).double()
    return [int(v) for v in ((h @ weights["w2"] + weights["b2"]) >= 0).tolist()]


@pytest.mark.exercise("XOR_WEIGHTS")
def test_xor_weights(student):
    """a rede de duas camadas computa XOR
    en: the two-layer network computes XOR
    """
    value = student.get("XOR_WEIGHTS")
    if not isinstance(value, dict) or not {"W1", "b1", "w2", "b2"} <= set(value):
        raise Mistake(MISTAKES["xor_format"], "xor_format", detail=checks.describe_type(value))
    shapes = {"W1": (2, 2), "b1": (2,), "w2": (2,)}
    weights = {}
    for key, shape in shapes.items():
        item = value[key]
        if isinstance(item, (list, tuple)):
            try:
                item = torch.tensor(
                    [
                        [checks.number(v, key) for v in row]
                        if isinstance(row, (list, tuple))
                        else checks.number(row, key)
                        for row in item
                    ],
                    dtype=torch.float64,
                )
            except (Mistake, ValueError, TypeError):
                item = None
        if not isinstance(item, torch.Tensor) or tuple(item.shape) != shape:
            raise Mistake(MISTAKES["xor_format"], "xor_format", detail=f"{key}: {checks.describe_type(item)}")
        weights[key] = item.double()
    weights["b2"] = checks.number(value["b2"], "b2")
    got = xor_network(weights)
    if got != XOR:
        if xor_network(weights, transpose=False) == XOR:
            raise Mistake(MISTAKES["xor_transposed"], "xor_transposed")
        row = next(i for i in range(4) if got[i] != XOR[i])
        raise Mistake(MISTAKES["xor_wrong"], "xor_wrong", row=TABLE[row], got=got[row], expected=XOR[row])


# ----------------------------------------------------------------------- learning


def rosenblatt(w, b, x, y, lr):
    y_hat = float((w.double() @ x.double() + float(b)) >= 0)
    error = float(y) - y_hat
    return w.double() + lr * error * x.double(), float(b) + lr * error


@pytest.mark.exercise("perceptron_update")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_perceptron_update_rule(student, device, dtype):
    """regra de Rosenblatt, entradas intactas
    en: Rosenblatt's rule, inputs left intact
    """
    g = gen(70)
    for i in range(12):
        m = 2 + i % 3
        w = torch.randn(m, generator=g, dtype=dtype)
        x = torch.randint(-2, 3, (m,), generator=g).to(dtype)
        b = float(torch.randn((), generator=g))
        y = float(i % 2)
        lr = (1.0, 0.5, 0.1)[i % 3]
        b_arg = torch.tensor(b, dtype=dtype) if i % 2 else b
        result, args_after = student.call("perceptron_update", w, b_arg, x, y, lr, device=device, return_args=True)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Mistake(MISTAKES["update_format"], "update_format")
        new_w = checks.tensor_on(result[0], "w novo", device)
        new_b = checks.number(result[1], "b novo")
        checks.shape(new_w, (m,), "w novo")
        expected_w, expected_b = rosenblatt(w, b, x, y, lr)
        right = torch.allclose(new_w.double(), expected_w, atol=1e-5) and abs(new_b - expected_b) < 1e-5
        if not right:
            sign_w, sign_b = rosenblatt(w, b, x, y, -lr)
            if torch.allclose(new_w.double(), sign_w, atol=1e-5) and abs(new_b - sign_b) < 1e-5:
                raise Mistake(MISTAKES["update_sign"], "update_sign")
            raise Mistake(MISTAKES["update_wrong"], "update_wrong")
        unchanged(w, args_after[0])
        unchanged(x, args_after[2])


def separable_data(seed, n, m, dtype):
    g = gen(seed)
    w_true = torch.randn(m, generator=g, dtype=torch.float64)
    X = torch.randint(-3, 4, (4 * n, m), generator=g).double()
    margin = X @ w_true + 0.3
    keep = margin.abs() > 0.5  # a clear margin, so the perceptron converges quickly
    X, margin = X[keep][:n], margin[keep][:n]
    return X.to(dtype), (margin >= 0).to(dtype)


def trained_errors(result, X, y):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Mistake(MISTAKES["update_format"], "update_format")
    w = checks.tensor(result[0], "w")
    checks.shape(w, (X.shape[1],), "w")
    b = checks.number(result[1], "b")
    predictions = ((X.double() @ w.double() + b) >= 0).double()
    return int((predictions != y.double()).sum())


@pytest.mark.exercise("train_perceptron")
@pytest.mark.parametrize("dtype", FLOATS, ids=["float32", "float64"])
def test_train_perceptron_separable(student, device, dtype):
    """classifica todas as amostras de dados separáveis
    en: classifies every sample of separable data
    """
    for seed, n, m in ((80, 12, 2), (81, 30, 3), (82, 40, 4)):
        X, y = separable_data(seed, n, m, dtype)
        result = student.call("train_perceptron", X, y, 1.0, 1000, device=device, timeout=20)
        errors = trained_errors(result, X, y)
        checks.expect(errors == 0, MISTAKES["train_misclassifies"], "train_misclassifies", errors=errors, total=len(y))


@pytest.mark.exercise("train_perceptron")
def test_train_perceptron_stops_early(student, device):
    """para depois de uma época sem erros
    en: stops after an epoch without errors
    """
    X, y = separable_data(83, 16, 2, torch.float32)
    try:
        result = student.call("train_perceptron", X, y, max_epochs=200_000, device=device, timeout=8)
    except StudentTimeout:
        raise Mistake(MISTAKES["train_no_early_stop"], "train_no_early_stop") from None
    checks.expect(
        trained_errors(result, X, y) == 0,
        MISTAKES["train_misclassifies"],
        "train_misclassifies",
        errors=trained_errors(result, X, y),
        total=len(y),
    )


@pytest.mark.exercise("train_perceptron")
def test_train_perceptron_xor_stops(student, device):
    """em XOR (não separável) para em max_epochs
    en: on XOR (not separable) stops at max_epochs
    """
    X = torch.tensor(TABLE, dtype=torch.float32)
    y = torch.tensor(XOR, dtype=torch.float32)
    result = student.call("train_perceptron", X, y, 0.5, 25, device=device, timeout=10)
    errors = trained_errors(result, X, y)
    assert errors > 0  # no perceptron separates XOR: anything else is a broken comparison
