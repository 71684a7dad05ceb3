"""Models the 02_tensors hidden graders hand to `count_trainable_params` and `layer_summary`.

This module runs on both sides. The graders send its source to the student's process
(`student.build(MODELS_SOURCE, name, *args)`), where it is executed in a namespace of its
own and the builder named there makes the model the student's function receives (kept
there as a handle); the grading process imports it to build the same model, from the
same seed, for the reference answer. Only the standard library and torch are imported,
so the source runs as it is in the student's process.

The models are ones the student never imagined: frozen layers, a layer applied twice, a
tied weight, buffers (BatchNorm), nesting, parameters on the root module, distinct
parameters with equal values next to truly shared ones, and networks drawn from a seed.
"""

import random

import torch
import torch.nn as nn


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.layer(torch.relu(self.layer(x)))))


def frozen():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    model[0].requires_grad_(False)
    return model


def shared():
    torch.manual_seed(0)
    return Shared()


def tied():
    torch.manual_seed(0)
    first, last = nn.Linear(6, 6), nn.Linear(6, 6)
    last.weight = first.weight
    return nn.Sequential(first, nn.Tanh(), last)


def batchnorm():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))


def nested():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(3, 6), nn.ReLU())
    return nn.Sequential(block, nn.Sequential(nn.Linear(6, 6), nn.Sequential(nn.Tanh(), nn.Linear(6, 1))))


class Rooted(nn.Module):
    """Parameters registered on the model itself, beside its children: one trainable, one frozen."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(5))
        self.offset = nn.Parameter(torch.zeros(3), requires_grad=False)
        self.body = nn.Sequential(nn.Linear(4, 5), nn.ReLU())
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(self.body(x) * self.scale) + self.offset


def rooted():
    torch.manual_seed(0)
    return Rooted()


class Twins(nn.Module):
    """Two LayerNorms of one width (distinct parameters with equal values) and a tied weight."""

    def __init__(self):
        super().__init__()
        self.inp, self.norm1 = nn.Linear(3, 6), nn.LayerNorm(6)
        self.mid, self.norm2 = nn.Linear(6, 6), nn.LayerNorm(6)
        self.out = nn.Linear(6, 6)
        self.out.weight = self.mid.weight

    def forward(self, x):
        h = self.norm1(torch.tanh(self.inp(x)))
        return self.out(self.norm2(torch.tanh(self.mid(h))))


def twins():
    torch.manual_seed(0)
    return Twins()


class Generated(nn.Module):
    """A network drawn from a seed: a 0-D and a 1-D parameter on the model itself (the second
    sometimes frozen), blocks Linear-LayerNorm-Tanh of one random width (the LayerNorms are
    twins: equal values, distinct parameters), sometimes a weight tied across two blocks and
    sometimes a frozen block."""

    def __init__(self, rng):
        super().__init__()
        width, depth = rng.randint(3, 9), rng.randint(2, 4)
        self.temperature = nn.Parameter(torch.ones(()))
        self.gain = nn.Parameter(torch.ones(width), requires_grad=rng.random() < 0.5)
        self.inp = nn.Linear(rng.randint(2, 6), width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.Tanh()) for _ in range(depth)
        )
        if rng.random() < 0.7:
            self.blocks[-1][0].weight = self.blocks[0][0].weight
        if rng.random() < 0.5:
            self.blocks[rng.randrange(1, depth)].requires_grad_(False)
        self.out = nn.Linear(width, rng.randint(2, 5))

    def forward(self, x):
        h = torch.tanh(self.inp(x)) * self.gain
        for block in self.blocks:
            h = block(h)
        return self.out(h) / self.temperature


def generated(seed):
    torch.manual_seed(seed)
    return Generated(random.Random(seed))
