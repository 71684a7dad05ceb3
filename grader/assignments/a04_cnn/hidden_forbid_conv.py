"""Blocks PyTorch's convolution functions while the 04_cnn hidden grader calls `conv2d_naive`.

Runs in the student's process: the grader sends this module's source
(`student.run_grader_code(FORBID_SOURCE, "forbid", keep=True)`), where it is executed in a
namespace of its own. `forbid()` replaces each function named in `NAMES` with one that
raises `RuntimeError("GRADER_CONV_FORBIDDEN")` (the grader looks for that text in the
student's error) and returns `restore`, kept there as a handle, which the grader calls
afterwards to put the originals back. Only torch is imported, so the source runs as it
is there.
"""

import torch
import torch.nn.functional as F

NAMES = [
    (F, "conv1d"),
    (F, "conv2d"),
    (F, "conv3d"),
    (torch, "conv1d"),
    (torch, "conv2d"),
    (torch, "conv3d"),
    (torch, "convolution"),
    (torch, "_convolution"),
    (torch.nn.Conv2d, "forward"),
    (torch.nn.Conv1d, "forward"),
]


def forbid():
    saved = [(owner, name, getattr(owner, name)) for owner, name in NAMES]

    def blocked(*args, **kwargs):
        raise RuntimeError("GRADER_CONV_FORBIDDEN")

    for owner, name, _ in saved:
        setattr(owner, name, blocked)

    def restore():
        for owner, name, original in saved:
            setattr(owner, name, original)

    return restore
