"""What a sandboxed run hands back to the grader: plain values in JSON, never code.

:func:`encode` turns what a student's function returned into JSON-ready data: ``None``, booleans, numbers, strings,
lists, tuples, dicts with string keys, NumPy arrays and torch tensors (dtype, shape and the raw bytes in base64) and
exceptions (their type's name and message); anything NumPy reads as a numeric array becomes one, anything else
the name of its type. :func:`decode` reads such
data back and refuses anything outside that grammar (:class:`ExchangeError`), so a forged reply can carry wrong
values but never an object that runs code.
"""

from __future__ import annotations

import base64
import binascii
import math

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
          "float64"}
MAX_TEXT = 1_000_000
MAX_DEPTH = 20


class ExchangeError(ValueError):
    """Data from a sandboxed run that is not in the exchange's grammar."""


class Opaque:
    """A value the exchange cannot carry: only its type's name survives."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"


class Raised(Exception):
    """An exception raised in the sandbox, remade from its type's name and message."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data (see the module's docstring)."""
    import torch

    if depth > MAX_DEPTH:
        return {"opaque": "deeply nested value"}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:MAX_TEXT]
    if isinstance(value, (int, np.integer)):
        return int(value) if abs(int(value)) < 2**63 else float(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if torch.is_tensor(value):
        return _array(value.detach().cpu().numpy(), tensor=True)
    if isinstance(value, np.ndarray):
        return _array(value, tensor=False)
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"dict": {key: encode(v, depth + 1) for key, v in value.items()}}
    if isinstance(value, BaseException):
        return {"raised": [type(value).__name__, str(value)[:2000]]}
    try:
        values = np.asarray(value)
    except Exception:
        values = None
    if values is not None and values.dtype.name in DTYPES:
        return _array(values, tensor=False)
    return {"opaque": type(value).__name__}


def _array(values: np.ndarray, *, tensor: bool) -> dict:
    if values.dtype.name not in DTYPES:
        return {"opaque": f"array of {values.dtype}"}
    values = np.ascontiguousarray(values)
    return {"array": [values.dtype.name, list(values.shape), base64.b64encode(values.tobytes()).decode("ascii"),
                      tensor]}


def decode(data, depth: int = 0):
    """The value :func:`encode` gave ``data`` for (tensors come back as tensors, exceptions as :class:`Raised`)."""
    if depth > MAX_DEPTH + 1:
        raise ExchangeError("nested too deeply")
    if data is None or isinstance(data, (bool, int, float)):
        return data
    if isinstance(data, str):
        return data[:MAX_TEXT]
    if not isinstance(data, dict) or len(data) != 1:
        raise ExchangeError(f"unexpected {type(data).__name__}")
    (kind, body), = data.items()
    if kind == "float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [decode(item, depth + 1) for item in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(body, dict):
        return {str(key): decode(value, depth + 1) for key, value in body.items()}
    if kind == "array":
        return _decode_array(body)
    if kind == "raised" and _strings(body, 2):
        return Raised(body[0][:100], body[1][:2000])
    if kind == "opaque" and isinstance(body, str):
        return Opaque(body[:100])
    raise ExchangeError(f"unexpected {kind!r}")


def _strings(body, n: int) -> bool:
    return isinstance(body, list) and len(body) == n and all(isinstance(item, str) for item in body)


def _decode_array(body):
    import torch

    if not (isinstance(body, list) and len(body) == 4 and body[0] in DTYPES and isinstance(body[1], list)
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in body[1])
            and isinstance(body[2], str) and isinstance(body[3], bool)):
        raise ExchangeError("a malformed array")
    dtype, shape = np.dtype(body[0]), tuple(body[1])
    try:
        raw = base64.b64decode(body[2], validate=True)
    except binascii.Error:
        raise ExchangeError("an array whose data is not base64") from None
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise ExchangeError(f"an array of shape {shape} with {len(raw)} bytes")
    values = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return torch.from_numpy(values) if body[3] else values
