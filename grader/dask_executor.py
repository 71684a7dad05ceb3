"""Grading on a Dask cluster: `grader grade ... --executor dask [--scheduler ADDRESS]`.

Coordinator (the `grade` command): one Dask task per submission, carrying the notebook's
bytes (workers need not share a file system) and a key made of its name, content hash and
the graders' digest, so a task submitted or run twice is one result. Every result comes
back to the coordinator, which alone writes results.json and the ledger
(`grading.grade_batch`). Without `--scheduler`, a `LocalCluster` of `--jobs` workers.

Graders travel once per worker, not per task: the coordinator registers a `GraderPack`
worker plugin (the source and released notebooks and the assignment's grader package,
zipped, keyed by their digest); Dask hands it to every worker, present and joining later,
which unpacks it once into its local directory.

Worker (`grader worker --scheduler ADDRESS`, a thin wrapper over `dask worker` with this
module as preload): as many Dask threads as sandbox slots. Threads never run pytest or
fork: each hands its submission to the machine's pool of single-threaded grading
processes, each with its own warm, sandboxed fork server (bubblewrap's empty network
namespace: student code cannot reach the scheduler). The preload starts that pool and
imports torch in it before the first task arrives.
"""

from __future__ import annotations

import concurrent.futures as futures
import hashlib
import io
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from grader.course import Assignment, module_name
from grader.executors import DIED, FAILED, MAX_ATTEMPTS, Batch, grading_context
from grader.grading import GradeOptions

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the coordinator of a local batch, or a machine without the `dask` extra
    WorkerPlugin = object  # type: ignore[assignment,misc]

INSTALL_HINT = "the Dask executor needs Dask distributed: pip install 'grader[dask]'"
# A worker starts grading processes: Dask must not make it a daemonic process (which
# multiprocessing forbids to have children). `grader worker` and our LocalCluster set it.
WORKER_CONFIG = {"distributed.worker.daemon": False}
WORKER_ENVIRONMENT = {"DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
WINDOW_PER_THREAD, WINDOW_MINIMUM = 4, 16  # tasks in flight per worker thread (at least this many)


# --------------------------------------------------------------------------- the graders, shipped once


def pack_files(assignment: Assignment) -> dict[str, bytes]:
    """What a worker needs to grade `assignment`, by path inside the pack: the course's
    source and released notebooks and every file of the assignment's grader package."""
    import importlib

    root = Path(assignment.path).parent.parent.parent
    package = Path(importlib.import_module(module_name(assignment.id)).__file__).parent
    files = {f"source/{assignment.id}/{assignment.id}.ipynb": Path(assignment.path).read_bytes()}
    released = root / "exercises" / assignment.id / f"{assignment.id}.ipynb"
    if released.exists():
        files[f"exercises/{assignment.id}/{assignment.id}.ipynb"] = released.read_bytes()
    for path in sorted(package.iterdir()):
        if path.is_file() and path.suffix != ".pyc":
            files[f"graders/{package.name}/{path.name}"] = path.read_bytes()
    return files


class GraderPack(WorkerPlugin):
    """The assignment's graders as a worker plugin: Dask sends it to each worker once."""

    idempotent = True  # registering the same pack again (a rerun) changes nothing

    def __init__(self, assignment: Assignment) -> None:
        from grader import __version__

        files = pack_files(assignment)
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
        self.digest = digest.hexdigest()[:24]
        self.assignment_id = assignment.id
        self.version = __version__
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                archive.writestr(name, files[name])
        self.data = buffer.getvalue()

    @property
    def name(self) -> str:
        return f"grader-pack-{self.digest}"

    def setup(self, worker) -> None:
        from grader import __version__

        if self.version != __version__:  # graders written for another engine: refuse them loudly
            _machine["refused"][self.digest] = f"coordinator grader {self.version}, this worker {__version__}"
            return
        target = _workdir(worker) / "packs" / self.digest
        if not target.exists():
            partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpacking-"))
            with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
                archive.extractall(partial)
            os.replace(partial, target)
        _machine["packs"][self.digest] = target
        _machine["installs"][self.digest] = _machine["installs"].get(self.digest, 0) + 1


# --------------------------------------------------------------------------- the coordinator's side


class DaskExecutor:
    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int = 2, task=None) -> None:
        # task(pack digest, assignment id, options, name, suffix, notebook bytes) -> results, on a
        # worker: `grade_task`; the benchmark passes one that grades nothing, to time Dask alone.
        self.scheduler, self.workers = scheduler, max(workers, 1)
        self.task = task or grade_task

    def prepare(self, count: int) -> None:
        pass  # the workers warm themselves (their preload)

    def _client(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RuntimeError(INSTALL_HINT) from None
        if self.scheduler:
            return Client(self.scheduler), None
        cluster = LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            preload=[__name__],
        )
        return Client(cluster), cluster

    def grade(self, todo: list[Path], batch: Batch) -> Iterator[tuple[Path, dict]]:
        if not todo:
            return
        import dask
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        # A task whose worker died is tried again on another; after MAX_ATTEMPTS deaths it is
        # a grader error (KilledWorker), recorded like a local grading process's death.
        with dask.config.set({"distributed.scheduler.allowed-failures": MAX_ATTEMPTS - 1, **WORKER_CONFIG}):
            client, cluster = self._client()
        try:
            pack = GraderPack(batch.assignment)
            client.register_plugin(pack, name=pack.name)
            # The coordinator's folders mean nothing on a worker: it hides its own.
            options = replace(batch.options, hidden=(), course_root=None)
            resources = {"GPU": 1} if "cuda" in (options.devices or ()) else None
            waiting = list(todo)
            pending: dict = {}

            def submit_next() -> None:
                path = waiting.pop(0)
                data = path.read_bytes()
                name = batch.names[path]
                key = f"grade-{name}-{hashlib.sha256(data).hexdigest()[:16]}-{pack.digest[:12]}"
                future = client.submit(
                    self.task,
                    pack.digest,
                    batch.assignment.id,
                    options,
                    name,
                    path.suffix,
                    data,
                    key=key,
                    resources=resources,
                    retries=MAX_ATTEMPTS - 1,  # a grading process that died inside the worker
                )
                pending[future] = path
                running.add(future)

            # A window of tasks, not the whole batch: the scheduler holds each task's notebook,
            # and 25,000 of them at once would be gigabytes. Refilled as results come back.
            window = max(WINDOW_PER_THREAD * sum(client.nthreads().values()), WINDOW_MINIMUM)
            running = as_completed()
            while waiting and len(pending) < window:
                submit_next()
            for future in running:
                path = pending.pop(future)
                if waiting:
                    submit_next()
                try:
                    yield path, future.result()
                except KilledWorker as exc:
                    yield path, batch.grader_error(path, DIED, count=MAX_ATTEMPTS, error=f"KilledWorker: {exc}")
                except GradingProcessDied as exc:
                    yield path, batch.grader_error(path, DIED, count=MAX_ATTEMPTS, error=str(exc))
                except Exception as exc:  # infrastructure of one task: this submission only
                    yield path, batch.grader_error(path, FAILED, error=f"{type(exc).__name__}: {exc}")
                finally:
                    future.release()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# --------------------------------------------------------------------------- the worker's side

_machine: dict = {"packs": {}, "installs": {}, "refused": {}, "pool": None, "slots": 1}
_pool_lock = threading.Lock()


class GradingProcessDied(RuntimeError):
    """The grading process handling a submission died (Dask retries the task)."""


def _workdir(worker=None) -> Path:
    """This worker's folder for packs and submissions (hidden from student code)."""
    if "workdir" not in _machine:
        base = Path(worker.local_directory) if worker is not None else Path(tempfile.gettempdir())
        folder = base / "grader"
        (folder / "packs").mkdir(parents=True, exist_ok=True)
        (folder / "submissions").mkdir(parents=True, exist_ok=True)
        _machine["workdir"] = folder
    return _machine["workdir"]


def _pool() -> futures.ProcessPoolExecutor:
    """The machine's grading processes, one per slot (from the fork server: never a fork of this
    multi-threaded worker), each warmed up (torch imported) as soon as it starts."""
    with _pool_lock:
        if _machine["pool"] is None:
            _machine["pool"] = futures.ProcessPoolExecutor(
                max_workers=_machine["slots"],
                mp_context=grading_context(),
                initializer=_warm_up,
                initargs=(os.getpid(),),
            )
        return _machine["pool"]


def _drop_pool(pool) -> None:
    with _pool_lock:
        if _machine["pool"] is pool:
            _machine["pool"] = None
    pool.shutdown(wait=False, cancel_futures=True)


def dask_setup(worker) -> None:
    """Dask's preload hook: one slot per worker thread, and the grading processes started now."""
    _machine["slots"] = max(worker.state.nthreads, 1)
    _workdir(worker)
    pool = _pool()
    for _ in range(_machine["slots"]):
        pool.submit(_warm_up, os.getpid())


def dask_teardown(worker) -> None:
    """Dask's preload hook when the worker closes: its grading processes go with it."""
    pool = _machine["pool"]
    if pool is not None:
        _drop_pool(pool)


def grade_task(digest: str, assignment_id: str, options: GradeOptions, name: str, suffix: str, data: bytes) -> dict:
    """A Dask task (in a worker thread): hand the submission to a grading process and wait."""
    if multiprocessing.current_process().daemon:
        raise RuntimeError(f"this Dask worker is daemonic and cannot start grading processes: set {WORKER_ENVIRONMENT}")
    if digest in _machine["refused"]:
        raise RuntimeError(f"grader pack refused: {_machine['refused'][digest]}")
    pack = _machine["packs"][digest]
    workdir = _workdir()
    options = replace(options, course_root=pack, hidden=(str(workdir),), processes=_machine["slots"])
    folder = Path(tempfile.mkdtemp(dir=workdir / "submissions"))
    try:
        path = folder / f"{name}{suffix}"
        path.write_bytes(data)
        pool = _pool()
        try:
            return pool.submit(grade_in_pack, str(pack), assignment_id, options, str(path), name).result()
        except futures.process.BrokenProcessPool as exc:
            _drop_pool(pool)
            raise GradingProcessDied(f"{type(exc).__name__}: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- in a grading process

_loaded: dict = {}


def _warm_up(worker: int) -> None:
    import torch  # noqa: F401  the expensive import, before any submission

    from grader.grading import exit_with_parent

    if "watching" not in _loaded:
        exit_with_parent(worker)
        _loaded["watching"] = True


def grade_in_pack(pack: str, assignment_id: str, options: GradeOptions, path: str, name: str) -> dict:
    """Grade with the pack's graders: its package replaces the installed one of that name."""
    from grader import grading

    if _loaded.get("key") != (pack, options):
        _use_graders(Path(pack) / "graders")
        grading.init_grading_process(assignment_id, options)
        _loaded["key"] = (pack, options)
    return grading.grade_path(path, name)


def _use_graders(folder: Path) -> None:
    import grader.assignments
    from grader import course, redaction

    if grader.assignments.__path__[0] == str(folder):
        return
    if _loaded.get("graders"):  # another pack's graders were imported: forget them
        grader.assignments.__path__.remove(_loaded["graders"])
        for module in [m for m in sys.modules if m.startswith("grader.assignments.a")]:
            del sys.modules[module]
        course.forget_assignments()
        redaction.public_text.cache_clear()
    grader.assignments.__path__.insert(0, str(folder))
    _loaded["graders"] = str(folder)


# --------------------------------------------------------------------------- `grader worker`


def worker_command(scheduler: str, slots: int, gpu: bool, extra: list[str]) -> list[str]:
    """`dask worker` with this module as preload: one worker process, one thread per slot,
    and on a GPU machine one GPU share per slot (a GPU task holds one)."""
    command = [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        scheduler,
        "--nworkers",
        "1",
        "--nthreads",
        str(slots),
        "--preload",
        __name__,
    ]
    if gpu:
        command += ["--resources", f"GPU={slots}"]
    return command + extra
