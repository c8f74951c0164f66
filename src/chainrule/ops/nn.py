"""Neural-network primitives, fused for stability and speed:
softmax, log_softmax and cross-entropy from logits."""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.batching import loop
from chainrule.ops.batch_rules import along_axis, batch_size, broadcasting
from chainrule.ops.elementwise import add, astype, exp
from chainrule.ops.indexing import _index_values, getitem
from chainrule.ops.linalg import _matmul_batch, _matmul_error, matmul
from chainrule.ops.reduce import mean, sum
from chainrule.ops.shape import broadcast_to, named_error, reshape
from chainrule.primitive import primitive
from chainrule.tensor import Tensor


def _shifted(x, axis):
    """``x - max(x)`` and ``log(sum(exp(x - max(x))))`` along ``axis`` (kept): their difference
    is ``x - logsumexp(x)`` without adding the max and taking it away again, which would cost
    the absolute rounding of the max (1e-13 for logits near 500) in a log-probability near 0."""
    x = backend.as_array(x)
    m = x.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # rows of -inf (or inf): leave them to exp/log
    s = x - m
    return s, np.log(np.exp(s).sum(axis=axis, keepdims=True))


@primitive
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, with the max subtracted first."""
    x = backend.as_array(x)
    try:
        e = np.exp(x - x.max(axis=axis, keepdims=True))
    except ValueError as error:
        raise named_error("softmax", error, x) from None
    return e / e.sum(axis=axis, keepdims=True)


def _through_softmax(v, ans, x, axis=-1):
    """p * (v - <p, v>) with p = softmax(x): softmax's Jacobian (symmetric) times v."""
    return ans * (v - sum(v * ans, axis=axis, keepdims=True))


# d softmax = p * (dx - <p, dx>); the Jacobian is symmetric: one rule for both modes
softmax.defvjp(_through_softmax)
softmax.defjvp(_through_softmax)


@primitive
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``: stable for any logits."""
    try:
        s, log_sum = _shifted(x, axis)
        return s - log_sum
    except ValueError as e:
        raise named_error("log_softmax", e, x) from None


# d log_softmax = dx - <softmax, dx>
log_softmax.defvjp(lambda g, ans, x, axis=-1: g - exp(ans) * sum(g, axis=axis, keepdims=True))
log_softmax.defjvp(lambda t, ans, x, axis=-1: t - sum(exp(ans) * t, axis=axis, keepdims=True))


@primitive
def linear(x, weight, bias, out=None):
    """x @ weight + bias in one node (PyTorch's addmm): x (..., in), weight (in, out),
    bias (out,). The affine layer of an MLP, recorded once instead of twice."""
    try:
        out = np.matmul(x, weight, out=out)
    except ValueError:
        raise ValueError("linear: " + _matmul_error(np.shape(x), np.shape(weight))) from None
    try:
        out += bias  # a fresh array (or jit's buffer): adding in place saves one
    except ValueError:
        raise ValueError(f"linear: a bias of shape {np.shape(bias)} does not fit the output "
                         f"of shape {out.shape}") from None
    return out


# d (x W + b) = dx W + x dW + db; the batch axes of db are summed by the engine
def _rows(a):
    """a as a matrix of rows: the batch axes merged into one."""
    return a if a.ndim == 2 else reshape(a, (-1, a.shape[-1]))


linear.defvjp(lambda g, ans, x, w, b: matmul(g, w.mT),
              lambda g, ans, x, w, b: matmul(_rows(x).mT, _rows(g)),
              lambda g, ans, x, w, b: g)
linear.defjvp(lambda t, ans, x, w, b: matmul(t, w),
              lambda t, ans, x, w, b: matmul(x, t),
              lambda t, ans, x, w, b: t)


def _one_hot(labels, n, dtype, like):
    """Rows e_label (along a new last axis), as a comparison (so that traced labels,
    chainrule.jit, work too), on the device of ``like``."""
    classes = backend.asarray_like(np.arange(n), like)
    if backend.on_device(getattr(like, "_data", like)):
        labels = backend.asarray_like(labels, like)
    return astype(getitem(labels, (..., None)) == classes, dtype)


def _check_labels(logits, labels) -> None:
    shape, labels = np.shape(logits), backend.as_array(labels)
    if len(shape) != 2 or labels.shape != shape[:1]:
        raise ValueError(f"cross_entropy_logits: logits of shape {shape} need (N, C) with "
                         f"labels of shape (N,), got labels of shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy_logits: labels must be integers, not {labels.dtype}")
    outside = (labels < 0) | (labels >= shape[1])
    if labels.size and outside.any():  # labels on a GPU: one wait for it (host labels: none)
        bad = backend.to_numpy(labels[outside])[0]
        raise ValueError(f"cross_entropy_logits: label {bad} is outside the {shape[1]} "
                         f"classes 0..{shape[1] - 1}")


@primitive
def cross_entropy_logits(logits, labels):
    """Mean over the batch of -log softmax(logits)[label]: logits (N, C), labels (N,) ints."""
    _check_labels(logits, labels)
    s, log_sum = _shifted(logits, -1)
    n = len(labels)  # the mean as NumPy computes it in float32 and float64, bit for bit
    return (log_sum[:, 0] - s[np.arange(n), labels]).sum() / n


@primitive
def _ce_direction(logits, labels):
    """softmax(logits) - onehot(labels) along the last axis: N times the gradient of the mean
    cross-entropy, in one node (the backward pass of :func:`cross_entropy_logits`)."""
    p = softmax.forward(logits)
    p[np.arange(len(labels)), labels] -= 1
    return p


# d (softmax(z) - e_y) = d softmax(z): softmax's rules, at softmax(z)
_ce_direction.defvjp(lambda g, ans, z, y: _through_softmax(g, softmax(z), z), None)
_ce_direction.defjvp(lambda t, ans, z, y: _through_softmax(t, softmax(z), z), None)


def _ce_vjp(g, ans, logits, labels):
    # d CE = <softmax(z) - onehot(y), dz> / N
    return _ce_direction(logits, labels) * (g / logits.shape[0])


def _ce_jvp(t, ans, logits, labels):
    return sum(_ce_direction(logits, labels) * t) / logits.shape[0]


cross_entropy_logits.defvjp(_ce_vjp, None)
cross_entropy_logits.defjvp(_ce_jvp, None)


NUMPY: dict = {}  # no NumPy twins


# ----- vmap ----------------------------------------------------------------------------
def _linear_batch(flags, x, w, b):
    if flags == (True, False, False) and x.ndim >= 2:
        return linear(x, w, b)  # examples are rows already: one matmul for the batch
    xw = _matmul_batch(flags[:2], x, w) if any(flags[:2]) else matmul(x, w)
    return broadcasting(add)((any(flags[:2]), flags[2]), xw, b)


def _ce_batch(flags, logits, labels):
    n = batch_size(flags, (logits, labels))
    y = _index_values(labels) if flags[1] else np.asarray(
        labels._data if isinstance(labels, Tensor) else labels)
    if y is None:
        return loop(cross_entropy_logits, flags, [logits, labels], {}, n, warn=False)
    if not flags[0]:
        logits = broadcast_to(logits, (n, *np.shape(logits)))
    if not flags[1]:
        y = np.broadcast_to(y, (n, *y.shape))
    if logits.ndim != 3 or y.shape != logits.shape[:2]:  # one example's error
        _check_labels(np.broadcast_to(0.0, logits.shape[1:]), y[0])
    _check_labels(np.broadcast_to(0.0, (y.size, logits.shape[2])), y.reshape(-1))
    picked = getitem(log_softmax(logits, axis=-1),
                     (np.arange(n)[:, None], np.arange(logits.shape[1])[None, :], y))
    return -mean(picked, axis=-1)


def _ce_direction_batch(flags, logits, labels):
    # softmax(z) - e_y for every example: the leading axes broadcast (one may be unbatched)
    p = softmax(logits, axis=-1)
    return p - _one_hot(labels, p.shape[-1], p.dtype, p)


softmax.defbatch(along_axis(softmax, -1))
log_softmax.defbatch(along_axis(log_softmax, -1))
linear.defbatch(_linear_batch)
cross_entropy_logits.defbatch(_ce_batch)
_ce_direction.defbatch(_ce_direction_batch)
