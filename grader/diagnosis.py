"""Known exceptions from student code, turned into hints.

Matched on the exception's type and a fragment of its message, loosely: PyTorch words
some messages differently across versions (../shared/research/common-mistakes.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.i18n import Text


@dataclass(frozen=True)
class Diagnosis:
    key: str
    text: Text


_RULES: list[tuple[tuple[str, ...], tuple[str, ...], Diagnosis]] = [
    (
        ("AssertionError", "RuntimeError"),
        ("not compiled with cuda", "no nvidia driver", "cuda driver", "found no nvidia"),
        Diagnosis(
            "hardcoded_cuda",
            Text(
                pt="Seu código usa a GPU diretamente (`.cuda()` ou `device='cuda'`), mas esta máquina não tem "
                "CUDA. Escolha o dispositivo assim: `device = 'cuda' if torch.cuda.is_available() else 'cpu'`, "
                "ou use o dispositivo das entradas (`x.device`).",
                en="Your code uses the GPU directly (`.cuda()` or `device='cuda'`), but this machine has no "
                "CUDA. Pick the device with `device = 'cuda' if torch.cuda.is_available() else 'cpu'`, or use "
                "the inputs' device (`x.device`).",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("expected all tensors to be on the same device",),
        Diagnosis(
            "device_mismatch",
            Text(
                pt="Há tensores em dispositivos diferentes. Crie os tensores novos no dispositivo das entradas "
                "(`torch.zeros(..., device=x.device)`) e lembre que `x.to(device)` devolve um tensor novo.",
                en="Tensors live on different devices. Create new tensors on the inputs' device "
                "(`torch.zeros(..., device=x.device)`); remember that `x.to(device)` returns a new tensor.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("device type for generator but found",),  # "Expected a 'cuda' device type for generator but found 'cpu'"
        Diagnosis(
            "generator_device",
            Text(
                pt="O gerador (`generator`) está num dispositivo e o tensor sorteado em outro. Sorteie no "
                "dispositivo das entradas, que é o do gerador: `torch.rand(..., generator=generator, "
                "device=x.device)`.",
                en="The generator lives on one device and the random tensor on another. Draw on the inputs' "
                "device, which is the generator's: `torch.rand(..., generator=generator, device=x.device)`.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("boolean value of tensor with more than one value is ambiguous",),
        Diagnosis(
            "tensor_truth_value",
            Text(
                pt="`if`, `and`, `or` e `max(0, x)` não funcionam com tensores de vários elementos. Use operações "
                "elemento a elemento: `torch.where`, `torch.clamp`, `&`, `|`, comparações como `z >= 0`.",
                en="`if`, `and`, `or` and `max(0, x)` do not work on tensors with several elements. Use "
                "element-wise operations: `torch.where`, `torch.clamp`, `&`, `|`, comparisons like `z >= 0`.",
            ),
        ),
    ),
    (
        ("TypeError",),
        ("heaviside()",),
        Diagnosis(
            "heaviside_values",
            Text(
                pt="`torch.heaviside(z, values)` precisa do segundo argumento: o valor em z = 0.",
                en="`torch.heaviside(z, values)` needs its second argument: the value at z = 0.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("expected target dtype to be long", "expected scalar type long but found"),
        Diagnosis(
            "ce_target_dtype",
            Text(
                pt="A `CrossEntropyLoss` espera rótulos inteiros int64 com os índices das classes (0..C−1): "
                "converta com `y.long()`.",
                en="`CrossEntropyLoss` expects int64 labels holding class indices (0..C−1): convert with `y.long()`.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("multi-target not supported",),
        Diagnosis(
            "ce_target_shape",
            Text(
                pt="Os rótulos da `CrossEntropyLoss` devem ter forma (N,), não (N, 1): use `y.squeeze(1)`.",
                en="`CrossEntropyLoss` labels must have shape (N,), not (N, 1): use `y.squeeze(1)`.",
            ),
        ),
    ),
    (
        ("IndexError",),
        ("out of bounds",),
        Diagnosis(
            "ce_target_range",
            Text(
                pt="Um rótulo passou do número de classes: as classes vão de 0 a C−1 (e a última camada precisa "
                "de C saídas).",
                en="A label is beyond the number of classes: classes go from 0 to C−1 (and the last layer needs "
                "C outputs).",
            ),
        ),
    ),
    (
        ("NotImplementedError",),
        ("not implemented for 'long'",),
        Diagnosis(
            "ce_arguments_swapped",
            Text(
                pt="A função de perda recebeu os rótulos no lugar das saídas: a ordem é `loss_fn(logits, alvo)`.",
                en="The loss function got the labels where the outputs go: the order is `loss_fn(logits, target)`.",
            ),
        ),
    ),
    (
        ("NotImplementedError",),
        ('missing the required "forward" function',),
        Diagnosis(
            "forward_missing",
            Text(
                pt="O módulo não tem `forward`: confira o nome do método (`forward`, não `foward`).",
                en="The module has no `forward`: check the method's name (`forward`, not `foward`).",
            ),
        ),
    ),
    (
        ("AttributeError",),
        ("cannot assign module before module.__init__() call",),
        Diagnosis(
            "module_init",
            Text(
                pt="Chame `super().__init__()` na primeira linha do `__init__` do seu módulo.",
                en="Call `super().__init__()` on the first line of your module's `__init__`.",
            ),
        ),
    ),
    (
        ("TypeError",),
        ("'method' object is not iterable",),
        Diagnosis(
            "parameters_not_called",
            Text(
                pt="`model.parameters` é um método: passe `model.parameters()` (com parênteses) ao otimizador.",
                en="`model.parameters` is a method: pass `model.parameters()` (with parentheses) to the optimizer.",
            ),
        ),
    ),
    (
        ("ValueError",),
        ("optimizer got an empty parameter list",),
        Diagnosis(
            "empty_parameters",
            Text(
                pt="O otimizador não recebeu parâmetros: camadas guardadas numa lista Python comum não são "
                "registradas (use `nn.ModuleList` ou `nn.Sequential`), ou tudo foi congelado, inclusive a cabeça "
                "nova (congele antes de trocar a cabeça: uma camada nova já nasce treinável).",
                en="The optimizer got no parameters: layers kept in a plain Python list are not registered (use "
                "`nn.ModuleList` or `nn.Sequential`), or everything was frozen, the new head included (freeze "
                "before replacing the head: a new layer starts trainable).",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("does not require grad and does not have a grad_fn",),
        Diagnosis(
            "nothing_requires_grad",
            Text(
                pt="A perda não depende de nenhum parâmetro treinável: tudo foi congelado, inclusive a cabeça nova? "
                "Congele antes de trocar a cabeça (uma camada nova já nasce treinável) e não calcule a perda "
                "dentro de `torch.no_grad()`.",
                en="The loss depends on no trainable parameter: was everything frozen, the new head included? "
                "Freeze before replacing the head (a new layer starts trainable) and do not compute the loss "
                "inside `torch.no_grad()`.",
            ),
        ),
    ),
    (
        ("ValueError",),
        ("some parameters appear in more than one parameter group",),
        Diagnosis(
            "parameter_in_two_groups",
            Text(
                pt="Um parâmetro apareceu em dois grupos do otimizador: o grupo do backbone não pode incluir os "
                "parâmetros de `model.fc` (separe-os por `id(p)` ou pelo nome em `named_parameters()`).",
                en="A parameter appears in two optimizer groups: the backbone's group must not include "
                "`model.fc`'s parameters (tell them apart by `id(p)` or by name in `named_parameters()`).",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("channels, but got",),
        Diagnosis(
            "channels_mismatch",
            Text(
                pt="O número de canais da entrada não é o que a camada espera. O PyTorch usa (N, C, L) para sinais e "
                "(N, C, H, W) para imagens: um sinal (N, L) precisa de `x.unsqueeze(1)`; dados (N, H, W, C) "
                "precisam de `x.permute(0, 3, 1, 2)`.",
                en="The input's channel count is not what the layer expects. PyTorch uses (N, C, L) for signals and "
                "(N, C, H, W) for images: an (N, L) signal needs `x.unsqueeze(1)`; (N, H, W, C) data needs "
                "`x.permute(0, 3, 1, 2)`.",
            ),
        ),
    ),
    (
        ("RuntimeError", "ValueError"),
        ("running_mean should contain", "expected 2d or 3d input (got 4d input)", "expected 4d input (got"),
        Diagnosis(
            "batchnorm_size",
            Text(
                pt="A BatchNorm não combina com a camada anterior: `num_features` é o número de canais que sai da "
                "convolução, e imagens (N, C, H, W) usam `BatchNorm2d` (sinais, `BatchNorm1d`).",
                en="The BatchNorm does not match the layer before it: `num_features` is the number of channels the "
                "convolution outputs, and (N, C, H, W) images use `BatchNorm2d` (signals, `BatchNorm1d`).",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("kernel size can't be greater than actual input size", "output size is too small"),
        Diagnosis(
            "input_too_small",
            Text(
                pt="A entrada ficou menor que o kernel: acompanhe a altura e a largura camada por camada (cada pooling "
                "divide por 2) e use menos camadas de redução ou padding.",
                en="The input became smaller than the kernel: track height and width layer by layer (each pooling "
                "halves them) and use fewer downsampling layers, or padding.",
            ),
        ),
    ),
    (
        ("ValueError", "RuntimeError"),
        ("padding='same' is not supported for strided convolutions",),
        Diagnosis(
            "same_padding_stride",
            Text(
                pt="`padding='same'` só vale com stride 1; com stride > 1, calcule o padding (p = (k − 1) // 2 "
                "para kernels ímpares).",
                en="`padding='same'` only works with stride 1; with stride > 1, compute the padding (p = (k − 1) // 2 "
                "for odd kernels).",
            ),
        ),
    ),
    (
        ("ValueError", "RuntimeError"),
        ("expected more than 1 value per channel when training",),
        Diagnosis(
            "batchnorm_single_sample",
            Text(
                pt="A BatchNorm em modo de treino precisa de mais de um valor por canal: use lotes com mais de uma "
                "amostra (ou `drop_last=True`), ou `model.eval()` para prever uma amostra só.",
                en="BatchNorm in training mode needs more than one value per channel: use batches of more than one "
                "sample (or `drop_last=True`), or `model.eval()` to predict a single sample.",
            ),
        ),
    ),
    (
        ("ValueError", "RuntimeError"),
        ("to match target batch_size",),
        Diagnosis(
            "flatten_batch_size",
            Text(
                pt="O achatamento mudou o tamanho do lote: use `x.flatten(1)` ou `x.view(x.size(0), -1)`, nunca "
                "`view(-1, F)` com F escrito à mão.",
                en="Flattening changed the batch size: use `x.flatten(1)` or `x.view(x.size(0), -1)`, never "
                "`view(-1, F)` with a hand-written F.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("could not infer output dtype", "must have the same dtype", "expected scalar type"),
        Diagnosis(
            "dtype_mismatch",
            Text(
                pt="Tipos (dtype) incompatíveis: tensores de inteiros ou float64 misturados com float32. "
                "Converta com `.float()` ou `.to(x.dtype)`.",
                en="Incompatible dtypes: integer or float64 tensors mixed with float32. Convert with `.float()` "
                "or `.to(x.dtype)`.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("only tensors of floating point and complex dtype can require gradients",),
        Diagnosis(
            "integer_requires_grad",
            Text(
                pt="Só tensores de ponto flutuante podem ter `requires_grad=True`: crie-os com números como `2.0` "
                "ou com `dtype=torch.float32` (ou converta com `float(v)`).",
                en="Only floating-point tensors can have `requires_grad=True`: create them from numbers like `2.0` "
                "or with `dtype=torch.float32` (or convert with `float(v)`).",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("view size is not compatible",),
        Diagnosis(
            "view_non_contiguous",
            Text(
                pt="`view` não funciona em tensores não contíguos. Use `reshape` ou `.contiguous().view(...)`.",
                en="`view` does not work on non-contiguous tensors. Use `reshape` or `.contiguous().view(...)`.",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("a leaf variable that requires grad is being used in an in-place operation",),
        Diagnosis(
            "inplace_leaf",
            Text(
                pt="Operação in-place em um tensor que exige gradiente. Não altere a entrada: crie um tensor "
                "novo (por exemplo `torch.clamp(z, min=0)`).",
                en="In-place operation on a tensor that requires grad. Do not modify the input: create a new "
                "tensor (e.g. `torch.clamp(z, min=0)`).",
            ),
        ),
    ),
    (
        ("RuntimeError",),
        ("mat1 and mat2 shapes cannot be multiplied", "size of tensor a", "must match the size of tensor b"),
        Diagnosis(
            "shape_mismatch",
            Text(
                pt="As formas (shapes) não combinam. Confira `.shape` das entradas; `*` multiplica elemento a "
                "elemento e `@` faz o produto de matrizes.",
                en="Shapes do not match. Check the inputs' `.shape`; `*` multiplies element-wise and `@` is the "
                "matrix product.",
            ),
        ),
    ),
]


def _mixed_devices(message: str) -> bool:
    """A convolution's "Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor)
    should be the same": a device mismatch only when one side is on CUDA and the other is not
    (the same words with two dtypes on one device are a dtype mismatch)."""
    match = re.search(r"input type \(([^)]*)\) and weight type \(([^)]*)\)", message)
    return bool(match) and ("cuda" in match.group(1)) != ("cuda" in match.group(2))


def diagnose(error: dict) -> Diagnosis | None:
    """The hint for an exception described by the worker (type, message), if known."""
    kind = str(error.get("type", ""))
    message = str(error.get("message", "")).lower()
    if kind == "RuntimeError" and _mixed_devices(message):
        return next(d for _, _, d in _RULES if d.key == "device_mismatch")
    for types, fragments, diagnosis in _RULES:
        if kind in types and any(f in message for f in fragments):
            return diagnosis
    return None


def diagnosis_of(failure: BaseException) -> Diagnosis | None:
    """The hint for a failure of student code, where it carries an exception the rules know
    (the engine reports the exception; naming the mistake is the graders' side's job)."""
    error = getattr(failure, "error", None)
    return diagnose(error) if isinstance(error, dict) and error else None
