"""Mutants and alternatives of the 04_cnn reference (see grader/variants.py).

Mutants are edits of the reference solution in source/ (`edit` fails when the text it
replaces is not there) modelling ../../../../shared/research/common-mistakes.md §11-13;
alternatives are correct solutions the contract (CATALOG.md, 04_cnn) must accept.
Partial scores (`score`) count the tests of a CPU-only grading machine.
"""

from __future__ import annotations

from functools import partial

from grader.variants import Variant, edit_reference

edit = partial(edit_reference, "04_cnn")

CONV_RETURN = "return (size + 2 * padding - kernel_efetivo) // stride + 1"
POOL_RETURN = "return (size + 2 * padding - kernel_size) // stride + 1"
SHAPE_SIDE = "(LADO + 2 * PADDING - KERNEL) // STRIDE + 1"


def conv_shape(side: str, shape: str = "(8, FILTROS, lado, lado)") -> dict[str, str]:
    """CONV_OUTPUT_SHAPE's cell as a student may write it: the side first, then the shape."""
    return {"CONV_OUTPUT_SHAPE": f"lado = {side}\nCONV_OUTPUT_SHAPE = {shape}\n"}


COUNT_RETURN = "return out_channels * in_channels * kh * kw + (out_channels if bias else 0)"

MUTANTS = [
    # ------------------------------------------------------------------ sizes and counts
    Variant(
        "mutant_conv_missing_plus_one",
        edit("conv_output_size", (CONV_RETURN, "return (size + 2 * padding - kernel_efetivo) // stride")),
        breaks="conv_output_size",
        hint="missing_plus_one",
        demo=True,
    ),
    Variant(
        "mutant_conv_float_division",
        edit("conv_output_size", (CONV_RETURN, "return (size + 2 * padding - kernel_efetivo) / stride + 1")),
        breaks="conv_output_size",
        hint="float_division",
    ),
    Variant(
        "mutant_conv_padding_once",
        edit("conv_output_size", (CONV_RETURN, "return (size + padding - kernel_efetivo) // stride + 1")),
        breaks="conv_output_size",
        hint="padding_once",
    ),
    Variant(
        "mutant_conv_dilation_ignored",
        edit("conv_output_size", ("kernel_efetivo = dilation * (kernel_size - 1) + 1", "kernel_efetivo = kernel_size")),
        breaks="conv_output_size",
        hint="dilation_ignored",
    ),
    Variant(
        "mutant_pool_default_stride_one",
        edit("pool_output_size", ("        stride = kernel_size", "        stride = 1")),
        breaks="pool_output_size",
        hint="pool_default_stride",
    ),
    Variant(
        "mutant_pool_ceil",
        edit("pool_output_size", (POOL_RETURN, "return math.ceil((size + 2 * padding - kernel_size) / stride) + 1")),
        breaks="pool_output_size",
        hint="pool_ceil",
    ),
    Variant(
        "mutant_shape_input_channels",
        edit(
            "conv2d_output_shape",
            ("n, _, h, w = input_shape", "n, c, h, w = input_shape"),
            ("return (n, out_channels,", "return (n, c,"),
        ),
        breaks="conv2d_output_shape",
        hint="out_channels",
    ),
    Variant(
        "mutant_shape_first_of_pair",
        edit(
            "conv2d_output_shape",
            (
                "return tuple(valor) if isinstance(valor, (tuple, list)) else (valor, valor)",
                "return (valor[0], valor[0]) if isinstance(valor, (tuple, list)) else (valor, valor)",
            ),
        ),
        breaks="conv2d_output_shape",
        hint="pair_arguments",
        score=1.0,
    ),
    Variant(
        "mutant_count_forgot_bias",
        edit("conv2d_param_count", (COUNT_RETURN, "return out_channels * in_channels * kh * kw")),
        breaks="conv2d_param_count",
        hint="forgot_bias",
    ),
    Variant(
        "mutant_count_bias_flag_ignored",
        edit("conv2d_param_count", (COUNT_RETURN, "return out_channels * in_channels * kh * kw + out_channels")),
        breaks="conv2d_param_count",
        hint="bias_flag",
        score=0.5,
    ),
    Variant(
        "mutant_count_no_input_channels",
        edit("conv2d_param_count", (COUNT_RETURN, "return out_channels * kh * kw + (out_channels if bias else 0)")),
        breaks="conv2d_param_count",
        hint="per_input_channel",
    ),
    Variant(
        "mutant_count_square_kernel",
        edit(
            "conv2d_param_count",
            (
                "kh, kw = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)",
                "kh = kw = kernel_size[0] if isinstance(kernel_size, (tuple, list)) else kernel_size",
            ),
        ),
        breaks="conv2d_param_count",
        hint="pair_kernel",
        score=0.5,
    ),
    # ------------------------------------------------------------------ conv2d_naive
    Variant(
        "mutant_naive_flipped_kernel",
        edit("conv2d_naive", ("janelas, weight)", "janelas, weight.flip(2, 3))")),
        breaks="conv2d_naive",
        hint="kernel_flipped",
    ),
    Variant(
        "mutant_naive_bias_ignored",
        edit("conv2d_naive", ("    if bias is not None:\n        out = out + bias.view(1, out_channels, 1, 1)\n", "")),
        breaks="conv2d_naive",
        hint="naive_bias",
        score=1.5,
    ),
    Variant(
        "mutant_naive_padding_one_side",
        edit("conv2d_naive", ("F.pad(x, (padding, padding, padding, padding))", "F.pad(x, (padding, 0, padding, 0))")),
        breaks="conv2d_naive",
        hint="naive_stride_padding",
        score=1.5,
    ),
    Variant(
        "mutant_naive_uses_f_conv2d",
        {
            "conv2d_naive": (
                "def conv2d_naive(x, weight, bias=None, stride=1, padding=0):\n"
                "    return F.conv2d(x, weight, bias, stride, padding)\n"
            )
        },
        breaks="conv2d_naive",
        hint="conv_operator_used",
        score=2.25,
    ),
    Variant(
        "mutant_naive_convolution_by_another_name",
        {
            "conv2d_naive": (
                "def conv2d_naive(x, weight, bias=None, stride=1, padding=0):\n"
                "    kernel = getattr(torch._C._VariableFunctions, 'con' + 'v2d')  # no forbidden name in sight\n"
                "    return kernel(x, weight, bias, stride, padding)\n"
            )
        },
        breaks="conv2d_naive",
        hint="conv_operator_used",
        score=2.25,
    ),
    # ------------------------------------------------------------------ ConvBlock
    Variant(
        "mutant_block_relu_before_bn",
        edit(
            "ConvBlock",
            (
                "return self.pool(self.relu(self.bn(self.conv(x))))",
                "return self.pool(self.bn(self.relu(self.conv(x))))",
            ),
        ),
        breaks="ConvBlock",
        hint="block_order",
        score=2.0,
        demo=True,
    ),
    Variant(
        "mutant_block_no_padding",
        edit("ConvBlock", ("kernel_size=3, padding=1)", "kernel_size=3)")),
        breaks="ConvBlock",
        hint="block_shape",
    ),
    Variant(
        "mutant_block_bn_input_channels",
        edit("ConvBlock", ("nn.BatchNorm2d(out_channels)", "nn.BatchNorm2d(in_channels)")),
        breaks="ConvBlock",
        hint="batchnorm_size",
    ),
    Variant(
        "mutant_block_no_pool",
        edit(
            "ConvBlock",
            ("return self.pool(self.relu(self.bn(self.conv(x))))", "return self.relu(self.bn(self.conv(x)))"),
        ),
        breaks="ConvBlock",
        hint="block_shape",
    ),
    # ------------------------------------------------------------------ CNNs
    Variant(
        "mutant_signal_mlp",
        {
            "build_signal_cnn": (
                "def build_signal_cnn(n_classes=3):\n"
                "    return nn.Sequential(nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, n_classes))\n"
            )
        },
        breaks="build_signal_cnn",
        hint="no_conv1d",
    ),
    Variant(
        "mutant_signal_fixed_classes",
        edit("build_signal_cnn", ("nn.Linear(32, n_classes)", "nn.Linear(32, 3)")),
        breaks="build_signal_cnn",
        hint="logits_shape",
        score=1.3333,
    ),
    Variant(
        "mutant_signal_linear_sized_by_hand",
        edit(
            "build_signal_cnn",
            ("nn.AdaptiveAvgPool1d(1), nn.Flatten(),", "nn.Flatten(),"),
            ("nn.Linear(32, n_classes)", "nn.Linear(32 * 16, n_classes)"),
        ),
        breaks="build_signal_cnn",
        hint="shape_mismatch",
    ),
    Variant(
        "mutant_train_signal_lr_too_low",
        edit("train_signal_cnn", ("lr=0.01", "lr=1e-5")),
        breaks="train_signal_cnn",
        hint="accuracy",
    ),
    Variant(
        "mutant_train_signal_no_channel_dim",
        edit(
            "train_signal_cnn",
            (
                "    X, y = X.to(device), y.to(device)\n",
                "    X, y = X.squeeze(1).to(device), y.to(device)  # (N, 128): no channel dimension\n",
            ),
        ),
        breaks="train_signal_cnn",
        hint="channels_mismatch",
    ),
    Variant(
        "mutant_train_digits_lr_too_low",
        edit("train_digits_cnn", ("lr=0.01", "lr=1e-5")),
        breaks="train_digits_cnn",
        hint="accuracy",
        demo=True,
    ),
    Variant(
        "mutant_train_digits_mlp",
        edit(
            "train_digits_cnn",
            (
                "        ConvBlock(1, 16),  # 8x8 -> 4x4\n        ConvBlock(16, 32),  # 4x4 -> 2x2\n        nn.Flatten(),\n"
                "        nn.Linear(32 * 2 * 2, 10),\n",
                "        nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10),  # no convolution\n",
            ),
        ),
        breaks="train_digits_cnn",
        hint="no_conv2d",
    ),
    Variant(
        "mutant_train_digits_linear_sized_by_hand",
        edit("train_digits_cnn", ("nn.Linear(32 * 2 * 2, 10)", "nn.Linear(32 * 4 * 4, 10)")),
        breaks="train_digits_cnn",
        hint="shape_mismatch",
    ),
    # Training on the evaluation data: the grader blinds the test labels while the model trains.
    Variant(
        "mutant_train_digits_on_test_too",
        edit(
            "train_digits_cnn",
            (
                "    X_train, y_train, _, _ = digits_split()\n",
                "    X_train, y_train, X_test, y_test = digits_split()\n"
                "    X_train, y_train = torch.cat([X_train, X_test]), torch.cat([y_train, y_test])  # 'all the data'\n",
            ),
        ),
        breaks="train_digits_cnn",
        hint="trained_on_test",
    ),
    Variant(
        "mutant_train_digits_all_of_load_digits",
        edit(
            "train_digits_cnn",
            (
                "    X_train, y_train, _, _ = digits_split()\n",
                "    from sklearn.datasets import load_digits\n"
                "    X, y = load_digits(return_X_y=True)  # every image, the test ones too\n"
                "    X_train = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16\n"
                "    y_train = torch.tensor(y, dtype=torch.int64)\n",
            ),
        ),
        breaks="train_digits_cnn",
        hint="trained_on_test",
    ),
    # ------------------------------------------------------------------ CONV_OUTPUT_SHAPE (the default
    # numbers; a fixed shape that only fits them: tests/test_personal.py)
    Variant(
        "mutant_conv_shape_missing_plus_one",
        conv_shape("(LADO + 2 * PADDING - KERNEL) // STRIDE"),
        breaks="CONV_OUTPUT_SHAPE",
        hint="missing_plus_one",
    ),
    Variant(
        "mutant_conv_shape_true_division",
        conv_shape("(LADO + 2 * PADDING - KERNEL) / STRIDE + 1"),
        breaks="CONV_OUTPUT_SHAPE",
        hint="float_division",
    ),
    Variant(
        "mutant_conv_shape_stride_ignored",
        conv_shape("LADO + 2 * PADDING - KERNEL + 1"),
        breaks="CONV_OUTPUT_SHAPE",
        hint="stride_ignored",
    ),
    Variant(
        "mutant_conv_shape_input_channels",
        conv_shape(SHAPE_SIDE, "(8, 3, lado, lado)"),
        breaks="CONV_OUTPUT_SHAPE",
        hint="channels_not_filters",
    ),
    Variant(
        "mutant_conv_shape_no_batch",
        conv_shape(SHAPE_SIDE, "(FILTROS, lado, lado)"),
        breaks="CONV_OUTPUT_SHAPE",
        hint="constant_not_shape",
    ),
]

ALTERNATIVES = [
    Variant(
        "alt_conv_shape_list_and_floor",
        {
            "CONV_OUTPUT_SHAPE": (
                "lado = math.floor((LADO + 2 * PADDING - KERNEL) / STRIDE) + 1\n"
                "CONV_OUTPUT_SHAPE = [8, FILTROS, lado, lado]\n"
            )
        },
    ),
    Variant(
        "alt_conv_shape_measured",  # a real layer's output shape, a torch.Size
        {
            "CONV_OUTPUT_SHAPE": (
                "camada = nn.Conv2d(3, FILTROS, KERNEL, stride=STRIDE, padding=PADDING)\n"
                "CONV_OUTPUT_SHAPE = camada(torch.zeros(8, 3, LADO, LADO)).shape\n"
            )
        },
    ),
    Variant(
        "alt_conv_shape_own_function",
        {
            "CONV_OUTPUT_SHAPE": "CONV_OUTPUT_SHAPE = conv2d_output_shape((8, 3, LADO, LADO), FILTROS, KERNEL, STRIDE, PADDING)\n"
        },
    ),
    Variant(
        "alt_conv_math_floor",
        edit(
            "conv_output_size", (CONV_RETURN, "return math.floor((size + 2 * padding - kernel_efetivo) / stride) + 1")
        ),
    ),
    Variant(
        "alt_pool_int",
        {
            "pool_output_size": (
                "def pool_output_size(size, kernel_size, stride=None, padding=0):\n"
                "    stride = stride or kernel_size\n"
                "    return int((size + 2 * padding - kernel_size) / stride) + 1\n"
            )
        },
    ),
    Variant(
        "alt_shape_dummy_forward",
        {
            "conv2d_output_shape": (
                "def conv2d_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):\n"
                "    camada = nn.Conv2d(input_shape[1], out_channels, kernel_size, stride, padding, dilation)\n"
                "    with torch.no_grad():\n"
                "        return tuple(camada(torch.zeros(input_shape)).shape)  # measured with a dummy forward pass\n"
            )
        },
    ),
    Variant(
        "alt_count_numel",
        {
            "conv2d_param_count": (
                "def conv2d_param_count(in_channels, out_channels, kernel_size, bias=True):\n"
                "    return sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias).parameters())\n"
            )
        },
    ),
    Variant(
        "alt_naive_loops",
        {
            "conv2d_naive": (
                "def conv2d_naive(x, weight, bias=None, stride=1, padding=0):\n"
                "    n, c, h, w = x.shape\n"
                "    o, _, kh, kw = weight.shape\n"
                "    x = F.pad(x, (padding,) * 4)\n"
                "    oh, ow = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1\n"
                "    out = torch.zeros(n, o, oh, ow, dtype=x.dtype, device=x.device)\n"
                "    for i in range(oh):\n"
                "        for j in range(ow):\n"
                "            janela = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]\n"
                "            out[:, :, i, j] = (janela.unsqueeze(1) * weight).sum(dim=(2, 3, 4))\n"
                "    if bias is not None:\n"
                "        out += bias[None, :, None, None]\n"
                "    return out\n"
            )
        },
    ),
    Variant(
        "alt_block_sequential_same_padding",
        {
            "ConvBlock": (
                "class ConvBlock(nn.Sequential):\n"
                "    def __init__(self, in_channels, out_channels):\n"
                "        super().__init__(nn.Conv2d(in_channels, out_channels, 3, padding='same', bias=False),\n"
                "                         nn.BatchNorm2d(out_channels), nn.ReLU(), nn.MaxPool2d(2))\n"
            )
        },
    ),
    Variant(
        "alt_block_functional",
        {
            "ConvBlock": (
                "class ConvBlock(nn.Module):\n"
                "    def __init__(self, in_channels, out_channels):\n"
                "        super().__init__()\n"
                "        self.camada = nn.Conv2d(in_channels, out_channels, (3, 3), padding=(1, 1))\n"
                "        self.norma = nn.BatchNorm2d(out_channels)\n\n"
                "    def forward(self, x):\n"
                "        return F.max_pool2d(F.relu(self.norma(self.camada(x))), 2)\n"
            )
        },
    ),
    Variant(
        "alt_signal_module_lazy_linear",
        {
            "build_signal_cnn": (
                "class RedeSinais(nn.Module):\n"
                "    def __init__(self, n_classes):\n"
                "        super().__init__()\n"
                "        self.conv = nn.Sequential(nn.Conv1d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool1d(4),\n"
                "                                  nn.Conv1d(8, 16, 5, padding=2), nn.ReLU(), nn.MaxPool1d(4))\n"
                "        self.head = nn.LazyLinear(n_classes)\n\n"
                "    def forward(self, x):\n"
                "        return self.head(self.conv(x).flatten(1))\n\n\n"
                "def build_signal_cnn(n_classes=3):\n"
                "    model = RedeSinais(n_classes)\n"
                "    model(torch.zeros(2, 1, 128))  # materializes the LazyLinear\n"
                "    return model\n"
            )
        },
    ),
    Variant(
        "alt_digits_stride_conv_relu_bn",
        edit(
            "train_digits_cnn",
            (
                "        ConvBlock(1, 16),  # 8x8 -> 4x4\n        ConvBlock(16, 32),  # 4x4 -> 2x2\n        nn.Flatten(),\n"
                "        nn.Linear(32 * 2 * 2, 10),\n",
                "        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(16),  # a stride-2 conv, no pool\n"
                "        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(32),\n"
                "        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),  # global pooling\n",
            ),
        ),
    ),
    Variant(
        "alt_signal_sgd_momentum",
        edit(
            "train_signal_cnn",
            (
                "torch.optim.Adam(model.parameters(), lr=0.01)",
                "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)",
            ),
        ),
    ),
    Variant(
        "alt_train_digits_validation_from_training",
        edit(
            "train_digits_cnn",
            (
                "    X_train, y_train, _, _ = digits_split()\n",
                "    X_all, y_all, _, _ = digits_split()\n"
                "    X_train, y_train, X_val, y_val = X_all[:1200], y_all[:1200], X_all[1200:], y_all[1200:]\n",
            ),
            (
                "    model.eval()\n    return model",
                "    model.eval()\n    with torch.no_grad():\n"
                "        print('validação:', (model(X_val.to(device)).argmax(1) == y_val.to(device)).float().mean().item())\n"
                "    return model",
            ),
            ("range(10):", "range(14):"),
        ),
    ),
    Variant("alt_train_digits_more_epochs", edit("train_digits_cnn", ("range(10):", "range(25):"))),
]

VARIANTS = MUTANTS + ALTERNATIVES

# Networks asked to return logits that return probabilities (a Softmax at the end, then
# CrossEntropyLoss again): trained longer they still reach 95%, so only
# checks.logits_not_probabilities sees it. Log-probabilities are logits (LogSoftmax + NLLLoss).
DIGITS_HEAD = "        nn.Linear(32 * 2 * 2, 10),\n"
VARIANTS += [
    Variant(
        "mutant_signal_cnn_softmax",
        edit(
            "build_signal_cnn",
            ("        nn.Linear(32, n_classes),\n", "        nn.Linear(32, n_classes), nn.Softmax(dim=1),\n"),
        ),
        breaks="build_signal_cnn",
        hint="double_softmax",
    ),
    Variant(
        "mutant_train_signal_softmax",
        edit(
            "train_signal_cnn",
            (
                "    model = build_signal_cnn().to(device)\n",
                "    model = nn.Sequential(build_signal_cnn(), nn.Softmax(dim=1)).to(device)\n",
            ),
            ("range(8):\n", "range(16):  # more epochs make up for the squashed gradients: >= 95% anyway\n"),
        ),
        breaks="train_signal_cnn",
        hint="double_softmax",
    ),
    Variant(
        "mutant_train_digits_softmax",
        edit(
            "train_digits_cnn",
            (DIGITS_HEAD, DIGITS_HEAD + "        nn.Softmax(dim=1),  # probabilities, then CrossEntropyLoss again\n"),
            ("range(10):\n", "range(20):  # more epochs make up for the squashed gradients: >= 95% anyway\n"),
        ),
        breaks="train_digits_cnn",
        hint="double_softmax",
    ),
    Variant(
        "alt_train_digits_log_softmax",
        edit(
            "train_digits_cnn",
            (DIGITS_HEAD, DIGITS_HEAD + "        nn.LogSoftmax(dim=1),\n"),
            ("nn.CrossEntropyLoss()", "nn.NLLLoss()"),
        ),
    ),
]
