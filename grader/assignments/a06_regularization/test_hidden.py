"""Hidden graders for 06_regularization (never released to students).

Other models (a weight shared by two layers, BatchNorm, a model without weights), other
shapes, rates and loss sequences, SGD with momentum besides Adam, checkpoints written on one
device and read on another, four optimizers racing a CNN; the trained model is evaluated by
the grader on the test split, on each device.
"""

import pytest

from grader.assignments.a06_regularization.common import (
    check_dropout_generator,
    check_dropout_modes,
    check_dropout_values,
    check_early_stopping,
    check_init_xavier,
    check_l2_penalty,
    check_load_checkpoint,
    check_optimizer_race,
    check_random_shift,
    check_save_checkpoint,
    check_shift_zero_and_generator,
    check_small_digits,
)


@pytest.mark.exercise("l2_penalty")
@pytest.mark.parametrize("kind", ["tied", "cnn", "bias_only"])
def test_l2_penalty_models(student, device, kind):
    """só pesos com mais de uma dimensão, um peso compartilhado uma vez, tensor 0-d com gradiente, no dispositivo
    en: only weights with more than one dimension, a shared weight once, a 0-d tensor with gradient, on the device
    """
    check_l2_penalty(student, kind, device)


@pytest.mark.exercise("dropout_forward")
@pytest.mark.parametrize("p, shape", [(0.2, (400, 25)), (0.75, (50, 4, 6, 6))])
def test_dropout_statistics(student, device, p, shape):
    """zera cada elemento com probabilidade p, divide os outros por 1 - p, uma máscara por elemento
    en: zeroes each element with probability p, divides the others by 1 - p, a mask per element
    """
    check_dropout_values(student, device, p, shape)


@pytest.mark.exercise("dropout_forward")
def test_dropout_modes_on_device(student, device):
    """avaliação, p=0, p=1 e p inválido, no dispositivo
    en: evaluation, p=0, p=1 and an invalid p, on the device
    """
    check_dropout_modes(student, device)


@pytest.mark.exercise("dropout_forward")
def test_dropout_uses_the_generator(student, device):
    """a mesma semente do gerador repete a saída exatamente; outra semente muda a máscara
    en: the same generator seed repeats the output exactly; another seed changes the mask
    """
    check_dropout_generator(student, device)


@pytest.mark.exercise("EarlyStopping")
@pytest.mark.parametrize(
    "losses, patience, min_delta, as_tensor",
    [
        ([0.5, 0.52, 0.51, 0.53, 0.52, 0.49, 0.5], 3, None, False),
        ([1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.81, 0.82], 2, None, True),
        ([1.0, 0.995, 0.985, 0.97, 0.969, 0.968, 0.967], 2, 0.01, False),
        ([2.0, 1.0, 1.0, 1.0, 0.5, 0.6], None, None, False),
        ([0.3, 0.4, 0.2, 0.25, 0.21, 0.22, 0.1], 1, 0.0, False),
    ],
)
def test_early_stopping_sequences(student, losses, patience, min_delta, as_tensor):
    """compara com a melhor perda, conta a paciência, respeita min_delta, aceita tensores 0-d
    en: compares with the best loss, counts patience, honours min_delta, accepts 0-d tensors
    """
    check_early_stopping(student, losses, patience, min_delta, as_tensor)


@pytest.mark.exercise("random_shift")
@pytest.mark.parametrize("n, c, size, m", [(400, 3, 7, 2), (90, 2, 9, 1)])
def test_random_shift_batches(student, device, n, c, size, m):
    """cada imagem com o seu deslocamento, todos os canais juntos, todo deslocamento possível aparece
    en: each image with its own offset, all channels together, every possible offset occurs
    """
    check_random_shift(student, device, n, c, size, m)


@pytest.mark.exercise("random_shift")
def test_random_shift_zero_and_generator(student, device):
    """max_shift=0 devolve x; o mesmo gerador repete o sorteio
    en: max_shift=0 returns x; the same generator repeats the draw
    """
    check_shift_zero_and_generator(student, device)


@pytest.mark.exercise("save_checkpoint")
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_save_checkpoint_resumes(student, device, optimizer):
    """o arquivo tem modelo, otimizador e época; retomado dele, o treino continua igual
    en: the file holds model, optimizer and epoch; resumed from it, training continues identically
    """
    check_save_checkpoint(student, optimizer, device)


@pytest.mark.exercise("load_checkpoint")
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_load_checkpoint_resumes(student, device, optimizer):
    """no formato do seu save_checkpoint: a época volta e o treino retomado é idêntico
    en: in your save_checkpoint's layout: the epoch comes back and resumed training is identical
    """
    check_load_checkpoint(student, optimizer, device, device)


@pytest.mark.exercise("load_checkpoint")
def test_load_checkpoint_across_devices(student, device):
    """um arquivo salvo em um dispositivo abre em outro (map_location)
    en: a file saved on one device opens on another (map_location)
    """
    check_load_checkpoint(student, "sgd", device, "cpu")


@pytest.mark.exercise("init_xavier_")
def test_init_xavier_on_device(student, device):
    """Xavier uniforme com os fans certos (Conv2d inclui o núcleo), vieses 0, o resto intacto, no dispositivo
    en: uniform Xavier with the right fans (Conv2d includes the kernel), zero biases, the rest intact, on the device
    """
    check_init_xavier(student, device)


@pytest.mark.exercise("optimizer_race")
@pytest.mark.parametrize(
    "kind, makers, steps",
    [("cnn", ["sgd", "momentum", "adam", "adagrad"], 8), ("mlp", ["adagrad", "momentum"], 15)],
)
def test_optimizer_race_models(student, device, kind, makers, steps):
    """cada otimizador numa cópia dos mesmos pesos iniciais, perdas antes de cada passo, floats
    en: each optimizer on a copy of the same initial weights, losses before each step, floats
    """
    check_optimizer_race(student, kind, makers, steps, device)


@pytest.mark.exercise("train_small_digits")
def test_small_digits_accuracy(student, device):
    """≥ 93% no teste, medidos pelo corretor, sem ter treinado com imagens de teste, no dispositivo
    en: ≥ 93% on the test split, measured by the grader, without training on test images, on the device
    """
    check_small_digits(student, device)
