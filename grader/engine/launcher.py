"""Starting student processes.

`ForkServer` keeps one warm zygote per grading process: it has imported torch once, and
every submission gets a fresh `fork()` of it, so a submission pays milliseconds, not the
1.5 s of `import torch`. A batch's coordinator starts the first grading processes' zygotes
itself (`hand_off_zygotes`), early, and each of those processes adopts one. `Spawner` starts a fresh interpreter per submission; it is the
fallback where fork is unavailable and the reference the benchmark compares against.

Both hand back a `Child`: a connected socket and a pid whose process group can be killed.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from grader.engine import sandbox

_warned: set[str] = set()

NO_SANDBOX = (
    "student code runs WITHOUT the bubblewrap sandbox ({problem}). It cannot change grades, but it can "
    "read files this user can read. Install bubblewrap (apt-get install bubblewrap)."
)
NO_LIMITS = (
    "student code runs WITHOUT cgroup limits ({problem}). A submission's memory and processes are bounded "
    "only by rlimits and time limits. Run the grader as root, or in a cgroup v2 subtree delegated to its user."
)


def _warn_once(message: str, problem: str) -> None:
    """A loud line on stderr, once per grading process for each kind of missing protection."""
    if message not in _warned:
        _warned.add(message)
        print(f"\n*** AVISO / WARNING: {message.format(problem=problem)} ***\n", file=sys.stderr)


@dataclass(frozen=True)
class LaunchSettings:
    """What a grading batch tells the launcher (from `GradeOptions`, never through the
    environment): folders the sandbox hides from student code (the submissions, the
    results), each student process's share of GPU memory (a fraction per device), and the
    modules the fork server imports once for all the student processes it forks (the
    assignment's `student_preload`)."""

    hidden: tuple[str, ...] = ()
    gpu_memory_fraction: float = 0.9
    preload: tuple[str, ...] = ()

    def worker_arguments(self) -> list[str]:
        preload = ["--preload", ",".join(self.preload)] if self.preload else []
        return ["--gpu-memory-fraction", f"{self.gpu_memory_fraction:.4f}", *preload]


class LaunchError(RuntimeError):
    """No student process could be started (the last one's leftovers still hold the sandbox)."""


@dataclass
class Child:
    pid: int
    sock: socket.socket
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def kill(self) -> None:
        """Kill the student's process and everything it started in its session."""
        for kill in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        if self.popen is not None:
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def exit_status(self) -> int | None:
        """Exit code (negative: killed by that signal), where this process can know it."""
        if self.popen is None:
            return None
        try:
            return self.popen.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return None


_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def read_hello(sock: socket.socket, timeout: float = 120) -> int:
    """Read the worker's first message and return its pid *as this process sees it*.

    The pid comes from the kernel (SCM_CREDENTIALS; the fork server enables SO_PASSCRED
    before forking), not from the message: inside the sandbox's pid namespace a worker's
    own idea of its pid means another process out here."""
    sock.settimeout(timeout)
    header, pid = b"", None
    try:
        while len(header) < 4:
            data, ancillary, _flags, _addr = sock.recvmsg(4 - len(header), socket.CMSG_SPACE(_CREDS.size))
            if not data:
                raise RuntimeError("student process closed before greeting")
            header += data
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and pid is None:
                    pid = _CREDS.unpack(payload[: _CREDS.size])[0]
        size = struct.unpack(">I", header)[0]
        body = b""
        while len(body) < size:
            chunk = sock.recv(size - len(body))
            if not chunk:
                raise RuntimeError("student process closed before greeting")
            body += chunk
    finally:
        sock.settimeout(None)
    if b"hello" not in body:
        raise RuntimeError("student process did not greet")
    if pid is None or pid <= 0:
        raise RuntimeError("student process sent no credentials")
    return pid


def _worker_stderr():
    """Student processes' stderr: discarded, unless GRADER_WORKER_STDERR names a file
    (for debugging the engine; student output is captured separately)."""
    path = os.environ.get("GRADER_WORKER_STDERR")
    return open(path, "ab") if path else subprocess.DEVNULL


# What of the grader's environment a student process gets: what Python, the locale, the
# numeric libraries and the GPU read. Nothing else: the grader may run where its environment
# holds credentials (a JupyterHub's API token, a cloud's keys, a CI token) that student code
# could print into its own feedback.
_ENV_NAMES = {"PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "MPLBACKEND"}
_ENV_PREFIXES = ("LC_", "PYTHON", "GRADER_", "CUDA_", "NVIDIA_", "CUBLAS_", "CUDNN_", "TORCH_", "PYTORCH_")
_ENV_PREFIXES += ("OMP_", "MKL_", "KMP_", "GOMP_", "OPENBLAS_")
# the course secret (grader.personal) seeds every student's numbers: never student code's
_ENV_NEVER = {"GRADER_SECRET"}


def _worker_env() -> dict:
    env = {
        k: v for k, v in os.environ.items() if (k in _ENV_NAMES or k.startswith(_ENV_PREFIXES)) and k not in _ENV_NEVER
    }
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"  # determinism: set iteration order is part of behaviour
    return env


def _start_worker(
    arguments: list[str],
    channel: socket.socket,
    sandboxed: bool = False,
    cgroups: sandbox.Cgroups | None = None,
    hidden: tuple[str, ...] = (),
    user: int | None = None,
) -> subprocess.Popen:
    """`python -m grader.engine.worker ARGUMENTS` (inside bwrap, with `hidden` folders out
    of sight, if sandboxed; in `cgroups` if given; as uid and gid `user` if given, with no
    supplementary groups), handed the worker's end of `channel`, which is closed here."""
    command = [sys.executable, "-m", "grader.engine.worker", *arguments]
    if sandboxed:
        command = sandbox.bwrap_prefix(hidden) + command
    env = _worker_env()
    if user is not None:  # root's home and working folder are not the student's
        env["HOME"] = env.get("TMPDIR", "/tmp")
    popen = subprocess.Popen(
        command,
        pass_fds=[channel.fileno()],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=_worker_stderr(),
        env=env,
        start_new_session=True,
        # Run in the forked child before exec, in a process that may have threads (a batch's
        # coordinator: multiprocessing's resource sharer, the report's imports): safe because
        # `join` only writes a file (no import, no lock of ours); keep it so.
        preexec_fn=cgroups.join if cgroups and cgroups.active else None,
        cwd="/" if user is not None else None,
        **({"user": user, "group": user, "extra_groups": []} if user is not None else {}),
    )
    channel.close()
    return popen


class Spawner:
    """A fresh interpreter per student process, without the sandbox (the benchmark's
    baseline, and the fallback where fork is unavailable)."""

    name = "spawn"
    isolation = "process (no sandbox: spawn launcher)"

    def start(self, settings: LaunchSettings = LaunchSettings()) -> Child:
        ours, theirs = socket.socketpair()
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        popen = _start_worker(["--fd", str(theirs.fileno()), *settings.worker_arguments()], theirs)
        read_hello(ours)
        return Child(popen.pid, ours, popen)

    def prepare(self, settings: LaunchSettings = LaunchSettings()) -> None:
        pass  # nothing is kept warm

    def close(self) -> None:
        pass


@dataclass
class ZygoteHandle:
    """A sandboxed zygote started by one process and used by another: the batch's coordinator
    starts the grading processes' zygotes while multiprocessing's fork server imports torch
    for the grading processes themselves, so that the three imports share the cores instead
    of following one another (see `executors.LocalExecutor`)."""

    control: socket.socket
    pid: int  # the coordinator's child: the coordinator alone waits for it
    settings: LaunchSettings
    isolation: str


class ForkServer:
    name = "fork-server"

    def __init__(self, sandboxed: bool | None = None) -> None:
        problem = sandbox.bwrap_problem() if sandboxed is not False else "not requested"
        self.sandboxed = problem is None
        # GRADER_SANDBOX=auto without bubblewrap (a platform's container): an unprivileged user.
        self.user = None if self.sandboxed else sandbox.fallback_user()
        self.cgroups = sandbox.Cgroups() if self.sandboxed else None
        if self.cgroups is not None:
            atexit.register(self.shutdown)
            # Pool workers of multiprocessing leave through os._exit, which skips atexit.
            multiprocessing.util.Finalize(self, self.shutdown, exitpriority=10)
        self.isolation = sandbox.isolation_label(problem, self.cgroups)
        if self.cgroups is not None and not self.cgroups.active:
            _warn_once(NO_LIMITS, self.cgroups.problem)
        if sandboxed is None and problem is not None and sandbox.sandbox_mode() != "auto":
            _warn_once(NO_SANDBOX, problem)
        elif sandboxed is None and problem is not None:  # asked for: a note, not an alarm
            print(f"[grader] {self.isolation}", file=sys.stderr)
        self._own_isolation = self.isolation
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._zygote: subprocess.Popen | None = None
        self._adopted: int | None = None  # the pid of a zygote another process started (`adopt`)
        self._settings: LaunchSettings | None = None

    def _ensure_zygote(self, settings: LaunchSettings) -> socket.socket:
        # An adopted zygote is not our child: its death shows as a failed request in `start`,
        # which closes it and comes back here for one of our own.
        alive = self._adopted is not None or (self._zygote is not None and self._zygote.poll() is None)
        if self._control is not None and alive and settings == self._settings:
            return self._control
        self._settings = settings  # another batch's settings (folders to hide, GPU share): a new sandbox
        self.close()
        ours, theirs = socket.socketpair()
        arguments = ["--zygote", str(theirs.fileno()), *settings.worker_arguments()]
        arguments += ["--sandboxed"] if self.sandboxed else []
        self._zygote = _start_worker(
            arguments, theirs, sandboxed=self.sandboxed, cgroups=self.cgroups, hidden=settings.hidden, user=self.user
        )
        self._control = ours
        return ours

    def prepare(self, settings: LaunchSettings = LaunchSettings()) -> None:
        """Start the zygote now, without waiting for it: `start` waits."""
        with self._lock:
            self._ensure_zygote(settings)

    def hand_off(self, settings: LaunchSettings) -> ZygoteHandle:
        """Start a zygote for another process to `adopt`; this one keeps it only to kill and
        wait for it at `close` (its control socket goes with the handle: pickle the handle,
        then `release` this process's copy, so that the zygote ends when its user does)."""
        with self._lock:
            control = self._ensure_zygote(settings)
            assert self._zygote is not None
            return ZygoteHandle(control, self._zygote.pid, settings, self.isolation)

    def release(self) -> None:
        """Close this process's end of a handed-off zygote's control socket (see `hand_off`)."""
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None

    def adopt(self, handle: ZygoteHandle) -> None:
        """Use a zygote another process started (`hand_off`) until it dies; then our own."""
        with self._lock:
            self.close()
            self._control, self._adopted, self._settings = handle.control, handle.pid, handle.settings
            self.isolation = handle.isolation

    def start(self, settings: LaunchSettings = LaunchSettings()) -> Child:
        with self._lock:
            restarts = 0
            for _ in range(40):  # a fork refused for a moment is retried for up to 4 s
                control = self._ensure_zygote(settings)
                try:
                    control.sendall(b"fork")
                    control.settimeout(120)  # the zygote's first answer waits for `import torch`
                    message, fds, _flags, _addr = socket.recv_fds(control, 64, 1)
                    control.settimeout(None)
                except OSError:
                    message, fds = b"", []
                if message and fds:
                    sock = socket.socket(fileno=fds[0])
                    return Child(read_hello(sock), sock)
                if message == b"retry":  # fork refused for now (process limit): wait for it to drain
                    time.sleep(0.1)
                    continue
                restarts += 1
                if restarts > 2:
                    break
                self.close()  # the zygote died (or was killed): start a new one
            raise LaunchError("could not start a student process")

    def shutdown(self) -> None:
        self.close()
        if self.cgroups is not None:
            self.cgroups.remove()

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._adopted is not None:
            try:  # its parent, the coordinator, waits for it
                os.kill(self._adopted, signal.SIGKILL)
            except OSError:
                pass
            self._adopted = None
            self.isolation = self._own_isolation
        if self._zygote is not None:
            try:
                self._zygote.kill()
                self._zygote.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._zygote = None


def hand_off_zygotes(count: int, settings: LaunchSettings) -> tuple[list[ForkServer], list[bytes]]:
    """`count` zygotes started here for grading processes to adopt (`adopt_zygote`), each
    pickled for multiprocessing (the control socket travels through its resource sharer,
    once), with the servers that started them: shut those down once the grading processes
    are gone. None where student processes are spawned."""
    from multiprocessing.reduction import ForkingPickler

    if count < 1 or _launcher_kind() == "spawn":
        return [], []
    servers = [ForkServer() for _ in range(count)]
    handles = [server.hand_off(settings) for server in servers]
    payloads = [bytes(ForkingPickler.dumps(handle)) for handle in handles]
    for server in servers:
        server.release()
    return servers, payloads


def adopt_zygote(payload: bytes) -> None:
    """In a grading process: use the zygote `hand_off_zygotes` pickled into `payload`."""
    from multiprocessing.reduction import ForkingPickler

    launcher = default_launcher()
    if isinstance(launcher, ForkServer):
        launcher.adopt(ForkingPickler.loads(payload))


def _launcher_kind() -> str:
    kind = os.environ.get("GRADER_LAUNCHER", "fork-server")
    return "spawn" if kind == "spawn" or not hasattr(os, "fork") else "fork-server"


_default: ForkServer | Spawner | None = None


def default_launcher() -> ForkServer | Spawner:
    """The launcher this grading process shares across its submissions."""
    global _default
    if _default is None:
        _default = Spawner() if _launcher_kind() == "spawn" else ForkServer()
    return _default
