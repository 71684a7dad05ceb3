"""Mutants and alternatives of the 01_neurons reference (see grader/variants.py).

Mutants model the mistakes of ../../../../shared/research/common-mistakes.md §1-3; the
alternatives are correct solutions the contract (CATALOG.md, 01_neurons) must accept.
"""

from grader.variants import Variant

MUTANTS = [
    # ------------------------------------------------------------------ McCulloch-Pitts
    Variant(
        "mutant_mcp_gt",
        {"mcp_neuron": "def mcp_neuron(inputs, threshold):\n    return int(sum(int(x) for x in inputs) > threshold)\n"},
        breaks="mcp_neuron",
        hint="gt_instead_of_ge",
        demo=True,
    ),
    Variant(
        "mutant_and_threshold_is_or",
        {"AND_THRESHOLD": "AND_THRESHOLD = 1\n"},
        breaks="AND_THRESHOLD",
        hint="and_threshold_is_or",
    ),
    Variant(
        "mutant_and_threshold_too_high",
        {"AND_THRESHOLD": "AND_THRESHOLD = 3\n"},
        breaks="AND_THRESHOLD",
        hint="and_threshold_too_high",
    ),
    Variant(
        "mutant_or_threshold_is_and",
        {"OR_THRESHOLD": "OR_THRESHOLD = 2\n"},
        breaks="OR_THRESHOLD",
        hint="or_threshold_is_and",
    ),
    Variant(
        "mutant_or_threshold_too_low",
        {"OR_THRESHOLD": "OR_THRESHOLD = 0\n"},
        breaks="OR_THRESHOLD",
        hint="or_threshold_too_low",
    ),
    Variant(
        "mutant_at_least_k_fires_one_early",
        {"AT_LEAST_K_THRESHOLD": "AT_LEAST_K_THRESHOLD = K - 1\n"},
        breaks="AT_LEAST_K_THRESHOLD",
        hint="at_least_k_too_low",
    ),
    Variant(
        "mutant_at_least_k_off_by_one_up",
        {"AT_LEAST_K_THRESHOLD": "AT_LEAST_K_THRESHOLD = K + 1\n"},
        breaks="AT_LEAST_K_THRESHOLD",
        hint="at_least_k_too_high",
    ),
    Variant(
        "mutant_at_least_k_is_and",  # every input must fire: AND of N_ENTRADAS
        {"AT_LEAST_K_THRESHOLD": "AT_LEAST_K_THRESHOLD = N_ENTRADAS\n"},
        breaks="AT_LEAST_K_THRESHOLD",
        hint="at_least_k_too_high",
    ),
    # ------------------------------------------------------------------ activations
    Variant(
        "mutant_step_gt_zero",
        {
            "step": (
                "def step(z):\n"
                "    z = torch.as_tensor(z)\n"
                "    dtype = z.dtype if z.is_floating_point() else torch.get_default_dtype()\n"
                "    return (z > 0).to(dtype)\n"
            )
        },
        breaks="step",
        hint="step_at_zero",
        demo=True,
    ),
    Variant(
        "mutant_step_bool",
        {"step": "def step(z):\n    return z >= 0\n"},
        breaks="step",
        hint="not_floating",
        score=0.25,
    ),
    Variant(
        "mutant_step_python_if",
        {"step": ("def step(z):\n    if z >= 0:\n        return 1.0\n    return 0.0\n")},
        breaks="step",
        hint="tensor_truth_value",
    ),
    Variant(
        "mutant_step_heaviside_no_values",
        {"step": "def step(z):\n    return torch.heaviside(z)\n"},
        breaks="step",
        hint="heaviside_values",
    ),
    Variant(
        "mutant_sigmoid_sign",
        {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + torch.exp(z))\n"},
        breaks="sigmoid",
        hint="sigmoid_sign",
        demo=True,
    ),
    Variant(
        "mutant_sigmoid_overflow",
        {"sigmoid": "def sigmoid(z):\n    return torch.exp(z) / (1 + torch.exp(z))\n"},
        breaks="sigmoid",
        hint="large_inputs",
        score=0.3333,
    ),
    Variant(
        "mutant_tanh_is_sigmoid",
        {"tanh": "def tanh(z):\n    return 1 / (1 + torch.exp(-z))\n"},
        breaks="tanh",
        hint="tanh_is_sigmoid",
        score=0.0,
    ),
    Variant(
        "mutant_tanh_naive",
        {"tanh": "def tanh(z):\n    return (torch.exp(z) - torch.exp(-z)) / (torch.exp(z) + torch.exp(-z))\n"},
        breaks="tanh",
        hint="large_inputs",
        score=0.3333,
    ),
    Variant(
        "mutant_relu_inplace",
        {"relu": "def relu(z):\n    z[z < 0] = 0\n    return z\n"},
        # the public check passes the same input: every call checks inputs now (engine)
        breaks="relu",
        hint="modifies_input",
    ),
    Variant(
        "mutant_relu_python_max",
        {"relu": "def relu(z):\n    return max(0, z)\n"},
        breaks="relu",
        hint="tensor_truth_value",
    ),
    Variant(
        "mutant_softmax_naive",
        {"softmax": ("def softmax(z, dim=-1):\n    e = torch.exp(z)\n    return e / e.sum(dim=dim, keepdim=True)\n")},
        breaks="softmax",
        hint="naive_softmax",
        score=1.2,
        demo=True,
    ),
    Variant(
        "mutant_softmax_sum_all",
        {"softmax": ("def softmax(z, dim=-1):\n    e = torch.exp(z - z.max())\n    return e / e.sum()\n")},
        breaks="softmax",
        hint="softmax_dim",
        score=0.4,
    ),
    Variant(
        "mutant_softmax_dim0",
        {
            "softmax": (
                "def softmax(z, dim=-1):\n"
                "    shifted = z - z.amax(dim=0, keepdim=True)\n"
                "    e = torch.exp(shifted)\n"
                "    return e / e.sum(dim=0, keepdim=True)\n"
            )
        },
        breaks="softmax",
        hint="softmax_dim",
        score=0.4,
    ),
    Variant(
        "mutant_softmax_no_keepdim",
        {
            "softmax": (
                "def softmax(z, dim=-1):\n    e = torch.exp(z - z.amax(dim=dim))\n    return e / e.sum(dim=dim)\n"
            )
        },
        breaks="softmax",
        hint="shape_mismatch",
        score=0.4,
    ),
    # ------------------------------------------------------------------ perceptron
    Variant(
        "mutant_perceptron_bias_subtracted",
        {"perceptron": "def perceptron(x, w, b):\n    return step(x @ w - b)\n"},
        breaks="perceptron",
        hint="bias_subtracted",
        score=0.25,
    ),
    Variant(
        "mutant_perceptron_column_output",
        {"perceptron": "def perceptron(x, w, b):\n    return step(x @ w.reshape(-1, 1) + b)\n"},
        breaks="perceptron",
        hint="perceptron_shape",
    ),
    Variant(
        "mutant_perceptron_sigmoid",
        {"perceptron": "def perceptron(x, w, b):\n    return sigmoid(x @ w + b)\n"},
        breaks="perceptron",
        hint="wrong_values",
    ),
    Variant(
        "mutant_and_weights_fires_on_one_input",
        {"AND_WEIGHTS": "AND_WEIGHTS = (1.0, 1.0, -1.0)\n"},
        breaks="AND_WEIGHTS",
        hint="gate_row",
    ),
    Variant(
        "mutant_or_weights_never_fires",
        {"OR_WEIGHTS": "OR_WEIGHTS = (1.0, 1.0, -2.5)\n"},
        breaks="OR_WEIGHTS",
        hint="gate_row",
    ),
    Variant(
        "mutant_nand_is_and",
        {"NAND_WEIGHTS": "NAND_WEIGHTS = (1.0, 1.0, -1.5)\n"},
        breaks="NAND_WEIGHTS",
        hint="gate_row",
    ),
    Variant(
        "mutant_xor_w1_transposed",
        {
            "XOR_WEIGHTS": (
                "XOR_WEIGHTS = {\n"
                '    "W1": torch.tensor([[1.0, -1.0], [1.0, -1.0]]),  # columns = hidden units (OR, NAND)\n'
                '    "b1": torch.tensor([-0.5, 1.5]),\n'
                '    "w2": torch.tensor([1.0, 1.0]),\n'
                '    "b2": -1.5,\n'
                "}\n"
            )
        },
        breaks="XOR_WEIGHTS",
        hint="xor_transposed",
        score=1.0,
    ),
    Variant(
        "mutant_xor_single_layer",
        {
            "XOR_WEIGHTS": (
                "XOR_WEIGHTS = {\n"
                '    "W1": torch.tensor([[1.0, 0.0], [0.0, 1.0]]),  # hidden layer just copies x\n'
                '    "b1": torch.tensor([-0.5, -0.5]),\n'
                '    "w2": torch.tensor([1.0, 1.0]),  # a single perceptron on x: OR, not XOR\n'
                '    "b2": -0.5,\n'
                "}\n"
            )
        },
        breaks="XOR_WEIGHTS",
        hint="xor_wrong",
        score=1.0,
    ),
    # ------------------------------------------------------------------ learning
    Variant(
        "mutant_update_sign_flipped",
        {
            "perceptron_update": (
                "def perceptron_update(w, b, x, y, lr):\n"
                "    y_hat = step(w @ x + b)\n"
                "    error = y_hat - y\n"
                "    return w + lr * error * x, b + lr * error\n"
            )
        },
        breaks="perceptron_update",
        hint="update_sign",
    ),
    Variant(
        "mutant_update_inplace",
        {
            "perceptron_update": (
                "def perceptron_update(w, b, x, y, lr):\n"
                "    y_hat = step(w @ x + b)\n"
                "    error = y - y_hat\n"
                "    w += lr * error * x\n"
                "    b += lr * error\n"
                "    return w, b\n"
            )
        },
        breaks="perceptron_update",
        hint="modifies_input",  # every check's call sees it (engine)
    ),
    Variant(
        "mutant_update_no_lr",
        {
            "perceptron_update": (
                "def perceptron_update(w, b, x, y, lr):\n"
                "    y_hat = step(w @ x + b)\n"
                "    error = y - y_hat\n"
                "    return w + error * x, b + error\n"
            )
        },
        breaks="perceptron_update",
        hint="update_wrong",
        score=0.6667,
    ),
    Variant(
        "mutant_train_no_early_stop",
        {
            "train_perceptron": (
                "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                "    X = torch.as_tensor(X)\n"
                "    if not X.is_floating_point():\n"
                "        X = X.float()\n"
                "    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)\n"
                "    b = torch.zeros((), dtype=X.dtype, device=X.device)\n"
                "    for _ in range(max_epochs):\n"
                "        for xi, yi in zip(X, y):\n"
                "            if step(w @ xi + b) != yi:\n"
                "                w, b = perceptron_update(w, b, xi, yi, lr)\n"
                "    return w, b\n"
            )
        },
        breaks="train_perceptron",
        hint="train_no_early_stop",
        score=1.6,
    ),
    Variant(
        "mutant_train_one_epoch",
        {
            "train_perceptron": (
                "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                "    X = torch.as_tensor(X)\n"
                "    if not X.is_floating_point():\n"
                "        X = X.float()\n"
                "    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)\n"
                "    b = torch.zeros((), dtype=X.dtype, device=X.device)\n"
                "    for xi, yi in zip(X, y):\n"
                "        if step(w @ xi + b) != yi:\n"
                "            w, b = perceptron_update(w, b, xi, yi, lr)\n"
                "    return w, b\n"
            )
        },
        breaks="train_perceptron",
        hint="train_misclassifies",
        score=0.8,
    ),
    Variant(
        "mutant_train_update_discarded",
        {
            "train_perceptron": (
                "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                "    X = torch.as_tensor(X)\n"
                "    if not X.is_floating_point():\n"
                "        X = X.float()\n"
                "    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)\n"
                "    b = torch.zeros((), dtype=X.dtype, device=X.device)\n"
                "    for _ in range(max_epochs):\n"
                "        errors = 0\n"
                "        for xi, yi in zip(X, y):\n"
                "            if step(w @ xi + b) != yi:\n"
                "                perceptron_update(w, b, xi, yi, lr)  # the new (w, b) is thrown away\n"
                "                errors += 1\n"
                "        if errors == 0:\n"
                "            break\n"
                "    return w, b\n"
            )
        },
        breaks="train_perceptron",
        hint="train_misclassifies",
        score=0.4,
    ),
]

ALTERNATIVES = [
    Variant("alt_at_least_k_half_below", {"AT_LEAST_K_THRESHOLD": "AT_LEAST_K_THRESHOLD = K - 0.5\n"}),
    Variant(
        "alt_at_least_k_tensor",
        {"AT_LEAST_K_THRESHOLD": "AT_LEAST_K_THRESHOLD = torch.tensor(float(K))\n"},
    ),
    # ------------------------------------------------------------------ McCulloch-Pitts
    Variant(
        "alt_mcp_returns_bool",
        {"mcp_neuron": "def mcp_neuron(inputs, threshold):\n    return sum(inputs) >= threshold\n"},
    ),
    Variant(
        "alt_mcp_returns_0d_tensor",
        {
            "mcp_neuron": (
                "def mcp_neuron(inputs, threshold):\n"
                "    total = torch.as_tensor(inputs).sum()\n"
                "    return (total >= threshold).int()\n"
            )
        },
    ),
    Variant(
        "alt_mcp_loop",
        {
            "mcp_neuron": (
                "def mcp_neuron(inputs, threshold):\n"
                "    total = 0\n"
                "    for x in inputs:\n"
                "        total += int(x)\n"
                "    if total >= threshold:\n"
                "        return 1\n"
                "    return 0\n"
            )
        },
    ),
    Variant(
        "alt_mcp_returns_numpy_bool",
        {
            "mcp_neuron": (
                "import numpy as np\n\n\n"
                "def mcp_neuron(inputs, threshold):\n"
                "    return np.sum([int(x) for x in inputs]) >= threshold\n"
            )
        },
    ),
    Variant(
        "alt_and_threshold_1_5",
        {"AND_THRESHOLD": "AND_THRESHOLD = 1.5\n"},
    ),
    Variant(
        "alt_or_threshold_0_5",
        {"OR_THRESHOLD": "OR_THRESHOLD = 0.5\n"},
    ),
    # ------------------------------------------------------------------ activations
    Variant(
        "alt_step_where",
        {
            "step": (
                "def step(z):\n"
                "    z = torch.as_tensor(z)\n"
                "    if not z.is_floating_point():\n"
                "        z = z.float()\n"
                "    return torch.where(z >= 0, torch.ones_like(z), torch.zeros_like(z))\n"
            )
        },
    ),
    Variant(
        "alt_step_heaviside",
        {
            "step": (
                "def step(z):\n"
                "    z = torch.as_tensor(z)\n"
                "    if not z.is_floating_point():\n"
                "        z = z.float()\n"
                "    return torch.heaviside(z, torch.ones_like(z))\n"
            )
        },
    ),
    Variant(
        "alt_step_int_input_to_float64",
        {
            "step": (
                "def step(z):\n"
                "    z = torch.as_tensor(z)\n"
                "    return (z >= 0).to(z.dtype if z.is_floating_point() else torch.float64)\n"
            )
        },
    ),
    Variant(
        "alt_sigmoid_torch",
        {"sigmoid": "def sigmoid(z):\n    return torch.sigmoid(z)\n"},
    ),
    Variant(
        "alt_sigmoid_piecewise_stable",
        {
            "sigmoid": (
                "def sigmoid(z):\n"
                "    e = torch.exp(-z.abs())\n"
                "    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            )
        },
    ),
    Variant(
        "alt_sigmoid_nn_module",
        {"sigmoid": "def sigmoid(z):\n    return torch.nn.Sigmoid()(z)\n"},
    ),
    Variant(
        "alt_tanh_torch",
        {"tanh": "def tanh(z):\n    return torch.tanh(z)\n"},
    ),
    Variant(
        "alt_tanh_via_sigmoid",
        {"tanh": "def tanh(z):\n    return 2 * torch.sigmoid(2 * z) - 1\n"},
    ),
    Variant(
        "alt_relu_F_top_import",
        {"relu": "import torch.nn.functional as F\n\n\ndef relu(z):\n    return F.relu(z)\n"},
    ),
    Variant(
        "alt_relu_F_inner_import",
        {"relu": "def relu(z):\n    import torch.nn.functional as F\n    return F.relu(z)\n"},
    ),
    Variant(
        "alt_relu_maximum",
        {"relu": "def relu(z):\n    return torch.maximum(z, torch.zeros_like(z))\n"},
    ),
    Variant(
        "alt_relu_where",
        {"relu": "def relu(z):\n    return torch.where(z > 0, z, torch.zeros_like(z))\n"},
    ),
    Variant(
        "alt_relu_nn_module",
        {"relu": "def relu(z):\n    return torch.nn.ReLU()(z)\n"},
    ),
    Variant(
        "alt_softmax_torch",
        {"softmax": "def softmax(z, dim=-1):\n    return torch.softmax(z, dim=dim)\n"},
    ),
    Variant(
        "alt_softmax_logsumexp",
        {"softmax": "def softmax(z, dim=-1):\n    return torch.exp(z - torch.logsumexp(z, dim=dim, keepdim=True))\n"},
    ),
    # ------------------------------------------------------------------ perceptron
    Variant(
        "alt_perceptron_float64",
        {"perceptron": ("def perceptron(x, w, b):\n    z = x.double() @ w.double() + float(b)\n    return step(z)\n")},
    ),
    Variant(
        "alt_perceptron_elementwise_sum",
        {"perceptron": "def perceptron(x, w, b):\n    return step((x * w).sum(dim=-1) + b)\n"},
    ),
    Variant(
        "alt_and_weights_scaled",
        {"AND_WEIGHTS": "AND_WEIGHTS = (2, 2, -3)\n"},
    ),
    Variant(
        "alt_or_weights_list",
        {"OR_WEIGHTS": "OR_WEIGHTS = [1, 1, -1]\n"},
    ),
    Variant(
        "alt_nand_weights_0d_tensors",
        {"NAND_WEIGHTS": "NAND_WEIGHTS = (torch.tensor(-1.0), torch.tensor(-1.0), torch.tensor(1.5))\n"},
    ),
    Variant(
        "alt_xor_or_minus_and",
        {
            "XOR_WEIGHTS": (
                "XOR_WEIGHTS = {\n"
                '    "W1": torch.tensor([[1.0, 1.0], [1.0, 1.0]]),  # h1 = OR, h2 = AND\n'
                '    "b1": torch.tensor([-0.5, -1.5]),\n'
                '    "w2": torch.tensor([1.0, -1.0]),  # out = step(h1 - h2 - 0.5)\n'
                '    "b2": -0.5,\n'
                "}\n"
            )
        },
    ),
    Variant(
        "alt_xor_nested_lists",
        {
            "XOR_WEIGHTS": (
                "XOR_WEIGHTS = {\n"
                '    "W1": [[1, 1], [-1, -1]],\n'
                '    "b1": [-0.5, 1.5],\n'
                '    "w2": [1, 1],\n'
                '    "b2": torch.tensor(-1.5),\n'
                "}\n"
            )
        },
    ),
    # ------------------------------------------------------------------ learning
    Variant(
        "alt_update_where",
        {
            "perceptron_update": (
                "def perceptron_update(w, b, x, y, lr):\n"
                "    y_hat = torch.where(w @ x + b >= 0, 1.0, 0.0)\n"
                "    error = y - y_hat\n"
                "    new_w = w + lr * error * x\n"
                "    new_b = b + lr * error\n"
                "    return new_w, new_b\n"
            )
        },
    ),
    Variant(
        "alt_update_clone_inplace",
        {
            "perceptron_update": (
                "def perceptron_update(w, b, x, y, lr):\n"
                "    error = y - step(torch.dot(w, x) + b)\n"
                "    w = w.clone()\n"
                "    w += lr * error * x\n"
                "    return w, b + lr * error\n"
            )
        },
    ),
    Variant(
        "alt_train_seeded_random_init",
        {
            "train_perceptron": (
                "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                "    X = torch.as_tensor(X)\n"
                "    if not X.is_floating_point():\n"
                "        X = X.float()\n"
                "    g = torch.Generator().manual_seed(0)\n"
                "    w = (0.01 * torch.randn(X.shape[1], generator=g, dtype=X.dtype)).to(X.device)\n"
                "    b = torch.tensor(0.0, dtype=X.dtype, device=X.device)\n"
                "    for epoch in range(max_epochs):\n"
                "        errors = 0\n"
                "        for i in range(len(X)):\n"
                "            w_new, b_new = perceptron_update(w, b, X[i], y[i], lr)\n"
                "            if not torch.equal(w_new, w) or float(b_new) != float(b):\n"
                "                errors += 1\n"
                "            w, b = w_new, b_new\n"
                "        if errors == 0:\n"
                "            break\n"
                "    return w, b\n"
            )
        },
    ),
    Variant(
        "alt_train_vectorized_epoch",
        {
            "train_perceptron": (
                "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                "    X = torch.as_tensor(X)\n"
                "    if not X.is_floating_point():\n"
                "        X = X.float()\n"
                "    y = torch.as_tensor(y).to(X.dtype)\n"
                "    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)\n"
                "    b = torch.zeros((), dtype=X.dtype, device=X.device)\n"
                "    for _ in range(max_epochs):\n"
                "        errors = y - step(X @ w + b)  # the whole epoch at once (batch perceptron)\n"
                "        if not errors.any():\n"
                "            break\n"
                "        w = w + lr * errors @ X\n"
                "        b = b + lr * errors.sum()\n"
                "    return w, b\n"
            )
        },
    ),
    Variant(
        "alt_train_while_loop",
        {
            "train_perceptron": (
                "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                "    X = torch.as_tensor(X, dtype=torch.float64)\n"
                "    w, b = torch.zeros(X.shape[1], dtype=torch.float64, device=X.device), 0.0\n"
                "    epoch, converged = 0, False\n"
                "    while epoch < max_epochs and not converged:\n"
                "        converged = True\n"
                "        for xi, yi in zip(X, y):\n"
                "            if int(perceptron(xi, w, b)) != int(yi):\n"
                "                w, b = perceptron_update(w, b, xi, float(yi), lr)\n"
                "                converged = False\n"
                "        epoch += 1\n"
                "    return w, b\n"
            )
        },
    ),
]

VARIANTS = MUTANTS + ALTERNATIVES
