"""The student's process: runs a submission's cells and answers the grader's calls.

Everything here runs next to untrusted code, so nothing here decides anything: it
executes what the grading side asks and sends back plain data (see `protocol`). The
student's code can tamper with this module as much as it likes; the worst it can do is
send wrong plain data, which the grading side judges like any other wrong answer.

Run as `python -m grader.engine.worker --fd N` (serve one connection on an inherited
socket) or `--zygote FD` (a warm fork server: torch is imported once, and each
submission gets a fresh fork of this process; see `launcher`).
"""

from __future__ import annotations

import argparse
import base64
import builtins
import linecache
import marshal
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.engine import protocol

OUTPUT_LIMIT = 8_000  # characters of a cell's or a call's output sent back
CELL_FILENAME = "<célula {}>"


class TimeLimit(BaseException):
    """Raised inside student code when its time is up (BaseException: `except Exception`
    in student code does not swallow it)."""


def _on_alarm(signum, frame):
    raise TimeLimit()


class CappedWriter:
    """A stdout/stderr replacement that keeps only the first OUTPUT_LIMIT characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = False

    def write(self, text) -> int:
        text = str(text)
        if self.size < OUTPUT_LIMIT:
            self.parts.append(text[: OUTPUT_LIMIT - self.size])
            self.size += len(self.parts[-1])
        if self.size >= OUTPUT_LIMIT:
            self.dropped = True
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def getvalue(self) -> str:
        return "".join(self.parts) + ("\n[... saída cortada ...]" if self.dropped else "")


def _describe_error(exc: BaseException) -> dict:
    """Type, message and the student's line where it happened."""
    try:
        message = str(exc)
    except BaseException:
        message = ""
    info: dict[str, Any] = {"type": type(exc).__name__, "message": message[:2000]}
    if isinstance(exc, SyntaxError):
        info["line"] = exc.lineno
        info["code"] = (exc.text or "").strip()[:300]
        cell = _cell_of(exc.filename or "")
        if cell is not None:
            info["cell"] = cell
            # not str(exc), which ends in "(<célula N>, line M)": describe_error says where, in the student's language
            info["message"] = str(exc.msg)[:2000]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _cell_of(f.filename) is not None]
    if frames:
        last = frames[-1]
        info.update(cell=_cell_of(last.filename), line=last.lineno, code=(last.line or "")[:300])
        info["traceback"] = "".join(traceback.format_list(frames))[-4000:]
    return info


def _cell_of(filename: str) -> int | None:
    prefix, suffix = CELL_FILENAME.split("{}")
    if filename.startswith(prefix) and filename.endswith(suffix):
        try:
            return int(filename[len(prefix) : -len(suffix)])
        except ValueError:
            return None
    return None


CPU_SECONDS = 900  # per student process; the grader's wall-clock limits are tighter
FILE_BYTES = 64 * 1024 * 1024
OPEN_FILES = 512
ADDRESS_SPACE_BYTES = 16 * 1024**3  # only without a GPU: CUDA reserves huge virtual ranges


def apply_limits() -> None:
    """rlimits for one student process (set after the fork: they bound this process only).
    Processes and total memory are bounded by the sandbox's cgroups (see sandbox.Cgroups)."""
    import glob
    import resource

    def cap(which, value):
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CPU, CPU_SECONDS)
    cap(resource.RLIMIT_FSIZE, FILE_BYTES)
    cap(resource.RLIMIT_NOFILE, OPEN_FILES)
    cap(resource.RLIMIT_CORE, 0)
    if not glob.glob("/dev/nvidia*"):
        cap(resource.RLIMIT_AS, ADDRESS_SPACE_BYTES)


def _clean_sandbox() -> None:
    """Inside the sandbox's own pid namespace and /tmp only: end every other process
    (whatever the last submission left running) and wipe /tmp."""
    try:
        os.kill(-1, signal.SIGKILL)  # all we may signal but ourselves and the namespace's init
    except ProcessLookupError:
        pass
    for entry in os.listdir("/tmp"):
        path = os.path.join("/tmp", entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _prepare_process() -> None:
    """Before torch is imported: one thread per student process (determinism, fairness,
    and a fork-safe zygote: no OpenMP pool exists when it forks)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["GRADER_CHILD"] = "1"  # grader.kit's self-checks do nothing while grading


class Worker:
    """Answers requests against one namespace. Over a socket in the student's process
    (`serve`), or called directly (`handle`) for a notebook's in-kernel self-checks."""

    def __init__(self, sock: socket.socket | None = None, namespace: dict | None = None) -> None:
        self.sock = sock
        if namespace is None:
            namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.namespace: dict[str, Any] = namespace
        self.handles: dict[int, Any] = {}
        # name -> a reference's compiled code. It arrives as bytecode (see session._compile),
        # never as source text that student code could find and print.
        self.references: dict[str, Any] = {}
        self.scratch: str | None = None  # the working folder op_init made

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        handler = getattr(self, f"op_{op}", None)
        try:
            previous = signal.signal(signal.SIGALRM, _on_alarm)
        except ValueError:  # not the main thread (an unusual kernel): no time limit then
            previous = None
        try:
            reply = {"status": "bad-request"} if handler is None else handler(request)
        finally:
            if previous is not None:
                signal.signal(signal.SIGALRM, previous)
        reply["id"] = request.get("id")
        return reply

    # -- plumbing ---------------------------------------------------------------
    def serve(self, gpu_memory_fraction: float = 0.9) -> None:
        assert self.sock is not None
        # Only a student process caps its GPU memory: never a notebook's own kernel (self-checks).
        self._cap_gpu_memory(gpu_memory_fraction)
        protocol.send_message(self.sock, {"hello": os.getpid()})
        while True:
            try:
                request = protocol.recv_message(self.sock)
            except (protocol.ChannelClosed, protocol.ProtocolError) as exc:
                print(f"worker: channel ended: {exc!r}", file=sys.__stderr__)
                return
            op = request.get("op")
            if op == "run_cells":  # one request, an answer per cell as it ends (the grader times each)
                for cell in request.get("cells") or []:
                    if isinstance(cell, dict):
                        self._answer(request, self.handle({**cell, "op": "run_cell", "id": request.get("id")}))
                continue
            self._answer(request, self.handle(request))
            if op == "exit":
                return

    def _answer(self, request: dict, reply: dict) -> None:
        try:
            protocol.send_message(self.sock, reply)
        except protocol.ProtocolError:
            protocol.send_message(self.sock, {"id": request.get("id"), "status": "too-large"})

    def _run_student(self, fn, timeout: float):
        """Run fn() with stdout/stderr captured and a time limit; return (ok, value, output)."""
        out = CappedWriter()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
        try:
            try:
                return True, fn(), out
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except TimeLimit:
            return False, {"type": "TimeLimit", "message": f"{timeout:g}"}, out
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the run goes on
            signal.setitimer(signal.ITIMER_REAL, 0)
            return False, _describe_error(exc), out
        finally:
            sys.stdout, sys.stderr = saved

    def _seed(self, seed: int | None) -> None:
        if seed is None:
            return
        import torch

        random.seed(seed)
        np.random.seed(seed % 2**32)
        if torch.cuda.is_available() and not torch.cuda.is_initialized():
            torch.manual_seed(seed)  # CUDA not started yet: torch queues the seed for its start
        else:
            # torch.manual_seed's effect without its cost: before CUDA starts (and forever on a
            # machine without it) it formats the call stack for each backend's lazy seed, about
            # 0.3 ms a call, hundreds of calls per submission.
            torch.default_generator.manual_seed(seed)
            if torch.cuda.is_initialized():
                torch.cuda.manual_seed_all(seed)

    # -- operations -------------------------------------------------------------
    def op_init(self, request: dict) -> dict:
        # A scratch folder of its own: the student's files never land where the grader works.
        self.scratch = tempfile.mkdtemp(prefix="aluno-")
        os.chdir(self.scratch)
        self._seed(request.get("seed", 0))
        return {"status": "ok"}

    def op_ping(self, request: dict) -> dict:
        return {"status": "ok"}

    def op_exit(self, request: dict) -> dict:
        if self.scratch:
            os.chdir("/")
            shutil.rmtree(self.scratch, ignore_errors=True)
        return {"status": "ok"}

    def op_run_cell(self, request: dict) -> dict:
        index = int(request["index"])
        source = str(request["source"])
        filename = CELL_FILENAME.format(index)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)

        def run():
            code = compile(source, filename, "exec")
            exec(code, self.namespace)

        ok, value, out = self._run_student(run, float(request.get("timeout", 30)))
        reply = {"status": "ok" if ok else "error", "output": out.getvalue()}
        if not ok:
            reply["error"] = value
        return reply

    def _decode_arg(self, data: Any, device: str | None) -> Any:
        import torch

        def make_tensor(array: np.ndarray | None, meta: dict):
            if array is None:  # a tensor on `meta` (shape and dtype, no data): it stays there
                return protocol.meta_tensor(meta)
            if meta.get("contiguous") is False and array.ndim >= 2:
                t = torch.from_numpy(np.asfortranarray(array))  # same values, transposed strides
            else:
                t = torch.from_numpy(array.copy())
            dtype = protocol._dtype_from_name(meta["dtype"])
            t = t.to(dtype)
            if device is not None:
                t = t.to(device)
            if meta.get("requires_grad"):
                t.requires_grad_(True)
            return t

        return protocol.decode(data, tensor=make_tensor, handle=lambda i, _t: self.handles[i])

    def _keep(self, obj: Any) -> int:
        handle = len(self.handles) + 1
        self.handles[handle] = obj
        return handle

    def _resolve(self, target: dict):
        if "handle" in target:
            obj = self.handles[int(target["handle"])]
        else:
            name = str(target["name"])
            if name not in self.namespace:
                return False, None
            obj = self.namespace[name]
        for attr in target.get("attrs", []):
            obj = getattr(obj, str(attr))
        return True, obj

    def _take_references(self, request: dict) -> list[str]:
        """The names to swap in for this call. References arrive once, with the first
        request that needs them, as marshalled bytecode; the payload is removed from the
        request, which stays reachable from the student's frames."""
        swap = request.pop("swap", None) or {}
        for name, payload in swap.items():
            if payload is not None:
                self.references[name] = marshal.loads(base64.b64decode(payload))
        return list(swap)

    def _install_references(self, names: list[str]) -> dict:
        """Bind reference versions of other exercises in the student's namespace.

        Each reference is the code of that one definition, executed with the student's
        namespace as its globals, so it calls whatever the namespace holds (other
        references, while they are swapped in)."""
        saved = {name: self.namespace.get(name, _MISSING) for name in names}
        for name in names:
            exec(self.references[name], self.namespace)
        return saved

    def _restore(self, saved: dict) -> None:
        for name, value in saved.items():
            if value is _MISSING:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = value

    def op_get(self, request: dict) -> dict:
        return self.op_call({**request, "get": True})

    @staticmethod
    def _cap_gpu_memory(fraction: float) -> None:
        """Cap this process's share of GPU memory the moment CUDA starts in it, whoever starts
        it: a grader's device, a device the student's function receives as an argument, or the
        student's own `.cuda()` (PyTorch runs queued calls at its lazy CUDA initialisation; the
        zygote never initialises CUDA). Cooperative: student code could raise it again. The
        fraction comes from the batch's LaunchSettings (the grader divides the GPU among its jobs)."""
        import torch

        fraction = min(max(fraction, 0.05), 1.0)

        def cap() -> None:
            for index in range(torch.cuda.device_count()):
                torch.cuda.set_per_process_memory_fraction(fraction, index)

        torch.cuda._lazy_call(cap)

    def op_call(self, request: dict) -> dict:
        prepared = self._prepare_call(
            request,
            lambda device: (
                [self._decode_arg(a, device) for a in request.get("args", [])],
                self._decode_arg(request.get("kwargs", {"$dict": []}), device),
            ),
        )
        if isinstance(prepared, dict):
            return prepared
        swap, (args, kwargs), obj = prepared
        keep = self._keep if request.get("keep") else None
        trace = {"ops": set(), "backward": False} if request.get("trace_ops") else None
        saved = self._install_references(swap)
        try:
            self._seed(request.get("seed"))

            def run():
                if request.get("get"):
                    value = obj
                elif trace is not None:
                    value = _traced_call(obj, args, kwargs, trace)
                else:
                    value = obj(*args, **kwargs)
                if request.get("keep") == "whole" and value is not None:
                    # the result itself stays here (a list of parameters, an optimizer...): its
                    # items' identity is what the grader's inspection code looks at
                    encoded = {"$handle": self._keep(value), "type": protocol._type_name(value)}
                else:
                    encoded = protocol.encode(value, keep=keep)
                if request.get("return_args"):  # lets the grader see whether inputs changed
                    return {"$tuple": [encoded, protocol.encode(args), protocol.encode(kwargs)]}
                return encoded

            if not request.get("get") and not callable(obj):
                return {"status": "not-callable", "type": protocol._type_name(obj)}
            ok, value, out = self._run_student(run, float(request.get("timeout", 10)))
        finally:
            self._restore(saved)
        reply = {"status": "ok" if ok else "error", "output": out.getvalue()}
        reply["value" if ok else "error"] = value
        if trace is not None:
            reply["trace"] = {"ops": sorted(trace["ops"]), "backward": trace["backward"]}
        return reply

    def op_call_many(self, request: dict) -> dict:
        """`op_call` for each argument list of `batch`, in order, in one round trip: the same
        seed, references and time limit per call; each reply carries the arguments after the
        call (the grader checks them). The first call that fails ends the batch: its error is
        the reply, with `index` saying which call it was."""
        prepared = self._prepare_call(
            request, lambda device: [[self._decode_arg(a, device) for a in args] for args in request.get("batch", [])]
        )
        if isinstance(prepared, dict):
            return prepared
        swap, batch, obj = prepared
        if not callable(obj):
            return {"status": "not-callable", "type": protocol._type_name(obj)}
        values, output = [], []
        saved = self._install_references(swap)
        try:
            for index, args in enumerate(batch):
                self._seed(request.get("seed"))

                def run(args=args):
                    value = obj(*args)
                    return {"$tuple": [protocol.encode(value), protocol.encode(args), protocol.encode({})]}

                ok, value, out = self._run_student(run, float(request.get("call_timeout", 10)))
                output.append(out.getvalue())
                if not ok:
                    return {"status": "error", "error": value, "index": index, "output": "".join(output)}
                values.append(value)
        finally:
            self._restore(saved)
        return {"status": "ok", "value": values, "output": "".join(output)}

    def _prepare_call(self, request: dict, decode: Callable[[str | None], Any]) -> dict | tuple:
        """What `op_call` and `op_call_many` do before running student code: take the reference
        swap out of the request, decode the arguments on the request's device (`decode`) and
        resolve the target. Returns an error reply, or (swap, decoded arguments, target)."""
        swap = self._take_references(request)
        try:
            decoded = decode(request.get("device"))
            target = request.get("target") or {"name": request["name"]}
        except (protocol.ProtocolError, KeyError, TypeError, ValueError) as exc:
            return {"status": "bad-request", "message": str(exc)}
        found, obj = self._resolve_safely(target)
        if not found:
            return {"status": "missing"}
        return swap, decoded, obj

    def _resolve_safely(self, target: dict):
        try:
            return self._resolve(target)
        except Exception:
            return False, None

    def op_build(self, request: dict) -> dict:
        """Run grader-provided code (a builder, or an inspection of a kept object) in a
        namespace of its own, not the student's. With `keep`, objects in its result stay
        here as handles; without, they come back as opaque descriptions."""
        scope: dict[str, Any] = {"__name__": "grader_builder"}
        try:
            self._seed(request.get("seed"))
            exec(compile(str(request["source"]), "<grader>", "exec"), scope)
            args = [self._decode_arg(a, request.get("device")) for a in request.get("args", [])]
            obj = scope[str(request["function"])](*args)
        except Exception as exc:
            return {"status": "error", "error": _describe_error(exc)}
        return {"status": "ok", "value": protocol.encode(obj, keep=self._keep if request.get("keep", True) else None)}


_MISSING = object()


def _traced_call(fn, args: list, kwargs: dict, trace: dict):
    """fn(*args, **kwargs) under a dispatch mode that records which ATen operators ran
    (whatever Python name reached them) and whether autograd ran a backward pass. Plain
    data for the grader, which decides what it means (e.g. no convolution operator)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # Otherwise torch wraps __torch_dispatch__ in dynamo's `disable`, which imports
            # torch._dynamo (800 modules, sympy's included: 3 to 6 s) in each student process
            # on its first traced call. Nothing here is ever compiled.
            return False

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            trace["ops"].add(str(func.overloadpacket.__name__))
            if torch._C._current_graph_task_id() != -1:  # inside the autograd engine
                trace["backward"] = True
            return func(*args, **(kwargs or {}))

    with Recorder():
        return fn(*args, **kwargs)


def _serve_fd(fd: int, gpu_memory_fraction: float) -> None:
    sock = socket.socket(fileno=fd)
    Worker(sock).serve(gpu_memory_fraction)


# What every student process imported for itself (01_neurons, measured): numpy.random for the
# seeding, the course kit for the notebook's first cell, the operator trace's dispatch mode
# (with a module torch imports on its first use), rlimits. The zygote imports them once, so
# that a submission does not pay about 15 ms for them.
ZYGOTE_PRELOAD = (
    "numpy.random",
    "resource",
    "grader.kit",
    "grader.kit.figures",
    "torch.utils._python_dispatch",
    "torch._subclasses.schema_check_mode",
)


def _zygote(
    control_fd: int, sandboxed: bool = False, gpu_memory_fraction: float = 0.9, preload: tuple[str, ...] = ()
) -> None:
    """Fork server: each request on the control socket gets a fresh forked worker.
    `sandboxed`: running inside bwrap, where cleaning up between submissions is safe.
    `preload`: the assignment's modules, imported here once rather than in each worker
    (still single-threaded after them: _prepare_process capped the numeric libraries' pools)."""
    import importlib

    # A module that asks torch.cuda.is_available() on import must not start CUDA's driver
    # here (cudaGetDeviceCount does): a forked worker could not use CUDA then. NVML answers
    # instead, without starting it.
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    import torch

    torch.set_num_threads(1)
    for name in (*ZYGOTE_PRELOAD, *preload):
        try:
            importlib.import_module(name)
        except Exception:  # gone (a private torch module in another release) or broken: paid per worker, as before
            pass
    control = socket.socket(fileno=control_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked workers are reaped automatically
    while True:
        try:
            request = control.recv(64)
        except OSError:
            return
        if not request:
            return  # the grading process is gone
        if sandboxed:
            _clean_sandbox()
        ours, theirs = socket.socketpair()
        # The grading side learns the worker's pid from the kernel (see launcher.read_hello).
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        try:
            pid = os.fork()
        except OSError:  # e.g. the sandbox's process limit, until the last submission's processes are gone
            ours.close()
            theirs.close()
            control.sendall(b"retry")
            continue
        if pid == 0:
            control.close()
            ours.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            apply_limits()
            code = 0
            try:
                Worker(theirs).serve(gpu_memory_fraction)
            except BaseException:
                traceback.print_exc()  # reaches GRADER_WORKER_STDERR when debugging
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        socket.send_fds(control, [str(pid).encode()], [ours.fileno()])
        ours.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="grader.engine.worker")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--fd", type=int)
    group.add_argument("--zygote", type=int)
    parser.add_argument("--sandboxed", action="store_true", help="inside bwrap: clean up between workers")
    parser.add_argument("--gpu-memory-fraction", type=float, default=0.9, help="each student process's GPU share")
    parser.add_argument("--preload", default="", help="modules the fork server imports for its workers (a,b,c)")
    args = parser.parse_args(argv)
    _prepare_process()
    if args.zygote is not None:
        _zygote(args.zygote, args.sandboxed, args.gpu_memory_fraction, tuple(filter(None, args.preload.split(","))))
    else:
        import torch

        torch.set_num_threads(1)
        apply_limits()
        _serve_fd(args.fd, args.gpu_memory_fraction)


if __name__ == "__main__":
    main()
