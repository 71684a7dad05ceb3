"""Figures in the course notebooks, drawn only where a person is looking.

    from grader.kit.figures import interativo
    if interativo():
        import matplotlib.pyplot as plt
        ...

While a submission is graded (`GRADER_CHILD` is set in the student's process) or executed by
nbgrader, `interativo()` is False: a figure cell then costs nothing (matplotlib is not even
imported), so figures never slow grading down.
"""

from __future__ import annotations

import os

__all__ = ["interactive", "interativo"]


def interativo() -> bool:
    """True where the notebook runs for a person (Jupyter, a script), False while graded."""
    return not (os.environ.get("GRADER_CHILD") or os.environ.get("NBGRADER_EXECUTION"))


interactive = interativo
