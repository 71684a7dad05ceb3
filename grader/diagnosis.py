"""Known exceptions from student code, turned into hints.

Matched on the exception's type and a fragment of its message, loosely: PyTorch words
some messages differently across versions (../shared/research/common-mistakes.md).
"""

from __future__ import annotations

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


def diagnose(error: dict) -> Diagnosis | None:
    """The hint for an exception described by the worker (type, message), if known."""
    kind = str(error.get("type", ""))
    message = str(error.get("message", "")).lower()
    for types, fragments, diagnosis in _RULES:
        if kind in types and any(f in message for f in fragments):
            return diagnosis
    return None
