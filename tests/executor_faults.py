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


def _stat_field(pid: int, index: int) -> int:
    """A field of /proc/PID/stat, counted from the one after the command's name (0: state)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[index])


def report_priorities(path: str, name: str) -> dict:
    """The nice values of this grading process and of the child its setup started."""
    child_nice = _stat_field(_child.pid, 16)
    return {"score": 1.0, "extra_data": {"nice": os.nice(0), "child_nice": child_nice}}


def _zygote_state() -> dict:
    """This grading process's student fork server: the zygote it adopted from the coordinator
    (pid and parent pid) or None, and whether it holds one of its own."""
    from grader.engine.launcher import default_launcher

    launcher = default_launcher()
    adopted = launcher._adopted
    parent = _stat_field(adopted, 1) if adopted else None
    return {"pid": os.getpid(), "adopted": adopted, "parent": parent, "own": launcher._zygote is not None}


def start_a_student(path: str, name: str) -> dict:
    """A student process from this grading process's zygote; reports which zygote that was."""
    from grader.engine.launcher import default_launcher
    from grader.grading import _worker_state

    state = _zygote_state()
    default_launcher().start(_worker_state["options"].launch).kill()
    assert _zygote_state() == state  # the same zygote served it
    return {"score": 1.0, "extra_data": state}


def kill_the_adopted_zygote_then_start_a_student(path: str, name: str) -> dict:
    import signal

    from grader.engine.launcher import default_launcher
    from grader.grading import _worker_state

    adopted = default_launcher()._adopted
    if adopted:
        os.kill(adopted, signal.SIGKILL)
    default_launcher().start(_worker_state["options"].launch).kill()
    return {"score": 1.0, "extra_data": {**_zygote_state(), "killed": bool(adopted)}}


def adopt_and_exit(payload: bytes) -> None:
    """In a process of its own: adopt a handed-off zygote, start a student from it, leave."""
    from grader.engine.launcher import LaunchSettings, adopt_zygote, default_launcher

    adopt_zygote(payload)
    default_launcher().start(LaunchSettings()).kill()


def grade_and_tell_what_was_read(path: str, name: str) -> dict:
    """The real grading of a submission, and whether this grading process imported nbformat
    for it (its setup or the grading) or had the assignment handed to it."""
    import sys

    from grader.grading import grade_path

    result = grade_path(path, name)
    result["extra_data"]["nbformat"] = "nbformat" in sys.modules
    return result
