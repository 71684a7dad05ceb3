"""Hidden graders for 02_tensors (never released to students)."""

import itertools
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader import checks
from grader.assignments.a02_tensors import MISTAKES, hidden_inspect, hidden_models
from grader.assignments.a02_tensors.test_public import dense_image_gb_check, whole
from grader.checks import Mistake
from grader.engine.protocol import Handle, tensor_meta
from grader.engine.session import StudentError, changed_input
from grader.i18n import Text

FLOATS = [torch.float32, torch.float64]
FLOAT_IDS = ["float32", "float64"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def unchanged(before, after, what):
    checks.expect(
        isinstance(after, torch.Tensor) and torch.equal(before, after.to(before.dtype)),
        Text(
            pt=f"{what}: a entrada foi alterada; não modifique as entradas.",
            en=f"{what}: the input was modified; do not change the inputs.",
        ),
        "modifies_input",
    )


# ----------------------------------------------------------------------- tensors


@pytest.mark.exercise("make_tensors")
def test_make_tensors_dims(student):
    """tensores de 0 a 3 dimensões
    en: tensors with 0 to 3 dimensions
    """
    result = student.call("make_tensors")
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        raise Mistake(MISTAKES["tensor_ranks"], "tensor_ranks", detail=checks.describe_type(result))
    dims = [checks.tensor(t, "make_tensors()").dim() for t in result]
    checks.expect(dims == [0, 1, 2, 3], MISTAKES["tensor_ranks"], "tensor_ranks", detail=f"ndim = {dims}")


def flatten_inputs(dtype):
    g = gen(1)
    base = torch.randn(4, 3, 5, generator=g).to(dtype)
    return [
        base,
        base.transpose(1, 2),
        base.permute(2, 0, 1),
        base[:, ::2, :],
        torch.randn(6, 2, generator=g).to(dtype),
        torch.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2).to(dtype),
    ]


@pytest.mark.exercise("flatten_batch")
@pytest.mark.parametrize("dtype", [*FLOATS, torch.int64], ids=[*FLOAT_IDS, "int64"])
def test_flatten_batch(student, device, dtype):
    """(N, *) para (N, prod(*)), também com entradas não contíguas
    en: (N, *) to (N, prod(*)), non-contiguous inputs too
    """
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


# Columns at the edges, each defined by the contract: a constant column whose float mean is
# exact (4.25) or not (0.1 seven times: x - mean is a rounding residue while the float std may
# be exactly 0 or ~1e-9, depending on the reduction kernel), a large mean with a unit deviation
# (E[x²] - E[x]² loses every digit) and a deviation of 1e-6 (an ε added to std shows).
EDGE_OFFSET = {torch.float32: 3e3, torch.float64: 1e9}


def standardize_inputs(dtype):
    """[(x, {column: kind})]: the kinds are "constant", "inexact", "offset", "tiny"."""
    g = gen(2)
    cases = []
    for n, d in ((8, 3), (20, 5), (5, 1)):
        x = (torch.randn(n, d, generator=g, dtype=torch.float64) * 3 + 7).to(dtype)
        if d > 1:
            x[:, 1] = 4.25  # a constant column
        cases.append((x, {1: "constant"} if d > 1 else {}))
    n = 7
    x = torch.randn(n, 5, generator=g, dtype=torch.float64) * 3 + 7
    x[:, 1] = 0.1
    x[:, 2] = EDGE_OFFSET[dtype] + torch.randn(n, generator=g, dtype=torch.float64)
    x[:, 3] = 3e-6 + 1e-6 * torch.randn(n, generator=g, dtype=torch.float64)
    x[:, 4] = 4.25
    cases.append((x.to(dtype), {1: "inexact", 2: "offset", 3: "tiny", 4: "constant"}))
    return cases


def standardized_columns_wrong(got, x, expected, kinds):
    """The columns of `got` that differ from `expected`, with a tolerance that grows with
    how badly the column is conditioned (|mean| / std: float rounding of the input itself)."""
    eps = torch.finfo(x.dtype).eps
    x64 = x.double()
    wrong = []
    for j in range(x.shape[1]):
        if kinds.get(j) == "inexact":
            continue  # judged on its own (see test_standardize)
        std = float(x64[:, j].std(correction=0))
        condition = abs(float(x64[:, j].mean())) / std if std > 0 else 0.0
        atol = 1e-4 + 8 * eps * condition
        if not torch.allclose(got[:, j].double(), expected[:, j], atol=atol, rtol=1e-4):
            wrong.append(j)
    return wrong


@pytest.mark.exercise("standardize")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_standardize(student, device, dtype):
    """por coluna, desvio populacional, coluna constante vira zeros
    en: per column, population standard deviation, a constant column becomes zeros
    """
    for x, kinds in standardize_inputs(dtype):
        got, (after,) = student.call("standardize", x, device=device, return_args=True)
        got = checks.tensor_on(got, "standardize(x)", device, dtype)
        checks.shape(got, tuple(x.shape), "standardize(x)")
        key = standardize_mistake(got, x, kinds)
        if key is not None:
            raise Mistake(MISTAKES[key], key)
        unchanged(x, after, "standardize")


def standardize_mistake(got: torch.Tensor, x: torch.Tensor, kinds: dict) -> str | None:
    """None when `got` (of x's shape) standardizes x as the contract says, else the mistake's key."""
    n = x.shape[0]
    for j, kind in kinds.items():
        column = got[:, j].double()
        if kind in ("constant", "inexact") and not bool(torch.isfinite(column).all()):
            return "constant_column"
        # A constant column should become zeros; where its float mean is inexact, the float std may
        # come out as a rounding residue instead of 0 (torch's own std does, on a single column, and
        # the reference then gives ±1): anything a standardization can give, |z| <= sqrt(N), is
        # accepted there; ±inf, or the ±max float `nan_to_num` makes of it, is not.
        if kind == "inexact" and not bool((column.abs() <= n**0.5 + 1e-6).all()):
            return "constant_column"
    wrong = standardized_columns_wrong(got, x, standardize_reference(x), kinds)
    if not wrong:
        return None
    if not standardized_columns_wrong(got, x, standardize_reference(x, correction=1), kinds):
        return "sample_std"
    if all(kinds.get(j) == "offset" for j in wrong):
        return "naive_variance"
    if all(kinds.get(j) == "tiny" for j in wrong):
        return "std_epsilon"
    return "standardize_rows"


@pytest.mark.exercise("one_hot")
def test_one_hot(student, device):
    """float32 (N, num_classes)
    en: float32 (N, num_classes)
    """
    g = gen(3)
    for n, classes in ((10, 4), (1, 3), (7, 10)):
        labels = torch.randint(0, classes - 1, (n,), generator=g)
        got = checks.tensor_on(student.call("one_hot", labels, classes, device=device), "one_hot", device)
        checks.expect(got.dtype == torch.float32, MISTAKES["one_hot_dtype"], "one_hot_dtype", actual=got.dtype)
        checks.close(got, F.one_hot(labels, classes).float(), "one_hot(labels, num_classes)")


@pytest.mark.exercise("linear_forward")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_linear_forward(student, device, dtype):
    """como F.linear, com e sem viés
    en: like F.linear, with and without bias
    """
    g = gen(4)
    for n, fan_in, fan_out in ((5, 3, 3), (4, 6, 2), (1, 2, 7)):
        x = torch.randn(n, fan_in, generator=g, dtype=torch.float64).to(dtype)
        w = torch.randn(fan_out, fan_in, generator=g, dtype=torch.float64).to(dtype)
        b = torch.randn(fan_out, generator=g, dtype=torch.float64).to(dtype)
        for args in ((x, w, b), (x, w, None), (x, w)):
            got = checks.tensor_on(
                student.call("linear_forward", *args, device=device), "linear_forward", device, dtype
            )
            bias = args[2] if len(args) == 3 else None
            expected = F.linear(x.double(), w.double(), None if bias is None else bias.double())
            if tuple(got.shape) == tuple(expected.shape) and not torch.allclose(got.double(), expected, atol=1e-4):
                if fan_in == fan_out and torch.allclose(
                    got.double(), (x.double() @ w.double()) + (0 if bias is None else bias.double()), atol=1e-4
                ):
                    raise Mistake(MISTAKES["weight_not_transposed"], "weight_not_transposed")
                if bias is not None and torch.allclose(got.double(), F.linear(x.double(), w.double()), atol=1e-4):
                    raise Mistake(MISTAKES["bias_ignored"], "bias_ignored")
            checks.close(got, expected, "linear_forward")


@pytest.mark.exercise("pairwise_sq_distances")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_pairwise_sq_distances(student, device, dtype):
    """(N, M) de distâncias ao quadrado
    en: (N, M) squared distances
    """
    g = gen(5)
    for n, m, d in ((4, 3, 2), (1, 5, 7), (6, 6, 1)):
        a = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype)
        b = torch.randn(m, d, generator=g, dtype=torch.float64).to(dtype)
        got = checks.tensor_on(
            student.call("pairwise_sq_distances", a, b, device=device), "pairwise_sq_distances", device, dtype
        )
        expected = ((a.double()[:, None, :] - b.double()[None, :, :]) ** 2).sum(-1)
        if (
            tuple(got.shape) == (n, m)
            and torch.allclose(got.double(), expected.sqrt(), atol=1e-4)
            and not torch.allclose(expected, expected.sqrt(), atol=1e-4)
        ):
            raise Mistake(MISTAKES["distances_not_squared"], "distances_not_squared")
        checks.close(got, expected, "pairwise_sq_distances", atol=1e-4, rtol=1e-4)


def same_structure(got, original, device=None) -> bool:
    """Same containers and non-tensor values, equal tensors (on `device`, unless None)."""
    if isinstance(original, torch.Tensor):
        meta = tensor_meta(got)
        return (
            isinstance(got, torch.Tensor)
            and got.dtype == original.dtype
            and torch.equal(got, original)
            and (device is None or (meta is not None and meta.device.split(":")[0] == device))
        )
    if type(got) is not type(original):
        return False
    if isinstance(original, dict):
        return set(got) == set(original) and all(same_structure(got[k], original[k], device) for k in original)
    if isinstance(original, (list, tuple)):
        return len(got) == len(original) and all(same_structure(g, o, device) for g, o in zip(got, original))
    return got == original


@pytest.mark.exercise("to_device")
def test_to_device(student, device):
    """dict/list/tuple aninhados, mesmos tipos, outros valores intactos
    en: nested dict/list/tuple, same types, other values left intact
    """
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


def meta_difference(got, original, where=""):
    """The first place where `got` is not `original` moved to the meta device, as (key, where,
    expected, found), or None. Tensors are compared by device, shape and dtype (a tensor on
    meta has no values)."""
    if isinstance(original, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return "container_type", where, None, None
        meta = tensor_meta(got)
        device = meta.device if meta is not None else str(got.device)
        if device != "meta":
            return "not_moved", where, "meta", device
        if tuple(got.shape) != tuple(original.shape):
            return "wrong_shape", where, tuple(original.shape), tuple(got.shape)
        if got.dtype != original.dtype:
            return (
                "wrong_dtype",
                where,
                str(original.dtype).removeprefix("torch."),
                str(got.dtype).removeprefix("torch."),
            )
        return None
    if type(got) is not type(original):
        return "container_type", where, None, None
    if isinstance(original, dict):
        if set(got) != set(original):
            return "container_type", where, None, None
        pairs = [(got[k], original[k], f"{where}[{k!r}]") for k in original]
    elif isinstance(original, (list, tuple)):
        if len(got) != len(original):
            return "container_type", where, None, None
        pairs = [(g, o, f"{where}[{i}]") for i, (g, o) in enumerate(zip(got, original))]
    else:
        return None if got == original else ("container_type", where, None, None)
    for g, o, w in pairs:
        found = meta_difference(g, o, w)
        if found:
            return found
    return None


@pytest.mark.exercise("to_device")
def test_to_device_meta(student):
    """tuplas, listas e dicts aninhados levados ao dispositivo `meta`; a entrada fica como estava
    en: nested tuples, lists and dicts moved to the `meta` device; the input stays as it was

    Runs on every machine: the `meta` device exists everywhere, so a tensor left behind (in a
    tuple, one level down, or a `.to` whose result is dropped) or a moved tensor written into
    the caller's structure shows on a CPU-only machine, where `.to("cpu")` changes nothing."""
    g = gen(16)
    cases = [
        (torch.randn(4, 1, 3, 3, generator=g), torch.tensor([0, 2, 1, 1])),  # a batch: (images, labels)
        [torch.randn(2, generator=g), (torch.arange(3), "texto", None), ((torch.ones(2, 2, dtype=torch.float64),), 5)],
        {
            "entrada": torch.randn(3, 2, generator=g),
            "alvo": (torch.tensor([1, 0, 1]), 3),
            "extras": [{"mascara": torch.tensor([True, False])}, {"n": 7, "nome": "a", "vazio": None}],
            "escala": 0.5,
            "meia": torch.randn(2, generator=g).half(),
        },
        [[(torch.zeros(1),), ()], {}, (torch.tensor(2.5), [torch.zeros(0, 3)])],
    ]
    for index, obj in enumerate(cases):
        device = "meta" if index % 2 == 0 else torch.device("meta")  # a string or a torch.device
        got, (after, _) = student.call("to_device", obj, device, return_args=True)
        found = meta_difference(got, obj)
        if found:
            key, where, expected, actual = found
            if key == "not_moved":
                raise Mistake(MISTAKES["not_moved_meta"], "not_moved", where=where, actual=actual)
            if key == "wrong_shape":
                raise Mistake(checks.WRONG_SHAPE, key, what=f"to_device: obj{where}", expected=expected, actual=actual)
            if key == "wrong_dtype":
                raise Mistake(checks.WRONG_DTYPE, key, what=f"to_device: obj{where}", expected=expected, actual=actual)
            raise Mistake(MISTAKES["container_type"], "container_type")
        where = changed_input(obj, after, None, "")
        if where is not None:
            raise Mistake(MISTAKES["moved_into_input"], "moved_into_input", where=where)


# ----------------------------------------------------------------------- graphs


@pytest.mark.exercise("graph_forward")
@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_graph_forward(student, device, dtype):
    """z = (a + b)(c - d) com broadcasting
    en: z = (a + b)(c - d) with broadcasting
    """
    g = gen(7)
    shapes = [((), (), (), ()), ((3, 1), (1, 4), (), (4,)), ((5,), (5,), (5,), (5,))]
    for shape in shapes:
        a, b, c, d = (torch.randn(s, generator=g, dtype=torch.float64).to(dtype) for s in shape)
        got = checks.tensor_on(student.call("graph_forward", a, b, c, d, device=device), "graph_forward", device)
        expected = (a.double() + b.double()) * (c.double() - d.double())
        if (
            tuple(got.shape) == tuple(expected.shape)
            and torch.allclose(got.double(), -expected, atol=1e-5)
            and not torch.allclose(expected, torch.zeros_like(expected))
        ):
            raise Mistake(MISTAKES["graph_sign"], "graph_sign")
        checks.close(got, expected, "graph_forward")


@pytest.mark.exercise("graph_gradients")
def test_graph_gradients(student):
    """∂z/∂a, ∂z/∂b, ∂z/∂c, ∂z/∂d
    en: ∂z/∂a, ∂z/∂b, ∂z/∂c, ∂z/∂d
    """
    for a, b, c, d in ((1.5, -2.0, 4.0, 0.5), (3, 1, 2, 7), (-1.0, -1.0, -3.0, 2.0), (0.0, 2.5, 1.0, 1.0)):
        result, trace = student.call("graph_gradients", a, b, c, d, trace_ops=True)
        if not isinstance(result, (tuple, list)) or len(result) != 4:
            raise Mistake(MISTAKES["gradients_wrong"], "gradients_wrong")
        got = [checks.number(v, "graph_gradients") for v in result]
        expected = [c - d, c - d, a + b, -(a + b)]
        if (
            all(abs(x - y) < 1e-6 for x, y in zip(got[:3], expected[:3]))
            and abs(got[3] + expected[3]) < 1e-6
            and expected[3] != 0
        ):
            raise Mistake(MISTAKES["gradient_d_sign"], "gradient_d_sign")
        checks.expect(
            all(abs(x - y) < 1e-6 for x, y in zip(got, expected)), MISTAKES["gradients_wrong"], "gradients_wrong"
        )
        # The contract says "with autograd": right numbers from formulas derived by hand do not count.
        checks.expect(trace.backward, MISTAKES["gradients_by_hand"], "gradients_by_hand")


# ----------------------------------------------------------------------- counting


@pytest.mark.exercise("linear_param_count")
def test_linear_param_count(student):
    """pesos e vieses de uma camada
    en: weights and biases of one layer
    """
    for n_in, n_out in ((3, 5), (100, 10), (1, 1), (4096, 1000)):
        got = whole(student.call("linear_param_count", n_in, n_out), "linear_param_count")
        checks.expect(got != n_in * n_out, MISTAKES["forgot_bias"], "forgot_bias")
        checks.expect(got == n_in * n_out + n_out, checks.WRONG_VALUES, "wrong_values", what="linear_param_count")
        got = whole(student.call("linear_param_count", n_in, n_out, bias=False), "linear_param_count(bias=False)")
        checks.expect(got == n_in * n_out, MISTAKES["bias_flag"], "bias_flag")


@pytest.mark.exercise("mlp_param_count")
def test_mlp_param_count(student):
    """soma das camadas consecutivas
    en: sum over consecutive layers
    """
    for sizes in ([2, 3], [10, 5, 5, 2], [784, 256, 128, 10], [7, 1, 7, 1, 7]):
        pairs = list(itertools.pairwise(sizes))
        got = whole(student.call("mlp_param_count", sizes), "mlp_param_count")
        checks.expect(got != sum(a * b for a, b in pairs), MISTAKES["forgot_bias"], "forgot_bias")
        checks.expect(
            got == sum(a * b + b for a, b in pairs), checks.WRONG_VALUES, "wrong_values", what="mlp_param_count"
        )
        got = whole(student.call("mlp_param_count", sizes, bias=False), "mlp_param_count(bias=False)")
        checks.expect(got == sum(a * b for a, b in pairs), MISTAKES["bias_flag"], "bias_flag")


@pytest.mark.exercise("dense_image_weights")
def test_dense_image_weights(student):
    """side⁴
    en: side⁴
    """
    for side in (1, 3, 28, 64, 300):
        got = whole(student.call("dense_image_weights", side), "dense_image_weights")
        checks.expect(got != (side ^ 4), MISTAKES["xor_power"], "xor_power")
        checks.expect(got == side**4, checks.WRONG_VALUES, "wrong_values", what="dense_image_weights")


@pytest.mark.exercise("weights_memory_gb")
def test_weights_memory_gb(student):
    """GB decimais
    en: decimal GB
    """
    for n, size in ((10**9, 4), (123_456_789, 2), (28**4, 8), (256**4, 4)):
        args = (n,) if size == 4 else (n, size)
        got = checks.number(student.call("weights_memory_gb", *args), "weights_memory_gb")
        expected = n * size / 1e9
        tolerance = 1e-6 * expected  # float32 0-D tensors are fine; GiB is 7% off, bytes ignored 2x or more
        checks.expect(abs(got - n * size / 2**30) > tolerance, MISTAKES["gib_not_gb"], "gib_not_gb")
        checks.expect(abs(got - n / 1e9) > tolerance, MISTAKES["bytes_ignored"], "bytes_ignored")
        checks.expect(abs(got - expected) <= tolerance, checks.WRONG_VALUES, "wrong_values", what="weights_memory_gb")


WEIGHT_DTYPES = {2: torch.float16, 4: torch.float32, 8: torch.float64}


@pytest.mark.exercise("DENSE_IMAGE_GB")
def test_dense_image_gb_against_a_real_layer(student, params):
    """o tamanho dos pesos de um nn.Linear(LADO², LADO², bias=False) de verdade, com os seus números
    en: the size of the weights of a real nn.Linear(LADO², LADO², bias=False), with your numbers
    """
    side, size = int(params["LADO"]), int(params["BYTES_POR_PESO"])
    # on the meta device: the layer's shapes and dtype without its gigabytes
    layer = torch.nn.Linear(side * side, side * side, bias=False, device="meta", dtype=WEIGHT_DTYPES[size])
    dense_image_gb_check(student, params, sum(p.numel() * p.element_size() for p in layer.parameters()) / 1e9)


# The models' builders: their source is executed in the student's process (`student.build`),
# the module itself is imported here for the reference copies (`grader_models`).
MODELS_SOURCE = Path(hidden_models.__file__).read_text(encoding="utf-8")

# Models the student never imagined: parameters on the root module, distinct parameters with
# equal values next to truly shared ones, and networks drawn from fixed seeds (tests/ checks the
# diagnosis below on many more seeds with hypothesis).
GENERATED_SEEDS = [5, 9]
COUNT_MODELS = [
    "frozen",
    "shared",
    "tied",
    "batchnorm",
    "nested",
    "rooted",
    "twins",
    *[f"generated_{seed}" for seed in GENERATED_SEEDS],
]
SUMMARY_MODELS = {"frozen": (2, 5), "shared": (3, 4), "batchnorm": (2, 1, 6, 6), "nested": (4, 3), "rooted": (2, 4)}


def builder(kind: str) -> tuple[str, tuple]:
    """The hidden_models function that builds `kind`, and its arguments ("generated_3": generated(3))."""
    name, _, seed = kind.partition("_")
    return (name, (int(seed),)) if name == "generated" else (kind, ())


@pytest.fixture(scope="module")
def grader_models():
    """The builders of hidden_models by name, in the grading process (same seeds, same weights)."""
    return vars(hidden_models)


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.exercise("count_trainable_params")
@pytest.mark.parametrize("kind", COUNT_MODELS)
def test_count_trainable_params(student, grader_models, kind):
    """parâmetros treináveis, compartilhados contados uma vez
    en: trainable parameters, shared ones counted once
    """
    name, args = builder(kind)
    model = grader_models[name](*args)
    handle = student.build(MODELS_SOURCE, name, *args)
    got = whole(student.call("count_trainable_params", handle), "count_trainable_params")
    key = count_mistake(model, got)
    if key == "wrong_values":
        raise Mistake(checks.WRONG_VALUES, "wrong_values", what="count_trainable_params")
    if key is not None:
        raise Mistake(MISTAKES[key], key)


def count_mistake(model, got: int) -> str | None:
    """None when `got` is the number of trainable parameters of `model` (a grader-side copy),
    else the known slip that gives `got` ("wrong_values" when none does)."""
    if got == trainable(model):
        return None
    everything = sum(p.numel() for p in model.parameters())
    own = {id(p) for p in model.parameters(recurse=False)}
    per_module = sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False) if p.requires_grad)
    distinct_values: list = []
    for p in model.parameters():
        if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in distinct_values):
            distinct_values.append(p)
    if got == everything:
        return "counts_frozen"
    if any(True for _ in model.buffers()) and got == sum(v.numel() for v in model.state_dict().values()):
        return "counts_buffers"
    if got > everything or got == per_module:
        return "counts_shared_twice"
    if own and got == sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in own):
        return "root_parameters"
    if got == sum(p.numel() for p in distinct_values):
        return "dedup_by_value"
    return "wrong_values"


def reference_summary(model, shape):
    rows, hooks = [], []
    for module in model.modules():
        if not list(module.children()):
            hooks.append(
                module.register_forward_hook(
                    lambda m, i, o: rows.append(
                        (type(m).__name__, tuple(o.shape), sum(p.numel() for p in m.parameters(recurse=False)))
                    )
                )
            )
    with torch.no_grad():
        model.eval()(torch.zeros(shape))
    for hook in hooks:
        hook.remove()
    return rows


def _count(value):
    """A parameter count as the student gave it (int, numpy int, 0-D tensor), or None."""
    try:
        return checks.number(value, "layer_summary")
    except Mistake:
        return None


@pytest.mark.exercise("layer_summary")
@pytest.mark.parametrize("kind", sorted(SUMMARY_MODELS))
def test_layer_summary(student, grader_models, kind):
    """uma linha por módulo folha, na ordem de execução
    en: one line per leaf module, in execution order
    """
    shape = SUMMARY_MODELS[kind]
    expected = reference_summary(grader_models[kind](), shape)
    handle = student.build(MODELS_SOURCE, kind)
    check_summary_rows(student.call("layer_summary", handle, shape), expected)


def check_summary_rows(rows, expected: list) -> None:
    if not isinstance(rows, (list, tuple)) or len(rows) != len(expected):
        raise Mistake(
            MISTAKES["summary_rows"],
            "summary_rows",
            expected=len(expected),
            actual=len(rows) if isinstance(rows, (list, tuple)) else checks.describe_type(rows),
        )
    for index, (row, want) in enumerate(zip(rows, expected)):
        ok = (
            isinstance(row, (list, tuple))
            and len(row) == 3
            and row[0] == want[0]
            and isinstance(row[1], (list, tuple))
            and tuple(int(v) for v in row[1]) == want[1]
            and _count(row[2]) == want[2]
        )
        checks.expect(ok, MISTAKES["summary_wrong"], "summary_wrong", row=index + 1)


@pytest.mark.exercise("layer_summary")
def test_layer_summary_on_the_models_device(student, device, grader_models):
    """o modelo noutro dispositivo (o da correção, e "meta", sem valores): a entrada vai para o dispositivo do modelo
    en: the model on another device (the grading one, and "meta", without values): the input goes to the model's device
    """
    kind = "batchnorm"
    shape = SUMMARY_MODELS[kind]
    expected = reference_summary(grader_models[kind](), shape)
    for where in dict.fromkeys([device, "meta"]):  # "meta" shows a CPU-only input on any machine
        handle = student.build(MODELS_SOURCE, kind)
        student.call_handle(handle, ["to"], where, name=f"model.to({where!r})")
        try:
            rows = student.call("layer_summary", handle, shape)
        except StudentError as error:
            if "device" in str(error.error.get("message", "")):
                raise Mistake(MISTAKES["summary_device"], "summary_device", device=where) from None
            raise
        check_summary_rows(rows, expected)


# Executed in the student's process: `inspect(model)` sends back the kept model's state_dict.
INSPECT_SOURCE = Path(hidden_inspect.__file__).read_text(encoding="utf-8")


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
    """4-20-10-3 com Tanh, 343 parâmetros, devolve logits
    en: 4-20-10-3 with Tanh, 343 parameters, returns logits
    """
    model = student.call("build_iris_mlp", keep=True)
    state = (
        student.run_grader_code(INSPECT_SOURCE, "inspect", model, name="build_iris_mlp")
        if isinstance(model, Handle)
        else None
    )
    if not isinstance(state, dict):
        raise Mistake(MISTAKES["not_a_module"], "not_a_module", type=checks.describe_type(model))
    params = sum(int(v.numel()) for k, v in state.items() if k.endswith(("weight", "bias")))
    checks.expect(params == 343, MISTAKES["iris_params"], "iris_params", actual=params)
    x = torch.randn(16, 4, generator=gen(9)) * 2
    student.call_handle(model, ["to"], device, name="build_iris_mlp")
    student.call_handle(model, ["eval"], name="build_iris_mlp")
    out = checks.tensor(student.call_handle(model, [], x, device=device, name="build_iris_mlp"), "modelo(x)")
    checks.shape(out, (16, 3), "modelo(x)")
    checks.logits_not_probabilities(out, "modelo(x)")
    expected = iris_reference(state, x)
    # Logits are defined up to a constant per row: a final LogSoftmax (log-probabilities) is accepted.
    checks.expect(
        expected is not None
        and torch.allclose(row_centered(out.double()), row_centered(expected), atol=1e-4, rtol=1e-4),
        MISTAKES["iris_activation"],
        "iris_activation",
    )


def row_centered(logits: torch.Tensor) -> torch.Tensor:
    """Logits less their row mean: equal for z and z + c(row), e.g. z and log_softmax(z)."""
    return logits - logits.mean(dim=1, keepdim=True)
