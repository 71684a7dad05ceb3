"""The grading side's handle on one submission: a student process and its cells.

A `StudentSession` starts a student process, runs the submission's cells in it like
Run All, and then serves the graders' calls (`call`, `get`, handles). Every answer comes
back as plain data. When the student's process hangs or dies, the session kills it,
starts a fresh one, replays the cells that did not hang or crash, and goes on, so a
hang or a crash costs only the exercise that caused it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from grader.diagnosis import Diagnosis, diagnose
from grader.engine import protocol
from grader.engine.launcher import Child, LaunchError, default_launcher
from grader.i18n import Text

GRACE_SECONDS = 3.0  # past the student's own time limit, before the process is killed
MAX_RESTARTS = 4


# ----------------------------------------------------------------------- failures


class StudentFailure(Exception):
    """Student code could not produce an answer. `outcome` goes into results.json."""

    outcome = "error"
    text = Text(pt="Falha no código do aluno.", en="The student's code failed.")

    def __init__(self, name: str = "", **fields: Any) -> None:
        super().__init__(name)
        self.name = name
        self.fields = fields
        self.diagnosis: Diagnosis | None = None

    def render(self, lang: str = "pt") -> str:
        return self.text.render(lang, name=self.name, **self.fields)


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
    because = Text(pt=" Talvez por causa de um erro numa célula: {error}",
                   en=" Perhaps because of an error in a cell: {error}")

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
    text = Text(
        pt="Seu código gerou um erro: {error}",
        en="Your code raised an error: {error}",
    )


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


def failure_from_error(name: str, error: dict) -> StudentFailure:
    kind = error.get("type")
    if kind == "NotImplementedError" and not error.get("message"):  # the placeholder, not a library's message
        return NotAttempted(name)
    if kind == "TimeLimit":
        return StudentTimeout(name, seconds=float(error.get("message") or 0))
    failure = StudentError(name, error=describe_error(error))
    failure.error = error
    failure.diagnosis = diagnose(error)
    return failure


# ----------------------------------------------------------------------- session


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


@dataclass
class StudentSession:
    """One submission's student process, as the graders see it."""

    cells: list[str]
    order: list[str] = field(default_factory=list)  # exercise ids, in grading order
    references: dict[str, str] = field(default_factory=dict)  # name -> source of one definition
    limits: Limits = field(default_factory=Limits)
    launcher: Any = None
    seed: int = 0

    def __post_init__(self) -> None:
        self.launcher = self.launcher or default_launcher()
        self.cell_results: list[CellResult] = []
        self.restarts = 0
        self.exercise: str | None = None
        self.call_seed: int | None = None
        self._child: Child | None = None
        self._sent_references: set[str] = set()
        self._reused: dict[str, Any] = {}  # call(reuse=True) results, valid while this child lives
        self._bad_cells: set[int] = set()
        self._started = 0.0
        self._next_id = 0
        self.crash_log: list[str] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "StudentSession":
        self._started = time.monotonic()
        self._boot()
        return self

    def close(self) -> None:
        if self._child is not None:
            try:
                self._send({"op": "exit"}, timeout=2)
            except StudentFailure:
                pass
            if self._child is not None:
                self._child.kill()
            self._child = None

    def __enter__(self) -> "StudentSession":
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
            self._child = self.launcher.start()  # started and greeted
            self._sent_references.clear()
            self._reused.clear()
            self._send({"op": "init", "seed": self.seed}, timeout=30)
            for index, source in enumerate(self.cells, start=1):
                if index in self._bad_cells:
                    continue
                result = self._run_cell(index, source)
                if index > len(self.cell_results):
                    self.cell_results.append(result)
                elif self._child is None:
                    self.cell_results[index - 1] = result  # ran before, died on replay
                if self._child is None:
                    self._bad_cells.add(index)
                    self.restarts += 1
                    break
            else:
                return

    def _run_cell(self, index: int, source: str) -> CellResult:
        timeout = min(self.limits.cell_seconds, max(self._remaining(), 0.1))
        try:
            reply = self._send({"op": "run_cell", "index": index, "source": source, "timeout": timeout}, timeout)
        except StudentTimeout:
            return CellResult(index, "timeout", {"type": "TimeLimit", "message": f"{timeout:g}"})
        except StudentFailure:
            return CellResult(index, "crashed")
        if reply.get("status") == "ok":
            return CellResult(index, "ok", output=str(reply.get("output", "")))
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        status = "timeout" if error.get("type") == "TimeLimit" else "error"
        return CellResult(index, status, error, str(reply.get("output", "")))

    def _ensure_child(self, name: str) -> None:
        if self._child is not None:
            return
        if self.restarts >= MAX_RESTARTS:
            raise StudentCrash(name)
        self.restarts += 1
        try:
            self._boot()
        except LaunchError:
            self._child = None
        if self._child is None:
            raise StudentCrash(name)

    # ------------------------------------------------------------------ transport
    def _send(self, message: dict, timeout: float, name: str = "") -> dict:
        """Send one request and wait for its reply; kill the process on a hang or crash."""
        assert self._child is not None
        self._next_id += 1
        message["id"] = self._next_id
        try:
            protocol.send_message(self._child.sock, message)
            reply = protocol.recv_message(self._child.sock, timeout=timeout + GRACE_SECONDS)
            if reply.get("id") != self._next_id:
                raise protocol.ProtocolError("reply out of order")
            return reply
        except protocol.ChannelTimeout:
            self._kill()
            raise StudentTimeout(name, seconds=timeout) from None
        except (protocol.ChannelClosed, protocol.ProtocolError, OSError) as exc:
            self.crash_log.append(f"{name or message.get('op')}: {type(exc).__name__}: {exc}")
            self._kill()
            raise StudentCrash(name) from None

    def _kill(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None

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
                swap[name] = None if name in self._sent_references else self.references[name]
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
            if error.get("type") == "NotImplementedError" and not error.get("message") and \
                    pattern.search(self.cells[cell.index - 1]):
                return True
        return False

    def _first_cell_error(self) -> dict | None:
        """The first cell error other than a not-attempted placeholder (it may explain a missing name)."""
        for cell in self.cell_results:
            if cell.error is not None and cell.error.get("type") not in ("NotImplementedError", "TimeLimit"):
                return cell.error
        return None

    def call(self, name: str, *args: Any, device: Any = None, timeout: float | None = None,
             seed: int | None = None, keep: bool | str = False, return_args: bool = False, reuse: bool = False,
             **kwargs: Any) -> Any:
        """Call the student's `name(*args, **kwargs)`; tensors in args go to `device`.

        `keep=True` keeps objects that are not plain data in the student's process as
        handles; `keep="whole"` keeps the result itself as one handle, whatever it is (None
        still comes back as None).

        With `return_args`, return `(value, args_after_the_call)` to check that the
        student's code left its inputs untouched. With `reuse` (and `keep`), a second call
        with the same arguments returns the first one's result while the student's process
        lives (e.g. a model a public and a hidden check both evaluate, trained once)."""
        message = {
            "op": "call",
            "target": {"name": name},
            "args": [protocol.encode(a) for a in args],
            "kwargs": protocol.encode(dict(kwargs)),
            "device": None if device is None else str(device),
            "keep": keep,
            "return_args": return_args,
        }
        if seed is not None:
            message["seed"] = seed
        key = json.dumps([name, message["args"], message["kwargs"], message["device"]], sort_keys=True) if reuse \
            else None
        if key is not None and key in self._reused:
            return self._reused[key]
        value = self._request(name, message, timeout or self.limits.call_seconds)
        if key is not None:
            self._reused[key] = value
        return value

    def get(self, name: str) -> Any:
        """The value of a name the student defined (a constant such as AND_THRESHOLD)."""
        message = {"op": "get", "target": {"name": name}}
        return self._request(name, message, self.limits.call_seconds)

    def call_handle(self, handle: protocol.Handle, attrs: list[str], *args: Any, device: Any = None,
                    timeout: float | None = None, keep: bool = False, name: str = "") -> Any:
        """Call a method of an object kept in the student's process (e.g. `state_dict`)."""
        message = {
            "op": "call",
            "target": {"handle": handle.id, "attrs": list(attrs)},
            "args": [protocol.encode(a) for a in args],
            "device": None if device is None else str(device),
            "keep": keep,
        }
        return self._request(name or ".".join(attrs), message, timeout or self.limits.call_seconds)

    def run_grader_code(self, source: str, function: str, *args: Any, device: Any = None, keep: bool = False,
                        name: str = "") -> Any:
        """Run grader code `function(*args)` from `source` in the student's process (in a
        namespace of its own). With `keep`, objects it returns stay there as handles.

        What comes back is plain data from the student's process: use it to describe an
        object the student built, and check behaviour in the grading process as well."""
        self._ensure_child(name or function)
        reply = self._send(
            {"op": "build", "source": source, "function": function, "seed": self.call_seed, "keep": keep,
             "args": [protocol.encode(a) for a in args], "device": None if device is None else str(device)},
            self.limits.call_seconds, name or function,
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
