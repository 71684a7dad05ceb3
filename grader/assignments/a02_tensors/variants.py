"""Mutants and alternatives of the 02_tensors reference (see grader/variants.py).

Mutants model the mistakes of ../../../../shared/research/common-mistakes.md §4-6 and §10;
the alternatives are correct solutions the contract (CATALOG.md, 02_tensors) must accept.

Partial scores (`score`) count the tests of a CPU-only grading machine: an exercise's points
are shared equally by its public and hidden tests, and tests taking a `device` run once per
available device.
"""

from grader.variants import Variant, edit_reference

MUTANTS = [
    # ------------------------------------------------------------------ tensors
    Variant(
        "mutant_scalar_is_1d",
        {
            "make_tensors": (
                "def make_tensors():\n"
                "    scalar = torch.tensor([3.0])  # shape (1,): a 1-D tensor, not a scalar\n"
                "    vector = torch.tensor([1.0, 2.0])\n"
                "    matrix = torch.tensor([[1.0, 2.0], [3.0, 4.0]])\n"
                "    cube = torch.zeros(4, 2, 2)\n"
                "    return scalar, vector, matrix, cube\n"
            )
        },
        breaks="make_tensors",
        hint="tensor_ranks",
    ),
    Variant(
        "mutant_cube_is_matrix",
        {
            "make_tensors": (
                "def make_tensors():\n"
                "    return torch.tensor(3.0), torch.tensor([1.0, 2.0]), torch.eye(2), torch.zeros(4, 4)\n"
            )
        },
        breaks="make_tensors",
        hint="tensor_ranks",
    ),
    Variant(
        "mutant_flatten_column_major",
        {
            "flatten_batch": (
                "def flatten_batch(x):\n"
                "    # reverses the feature dimensions first: column-major order inside each sample\n"
                "    return x.permute(0, *range(x.dim() - 1, 0, -1)).reshape(len(x), -1)\n"
            )
        },
        breaks="flatten_batch",
        hint="flatten_order",
    ),
    Variant(
        "mutant_flatten_transposed",
        {"flatten_batch": "def flatten_batch(x):\n    return x.reshape(-1, len(x)).T\n"},
        breaks="flatten_batch",
        hint="flatten_order",
    ),
    Variant(
        "mutant_standardize_sample_std",
        {
            "standardize": (
                "def standardize(x):\n"
                "    std = x.std(dim=0, keepdim=True)  # N - 1\n"
                "    centered = x - x.mean(dim=0, keepdim=True)\n"
                "    return torch.where(std > 0, centered / torch.where(std > 0, std, torch.ones_like(std)),\n"
                "                       torch.zeros_like(centered))\n"
            )
        },
        breaks="standardize",
        hint="sample_std",
    ),
    Variant(
        "mutant_standardize_nan_constant_column",
        {"standardize": "def standardize(x):\n    return (x - x.mean(dim=0)) / x.std(dim=0, correction=0)\n"},
        breaks="standardize",
        hint="constant_column",
        score=0.6667,
    ),
    Variant(
        "mutant_standardize_rows",
        {
            "standardize": (
                "def standardize(x):\n"
                "    std = x.std(dim=1, correction=0, keepdim=True)\n"
                "    centered = x - x.mean(dim=1, keepdim=True)\n"
                "    return torch.where(std > 0, centered / torch.where(std > 0, std, torch.ones_like(std)),\n"
                "                       torch.zeros_like(centered))\n"
            )
        },
        breaks="standardize",
        hint="standardize_rows",
    ),
    Variant(
        "mutant_standardize_whole_tensor",
        {"standardize": "def standardize(x):\n    return (x - x.mean()) / x.std(correction=0)\n"},
        breaks="standardize",
        hint="standardize_rows",
    ),
    Variant(
        "mutant_one_hot_int64",
        {"one_hot": "def one_hot(labels, num_classes):\n    return F.one_hot(labels, num_classes)\n"},
        breaks="one_hot",
        hint="one_hot_dtype",
        demo=True,
    ),
    Variant(
        "mutant_one_hot_infers_classes",
        {"one_hot": "def one_hot(labels, num_classes):\n    return F.one_hot(labels).float()\n"},
        breaks="one_hot",
        hint="wrong_shape",
        score=0.5,
    ),
    Variant(
        "mutant_linear_weight_not_transposed",
        {
            "linear_forward": (
                "def linear_forward(x, weight, bias=None):\n"
                "    out = x @ weight\n"
                "    if bias is not None:\n"
                "        out = out + bias\n"
                "    return out\n"
            )
        },
        breaks="linear_forward",
        hint="weight_not_transposed",
    ),
    Variant(
        "mutant_linear_bias_ignored",
        {"linear_forward": "def linear_forward(x, weight, bias=None):\n    return x @ weight.T\n"},
        breaks="linear_forward",
        hint="bias_ignored",
    ),
    Variant(
        "mutant_linear_if_bias_truthy",
        {
            "linear_forward": (
                "def linear_forward(x, weight, bias=None):\n"
                "    out = x @ weight.T\n"
                "    if bias:  # the truth value of a tensor with several elements\n"
                "        out = out + bias\n"
                "    return out\n"
            )
        },
        breaks="linear_forward",
        hint="tensor_truth_value",
    ),
    Variant(
        "mutant_pairwise_cdist_not_squared",
        {"pairwise_sq_distances": "def pairwise_sq_distances(a, b):\n    return torch.cdist(a, b)\n"},
        breaks="pairwise_sq_distances",
        hint="distances_not_squared",
    ),
    Variant(
        "mutant_pairwise_no_broadcast",
        {"pairwise_sq_distances": "def pairwise_sq_distances(a, b):\n    return ((a - b) ** 2).sum(dim=-1)\n"},
        breaks="pairwise_sq_distances",
        hint="shape_mismatch",
    ),
    Variant(
        "mutant_to_device_tuple_to_list",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if isinstance(obj, torch.Tensor):\n"
                "        return obj.to(device)\n"
                "    if isinstance(obj, dict):\n"
                "        return {k: to_device(v, device) for k, v in obj.items()}\n"
                "    if isinstance(obj, (list, tuple)):\n"
                "        return [to_device(v, device) for v in obj]  # a tuple comes back as a list\n"
                "    return obj\n"
            )
        },
        breaks="to_device",
        hint="container_type",
        score=0.6667,
    ),
    Variant(
        "mutant_to_device_drops_other_values",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if isinstance(obj, torch.Tensor):\n"
                "        return obj.to(device)\n"
                "    if isinstance(obj, dict):\n"
                "        return {k: to_device(v, device) for k, v in obj.items()}\n"
                "    if isinstance(obj, (list, tuple)):\n"
                "        return type(obj)(to_device(v, device) for v in obj)\n"
                "    # forgot `return obj`: strings and numbers become None\n"
            )
        },
        breaks="to_device",
        hint="container_type",
    ),
    # Device mistakes a move to "cpu" hides on a machine without a GPU; the hidden check that
    # moves to the `meta` device shows them on every machine (the other checks still pass).
    Variant(
        "mutant_to_device_tuples_left_as_is",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if isinstance(obj, torch.Tensor):\n"
                "        return obj.to(device)\n"
                "    if isinstance(obj, dict):\n"
                "        return {k: to_device(v, device) for k, v in obj.items()}\n"
                "    if isinstance(obj, list):\n"
                "        return [to_device(v, device) for v in obj]\n"
                "    return obj  # a tuple comes back as it was, its tensors where they were\n"
            )
        },
        breaks="to_device",
        hint="not_moved",
        score=1.3333,
    ),
    Variant(
        "mutant_to_device_top_level_only",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if isinstance(obj, torch.Tensor):\n"
                "        return obj.to(device)\n"
                "    # no recursion: a tensor one level down stays where it was\n"
                "    if isinstance(obj, dict):\n"
                "        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in obj.items()}\n"
                "    if isinstance(obj, (list, tuple)):\n"
                "        return type(obj)(v.to(device) if isinstance(v, torch.Tensor) else v for v in obj)\n"
                "    return obj\n"
            )
        },
        breaks="to_device",
        hint="not_moved",
        score=1.3333,
    ),
    Variant(
        "mutant_to_device_result_discarded",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if isinstance(obj, torch.Tensor):\n"
                "        obj.to(device)  # as with model.to(device); but a tensor's .to returns a new tensor\n"
                "        return obj\n"
                "    if isinstance(obj, dict):\n"
                "        return {k: to_device(v, device) for k, v in obj.items()}\n"
                "    if isinstance(obj, (list, tuple)):\n"
                "        return type(obj)(to_device(v, device) for v in obj)\n"
                "    return obj\n"
            )
        },
        breaks="to_device",
        hint="not_moved",
        score=1.3333,
    ),
    Variant(
        "mutant_to_device_writes_into_input",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if isinstance(obj, torch.Tensor):\n"
                "        return obj.to(device)\n"
                "    if isinstance(obj, dict):\n"
                "        for k in obj:\n"
                "            obj[k] = to_device(obj[k], device)  # written into the caller's dict\n"
                "        return obj\n"
                "    if isinstance(obj, list):\n"
                "        for i, item in enumerate(obj):\n"
                "            obj[i] = to_device(item, device)  # and into the caller's list\n"
                "        return obj\n"
                "    if isinstance(obj, tuple):\n"
                "        return tuple(to_device(item, device) for item in obj)\n"
                "    return obj\n"
            )
        },
        breaks="to_device",
        hint="moved_into_input",
        score=1.3333,
    ),
    # ------------------------------------------------------------------ graphs
    Variant(
        "mutant_graph_c_plus_d",
        {"graph_forward": "def graph_forward(a, b, c, d):\n    return (a + b) * (c + d)\n"},
        breaks="graph_forward",
        hint="graph_sign",
    ),
    Variant(
        "mutant_graph_sign_flipped",
        {"graph_forward": "def graph_forward(a, b, c, d):\n    return (a + b) * (d - c)\n"},
        breaks="graph_forward",
        hint="graph_sign",
    ),
    Variant(
        "mutant_graph_item",
        {"graph_forward": "def graph_forward(a, b, c, d):\n    return ((a + b) * (c - d)).item()\n"},
        breaks="graph_forward",
        hint="not_a_tensor",
        score=0.3333,
    ),
    Variant(
        "mutant_gradient_d_sign",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    # by hand, and d's sign forgotten\n"
                "    return float(c - d), float(c - d), float(a + b), float(a + b)\n"
            )
        },
        breaks="graph_gradients",
        hint="gradient_d_sign",
    ),
    Variant(
        "mutant_gradients_by_hand",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    # the right numbers, derived on paper: no autograd\n"
                "    return float(c - d), float(c - d), float(a + b), float(-(a + b))\n"
            )
        },
        breaks="graph_gradients",
        hint="gradients_by_hand",
        score=1.0,  # the public check sees the values only
    ),
    Variant(
        "mutant_gradients_finite_differences",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    h, x = 1e-6, [float(v) for v in (a, b, c, d)]\n"
                "    def z(v):\n"
                "        return float(graph_forward(*[torch.tensor(t, dtype=torch.float64) for t in v]))\n"
                "    return tuple(round((z(x[:i] + [x[i] + h] + x[i + 1:]) - z(x[:i] + [x[i] - h] + x[i + 1:])) / (2 * h), 6)\n"
                "                 for i in range(4))\n"
            )
        },
        breaks="graph_gradients",
        hint="gradients_by_hand",
        score=1.0,
    ),
    # ------------------------------------------------------------------ counting
    Variant(
        "mutant_forgot_bias",
        {"linear_param_count": "def linear_param_count(n_in, n_out, bias=True):\n    return n_in * n_out\n"},
        breaks="linear_param_count",
        hint="forgot_bias",
        demo=True,
    ),
    Variant(
        "mutant_linear_count_bias_flag_ignored",
        {"linear_param_count": "def linear_param_count(n_in, n_out, bias=True):\n    return n_in * n_out + n_out\n"},
        breaks="linear_param_count",
        hint="bias_flag",
        score=0.5,
    ),
    Variant(
        "mutant_mlp_no_biases",
        {
            "mlp_param_count": (
                "def mlp_param_count(sizes, bias=True):\n"
                "    return sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))\n"
            )
        },
        breaks="mlp_param_count",
        hint="forgot_bias",
    ),
    Variant(
        "mutant_mlp_bias_flag_not_passed",
        {
            "mlp_param_count": (
                "def mlp_param_count(sizes, bias=True):\n"
                "    return sum(linear_param_count(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:]))\n"
            )
        },
        breaks="mlp_param_count",
        hint="bias_flag",
        score=0.5,
    ),
    Variant(
        "mutant_mlp_skips_last_layer",
        {
            "mlp_param_count": (
                "def mlp_param_count(sizes, bias=True):\n"
                "    total = 0\n"
                "    for i in range(len(sizes) - 2):\n"
                "        total += linear_param_count(sizes[i], sizes[i + 1], bias)\n"
                "    return total\n"
            )
        },
        breaks="mlp_param_count",
        hint="wrong_values",
    ),
    Variant(
        "mutant_dense_xor_power",
        {"dense_image_weights": "def dense_image_weights(side):\n    return side ^ 4\n"},
        breaks="dense_image_weights",
        hint="xor_power",
        demo=True,
    ),
    Variant(
        "mutant_dense_side_squared",
        {"dense_image_weights": "def dense_image_weights(side):\n    return side**2\n"},
        breaks="dense_image_weights",
        hint="wrong_values",
    ),
    Variant(
        "mutant_memory_gib_not_gb",
        {
            "weights_memory_gb": (
                "def weights_memory_gb(n_params, bytes_per_param=4):\n    return n_params * bytes_per_param / 2**30\n"
            )
        },
        breaks="weights_memory_gb",
        hint="gib_not_gb",
    ),
    Variant(
        "mutant_memory_bytes_ignored",
        {"weights_memory_gb": "def weights_memory_gb(n_params, bytes_per_param=4):\n    return n_params / 1e9\n"},
        breaks="weights_memory_gb",
        hint="bytes_ignored",
    ),
    Variant(
        "mutant_memory_always_4_bytes",
        {"weights_memory_gb": "def weights_memory_gb(n_params, bytes_per_param=4):\n    return n_params * 4 / 1e9\n"},
        breaks="weights_memory_gb",
        hint="wrong_values",
        score=0.5,
    ),
    Variant(
        "mutant_count_frozen",
        {
            "count_trainable_params": "def count_trainable_params(model):\n"
            "    return sum(p.numel() for p in model.parameters())\n"
        },
        breaks="count_trainable_params",
        hint="counts_frozen",
        score=1.4,
    ),
    Variant(
        "mutant_count_state_dict",
        {
            "count_trainable_params": "def count_trainable_params(model):\n"
            "    return sum(v.numel() for v in model.state_dict().values())\n"
        },
        breaks="count_trainable_params",
        hint="counts_buffers",
        score=0.6,
    ),
    Variant(
        "mutant_count_tied_twice",
        {
            "count_trainable_params": (
                "def count_trainable_params(model):\n"
                "    total = 0\n"
                "    for module in model.modules():\n"
                "        for p in module.parameters(recurse=False):  # a weight tied across modules counts twice\n"
                "            if p.requires_grad:\n"
                "                total += p.numel()\n"
                "    return total\n"
            )
        },
        breaks="count_trainable_params",
        hint="counts_shared_twice",
        score=1.2,
    ),
    Variant(
        "mutant_summary_all_modules",
        {
            "layer_summary": (
                "def layer_summary(model, input_shape):\n"
                "    rows, hooks = [], []\n"
                "\n"
                "    def record(module, inputs, output):\n"
                "        own = sum(p.numel() for p in module.parameters(recurse=False))\n"
                "        rows.append((type(module).__name__, tuple(output.shape), own))\n"
                "\n"
                "    for module in model.modules():  # containers too\n"
                "        hooks.append(module.register_forward_hook(record))\n"
                "    with torch.no_grad():\n"
                "        model(torch.zeros(input_shape, device=next(model.parameters()).device))\n"
                "    for hook in hooks:\n"
                "        hook.remove()\n"
                "    return rows\n"
            )
        },
        breaks="layer_summary",
        hint="summary_rows",
    ),
    Variant(
        "mutant_summary_children_recursive",
        {
            "layer_summary": (
                "def layer_summary(model, input_shape):\n"
                "    rows, hooks = [], []\n"
                "\n"
                "    def record(module, inputs, output):\n"
                "        params = sum(p.numel() for p in module.parameters())  # recursive\n"
                "        rows.append((type(module).__name__, tuple(output.shape), params))\n"
                "\n"
                "    for module in model.children():  # only the top level: nested blocks count as one row\n"
                "        hooks.append(module.register_forward_hook(record))\n"
                "    with torch.no_grad():\n"
                "        model(torch.zeros(input_shape, device=next(model.parameters()).device))\n"
                "    for hook in hooks:\n"
                "        hook.remove()\n"
                "    return rows\n"
            )
        },
        breaks="layer_summary",
        hint="summary_rows",
        score=1.4286,
    ),
    Variant(
        "mutant_summary_zeros_on_cpu",
        edit_reference(
            "02_tensors",
            "layer_summary",
            ("model(torch.zeros(input_shape, device=device))", "model(torch.zeros(input_shape))"),
        ),
        breaks="layer_summary",
        hint="summary_device",
        score=1.7143,
    ),
    Variant(
        "mutant_summary_input_shape",
        {
            "layer_summary": (
                "def layer_summary(model, input_shape):\n"
                "    rows, hooks = [], []\n"
                "\n"
                "    def record(module, inputs, output):\n"
                "        own = sum(p.numel() for p in module.parameters(recurse=False))\n"
                "        rows.append((type(module).__name__, tuple(inputs[0].shape), own))  # the input's shape\n"
                "\n"
                "    for module in model.modules():\n"
                "        if len(list(module.children())) == 0:\n"
                "            hooks.append(module.register_forward_hook(record))\n"
                "    with torch.no_grad():\n"
                "        model(torch.zeros(input_shape, device=next(model.parameters()).device))\n"
                "    for hook in hooks:\n"
                "        hook.remove()\n"
                "    return rows\n"
            )
        },
        breaks="layer_summary",
        hint="summary_wrong",
    ),
    Variant(
        "mutant_iris_relu",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    return nn.Sequential(nn.Linear(4, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 3))\n"
            )
        },
        breaks="build_iris_mlp",
        hint="iris_activation",
        score=1.0,
    ),
    Variant(
        "mutant_iris_softmax",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    return nn.Sequential(nn.Linear(4, 20), nn.Tanh(), nn.Linear(20, 10), nn.Tanh(), nn.Linear(10, 3),\n"
                "                         nn.Softmax(dim=1))\n"
            )
        },
        breaks="build_iris_mlp",
        hint="double_softmax",
        score=1.0,
    ),
    Variant(
        "mutant_iris_no_biases",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    return nn.Sequential(nn.Linear(4, 20, bias=False), nn.Tanh(),\n"
                "                         nn.Linear(20, 10, bias=False), nn.Tanh(),\n"
                "                         nn.Linear(10, 3, bias=False))\n"
            )
        },
        breaks="build_iris_mlp",
        hint="iris_params",
        score=1.0,
    ),
    Variant(
        "mutant_iris_sizes_swapped",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    return nn.Sequential(nn.Linear(4, 10), nn.Tanh(), nn.Linear(10, 20), nn.Tanh(), nn.Linear(20, 3))\n"
            )
        },
        breaks="build_iris_mlp",
        hint="iris_params",
        score=1.0,
    ),
    Variant(
        "mutant_iris_no_activation",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    return nn.Sequential(nn.Linear(4, 20), nn.Linear(20, 10), nn.Linear(10, 3))\n"
            )
        },
        breaks="build_iris_mlp",
        hint="iris_activation",
        score=1.0,
    ),
    # ------------------------------------------------------------------ DENSE_IMAGE_GB (the default
    # numbers, LADO = 224 in float32; a fixed number that only fits them: tests/test_personal.py)
    Variant(
        "mutant_image_gb_side_squared",
        {"DENSE_IMAGE_GB": "DENSE_IMAGE_GB = LADO**2 * BYTES_POR_PESO / 1e9\n"},
        breaks="DENSE_IMAGE_GB",
        hint="image_side_squared",
    ),
    Variant(
        "mutant_image_gb_gib",
        {"DENSE_IMAGE_GB": "DENSE_IMAGE_GB = LADO**4 * BYTES_POR_PESO / 2**30\n"},
        breaks="DENSE_IMAGE_GB",
        hint="gib_not_gb",
    ),
    Variant(
        "mutant_image_gb_bytes_ignored",
        {"DENSE_IMAGE_GB": "DENSE_IMAGE_GB = LADO**4 / 1e9\n"},
        breaks="DENSE_IMAGE_GB",
        hint="bytes_ignored",
    ),
    Variant(
        "mutant_image_gb_weights_not_gb",  # the number of weights, not their size
        {"DENSE_IMAGE_GB": "DENSE_IMAGE_GB = LADO**4\n"},
        breaks="DENSE_IMAGE_GB",
        hint="image_gb_wrong",
    ),
]

ALTERNATIVES = [
    Variant(
        "alt_image_gb_own_functions",
        {"DENSE_IMAGE_GB": "DENSE_IMAGE_GB = weights_memory_gb(dense_image_weights(LADO), BYTES_POR_PESO)\n"},
    ),
    Variant(
        "alt_image_gb_float32_tensor",
        {"DENSE_IMAGE_GB": "DENSE_IMAGE_GB = torch.tensor(float(LADO)) ** 4 * BYTES_POR_PESO / 1e9\n"},
    ),
    Variant(
        "alt_image_gb_meta_layer",
        {
            "DENSE_IMAGE_GB": (
                "camada = nn.Linear(LADO * LADO, LADO * LADO, bias=False, device='meta')\n"
                "DENSE_IMAGE_GB = camada.weight.numel() * BYTES_POR_PESO / 10**9\n"
            )
        },
    ),
    # ------------------------------------------------------------------ tensors
    Variant(
        "alt_make_tensors_factories",
        {
            "make_tensors": (
                "def make_tensors():\n"
                "    return torch.tensor(3), torch.ones(2), torch.eye(2), torch.arange(16.0).reshape(4, 2, 2)\n"
            )
        },
    ),
    Variant("alt_flatten_1", {"flatten_batch": "def flatten_batch(x):\n    return x.flatten(1)\n"}),
    Variant(
        "alt_flatten_torch_start_dim",
        {"flatten_batch": "def flatten_batch(x):\n    return torch.flatten(x, start_dim=1)\n"},
    ),
    Variant(
        "alt_flatten_contiguous_view",
        {"flatten_batch": "def flatten_batch(x):\n    return x.contiguous().view(x.size(0), -1)\n"},
    ),
    Variant(
        "alt_flatten_reshape_prod",
        {
            "flatten_batch": (
                "import math\n\n\ndef flatten_batch(x):\n    return x.reshape(x.shape[0], math.prod(x.shape[1:]))\n"
            )
        },
    ),
    Variant(
        "alt_standardize_manual_where",
        {
            "standardize": (
                "def standardize(x):\n"
                "    n = x.shape[0]\n"
                "    mean = x.sum(dim=0) / n\n"
                "    std = (((x - mean) ** 2).sum(dim=0) / n).sqrt()\n"
                "    return torch.where(std == 0, torch.zeros_like(x), (x - mean) / std)\n"
            )
        },
    ),
    Variant(
        "alt_standardize_std_zero_to_one",
        {
            "standardize": (
                "def standardize(x):\n"
                "    std = x.std(0, correction=0)\n"
                "    std[std == 0] = 1  # a constant column is all zeros after centering anyway\n"
                "    return (x - x.mean(0)) / std\n"
            )
        },
    ),
    Variant(
        "alt_standardize_var_mean_clamp",
        {
            "standardize": (
                "def standardize(x):\n"
                "    var, mean = torch.var_mean(x, dim=0, correction=0)\n"
                "    std = var.sqrt()\n"
                "    return (x - mean) / std.clamp_min(torch.finfo(x.dtype).tiny) * (std > 0)\n"
            )
        },
    ),
    Variant(
        "alt_one_hot_scatter",
        {
            "one_hot": (
                "def one_hot(labels, num_classes):\n"
                "    out = torch.zeros(len(labels), num_classes, device=labels.device)\n"
                "    return out.scatter_(1, labels.unsqueeze(1), 1.0)\n"
            )
        },
    ),
    Variant(
        "alt_one_hot_eye_index",
        {
            "one_hot": (
                "def one_hot(labels, num_classes):\n    return torch.eye(num_classes, device=labels.device)[labels]\n"
            )
        },
    ),
    Variant(
        "alt_one_hot_advanced_indexing",
        {
            "one_hot": (
                "def one_hot(labels, num_classes):\n"
                "    out = torch.zeros(labels.shape[0], num_classes, device=labels.device)\n"
                "    out[torch.arange(len(labels)), labels] = 1\n"
                "    return out\n"
            )
        },
    ),
    Variant(
        "alt_linear_F_linear",
        {"linear_forward": "def linear_forward(x, weight, bias=None):\n    return F.linear(x, weight, bias)\n"},
    ),
    Variant(
        "alt_linear_addmm",
        {
            "linear_forward": (
                "def linear_forward(x, weight, bias=None):\n"
                "    if bias is None:\n"
                "        return torch.matmul(x, weight.t())\n"
                "    return torch.addmm(bias, x, weight.t())\n"
            )
        },
    ),
    Variant(
        "alt_pairwise_cdist_squared",
        {"pairwise_sq_distances": "def pairwise_sq_distances(a, b):\n    return torch.cdist(a, b) ** 2\n"},
    ),
    Variant(
        "alt_pairwise_expansion",
        {
            "pairwise_sq_distances": (
                "def pairwise_sq_distances(a, b):\n"
                "    sq = (a**2).sum(dim=1, keepdim=True) + (b**2).sum(dim=1) - 2 * a @ b.T\n"
                "    return sq.clamp(min=0)\n"
            )
        },
    ),
    Variant(
        "alt_to_device_comprehensions",
        {
            "to_device": (
                "def to_device(obj, device):\n"
                "    if torch.is_tensor(obj):\n"
                "        return obj.to(device)\n"
                "    if isinstance(obj, dict):\n"
                "        return {key: to_device(value, device) for key, value in obj.items()}\n"
                "    if isinstance(obj, list):\n"
                "        return [to_device(item, device) for item in obj]\n"
                "    if isinstance(obj, tuple):\n"
                "        return tuple(to_device(item, device) for item in obj)\n"
                "    return obj\n"
            )
        },
    ),
    Variant(
        "alt_to_device_abc",
        {
            "to_device": (
                "from collections.abc import Mapping, Sequence\n\n\n"
                "def to_device(obj, device):\n"
                "    if torch.is_tensor(obj):\n"
                "        return obj.to(device=device)\n"
                "    if isinstance(obj, Mapping):\n"
                "        return type(obj)({k: to_device(v, device) for k, v in obj.items()})\n"
                "    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):\n"
                "        return type(obj)(to_device(v, device) for v in obj)\n"
                "    return obj\n"
            )
        },
    ),
    Variant(
        "alt_to_device_pytree",
        {
            "to_device": (
                "from torch.utils._pytree import tree_map\n\n\n"
                "def to_device(obj, device):\n"
                "    return tree_map(lambda x: x.to(device) if isinstance(x, torch.Tensor) else x, obj)\n"
            )
        },
    ),
    Variant(
        "alt_to_device_copy_then_fill",
        {
            "to_device": (
                "import copy\n\n\n"
                "def to_device(obj, device):\n"
                "    # a deep copy first, then the copy is filled in place: the caller's containers stay as they were\n"
                "    def fill(x):\n"
                "        if isinstance(x, torch.Tensor):\n"
                "            return x.to(device)\n"
                "        if isinstance(x, dict):\n"
                "            for k in x:\n"
                "                x[k] = fill(x[k])\n"
                "            return x\n"
                "        if isinstance(x, list):\n"
                "            for i, item in enumerate(x):\n"
                "                x[i] = fill(item)\n"
                "            return x\n"
                "        if isinstance(x, tuple):\n"
                "            return tuple(fill(item) for item in x)\n"
                "        return x\n"
                "    return fill(copy.deepcopy(obj))\n"
            )
        },
    ),
    # ------------------------------------------------------------------ graphs
    Variant(
        "alt_graph_forward_expanded",
        {"graph_forward": "def graph_forward(a, b, c, d):\n    return torch.mul(a + b, c - d)\n"},
    ),
    Variant(
        "alt_gradients_autograd_grad",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    leaves = [torch.tensor(float(v), requires_grad=True) for v in (a, b, c, d)]\n"
                "    z = graph_forward(*leaves)\n"
                "    grads = torch.autograd.grad(z, leaves)\n"
                "    return tuple(g.item() for g in grads)\n"
            )
        },
    ),
    Variant(
        "alt_gradients_torch_func",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    args = tuple(torch.tensor(float(v)) for v in (a, b, c, d))\n"
                "    grads = torch.func.grad(graph_forward, argnums=(0, 1, 2, 3))(*args)\n"
                "    return tuple(float(g) for g in grads)\n"
            )
        },
    ),
    Variant(
        "alt_gradients_float32_list",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    t = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in (a, b, c, d)]\n"
                "    graph_forward(*t).backward()\n"
                "    return [x.grad.item() for x in t]\n"
            )
        },
    ),
    Variant(
        "alt_gradients_0d_tensors",
        {
            "graph_gradients": (
                "def graph_gradients(a, b, c, d):\n"
                "    a, b, c, d = (torch.tensor(v, dtype=torch.float64).requires_grad_() for v in (a, b, c, d))\n"
                "    z = (a + b) * (c - d)\n"
                "    z.backward()\n"
                "    return a.grad, b.grad, c.grad, d.grad\n"
            )
        },
    ),
    # ------------------------------------------------------------------ counting
    Variant(
        "alt_linear_count_numpy_int",
        {
            "linear_param_count": (
                "import numpy as np\n\n\n"
                "def linear_param_count(n_in, n_out, bias=True):\n"
                "    return np.int64(n_in) * n_out + (n_out if bias else 0)\n"
            )
        },
    ),
    Variant(
        "alt_mlp_count_0d_tensor",
        {
            "mlp_param_count": (
                "def mlp_param_count(sizes, bias=True):\n"
                "    s = torch.tensor(sizes)\n"
                "    return (s[:-1] * s[1:]).sum() + (s[1:].sum() if bias else 0)\n"
            )
        },
    ),
    Variant(
        "alt_mlp_count_numpy",
        {
            "mlp_param_count": (
                "import numpy as np\n\n\n"
                "def mlp_param_count(sizes, bias=True):\n"
                "    s = np.array(sizes)\n"
                "    return np.sum(s[:-1] * s[1:]) + (np.sum(s[1:]) if bias else 0)\n"
            )
        },
    ),
    Variant(
        "alt_dense_float_pow",
        {"dense_image_weights": "import math\n\n\ndef dense_image_weights(side):\n    return math.pow(side, 4)\n"},
    ),
    Variant(
        "alt_memory_numpy_float",
        {
            "weights_memory_gb": (
                "import numpy as np\n\n\n"
                "def weights_memory_gb(n_params, bytes_per_param=4):\n"
                "    return np.float64(n_params) * bytes_per_param * 1e-9\n"
            )
        },
    ),
    Variant(
        "alt_count_trainable_set_of_ids",
        {
            "count_trainable_params": (
                "def count_trainable_params(model):\n"
                "    seen, total = set(), 0\n"
                "    for module in model.modules():\n"
                "        for p in module.parameters(recurse=False):\n"
                "            if p.requires_grad and id(p) not in seen:\n"
                "                seen.add(id(p))\n"
                "                total += p.numel()\n"
                "    return total\n"
            )
        },
    ),
    Variant(
        "alt_count_trainable_0d_tensor",
        {
            "count_trainable_params": (
                "def count_trainable_params(model):\n"
                "    sizes = [p.numel() for p in model.parameters() if p.requires_grad]\n"
                "    return torch.tensor(sizes).sum()\n"
            )
        },
    ),
    Variant(
        "alt_summary_named_modules",
        {
            "layer_summary": (
                "def layer_summary(model, input_shape):\n"
                "    rows = []\n"
                "    hooks = []\n"
                "    for name, module in model.named_modules():\n"
                "        if next(module.children(), None) is None:\n"
                "            def hook(m, inp, out):\n"
                "                rows.append((m.__class__.__name__, tuple(out.shape),\n"
                "                             sum(p.numel() for p in m.parameters(recurse=False))))\n"
                "            hooks.append(module.register_forward_hook(hook))\n"
                "    model.eval()\n"
                "    with torch.inference_mode():\n"
                "        model(torch.zeros(*input_shape).to(next(model.parameters()).device))\n"
                "    for h in hooks:\n"
                "        h.remove()\n"
                "    return rows\n"
            )
        },
    ),
    Variant(
        "alt_summary_shape_list",
        {
            "layer_summary": (
                "def layer_summary(model, input_shape):\n"
                "    rows = []\n"
                "    leaves = [m for m in model.modules() if not list(m.children())]\n"
                "    hooks = [m.register_forward_hook(\n"
                "        lambda m, i, o: rows.append([type(m).__name__, list(o.shape),\n"
                "                                     sum(p.numel() for p in m.parameters(recurse=False))]))\n"
                "        for m in leaves]\n"
                "    try:\n"
                "        model(torch.zeros(input_shape, device=next(model.parameters()).device))\n"
                "    finally:\n"
                "        for h in hooks:\n"
                "            h.remove()\n"
                "    return rows\n"
            )
        },
    ),
    Variant(
        "alt_iris_subclass_torch_tanh",
        {
            "build_iris_mlp": (
                "class IrisMLP(nn.Module):\n"
                "    def __init__(self):\n"
                "        super().__init__()\n"
                "        self.fc1 = nn.Linear(4, 20)\n"
                "        self.fc2 = nn.Linear(20, 10)\n"
                "        self.out = nn.Linear(10, 3)\n"
                "\n"
                "    def forward(self, x):\n"
                "        x = torch.tanh(self.fc1(x))\n"
                "        x = torch.tanh(self.fc2(x))\n"
                "        return self.out(x)\n"
                "\n"
                "\n"
                "def build_iris_mlp():\n"
                "    return IrisMLP()\n"
            )
        },
    ),
    Variant(
        "alt_iris_subclass_F_tanh",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    class Net(nn.Module):\n"
                "        def __init__(self):\n"
                "            super().__init__()\n"
                "            self.hidden = nn.ModuleList([nn.Linear(4, 20), nn.Linear(20, 10)])\n"
                "            self.head = nn.Linear(10, 3)\n"
                "\n"
                "        def forward(self, x):\n"
                "            for layer in self.hidden:\n"
                "                x = F.tanh(layer(x))\n"
                "            return self.head(x)\n"
                "\n"
                "    return Net()\n"
            )
        },
    ),
    Variant(
        "alt_iris_ordered_dict",
        {
            "build_iris_mlp": (
                "from collections import OrderedDict\n\n\n"
                "def build_iris_mlp():\n"
                "    return nn.Sequential(OrderedDict([\n"
                '        ("hidden1", nn.Linear(4, 20)), ("act1", nn.Tanh()),\n'
                '        ("hidden2", nn.Linear(20, 10)), ("act2", nn.Tanh()),\n'
                '        ("logits", nn.Linear(10, 3)),\n'
                "    ]))\n"
            )
        },
    ),
]

VARIANTS = MUTANTS + ALTERNATIVES

# Added with the grader fixes they needed (non-contiguous inputs, torch.Size, integer leaves).
VARIANTS += [
    Variant(
        "mutant_flatten_view",
        {"flatten_batch": "def flatten_batch(x):\n    return x.view(x.shape[0], -1)\n"},
        breaks="flatten_batch",
        hint="view_non_contiguous",
        score=0.25,  # the public example is contiguous
    ),
    Variant(
        "mutant_graph_gradients_integer_leaves",
        {
            "graph_gradients": "def graph_gradients(a, b, c, d):\n"
            "    leaves = [torch.tensor(v, requires_grad=True) for v in (a, b, c, d)]\n"
            "    z = graph_forward(*leaves)\n    z.backward()\n"
            "    return tuple(leaf.grad.item() for leaf in leaves)\n"
        },
        breaks="graph_gradients",
        hint="integer_requires_grad",
        score=1.0,
    ),
    Variant(
        "alt_layer_summary_torch_size",
        {
            "layer_summary": "import numpy as np\n\n\ndef layer_summary(model, input_shape):\n    rows = []\n\n"
            "    def hook(module, inputs, output):\n"
            "        own = np.sum([p.numel() for p in module.parameters(recurse=False)], dtype=np.int64)\n"
            "        rows.append((type(module).__name__, output.shape, own))\n\n"
            "    leaves = [m for m in model.modules() if not list(m.children())]\n"
            "    handles = [m.register_forward_hook(hook) for m in leaves]\n"
            "    device = next(iter(model.state_dict().values())).device\n"
            "    with torch.no_grad():\n        model(torch.zeros(input_shape, device=device))\n"
            "    for h in handles:\n        h.remove()\n    return rows\n"
        },
    ),
]

# Inputs and models the student never imagined (edge columns for standardize, parameters on the
# root module, distinct parameters with equal values) and outputs that are probabilities where
# logits are asked. `nan_to_num(z, nan=0.0)` was an alternative until the grader's inputs had a
# constant column whose float mean is inexact: with a float std of exactly 0 it gives ±max float.
VARIANTS += [
    Variant(
        "mutant_iris_softmax_in_forward",
        {
            "build_iris_mlp": (
                "class IrisMLP(nn.Module):\n"
                "    def __init__(self):\n"
                "        super().__init__()\n"
                "        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 20), nn.Linear(20, 10), nn.Linear(10, 3)\n"
                "\n"
                "    def forward(self, x):\n"
                "        x = torch.tanh(self.fc2(torch.tanh(self.fc1(x))))\n"
                "        return F.softmax(self.fc3(x), dim=-1)  # probabilities, not logits\n"
                "\n"
                "\n"
                "def build_iris_mlp():\n"
                "    return IrisMLP()\n"
            )
        },
        breaks="build_iris_mlp",
        hint="double_softmax",
        score=1.0,  # the public check looks at shapes only
    ),
    Variant(
        "alt_iris_log_softmax",
        {
            "build_iris_mlp": (
                "def build_iris_mlp():\n"
                "    # log-probabilities are logits too: softmax, arg-max and CrossEntropyLoss give the same\n"
                "    return nn.Sequential(nn.Linear(4, 20), nn.Tanh(), nn.Linear(20, 10), nn.Tanh(), nn.Linear(10, 3),\n"
                "                         nn.LogSoftmax(dim=1))\n"
            )
        },
    ),
    Variant(
        "mutant_standardize_nan_to_num",
        {
            "standardize": (
                "def standardize(x):\n"
                "    z = (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)\n"
                "    return torch.nan_to_num(z, nan=0.0)  # only 0/0: a residue over a zero std stays ±inf (±max)\n"
            )
        },
        breaks="standardize",
        hint="constant_column",
        score=0.6667,
    ),
    Variant(
        "mutant_standardize_epsilon",
        {
            "standardize": (
                "def standardize(x):\n    return (x - x.mean(dim=0)) / (x.std(dim=0, correction=0) + 1e-8)\n"
            )
        },
        breaks="standardize",
        hint="std_epsilon",
        score=0.6667,
    ),
    Variant(
        "mutant_standardize_naive_variance",
        {
            "standardize": (
                "def standardize(x):\n"
                "    mean = x.mean(dim=0)\n"
                "    std = ((x ** 2).mean(dim=0) - mean ** 2).clamp_min(0).sqrt()  # E[x²] - E[x]²\n"
                "    return torch.where(std > 0, (x - mean) / torch.where(std > 0, std, torch.ones_like(std)),\n"
                "                       torch.zeros_like(x))\n"
            )
        },
        breaks="standardize",
        hint="naive_variance",
        score=0.6667,
    ),
    Variant(
        "mutant_count_children_only",
        {
            "count_trainable_params": (
                "def count_trainable_params(model):\n"
                "    unicos = {}\n"
                "    for filho in model.children():  # the root's own parameters are in no child\n"
                "        for p in filho.parameters():\n"
                "            unicos[id(p)] = p\n"
                "    return sum(p.numel() for p in unicos.values() if p.requires_grad)\n"
            )
        },
        breaks="count_trainable_params",
        hint="root_parameters",
        score=1.4,
    ),
    Variant(
        "mutant_count_dedup_by_value",
        {
            "count_trainable_params": (
                "def count_trainable_params(model):\n"
                "    vistos, total = [], 0\n"
                "    for p in model.parameters():\n"
                "        # 'shared' read as 'equal values': two distinct layers that start alike count once\n"
                "        if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in vistos):\n"
                "            vistos.append(p)\n"
                "            total += p.numel()\n"
                "    return total\n"
            )
        },
        breaks="count_trainable_params",
        hint="dedup_by_value",
        score=1.4,
    ),
]
