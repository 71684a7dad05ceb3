"""Mutants and alternatives of the 06_regularization reference (see grader/variants.py)."""

VARIANTS = []
