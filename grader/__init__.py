"""Autograder for a PyTorch deep-learning course taught in Brazilian Portuguese.

Kept import-free on purpose: the student's sandboxed process imports `grader.kit`
and `grader.engine.worker`, and must not pull the grading side in with them.
"""

import sys

# jsonschema (under nbformat and nbgrader) builds an IRI grammar with Lark when it is imported
# and `rfc3987_syntax` is installed (jupyter_events brings it): about 1.1 s of a core in every
# process of ours that reads a notebook, for a string format no schema we validate uses
# (python-jsonschema/jsonschema#1428). None in sys.modules makes that import fail, and
# jsonschema goes on without that one format checker. pyproject.toml caps jsonschema below
# 4.25, which has no such import; this line covers environments with a newer one anyway.
sys.modules.setdefault("rfc3987_syntax", None)

__version__ = "0.1.0"
