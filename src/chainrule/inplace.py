"""In-place updates of a Tensor (``t += x``, ``t[i] = v``) and their version counter.

Every in-place change bumps ``t._version``, a count shared by every tensor
that shares the memory (views: reshape, slicing, transpose, detach, ...). A node
saves the versions of the tensors it keeps for backward, and backward refuses
to use one that changed since, through any alias (see
:func:`chainrule.autograd.run_backward`), instead of returning a silently wrong
gradient. Optimizer steps run under ``no_grad`` and stay legal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.tensor import Tensor, make


def update(t: Tensor, other: Any, op: Callable, raw_op: Callable, symbol: str) -> Tensor:
    """``t op= other`` in place. Outside recording (an optimizer step under
    ``no_grad``) this is ``raw_op(t.data, other, out=t.data)``. While recording,
    the change joins the graph: ``t`` keeps its identity but now stands for
    ``op(old t, other)``; a node that saved the old ``t`` notices the new
    version at backward time and refuses to use it."""
    value = other._data if isinstance(other, Tensor) else other
    if autograd._mode.enabled and (
            t.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
        if t._node is None and t.requires_grad:
            raise RuntimeError(
                f"{symbol}: a leaf tensor that requires grad (shape {t.shape}) can't be changed "
                "in place while recording; update it under `with chainrule.no_grad():`")
        _refuse_aliased(t, symbol)
        old = make(t._data.copy(), t._node)
        old.requires_grad = t.requires_grad
        new = op(old, other)
        t._node = new._node
        t.requires_grad = True
        value = new._data
        raw_op = _assign
    try:
        raw_op(t._data, value, out=t._data)
    except (ValueError, TypeError) as e:
        kind = TypeError if isinstance(e, TypeError) else ValueError
        raise kind(f"{symbol}: can't update a tensor of shape {t.shape} and dtype "
                   f"{t.dtype} in place with a value of shape {np.shape(value)} and dtype "
                   f"{np.result_type(value)}: {e}") from None
    t._version += 1  # the count of the tensor's memory, shared by all its views
    return t


def _refuse_aliased(t: Tensor, symbol: str) -> None:
    """A recorded in-place change gives ``t`` a new node; a tensor sharing its memory would
    see the new values but keep its old graph (a silently missing gradient), so refuse
    the two cases where such a tensor can exist without a node that backward checks."""
    if t._base is not None:
        raise RuntimeError(
            f"{symbol}: this tensor (shape {t.shape}) is a view of another (shape "
            f"{t._base.shape}), whose graph would not see a recorded in-place change; "
            "compute the result out of place, or change the base (base[index] = value)")
    if t._viewed and not t.requires_grad:
        raise RuntimeError(
            f"{symbol}: views of this tensor (shape {t.shape}) were taken before it joined the "
            "graph, and would not see this recorded change; change it before taking views, "
            "or compute the result out of place")


def _assign(x: np.ndarray, value: Any, out: np.ndarray) -> None:
    if np.shape(value) != out.shape:
        raise ValueError("the result has another shape")
    np.copyto(out, value, casting="same_kind")
