"""The graders' student-side modules (`hidden_*.py`, and the public `probes.py` and
`harness.py` the self-checks also use): code sent as source to the student's process and
executed there (`StudentSession.run_grader_code`), in a namespace of its own where only
`grader.kit` of the package can be imported. Here: each one stands alone on torch, the
kit and the standard library, and does there what the graders expect, through the same worker code path
(`InProcessStudent`: the worker in this process, plain data across a JSON round trip)."""

import ast
import importlib
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader import checks
from grader.assignments.a02_tensors import hidden_inspect, hidden_models
from grader.assignments.a02_tensors import test_hidden as hidden02
from grader.assignments.a04_cnn import common as common04
from grader.assignments.a04_cnn import probes as probes04
from grader.assignments.a04_cnn import test_hidden as hidden04
from grader.assignments.a05_transfer import common as common05
from grader.assignments.a05_transfer import probes as probes05
from grader.assignments.a06_regularization import common as common06
from grader.assignments.a06_regularization import probes as probes06
from grader.engine.protocol import Handle
from grader.kit import forbid as forbid_module
from grader.kit.local import InProcessStudent

ASSIGNMENTS = Path(__file__).resolve().parent.parent / "grader" / "assignments"
HIDDEN_MODULES = [
    *sorted(
        [*ASSIGNMENTS.glob("a*/hidden_*.py"), *ASSIGNMENTS.glob("a*/probes.py"), *ASSIGNMENTS.glob("a*/harness.py")]
    ),
    Path(forbid_module.__file__),  # the kit's, sent by grader.checks.forbidding
]


def test_the_hidden_modules_are_found():
    names = {f"{p.parent.name}/{p.name}" for p in HIDDEN_MODULES}
    assert names >= {
        "a02_tensors/hidden_models.py",
        "a02_tensors/hidden_inspect.py",
        "kit/forbid.py",
        "a04_cnn/probes.py",
        "a05_transfer/probes.py",
        "a06_regularization/probes.py",
        "a03_training/harness.py",
    }


def imported_packages(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(_package(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import cannot work in the student's process"
            found.add(_package(node.module))
    return found


def _package(module: str) -> str:
    """The top-level package, except `grader.kit` (the part of `grader` the student's process sees)."""
    return "grader.kit" if module.startswith("grader.kit") else module.split(".")[0]


@pytest.mark.parametrize("path", HIDDEN_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_hidden_module_needs_only_torch_and_the_standard_library(path):
    """importa só torch, o kit e a biblioteca padrão, e roda como texto num namespace próprio
    en: imports only torch, the kit and the standard library, and runs as plain source in a namespace of its own
    """
    source = path.read_text(encoding="utf-8")
    assert ast.get_docstring(ast.parse(source)), path
    # torchvision where a grader needs it (optional: such graders skip without it)
    assert imported_packages(source) <= {"torch", "torchvision", "grader.kit", *sys.stdlib_module_names}
    scope = {"__name__": "grader_builder"}  # as engine.worker.Worker.op_build runs it
    exec(compile(source, "<grader>", "exec"), scope)


def test_the_graders_send_the_modules_text():
    sent = {
        hidden_models: [hidden02.MODELS_SOURCE],
        hidden_inspect: [hidden02.INSPECT_SOURCE],
        forbid_module: [checks.FORBID_SOURCE],
        probes04: [common04.HAS_LAYER],
        probes05: [common05.INSPECT],
        probes06: [common06.PROBES],
    }
    for module, sources in sent.items():
        text = Path(module.__file__).read_text(encoding="utf-8")
        assert all(source == text for source in sources), module.__name__


@pytest.fixture
def student():
    return InProcessStudent({}).start()


def test_every_model_the_graders_name_has_a_builder():
    kinds = [*hidden02.COUNT_MODELS, *hidden02.SUMMARY_MODELS]
    for kind in kinds:
        name, args = hidden02.builder(kind)
        assert isinstance(getattr(hidden_models, name)(*args), nn.Module), kind


@pytest.mark.parametrize("kind", ["tied", "rooted", "batchnorm", "generated_5"])
def test_models_built_there_and_here_are_the_same(student, kind):
    """o modelo construído no processo do aluno e a cópia de referência têm os mesmos pesos
    en: the model built in the student's process and the reference copy have the same weights
    """
    name, args = hidden02.builder(kind)
    handle = student.build(hidden02.MODELS_SOURCE, name, *args)
    assert isinstance(handle, Handle)
    there = student.run_grader_code(hidden02.INSPECT_SOURCE, "inspect", handle)
    here = getattr(hidden_models, name)(*args).state_dict()
    assert list(there) == list(here)
    assert all(torch.equal(there[k], here[k]) for k in here)


def test_inspect_copies_a_modules_state_and_refuses_anything_else(student):
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    state = hidden_inspect.inspect(model)
    assert set(state) == set(model.state_dict())
    state["0.weight"].zero_()
    assert not torch.equal(model[0].weight.detach(), state["0.weight"])  # a copy
    assert not state["0.weight"].requires_grad
    assert hidden_inspect.inspect(torch.zeros(3)) is None
    assert student.run_grader_code(hidden02.INSPECT_SOURCE, "inspect", 3) is None


@pytest.mark.parametrize(
    "targets, marker, blocked, allowed",
    [
        (
            hidden04.CONV_FUNCTIONS,
            hidden04.CONV_FORBIDDEN,
            [
                lambda x: F.conv2d(x, torch.randn(3, 2, 3, 3)),
                lambda x: torch.conv2d(x, torch.randn(3, 2, 3, 3)),
                lambda x: nn.Conv2d(2, 3, 3)(x),
            ],
            lambda x: F.unfold(x, 3),  # im2col stays allowed
        ),
        (
            common06.DROPOUT_FUNCTIONS,
            common06.DROPOUT_FORBIDDEN,
            [lambda x: F.dropout(x, 0.5), lambda x: torch.dropout(x, 0.5, True), lambda x: nn.Dropout(0.5)(x)],
            lambda x: torch.rand(x.shape) >= 0.5,
        ),
    ],
    ids=["04 convolutions", "06 dropout"],
)
def test_forbidding_blocks_the_library_functions_until_the_block_ends(student, targets, marker, blocked, allowed):
    """durante o bloco, as funções da biblioteca levantam o marcador; depois, voltam as originais
    en: inside the block the library's functions raise the marker; afterwards the originals are back
    """
    x = torch.randn(1, 2, 5, 5)
    originals = [library_function(t) for t in targets]
    with checks.forbidding(student, targets, marker, "exercise"):
        for call in blocked:
            with pytest.raises(RuntimeError, match=marker.split(":")[0]):
                call(x)
        allowed(x)
    assert [library_function(t) for t in targets] == originals
    assert nn.Conv2d(2, 3, 3)(x).shape == (1, 3, 3, 3) and F.dropout(x, 0.5).shape == x.shape


def library_function(target: list[str]):
    owner = importlib.import_module(target[0])
    for part in target[1].split("."):
        owner = getattr(owner, part)
    return owner
