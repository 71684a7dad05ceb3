"""Imported by multiprocessing's fork server, and only there (`grader.executors.PRELOAD`):
once the coordinator is gone, the fork server leaves with `os._exit` instead of tearing down
an interpreter that holds torch and pytest. That teardown took 0.46 s of a core, spent after
`grade` or `autograde` had returned: the next command on the machine paid for it.

Registered last, it runs first and skips every exit handler registered before it (torch's,
logging's, multiprocessing's). In the fork server none of them has work: it writes no file,
logs nothing, and registers no multiprocessing finalizer; no sandbox or cgroup is made there
(`launcher.default_launcher` is created in each grading process, after the fork). Keep it so
if you add to PRELOAD. Its children, the grading processes, end with `os._exit` already
(multiprocessing's forked children do), so this handler never runs in them."""

import atexit
import os

atexit.register(os._exit, 0)
