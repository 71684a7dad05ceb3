"""The boundary between the grading process and the student's process.

- `protocol`: the plain-data codec and message framing both sides speak.
- `worker`: the main loop of the student's process (runs untrusted code).
- `launcher`: starts student processes (a warm fork server, or a fresh interpreter).
- `session`: the grading side's handle on one submission's student process.
"""
