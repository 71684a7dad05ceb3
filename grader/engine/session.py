"""The grading side's handle on one submission: a student process and its cells.

A `StudentSession` starts a student process, runs the submission's cells in it like
Run All, and then serves the graders' calls (`call`, `get`, handles). Every answer comes
back as plain data. When the student's process hangs or dies, the session kills it,
starts a fresh one, replays the cells that did not hang or crash, and goes on, so a
hang or a crash costs only the exercise that caused it.
"""

from __future__ import annotations

import base64
import functools
import json
import marshal
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from grader.engine import protocol
from grader.engine.launcher import LaunchError, LaunchSettings
from grader.engine.transport import ChildProcess
from grader.i18n import LocalizedError, Text

GRACE_SECONDS = 3.0  # past the student's own time limit, before the process is killed
MAX_RESTARTS = 4


# ----------------------------------------------------------------------- failures


class StudentFailure(LocalizedError):
    """Student code could not produce an answer (structured: the graders' side, not the
    engine, names the mistake behind it; see `grader.diagnosis.diagnosis_of`). `outcome`
    goes into results.json."""

    outcome = "error"
    hint: str | None = None  # the key of the mistake, where the failure itself names one
    text = Text(pt="Falha no código do aluno.", en="The student's code failed.")

    def __init__(self, name: str = "", **fields: Any) -> None:
        self.name = name
        super().__init__(None, name=name, **fields)


class NotAttempted(StudentFailure):
    outcome = "not_attempted"
    text = Text(
        pt="`{name}` ainda não foi feito: o código original (`raise NotImplementedError()`) continua lá.",
        en="`{name}` is not attempted yet: the placeholder (`raise NotImplementedError()`) is still there.",
    )


class NotDefined(StudentFailure):
    outcome = "not_attempted"
    text = Text(
        pt="`{name}` não está definido no seu notebook.",
        en="`{name}` is not defined in your notebook.",
    )
    because = Text(
        pt=" Talvez por causa de um erro numa célula: {error}", en=" Perhaps because of an error in a cell: {error}"
    )

    def render(self, lang: str = "pt") -> str:
        text = self.text.render(lang, name=self.name)
        error = self.fields.get("cell_error")
        return text + (self.because.render(lang, error=describe_error(error, lang)) if error else "")


class NotCallable(StudentFailure):
    text = Text(
        pt="`{name}` deveria ser uma função, mas é um valor do tipo `{type}`.",
        en="`{name}` should be a function, but it is a value of type `{type}`.",
    )


class StudentError(StudentFailure):
    """An exception in student code; `error` is its structured form (type, message, cell,
    line, code), or a string where there is no more to say."""

    text = Text(
        pt="Seu código gerou um erro: {error}",
        en="Your code raised an error: {error}",
    )

    @property
    def error(self) -> dict:
        """The exception as the student's process reported it (empty where there was none)."""
        error = self.fields.get("error")
        return error if isinstance(error, dict) else {}

    def render(self, lang: str = "pt") -> str:
        error = self.fields.get("error", "")
        return self.text.render(lang, error=describe_error(error, lang) if isinstance(error, dict) else error)


class StudentTimeout(StudentFailure):
    outcome = "timeout"
    text = Text(
        pt="`{name}` passou do tempo limite de {seconds:g} s (laço infinito, ou trabalho demais?).",
        en="`{name}` went past its time limit of {seconds:g} s (an endless loop, or too much work?).",
    )


class StudentCrash(StudentFailure):
    outcome = "crashed"
    text = Text(
        pt="O processo que rodava seu código terminou de repente durante `{name}` "
        "(`os._exit`, falta de memória ou uma falha grave). As outras questões foram avaliadas à parte.",
        en="The process running your code ended abruptly during `{name}` "
        "(`os._exit`, out of memory or a hard crash). The other exercises were graded separately.",
    )


class InputsModified(StudentFailure):
    """The student's function changed an argument the grader passed (the catalog: a
    function never changes its inputs in place, unless its contract says so)."""

    outcome = "failed"
    hint = "inputs_modified"
    text = Text(
        pt="`{name}` alterou o próprio argumento {where} (no lugar, in-place). Uma função não deve mudar "
        "seus argumentos: quem chamou ainda precisa deles. Trabalhe numa cópia (`x.clone()`, `list(x)`, "
        "`dict(x)`) ou crie valores novos (`x = x + 1` em vez de `x += 1`, `x.add(1)` em vez de `x.add_(1)`).",
        en="`{name}` changed its own argument {where} (in place). A function must not change its arguments: "
        "the caller still needs them. Work on a copy (`x.clone()`, `list(x)`, `dict(x)`) or make new values "
        "(`x = x + 1` instead of `x += 1`, `x.add(1)` instead of `x.add_(1)`).",
    )


class SubmissionTimeLimit(StudentFailure):
    outcome = "timeout"
    text = Text(
        pt="A entrega esgotou o tempo total de {seconds:g} s; `{name}` não pôde ser avaliado.",
        en="The submission used up its total time of {seconds:g} s; `{name}` could not be graded.",
    )


def describe_error(error: dict, lang: str = "pt") -> str:
    """One line about an exception from student code: type, message and where."""
    text = f"{error.get('type', 'Exception')}: {str(error.get('message', ''))[:500]}".rstrip(": ")
    if error.get("cell") is not None:
        where = Text(pt=" (célula {cell}, linha {line})", en=" (cell {cell}, line {line})")
        text += where.render(lang, cell=error["cell"], line=error.get("line", "?"))
    if error.get("code"):
        text += f"\n    {error['code']}"
    return text


def changed_input(before: Any, after: Any, device: str | None, where: str) -> str | None:
    """Where an argument the grader sent (`before`) differs from what the student's process
    held after the call (`after`, decoded plain data): None when it is unchanged. Values,
    shapes, dtypes, devices and container types count; objects kept as handles (models,
    optimizers handed to the student on purpose) do not."""
    import numpy as np
    import torch

    if isinstance(before, protocol.Handle):
        return None
    if isinstance(before, torch.Tensor):
        if (
            not isinstance(after, torch.Tensor)
            or tuple(after.shape) != tuple(before.shape)
            or after.dtype != before.dtype
        ):
            return where
        meta = protocol.tensor_meta(after)
        expected = str(device or before.device).split(":")[0]
        if meta is not None and meta.device.split(":")[0] != expected:
            return where
        if after.is_meta or before.is_meta:  # no values to compare: shape, dtype and device matched
            return None
        a, b = after.detach().cpu(), before.detach().cpu()
        if torch.equal(a, b):  # the usual case, a tenth of the cost of the comparison below
            return None
        same = a == b
        if b.is_floating_point() or b.is_complex():
            same |= torch.isnan(a) & torch.isnan(b)
        return None if bool(same.all()) else where
    if isinstance(before, (list, tuple)):
        kind = list if isinstance(before, list) else tuple
        if type(after) is not kind or len(after) != len(before):
            return where
        for index, (x, y) in enumerate(zip(before, after)):
            found = changed_input(x, y, device, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(before, dict):
        if not isinstance(after, dict) or list(after) != list(before):
            return where
        for key in before:
            found = changed_input(before[key], after[key], device, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(before, np.ndarray):
        return (
            None
            if isinstance(after, np.ndarray)
            and after.shape == before.shape
            and np.array_equal(after, before, equal_nan=before.dtype.kind in "fc")
            else where
        )
    if isinstance(before, float) and before != before:
        return None if isinstance(after, float) and after != after else where
    return None if type(after) is type(before) and after == before else where


def _op_trace(data: Any) -> OpTrace | None:
    """A reply's operator trace, strictly: anything malformed counts as no trace."""
    if not (isinstance(data, dict) and isinstance(data.get("ops"), list) and isinstance(data.get("backward"), bool)):
        return None
    return OpTrace(frozenset(str(op)[:200] for op in data["ops"][:10_000]), data["backward"])


def _argument_name(where: str) -> str:
    """`args[0]['w']` -> "1, `['w']`"; `kwargs['lr']` -> "`lr`" (reads the same in both languages)."""
    import re

    match = re.match(r"(args|kwargs)\[([^\]]+)\](.*)", where)
    if not match:
        return where
    kind, key, rest = match.groups()
    head = str(int(key) + 1) if kind == "args" else f"`{key.strip(chr(39))}`"
    return f"{head}, `{rest}`" if rest else head


def failure_from_error(name: str, error: dict) -> StudentFailure:
    kind = error.get("type")
    if kind == "NotImplementedError" and not error.get("message"):  # the placeholder, not a library's message
        return NotAttempted(name)
    if kind == "TimeLimit":
        return StudentTimeout(name, seconds=float(error.get("message") or 0))
    return StudentError(name, error=error)


# ----------------------------------------------------------------------- session


@functools.lru_cache(maxsize=256)
def compile_reference(source: str) -> str:
    """A reference definition as the student's process receives it: marshalled bytecode
    (base64), compiled without docstrings and under a neutral file name, so no text of the
    solution is there for student code to find (frames, `gc`, `inspect.getsource`) and print.
    Both processes run the same interpreter, so the bytecode is valid there."""
    code = compile(source, "<referência>", "exec", optimize=2, dont_inherit=True)
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


@dataclass
class CellResult:
    index: int  # 1-based, as a student counts code cells
    status: str  # ok, error, timeout, crashed
    error: dict | None = None
    output: str = ""


@dataclass
class Limits:
    call_seconds: float = 10.0
    cell_seconds: float = 60.0
    submission_seconds: float = 600.0


@dataclass(frozen=True)
class OpTrace:
    """What ran inside one call of student code, at the operator level (see `call(trace_ops=True)`)."""

    ops: frozenset[str]  # ATen operator names, e.g. "convolution", "im2col", "mm"
    backward: bool  # autograd ran a backward pass (backward() or torch.autograd.grad)


@dataclass
class StudentSession:
    """One submission's student code, as the graders see it: in a student process (the
    default transport) or in the notebook's own kernel (`transport=InKernel(namespace)`)."""

    cells: list[str]
    order: list[str] = field(default_factory=list)  # exercise ids, in grading order
    references: dict[str, str] = field(default_factory=dict)  # name -> source of one definition
    limits: Limits = field(default_factory=Limits)
    launcher: Any = None  # for the default transport: where student processes come from
    seed: int = 0
    settings: LaunchSettings = field(default_factory=LaunchSettings)  # the batch's: hidden folders, GPU share
    transport: Any = None  # a transport.ChildProcess (default) or transport.InKernel

    def __post_init__(self) -> None:
        self.transport = self.transport or ChildProcess(self.launcher, self.settings)
        self.cell_results: list[CellResult] = []
        self.restarts = 0
        self.exercise: str | None = None
        self.call_seed: int | None = None
        self._sent_references: set[str] = set()
        self._reused: dict[str, Any] = {}  # call(reuse=True) results, valid while this child lives
        self._bad_cells: set[int] = set()
        self._started = 0.0
        self.last_trace: OpTrace | None = None
        self._next_id = 0
        self.crash_log: list[str] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> StudentSession:
        """Start the student process and run the cells; a session already started is left as it
        is (`with StudentSession(...).start() as s` starts it once)."""
        if self.transport.fresh and self.transport.connected:
            return self
        self._started = time.monotonic()
        if self.transport.fresh:
            self._boot()
        return self

    def close(self) -> None:
        if self.transport.fresh and self.transport.connected:
            try:
                self._send({"op": "exit"}, timeout=2)
            except StudentFailure:
                pass
            self.transport.kill()

    def __enter__(self) -> StudentSession:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _remaining(self) -> float:
        return self.limits.submission_seconds - (time.monotonic() - self._started)

    def _boot(self) -> None:
        """Start a student process and run the cells in it, like Run All.

        A cell that kills the process (or hangs past its limit) is marked bad; a new
        process replays the cells before it and goes on after it. Results are recorded
        the first time each cell runs."""
        while True:
            if self.restarts > MAX_RESTARTS or self._remaining() <= 0:
                for index in range(len(self.cell_results) + 1, len(self.cells) + 1):
                    self.cell_results.append(CellResult(index, "skipped"))
                self._kill()
                return
            self.transport.connect()  # started and greeted
            self._sent_references.clear()
            self._reused.clear()
            self._send({"op": "init", "seed": self.seed}, timeout=30)
            pending = [
                (index, source) for index, source in enumerate(self.cells, start=1) if index not in self._bad_cells
            ]
            for result in self._run_cells(pending):
                index = result.index
                if index > len(self.cell_results):
                    self.cell_results.append(result)
                elif not self.transport.connected:
                    self.cell_results[index - 1] = result  # ran before, died on replay
                if not self.transport.connected:
                    self._bad_cells.add(index)
                    self.restarts += 1
                    break
            else:
                return

    def _cell_limit(self) -> float:
        return min(self.limits.cell_seconds, max(self._remaining(), 0.1))

    def _run_cells(self, cells: list[tuple[int, str]]) -> Iterator[CellResult]:
        """Run the cells in one request: the process answers each as it ends (a round trip
        per cell cost more than most cells), and each answer is awaited within that cell's
        own limit. After a cell that hangs or kills the process, nothing more is run."""
        if not cells:
            return
        self._next_id += 1
        request = [{"index": index, "source": source, "timeout": self._cell_limit()} for index, source in cells]
        try:
            self.transport.send({"op": "run_cells", "id": self._next_id, "cells": request})
        except (protocol.ProtocolError, OSError) as exc:
            self._failed("run_cells", exc)
            yield CellResult(cells[0][0], "crashed")
            return
        for index, _ in cells:
            timeout = self._cell_limit()
            try:
                reply = self._awaited(lambda t=timeout: self.transport.receive(t + GRACE_SECONDS), timeout, "run_cell")
            except StudentTimeout:
                yield CellResult(index, "timeout", {"type": "TimeLimit", "message": f"{timeout:g}"})
                return
            except StudentFailure:
                yield CellResult(index, "crashed")
                return
            if reply.get("status") == "ok":
                yield CellResult(index, "ok", output=str(reply.get("output", "")))
                continue
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            status = "timeout" if error.get("type") == "TimeLimit" else "error"
            yield CellResult(index, status, error, str(reply.get("output", "")))

    def _ensure_child(self, name: str) -> None:
        """A student process to ask, started again (cells replayed) after a crash or a hang."""
        if self.transport.connected:
            return
        if self.restarts >= MAX_RESTARTS:
            raise StudentCrash(name)
        self.restarts += 1
        try:
            self._boot()
        except LaunchError:
            self.transport.kill()
        if not self.transport.connected:
            raise StudentCrash(name)

    # ------------------------------------------------------------------ transport
    def _send(self, message: dict, timeout: float, name: str = "") -> dict:
        """Send one request and wait for its reply; kill the process on a hang or crash."""
        assert self.transport.connected
        self._next_id += 1
        message["id"] = self._next_id
        return self._awaited(
            lambda: self.transport.exchange(message, timeout + GRACE_SECONDS), timeout, name or str(message.get("op"))
        )

    def _awaited(self, receive, timeout: float, name: str) -> dict:
        """The reply `receive()` brings to the last request; a process that hangs past `timeout`
        (and the grace), dies, or answers out of turn is killed, and that is the student's failure."""
        try:
            reply = receive()
            if reply.get("id") != self._next_id:
                raise protocol.ProtocolError("reply out of order")
            return reply
        except protocol.ChannelTimeout:
            self._kill()
            raise StudentTimeout(name, seconds=timeout) from None
        except (protocol.ChannelClosed, protocol.ProtocolError, OSError) as exc:
            self._failed(name, exc)
            raise StudentCrash(name) from None

    def _failed(self, name: str, exc: BaseException) -> None:
        self.crash_log.append(f"{name}: {type(exc).__name__}: {exc}")
        self._kill()

    def _kill(self) -> None:
        self.transport.kill()

    # ------------------------------------------------------------------ grader API
    def set_exercise(self, exercise: str | None, seed: int | None = None) -> None:
        """Grading of `exercise` begins: every exercise before it in `order` resolves to
        its reference while the student's code runs, and calls are seeded with `seed`."""
        self.exercise = exercise
        self.call_seed = seed

    def _swap(self) -> dict:
        if self.exercise not in self.order:
            return {}
        earlier = self.order[: self.order.index(self.exercise)]
        swap = {}
        for name in earlier:
            if name in self.references:
                swap[name] = None if name in self._sent_references else compile_reference(self.references[name])
                self._sent_references.add(name)
        return swap

    def _request(self, name: str, message: dict, timeout: float) -> Any:
        if self._remaining() <= 0:
            raise SubmissionTimeLimit(name, seconds=self.limits.submission_seconds)
        self._ensure_child(name)
        timeout = min(timeout, max(self._remaining(), 0.1))
        message.setdefault("seed", self.call_seed)
        message["timeout"] = timeout
        message["swap"] = self._swap()
        reply = self._send(message, timeout, name)
        self.last_output = str(reply.get("output", ""))
        self.last_trace = _op_trace(reply.get("trace"))
        status = reply.get("status")
        if status == "ok":
            try:
                return protocol.decode(reply.get("value"))
            except protocol.ProtocolError as exc:
                self.crash_log.append(f"{name}: {exc}")
                raise StudentError(name, error=str(exc)) from None
        if status == "missing":
            if self._placeholder_defines(name):
                raise NotAttempted(name)
            raise NotDefined(name, cell_error=self._first_cell_error())
        if status == "not-callable":
            raise NotCallable(name, type=str(reply.get("type", "?")))
        if status == "error" and isinstance(reply.get("error"), dict):
            raise failure_from_error(name, reply["error"])
        raise StudentCrash(name)

    def _placeholder_defines(self, name: str) -> bool:
        """A cell meant to define `name` stopped at the placeholder `raise NotImplementedError()`
        (e.g. a class whose body is still the stub): not attempted, rather than undefined."""
        pattern = re.compile(rf"^\s*(class|def)\s+{re.escape(name)}\b", re.MULTILINE)
        for cell in self.cell_results:
            error = cell.error or {}
            if (
                error.get("type") == "NotImplementedError"
                and not error.get("message")
                and pattern.search(self.cells[cell.index - 1])
            ):
                return True
        return False

    def _first_cell_error(self) -> dict | None:
        """The first cell error other than a not-attempted placeholder (it may explain a missing name)."""
        for cell in self.cell_results:
            if cell.error is not None and cell.error.get("type") not in ("NotImplementedError", "TimeLimit"):
                return cell.error
        return None

    def call(
        self,
        name: str,
        *args: Any,
        device: Any = None,
        timeout: float | None = None,
        seed: int | None = None,
        keep: bool | str = False,
        return_args: bool = False,
        reuse: bool = False,
        mutates: bool = False,
        trace_ops: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Call the student's `name(*args, **kwargs)`; tensors in args go to `device`.

        `keep=True` keeps objects that are not plain data in the student's process as
        handles; `keep="whole"` keeps the result itself as one handle, whatever it is (None
        still comes back as None).

        Every call checks that the student's code left its arguments as the grader sent
        them (raising `InputsModified`), unless `mutates` (a function whose contract is to
        change its input: `freeze`, `init_xavier_`) or `return_args`: then the call returns
        `(value, args_after_the_call)` and the grader checks the arguments itself (with its
        own hints). With `reuse` (and `keep`), a second call with the same arguments
        returns the first one's result while the student's process lives (e.g. a model a
        public and a hidden check both evaluate, trained once).

        With `trace_ops`, return `(value, OpTrace)`: which ATen operators the call ran and
        whether autograd ran a backward pass, to check contracts such as "without any
        convolution operator" or "computed with autograd" whatever names the code used."""
        message = {
            "op": "call",
            "target": {"name": name},
            "args": [protocol.encode(a) for a in args],
            "kwargs": protocol.encode(dict(kwargs)),
            "device": None if device is None else str(device),
            "keep": keep,
            "return_args": return_args or not mutates,
            "trace_ops": trace_ops,
        }
        if seed is not None:
            message["seed"] = seed
        key = (
            json.dumps([name, message["args"], message["kwargs"], message["device"]], sort_keys=True) if reuse else None
        )
        if key is not None and key in self._reused:
            return self._reused[key]
        value = self._request(name, message, timeout or self.limits.call_seconds)
        if message["return_args"]:
            value, args_after = self._checked_inputs(name, value, args, kwargs, device, check=not return_args)
            value = (value, args_after) if return_args else value
        if trace_ops:
            if self.last_trace is None:
                raise StudentError(name, error="no operator trace")
            value = (value, self.last_trace)
        if key is not None:
            self._reused[key] = value
        return value

    def call_many(
        self,
        name: str,
        calls: list[tuple],
        *,
        device: Any = None,
        timeout: float | None = None,
        return_args: bool = False,
    ) -> list[Any]:
        """`[call(name, *args, device=device) for args in calls]` in one round trip to the
        student's process (for graders that probe a function on many small inputs): each call
        seeded, time-limited and checked for changed inputs as `call` does, and the first
        failure raised as `call` would raise it. `return_args`, as in `call`: each item is
        (value, args after the call), left for the grader to check."""
        if not calls:
            return []
        per_call = timeout or self.limits.call_seconds
        message = {
            "op": "call_many",
            "target": {"name": name},
            "batch": [[protocol.encode(a) for a in args] for args in calls],
            "device": None if device is None else str(device),
            "call_timeout": per_call,
        }
        replies = self._request(name, message, per_call * len(calls))
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise StudentError(name, error="malformed reply")
        checked = [
            self._checked_inputs(name, reply, tuple(args), {}, device, check=not return_args)
            for args, reply in zip(calls, replies)
        ]
        return checked if return_args else [value for value, _ in checked]

    def _checked_inputs(
        self, name: str, reply: Any, args: tuple, kwargs: dict, device: Any, check: bool
    ) -> tuple[Any, list]:
        """Split a `return_args` reply into (value, args after the call); with `check`,
        raise InputsModified where an argument changed."""
        if not (
            isinstance(reply, tuple) and len(reply) == 3 and isinstance(reply[1], list) and isinstance(reply[2], dict)
        ):
            raise StudentError(name, error="malformed reply")
        value, args_after, kwargs_after = reply
        if check:
            device = None if device is None else str(device)
            where = changed_input(list(args), args_after, device, "args") or changed_input(
                dict(kwargs), kwargs_after, device, "kwargs"
            )
            if where:
                raise InputsModified(name, where=_argument_name(where))
        return value, args_after

    def get(self, name: str) -> Any:
        """The value of a name the student defined (a constant such as AND_THRESHOLD)."""
        message = {"op": "get", "target": {"name": name}}
        return self._request(name, message, self.limits.call_seconds)

    def call_handle(
        self,
        handle: protocol.Handle,
        attrs: list[str],
        *args: Any,
        device: Any = None,
        timeout: float | None = None,
        keep: bool = False,
        name: str = "",
        mutates: bool = False,
    ) -> Any:
        """Call a method of an object kept in the student's process (e.g. `state_dict`, or
        the model itself: a forward pass). Arguments must come back unchanged, as in `call`."""
        name = name or ".".join(attrs)
        message = {
            "op": "call",
            "target": {"handle": handle.id, "attrs": list(attrs)},
            "args": [protocol.encode(a) for a in args],
            "device": None if device is None else str(device),
            "keep": keep,
            "return_args": bool(args) and not mutates,
        }
        value = self._request(name, message, timeout or self.limits.call_seconds)
        if message["return_args"]:
            value, _ = self._checked_inputs(name, value, args, {}, device, check=True)
        return value

    def run_grader_code(
        self, source: str, function: str, *args: Any, device: Any = None, keep: bool = False, name: str = ""
    ) -> Any:
        """Run grader code `function(*args)` from `source` in the student's process (in a
        namespace of its own). With `keep`, objects it returns stay there as handles.

        What comes back is plain data from the student's process: use it to describe an
        object the student built, and check behaviour in the grading process as well."""
        self._ensure_child(name or function)
        reply = self._send(
            {
                "op": "build",
                "source": source,
                "function": function,
                "seed": self.call_seed,
                "keep": keep,
                "args": [protocol.encode(a) for a in args],
                "device": None if device is None else str(device),
            },
            self.limits.call_seconds,
            name or function,
        )
        if reply.get("status") != "ok":
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            raise failure_from_error(name or function, error)
        return protocol.decode(reply.get("value"))

    def build(self, source: str, function: str, *args: Any, device: Any = None) -> protocol.Handle:
        """Run grader code `function(*args)` in the student's process and keep its result
        there (e.g. a model the student's training function will receive)."""
        value = self.run_grader_code(source, function, *args, device=device, keep=True)
        if not isinstance(value, protocol.Handle):
            raise RuntimeError(f"grader builder {function} returned plain data, not an object")
        return value
