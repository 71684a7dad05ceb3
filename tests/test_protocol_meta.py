"""Tensors on the `meta` device across the student boundary: a shape and a dtype, no data.

Graders use them to check device handling (every tensor moved, nothing left behind, inputs
untouched) on a machine without a GPU: `x.to("meta")` fails to move nothing silently, as a
move to "cpu" on a CPU-only machine does."""

import json

import pytest
import torch

from grader import checks
from grader.checks import Mistake
from grader.engine import protocol
from grader.engine.session import Limits, StudentSession

FAST = Limits(call_seconds=5, cell_seconds=5, submission_seconds=60)


def wire(value):
    """What the other process receives: the encoded value through JSON."""
    return json.loads(json.dumps(protocol.encode(value), allow_nan=False))


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float32,
        torch.float64,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.uint8,
        torch.bool,
        torch.complex64,
    ],
)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (1_000_000, 1_000_000)])
def test_a_meta_tensor_round_trips_as_its_shape_and_dtype(dtype, shape):
    data = wire(torch.empty(shape, dtype=dtype, device="meta"))
    assert data["$meta_tensor"] == list(shape) and data["device"] == "meta"  # no payload, whatever the size
    back = protocol.decode(data)
    assert type(back) is torch.Tensor and back.is_meta and back.shape == shape and back.dtype == dtype
    meta = protocol.tensor_meta(back)
    assert meta == protocol.TensorMeta(
        dtype=str(dtype), device="meta", requires_grad=False, is_leaf=True, subclass=False
    )


def test_flags_and_containers_of_meta_tensors():
    leaf = torch.empty(2, 3, device="meta", requires_grad=True)
    nested = {
        "x": (leaf, [leaf * 2, torch.empty(1, device="meta").t()]),
        "n": 7,
        "s": "a",
        "z": None,
        "p": torch.nn.Parameter(torch.empty(4, device="meta")),
    }
    back = protocol.decode(wire(nested))
    first, (second, third) = back["x"][0], back["x"][1]
    assert type(back["x"]) is tuple and type(back["x"][1]) is list  # container types as sent
    assert (back["n"], back["s"], back["z"]) == (7, "a", None)
    assert protocol.tensor_meta(first).requires_grad and protocol.tensor_meta(first).is_leaf
    assert protocol.tensor_meta(second).requires_grad and not protocol.tensor_meta(second).is_leaf
    assert third.shape == (1,) and all(t.is_meta for t in (first, second, third))
    assert protocol.tensor_meta(back["p"]).subclass  # an nn.Parameter is a subclass, as on any device
    assert not first.requires_grad  # the grading side records the flag, it does not set it


@pytest.mark.parametrize(
    "payload",
    [
        {"$meta_tensor": [2, -1], "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": [2, True], "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": [2.0], "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": "2", "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": {"$tuple": [2]}, "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": [1] * 65, "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": [2**63], "dtype": "torch.float32", "device": "meta"},
        {"$meta_tensor": [2**62, 2**62], "dtype": "torch.float32", "device": "meta"},  # overflows
        {"$meta_tensor": [2**40] * 3, "dtype": "torch.float32", "device": "meta", "contiguous": False},  # strides too
        {"$meta_tensor": [2], "dtype": "torch.float32", "device": "cpu"},  # data tensors carry their data
        {"$meta_tensor": [2], "dtype": "torch.float32", "device": "meta:0"},
        {"$meta_tensor": [2], "dtype": "torch.float32"},
        {"$meta_tensor": [2], "dtype": "os.system", "device": "meta"},
        {"$meta_tensor": [2], "dtype": "Tensor", "device": "meta"},
        {"$meta_tensor": [2], "device": "meta"},
        {"$meta_tensor": [2], "dtype": "torch.float32", "device": "meta", "requires_grad": 1},
        {"$meta_tensor": [2], "dtype": "torch.float32", "device": "meta", "contiguous": "no"},
    ],
)
def test_the_decoder_refuses_malformed_meta_tensors(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)


def test_the_student_process_builds_meta_tensors_as_sent():
    """Grading side -> student: an empty tensor on meta with the sender's shape, dtype,
    strides kind and requires_grad; a tensor without data stays on meta whatever `device`."""
    data = protocol.encode(
        {"a": torch.empty(3, 4, device="meta").t(), "b": torch.empty(2, device="meta", requires_grad=True)}
    )
    built = protocol.decode(data, tensor=lambda array, meta: protocol.meta_tensor(meta))
    assert built["a"].is_meta and built["a"].shape == (4, 3) and not built["a"].is_contiguous()
    assert built["b"].requires_grad and built["b"].is_leaf and protocol.tensor_meta(built["b"]) is None
    with pytest.raises(protocol.ProtocolError):  # only floating tensors require gradients
        protocol.meta_tensor(
            {"shape": (2,), "dtype": "torch.int64", "device": "meta", "requires_grad": True, "contiguous": True}
        )
    with pytest.raises(protocol.ProtocolError):  # strides that overflow
        protocol.meta_tensor(
            {
                "shape": (2**40,) * 3,
                "dtype": "torch.float32",
                "device": "meta",
                "requires_grad": False,
                "contiguous": False,
            }
        )


PROBE = "def probe(x):\n    return x.device.type, x.shape, x.dtype, x.requires_grad, x.is_contiguous()"
TO_DEVICE = (
    "def to_device(obj, device):\n"
    "    if isinstance(obj, torch.Tensor):\n"
    "        return obj.to(device)\n"
    "    if isinstance(obj, dict):\n"
    "        return {k: to_device(v, device) for k, v in obj.items()}\n"
    "    if isinstance(obj, (list, tuple)):\n"
    "        return type(obj)(to_device(v, device) for v in obj)\n"
    "    return obj"
)
IN_PLACE = "def in_place(obj, device):\n    for k, v in obj.items():\n        obj[k] = v.to(device)\n    return obj"


@pytest.fixture(scope="module")
def student():
    with StudentSession(
        ["import torch", PROBE, TO_DEVICE, IN_PLACE, "def moved(x):\n    return x.to('meta')"], limits=FAST
    ).start() as session:
        yield session


def test_meta_tensors_cross_both_ways_with_a_student_process(student):
    value, (after,) = student.call("probe", torch.empty(2, 3, device="meta").t(), return_args=True)
    assert value == ("meta", (3, 2), torch.float32, False, False) and after.is_meta and after.shape == (3, 2)
    # a grader's CPU tensors moved to meta in the student's process by `device`
    value, (after,) = student.call("probe", torch.ones(5, dtype=torch.float64), device="meta", return_args=True)
    assert value == ("meta", (5,), torch.float64, False, True) and protocol.tensor_meta(after).device == "meta"
    # a tensor without data stays on meta whatever `device` says
    assert student.call("probe", torch.empty(1, device="meta"), device="cpu", return_args=True)[0][0] == "meta"
    back = student.call("moved", torch.arange(6.0).reshape(2, 3))
    assert back.is_meta and back.shape == (2, 3) and protocol.tensor_meta(back).device == "meta"
    checks.tensor_on(back, "moved(x)", "meta", torch.float32)


def test_the_engine_input_check_takes_meta_arguments(student):
    """Without return_args the engine compares the arguments itself: a meta argument that
    came back as sent passes."""
    assert student.call("probe", torch.empty(2, device="meta"))[0] == "meta"
    assert student.call("probe", torch.ones(2), device="meta")[0] == "meta"


def test_to_device_on_meta_with_the_inputs_coming_back(student):
    structure = {"x": torch.randn(2, 2), "pair": (torch.arange(3), "texto", None), "lote": [{"y": torch.ones(1)}, 4]}
    got, (after, device) = student.call("to_device", structure, "meta", return_args=True)
    assert device == "meta" and type(got["pair"]) is tuple and got["pair"][1:] == ("texto", None)
    assert got["x"].is_meta and got["pair"][0].dtype == torch.int64 and got["lote"][0]["y"].shape == (1,)
    assert protocol.tensor_meta(got["lote"][0]["y"]).device == "meta" and got["lote"][1] == 4
    assert not after["x"].is_meta and torch.equal(after["x"], structure["x"])  # the input, as sent
    _, (after, _) = student.call("in_place", {"w": torch.ones(2)}, torch.device("meta"), return_args=True)
    assert after["w"].is_meta  # the student wrote the moved tensor into the grader's input


def test_checks_never_read_values_from_a_meta_tensor():
    meta = protocol.decode(wire(torch.empty(2, device="meta")))
    scalar = protocol.decode(wire(torch.empty((), device="meta")))
    with pytest.raises(Mistake) as caught:
        checks.tensor(meta, "f(x)")
    assert caught.value.key == "wrong_device"
    with pytest.raises(Mistake) as caught:
        checks.tensor_on(meta, "f(x)", "cpu")
    assert caught.value.key == "wrong_device"
    with pytest.raises(Mistake) as caught:
        checks.number(scalar, "f(x)")
    assert caught.value.key == "not_a_number" and "meta" in caught.value.render("en")
    assert checks.tensor_on(meta, "f(x)", "meta") is meta
