"""Grading-process stand-ins for tests/test_executors.py (importable by spawned processes):
a fake grade that dies, as a grading process killed by the machine would, on chosen names."""

import json
import os
from pathlib import Path


def no_setup(assignment_id, options):
    pass


def fake_grade(path: str, name: str) -> dict:
    """Dies on a submission whose file says so; otherwise a result carrying its name and pid."""
    if json.loads(Path(path).read_text())["die"]:
        os._exit(9)
    return {"score": 1.0, "extra_data": {"submission": name, "pid": os.getpid()}}
