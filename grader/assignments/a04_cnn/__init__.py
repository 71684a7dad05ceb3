"""04_cnn: output sizes, parameter counts, convolution by hand, the conv block, CNNs.

`LADDER`: each exercise's hint ladder; `MISTAKES`: feedback for the known mistakes the
graders recognise (../shared/research/common-mistakes.md §11-13).
"""

import random

from grader.i18n import Text
from grader.personal import Params, Personal

T = Text

# Imported once by the sandbox's fork server instead of by each student process (grader.course's
# `student_preload`): optimizers and the operator trace import torch._dynamo on first use (800
# modules, sympy's among them: 3 to 5 s a submission), and the kit's digits need scikit-learn.
STUDENT_PRELOAD = ("torch._dynamo", "sklearn.datasets", "sklearn.model_selection")

CONV_SIDES = [28, 32, 48, 64, 96, 128, 224]
CONV_FILTERS = [8, 16, 24, 32, 48, 64]


def draw_conv_layer(rng: random.Random) -> Params:
    """A layer for `CONV_OUTPUT_SHAPE`: kernel 3, 5 or 7, stride 1 to 3, padding up to "same" (k // 2)."""
    kernel = rng.choice([3, 5, 7])
    return {
        "LADO": rng.choice(CONV_SIDES),
        "FILTROS": rng.choice(CONV_FILTERS),
        "KERNEL": kernel,
        "STRIDE": rng.randint(1, 3),
        "PADDING": rng.randint(0, kernel // 2),
    }


# Exercises whose numbers change from student to student (grader.personal): the notebook's
# parameter cell defines them. The default's known slips give distinct sides (16 right; 15
# without the + 1, 16.5 with `/`, 32 without the stride), so each mutant is told apart.
PERSONAL: dict[str, Personal] = {
    "CONV_OUTPUT_SHAPE": Personal(
        draw=draw_conv_layer, default={"LADO": 32, "FILTROS": 16, "KERNEL": 5, "STRIDE": 2, "PADDING": 2}
    ),
}

LADDER: dict[str, list[Text]] = {
    "conv_output_size": [
        T(
            pt="O kernel efetivo com dilatação d ocupa d·(k − 1) + 1 posições; o padding soma p dos dois lados.",
            en="With dilation d the effective kernel spans d·(k − 1) + 1 positions; padding adds p on both sides.",
        ),
        T(
            pt="L_out = ⌊(L + 2p − d·(k − 1) − 1) / s⌋ + 1: divisão inteira `//`, e não esqueça o + 1.",
            en="L_out = ⌊(L + 2p − d·(k − 1) − 1) / s⌋ + 1: integer division `//`, and do not forget the + 1.",
        ),
    ],
    "pool_output_size": [
        T(
            pt="Como uma convolução sem dilatação; o detalhe é o stride, que por padrão é o próprio kernel_size.",
            en="Like a convolution without dilation; the catch is the stride, which defaults to kernel_size.",
        ),
        T(
            pt="`if stride is None: stride = kernel_size`, depois ⌊(L + 2p − k) / s⌋ + 1 (piso, como o "
            "`nn.MaxPool2d`: 7 com kernel 2 dá 3).",
            en="`if stride is None: stride = kernel_size`, then ⌊(L + 2p − k) / s⌋ + 1 (floor, as `nn.MaxPool2d`: 7 "
            "with kernel 2 gives 3).",
        ),
    ],
    "conv2d_output_shape": [
        T(
            pt="Altura e largura são calculadas separadamente, cada uma com a fórmula de `conv_output_size`; o "
            "lote N passa direto e os canais viram `out_channels`.",
            en="Height and width are computed separately, each with `conv_output_size`'s formula; the batch N "
            "passes through and the channels become `out_channels`.",
        ),
        T(
            pt="Transforme cada parâmetro num par: `(v, v)` se for int, `tuple(v)` se já for um par (h, w).",
            en="Turn each parameter into a pair: `(v, v)` for an int, `tuple(v)` when it is already an (h, w) pair.",
        ),
    ],
    "CONV_OUTPUT_SHAPE": [
        T(
            pt="O lote (8) passa direto, os canais viram `FILTROS`, e altura e largura saem da fórmula da "
            "Parte 2, com `LADO`, `KERNEL`, `STRIDE` e `PADDING`.",
            en="The batch (8) passes through, the channels become `FILTROS`, and height and width come from "
            "Part 2's formula, with `LADO`, `KERNEL`, `STRIDE` and `PADDING`.",
        ),
        T(
            pt="`lado = (LADO + 2 * PADDING - KERNEL) // STRIDE + 1` e `CONV_OUTPUT_SHAPE = (8, FILTROS, lado, "
            "lado)`: escreva com as variáveis, não com números fixos.",
            en="`side = (LADO + 2 * PADDING - KERNEL) // STRIDE + 1` and `CONV_OUTPUT_SHAPE = (8, FILTROS, side, "
            "side)`: write it with the variables, not with fixed numbers.",
        ),
    ],
    "conv2d_param_count": [
        T(
            pt="Cada filtro tem um peso por canal de entrada e por posição do kernel, e um viés.",
            en="Each filter has one weight per input channel and per kernel position, and one bias.",
        ),
        T(
            pt="out · in · kh · kw + (out se bias). Não depende do tamanho da imagem!",
            en="out · in · kh · kw + (out with bias). It does not depend on the image size!",
        ),
    ],
    "conv2d_naive": [
        T(
            pt="Aplique o padding (`F.pad`), recorte as janelas com `x.unfold(2, kh, stride).unfold(3, kw, stride)` "
            "e multiplique cada janela pelo kernel.",
            en="Pad (`F.pad`), cut the windows with `x.unfold(2, kh, stride).unfold(3, kw, stride)` and multiply each "
            "window by the kernel.",
        ),
        T(
            pt="As janelas têm forma (N, C, H', W', kh, kw), índices [n, c, i, j, u, v]; "
            "`torch.einsum('ncijuv,ocuv->noij', janelas, weight)` soma sobre c (canal), u e v (posição no kernel). "
            "Some o viés por canal de saída. Não inverta o kernel.",
            en="The windows have shape (N, C, H', W', kh, kw), indices [n, c, i, j, u, v]; "
            "`torch.einsum('ncijuv,ocuv->noij', windows, weight)` sums over c (channel), u and v (position in the "
            "kernel). Add the bias per output channel. Do not flip the kernel.",
        ),
    ],
    "ConvBlock": [
        T(
            pt="Quatro camadas, nesta ordem: `nn.Conv2d(in, out, 3, padding=1)`, `nn.BatchNorm2d(out)`, "
            "`nn.ReLU()`, `nn.MaxPool2d(2)`.",
            en="Four layers, in this order: `nn.Conv2d(in, out, 3, padding=1)`, `nn.BatchNorm2d(out)`, `nn.ReLU()`, "
            "`nn.MaxPool2d(2)`.",
        ),
        T(
            pt="Chame `super().__init__()` primeiro; a BatchNorm recebe os canais de **saída** da convolução.",
            en="Call `super().__init__()` first; BatchNorm gets the convolution's **output** channels.",
        ),
    ],
    "build_signal_cnn": [
        T(
            pt="Sinais entram como (N, 1, 128): `nn.Conv1d(1, ...)`, ativação, pooling; repita, e termine num "
            "`nn.Linear` com n_classes saídas.",
            en="Signals come in as (N, 1, 128): `nn.Conv1d(1, ...)`, activation, pooling; repeat, and end in an "
            "`nn.Linear` with n_classes outputs.",
        ),
        T(
            pt="Para não errar o tamanho do Linear: `nn.AdaptiveAvgPool1d(1)` + `nn.Flatten()` (ou `nn.LazyLinear`), "
            "ou meça com uma passada num tensor de zeros.",
            en="To get the Linear's size right: `nn.AdaptiveAvgPool1d(1)` + `nn.Flatten()` (or `nn.LazyLinear`), or "
            "measure with a pass over a zero tensor.",
        ),
    ],
    "train_signal_cnn": [
        T(
            pt="Gere dados com `make_signals(n, seed=...)`, treine `build_signal_cnn()` com CrossEntropyLoss e Adam "
            "(lr ≈ 0.01) por alguns épocas em lotes.",
            en="Generate data with `make_signals(n, seed=...)`, train `build_signal_cnn()` with CrossEntropyLoss and "
            "Adam (lr ≈ 0.01) for a few epochs in batches.",
        ),
        T(
            pt="Mil sinais e oito épocas bastam. Mova modelo e dados para `device` e devolva o modelo em "
            "`model.eval()`.",
            en="A thousand signals and eight epochs are enough. Move model and data to `device` and return the model "
            "in `model.eval()`.",
        ),
    ],
    "train_digits_cnn": [
        T(
            pt="Use `digits_split()` (só o treino!), dois `ConvBlock` (8×8 → 4×4 → 2×2), `nn.Flatten()` e um "
            "`nn.Linear(32 · 2 · 2, 10)`.",
            en="Use `digits_split()` (training part only!), two `ConvBlock`s (8×8 → 4×4 → 2×2), `nn.Flatten()` and an "
            "`nn.Linear(32 · 2 · 2, 10)`.",
        ),
        T(
            pt="Adam com lr ≈ 0.01, lotes de 64, umas dez épocas; devolva o modelo em `model.eval()`.",
            en="Adam with lr ≈ 0.01, batches of 64, about ten epochs; return the model in `model.eval()`.",
        ),
    ],
}

MISTAKES: dict[str, Text] = {
    "not_an_int": T(
        pt="{what}: esperava um número inteiro, recebi {value}.", en="{what}: expected a whole number, got {value}."
    ),
    "float_division": T(
        pt="{what} deu {value}, um número quebrado: use divisão inteira `//` (piso).",
        en="{what} gave {value}, not a whole number: use integer division `//` (floor).",
    ),
    "missing_plus_one": T(
        pt="{what}: faltou o + 1 da fórmula (a primeira posição do kernel também conta).",
        en="{what}: the formula's + 1 is missing (the kernel's first position counts too).",
    ),
    "padding_once": T(
        pt="{what}: o padding entra dos dois lados: some 2·p, não p.",
        en="{what}: padding goes on both sides: add 2·p, not p.",
    ),
    "dilation_ignored": T(
        pt="{what}: com dilatação d, o kernel efetivo é d·(k − 1) + 1.",
        en="{what}: with dilation d, the effective kernel is d·(k − 1) + 1.",
    ),
    "stride_ignored": T(
        pt="{what}: divida pelo stride: ⌊(L + 2p − d(k − 1) − 1) / s⌋ + 1.",
        en="{what}: divide by the stride: ⌊(L + 2p − d(k − 1) − 1) / s⌋ + 1.",
    ),
    "pool_default_stride": T(
        pt="{what}: sem stride, o pooling anda kernel_size posições por vez (stride padrão = kernel_size), não 1.",
        en="{what}: without a stride, pooling moves kernel_size positions at a time (the "
        "default stride is kernel_size), not 1.",
    ),
    "pool_ceil": T(
        pt="{what}: o pooling usa o piso (`//`), não o teto: 7 com kernel 2 dá 3.",
        en="{what}: pooling takes the floor (`//`), not the ceiling: 7 with kernel 2 gives 3.",
    ),
    "size_wrong": T(
        pt="{what} deveria ser {expected}, mas deu {actual}.", en="{what} should be {expected}, but it is {actual}."
    ),
    "shape_not_tuple": T(
        pt="`conv2d_output_shape` deve devolver uma tupla (N, C, H, W) de inteiros; recebi {detail}.",
        en="`conv2d_output_shape` must return a tuple (N, C, H, W) of integers; got {detail}.",
    ),
    "constant_not_shape": T(
        pt="`CONV_OUTPUT_SHAPE` deve ser uma tupla de quatro inteiros, (N, C_out, H', W'); é {detail}.",
        en="`CONV_OUTPUT_SHAPE` must be a tuple of four integers, (N, C_out, H', W'); it is {detail}.",
    ),
    "batch_changed": T(
        pt="{what}: o lote passa direto pela convolução: N continua {expected}.",
        en="{what}: the batch passes through the convolution unchanged: N stays {expected}.",
    ),
    "channels_not_filters": T(
        pt="`CONV_OUTPUT_SHAPE`: a saída tem um canal por filtro, `FILTROS` = {filters}, não os canais da entrada.",
        en="`CONV_OUTPUT_SHAPE`: the output has one channel per filter, `FILTROS` = {filters}, not the input's "
        "channels.",
    ),
    "conv_shape_wrong": T(
        pt="`CONV_OUTPUT_SHAPE` = {actual} não é a forma da saída da sua camada (LADO = {LADO}, FILTROS = "
        "{FILTROS}, KERNEL = {KERNEL}, STRIDE = {STRIDE}, PADDING = {PADDING}).",
        en="`CONV_OUTPUT_SHAPE` = {actual} is not the output shape of your layer (LADO = {LADO}, FILTROS = "
        "{FILTROS}, KERNEL = {KERNEL}, STRIDE = {STRIDE}, PADDING = {PADDING}).",
    ),
    "pair_arguments": T(
        pt="{what}: cada parâmetro pode ser um par (altura, largura); use o primeiro valor para H e o segundo para W.",
        en="{what}: each parameter may be a (height, width) pair; use the first value for H and the second for W.",
    ),
    "out_channels": T(
        pt="{what}: os canais da saída são `out_channels` (um por filtro), não os da entrada.",
        en="{what}: the output's channels are `out_channels` (one per filter), not the input's.",
    ),
    "forgot_bias": T(
        pt="Faltou o viés: um por filtro (out_channels).", en="The bias is missing: one per filter (out_channels)."
    ),
    "bias_flag": T(pt="Com `bias=False` não há vieses.", en="With `bias=False` there are no biases."),
    "per_input_channel": T(
        pt="Cada filtro tem um kernel kh × kw para **cada** canal de entrada: multiplique também por in_channels.",
        en="Each filter has a kh × kw kernel for **each** input channel: multiply by in_channels too.",
    ),
    "pair_kernel": T(
        pt="O kernel pode ser um par (kh, kw): use kh · kw, não kh².",
        en="The kernel may be a (kh, kw) pair: use kh · kw, not kh².",
    ),
    "conv_operator_used": T(
        pt="`conv2d_naive` deve ser escrita sem operadores de convolução (`F.conv2d`, "
        "`nn.Conv2d`, `torch.conv2d`...): use `unfold` ou laços.",
        en="`conv2d_naive` must be written without convolution operators (`F.conv2d`, "
        "`nn.Conv2d`, `torch.conv2d`...): use `unfold` or loops.",
    ),
    "kernel_flipped": T(
        pt='Você inverteu o kernel (convolução "matemática"); as camadas do PyTorch fazem correlação '
        "cruzada, sem inverter.",
        en='You flipped the kernel (a "mathematical" convolution); PyTorch\'s layers compute '
        "cross-correlation, without flipping.",
    ),
    "naive_bias": T(
        pt="O viés não foi somado (um por canal de saída, em todas as posições).",
        en="The bias was not added (one per output channel, at every position).",
    ),
    "naive_stride_padding": T(
        pt="{what}: a forma ou os valores mudam com stride/padding: aplique o padding dos "
        "dois lados e ande `stride` posições entre janelas.",
        en="{what}: the shape or values go wrong with stride/padding: pad both sides and move "
        "`stride` positions between windows.",
    ),
    "block_shape": T(
        pt="ConvBlock({cin}, {cout}) com entrada {input} deveria dar {expected}, mas deu {actual}: "
        "3×3 com padding 1 mantém H e W, e o MaxPool2d(2) os divide por 2.",
        en="ConvBlock({cin}, {cout}) on {input} should give {expected}, but gave {actual}: 3×3 with "
        "padding 1 keeps H and W, and MaxPool2d(2) halves them.",
    ),
    "block_layers": T(
        pt="O bloco precisa de uma `nn.Conv2d` 3×3 ({cin} → {cout}) e de uma `nn.BatchNorm2d({cout})`: {detail}.",
        en="The block needs a 3×3 `nn.Conv2d` ({cin} → {cout}) and an `nn.BatchNorm2d({cout})`: {detail}.",
    ),
    "block_order": T(
        pt="As camadas estão fora de ordem: Conv2d → BatchNorm2d → ReLU → MaxPool2d.",
        en="The layers are out of order: Conv2d → BatchNorm2d → ReLU → MaxPool2d.",
    ),
    "block_wrong": T(
        pt="A saída do bloco ({mode}) não é a de Conv2d → BatchNorm2d → ReLU → MaxPool2d(2) com os pesos dele.",
        en="The block's output ({mode}) is not that of Conv2d → BatchNorm2d → ReLU → MaxPool2d(2) with its weights.",
    ),
    "no_conv1d": T(pt="O modelo deve ter pelo menos uma `nn.Conv1d`.", en="The model needs at least one `nn.Conv1d`."),
    "no_conv2d": T(pt="O modelo deve ter pelo menos uma `nn.Conv2d`.", en="The model needs at least one `nn.Conv2d`."),
    "accuracy": T(
        pt="Acurácia de {accuracy:.1%} em {data} (em {device}); o mínimo é 95%. Treine por mais épocas, "
        "confira a taxa de aprendizado e devolva o modelo em `model.eval()`.",
        en="Accuracy {accuracy:.1%} on {data} (on {device}); at least 95% is needed. Train for more "
        "epochs, check the learning rate, and return the model in `model.eval()`.",
    ),
}
