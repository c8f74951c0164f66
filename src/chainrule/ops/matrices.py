"""Matrix structure and built arrays: tril, triu, diag, diagflat, select, linspace; and the
statistics average, ptp, median and the interpolation interp.

All are compositions of primitives that carry their rules (``where`` with a fixed mask,
``diagonal`` and its transpose, multiplication, sums, slicing), so each differentiates to
every order without a rule of its own. What is only *chosen* by the data (the mask of
``median``'s middle elements, ``interp``'s interval) is computed on raw values and not
differentiated: the derivative is that of the piece the input lies on.
"""

from __future__ import annotations

import builtins

import numpy as np

from chainrule import backend
from chainrule.batching import per_example
from chainrule.jit.checks import check
from chainrule.ops.cumulative import as_array, check_axis
from chainrule.ops.elementwise import where
from chainrule.ops.indexing import concatenate, getitem
from chainrule.ops.linalg import diagonal, diagonal_embed
from chainrule.ops.reduce import max, mean, min, sum
from chainrule.ops.shape import broadcast_to, normalize_axes, reshape, transpose
from chainrule.tensor import Tensor


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


# ----- tril, triu, diag, diagflat ------------------------------------------------------
def _triangle(op: str, x, k: int, lower: bool):
    x = as_array(x)
    if x.ndim == 0:
        raise ValueError(f"{op}: input of shape () needs at least one dimension")
    rows, cols = x.shape[-2:] if x.ndim > 1 else x.shape * 2  # 1-D: rows of a square, as NumPy
    tri = backend.array_namespace(x).tri  # the mask on x's device
    return where(tri(rows, cols, k, dtype=bool) if lower else ~tri(rows, cols, k - 1, dtype=bool),
                 x, 0.0)


def tril(x, k: int = 0):
    """The lower triangle of the last two axes: out[..., i, j] = x[..., i, j] where
    j <= i + k, else 0 (d tril x = tril dx)."""
    return _triangle("tril", x, k, lower=True)


def triu(x, k: int = 0):
    """The upper triangle of the last two axes: out[..., i, j] = x[..., i, j] where
    j >= i + k, else 0 (d triu x = triu dx)."""
    return _triangle("triu", x, k, lower=False)


def diag(v, k: int = 0):
    """For a 2-D input, its k-th diagonal; for a 1-D input, the square matrix with v on its
    k-th diagonal and zeros elsewhere (each the other's transpose, so each's vjp)."""
    v = as_array(v)
    if v.ndim == 1:
        n = v.shape[0] + abs(int(k))
        return diagonal_embed(v, (n, n), int(k))
    if v.ndim == 2:
        return diagonal(v, int(k))
    raise ValueError(f"diag: input of shape {v.shape} must be 1-D (build a matrix) or 2-D "
                     "(take a diagonal)")


def diagflat(v, k: int = 0):
    """The square matrix with the flattened input on its k-th diagonal."""
    return diag(reshape(as_array(v), (-1,)), k)


# ----- select ---------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    """out = choicelist[i] where condlist[i] is the first condition that holds, else default
    (all broadcast together). Differentiable in the choices and the default, not the
    conditions: a chain of ``where``, the last condition innermost."""
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices; "
                         "they must be as many")
    if not condlist:
        raise ValueError("select: the condition list is empty")
    for i, c in enumerate(condlist):
        raw = _raw(c)
        dtype = raw.dtype if hasattr(raw, "dtype") else backend.as_array(raw).dtype
        if dtype.kind != "b":
            raise TypeError(f"select: condition {i} has dtype {dtype}; conditions must be "
                            "boolean arrays")
    out = default
    for c, choice in zip(condlist[::-1], choicelist[::-1]):
        out = where(c, choice, out)
    return out


# ----- linspace -------------------------------------------------------------------------
@per_example("start", "stop")
def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0):
    """``num`` evenly spaced values from start to stop (stop included when ``endpoint``):
    y_i = start + i (stop - start) / div, div = num - 1 (or num), computed in NumPy's order
    so the values are NumPy's. Differentiable in start and stop (arrays broadcast; ``axis``
    places the new axis); ``retstep`` also returns the step, (stop - start) / div."""
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        # ignore: NumPy's overloads want retstep as a literal True or False, not a bool
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)  # type: ignore[call-overload]
    if not isinstance(num, int | np.integer) or num < 0:
        raise ValueError(f"linspace: num={num!r} must be a non-negative integer")
    if dtype is not None and not np.issubdtype(dtype, np.floating):
        raise TypeError(f"linspace: dtype {dtype} on Tensor endpoints: only float dtypes keep "
                        "a gradient")
    dt = np.result_type(_raw(start), _raw(stop), 0.0)  # Python numbers stay weak; never int
    like = start if isinstance(start, Tensor) else stop  # its device makes the ramp
    start, stop = (v if isinstance(v, Tensor) else backend.asarray_like(v, like, dt)
                   for v in (start, stop))
    div = num - 1 if endpoint else num
    delta = stop - start
    r = backend.array_namespace(like).arange(num, dtype=dt).reshape((-1,) + (1,) * delta.ndim)
    if div <= 0:
        step, y = np.nan, r * delta
    else:
        step = delta / div
        # NumPy's order: if any step is zero (an underflow), every value takes the first
        zero = np.any(_raw(step) == 0)  # a traced any under chainrule.jit: no Python branch
        y = where(zero, (r / div) * delta, r * step)
    y = y + start
    if endpoint and num > 1:  # the last value is stop exactly
        last = reshape(broadcast_to(stop, delta.shape), (1, *delta.shape))
        y = concatenate([getitem(y, slice(None, -1)), last], axis=0)
    axis = check_axis("linspace", axis, y.shape)
    if axis:
        y = transpose(y, (*range(1, axis + 1), 0, *range(axis + 1, y.ndim)))
    if dtype is not None:
        y = y.astype(dtype)
    return (y, step) if retstep else y


# ----- statistics -----------------------------------------------------------------------
@per_example("weights")
def average(a, axis=None, weights=None, returned: bool = False, keepdims: bool = False):
    """The weighted mean sum(a w) / sum(w) over ``axis`` (the plain mean without weights).
    ``weights`` has a's shape, or the shape of a along ``axis``. Differentiable in a and
    the weights; ``returned`` also gives sum(w) (the count without weights)."""
    a = as_array(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scale = np.asarray(a.size // builtins.max(np.size(_raw(avg)), 1), dtype=avg.dtype)
    else:
        w = as_array(weights)
        if w.shape != a.shape:
            if axis is not None:
                normalize_axes(axis, a.ndim, "average")  # in range, none repeated
                axes = tuple(int(i) % a.ndim for i in np.atleast_1d(axis))  # in axis's order
            if axis is None or w.shape != tuple(a.shape[i] for i in axes):
                raise ValueError(f"average: weights of shape {w.shape} fit neither a's shape "
                                 f"{a.shape} nor its shape along axis={axis}")
            w = reshape(transpose(w, tuple(np.argsort(axes))),  # weights' axes in a's order
                        tuple(n if i in axes else 1 for i, n in enumerate(a.shape)))
        scale = sum(w, axis=axis, keepdims=keepdims)
        check("average-zero-weights", _raw(scale) == 0,
              lambda: ZeroDivisionError("average: the weights sum to zero, can't be normalized"))
        avg = sum(a * w, axis=axis, keepdims=keepdims) / scale
    if returned:
        return avg, broadcast_to(scale, np.shape(avg))
    return avg


def ptp(a, axis=None, keepdims: bool = False):
    """Peak to peak: max - min over ``axis`` (the gradient goes to the extremes; tied
    extremes share it)."""
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


@per_example("a")
def median(a, axis: int | None = None, keepdims: bool = False):
    """The middle value along ``axis`` (of the flattened input when None); for an even count,
    the mean of the two middle values. The gradient goes to the middle element(s), half to
    each for an even count; among tied values, to those a stable sort puts in the middle."""
    a = as_array(a)
    if axis is not None and not isinstance(axis, int | np.integer):
        raise ValueError(f"median: axis {axis!r} must be one int or None (several axes are not "
                         "supported; reshape first)")
    x, ax = (reshape(a, (-1,)), 0) if axis is None else (a, check_axis("median", axis, a.shape))
    n = x.shape[ax]
    if n == 0:
        raise ValueError(f"median: no elements along axis {axis} of shape {a.shape}")
    raw = _raw(x)
    ranks = np.argsort(np.argsort(raw, axis=ax, kind="stable"), axis=ax)
    share = (0.5 * (ranks == (n - 1) // 2) + 0.5 * (ranks == n // 2)).astype(x.dtype)
    nan = np.isnan(raw)
    share = np.where(nan & nan.any(axis=ax, keepdims=True), 1.0, share)  # a NaN: NaN, as NumPy
    # d median = sum_i share_i dx_i (where() keeps inf * 0 out of the value)
    out = sum(where(share > 0, x, 0.0) * share, axis=ax, keepdims=keepdims)
    return reshape(out, (1,) * a.ndim) if keepdims and axis is None else out


@per_example("x", "xp", "fp")
def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the points (xp, fp) at x, xp increasing:
    fp_j + (fp_{j+1} - fp_j) / (xp_{j+1} - xp_j) (x - xp_j) on [xp_j, xp_{j+1}); ``left``
    (fp[0]) below xp[0], ``right`` (fp[-1]) above xp[-1]. Differentiable in x, xp and fp
    (and left/right); at a knot the derivative in x is that of the interval on its right.
    Repeated xp values (jumps) are not differentiable: keep xp strictly increasing."""
    if period is not None:
        raise NotImplementedError("interp: period is not supported on Tensors")
    x, xp, fp = as_array(x), as_array(xp), as_array(fp)
    if xp.ndim != 1 or fp.shape != xp.shape or xp.shape[0] == 0:
        raise ValueError(f"interp: xp of shape {xp.shape} and fp of shape {fp.shape} must be "
                         "1-D, non-empty and of the same length")
    n = xp.shape[0]
    first, last = getitem(fp, 0), getitem(fp, -1)
    left = first if left is None else left
    right = last if right is None else right
    raw_x, raw_xp = _raw(x), _raw(xp)
    if n == 1:
        inside = broadcast_to(first, x.shape)
    else:
        j = np.clip(np.searchsorted(raw_xp, raw_x, side="right") - 1, 0, n - 2)
        x0, x1, f0, f1 = getitem(xp, j), getitem(xp, j + 1), getitem(fp, j), getitem(fp, j + 1)
        inside = (f1 - f0) / (x1 - x0) * (x - x0) + f0
        inside = where(raw_x == raw_xp[-1], last, inside)
    return where(raw_x < raw_xp[0], left, where(raw_x > raw_xp[-1], right, inside))


__all__ = ["tril", "triu", "diag", "diagflat", "select", "linspace", "average", "ptp",
           "median", "interp"]

NUMPY = {
    np.tril: tril, np.triu: triu, np.diag: diag, np.diagflat: diagflat, np.select: select,
    np.linspace: linspace, np.average: average, np.ptp: ptp, np.median: median,
    np.interp: interp,
}
