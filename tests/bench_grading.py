"""Benchmark (not a test): seconds per submission for 1 and 50 submissions of an assignment.

    python tests/bench_grading.py [--assignment 01_neurons] [--n 1 50] [--jobs 1 2]
                                  [--mode sandbox no-sandbox spawn]
    python tests/bench_grading.py --versus-nbgrader [--n 16] [--jobs 2] [--repeat 1]
    python tests/bench_grading.py --executors [--n 32]
    python tests/bench_grading.py --dask-overhead [--n 64]

`--versus-nbgrader`: the same N filled-in notebooks, side by side in one run, graded by
stock nbgrader (its own config: a kernel per notebook runs the hidden tests), by
`python -m grader grade` and by `python -m grader autograde` (nbgrader judged by the
engine); prints each one's seconds and the ratios to stock nbgrader. `--repeat R`: each of
ours R times, alternated, the median printed (stock nbgrader, 100 s, runs once).
`--executors`: the same batch on the local executor and on Dask (a LocalCluster of 1 and 2
workers): submissions per minute, and the seconds per submission Dask adds.

Modes: `sandbox` (the default: warm fork server inside bubblewrap), `no-sandbox` (the same
fork server without bubblewrap), `spawn` (a fresh interpreter per submission).

Submissions are the reference and its mutants, repeated. Prints wall seconds per
submission and the cores used (CPU seconds of all processes / wall seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.variants import Variant, load_variants, write_submissions


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


STOCK_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "exercises"
c.Execute.timeout = 120
"""


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return time.perf_counter() - started


@contextlib.contextmanager
def warm_cluster(workers: int, threads: int):
    """A Dask LocalCluster of grader workers (the worker preload, WORKER_CONFIG), as `grader worker` runs them."""
    import dask
    from distributed import LocalCluster

    from grader.dask_executor import WORKER_CONFIG

    with (
        dask.config.set(WORKER_CONFIG),
        LocalCluster(
            n_workers=workers, threads_per_worker=threads, dashboard_address=None, preload=["grader.dask_executor"]
        ) as cluster,
    ):
        yield cluster


def copies_of_reference(assignment: str, n: int, folder: Path) -> list[Path]:
    """N files holding the assignment's reference solution, `folder/s000.ipynb`, ..."""
    one = write_submissions(assignment, [Variant("reference", {})], folder / "one")["reference"]
    paths = [folder / "batch" / f"s{i:03d}.ipynb" for i in range(n)]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path.write_bytes(one.read_bytes())
    return paths


def versus_nbgrader(assignment: str, n: int, jobs: int, repeat: int = 1) -> None:
    """Stock nbgrader, `grader grade` and `grader autograde` on the same N notebooks. With
    `repeat` > 1 each of ours runs that many times, alternated, and its median counts (a
    shared VM's speed drifts by 10% within minutes); stock nbgrader runs once."""
    import json
    import shutil
    import statistics

    from grader.course import course_root
    from grader.variants import typed_in_release

    root = course_root()
    notebook = json.dumps(typed_in_release(assignment), ensure_ascii=False)
    env = {**os.environ, "PYTHONPATH": str(root), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as tmp:
        courses = {}
        for kind in ("stock", "ours"):
            course = Path(tmp) / kind
            shutil.copytree(root / "source" / assignment, course / "source" / assignment)
            if kind == "stock":
                (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
            else:
                shutil.copy(root / "nbgrader_config.py", course)
            nbgrader = [sys.executable, "-m", "nbgrader"]
            timed([*nbgrader, "generate_assignment", assignment, "--force"], course, env)
            for i in range(n):
                target = course / "submitted" / f"student{i:03d}" / assignment / f"{assignment}.ipynb"
                target.parent.mkdir(parents=True)
                target.write_text(notebook, encoding="utf-8")
            courses[kind] = course
        grader = [sys.executable, "-m", "grader"]
        submitted = sorted(str(p) for p in (courses["ours"] / "submitted").glob(f"*/{assignment}/*.ipynb"))
        out = f"{tmp}/out"
        ours = {
            # --regrade: a repeat grades everything again, as the first run did
            "grader grade": [
                *grader,
                "grade",
                *submitted,
                *("--assignment", assignment, "--out", out, "--jobs", f"{jobs}", "--quiet", "--regrade"),
            ],
            "grader autograde": [*grader, "autograde", assignment, "--jobs", str(jobs), "--quiet", "--regrade"],
        }
        seconds = {"stock nbgrader autograde": timed([*nbgrader, "autograde", assignment], courses["stock"], env)}
        runs: dict[str, list[float]] = {what: [] for what in ours}
        for _ in range(repeat):
            for what, command in ours.items():
                runs[what].append(timed(command, courses["ours"], env))
        seconds |= {what: statistics.median(times) for what, times in runs.items()}
        # The same `grade` command handed to grading processes that are already warm: a Dask
        # worker kept running (one worker, `jobs` slots), as at a deadline; started before timing.
        with warm_cluster(1, jobs) as cluster:
            warm = [*grader, "grade", "--assignment", assignment, "--jobs", f"{jobs}", "--quiet", "--regrade"]
            warm += ["--executor", "dask", "--scheduler", cluster.scheduler_address]
            timed([*warm, *submitted[:jobs], "--out", f"{tmp}/warm"], courses["ours"], env)
            seconds["grader grade, warm workers"] = statistics.median(
                timed([*warm, *submitted, "--out", f"{tmp}/dask"], courses["ours"], env) for _ in range(repeat)
            )
    stock = seconds["stock nbgrader autograde"]
    print(f"{n} filled-in {assignment} notebooks, {os.cpu_count()} cores, --jobs {jobs}, ours: median of {repeat}")
    for what, value in seconds.items():
        print(f"  {what:<26} {value:7.1f} s  {value / n:6.2f} s each  {stock / value:5.1f}x stock nbgrader")


def executors(assignment: str, n: int) -> None:
    """Submissions per minute on the local executor and on Dask with 1 and 2 workers."""
    from grader.dask_executor import DaskExecutor
    from grader.grading import GradeOptions, grade_batch

    with tempfile.TemporaryDirectory() as tmp:
        paths = copies_of_reference(assignment, n, Path(tmp))
        rows = []
        for workers in (1, 2):
            started = time.perf_counter()
            grade_batch(paths, assignment, Path(tmp) / f"local{workers}", GradeOptions(), jobs=workers)
            rows.append((f"local, {workers} process(es)", time.perf_counter() - started))
            with warm_cluster(workers, 1) as cluster:
                executor = DaskExecutor(scheduler=cluster.scheduler_address)
                grade_batch(
                    paths[:workers], assignment, Path(tmp) / f"warm{workers}", GradeOptions(), executor=executor
                )
                started = time.perf_counter()
                grade_batch(paths, assignment, Path(tmp) / f"dask{workers}", GradeOptions(), executor=executor)
                rows.append((f"dask, {workers} worker(s)", time.perf_counter() - started))
            overhead = dask_task_overhead(paths, assignment, Path(tmp) / "echo")
    print(f"{n} {assignment} submissions, {os.cpu_count()} cores (Dask timed on a warm cluster)")
    for what, value in rows:
        print(f"  {what:<24} {value:7.1f} s  {60 * n / value:7.1f} submissions/min")
    for workers in (1, 2):
        local = dict(rows)[f"local, {workers} process(es)"]
        dask_time = dict(rows)[f"dask, {workers} worker(s)"]
        print(f"  Dask vs local with {workers} worker(s): {(dask_time - local) / n * workers:+.3f} s per submission")
    print(
        f"  Dask's own cost per task, in isolation (1 worker, the notebook's bytes there and a result back, "
        f"nothing graded): {overhead:.4f} s"
    )


def echo_task(result, digest, assignment_id, options, name, suffix, data) -> dict:
    """A grading task that grades nothing: it returns a real result (bound with
    functools.partial), so that timing it through DaskExecutor measures what Dask adds."""
    return {**result, "name": name}


def dask_task_overhead(paths: list[Path], assignment: str, out: Path) -> float:
    """Seconds per task of DaskExecutor with `echo_task`: the task's submission with the
    notebook's bytes, scheduling, the result's way back, the coordinator writing it and its
    ledger line. One worker, one thread: tasks in a row, so the time per task is the cost."""
    import functools

    from grader.dask_executor import DaskExecutor
    from grader.grading import GradeOptions, grade_batch

    real = grade_batch(paths[:1], assignment, out / "real", GradeOptions(), jobs=1)[0]
    with warm_cluster(1, 1) as cluster:
        # echo_task travels by value: it lives in __main__ (this script)
        executor = DaskExecutor(scheduler=cluster.scheduler_address, task=functools.partial(echo_task, real))
        grade_batch(paths[:2], assignment, out / "warm", GradeOptions(), executor=executor)
        started = time.perf_counter()
        grade_batch(paths, assignment, out / "timed", GradeOptions(), executor=executor)
        return (time.perf_counter() - started) / len(paths)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versus-nbgrader", action="store_true")
    parser.add_argument("--executors", action="store_true")
    parser.add_argument("--dask-overhead", action="store_true", help="only Dask's own cost per task")
    parser.add_argument("--assignment", default="01_neurons")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", nargs="+", default=["sandbox", "no-sandbox", "spawn"])
    parser.add_argument("--repeat", type=int, default=1, help="--versus-nbgrader: runs of each of ours (median)")
    args = parser.parse_args()
    if args.versus_nbgrader:
        return versus_nbgrader(args.assignment, args.n[0] if args.n != [1, 50] else 16, max(args.jobs), args.repeat)
    if args.dask_overhead:
        with tempfile.TemporaryDirectory() as tmp:
            n = args.n[0] if args.n != [1, 50] else 64
            seconds = dask_task_overhead(
                copies_of_reference(args.assignment, n, Path(tmp)), args.assignment, Path(tmp) / "out"
            )
        return print(f"Dask's own cost per task ({n} tasks, 1 worker, nothing graded): {seconds:.4f} s")
    if args.executors:
        return executors(args.assignment, args.n[0] if args.n != [1, 50] else 32)
    with tempfile.TemporaryDirectory() as tmp:
        # train_perceptron's mutants are left out: some run into its time limit on purpose,
        # which measures the limit, not the grader.
        variants = [Variant("reference", {})] + [
            v for v in load_variants(args.assignment) if v.breaks and v.breaks != "train_perceptron"
        ]
        pool = list(write_submissions(args.assignment, variants, Path(tmp) / "pool").values())
        print(f"{'n':>4} {'jobs':>4} {'mode':>12} {'wall s':>8} {'s/sub':>7} {'cores':>6}")
        for n in args.n:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            for i in range(n):
                (folder / f"s{i:03d}.ipynb").write_bytes(pool[i % len(pool)].read_bytes())
            for launcher in args.mode:
                for jobs in args.jobs:
                    if n == 1 and jobs > 1:
                        continue
                    out = Path(tmp) / f"out-{n}-{jobs}-{launcher}"
                    env = {
                        **os.environ,
                        "GRADER_LAUNCHER": "spawn" if launcher == "spawn" else "fork-server",
                        "GRADER_SANDBOX": "none" if launcher == "no-sandbox" else "bwrap",
                    }
                    before_cpu, before = cpu_seconds(), time.perf_counter()
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "grader",
                            "grade",
                            str(folder),
                            "--assignment",
                            args.assignment,
                            "--out",
                            str(out),
                            "--jobs",
                            str(jobs),
                            "--quiet",
                        ],
                        check=True,
                        env=env,
                        stdout=subprocess.DEVNULL,
                    )
                    wall, cpu = time.perf_counter() - before, cpu_seconds() - before_cpu
                    print(f"{n:>4} {jobs:>4} {launcher:>12} {wall:>8.2f} {wall / n:>7.3f} {cpu / wall:>6.2f}")


if __name__ == "__main__":
    main()
