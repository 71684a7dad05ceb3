"""Public checks for 06_regularization: the notebook's examples, on the CPU."""

import pytest

from grader.assignments.a06_regularization.common import (
    check_dropout_modes,
    check_dropout_values,
    check_early_stopping,
    check_init_xavier,
    check_l2_penalty,
    check_load_checkpoint,
    check_optimizer_race,
    check_random_shift,
    check_save_checkpoint,
    check_small_digits,
)


@pytest.mark.exercise("l2_penalty")
def test_l2_penalty_linear_of_ones(student):
    """numa Linear(3, 2) com pesos 1, a penalidade é 6 (o viés não conta) e o gradiente passa
    en: on a Linear(3, 2) with weights of 1, the penalty is 6 (the bias does not count) and the gradient flows
    """
    check_l2_penalty(student, "linear_ones", "cpu")


@pytest.mark.exercise("dropout_forward")
def test_dropout_zeroes_and_scales(student):
    """p=0.5 num lote (200, 30): cada elemento 0 ou 2x, cerca de metade zerada, uma máscara por exemplo
    en: p=0.5 on a (200, 30) batch: each element 0 or 2x, about half zeroed, one mask per example
    """
    check_dropout_values(student, "cpu", 0.5, (200, 30))


@pytest.mark.exercise("dropout_forward")
def test_dropout_eval_and_limits(student):
    """training=False devolve x; p=0 devolve x; p=1 dá zeros; p fora de [0, 1] levanta ValueError
    en: training=False returns x; p=0 returns x; p=1 gives zeros; p outside [0, 1] raises ValueError
    """
    check_dropout_modes(student, "cpu")


@pytest.mark.exercise("EarlyStopping")
def test_early_stopping_notebook_example(student):
    """patience=2: as perdas 1,0; 0,8; 0,9; 0,85 dão False, False, False, True
    en: patience=2: the losses 1.0, 0.8, 0.9, 0.85 give False, False, False, True
    """
    check_early_stopping(student, [1.0, 0.8, 0.9, 0.85], 2, None)


@pytest.mark.exercise("random_shift")
def test_random_shift_one_pixel(student):
    """max_shift=1 em 120 imagens (1, 8, 8): cada uma deslocada pelo seu (dy, dx), zeros nas bordas
    en: max_shift=1 on 120 images (1, 8, 8): each moved by its own (dy, dx), zeros at the edges
    """
    check_random_shift(student, "cpu", 120, 1, 8, 1)


@pytest.mark.exercise("save_checkpoint")
def test_save_checkpoint_adam(student):
    """modelo, otimizador (Adam) e época num arquivo lido com weights_only=True; retomar dá o mesmo treino
    en: model, optimizer (Adam) and epoch in one file read with weights_only=True; resuming gives the same training
    """
    check_save_checkpoint(student, "adam", "cpu")


@pytest.mark.exercise("load_checkpoint")
def test_load_checkpoint_adam(student):
    """devolve a época e o treino retomado é idêntico ao que nunca parou (Adam)
    en: returns the epoch and resumed training is identical to the uninterrupted run (Adam)
    """
    check_load_checkpoint(student, "adam", "cpu", "cpu")


@pytest.mark.exercise("init_xavier_")
def test_init_xavier_mixed_model(student):
    """Linear e Conv2d com Xavier uniforme e vieses 0; BatchNorm, LayerNorm e Embedding intactos
    en: Linear and Conv2d with uniform Xavier and zero biases; BatchNorm, LayerNorm and Embedding intact
    """
    check_init_xavier(student, "cpu")


@pytest.mark.exercise("optimizer_race")
def test_optimizer_race_sgd_adam(student):
    """SGD e Adam a partir dos mesmos pesos: as perdas antes de cada passo, e o modelo original intacto
    en: SGD and Adam from the same weights: the losses before each step, and the original model intact
    """
    check_optimizer_race(student, "mlp", ["sgd", "adam"], 10, "cpu")


@pytest.mark.exercise("train_small_digits")
def test_small_digits_accuracy_cpu(student):
    """≥ 93% nas 450 imagens de teste, treinando só nas 100 de small_digits(), na CPU, em até 90 s
    en: ≥ 93% on the 450 test images, training only on small_digits()'s 100, on CPU, within 90 s
    """
    check_small_digits(student, "cpu")
