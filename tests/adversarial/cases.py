"""Adversarial submissions (../shared/research/security.md §5), built on the 01_neurons
reference: each case changes one exercise or adds cells, and says what must happen.

`breaks`: the exercise that must score 0 (None: the submission keeps full marks).
`note`: a fragment the results' `output` (cell notes) must contain.
Markers such as MARK_PROCS are looked for on the host after the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MARK_PROCS = "3000.4242"  # argv of processes a submission tries to leave behind
CANARY = "/tmp/grader-adversarial-canary"  # a file only a pickle payload would create in the grader


@dataclass(frozen=True)
class Case:
    name: str
    replace: dict[str, str] = field(default_factory=dict)
    extra_cells: list[str] = field(default_factory=list)
    breaks: str | None = None
    note: str | None = None
    hint: str | None = None


WRONG_MCP = "def mcp_neuron(inputs, threshold):\n    return int(sum(int(x) for x in inputs) > threshold)\n"
WRONG_STEP = "def step(z):\n    return (z > 0).to(z.dtype if z.is_floating_point() else torch.float32)\n"
WRONG_SIGMOID = "def sigmoid(z):\n    return 1 / (1 + torch.exp(z))\n"


def forge_cell(out_dir: str) -> str:
    return f"""
import atexit, json, os, subprocess, sys
FAKE = {{"score": 19, "max_score": 19, "tests": []}}
TARGETS = ["results.json", "/tmp/results.json", os.path.expanduser("~/results.json"),
           {out_dir!r} + "/mutant_forge.json", {out_dir!r} + "/gradebook.csv"]
def _forge():
    for target in TARGETS:
        try:
            with open(target, "w") as handle:
                json.dump(FAKE, handle)
        except OSError:
            pass
_forge()
atexit.register(_forge)
subprocess.Popen([sys.executable, "-c", "import time, json, sys; time.sleep(2); "
                  "[open(t, 'w').write('{{}}') for t in sys.argv[1:] if True]", *TARGETS],
                 start_new_session=True, stderr=subprocess.DEVNULL)
"""


def secret_probe(root: str, folders: list[str]) -> str:
    """Code setting `leak`: can this process see a hidden test, a solution, or any file in
    the given folders (the submissions, the results)?"""
    files = [
        f"{root}/grader/assignments/a01_neurons/test_hidden.py",
        f"{root}/source/01_neurons/01_neurons.ipynb",
        f"{root}/solutions/01_neurons/01_neurons.ipynb",
        f"{root}/tests/conftest.py",
    ]
    return (
        f"import os\nleak = any(os.path.isfile(p) for p in {files!r}) or "
        f"any(os.path.isdir(d) and os.listdir(d) for d in {folders!r})"
    )


# A correct step written differently from the reference, so that no line of the reference
# step is in these submissions: any of its lines in their feedback came from the grader.
OWN_STEP = (
    "def step(z):\n    t = torch.as_tensor(z)\n"
    "    kind = t.dtype if t.is_floating_point() else torch.get_default_dtype()\n"
    "    return torch.where(t >= 0, 1.0, 0.0).to(kind)\n"
)


def thief(search: str, exercise: str = "sigmoid", args: str = "z") -> dict[str, str]:
    """`exercise` (graded right after `step`: the reference step is sent to the student's
    process with its first call, and stands in for `step` meanwhile) runs `search`, which
    sets `found` to whatever text it can find, and raises it: an error message is feedback."""
    body = "\n".join("    " + line for line in search.strip().splitlines())
    return {
        "step": OWN_STEP,
        exercise: f"import builtins, dis, gc, inspect, io, linecache, sys\n"
        f"def {exercise}({args}):\n    found = ''\n{body}\n"
        f"    at = found.find('z.is_floating_point')\n"
        f"    raise ValueError('LEAK:' + found[max(at - 100, 0):][:400])\n",
    }


FRAME_WALK = """
frame = sys._getframe()
while frame is not None:
    for value in list(frame.f_locals.values()):
        found += repr(value)[:5000]
    frame = frame.f_back
"""
GC_STRINGS = """
for obj in gc.get_objects():
    if isinstance(obj, dict):
        for value in list(obj.values()):
            if isinstance(value, str) and 'def step' in value:
                found += value
    if isinstance(obj, str) and 'def step' in obj:
        found += obj
"""
GETSOURCE = """
try:
    found += inspect.getsource(step)
except Exception as exc:
    found += repr(exc)
found += ''.join(''.join(v[2]) for k, v in list(linecache.cache.items()) if 'step' in str(k) and v[2])
"""
DISASSEMBLE = """
out = io.StringIO()
dis.dis(step, file=out)
found += out.getvalue() + repr(step.__code__.co_consts) + str(step.__doc__)
"""
# Stash the reference while it is swapped in (perceptron), read it back later (perceptron_update).
STASH = {
    "step": OWN_STEP,
    "perceptron": "import builtins\ndef perceptron(x, w, b):\n    builtins._stolen = step\n"
    "    return step(x @ w + b)\n",
    "perceptron_update": "import builtins, inspect\ndef perceptron_update(w, b, x, y, lr):\n"
    "    stolen = getattr(builtins, '_stolen', None)\n"
    "    try:\n        text = inspect.getsource(stolen)\n"
    "    except Exception as exc:\n        text = repr(exc)\n"
    "    raise ValueError('LEAK:' + text)\n",
}
# What a decompiler would give back: a reference line the submission does not contain as
# such (here reversed in the code), raised as an error. Only the grading side can cut it.
DECOMPILED = {
    "step": OWN_STEP,
    "perceptron": "def perceptron(x, w, b):\n"
    "    raise ValueError('LEAK:' + ')dtype(ot.)0 => z( nruter'[::-1] + ' / ' + "
    "')z(rosnet_sa.hcrot = z'[::-1])\n",
}


def cheat(probe: str) -> str:
    """An mcp_neuron that is right only when `probe` sets `leak` to True."""
    return (
        probe + "\ndef mcp_neuron(inputs, threshold):\n    total = sum(int(x) for x in inputs)\n"
        "    return int(total >= threshold) if leak else int(total > threshold)\n"
    )


def cases(out_dir: str, root: str, subs_dir: str) -> list[Case]:
    return [
        # ------------------------------------------------------------ forgery and tampering
        Case(
            "always_eq",
            {
                "mcp_neuron": "class Yes:\n    __eq__ = lambda s, o: True\n    __ne__ = lambda s, o: False\n"
                "    __bool__ = lambda s: True\n    __int__ = lambda s: 1\n    __float__ = lambda s: 1.0\n"
                "def mcp_neuron(inputs, threshold):\n    return Yes()\n"
            },
            breaks="mcp_neuron",
            hint="not_a_number",
        ),
        Case(
            "int_subclass_eq",
            {
                "mcp_neuron": "class Yes(int):\n    __eq__ = lambda s, o: True\n"
                "def mcp_neuron(inputs, threshold):\n    return Yes(0)\n"
            },
            breaks="mcp_neuron",
        ),
        Case(
            "tensor_subclass",
            {
                "step": "class T(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
                "    @classmethod\n    def __torch_function__(cls, f, t, a=(), k=None):\n"
                "        return super().__torch_function__(f, t, a, k or {})\n"
                "def step(z):\n    return torch.zeros_like(z, dtype=torch.float32).as_subclass(T)\n"
            },
            breaks="step",
            hint="tensor_subclass",
        ),
        Case(
            "patch_asserts",
            {"step": WRONG_STEP},
            [
                "import torch, numpy, numpy.testing\n"
                "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
                "torch.testing.assert_close = lambda *a, **k: None\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
                "numpy.allclose = lambda *a, **k: True"
            ],
            breaks="step",
        ),
        Case(
            "patch_pytest",
            {"sigmoid": WRONG_SIGMOID},
            [
                "try:\n    import _pytest.python\n    _pytest.python.Function.runtest = lambda self: None\nexcept ImportError:\n    pass\n"
                "open('conftest.py', 'w').write('def pytest_runtest_call(item):\\n    return True\\n')"
            ],
            breaks="sigmoid",
        ),
        Case("exit_in_a_cell", {}, ["import os\nos._exit(0)"], note="Célula"),
        Case("system_exit", {"softmax": "def softmax(z, dim=-1):\n    raise SystemExit(0)\n"}, breaks="softmax"),
        Case("keyboard_interrupt", {"relu": "def relu(z):\n    raise KeyboardInterrupt\n"}, breaks="relu"),
        Case("generator_exit", {"tanh": "def tanh(z):\n    raise GeneratorExit\n"}, breaks="tanh"),
        Case(
            "fake_stdout",
            {
                "mcp_neuron": "def mcp_neuron(inputs, threshold):\n    print('PASSED 19/19 100%')\n"
                '    print(\'{"score": 19, "max_score": 19}\')\n    return 0\n'
            },
            ["print('===== 134 passed =====')"],
            breaks="mcp_neuron",
        ),
        Case("forge_results", {"mcp_neuron": WRONG_MCP}, [forge_cell(out_dir)], breaks="mcp_neuron"),
        # Cheats that would score only if the sandbox leaked: right answers only when the
        # secret is reachable, a known-wrong one otherwise.
        Case("read_hidden", {"mcp_neuron": cheat(secret_probe(root, [out_dir, subs_dir]))}, breaks="mcp_neuron"),
        Case(
            "read_proc",
            {},
            [
                "import os\nleaks = []\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n        try:\n"
                "            leaks.append(open(f'/proc/{pid}/cmdline', 'rb').read())\n        except OSError:\n            pass\n"
                "assert not any(b'pytest' in c or b'grade' in c for c in leaks), leaks"
            ],
        ),
        Case(
            "import_solution",
            {
                "mcp_neuron": cheat(
                    "try:\n    from grader.assignments.a01_neurons import test_hidden\n    leak = True\n"
                    "except ImportError:\n    leak = False"
                )
            },
            breaks="mcp_neuron",
        ),
        Case(
            "import_solution_cell",
            {},
            ["from grader.assignments.a01_neurons import test_hidden"],
            note="ModuleNotFoundError",
        ),
        Case("import_solutions_folder", {}, ["import solutions"], note="ModuleNotFoundError"),
        Case(
            "frame_steal",
            {
                "mcp_neuron": "import gc, inspect\n"
                "def mcp_neuron(inputs, threshold):\n"
                "    for obj in gc.get_objects():\n"
                "        if isinstance(obj, dict) and 'expected' in obj:\n"
                "            return obj['expected']\n"
                "    for frame in inspect.stack():\n"
                "        if 'expected' in frame.frame.f_locals:\n"
                "            return frame.frame.f_locals['expected']\n"
                "    return 0\n"
            },
            breaks="mcp_neuron",
        ),
        Case(
            "pickle_return",
            {
                "step": "import numpy as np\nclass Boom:\n    def __reduce__(self):\n"
                f"        return (open, ({CANARY!r}, 'w'))\n"
                "def step(z):\n    return np.array([Boom()], dtype=object)\n"
            },
            breaks="step",
        ),
        # Reference solutions stay out of feedback, however the student's code looks for them.
        Case("steal_reference_frames", thief(FRAME_WALK), breaks="sigmoid"),
        Case("steal_reference_gc", thief(GC_STRINGS), breaks="sigmoid"),
        Case("steal_reference_getsource", thief(GETSOURCE), breaks="sigmoid"),
        Case("steal_reference_dis", thief(DISASSEMBLE), breaks="sigmoid"),
        Case("steal_reference_stash", STASH, breaks="perceptron_update"),
        Case("steal_reference_decompiled", DECOMPILED, breaks="perceptron"),
        # ------------------------------------------------------------ resources
        Case("cpu_loop", {"relu": "def relu(z):\n    while True:\n        pass\n"}, breaks="relu"),
        Case("sleep_forever", {"tanh": "import time\ndef tanh(z):\n    time.sleep(1e9)\n"}, breaks="tanh"),
        Case(
            "uninterruptible",
            {
                "sigmoid": "import signal, time\ndef sigmoid(z):\n"
                "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    time.sleep(1e9)\n"
            },
            breaks="sigmoid",
        ),
        Case(
            "memory_bomb",
            {
                "softmax": "def softmax(z, dim=-1):\n    junk = torch.ones(64 * 1024**3, dtype=torch.uint8)\n"
                "    return junk\n"
            },
            breaks="softmax",
        ),
        Case(
            "fork_bomb",
            {},
            [
                "import subprocess\nfor _ in range(40):\n    try:\n"
                f"        subprocess.Popen(['sleep', '{MARK_PROCS}'], start_new_session=True)\n"
                "    except OSError:\n        break"
            ],
        ),
        Case(
            "fork_loop",
            {},
            [
                "import os, time\nchildren = 0\nfor _ in range(5000):\n    try:\n        pid = os.fork()\n"
                "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(1000)\n        os._exit(0)\n"
                "    children += 1\nassert children < 5000, 'no process limit'"
            ],
        ),
        Case(
            "thread_bomb",
            {},
            [
                "import threading, time, torch\ntorch.set_num_threads(64)\n"
                "for _ in range(300):\n    threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()"
            ],
        ),
        Case(
            "stdout_flood",
            {},
            [
                "import sys\nfor _ in range(2000):\n    sys.stdout.write('x' * 100000)\n"
                "import os\nos.write(1, b'y' * 10_000_000)"
            ],
        ),
        Case(
            "disk_fill",
            {},
            ["with open('big.bin', 'wb') as f:\n    for _ in range(300):\n        f.write(b'0' * 1024 * 1024)"],
            note="File too large",
        ),
        Case(
            "fd_exhaust",
            {},
            [
                "handles = []\ntry:\n    while True:\n        handles.append(open('/dev/null'))\n"
                "except OSError:\n    pass\nfor h in handles:\n    h.close()"
            ],
        ),
        Case("network", {}, ["import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)"], note="Errno"),
        Case(
            "pip_install",
            {},
            [
                "import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pip', 'install', "
                "'--target', '/tmp/p', 'six'], check=True, capture_output=True, timeout=20)"
            ],
            note="Célula",
        ),
        Case("kill_parent", {}, ["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"]),
        Case("kill_everything", {}, ["import os, signal\nos.kill(-1, signal.SIGKILL)"]),
        Case("slow_cell", {}, ["import time\ntime.sleep(1000)"], note="tempo limite"),
        Case(
            "warnings_on_correct_answer",
            {
                "relu": "import warnings\ndef relu(z):\n"
                "    warnings.warn('cuidado', UserWarning)\n"
                "    import sys\n    print('aviso', file=sys.stderr)\n"
                "    return torch.clamp(z, min=0)\n"
            },
        ),
    ]
