"""Autograder for a PyTorch deep-learning course taught in Brazilian Portuguese.

Kept import-free on purpose: the student's sandboxed process imports `grader.kit`
and `grader.engine.worker`, and must not pull the grading side in with them.
"""

__version__ = "0.1.0"
