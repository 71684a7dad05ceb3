"""Grading submissions: one submission through pytest, and a batch in parallel.

Each grading process keeps one warm fork server (torch imported once) and grades its
submissions one after another, each with pytest and a fresh student process. The batch
hands submissions to an executor (`grader.executors`: local processes or Dask); every
result is written atomically by this process as soon as it is known, so a batch stopped
halfway keeps what it graded, and re-running it with `resume` grades only the rest.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from grader.course import Assignment, load_assignment, module_name
from grader.engine.launcher import LaunchSettings
from grader.engine.session import Limits, StudentSession
from grader.i18n import Text
from grader.integrity import missing_check_cells, notebook_flags
from grader.notebook import SUBMISSION_SUFFIXES, SubmissionError, read_submission
from grader.redaction import public_text, redact_results, secret_lines
from grader.results import build_results, cell_notes, write_json_atomic

if TYPE_CHECKING:
    from grader.executors import Executor


def isolation() -> str:
    """How this grading process isolates student code (recorded in every results.json)."""
    from grader.engine.launcher import default_launcher

    return default_launcher().isolation


def grader_files(assignment_id: str, public_only: bool = False) -> list[str]:
    """The test modules of an assignment: its public checks, then its hidden graders."""
    import importlib

    package = importlib.import_module(module_name(assignment_id))
    folder = Path(package.__file__).parent
    names = ["test_public.py"] if public_only else ["test_public.py", "test_hidden.py"]
    return [str(folder / n) for n in names if (folder / n).exists()]


@dataclass(frozen=True)
class GradeOptions:
    """Everything a grading run is told, carried from the CLI to the launcher as one object."""

    lang: str = "pt"
    limits: Limits = field(default_factory=Limits)
    devices: tuple[str, ...] | None = None  # None: cpu, and cuda where there is one
    public_only: bool = False
    course_root: Path | None = None  # the course whose source/ defines the assignment; None: course_root()
    hidden: tuple[str, ...] = ()  # folders student code must not see (grade_batch adds its submissions and results)
    gpu_share: float = 0.9  # of each GPU, for all the student processes running at once together
    processes: int = 1  # student processes running at once (grade_batch sets its jobs)
    preload: tuple[str, ...] = ()  # the assignment's student_preload (grade_batch and grade_submission set it)

    @property
    def launch(self) -> LaunchSettings:
        return LaunchSettings(
            hidden=self.hidden, gpu_memory_fraction=self.gpu_share / max(self.processes, 1), preload=self.preload
        )


def grade_submission(
    path: Path, assignment: Assignment, options: GradeOptions, name: str | None = None, student: str | None = None
) -> dict:
    """Grade one submission; never raises for anything the submission does. `student`: the
    student id (nbgrader's, the platform's); by default the one the path gives
    (`grader.personal.student_from_path`), used only where the assignment has per-student numbers."""
    started = time.monotonic()
    name = name or path.stem
    try:
        submission = read_submission(path)
    except SubmissionError as exc:  # the file itself: the student's to fix
        return not_graded(assignment, name, options, exc.render(options.lang), elapsed=time.monotonic() - started)
    except OSError as exc:  # the file system's: graded again by --resume
        return not_graded(assignment, name, options, f"{type(exc).__name__}: {exc}", grader_error=True)
    session = StudentSession(
        submission.cells,
        order=assignment.order,
        references=assignment.function_references(),
        limits=options.limits,
        settings=replace(options, preload=assignment.student_preload).launch,
    )
    student_params, personal_flags = personal_variant(assignment, submission, student or None, options.public_only)
    # here, not at the top: the coordinator, which only hands out submissions and writes
    # results, never imports torch (the plugin's checks do); grading processes do
    from grader.plugin import GradingPlugin, available_devices, run_pytest

    plugin = GradingPlugin(
        session.start,
        assignment.order,
        lang=options.lang,
        devices=options.devices or available_devices(),
        reference_factory=assignment.reference_namespace,
        params=student_params,
    )
    try:
        run_pytest(plugin, grader_files(assignment.id, options.public_only))
    finally:
        session.close()
    if plugin.collection_errors:
        raise RuntimeError("grader modules failed to load:\n" + "\n".join(plugin.collection_errors))
    flags = notebook_flags(submission.notebook, assignment.release_shape) if submission.notebook else []
    flags += personal_flags
    notes = [w.render(options.lang) for w in submission.warnings] + cell_notes(session.cell_results, options.lang)
    results = build_results(
        assignment,
        plugin.records,
        submission=name,
        lang=options.lang,
        notes=notes,
        isolation=isolation(),
        elapsed=time.monotonic() - started,
        removed_test_cells=removed_test_cells(submission, assignment),
        flags=flags,
    )
    secret = secret_lines(
        (e.reference for e in assignment.exercises),
        "\n".join(submission.cells),
        public=public_text(assignment.id, assignment.root),
    )
    return redact_results(results, secret, options.lang)


def personal_variant(
    assignment: Assignment, submission, student: str | None, self_check: bool = False
) -> tuple[dict, list]:
    """The student's own numbers for each exercise with per-student variants, recomputed from
    the student id and the course secret (never read from the notebook), and the flags of a
    notebook whose numbers are someone else's. Without a secret: the defaults (a notebook
    released with its own numbers is then flagged), or for a student's own public checks
    (`self_check`) the numbers its metadata records."""
    from grader import personal

    if not personal.declared(assignment.id):
        return {}, []
    if self_check:
        return personal.from_metadata(assignment.id, submission.notebook), []
    config = personal.settings(assignment.root)
    if config.secret is None:
        return personal.defaults(assignment.id), personal.no_secret_flags(submission.notebook)
    student = student or personal.student_from_path(submission.path, assignment.id)
    own = personal.params_for(assignment.id, student, config)
    return own, personal.mismatch_flags(submission.notebook, student, own)


def removed_test_cells(submission, assignment: Assignment) -> frozenset[str]:
    """Exercises whose locked nbgrader check cell (`test_<id>`) is gone, in any form, from a
    notebook that otherwise carries nbgrader metadata (the student deleted it)."""
    if not submission.notebook:
        return frozenset()
    missing = missing_check_cells(submission.notebook, assignment.release_shape)
    return frozenset(e.id for e in assignment.exercises if f"test_{e.id}" in missing)


def expand_submissions(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for every submission file in it (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUBMISSION_SUFFIXES))
        else:
            out.append(path)
    return out


def submission_names(paths: list[Path]) -> dict[Path, str]:
    """Each submission's name: its file name without extension or, where submissions
    share it, as many parent folders as it takes to tell them apart (`alice-lista1`)."""
    names: dict[Path, str] = {}

    def name(path: Path, depth: int) -> str:
        parts = path.resolve().parent.parts[len(path.resolve().parent.parts) - depth :] if depth else ()
        return "-".join([*parts, path.stem])

    for depth in range(0, 32):
        candidates = {p: name(p, depth) for p in paths if p not in names}
        counts: dict[str, int] = {}
        for value in candidates.values():
            counts[value] = counts.get(value, 0) + 1
        for path, value in candidates.items():
            if counts[value] == 1 and value not in names.values():
                names[path] = value
        if len(names) == len(paths):
            break
    for index, path in enumerate(paths):  # the same file given twice
        names.setdefault(path, f"{path.stem}-{index}")
    return names


# --------------------------------------------------------------------------- batch

_worker_state: dict = {}


def exit_with_parent(parent: int) -> None:
    """In a pooled grading process: leave when `parent`, the coordinator or Dask worker that
    runs the pool, is gone (one killed with SIGKILL cannot shut its pool down, and an orphan
    would hold its sandbox, its memory and a core forever). `parent` is not the OS parent:
    grading processes are forked by multiprocessing's fork server, which outlives them."""
    import os
    import select
    import threading

    def watch() -> None:
        try:
            handle = os.pidfd_open(parent)  # readable once the process has exited
        except (AttributeError, OSError):  # an old kernel, or already gone
            handle = None
        if handle is not None:
            select.select([handle], [], [])
        else:
            while True:
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass
                time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def init_grading_process(assignment_id: str, options: GradeOptions) -> None:
    import os

    import torch

    # The graders' own tensors are small: threads beyond this process's share of the cores
    # only spin against the other grading processes and the student processes.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(options.processes, 1)))
    _worker_state["assignment"] = load_assignment(assignment_id, options.course_root)
    _worker_state["options"] = options
    # The student fork server imports torch in its sandbox (about 1 s) while this process
    # sets up pytest for its first submission.
    from grader.engine.launcher import default_launcher

    default_launcher().prepare(options.launch)


def grade_path(path: str, name: str) -> dict:
    """In a grading process: one submission's results (the coordinator writes them)."""
    return safe_grade(Path(path), name, _worker_state["assignment"], _worker_state["options"])


def safe_grade(
    path: Path, name: str, assignment: Assignment, options: GradeOptions, student: str | None = None
) -> dict:
    try:
        return grade_submission(path, assignment, options, name, student)
    except Exception as exc:  # a grader bug must not stop the batch; the result says so
        message = Text(
            pt="Erro interno do corretor ao avaliar esta entrega: {error}",
            en="Internal grader error while grading this submission: {error}",
        ).render(options.lang, error=f"{type(exc).__name__}: {exc}")
        print(f"[grader] {path}: {message}", file=sys.stderr)
        return not_graded(assignment, name, options, message, grader_error=True)


def not_graded(
    assignment: Assignment,
    name: str,
    options: GradeOptions,
    message: str,
    *,
    grader_error: bool = False,
    elapsed: float = 0.0,
) -> dict:
    """results.json for a submission that could not be graded: every exercise 0, with why.
    `grader_error`: the grader's fault, not the submission's (`--resume` grades it again)."""
    return build_results(
        assignment,
        [],
        submission=name,
        lang=options.lang,
        notes=[],
        isolation=isolation(),
        elapsed=elapsed,
        failure_message=message,
        grader_error=grader_error,
    )


def grade_batch(
    paths: list[Path],
    assignment_id: str,
    out_dir: Path,
    options: GradeOptions,
    *,
    jobs: int = 1,
    resume: bool = False,
    progress: Callable[[int, int, Path], None] | None = None,
    shard: tuple[int, int] | None = None,
    executor: Executor | None = None,
    names: dict[Path, str] | None = None,
    on_result: Callable[[Path, dict], None] | None = None,
) -> list[dict]:
    """Grade every submission, write DIR/<name>.json for each, return results in input order.
    `resume`: keep the results already in DIR that the ledger vouches for: graded from this
    very file by these graders, and not a grader failure (`grader.ledger`).
    `shard` (K, N): only the K-th of N slices (`grader.shards`); names are still those the
    whole list gives, so shards merge into exactly the unsharded batch.
    `executor`: where the grading runs (`grader.executors`); default: `jobs` local processes.
    `names`: each submission's name in DIR (default: `submission_names`).
    `on_result(path, result)`: told each result as soon as it is written (a kept one before
    grading starts), in this thread: what it does holds up the handing out of submissions."""
    import json

    from grader import ledger
    from grader.executors import Batch, LocalExecutor
    from grader.shards import shard_of

    executor = executor or LocalExecutor(jobs)
    executor.prepare(len(paths))
    assignment = load_assignment(assignment_id, options.course_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Neither the submissions, the results nor the course are visible from inside the sandbox, and each
    # grading process's student gets an equal share of a GPU (see worker._cap_gpu_memory).
    hide = {str(p.resolve().parent) for p in paths} | {str(out_dir.resolve())}
    if options.course_root is not None:  # its source/ holds the solutions, its gradebook.db every grade
        hide.add(str(Path(options.course_root).resolve()))
    options = replace(
        options,
        hidden=tuple(sorted(set(options.hidden) | hide)),
        processes=max(jobs, 1),
        preload=assignment.student_preload,
    )
    results: dict[Path, dict] = {}
    names = names or submission_names(paths)
    if shard is not None:
        paths = [p for p in paths if shard_of(names[p], shard[1]) == shard[0]]
    graders = ledger.graders_digest(assignment)
    vouched = ledger.read(out_dir) if resume else {}
    todo = []
    for path in paths:
        target = out_dir / f"{names[path]}.json"
        if resume and target.exists() and ledger.still_valid(vouched.get(names[path]), path, graders):
            try:
                previous = json.loads(target.read_text(encoding="utf-8"))
            except ValueError:
                previous = None
            if previous and not previous["extra_data"].get("grader_error"):  # the grader's failures: again
                results[path] = previous
                if on_result:
                    on_result(path, previous)
                continue
        todo.append(path)

    done = len(results)
    if progress:
        progress(done, len(paths), None)
    for path, result in executor.grade(todo, Batch(assignment, options, names)):
        if path in results:  # an executor that ran a task twice (Dask may): the first one stands
            continue
        write_json_atomic(out_dir / f"{names[path]}.json", result)  # only the coordinator writes
        ledger.append(out_dir, ledger.line_for(names[path], path, graders, result))
        results[path] = result
        if on_result:
            on_result(path, result)
        done += 1
        if progress:
            progress(done, len(paths), path)
    return [results[p] for p in paths]
