"""Reductions over ``axis`` (an int, a tuple, or None for all) with ``keepdims``.

The vjp of a reduction spreads the cotangent back over the reduced axes:
:func:`_spread` restores them (length 1) and broadcasts to the input shape.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.ops.batch_rules import along_axis
from chainrule.ops.elementwise import astype, exp, sqrt
from chainrule.ops.shape import (
    broadcast_to,
    named_error,
    normalize_axes,
    reshape,
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
    """Standard deviation: sqrt(var). Over one element it is 0 whatever x is, so its
    derivative is 0 (returned as var, also 0 there, whose rules give 0 where sqrt's would
    give 0/0)."""
    v = var(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return v if _count(np.shape(x), axis, "std") == 1 else sqrt(v)


def _winners(g, ans, x, axis, keepdims, op):
    """g spread over the positions that attain the max (or min), ties sharing it."""
    hit = x == _spread(ans, x.shape, axis, keepdims, op)
    share = hit / np.sum(hit, axis=axis, keepdims=True)
    return _spread(g, x.shape, axis, keepdims, op) * astype(share, x.dtype)


def _ones(ans, x):
    """Ones shaped like the reduction's result (the share of each winner, for the jvp)."""
    return backend.ones(np.shape(ans), x.dtype, like=x)


@primitive
def max(x, axis=None, keepdims=False):
    """Largest element over ``axis``. Tied maxima share the gradient evenly, as PyTorch's
    ``amax`` and full ``max(x)`` do (``torch.max(x, dim)`` instead gives it all to the index
    it returns)."""
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
    """Smallest element over ``axis``. Tied minima share the gradient evenly (see ``max``)."""
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


def _reduced_last(x, axis):
    """``x`` with the reduced axes moved to the end and merged into one, and the
    permutation used (to move them back)."""
    axes = normalize_axes(axis, np.ndim(x), "prod")
    rest = tuple(i for i in range(np.ndim(x)) if i not in axes)
    return reshape(transpose(x, rest + axes), tuple(x.shape[i] for i in rest) + (-1,)), rest + axes


def _restored(out, x, order):
    """The inverse of :func:`_reduced_last` for a result with the merged axis."""
    out = reshape(out, tuple(x.shape[i] for i in order))
    return transpose(out, tuple(int(i) for i in np.argsort(order)))


def _exclusive_products(x: np.ndarray, axis) -> np.ndarray:
    """For every element, the product of the *other* elements along ``axis``:
    exclusive cumulative products from the left times those from the right,
    so zeros need no division (an ordinary backward: raw arrays, O(n))."""
    moved, order = _reduced_last(x, axis)
    ones = backend.ones(moved.shape[:-1] + (1,), x.dtype, like=x)
    left = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return _restored(left * right, x, order)


def _exclusive_products_recorded(x, axis):
    """The same from primitives, so that it can be differentiated again (create_graph,
    nested jvp), zeros included: running products from the left and from the right by
    ``cumprod``, whose rules never divide (O(n), as the raw path)."""
    from chainrule.ops.cumulative import _cumprod, shift  # (cumulative builds on reduce)
    from chainrule.ops.indexing import getitem

    moved, order = _reduced_last(x, axis)
    last = moved.ndim - 1
    if moved.shape[last] == 0:
        return _restored(moved, x, order)  # no factors: an empty derivative
    rev = (Ellipsis, slice(None, None, -1))
    left = shift(_cumprod(moved, last), last, 1, fill=1.0)
    right = getitem(shift(_cumprod(getitem(moved, rev), last), last, 1, fill=1.0), rev)
    return _restored(left * right, x, order)


def _others(ans, x, axis, keepdims):
    if backend.is_array(x):
        return _exclusive_products(x, axis)
    return _exclusive_products_recorded(x, axis)


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


# vmap: each reduction's axis shifted past the batch axis (None: all of an example's axes)
for _p in (sum, mean, max, min, prod, logsumexp):
    _p.defbatch(along_axis(_p))

NUMPY = {
    np.sum: sum, np.mean: mean, np.var: var, np.std: std, np.max: max, np.amax: max,
    np.min: min, np.amin: min, np.prod: prod,
}
