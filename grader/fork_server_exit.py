"""Imported by multiprocessing's fork server, and only there (`grader.executors.PRELOAD`):
once the coordinator is gone, the fork server leaves with `os._exit` instead of tearing down
an interpreter that holds torch and pytest. That teardown took 0.46 s of a core, spent after
`grade` or `autograde` had returned: the next command on the machine paid for it.

Nothing is lost: the fork server writes no file and holds no state; its children, the
grading processes, end with `os._exit` already (multiprocessing's forked children do), so
this handler never runs in them."""

import atexit
import os

# Registered after multiprocessing's own exit handler, so it runs before it: that handler
# only runs finalizers of Process objects, which a fork server has none of.
atexit.register(os._exit, 0)
