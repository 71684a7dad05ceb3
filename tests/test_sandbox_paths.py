"""What bubblewrap binds back into the sandbox: the Python environment and any folder this
Python imports from, but never the course folder, a folder above or inside it, or a hidden
folder (found by CI: a venv made with --system-site-packages from another venv imports torch
through a .pth into /tmp, which the sandbox's /tmp hid, and every student call failed)."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch

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


def test_a_course_or_hidden_folder_inside_the_systems_folders_is_emptied(tmp_path, monkeypatch):
    # A checkout in /usr/src, say: the system's folders are bound whole, so the course in them is
    # covered by an empty tmpfs, and only then are the public files bound back into it.
    system = tmp_path / "usr"
    course = system / "src" / "course"
    (course / "source").mkdir(parents=True)
    monkeypatch.setattr(sandbox, "SYSTEM_PATHS", (str(system),))
    args = sandbox.bwrap_prefix(hidden=(str(course),))
    assert args.index(str(system)) < args.index(str(course)) and args[args.index(str(course)) - 1] == "--tmpfs"
    root = sandbox.course_folder()
    public = str(root / sandbox.PUBLIC_PATHS[0])
    assert public in bound(args) and args.index(public) > args.index(str(course))


def test_the_sandbox_sees_the_system_and_python_and_no_other_folder():
    """Found by looking: with the whole disk bound read-only and folders hidden one by one, a
    cell of `autograde` read the course's source notebook (the solutions and hidden tests)
    and gradebook.db, which live where the instructor made the course, not beside the
    graders, and could have printed them base64-encoded into its feedback; and, the grader
    run as root (a container's default), /etc/shadow and any other file only root may read."""
    from grader.engine.session import StudentSession

    if sandbox.bwrap_problem() is not None:
        pytest.skip(f"no bubblewrap sandbox here: {sandbox.bwrap_problem()}")
    try:  # a folder outside /tmp (the sandbox has its own) and outside the system's folders
        outside = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="course-"))
    except OSError as exc:
        pytest.skip(f"/var/tmp is not writable here: {exc}")
    try:
        (outside / "source").mkdir()
        (outside / "source" / "solution.ipynb").write_text("{}", encoding="utf-8")
        (outside / "gradebook.db").write_text("", encoding="utf-8")
        secret = [str(outside / "source" / "solution.ipynb"), str(outside / "gradebook.db"), str(outside)]
        # Root's own files: run as root, the grader maps root to the sandbox's user, who could read them.
        secret += [p for p in ("/etc/shadow", "/etc/ssh", "/root/.bashrc", "/root/.ssh") if os.path.exists(p)]
        system = ["/usr/bin", "/etc/passwd", sys.executable, os.path.dirname(torch.__file__)]
        probe = f"import os\nseen = {{p: os.path.exists(p) for p in {secret + system!r}}}"
        with StudentSession([probe]).start() as student:
            seen = student.get("seen")
        assert not any(seen[p] for p in secret), seen
        assert all(seen[p] for p in system), seen
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_library_folders_are_bound_but_not_a_hidden_one(tmp_path, monkeypatch):
    # A GPU container names its driver libraries in LD_LIBRARY_PATH (/usr/local/nvidia/lib64,
    # or somewhere under /opt): outside the system's folders, they must still be there.
    drivers, hidden = tmp_path / "opt" / "nvidia" / "lib64", tmp_path / "batch"
    drivers.mkdir(parents=True)
    (hidden / "lib").mkdir(parents=True)
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{drivers}:{hidden / 'lib'}:relative/lib")
    binds = bound(sandbox.bwrap_prefix(hidden=(str(hidden),)))
    assert str(drivers.resolve()) in binds
    assert str((hidden / "lib").resolve()) not in binds


def test_student_code_gets_no_credentials_from_the_graders_environment(monkeypatch):
    """Found by looking: a student process inherited the grader's whole environment but for
    GRADER_SECRET, so a JupyterHub's API token (nbgrader's usual home), a cloud's keys or a CI
    token were one `os.environ` away from the student's own feedback."""
    from grader.engine.launcher import ForkServer
    from grader.engine.session import StudentSession

    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-key")
    monkeypatch.setenv("GRADER_SECRET", "course-secret")
    monkeypatch.setenv("LC_PAPER", "pt_BR.UTF-8")  # the locale and the numeric libraries' settings pass
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    launcher = ForkServer()  # a zygote of its own, started with this environment
    try:
        with StudentSession(["import os\nenv = dict(os.environ)"], launcher=launcher).start() as student:
            env = student.get("env")
    finally:
        launcher.close()
    assert not {"JUPYTERHUB_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "GRADER_SECRET"} & set(env), sorted(env)
    assert env["LC_PAPER"] == "pt_BR.UTF-8" and env["OMP_NUM_THREADS"] == "1" and "PATH" in env
