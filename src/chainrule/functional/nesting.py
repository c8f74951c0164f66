"""How transforms nest, and how values go in and out of them.

Forward-mode levels come from a counter that only grows; a per-thread depth
counts the transforms evaluating their function right now. Inputs are turned
into tensors a transform owns; results go back as Tensors (nested use, Tensor
inputs) or as NumPy arrays and Python floats (top level).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.ops.shape import reshape
from chainrule.tensor import Tensor, make

_levels = itertools.count(1)  # forward-mode levels: unique, increasing


class _Nesting(threading.local):
    depth = 0  # how many transforms are evaluating their function right now (per thread)


_nesting = _Nesting()


@contextmanager
def _inside_transform():
    _nesting.depth += 1
    try:
        with autograd.enable_grad():
            yield
    finally:
        _nesting.depth -= 1


# ----- inputs and outputs ---------------------------------------------------------------
def _takes_part(x: Any) -> bool:
    """True for a Tensor that carries a derivative already (reverse or forward)."""
    return isinstance(x, Tensor) and (x.requires_grad or x._fw is not None)


def _returns_tensors(*values: Any) -> bool:
    """Inside another transform, or given Tensors, a transform returns Tensors."""
    return _nesting.depth > 0 or any(isinstance(v, Tensor) for v in values)


def _float_array(x: Any, op: str, i: int) -> np.ndarray:
    """Raw input as a floating-point array (ints and bools become float64)."""
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind in "fc":
        return arr
    if arr.dtype.kind in "biu" and not isinstance(x, Tensor):
        return arr.astype(np.float64)
    raise TypeError(f"{op}: argument {i} has dtype {arr.dtype}; differentiate with respect to "
                    "floating-point inputs (e.g. 2.0, not 2)")


def _reverse_input(x: Any, op: str, i: int) -> Tensor:
    """A tensor of this transform's own to differentiate with respect to."""
    if _takes_part(x):
        _float_array(x, op, i)
        own = reshape(x, x.shape)  # identity-like: the inner gradient is collected here
        own.requires_grad = True  # a forward-mode input: record reverse nodes at its level
        return own
    own = make(_float_array(x, op, i), None)
    own.requires_grad = True
    return own


def _export(x: Any, as_tensor: bool) -> Any:
    """A result as a Tensor (nested use) or as a NumPy array / Python number (top level)."""
    if isinstance(x, tuple | list):
        return type(x)(_export(v, as_tensor) for v in x)
    if isinstance(x, dict):
        return {k: _export(v, as_tensor) for k, v in x.items()}
    if x is None or isinstance(x, str):
        return x
    if as_tensor:
        return x if isinstance(x, Tensor) else make(np.asarray(x), None)
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 0:
        return arr.item()
    return arr if arr.flags.writeable else arr.copy()


def _as_tuple(out: Any) -> tuple[tuple, bool]:
    if isinstance(out, tuple | list):
        return tuple(out), True
    return (out,), False


def _split_aux(result: Any, has_aux: bool, op: str) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise TypeError(f"{op}: with has_aux=True, f must return a pair (output, aux)")
    return result[0], result[1]


def _argnums(argnums: int | Sequence[int], nargs: int, op: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, int | np.integer)
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{op}: argnums {argnums} out of range for {nargs} argument(s)")
    return tuple(a % nargs for a in nums), single


def _replace(args: tuple, nums: Sequence[int], values: Sequence[Any]) -> list:
    new = list(args)
    for i, v in zip(nums, values):
        new[i] = v
    return new
