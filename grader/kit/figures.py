"""Figures in the course notebooks, drawn only where a person reads them.

    from grader.kit.figures import interativo, nova_figura, mostrar
    if interativo():                      # False while a submission is graded
        fig, ax = nova_figura()
        ax.plot(...)
        mostrar(fig)                      # a PNG in the notebook's output

A notebook's cells also run while it is graded (like Run All, in the student's process),
where nobody looks at a figure: there `interativo()` is False (GRADER_CHILD, or nbgrader's
NBGRADER_EXECUTION, is set), so a
figure cell costs neither matplotlib's import nor any drawing. Figures are plain
`matplotlib.figure.Figure` objects rendered by Agg into PNG bytes and shown with IPython's
`display`: no pyplot, no GUI backend, no display and nothing fetched, whatever MPLBACKEND says.
"""

from __future__ import annotations

import io
import os
from typing import Any

__all__ = ["interactive", "interativo", "mostrar", "new_figure", "nova_figura", "show"]


def interativo() -> bool:
    """True where the notebook runs for a person (Jupyter, a script); False while it is graded
    (by this grader, or executed by nbgrader)."""
    return not (os.environ.get("GRADER_CHILD") or os.environ.get("NBGRADER_EXECUTION"))


def nova_figura(ncols: int = 1, nrows: int = 1, largura: float = 4.5, altura: float = 3.5) -> tuple[Any, Any]:
    """(figure, axes) like `plt.subplots(nrows, ncols)`, each panel `largura` x `altura` inches."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(largura * ncols, altura * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def png_bytes(fig: Any, dpi: int = 90) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def mostrar(fig: Any) -> None:
    """Show `fig` as a PNG in the notebook (outside IPython: a line saying where it would be)."""
    data = png_bytes(fig)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is not None:
            display(Image(data=data, format="png"))
            return
    except ImportError:
        pass
    print(f"[figura: {len(data)} bytes de PNG; abra o caderno no Jupyter para vê-la]")


interactive, new_figure, show = interativo, nova_figura, mostrar
