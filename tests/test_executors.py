"""The local executor's bounded retries: a submission that kills its grading process is
retried, then graded alone, then recorded as a grader error after MAX_ATTEMPTS deaths;
the submissions in flight beside it lose nothing, and the batch goes on."""

import json

import pytest
from executor_faults import fake_grade, no_setup

from grader.course import load_assignment
from grader.executors import MAX_ATTEMPTS, Batch, LocalExecutor, make_executor
from grader.grading import GradeOptions

A = "01_neurons"


def batch_of(tmp_path, killers):
    paths = []
    for i in range(8):
        path = tmp_path / f"s{i}.ipynb"
        path.write_text(json.dumps({"die": f"s{i}" in killers}))
        paths.append(path)
    options = GradeOptions(lang="en")
    return paths, Batch(load_assignment(A), options, {p: p.stem for p in paths})


@pytest.mark.slow  # every death costs a new pool of spawned processes (which import torch)
def test_a_submission_that_kills_its_grading_process_costs_only_itself(tmp_path):
    paths, batch = batch_of(tmp_path, {"s3"})
    executor = LocalExecutor(2, task=fake_grade, initializer=no_setup)
    results = dict(executor.grade(paths, batch))
    assert set(results) == set(paths)  # every submission once, none lost
    for path in paths:
        extra = results[path]["extra_data"]
        if path.stem == "s3":
            assert extra["grader_error"] and results[path]["score"] == 0
            assert f"died {MAX_ATTEMPTS} times" in results[path]["output"]
        else:
            assert results[path]["score"] == 1.0 and not extra.get("grader_error"), path


def test_one_job_grades_in_this_process(tmp_path):
    paths, batch = batch_of(tmp_path, set())
    import os

    results = dict(LocalExecutor(1, task=fake_grade, initializer=no_setup).grade(paths, batch))
    assert {r["extra_data"]["pid"] for r in results.values()} == {os.getpid()}


def test_executor_names():
    assert make_executor("local", jobs=3).jobs == 3
    assert make_executor("dask", jobs=2).name == "dask"
    try:
        make_executor("slurm")
    except ValueError as exc:
        assert "local or dask" in str(exc)
    else:
        raise AssertionError("an unknown executor must be refused")


def test_the_fork_server_starts_before_the_coordinator_reads_the_assignment(tmp_path, monkeypatch):
    """The pool's fork server imports torch and pytest (about 1.5 s): `grade_batch` has the
    executor start it first, so that it warms while the coordinator reads the assignment."""
    import multiprocessing.forkserver

    import grader.grading

    events = []
    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running", lambda: events.append("fork server"))
    LocalExecutor(1).prepare(8)  # grades in this process
    LocalExecutor(2).prepare(1)  # one submission: graded in this process too
    assert events == []
    real_load = grader.grading.load_assignment
    monkeypatch.setattr(grader.grading, "load_assignment", lambda *a: events.append("assignment") or real_load(*a))
    paths, _ = batch_of(tmp_path, set())
    executor = LocalExecutor(2, task=fake_grade, initializer=no_setup)
    results = grader.grading.grade_batch(paths, A, tmp_path / "out", GradeOptions(lang="en"), executor=executor)
    assert events[:2] == ["fork server", "assignment"] and len(results) == len(paths)


def test_a_grading_process_starts_its_student_fork_server_without_waiting_for_it():
    """`prepare` starts the sandboxed zygote (which imports torch) and returns at once; the
    first student process then comes from that same zygote."""
    from grader.engine.launcher import ForkServer

    server = ForkServer()
    try:
        server.prepare()
        zygote = server._zygote
        assert zygote is not None and zygote.poll() is None
        child = server.start()
        try:
            assert server._zygote is zygote
        finally:
            child.kill()
    finally:
        server.shutdown()


def test_the_first_grading_processes_adopt_zygotes_the_coordinator_started(tmp_path):
    """The coordinator starts one sandboxed zygote per grading process while the fork server
    imports torch for the grading processes; each takes a different one and its students
    come from it; the coordinator, their parent, waits for them once the batch is done."""
    import os
    from pathlib import Path

    from executor_faults import start_a_student

    paths, batch = batch_of(tmp_path, set())
    results = dict(LocalExecutor(2, task=start_a_student).grade(paths, batch))
    by_process = {r["extra_data"]["pid"]: r["extra_data"] for r in results.values()}
    zygotes = {state["adopted"] for state in by_process.values()}
    assert None not in zygotes and len(zygotes) == len(by_process)  # one each (a process may not get work)
    assert {state["parent"] for state in by_process.values()} == {os.getpid()}
    assert not any(state["own"] for state in by_process.values())
    assert not any(Path(f"/proc/{pid}").exists() for pid in zygotes)  # killed and waited for


def test_grading_processes_grade_with_the_coordinators_reading_of_the_assignment(tmp_path):
    """The coordinator hands its parsed assignment to each grading process, which then reads
    no notebook of the course with nbformat, set-up or grading (its import alone is 0.2 s of
    a core before the first result)."""
    from executor_faults import grade_and_tell_what_was_read

    from grader.variants import Variant, write_submissions

    reference = write_submissions(A, [Variant("reference", {})], tmp_path)["reference"]
    paths = [reference.with_name(f"s{i}.ipynb") for i in range(2)]
    for path in paths:
        path.write_bytes(reference.read_bytes())
    batch = Batch(load_assignment(A), GradeOptions(lang="en"), {p: p.stem for p in paths})
    results = dict(LocalExecutor(2, task=grade_and_tell_what_was_read).grade(paths, batch))
    assert [(r["score"], r["extra_data"]["nbformat"]) for r in results.values()] == [(20.0, False)] * 2


def test_a_grading_process_whose_adopted_zygote_died_starts_its_own(tmp_path):
    from executor_faults import kill_the_adopted_zygote_then_start_a_student

    paths, batch = batch_of(tmp_path, set())
    results = dict(LocalExecutor(2, task=kill_the_adopted_zygote_then_start_a_student).grade(paths[:4], batch))
    states = [r["extra_data"] for r in results.values()]
    assert sum(state["killed"] for state in states) == len({state["pid"] for state in states})  # each one's first
    assert all(state["own"] and state["adopted"] is None for state in states)


def test_a_zygote_that_cannot_be_adopted_costs_only_the_head_start(tmp_path, monkeypatch):
    from executor_faults import start_a_student

    import grader.executors

    monkeypatch.setattr(grader.executors, "hand_off_zygotes", lambda count, settings: ([], [b"not a zygote"] * count))
    paths, batch = batch_of(tmp_path, set())
    results = dict(LocalExecutor(2, task=start_a_student).grade(paths[:2], batch))
    assert len(results) == 2
    assert all(r["extra_data"]["own"] and r["extra_data"]["adopted"] is None for r in results.values())


def test_a_handed_off_zygote_ends_with_the_process_that_adopted_it():
    """The coordinator lets go of the zygote's control socket once it is handed off, so
    that a zygote whose grading process died does not wait for the batch's end."""
    from executor_faults import adopt_and_exit

    from grader.engine.launcher import LaunchSettings, hand_off_zygotes
    from grader.executors import grading_context

    servers, payloads = hand_off_zygotes(1, LaunchSettings())
    try:
        process = grading_context().Process(target=adopt_and_exit, args=(payloads[0],))
        process.start()
        process.join(120)
        assert process.exitcode == 0
        assert servers[0]._zygote.wait(timeout=60) is not None  # its control socket closed: it left
    finally:
        for server in servers:
            server.shutdown()


def test_grading_processes_can_step_aside_while_their_student_processes_keep_their_priority(tmp_path):
    """`nice`: autograde's grading processes yield the CPU to its nbgrader step; the child
    their setup starts (the student fork server, whose forks run student code under time
    limits) keeps the coordinator's priority."""
    import os

    from executor_faults import report_priorities, setup_with_a_child

    paths, batch = batch_of(tmp_path, set())
    own = os.nice(0)
    results = dict(LocalExecutor(2, task=report_priorities, initializer=setup_with_a_child, nice=7).grade(paths, batch))
    assert {r["extra_data"]["nice"] for r in results.values()} == {min(own + 7, 19)}
    assert {r["extra_data"]["child_nice"] for r in results.values()} == {own}
    plain = dict(LocalExecutor(2, task=report_priorities, initializer=setup_with_a_child).grade(paths, batch))
    assert {r["extra_data"]["nice"] for r in plain.values()} == {own}


def test_autograde_grades_with_its_nbgrader_step_first(root, tmp_path, monkeypatch):
    import shutil

    import grader.grading
    from grader.nbgrader_bridge import NBGRADER_FIRST, autograde

    shutil.copytree(root / "exercises" / A, tmp_path / "exercises" / A)
    used = []
    monkeypatch.setattr(grader.grading, "grade_batch", lambda *a, executor, **k: used.append(executor) or [])
    autograde(tmp_path, A, GradeOptions(lang="en"), jobs=2)
    assert [(e.jobs, e.nice) for e in used] == [(2, NBGRADER_FIRST)]


def test_autograde_tells_its_caller_of_the_engines_first_result_once(root, tmp_path, monkeypatch):
    """`on_first_result`: called when the engine's first result is in (the CLI then imports
    the report's libraries), and only then."""
    import shutil

    import grader.grading
    from grader import nbgrader_bridge

    shutil.copytree(root / "exercises" / A, tmp_path / "exercises" / A)
    for student in ("ana", "bia", "caio"):
        folder = tmp_path / "submitted" / student / A
        folder.mkdir(parents=True)
        shutil.copy(root / "exercises" / A / f"{A}.ipynb", folder)
    delivered, told = [], []

    def grade_batch(paths, *args, on_result, **kwargs):
        for path in paths:
            delivered.append(path)
            on_result(path, {})
        return []

    monkeypatch.setattr(grader.grading, "grade_batch", grade_batch)
    monkeypatch.setattr(nbgrader_bridge._Batch, "record_student", lambda self, *args: ([], None))
    nbgrader_bridge.autograde(tmp_path, A, GradeOptions(lang="en"), on_first_result=lambda: told.append(len(delivered)))
    assert len(delivered) == 3 and told == [1]


def test_autograde_starts_the_fork_server_before_importing_nbgrader(tmp_path):
    """`python -m grader autograde`: the fork server's torch import (1.5 s) overlaps the
    command's own nbgrader import (0.8 s)."""
    import subprocess
    import sys

    for student in ("ana", "bia"):
        (tmp_path / "submitted" / student / A).mkdir(parents=True)
    probe = (
        "import multiprocessing.forkserver, sys\n"
        "def seen():\n"
        "    print('nbgrader imported:', 'nbgrader' in sys.modules)\n"
        "    raise SystemExit(0)\n"
        "multiprocessing.forkserver.ensure_running = seen\n"
        "from grader.cli import main\n"
        f"main(['autograde', {A!r}, '--course', {str(tmp_path)!r}, '--jobs', '2', '--quiet'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "nbgrader imported: False", done.stdout + done.stderr


FORK_SERVER_OWNER = """
import multiprocessing.forkserver
import os

from grader.executors import grading_context

context = grading_context()
process = context.Process(target=os.getpid)  # the fork server is up and has imported PRELOAD
process.start()
process.join()
print(multiprocessing.forkserver._forkserver._forkserver_pid, flush=True)
"""


def _cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process, in clock ticks; None once it is gone."""
    from executor_faults import _stat_field

    try:
        return _stat_field(pid, 11) + _stat_field(pid, 12)
    except (OSError, IndexError):
        return None


def test_the_fork_server_leaves_without_tearing_down_torch():
    """Once its coordinator is gone, multiprocessing's fork server exits at once instead of
    finalizing an interpreter that holds torch and pytest (half a second of a core, spent
    after `grade` returned: the next command on the machine paid for it)."""
    import subprocess
    import sys
    import time

    owner = subprocess.Popen([sys.executable, "-c", FORK_SERVER_OWNER], stdout=subprocess.PIPE, text=True)
    pid = int(owner.stdout.readline())
    at_start = _cpu_ticks(pid)
    owner.wait(timeout=60)
    last, deadline = at_start, time.monotonic() + 30
    while time.monotonic() < deadline:
        ticks = _cpu_ticks(pid)
        if ticks is None:
            break
        last = ticks
        time.sleep(0.005)
    else:
        raise AssertionError("the fork server outlived its coordinator by 30 s")
    assert last - at_start < 10, f"{last - at_start} clock ticks of CPU after its coordinator left"
