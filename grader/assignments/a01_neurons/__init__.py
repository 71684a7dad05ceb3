"""01_neurons: McCulloch-Pitts, the perceptron and XOR.

Student-facing text shared by the public checks, the hidden graders and `dica()`:
`LADDER` holds each exercise's hint ladder (from a nudge to nearly the answer) and
`MISTAKES` the feedback for each known mistake a grader recognises
(../shared/research/common-mistakes.md §1-3).
"""

import random

from grader.i18n import Text
from grader.personal import Params, Personal

AT_LEAST_K_GATES = [(n, k) for n in range(3, 8) for k in range(2, n)]  # K strictly between OR (1) and AND (n)


def draw_at_least_k(rng: random.Random) -> Params:
    """A gate "at least K of N_ENTRADAS", one of the 15 with 3 to 7 inputs, each as likely."""
    n, k = rng.choice(AT_LEAST_K_GATES)
    return {"N_ENTRADAS": n, "K": k}


# Exercises whose numbers change from student to student (grader.personal): the notebook's
# parameter cell defines them; the default is the classic majority of 3.
PERSONAL: dict[str, Personal] = {
    "AT_LEAST_K_THRESHOLD": Personal(draw=draw_at_least_k, default={"N_ENTRADAS": 3, "K": 2}),
}

LADDER: dict[str, list[Text]] = {
    "mcp_neuron": [
        Text(
            pt="Some as entradas e compare a soma com o limiar.",
            en="Add the inputs up and compare the sum with the threshold.",
        ),
        Text(
            pt="O neurônio dispara quando a soma é **maior ou igual** ao limiar: `>=`, não `>`. Devolva 1 ou 0.",
            en="The neuron fires when the sum is **greater than or equal to** the threshold: `>=`, not `>`. "
            "Return 1 or 0.",
        ),
    ],
    "AND_THRESHOLD": [
        Text(
            pt="Com duas entradas binárias, a soma vale 0, 1 ou 2. AND só dispara com as duas entradas em 1.",
            en="With two binary inputs the sum is 0, 1 or 2. AND fires only when both inputs are 1.",
        ),
        Text(
            pt="Qualquer limiar t com 1 < t ≤ 2 funciona; o clássico é 2.",
            en="Any threshold t with 1 < t ≤ 2 works; the classic one is 2.",
        ),
    ],
    "OR_THRESHOLD": [
        Text(
            pt="OR dispara quando pelo menos uma entrada vale 1: qual a menor soma que deve disparar?",
            en="OR fires when at least one input is 1: what is the smallest sum that must fire?",
        ),
        Text(
            pt="Qualquer limiar t com 0 < t ≤ 1 funciona; o clássico é 1.",
            en="Any threshold t with 0 < t ≤ 1 works; the classic one is 1.",
        ),
    ],
    "AT_LEAST_K_THRESHOLD": [
        Text(
            pt="Com `N_ENTRADAS` entradas binárias, a soma vai de 0 a `N_ENTRADAS`. Quais somas devem disparar?",
            en="With `N_ENTRADAS` binary inputs the sum goes from 0 to `N_ENTRADAS`. Which sums must fire?",
        ),
        Text(
            pt="Somas ≥ `K` disparam e a soma `K − 1` não: qualquer limiar t com K − 1 < t ≤ K funciona. "
            "Escreva a resposta com `K` (por exemplo `AT_LEAST_K_THRESHOLD = K`), não com um número fixo.",
            en="Sums ≥ `K` fire and the sum `K − 1` does not: any threshold t with K − 1 < t ≤ K works. "
            "Write the answer with `K` (e.g. `AT_LEAST_K_THRESHOLD = K`), not with a fixed number.",
        ),
    ],
    "step": [
        Text(
            pt="g(z) = 1 se z ≥ 0, senão 0, elemento a elemento, com a mesma forma de z.",
            en="g(z) = 1 if z ≥ 0 else 0, element-wise, with the same shape as z.",
        ),
        Text(
            pt="Compare `z >= 0` (um tensor booleano) e converta para um dtype de ponto flutuante "
            "(o de z, se z já for float).",
            en="Compute `z >= 0` (a boolean tensor) and convert it to a floating dtype (z's own, if z is float).",
        ),
    ],
    "sigmoid": [
        Text(
            pt="σ(z) = 1 / (1 + e^(−z)). Atenção ao sinal do expoente.",
            en="σ(z) = 1 / (1 + e^(−z)). Mind the sign of the exponent.",
        ),
        Text(
            pt="Use `torch.exp` (elemento a elemento). Para z = −10⁴, e^(10⁴) vira infinito e 1/(1+∞) = 0: "
            "o resultado continua finito.",
            en="Use `torch.exp` (element-wise). For z = −10⁴, e^(10⁴) overflows to infinity and 1/(1+∞) = 0: "
            "the result stays finite.",
        ),
    ],
    "tanh": [
        Text(
            pt="tanh(z) vai de −1 a 1, e tanh(z) = 2σ(2z) − 1.",
            en="tanh(z) ranges from −1 to 1, and tanh(z) = 2σ(2z) − 1.",
        ),
        Text(
            pt="A fórmula (e^z − e^−z)/(e^z + e^−z) dá ∞/∞ = NaN para z grande; escreva-a com um único "
            "`torch.exp(-2 * z)`.",
            en="The formula (e^z − e^−z)/(e^z + e^−z) gives ∞/∞ = NaN for large z; write it with a single "
            "`torch.exp(-2 * z)`.",
        ),
    ],
    "relu": [
        Text(pt="ReLU(z) = max(0, z), elemento a elemento.", en="ReLU(z) = max(0, z), element-wise."),
        Text(
            pt="`max(0, z)` do Python não funciona em tensores: use `torch.clamp(z, min=0)` ou "
            "`torch.where`, sem alterar z.",
            en="Python's `max(0, z)` does not work on tensors: use `torch.clamp(z, min=0)` or `torch.where`, "
            "without modifying z.",
        ),
    ],
    "softmax": [
        Text(
            pt="softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ), ao longo de `dim`.",
            en="softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ), along `dim`.",
        ),
        Text(
            pt="Subtraia o máximo de z ao longo de `dim` (com `keepdim=True`) antes do `exp`: o resultado não "
            "muda e não há overflow em [1000, 1000].",
            en="Subtract z's maximum along `dim` (with `keepdim=True`) before `exp`: the result is the same "
            "and nothing overflows at [1000, 1000].",
        ),
    ],
    "perceptron": [
        Text(pt="z = x @ w + b, depois o degrau.", en="z = x @ w + b, then the step."),
        Text(
            pt="Com x de forma (N, m), `x @ w` já tem forma (N,): não é preciso laço. O viés é somado.",
            en="With x of shape (N, m), `x @ w` already has shape (N,): no loop needed. The bias is added.",
        ),
    ],
    "AND_WEIGHTS": [
        Text(
            pt="Um perceptron dispara quando w1·x1 + w2·x2 + b ≥ 0. Com w1 = w2 = 1, b é menos o limiar.",
            en="A perceptron fires when w1·x1 + w2·x2 + b ≥ 0. With w1 = w2 = 1, b is minus the threshold.",
        ),
        Text(
            pt="Para AND, um limiar entre 1 e 2 (por exemplo 1,5) separa (1, 1) dos outros pontos.",
            en="For AND, a threshold between 1 and 2 (e.g. 1.5) separates (1, 1) from the other points.",
        ),
    ],
    "OR_WEIGHTS": [
        Text(pt="OR só não dispara em (0, 0).", en="OR fails to fire only at (0, 0)."),
        Text(
            pt="Com w1 = w2 = 1, escolha b entre −1 e 0 (por exemplo −0,5).",
            en="With w1 = w2 = 1, pick b between −1 and 0 (e.g. −0.5).",
        ),
    ],
    "NAND_WEIGHTS": [
        Text(
            pt="NAND é o contrário de AND: troque o sinal de todos os pesos do AND.",
            en="NAND is the opposite of AND: flip the sign of all the AND weights.",
        ),
        Text(pt="Por exemplo w = (−1, −1) e b = 1,5.", en="For example w = (−1, −1) and b = 1.5."),
    ],
    "XOR_WEIGHTS": [
        Text(
            pt="XOR = AND(OR, NAND): um neurônio oculto para OR, outro para NAND, e a saída faz AND dos dois.",
            en="XOR = AND(OR, NAND): one hidden unit for OR, another for NAND, and the output ANDs them.",
        ),
        Text(
            pt="Cada linha de W1 são os pesos de um neurônio oculto (como em `nn.Linear`): "
            "h = step(x @ W1.T + b1). Reaproveite os pesos de OR_WEIGHTS, NAND_WEIGHTS e AND_WEIGHTS.",
            en="Each row of W1 holds one hidden unit's weights (as in `nn.Linear`): h = step(x @ W1.T + b1). "
            "Reuse the weights of OR_WEIGHTS, NAND_WEIGHTS and AND_WEIGHTS.",
        ),
    ],
    "perceptron_update": [
        Text(
            pt="Regra de Rosenblatt: ŷ = step(w·x + b); w ← w + lr·(y − ŷ)·x; b ← b + lr·(y − ŷ).",
            en="Rosenblatt's rule: ŷ = step(w·x + b); w ← w + lr·(y − ŷ)·x; b ← b + lr·(y − ŷ).",
        ),
        Text(
            pt="O erro é y − ŷ (alvo menos previsão). Devolva tensores novos: `w = w + ...`, nunca `w += ...`.",
            en="The error is y − ŷ (target minus prediction). Return new tensors: `w = w + ...`, never `w += ...`.",
        ),
    ],
    "train_perceptron": [
        Text(
            pt="Comece com w e b zerados; a cada época passe por todas as amostras aplicando a regra de "
            "atualização quando o perceptron erra.",
            en="Start with zero w and b; each epoch, go over every sample and apply the update rule when the "
            "perceptron is wrong.",
        ),
        Text(
            pt="Conte os erros da época; se forem zero, pare (`break`). No máximo `max_epochs` épocas.",
            en="Count the epoch's errors; if there are none, stop (`break`). At most `max_epochs` epochs.",
        ),
    ],
}

MISTAKES: dict[str, Text] = {
    "gt_instead_of_ge": Text(
        pt="O neurônio deve disparar quando a soma é **igual** ao limiar também: use `>=`, não `>`.",
        en="The neuron must also fire when the sum **equals** the threshold: use `>=`, not `>`.",
    ),
    "mcp_wrong": Text(
        pt="O neurônio deve devolver 1 quando a soma das entradas é ≥ limiar e 0 caso contrário.",
        en="The neuron must return 1 when the inputs' sum is ≥ the threshold, and 0 otherwise.",
    ),
    "and_threshold_is_or": Text(
        pt="Com esse limiar, uma única entrada em 1 já dispara: isso é OR. AND precisa de soma ≥ 2 "
        "(limiar entre 1, exclusive, e 2).",
        en="With this threshold a single active input fires: that is OR. AND needs sum ≥ 2 "
        "(a threshold above 1, up to 2).",
    ),
    "and_threshold_too_high": Text(
        pt="Com esse limiar nem (1, 1) dispara. AND dispara quando a soma é ≥ 2.",
        en="With this threshold not even (1, 1) fires. AND fires when the sum is ≥ 2.",
    ),
    "or_threshold_is_and": Text(
        pt="Com esse limiar, (1, 0) e (0, 1) não disparam: isso se comporta como AND. OR dispara com soma ≥ 1.",
        en="With this threshold (1, 0) and (0, 1) do not fire: it behaves like AND. OR fires at sum ≥ 1.",
    ),
    "or_threshold_too_low": Text(
        pt="Com esse limiar até (0, 0) dispara. O limiar de OR deve ser maior que 0.",
        en="With this threshold even (0, 0) fires. OR's threshold must be above 0.",
    ),
    "at_least_k_too_low": Text(
        pt="Com esse limiar o neurônio já dispara com {fewer} entrada(s) em 1, menos que K = {k}. "
        "O limiar deve ser maior que K − 1 = {fewer}.",
        en="With this threshold the neuron already fires with {fewer} active input(s), fewer than K = {k}. "
        "The threshold must be above K − 1 = {fewer}.",
    ),
    "at_least_k_too_high": Text(
        pt="Com esse limiar nem {k} entradas em 1 (K = {k}) disparam o neurônio. O limiar deve ser no máximo K.",
        en="With this threshold not even {k} active inputs (K = {k}) fire the neuron. The threshold must be at most K.",
    ),
    "step_at_zero": Text(
        pt="Confira o degrau em z = 0: pela definição do curso, g(0) = 1 (use `z >= 0`).",
        en="Check the step at z = 0: by the course's definition g(0) = 1 (use `z >= 0`).",
    ),
    "not_floating": Text(
        pt="O resultado deve ter dtype de ponto flutuante (o mesmo de z quando z é float), não bool ou int.",
        en="The result must have a floating dtype (z's own when z is float), not bool or int.",
    ),
    "sigmoid_sign": Text(
        pt="σ(2) deveria ser ≈ 0,88, não ≈ 0,12: o expoente é −z, σ(z) = 1/(1 + e^(−z)).",
        en="σ(2) should be ≈ 0.88, not ≈ 0.12: the exponent is −z, σ(z) = 1/(1 + e^(−z)).",
    ),
    "large_inputs": Text(
        pt="Para entradas grandes (como ±10⁴) o resultado tem NaN ou infinito. Reescreva a fórmula para não "
        "dividir infinito por infinito.",
        en="For large inputs (such as ±10⁴) the result has NaN or infinity. Rewrite the formula so that it "
        "never divides infinity by infinity.",
    ),
    "tanh_is_sigmoid": Text(
        pt="Os valores estão entre 0 e 1, como na sigmoide; tanh vai de −1 a 1 (tanh(z) = 2σ(2z) − 1).",
        en="The values lie between 0 and 1, as the sigmoid's do; tanh ranges from −1 to 1 (tanh(z) = 2σ(2z) − 1).",
    ),
    "modifies_input": Text(
        pt="Sua função alterou a entrada (operação in-place). Crie um tensor novo e deixe a entrada intacta.",
        en="Your function modified its input (an in-place operation). Create a new tensor and leave the input "
        "untouched.",
    ),
    "naive_softmax": Text(
        pt="softmax([1000, 1000]) deu NaN: e^1000 estoura. Subtraia o máximo ao longo de `dim` antes do `exp`.",
        en="softmax([1000, 1000]) gave NaN: e^1000 overflows. Subtract the maximum along `dim` before `exp`.",
    ),
    "softmax_dim": Text(
        pt="As probabilidades não somam 1 ao longo de `dim`: normalize ao longo da dimensão pedida "
        "(use `dim` em `max` e `sum`, com `keepdim=True`).",
        en="The probabilities do not sum to 1 along `dim`: normalise along the requested dimension "
        "(pass `dim` to `max` and `sum`, with `keepdim=True`).",
    ),
    "bias_subtracted": Text(pt="O viés é **somado**: z = x @ w + b.", en="The bias is **added**: z = x @ w + b."),
    "perceptron_shape": Text(
        pt="Com x de forma (N, m) a saída deve ter forma (N,) e com x de forma (m,) deve ser um tensor 0-D.",
        en="With x of shape (N, m) the output must have shape (N,), and with x of shape (m,) a 0-D tensor.",
    ),
    "gate_row": Text(
        pt="Com esses pesos o perceptron erra a linha {row} da tabela verdade (deu {got}, deveria dar {expected}).",
        en="With these weights the perceptron gets row {row} of the truth table wrong (gave {got}, should give "
        "{expected}).",
    ),
    "gate_format": Text(
        pt="Esperava uma tupla `(w1, w2, b)` com três números, mas recebi `{type}`.",
        en="Expected a tuple `(w1, w2, b)` of three numbers, got `{type}`.",
    ),
    "xor_format": Text(
        pt="XOR_WEIGHTS deve ser um dict com `W1` (2, 2), `b1` (2,), `w2` (2,) e `b2` (um número): {detail}.",
        en="XOR_WEIGHTS must be a dict with `W1` (2, 2), `b1` (2,), `w2` (2,) and `b2` (a number): {detail}.",
    ),
    "xor_transposed": Text(
        pt="Sua rede só acerta XOR se W1 for usada sem transpor. As **linhas** de W1 são os neurônios ocultos, "
        "como em `nn.Linear`: h = step(x @ W1.T + b1).",
        en="Your network computes XOR only if W1 is used untransposed. The **rows** of W1 are the hidden units, "
        "as in `nn.Linear`: h = step(x @ W1.T + b1).",
    ),
    "xor_wrong": Text(
        pt="A rede erra a linha {row} da tabela verdade do XOR (deu {got}, deveria dar {expected}). "
        "Lembre: XOR = AND(OR, NAND).",
        en="The network gets row {row} of the XOR truth table wrong (gave {got}, should give {expected}). "
        "Remember: XOR = AND(OR, NAND).",
    ),
    "update_sign": Text(
        pt="A atualização foi na direção errada: o erro é (y − ŷ), alvo menos previsão.",
        en="The update went the wrong way: the error is (y − ŷ), target minus prediction.",
    ),
    "update_wrong": Text(
        pt="Os novos w e b não seguem a regra de Rosenblatt: w + lr·(y − ŷ)·x e b + lr·(y − ŷ), com ŷ = step(w·x + b).",
        en="The new w and b do not follow Rosenblatt's rule: w + lr·(y − ŷ)·x and b + lr·(y − ŷ), with "
        "ŷ = step(w·x + b).",
    ),
    "update_format": Text(
        pt="Devolva uma tupla `(w, b)` com o novo w (mesma forma da entrada) e o novo b.",
        en="Return a tuple `(w, b)` with the new w (same shape as the input) and the new b.",
    ),
    "train_misclassifies": Text(
        pt="Em dados linearmente separáveis, os pesos devolvidos erram {errors} de {total} amostras. "
        "Passe por todas as amostras a cada época e repita até uma época sem erros.",
        en="On linearly separable data the returned weights misclassify {errors} of {total} samples. Go over "
        "every sample each epoch and repeat until an epoch has no error.",
    ),
    "train_no_early_stop": Text(
        pt="O treino não parou depois de uma época sem erros (com `max_epochs` enorme ele não termina). "
        "Conte os erros de cada época e pare quando forem zero.",
        en="Training did not stop after an epoch with no error (with a huge `max_epochs` it never ends). "
        "Count each epoch's errors and stop when there are none.",
    ),
}
