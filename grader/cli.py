"""Command line: `python -m grader {grade,merge,report,similarity,check,generate,release,export,autograde,demo,worker}`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from grader.i18n import LANGUAGES, Text


def _progress_printer(stream=sys.stderr):
    started = time.monotonic()
    skipped: list[int] = []  # results already there (--resume): not part of the pace

    def show(done: int, total: int, path: Path | None) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        elapsed = time.monotonic() - started
        if not skipped:
            skipped.append(done)
        graded = done - skipped[0]
        eta = f"ETA {elapsed / graded * (total - done):5.0f}s" if graded and done < total else " " * 9
        name = path.name if path else ""
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {elapsed:5.1f}s  {eta}  {name[:40]:<40}"
        stream.write(line)
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


REPORT_FAILED = Text(
    pt="aviso: o relatório HTML não pôde ser gerado ({error}); as notas não foram afetadas",
    en="warning: the HTML report could not be written ({error}); the grades are not affected",
)


def write_batch_report(folder: Path, lang: str) -> Path | None:
    """FOLDER/report.html at the end of a batch. The grades are already written: a report
    that fails (a missing font, a full disk) is a warning, never a failed batch."""
    try:
        from grader.report import write_report

        return write_report(folder, lang=lang)
    except Exception as exc:
        print(REPORT_FAILED.render(lang, error=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return None


def _limits(args):
    from grader.engine.session import Limits

    return Limits(
        call_seconds=args.call_timeout, cell_seconds=args.cell_timeout, submission_seconds=args.submission_timeout
    )


def cmd_grade(args) -> int:
    from grader.course import load_assignment
    from grader.executors import make_executor
    from grader.grading import GradeOptions, expand_submissions, grade_batch
    from grader.results import summary_table, write_gradebook
    from grader.shards import ShardError, parse_shard

    paths = expand_submissions([Path(p) for p in args.submissions])
    if not paths:
        print(Text(pt="nenhuma entrega encontrada", en="no submissions found").render(args.lang), file=sys.stderr)
        return 2
    options = GradeOptions(
        lang=args.lang,
        limits=_limits(args),
        devices=tuple(args.devices.split(",")) if args.devices else None,
        course_root=Path(args.course).resolve() if args.course else None,
        gpu_share=args.gpu_share,
    )
    out = Path(args.out)
    progress = _progress_printer() if not args.quiet else None
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ShardError as exc:
        print(exc.render(args.lang), file=sys.stderr)
        return 2
    executor = make_executor(args.executor, jobs=args.jobs, scheduler=args.scheduler)
    on_result = None
    if args.jobs > 1 or args.executor != "local":  # this process only waits while others grade
        from grader.report import import_in_background

        started: list = []

        def on_result(path, result) -> None:  # the first result: the torch imports are done
            if not started:
                started.append(import_in_background())

    results = grade_batch(
        paths,
        args.assignment,
        out,
        options,
        jobs=args.jobs,
        resume=not args.regrade,
        progress=progress,
        shard=shard,
        executor=executor,
        on_result=on_result,
    )
    assignment = load_assignment(args.assignment, options.course_root)
    write_gradebook(out / "gradebook.csv", assignment, results)
    print(summary_table(assignment, results, args.lang))
    report = write_batch_report(out, args.lang)
    print(
        Text(pt="Resultados em {out}/ (gradebook.csv{report})", en="Results in {out}/ (gradebook.csv{report})").render(
            args.lang, out=out, report=", report.html" if report else ""
        )
    )
    return 0


def cmd_report(args) -> int:
    """The batch report of a results folder, again (or in another language)."""
    from grader.report import write_report

    folder = Path(args.folder)
    if not folder.is_dir():
        print(
            Text(pt="pasta não encontrada: {f}", en="folder not found: {f}").render(args.lang, f=folder),
            file=sys.stderr,
        )
        return 2
    print(write_report(folder, Path(args.html) if args.html else None, lang=args.lang))
    return 0


def cmd_similarity(args) -> int:
    from grader.grading import expand_submissions
    from grader.similarity import run_similarity

    paths = expand_submissions([Path(p) for p in args.submissions])
    if len(paths) < 2:
        print(
            Text(pt="são precisas ao menos duas entregas", en="at least two submissions are needed").render(args.lang),
            file=sys.stderr,
        )
        return 2
    pairs, html, csv_path = run_similarity(
        paths,
        args.assignment,
        Path(args.out),
        lang=args.lang,
        course_root=Path(args.course).resolve() if args.course else None,
    )
    for pair in pairs[: args.top]:
        print(f"{pair.similarity:6.1%}  {pair.a}  {pair.b}")
    print(html)
    print(csv_path)
    return 0


def cmd_merge(args) -> int:
    """Shards' results into one folder and one gradebook."""
    from grader.course import load_assignment
    from grader.results import summary_table, write_gradebook
    from grader.shards import ShardError, merge

    out = Path(args.out)
    try:
        results = merge([Path(f) for f in args.folders], out)
    except ShardError as exc:
        print(exc.render(args.lang), file=sys.stderr)
        return 2
    assignment = load_assignment(args.assignment, Path(args.course).resolve() if args.course else None)
    write_gradebook(out / "gradebook.csv", assignment, results)
    print(summary_table(assignment, results, args.lang))
    return 0


def cmd_worker(args) -> int:
    """`dask worker` for grading, on a machine that joins a scheduler: see grader.dask_executor."""
    from grader.dask_executor import WORKER_ENVIRONMENT, worker_command

    extra = args.dask_args[1:] if args.dask_args[:1] == ["--"] else args.dask_args
    command = worker_command(args.scheduler, args.slots, args.gpu, extra)
    print(" ".join(command), file=sys.stderr)
    os.execve(command[0], command, {**os.environ, **WORKER_ENVIRONMENT})
    return 1  # not reached


def cmd_check(args) -> int:
    """Public checks only, on one notebook: what a student runs locally."""
    from grader.course import load_assignment
    from grader.grading import GradeOptions, grade_submission
    from grader.notebook import SubmissionError, read_submission

    path = Path(args.notebook)
    assignment_id = args.assignment
    if assignment_id is None:
        try:
            assignment_id = read_submission(path).metadata.get("grader", {}).get("assignment")
        except SubmissionError as exc:
            print(exc.render(args.lang), file=sys.stderr)
            return 2
    if not assignment_id:
        print(Text(pt="informe --assignment", en="pass --assignment").render(args.lang), file=sys.stderr)
        return 2
    result = grade_submission(
        path, load_assignment(assignment_id), GradeOptions(lang=args.lang, limits=_limits(args), public_only=True)
    )
    from grader.kit.report import format_exercises

    print(format_exercises(result, args.lang))
    return 0 if result["score"] == result["max_score"] else 1


def cmd_generate(args) -> int:
    from grader.release import generate, out_of_sync

    if args.check:
        stale = out_of_sync()
        for path in stale:
            print(f"out of sync with source/: {path}")
        return 1 if stale else 0
    for path in generate():
        print(f"wrote {path}")
    return 0


def cmd_release(args) -> int:
    from grader.bundle import build_bundle
    from grader.kit_wheel import build_kit_wheel

    folder = build_bundle(args.assignment, Path(args.out))
    print(f"student bundle: {folder}/")
    wheel = build_kit_wheel(args.assignment, folder)  # in the bundle: `%pip install` it in Colab or Kaggle
    print(f"student kit (pip install it): {wheel}")
    if args.roster:
        return release_per_student(args)
    return 0


def release_per_student(args) -> int:
    """`release ID --roster roster.csv`: each student's notebook with their own numbers."""
    from grader import personal
    from grader.course import course_root, read_notebook

    config = personal.settings(course_root())
    if config.secret is None:
        print(f"--roster needs the course secret: set {personal.SECRET_ENV} (see README)", file=sys.stderr)
        return 2
    release = read_notebook(course_root() / "exercises" / args.assignment / f"{args.assignment}.ipynb")
    roster = personal.read_roster(Path(args.roster))
    table = personal.release_roster(args.assignment, release, roster, Path(args.out), config)
    print(f"{len(roster)} student notebooks: {Path(args.out) / (args.assignment + '-students')}/")
    print(f"instructor's table (keep it from students): {table}")
    return 0


def cmd_export(args) -> int:
    """The assignment's graders packed for Gradescope (a zip) or PrairieLearn (an image folder)."""
    from grader.export import export

    limits = {
        "call_seconds": args.call_timeout,
        "cell_seconds": args.cell_timeout,
        "submission_seconds": args.submission_timeout,
    }
    path = export(
        args.assignment,
        args.target,
        Path(args.out),
        lang=args.lang,
        sandbox=args.sandbox,
        visibility=args.hidden_visibility,
        limits=limits,
    )
    print(f"{args.target}: {path}")
    return 0


def cmd_autograde(args) -> int:
    from grader.executors import LocalExecutor
    from grader.grading import GradeOptions

    # The grading processes' fork server imports torch (1.5 s of a core) while this process
    # imports nbgrader (0.8 s), instead of after it.
    LocalExecutor(args.jobs).prepare(sum(1 for _ in Path(args.course).glob(f"submitted/*/{args.assignment}")))
    from grader.nbgrader_bridge import autograde

    progress = _progress_printer() if not args.quiet else None
    options = GradeOptions(lang=args.lang, limits=_limits(args))
    from grader.report import import_in_background

    report = autograde(
        Path(args.course),
        args.assignment,
        options,
        jobs=args.jobs,
        progress=progress,
        regrade=args.regrade,
        on_first_result=import_in_background,
    )
    print(report.summary(args.lang))
    html = write_batch_report(Path(args.course) / "reports" / args.assignment / "results", args.lang)
    if html:
        print(html)
    return 1 if report.problems else 0


def cmd_demo(args) -> int:
    from grader.demo import run_demo

    return run_demo(Path(args.out), lang=args.lang, jobs=args.jobs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description="Corretor automático do curso de PyTorch / PyTorch course auto-grader."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--lang", choices=LANGUAGES, default="pt", help="feedback language (default: pt)")
        p.add_argument("--call-timeout", type=float, default=10.0, help="seconds per call of student code")
        p.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per notebook cell")
        p.add_argument("--submission-timeout", type=float, default=600.0, help="seconds per submission")

    grade = sub.add_parser("grade", help="grade submissions (.ipynb, .py, or folders of them)")
    grade.add_argument("submissions", nargs="+")
    grade.add_argument("--assignment", required=True)
    grade.add_argument("--out", required=True)
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="grading processes (default: cores)")
    grade.add_argument("--devices", help="comma-separated devices to grade on (default: cpu, and cuda if present)")
    grade.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission again; by default a rerun keeps the results the ledger vouches for "
        "(same file, same graders, no grader failure) and grades only the rest",
    )
    grade.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)  # the default now; old scripts pass it
    grade.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local: --jobs grading processes here (default); dask: a Dask cluster (pip install 'grader[dask]')",
    )
    grade.add_argument(
        "--scheduler", help="with --executor dask: the scheduler's address (default: a local cluster of --jobs workers)"
    )
    grade.add_argument("--course", help="the course folder whose source/ defines the assignment (default: this one)")
    grade.add_argument(
        "--gpu-share", type=float, default=0.9, help="share of each GPU for all student processes together"
    )
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--shard", help="K/N: grade only the K-th of N deterministic slices (see `merge`)")
    common(grade)
    grade.set_defaults(func=cmd_grade)

    worker = sub.add_parser("worker", help="a Dask worker that grades (on each machine of a cluster)")
    worker.add_argument("--scheduler", required=True, help="the scheduler's address, e.g. tls://host:8786")
    worker.add_argument("--slots", type=int, default=os.cpu_count() or 1, help="submissions at once (default: cores)")
    worker.add_argument("--gpu", action="store_true", help="this machine's GPU grades the exercises that ask for one")
    worker.add_argument("dask_args", nargs=argparse.REMAINDER, help="after --: passed to `dask worker` (TLS files)")
    worker.set_defaults(func=cmd_worker)

    merge = sub.add_parser("merge", help="combine the results of `grade --shard K/N` runs into one gradebook")
    merge.add_argument("folders", nargs="+", help="the shards' --out folders")
    merge.add_argument("--assignment", required=True)
    merge.add_argument("--out", required=True)
    merge.add_argument("--course", help="the course folder whose source/ defines the assignment (default: this one)")
    merge.add_argument("--lang", choices=LANGUAGES, default="pt")
    merge.set_defaults(func=cmd_merge)

    report = sub.add_parser("report", help="the HTML class report of a results folder (also written by grade)")
    report.add_argument("folder", help="a `grade --out` folder, or reports/<id>/results of `autograde`")
    report.add_argument("--html", help="where to write it (default: FOLDER/report.html)")
    report.add_argument("--lang", choices=LANGUAGES, default="pt")
    report.set_defaults(func=cmd_report)

    similarity = sub.add_parser("similarity", help="pairs of submissions whose code looks copied (HTML and CSV)")
    similarity.add_argument("submissions", nargs="+", help=".ipynb/.py files, or folders of them")
    similarity.add_argument("--assignment", required=True, help="its released notebook is the boilerplate")
    similarity.add_argument("--out", default="similarity", help="folder for similarity.html and similarity.csv")
    similarity.add_argument("--course", help="the course folder whose exercises/ holds the release (default: this one)")
    similarity.add_argument("--top", type=int, default=10, help="pairs printed on the terminal")
    similarity.add_argument("--lang", choices=LANGUAGES, default="pt")
    similarity.set_defaults(func=cmd_similarity)

    check = sub.add_parser("check", help="run the public checks on one notebook")
    check.add_argument("notebook")
    check.add_argument("--assignment")
    common(check)
    check.set_defaults(func=cmd_check)

    generate = sub.add_parser("generate", help="write exercises/ and solutions/ from source/")
    generate.add_argument("--check", action="store_true", help="only report files out of sync")
    generate.set_defaults(func=cmd_generate)

    release = sub.add_parser(
        "release", help="build the student bundle of an assignment (notebook + public kit, and the kit as a wheel)"
    )
    release.add_argument("assignment")
    release.add_argument("--out", default="dist")
    release.add_argument(
        "--roster", help="CSV of student ids: also one notebook per student with their own numbers (grader.personal)"
    )
    release.set_defaults(func=cmd_release)

    export = sub.add_parser("export", help="pack an assignment's graders for Gradescope or PrairieLearn")
    export.add_argument("assignment")
    export.add_argument("--target", required=True, choices=("gradescope", "prairielearn"))
    export.add_argument("--out", default="dist/export")
    export.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="auto: bubblewrap where the container allows it, else an unprivileged user and the container as the "
        "boundary (default); bwrap: refuse to grade without it; none: never",
    )
    export.add_argument(
        "--hidden-visibility",
        choices=("hidden", "after_due_date", "after_published", "visible"),
        default="after_published",
        help="Gradescope: when students see the hidden tests (public checks are always visible)",
    )
    export.add_argument("--lang", choices=LANGUAGES, default="pt", help="feedback language (default: pt)")
    export.add_argument("--call-timeout", type=float, default=10.0, help="seconds per call of student code")
    export.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per notebook cell")
    export.add_argument(
        "--submission-timeout", type=float, default=480.0, help="seconds per submission (below the platform's limit)"
    )
    export.set_defaults(func=cmd_export)

    autograde = sub.add_parser(
        "autograde", help="nbgrader autograde, judged by the isolated engine (run in the nbgrader course root)"
    )
    autograde.add_argument("assignment")
    autograde.add_argument("--course", default=".", help="the nbgrader course root (default: .)")
    autograde.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    autograde.add_argument("--quiet", action="store_true", help="no progress bar")
    autograde.add_argument(
        "--regrade",
        action="store_true",
        help="grade every notebook and record every student again (default: only what changed)",
    )
    common(autograde)
    autograde.set_defaults(func=cmd_autograde)

    demo = sub.add_parser("demo", help="grade bundled example submissions and print the gradebook")
    demo.add_argument("--out", default="out/demo")
    demo.add_argument("--lang", choices=LANGUAGES, default="pt")
    demo.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
