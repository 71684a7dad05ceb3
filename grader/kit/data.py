"""The course's datasets, made offline and reproducibly (importable from notebooks and graders).

    from grader.kit.data import make_signals, digits_split
    X, y = make_signals(600, seed=0)                # (600, 1, 128) float32, (600,) int64
    X_train, y_train, X_test, y_test = digits_split()  # (N, 1, 8, 8) float32 in [0, 1]

`make_signals` draws noisy waveforms of three classes (0: seno, 1: quadrada, 2: dente de
serra) with a random frequency, phase and amplitude each; a seed fixes the draw. The
graders evaluate a student's signal model on signals drawn with their own seed.
`digits_split` is scikit-learn's bundled digits (no download) with the course's fixed,
stratified test split.
"""

from __future__ import annotations

import math

import torch

SIGNAL_LENGTH = 128
SIGNAL_CLASSES = ("seno", "quadrada", "dente de serra")


def make_signals(n: int, seed: int = 0, noise: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` signals (n, 1, 128) float32 and their classes (n,) int64, drawn from `seed`."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, len(SIGNAL_CLASSES), (n,), generator=g)
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


def digits_split(test_fraction: float = 0.25, seed: int = 0):
    """scikit-learn's digits as (N, 1, 8, 8) float32 in [0, 1] (pixel / 16), int64 labels,
    split into (X_train, y_train, X_test, y_test), stratified; the defaults are the course's
    fixed split (1347 training and 450 test images)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction, stratify=y,
                                                        random_state=seed)

    def images(a):
        return torch.tensor(a, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16

    return images(X_train), torch.tensor(y_train), images(X_test), torch.tensor(y_test)
