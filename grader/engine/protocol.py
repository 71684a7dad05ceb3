"""Plain data across the student boundary.

Both processes speak length-prefixed JSON messages over a socket. Values are encoded
with explicit tags, so the grading side can decode them strictly: JSON for the
structure, raw numeric bytes with their dtype and shape for arrays, and nothing else. Whatever the
student's process sends, the grading side only ever gets numbers, strings, arrays and
containers of them; an object the student made comes back as an `Opaque` description.

A tensor on the `meta` device (a shape and a dtype, no data) travels as its shape and
metadata (`$meta_tensor`) and arrives as an empty tensor of that shape and dtype on `meta`
in either process: graders can check devices, shapes, dtypes and container types on a
machine without a GPU (a value read from it raises, so it never passes a value check).

This module is imported in the student's process too, so it imports only the standard
library and numpy at module level (torch lazily, where it is needed).
"""

from __future__ import annotations

import base64
import json
import select
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_DIMS = 64  # dimensions of a tensor that travels without data (`meta`)
_HEADER = struct.Struct(">I")
# numpy kinds the grader accepts: bool, signed/unsigned int, float, complex.
_NUMERIC_KINDS = frozenset("biufc")


class ProtocolError(Exception):
    """The other side sent something that is not a valid message."""


class ChannelClosed(Exception):
    """The other side closed the connection (usually: it died)."""


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


# --------------------------------------------------------------------------- framing


def send_message(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(data)} bytes exceeds the limit")
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks = []
    while n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                raise ChannelTimeout()
        try:
            chunk = sock.recv(min(n, 1 << 20))
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise ChannelClosed() from exc
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket, timeout: float | None = None) -> dict:
    deadline = None if timeout is None else time.monotonic() + timeout
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {size} bytes exceeds the limit")
    try:
        message = json.loads(_recv_exact(sock, size, deadline))
    except ValueError as exc:
        raise ProtocolError(f"invalid JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Opaque:
    """Something the student returned that is not plain data (an object, a module...)."""

    type_name: str
    text: str = ""

    def __repr__(self) -> str:
        return f"<objeto {self.type_name}>"


@dataclass(frozen=True)
class Handle:
    """A reference to an object that stays in the student's process."""

    id: int
    type_name: str = ""


@dataclass(frozen=True)
class TensorMeta:
    """What a decoded tensor was on the student's side."""

    dtype: str  # e.g. "torch.float32"
    device: str  # e.g. "cpu", "cuda:0"; "meta": no data, and the decoded tensor is on meta too
    requires_grad: bool
    is_leaf: bool
    subclass: bool  # a subclass of torch.Tensor, not a plain tensor


_META_ATTR = "_grader_student_meta"


def tensor_meta(tensor) -> TensorMeta | None:
    """Metadata of a tensor decoded from the student's side (None for other tensors)."""
    return getattr(tensor, _META_ATTR, None)


def _array_to_b64(array: np.ndarray) -> str:
    """`<dtype>;<shape>;<base64 of the raw bytes>`: numpy's own .npy header would be parsed
    with ast.literal_eval on every tensor, a good part of a call's cost."""
    if not array.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
        array = array.copy(order="C")
    shape = ",".join(str(n) for n in array.shape)
    return f"{array.dtype.str};{shape};{base64.b64encode(array.tobytes()).decode('ascii')}"


def _array_from_b64(text: str) -> np.ndarray:
    if not isinstance(text, str):
        raise ProtocolError("array payload must be a string")
    try:
        descr, shape_text, data = text.split(";", 2)
        dtype = np.dtype(descr)
        if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise ProtocolError("array payload is not numeric")
        shape = tuple(int(n) for n in shape_text.split(",")) if shape_text else ()
        if any(n < 0 for n in shape):
            raise ProtocolError("negative dimension")
        array = np.frombuffer(base64.b64decode(data, validate=True), dtype=dtype).reshape(shape).copy()
    except ProtocolError:
        raise
    except Exception as exc:  # malformed payloads of any kind are a protocol error
        raise ProtocolError(f"invalid array payload: {exc}") from exc
    return array


def _torch():
    import torch

    return torch


def _type_name(value: Any) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "?")
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module == "builtins" else f"{module}.{name}"


def _safe_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except BaseException:  # a student's __repr__ may raise anything
        return ""
    if not isinstance(text, str):
        return ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode(value: Any, *, keep: Callable[[Any], int] | None = None, _depth: int = 0) -> Any:
    """Turn a value into tagged JSON-able data.

    `keep`, when given, is asked to keep non-plain objects in this process and returns
    an id: they are sent as handles instead of opaque descriptions.
    """
    if _depth > MAX_DEPTH:
        return {"$object": "too-deep", "text": ""}
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if abs(value) < 2**63 else {"$bigint": str(value)}
    if kind is float:
        return value if value == value and abs(value) != float("inf") else {"$float": repr(value)}
    if kind is list or kind is tuple:
        if len(value) > MAX_ITEMS:
            return {"$object": kind.__name__, "text": "too many items"}
        items = [encode(v, keep=keep, _depth=_depth + 1) for v in value]
        return items if kind is list else {"$tuple": items}
    if kind is dict or kind is OrderedDict:  # OrderedDict: what state_dict() returns
        if len(value) > MAX_ITEMS:
            return {"$object": "dict", "text": "too many items"}
        return {
            "$dict": [
                [encode(k, keep=keep, _depth=_depth + 1), encode(v, keep=keep, _depth=_depth + 1)]
                for k, v in value.items()
            ]
        }
    if kind is Handle:  # the grading side refers to an object kept in the student's process
        return {"$handle": value.id, "type": value.type_name}
    if isinstance(value, np.ndarray) and kind is np.ndarray:
        if value.dtype.kind in _NUMERIC_KINDS:
            return {"$ndarray": _array_to_b64(value)}
        return {"$object": "numpy.ndarray", "text": f"dtype={value.dtype}"}
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        return {"$npscalar": _array_to_b64(np.asarray(value))}
    torch = _torch()
    if kind is torch.Size:  # what `tensor.shape` is: a tuple of ints
        return {"$tuple": [int(v) for v in value]}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(torch, value)
    if kind is torch.device:
        return {"$device": str(value)}
    if kind is torch.dtype:
        return {"$dtype": str(value)}
    if keep is not None:
        return {"$handle": keep(value), "type": _type_name(value)}
    return {"$object": _type_name(value), "text": _safe_repr(value)}


def _is_leaf(torch, value) -> bool:
    """`value.is_leaf` as torch keeps it (`as_subclass` makes an alias that is never a leaf;
    a subclass's own `is_leaf` or `__torch_function__` is not asked)."""
    base = getattr(torch._C, "TensorBase", None) or torch._C._TensorBase  # (named so before torch 2.1)
    with torch._C.DisableTorchFunctionSubclass():
        return base.is_leaf.__get__(value)


def _encode_tensor(torch, value) -> dict:
    plain = torch.Tensor.as_subclass(value, torch.Tensor)
    data = plain.detach()
    meta = {
        "dtype": str(plain.dtype),
        "device": str(plain.device),
        "requires_grad": bool(plain.requires_grad),
        "is_leaf": bool(_is_leaf(torch, value)),
        "subclass": type(value) is not torch.Tensor,
    }
    if plain.device.type == "meta":  # no data to send: the shape says it all
        meta["contiguous"] = bool(plain.is_sparse or plain.is_contiguous())
        return {"$meta_tensor": [int(size) for size in plain.shape], **meta}
    if data.is_sparse:
        data = data.to_dense()
    # The receiving side rebuilds a non-contiguous tensor as one (graders test `view`).
    meta["contiguous"] = bool(plain.is_contiguous())
    data = data.cpu()
    if data.dtype in (torch.bfloat16, torch.float16):
        # numpy has no bfloat16; the dtype travels in `meta`.
        data = data.float()
    return {"$tensor": _array_to_b64(data.numpy()), **meta}


def decode(
    data: Any,
    *,
    tensor: Callable[[np.ndarray, dict], Any] | None = None,
    handle: Callable[[int, str], Any] | None = None,
    _depth: int = 0,
) -> Any:
    """Strictly decode tagged data; raise ProtocolError on anything unexpected.

    `tensor(array, meta)` builds a tensor from an array (`array` is None for a tensor on
    the `meta` device: `meta["shape"]` holds its shape, see `meta_tensor`); `handle(id,
    type)` resolves a handle. Without them, tensors decode to CPU torch tensors, and tensors
    on `meta` to empty tensors on `meta`, with `tensor_meta` set.
    """
    if _depth > MAX_DEPTH + 2:
        raise ProtocolError("data nested too deeply")
    if data is None or isinstance(data, (bool, str)):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, list):
        return [decode(v, tensor=tensor, handle=handle, _depth=_depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise ProtocolError(f"unexpected value of type {type(data).__name__}")
    tag = next(iter(data))
    body = data[tag]
    if tag == "$tuple" and isinstance(body, list):
        return tuple(decode(v, tensor=tensor, handle=handle, _depth=_depth + 1) for v in body)
    if tag == "$dict" and isinstance(body, list):
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ProtocolError("invalid dict entry")
            key = decode(pair[0], tensor=tensor, handle=handle, _depth=_depth + 1)
            try:
                hash(key)
            except TypeError as exc:
                raise ProtocolError("unhashable dict key") from exc
            out[key] = decode(pair[1], tensor=tensor, handle=handle, _depth=_depth + 1)
        return out
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$bigint" and isinstance(body, str):
        try:
            return int(body)
        except ValueError as exc:
            raise ProtocolError("invalid big integer") from exc
    if tag == "$ndarray":
        return _array_from_b64(body)
    if tag == "$npscalar":
        array = _array_from_b64(body)
        if array.shape != ():
            raise ProtocolError("numpy scalar must be 0-d")
        return array[()]
    if tag == "$tensor":
        array = _array_from_b64(body)
        meta = {k: data.get(k) for k in ("dtype", "device", "requires_grad", "is_leaf", "subclass", "contiguous")}
        if not (isinstance(meta["dtype"], str) and isinstance(meta["device"], str)):
            raise ProtocolError("tensor metadata missing")
        return (tensor or _default_tensor)(array, meta)
    if tag == "$meta_tensor":
        return (tensor or _default_tensor)(None, _meta_tensor_fields(body, data))
    if tag == "$device" and isinstance(body, str):
        return _torch().device(body)
    if tag == "$dtype" and isinstance(body, str):
        return _dtype_from_name(body)
    if tag == "$handle" and isinstance(body, int):
        type_name = data.get("type", "")
        if handle is None:
            return Handle(body, type_name if isinstance(type_name, str) else "")
        return handle(body, type_name)
    if tag == "$object" and isinstance(body, str):
        text = data.get("text", "")
        return Opaque(body[:200], text[:200] if isinstance(text, str) else "")
    raise ProtocolError(f"unknown tag {tag!r}")


def _dtype_from_name(name: str):
    torch = _torch()
    attr = name.removeprefix("torch.")
    dtype = getattr(torch, attr, None)
    if not isinstance(dtype, torch.dtype):
        raise ProtocolError(f"unknown dtype {name!r}")
    return dtype


def _meta_tensor_fields(shape: Any, data: dict) -> dict:
    """The validated fields of a `$meta_tensor`: a shape of non-negative ints, a known dtype,
    the device "meta" and boolean flags (absent ones are False, `is_leaf` and `contiguous` True)."""
    if not (
        isinstance(shape, list)
        and len(shape) <= MAX_DIMS
        and all(type(size) is int and 0 <= size < 2**63 for size in shape)
    ):
        raise ProtocolError("invalid shape of a tensor without data")
    if data.get("device") != "meta":
        raise ProtocolError("only tensors on the meta device travel without data")
    dtype = data.get("dtype")
    if not isinstance(dtype, str):
        raise ProtocolError("tensor metadata missing")
    _dtype_from_name(dtype)
    meta: dict = {"shape": tuple(shape), "dtype": dtype, "device": "meta"}
    for flag, default in (("requires_grad", False), ("is_leaf", True), ("subclass", False), ("contiguous", True)):
        value = data.get(flag, default)
        if type(value) is not bool:
            raise ProtocolError(f"invalid tensor flag {flag!r}")
        meta[flag] = value
    return meta


def meta_tensor(meta: dict):
    """An empty tensor on the `meta` device from a `$meta_tensor`'s validated fields: its
    shape and dtype, non-contiguous (column-major strides, as data tensors are rebuilt) and
    requiring gradients where the sender's did."""
    torch = _torch()
    shape, dtype = meta["shape"], _dtype_from_name(meta["dtype"])
    try:
        if not meta["contiguous"] and len(shape) >= 2:
            strides = [1]
            for size in shape[:-1]:
                strides.append(strides[-1] * max(size, 1))
            result = torch.empty_strided(shape, strides, dtype=dtype, device="meta")
        else:
            result = torch.empty(shape, dtype=dtype, device="meta")
        if meta["requires_grad"]:
            result.requires_grad_(True)
    except Exception as exc:  # a size that overflows, a dtype that cannot require gradients...
        raise ProtocolError(f"invalid tensor without data: {exc}") from exc
    return result


def _default_tensor(array: np.ndarray | None, meta: dict):
    """Grading side: a CPU tensor with the student's dtype (an empty tensor on `meta` for
    one on `meta`), and its metadata recorded."""
    torch = _torch()
    if array is None:
        result = meta_tensor({**meta, "requires_grad": False, "contiguous": True})
    else:
        result = torch.from_numpy(array.copy())
    dtype = _dtype_from_name(meta["dtype"])
    if result.dtype != dtype:
        result = result.to(dtype)
    meta_object = TensorMeta(
        dtype=meta["dtype"],
        device=meta["device"],
        requires_grad=bool(meta.get("requires_grad")),
        is_leaf=bool(meta.get("is_leaf", True)),
        subclass=bool(meta.get("subclass")),
    )
    setattr(result, _META_ATTR, meta_object)
    return result
