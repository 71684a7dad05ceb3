"""Public checks for 02_tensors: the notebook's own examples."""

import pytest
import torch
import torch.nn.functional as F

from grader import checks
from grader.assignments.a02_tensors import MISTAKES
from grader.checks import Mistake


def whole(value, what: str) -> int:
    """An exact integer from a number the student returned (int, integral float, 0-D tensor)."""
    return checks.whole(value, what, MISTAKES["not_an_int"], "not_an_int")


IRIS_SHAPES = {"0.weight": (20, 4), "0.bias": (20,)}


@pytest.mark.exercise("make_tensors")
def test_make_tensors_ranks(student):
    """escalar, vetor, matriz e cubo
    en: scalar, vector, matrix and cube
    """
    result = student.call("make_tensors")
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise Mistake(MISTAKES["tensor_ranks"], "tensor_ranks", detail=checks.describe_type(result))
    shapes = [tuple(checks.tensor(t, "make_tensors()").shape) for t in result]
    checks.expect(shapes == [(), (2,), (2, 2), (4, 2, 2)], MISTAKES["tensor_ranks"], "tensor_ranks", detail=shapes)


@pytest.mark.exercise("flatten_batch")
def test_flatten_batch_example(student):
    """(2, 3, 4) vira (2, 12)
    en: (2, 3, 4) becomes (2, 12)
    """
    x = torch.arange(24.0).reshape(2, 3, 4)
    got = checks.tensor(student.call("flatten_batch", x), "flatten_batch(x)")
    checks.close(got, x.reshape(2, -1), "flatten_batch(x)", hint=MISTAKES["flatten_order"], key="flatten_order")


@pytest.mark.exercise("standardize")
def test_standardize_example(student):
    """colunas com média 0 e desvio 1
    en: columns with mean 0 and standard deviation 1
    """
    x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
    got = checks.tensor(student.call("standardize", x), "standardize(x)")
    checks.close(
        got, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]), "standardize(x)", hint=MISTAKES["sample_std"], key="sample_std"
    )


@pytest.mark.exercise("one_hot")
def test_one_hot_example(student):
    """rótulos [0, 2] com 3 classes
    en: labels [0, 2] with 3 classes
    """
    got = checks.tensor(student.call("one_hot", torch.tensor([0, 2]), 3), "one_hot")
    checks.expect(got.dtype == torch.float32, MISTAKES["one_hot_dtype"], "one_hot_dtype", actual=got.dtype)
    checks.close(got, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), "one_hot([0, 2], 3)")


@pytest.mark.exercise("linear_forward")
def test_linear_forward_example(student):
    """igual a F.linear
    en: equal to F.linear
    """
    x, w, b = torch.ones(2, 3), torch.arange(6.0).reshape(2, 3), torch.tensor([1.0, -1.0])
    got = checks.tensor(student.call("linear_forward", x, w, b), "linear_forward(x, W, b)")
    checks.close(got, F.linear(x, w, b), "linear_forward(x, W, b)")


@pytest.mark.exercise("pairwise_sq_distances")
def test_pairwise_example(student):
    """distâncias ao quadrado entre dois pontos
    en: squared distances between two points
    """
    a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    got = checks.tensor(student.call("pairwise_sq_distances", a, b), "pairwise_sq_distances(a, b)")
    checks.close(
        got,
        torch.tensor([[25.0, 1.0]]),
        "pairwise_sq_distances(a, b)",
        hint=MISTAKES["distances_not_squared"],
        key="distances_not_squared",
    )


@pytest.mark.exercise("to_device")
def test_to_device_example(student):
    """dict com lista de tensores
    en: dict with a list of tensors
    """
    obj = {"x": [torch.ones(2), 3], "nome": "lote"}
    got = student.call("to_device", obj, "cpu")
    ok = (
        isinstance(got, dict)
        and set(got) == {"x", "nome"}
        and got["nome"] == "lote"
        and isinstance(got["x"], list)
        and len(got["x"]) == 2
        and got["x"][1] == 3
        and isinstance(got["x"][0], torch.Tensor)
        and torch.equal(got["x"][0], torch.ones(2))
    )
    checks.expect(ok, MISTAKES["container_type"], "container_type")


@pytest.mark.exercise("graph_forward")
def test_graph_forward_example(student):
    """z = (2 + 3)(5 - 1) = 20
    en: z = (2 + 3)(5 - 1) = 20
    """
    args = [torch.tensor(v) for v in (2.0, 3.0, 5.0, 1.0)]
    got = checks.number(student.call("graph_forward", *args), "graph_forward(2, 3, 5, 1)")
    checks.expect(got == 20.0, MISTAKES["graph_sign"], "graph_sign")


@pytest.mark.exercise("graph_gradients")
def test_graph_gradients_example(student):
    """gradientes em a, b, c, d = 2, 3, 5, 1
    en: gradients at a, b, c, d = 2, 3, 5, 1
    """
    result = student.call("graph_gradients", 2.0, 3.0, 5.0, 1.0)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise Mistake(MISTAKES["gradients_wrong"], "gradients_wrong")
    got = [checks.number(v, "graph_gradients") for v in result]
    checks.expect(got[3] != 5.0, MISTAKES["gradient_d_sign"], "gradient_d_sign")
    checks.expect(got == [4.0, 4.0, 5.0, -5.0], MISTAKES["gradients_wrong"], "gradients_wrong")


@pytest.mark.exercise("linear_param_count")
def test_linear_param_count_example(student):
    """784 -> 256 tem 200 960 parâmetros
    en: 784 -> 256 has 200,960 parameters
    """
    got = whole(student.call("linear_param_count", 784, 256), "linear_param_count(784, 256)")
    checks.expect(got != 200704, MISTAKES["forgot_bias"], "forgot_bias")
    checks.expect(got == 200960, checks.WRONG_VALUES, "wrong_values", what="linear_param_count(784, 256)")


@pytest.mark.exercise("mlp_param_count")
def test_mlp_param_count_example(student):
    """[4, 20, 10, 3] tem 343 parâmetros
    en: [4, 20, 10, 3] has 343 parameters
    """
    got = whole(student.call("mlp_param_count", [4, 20, 10, 3]), "mlp_param_count([4, 20, 10, 3])")
    checks.expect(got != 310, MISTAKES["forgot_bias"], "forgot_bias")
    checks.expect(got == 343, checks.WRONG_VALUES, "wrong_values", what="mlp_param_count([4, 20, 10, 3])")


@pytest.mark.exercise("dense_image_weights")
def test_dense_image_weights_example(student):
    """256 -> 256⁴
    en: 256 -> 256⁴
    """
    got = whole(student.call("dense_image_weights", 256), "dense_image_weights(256)")
    checks.expect(got != (256 ^ 4), MISTAKES["xor_power"], "xor_power")
    checks.expect(got == 256**4, checks.WRONG_VALUES, "wrong_values", what="dense_image_weights(256)")


@pytest.mark.exercise("weights_memory_gb")
def test_weights_memory_example(student):
    """256⁴ pesos float32 ≈ 17,18 GB
    en: 256⁴ float32 weights ≈ 17.18 GB
    """
    got = checks.number(student.call("weights_memory_gb", 256**4), "weights_memory_gb(256**4)")
    checks.expect(abs(got - 16.0) > 1e-6, MISTAKES["gib_not_gb"], "gib_not_gb")
    checks.expect(abs(got - 17.179869184) < 1e-4, checks.WRONG_VALUES, "wrong_values", what="weights_memory_gb")


def dense_image_gb_check(student, params: dict, expected: float) -> None:
    """`DENSE_IMAGE_GB` against `expected`, the student's own layer in GB; the numbers are the
    student's own (the `params` fixture), never the notebook's. Names the slip it matches."""
    got = checks.number(student.get("DENSE_IMAGE_GB"), "DENSE_IMAGE_GB")
    side, size = int(params["LADO"]), int(params["BYTES_POR_PESO"])
    tolerance = 1e-6 * expected  # GiB is 7% off; the other slips are off by a factor of 2 or more
    slips = {  # the value each known slip gives, checked in this order
        "image_side_squared": side**2 * size / 1e9,
        "gib_not_gb": side**4 * size / 2**30,
        "bytes_ignored": side**4 / 1e9,
        "image_bytes_fixed": side**4 * 4 / 1e9,
    }
    if abs(got - expected) <= tolerance:
        return
    key = next((k for k, v in slips.items() if abs(got - v) <= tolerance), "image_gb_wrong")
    raise Mistake(MISTAKES[key], key, side=side, size=size)


@pytest.mark.exercise("DENSE_IMAGE_GB")
def test_dense_image_gb_formula(student, params):
    """LADO⁴ · BYTES_POR_PESO / 10⁹, com os seus números
    en: LADO⁴ · BYTES_POR_PESO / 10⁹, with your numbers
    """
    side, size = int(params["LADO"]), int(params["BYTES_POR_PESO"])
    dense_image_gb_check(student, params, side**4 * size / 1e9)


MODEL = "import torch.nn as nn\ndef make():\n    return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))\n"


@pytest.mark.exercise("count_trainable_params")
def test_count_trainable_example(student):
    """Linear(3, 2) + Linear(2, 1) têm 11 parâmetros
    en: Linear(3, 2) + Linear(2, 1) have 11 parameters
    """
    model = student.build(MODEL, "make")
    got = whole(student.call("count_trainable_params", model), "count_trainable_params(model)")
    checks.expect(got == 11, checks.WRONG_VALUES, "wrong_values", what="count_trainable_params(model)")


@pytest.mark.exercise("layer_summary")
def test_layer_summary_example(student):
    """resumo de Linear, ReLU, Linear
    en: summary of Linear, ReLU, Linear
    """
    model = student.build(MODEL, "make")
    rows = student.call("layer_summary", model, (1, 3))
    expected = [("Linear", (1, 2), 8), ("ReLU", (1, 2), 0), ("Linear", (1, 1), 3)]
    if not isinstance(rows, (list, tuple)) or len(rows) != 3:
        raise Mistake(
            MISTAKES["summary_rows"],
            "summary_rows",
            expected=3,
            actual=len(rows) if isinstance(rows, (list, tuple)) else checks.describe_type(rows),
        )
    for index, (row, want) in enumerate(zip(rows, expected)):
        ok = (
            isinstance(row, (list, tuple))
            and len(row) == 3
            and row[0] == want[0]
            and isinstance(row[1], (list, tuple))
            and tuple(row[1]) == want[1]
            and not isinstance(row[2], (str, list, tuple, dict))
            and checks.number(row[2], "layer_summary") == want[2]
        )
        checks.expect(ok, MISTAKES["summary_wrong"], "summary_wrong", row=index + 1)


@pytest.mark.exercise("build_iris_mlp")
def test_build_iris_mlp_output_shape(student):
    """(N, 4) -> logits (N, 3)
    en: (N, 4) -> logits (N, 3)
    """
    model = student.call("build_iris_mlp", keep=True)
    from grader.engine.protocol import Handle

    if not isinstance(model, Handle):
        raise Mistake(MISTAKES["not_a_module"], "not_a_module", type=checks.describe_type(model))
    out = checks.tensor(student.call_handle(model, [], torch.zeros(5, 4), name="build_iris_mlp"), "modelo(x)")
    checks.shape(out, (5, 3), "modelo(x)")
