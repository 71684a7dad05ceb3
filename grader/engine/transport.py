"""How a student session reaches the student's code: the session is given one.

- `ChildProcess`: a fresh student process from a launcher (the sandboxed fork server when
  grading). The session first runs the notebook's cells in it and, when it crashes or
  hangs, kills it and starts another.
- `InKernel`: the notebook's own kernel, for the public self-checks. The student's
  namespace is served by a `Worker` in this very process through the same plain-data
  boundary (a JSON round trip); there is nothing to start, replay or kill.

Both exchange one request for one reply (a child process also answers `run_cells` once per
cell: `send`, then `receive` for each); a transport raises `protocol.ChannelTimeout`
when the reply does not come in time and `protocol.ChannelClosed`, `ProtocolError` or
`OSError` when the other side is gone. The session turns those into student failures.
"""

from __future__ import annotations

import json
from typing import Any

from grader.engine import protocol
from grader.engine.launcher import Child, LaunchSettings, default_launcher


class ChildProcess:
    fresh = True  # a new process: the session runs the cells in it, and may start another

    def __init__(self, launcher: Any = None, settings: LaunchSettings | None = None) -> None:
        self.launcher = launcher or default_launcher()
        self.settings = settings or LaunchSettings()
        self.child: Child | None = None

    @property
    def connected(self) -> bool:
        return self.child is not None

    def connect(self) -> None:
        """Start a student process (started and greeted); `LaunchError` when none can be."""
        self.child = self.launcher.start(self.settings)

    def exchange(self, message: dict, timeout: float) -> dict:
        self.send(message)
        return self.receive(timeout)

    def send(self, message: dict) -> None:
        assert self.child is not None
        protocol.send_message(self.child.sock, message)

    def receive(self, timeout: float) -> dict:
        """One more reply (a request may have several: `run_cells` answers once per cell)."""
        assert self.child is not None
        return protocol.recv_message(self.child.sock, timeout=timeout)

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child = None


class InKernel:
    fresh = False  # the student's own kernel: its cells already ran, and it is never restarted
    connected = True

    def __init__(self, namespace: dict) -> None:
        from grader.engine.worker import Worker

        self.worker = Worker(namespace=namespace)

    def connect(self) -> None:
        pass

    def exchange(self, message: dict, timeout: float) -> dict:
        reply = self.worker.handle(json.loads(json.dumps(message)))  # the worker's own limits apply
        return json.loads(json.dumps(reply))

    def kill(self) -> None:
        pass
