"""Benchmark (not a test): seconds per submission for 1 and 50 submissions of an assignment.

    python tests/bench_grading.py [--assignment 01_neurons] [--n 1 50] [--jobs 1 2]
                                  [--mode sandbox no-sandbox spawn]

Modes: `sandbox` (the default: warm fork server inside bubblewrap), `no-sandbox` (the same
fork server without bubblewrap), `spawn` (a fresh interpreter per submission).

Submissions are the reference and its mutants, repeated. Prints wall seconds per
submission and the cores used (CPU seconds of all processes / wall seconds).
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignment", default="01_neurons")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", nargs="+", default=["sandbox", "no-sandbox", "spawn"])
    args = parser.parse_args()
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
