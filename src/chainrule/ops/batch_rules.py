"""Batching rules shared by many primitives (``vmap``; the hook is :mod:`chainrule.batching`).

A rule gets its arguments with the batch axis first in the batched ones (``batched[i]``)
and returns the result with the batch axis first. Broadcasting primitives only need the
ranks aligned: an example of rank r in a batch ``(n, *shape)`` gets ``nd - r`` axes of
length 1 after the batch axis, so that NumPy's right-aligned broadcasting pairs example
axes with example axes and the batch axis with nothing but batch axes. Reductions and
other primitives with an ``axis`` argument shift it past the batch axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.batching import axes_in, loop
from chainrule.ops.shape import reshape, transpose
from chainrule.primitive import Primitive, primitive
from chainrule.tensor import Tensor

Rule = Callable[..., Any]


def example_ndim(is_batched: bool, a: Any) -> int:
    """The rank of one example of ``a`` (0 for scalars and non-array arguments)."""
    if isinstance(a, np.ndarray | Tensor | np.generic):
        return a.ndim - 1 if is_batched else a.ndim
    return np.ndim(a) if isinstance(a, list | int | float | complex) else 0


def align(flags: Sequence[bool], args: Sequence[Any]) -> list:
    """The arguments with every batched one's example rank raised to the largest."""
    nd = max((example_ndim(b, a) for b, a in zip(flags, args)), default=0)
    return [reshape(a, (a.shape[0],) + (1,) * (nd + 1 - a.ndim) + tuple(a.shape[1:]))
            if b and a.ndim - 1 < nd else a for b, a in zip(flags, args)]


def broadcasting(prim: Primitive) -> Rule:
    """The rule of an elementwise (broadcasting) primitive: align the ranks, call it."""
    def rule(flags: tuple[bool, ...], *args: Any, **kwargs: Any) -> Any:
        return prim(*align(flags, args), **kwargs)

    return rule


def along_axis(prim: Primitive, default: Any = None) -> Rule:
    """The rule of ``prim(x, axis=default, ...)`` (axis the second positional argument or
    the keyword ``axis``; None meaning all axes): the axis shifted past the batch axis."""
    def rule(flags: tuple[bool, ...], x: Any, *rest: Any, **kwargs: Any) -> Any:
        if not flags[0] or any(flags[1:]):  # a batched axis or shift: one call per example
            return loop(prim, flags, [x, *rest], kwargs, batch_size(flags, (x, *rest)), False)
        nd = x.ndim - 1
        if rest:
            rest = (axes_in(rest[0], nd, prim.name), *rest[1:])
        else:
            kwargs["axis"] = axes_in(kwargs.get("axis", default), nd, prim.name)
        return prim(x, *rest, **kwargs)

    return rule


def each_broadcasting(*prims: Primitive) -> None:
    """Give every primitive in ``prims`` the broadcasting rule."""
    for p in prims:
        p.defbatch(broadcasting(p))


@primitive
def boolean(ufunc: np.ufunc, *operands: Any) -> np.ndarray:
    """``ufunc(*operands)`` for a ufunc that answers booleans (``x > 0``, ``np.isfinite``)
    on batched operands: the primitive that keeps a mask batched (no derivative)."""
    return ufunc(*operands)


boolean.defbatch(broadcasting(boolean))


def batch_size(flags: Sequence[bool], args: Sequence[Any]) -> int:
    """The batch size: the length of the first batched argument's batch axis."""
    return next(a.shape[0] for b, a in zip(flags, args) if b)


def move_axis(x: Any, source: int, destination: int) -> Any:
    """x with axis ``source`` moved to ``destination`` (a transpose; none if equal)."""
    if source == destination:
        return x
    order = [i for i in range(x.ndim) if i != source]
    order.insert(destination, source)
    return transpose(x, tuple(order))


def matrix_stack(prim: Primitive) -> Rule:
    """The rule of a primitive that maps over leading (stack) axes of matrices, as
    ``np.linalg``'s functions do: the batch axis is one more stack axis. An example must
    have the two matrix axes itself (a batch of vectors must not pass for one matrix)."""
    def rule(flags: tuple[bool, ...], a: Any, *rest: Any, **kwargs: Any) -> Any:
        if not flags[0] or any(flags[1:]):
            return loop(prim, flags, [a, *rest], kwargs, batch_size(flags, (a, *rest)), False)
        if a.ndim < 3:
            raise ValueError(f"{prim.name}: expected a matrix (or a stack of them), got shape "
                             f"{tuple(a.shape[1:])}")
        return prim(a, *rest, **kwargs)

    return rule
