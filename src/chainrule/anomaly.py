"""Anomaly mode: stop at the first NaN or Inf, and say where it was made.

Inside ``with detect_anomaly():`` every primitive checks its result, each
recorded node remembers the line of user code that created it, and the
backward pass checks every cotangent it computes. The first non-finite
value raises :class:`FloatingPointError` naming the primitive, the shapes of
its inputs and that line. Outside the context all of this costs one test of
a module flag per operation.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

ACTIVE = False
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise at the first NaN/Inf produced in a forward or backward computation."""
    global ACTIVE
    previous = ACTIVE
    ACTIVE = True
    try:
        yield
    finally:
        ACTIVE = previous


# chainrule's engine, for when chainrule itself called the user's code (``chainrule train``'s
# step under jit): the frame wanted is then the innermost one outside these
_CORE = tuple(os.path.join(_PACKAGE, p) for p in (
    "jit", "ops", "functional", "primitive.py", "tensor", "autograd.py", "numpy_interop.py",
    "checkpoint.py", "inplace.py", "creation.py", "nn", "batching.py"))
# code that is not the user's: jit's generated replays, Python's frozen importlib
_MACHINERY = ("<jit ", "<frozen ")


def user_frame() -> str:
    """'file:line in function: code' of the innermost frame outside chainrule (or, when
    chainrule itself called the code, outside its engine). Code without a file
    (``python -c``, a notebook cell) is the user's."""
    stack = list(reversed(traceback.extract_stack()[:-1]))
    for outside in (_PACKAGE, _CORE):
        for frame in stack:
            path = os.path.abspath(frame.filename)
            if not path.startswith(outside) and not frame.filename.startswith(_MACHINERY):
                line = f": {frame.line}" if frame.line else ""
                return f"{frame.filename}:{frame.lineno} in {frame.name}{line}"
    return "<inside chainrule>"


def _bad(value: Any) -> str | None:
    """None if ``value`` is finite, else e.g. ``'NaN (1 of 6 elements, first at index (0, 2))'``."""
    arr = np.asarray(getattr(value, "_data", value))
    if arr.dtype.kind not in "fc" or bool(np.isfinite(arr).all()):
        return None
    bad = ~np.isfinite(arr)
    first = np.unravel_index(int(np.argmax(bad)), arr.shape) if arr.ndim else ()
    v = arr[first]
    kind = "NaN" if np.isnan(v) else ("Inf" if v.real > 0 else "-Inf")
    where = f", first at index {tuple(int(i) for i in first)}" if arr.ndim else ""
    return f"{kind} ({int(bad.sum())} of {arr.size} elements{where})"


def _shapes(values: Any) -> str:
    return ", ".join(str(np.shape(getattr(v, "_data", v))) for v in values
                     if isinstance(v, np.ndarray) or hasattr(v, "_data"))


def check_forward(op: str, out: Any, inputs: tuple) -> None:
    kind = _bad(out)
    if kind is not None:
        raise FloatingPointError(
            f"anomaly: forward of '{op}' produced {kind} (input shapes {_shapes(inputs)}), "
            f"at {user_frame()}")


def check_backward(node: Any, argnum: int, cotangent: Any) -> None:
    kind = _bad(cotangent)
    if kind is not None:
        raise FloatingPointError(
            f"anomaly: backward of '{node.prim.name}' produced {kind} in the gradient of "
            f"argument {argnum} (input shapes {_shapes(node.raw)}); that '{node.prim.name}' "
            f"was created at {node.where or 'an unknown place (made outside detect_anomaly)'}")
