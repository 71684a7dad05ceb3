"""Hidden graders for 02_tensors (never released to students)."""

import pytest
import torch
import torch.nn.functional as F

from grader import checks
from grader.assignments.a02_tensors import MISTAKES
from grader.assignments.a02_tensors.test_public import whole
from grader.checks import Mistake
from grader.engine.protocol import Handle, tensor_meta
from grader.i18n import Text

FLOATS = [torch.float32, torch.float64]
FLOAT_IDS = ["float32", "float64"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def unchanged(before, after, what):
    checks.expect(isinstance(after, torch.Tensor) and torch.equal(before, after.to(before.dtype)),
                  Text(pt=f"{what}: a entrada foi alterada; não modifique as entradas.",
                              en=f"{what}: the input was modified; do not change the inputs."), "modifies_input")


# ----------------------------------------------------------------------- tensors


@pytest.mark.exercise("make_tensors")
def test_make_tensors_dims(student):
    """tensores de 0 a 3 dimensões"""
    result = student.call("make_tensors")
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise Mistake(MISTAKES["tensor_ranks"], "tensor_ranks", detail=checks.describe_type(result))
    dims = [checks.tensor(t, "make_tensors()").dim() for t in result]
    checks.expect(dims == [0, 1, 2, 3], MISTAKES["tensor_ranks"], "tensor_ranks", detail=f"ndim = {dims}")


def flatten_inputs(dtype):
    g = gen(1)
    base = torch.randn(4, 3, 5, generator=g).to(dtype)
    return [base, base.transpose(1, 2), base.permute(2, 0, 1), base[:, ::2, :],
            torch.randn(6, 2, generator=g).to(dtype), torch.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2).to(dtype)]


@pytest.mark.exercise("flatten_batch")
@pytest.mark.parametrize("dtype", [*FLOATS, torch.int64], ids=[*FLOAT_IDS, "int64"])
def test_flatten_batch(student, device, dtype):
    """(N, *) para (N, prod(*)), também com entradas não contíguas"""
    for x in flatten_inputs(dtype):
        got, (after,) = student.call("flatten_batch", x, device=device, return_args=True)
        got = checks.tensor_on(got, "flatten_batch(x)", device, dtype)
        expected = x.reshape(len(x), -1)
        checks.shape(got, tuple(expected.shape), "flatten_batch(x)")
        checks.expect(torch.equal(got, expected), MISTAKES["flatten_order"], "flatten_order")
        unchanged(x, after, "flatten_batch")


def standardize_reference(x, correction=0):
    x = x.double()
    std = x.std(dim=0, correction=correction, keepdim=True)
    centered = x - x.mean(dim=0, keepdim=True)
    return torch.where(std > 0, centered / torch.where(std > 0, std, torch.ones_like(std)), torch.zeros_like(x))


@pytest.mark.exercise("standardize")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_standardize(student, device, dtype):
    """por coluna, desvio populacional, coluna constante vira zeros"""
    g = gen(2)
    for n, d in ((8, 3), (20, 5), (5, 1)):
        x = (torch.randn(n, d, generator=g, dtype=torch.float64) * 3 + 7).to(dtype)
        if d > 1:
            x[:, 1] = 4.25  # a constant column
        got, (after,) = student.call("standardize", x, device=device, return_args=True)
        got = checks.tensor_on(got, "standardize(x)", device, dtype)
        checks.shape(got, tuple(x.shape), "standardize(x)")
        if d > 1 and not bool(torch.isfinite(got[:, 1].double()).all()):
            raise Mistake(MISTAKES["constant_column"], "constant_column")
        expected = standardize_reference(x)
        if not torch.allclose(got.double(), expected, atol=1e-4, rtol=1e-4):
            if torch.allclose(got.double(), standardize_reference(x, correction=1), atol=1e-4, rtol=1e-4):
                raise Mistake(MISTAKES["sample_std"], "sample_std")
            raise Mistake(MISTAKES["standardize_rows"], "standardize_rows")
        unchanged(x, after, "standardize")


@pytest.mark.exercise("one_hot")
def test_one_hot(student, device):
    """float32 (N, num_classes)"""
    g = gen(3)
    for n, classes in ((10, 4), (1, 3), (7, 10)):
        labels = torch.randint(0, classes - 1, (n,), generator=g)
        got = checks.tensor_on(student.call("one_hot", labels, classes, device=device), "one_hot", device)
        checks.expect(got.dtype == torch.float32, MISTAKES["one_hot_dtype"], "one_hot_dtype", actual=got.dtype)
        checks.close(got, F.one_hot(labels, classes).float(), "one_hot(labels, num_classes)")


@pytest.mark.exercise("linear_forward")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_linear_forward(student, device, dtype):
    """como F.linear, com e sem viés"""
    g = gen(4)
    for n, fan_in, fan_out in ((5, 3, 3), (4, 6, 2), (1, 2, 7)):
        x = torch.randn(n, fan_in, generator=g, dtype=torch.float64).to(dtype)
        w = torch.randn(fan_out, fan_in, generator=g, dtype=torch.float64).to(dtype)
        b = torch.randn(fan_out, generator=g, dtype=torch.float64).to(dtype)
        for args in ((x, w, b), (x, w, None), (x, w)):
            got = checks.tensor_on(student.call("linear_forward", *args, device=device), "linear_forward", device, dtype)
            bias = args[2] if len(args) == 3 else None
            expected = F.linear(x.double(), w.double(), None if bias is None else bias.double())
            if tuple(got.shape) == tuple(expected.shape) and not torch.allclose(got.double(), expected, atol=1e-4):
                if fan_in == fan_out and torch.allclose(got.double(), (x.double() @ w.double()) + (
                        0 if bias is None else bias.double()), atol=1e-4):
                    raise Mistake(MISTAKES["weight_not_transposed"], "weight_not_transposed")
                if bias is not None and torch.allclose(got.double(), F.linear(x.double(), w.double()), atol=1e-4):
                    raise Mistake(MISTAKES["bias_ignored"], "bias_ignored")
            checks.close(got, expected, "linear_forward")


@pytest.mark.exercise("pairwise_sq_distances")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_pairwise_sq_distances(student, device, dtype):
    """(N, M) de distâncias ao quadrado"""
    g = gen(5)
    for n, m, d in ((4, 3, 2), (1, 5, 7), (6, 6, 1)):
        a = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype)
        b = torch.randn(m, d, generator=g, dtype=torch.float64).to(dtype)
        got = checks.tensor_on(student.call("pairwise_sq_distances", a, b, device=device), "pairwise_sq_distances", device, dtype)
        expected = ((a.double()[:, None, :] - b.double()[None, :, :]) ** 2).sum(-1)
        if tuple(got.shape) == (n, m) and torch.allclose(got.double(), expected.sqrt(), atol=1e-4) \
                and not torch.allclose(expected, expected.sqrt(), atol=1e-4):
            raise Mistake(MISTAKES["distances_not_squared"], "distances_not_squared")
        checks.close(got, expected, "pairwise_sq_distances", atol=1e-4, rtol=1e-4)


def same_structure(got, original, device=None) -> bool:
    """Same containers and non-tensor values, equal tensors (on `device`, unless None)."""
    if isinstance(original, torch.Tensor):
        meta = tensor_meta(got)
        return (isinstance(got, torch.Tensor) and got.dtype == original.dtype and torch.equal(got, original)
                and (device is None or (meta is not None and meta.device.split(":")[0] == device)))
    if type(got) is not type(original):
        return False
    if isinstance(original, dict):
        return set(got) == set(original) and all(same_structure(got[k], original[k], device) for k in original)
    if isinstance(original, (list, tuple)):
        return len(got) == len(original) and all(same_structure(g, o, device) for g, o in zip(got, original))
    return got == original


@pytest.mark.exercise("to_device")
def test_to_device(student, device):
    """dict/list/tuple aninhados, mesmos tipos, outros valores intactos"""
    g = gen(6)
    cases = [
        torch.randn(3, generator=g),
        [torch.randn(2, generator=g), (torch.arange(4), "texto"), {"k": torch.ones(1, dtype=torch.float64)}],
        {"x": torch.randn(2, 2, generator=g), "y": (torch.tensor([1, 2]), None, 3.5), "meta": {"n": 7, "id": "a"}},
        (torch.zeros(0), [], {}, ()),
        {"lote": [[torch.ones(2)], [torch.zeros(1), True]], "rotulos": torch.tensor([0, 1])},
    ]
    for obj in cases:
        got = student.call("to_device", obj, device, device="cpu")
        checks.expect(same_structure(got, obj), MISTAKES["container_type"], "container_type")
        checks.expect(same_structure(got, obj, device), MISTAKES["not_moved"], "not_moved")


# ----------------------------------------------------------------------- graphs


@pytest.mark.exercise("graph_forward")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_graph_forward(student, device, dtype):
    """z = (a + b)(c - d) com broadcasting"""
    g = gen(7)
    shapes = [((), (), (), ()), ((3, 1), (1, 4), (), (4,)), ((5,), (5,), (5,), (5,))]
    for shape in shapes:
        a, b, c, d = (torch.randn(s, generator=g, dtype=torch.float64).to(dtype) for s in shape)
        got = checks.tensor_on(student.call("graph_forward", a, b, c, d, device=device), "graph_forward", device)
        expected = (a.double() + b.double()) * (c.double() - d.double())
        if tuple(got.shape) == tuple(expected.shape) and torch.allclose(got.double(), -expected, atol=1e-5) \
                and not torch.allclose(expected, torch.zeros_like(expected)):
            raise Mistake(MISTAKES["graph_sign"], "graph_sign")
        checks.close(got, expected, "graph_forward")


@pytest.mark.exercise("graph_gradients")
def test_graph_gradients(student):
    """∂z/∂a, ∂z/∂b, ∂z/∂c, ∂z/∂d"""
    for a, b, c, d in ((1.5, -2.0, 4.0, 0.5), (3, 1, 2, 7), (-1.0, -1.0, -3.0, 2.0), (0.0, 2.5, 1.0, 1.0)):
        result = student.call("graph_gradients", a, b, c, d)
        if not isinstance(result, (tuple, list)) or len(result) != 4:
            raise Mistake(MISTAKES["gradients_wrong"], "gradients_wrong")
        got = [checks.number(v, "graph_gradients") for v in result]
        expected = [c - d, c - d, a + b, -(a + b)]
        if all(abs(x - y) < 1e-6 for x, y in zip(got[:3], expected[:3])) and abs(got[3] + expected[3]) < 1e-6 \
                and expected[3] != 0:
            raise Mistake(MISTAKES["gradient_d_sign"], "gradient_d_sign")
        checks.expect(all(abs(x - y) < 1e-6 for x, y in zip(got, expected)), MISTAKES["gradients_wrong"],
                      "gradients_wrong")


# ----------------------------------------------------------------------- counting


@pytest.mark.exercise("linear_param_count")
def test_linear_param_count(student):
    """pesos e vieses de uma camada"""
    for n_in, n_out in ((3, 5), (100, 10), (1, 1), (4096, 1000)):
        got = whole(student.call("linear_param_count", n_in, n_out), "linear_param_count")
        checks.expect(got != n_in * n_out, MISTAKES["forgot_bias"], "forgot_bias")
        checks.expect(got == n_in * n_out + n_out, checks.WRONG_VALUES, "wrong_values", what="linear_param_count")
        got = whole(student.call("linear_param_count", n_in, n_out, bias=False), "linear_param_count(bias=False)")
        checks.expect(got == n_in * n_out, MISTAKES["bias_flag"], "bias_flag")


@pytest.mark.exercise("mlp_param_count")
def test_mlp_param_count(student):
    """soma das camadas consecutivas"""
    for sizes in ([2, 3], [10, 5, 5, 2], [784, 256, 128, 10], [7, 1, 7, 1, 7]):
        pairs = list(zip(sizes[:-1], sizes[1:]))
        got = whole(student.call("mlp_param_count", sizes), "mlp_param_count")
        checks.expect(got != sum(a * b for a, b in pairs), MISTAKES["forgot_bias"], "forgot_bias")
        checks.expect(got == sum(a * b + b for a, b in pairs), checks.WRONG_VALUES, "wrong_values",
                      what="mlp_param_count")
        got = whole(student.call("mlp_param_count", sizes, bias=False), "mlp_param_count(bias=False)")
        checks.expect(got == sum(a * b for a, b in pairs), MISTAKES["bias_flag"], "bias_flag")


@pytest.mark.exercise("dense_image_weights")
def test_dense_image_weights(student):
    """side⁴"""
    for side in (1, 3, 28, 64, 300):
        got = whole(student.call("dense_image_weights", side), "dense_image_weights")
        checks.expect(got != (side ^ 4), MISTAKES["xor_power"], "xor_power")
        checks.expect(got == side**4, checks.WRONG_VALUES, "wrong_values", what="dense_image_weights")


@pytest.mark.exercise("weights_memory_gb")
def test_weights_memory_gb(student):
    """GB decimais"""
    for n, size in ((10**9, 4), (123_456_789, 2), (28**4, 8), (256**4, 4)):
        args = (n,) if size == 4 else (n, size)
        got = checks.number(student.call("weights_memory_gb", *args), "weights_memory_gb")
        expected = n * size / 1e9
        tolerance = 1e-6 * expected  # float32 0-d tensors are fine; GiB is 7% off, bytes ignored 2x or more
        checks.expect(abs(got - n * size / 2**30) > tolerance, MISTAKES["gib_not_gb"], "gib_not_gb")
        checks.expect(abs(got - n / 1e9) > tolerance, MISTAKES["bytes_ignored"], "bytes_ignored")
        checks.expect(abs(got - expected) <= tolerance, checks.WRONG_VALUES, "wrong_values", what="weights_memory_gb")


MODELS = """
import torch
import torch.nn as nn


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.layer(torch.relu(self.layer(x)))))


def frozen():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    model[0].requires_grad_(False)
    return model


def shared():
    torch.manual_seed(0)
    return Shared()


def tied():
    torch.manual_seed(0)
    first, last = nn.Linear(6, 6), nn.Linear(6, 6)
    last.weight = first.weight
    return nn.Sequential(first, nn.Tanh(), last)


def batchnorm():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))


def nested():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(3, 6), nn.ReLU())
    return nn.Sequential(block, nn.Sequential(nn.Linear(6, 6), nn.Sequential(nn.Tanh(), nn.Linear(6, 1))))
"""
COUNT_MODELS = ["frozen", "shared", "tied", "batchnorm", "nested"]
SUMMARY_MODELS = {"frozen": (2, 5), "shared": (3, 4), "batchnorm": (2, 1, 6, 6), "nested": (4, 3)}


@pytest.fixture(scope="module")
def grader_models():
    namespace: dict = {}
    exec(MODELS, namespace)
    return namespace


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.exercise("count_trainable_params")
@pytest.mark.parametrize("kind", COUNT_MODELS)
def test_count_trainable_params(student, grader_models, kind):
    """parâmetros treináveis, compartilhados contados uma vez"""
    model = grader_models[kind]()
    handle = student.build(MODELS, kind)
    got = whole(student.call("count_trainable_params", handle), "count_trainable_params")
    everything = sum(p.numel() for p in model.parameters())
    if got == trainable(model):
        return
    if kind == "frozen" and got == everything:
        raise Mistake(MISTAKES["counts_frozen"], "counts_frozen")
    if kind == "batchnorm" and got == sum(v.numel() for v in model.state_dict().values()):
        raise Mistake(MISTAKES["counts_buffers"], "counts_buffers")
    if kind in ("shared", "tied") and got > everything:
        raise Mistake(MISTAKES["counts_shared_twice"], "counts_shared_twice")
    raise Mistake(checks.WRONG_VALUES, "wrong_values", what="count_trainable_params")


def reference_summary(model, shape):
    rows, hooks = [], []
    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(
                lambda m, i, o: rows.append((type(m).__name__, tuple(o.shape),
                                             sum(p.numel() for p in m.parameters(recurse=False))))))
    with torch.no_grad():
        model.eval()(torch.zeros(shape))
    for hook in hooks:
        hook.remove()
    return rows


def _count(value):
    """A parameter count as the student gave it (int, numpy int, 0-d tensor), or None."""
    try:
        return checks.number(value, "layer_summary")
    except Mistake:
        return None


@pytest.mark.exercise("layer_summary")
@pytest.mark.parametrize("kind", sorted(SUMMARY_MODELS))
def test_layer_summary(student, grader_models, kind):
    """uma linha por módulo folha, na ordem de execução"""
    shape = SUMMARY_MODELS[kind]
    expected = reference_summary(grader_models[kind](), shape)
    handle = student.build(MODELS, kind)
    rows = student.call("layer_summary", handle, shape)
    if not isinstance(rows, (list, tuple)) or len(rows) != len(expected):
        raise Mistake(MISTAKES["summary_rows"], "summary_rows", expected=len(expected),
                      actual=len(rows) if isinstance(rows, (list, tuple)) else checks.describe_type(rows))
    for index, (row, want) in enumerate(zip(rows, expected)):
        ok = (isinstance(row, (list, tuple)) and len(row) == 3 and row[0] == want[0]
              and isinstance(row[1], (list, tuple)) and tuple(int(v) for v in row[1]) == want[1]
              and _count(row[2]) == want[2])
        checks.expect(ok, MISTAKES["summary_wrong"], "summary_wrong", row=index + 1)


INSPECT = """
import torch


def inspect(model):
    if not isinstance(model, torch.nn.Module):
        return None
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
"""


def iris_reference(state, x):
    """Linear-Tanh-Linear-Tanh-Linear with the student's own weights, in float64."""
    layers = []
    for fan_out, fan_in in ((20, 4), (10, 20), (3, 10)):
        keys = [k for k, v in state.items() if k.endswith("weight") and tuple(v.shape) == (fan_out, fan_in)]
        if len(keys) != 1:
            return None
        bias = state.get(keys[0][: -len("weight")] + "bias")
        layers.append((state[keys[0]].double(), None if bias is None else bias.double()))
    h = x.double()
    for index, (w, b) in enumerate(layers):
        h = F.linear(h, w, b)
        if index < 2:
            h = torch.tanh(h)
    return h


@pytest.mark.exercise("build_iris_mlp")
def test_build_iris_mlp(student, device):
    """4-20-10-3 com Tanh, 343 parâmetros, devolve logits"""
    model = student.call("build_iris_mlp", keep=True)
    state = student.run_grader_code(INSPECT, "inspect", model, name="build_iris_mlp") \
        if isinstance(model, Handle) else None
    if not isinstance(state, dict):
        raise Mistake(MISTAKES["not_a_module"], "not_a_module", type=checks.describe_type(model))
    params = sum(int(v.numel()) for k, v in state.items() if k.endswith(("weight", "bias")))
    checks.expect(params == 343, MISTAKES["iris_params"], "iris_params", actual=params)
    x = torch.randn(16, 4, generator=gen(9)) * 2
    student.call_handle(model, ["to"], device, name="build_iris_mlp")
    student.call_handle(model, ["eval"], name="build_iris_mlp")
    out = checks.tensor(student.call_handle(model, [], x, device=device, name="build_iris_mlp"), "modelo(x)")
    checks.shape(out, (16, 3), "modelo(x)")
    if torch.allclose(out.double().sum(dim=1), torch.ones(16, dtype=torch.float64), atol=1e-4):
        raise Mistake(MISTAKES["iris_softmax"], "iris_softmax")
    expected = iris_reference(state, x)
    checks.expect(expected is not None and torch.allclose(out.double(), expected, atol=1e-4, rtol=1e-4),
                  MISTAKES["iris_activation"], "iris_activation")
