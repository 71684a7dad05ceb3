"""The student-process boundary: cells like Run All, calls, failures, handles, determinism."""

import math
import random
import time

import numpy as np
import pytest
import torch

from grader.diagnosis import diagnosis_of
from grader.engine import protocol
from grader.engine.session import (
    InputsModified,
    Limits,
    NotAttempted,
    NotCallable,
    NotDefined,
    OpTrace,
    StudentCrash,
    StudentError,
    StudentSession,
    StudentTimeout,
    SubmissionTimeLimit,
)

FAST = Limits(call_seconds=2, cell_seconds=2, submission_seconds=60)


def session(cells, **kwargs):
    kwargs.setdefault("limits", FAST)
    return StudentSession(cells, **kwargs).start()


def test_cells_run_in_order_and_an_error_does_not_stop_the_rest():
    with session(["x = 1", "1 / 0", "y = x + 1", "def f():\n    return y"]) as s:
        assert [c.status for c in s.cell_results] == ["ok", "error", "ok", "ok"]
        assert s.cell_results[1].error["type"] == "ZeroDivisionError"
        assert s.cell_results[1].error["cell"] == 2
        assert s.call("f") == 2


def test_a_student_process_starts_with_what_every_submission_imports():
    from grader.engine.worker import ZYGOTE_PRELOAD

    with session(["import sys\nloaded = sorted(sys.modules)"]) as s:
        assert set(ZYGOTE_PRELOAD) <= set(s.get("loaded"))  # imported before the cell ran


def test_syntax_error_is_located():
    with session(["def f(:\n    pass", "g = 3"]) as s:
        error = s.cell_results[0].error
        assert error["type"] == "SyntaxError" and error["line"] == 1
        assert s.get("g") == 3


def test_not_attempted_missing_and_not_callable():
    with session(["def f():\n    raise NotImplementedError()", "C = 3"]) as s:
        with pytest.raises(NotAttempted):
            s.call("f")
        with pytest.raises(NotDefined) as missing:
            s.call("nothing")
        assert missing.value.outcome == "not_attempted"
        with pytest.raises(NotCallable):
            s.call("C")


def test_a_class_still_holding_the_placeholder_is_not_attempted():
    cells = ['class Block:\n    """docstring"""\n    # SEU CODIGO AQUI\n    raise NotImplementedError()']
    with session(cells) as s, pytest.raises(NotAttempted):
        s.call("Block")


def test_student_exception_is_reported_with_its_line():
    with session(["def f(x):\n    return x / 0"]) as s:
        with pytest.raises(StudentError) as info:
            s.call("f", 1)
        assert "ZeroDivisionError" in info.value.render() and "linha 2" in info.value.render()


def test_python_loop_times_out_and_the_process_survives():
    with session(["def spin():\n    while True:\n        pass", "def ok():\n    return 1"]) as s:
        with pytest.raises(StudentTimeout):
            s.call("spin", timeout=0.5)
        assert s.call("ok") == 1 and s.restarts == 0


def test_uninterruptible_hang_is_killed_and_replaced():
    cells = [
        "import signal, time",
        "def stubborn():\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    time.sleep(60)",
        "def ok():\n    return 2",
    ]
    with session(cells) as s:
        with pytest.raises(StudentTimeout):
            s.call("stubborn", timeout=0.5)
        assert s.call("ok") == 2 and s.restarts == 1


def test_os_exit_in_a_call_costs_only_that_call():
    with session(["import os", "def die():\n    os._exit(0)", "def ok():\n    return 3"]) as s:
        with pytest.raises(StudentCrash):
            s.call("die")
        assert s.call("ok") == 3


def test_os_exit_in_a_cell_skips_only_that_cell():
    with session(["import os", "a = 1", "os._exit(0)", "b = a + 1"]) as s:
        assert [c.status for c in s.cell_results] == ["ok", "ok", "crashed", "ok"]
        assert s.get("b") == 2


def test_hanging_cell_is_stopped_and_later_cells_run():
    with session(["while True:\n    pass", "z = 5"]) as s:
        assert [c.status for c in s.cell_results] == ["timeout", "ok"]
        assert s.get("z") == 5


def test_the_cells_go_in_one_request_and_each_is_timed_on_its_own(monkeypatch):
    """Run All is one `run_cells` request answered cell by cell; a cell that hangs where the
    worker cannot stop it is killed at its own limit, and the cells after it run in a new
    process with the earlier ones replayed."""
    from grader.engine.transport import ChildProcess

    sent = []
    real_send = ChildProcess.send
    monkeypatch.setattr(
        ChildProcess, "send", lambda self, message: sent.append(message["op"]) or real_send(self, message)
    )
    cells = [
        "import signal, time",
        "a = 1",
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(60)",
        "b = a + 1",
        "def f():\n    return b",
    ]
    started = time.monotonic()
    with session(cells, limits=Limits(call_seconds=2, cell_seconds=1, submission_seconds=60)) as s:
        assert [c.status for c in s.cell_results] == ["ok", "ok", "timeout", "ok", "ok"]
        assert s.call("f") == 2 and s.restarts == 1
    assert time.monotonic() - started < 30  # the hang cost its own limit (and the grace), not the rest's
    # the first process, then the replay (cell 3 left out); started once though `with` starts it again
    assert sent == ["init", "run_cells", "init", "run_cells", "call", "exit"]


def test_system_exit_and_keyboard_interrupt_are_errors_not_exits():
    with session(["import sys", "def quit():\n    sys.exit(0)", "def ctrl_c():\n    raise KeyboardInterrupt"]) as s:
        for name in ("quit", "ctrl_c"):
            with pytest.raises(StudentError):
                s.call(name)
        assert s.restarts == 0


def test_submission_time_limit():
    limits = Limits(call_seconds=2, cell_seconds=2, submission_seconds=1.0)
    with (
        session(["import time", "def slow():\n    time.sleep(0.6)\n    return 1"], limits=limits) as s,
        pytest.raises((SubmissionTimeLimit, StudentTimeout)),
    ):
        for _ in range(5):
            s.call("slow")


def test_results_are_plain_data_never_student_objects():
    cells = [
        "import torch",
        "class Yes:\n    def __eq__(self, other):\n        return True\n    __bool__ = lambda self: True",
        "def yes():\n    return Yes()",
        "class T(torch.Tensor):\n    pass",
        "def sub():\n    return torch.zeros(2).as_subclass(T)",
        "class I(int):\n    def __eq__(self, o):\n        return True",
        "def fake_int():\n    return I(0)",
    ]
    with session(cells) as s:
        result = s.call("yes")
        assert isinstance(result, protocol.Opaque) and result != 1
        tensor = s.call("sub")
        assert type(tensor) is torch.Tensor and protocol.tensor_meta(tensor).subclass
        assert isinstance(s.call("fake_int"), protocol.Opaque)


def test_tensors_round_trip_with_dtype_and_device():
    with session(["import torch", "def double(x):\n    return x * 2"]) as s:
        for dtype in (torch.float32, torch.float64, torch.int64, torch.bool):
            x = torch.ones(2, 3, dtype=dtype)
            y = s.call("double", x, device="cpu")
            assert y.dtype == (torch.int64 if dtype == torch.bool else dtype) and y.shape == (2, 3)
            assert protocol.tensor_meta(y).device == "cpu"
        zero_d = s.call("double", torch.tensor(1.5))
        assert zero_d.shape == () and float(zero_d) == 3.0


def test_return_args_shows_mutated_inputs():
    with session(["def clobber(x):\n    x[0] = 99.0\n    return x"]) as s:
        _, (after,) = s.call("clobber", torch.zeros(3), return_args=True)
        assert after[0] == 99.0


def test_call_many_is_each_call_in_one_round_trip():
    cells = ["def f(x):\n    if x.sum() < 0:\n        raise ValueError('negativo')\n    return x * 2", "C = 3"]
    with session(cells) as s:
        got = s.call_many("f", [(torch.ones(2),), (torch.arange(3.0),)])
        assert [g.tolist() for g in got] == [[2.0, 2.0], [0.0, 2.0, 4.0]]
        assert s.call_many("f", []) == []
        with pytest.raises(StudentError) as failed:  # the first failing call is raised as `call` raises it
            s.call_many("f", [(torch.ones(1),), (-torch.ones(1),), (torch.ones(1),)])
        assert "negativo" in str(failed.value.error)
        with pytest.raises(NotDefined):
            s.call_many("nothing", [(torch.ones(1),)])
        with pytest.raises(NotCallable):
            s.call_many("C", [(torch.ones(1),)])


def test_call_many_checks_that_inputs_come_back_unchanged():
    with session(["def f(x):\n    x.add_(1)\n    return 0"]) as s, pytest.raises(InputsModified):
        s.call_many("f", [(torch.zeros(2),)])


MUTATORS = [
    "def f(x, d):\n    x.add_(1)\n    return 0",  # a tensor, in place
    "def f(x, d):\n    x.data = x.data.double()\n    return 0",  # dtype swapped under the caller
    "def f(x, d):\n    x.resize_(2)\n    return 0",  # shape
    "def f(x, d):\n    d['w'][0] = 5.0\n    return 0",  # a tensor inside a dict
    "def f(x, d):\n    d['labels'].append(3)\n    return 0",  # a list inside a dict
    "def f(x, d):\n    d['w'] = d['w'] * 2\n    return 0",  # a dict entry replaced
    "def f(x, d):\n    d.pop('labels')\n    return 0",  # a key removed
    "def f(x, d):\n    d['pair'] = list(d['pair'])\n    return 0",  # a tuple turned into a list
]


@pytest.mark.parametrize("code", MUTATORS)
def test_every_call_checks_that_inputs_come_back_unchanged(code):
    """The catalog: a function never changes its inputs in place. The engine checks it on
    every call, whatever the grader looks at, and names the argument."""
    args = (torch.arange(3.0), {"w": torch.ones(2), "labels": [0, 1], "pair": (1, 2.5)})
    with session([code, "def g(x, d):\n    return float(x.sum()) + len(d)"]) as s:
        with pytest.raises(InputsModified) as failure:
            s.call("f", *args)
        assert failure.value.hint == "inputs_modified" and failure.value.fields["where"].split(",")[0] in ("1", "2")
        assert s.call("g", *args) == 6.0  # a function that only reads is fine


def test_in_place_changes_are_allowed_where_the_contract_says_so():
    with session(["def init_(x):\n    x.zero_()\n    return x"]) as s:
        assert torch.equal(s.call("init_", torch.ones(2), mutates=True), torch.zeros(2))
        with pytest.raises(InputsModified):
            s.call("init_", torch.ones(2))


def test_a_forward_pass_that_changes_its_input_is_named():
    builder = "import torch\ndef make():\n    return torch.nn.ReLU(inplace=True)"
    with session(["x = 1"]) as s:
        model = s.build(builder, "make")
        with pytest.raises(InputsModified):
            s.call_handle(model, [], torch.tensor([-1.0, 2.0]))
        assert torch.equal(s.call_handle(model, [], torch.tensor([1.0, 2.0])), torch.tensor([1.0, 2.0]))


def test_nan_inputs_and_keyword_arguments_are_compared_too():
    with session(["def f(x, scale=None):\n    scale.mul_(2)\n    return 0", "def g(x):\n    return 1"]) as s:
        assert s.call("g", torch.tensor([float("nan"), 1.0])) == 1
        with pytest.raises(InputsModified) as failure:
            s.call("f", 1, scale=torch.ones(1))
        assert "`scale`" in failure.value.render("pt")


def test_no_reference_text_reaches_the_student_process():
    """A reference stands in for an earlier exercise as bytecode: a student function that
    looks for its text (frames, gc, inspect, linecache) finds nothing to print."""
    thief = (
        "import gc, inspect, linecache, sys\n"
        "def g(x):\n"
        "    found = []\n"
        "    frame = sys._getframe()\n"
        "    while frame is not None:\n"
        "        found += [repr(v) for v in frame.f_locals.values()]\n"
        "        frame = frame.f_back\n"
        "    found += [o for o in gc.get_objects() if isinstance(o, str)]\n"
        "    found += [repr(o) for o in gc.get_objects() if isinstance(o, dict)]\n"
        "    try:\n"
        "        found.append(inspect.getsource(f))\n"
        "    except (OSError, TypeError):\n"
        "        pass\n"
        "    found += [''.join(v[2]) for v in list(linecache.cache.values()) if v[2]]\n"
        "    return [t[:200] for t in found if 'SECRET' + '_MARK' in t or 'x * ' + '10' in t]\n"
    )
    reference = 'def f(x):\n    """SECRET_MARK"""\n    return x * 10  # SECRET_MARK'
    with session(["def f(x):\n    return -1", thief], order=["f", "g"], references={"f": reference}) as s:
        s.set_exercise("g")
        assert s.call("g", 2) == []


def test_references_stand_in_for_earlier_exercises_only():
    cells = ["def f(x):\n    return -1", "def g(x):\n    return f(x) + 1"]
    with session(
        cells, order=["f", "g"], references={"f": "def f(x):\n    return x * 10", "g": "def g(x):\n    return 0"}
    ) as s:
        s.set_exercise("f")
        assert s.call("f", 2) == -1  # the student's own f while f is graded
        s.set_exercise("g")
        assert s.call("g", 2) == 21  # g's grading uses the reference f
        assert s.call("f", 2) == -1  # and the student's f is back afterwards


def test_handles_keep_objects_in_the_student_process():
    builder = "import torch\ndef make(n):\n    torch.manual_seed(0)\n    return torch.nn.Linear(n, 1)"
    cells = [
        "import torch",
        "def zero_weights(model):\n    with torch.no_grad():\n        model.weight.zero_()\n    return None",
    ]
    with session(cells) as s:
        model = s.build(builder, "make", 3)
        assert isinstance(model, protocol.Handle)
        s.call("zero_weights", model)
        state = s.call_handle(model, ["state_dict"])
        assert torch.equal(state["weight"], torch.zeros(1, 3)) and state["bias"].shape == (1,)


def test_keep_whole_leaves_the_result_itself_in_the_student_process():
    """A list of parameters would come back as copied tensors; keep="whole" leaves the list
    there as one handle, so grader code can ask which objects it holds (05_transfer)."""
    builder = "import torch\ndef make():\n    return torch.nn.Linear(2, 1)"
    inspect = (
        "def positions(model, items):\n    ids = [id(p) for p in model.parameters()]\n"
        "    return [ids.index(id(x)) if id(x) in ids else -1 for x in items]"
    )
    cells = [
        "def trainable(model):\n    return [p for p in model.parameters() if p.requires_grad]",
        "def nothing(model):\n    return None",
    ]
    with session(cells) as s:
        model = s.build(builder, "make")
        copied = s.call("trainable", model)
        assert isinstance(copied, list) and all(isinstance(t, torch.Tensor) for t in copied)
        kept = s.call("trainable", model, keep="whole")
        assert isinstance(kept, protocol.Handle) and kept.type_name == "list"
        assert s.run_grader_code(inspect, "positions", model, kept) == [0, 1]
        assert s.call("nothing", model, keep="whole") is None


def test_same_submission_same_results():
    cells = [
        "import torch, random, numpy as np",
        "def noise():\n    return torch.randn(3), random.random(), np.random.rand()",
    ]
    runs = []
    for _ in range(2):
        with session(cells) as s:
            s.set_exercise(None, seed=1234)
            runs.append(s.call("noise"))
    assert torch.equal(runs[0][0], runs[1][0]) and runs[0][1:] == runs[1][1:]


def test_hardcoded_cuda_gets_a_hint_on_a_cpu_machine():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: .cuda() works here")
    with session(["import torch", "def f(x):\n    return x.cuda()"]) as s:
        with pytest.raises(StudentError) as info:
            s.call("f", torch.ones(1))
        assert diagnosis_of(info.value).key == "hardcoded_cuda"


def test_student_output_is_captured_not_leaked(capfd):
    with session(["print('x' * 100000)", "def f():\n    print('hello')\n    return 1"]) as s:
        assert s.call("f") == 1
        assert "hello" in s.last_output
        assert len(s.cell_results[0].output) < 10000
    assert "hello" not in capfd.readouterr().out


@pytest.mark.parametrize(
    "payload",
    [
        {"$ndarray": "AAAA"},
        {"$unknown": 1},
        {"$tensor": "", "dtype": "torch.float32", "device": "cpu"},
        {"$dtype": "os.system"},
        [1, {"a": 2}],
    ],
)
def test_decoder_rejects_anything_unexpected(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)


@pytest.mark.parametrize(
    "payload",
    [
        "|O8;1;AAAAAAAAAAA=",  # an object array: pointers, never data
        "|V4;1;AAAAAA==",  # raw void bytes
        "<U1;1;QQAAAA==",  # text is not a tensor
        "[('a', '<f4')];1;AAAAAA==",  # a structured dtype
        "<f4;3;AAAAAA==",  # 3 floats announced, 1 sent
        "<f4;-1;AAAAAA==",  # a negative dimension
        "<f4;1;not base64!",
        "<f4",  # no shape, no data
    ],
)
def test_decoder_refuses_arrays_that_are_not_plain_numbers(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({"$ndarray": payload})


def test_codec_round_trip():
    value = {
        "a": [1, 2.5, float("nan"), None, True],
        (1, "k"): (np.float32(2.0), np.arange(3)),
        "big": 2**70,
        "t": torch.arange(4.0).reshape(2, 2),
        "d": torch.device("cpu"),
        "dt": torch.float64,
        "inf": -math.inf,
    }
    back = protocol.decode(protocol.encode(value))
    assert back["a"][:2] == [1, 2.5] and math.isnan(back["a"][2]) and back["a"][3:] == [None, True]
    assert back[(1, "k")][0] == np.float32(2.0) and np.array_equal(back[(1, "k")][1], np.arange(3))
    assert back["big"] == 2**70 and torch.equal(back["t"], value["t"])
    assert back["d"] == torch.device("cpu") and back["dt"] is torch.float64 and back["inf"] == -math.inf


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test extra
    given = None

if given is not None:
    plain = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=4)
        ),
        max_leaves=20,
    )

    @settings(max_examples=200, deadline=None)
    @given(plain)
    def test_codec_round_trips_any_plain_value(value):
        import json

        wire = json.loads(json.dumps(protocol.encode(value), allow_nan=False))
        assert protocol.decode(wire) == value


def test_non_contiguous_inputs_stay_non_contiguous_and_shapes_are_tuples():
    cells = ["def probe(x):\n    return x.is_contiguous(), x.shape, torch.equal(x, x.contiguous())", "import torch"]
    with session(cells) as s:
        x = torch.arange(24.0).reshape(2, 3, 4).transpose(1, 2)
        contiguous, shape, same = s.call("probe", x)
        assert contiguous is False and shape == (2, 4, 3) and same is True
        assert s.call("probe", x.contiguous())[0] is True


# The student's code raising a library's NotImplementedError is an error with a hint, not
# "not attempted"; every diagnosis rule matches the message this torch really raises.
def _raise_float_target():
    torch.nn.CrossEntropyLoss()(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))


def _raise_target_shape():
    torch.nn.CrossEntropyLoss()(torch.zeros(2, 3), torch.tensor([[0], [1]]))


def _raise_target_range():
    torch.nn.CrossEntropyLoss()(torch.zeros(2, 3), torch.tensor([0, 3]))


def _raise_swapped():
    torch.nn.CrossEntropyLoss()(torch.tensor([0, 1]), torch.zeros(2, 3))


def _raise_foward():
    class Net(torch.nn.Module):
        def foward(self, x):
            return x

    Net()(torch.zeros(1))


def _raise_no_super():
    class Net(torch.nn.Module):
        def __init__(self):
            self.layer = torch.nn.Linear(2, 2)

    Net()


def _raise_parameters_method():
    torch.optim.SGD(torch.nn.Linear(2, 2).parameters, lr=0.1)


def _raise_empty_parameters():
    torch.optim.SGD([], lr=0.1)


def _raise_nothing_requires_grad():
    torch.nn.Linear(2, 1).requires_grad_(False)(torch.ones(1, 2)).sum().backward()


def _raise_parameter_in_two_groups():
    layer = torch.nn.Linear(2, 1)
    torch.optim.SGD([{"params": [layer.weight]}, {"params": list(layer.parameters())}], lr=0.1)


@pytest.mark.parametrize(
    "make_error, key",
    [
        (_raise_float_target, "ce_target_dtype"),
        (_raise_target_shape, "ce_target_shape"),
        (_raise_target_range, "ce_target_range"),
        (_raise_swapped, "ce_arguments_swapped"),
        (_raise_foward, "forward_missing"),
        (_raise_no_super, "module_init"),
        (_raise_parameters_method, "parameters_not_called"),
        (_raise_empty_parameters, "empty_parameters"),
        (_raise_nothing_requires_grad, "nothing_requires_grad"),
        (_raise_parameter_in_two_groups, "parameter_in_two_groups"),
    ],
)
def test_known_torch_errors_get_their_hint(make_error, key):
    from grader.diagnosis import diagnose

    with pytest.raises(Exception) as info:
        make_error()
    assert diagnose({"type": type(info.value).__name__, "message": str(info.value)}).key == key


@pytest.mark.parametrize(
    "message",
    [  # torch's check_generator (ATen), which only a GPU or another accelerator can raise
        "Expected a 'cuda' device type for generator but found 'cpu'",
        "Expected a 'cpu' device type for generator but found 'cuda'",
    ],
)
def test_a_generator_on_another_device_gets_its_hint(message):
    from grader.diagnosis import diagnose

    assert diagnose({"type": "RuntimeError", "message": message}).key == "generator_device"


def test_a_library_not_implemented_error_is_an_error_not_unattempted():
    cells = [
        "import torch\nclass Net(torch.nn.Module):\n    def foward(self, x):\n        return x\n"
        "def run():\n    return Net()(torch.zeros(1))"
    ]
    with session(cells) as s:
        with pytest.raises(StudentError) as info:
            s.call("run")
        assert info.value.outcome == "error" and diagnosis_of(info.value).key == "forward_missing"


def test_operator_trace_sees_through_names():
    """A convolution reached under another name is still a convolution at the operator level;
    gradients computed by autograd show a backward pass, hand-derived formulas do not."""
    cells = [
        "import torch, torch.nn.functional as F",
        "def sneaky(x, w):\n    return getattr(torch._C._VariableFunctions, 'con' + 'v2d')(x, w)",
        "def by_hand(x, w):\n    return (F.unfold(x, 3).transpose(1, 2) @ w.view(3, -1).t()).transpose(1, 2).reshape(1, 3, 3, 3)",
        "def grad_autograd(a):\n    a = torch.tensor(a, requires_grad=True)\n    (a * a).backward()\n    return a.grad.item()",
        "def grad_formula(a):\n    return 2 * a",
    ]
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with session(cells, limits=Limits(call_seconds=30, cell_seconds=30, submission_seconds=120)) as s:
        _, trace = s.call("sneaky", x, w, trace_ops=True)
        assert "convolution" in trace.ops
        _, trace = s.call("by_hand", x, w, trace_ops=True)
        assert "im2col" in trace.ops and not any("conv" in op for op in trace.ops)
        assert s.call("grad_autograd", 3.0, trace_ops=True)[1].backward is True
        assert s.call("grad_formula", 3.0, trace_ops=True) == (6.0, OpTrace(frozenset(), False))


@pytest.mark.parametrize(
    "message, key",
    [
        (
            "Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the same",
            "device_mismatch",
        ),
        ("Input type (CPUFloatType) and weight type (CUDAFloatType) should be the same", "device_mismatch"),
        ("Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same", None),
    ],
)
def test_a_convolution_with_its_weights_elsewhere_is_a_device_mismatch(message, key):
    """The words PyTorch uses when a convolution's input and weights live on different
    devices (only a GPU shows it); with two dtypes on one device it is not a device problem."""
    from grader.diagnosis import diagnose

    found = diagnose({"type": "RuntimeError", "message": message})
    assert (found.key if found else None) == key


def test_seeding_a_call_seeds_torch_like_manual_seed_without_formatting_stacks(monkeypatch):
    """Every call is seeded (random, numpy, torch); torch.manual_seed formats the call stack
    for each accelerator's lazy seed until one starts, which cost a third of a student
    process's time. The worker seeds the same generators without it where no CUDA can start."""
    import traceback

    from grader.engine.worker import Worker

    formatted = []
    monkeypatch.setattr(traceback, "format_stack", lambda *a, **k: formatted.append(1) or [])
    worker = Worker(namespace={})
    worker._seed(1234)
    ours = (torch.rand(3), np.random.rand(), random.random())
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    assert torch.equal(ours[0], torch.rand(3)) and ours[1:] == (np.random.rand(), random.random())
    if not torch.cuda.is_available() or torch.cuda.is_initialized():
        formatted.clear()
        for seed in range(50):
            worker._seed(seed)
        assert formatted == []
