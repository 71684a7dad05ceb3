"""Runs in the student's process, sent there as source by a grader (`grader.checks.forbidding`):
while an exercise that must be written by hand is called (04's `conv2d_naive`, 06's
`dropout_forward`), the library functions that would do the work raise. Imports only the
standard library, and the modules the targets name."""

import importlib


def forbid(targets, marker):
    """Replace each `[module, "attribute.path"]` of `targets` that exists with a function that
    raises `RuntimeError(marker)` (the grader looks for that text in the student's error), and
    return the function that puts the originals back (kept there as a handle)."""
    saved = []
    for module, attribute in targets:
        owner = importlib.import_module(module)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, name):
            saved.append((owner, name, getattr(owner, name)))

    def blocked(*args, **kwargs):
        raise RuntimeError(marker)

    for owner, name, _ in saved:
        setattr(owner, name, blocked)

    def restore():
        for owner, name, original in saved:
            setattr(owner, name, original)

    return restore
