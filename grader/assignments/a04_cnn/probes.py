"""Runs in the student's process, sent as source (grader code, not the student's): what
kinds of layer a student's model holds. Public: the self-checks use it too. Only torch
is imported, so it runs as it is there."""

import torch.nn as nn


def has_layer(model, kind):
    return any(isinstance(m, getattr(nn, kind)) for m in model.modules())
