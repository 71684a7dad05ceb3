"""Public checks for 05_transfer: one model per exercise, on the CPU."""

import pytest

from grader.assignments.a05_transfer.common import (
    check_finetune_accuracy,
    check_finetune_optimizer,
    check_freeze,
    check_probe_accuracy,
    check_probe_backbone,
    check_replace_head,
    check_trainable_parameters,
)


@pytest.mark.exercise("freeze")
def test_freeze_small_cnn(student):
    """congela todos os parâmetros de uma CNN pequena e devolve o mesmo modelo
    en: freezes every parameter of a small CNN and returns the same model
    """
    check_freeze(student, "head_first")


@pytest.mark.exercise("replace_head")
def test_replace_head_on_frozen_backbone(student):
    """na rede pré-treinada congelada, model.fc vira uma Linear(256, 3) treinável; o resto segue congelado
    en: on the frozen pretrained network, model.fc becomes a trainable Linear(256, 3); the rest stays frozen
    """
    check_replace_head(student, "digitnet", "all", 3)


@pytest.mark.exercise("trainable_parameters")
def test_trainable_parameters_partly_frozen(student):
    """numa CNN com parte dos parâmetros congelada, só os treináveis, na ordem de model.parameters()
    en: on a partly frozen CNN, only the trainable ones, in model.parameters() order
    """
    check_trainable_parameters(student, "head_first", "some")


@pytest.mark.exercise("make_finetune_optimizer")
def test_finetune_optimizer_two_rates(student):
    """model.fc com head_lr=0.01 e o resto da rede pré-treinada com backbone_lr=0.001
    en: model.fc with head_lr=0.01 and the rest of the pretrained network with backbone_lr=0.001
    """
    check_finetune_optimizer(student, "digitnet", "none", 0.01, 0.001)


@pytest.mark.exercise("train_linear_probe")
def test_linear_probe_keeps_backbone_cpu(student):
    """o backbone volta idêntico ao pré-treinado, estatísticas da BatchNorm incluídas (CPU)
    en: the backbone comes back identical to the pretrained one, BatchNorm statistics included (CPU)
    """
    check_probe_backbone(student, "cpu")


@pytest.mark.exercise("train_linear_probe")
def test_linear_probe_accuracy_cpu(student):
    """≥ 85% nos dígitos 5-9 de teste de target_task(), na CPU, em até 60 s
    en: ≥ 85% on the test digits 5-9 of target_task(), on CPU, within 60 s
    """
    check_probe_accuracy(student, "cpu")


@pytest.mark.exercise("finetune")
def test_finetune_accuracy_cpu(student):
    """≥ 90% nos dígitos 5-9 de teste de target_task(), na CPU, em até 90 s
    en: ≥ 90% on the test digits 5-9 of target_task(), on CPU, within 90 s
    """
    check_finetune_accuracy(student, "cpu")
