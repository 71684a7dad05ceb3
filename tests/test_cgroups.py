"""Cgroup limits around the sandbox: layout detection, v1 and v2 set-up against a fake
/sys/fs/cgroup, the fallbacks, and on this machine the limits a real grading run has."""

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.engine import launcher, sandbox
from grader.engine.sandbox import SANDBOX_MEMORY_BYTES, SANDBOX_PIDS, Cgroups, cgroup_layout, isolation_label

OWN = "/system.slice/grader.service"


def v2_tree(tmp_path, controllers="cpu io memory pids", subtree="", procs=(100, 200)):
    """A fake unified hierarchy; our process sits in OWN. Returns (root, our cgroup)."""
    root = tmp_path / "cgroup"
    base = root / OWN.lstrip("/")
    base.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    (base / "cgroup.controllers").write_text(controllers + "\n")
    (base / "cgroup.subtree_control").write_text(subtree + "\n")
    (base / "cgroup.procs").write_text("".join(f"{pid}\n" for pid in procs))
    return root, base


def v1_tree(tmp_path, controllers=("pids", "memory"), unified=False):
    root = tmp_path / "cgroup"
    for controller in controllers:
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("1\n")
    if unified:
        (root / "unified").mkdir(parents=True)
        (root / "unified" / "cgroup.controllers").write_text("")
    return root


class Kernel:
    """Plays the kernel's side of cgroup writes: records them (paths relative to the fake
    root, the sandbox's cgroup named <sandbox>), refuses those in `refuse` once with their
    errno, and gives a new cgroup its interface files on its first write, as mkdir would."""

    def __init__(self, monkeypatch, root, interface=("memory.max", "memory.swap.max", "pids.max")):
        self.root, self.interface, self.refuse, self.writes = root, interface, {}, []
        monkeypatch.setattr(sandbox, "_write", self.write)

    def write(self, path, value):
        name = path.relative_to(self.root).as_posix()
        if path.parent.name.startswith(f"grader-{os.getpid()}-"):
            name = name.replace(path.parent.name, "<sandbox>")
        self.writes.append((name, str(value)))
        if name in self.refuse:  # one errno (refused once) or a list of them (refused in turn)
            codes = self.refuse[name] if isinstance(self.refuse[name], list) else [self.refuse[name]]
            code = codes.pop(0)
            if not codes or codes is not self.refuse[name]:
                del self.refuse[name]
            raise OSError(code, os.strerror(code))
        for file in self.interface:
            if path.parent.name.startswith("grader-") and not (path.parent / file).exists():
                (path.parent / file).write_text("max\n")
        path.write_text(str(value))


def emptied(path):
    """cgroupfs removes a cgroup with its interface files; a plain folder needs them gone."""
    for file in path.iterdir():
        file.unlink()
    return path


def test_layout_detection(tmp_path):
    assert cgroup_layout(v2_tree(tmp_path / "a")[0]) == "v2"
    assert cgroup_layout(v1_tree(tmp_path / "b", unified=True)) == "hybrid"
    assert cgroup_layout(v1_tree(tmp_path / "c")) == "v1"
    assert cgroup_layout(v1_tree(tmp_path / "d", controllers=("pids",))) == "v1"
    (tmp_path / "e").mkdir()
    assert cgroup_layout(tmp_path / "e") is None
    assert cgroup_layout(tmp_path / "missing") is None


def test_v2_moves_our_processes_into_a_leaf_then_bounds_the_sandbox(tmp_path, monkeypatch):
    root, base = v2_tree(tmp_path)
    kernel = Kernel(monkeypatch, root)
    kernel.refuse[OWN[1:] + "/cgroup.subtree_control"] = errno.EBUSY  # v2: no internal processes
    cgroups = Cgroups(root, lambda: f"0::{OWN}\n")
    service = OWN[1:]
    assert kernel.writes == [
        (f"{service}/cgroup.subtree_control", "+memory +pids"),  # refused: the cgroup holds processes
        (f"{service}/grader-supervisor/cgroup.procs", "100"),
        (f"{service}/grader-supervisor/cgroup.procs", "200"),
        (f"{service}/cgroup.subtree_control", "+memory +pids"),
        (f"{service}/<sandbox>/memory.max", str(SANDBOX_MEMORY_BYTES)),
        (f"{service}/<sandbox>/memory.swap.max", "0"),
        (f"{service}/<sandbox>/pids.max", str(SANDBOX_PIDS)),
    ]
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"
    sandbox_dir = base / cgroups.name
    assert cgroups.paths == [sandbox_dir]
    assert (sandbox_dir / "memory.max").read_text() == str(SANDBOX_MEMORY_BYTES)
    assert (sandbox_dir / "pids.max").read_text() == str(SANDBOX_PIDS)
    assert cgroups.active and cgroups.limits == ["memory", "pids"] and cgroups.problem == ""
    assert isolation_label(None, cgroups) == "bwrap+cgroups(v2: memory, pids)"

    cgroups.join()
    assert kernel.writes[-1] == (f"{service}/<sandbox>/cgroup.procs", str(os.getpid()))
    emptied(sandbox_dir)
    cgroups.remove()
    assert not sandbox_dir.exists() and (base / "grader-supervisor").is_dir()


def test_v2_a_process_born_in_our_cgroup_during_the_move_is_moved_on_the_next_try(tmp_path, monkeypatch):
    """Several grading processes set up sandboxes at once: one forks while another moves
    the processes into the leaf, so enabling the controllers is refused once more (seen on
    a GPU machine as 'Device or resource busy'). The move is retried, not given up."""
    root, base = v2_tree(tmp_path)
    kernel = Kernel(monkeypatch, root)
    service = OWN[1:]
    kernel.refuse[f"{service}/cgroup.subtree_control"] = [errno.EBUSY, errno.EBUSY]
    real_write = kernel.write

    def write_and_fork(path, value):  # process 300 is born in our cgroup during the first move
        real_write(path, value)
        if str(value) == "200" and "300" not in (base / "cgroup.procs").read_text():
            (base / "cgroup.procs").write_text("300\n")

    monkeypatch.setattr(sandbox, "_write", write_and_fork)
    cgroups = Cgroups(root, lambda: f"0::{OWN}\n")
    moved = [value for name, value in kernel.writes if name.endswith("grader-supervisor/cgroup.procs")]
    assert moved == ["100", "200", "300"]
    assert [name for name, _ in kernel.writes].count(f"{service}/cgroup.subtree_control") == 3
    assert cgroups.limits == ["memory", "pids"] and cgroups.problem == ""


def test_v2_a_cgroup_that_stays_busy_is_given_up_with_the_reason(tmp_path, monkeypatch):
    root, _ = v2_tree(tmp_path)
    kernel = Kernel(monkeypatch, root)
    kernel.refuse[OWN[1:] + "/cgroup.subtree_control"] = [errno.EBUSY] * (sandbox.ENABLE_ATTEMPTS + 1)
    cgroups = Cgroups(root, lambda: f"0::{OWN}\n")
    assert not cgroups.active and "Device or resource busy" in cgroups.problem
    assert isolation_label(None, cgroups).startswith("bwrap (no cgroup limits: cannot set up cgroups")


def test_v2_next_sandbox_from_the_leaf_uses_the_same_subtree(tmp_path, monkeypatch):
    root, base = v2_tree(tmp_path, subtree="memory pids", procs=())
    kernel = Kernel(monkeypatch, root)
    cgroups = Cgroups(root, lambda: f"0::{OWN}/grader-supervisor\n")
    assert cgroups.paths == [base / cgroups.name]  # a sibling of the leaf, not inside it
    assert [name for name, _ in kernel.writes] == [
        f"{OWN[1:]}/<sandbox>/{file}" for file in ("memory.max", "memory.swap.max", "pids.max")
    ]
    assert isolation_label(None, cgroups) == "bwrap+cgroups(v2: memory, pids)"


def test_v2_root_cgroup_needs_no_move_and_swap_may_be_off(tmp_path, monkeypatch):
    root, _ = v2_tree(tmp_path)
    (root / "cgroup.subtree_control").write_text("\n")
    (root / "cgroup.procs").write_text("1\n")
    kernel = Kernel(monkeypatch, root, interface=("memory.max", "pids.max"))  # no swap accounting
    cgroups = Cgroups(root, lambda: "0::/\n")
    assert kernel.writes == [
        ("cgroup.subtree_control", "+memory +pids"),
        ("<sandbox>/memory.max", str(SANDBOX_MEMORY_BYTES)),
        ("<sandbox>/pids.max", str(SANDBOX_PIDS)),
    ]
    assert cgroups.paths == [root / cgroups.name] and cgroups.limits == ["memory", "pids"]


def test_v2_names_only_the_limits_in_force(tmp_path, monkeypatch):
    root, base = v2_tree(tmp_path, controllers="cpu pids", procs=())
    Kernel(monkeypatch, root)
    cgroups = Cgroups(root, lambda: f"0::{OWN}\n")
    assert (base / "cgroup.subtree_control").read_text() == "+pids"
    assert isolation_label(None, cgroups) == "bwrap+cgroups(v2: pids)"


def test_v2_nothing_delegated(tmp_path, monkeypatch):
    root, base = v2_tree(tmp_path, controllers="cpu io")
    kernel = Kernel(monkeypatch, root)
    cgroups = Cgroups(root, lambda: f"0::{OWN}\n")
    assert not cgroups.active and kernel.writes == [] and cgroups.paths == []
    assert isolation_label(None, cgroups) == f"bwrap (no cgroup limits: no memory or pids controller for {base})"


@pytest.mark.parametrize("self_cgroup", ["0::/elsewhere\n", "1:name=systemd:/\n", ""])
def test_v2_our_cgroup_unknown_or_not_visible(tmp_path, monkeypatch, self_cgroup):
    root, _ = v2_tree(tmp_path)
    Kernel(monkeypatch, root)
    cgroups = Cgroups(root, lambda: self_cgroup)
    assert not cgroups.active and isolation_label(None, cgroups).startswith("bwrap (no cgroup limits: ")
    assert list(root.rglob("grader-*")) == []


@pytest.mark.parametrize("refused", [f"{OWN[1:]}/cgroup.subtree_control", f"{OWN[1:]}/<sandbox>/memory.max"])
def test_v2_a_refused_write_falls_back_and_leaves_nothing(tmp_path, monkeypatch, refused):
    root, base = v2_tree(tmp_path, controllers="memory", procs=())
    kernel = Kernel(monkeypatch, root)
    kernel.refuse[refused] = errno.EROFS
    cgroups = Cgroups(root, lambda: f"0::{OWN}\n")
    assert not cgroups.active and list(base.glob("grader-*")) == []
    assert isolation_label(None, cgroups).startswith("bwrap (no cgroup limits: ")
    assert "Read-only file system" in cgroups.problem
    cgroups.join()  # joins nothing
    assert kernel.writes[-1][0] == refused


def as_nobody(function):
    """function() run as uid 65534 (in a forked child when we are root); its str comes back."""
    if os.geteuid() != 0:
        return str(function())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, str(function()).encode())
        except BaseException as exc:
            os.write(write, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    return text


def test_v2_read_only_subtree_falls_back():
    folder = Path(tempfile.mkdtemp())
    try:
        root, base = v2_tree(folder, subtree="memory pids", procs=())
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        label = as_nobody(lambda: isolation_label(None, Cgroups(root, lambda: f"0::{OWN}\n")))
        assert label == f"bwrap (no cgroup limits: cannot make a cgroup in {base}: Permission denied)"
        assert list(base.glob("grader-*")) == []
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755)
        subprocess.run(["rm", "-rf", str(folder)], check=True)


def test_v1_and_hybrid(tmp_path, monkeypatch):
    for layout, unified in (("v1", False), ("hybrid", True)):
        root = v1_tree(tmp_path / layout, unified=unified)
        kernel = Kernel(monkeypatch, root, interface=("memory.memsw.limit_in_bytes",))
        cgroups = Cgroups(root, lambda: pytest.fail("v1 does not read /proc/self/cgroup"))
        assert cgroups.paths == [root / "pids" / cgroups.name, root / "memory" / cgroups.name]
        assert kernel.writes == [
            ("pids/<sandbox>/pids.max", str(SANDBOX_PIDS)),
            ("memory/<sandbox>/memory.limit_in_bytes", str(SANDBOX_MEMORY_BYTES)),
            ("memory/<sandbox>/memory.memsw.limit_in_bytes", str(SANDBOX_MEMORY_BYTES)),
        ]
        assert isolation_label(None, cgroups) == "bwrap+cgroups(v1: memory, pids)"
        for path in cgroups.paths:
            emptied(path)
        cgroups.remove()
        assert not any(path.exists() for path in cgroups.paths)


def test_cgroups_left_by_killed_graders_are_removed_and_never_collide(tmp_path, monkeypatch):
    """A grading process killed with SIGKILL leaves its cgroup behind; a later one given the
    same pid once collided with it (EEXIST) and graded with no limits at all."""
    root = v1_tree(tmp_path)
    Kernel(monkeypatch, root, interface=())
    dead = 2**22 + 1  # above pid_max: no such process
    for controller in ("pids", "memory"):
        (root / controller / f"grader-{dead}-0").mkdir()  # empty: its processes are gone
        (root / controller / "grader-1-0").mkdir()  # pid 1 lives: not ours to touch
        (root / controller / "grader-supervisor").mkdir()  # v2's leaf for our own processes
    first, second = Cgroups(root), Cgroups(root)
    assert first.active and second.active and first.name != second.name
    assert first.name.startswith(f"grader-{os.getpid()}-")
    for controller in ("pids", "memory"):
        assert not (root / controller / f"grader-{dead}-0").exists()
        assert (root / controller / "grader-1-0").is_dir() and (root / controller / "grader-supervisor").is_dir()


def test_v1_names_only_the_limits_in_force(tmp_path, monkeypatch):
    root = v1_tree(tmp_path, controllers=("pids",), unified=True)
    Kernel(monkeypatch, root)
    cgroups = Cgroups(root)
    assert isolation_label(None, cgroups) == "bwrap+cgroups(v1: pids)"
    assert cgroups.problem == f"cannot make a cgroup in {root / 'memory'}: No such file or directory"


def test_labels_and_the_warning(tmp_path, monkeypatch, capsys):
    assert isolation_label("bwrap is not installed", None) == "process (no sandbox: bwrap is not installed)"
    cgroups = Cgroups(tmp_path)
    assert isolation_label(None, cgroups) == f"bwrap (no cgroup limits: no cgroup filesystem at {tmp_path})"
    monkeypatch.setattr(launcher, "_warned", set())
    launcher._warn_once(launcher.NO_LIMITS, cgroups.problem)
    launcher._warn_once(launcher.NO_LIMITS, cgroups.problem)
    err = capsys.readouterr().err
    assert err.count("WITHOUT cgroup limits") == 1 and "no cgroup filesystem" in err


# On this machine, for real.

needs_bwrap = pytest.mark.skipif(sandbox.bwrap_problem() is not None, reason="bubblewrap does not work here")


def expected_label():
    """What this machine should give: root on a v1 or hybrid host has v1 memory and pids."""
    if os.geteuid() == 0 and cgroup_layout() in ("v1", "hybrid"):
        return "bwrap+cgroups(v1: memory, pids)"
    return None


@needs_bwrap
def test_a_real_grading_run_names_the_limits_in_force(tmp_path, root):
    from grader.variants import typed_in_release

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "typed_in.ipynb").write_text(json.dumps(typed_in_release("01_neurons", root=root)), encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(subs),
            "--assignment",
            "01_neurons",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--jobs",
            "1",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    label = json.loads((tmp_path / "out" / "typed_in.json").read_text(encoding="utf-8"))["extra_data"]["isolation"]
    if expected_label():
        assert label == expected_label()
    assert label.startswith("bwrap+cgroups(") == ("WITHOUT cgroup limits" not in err), (label, err)
    assert list(sandbox.CGROUP_ROOT.rglob(f"grader-{proc.pid}-*")) == []  # removed at exit


@needs_bwrap
def test_the_student_process_sits_in_the_limited_cgroups():
    server = launcher.ForkServer(sandboxed=True)
    try:
        if expected_label():
            assert server.isolation == expected_label()
        if not server.cgroups.active:
            pytest.skip(f"no cgroup limits here: {server.cgroups.problem}")
        child = server.start()
        try:
            lines = Path(f"/proc/{child.pid}/cgroup").read_text().splitlines()
        finally:
            child.kill()
        entries = [line.split(":", 2) for line in lines]  # per v1 hierarchy "ID:controllers:path", for v2 "0::path"
        for controller in server.cgroups.limits:
            wanted = "" if server.cgroups.version == "v2" else controller
            paths = [path for _, controllers, path in entries if wanted in controllers.split(",")]
            assert len(paths) == 1 and paths[0].endswith("/" + server.cgroups.name), (controller, lines)
        for path in server.cgroups.paths:
            assert (path / "cgroup.procs").read_text().split(), path  # the sandbox is inside
    finally:
        server.shutdown()
    assert not any(path.exists() for path in server.cgroups.paths)


def test_no_cgroup_limits_without_root_here():
    if os.geteuid() == 0 and cgroup_layout() is None:
        pytest.skip("no cgroups on this machine")
    label = as_nobody(lambda: isolation_label(None, Cgroups()))
    if cgroup_layout() == "v2" and os.geteuid() != 0 and label.startswith("bwrap+cgroups(v2: "):
        return  # a subtree delegated to this user
    assert label.startswith("bwrap (no cgroup limits: "), label
    if cgroup_layout() in ("v1", "hybrid"):
        assert "cannot make a cgroup in" in label and ("Permission denied" in label or "Read-only" in label), label
