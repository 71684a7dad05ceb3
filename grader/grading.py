"""Grading submissions: one submission through pytest, and a batch in parallel.

Each grading process keeps one warm fork server (torch imported once) and grades its
submissions one after another, each with pytest and a fresh student process. The batch
spreads submissions over `jobs` grading processes; every result is written atomically
as soon as it is known, so a batch stopped halfway keeps what it graded, and re-running
it with `resume` grades only the rest.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from grader.course import Assignment, load_assignment, module_name
from grader.engine.sandbox import HIDE_ENV
from grader.engine.session import Limits, StudentSession
from grader.i18n import Text
from grader.integrity import missing_check_cells, notebook_flags
from grader.notebook import SUBMISSION_SUFFIXES, SubmissionError, read_submission
from grader.plugin import GradingPlugin
from grader.redaction import public_text, redact_results, secret_lines
from grader.results import build_results, cell_notes, write_json_atomic


def isolation() -> str:
    """How this grading process isolates student code (recorded in every results.json)."""
    from grader.engine.launcher import default_launcher

    return default_launcher().isolation
_PYTEST_ARGS = ["-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise", "--assert=plain",
                "--import-mode=importlib", "-o", "python_files=test_*.py"]


def available_devices() -> tuple[str, ...]:
    import torch

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def grader_files(assignment_id: str, public_only: bool = False) -> list[str]:
    """The test modules of an assignment: its public checks, then its hidden graders."""
    import importlib

    package = importlib.import_module(module_name(assignment_id))
    folder = Path(package.__file__).parent
    names = ["test_public.py"] if public_only else ["test_public.py", "test_hidden.py"]
    return [str(folder / n) for n in names if (folder / n).exists()]


def run_pytest(plugin: GradingPlugin, files: list[str]) -> int:
    folder = str(Path(files[0]).parent)
    code = pytest.main([*_PYTEST_ARGS, "--rootdir", folder, "-c", os.devnull, *files], plugins=[plugin])
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"pytest could not run the graders ({code!r}): {plugin.collection_errors}")
    return code


@dataclass
class GradeOptions:
    lang: str = "pt"
    limits: Limits = field(default_factory=Limits)
    devices: tuple[str, ...] | None = None
    public_only: bool = False


def grade_submission(path: Path, assignment: Assignment, options: GradeOptions, name: str | None = None) -> dict:
    """Grade one submission; never raises for anything the submission does."""
    started = time.monotonic()
    name = name or path.stem
    try:
        submission = read_submission(path)
    except SubmissionError as exc:
        return build_results(assignment, [], submission=name, lang=options.lang, notes=[], isolation=isolation(),
                             elapsed=time.monotonic() - started, failure_message=exc.render(options.lang))
    except OSError as exc:
        return build_results(assignment, [], submission=name, lang=options.lang, notes=[], isolation=isolation(),
                             elapsed=time.monotonic() - started, failure_message=f"{type(exc).__name__}: {exc}")
    session = StudentSession(submission.cells, order=assignment.order,
                             references=assignment.function_references(), limits=options.limits)
    plugin = GradingPlugin(session.start, assignment.order, lang=options.lang,
                           devices=options.devices or available_devices(),
                           reference_factory=assignment.reference_namespace)
    try:
        run_pytest(plugin, grader_files(assignment.id, options.public_only))
    finally:
        session.close()
    if plugin.collection_errors:
        raise RuntimeError("grader modules failed to load:\n" + "\n".join(plugin.collection_errors))
    flags = notebook_flags(submission.notebook, assignment.release_shape) if submission.notebook else []
    notes = [w.render(options.lang) for w in submission.warnings] + cell_notes(session.cell_results, options.lang)
    results = build_results(assignment, plugin.records, submission=name, lang=options.lang, notes=notes,
                            isolation=isolation(), elapsed=time.monotonic() - started,
                            removed_test_cells=removed_test_cells(submission, assignment), flags=flags)
    secret = secret_lines((e.reference for e in assignment.exercises), "\n".join(submission.cells),
                          public=public_text(assignment.id))
    return redact_results(results, secret, options.lang)


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
    for depth in range(0, 32):
        def name(path: Path) -> str:
            parts = path.resolve().parent.parts[len(path.resolve().parent.parts) - depth:] if depth else ()
            return "-".join([*parts, path.stem])
        candidates = {p: name(p) for p in paths if p not in names}
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


def _init_worker(assignment_id: str, options: GradeOptions) -> None:
    _worker_state["assignment"] = load_assignment(assignment_id)
    _worker_state["options"] = options


def _grade_and_write(path: str, name: str, out_dir: str) -> dict:
    result = safe_grade(Path(path), name, _worker_state["assignment"], _worker_state["options"])
    write_json_atomic(Path(out_dir) / f"{name}.json", result)
    return result


def safe_grade(path: Path, name: str, assignment: Assignment, options: GradeOptions) -> dict:
    try:
        return grade_submission(path, assignment, options, name)
    except Exception as exc:  # a grader bug must not stop the batch; the result says so
        message = Text(pt="Erro interno do corretor ao avaliar esta entrega: {error}",
                       en="Internal grader error while grading this submission: {error}",
                       ).render(options.lang, error=f"{type(exc).__name__}: {exc}")
        print(f"[grader] {path}: {message}", file=sys.stderr)
        return build_results(assignment, [], submission=name, lang=options.lang, notes=[],
                             isolation=isolation(), elapsed=0.0, failure_message=message)


def grade_batch(paths: list[Path], assignment_id: str, out_dir: Path, options: GradeOptions, *, jobs: int = 1,
                resume: bool = False, progress: Callable[[int, int, Path], None] | None = None) -> list[dict]:
    """Grade every submission, write DIR/<name>.json for each, return results in input order."""
    import json

    assignment = load_assignment(assignment_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Neither the submissions nor the results are visible from inside the sandbox.
    hide = sorted({str(p.resolve().parent) for p in paths} | {str(out_dir.resolve())})
    os.environ[HIDE_ENV] = os.pathsep.join(hide)
    # Each grading process's student gets an equal share of a GPU (see worker._cap_gpu_memory).
    os.environ.setdefault("GRADER_GPU_MEMORY_FRACTION", f"{0.9 / max(jobs, 1):.3f}")
    results: dict[Path, dict] = {}
    names = submission_names(paths)
    todo = []
    for path in paths:
        target = out_dir / f"{names[path]}.json"
        if resume and target.exists():
            try:
                results[path] = json.loads(target.read_text(encoding="utf-8"))
                continue
            except ValueError:
                pass
        todo.append(path)
    done = len(results)
    if progress:
        progress(done, len(paths), None)
    if jobs <= 1 or len(todo) <= 1:
        _init_worker(assignment_id, options)
        for path in todo:
            results[path] = _grade_and_write(str(path), names[path], str(out_dir))
            done += 1
            if progress:
                progress(done, len(paths), path)
    else:
        context = multiprocessing.get_context("spawn")
        with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                                         initargs=(assignment_id, options)) as pool:
            pending = {pool.submit(_grade_and_write, str(p), names[p], str(out_dir)): p for p in todo}
            for future in futures.as_completed(pending):
                path = pending[future]
                try:
                    results[path] = future.result()
                except Exception as exc:  # the grading process itself died: record, go on
                    results[path] = build_results(
                        assignment, [], submission=names[path], lang=options.lang, notes=[], isolation=isolation(),
                        elapsed=0.0, failure_message=Text(pt="Erro interno do corretor: {error}",
                                                          en="Internal grader error: {error}",
                                                          ).render(options.lang, error=f"{type(exc).__name__}: {exc}"))
                    write_json_atomic(out_dir / f"{names[path]}.json", results[path])
                done += 1
                if progress:
                    progress(done, len(paths), path)
    return [results[p] for p in paths]
