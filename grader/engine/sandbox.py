"""The bubblewrap sandbox around the student's processes.

The warm fork server (see `launcher`) runs inside one `bwrap` per grading process, and
every submission's worker is a fork of it, so the sandbox costs nothing per submission.
Inside:

- no network (a new, empty network namespace), its own pid, IPC and UTS namespaces;
- a read-only view of the system; a size-limited tmpfs on /tmp, wiped between submissions;
- the course folder replaced by an empty tmpfs, with only what a student's notebook may
  import bound back read-only (`grader/__init__.py`, `grader/i18n.py`, `grader/engine/`,
  `grader/kit/`) plus the Python environment when it lives there: no hidden tests, no
  solutions, no source notebooks, no results, no other student's files (submissions reach
  the worker as text over its socket);
- uid 65534 and no capabilities; `--die-with-parent`, so nothing outlives the grader;
- between submissions the fork server kills every other process in its pid namespace,
  so nothing a submission left running meets the next one.

Per worker, `worker.apply_limits` adds rlimits (CPU time, address space on CPU-only
machines, file size, open files). Where bubblewrap is missing or cannot create user
namespaces, grading falls back to plain processes with a loud warning, and results.json
says so (`extra_data.isolation`).
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TMP_BYTES = 256 * 1024 * 1024
SANDBOX_UID = 65534
HIDE_ENV = "GRADER_SANDBOX_HIDE"  # more folders to hide (os.pathsep-separated): submissions, results
# What the student's process may import from the course folder.
PUBLIC_PATHS = ("grader/__init__.py", "grader/i18n.py", "grader/engine", "grader/kit")


def course_folder() -> Path:
    return Path(__file__).resolve().parent.parent.parent


@functools.lru_cache(maxsize=None)
def bwrap_problem() -> str | None:
    """None when bubblewrap works here, else why not."""
    if os.environ.get("GRADER_SANDBOX", "bwrap") == "none":
        return "disabled by GRADER_SANDBOX=none"
    binary = shutil.which("bwrap")
    if binary is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        probe = subprocess.run([binary, "--unshare-all", "--ro-bind", "/", "/", "--uid", str(SANDBOX_UID),
                                "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if probe.returncode != 0:
        return "bwrap cannot create namespaces here: " + probe.stderr.decode(errors="replace").strip()[:200]
    return None


def bwrap_prefix() -> list[str]:
    """The bwrap command line that runs the fork server (the worker command follows)."""
    root = course_folder()
    args = [
        shutil.which("bwrap") or "bwrap",
        # --as-pid-1: the fork server is the namespace's init, which no process inside can kill.
        "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--ro-bind", "/", "/",
        "--dev", "/dev", "--proc", "/proc",
        # GPUs: the device nodes, so student code on a CUDA machine sees the GPU.
        *[arg for node in sorted(glob.glob("/dev/nvidia*")) for arg in ("--dev-bind", node, node)],
        "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
        "--tmpfs", str(root),
    ]
    for relative in PUBLIC_PATHS:
        path = root / relative
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    for hidden in os.environ.get(HIDE_ENV, "").split(os.pathsep):
        path = Path(hidden).resolve() if hidden else None
        if path and path.is_dir() and path != Path("/") and not any(p == path or path in p.parents for p in prefixes):
            args += ["--tmpfs", str(path)]
    # The Python environment, wherever it lives (a virtualenv in the course folder or in /tmp).
    for prefix in prefixes:
        args += ["--ro-bind", str(prefix), str(prefix)]
    args += ["--chdir", "/tmp", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"]
    return args


CGROUP_ROOT = Path("/sys/fs/cgroup")
SANDBOX_PIDS = 256  # processes and threads in one sandbox
SANDBOX_MEMORY_BYTES = int(os.environ.get("GRADER_MEMORY_BYTES", 6 * 1024**3))


class Cgroups:
    """A pids and a memory cgroup (v1) for one sandbox, where this process may make them
    (root). rlimits cannot bound processes here: RLIMIT_NPROC does not apply to a sandbox
    whose user is root outside its namespace."""

    def __init__(self) -> None:
        name = f"grader-{os.getpid()}-{id(self):x}"
        self.paths = [CGROUP_ROOT / "pids" / name, CGROUP_ROOT / "memory" / name]
        self.active = False
        try:
            for path in self.paths:
                path.mkdir()
            (self.paths[0] / "pids.max").write_text(str(SANDBOX_PIDS))
            (self.paths[1] / "memory.limit_in_bytes").write_text(str(SANDBOX_MEMORY_BYTES))
            swap = self.paths[1] / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(SANDBOX_MEMORY_BYTES))
            self.active = True
        except OSError:
            self.remove()

    def join(self) -> None:
        """Move the calling process into the cgroups (run in the child, before exec)."""
        if self.active:
            for path in self.paths:
                (path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        """Remove the cgroups once their processes are gone (they die with the sandbox)."""
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def isolation_label(problem: str | None, cgroups: bool) -> str:
    """What results.json records: how student code was isolated (`problem`: why not bwrap)."""
    if problem is not None:
        return f"process (no sandbox: {problem})"
    return "bwrap+cgroups" if cgroups else "bwrap"
