import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GRADER_COURSE_ROOT", str(ROOT))


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


# The cuda instances carry the gpu mark: `pytest -m gpu` (tests/gpu_check.py) runs them on a GPU machine.
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not cuda_available(), reason="CUDA is not available on this machine"),
        ],
    ),
]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
