"""The Dask executor (grader.dask_executor) on a LocalCluster of 2 worker processes: the
same results as the local executor on a mixed batch, the graders shipped once per worker,
the scheduler out of student code's reach, and a worker killed mid-batch costing nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
import zipfile
from io import BytesIO

import pytest
from adversarial.cases import cheat

from grader import ledger
from grader.course import load_assignment
from grader.dask_executor import DaskExecutor, GraderPack, worker_command
from grader.engine.session import Limits
from grader.grading import GradeOptions, grade_batch
from grader.variants import Variant, load_variants, write_submissions

A = "01_neurons"
OPTIONS = GradeOptions(lang="en", limits=Limits(call_seconds=3, cell_seconds=4, submission_seconds=120))


def test_the_pack_carries_the_graders_and_is_named_by_their_digest(root):
    pack = GraderPack(load_assignment(A))
    names = set(zipfile.ZipFile(BytesIO(pack.data)).namelist())
    assert {f"source/{A}/{A}.ipynb", f"exercises/{A}/{A}.ipynb", "graders/a01_neurons/test_hidden.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert GraderPack(load_assignment(A)).digest == pack.digest  # the same graders, the same key
    assert pack.name == f"grader-pack-{pack.digest}"


def test_the_worker_command_is_dask_worker_with_our_preload():
    command = worker_command("tls://sched:8786", 4, True, ["--tls-ca-file", "ca.pem"])
    assert command[1:4] == ["-m", "distributed.cli.dask_worker", "tls://sched:8786"]
    assert command[command.index("--nthreads") + 1] == "4" and command[command.index("--nworkers") + 1] == "1"
    assert command[command.index("--preload") + 1] == "grader.dask_executor"
    assert "GPU=4" in command and command[-2:] == ["--tls-ca-file", "ca.pem"]
    assert "--resources" not in worker_command("tcp://sched:8786", 2, False, [])


@pytest.fixture(scope="module")
def cluster():
    import dask
    from distributed import LocalCluster

    from grader.dask_executor import WORKER_CONFIG

    with (
        dask.config.set(WORKER_CONFIG),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, preload=["grader.dask_executor"]
        ) as cluster,
    ):
        yield cluster


def mixed_batch(folder, scheduler_port):
    """References, mutants, an attack on the scheduler's port, an early exit, a broken file."""
    mutants = [v for v in load_variants(A) if v.breaks and v.breaks != "train_perceptron"][:3]
    probe = (
        "import socket\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {scheduler_port}), 2).close()\n    leak = True\n"
        "except OSError:\n    leak = False\n"
    )
    variants = [
        Variant("reference", {}),
        *mutants,
        Variant("reach_scheduler", {"mcp_neuron": cheat(probe)}, breaks="mcp_neuron"),
        Variant("exits_early", {"relu": "import os\ndef relu(z):\n    os._exit(0)\n"}, breaks="relu"),
    ]
    paths = list(write_submissions(A, variants, folder).values())
    broken = folder / "truncated.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    return [*paths, broken], {v.name: v for v in variants}


def comparable(result):
    return (
        result["score"],
        [(t["name"], t["status"], t["score"], t["output"]) for t in result["tests"]],
    )


@pytest.mark.slow  # a cluster of two workers, and the batch graded twice
def test_a_local_cluster_gives_exactly_the_local_results(cluster, tmp_path):
    from distributed import Client

    port = int(cluster.scheduler_address.rsplit(":", 1)[1])
    paths, variants = mixed_batch(tmp_path / "batch", port)
    local = grade_batch(paths, A, tmp_path / "local", OPTIONS, jobs=1)
    dask = grade_batch(paths, A, tmp_path / "dask", OPTIONS, executor=DaskExecutor(scheduler=cluster.scheduler_address))
    for path, one, other in zip(paths, local, dask):
        assert comparable(other) == comparable(one), path.name
    by_name = {p.stem: r for p, r in zip(paths, dask)}
    assert by_name["reference"]["score"] == by_name["reference"]["max_score"]
    for name in ("reach_scheduler", "exits_early", *(v for v in variants if v.startswith("mutant"))):
        assert by_name[name]["score"] < by_name["reference"]["score"], name
    assert by_name["truncated"]["score"] == 0 and not by_name["truncated"]["extra_data"].get("grader_error")
    assert {line.name for line in ledger.read(tmp_path / "dask").values()} == {p.stem for p in paths}

    with Client(cluster) as client:  # the graders reached each worker once, for the whole batch
        installs = client.run(lambda: dict(__import__("grader.dask_executor").dask_executor._machine["installs"]))
    assert len(installs) == 2 and all(list(counts.values()) == [1] for counts in installs.values()), installs


@pytest.mark.slow  # a cluster of two workers, one killed halfway
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(cluster, tmp_path):
    from distributed import Client

    paths = list(write_submissions(A, [Variant(f"s{i}", {}) for i in range(6)], tmp_path / "batch").values())
    with Client(cluster) as client:
        # Each worker's pid and its grading processes (its preload started them).
        workers = list(client.run(lambda: (os.getpid(), [p.pid for p in multiprocessing.active_children()])).values())
    pids = [pid for pid, _ in workers]
    orphans = workers[0][1]
    assert orphans, "the preload starts the worker's grading processes"
    killed = threading.Event()

    def kill_one_worker(done, total, path):
        if done >= 1 and not killed.is_set():
            killed.set()
            os.kill(pids[0], signal.SIGKILL)  # its nanny starts a new one; its task goes elsewhere

    out = tmp_path / "out"
    results = grade_batch(
        paths, A, out, OPTIONS, executor=DaskExecutor(scheduler=cluster.scheduler_address), progress=kill_one_worker
    )
    assert killed.is_set()
    with Client(cluster) as client:
        assert pids[0] not in client.run(os.getpid).values()  # the killed worker was replaced
    time.sleep(3)  # its grading processes notice within a second that their parent is gone
    assert not [pid for pid in orphans if os.path.exists(f"/proc/{pid}")], "orphaned grading processes"
    assert [r["score"] for r in results] == [results[0]["max_score"]] * len(paths)
    lines = (out / ledger.LEDGER).read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["name"] for line in lines) == sorted(p.stem for p in paths)  # once each
    assert all(json.loads((out / f"{p.stem}.json").read_text(encoding="utf-8")) for p in paths)


@pytest.mark.slow  # a scheduler, a `grader worker` process, and a batch through them
def test_grader_worker_joins_a_scheduler_and_grades(tmp_path):
    """The real entry point: `python -m grader worker --scheduler ADDRESS --slots 1` (dask
    worker with our preload, made non-daemonic) joins a scheduler that has no worker yet."""
    import subprocess
    import sys

    from distributed import Client, LocalCluster

    paths = list(write_submissions(A, [Variant("reference", {})], tmp_path / "batch").values())
    with LocalCluster(n_workers=0, dashboard_address=None, processes=False, protocol="tcp") as cluster:
        worker = subprocess.Popen(
            [sys.executable, "-m", "grader", "worker", "--scheduler", cluster.scheduler_address, "--slots", "1"],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "worker.log", "w"),  # noqa: SIM115
        )
        try:
            with Client(cluster) as client:
                client.wait_for_workers(1, timeout=120)  # else the log says why it did not join
            results = grade_batch(
                paths, A, tmp_path / "out", OPTIONS, executor=DaskExecutor(scheduler=cluster.scheduler_address)
            )
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    assert results[0]["score"] == results[0]["max_score"]
    assert "bwrap" in results[0]["extra_data"]["isolation"]
