"""nbgrader's settings for this course (nbgrader reads this file from the course root).

Everything is set in one place, `grader.nbgrader_bridge.configure`: `source/` is the
source directory, `exercises/` the release directory, and autograding is judged by the
grader's engine instead of the student's kernel.
"""

from grader.nbgrader_bridge import configure

configure(get_config())  # noqa: F821 (nbgrader provides get_config)
