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


def setup_with_a_child(assignment_id, options):
    """Stands for init_grading_process: starts a child, as it starts its student fork server."""
    import subprocess

    global _child
    _child = subprocess.Popen(["sleep", "15"])  # outlives the test by a few seconds at most


def report_priorities(path: str, name: str) -> dict:
    """The nice values of this grading process and of the child its setup started."""
    child_nice = int(Path(f"/proc/{_child.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    return {"score": 1.0, "extra_data": {"nice": os.nice(0), "child_nice": child_nice}}
