"""Reductions over ``axis`` (an int, a tuple, or None for all) with ``keepdims``.

The vjp of a reduction spreads the cotangent back over the reduced axes:
:func:`_spread` restores them (length 1) and broadcasts to the input shape.
"""

from __future__ import annotations

import numpy as np

from chainrule.ops.elementwise import astype, exp, sqrt, where
from chainrule.ops.shape import (
    broadcast_to,
    named_error,
    normalize_axes,
    reshape,
    swapaxes,
    transpose,
)
from chainrule.primitive import primitive


def _kept_shape(shape, axis, op):
    axes = normalize_axes(axis, len(shape), op)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _keep(r, shape, axis, keepdims, op):
    """A reduction's result ``r`` with the reduced axes present (length 1)."""
    return r if keepdims else reshape(r, _kept_shape(shape, axis, op))


def _spread(g, shape, axis, keepdims, op):
    """The cotangent of a reduction, broadcast back over the reduced axes."""
    return broadcast_to(_keep(g, shape, axis, keepdims, op), shape)


def _count(shape, axis, op):
    return int(np.prod([shape[a] for a in normalize_axes(axis, len(shape), op)]))


@primitive
def sum(x, axis=None, keepdims=False, out=None):
    """Sum over ``axis``."""
    try:
        return np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)
    except ValueError as e:
        raise named_error("sum", e, x) from None


sum.defvjp(lambda g, ans, x, axis=None, keepdims=False:        # d sum x = sum dx
           _spread(g, x.shape, axis, keepdims, "sum"))
sum.defjvp(lambda t, ans, x, axis=None, keepdims=False: sum(t, axis=axis, keepdims=keepdims))


@primitive
def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``."""
    if _count(np.shape(x), axis, "mean") == 0:
        raise ValueError(f"mean: no elements to average over axis {axis} of shape {np.shape(x)}")
    return np.mean(x, axis=axis, keepdims=keepdims)


mean.defvjp(lambda g, ans, x, axis=None, keepdims=False:       # d mean x = sum dx / n
            _spread(g, x.shape, axis, keepdims, "mean") / _count(x.shape, axis, "mean"))
mean.defjvp(lambda t, ans, x, axis=None, keepdims=False: mean(t, axis=axis, keepdims=keepdims))


def var(x, axis=None, ddof: int = 0, keepdims: bool = False):
    """Variance over ``axis``: sum (x - mean)^2 / (n - ddof). Built from primitives."""
    n = _count(np.shape(x), axis, "var")
    if n - ddof <= 0:
        raise ValueError(f"var: {n} element(s) over axis {axis} with ddof={ddof}: "
                         "need more elements than ddof")
    d = x - mean(x, axis=axis, keepdims=True)
    return sum(d * d, axis=axis, keepdims=keepdims) / (n - ddof)


def std(x, axis=None, ddof: int = 0, keepdims: bool = False):
    """Standard deviation: sqrt(var)."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def _winners(g, ans, x, axis, keepdims, op):
    """g spread over the positions that attain the max (or min), ties sharing it."""
    hit = x == _spread(ans, x.shape, axis, keepdims, op)
    share = hit / np.sum(hit, axis=axis, keepdims=True)
    return _spread(g, x.shape, axis, keepdims, op) * astype(share, x.dtype)


def _ones(ans, x):
    """Ones shaped like the reduction's result (the share of each winner, for the jvp)."""
    return np.ones(np.shape(ans), dtype=x.dtype)


@primitive
def max(x, axis=None, keepdims=False):
    """Largest element over ``axis``."""
    if np.size(x) == 0:
        raise ValueError(f"max: empty array of shape {np.shape(x)} has no maximum")
    try:
        return np.max(x, axis=axis, keepdims=keepdims)
    except ValueError as e:
        raise named_error("max", e, x) from None


max.defvjp(lambda g, ans, x, axis=None, keepdims=False:        # d max x = dx at the argmax
           _winners(g, ans, x, axis, keepdims, "max"))
max.defjvp(lambda t, ans, x, axis=None, keepdims=False:
           sum(_winners(_ones(ans, x), ans, x, axis, keepdims, "max") * t, axis=axis,
               keepdims=keepdims))


@primitive
def min(x, axis=None, keepdims=False):
    """Smallest element over ``axis``."""
    if np.size(x) == 0:
        raise ValueError(f"min: empty array of shape {np.shape(x)} has no minimum")
    try:
        return np.min(x, axis=axis, keepdims=keepdims)
    except ValueError as e:
        raise named_error("min", e, x) from None


min.defvjp(lambda g, ans, x, axis=None, keepdims=False:
           _winners(g, ans, x, axis, keepdims, "min"))
min.defjvp(lambda t, ans, x, axis=None, keepdims=False:
           sum(_winners(_ones(ans, x), ans, x, axis, keepdims, "min") * t, axis=axis,
               keepdims=keepdims))


def _exclusive_products(x: np.ndarray, axis) -> np.ndarray:
    """For every element, the product of the *other* elements along ``axis``:
    exclusive cumulative products from the left times those from the right,
    so zeros need no division."""
    axes = normalize_axes(axis, x.ndim, "prod")
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    moved = np.transpose(x, rest + axes).reshape([x.shape[i] for i in rest] + [-1])
    ones = np.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    out = (left * right).reshape([x.shape[i] for i in rest + axes])
    return np.transpose(out, np.argsort(rest + axes))


def _others(ans, x, axis, keepdims):
    """prod_{j != i} x_j along ``axis``, for every element i, without dividing (zeros are
    fine): on raw arrays by exclusive cumulative products; on Tensors (a differentiable
    backward, or jit) as a product over a new axis where x_i is replaced by 1, built from
    primitives so that it can be differentiated again (n times the memory, n the count)."""
    if isinstance(x, np.ndarray):
        return _exclusive_products(x, axis)
    axes = normalize_axes(axis, x.ndim, "prod")
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    n = _count(x.shape, axis, "prod")
    moved = reshape(transpose(x, rest + axes), tuple(x.shape[i] for i in rest) + (n, 1))
    spread = where(np.eye(n, dtype=bool), 1.0, swapaxes(moved, -1, -2))  # [.., i, k]
    out = reshape(prod(spread, axis=-1), tuple(x.shape[i] for i in rest + axes))
    return transpose(out, tuple(np.argsort(rest + axes)))


@primitive
def prod(x, axis=None, keepdims=False):
    """Product over ``axis``."""
    try:
        return np.prod(x, axis=axis, keepdims=keepdims)
    except ValueError as e:
        raise named_error("prod", e, x) from None


# d prod x = sum_i (prod_{j != i} x_j) dx_i
prod.defvjp(lambda g, ans, x, axis=None, keepdims=False:
            _spread(g, x.shape, axis, keepdims, "prod") * _others(ans, x, axis, keepdims))
prod.defjvp(lambda t, ans, x, axis=None, keepdims=False:
            sum(_others(ans, x, axis, keepdims) * t, axis=axis, keepdims=keepdims))


@primitive
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, stable: the max is subtracted first."""
    try:
        m = np.max(x, axis=axis, keepdims=True)
    except ValueError as e:
        raise named_error("logsumexp", e, x) from None
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


logsumexp.defvjp(lambda g, ans, x, axis=None, keepdims=False:   # d lse x = softmax(x) . dx
                 _spread(g, x.shape, axis, keepdims, "logsumexp")
                 * exp(x - _spread(ans, x.shape, axis, keepdims, "logsumexp")))
logsumexp.defjvp(lambda t, ans, x, axis=None, keepdims=False:
                 sum(t * exp(x - _spread(ans, x.shape, axis, keepdims, "logsumexp")),
                     axis=axis, keepdims=keepdims))



NUMPY = {
    np.sum: sum, np.mean: mean, np.var: var, np.std: std, np.max: max, np.amax: max,
    np.min: min, np.amin: min, np.prod: prod,
}
