"""What bubblewrap binds back into the sandbox: the Python environment and any folder this
Python imports from, but never the course folder, a folder above or inside it, or a hidden
folder (found by CI: a venv made with --system-site-packages from another venv imports torch
through a .pth into /tmp, which the sandbox's /tmp hid, and every student call failed)."""

import sys

from grader.engine import sandbox


def bound(args: list[str]) -> set[str]:
    return {args[i + 1] for i, a in enumerate(args) if a == "--ro-bind" and args[i + 1] == args[i + 2]}


def test_import_folders_are_bound_back_but_never_the_course_or_a_hidden_folder(tmp_path, monkeypatch):
    root = sandbox.course_folder()
    elsewhere = tmp_path / "other-env" / "site-packages"
    hidden = tmp_path / "batch" / "submissions"
    for folder in (elsewhere, hidden / "inside", root / "tests"):
        folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(
        sys,
        "path",
        [
            str(elsewhere),
            str(root),
            str(root / "tests"),
            str(root.parent),
            str(hidden / "inside"),
            str(tmp_path / "batch"),
        ],
    )
    args = sandbox.bwrap_prefix(hidden=(str(hidden),))
    binds = bound(args)
    assert str(elsewhere.resolve()) in binds  # another environment's packages: importable
    for never in (root, root / "tests", root.parent, hidden / "inside", tmp_path / "batch"):
        assert str(never.resolve()) not in binds, never
    assert args.index("--tmpfs") < args.index(str(elsewhere.resolve()))  # bound after /tmp was emptied


def test_tmp_itself_is_never_bound_over_the_sandboxs_own_tmp(monkeypatch):
    # A grading script run from /tmp has /tmp on sys.path: bound read-only, it covered the
    # sandbox's writable /tmp, and every student process failed in `init` (no temporary folder).
    monkeypatch.setattr(sys, "path", ["/tmp", *sys.path])
    args = sandbox.bwrap_prefix()
    assert "/tmp" not in bound(args)
    assert args[args.index("/tmp") - 1] == "--tmpfs"
