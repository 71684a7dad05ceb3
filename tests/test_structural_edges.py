"""Two classes of wrong answers the graders name: outputs that are probabilities where the
contract asks for logits (checks.logits_not_probabilities, shared by 02-05), and models and
inputs at the edges for the structural graders (02_tensors' count_trainable_params and
standardize, 05_transfer's freeze, trainable_parameters and make_finetune_optimizer). All
grader-side logic, run here without a child process."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import checks
from grader.assignments.a02_tensors import hidden_models
from grader.assignments.a02_tensors import test_hidden as hidden02
from grader.assignments.a05_transfer.common import (
    INSPECT,
    check_finetune_optimizer,
    check_freeze,
    check_trainable_parameters,
)
from grader.checks import Mistake
from grader.kit.local import InProcessStudent

# ----------------------------------------------------------------------- logits, not probabilities

LOGITS = torch.randn(12, 5, generator=torch.Generator().manual_seed(0)) * 3


@pytest.mark.parametrize(
    "out",
    [
        torch.softmax(LOGITS, dim=1),
        torch.softmax(LOGITS, dim=1).double(),
        torch.softmax(LOGITS, dim=1).half(),
        torch.softmax(LOGITS * 100, dim=1),  # saturated: rows of 0s and one 1
    ],
    ids=["float32", "float64", "float16", "saturated"],
)
def test_probabilities_are_refused_as_logits(out):
    """linhas não negativas que somam 1 são probabilidades: double_softmax
    en: non-negative rows summing to 1 are probabilities: double_softmax
    """
    assert checks.looks_like_probabilities(out)
    with pytest.raises(Mistake) as info:
        checks.logits_not_probabilities(out, "model(X)")
    assert info.value.key == "double_softmax"
    assert "CrossEntropyLoss" in info.value.render("pt") and "CrossEntropyLoss" in info.value.render("en")


@pytest.mark.parametrize(
    "out",
    [
        LOGITS,
        F.log_softmax(LOGITS, dim=1),  # log-probabilities: logits shifted by a constant per row
        torch.log(torch.softmax(LOGITS, dim=1)),
        torch.relu(LOGITS),  # non-negative raw scores that do not sum to 1
        torch.softmax(LOGITS, dim=0),  # columns sum to 1, rows do not
        torch.softmax(LOGITS[:1], dim=1),  # one row alone is not judged
        torch.full((4, 3), float("nan")),  # that is the divergence check's business
    ],
    ids=["logits", "log_softmax", "log_of_softmax", "relu", "softmax_dim0", "one_row", "nan"],
)
def test_logits_and_log_probabilities_are_accepted(out):
    """logits, log-probabilidades (LogSoftmax) e uma linha só passam
    en: logits, log-probabilities (LogSoftmax) and a single row pass
    """
    assert not checks.looks_like_probabilities(out)
    checks.logits_not_probabilities(out, "model(X)")


def test_log_softmax_is_equivalent_to_its_logits():
    """LogSoftmax não muda softmax, argmax nem a entropia cruzada: por isso conta como logits
    en: LogSoftmax changes neither softmax, arg-max nor cross-entropy: that is why it counts as logits
    """
    y = torch.randint(0, 5, (12,), generator=torch.Generator().manual_seed(1))
    logp = F.log_softmax(LOGITS, dim=1)
    assert torch.allclose(torch.softmax(logp, dim=1), torch.softmax(LOGITS, dim=1), atol=1e-6)
    assert torch.equal(logp.argmax(1), LOGITS.argmax(1))
    assert torch.allclose(F.cross_entropy(logp, y), F.cross_entropy(LOGITS, y), atol=1e-6)
    assert torch.allclose(hidden02.row_centered(logp), hidden02.row_centered(LOGITS), atol=1e-5)


# ----------------------------------------------------------------------- 02: counting parameters


@pytest.fixture(scope="module")
def models02():
    return vars(hidden_models)


def count_reference(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_all(model):
    return sum(p.numel() for p in model.parameters())


def count_children_only(model):
    unique = {id(p): p for child in model.children() for p in child.parameters()}
    return sum(p.numel() for p in unique.values() if p.requires_grad)


def count_per_module(model):
    return sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False) if p.requires_grad)


def count_by_value(model):
    kept = []
    for p in model.parameters():
        if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in kept):
            kept.append(p)
    return sum(p.numel() for p in kept)


def test_grader_models_have_the_edges(models02):
    """os modelos do corretor têm parâmetro na raiz, pesos compartilhados e gêmeos de mesmo valor
    en: the grader's models have a root parameter, shared weights and equal-valued twins
    """
    for kind in ("rooted", *[f"generated_{seed}" for seed in hidden02.GENERATED_SEEDS]):
        name, args = hidden02.builder(kind)
        model = models02[name](*args)
        assert list(model.parameters(recurse=False)), kind
        assert count_children_only(model) < count_reference(model), kind
    for kind in ("twins", *[f"generated_{seed}" for seed in hidden02.GENERATED_SEEDS]):
        name, args = hidden02.builder(kind)
        model = models02[name](*args)
        assert count_by_value(model) < count_reference(model), kind
        assert count_per_module(model) > count_reference(model), kind  # a weight tied across layers


@settings(derandomize=True, max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**20))
def test_count_diagnosis_on_generated_networks(models02, seed):
    """em redes sorteadas, a contagem certa passa e cada deslize conhecido recebe a sua dica
    en: on drawn networks the right count passes and each known slip gets its own hint
    """
    model = models02["generated"](seed)
    model(torch.zeros(2, model.inp.in_features))  # a working network
    assert hidden02.count_mistake(model, count_reference(model)) is None
    assert hidden02.count_mistake(model, count_children_only(model)) == "root_parameters"
    if count_all(model) != count_reference(model):
        assert hidden02.count_mistake(model, count_all(model)) == "counts_frozen"
    if count_per_module(model) != count_reference(model):
        assert hidden02.count_mistake(model, count_per_module(model)) == "counts_shared_twice"
    if count_by_value(model) not in (count_reference(model), count_children_only(model)):
        assert hidden02.count_mistake(model, count_by_value(model)) == "dedup_by_value"


# ----------------------------------------------------------------------- 02: standardize at the edges


def standardize_torch_where(x):  # the reference
    mean, std = x.mean(dim=0, keepdim=True), x.std(dim=0, correction=0, keepdim=True)
    return torch.where(std > 0, (x - mean) / torch.where(std > 0, std, torch.ones_like(std)), torch.zeros_like(x))


def standardize_manual_where(x):
    mean = x.sum(dim=0) / x.shape[0]
    std = (((x - mean) ** 2).sum(dim=0) / x.shape[0]).sqrt()
    return torch.where(std == 0, torch.zeros_like(x), (x - mean) / std)


def standardize_std_zero_to_one(x):
    std = x.std(0, correction=0).clone()
    std[std == 0] = 1
    return (x - x.mean(0)) / std


def standardize_nan_to_num(x):
    return torch.nan_to_num((x - x.mean(dim=0)) / x.std(dim=0, correction=0), nan=0.0)


def standardize_epsilon(x):
    return (x - x.mean(dim=0)) / (x.std(dim=0, correction=0) + 1e-8)


def standardize_naive_variance(x):
    mean = x.mean(dim=0)
    std = ((x**2).mean(dim=0) - mean**2).clamp_min(0).sqrt()
    return torch.where(std > 0, (x - mean) / torch.where(std > 0, std, torch.ones_like(std)), torch.zeros_like(x))


def standardize_sample_std(x):
    mean, std = x.mean(dim=0, keepdim=True), x.std(dim=0, keepdim=True)
    return torch.where(std > 0, (x - mean) / torch.where(std > 0, std, torch.ones_like(std)), torch.zeros_like(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    "function, expected",
    [
        (standardize_torch_where, None),
        (standardize_manual_where, None),  # ±1 on the inexact constant column: accepted
        (standardize_std_zero_to_one, None),
        (standardize_nan_to_num, "constant_column"),  # ±max float there
        (standardize_epsilon, "std_epsilon"),
        (standardize_naive_variance, "naive_variance"),
        (standardize_sample_std, "sample_std"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_standardize_edges(function, expected, dtype):
    """colunas nas bordas: constante de média inexata, média enorme, desvio minúsculo
    en: columns at the edges: constant with an inexact mean, huge mean, tiny deviation
    """
    keys = [hidden02.standardize_mistake(function(x), x, kinds) for x, kinds in hidden02.standardize_inputs(dtype)]
    assert next((k for k in keys if k is not None), None) == expected, keys


def test_standardize_edge_inputs_are_what_they_claim():
    """a coluna constante de 0,1 tem média inexata; as outras bordas têm desvio definido
    en: the constant 0.1 column has an inexact float mean; the other edges have a defined deviation
    """
    for dtype in (torch.float32, torch.float64):
        x, kinds = hidden02.standardize_inputs(dtype)[-1]
        inexact = next(j for j, kind in kinds.items() if kind == "inexact")
        assert bool((x[:, inexact] == x[0, inexact]).all())
        assert bool((x[:, inexact] - x[:, inexact].mean() != 0).any())  # the float mean is not exact
        for j, kind in kinds.items():
            if kind in ("offset", "tiny"):
                assert float(x[:, j].double().std(correction=0)) > 0


# ----------------------------------------------------------------------- 05: the structural graders


def reference_trainable(model):
    return [p for p in model.parameters() if p.requires_grad]


def trainable_children_only(model):
    found, seen = [], set()
    for child in model.children():
        for p in child.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                found.append(p)
    return found


def trainable_by_value(model):
    found = []
    for p in model.parameters():
        if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in found):
            found.append(p)
    return found


def freeze_reference(model):
    return model.requires_grad_(False)


def freeze_children_only(model):
    for child in model.children():
        child.requires_grad_(False)
    return model


def optimizer_reference(model, head_lr, backbone_lr):
    head = {id(p) for p in model.fc.parameters()}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head]
    return torch.optim.Adam([{"params": model.fc.parameters(), "lr": head_lr}, {"params": body, "lr": backbone_lr}])


def optimizer_by_prefix(model, head_lr, backbone_lr):
    head = [p for name, p in model.named_parameters() if name.startswith("fc")]
    body = [p for name, p in model.named_parameters() if not name.startswith("fc") and p.requires_grad]
    return torch.optim.Adam([{"params": head, "lr": head_lr}, {"params": body, "lr": backbone_lr}])


def optimizer_by_prefix_with_dot(model, head_lr, backbone_lr):
    head = [p for name, p in model.named_parameters() if name.startswith("fc.")]
    body = [p for name, p in model.named_parameters() if not name.startswith("fc.") and p.requires_grad]
    return torch.optim.Adam([{"params": head, "lr": head_lr}, {"params": body, "lr": backbone_lr}])


def optimizer_children_only(model, head_lr, backbone_lr):
    body = {
        id(p): p
        for name, child in model.named_children()
        if name != "fc"
        for p in child.parameters()
        if p.requires_grad
    }
    return torch.optim.Adam(
        [{"params": model.fc.parameters(), "lr": head_lr}, {"params": list(body.values()), "lr": backbone_lr}]
    )


def outcome(check, *args) -> str | None:
    try:
        check(*args)
    except Mistake as exc:
        return exc.key
    return None


@pytest.mark.parametrize(
    "function, expected",
    [
        (reference_trainable, None),
        (trainable_children_only, "root_parameters"),
        (trainable_by_value, "dedup_by_value"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_trainable_parameters_on_the_prefixed_model(function, expected):
    """parâmetro na raiz e gêmeos de mesmo valor no modelo `prefixed`
    en: a root parameter and equal-valued twins in the `prefixed` model
    """
    student = InProcessStudent({"trainable_parameters": function}).start()
    assert outcome(check_trainable_parameters, student, "prefixed", "none") == expected


@pytest.mark.parametrize(
    "function, expected",
    [
        (freeze_reference, None),
        (freeze_children_only, "root_parameters"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_freeze_on_the_prefixed_model(function, expected):
    """congelar só os filhos esquece o parâmetro da raiz
    en: freezing only the children misses the root's parameter
    """
    student = InProcessStudent({"freeze": function}).start()
    assert outcome(check_freeze, student, "prefixed", "none") == expected


@pytest.mark.parametrize(
    "function, expected",
    [
        (optimizer_reference, None),
        (optimizer_by_prefix_with_dot, None),
        (optimizer_by_prefix, "head_by_prefix"),
        (optimizer_children_only, "root_parameters"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_finetune_optimizer_on_the_prefixed_model(function, expected):
    """cabeça por prefixo `fc` pega fc1 e fc_norm; só os filhos esquece a raiz
    en: a head found by the `fc` prefix catches fc1 and fc_norm; only the children misses the root
    """
    student = InProcessStudent({"make_finetune_optimizer": function}).start()
    assert outcome(check_finetune_optimizer, student, "prefixed", "none", 0.03, 0.0002) == expected


def test_prefixed_model_has_the_edges():
    """o modelo `prefixed`: nomes do backbone com prefixo fc, parâmetro na raiz, gêmeos de mesmo valor
    en: the `prefixed` model: backbone names with the fc prefix, a root parameter, equal-valued twins
    """
    namespace: dict = {}
    exec(INSPECT, namespace)
    model = namespace["build"]("prefixed", "none")
    names = [name for name, _ in model.named_parameters()]
    assert [n for n in names if n.startswith("fc") and not n.startswith("fc.")]
    assert [n for n in names if "." not in n]
    assert len(namespace["distinct_by_value"](model)) < len(names)
    assert model(torch.zeros(3, 2, 6, 6)).shape == (3, 4)
    assert isinstance(model.fc, nn.Linear)
