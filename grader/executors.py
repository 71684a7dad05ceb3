"""Where a batch's submissions are graded: this machine's grading processes (`local`), or a
Dask cluster (`grader.dask_executor`).

An executor takes the submissions still to grade and yields `(path, results)` as each one
is known, in any order; the coordinator (`grading.grade_batch`) alone writes results.json
files and the ledger, shows progress and resumes. Student timeouts, crashes and memory
kills are results the engine returns, never exceptions; an executor raises only for its
own infrastructure. A submission that kills the grading process itself (a grader bug, the
whole process killed by the machine) is retried, and after `MAX_ATTEMPTS` deaths recorded
as a grader error, so that `--resume` tries it again later; the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import multiprocessing.forkserver
import os
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.course import Assignment, adopt_assignment
from grader.engine.launcher import adopt_zygote, hand_off_zygotes
from grader.grading import GradeOptions, exit_with_parent, grade_path, init_grading_process, not_graded
from grader.i18n import Text

MAX_ATTEMPTS = 3  # deaths of a grading process (or a Dask worker) a submission may cause

DIED = Text(
    pt="Erro interno do corretor: o processo que corrigia esta entrega morreu {count} vezes ({error}). "
    "A entrega será corrigida de novo na próxima execução.",
    en="Internal grader error: the process grading this submission died {count} times ({error}). "
    "It will be graded again on the next run.",
)
FAILED = Text(pt="Erro interno do corretor: {error}", en="Internal grader error: {error}")


@dataclass(frozen=True)
class Batch:
    """What every executor is handed: the assignment, the options, and each submission's name."""

    assignment: Assignment
    options: GradeOptions
    names: dict[Path, str]

    def grader_error(self, path: Path, text: Text, **values) -> dict:
        message = text.render(self.options.lang, **values)
        return not_graded(self.assignment, self.names[path], self.options, message, grader_error=True)


class Executor(Protocol):
    name: str

    def prepare(self, count: int) -> None:
        """Start what grading `count` submissions will need, before the coordinator's own setup."""

    def grade(self, todo: list[Path], batch: Batch) -> Iterator[tuple[Path, dict]]: ...


class LocalExecutor:
    """`jobs` grading processes on this machine (forked from a warm fork server, each with its own warm, sandboxed
    fork server); with one job, this process grades, one submission after another."""

    name = "local"

    def __init__(self, jobs: int = 1, task=grade_path, initializer=init_grading_process, nice: int = 0) -> None:
        # task(path, name) -> results, in a grading process set up by initializer(assignment_id, options);
        # tests pass their own to play a grading process that dies.
        self.jobs, self.task, self.initializer = max(jobs, 1), task, initializer
        # Added to the grading processes' nice value once they are set up (their student fork
        # server started, so student processes keep this one's priority and their time limits
        # mean the same): where the coordinator has work of its own that must not wait behind
        # the grading (autograde's nbgrader step). Grading in this process (one job): unchanged.
        # A student fork server started again later (the old one died) inherits the new value:
        # its students yield only to busier processes, and only while the machine is full.
        self.nice = nice

    def prepare(self, count: int) -> None:
        if self.jobs > 1 and count > 1:
            # The fork server imports torch and pytest (about 1.5 s) while the coordinator
            # reads the assignment and the ledger; the pool's first process would wait for it.
            grading_context()  # with its preload set
            multiprocessing.forkserver.ensure_running()

    def grade(self, todo: list[Path], batch: Batch) -> Iterator[tuple[Path, dict]]:
        if not todo:  # a resumed batch with nothing left: no grading process to start
            return
        if self.jobs == 1 or len(todo) <= 1:
            self.initializer(batch.assignment.id, batch.options)
            for path in todo:
                yield path, self.task(str(path), batch.names[path])
            return
        yield from self._pooled(todo, batch)

    def _pooled(self, todo: list[Path], batch: Batch) -> Iterator[tuple[Path, dict]]:
        """No more submissions in flight than processes, so that when a grading process dies
        the suspects are the few in flight, not the whole queue. A suspect goes back to the
        queue; one that was in flight at two deaths is graded alone (one process, one
        submission at a time) where a third death can only be its own."""
        # The grading processes' sandboxed zygotes start here, now, and import torch while
        # multiprocessing's fork server imports it for the grading processes themselves (on
        # two cores, 1.5 s sooner than each grading process starting its own); each of the
        # first grading processes adopts one, a later one (after a death) starts its own.
        servers, zygotes = [], []
        if self.initializer is init_grading_process:
            servers, zygotes = hand_off_zygotes(min(self.jobs, len(todo)), batch.options.launch)
        claimed = grading_context().Value("i", 0) if zygotes else None
        queue = list(todo)
        deaths: Counter[Path] = Counter()
        try:
            while queue:
                alone = [p for p in queue if deaths[p] >= MAX_ATTEMPTS - 1]
                shared = [p for p in queue if deaths[p] < MAX_ATTEMPTS - 1]
                queue = []
                for group, width in ((shared, self.jobs), (alone, 1)):
                    if group:
                        yield from self._window(group, width, batch, deaths, queue, (zygotes, claimed))
        finally:
            for server in servers:
                server.shutdown()

    def _window(self, group, width, batch, deaths, retry, zygotes) -> Iterator[tuple[Path, dict]]:
        waiting = list(group)
        with futures.ProcessPoolExecutor(
            max_workers=min(width, len(group)),
            mp_context=grading_context(),
            initializer=_start_pooled_process,
            initargs=(self.initializer, batch.assignment, batch.options, os.getpid(), self.nice, zygotes),
        ) as pool:
            running: dict[futures.Future, Path] = {}
            broken = False
            while waiting or running:
                while waiting and len(running) < width and not broken:
                    path = waiting.pop(0)
                    running[pool.submit(self.task, str(path), batch.names[path])] = path
                if not running:
                    break
                done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
                for future in done:
                    path = running.pop(future)
                    try:
                        yield path, future.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        deaths[path] += 1
                        if deaths[path] >= MAX_ATTEMPTS:
                            yield path, batch.grader_error(path, DIED, count=deaths[path], error=exc)
                        else:
                            retry.append(path)
                    except Exception as exc:  # pickling, a bug of ours: this submission only
                        yield path, batch.grader_error(path, FAILED, error=f"{type(exc).__name__}: {exc}")
            retry.extend(waiting)  # never started: not suspects


# Modules every grading process needs (torch, pytest and the engine come with them), and
# the fork server's quick exit.
PRELOAD = ["grader.grading", "grader.plugin", "grader.fork_server_exit"]


def grading_context() -> multiprocessing.context.BaseContext:
    """Where grading processes come from: multiprocessing's fork server, a process of its own,
    single-threaded, that imported PRELOAD once; each grading process is a fork of it and
    starts warm, where a spawned one would import torch and pytest again (about 1.5 s of a
    core each). Never a fork of the coordinator or a Dask worker, which run threads."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _start_pooled_process(
    initializer, assignment: Assignment, options: GradeOptions, coordinator: int, nice: int = 0, zygotes=((), None)
) -> None:
    exit_with_parent(coordinator)
    adopt_assignment(assignment)  # the coordinator's parse of it: not read again here
    payloads, claimed = zygotes
    if payloads:  # the coordinator's zygotes: one each for the first grading processes
        with claimed.get_lock():
            index = claimed.value
            claimed.value += 1
        if index < len(payloads):
            try:
                adopt_zygote(payloads[index])
            except Exception as exc:  # an optimisation only: this process starts a zygote of its own
                print(f"[grader] could not adopt the coordinator's zygote: {exc!r}", file=sys.stderr)
    initializer(assignment.id, options)
    if nice:
        os.nice(nice)


def make_executor(name: str, *, jobs: int = 1, scheduler: str | None = None) -> Executor:
    if name == "local":
        return LocalExecutor(jobs)
    if name == "dask":
        from grader.dask_executor import DaskExecutor

        return DaskExecutor(scheduler=scheduler, workers=jobs)
    raise ValueError(f"unknown executor {name!r} (local or dask)")
