"""The course's datasets, made offline and reproducibly (importable from notebooks and graders).

    from grader.kit.data import make_signals, digits_split
    X, y = make_signals(600, seed=0)                # (600, 1, 128) float32, (600,) int64
    X_train, y_train, X_test, y_test = digits_split()  # (N, 1, 8, 8) float32 in [0, 1]
    X_small, y_small = small_digits()                # 06: the first 10 training images of each digit

`make_signals` draws noisy waveforms of three classes (0: seno, 1: quadrada, 2: dente de
serra) with a random frequency, phase and amplitude each; a seed fixes the draw. The
graders evaluate a student's signal model on signals drawn with their own seed.
`digits_split` is scikit-learn's bundled digits (no download) with the course's fixed,
stratified test split. While a grader trains a student's model it may blind that test
split's labels (`blind_test_labels`): a model that learned from test images then carries
labels the grader recognises.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

SIGNAL_LENGTH = 128
SIGNAL_CLASSES = ("seno", "quadrada", "dente de serra")


def make_signals(n: int, seed: int = 0, noise: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` signals (n, 1, 128) float32 and their classes (n,) int64, drawn from `seed`."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, len(SIGNAL_CLASSES), (n,), generator=g, dtype=torch.int64)
    frequency = 2 + 4 * torch.rand(n, 1, generator=g)  # cycles per window
    phase = 2 * math.pi * torch.rand(n, 1, generator=g)
    amplitude = 0.5 + torch.rand(n, 1, generator=g)
    t = torch.arange(SIGNAL_LENGTH) / SIGNAL_LENGTH
    angle = 2 * math.pi * frequency * t + phase
    sine = torch.sin(angle)
    square = torch.sign(sine)
    sawtooth = 2 * torch.remainder(angle / (2 * math.pi), 1.0) - 1
    waves = torch.stack([sine, square, sawtooth], dim=1)  # (n, 3, L)
    clean = waves[torch.arange(n), y] * amplitude
    X = clean + noise * torch.randn(n, SIGNAL_LENGTH, generator=g)
    return X.unsqueeze(1).float(), y


FIXED_SPLIT = {"test_fraction": 0.25, "seed": 0}  # the course's split: 1347 training, 450 test images
_blinded_labels: np.ndarray | None = None  # see blind_test_labels


def digits_split(test_fraction: float = 0.25, seed: int = 0):
    """scikit-learn's digits as (N, 1, 8, 8) float32 in [0, 1] (pixel / 16), int64 labels,
    split into (X_train, y_train, X_test, y_test), stratified; the defaults are the course's
    fixed split (1347 training and 450 test images)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    train, test = _split(y if _blinded_labels is None else _true_labels(), test_fraction, seed)

    def images(a):
        return torch.tensor(a, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16

    return (
        images(X[train]),
        torch.tensor(y[train], dtype=torch.int64),
        images(X[test]),
        torch.tensor(y[test], dtype=torch.int64),
    )


SMALL_PER_DIGIT = 10  # 06_regularization: 100 images, few enough for a CNN to overfit visibly


def small_digits(per_digit: int = SMALL_PER_DIGIT) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `per_digit` images of each digit in `digits_split()`'s training part (100
    by default), in that part's order: (X, y) as `digits_split` gives them. Nothing of the
    test split is in it."""
    X_train, y_train, _, _ = digits_split()
    keep = torch.zeros(len(y_train), dtype=torch.bool)
    for digit in range(10):
        keep[torch.nonzero(y_train == digit).flatten()[:per_digit]] = True
    return X_train[keep], y_train[keep]


def _split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed)


def _true_labels() -> np.ndarray:
    data, _ = _unpatched_loader()(data_file_name="digits.csv.gz", descr_file_name="digits.rst", delimiter=",")
    return data[:, -1].astype(int)


def _unpatched_loader():
    from sklearn.datasets import _base

    return getattr(_base.load_gzip_compressed_csv_data, "__wrapped__", _base.load_gzip_compressed_csv_data)


def _wrong_labels(seed: int) -> np.ndarray:
    """All 1797 digit labels, with every image of the course's fixed test split given a wrong
    one drawn from `seed`, within its half (0-4 stay 0-4, 5-9 stay 5-9: 05_transfer's task
    keeps the same images). Training images keep their labels."""
    y = _true_labels()
    _, test = _split(y, **FIXED_SPLIT)
    shift = np.random.default_rng(seed).integers(1, 5, size=len(test))
    wrong = y.copy()
    wrong[test] = (y[test] // 5) * 5 + (y[test] % 5 + shift) % 5
    return wrong


def wrong_test_labels(seed: int) -> torch.Tensor:
    """The wrong labels `blind_test_labels(seed)` gives the fixed test split, in the order of
    `digits_split()`'s y_test (int64): never the image's real digit."""
    _, test = _split(_true_labels(), **FIXED_SPLIT)
    return torch.tensor(_wrong_labels(seed)[test], dtype=torch.int64)


def blind_test_labels(seed: int):
    """For graders, while a student's training function runs: scikit-learn's digits, however
    they are loaded (`digits_split`, `target_task`, `load_digits`), carry `wrong_test_labels(seed)`,
    so a model trained on test images learns labels that only the grader can recognise. The
    split itself does not change. Returns the function that restores the real labels."""
    global _blinded_labels
    from sklearn.datasets import _base

    original = _unpatched_loader()
    wrong = _wrong_labels(seed)

    @functools.wraps(original)
    def loader(*args, **kwargs):
        data, *rest = original(*args, **kwargs)
        if kwargs.get("data_file_name", args[0] if args else None) == "digits.csv.gz":
            data = data.copy()
            data[:, -1] = wrong
        return (data, *rest)

    _base.load_gzip_compressed_csv_data = loader
    _blinded_labels = wrong

    def restore() -> None:
        global _blinded_labels
        _base.load_gzip_compressed_csv_data = original
        _blinded_labels = None

    return restore
