"""The course's pretrained CNN and its few-shot target task (05_transfer), offline.

    from grader.kit.pretrained import load_pretrained_backbone, target_task
    model = load_pretrained_backbone()               # DigitNet trained on digits 0-4, head in model.fc
    X_train, y_train, X_test, y_test = target_task()  # digits 5-9, 5 training images per class

The weights ship with the kit (`digitnet_0a4.pt`, about 130 KB); nothing is downloaded.
`python -m grader.kit.pretrained` retrains them from the seed with `pretrain()` and writes
the file; tests/test_pretrained.py proves the shipped file is what that script makes.

Why the pretraining augments (small rotations, scalings and shifts, contrast, noise): features
that survive those changes carry over to digits the network never saw. Without augmentation
the 0-4 features transfer no better than random ones, and a network trained from scratch on
the 25 target images beats fine-tuning (measured while designing 05_transfer; see the issue).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.kit.data import digits_split

WEIGHTS = Path(__file__).with_name("digitnet_0a4.pt")
SOURCE_DIGITS = (0, 1, 2, 3, 4)
TARGET_DIGITS = (5, 6, 7, 8, 9)
WIDTH = 32
FEATURES = 2 * WIDTH * 2 * 2  # the flattened feature map: 64 channels of 2x2

PRETRAIN_SEED = 0
PRETRAIN_EPOCHS = 150


class DigitNet(nn.Module):
    """A small CNN for 8x8 digits: `features` (three conv blocks, flattened) and a linear head `fc`."""

    def __init__(self, num_classes: int = len(SOURCE_DIGITS), width: int = WIDTH):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.fc = nn.Linear(2 * width * 2 * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def shipped_state() -> dict[str, torch.Tensor]:
    """The shipped weights and BatchNorm statistics (a state_dict), read without pickle."""
    return torch.load(WEIGHTS, map_location="cpu", weights_only=True)["state_dict"]


def shipped_metadata() -> dict:
    return torch.load(WEIGHTS, map_location="cpu", weights_only=True)["meta"]


def load_pretrained_backbone() -> DigitNet:
    """A fresh DigitNet with the shipped weights (trained on digits 0-4; `model.fc` has 5
    outputs), in training mode like any new module."""
    model = DigitNet()
    model.load_state_dict(shipped_state())
    return model


def target_task(shots: int = 5):
    """Digits 5-9 as a small task: (X_train, y_train, X_test, y_test), labels 0-4 (label c is
    digit c + 5). Training: the first `shots` images of each digit in `digits_split()`'s
    training part; test: every 5-9 image of its fixed test part (224 images)."""
    X_train, y_train, X_test, y_test = digits_split()
    picked = torch.cat([torch.nonzero(y_train == digit).flatten()[:shots] for digit in TARGET_DIGITS])
    test = y_test >= TARGET_DIGITS[0]
    return X_train[picked], y_train[picked] - TARGET_DIGITS[0], X_test[test], y_test[test] - TARGET_DIGITS[0]


def source_task():
    """Digits 0-4 of the fixed split, the pretraining task: (X_train, y_train, X_test, y_test)."""
    X_train, y_train, X_test, y_test = digits_split()
    train, test = y_train < len(SOURCE_DIGITS), y_test < len(SOURCE_DIGITS)
    return X_train[train], y_train[train], X_test[test], y_test[test]


def augment(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random small affine changes (rotation up to ±15°, scale ±15%, shift up to ±0.8 pixel),
    contrast in [0.7, 1.3] and Gaussian noise (0.1), clipped to [0, 1]."""
    n = len(X)
    angle = (torch.rand(n, generator=generator) - 0.5) * 2 * math.radians(15)
    scale = 1 + (torch.rand(n, generator=generator) - 0.5) * 0.3
    shift = (torch.rand(n, 2, generator=generator) - 0.5) * 0.4  # in [-1, 1] image coordinates
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = torch.cos(angle) / scale
    theta[:, 0, 1], theta[:, 1, 0] = -torch.sin(angle) / scale, torch.sin(angle) / scale
    theta[:, :, 2] = shift
    moved = F.grid_sample(X, F.affine_grid(theta, list(X.shape), align_corners=False), align_corners=False)
    contrast = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=generator)
    noise = 0.1 * torch.randn(moved.shape, generator=generator)
    return (moved * contrast + noise).clamp(0, 1)


def initial_network(seed: int = PRETRAIN_SEED) -> DigitNet:
    """The random weights pretraining starts from (a student's `torch.manual_seed(0)` then
    `DigitNet()` makes the same ones: the graders tell that apart from fine-tuning)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitNet()


def pretrain(seed: int = PRETRAIN_SEED, epochs: int = PRETRAIN_EPOCHS) -> DigitNet:
    """The shipped network's recipe: DigitNet on the augmented 0-4 training images, Adam
    (lr 3e-3, weight decay 1e-4), batches of 64. One thread, so the float sums are done in
    the same order every time (bit for bit on the same torch build and CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = initial_network(seed)
        generator = torch.Generator().manual_seed(seed)
        X, y, _, _ = source_task()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(X), generator=generator)
            for start in range(0, len(X), 64):
                batch = order[start : start + 64]
                optimizer.zero_grad()
                F.cross_entropy(model(augment(X[batch], generator)), y[batch]).backward()
                optimizer.step()
        model.train(False)  # evaluation mode, as shipped
        return model
    finally:
        torch.set_num_threads(threads)


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(X).argmax(dim=1) == y).double().mean())


def fingerprint(model: nn.Module) -> list[int]:
    """The model's predictions on the 0-4 test images: what a retrained network must match
    where bit-for-bit equality cannot hold (another torch build or CPU)."""
    _, _, X_test, _ = source_task()
    model.eval()
    with torch.no_grad():
        return model(X_test).argmax(dim=1).tolist()


def save(model: DigitNet, path: Path = WEIGHTS) -> None:
    _, _, X_test, y_test = source_task()
    meta = {
        "seed": PRETRAIN_SEED,
        "epochs": PRETRAIN_EPOCHS,
        "torch": str(torch.__version__),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "source_test_accuracy": accuracy(model, X_test, y_test),
        "fingerprint": fingerprint(model),
    }
    torch.save({"state_dict": model.state_dict(), "meta": meta}, path)


if __name__ == "__main__":
    trained = pretrain()
    save(trained)
    print(f"{WEIGHTS}: accuracy on the 0-4 test images {shipped_metadata()['source_test_accuracy']:.3f}")
