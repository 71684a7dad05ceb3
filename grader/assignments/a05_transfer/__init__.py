"""05_transfer: freezing, replacing the head, parameter groups, linear probe, fine-tuning.

`LADDER`: each exercise's hint ladder; `MISTAKES`: feedback for the known mistakes the
graders recognise (../shared/research/common-mistakes.md §14-15).
"""

from grader.i18n import Text

T = Text

# Imported once by the sandbox's fork server instead of by each student process (grader.course's
# `student_preload`): optimizers import torch._dynamo on first use (800 modules, sympy's among
# them: 3 to 5 s a submission), and the kit's digits need scikit-learn.
STUDENT_PRELOAD = ("torch._dynamo", "sklearn.datasets", "sklearn.model_selection")

LADDER: dict[str, list[Text]] = {
    "freeze": [
        T(
            pt="Congelar é desligar o gradiente de cada parâmetro: percorra `model.parameters()`.",
            en="Freezing turns off each parameter's gradient: loop over `model.parameters()`.",
        ),
        T(
            pt="`p.requires_grad_(False)` (ou `p.requires_grad = False`) em cada `p`, ou `model.requires_grad_(False)` "
            "de uma vez. `model.requires_grad = False` só cria um atributo e não congela nada. Devolva o próprio "
            "`model`.",
            en="`p.requires_grad_(False)` (or `p.requires_grad = False`) on each `p`, or `model.requires_grad_(False)` "
            "at once. `model.requires_grad = False` just creates an attribute and freezes nothing. Return `model` "
            "itself.",
        ),
    ],
    "replace_head": [
        T(
            pt="A cabeça antiga diz quantas características chegam nela: `model.fc.in_features`.",
            en="The old head tells how many features reach it: `model.fc.in_features`.",
        ),
        T(
            pt="`model.fc = nn.Linear(model.fc.in_features, num_classes)`, levada ao dispositivo da antiga "
            "(`.to(model.fc.weight.device)`). Uma camada nova já nasce treinável; não mexa no resto. Devolva "
            "`model`.",
            en="`model.fc = nn.Linear(model.fc.in_features, num_classes)`, moved to the old one's device "
            "(`.to(model.fc.weight.device)`). A new layer starts trainable; leave the rest alone. Return "
            "`model`.",
        ),
    ],
    "trainable_parameters": [
        T(
            pt="Filtre `model.parameters()` por `p.requires_grad`.",
            en="Filter `model.parameters()` by `p.requires_grad`.",
        ),
        T(
            pt="`[p for p in model.parameters() if p.requires_grad]`: uma lista (um gerador se esgota no primeiro uso).",
            en="`[p for p in model.parameters() if p.requires_grad]`: a list (a generator is used up after one pass).",
        ),
    ],
    "make_finetune_optimizer": [
        T(
            pt="Um otimizador aceita uma lista de grupos: `[{'params': ..., 'lr': ...}, {'params': ..., 'lr': ...}]`.",
            en="An optimizer takes a list of groups: `[{'params': ..., 'lr': ...}, {'params': ..., 'lr': ...}]`.",
        ),
        T(
            pt="Grupo 1: `model.fc.parameters()` com head_lr. Grupo 2: os outros parâmetros treináveis (compare por "
            "`id(p)` com os da cabeça) com backbone_lr. Nenhum parâmetro em dois grupos.",
            en="Group 1: `model.fc.parameters()` at head_lr. Group 2: the other trainable parameters (compare by "
            "`id(p)` with the head's) at backbone_lr. No parameter in two groups.",
        ),
    ],
    "train_linear_probe": [
        T(
            pt="`replace_head(freeze(load_pretrained_backbone()), 5)` e treine só a cabeça nos dados de "
            "`target_task()`.",
            en="`replace_head(freeze(load_pretrained_backbone()), 5)` and train only the head on `target_task()`'s "
            "data.",
        ),
        T(
            pt="Chame `model.eval()` antes de treinar: com o backbone congelado, a BatchNorm no modo de treino ainda "
            "mudaria running_mean/running_var. Adam(lr=0.01) na cabeça por umas 300 passadas nas 25 imagens basta.",
            en="Call `model.eval()` before training: with the backbone frozen, BatchNorm in training mode would still "
            "change running_mean/running_var. Adam(lr=0.01) on the head for about 300 passes over the 25 images "
            "is enough.",
        ),
    ],
    "finetune": [
        T(
            pt="Troque a cabeça da rede pré-treinada (sem congelar) e só depois crie o otimizador com "
            "`make_finetune_optimizer`.",
            en="Replace the pretrained network's head (without freezing) and only then create the optimizer with "
            "`make_finetune_optimizer`.",
        ),
        T(
            pt="head_lr=0.01 e backbone_lr=0.001 com Adam, umas 100 passadas nas 25 imagens em `model.train()`; "
            "devolva o modelo em `model.eval()`, no `device` pedido.",
            en="head_lr=0.01 and backbone_lr=0.001 with Adam, about 100 passes over the 25 images in "
            "`model.train()`; return the model in `model.eval()`, on the requested `device`.",
        ),
    ],
}

MISTAKES: dict[str, Text] = {
    "returned_none": T(
        pt="`{name}` devolveu None: devolva o próprio modelo (`return model`).",
        en="`{name}` returned None: return the model itself (`return model`).",
    ),
    "not_same_model": T(
        pt="`{name}` deve alterar e devolver o **mesmo** modelo que recebeu, não uma cópia nem um modelo novo.",
        en="`{name}` must change and return the **same** model it got, not a copy or a new model.",
    ),
    "requires_grad_attribute": T(
        pt="Nada foi congelado: `model.requires_grad = False` só cria um atributo Python no "
        "módulo. Use `model.requires_grad_(False)` ou um laço em `model.parameters()`.",
        en="Nothing was frozen: `model.requires_grad = False` only creates a Python "
        "attribute on the module. Use `model.requires_grad_(False)` or a loop over "
        "`model.parameters()`.",
    ),
    "freeze_partial": T(
        pt="Ainda exigem gradiente depois de `freeze`: {names}. Congele **todos** os parâmetros de "
        "`model.parameters()`, a cabeça também.",
        en="Still requiring gradients after `freeze`: {names}. Freeze **every** parameter in "
        "`model.parameters()`, the head too.",
    ),
    "root_parameters": T(
        pt="Ficaram de fora parâmetros registrados direto no modelo, em nenhum submódulo ({names}): "
        "percorrer só `model.children()` (ou `named_children()`) não os encontra. Use "
        "`model.parameters()` / `model.named_parameters()`, que incluem os parâmetros do próprio "
        "modelo e os de todos os submódulos.",
        en="Parameters registered directly on the model, in no submodule, were left out ({names}): "
        "walking only `model.children()` (or `named_children()`) does not find them. Use "
        "`model.parameters()` / `model.named_parameters()`, which include the model's own "
        "parameters and those of every submodule.",
    ),
    "dedup_by_value": T(
        pt="Faltam parâmetros com os mesmos valores de outros ({names}; por exemplo os pesos de duas "
        'LayerNorm, que começam todos em 1): "cada um uma vez" quer dizer cada objeto uma vez '
        "(`p is q`), não valores diferentes. `model.parameters()` já lista cada parâmetro "
        "compartilhado uma vez só.",
        en="Parameters equal in value to others are missing ({names}; e.g. the weights of two "
        'LayerNorms, which all start at 1): "each once" means each object once (`p is q`), '
        "not distinct values. `model.parameters()` already lists a shared parameter once.",
    ),
    "head_by_prefix": T(
        pt="Parâmetros do backbone entraram com head_lr ({names}): o nome deles também começa com "
        "`fc`. Reconheça a cabeça pelos próprios objetos, `ids = {{id(p) for p in "
        "model.fc.parameters()}}`, ou pelo prefixo com o ponto, `nome.startswith('fc.')`.",
        en="Backbone parameters got head_lr ({names}): their names start with `fc` too. Recognise "
        "the head by the objects themselves, `ids = {{id(p) for p in model.fc.parameters()}}`, or "
        "by the prefix with its dot, `name.startswith('fc.')`.",
    ),
    "weights_changed": T(
        pt="`{name}` mudou os valores dos pesos ({names}); ele só deve mexer em `requires_grad`{extra}.",
        en="`{name}` changed the weights' values ({names}); it should only touch `requires_grad`{extra}.",
    ),
    "head_not_replaced": T(
        pt="`model.fc` continua sendo a cabeça antiga: atribua uma camada nova, `model.fc = nn.Linear(...)`.",
        en="`model.fc` is still the old head: assign a new layer, `model.fc = nn.Linear(...)`.",
    ),
    "head_outputs": T(
        pt="Com `num_classes={classes}`, o modelo deveria dar {expected} logits por exemplo, mas dá "
        "{actual}: use `num_classes` como `out_features` da cabeça nova.",
        en="With `num_classes={classes}`, the model should give {expected} logits per example, but "
        "gives {actual}: use `num_classes` as the new head's `out_features`.",
    ),
    "head_in_features": T(
        pt="A cabeça nova não recebe o que o backbone entrega ({model}): use "
        "`model.fc.in_features` da cabeça antiga em vez de um número fixo.",
        en="The new head does not take what the backbone outputs ({model}): use the old head's "
        "`model.fc.in_features` instead of a fixed number.",
    ),
    "head_frozen": T(
        pt="A cabeça nova não é treinável ({names} com requires_grad=False). Congele antes de trocar "
        "a cabeça: uma camada nova já nasce treinável.",
        en="The new head is not trainable ({names} with requires_grad=False). Freeze before replacing "
        "the head: a new layer starts trainable.",
    ),
    "others_changed": T(
        pt="`replace_head` mudou o `requires_grad` de outros parâmetros ({names}); só a cabeça é "
        "nova, o resto fica como estava.",
        en="`replace_head` changed other parameters' `requires_grad` ({names}); only the head is "
        "new, the rest stays as it was.",
    ),
    "head_device": T(
        pt="A cabeça nova ficou na CPU com o modelo em {device}: crie-a no dispositivo da antiga "
        "(`.to(model.fc.weight.device)`).",
        en="The new head stayed on the CPU with the model on {device}: create it on the old one's "
        "device (`.to(model.fc.weight.device)`).",
    ),
    "not_a_list": T(
        pt="`trainable_parameters` deve devolver uma lista, mas devolveu `{type}` (um gerador ou "
        "`filter` se esgota no primeiro uso): use `list(...)` ou uma list comprehension.",
        en="`trainable_parameters` must return a list, but returned `{type}` (a generator or `filter` "
        "is used up after one pass): use `list(...)` or a list comprehension.",
    ),
    "not_parameters": T(
        pt="A lista deve conter os próprios parâmetros (`nn.Parameter`), mas tem {detail}.",
        en="The list must hold the parameters themselves (`nn.Parameter`), but holds {detail}.",
    ),
    "all_parameters": T(
        pt="Veio a lista de todos os parâmetros, inclusive os congelados: filtre por `p.requires_grad`.",
        en="You returned every parameter, the frozen ones too: filter by `p.requires_grad`.",
    ),
    "inverted_filter": T(
        pt="Vieram justamente os parâmetros congelados: o filtro é `if p.requires_grad`.",
        en="You returned exactly the frozen parameters: the filter is `if p.requires_grad`.",
    ),
    "duplicates": T(
        pt="Há parâmetros repetidos na lista: cada um deve aparecer uma vez (como em "
        "`model.parameters()`, que já ignora pesos compartilhados repetidos).",
        en="Some parameters appear twice: each must appear once (as in `model.parameters()`, which "
        "already skips repeated shared weights).",
    ),
    "order": T(
        pt="Os parâmetros certos, mas fora da ordem de `model.parameters()`.",
        en="The right parameters, but not in `model.parameters()` order.",
    ),
    "trainable_wrong": T(
        pt="A lista não é a dos parâmetros treináveis: esperava {expected} parâmetros (os com "
        "`requires_grad=True`), recebi {actual}.",
        en="The list is not the trainable parameters: expected {expected} parameters (those with "
        "`requires_grad=True`), got {actual}.",
    ),
    "not_an_optimizer": T(
        pt="`make_finetune_optimizer` deve devolver um otimizador (`torch.optim.Adam(...)`, "
        "`torch.optim.SGD(...)`...), mas devolveu `{type}`.",
        en="`make_finetune_optimizer` must return an optimizer (`torch.optim.Adam(...)`, "
        "`torch.optim.SGD(...)`...), but returned `{type}`.",
    ),
    "one_lr": T(
        pt="Todos os parâmetros têm a mesma taxa ({lr}): são dois grupos, `model.fc` com head_lr e o resto "
        "com backbone_lr (menor, para não destruir o que o backbone aprendeu).",
        en="Every parameter has the same rate ({lr}): there are two groups, `model.fc` at head_lr and the "
        "rest at backbone_lr (smaller, so as not to destroy what the backbone learned).",
    ),
    "lrs_swapped": T(
        pt="As taxas estão trocadas: a cabeça (nova, aleatória) usa head_lr e o backbone, backbone_lr.",
        en="The rates are swapped: the (new, random) head uses head_lr and the backbone backbone_lr.",
    ),
    "head_missing": T(
        pt="Os parâmetros de `model.fc` não estão no otimizador com head_lr ({detail}). Crie o "
        "otimizador depois de trocar a cabeça, com `model.fc.parameters()` num grupo.",
        en="`model.fc`'s parameters are not in the optimizer at head_lr ({detail}). Create the "
        "optimizer after replacing the head, with `model.fc.parameters()` in one group.",
    ),
    "backbone_missing": T(
        pt="Parâmetros treináveis do backbone fora do otimizador ou com a taxa errada "
        "({detail}): todo parâmetro treinável fora de `model.fc` vai no grupo de "
        "backbone_lr.",
        en="Trainable backbone parameters missing from the optimizer or at the wrong rate "
        "({detail}): every trainable parameter outside `model.fc` goes in the backbone_lr "
        "group.",
    ),
    "foreign_parameters": T(
        pt="O otimizador tem {count} parâmetro(s) que não são do modelo (de uma cabeça antiga, "
        "talvez): crie o otimizador depois de trocar a cabeça.",
        en="The optimizer holds {count} parameter(s) that are not the model's (an old head's, "
        "maybe): create the optimizer after replacing the head.",
    ),
    "not_the_backbone": T(
        pt="O modelo devolvido não tem o backbone pré-treinado (faltam {names}): comece de "
        "`load_pretrained_backbone()` e troque só `model.fc`.",
        en="The returned model does not hold the pretrained backbone ({names} missing): start "
        "from `load_pretrained_backbone()` and replace only `model.fc`.",
    ),
    "bn_drift": T(
        pt="Os pesos do backbone estão intactos, mas as estatísticas da BatchNorm mudaram ({names}): um "
        "backbone congelado no modo de treino ainda atualiza running_mean/running_var. Chame "
        "`model.eval()` antes de treinar a cabeça.",
        en="The backbone's weights are intact, but the BatchNorm statistics changed ({names}): a frozen "
        "backbone in training mode still updates running_mean/running_var. Call `model.eval()` "
        "before training the head.",
    ),
    "backbone_trained": T(
        pt="Os pesos do backbone mudaram ({names}): ele não estava congelado. "
        "`model.requires_grad = False` não congela; use `freeze` (ou "
        "`requires_grad_(False)`) antes de trocar a cabeça e otimize só a cabeça.",
        en="The backbone's weights changed ({names}): it was not frozen. "
        "`model.requires_grad = False` does not freeze; use `freeze` (or "
        "`requires_grad_(False)`) before replacing the head, and optimize only the head.",
    ),
    "head_untrained": T(
        pt="A cabeça não aprendeu ({accuracy:.1%}), embora as características do backbone bastem "
        "({probe:.1%} com uma cabeça que o corretor treinou nelas). O otimizador foi criado antes "
        "de trocar a cabeça? Ele guarda os parâmetros da cabeça antiga e a nova nunca muda.",
        en="The head did not learn ({accuracy:.1%}), though the backbone's features are good enough "
        "({probe:.1%} with a head the grader trained on them). Was the optimizer created before "
        "the head was replaced? It holds the old head's parameters and the new one never "
        "changes.",
    ),
    "not_finetuned": T(
        pt="O backbone voltou idêntico ao pré-treinado: no ajuste fino a rede inteira treina (o "
        "backbone com backbone_lr). Não congele o backbone aqui.",
        en="The backbone came back identical to the pretrained one: in fine-tuning the whole network "
        "trains (the backbone at backbone_lr). Do not freeze the backbone here.",
    ),
    "not_from_pretrained": T(
        pt="Os pesos do backbone não vêm dos pré-treinados (similaridade {similarity:.2f} com "
        "eles): comece de `load_pretrained_backbone()`, não de uma rede nova.",
        en="The backbone's weights do not come from the pretrained ones (similarity "
        "{similarity:.2f}): start from `load_pretrained_backbone()`, not from a new "
        "network.",
    ),
    "probe_accuracy": T(
        pt="Acurácia de {accuracy:.1%} nos dígitos 5-9 de teste (em {device}); o mínimo é 85%. "
        "Treine só a cabeça nova (Adam, lr ≈ 0.01) por mais passadas, com o backbone em "
        "`eval()`.",
        en="Accuracy {accuracy:.1%} on the 5-9 test digits (on {device}); at least 85% is needed. "
        "Train only the new head (Adam, lr ≈ 0.01) for more passes, with the backbone in "
        "`eval()`.",
    ),
    "finetune_accuracy": T(
        pt="Acurácia de {accuracy:.1%} nos dígitos 5-9 de teste (em {device}); o mínimo é 90%. "
        "Use head_lr ≈ 0.01 e backbone_lr ≈ 0.001, umas 100 passadas, e devolva o modelo em "
        "`model.eval()`.",
        en="Accuracy {accuracy:.1%} on the 5-9 test digits (on {device}); at least 90% is "
        "needed. Use head_lr ≈ 0.01 and backbone_lr ≈ 0.001, about 100 passes, and return "
        "the model in `model.eval()`.",
    ),
}
