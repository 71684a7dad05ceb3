"""Public checks for 03_training: the notebook's own examples, judged by definitions
(no reference solution needed, so they run in the student's kernel too)."""

import numpy as np
import pytest
import torch

from grader import checks
from grader.assignments.a03_training import MISTAKES
from grader.assignments.a03_training.runs import (
    HARNESS_SOURCE,
    IRIS_INPUTS,
    TRAIN,
    VAL,
    Run,
    batches_of,
    check_evaluation,
    check_history_shape,
    classification_data,
    close_number,
    evaluation_expected,
    iris_accuracy,
    loader_passes,
    logged_losses,
    loss_number,
    spec,
    trained_iris,
    training_mistake,
)
from grader.assignments.a03_training.xor import check_seeds
from grader.checks import Mistake


@pytest.mark.exercise("make_iris_loaders")
def test_loaders_default(student):
    """120 amostras de treino e 30 de validação (10 de cada classe), X float32 e y int64
    en: 120 training and 30 validation samples (10 of each class), X float32 and y int64
    """
    passes = loader_passes(student)
    train, val = batches_of(passes["train"][0], TRAIN), batches_of(passes["val"][0], VAL)
    got_train, got_val = sum(len(y) for _, y in train), sum(len(y) for _, y in val)
    checks.expect(
        (got_train, got_val) == (120, 30),
        MISTAKES["split_sizes"],
        "split_sizes",
        fraction=0.2,
        train=120,
        val=30,
        got_train=got_train,
        got_val=got_val,
    )
    counts = np.bincount(torch.cat([y for _, y in val]).numpy(), minlength=3).tolist()
    checks.expect(counts == [10, 10, 10], MISTAKES["not_stratified"], "not_stratified", counts=counts)


@pytest.mark.exercise("gradient_descent")
def test_gradient_descent_parabola(student):
    """f(x) = Σ(x − 3)²: um passo de 0 com lr = 0.1 dá 0.6; x0 fica intacto
    en: f(x) = Σ(x − 3)²: one step from 0 with lr = 0.1 gives 0.6; x0 stays intact
    """
    source = "def parabola(x):\n    return ((x - 3) ** 2).sum()\n"
    f = student.run_grader_code(HARNESS_SOURCE, "make_recorder", source, "parabola", keep=True, name="f")
    x0 = torch.zeros(2)
    got, (_, x0_after, *_) = student.call("gradient_descent", f, x0, 0.1, 1, return_args=True)
    checks.expect(
        isinstance(x0_after, torch.Tensor) and torch.equal(x0_after, x0), MISTAKES["gd_modifies_x0"], "gd_modifies_x0"
    )
    got = checks.tensor(got, "gradient_descent(f, zeros(2), 0.1, 1)")
    if torch.allclose(got, torch.full((2,), -0.6)):
        raise Mistake(MISTAKES["gd_ascent"], "gd_ascent")
    checks.close(got, torch.full((2,), 0.6), "gradient_descent(f, zeros(2), 0.1, 1)")
    many = checks.tensor(student.call("gradient_descent", f, x0, 0.1, 50), "gradient_descent(f, zeros(2), 0.1, 50)")
    checks.close(many, torch.full((2,), 3.0), "gradient_descent(f, zeros(2), 0.1, 50)", atol=1e-3)


@pytest.mark.exercise("train_one_epoch")
def test_train_one_epoch_steps(student):
    """zero_grad → forward → perda → backward → step a cada lote; devolve a média por amostra
    en: zero_grad → forward → loss → backward → step on every batch; returns the per-sample mean
    """
    run = Run.start(student, spec("dropout", "SGD", lr=0.1, mode="eval"), classification_data(0, 19), "cpu")
    value = student.call("train_one_epoch", run.model, run.train_loader, run.loss_fn, run.optimizer, "cpu")
    facts = run.facts(student)
    loss = loss_number(value, "train_one_epoch(...)")
    mistake = training_mistake(facts["events"])
    if mistake is not None:
        raise Mistake(MISTAKES[mistake], mistake)
    batches = logged_losses(facts["events"])
    checks.expect(len(batches) == 3, MISTAKES["epoch_wrong"], "epoch_wrong")
    weighted = sum(v * n for v, n in batches) / sum(n for _, n in batches)
    if not close_number(loss, weighted):
        unweighted = sum(v for v, _ in batches) / len(batches)
        key = "unweighted_mean" if close_number(loss, unweighted) else "loss_wrong"
        raise Mistake(MISTAKES[key], key, what="train_one_epoch(...)", actual=loss, expected=weighted)


@pytest.mark.exercise("evaluate")
def test_evaluate_definitions(student):
    """modo de avaliação, sem gradientes, pesos intactos, perda e acurácia certas
    en: eval mode, no gradients, weights intact, correct loss and accuracy
    """
    run = Run.start(student, spec("dropout_batchnorm", "SGD", lr=0.1), classification_data(0, 8, 19), "cpu")
    result = student.call("evaluate", run.model, run.val_loader, run.loss_fn, "cpu")
    check_evaluation(result, run, run.facts(student), "evaluate(...)")


@pytest.mark.exercise("fit")
def test_fit_keeps_best(student):
    """uma entrada por época; no fim, a perda de validação do modelo é a menor do histórico
    en: one entry per epoch; at the end, the model's validation loss is the lowest in the history
    """
    run = Run.start(
        student,
        spec("batchnorm", "SGD", lr=0.2, momentum=0.9, seed=6),
        classification_data(6, 40, 20, noise=0.5),
        "cpu",
    )
    history = student.call(
        "fit", run.model, run.train_loader, run.val_loader, run.loss_fn, run.optimizer, "cpu", 6, timeout=30
    )
    facts = run.facts(student)
    history = check_history_shape(history, 6)
    final_loss, _ = evaluation_expected(run, facts["state"])
    best = int(np.argmin(history["val_loss"])) + 1
    if not close_number(final_loss, min(history["val_loss"])):
        key = "best_not_kept" if close_number(final_loss, history["val_loss"][-1]) else "best_wrong"
        raise Mistake(MISTAKES[key], key, best=best)


@pytest.mark.exercise("train_iris")
def test_train_iris_cpu(student):
    """≥ 95% de acurácia nas 150 amostras (medidas brutas), na CPU
    en: ≥ 95% accuracy on the 150 samples (raw measurements), on CPU
    """
    accuracy = iris_accuracy(student, trained_iris(student, "cpu"), IRIS_INPUTS, "cpu")
    checks.expect(accuracy >= 0.95, MISTAKES["iris_accuracy"], "iris_accuracy", accuracy=accuracy, device="cpu")


@pytest.mark.exercise("train_xor_mlp")
def test_train_xor_mlp_seeds(student):
    """treinada (um backward rodou) e certa nos quatro pontos do XOR para as sementes 0 e 1, que dão redes diferentes
    en: trained (a backward pass ran) and right on the four XOR points for seeds 0 and 1, which give different networks
    """
    check_seeds(student, [0, 1], "cpu")
