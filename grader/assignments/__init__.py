"""One package per assignment: `test_public.py` (released), `test_hidden.py` (never released)."""
