"""03_training: loaders, gradient descent, the training loop, validation, the best model, XOR learned.

`LADDER`: each exercise's hint ladder; `MISTAKES`: feedback for the known mistakes the
graders recognise (../shared/research/common-mistakes.md §7-10). `harness` builds the
models, loaders, losses and optimizers the graders hand to the student's functions.
"""

from grader.i18n import Text

T = Text

# Imported once by the sandbox's fork server instead of by each student process (grader.course's
# `student_preload`): optimizers and the operator trace import torch._dynamo on first use (800
# modules, sympy's among them: 3 to 5 s a submission).
STUDENT_PRELOAD = ("torch._dynamo",)

LADDER: dict[str, list[Text]] = {
    "make_iris_loaders": [
        T(
            pt="Separe treino e validação com `train_test_split(X, y, test_size=val_fraction, stratify=y, "
            "random_state=seed)`; só depois padronize.",
            en="Split with `train_test_split(X, y, test_size=val_fraction, stratify=y, random_state=seed)`; "
            "standardize only afterwards.",
        ),
        T(
            pt="Média e desvio vêm só do treino e são aplicados aos dois conjuntos. X em float32, y em int64; "
            "`DataLoader(..., shuffle=True)` no treino e `shuffle=False` na validação.",
            en="Mean and deviation come from the training split only and apply to both. X float32, y int64; "
            "`DataLoader(..., shuffle=True)` for training and `shuffle=False` for validation.",
        ),
    ],
    "gradient_descent": [
        T(
            pt="Comece de uma cópia: `x = x0.detach().clone().requires_grad_(True)`. A cada passo: calcule "
            "`f(x)`, chame `.backward()` e ande contra o gradiente.",
            en="Start from a copy: `x = x0.detach().clone().requires_grad_(True)`. At each step: compute `f(x)`, "
            "call `.backward()` and move against the gradient.",
        ),
        T(
            pt="Atualize dentro de `with torch.no_grad(): x -= lr * x.grad` e zere `x.grad` depois (os gradientes "
            "se acumulam). Devolva `x.detach()`.",
            en="Update inside `with torch.no_grad(): x -= lr * x.grad` and zero `x.grad` afterwards (gradients "
            "accumulate). Return `x.detach()`.",
        ),
    ],
    "train_one_epoch": [
        T(
            pt="`model.train()` primeiro. Para cada lote: mova X e y para `device`, `optimizer.zero_grad()`, "
            "forward, perda, `loss.backward()`, `optimizer.step()`.",
            en="`model.train()` first. For each batch: move X and y to `device`, `optimizer.zero_grad()`, forward, "
            "loss, `loss.backward()`, `optimizer.step()`.",
        ),
        T(
            pt="Some `loss.item() * len(X)` e divida pelo total de amostras: o último lote pode ser menor, e a "
            "média das médias dos lotes daria peso demais a ele.",
            en="Add up `loss.item() * len(X)` and divide by the number of samples: the last batch may be smaller, "
            "and the mean of the batch means would overweight it.",
        ),
    ],
    "evaluate": [
        T(
            pt="`model.eval()` (Dropout desligado, BatchNorm com as estatísticas guardadas) e o laço dentro de "
            "`with torch.no_grad():`.",
            en="`model.eval()` (Dropout off, BatchNorm with its stored statistics) and the loop inside "
            "`with torch.no_grad():`.",
        ),
        T(
            pt="Perda: média ponderada pelo tamanho de cada lote. Acurácia: `(logits.argmax(dim=1) == y).sum()` "
            "somado em todos os lotes e dividido pelo número de amostras. Nada de `backward` nem `step`.",
            en="Loss: mean weighted by each batch's size. Accuracy: `(logits.argmax(dim=1) == y).sum()` over all "
            "batches, divided by the number of samples. No `backward`, no `step`.",
        ),
    ],
    "fit": [
        T(
            pt="A cada época: `train_one_epoch`, depois `evaluate` na validação; guarde os três números no histórico.",
            en="Each epoch: `train_one_epoch`, then `evaluate` on the validation set; append the three numbers to "
            "the history.",
        ),
        T(
            pt="Quando a perda de validação melhorar, guarde `copy.deepcopy(model.state_dict())` (sem a cópia, o "
            "dicionário acompanha os pesos que continuam mudando) e, no fim, `model.load_state_dict(...)`.",
            en="When the validation loss improves, keep `copy.deepcopy(model.state_dict())` (without the copy the "
            "dict follows the weights as they keep changing) and, at the end, `model.load_state_dict(...)`.",
        ),
    ],
    "train_iris": [
        T(
            pt="Uma MLP 4 → 20 → 10 → 3 com `CrossEntropyLoss` e Adam (lr ≈ 0.01) chega a mais de 95% em "
            "poucas centenas de passos.",
            en="A 4 → 20 → 10 → 3 MLP with `CrossEntropyLoss` and Adam (lr ≈ 0.01) passes 95% within a few "
            "hundred steps.",
        ),
        T(
            pt="O modelo recebe as medidas brutas: guarde média e desvio do treino como buffers "
            "(`self.register_buffer`) e padronize no `forward`; mova o modelo e os dados para `device`.",
            en="The model gets raw measurements: keep the training mean and deviation as buffers "
            "(`self.register_buffer`) and standardize in `forward`; move the model and data to `device`.",
        ),
    ],
    "train_xor_mlp": [
        T(
            pt="`torch.manual_seed(seed)` primeiro; depois `nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))`, "
            "os quatro pontos em `float32` e os rótulos `[0, 1, 1, 0]` com `dtype=torch.int64`.",
            en="`torch.manual_seed(seed)` first; then `nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))`, "
            "the four points as `float32` and the labels `[0, 1, 1, 0]` with `dtype=torch.int64`.",
        ),
        T(
            pt="O laço de sempre, num lote único: `zero_grad`, forward, `nn.CrossEntropyLoss()`, `backward`, `step`, "
            "com `torch.optim.Adam(model.parameters(), lr=0.1)` por 100 passos. Leve a rede e os dados para `device`.",
            en="The usual loop, on a single batch: `zero_grad`, forward, `nn.CrossEntropyLoss()`, `backward`, `step`, "
            "with `torch.optim.Adam(model.parameters(), lr=0.1)` for 100 steps. Move the network and data to `device`.",
        ),
    ],
}

MISTAKES: dict[str, Text] = {
    # make_iris_loaders
    "loaders_pair": T(
        pt="`make_iris_loaders` deve devolver a tupla (train_loader, val_loader); recebi {detail}.",
        en="`make_iris_loaders` must return the tuple (train_loader, val_loader); got {detail}.",
    ),
    "loader_batches": T(
        pt="Cada lote de {which} deve ser um par (X, y) de tensores, com X de forma (lote, 4) e y "
        "de forma (lote,): {detail}.",
        en="Each batch of {which} must be a pair (X, y) of tensors, X of shape (batch, 4) and y of "
        "shape (batch,): {detail}.",
    ),
    "loader_dtypes": T(
        pt="X deve ser float32 e y int64 (a `CrossEntropyLoss` exige rótulos inteiros), mas são {x_dtype} e {y_dtype}.",
        en="X must be float32 and y int64 (`CrossEntropyLoss` needs integer labels), but they are "
        "{x_dtype} and {y_dtype}.",
    ),
    "split_sizes": T(
        pt="Com val_fraction={fraction}, esperava {train} amostras de treino e {val} de validação; "
        "recebi {got_train} e {got_val}.",
        en="With val_fraction={fraction}, expected {train} training and {val} validation samples; got "
        "{got_train} and {got_val}.",
    ),
    "batch_size_ignored": T(
        pt="Os lotes de treino devem ter `batch_size` = {batch_size} amostras (o último pode "
        "ser menor); vieram lotes de {sizes}.",
        en="Training batches must hold `batch_size` = {batch_size} samples (the last may be "
        "smaller); got batches of {sizes}.",
    ),
    "not_stratified": T(
        pt="A validação não está estratificada: tem {counts} amostras de cada classe. A Iris vem "
        "ordenada por classe; use `stratify=y` no `train_test_split`.",
        en="The validation split is not stratified: it holds {counts} samples of each class. Iris "
        "is sorted by class; use `stratify=y` in `train_test_split`.",
    ),
    "samples_lost": T(
        pt="Treino e validação juntos devem conter cada uma das 150 amostras da Iris uma única vez, "
        "com o seu rótulo: {detail}.",
        en="Training and validation together must hold each of Iris' 150 samples exactly once, with "
        "its label: {detail}.",
    ),
    "not_standardized": T(
        pt="Os atributos de treino não estão padronizados (cada coluna com média 0 e desvio 1): "
        "médias {means}, desvios {stds}.",
        en="The training features are not standardized (each column with mean 0 and deviation "
        "1): means {means}, deviations {stds}.",
    ),
    "scaler_leakage": T(
        pt="A média e o desvio foram calculados com todos os dados, validação incluída (vazamento): "
        "calcule-os só no treino e aplique-os aos dois conjuntos.",
        en="The mean and deviation were computed on all the data, validation included (leakage): "
        "compute them on the training split only and apply them to both.",
    ),
    "val_own_statistics": T(
        pt="A validação foi padronizada com as próprias estatísticas; use a média e o desvio "
        "do treino também na validação.",
        en="The validation split was standardized with its own statistics; use the training "
        "mean and deviation for validation too.",
    ),
    "train_not_shuffled": T(
        pt="O loader de treino repete a mesma ordem a cada época: use `shuffle=True`.",
        en="The training loader repeats the same order every epoch: use `shuffle=True`.",
    ),
    "val_shuffled": T(
        pt="O loader de validação muda de ordem a cada passada: use `shuffle=False` na validação.",
        en="The validation loader changes order on each pass: use `shuffle=False` for validation.",
    ),
    "seed_ignored": T(
        pt="A separação deve depender só de `seed`: {detail}. Passe `random_state=seed`.",
        en="The split must depend on `seed` alone: {detail}. Pass `random_state=seed`.",
    ),
    # gradient_descent
    "gd_not_detached": T(
        pt="Devolva um tensor sem grafo (`x.detach()`): o resultado ainda exige gradiente.",
        en="Return a tensor without a graph (`x.detach()`): the result still requires grad.",
    ),
    "gd_modifies_x0": T(
        pt="`x0` foi alterado: trabalhe numa cópia (`x0.detach().clone()`).",
        en="`x0` was modified: work on a copy (`x0.detach().clone()`).",
    ),
    "gd_ascent": T(
        pt="O ponto subiu a função: o passo é contra o gradiente, `x - lr * grad`.",
        en="The point climbed the function: the step goes against the gradient, `x - lr * grad`.",
    ),
    "gd_off_by_one": T(
        pt="Foram dados {actual} passos em vez de `steps` = {steps}.",
        en="{actual} steps were taken instead of `steps` = {steps}.",
    ),
    "gd_no_zero_grad": T(
        pt="Os gradientes se acumularam entre os passos: zere `x.grad` depois de cada atualização (`x.grad.zero_()`).",
        en="Gradients accumulated across steps: zero `x.grad` after each update (`x.grad.zero_()`).",
    ),
    "gd_no_autograd": T(
        pt="Nenhum gradiente veio do autograd (nenhum `backward()` nem `torch.autograd.grad` "
        "rodou). Diferenças finitas aproximam ∇f, mas este exercício é a descida do gradiente "
        "com autograd: `x.requires_grad_(True)`, `f(x).backward()`, use `x.grad`.",
        en="No gradient came from autograd (no `backward()` or `torch.autograd.grad` ran). Finite "
        "differences approximate ∇f, but this exercise is gradient descent with autograd: "
        "`x.requires_grad_(True)`, `f(x).backward()`, use `x.grad`.",
    ),
    "gd_wrong": T(
        pt="{what}: o resultado não é o de `steps` passos de x ← x − lr·∇f(x) a partir de x0.",
        en="{what}: the result is not that of `steps` steps of x ← x − lr·∇f(x) from x0.",
    ),
    # train_one_epoch, evaluate
    "loss_keeps_graph": T(
        pt="{what}: o número devolvido ainda carrega o grafo (requires_grad): acumule "
        "`loss.item()`, não o tensor `loss`.",
        en="{what}: the number returned still carries the graph (requires_grad): accumulate "
        "`loss.item()`, not the `loss` tensor.",
    ),
    "no_train_mode": T(
        pt="O modelo treinou em modo de avaliação: chame `model.train()` no início da época "
        "(Dropout e BatchNorm se comportam diferente em cada modo).",
        en="The model trained in evaluation mode: call `model.train()` at the start of the epoch "
        "(Dropout and BatchNorm behave differently in each mode).",
    ),
    "no_step": T(
        pt="Os pesos não mudaram como deveriam: `optimizer.step()` precisa vir depois de "
        "`loss.backward()`, a cada lote.",
        en="The weights did not change as they should: `optimizer.step()` must come after "
        "`loss.backward()`, for every batch.",
    ),
    "no_zero_grad": T(
        pt="Os gradientes se acumulam entre os lotes: chame `optimizer.zero_grad()` a cada passo.",
        en="Gradients accumulate across batches: call `optimizer.zero_grad()` at every step.",
    ),
    "step_order": T(
        pt="A ordem dos passos está errada: zero_grad → forward → perda → backward → step, a cada lote.",
        en="The steps are out of order: zero_grad → forward → loss → backward → step, for every batch.",
    ),
    "ignores_loss_fn": T(
        pt="Use a função de perda recebida (`loss_fn`), não uma criada dentro da função.",
        en="Use the loss function you are given (`loss_fn`), not one made inside the function.",
    ),
    "ignores_optimizer": T(
        pt="Use o otimizador recebido (`optimizer`): ele já guarda a taxa de aprendizado e o estado (momento, Adam).",
        en="Use the optimizer you are given (`optimizer`): it holds the learning rate and the state (momentum, Adam).",
    ),
    "epoch_wrong": T(
        pt="Depois da época, os pesos diferem dos de um laço de treino correto partindo dos mesmos "
        "pesos, dados e semente.",
        en="After the epoch, the weights differ from those of a correct training loop started from "
        "the same weights, data and seed.",
    ),
    "unweighted_mean": T(
        pt="{what}: você tirou a média das perdas dos lotes, mas o último lote é menor: pondere "
        "cada lote pelo número de amostras (`loss.item() * len(X)`) e divida pelo total.",
        en="{what}: you averaged the batch losses, but the last batch is smaller: weight each "
        "batch by its number of samples (`loss.item() * len(X)`) and divide by the total.",
    ),
    "last_batch_loss": T(
        pt="{what}: esse é o valor da perda do último lote; devolva a média de toda a época.",
        en="{what}: that is the last batch's loss; return the mean over the whole epoch.",
    ),
    "loss_wrong": T(
        pt="{what}: a perda devolvida ({actual:.6g}) não é a média por amostra da época ({expected:.6g}).",
        en="{what}: the loss returned ({actual:.6g}) is not the per-sample mean of the epoch ({expected:.6g}).",
    ),
    "no_eval_mode": T(
        pt="A avaliação rodou em modo de treino: chame `model.eval()` antes (senão o Dropout sorteia "
        "e o BatchNorm altera as estatísticas guardadas, mesmo sob `no_grad`).",
        en="Evaluation ran in training mode: call `model.eval()` first (otherwise Dropout draws at "
        "random and BatchNorm changes its stored statistics, even under `no_grad`).",
    ),
    "no_no_grad": T(
        pt="A avaliação construiu o grafo de gradientes: envolva o laço em `with torch.no_grad():`.",
        en="Evaluation built the gradient graph: wrap the loop in `with torch.no_grad():`.",
    ),
    "eval_updates_weights": T(
        pt="A avaliação calculou gradientes ou mexeu nos pesos do modelo: validação não chama `backward` nem `step`.",
        en="Evaluation computed gradients or changed the model's weights: validation calls "
        "neither `backward` nor `step`.",
    ),
    "evaluate_pair": T(
        pt="`evaluate` deve devolver a tupla (perda, acurácia); recebi {detail}.",
        en="`evaluate` must return the tuple (loss, accuracy); got {detail}.",
    ),
    "accuracy_not_fraction": T(
        pt="A acurácia deve ser uma fração em [0, 1] (acertos / amostras), não {actual}.",
        en="Accuracy must be a fraction in [0, 1] (correct / samples), not {actual}.",
    ),
    "accuracy_wrong": T(
        pt="A acurácia devolvida ({actual:.4g}) não é a fração de acertos do argmax das saídas ({expected:.4g}).",
        en="The accuracy returned ({actual:.4g}) is not the fraction of correct arg-max outputs ({expected:.4g}).",
    ),
    # fit
    "history_shape": T(
        pt="O histórico deve ser um dict com as listas 'train_loss', 'val_loss' e 'val_acc', uma "
        "entrada por época ({epochs}): {detail}.",
        en="The history must be a dict with lists 'train_loss', 'val_loss' and 'val_acc', one entry "
        "per epoch ({epochs}): {detail}.",
    ),
    "history_values": T(
        pt="Os valores de '{series}' no histórico não são os de treinar e validar uma época por vez "
        "(época {epoch}: {actual:.6g} em vez de {expected:.6g}).",
        en="The '{series}' values in the history are not those of training and validating one epoch "
        "at a time (epoch {epoch}: {actual:.6g} instead of {expected:.6g}).",
    ),
    "best_not_kept": T(
        pt="No fim, o modelo tem os pesos da última época, não os da melhor (época {best}). "
        "`model.state_dict()` não é uma cópia: guarde `copy.deepcopy(model.state_dict())` e "
        "chame `model.load_state_dict(...)` no fim.",
        en="At the end the model holds the last epoch's weights, not the best one's (epoch {best}). "
        "`model.state_dict()` is not a copy: keep `copy.deepcopy(model.state_dict())` and call "
        "`model.load_state_dict(...)` at the end.",
    ),
    "best_by_accuracy": T(
        pt="O modelo ficou com os pesos da época de maior acurácia; o pedido é a de menor perda "
        "de validação (época {best}).",
        en="The model kept the weights of the epoch with the best accuracy; the one asked for is "
        "the lowest validation loss (epoch {best}).",
    ),
    "best_wrong": T(
        pt="No fim, o modelo deve ter os pesos da época de menor perda de validação (época {best}).",
        en="At the end the model must hold the weights of the epoch with the lowest validation loss (epoch {best}).",
    ),
    # train_iris
    "iris_accuracy": T(
        pt="Acurácia de {accuracy:.1%} nas 150 amostras (medidas brutas, em {device}); o mínimo é "
        "95%. Confira a taxa de aprendizado (baixa demais quase não sai do lugar), o número de "
        "épocas, se o otimizador recebeu os parâmetros deste modelo e se a saída são 3 logits.",
        en="Accuracy {accuracy:.1%} on the 150 samples (raw measurements, on {device}); at least 95% "
        "is needed. Check the learning rate (too low barely moves), the number of epochs, that "
        "the optimizer got this model's parameters and that the output is 3 logits.",
    ),
    "iris_diverged": T(
        pt="O modelo devolve NaN ou infinito: o treino divergiu. Reduza a taxa de aprendizado (por exemplo 10×).",
        en="The model returns NaN or infinity: training diverged. Lower the learning rate (e.g. 10×).",
    ),
    "expects_standardized": T(
        pt="O modelo só acerta com os atributos já padronizados, mas recebe as medidas brutas "
        "(cm): ponha a padronização dentro do modelo (buffers com média e desvio do "
        "treino).",
        en="The model is only right on standardized features, but it gets raw measurements "
        "(cm): put the standardization inside the model (buffers with the training mean "
        "and deviation).",
    ),
    # train_xor_mlp
    "xor_not_trained": T(
        pt="Nenhum `backward` rodou enquanto `train_xor_mlp` montava a rede: os pesos não vieram de treino. "
        "Pesos escolhidos à mão (como no módulo 01) ou uma rede devolvida sem treinar não valem aqui: parta dos "
        "pesos aleatórios da rede e treine com a perda, `loss.backward()` e um otimizador.",
        en="No `backward` ran while `train_xor_mlp` built its network: the weights did not come from training. "
        "Hand-set weights (as in module 01) or a network returned untrained do not count here: start from the "
        "network's random weights and train with the loss, `loss.backward()` and an optimizer.",
    ),
    "xor_linear": T(
        pt="A rede é linear: a saída é uma função afim da entrada, e nenhuma função assim separa o XOR. Ponha uma "
        "ativação não linear entre as camadas (`nn.Tanh()` ou `nn.ReLU()`): duas `nn.Linear` seguidas equivalem a uma só.",
        en="The network is linear: its output is an affine function of its input, and no such function separates "
        "XOR. Put a nonlinear activation between the layers (`nn.Tanh()` or `nn.ReLU()`): two `nn.Linear` in a "
        "row amount to one.",
    ),
    "xor_some_seeds": T(
        pt="Com as sementes {failing} (de {total}, em {device}) a rede treinada erra algum dos quatro pontos; com as "
        "outras, acerta. A descida empacou por causa do começo sorteado: com só 2 unidades ocultas isso é comum. "
        "Dê folga à rede (por exemplo 8 unidades ocultas) e confira a taxa de aprendizado e o número de passos.",
        en="With seeds {failing} (of {total}, on {device}) the trained network gets one of the four points wrong; "
        "with the others it is right. Descent got stuck because of the random start: with only 2 hidden units "
        "this is common. Give the network room (e.g. 8 hidden units) and check the learning rate and the number "
        "of steps.",
    ),
    "xor_not_learned": T(
        pt="Em {device}, nenhuma das redes treinadas acerta os quatro pontos do XOR. Confira o número de passos "
        "(poucos passos deixam a rede quase como foi sorteada), a taxa de aprendizado, se o otimizador recebeu os "
        "parâmetros desta rede e se os rótulos são `[0, 1, 1, 0]`.",
        en="On {device}, none of the trained networks gets all four XOR points right. Check the number of steps "
        "(few steps leave the network almost as it was drawn), the learning rate, that the optimizer got this "
        "network's parameters and that the labels are `[0, 1, 1, 0]`.",
    ),
    "xor_seed_ignored": T(
        pt="A rede deve depender da semente, e só dela: {detail}. Chame `torch.manual_seed(seed)` no começo, antes "
        "de criar a rede, e deixe os pesos iniciais serem os sorteados (nada de pesos fixos).",
        en="The network must depend on the seed, and on it alone: {detail}. Call `torch.manual_seed(seed)` at the "
        "start, before creating the network, and keep the drawn initial weights (no fixed weights).",
    ),
}
