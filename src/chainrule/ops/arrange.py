"""Rearranging arrays: sort, partition, roll, flip, rot90, tile, repeat, moveaxis, ravel, take.

Each of these moves numbers without changing them, so its derivative is a permutation or a
selection: the vjp routes the cotangent back to where each output element came from, and
an input element picked several times (tile, repeat, take) receives the sum of its picks'
cotangents. Apart from :func:`roll`, they are built from the primitives ``getitem`` (a
gather whose vjp scatter-adds), ``reshape``, ``transpose`` and ``swapaxes``, so they need
no rules of their own and differentiate to any order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.exceptions import AxisError

from chainrule import backend
from chainrule.batching import axes_in, per_example
from chainrule.jit.hook import Traced
from chainrule.ops.indexing import getitem
from chainrule.ops.shape import named_error, reshape, swapaxes, transpose
from chainrule.primitive import primitive
from chainrule.tensor import Tensor

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "flip", "fliplr", "flipud", "moveaxis",
    "partition", "ravel", "repeat", "roll", "rollaxis", "rot90", "sort", "take",
    "take_along_axis", "tile",
]

Axes = int | Sequence[int] | None


# ----- helpers ----------------------------------------------------------------------------
def values(x: Any) -> Any:
    """The raw array behind ``x`` (a Tensor's data): for index computations, never
    differentiated."""
    if isinstance(x, Tensor):
        return x._data
    return x if isinstance(x, Traced) else backend.as_array(x)  # jit's traced value stays one


def gather(x: Any, index: Any) -> Any:
    """``x[index]`` through the ``getitem`` primitive, for a Tensor or anything
    ``np.asarray`` takes (a list)."""
    return getitem(x if isinstance(x, Tensor) else np.asarray(x), index)


def check_axis(axis: Any, shape: tuple[int, ...], op: str) -> int:
    """``axis`` as a non-negative int, or an AxisError naming ``op`` and the shape."""
    nd = len(shape)
    if not isinstance(axis, int | np.integer) or not -nd <= axis < nd:
        raise AxisError(f"{op}: axis {axis!r} is out of range for an array of shape {shape}")
    return int(axis) % nd


def check_axes(axis: Axes, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """``axis`` (an int, a sequence, or None for all) as distinct non-negative ints, in order."""
    if axis is None:
        return tuple(range(len(shape)))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = tuple(check_axis(a, shape, op) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r} (array of shape {shape})")
    return out


def _along(index: Any, axis: int, ndim: int) -> tuple:
    """The index that applies ``index`` to axis ``axis`` and takes every other axis whole."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _int_indices(indices: Any, op: str) -> np.ndarray:
    idx = values(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {idx.dtype}")
    return idx


def _check_bounds(idx: np.ndarray, n: int, op: str, shape: tuple[int, ...], axis: Any) -> None:
    if isinstance(idx, Traced):  # values unknown while jit traces: getitem checks at replay
        return
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].ravel()[0]
        raise IndexError(f"{op}: index {bad} is out of bounds for axis {axis} of length {n} "
                         f"(array of shape {shape})")


# ----- gathers: take, take_along_axis, sort, partition --------------------------------------
@per_example("indices")
def take_along_axis(x: Any, indices: Any, axis: int | None = -1) -> Any:
    """``np.take_along_axis``: ``out[..., j, ...] = x[..., indices[..., j, ...], ...]`` along
    ``axis`` (axis None: on the flattened x, with 1-D indices).

    A gather through ``getitem`` with NumPy's broadcast index grid, so its vjp scatter-adds
    (an index picked twice receives both cotangents) and its jvp gathers the tangent.
    """
    idx = _int_indices(indices, "take_along_axis")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None the indices must be 1-D, got "
                             f"shape {idx.shape}")
        x, axis = ravel(x), 0
    shape = np.shape(x)
    ax = check_axis(axis, shape, "take_along_axis")
    if idx.ndim != len(shape):
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} and an array of shape "
                         f"{shape} must have the same number of dimensions")
    _check_bounds(idx, shape[ax], "take_along_axis", shape, axis)
    grid = tuple(idx if i == ax else np.arange(n).reshape((-1,) + (1,) * (len(shape) - i - 1))
                 for i, n in enumerate(shape))
    try:
        np.broadcast_shapes(*(np.shape(g) for g in grid))
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} do not broadcast "
                         f"against an array of shape {shape} outside axis {axis}") from None
    return gather(x, grid)


@per_example("indices")
def take(x: Any, indices: Any, axis: int | None = None, mode: str = "raise") -> Any:
    """``np.take``: the elements of x at ``indices`` along ``axis`` (None: of the flattened x).
    ``mode`` 'raise' refuses out-of-range indices, 'wrap' wraps them, 'clip' clips them.

    A gather (``getitem``): the vjp adds the cotangents of repeated indices.
    """
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    idx = _int_indices(indices, "take")
    if axis is None:
        x, axis = ravel(x), 0
    shape = np.shape(x)
    ax = check_axis(axis, shape, "take")
    n = shape[ax]
    if mode == "wrap" and n:
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, max(n - 1, 0))
    _check_bounds(idx, n, "take", shape, axis)
    return gather(x, _along(idx, ax, len(shape)))


@per_example("x")
def sort(x: Any, axis: int | None = -1, kind: str | None = None,
         stable: bool | None = None) -> Any:
    """The values of x sorted along ``axis`` (None: of the flattened x), as ``np.sort``.

    Derivative: sorting is a permutation, so the cotangent of output element j goes back to
    the input element that ``np.argsort(x, kind='stable')`` put there. With ties this rule
    is a choice (any routing among equal values gives a valid subgradient): equal values
    keep their input order, so the first of them in x receives the first sorted slot's
    cotangent. ``kind`` and ``stable`` are accepted for NumPy's signature; the values do
    not depend on them and the gradient always follows the stable order.
    """
    if axis is None:
        x, axis = ravel(x), 0
    ax = check_axis(axis, np.shape(x), "sort")
    return take_along_axis(x, np.argsort(values(x), axis=ax, kind="stable"), ax)


@per_example("x")
def partition(x: Any, kth: int | Sequence[int], axis: int | None = -1,
              kind: Literal["introselect"] = "introselect") -> Any:
    """``np.partition``: x rearranged along ``axis`` so that the element at each ``kth``
    position is the one a sort would put there, smaller ones before and larger after.

    Derivative: a permutation; each output element's cotangent goes back to the input
    element ``np.argpartition`` put there (among ties, its choice).
    """
    if axis is None:
        x, axis = ravel(x), 0
    shape = np.shape(x)
    ax = check_axis(axis, shape, "partition")
    try:
        order = np.argpartition(values(x), kth, axis=ax, kind=kind)
    except ValueError as e:
        raise named_error("partition", e, x) from None
    return take_along_axis(x, order, ax)


# ----- permutations: roll, flip, rot90 ----------------------------------------------------
@primitive
def roll(x: np.ndarray, shift: int | Sequence[int], axis: Axes = None) -> np.ndarray:
    """x shifted cyclically by ``shift`` along ``axis`` (ints or matching tuples; None: the
    flattened x, shape kept), as ``np.roll``. A permutation: its vjp rolls the cotangent
    back by ``-shift``."""
    try:
        return np.roll(x, shift, axis)
    except (ValueError, TypeError) as e:  # AxisError is a ValueError
        raise named_error("roll", e, x) from None


def _unshift(shift: int | Sequence[int] | np.ndarray) -> int | tuple[int, ...] | np.ndarray:
    return tuple(-s for s in shift) if isinstance(shift, Sequence) else -shift


# d roll(x, s) = roll(dx, s); its transpose rolls back: roll(g, -s)
roll.defvjp(lambda g, ans, x, shift, axis=None: roll(g, _unshift(shift), axis), None, None)
roll.defjvp(lambda t, ans, x, shift, axis=None: roll(t, shift, axis), None, None)


def _roll_batch(flags: tuple, x: Any, shift: Any, axis: Axes = None) -> Any:
    """vmap: roll each example along its own axes (its flattened self for None)."""
    if axis is None:
        return reshape(roll(reshape(x, (x.shape[0], -1)), shift, 1), x.shape)
    return roll(x, shift, axes_in(axis, x.ndim - 1, "roll"))


roll.defbatch(_roll_batch)


def flip(x: Any, axis: Axes = None) -> Any:
    """x reversed along ``axis`` (an int, a tuple, or None for every axis), as ``np.flip``:
    a ``getitem`` with ``::-1``, whose vjp reverses the cotangent back."""
    shape = np.shape(x)
    axes = check_axes(axis, shape, "flip")
    rev = slice(None, None, -1)
    return gather(x, tuple(rev if i in axes else slice(None) for i in range(len(shape)))
                   + (Ellipsis,))


def _min_ndim(x: Any, ndim: int, op: str) -> tuple[int, ...]:
    shape = np.shape(x)
    if len(shape) < ndim:
        raise ValueError(f"{op}: the input must have at least {ndim} dimensions, got shape "
                         f"{shape}")
    return shape


def fliplr(x: Any) -> Any:
    """x reversed along axis 1 (left-right), as ``np.fliplr``; needs 2 or more dimensions.
    The vjp reverses the cotangent back."""
    _min_ndim(x, 2, "fliplr")
    return flip(x, 1)


def flipud(x: Any) -> Any:
    """x reversed along axis 0 (up-down), as ``np.flipud``; needs 1 or more dimensions.
    The vjp reverses the cotangent back."""
    _min_ndim(x, 1, "flipud")
    return flip(x, 0)


def rot90(x: Any, k: int = 1, axes: Sequence[int] = (0, 1)) -> Any:
    """x rotated by ``k`` quarter turns in the plane ``axes``, from the first axis towards
    the second, as ``np.rot90``: flips and a swap of axes, a permutation whose vjp rotates the
    cotangent back."""
    shape = _min_ndim(x, 2, "rot90")
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name two axes, got {axes!r}")
    a, b = check_axes(axes, shape, "rot90")
    k = int(k) % 4
    if k == 0:
        return gather(x, Ellipsis)
    if k == 2:
        return flip(x, (a, b))
    if k == 1:
        return swapaxes(flip(x, b), a, b)
    return flip(swapaxes(x, a, b), b)


# ----- repetition: tile, repeat ------------------------------------------------------------
def _pick(x: Any, picks: Sequence[np.ndarray]) -> Any:
    """x at the outer product of one integer index per axis (``x[np.ix_(*picks)]``): a
    gather, so the output is a copy and the vjp adds the cotangents of repeated picks."""
    if not picks:
        return reshape(x, ())
    return gather(x, np.ix_(*picks))


def tile(x: Any, reps: int | Sequence[int]) -> Any:
    """x repeated as a block ``reps`` times along each axis, as ``np.tile`` (x gains leading
    axes of length 1 when ``reps`` is longer; ``reps`` gains leading ones when shorter).

    Derivative: each input element's cotangent is the sum over its copies.
    """
    counts = (reps,) if isinstance(reps, int | np.integer) else tuple(reps)
    if any(not isinstance(r, int | np.integer) or r < 0 for r in counts):
        raise ValueError(f"tile: reps must be non-negative integers, got {reps!r}")
    shape = np.shape(x)
    d = max(len(shape), len(counts))
    shape = (1,) * (d - len(shape)) + shape
    counts = (1,) * (d - len(counts)) + counts
    return _pick(reshape(x, shape), [np.tile(np.arange(n), r) for n, r in zip(shape, counts)])


@per_example("repeats")
def repeat(x: Any, repeats: int | Sequence[int], axis: int | None = None) -> Any:
    """Each element of x repeated along ``axis`` (None: of the flattened x), as ``np.repeat``;
    ``repeats`` is one count for all or one per element along the axis.

    Derivative: each input element's cotangent is the sum over its repeats (zero for an
    element repeated 0 times).
    """
    if axis is None:
        x, axis = ravel(x), 0
    shape = np.shape(x)
    ax = check_axis(axis, shape, "repeat")
    counts = values(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or np.any(counts < 0):
        raise ValueError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    if counts.size not in (1, shape[ax]):
        raise ValueError(f"repeat: {counts.size} repeats do not match axis {axis} of length "
                         f"{shape[ax]} (array of shape {shape})")
    return gather(x, _along(np.repeat(np.arange(shape[ax]), counts), ax, len(shape)))


# ----- axes: moveaxis, rollaxis, ravel, atleast_nd -----------------------------------------
def moveaxis(x: Any, source: int | Sequence[int], destination: int | Sequence[int]) -> Any:
    """x with axes ``source`` moved to positions ``destination`` (the others keep their
    order), as ``np.moveaxis``: a transpose, whose vjp transposes back."""
    shape = np.shape(x)
    src = check_axes(source, shape, "moveaxis")
    dst = check_axes(destination, shape, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} must "
                         "name as many axes")
    order = [n for n in range(len(shape)) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def rollaxis(x: Any, axis: int, start: int = 0) -> Any:
    """x with ``axis`` moved to just before position ``start``, as ``np.rollaxis``: a
    transpose, whose vjp transposes back."""
    shape = np.shape(x)
    nd = len(shape)
    ax = check_axis(axis, shape, "rollaxis")
    if not -nd <= start <= nd:
        raise AxisError(f"rollaxis: start {start} is out of range for an array of shape {shape} "
                        f"(it must lie in [{-nd}, {nd}])")
    start = start + nd if start < 0 else start
    return moveaxis(x, ax, start - 1 if ax < start else start)


def ravel(x: Any, order: str = "C") -> Any:
    """x as one dimension, in row-major order ('C') or column-major order ('F'), as
    ``np.ravel``: a reshape (after a transpose for 'F'), whose vjp reshapes back."""
    if order == "F":
        x = transpose(x)
    elif order != "C":
        raise ValueError(f"ravel: order must be 'C' or 'F', got {order!r}")
    return reshape(x, (-1,))


def _each(arys: tuple, grown: Callable[[tuple[int, ...]], tuple[int, ...]]) -> Any:
    """Each array reshaped to ``grown(its shape)``: one array for one input, a tuple for
    several (NumPy's convention). A reshape: the vjp reshapes back."""
    out = tuple(reshape(a, grown(np.shape(a))) for a in arys)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys: Any) -> Any:
    """Each input with at least one dimension (a scalar becomes shape (1,)), as
    ``np.atleast_1d``. A reshape: the vjp reshapes the cotangent back."""
    return _each(arys, lambda s: (1,) * (1 - len(s)) + s)


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least two dimensions ((n,) becomes (1, n)), as ``np.atleast_2d``.
    A reshape: the vjp reshapes the cotangent back."""
    return _each(arys, lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least three dimensions, as ``np.atleast_3d``: () becomes (1, 1, 1),
    (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1). A reshape: the vjp reshapes back."""
    return _each(arys, lambda s: {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s), s))


NUMPY = {
    np.sort: sort, np.partition: partition, np.roll: roll, np.flip: flip, np.fliplr: fliplr,
    np.flipud: flipud, np.rot90: rot90, np.tile: tile, np.repeat: repeat,
    np.moveaxis: moveaxis, np.rollaxis: rollaxis, np.ravel: ravel, np.atleast_1d: atleast_1d,
    np.atleast_2d: atleast_2d, np.atleast_3d: atleast_3d, np.take: take,
    np.take_along_axis: take_along_axis,
    np.permute_dims: transpose,  # NumPy 2's name for np.transpose
}
