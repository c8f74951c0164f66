"""Cumulative and difference operations: cumsum, cumprod, diff.

``cumsum`` is a primitive whose vjp is the same sum run backwards. ``cumprod``'s rules
never divide by ``x`` (so zero factors differentiate correctly, at every order): both
are first-order linear recurrences, solved by :func:`linear_scan` with products and sums
alone. ``diff`` is composed of slicing and subtraction.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.ops.indexing import concatenate, getitem, pad
from chainrule.ops.shape import broadcast_to, reshape
from chainrule.primitive import primitive
from chainrule.tensor import Tensor


def as_array(x):
    """A Tensor as it is, anything else as a NumPy array (lists, scalars)."""
    return x if isinstance(x, Tensor) else backend.as_array(x)


def check_axis(op: str, axis, shape: tuple[int, ...]) -> int:
    """``axis`` as a non-negative int, or a clear error naming ``op`` and ``shape``."""
    nd = len(shape)
    if not isinstance(axis, int | np.integer) or not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis!r} is out of range for an input of shape {shape}")
    return int(axis) % nd


def along(x, axis: int, part: slice):
    """``x[..., part, ...]`` with ``part`` on ``axis``."""
    return getitem(x, (slice(None),) * axis + (part,))


def shift(x, axis: int, d: int, fill: float = 0.0):
    """``x`` moved ``d`` places along ``axis`` (towards the end for d > 0, the start for
    d < 0), the places left empty filled with ``fill``: out[k] = x[k - d]."""
    n = x.shape[axis]
    widths = [(0, 0)] * x.ndim
    widths[axis] = (d, 0) if d > 0 else (0, -d)
    part = slice(0, n - d) if d > 0 else slice(-d, n)
    return pad(along(x, axis, part), widths, constant_values=fill)


def linear_scan(a, b, axis: int, reverse: bool = False):
    """s with s_k = b_k + a_k s_{k-1} (s_{-1} = 0) along ``axis``; with ``reverse``,
    s_k = b_k + a_k s_{k+1} (s_n = 0). Hillis-Steele: after the round with stride d,
    (a_k, b_k) say s_k = b_k + a_k s_{k-d}; substituting s_{k-d} doubles the stride. log2 n
    rounds of products and sums, no division, built from differentiable functions."""
    n = b.shape[axis]
    d = 1
    while d < n:
        step = -d if reverse else d
        b = b + a * shift(b, axis, step)
        a = a * shift(a, axis, step)
        d *= 2
    return b


# ----- cumsum -------------------------------------------------------------------------
@primitive
def _cumsum(x, axis, reverse=False):
    if reverse:  # s_k = sum_{i >= k} x_i
        return np.flip(np.cumsum(np.flip(x, axis), axis), axis)
    return np.cumsum(x, axis)


_cumsum.name = "cumsum"
# d cumsum x = cumsum dx; its transpose sums the cotangent from the end: g_k = sum_{i>=k} g_i
_cumsum.defvjp(lambda g, ans, x, axis, reverse=False: _cumsum(g, axis, not reverse), None)
_cumsum.defjvp(lambda t, ans, x, axis, reverse=False: _cumsum(t, axis, reverse), None)


def _flat_or_axis(op: str, x, axis):
    """x and the axis to run along: flattened for ``axis=None`` (and 0-d input), as NumPy."""
    x = as_array(x)
    if axis is None or x.ndim == 0:
        if axis not in (None, 0, -1):
            raise ValueError(f"{op}: axis {axis!r} is out of range for an input of shape ()")
        return reshape(x, (-1,)), 0
    return x, check_axis(op, axis, x.shape)


def cumsum(x, axis: int | None = None):
    """Running sums along ``axis`` (of the flattened input when None):
    ``out[k] = x[0] + ... + x[k]``."""
    x, axis = _flat_or_axis("cumsum", x, axis)
    return _cumsum(x, axis)


# ----- cumprod ------------------------------------------------------------------------
@primitive
def _cumprod(x, axis):
    return np.cumprod(x, axis)


def _cumprod_vjp(g, ans, x, axis):
    # d y_i = sum_{k<=i} E_k (prod_{k<j<=i} x_j) dx_k, with E_k = prod_{j<k} x_j = y_{k-1};
    # so g_x_k = E_k S_k where S_k = sum_{i>=k} g_i prod_{k<j<=i} x_j = g_k + x_{k+1} S_{k+1}.
    if x.shape[axis] == 0:
        return g
    exclusive = shift(ans, axis, 1, fill=1.0)
    return exclusive * linear_scan(shift(x, axis, -1), g, axis, reverse=True)


def _cumprod_jvp(t, ans, x, axis):
    # y_i = y_{i-1} x_i, so d y_i = x_i d y_{i-1} + y_{i-1} dx_i: a forward recurrence.
    if x.shape[axis] == 0:
        return t
    return linear_scan(x, shift(ans, axis, 1, fill=1.0) * t, axis)


_cumprod.name = "cumprod"
_cumprod.defvjp(_cumprod_vjp, None)
_cumprod.defjvp(_cumprod_jvp, None)


def cumprod(x, axis: int | None = None):
    """Running products along ``axis`` (of the flattened input when None):
    ``out[k] = x[0] * ... * x[k]``. Its derivatives never divide by ``x``, so they are
    right with zero factors too (first and higher order)."""
    x, axis = _flat_or_axis("cumprod", x, axis)
    return _cumprod(x, axis)


# ----- diff ---------------------------------------------------------------------------
def _edge(op: str, name: str, v, x, axis: int):
    """``prepend``/``append`` as NumPy takes them: a scalar spreads over the shape of x with
    length 1 on ``axis``; an array must match x everywhere but on ``axis``."""
    if isinstance(v, int | float):  # a Python number takes x's dtype (float32 stays float32)
        v = backend.asarray_like(v, x, np.result_type(x.dtype, v))
    v = as_array(v)
    if v.ndim == 0:
        shape = list(x.shape)
        shape[axis] = 1
        return broadcast_to(v, tuple(shape))
    if v.ndim != x.ndim or any(m != n for i, (m, n) in enumerate(zip(v.shape, x.shape))
                               if i != axis):
        raise ValueError(f"{op}: {name} of shape {v.shape} does not fit an input of shape "
                         f"{x.shape} along axis {axis}")
    return v


def diff(x, n: int = 1, axis: int = -1, prepend=None, append=None):
    """The ``n``-th forward difference along ``axis``: out[k] = x[k+1] - x[k], applied n
    times, after ``prepend``/``append`` are joined to x. Differentiable in x, prepend and
    append (a composition of slicing and subtraction)."""
    x = as_array(x)
    if not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"diff: order n={n!r} must be a non-negative integer")
    if n == 0:
        return x
    if x.ndim == 0:
        raise ValueError("diff: input of shape () needs at least one dimension")
    axis = check_axis("diff", axis, x.shape)
    parts = [_edge("diff", "prepend", prepend, x, axis)] if prepend is not None else []
    parts.append(x)
    if append is not None:
        parts.append(_edge("diff", "append", append, x, axis))
    if len(parts) > 1:
        x = concatenate(parts, axis=axis)
    for _ in range(n):
        hi, lo = along(x, axis, slice(1, None)), along(x, axis, slice(None, -1))
        x = np.not_equal(hi, lo) if x.dtype == bool else hi - lo  # booleans: NumPy's xor
    return x


def _gradient_1(f, axis: int, h: float, edge_order: int):
    """d f / d (coordinate along ``axis``) by central differences inside, one-sided ones of
    order ``edge_order`` at both ends (NumPy's formulas for even spacing ``h``)."""
    if f.shape[axis] < edge_order + 1:
        raise ValueError(f"gradient: axis {axis} of shape {f.shape} needs at least "
                         f"{edge_order + 1} points for edge_order={edge_order}")

    def at(part):
        return along(f, axis, part)

    inner = (at(slice(2, None)) - at(slice(None, -2))) / (2 * h)
    if edge_order == 1:
        first = (at(slice(1, 2)) - at(slice(0, 1))) / h
        last = (at(slice(-1, None)) - at(slice(-2, -1))) / h
    else:  # second order: (-3 f0 + 4 f1 - f2) / 2h, and its mirror at the end
        first = (-3 * at(slice(0, 1)) + 4 * at(slice(1, 2)) - at(slice(2, 3))) / (2 * h)
        last = (3 * at(slice(-1, None)) - 4 * at(slice(-2, -1)) + at(slice(-3, -2))) / (2 * h)
    return concatenate([first, inner, last], axis=axis)


def gradient(f, *varargs, axis=None, edge_order: int = 1):
    """``np.gradient`` with even spacing (one scalar, or one per axis): the derivative of
    ``f`` along each axis by central differences inside and one-sided differences of order
    ``edge_order`` (1 or 2) at the edges; one array for one axis, else a tuple. Linear in
    f, composed of slicing and subtraction (so its derivative is the same differences'
    adjoint). Coordinate arrays as spacing are not supported."""
    f = as_array(f)
    axes = range(f.ndim) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
    axes = [check_axis("gradient", a, f.shape) for a in axes]
    steps = varargs * len(axes) if len(varargs) == 1 else varargs or (1.0,) * len(axes)
    if len(steps) != len(axes) or any(np.ndim(h) != 0 for h in steps):
        raise ValueError("gradient: give no spacing, one scalar, or one scalar per axis "
                         "(coordinate arrays are not supported on Tensors)")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    out = tuple(_gradient_1(f, a, h, edge_order) for a, h in zip(axes, steps))
    return out[0] if len(out) == 1 else out


__all__ = ["cumsum", "cumprod", "diff", "gradient"]

NUMPY = {np.cumsum: cumsum, np.cumprod: cumprod, np.diff: diff, np.gradient: gradient}
