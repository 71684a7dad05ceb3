"""Mutants and alternatives of the 03_training reference (see grader/variants.py).

Each variant is an edit of the reference solution in source/ (`edit` checks that the
text it replaces is there, so a change to the source cannot silently void a variant).
Mutants model the mistakes of ../../../../shared/research/common-mistakes.md §7-10; the
alternatives are correct solutions the contract (CATALOG.md, 03_training) must accept.

Partial scores (`score`) count the tests of a CPU-only grading machine: an exercise's points
are shared equally by its tests, and a mutant keeps the share of the tests its slip does not
touch (a model without Dropout or BatchNorm does not notice a missing `model.train()`; zero
steps of gradient ascent are zero steps of descent; a run whose best epoch is the last does
not notice a best state that was not kept).
"""

from __future__ import annotations

from functools import partial

from grader.variants import Variant, edit_reference

edit = partial(edit_reference, "03_training")


SPLIT = "X, y, test_size=val_fraction, stratify=y, random_state=seed)"
SCALE = (
    "    mean = X_train.mean(axis=0)  # só o treino: a validação faz o papel de dados nunca vistos\n"
    "    std = X_train.std(axis=0)\n"
)

MUTANTS = [
    # ------------------------------------------------------------------ make_iris_loaders
    Variant(
        "mutant_loaders_sorted_split",
        edit(
            "make_iris_loaders",
            (
                "    X_train, X_val, y_train, y_val = train_test_split(\n        " + SPLIT,
                "    n_val = int(round(len(X) * val_fraction))  # the file is sorted by class\n"
                "    X_train, X_val, y_train, y_val = X[:-n_val], X[-n_val:], y[:-n_val], y[-n_val:]",
            ),
        ),
        breaks="make_iris_loaders",
        hint="not_stratified",
        score=0.5,
        demo=True,
    ),
    Variant(
        "mutant_loaders_not_stratified",
        edit("make_iris_loaders", (SPLIT, SPLIT.replace("stratify=y, ", ""))),
        breaks="make_iris_loaders",
        hint="not_stratified",
        score=1.0,
    ),
    Variant(
        "mutant_loaders_scaler_leakage",
        edit(
            "make_iris_loaders",
            (
                SCALE,
                "    mean = X.mean(axis=0)  # all the data: validation leaks into the statistics\n"
                "    std = X.std(axis=0)\n",
            ),
        ),
        breaks="make_iris_loaders",
        hint="scaler_leakage",
        score=1.0,
    ),
    Variant(
        "mutant_loaders_val_own_statistics",
        edit(
            "make_iris_loaders",
            ("    X_val = (X_val - mean) / std\n", "    X_val = (X_val - X_val.mean(axis=0)) / X_val.std(axis=0)\n"),
        ),
        breaks="make_iris_loaders",
        hint="val_own_statistics",
        score=1.0,
    ),
    Variant(
        "mutant_loaders_not_standardized",
        edit("make_iris_loaders", ("    X_train = (X_train - mean) / std\n    X_val = (X_val - mean) / std\n", "")),
        breaks="make_iris_loaders",
        hint="not_standardized",
        score=1.0,
    ),
    Variant(
        "mutant_loaders_train_not_shuffled",
        edit("make_iris_loaders", ("batch_size=batch_size, shuffle=True,", "batch_size=batch_size, shuffle=False,")),
        breaks="make_iris_loaders",
        hint="train_not_shuffled",
        score=2.5,
    ),
    Variant(
        "mutant_loaders_val_shuffled",
        edit(
            "make_iris_loaders",
            (
                "val_loader = DataLoader(dataset(X_val, y_val), batch_size=batch_size, shuffle=False)",
                "val_loader = DataLoader(dataset(X_val, y_val), batch_size=batch_size, shuffle=True)",
            ),
        ),
        breaks="make_iris_loaders",
        hint="val_shuffled",
        score=2.5,
    ),
    Variant(
        "mutant_loaders_float_labels",
        edit("make_iris_loaders", ("torch.tensor(y, dtype=torch.int64)", "torch.tensor(y, dtype=torch.float32)")),
        breaks="make_iris_loaders",
        hint="loader_dtypes",
    ),
    Variant(
        "mutant_loaders_float64_features",
        edit("make_iris_loaders", ("torch.tensor(X, dtype=torch.float32)", "torch.tensor(X)")),
        breaks="make_iris_loaders",
        hint="loader_dtypes",
    ),
    Variant(
        "mutant_loaders_fixed_seed",
        edit("make_iris_loaders", (SPLIT, SPLIT.replace("seed)", "42)"))),
        breaks="make_iris_loaders",
        hint="seed_ignored",
        score=2.5,
    ),
    Variant(
        "mutant_loaders_fixed_batch_size",
        edit("make_iris_loaders", ("batch_size=batch_size, shuffle=True,", "batch_size=16, shuffle=True,")),
        breaks="make_iris_loaders",
        hint="batch_size_ignored",
        score=2.0,
    ),
    # ------------------------------------------------------------------ gradient_descent
    Variant(
        "mutant_gd_ascent",
        edit("gradient_descent", ("x -= lr * x.grad", "x += lr * x.grad")),
        breaks="gradient_descent",
        hint="gd_ascent",
        score=0.3333,
    ),
    Variant(
        "mutant_gd_no_zero_grad",
        edit("gradient_descent", ("        x.grad.zero_()\n", "")),
        breaks="gradient_descent",
        hint="gd_no_zero_grad",
        score=0.6667,
    ),
    Variant(
        "mutant_gd_off_by_one",
        edit("gradient_descent", ("range(steps)", "range(steps + 1)")),
        breaks="gradient_descent",
        hint="gd_off_by_one",
    ),
    Variant(
        "mutant_gd_modifies_x0",
        edit("gradient_descent", ("x = x0.detach().clone().requires_grad_(True)", "x = x0.requires_grad_(True)")),
        breaks="gradient_descent",
        hint="gd_modifies_x0",
        score=0.3333,
    ),
    Variant(
        "mutant_gd_not_detached",
        edit("gradient_descent", ("return x.detach()", "return x")),
        breaks="gradient_descent",
        hint="gd_not_detached",
        score=0.3333,
    ),
    Variant(
        "mutant_gd_finite_differences",
        {
            "gradient_descent": (
                "def gradient_descent(f, x0, lr, steps):\n"
                "    x = x0.detach().clone()\n"
                "    h = 1e-6 if x.dtype == torch.float64 else 1e-3\n"
                "    for _ in range(steps):\n"
                "        grad = torch.zeros_like(x).view(-1)\n"
                "        for i in range(x.numel()):\n"
                "            e = torch.zeros_like(x).view(-1)\n"
                "            e[i] = h\n"
                "            e = e.view_as(x)\n"
                "            grad[i] = (f(x + e) - f(x - e)).detach() / (2 * h)\n"
                "        x = x - lr * grad.view_as(x)\n"
                "    return x\n"
            )
        },
        breaks="gradient_descent",
        hint="gd_no_autograd",
        score=0.6667,
    ),  # public checks and steps=0 pass
    # ------------------------------------------------------------------ train_one_epoch
    Variant(
        "mutant_epoch_no_zero_grad",
        edit("train_one_epoch", ("        optimizer.zero_grad()\n", "")),
        breaks="train_one_epoch",
        hint="no_zero_grad",
        demo=True,
    ),
    Variant(
        "mutant_epoch_step_before_backward",
        edit(
            "train_one_epoch",
            (
                "        loss.backward()\n        optimizer.step()\n",
                "        optimizer.step()\n        loss.backward()\n",
            ),
        ),
        breaks="train_one_epoch",
        hint="step_order",
    ),
    Variant(
        "mutant_epoch_zero_grad_before_step",
        edit(
            "train_one_epoch",
            ("        optimizer.zero_grad()\n", ""),
            ("        loss.backward()\n", "        loss.backward()\n        optimizer.zero_grad()\n"),
        ),
        breaks="train_one_epoch",
        hint="step_order",
    ),
    Variant(
        "mutant_epoch_no_step",
        edit("train_one_epoch", ("        optimizer.step()\n", "")),
        breaks="train_one_epoch",
        hint="no_step",
    ),
    Variant(
        "mutant_epoch_no_train_mode",
        edit("train_one_epoch", ("    model.train()\n", "")),
        breaks="train_one_epoch",
        hint="no_train_mode",
        score=1.6,
    ),
    Variant(
        "mutant_epoch_unweighted_mean",
        edit(
            "train_one_epoch",
            ("total += loss.item() * len(X)\n        count += len(X)", "total += loss.item()\n        count += 1"),
        ),
        breaks="train_one_epoch",
        hint="unweighted_mean",
    ),
    Variant(
        "mutant_epoch_accumulates_tensor",
        edit("train_one_epoch", ("total += loss.item() * len(X)", "total += loss * len(X)")),
        breaks="train_one_epoch",
        hint="loss_keeps_graph",
    ),
    Variant(
        "mutant_epoch_last_batch_loss",
        edit("train_one_epoch", ("return total / count", "return loss.item()")),
        breaks="train_one_epoch",
        hint="last_batch_loss",
    ),
    Variant(
        "mutant_epoch_own_loss_fn",
        edit("train_one_epoch", ("loss = loss_fn(model(X), y)", "loss = nn.CrossEntropyLoss()(model(X), y)")),
        breaks="train_one_epoch",
        hint="ignores_loss_fn",
        score=2.4,
    ),
    # ------------------------------------------------------------------ evaluate
    Variant(
        "mutant_eval_no_eval_mode",
        edit("evaluate", ("    model.eval()\n", "")),
        breaks="evaluate",
        hint="no_eval_mode",
        demo=True,
    ),
    Variant(
        "mutant_eval_no_no_grad",
        edit("evaluate", ("    with torch.no_grad():\n        for", "    if True:\n        for")),
        breaks="evaluate",
        hint="no_no_grad",
    ),
    Variant(
        "mutant_eval_unweighted_mean",
        edit(
            "evaluate",
            ("total += loss_fn(logits, y).item() * len(X)", "total += loss_fn(logits, y).item()"),
            ("return total / count, correct / count", "return total / len(loader), correct / count"),
        ),
        breaks="evaluate",
        hint="unweighted_mean",
    ),
    Variant(
        "mutant_eval_accuracy_count",
        edit("evaluate", ("return total / count, correct / count", "return total / count, correct")),
        breaks="evaluate",
        hint="accuracy_not_fraction",
    ),
    Variant(
        "mutant_eval_calls_backward",
        edit(
            "evaluate",
            ("    with torch.no_grad():\n        for", "    if True:\n        for"),
            (
                "            total += loss_fn(logits, y).item() * len(X)\n",
                "            loss = loss_fn(logits, y)\n            loss.backward()  # validation does not train\n"
                "            total += loss.item() * len(X)\n",
            ),
        ),
        breaks="evaluate",
        hint="eval_updates_weights",
    ),
    # ------------------------------------------------------------------ fit
    Variant(
        "mutant_fit_state_dict_not_copied",
        edit(
            "fit",
            (
                "            best_state = copy.deepcopy(model.state_dict())  # uma cópia: state_dict() acompanha o modelo",
                "            best_state = model.state_dict()  # no copy: it follows the weights",
            ),
        ),
        breaks="fit",
        hint="best_not_kept",
        score=1.3333,
        demo=True,
    ),
    Variant(
        "mutant_fit_never_restores",
        edit("fit", ("    model.load_state_dict(best_state)\n", "")),
        breaks="fit",
        hint="best_not_kept",
        score=1.3333,
    ),
    Variant(
        "mutant_fit_best_by_accuracy",
        edit(
            "fit",
            ('    best_loss = float("inf")\n', "    best_acc = -1.0\n"),
            (
                "        if val_loss < best_loss:\n            best_loss = val_loss\n",
                "        if val_acc > best_acc:\n            best_acc = val_acc\n",
            ),
        ),
        breaks="fit",
        hint="best_by_accuracy",
    ),
    Variant(
        "mutant_fit_no_val_acc",
        edit("fit", ('        history["val_acc"].append(val_acc)\n', "")),
        breaks="fit",
        hint="history_shape",
    ),
    Variant(
        "mutant_fit_validates_on_train",
        edit("fit", ("evaluate(model, val_loader, loss_fn, device)", "evaluate(model, train_loader, loss_fn, device)")),
        breaks="fit",
        hint="history_values",
    ),
    Variant(
        "mutant_fit_inline_no_train_mode",
        edit(
            "fit",
            (
                "        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device)\n",
                "        total, count = 0.0, 0  # no model.train(): after the first evaluate, training runs in eval mode\n"
                "        for X, y in train_loader:\n"
                "            X, y = X.to(device), y.to(device)\n"
                "            optimizer.zero_grad()\n            loss = loss_fn(model(X), y)\n"
                "            loss.backward()\n            optimizer.step()\n"
                "            total, count = total + loss.item() * len(y), count + len(y)\n"
                "        train_loss = total / count\n",
            ),
        ),
        breaks="fit",
        hint="no_train_mode",
        score=1.3333,
    ),
    # ------------------------------------------------------------------ train_iris
    Variant(
        "mutant_iris_expects_standardized",
        edit(
            "train_iris",
            ("            return self.layers((x - self.mean) / self.std)", "            return self.layers(x)"),
            (
                "    X_train = torch.tensor(X_train, dtype=torch.float32)\n    X_val = torch.tensor(X_val, dtype=torch.float32)\n",
                "    X_train = torch.tensor(X_train, dtype=torch.float32)\n    X_val = torch.tensor(X_val, dtype=torch.float32)\n"
                "    X_val = (X_val - X_train.mean(dim=0)) / X_train.std(dim=0)  # standardized outside the model\n"
                "    X_train = (X_train - X_train.mean(dim=0)) / X_train.std(dim=0)\n",
            ),
        ),
        breaks="train_iris",
        hint="expects_standardized",
    ),
    Variant(
        "mutant_iris_learning_rate_too_small",
        edit("train_iris", ("lr=0.01)", "lr=1e-5)")),
        breaks="train_iris",
        hint="iris_accuracy",
    ),
    # ------------------------------------------------------------------ train_xor_mlp
    Variant(
        "mutant_xor_hand_set_weights",
        edit(
            "train_xor_mlp",
            (
                "    for _ in range(100):\n        optimizer.zero_grad()\n        loss = loss_fn(model(X), y)\n"
                "        loss.backward()\n        optimizer.step()\n",
                "    with torch.no_grad():  # module 01's network, set by hand: OR and NAND, then AND\n"
                "        model[0].weight.zero_()\n        model[0].bias.fill_(-10.0)\n"
                "        model[0].weight[0] = torch.tensor([10.0, 10.0])\n        model[0].bias[0] = -5.0\n"
                "        model[0].weight[1] = torch.tensor([-10.0, -10.0])\n        model[0].bias[1] = 15.0\n"
                "        model[2].weight.zero_()\n        model[2].bias.zero_()\n"
                "        model[2].weight[1, :2] = torch.tensor([10.0, 10.0])\n        model[2].bias[1] = -10.0\n",
            ),
        ),
        breaks="train_xor_mlp",
        hint="xor_not_trained",
        demo=True,
    ),
    Variant(
        "mutant_xor_untrained",
        edit(
            "train_xor_mlp",
            (
                "    for _ in range(100):\n        optimizer.zero_grad()\n        loss = loss_fn(model(X), y)\n"
                "        loss.backward()\n        optimizer.step()\n",
                "",
            ),
        ),
        breaks="train_xor_mlp",
        hint="xor_not_trained",
    ),
    Variant(
        "mutant_xor_two_hidden_units",
        edit(
            "train_xor_mlp",
            ("nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)", "nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)"),
        ),
        breaks="train_xor_mlp",
        hint="xor_some_seeds",
    ),
    Variant(
        "mutant_xor_no_nonlinearity",
        edit("train_xor_mlp", ("nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)", "nn.Linear(2, 8), nn.Linear(8, 2)")),
        breaks="train_xor_mlp",
        hint="xor_linear",
    ),
    Variant(
        "mutant_xor_too_few_steps",
        edit("train_xor_mlp", ("range(100)", "range(2)")),
        breaks="train_xor_mlp",
        hint="xor_not_learned",
    ),
    Variant(
        "mutant_xor_seed_ignored",
        edit(
            "train_xor_mlp",
            ("    torch.manual_seed(seed)  # antes de criar a rede: a semente decide os pesos iniciais\n", ""),
        ),
        breaks="train_xor_mlp",
        hint="xor_seed_ignored",
    ),
    Variant(
        "mutant_xor_fixed_seed",
        edit("train_xor_mlp", ("torch.manual_seed(seed)", "torch.manual_seed(0)")),
        breaks="train_xor_mlp",
        hint="xor_seed_ignored",
    ),
    Variant(
        "mutant_xor_softmax_output",
        edit("train_xor_mlp", ("nn.Linear(8, 2))", "nn.Linear(8, 2), nn.Softmax(dim=1))")),
        breaks="train_xor_mlp",
        hint="double_softmax",
    ),
]

ALTERNATIVES = [
    Variant(
        "alt_loaders_standard_scaler",
        edit(
            "make_iris_loaders",
            (
                SCALE + "    X_train = (X_train - mean) / std\n    X_val = (X_val - mean) / std\n",
                "    from sklearn.preprocessing import StandardScaler\n\n"
                "    scaler = StandardScaler().fit(X_train)\n"
                "    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)\n",
            ),
        ),
    ),
    Variant(
        "alt_loaders_sample_std_torch",
        edit(
            "make_iris_loaders",
            (
                SCALE + "    X_train = (X_train - mean) / std\n    X_val = (X_val - mean) / std\n",
                "    X_train, X_val = torch.tensor(X_train), torch.tensor(X_val)\n"
                "    mean, std = X_train.mean(dim=0), X_train.std(dim=0)  # N - 1: either convention is fine\n"
                "    X_train, X_val = ((X_train - mean) / std).numpy(), ((X_val - mean) / std).numpy()\n",
            ),
        ),
    ),
    Variant(
        "alt_gd_autograd_grad",
        edit(
            "gradient_descent",
            (
                "        y = f(x)\n        y.backward()\n        with torch.no_grad():\n            x -= lr * x.grad\n"
                "        x.grad.zero_()\n",
                "        (grad,) = torch.autograd.grad(f(x), x)\n"
                "        x = (x - lr * grad).detach().requires_grad_(True)\n",
            ),
        ),
    ),
    Variant(
        "alt_epoch_zero_grad_at_end",
        edit(
            "train_one_epoch",
            ("        optimizer.zero_grad()\n", ""),
            ("        optimizer.step()\n", "        optimizer.step()\n        optimizer.zero_grad()\n"),
        ),
    ),
    Variant(
        "alt_epoch_model_zero_grad",
        edit("train_one_epoch", ("optimizer.zero_grad()", "model.zero_grad(set_to_none=False)")),
    ),
    Variant(
        "alt_epoch_tensor_total",
        edit("train_one_epoch", ("total += loss.item() * len(X)", "total += loss.detach() * len(X)")),
    ),
    Variant("alt_eval_inference_mode", edit("evaluate", ("torch.no_grad()", "torch.inference_mode()"))),
    Variant(
        "alt_eval_softmax_argmax",
        edit("evaluate", ("(logits.argmax(dim=1) == y)", "(torch.softmax(logits, dim=1).argmax(dim=1) == y)")),
    ),
    Variant(
        "alt_fit_clone_tensors",
        edit(
            "fit",
            (
                "            best_state = copy.deepcopy(model.state_dict())  # uma cópia: state_dict() acompanha o modelo",
                "            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}",
            ),
        ),
    ),
    Variant(
        "alt_fit_inline_loops",
        edit(
            "fit",
            (
                "        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device)\n",
                "        model.train()\n        total, count = 0.0, 0\n"
                "        for X, y in train_loader:\n"
                "            X, y = X.to(device), y.to(device)\n"
                "            loss = loss_fn(model(X), y)\n"
                "            optimizer.zero_grad()\n            loss.backward()\n            optimizer.step()\n"
                "            total, count = total + loss.item() * len(y), count + len(y)\n"
                "        train_loss = total / count\n",
            ),
        ),
    ),
    Variant(
        "alt_iris_sgd_momentum",
        edit(
            "train_iris",
            (
                "torch.optim.Adam(model.parameters(), lr=0.01)",
                "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)",
            ),
        ),
    ),
    Variant(
        "alt_iris_batchnorm_input",
        edit(
            "train_iris",
            (
                "            return self.layers((x - self.mean) / self.std)",
                "            return self.layers(self.norm(x))  # BatchNorm learns the scaling from the data",
            ),
            (
                '            self.register_buffer("std", std)\n',
                '            self.register_buffer("std", std)\n            self.norm = nn.BatchNorm1d(4)\n',
            ),
        ),
    ),
    Variant(
        "alt_xor_sgd_relu_16",
        edit(
            "train_xor_mlp",
            ("nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)", "nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)"),
            (
                "torch.optim.Adam(model.parameters(), lr=0.1)",
                "torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)",
            ),
            ("range(100)", "range(300)"),
        ),
    ),
    Variant(
        "alt_xor_module_class_manual_update",
        edit(
            "train_xor_mlp",
            (
                "    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).to(device)\n",
                "    class XorNet(nn.Module):\n"
                "        def __init__(self):\n"
                "            super().__init__()\n"
                "            self.hidden = nn.Linear(2, 10)\n"
                "            self.out = nn.Linear(10, 2)\n\n"
                "        def forward(self, x):\n"
                "            return self.out(torch.sigmoid(self.hidden(x)))\n\n"
                "    model = XorNet().to(device)\n",
            ),
            ("    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)\n", ""),
            (
                "        optimizer.zero_grad()\n        loss = loss_fn(model(X), y)\n        loss.backward()\n"
                "        optimizer.step()\n",
                "        loss = loss_fn(model(X), y)\n        model.zero_grad()\n        loss.backward()\n"
                "        with torch.no_grad():  # plain gradient descent, written out\n"
                "            for p in model.parameters():\n                p -= 2.0 * p.grad\n",
            ),
            ("range(100)", "range(400)"),
        ),
    ),
    Variant(
        "alt_xor_dropout_left_in_train_mode",
        edit(
            "train_xor_mlp",
            (
                "nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)",
                "nn.Linear(2, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 2)",
            ),
            ("    model.eval()\n", ""),
            ("range(100)", "range(200)"),
        ),
    ),
    Variant(
        "alt_xor_data_moved_later",
        edit(
            "train_xor_mlp",
            (
                "    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=device)\n"
                "    y = torch.tensor([0, 1, 1, 0], dtype=torch.int64, device=device)\n",
                "    X = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32).to(device)\n"
                "    y = torch.tensor([[0, 1], [1, 0]], dtype=torch.int64).flatten().to(device)\n",
            ),
        ),
    ),
]

VARIANTS = MUTANTS + ALTERNATIVES

# A model asked to return logits that returns probabilities (ends in Softmax, then CrossEntropyLoss
# again): it still reaches the accuracy threshold, so only checks.logits_not_probabilities sees it.
# Log-probabilities are logits (LogSoftmax with NLLLoss is the classic correct pairing).
VARIANTS += [
    Variant(
        "mutant_iris_softmax_output",
        edit("train_iris", ("nn.Linear(10, 3))", "nn.Linear(10, 3), nn.Softmax(dim=1))")),
        breaks="train_iris",
        hint="double_softmax",
    ),
    Variant(
        "alt_iris_log_softmax_nll",
        edit(
            "train_iris",
            ("nn.Linear(10, 3))", "nn.Linear(10, 3), nn.LogSoftmax(dim=1))"),
            ("nn.CrossEntropyLoss()", "nn.NLLLoss()"),
        ),
    ),
]
