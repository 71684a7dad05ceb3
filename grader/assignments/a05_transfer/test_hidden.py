"""Hidden graders for 05_transfer (never released to students).

The structural exercises get models the student never saw (a head declared before the
body, a weight shared by two layers, a parameter on the model itself with backbone layers
named like the head (fc1, fc_norm) and parameters equal in value but distinct, the course's
DigitNet, torchvision's ResNet-18 where torchvision is installed) in several freezing states; the trained models are evaluated by
the grader on the target task's test split, on each device.
"""

import pytest

from grader.assignments.a05_transfer.common import (
    check_finetune_accuracy,
    check_finetune_optimizer,
    check_finetuned_backbone,
    check_freeze,
    check_probe_accuracy,
    check_probe_backbone,
    check_replace_head,
    check_trainable_parameters,
)

TORCHVISION_MISSING = "torchvision não está instalado / torchvision is not installed (optional)"


def torchvision_resnet():
    pytest.importorskip("torchvision", reason=TORCHVISION_MISSING)
    return "resnet18"


@pytest.mark.exercise("freeze")
@pytest.mark.parametrize(
    "kind, frozen", [("tied", "none"), ("digitnet", "some"), ("head_first", "all"), ("prefixed", "none")]
)
def test_freeze_models(student, kind, frozen):
    """congela todos os parâmetros (pesos compartilhados, BatchNorm, já em parte congelados), sem mudar valores
    en: freezes every parameter (shared weights, BatchNorm, partly frozen already) without changing values
    """
    check_freeze(student, kind, frozen)


@pytest.mark.exercise("freeze")
def test_freeze_torchvision_resnet(student):
    """congela uma ResNet-18 do torchvision (weights=None)
    en: freezes a torchvision ResNet-18 (weights=None)
    """
    check_freeze(student, torchvision_resnet())


@pytest.mark.exercise("replace_head")
@pytest.mark.parametrize(
    "kind, frozen, classes",
    [
        ("head_first", "none", 3),
        ("tied", "some", 6),
        ("digitnet", "all", 5),
        ("digitnet", "all", 2),
        ("prefixed", "some", 3),
    ],
)
def test_replace_head_models(student, device, kind, frozen, classes):
    """model.fc nova, Linear(in_features, num_classes) treinável no dispositivo do modelo; o resto intacto
    en: a new model.fc, a trainable Linear(in_features, num_classes) on the model's device; the rest intact
    """
    check_replace_head(student, kind, frozen, classes, device)


@pytest.mark.exercise("replace_head")
def test_replace_head_torchvision_resnet(student):
    """uma ResNet-18 do torchvision congelada ganha uma cabeça Linear(512, 10) treinável
    en: a frozen torchvision ResNet-18 gets a trainable Linear(512, 10) head
    """
    check_replace_head(student, torchvision_resnet(), "all", 10)


@pytest.mark.exercise("trainable_parameters")
@pytest.mark.parametrize(
    "kind, frozen",
    [("tied", "some"), ("digitnet", "all"), ("digitnet", "none"), ("head_first", "some"), ("prefixed", "none")],
)
def test_trainable_parameters_models(student, kind, frozen):
    """só os que exigem gradiente, cada um uma vez (pesos compartilhados também), na ordem; vazia se tudo congelado
    en: only those that require grad, each once (shared weights too), in order; empty if all are frozen
    """
    check_trainable_parameters(student, kind, frozen)


@pytest.mark.exercise("make_finetune_optimizer")
@pytest.mark.parametrize(
    "kind, frozen, head_lr, backbone_lr, keywords",
    [
        ("head_first", "none", 0.02, 0.0007, False),
        ("digitnet", "some_backbone", 0.05, 0.0003, True),
        ("tied", "none", 0.1, 0.01, True),
        ("prefixed", "none", 0.03, 0.0002, False),
    ],
)
def test_finetune_optimizer_models(student, kind, frozen, head_lr, backbone_lr, keywords):
    """cada parâmetro treinável num grupo só: model.fc com head_lr, o resto com backbone_lr
    en: each trainable parameter in exactly one group: model.fc with head_lr, the rest with backbone_lr
    """
    check_finetune_optimizer(student, kind, frozen, head_lr, backbone_lr, keywords)


@pytest.mark.exercise("make_finetune_optimizer")
def test_finetune_optimizer_torchvision_resnet(student):
    """os grupos certos numa ResNet-18 do torchvision
    en: the right groups on a torchvision ResNet-18
    """
    check_finetune_optimizer(student, torchvision_resnet(), "none", 0.01, 0.0001)


@pytest.mark.exercise("train_linear_probe")
def test_linear_probe_keeps_backbone(student, device):
    """o backbone idêntico bit a bit ao pré-treinado, estatísticas da BatchNorm incluídas, no dispositivo pedido
    en: the backbone bit-for-bit identical to the pretrained one, BatchNorm statistics included, on the requested device
    """
    check_probe_backbone(student, device)


@pytest.mark.exercise("train_linear_probe")
def test_linear_probe_accuracy(student, device):
    """≥ 85% nos dígitos 5-9 de teste, medidos pelo corretor, no dispositivo pedido, em até 60 s
    en: ≥ 85% on the test digits 5-9, measured by the grader, on the requested device, within 60 s
    """
    check_probe_accuracy(student, device)


@pytest.mark.exercise("finetune")
def test_finetune_accuracy(student, device):
    """≥ 90% nos dígitos 5-9 de teste, medidos pelo corretor, no dispositivo pedido, em até 90 s
    en: ≥ 90% on the test digits 5-9, measured by the grader, on the requested device, within 90 s
    """
    check_finetune_accuracy(student, device)


@pytest.mark.exercise("finetune")
def test_finetune_trains_the_pretrained_backbone(student, device):
    """o backbone mudou (a rede inteira treinou) e continua vindo dos pesos pré-treinados
    en: the backbone changed (the whole network trained) and still comes from the pretrained weights
    """
    check_finetuned_backbone(student, device)
