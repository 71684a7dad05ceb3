"""02_tensors: tensors, computational graphs, counting parameters.

`LADDER`: each exercise's hint ladder; `MISTAKES`: feedback for the known mistakes the
graders recognise (../shared/research/common-mistakes.md §4-6, §10).
"""

import random

from grader.i18n import Text
from grader.personal import Params, Personal

T = Text

# Imported once by the sandbox's fork server instead of by each student process (grader.course's
# `student_preload`): the checks on the "meta" device run torch's Python decompositions, which
# import torch._dynamo on first use (800 modules, sympy's among them: 3 to 5 s a submission).
STUDENT_PRELOAD = ("torch._dynamo",)

IMAGE_SIDES = [96, 112, 128, 150, 160, 192, 200, 224, 300, 320, 384, 400, 448, 512]  # not 256: the statement's
BYTES_PER_WEIGHT = [2, 4, 8]  # float16/bfloat16, float32, float64


def draw_dense_image(rng: random.Random) -> Params:
    """An image side and a weight size for `DENSE_IMAGE_GB`, each value as likely."""
    return {"LADO": rng.choice(IMAGE_SIDES), "BYTES_POR_PESO": rng.choice(BYTES_PER_WEIGHT)}


# Exercises whose numbers change from student to student (grader.personal): the notebook's
# parameter cell defines them; the default is an ImageNet-sized image in float32.
PERSONAL: dict[str, Personal] = {
    "DENSE_IMAGE_GB": Personal(draw=draw_dense_image, default={"LADO": 224, "BYTES_POR_PESO": 4}),
}

LADDER: dict[str, list[Text]] = {
    "make_tensors": [
        T(
            pt="Um escalar é um tensor 0-D (forma `()`), um vetor é 1-D, uma matriz 2-D e um cubo 3-D.",
            en="A scalar is a 0-D tensor (shape `()`), a vector 1-D, a matrix 2-D and a cube 3-D.",
        ),
        T(
            pt="`torch.tensor(3.0)` tem forma `()`; `torch.zeros(4, 2, 2)` tem forma (4, 2, 2).",
            en="`torch.tensor(3.0)` has shape `()`; `torch.zeros(4, 2, 2)` has shape (4, 2, 2).",
        ),
    ],
    "flatten_batch": [
        T(
            pt="Mantenha a primeira dimensão (o lote) e junte todas as outras numa só.",
            en="Keep the first dimension (the batch) and merge all the others into one.",
        ),
        T(
            pt="`x.reshape(len(x), -1)` ou `x.flatten(1)`; `view` falha em tensores não contíguos.",
            en="`x.reshape(len(x), -1)` or `x.flatten(1)`; `view` fails on non-contiguous tensors.",
        ),
    ],
    "standardize": [
        T(
            pt="Por coluna (dim=0): subtraia a média e divida pelo desvio padrão populacional.",
            en="Per column (dim=0): subtract the mean and divide by the population standard deviation.",
        ),
        T(
            pt="Use `x.std(dim=0, correction=0)` (ou `unbiased=False`) e, onde o desvio for 0, devolva zeros "
            "(por exemplo com `torch.where`) em vez de dividir por zero.",
            en="Use `x.std(dim=0, correction=0)` (or `unbiased=False`) and, where the deviation is 0, return "
            "zeros (e.g. with `torch.where`) instead of dividing by zero.",
        ),
    ],
    "one_hot": [
        T(
            pt="Cada rótulo vira uma linha de zeros com um 1 na coluna do rótulo.",
            en="Each label becomes a row of zeros with a 1 in the label's column.",
        ),
        T(
            pt="`F.one_hot(labels, num_classes)` devolve int64: converta com `.float()`.",
            en="`F.one_hot(labels, num_classes)` returns int64: convert with `.float()`.",
        ),
    ],
    "linear_forward": [
        T(
            pt="Como `nn.Linear`: y = x Wᵀ + b, com W de forma (saídas, entradas).",
            en="As `nn.Linear`: y = x Wᵀ + b, with W of shape (out, in).",
        ),
        T(
            pt="`x @ weight.T`, depois some o viés se ele não for `None`.",
            en="`x @ weight.T`, then add the bias unless it is `None`.",
        ),
    ],
    "pairwise_sq_distances": [
        T(
            pt="O resultado (N, M) tem, na posição (i, j), Σₖ (aᵢₖ − bⱼₖ)².",
            en="The (N, M) result holds Σₖ (aᵢₖ − bⱼₖ)² at position (i, j).",
        ),
        T(
            pt="Com broadcasting: `a[:, None, :]` tem forma (N, 1, D) e `b[None, :, :]` tem forma (1, M, D); a "
            "diferença estica as duas dimensões de tamanho 1 e fica (N, M, D), a posição [i, j] guardando a_i − b_j. "
            "Eleve ao quadrado e some em D (`dim=-1`).",
            en="With broadcasting: `a[:, None, :]` has shape (N, 1, D) and `b[None, :, :]` has shape (1, M, D); their "
            "difference stretches both size-1 dimensions to (N, M, D), position [i, j] holding a_i − b_j. Square it "
            "and sum over D (`dim=-1`).",
        ),
    ],
    "to_device": [
        T(
            pt="Percorra a estrutura recursivamente: tensores vão para o dispositivo, dicts/listas/tuplas são "
            "reconstruídos com o mesmo tipo, o resto fica como está.",
            en="Walk the structure recursively: tensors go to the device, dicts/lists/tuples are rebuilt with the "
            "same type, everything else stays as it is.",
        ),
        T(
            pt="`x.to(device)` devolve um tensor novo: use o valor devolvido. Para tuplas, `tuple(...)`.",
            en="`x.to(device)` returns a new tensor: use the returned value. For tuples, `tuple(...)`.",
        ),
    ],
    "graph_forward": [
        T(pt="z = (a + b) · (c − d), elemento a elemento.", en="z = (a + b) · (c − d), element-wise."),
        T(
            pt="Não converta para número (`.item()`/`float`): devolva o tensor, para o grafo continuar.",
            en="Do not convert to a number (`.item()`/`float`): return the tensor so the graph goes on.",
        ),
    ],
    "graph_gradients": [
        T(
            pt="Crie a, b, c, d como tensores de ponto flutuante com `requires_grad=True`, calcule z e chame "
            "`z.backward()`.",
            en="Make a, b, c, d floating tensors with `requires_grad=True`, compute z and call `z.backward()`.",
        ),
        T(
            pt="Os gradientes ficam em `a.grad`, ... (só as folhas guardam `.grad`). Devolva números Python.",
            en="The gradients land in `a.grad`, ... (only leaves keep `.grad`). Return Python numbers.",
        ),
    ],
    "linear_param_count": [
        T(pt="Cada saída tem um peso por entrada, e um viés.", en="Each output has one weight per input, and a bias."),
        T(
            pt="n_in · n_out + n_out (se houver viés). 784 → 256 dá 200 960.",
            en="n_in · n_out + n_out (with bias). 784 → 256 gives 200 960.",
        ),
    ],
    "mlp_param_count": [
        T(
            pt="Cada par consecutivo de `sizes` é uma camada totalmente conectada.",
            en="Each consecutive pair in `sizes` is a fully connected layer.",
        ),
        T(
            pt="Some `linear_param_count` de cada par: [4, 20, 10, 3] dá 343.",
            en="Sum `linear_param_count` over the pairs: [4, 20, 10, 3] gives 343.",
        ),
    ],
    "dense_image_weights": [
        T(
            pt="Cada camada tem side² unidades, e cada unidade se liga a todas as da outra.",
            en="Each layer has side² units, and each unit connects to all of the other's.",
        ),
        T(
            pt="(side²)² = side⁴. Potência em Python é `**` (o `^` é XOR).",
            en="(side²)² = side⁴. Python's power is `**` (`^` is XOR).",
        ),
    ],
    "weights_memory_gb": [
        T(pt="Bytes = parâmetros × bytes por parâmetro.", en="Bytes = parameters × bytes per parameter."),
        T(
            pt="GB decimal: divida por 10⁹ (não por 2³⁰, que é GiB). 256⁴ pesos float32 ≈ 17,18 GB.",
            en="Decimal GB: divide by 10⁹ (not 2³⁰, that is GiB). 256⁴ float32 weights ≈ 17.18 GB.",
        ),
    ],
    "DENSE_IMAGE_GB": [
        T(
            pt="Primeiro os pesos: cada um dos `LADO²` pixels se liga a cada um dos `LADO²` neurônios. "
            "Depois os bytes, e por fim os GB.",
            en="Weights first: each of the `LADO²` pixels connects to each of the `LADO²` units. "
            "Then the bytes, and last the GB.",
        ),
        T(
            pt="Pesos = LADO⁴, bytes = pesos × `BYTES_POR_PESO`, GB = bytes / 10⁹. Escreva a conta com as "
            "variáveis (por exemplo `DENSE_IMAGE_GB = LADO**4 * BYTES_POR_PESO / 1e9`), não com um número fixo.",
            en="Weights = LADO⁴, bytes = weights × `BYTES_POR_PESO`, GB = bytes / 10⁹. Write it with the "
            "variables (e.g. `DENSE_IMAGE_GB = LADO**4 * BYTES_POR_PESO / 1e9`), not with a fixed number.",
        ),
    ],
    "count_trainable_params": [
        T(
            pt="Percorra `model.parameters()` e some `p.numel()` dos que têm `requires_grad`.",
            en="Go over `model.parameters()` and add up `p.numel()` of those with `requires_grad`.",
        ),
        T(
            pt="`model.parameters()` já lista um parâmetro compartilhado uma vez só; não use `state_dict()`, que "
            "inclui buffers.",
            en="`model.parameters()` already lists a shared parameter once; do not use `state_dict()`, which "
            "includes buffers.",
        ),
    ],
    "layer_summary": [
        T(
            pt="Registre um forward hook em cada módulo folha (sem filhos) e rode o modelo num tensor de zeros.",
            en="Register a forward hook on each leaf module (no children) and run the model on a zero tensor.",
        ),
        T(
            pt="No hook, guarde `(type(module).__name__, tuple(output.shape), parâmetros próprios)`, com "
            "`module.parameters(recurse=False)`; remova os hooks no fim.",
            en="In the hook, record `(type(module).__name__, tuple(output.shape), own parameters)`, using "
            "`module.parameters(recurse=False)`; remove the hooks at the end.",
        ),
    ],
    "build_iris_mlp": [
        T(
            pt="Linear(4, 20), Tanh, Linear(20, 10), Tanh, Linear(10, 3): 343 parâmetros.",
            en="Linear(4, 20), Tanh, Linear(20, 10), Tanh, Linear(10, 3): 343 parameters.",
        ),
        T(
            pt="`nn.Sequential(...)` basta. Não ponha softmax no fim: a rede devolve logits.",
            en="`nn.Sequential(...)` is enough. No softmax at the end: the network returns logits.",
        ),
    ],
}

MISTAKES: dict[str, Text] = {
    "tensor_ranks": T(
        pt="Os quatro tensores devem ter 0, 1, 2 e 3 dimensões, com formas (), (2,), (2, 2) e (4, 2, 2): {detail}.",
        en="The four tensors must have 0, 1, 2 and 3 dimensions, with shapes (), (2,), (2, 2) and (4, 2, 2): {detail}.",
    ),
    "flatten_order": T(
        pt="Os elementos saíram fora da ordem: achate linha a linha (ordem row-major), como `x.reshape(len(x), -1)`.",
        en="The elements came out of order: flatten in row-major order, as `x.reshape(len(x), -1)`.",
    ),
    "sample_std": T(
        pt="Você usou o desvio padrão amostral (divide por N − 1); o pedido é o populacional: "
        "`x.std(dim=0, correction=0)`.",
        en="You used the sample standard deviation (divides by N − 1); the population one is asked: "
        "`x.std(dim=0, correction=0)`.",
    ),
    "constant_column": T(
        pt="Uma coluna constante (desvio 0) virou NaN, infinito ou valores enormes; ela deve virar "
        "zeros. Cuidado: a média em ponto flutuante de uma coluna de 0,1 repetido nem sempre é "
        "0,1, então x − média pode não ser 0 exato enquanto o desvio é 0: a divisão dá ±inf, e "
        "`nan_to_num(z, nan=0.0)` só corrige 0/0 (troca ±inf pelo maior float). Escolha zeros "
        "com `torch.where(std > 0, ..., 0)` antes de dividir.",
        en="A constant column (deviation 0) became NaN, infinity or huge values; it must become "
        "zeros. Careful: the floating-point mean of a column of repeated 0.1 is not always 0.1, "
        "so x − mean may not be exactly 0 while the deviation is 0: the division gives ±inf, and "
        "`nan_to_num(z, nan=0.0)` only fixes 0/0 (it turns ±inf into the largest float). Pick "
        "zeros with `torch.where(std > 0, ..., 0)` before dividing.",
    ),
    "std_epsilon": T(
        pt="Uma coluna de desvio pequeno (≈ 1e-6, por exemplo medidas em outra unidade) saiu errada: "
        "somar um ε ao desvio, `(x − média) / (std + 1e-8)`, muda o resultado quando o desvio é "
        "pequeno. A fórmula é `(x − média) / std`; só a coluna de desvio 0 é especial, e vira zeros "
        "com `torch.where`.",
        en="A column with a small deviation (≈ 1e-6, e.g. measurements in another unit) came out wrong: "
        "adding an ε to the deviation, `(x − mean) / (std + 1e-8)`, changes the result when the "
        "deviation is small. The formula is `(x − mean) / std`; only a column with deviation 0 is "
        "special, and it becomes zeros with `torch.where`.",
    ),
    "naive_variance": T(
        pt="Uma coluna de média grande e desvio pequeno (≈ 3000 ± 1) saiu errada: a variância como "
        "E[x²] − E[x]² subtrai dois números enormes quase iguais e perde todos os dígitos (o "
        "cancelamento catastrófico). Calcule o desvio dos valores já centrados, "
        "`((x − média)²).mean(0).sqrt()`, ou use `x.std(dim=0, correction=0)`.",
        en="A column with a large mean and a small deviation (≈ 3000 ± 1) came out wrong: the "
        "variance as E[x²] − E[x]² subtracts two huge, nearly equal numbers and loses every digit "
        "(catastrophic cancellation). Compute the deviation from the centred values, "
        "`((x − mean)²).mean(0).sqrt()`, or use `x.std(dim=0, correction=0)`.",
    ),
    "standardize_rows": T(
        pt="Padronize por coluna (dim=0), não por linha nem pelo tensor todo.",
        en="Standardize per column (dim=0), not per row nor over the whole tensor.",
    ),
    "one_hot_dtype": T(
        pt="O resultado deve ser float32 (use `.float()`), não {actual}.",
        en="The result must be float32 (use `.float()`), not {actual}.",
    ),
    "weight_not_transposed": T(
        pt="W tem forma (saídas, entradas), como em `nn.Linear`: use `x @ weight.T`.",
        en="W has shape (out, in), as in `nn.Linear`: use `x @ weight.T`.",
    ),
    "bias_ignored": T(pt="O viés não foi somado: y = x Wᵀ + b.", en="The bias was not added: y = x Wᵀ + b."),
    "distances_not_squared": T(
        pt="Essas são as distâncias, não os quadrados delas: eleve ao quadrado (ou não tire a raiz).",
        en="These are the distances, not their squares: square them (or skip the root).",
    ),
    "container_type": T(
        pt="A estrutura mudou: devolva o mesmo tipo de contêiner (dict, list, tuple) em cada nível, "
        "com os mesmos valores que não são tensores.",
        en="The structure changed: return the same container type (dict, list, tuple) at each "
        "level, with the same non-tensor values.",
    ),
    "not_moved": T(
        pt="Algum tensor não foi para o dispositivo pedido: use o valor devolvido por `x.to(device)`.",
        en="Some tensor did not reach the requested device: use the value `x.to(device)` returns.",
    ),
    "not_moved_meta": T(
        pt="O tensor em `obj{where}` não foi para o dispositivo pedido: ficou em {actual}. Este teste "
        "usa o dispositivo `meta` do PyTorch (tensores só com forma e dtype, sem dados), que existe "
        "em qualquer máquina, para ver sem GPU se todo tensor é movido: percorra também as tuplas e "
        "os contêineres aninhados, e use o valor devolvido por `x.to(device)`.",
        en="The tensor at `obj{where}` did not reach the requested device: it stayed on {actual}. "
        "This check uses PyTorch's `meta` device (tensors with a shape and a dtype, no data), which "
        "every machine has, to see without a GPU whether every tensor is moved: walk the tuples "
        "and nested containers too, and use the value `x.to(device)` returns.",
    ),
    "moved_into_input": T(
        pt="`to_device` alterou a estrutura que recebeu (em `obj{where}`), por exemplo gravando nela "
        "os tensores movidos: quem chamou perde os originais. Monte contêineres novos "
        "(`{{k: ... for ...}}`, `[... for ...]`, `tuple(...)`) em vez de atribuir a `obj[k]` ou "
        "`obj[i]`.",
        en="`to_device` changed the structure it was given (at `obj{where}`), e.g. by writing the "
        "moved tensors into it: the caller loses the originals. Build new containers "
        "(`{{k: ... for ...}}`, `[... for ...]`, `tuple(...)`) instead of assigning to `obj[k]` "
        "or `obj[i]`.",
    ),
    "graph_sign": T(
        pt="O resultado tem o sinal de (c − d) trocado: z = (a + b)(c − d).",
        en="The result has the sign of (c − d) flipped: z = (a + b)(c − d).",
    ),
    "gradient_d_sign": T(
        pt="∂z/∂d está com o sinal errado: d entra subtraindo, então ∂z/∂d = −(a + b).",
        en="∂z/∂d has the wrong sign: d is subtracted, so ∂z/∂d = −(a + b).",
    ),
    "gradients_by_hand": T(
        pt="Os valores estão certos, mas não vieram do autograd: nenhum `backward()` (ou "
        "`torch.autograd.grad`) rodou. Crie a, b, c, d com `requires_grad=True`, calcule z com "
        "`graph_forward` e chame `z.backward()`: é o autograd que este exercício pratica.",
        en="The values are right, but they did not come from autograd: no `backward()` (or "
        "`torch.autograd.grad`) ran. Make a, b, c, d with `requires_grad=True`, compute z with "
        "`graph_forward` and call `z.backward()`: autograd is what this exercise practises.",
    ),
    "gradients_wrong": T(
        pt="Os gradientes não batem com z = (a + b)(c − d): ∂z/∂a = ∂z/∂b = c − d, ∂z/∂c = a + b, ∂z/∂d = −(a + b).",
        en="The gradients do not match z = (a + b)(c − d): ∂z/∂a = ∂z/∂b = c − d, ∂z/∂c = a + b, ∂z/∂d = −(a + b).",
    ),
    "forgot_bias": T(
        pt="Faltou contar os vieses: cada neurônio de saída tem um (784 → 256 dá 200 960, não 200 704).",
        en="The biases are missing: each output unit has one (784 → 256 gives 200 960, not 200 704).",
    ),
    "bias_flag": T(
        pt="Com `bias=False` não há vieses: só n_in · n_out.",
        en="With `bias=False` there are no biases: only n_in · n_out.",
    ),
    "xor_power": T(
        pt="Em Python `^` é o OU exclusivo bit a bit, não potência: use `**`.",
        en="In Python `^` is bitwise XOR, not a power: use `**`.",
    ),
    "gib_not_gb": T(
        pt="Você dividiu por 2³⁰ (GiB); o pedido é GB decimal, 1 GB = 10⁹ bytes.",
        en="You divided by 2³⁰ (GiB); decimal GB is asked, 1 GB = 10⁹ bytes.",
    ),
    "bytes_ignored": T(
        pt="Multiplique pelo número de bytes por parâmetro (4 em float32).",
        en="Multiply by the number of bytes per parameter (4 in float32).",
    ),
    "image_side_squared": T(
        pt="Você contou LADO² pesos, mas são LADO² pixels ligados, cada um, a LADO² neurônios: LADO⁴ pesos.",
        en="You counted LADO² weights, but each of the LADO² pixels connects to LADO² units: LADO⁴ weights.",
    ),
    "image_bytes_fixed": T(
        pt="A conta usa 4 bytes por peso (float32), mas os seus pesos têm `BYTES_POR_PESO` = {size} bytes: "
        "escreva-a com `BYTES_POR_PESO`.",
        en="This uses 4 bytes per weight (float32), but your weights take `BYTES_POR_PESO` = {size} bytes: "
        "write it with `BYTES_POR_PESO`.",
    ),
    "image_gb_wrong": T(
        pt="`DENSE_IMAGE_GB` não é o tamanho, em GB, dos pesos da camada com os seus números (LADO = {side}, "
        "BYTES_POR_PESO = {size}).",
        en="`DENSE_IMAGE_GB` is not the size, in GB, of the layer's weights with your numbers (LADO = {side}, "
        "BYTES_POR_PESO = {size}).",
    ),
    "counts_frozen": T(
        pt="Você contou parâmetros congelados (`requires_grad=False`): conte só os treináveis.",
        en="You counted frozen parameters (`requires_grad=False`): count only the trainable ones.",
    ),
    "counts_shared_twice": T(
        pt="Um parâmetro compartilhado foi contado duas vezes: `model.parameters()` já o lista uma vez só.",
        en="A shared parameter was counted twice: `model.parameters()` already lists it once.",
    ),
    "counts_buffers": T(
        pt="Buffers (como as estatísticas do BatchNorm) não são parâmetros treináveis; não use `state_dict()`.",
        en="Buffers (such as BatchNorm's statistics) are not trainable parameters; do not use `state_dict()`.",
    ),
    "root_parameters": T(
        pt="Ficou de fora um parâmetro registrado direto no modelo (`self.escala = "
        "nn.Parameter(...)` no próprio módulo, não num submódulo): percorrer só "
        "`model.children()` não o encontra. Use `model.parameters()`, que inclui os parâmetros "
        "do próprio modelo e os de todos os submódulos.",
        en="A parameter registered directly on the model (`self.scale = nn.Parameter(...)` on the "
        "module itself, not in a submodule) was left out: walking only `model.children()` does "
        "not find it. Use `model.parameters()`, which includes the model's own parameters and "
        "those of every submodule.",
    ),
    "dedup_by_value": T(
        pt="Parâmetros diferentes com os mesmos valores (por exemplo os pesos de duas camadas de "
        "normalização, que começam todos em 1) foram contados uma vez só. Compartilhado quer dizer "
        "o mesmo objeto (`p is q`), não valores iguais; `model.parameters()` já lista cada objeto "
        "uma vez.",
        en="Different parameters with the same values (e.g. the weights of two normalisation "
        "layers, which all start at 1) were counted once. Shared means the same object "
        "(`p is q`), not equal values; `model.parameters()` already lists each object once.",
    ),
    "summary_rows": T(
        pt="O resumo deve ter uma linha por módulo folha, na ordem de execução: esperava {expected} "
        "linhas, recebi {actual}.",
        en="The summary must have one row per leaf module, in execution order: expected {expected} rows, got {actual}.",
    ),
    "summary_device": T(
        pt="Com o modelo em {device}, `layer_summary` falhou: a entrada de zeros foi criada na CPU. Crie-a no "
        "dispositivo do modelo: `torch.zeros(input_shape, device=next(model.parameters()).device)`.",
        en="With the model on {device}, `layer_summary` failed: the zero input was made on the CPU. Make it on the "
        "model's device: `torch.zeros(input_shape, device=next(model.parameters()).device)`.",
    ),
    "summary_wrong": T(
        pt="A linha {row} do resumo está errada: cada linha é (nome da classe, forma da saída, parâmetros próprios).",
        en="Row {row} of the summary is wrong: each row is (class name, output shape, own parameters).",
    ),
    "iris_params": T(
        pt="A rede deve ter 343 parâmetros (4·20+20 + 20·10+10 + 10·3+3), mas tem {actual}.",
        en="The network must have 343 parameters (4·20+20 + 20·10+10 + 10·3+3), but it has {actual}.",
    ),
    "iris_activation": T(
        pt="A saída não corresponde a Linear → Tanh → Linear → Tanh → Linear com esses pesos: "
        "confira as ativações (Tanh, não ReLU) e a ordem das camadas.",
        en="The output does not match Linear → Tanh → Linear → Tanh → Linear with these weights: "
        "check the activations (Tanh, not ReLU) and the order of the layers.",
    ),
    "not_a_module": T(
        pt="`build_iris_mlp()` deve devolver um `nn.Module`, mas devolveu `{type}`.",
        en="`build_iris_mlp()` must return an `nn.Module`, but it returned `{type}`.",
    ),
    "not_an_int": T(
        pt="{what}: esperava um número inteiro, recebi {value}.", en="{what}: expected a whole number, got {value}."
    ),
}
