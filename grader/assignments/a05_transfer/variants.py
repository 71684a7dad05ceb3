"""Mutants and alternatives of the 05_transfer reference (see grader/variants.py).

Mutants are edits of the reference solution in source/ (`edit` fails when the text it
replaces is not there) modelling ../../../../shared/research/common-mistakes.md §14-15;
alternatives are correct solutions the contract (CATALOG.md, 05_transfer) must accept.
Partial scores (`score`) count the tests of a CPU-only grading machine without torchvision.
"""

from __future__ import annotations

from functools import partial

from grader.variants import Variant, edit_reference

edit = partial(edit_reference, "05_transfer")

FREEZE_LOOP = "    for parametro in model.parameters():\n        parametro.requires_grad_(False)\n"
NEW_HEAD = "    model.fc = nova.to(antiga.weight.device)\n"
FILTER = "return [parametro for parametro in model.parameters() if parametro.requires_grad]"
GROUPS = """    return torch.optim.Adam([
        {"params": cabeca, "lr": head_lr},
        {"params": corpo, "lr": backbone_lr},
    ])"""
PROBE_MODEL = "    model = replace_head(freeze(load_pretrained_backbone()), len(TARGET_DIGITS)).to(device)\n"
FINETUNE_MODEL = "    model = replace_head(load_pretrained_backbone(), len(TARGET_DIGITS)).to(device)\n"

MUTANTS = [
    # ------------------------------------------------------------------ freeze
    Variant(
        "mutant_freeze_attribute",
        edit("freeze", (FREEZE_LOOP, "    model.requires_grad = False  # cria um atributo; não congela nada\n")),
        breaks="freeze",
        hint="requires_grad_attribute",
        score=0.4,
        demo=True,
    ),
    Variant(
        "mutant_freeze_all_but_head",
        edit(
            "freeze",
            (
                FREEZE_LOOP,
                "    for nome, parametro in model.named_parameters():\n"
                "        if not nome.startswith('fc.'):\n"
                "            parametro.requires_grad_(False)\n",
            ),
        ),
        breaks="freeze",
        hint="freeze_partial",
        score=0.4,
    ),
    Variant(
        "mutant_freeze_returns_nothing",
        edit("freeze", ("    return model", "    # (sem return)")),
        breaks="freeze",
        hint="returned_none",
    ),
    Variant(
        "mutant_freeze_copy",
        edit("freeze", (FREEZE_LOOP, "    model = copy.deepcopy(model)  # congela uma cópia\n" + FREEZE_LOOP)),
        breaks="freeze",
        hint="not_same_model",
    ),
    # ------------------------------------------------------------------ replace_head
    Variant(
        "mutant_head_fixed_in_features",
        edit("replace_head", ("nn.Linear(antiga.in_features, num_classes)", "nn.Linear(256, num_classes)")),
        breaks="replace_head",
        hint="head_in_features",
        score=1.5,
    ),
    Variant(
        "mutant_head_fixed_classes",
        edit("replace_head", ("nn.Linear(antiga.in_features, num_classes)", "nn.Linear(antiga.in_features, 5)")),
        breaks="replace_head",
        hint="head_outputs",
        score=0.5,
        demo=True,
    ),
    Variant(
        "mutant_head_frozen_after",
        edit(
            "replace_head",
            (
                NEW_HEAD,
                NEW_HEAD + "    for parametro in model.parameters():  # congela depois de trocar a cabeça\n"
                "        parametro.requires_grad_(False)\n",
            ),
        ),
        breaks="replace_head",
        hint="head_frozen",
    ),
    Variant(
        "mutant_head_unfreezes_everything",
        edit("replace_head", (NEW_HEAD, NEW_HEAD + "    model.requires_grad_(True)\n")),
        breaks="replace_head",
        hint="others_changed",
        score=0.5,
    ),
    Variant(
        "mutant_head_resized_in_place",
        {
            "replace_head": (
                "def replace_head(model, num_classes):\n"
                "    model.fc.out_features = num_classes  # só muda o atributo; os pesos continuam os antigos\n"
                "    return model\n"
            )
        },
        breaks="replace_head",
        hint="head_not_replaced",
    ),
    # ------------------------------------------------------------------ trainable_parameters
    Variant(
        "mutant_trainable_all",
        edit("trainable_parameters", (FILTER, "return list(model.parameters())")),
        breaks="trainable_parameters",
        hint="all_parameters",
        score=0.6667,
    ),
    Variant(
        "mutant_trainable_inverted",
        edit(
            "trainable_parameters",
            (FILTER, "return [parametro for parametro in model.parameters() if not parametro.requires_grad]"),
        ),
        breaks="trainable_parameters",
        hint="inverted_filter",
    ),
    Variant(
        "mutant_trainable_generator",
        edit(
            "trainable_parameters",
            (FILTER, "return (parametro for parametro in model.parameters() if parametro.requires_grad)"),
        ),
        breaks="trainable_parameters",
        hint="not_a_list",
    ),
    Variant(
        "mutant_trainable_names",
        edit(
            "trainable_parameters",
            (FILTER, "return [nome for nome, parametro in model.named_parameters() if parametro.requires_grad]"),
        ),
        breaks="trainable_parameters",
        hint="not_parameters",
        score=0.3333,
    ),
    # ------------------------------------------------------------------ make_finetune_optimizer
    Variant(
        "mutant_optimizer_one_rate",
        edit(
            "make_finetune_optimizer", (GROUPS, "    return torch.optim.Adam(trainable_parameters(model), lr=head_lr)")
        ),
        breaks="make_finetune_optimizer",
        hint="one_lr",
        demo=True,
    ),
    Variant(
        "mutant_optimizer_rates_swapped",
        edit(
            "make_finetune_optimizer",
            ('{"params": cabeca, "lr": head_lr}', '{"params": cabeca, "lr": backbone_lr}'),
            ('{"params": corpo, "lr": backbone_lr}', '{"params": corpo, "lr": head_lr}'),
        ),
        breaks="make_finetune_optimizer",
        hint="lrs_swapped",
    ),
    Variant(
        "mutant_optimizer_head_in_both_groups",
        edit(
            "make_finetune_optimizer",
            ('{"params": corpo, "lr": backbone_lr}', '{"params": trainable_parameters(model), "lr": backbone_lr}'),
        ),
        breaks="make_finetune_optimizer",
        hint="parameter_in_two_groups",
    ),
    Variant(
        "mutant_optimizer_head_only",
        edit("make_finetune_optimizer", (GROUPS, '    return torch.optim.Adam([{"params": cabeca, "lr": head_lr}])')),
        breaks="make_finetune_optimizer",
        hint="backbone_missing",
    ),
    # ------------------------------------------------------------------ train_linear_probe
    Variant(
        "mutant_probe_backbone_in_train_mode",
        edit(
            "train_linear_probe",
            (
                "    model.eval()  # congela também a BatchNorm: no modo de treino ela atualizaria "
                "running_mean/running_var\n",
                "",
            ),
        ),
        breaks="train_linear_probe",
        hint="bn_drift",
        score=2.5,
        demo=True,
    ),
    Variant(
        "mutant_probe_requires_grad_attribute",
        edit(
            "train_linear_probe",
            (
                PROBE_MODEL,
                "    model = load_pretrained_backbone()\n"
                "    model.requires_grad = False  # não congela nada\n"
                "    model = replace_head(model, len(TARGET_DIGITS)).to(device)\n",
            ),
        ),
        breaks="train_linear_probe",
        hint="backbone_trained",
        score=2.5,
    ),
    Variant(
        "mutant_probe_optimizer_before_head",
        edit(
            "train_linear_probe",
            (
                PROBE_MODEL,
                "    model = freeze(load_pretrained_backbone())\n"
                "    otimizador_antigo = torch.optim.Adam(model.fc.parameters(), lr=0.01)  # antes da troca\n"
                "    model = replace_head(model, len(TARGET_DIGITS)).to(device)\n",
            ),
            (
                "    optimizer = torch.optim.Adam(trainable_parameters(model), lr=0.01)\n",
                "    optimizer = otimizador_antigo\n",
            ),
        ),
        breaks="train_linear_probe",
        hint="head_untrained",
        score=2.5,
    ),
    Variant(
        "mutant_probe_head_not_replaced",
        edit(
            "train_linear_probe",
            (PROBE_MODEL, "    model = freeze(load_pretrained_backbone()).to(device)  # a cabeça antiga, congelada\n"),
        ),
        breaks="train_linear_probe",
        hint="empty_parameters",
    ),
    # ------------------------------------------------------------------ finetune
    Variant(
        "mutant_finetune_frozen_backbone",
        edit(
            "finetune",
            (
                FINETUNE_MODEL,
                "    model = replace_head(freeze(load_pretrained_backbone()), len(TARGET_DIGITS)).to(device)\n",
            ),
        ),
        breaks="finetune",
        hint="not_finetuned",
        score=3.3333,
    ),
    Variant(
        "mutant_finetune_from_scratch",
        edit(
            "finetune",
            (FINETUNE_MODEL, "    model = DigitNet(num_classes=len(TARGET_DIGITS)).to(device)  # pesos aleatórios\n"),
        ),
        breaks="finetune",
        hint="not_from_pretrained",
        score=3.3333,
    ),
    Variant(
        "mutant_finetune_one_large_rate",
        edit(
            "finetune",
            (
                "make_finetune_optimizer(model, head_lr=0.01, backbone_lr=0.001)",
                "make_finetune_optimizer(model, head_lr=0.5, backbone_lr=0.5)  # a mesma taxa grande em tudo",
            ),
        ),
        breaks="finetune",
        hint="finetune_accuracy",
    ),
    # Training on the evaluation data: the grader blinds the test labels while the model trains.
    Variant(
        "mutant_finetune_test_images_added",
        edit(
            "finetune",
            (
                "    X_train, y_train, _, _ = target_task()\n",
                "    X_train, y_train, X_test, y_test = target_task()\n"
                "    X_train, y_train = torch.cat([X_train, X_test]), torch.cat([y_train, y_test])  # 25 is so few\n",
            ),
        ),
        breaks="finetune",
        hint="trained_on_test",
        score=1.6667,
    ),  # the backbone checks still pass
    Variant(
        "mutant_probe_test_images_added",
        edit(
            "train_linear_probe",
            (
                "    X_train, y_train, _, _ = target_task()\n",
                "    X_train, y_train, X_test, y_test = target_task()\n"
                "    X_train, y_train = torch.cat([X_train, X_test]), torch.cat([y_train, y_test])  # 25 is so few\n",
            ),
        ),
        breaks="train_linear_probe",
        hint="trained_on_test",
        score=2.5,
    ),  # the frozen backbone passes
]

ALTERNATIVES = [
    Variant(
        "alt_freeze_module_method",
        {"freeze": ("def freeze(model):\n    return model.requires_grad_(False)  # devolve o próprio módulo\n")},
    ),
    Variant(
        "alt_freeze_attribute_on_each_parameter",
        edit("freeze", ("        parametro.requires_grad_(False)\n", "        parametro.requires_grad = False\n")),
    ),
    Variant(
        "alt_head_dropout_sequential",
        edit(
            "replace_head",
            (
                "    nova = nn.Linear(antiga.in_features, num_classes)\n",
                "    nova = nn.Sequential(nn.Dropout(0.2), nn.Linear(antiga.in_features, num_classes))\n",
            ),
            (NEW_HEAD, "    model.fc = nova.to(next(antiga.parameters()).device)\n"),
        ),
    ),
    Variant(
        "alt_head_device_from_any_parameter",
        {
            "replace_head": (
                "def replace_head(model, num_classes):\n"
                "    dispositivo = next(model.parameters()).device\n"
                "    model.fc = nn.Linear(model.fc.in_features, num_classes, device=dispositivo)\n"
                "    return model\n"
            )
        },
    ),
    Variant(
        "alt_trainable_filter",
        edit("trainable_parameters", (FILTER, "return list(filter(lambda p: p.requires_grad, model.parameters()))")),
    ),
    Variant(
        "alt_trainable_named_parameters",
        edit("trainable_parameters", (FILTER, "return [p for _, p in model.named_parameters() if p.requires_grad]")),
    ),
    Variant(
        "alt_optimizer_sgd_by_name",
        {
            "make_finetune_optimizer": (
                "def make_finetune_optimizer(model, head_lr, backbone_lr):\n"
                "    cabeca = [p for nome, p in model.named_parameters() if nome.startswith('fc.')]\n"
                "    corpo = [p for nome, p in model.named_parameters() if not nome.startswith('fc.') and p.requires_grad]\n"
                "    return torch.optim.SGD([{'params': cabeca}, {'params': corpo, 'lr': backbone_lr}], lr=head_lr,\n"
                "                           momentum=0.9)\n"
            )
        },
    ),
    Variant(
        "alt_optimizer_frozen_included",
        edit(
            "make_finetune_optimizer",
            (
                "corpo = [parametro for parametro in trainable_parameters(model) if id(parametro) not in ids_cabeca]",
                "corpo = [parametro for parametro in model.parameters() if id(parametro) not in ids_cabeca]  # congelados "
                "ficam parados: não têm .grad",
            ),
        ),
    ),
    Variant(
        "alt_probe_precomputed_features",
        {
            "train_linear_probe": (
                "def train_linear_probe(device='cpu'):\n"
                "    torch.manual_seed(0)\n"
                "    X_train, y_train, _, _ = target_task()\n"
                "    backbone = load_pretrained_backbone().to(device).eval()\n"
                "    with torch.no_grad():  # as características, calculadas uma vez só\n"
                "        caracteristicas = backbone.features(X_train.to(device))\n"
                "    cabeca = nn.Linear(caracteristicas.shape[1], 5).to(device)\n"
                "    optimizer = torch.optim.SGD(cabeca.parameters(), lr=0.1, momentum=0.9)\n"
                "    for passo in range(300):\n"
                "        optimizer.zero_grad()\n"
                "        F.cross_entropy(cabeca(caracteristicas), y_train.to(device)).backward()\n"
                "        optimizer.step()\n"
                "    backbone.fc = cabeca\n"
                "    return backbone\n"
            )
        },
    ),
    Variant(
        "alt_probe_head_parameters_only",
        edit(
            "train_linear_probe",
            (
                "    optimizer = torch.optim.Adam(trainable_parameters(model), lr=0.01)\n",
                "    optimizer = torch.optim.Adam(model.fc.parameters(), lr=0.01)\n",
            ),
        ),
    ),
    Variant(
        "alt_finetune_last_block_only",
        edit(
            "finetune",
            (
                FINETUNE_MODEL,
                FINETUNE_MODEL + "    for parametro in model.features[:4].parameters():  # só o último bloco "
                "treina\n        parametro.requires_grad_(False)\n",
            ),
        ),
    ),
    Variant(
        "alt_finetune_one_moderate_rate",
        edit(
            "finetune",
            (
                "make_finetune_optimizer(model, head_lr=0.01, backbone_lr=0.001)",
                "make_finetune_optimizer(model, head_lr=0.01, backbone_lr=0.01)  # the backbone moves more",
            ),
        ),
    ),
    Variant(
        "alt_finetune_probe_first",
        edit(
            "finetune",
            (
                FINETUNE_MODEL,
                FINETUNE_MODEL + "    cabeca = torch.optim.Adam(model.fc.parameters(), lr=0.01)\n"
                "    model.eval()\n"
                "    for passo in range(100):  # primeiro só a cabeça (LP-FT)\n"
                "        cabeca.zero_grad()\n"
                "        F.cross_entropy(model(X_train), y_train).backward()\n"
                "        cabeca.step()\n",
            ),
        ),
    ),
    Variant("alt_finetune_more_steps", edit("finetune", ("range(100):", "range(200):"))),
]

VARIANTS = MUTANTS + ALTERNATIVES

# Models the student never imagined (a parameter on the model itself, backbone layers named like
# the head, parameters equal in value but distinct: the grader's "prefixed" model) and outputs that
# are probabilities where logits are asked (checks.logits_not_probabilities; log-probabilities are
# logits: LogSoftmax + NLLLoss is correct).
VARIANTS += [
    Variant(
        "mutant_head_softmax",
        edit(
            "replace_head",
            (
                "    nova = nn.Linear(antiga.in_features, num_classes)\n",
                "    nova = nn.Sequential(nn.Linear(antiga.in_features, num_classes), nn.Softmax(dim=1))\n",
            ),
        ),
        breaks="replace_head",
        hint="double_softmax",
    ),
    Variant(
        "mutant_probe_softmax",
        edit(
            "train_linear_probe",
            (PROBE_MODEL, PROBE_MODEL + "    model.fc = nn.Sequential(model.fc, nn.Softmax(dim=1))  # probabilities\n"),
        ),
        breaks="train_linear_probe",
        hint="double_softmax",
        score=2.5,
    ),
    Variant(
        "mutant_finetune_softmax",
        edit(
            "finetune",
            (
                FINETUNE_MODEL,
                FINETUNE_MODEL + "    model.fc = nn.Sequential(model.fc, nn.Softmax(dim=1))  # probabilities\n",
            ),
        ),
        breaks="finetune",
        hint="double_softmax",
        score=1.6667,
    ),
    Variant(
        "alt_finetune_log_softmax_nll",
        edit(
            "finetune",
            (FINETUNE_MODEL, FINETUNE_MODEL + "    model.fc = nn.Sequential(model.fc, nn.LogSoftmax(dim=1))\n"),
            ("nn.CrossEntropyLoss()", "nn.NLLLoss()"),
        ),
    ),
    Variant(
        "mutant_freeze_children_only",
        {
            "freeze": (
                "def freeze(model):\n"
                "    for filho in model.children():  # a parameter of the model itself is in no child\n"
                "        for parametro in filho.parameters():\n"
                "            parametro.requires_grad_(False)\n"
                "    return model\n"
            )
        },
        breaks="freeze",
        hint="root_parameters",
        score=1.6,
    ),
    Variant(
        "mutant_trainable_children_only",
        {
            "trainable_parameters": (
                "def trainable_parameters(model):\n"
                "    lista, vistos = [], set()\n"
                "    for filho in model.children():  # a parameter of the model itself is in no child\n"
                "        for parametro in filho.parameters():\n"
                "            if parametro.requires_grad and id(parametro) not in vistos:\n"
                "                vistos.add(id(parametro))\n"
                "                lista.append(parametro)\n"
                "    return lista\n"
            )
        },
        breaks="trainable_parameters",
        hint="root_parameters",
        score=1.6667,
    ),
    Variant(
        "mutant_trainable_dedup_by_value",
        {
            "trainable_parameters": (
                "def trainable_parameters(model):\n"
                "    lista = []\n"
                "    for p in model.parameters():\n"
                "        if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in lista):\n"
                "            lista.append(p)  # 'each once' read as 'no equal values'\n"
                "    return lista\n"
            )
        },
        breaks="trainable_parameters",
        hint="dedup_by_value",
        score=1.6667,
    ),
    Variant(
        "mutant_optimizer_fc_prefix",
        {
            "make_finetune_optimizer": (
                "def make_finetune_optimizer(model, head_lr, backbone_lr):\n"
                "    cabeca = [p for nome, p in model.named_parameters() if nome.startswith('fc')]  # fc1, fc_norm too\n"
                "    corpo = [p for nome, p in model.named_parameters() if not nome.startswith('fc') and p.requires_grad]\n"
                "    return torch.optim.Adam([{'params': cabeca, 'lr': head_lr}, {'params': corpo, 'lr': backbone_lr}])\n"
            )
        },
        breaks="make_finetune_optimizer",
        hint="head_by_prefix",
        score=2.4,
    ),
    Variant(
        "mutant_optimizer_children_only",
        {
            "make_finetune_optimizer": (
                "def make_finetune_optimizer(model, head_lr, backbone_lr):\n"
                "    corpo, vistos = [], set()\n"
                "    for nome, filho in model.named_children():  # the model's own parameters are in no child\n"
                "        if nome != 'fc':\n"
                "            for p in filho.parameters():\n"
                "                if p.requires_grad and id(p) not in vistos:\n"
                "                    vistos.add(id(p))\n"
                "                    corpo.append(p)\n"
                "    return torch.optim.Adam([{'params': model.fc.parameters(), 'lr': head_lr},\n"
                "                             {'params': corpo, 'lr': backbone_lr}])\n"
            )
        },
        breaks="make_finetune_optimizer",
        hint="root_parameters",
        score=2.4,
    ),
]
