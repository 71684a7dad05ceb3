"""06_regularization: L2, dropout, early stopping, augmentation, checkpoints, Xavier,
the optimizers' race, and a CNN trained on 100 digits that beats overfitting.

`LADDER`: each exercise's hint ladder; `MISTAKES`: feedback for the known mistakes the
graders recognise (../shared/research/common-mistakes.md).
"""

from grader.i18n import Text

T = Text

# Imported once by the sandbox's fork server instead of by each student process (grader.course's
# `student_preload`): optimizers import torch._dynamo on first use (800 modules, sympy's among
# them: 3 to 5 s a submission), and the kit's digits need scikit-learn.
STUDENT_PRELOAD = ("torch._dynamo", "sklearn.datasets", "sklearn.model_selection")

LADDER: dict[str, list[Text]] = {
    "l2_penalty": [
        T(
            pt="Percorra `model.parameters()` e fique só com os que têm mais de uma dimensão (`p.dim() > 1`).",
            en="Loop over `model.parameters()` and keep only those with more than one dimension (`p.dim() > 1`).",
        ),
        T(
            pt="`sum(p.pow(2).sum() for p in model.parameters() if p.dim() > 1)`: um tensor, sem `.item()`, para o "
            "gradiente passar. `model.parameters()` já lista um peso compartilhado uma vez só.",
            en="`sum(p.pow(2).sum() for p in model.parameters() if p.dim() > 1)`: a tensor, no `.item()`, so the "
            "gradient flows. `model.parameters()` already lists a shared weight once.",
        ),
    ],
    "dropout_forward": [
        T(
            pt="Sorteie uma máscara do tamanho de `x` inteiro: `torch.rand(x.shape, generator=generator, "
            "device=x.device) >= p` mantém cada elemento com probabilidade 1 - p.",
            en="Draw a mask the size of the whole `x`: `torch.rand(x.shape, generator=generator, device=x.device) "
            ">= p` keeps each element with probability 1 - p.",
        ),
        T(
            pt="No treino, `x * mascara / (1 - p)`; fora dele (ou com p = 0), `x.clone()`; com p = 1, zeros. "
            "Antes de tudo, `if not 0 <= p <= 1: raise ValueError(...)`.",
            en="In training, `x * mask / (1 - p)`; outside it (or with p = 0), `x.clone()`; with p = 1, zeros. "
            "First of all, `if not 0 <= p <= 1: raise ValueError(...)`.",
        ),
    ],
    "EarlyStopping": [
        T(
            pt="Guarde a **melhor** perda vista até agora (`self.best`, começando em `float('inf')`) e quantas "
            "épocas seguidas não a bateram (`self.bad_epochs`).",
            en="Keep the **best** loss seen so far (`self.best`, starting at `float('inf')`) and how many epochs "
            "in a row did not beat it (`self.bad_epochs`).",
        ),
        T(
            pt="Em `step`: se `val_loss < self.best - self.min_delta`, atualize `best` e zere `bad_epochs`; senão, "
            "some 1. Devolva `self.bad_epochs >= self.patience`.",
            en="In `step`: if `val_loss < self.best - self.min_delta`, update `best` and reset `bad_epochs`; else "
            "add 1. Return `self.bad_epochs >= self.patience`.",
        ),
    ],
    "random_shift": [
        T(
            pt="Sorteie um par (dy, dx) **por imagem**: `torch.randint(-max_shift, max_shift + 1, (N, 2), "
            "generator=generator, device=x.device)` (o `+ 1` inclui o extremo).",
            en="Draw a pair (dy, dx) **per image**: `torch.randint(-max_shift, max_shift + 1, (N, 2), "
            "generator=generator, device=x.device)` (the `+ 1` includes the end).",
        ),
        T(
            pt="Preencha com zeros, `F.pad(x, (m, m, m, m))`, e recorte de cada imagem a janela H × W que começa "
            "em `(m - dy, m - dx)`. `torch.roll` dá a volta e espelhar muda o dígito: nenhum dos dois serve.",
            en="Pad with zeros, `F.pad(x, (m, m, m, m))`, and cut from each image the H × W window starting at "
            "`(m - dy, m - dx)`. `torch.roll` wraps around and flipping changes the digit: neither will do.",
        ),
    ],
    "save_checkpoint": [
        T(
            pt="Um dicionário com `model.state_dict()`, `optimizer.state_dict()` e `epoch`, gravado com "
            "`torch.save(..., path)`.",
            en="A dict with `model.state_dict()`, `optimizer.state_dict()` and `epoch`, written with "
            "`torch.save(..., path)`.",
        ),
        T(
            pt='`torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, '
            "path)`. Não salve o objeto `model` inteiro: ele não abre com `weights_only=True`.",
            en='`torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, '
            "path)`. Do not save the whole `model` object: it does not open with `weights_only=True`.",
        ),
    ],
    "load_checkpoint": [
        T(
            pt="`torch.load(path, weights_only=True, map_location=device)` e depois `load_state_dict` no modelo "
            "**e** no otimizador.",
            en="`torch.load(path, weights_only=True, map_location=device)`, then `load_state_dict` on the model "
            "**and** on the optimizer.",
        ),
        T(
            pt='`model.load_state_dict(ck["model"])`, `optimizer.load_state_dict(ck["optimizer"])`, '
            '`return int(ck["epoch"])`, com as chaves do seu `save_checkpoint`.',
            en='`model.load_state_dict(ck["model"])`, `optimizer.load_state_dict(ck["optimizer"])`, '
            '`return int(ck["epoch"])`, with your `save_checkpoint`\'s keys.',
        ),
    ],
    "init_xavier_": [
        T(
            pt="Percorra `model.modules()` (todos os níveis) e trate cada `nn.Linear` e `nn.Conv2d`.",
            en="Walk `model.modules()` (every level) and handle each `nn.Linear` and `nn.Conv2d`.",
        ),
        T(
            pt="`nn.init.xavier_uniform_(m.weight)` e, se `m.bias is not None`, `nn.init.zeros_(m.bias)`. "
            "Devolva o próprio `model`.",
            en="`nn.init.xavier_uniform_(m.weight)` and, if `m.bias is not None`, `nn.init.zeros_(m.bias)`. "
            "Return `model` itself.",
        ),
    ],
    "optimizer_race": [
        T(
            pt="Para cada nome, uma cópia nova: `copia = copy.deepcopy(model)` e `otimizador = "
            "fabrica(copia.parameters())`.",
            en="For each name, a fresh copy: `twin = copy.deepcopy(model)` and `optimizer = "
            "factory(twin.parameters())`.",
        ),
        T(
            pt="Em cada passo: `zero_grad`, `perda = loss_fn(copia(X), y)`, guarde `perda.item()` **antes** do "
            "`step`, depois `backward` e `step`.",
            en="Each step: `zero_grad`, `loss = loss_fn(twin(X), y)`, record `loss.item()` **before** the "
            "`step`, then `backward` and `step`.",
        ),
    ],
    "train_small_digits": [
        T(
            pt="Sem regularização, a CNNPequena fica em uns 91% no teste; o mínimo é 93%. Aumento de dados com "
            "`random_shift` é o que mais ajuda aqui.",
            en="Without regularization, CNNPequena stays around 91% on the test split; at least 93% is needed. "
            "Augmentation with `random_shift` helps most here.",
        ),
        T(
            pt="`torch.manual_seed(0)`, Adam(lr=0.01), 300 passos com `random_shift(X, 1)` a cada passo e "
            "`+ 1e-4 * l2_penalty(model)` na perda; `model.eval()` no fim, no `device` pedido. Só "
            "`small_digits()`: nada do teste.",
            en="`torch.manual_seed(0)`, Adam(lr=0.01), 300 steps with `random_shift(X, 1)` each step and "
            "`+ 1e-4 * l2_penalty(model)` in the loss; `model.eval()` at the end, on the requested `device`. "
            "Only `small_digits()`: nothing of the test split.",
        ),
    ],
}

MISTAKES: dict[str, Text] = {
    # l2_penalty
    "l2_not_tensor": T(
        pt="`l2_penalty` devolveu `{type}`, não um tensor: com `.item()` ou `float(...)` o gradiente não chega "
        "aos pesos e a penalidade não regulariza nada. Devolva o tensor da soma.",
        en="`l2_penalty` returned `{type}`, not a tensor: with `.item()` or `float(...)` no gradient reaches "
        "the weights and the penalty regularizes nothing. Return the sum's tensor.",
    ),
    "l2_not_scalar": T(
        pt="`l2_penalty` deve devolver um tensor 0-d (um número), mas devolveu a forma {shape}: some tudo.",
        en="`l2_penalty` must return a 0-d tensor (one number), but returned shape {shape}: sum everything.",
    ),
    "l2_device": T(
        pt="A penalidade está em {actual}, mas os parâmetros estão em {expected}: calcule-a com os próprios "
        "parâmetros (um `torch.tensor(0.)` novo nasce na CPU).",
        en="The penalty is on {actual}, but the parameters are on {expected}: compute it from the parameters "
        "themselves (a new `torch.tensor(0.)` starts on the CPU).",
    ),
    "l2_biases": T(
        pt="Os vieses (e outros parâmetros de uma dimensão) entraram na soma: só os parâmetros com "
        "`p.dim() > 1`, os pesos de Linear e Conv, são penalizados.",
        en="The biases (and other one-dimensional parameters) went into the sum: only parameters with "
        "`p.dim() > 1`, Linear and Conv weights, are penalized.",
    ),
    "l2_norm_weights": T(
        pt="O `weight` da BatchNorm entrou na soma: escolher pelo nome (`'weight' in nome`) pega também os "
        "parâmetros da normalização. Use o número de dimensões, `p.dim() > 1`.",
        en="The BatchNorm's `weight` went into the sum: choosing by name (`'weight' in name`) also catches the "
        "normalization's parameters. Use the number of dimensions, `p.dim() > 1`.",
    ),
    "l2_shared_twice": T(
        pt="Um peso compartilhado por duas camadas foi contado duas vezes (percorrer as camadas encontra-o em "
        "cada uma). `model.parameters()` lista cada parâmetro uma vez só.",
        en="A weight shared by two layers was counted twice (walking the layers finds it in each). "
        "`model.parameters()` lists each parameter once.",
    ),
    "l2_not_squared": T(
        pt="Isso é a norma (com raiz), não a soma dos quadrados: use `p.pow(2).sum()`, sem `torch.norm` nem `sqrt`.",
        en="That is the norm (with a root), not the sum of squares: use `p.pow(2).sum()`, no `torch.norm` or `sqrt`.",
    ),
    "l2_value": T(
        pt="`l2_penalty` deu {actual:.6g}; a soma dos quadrados dos parâmetros com mais de uma dimensão é "
        "{expected:.6g}.",
        en="`l2_penalty` gave {actual:.6g}; the sum of squares of the parameters with more than one dimension "
        "is {expected:.6g}.",
    ),
    "l2_no_grad": T(
        pt="O valor está certo, mas o gradiente não passa por ele (`.detach()`, `torch.no_grad()` ou um tensor "
        "novo feito do número): some os próprios parâmetros.",
        en="The value is right, but no gradient flows through it (`.detach()`, `torch.no_grad()` or a new "
        "tensor made from the number): sum the parameters themselves.",
    ),
    "l2_gradient": T(
        pt="O gradiente da penalidade em `{name}` deveria ser 2·w: confira se cada peso entra uma vez, ao quadrado.",
        en="The penalty's gradient on `{name}` should be 2·w: check that each weight enters once, squared.",
    ),
    # dropout_forward
    "dropout_builtin": T(
        pt="O exercício é escrever o dropout à mão: sem `F.dropout` nem `nn.Dropout`. Sorteie a máscara com "
        "`torch.rand` e aplique-a.",
        en="The exercise is writing dropout by hand: no `F.dropout` or `nn.Dropout`. Draw the mask with "
        "`torch.rand` and apply it.",
    ),
    "dropout_no_scaling": T(
        pt="Os elementos que sobram saem iguais a `x`: falta dividir por `1 - p` (dropout **invertido**). Sem "
        "isso, a média da saída no treino é `(1 - p)·x`, e na avaliação a rede vê valores maiores do que "
        "aqueles com que treinou.",
        en="The surviving elements come out equal to `x`: divide by `1 - p` (**inverted** dropout). Without it "
        "the output's mean in training is `(1 - p)·x`, and at evaluation the network sees larger values than "
        "it trained on.",
    ),
    "dropout_scaled_wrong": T(
        pt="Os sobreviventes foram multiplicados por `1 - p`; o dropout invertido **divide** por `1 - p`.",
        en="The survivors were multiplied by `1 - p`; inverted dropout **divides** by `1 - p`.",
    ),
    "dropout_values": T(
        pt="Com p = {p}, cada elemento da saída deve ser 0 ou `x / (1 - p)`; há outros valores.",
        en="With p = {p}, each output element must be 0 or `x / (1 - p)`; there are other values.",
    ),
    "dropout_keep_swapped": T(
        pt="Com p = {p}, a fração zerada foi {rate:.3f}, perto de 1 - p: `p` é a probabilidade de **zerar**, "
        "não a de manter (`torch.rand(...) >= p` mantém).",
        en="With p = {p}, the zeroed fraction was {rate:.3f}, near 1 - p: `p` is the probability of "
        "**zeroing**, not keeping (`torch.rand(...) >= p` keeps).",
    ),
    "dropout_rate": T(
        pt="Com p = {p}, a fração de elementos zerados foi {rate:.3f}: cada elemento deve ser zerado com "
        "probabilidade p, independentemente.",
        en="With p = {p}, the fraction of zeroed elements was {rate:.3f}: each element must be zeroed with "
        "probability p, independently.",
    ),
    "dropout_shared_mask": T(
        pt="Todos os exemplos do lote receberam a mesma máscara: sorteie-a com a forma de `x` inteiro "
        "(`x.shape`), não só de um exemplo ou de um canal.",
        en="Every example in the batch got the same mask: draw it with the whole `x`'s shape (`x.shape`), not "
        "one example's or one channel's.",
    ),
    "dropout_at_eval": T(
        pt="Com `training=False` (p = {p}), a saída deve ser `x`, sem máscara nem escala: na avaliação o dropout "
        "não faz nada.",
        en="With `training=False` (p = {p}), the output must be `x`, no mask, no scaling: at evaluation "
        "dropout does nothing.",
    ),
    "dropout_p_zero": T(
        pt="Com p = 0, nada é zerado e a escala é 1: a saída deve ser `x`.",
        en="With p = 0, nothing is zeroed and the scale is 1: the output must be `x`.",
    ),
    "dropout_p_one": T(
        pt="Com p = 1, tudo é zerado: a saída deve ser só zeros (sem dividir por 1 - p = 0, que dá NaN).",
        en="With p = 1, everything is zeroed: the output must be all zeros (without dividing by 1 - p = 0, "
        "which gives NaN).",
    ),
    "dropout_p_unchecked": T(
        pt="Com p = {p} (training={training}) deveria sair `ValueError`: p é uma probabilidade, em [0, 1]. "
        "Confira isso antes de tudo, também fora do treino.",
        en="With p = {p} (training={training}) a `ValueError` was expected: p is a probability, in [0, 1]. "
        "Check it first, outside training too.",
    ),
    "dropout_generator": T(
        pt="O sorteio não usa o `generator` recebido: com dois geradores na mesma semente a saída deveria se "
        "repetir, e com sementes diferentes, mudar. Passe `generator=generator` ao `torch.rand`.",
        en="The draw does not use the `generator` given: two generators with the same seed should repeat the "
        "output, and different seeds change it. Pass `generator=generator` to `torch.rand`.",
    ),
    # EarlyStopping
    "early_not_object": T(
        pt="`EarlyStopping(...)` deveria criar um objeto com o método `step`, mas deu `{type}`.",
        en="`EarlyStopping(...)` should create an object with a `step` method, but gave `{type}`.",
    ),
    "early_initial": T(
        pt="No começo, `best` deve ser `float('inf')` e `bad_epochs`, 0 (encontrei best={best}, "
        "bad_epochs={bad_epochs}).",
        en="At the start, `best` must be `float('inf')` and `bad_epochs` 0 (found best={best}, "
        "bad_epochs={bad_epochs}).",
    ),
    "early_last_loss": T(
        pt="Com as perdas {history}, a comparação foi com a perda **anterior**, e não com a **melhor** até agora: "
        "uma validação que oscila nunca 'piora' em relação à anterior, mas também não bate o melhor valor.",
        en="With the losses {history}, the comparison was with the **previous** loss, not the **best** so far: "
        "an oscillating validation never 'gets worse' than the previous one, yet never beats the best.",
    ),
    "early_off_by_one": T(
        pt="Com as perdas {history} e patience={patience}, a parada veio uma época cedo ou tarde demais: pare "
        "quando `bad_epochs >= patience` (com patience=2, na segunda época seguida sem melhora).",
        en="With the losses {history} and patience={patience}, the stop came one epoch too early or too late: "
        "stop when `bad_epochs >= patience` (with patience=2, on the second epoch in a row without "
        "improvement).",
    ),
    "early_state": T(
        pt="Depois das perdas {history}, esperava best={best:g} e bad_epochs={bad}, mas encontrei best={got_best} "
        "e bad_epochs={got_bad}. Uma melhora só conta abaixo de `best - min_delta`.",
        en="After the losses {history}, expected best={best:g} and bad_epochs={bad}, but found best={got_best} "
        "and bad_epochs={got_bad}. An improvement only counts below `best - min_delta`.",
    ),
    "early_wrong": T(
        pt="Depois das perdas {history}, `step` deveria devolver {expected}, mas devolveu {returned}.",
        en="After the losses {history}, `step` should return {expected}, but returned {returned}.",
    ),
    # random_shift
    "shift_wraps": T(
        pt="Os pixels que saem por um lado entraram pelo outro (`torch.roll`): um traço do dígito reaparece do "
        "lado oposto. Os que saem somem e os que entram valem 0 (`F.pad` e recorte).",
        en="Pixels leaving one side came back on the other (`torch.roll`): a stroke of the digit reappears on "
        "the opposite side. Those leaving are dropped and those entering are 0 (`F.pad` and a crop).",
    ),
    "shift_flips": T(
        pt="A imagem foi espelhada: um dígito espelhado deixa de ser o mesmo dígito (o rótulo muda). Só desloque.",
        en="The image was flipped: a flipped digit is no longer the same digit (the label changes). Only shift.",
    ),
    "shift_too_far": T(
        pt="Uma imagem foi deslocada por {offset}, além de max_shift={m}.",
        en="An image was shifted by {offset}, beyond max_shift={m}.",
    ),
    "shift_channels": T(
        pt="Os canais de uma mesma imagem foram deslocados de formas diferentes: sorteie um (dy, dx) por imagem "
        "e aplique-o a todos os canais.",
        en="The channels of one image were shifted differently: draw one (dy, dx) per image and apply it to "
        "every channel.",
    ),
    "shift_wrong": T(
        pt="Alguma imagem não é a original deslocada por inteiros (dy, dx) em [-{m}, {m}] com zeros nas bordas.",
        en="Some image is not the original shifted by integers (dy, dx) in [-{m}, {m}] with zeros at the edges.",
    ),
    "shift_same_for_batch": T(
        pt="Todas as imagens do lote foram deslocadas igualmente: cada imagem precisa do seu próprio sorteio, "
        "`torch.randint(..., (N, 2))`.",
        en="Every image of the batch was shifted alike: each image needs its own draw, `torch.randint(..., (N, 2))`.",
    ),
    "shift_range": T(
        pt="Com max_shift={m}, os deslocamentos {missing} nunca apareceram: o extremo de `torch.randint` é "
        "exclusivo, use `torch.randint(-max_shift, max_shift + 1, ...)`.",
        en="With max_shift={m}, the offsets {missing} never appeared: `torch.randint`'s upper end is exclusive, "
        "use `torch.randint(-max_shift, max_shift + 1, ...)`.",
    ),
    "shift_zero": T(
        pt="Com max_shift=0, a saída deve ter os valores de `x`.",
        en="With max_shift=0, the output must hold `x`'s values.",
    ),
    "shift_generator": T(
        pt="O sorteio não usa o `generator` recebido: com a mesma semente a saída deveria se repetir, e com "
        "outras, mudar. Passe `generator=generator` ao `torch.randint`.",
        en="The draw does not use the `generator` given: the same seed should repeat the output and others "
        "change it. Pass `generator=generator` to `torch.randint`.",
    ),
    # checkpoints
    "checkpoint_unreadable": T(
        pt="O arquivo não abre com `torch.load(path, weights_only=True)` ({error}). Salve só `state_dict()`s, "
        "números e dicionários, não o objeto `model` ou o otimizador inteiros.",
        en="The file does not open with `torch.load(path, weights_only=True)` ({error}). Save only "
        "`state_dict()`s, numbers and dicts, not the whole `model` or optimizer objects.",
    ),
    "checkpoint_no_model": T(
        pt="O checkpoint não tem o `model.state_dict()` atual.",
        en="The checkpoint does not hold the current `model.state_dict()`.",
    ),
    "checkpoint_no_optimizer": T(
        pt="O checkpoint não tem o estado do otimizador (`optimizer.state_dict()`): retomado só com os pesos, o "
        "treino diverge do que nunca parou (o momento e as médias do Adam recomeçam do zero).",
        en="The checkpoint lacks the optimizer's state (`optimizer.state_dict()`): resumed from the weights "
        "alone, training diverges from the uninterrupted run (momentum and Adam's averages restart at zero).",
    ),
    "checkpoint_no_epoch": T(
        pt="O checkpoint não guarda a época recebida ({epoch}) como um `int`.",
        en="The checkpoint does not store the epoch it got ({epoch}) as an `int`.",
    ),
    "checkpoint_stale_optimizer": T(
        pt="O estado do otimizador no arquivo não é o atual: salve `optimizer.state_dict()` no momento da chamada.",
        en="The optimizer state in the file is not the current one: save `optimizer.state_dict()` at call time.",
    ),
    "checkpoint_resume_differs": T(
        pt="Retomado do seu arquivo, o treino não continua igual ao que nunca parou.",
        en="Resumed from your file, training does not continue like the uninterrupted run.",
    ),
    "load_not_weights_only": T(
        pt="`torch.load` com `weights_only=False` executa o código que o arquivo trouxer: leia com "
        "`weights_only=True`.",
        en="`torch.load` with `weights_only=False` runs whatever code the file carries: read with `weights_only=True`.",
    ),
    "load_no_map_location": T(
        pt="`torch.load` sem `map_location`: um checkpoint salvo numa GPU não abre numa máquina só com CPU. Use "
        "`torch.load(path, weights_only=True, map_location=device)`.",
        en="`torch.load` without `map_location`: a checkpoint saved on a GPU does not open on a CPU-only machine. "
        "Use `torch.load(path, weights_only=True, map_location=device)`.",
    ),
    "load_epoch": T(
        pt="`load_checkpoint` deveria devolver a época salva ({epoch}), mas devolveu {returned}.",
        en="`load_checkpoint` should return the saved epoch ({epoch}), but returned {returned}.",
    ),
    "load_no_model": T(
        pt="Depois de `load_checkpoint`, o modelo não tem os pesos do arquivo: chame "
        "`model.load_state_dict(...)` no próprio modelo recebido.",
        en="After `load_checkpoint`, the model does not hold the file's weights: call "
        "`model.load_state_dict(...)` on the model given.",
    ),
    "load_no_optimizer": T(
        pt="Os pesos foram restaurados, mas o treino retomado diverge do que nunca parou: falta "
        "`optimizer.load_state_dict(...)` (o momento e as médias do Adam fazem parte do treino).",
        en="The weights were restored, but resumed training diverges from the uninterrupted run: "
        "`optimizer.load_state_dict(...)` is missing (momentum and Adam's averages are part of training).",
    ),
    # init_xavier_
    "returned_none": T(
        pt="`{name}` devolveu None: devolva o próprio modelo (`return model`).",
        en="`{name}` returned None: return the model itself (`return model`).",
    ),
    "not_same_model": T(
        pt="`{name}` deve alterar e devolver o **mesmo** modelo que recebeu, não uma cópia nem um modelo novo.",
        en="`{name}` must change and return the **same** model it got, not a copy or a new model.",
    ),
    "xavier_untouched": T(
        pt="`{name}` ficou como estava: toda `nn.Linear` e `nn.Conv2d`, em qualquer nível (use "
        "`model.modules()`, não só `model.children()`), precisa ser reinicializada.",
        en="`{name}` was left as it was: every `nn.Linear` and `nn.Conv2d`, at any depth (use "
        "`model.modules()`, not just `model.children()`), must be reinitialised.",
    ),
    "xavier_normal": T(
        pt="`{name}` tem valores fora de ±{bound:.4f} (até {top:.4f}): parece a versão **normal** de Xavier. O "
        "exercício pede a uniforme, `nn.init.xavier_uniform_`.",
        en="`{name}` has values beyond ±{bound:.4f} (up to {top:.4f}): it looks like Xavier's **normal** "
        "version. The exercise asks for the uniform one, `nn.init.xavier_uniform_`.",
    ),
    "xavier_fan": T(
        pt="A escala de `{name}` não bate com ±sqrt(6 / (fan_in + fan_out)) = ±{bound:.4f} (o maior valor é "
        "{top:.4f}). Numa Conv2d, os fans incluem o núcleo: fan_in = in_channels·k·k.",
        en="The scale of `{name}` does not match ±sqrt(6 / (fan_in + fan_out)) = ±{bound:.4f} (the largest value "
        "is {top:.4f}). In a Conv2d the fans include the kernel: fan_in = in_channels·k·k.",
    ),
    "xavier_bias": T(
        pt="`{name}` deveria ser 0 depois de `init_xavier_`: `nn.init.zeros_(m.bias)` quando houver viés.",
        en="`{name}` should be 0 after `init_xavier_`: `nn.init.zeros_(m.bias)` where there is a bias.",
    ),
    "xavier_others": T(
        pt="Parâmetros fora das Linear e Conv2d mudaram ({names}): BatchNorm, LayerNorm, Embedding e os demais "
        "ficam como estão.",
        en="Parameters outside the Linear and Conv2d layers changed ({names}): BatchNorm, LayerNorm, Embedding "
        "and the rest stay as they are.",
    ),
    # optimizer_race
    "race_model_changed": T(
        pt="O `model` recebido foi treinado: cada otimizador deve treinar uma **cópia** "
        "(`copy.deepcopy(model)`), e o original fica intacto.",
        en="The `model` given was trained: each optimizer must train a **copy** (`copy.deepcopy(model)`), and "
        "the original stays intact.",
    ),
    "race_keys": T(
        pt="O resultado deve ter uma chave por otimizador de `make_optimizers` ({expected}), mas tem {actual}.",
        en="The result must have one key per optimizer in `make_optimizers` ({expected}), but has {actual}.",
    ),
    "race_not_floats": T(
        pt="As perdas de `{name}` devem ser uma lista de floats do Python (`perda.item()`), mas vieram como `{type}`.",
        en="The losses of `{name}` must be a list of Python floats (`loss.item()`), but came as `{type}`.",
    ),
    "race_length": T(
        pt="`{name}` tem {actual} perdas; com steps={steps}, devem ser {steps}.",
        en="`{name}` has {actual} losses; with steps={steps}, there must be {steps}.",
    ),
    "race_sequential": T(
        pt="A curva de `{name}` começa onde a anterior parou: o mesmo modelo foi treinado por um otimizador "
        "depois do outro. Cada um precisa de uma cópia do modelo **inicial** (`copy.deepcopy(model)` dentro do "
        "laço).",
        en="`{name}`'s curve starts where the previous one ended: one model was trained by one optimizer after "
        "another. Each needs a copy of the **initial** model (`copy.deepcopy(model)` inside the loop).",
    ),
    "race_after_step": T(
        pt="As perdas foram medidas **depois** de cada passo (a lista está adiantada de um passo): guarde "
        "`perda.item()` da perda que gerou o gradiente, antes do `step`.",
        en="The losses were measured **after** each step (the list is one step ahead): record `loss.item()` of "
        "the loss that made the gradient, before `step`.",
    ),
    "race_start": T(
        pt="A curva de `{name}` não começa na perda dos pesos iniciais: todos os otimizadores partem de cópias "
        "do mesmo `model`, sem reinicializar.",
        en="`{name}`'s curve does not start at the initial weights' loss: every optimizer starts from copies of "
        "the same `model`, without reinitialising.",
    ),
    "race_values": T(
        pt="As perdas de `{name}` não são as de `steps` passos com o lote inteiro e o otimizador de "
        "`make_optimizers[{name!r}]`.",
        en="`{name}`'s losses are not those of `steps` full-batch steps with the optimizer of "
        "`make_optimizers[{name!r}]`.",
    ),
    # train_small_digits
    "small_accuracy": T(
        pt="Acurácia de {accuracy:.1%} nas 450 imagens de teste (em {device}); o mínimo é {minimum:.0%}, acima "
        "do que a mesma rede alcança sem regularização (uns 91%). Use `random_shift` a cada passo (e, se "
        "quiser, dropout ou L2) e devolva o modelo em `model.eval()`.",
        en="Accuracy {accuracy:.1%} on the 450 test images (on {device}); at least {minimum:.0%} is needed, above "
        "what the same network reaches without regularization (about 91%). Use `random_shift` every step (and, "
        "if you like, dropout or L2) and return the model in `model.eval()`.",
    ),
}
