"""Mutants and alternatives of the 06_regularization reference (see grader/variants.py).

Mutants are edits of the reference solution in source/ (`edit` fails when the text it
replaces is not there) modelling the classic mistakes the issue names; alternatives are
correct solutions the contract (CATALOG.md, 06_regularization) must accept. Partial scores
(`score`) count the tests of a CPU-only grading machine. Most variants leave
train_small_digits as the reference (about 1 s of training per submission).
"""

from __future__ import annotations

from functools import partial

from grader.variants import Variant, edit_reference

edit = partial(edit_reference, "06_regularization")

L2_SUM = "    return sum(peso.pow(2).sum() for peso in pesos)"
L2_PICK = "    pesos = [parametro for parametro in model.parameters() if parametro.dim() > 1]\n"
MASK = "    mantidos = torch.rand(x.shape, generator=generator, device=x.device) >= p\n"
DRAW = "    desloc = torch.randint(-m, m + 1, (n, 2), generator=generator, device=x.device)\n"
SAVE = 'torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)'
LOAD = "    checkpoint = torch.load(path, weights_only=True, map_location=device)\n"
RECORD = "            perdas.append(perda.item())\n"
TRAIN_LOSS = "        loss = F.cross_entropy(model(random_shift(X, 1)), y) + 1e-4 * l2_penalty(model)\n"

MUTANTS = [
    # ------------------------------------------------------------------ l2_penalty
    Variant(
        "mutant_l2_includes_biases",
        edit("l2_penalty", (L2_PICK, "    pesos = list(model.parameters())\n")),
        breaks="l2_penalty",
        hint="l2_biases",
        score=0.0,
        demo=True,
    ),
    Variant(
        "mutant_l2_python_float",
        edit("l2_penalty", (L2_SUM, "    return float(sum(peso.pow(2).sum() for peso in pesos))")),
        score=0.75,
        breaks="l2_penalty",
        hint="l2_not_tensor",
    ),
    Variant(
        "mutant_l2_shared_counted_twice",
        edit(
            "l2_penalty",
            (
                L2_PICK,
                "    pesos = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]\n",
            ),
        ),
        breaks="l2_penalty",
        hint="l2_shared_twice",
        score=2.25,
    ),
    Variant(
        "mutant_l2_by_name",
        edit(
            "l2_penalty",
            (L2_PICK, "    pesos = [p for nome, p in model.named_parameters() if nome.endswith('weight')]\n"),
        ),
        breaks="l2_penalty",
        hint="l2_norm_weights",
        score=1.5,
    ),
    # ------------------------------------------------------------------ dropout_forward
    Variant(
        "mutant_dropout_no_scaling",
        edit("dropout_forward", ("    return x * mantidos / (1 - p)", "    return x * mantidos")),
        breaks="dropout_forward",
        hint="dropout_no_scaling",
        score=2.0,
        demo=True,
    ),
    Variant(
        "mutant_dropout_active_at_eval",
        edit("dropout_forward", ("    if not training or p == 0:", "    if p == 0:")),
        breaks="dropout_forward",
        hint="dropout_at_eval",
        score=2.6667,
    ),
    Variant(
        "mutant_dropout_mask_shared_across_batch",
        edit(
            "dropout_forward",
            (MASK, "    mantidos = torch.rand(x.shape[1:], generator=generator, device=x.device) >= p\n"),
        ),
        breaks="dropout_forward",
        hint="dropout_shared_mask",
        score=2.0,
    ),
    Variant(
        "mutant_dropout_builtin",
        edit("dropout_forward", ("    return x * mantidos / (1 - p)", "    return F.dropout(x, p, training=True)")),
        breaks="dropout_forward",
        hint="dropout_builtin",
        score=1.3333,
    ),
    # ------------------------------------------------------------------ EarlyStopping
    Variant(
        "mutant_early_compares_with_last",
        edit(
            "EarlyStopping",
            (
                "        if val_loss < self.best - self.min_delta:\n            self.best = val_loss\n"
                "            self.bad_epochs = 0\n        else:\n            self.bad_epochs += 1\n",
                "        anterior = getattr(self, 'anterior', float('inf'))\n"
                "        self.anterior = val_loss\n"
                "        if val_loss < anterior - self.min_delta:\n"
                "            self.best = min(self.best, val_loss)\n"
                "            self.bad_epochs = 0\n        else:\n            self.bad_epochs += 1\n",
            ),
        ),
        breaks="EarlyStopping",
        hint="early_last_loss",
        score=0.5,
        demo=True,
    ),
    Variant(
        "mutant_early_off_by_one",
        edit(
            "EarlyStopping",
            ("        return self.bad_epochs >= self.patience", "        return self.bad_epochs > self.patience"),
        ),
        breaks="EarlyStopping",
        score=0.5,
        hint="early_off_by_one",
    ),
    # ------------------------------------------------------------------ random_shift
    Variant(
        "mutant_shift_roll_wraps",
        {
            "random_shift": (
                "def random_shift(x, max_shift=1, generator=None):\n"
                "    desloc = torch.randint(-max_shift, max_shift + 1, (len(x), 2), generator=generator, device=x.device)\n"
                "    return torch.stack([torch.roll(imagem, (int(dy), int(dx)), dims=(-2, -1))\n"
                "                        for imagem, (dy, dx) in zip(x, desloc)])\n"
            )
        },
        score=1.0,
        breaks="random_shift",
        hint="shift_wraps",
        demo=True,
    ),
    Variant(
        "mutant_shift_same_for_batch",
        edit(
            "random_shift",
            (
                DRAW,
                "    desloc = torch.randint(-m, m + 1, (1, 2), generator=generator, device=x.device).expand(n, 2)\n",
            ),
        ),
        breaks="random_shift",
        hint="shift_same_for_batch",
        score=1.0,
    ),
    Variant(
        "mutant_shift_excludes_the_end",
        edit(
            "random_shift", (DRAW, "    desloc = torch.randint(-m, m, (n, 2), generator=generator, device=x.device)\n")
        ),
        breaks="random_shift",
        hint="shift_range",
        score=1.0,
    ),
    Variant(
        "mutant_shift_flips",
        edit(
            "random_shift",
            (
                "    return com_borda[imagens, :, linhas, colunas].permute(0, 3, 1, 2).contiguous()",
                "    return com_borda[imagens, :, linhas, colunas].permute(0, 3, 1, 2).flip(-1).contiguous()",
            ),
        ),
        breaks="random_shift",
        hint="shift_flips",
        score=1.0,
    ),
    # ------------------------------------------------------------------ checkpoints
    Variant(
        "mutant_checkpoint_without_optimizer",
        edit("save_checkpoint", (SAVE, 'torch.save({"model": model.state_dict(), "epoch": epoch}, path)')),
        breaks="save_checkpoint",
        hint="checkpoint_no_optimizer",
        demo=True,
    ),
    Variant(
        "mutant_checkpoint_whole_model",
        edit("save_checkpoint", (SAVE, 'torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)')),
        breaks="save_checkpoint",
        hint="checkpoint_unreadable",
    ),
    Variant(
        "mutant_load_without_map_location",
        edit("load_checkpoint", (LOAD, "    checkpoint = torch.load(path, weights_only=True)\n")),
        breaks="load_checkpoint",
        hint="load_no_map_location",
    ),
    Variant(
        "mutant_load_skips_optimizer",
        edit("load_checkpoint", ('    optimizer.load_state_dict(checkpoint["optimizer"])\n', "")),
        breaks="load_checkpoint",
        hint="load_no_optimizer",
    ),
    # ------------------------------------------------------------------ init_xavier_
    Variant(
        "mutant_xavier_normal",
        edit("init_xavier_", ("nn.init.xavier_uniform_(modulo.weight)", "nn.init.xavier_normal_(modulo.weight)")),
        breaks="init_xavier_",
        hint="xavier_normal",
        demo=True,
    ),
    Variant(
        "mutant_xavier_fan_without_kernel",
        edit(
            "init_xavier_",
            (
                "nn.init.xavier_uniform_(modulo.weight)",
                "limite = (6 / (modulo.weight.shape[0] + modulo.weight.shape[1])) ** 0.5\n"
                "            nn.init.uniform_(modulo.weight, -limite, limite)",
            ),
        ),
        breaks="init_xavier_",
        hint="xavier_fan",
    ),
    Variant(
        "mutant_xavier_bias_kept",
        edit(
            "init_xavier_",
            ("            if modulo.bias is not None:\n                nn.init.zeros_(modulo.bias)\n", ""),
        ),
        breaks="init_xavier_",
        hint="xavier_bias",
    ),
    # ------------------------------------------------------------------ optimizer_race
    Variant(
        "mutant_race_one_model_sequentially",
        edit("optimizer_race", ("        copia = copy.deepcopy(model)\n", "        copia = model\n")),
        breaks="optimizer_race",
        hint="race_model_changed",
        demo=True,
    ),
    Variant(
        "mutant_race_one_copy_for_all",
        edit(
            "optimizer_race",
            ("    curvas = {}\n", "    curvas = {}\n    copia = copy.deepcopy(model)\n"),
            ("        copia = copy.deepcopy(model)\n", ""),
        ),
        breaks="optimizer_race",
        hint="race_sequential",
    ),
    Variant(
        "mutant_race_loss_after_step",
        edit(
            "optimizer_race",
            (RECORD, ""),
            (
                "            otimizador.step()\n",
                "            otimizador.step()\n            perdas.append(loss_fn(copia(X), y).item())\n",
            ),
        ),
        breaks="optimizer_race",
        hint="race_after_step",
    ),
    Variant(
        "mutant_race_tensors",
        edit("optimizer_race", (RECORD, "            perdas.append(perda.detach())\n")),
        breaks="optimizer_race",
        hint="race_not_floats",
    ),
    # ------------------------------------------------------------------ train_small_digits
    Variant(
        "mutant_small_no_regularization",
        edit("train_small_digits", (TRAIN_LOSS, "        loss = F.cross_entropy(model(X), y)\n")),
        breaks="train_small_digits",
        hint="small_accuracy",
        demo=True,
    ),
    Variant(
        "mutant_small_trains_on_test",
        edit(
            "train_small_digits",
            (
                "    X, y = small_digits()\n",
                "    X, y = small_digits()\n    _, _, X_teste, y_teste = digits_split()\n"
                "    X, y = torch.cat([X, X_teste]), torch.cat([y, y_teste])  # o teste no treino\n",
            ),
        ),
        breaks="train_small_digits",
        hint="trained_on_test",
    ),
]

ALTERNATIVES = [
    Variant(
        "alt_l2_named_parameters_ndim",
        {
            "l2_penalty": "def l2_penalty(model):\n"
            "    total = 0.0\n"
            "    for _, p in model.named_parameters():\n"
            "        if p.ndim >= 2:\n"
            "            total = total + (p * p).sum()\n"
            "    if not torch.is_tensor(total):\n"
            "        p = next(iter(model.parameters()), None)\n"
            "        return torch.tensor(0.0, device=p.device if p is not None else 'cpu')\n"
            "    return total\n"
        },
    ),
    Variant(
        "alt_dropout_bernoulli",
        edit(
            "dropout_forward",
            (MASK, "    mantidos = torch.bernoulli(torch.full_like(x, 1 - p), generator=generator)\n"),
            (
                "    return x * mantidos / (1 - p)",
                "    return torch.where(mantidos.bool(), x / (1 - p), torch.zeros_like(x))",
            ),
        ),
    ),
    Variant(
        "alt_dropout_keep_below",
        edit(
            "dropout_forward",
            (MASK, "    mantidos = torch.rand(x.shape, generator=generator, device=x.device) < 1 - p\n"),
        ),
    ),
    Variant(
        "alt_early_stopping_tensor_friendly",
        {
            "EarlyStopping": "class EarlyStopping:\n"
            "    def __init__(self, patience=3, min_delta=0.0):\n"
            "        self.patience, self.min_delta = patience, min_delta\n"
            "        self.best, self.bad_epochs = float('inf'), 0\n"
            "    def step(self, val_loss):\n"
            "        atual = val_loss.item() if torch.is_tensor(val_loss) else val_loss\n"
            "        melhorou = self.best - atual > self.min_delta\n"
            "        self.best = atual if melhorou else self.best\n"
            "        self.bad_epochs = 0 if melhorou else self.bad_epochs + 1\n"
            "        return bool(self.bad_epochs >= self.patience)\n"
        },
    ),
    Variant(
        "alt_shift_loop_slices",
        {
            "random_shift": "def random_shift(x, max_shift=1, generator=None):\n"
            "    n, c, h, w = x.shape\n"
            "    desloc = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator, device=x.device)\n"
            "    saida = torch.zeros_like(x)\n"
            "    for i in range(n):\n"
            "        dy, dx = int(desloc[i, 0]), int(desloc[i, 1])\n"
            "        saida[i, :, max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \\\n"
            "            x[i, :, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]\n"
            "    return saida\n"
        },
    ),
    Variant(
        "alt_checkpoint_tuple_layout",
        {
            "save_checkpoint": "def save_checkpoint(path, model, optimizer, epoch):\n"
            "    torch.save((epoch, model.state_dict(), optimizer.state_dict()), path)\n",
            "load_checkpoint": "def load_checkpoint(path, model, optimizer, device='cpu'):\n"
            "    epoca, modelo, otimizador = torch.load(path, map_location=torch.device(device))\n"
            "    model.load_state_dict(modelo)\n"
            "    optimizer.load_state_dict(otimizador)\n"
            "    return epoca\n",
        },
    ),
    Variant(
        "alt_checkpoint_tutorial_keys",
        {
            "save_checkpoint": "def save_checkpoint(path, model, optimizer, epoch):\n"
            "    torch.save({'epoch': epoch, 'model_state_dict': model.state_dict(),\n"
            "                'optimizer_state_dict': optimizer.state_dict(), 'nota': 'treino 06'}, path)\n",
            "load_checkpoint": "def load_checkpoint(path, model, optimizer, device='cpu'):\n"
            "    ck = torch.load(path, weights_only=True, map_location='cpu')\n"
            "    model.load_state_dict(ck['model_state_dict'])\n"
            "    optimizer.load_state_dict(ck['optimizer_state_dict'])\n"
            "    return ck['epoch']\n",
        },
    ),
    Variant(
        "alt_xavier_by_hand",
        {
            "init_xavier_": "def init_xavier_(model):\n"
            "    for camada in model.modules():\n"
            "        if type(camada) in (nn.Linear, nn.Conv2d):\n"
            "            w = camada.weight\n"
            "            campo = w[0][0].numel() if w.dim() > 2 else 1\n"
            "            limite = (6 / ((w.shape[1] + w.shape[0]) * campo)) ** 0.5\n"
            "            with torch.no_grad():\n"
            "                w.uniform_(-limite, limite)\n"
            "                if camada.bias is not None:\n"
            "                    camada.bias.zero_()\n"
            "    return model\n"
        },
    ),
    Variant(
        "alt_race_state_dict_copies",
        {
            "optimizer_race": "def optimizer_race(model, X, y, loss_fn, make_optimizers, steps):\n"
            "    inicial = copy.deepcopy(model.state_dict())\n"
            "    resultado = {}\n"
            "    for nome in make_optimizers:\n"
            "        rede = copy.deepcopy(model)\n"
            "        rede.load_state_dict(inicial)\n"
            "        opt = make_optimizers[nome](list(rede.parameters()))\n"
            "        resultado[nome] = []\n"
            "        for passo in range(steps):\n"
            "            opt.zero_grad()\n"
            "            perda = loss_fn(rede(X), y)\n"
            "            perda.backward()\n"
            "            resultado[nome].append(float(perda))\n"
            "            opt.step()\n"
            "    return resultado\n"
        },
    ),
    Variant(
        "alt_small_dropout_and_validation",
        edit(
            "train_small_digits",
            ("    model = CNNPequena().to(device)\n", "    model = CNNPequena(dropout=0.2).to(device)\n"),
            ("    for passo in range(300):\n", "    for passo in range(350):\n"),
        ),
    ),
]

VARIANTS = MUTANTS + ALTERNATIVES
