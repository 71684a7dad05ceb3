"""The bubblewrap sandbox around the student's processes.

The warm fork server (see `launcher`) runs inside one `bwrap` per grading process, and
every submission's worker is a fork of it, so the sandbox costs nothing per submission.
Inside:

- no network (a new, empty network namespace), its own pid, IPC and UTS namespaces;
- a read-only view of the system's own folders (`SYSTEM_PATHS`: /usr, /lib, /sys...; of /etc
  only `ETC_ENTRIES`) and of the Python environment, and nothing else of the disk;
- a size-limited tmpfs on /tmp, wiped between submissions;
- of the course folder only what a student's notebook may import, read-only
  (`grader/__init__.py`, `grader/i18n.py`, `grader/engine/`, `grader/kit/`): no hidden
  tests, no solutions, no source notebooks, no gradebook, no results, no other student's
  files (submissions reach the worker as text over its socket);
- uid 65534 and no capabilities; `--die-with-parent`, so nothing outlives the grader;
- between submissions the fork server kills every other process in its pid namespace,
  so nothing a submission left running meets the next one.

Per worker, `worker.apply_limits` adds rlimits (CPU time, address space on CPU-only
machines, file size, open files); per sandbox, `Cgroups` bounds memory and processes where
this process may make cgroups (v1 or v2). Where bubblewrap is missing or cannot create
user namespaces, grading falls back to plain processes with a loud warning, and
results.json says so (`extra_data.isolation`), as it says which cgroup limits held.
"""

from __future__ import annotations

import errno
import functools
import glob
import itertools
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TMP_BYTES = 256 * 1024 * 1024
SANDBOX_UID = 65534
# What the student's process may import from the course folder.
PUBLIC_PATHS = ("grader/__init__.py", "grader/i18n.py", "grader/engine", "grader/kit")


def course_folder() -> Path:
    return Path(__file__).resolve().parent.parent.parent


# GRADER_SANDBOX: `bwrap` (the default: bubblewrap, else plain processes with a loud warning),
# `none` (no bubblewrap), or `auto` (inside a grading platform's container, Gradescope or
# PrairieLearn: bubblewrap where the container allows it, else student processes run as
# SANDBOX_UID with rlimits, and the container itself is the boundary, as results.json says).
SANDBOX_MODES = ("auto", "bwrap", "none")


def sandbox_mode() -> str:
    mode = os.environ.get("GRADER_SANDBOX", "bwrap")
    return mode if mode in SANDBOX_MODES else "bwrap"


@functools.cache
def fallback_user() -> int | None:
    """The uid student processes drop to where `auto` found no bubblewrap: SANDBOX_UID when
    this process is root (it can give its uid away) and that uid can start this Python with
    its packages (a Python under /root, say, it cannot), else None (they keep ours)."""
    if sandbox_mode() != "auto" or os.geteuid() != 0:
        return None
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"
    try:
        result = subprocess.run(
            [sys.executable, "-c", probe],
            user=SANDBOX_UID,
            group=SANDBOX_UID,
            extra_groups=[],
            cwd="/",
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return SANDBOX_UID if result.returncode == 0 else None


@functools.cache
def bwrap_problem() -> str | None:
    """None when bubblewrap works here, else why not."""
    if sandbox_mode() == "none":
        return "disabled by GRADER_SANDBOX=none"
    binary = shutil.which("bwrap")
    if binary is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        probe = subprocess.run(
            [binary, "--unshare-all", "--ro-bind", "/", "/", "--uid", str(SANDBOX_UID), "true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if probe.returncode != 0:
        return "bwrap cannot create namespaces here: " + probe.stderr.decode(errors="replace").strip()[:200]
    return None


# What the sandbox sees of the machine: the system (programs, libraries, /sys for the CPUs and
# GPUs), and nothing else of it. Every other folder (home folders, a course directory with
# its source notebooks and gradebook.db, another copy of the graders, data) is simply
# absent, wherever it is: hiding folders one by one from a view of the whole disk missed
# whatever nobody had thought of.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys")
# Of /etc, only what programs read to run (the dynamic linker's cache, the time zone, user
# names, the certificate store): a grader run as root maps root's files to the sandbox's
# user, so every root-only file it can see, /etc/shadow or an SSH host key, it can read.
ETC_ENTRIES = (
    *("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ld.so.preload", "alternatives"),
    *("localtime", "timezone", "passwd", "group", "nsswitch.conf", "hosts", "host.conf"),
    *("ssl/certs", "ca-certificates", "mime.types", "os-release", "lsb-release", "debian_version"),
)


def _system_binds() -> list[str]:
    """bwrap arguments for SYSTEM_PATHS and ETC_ENTRIES that exist here; a link (merged /usr's
    /lib -> usr/lib, /etc/localtime -> the zone's file) stays a link."""
    args: list[str] = []
    for path in [*SYSTEM_PATHS, *(f"/etc/{entry}" for entry in ETC_ENTRIES)]:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _inside(path: Path, folders) -> bool:
    return any(f == path or f in path.parents for f in folders)


def bwrap_prefix(hidden: tuple[str, ...] = ()) -> list[str]:
    """The bwrap command line that runs the fork server (the worker command follows);
    `hidden`: more folders to hide (a batch's submissions and results, the course)."""
    root = course_folder()
    args = [
        shutil.which("bwrap") or "bwrap",
        # --as-pid-1: the fork server is the namespace's init, which no process inside can kill.
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        *_system_binds(),
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        # GPUs: the device nodes, so student code on a CUDA machine sees the GPU.
        *[arg for node in sorted(glob.glob("/dev/nvidia*")) for arg in ("--dev-bind", node, node)],
        "--size",
        str(TMP_BYTES),
        "--tmpfs",
        "/tmp",
    ]
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    hidden_paths = [Path(f).resolve() for f in hidden if f]
    system = [Path(p).resolve() for p in SYSTEM_PATHS if os.path.isdir(p)]
    # The course folder, or a hidden one, that lies within the system's folders (a checkout
    # in /usr/src, say) is emptied; elsewhere it is absent already. (A Python environment
    # inside it is bound back below.)
    for path in [root, *hidden_paths]:
        if path.is_dir() and path != Path("/") and _inside(path, system):
            args += ["--tmpfs", str(path)]
    # The Python environment, wherever it lives (a virtualenv in the course folder or in /tmp),
    # and any other folder this Python imports from (a .pth naming another environment's
    # site-packages, as a --system-site-packages venv made from a venv has), but never the
    # course folder, a folder above it or inside it, or a hidden one; nor /tmp itself (a script
    # run from /tmp puts it on sys.path), which would cover the sandbox's own writable /tmp.
    # Likewise the folders of LD_LIBRARY_PATH (a GPU container's driver libraries, /opt/...).
    bound = set(prefixes)
    libraries = [e for e in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if os.path.isabs(e)]
    for entry in [*sys.path, *libraries]:
        path = Path(entry).resolve() if entry else None
        if (
            path is not None
            and path.is_dir()
            and path not in (Path("/"), Path("/tmp"))
            and not _inside(path, bound)
            and not (_inside(path, [root]) or path in root.parents)
            and not (_inside(path, hidden_paths) or any(path in h.parents for h in hidden_paths))
        ):
            bound.add(path)
    for folder in sorted(bound):
        args += ["--ro-bind", str(folder), str(folder)]
    # What a student's notebook may import from the course folder. A package installed into the
    # environment (a wheel, as on Gradescope and PrairieLearn) was just bound back whole, hidden
    # graders included: hide it again first.
    package = root / "grader"
    if _inside(package, bound):
        args += ["--tmpfs", str(package)]
    for relative in PUBLIC_PATHS:
        path = root / relative
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--chdir", "/tmp", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"]
    return args


CGROUP_ROOT = Path("/sys/fs/cgroup")
SANDBOX_PIDS = 256  # processes and threads in one sandbox
SANDBOX_MEMORY_BYTES = int(os.environ.get("GRADER_MEMORY_BYTES", 6 * 1024**3))
SUPERVISOR = "grader-supervisor"  # v2: the leaf our cgroup's processes move into
# Per layout and controller: the file that sets the limit, then files set too where the kernel has
# them (swap accounting may be off). v1's memsw bounds memory+swap; v2's swap.max bounds swap alone.
LIMIT_FILES = {
    "v1": {
        "pids": [("pids.max", SANDBOX_PIDS)],
        "memory": [
            ("memory.limit_in_bytes", SANDBOX_MEMORY_BYTES),
            ("memory.memsw.limit_in_bytes", SANDBOX_MEMORY_BYTES),
        ],
    },
    "v2": {
        "memory": [("memory.max", SANDBOX_MEMORY_BYTES), ("memory.swap.max", 0)],
        "pids": [("pids.max", SANDBOX_PIDS)],
    },
}
_serial = itertools.count()


def cgroup_layout(root: Path = CGROUP_ROOT) -> str | None:
    """'v2' (one unified hierarchy), 'hybrid' (v1 controllers beside a controller-less v2 tree
    at root/unified, as systemd's hybrid mode mounts them), 'v1', or None (no cgroups here)."""
    if (root / "cgroup.controllers").exists():
        return "v2"
    if (root / "unified" / "cgroup.controllers").exists():
        return "hybrid"
    if (root / "memory").is_dir() or (root / "pids").is_dir():
        return "v1"
    return None


ENABLE_ATTEMPTS = 5  # moves of base's processes into the leaf before giving up on cgroups


def _self_cgroup() -> str:
    return Path("/proc/self/cgroup").read_text()


def _write(path: Path, value: object) -> None:
    """Every cgroup file write goes through here (tests replace it to play the kernel's refusals)."""
    path.write_text(str(value))


def _why(exc: OSError) -> str:
    # Not str(exc): its file name holds our pid, and the label must read the same in every grading process.
    return exc.strerror or str(exc)


def _remove_stale(parent: Path) -> None:
    """The empty cgroups of grading processes that are gone (killed before they could
    remove their own): rmdir succeeds only on a cgroup without processes or children."""
    try:
        entries = list(parent.glob("grader-*-*"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            try:
                entry.rmdir()
            except OSError:
                pass  # still holds a process, or not ours to remove


class Cgroups:
    """The cgroups that bound one sandbox's memory and processes, where this process may make
    them (rlimits cannot bound processes here: RLIMIT_NPROC does not apply to a sandbox whose
    user is root outside its namespace). Never raises: `limits` names the limits in force,
    `problem` says why any is missing, and grading goes on without.

    v1, and hybrid hosts (whose memory and pids controllers are v1): a pids and a memory cgroup
    at the top of their hierarchies, which needs root.
    v2: one cgroup inside this process's own, which must be writable (root, or a subtree
    delegated to this user). A v2 cgroup either holds processes or hands controllers to its
    children, so where our cgroup holds processes they first move into its leaf
    `grader-supervisor` (left in place), then memory and pids are enabled for the children."""

    def __init__(self, root: Path = CGROUP_ROOT, self_cgroup: Callable[[], str] = _self_cgroup) -> None:
        # A random part too: a grading process killed with SIGKILL leaves its cgroup behind,
        # and a later process given the same pid must not collide with it (EEXIST).
        self.name = f"grader-{os.getpid()}-{next(_serial)}-{secrets.token_hex(3)}"
        self.paths: list[Path] = []  # joined by the sandbox, removed after it
        self.limits: list[str] = []  # controllers whose limits are in force
        self.problems: list[str] = []
        layout = cgroup_layout(root)
        self.version = "v2" if layout == "v2" else "v1"
        if layout is None:
            self.problems.append(f"no cgroup filesystem at {root}")
        elif layout == "v2":
            self._make_v2(root, self_cgroup)
        else:
            for controller in ("pids", "memory"):
                self._make(root / controller, [controller])
        if not self.limits:
            self.remove()

    @property
    def active(self) -> bool:
        return bool(self.limits)

    @property
    def problem(self) -> str:
        return "; ".join(self.problems)

    def _make(self, parent: Path, controllers: list[str]) -> None:
        """Our cgroup under `parent`, with the limits of `controllers`."""
        _remove_stale(parent)
        path = parent / self.name
        try:
            path.mkdir()
        except OSError as exc:
            self.problems.append(f"cannot make a cgroup in {parent}: {_why(exc)}")
            return
        self.paths.append(path)
        for controller in controllers:
            (name, value), *optional = LIMIT_FILES[self.version][controller]
            try:
                _write(path / name, value)
                for name, value in optional:
                    if (path / name).exists():
                        _write(path / name, value)
            except OSError as exc:
                self.problems.append(f"cannot set {name}: {_why(exc)}")
            else:
                self.limits.append(controller)

    def _make_v2(self, root: Path, self_cgroup: Callable[[], str]) -> None:
        try:
            own = next(line[3:] for line in self_cgroup().splitlines() if line.startswith("0::"))
        except (OSError, ValueError, StopIteration):
            self.problems.append("no cgroup v2 entry in /proc/self/cgroup")
            return
        base = root / own.strip().lstrip("/")
        if base.name == SUPERVISOR:  # an earlier sandbox moved us there
            base = base.parent
        try:
            wanted = [c for c in ("memory", "pids") if c in (base / "cgroup.controllers").read_text().split()]
            if not wanted:
                self.problems.append(f"no memory or pids controller for {base}")
                return
            if not set(wanted) <= set((base / "cgroup.subtree_control").read_text().split()):
                self._enable(base, wanted)
        except OSError as exc:
            self.problems.append(f"cannot set up cgroups in {base}: {_why(exc)}")
            return
        self._make(base, wanted)

    @staticmethod
    def _enable(base: Path, controllers: list[str]) -> None:
        """Hand `controllers` to the children of `base`; where the kernel refuses because
        `base` holds processes (EBUSY), move them into its leaf `grader-supervisor` first."""
        control = " ".join("+" + c for c in controllers)
        try:
            _write(base / "cgroup.subtree_control", control)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
        leaf = base / SUPERVISOR
        leaf.mkdir(exist_ok=True)
        # Retried: a process still in `base` may fork while we move the others (several grading
        # processes of one batch or one check set up their sandboxes at once), and its child
        # is born in `base` after we read cgroup.procs; seen as EBUSY on a GPU machine.
        for attempt in range(ENABLE_ATTEMPTS):
            for pid in (base / "cgroup.procs").read_text().split():
                try:
                    _write(leaf / "cgroup.procs", pid)
                except OSError:
                    pass  # gone meanwhile; one that cannot move makes the next write fail
            try:
                _write(base / "cgroup.subtree_control", control)
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY or attempt == ENABLE_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))

    def join(self) -> None:
        """Move the calling process into the cgroups (run in the child, before exec)."""
        if self.active:
            for path in self.paths:
                _write(path / "cgroup.procs", os.getpid())

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


def isolation_label(problem: str | None, cgroups: Cgroups | None) -> str:
    """What results.json records: how student code was isolated (`problem`: why not bwrap),
    and which cgroup limits were in force, e.g. `bwrap+cgroups(v2: memory, pids)`."""
    if problem is not None and sandbox_mode() == "auto":
        if fallback_user() is not None:
            who = f"as uid {SANDBOX_UID}"
        elif os.geteuid() == 0:
            who = f"as the grader's own user, root (uid {SANDBOX_UID} cannot start this Python)"
        else:
            who = "as the grader's own user"
        return f"container boundary: process {who} with rlimits (no bubblewrap: {problem})"
    if problem is not None:
        return f"process (no sandbox: {problem})"
    if cgroups is None or not cgroups.active:
        return f"bwrap (no cgroup limits: {cgroups.problem if cgroups else 'not set up'})"
    return f"bwrap+cgroups({cgroups.version}: {', '.join(sorted(cgroups.limits))})"
