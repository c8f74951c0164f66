"""Losses and softmax, built from chainrule's stable primitives.

Each loss takes ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"``
(the per-example losses). Inputs may be Tensors or arrays; a target given as
a plain array is converted to the prediction's dtype, so float32 stays
float32. Every form is stable for any logits (no overflow at +-1000):

* ``cross_entropy``: -log softmax(z)[y] = logsumexp(z) - z_y, the
  gradient being softmax(z) - onehot(y);
* ``binary_cross_entropy_with_logits``: softplus(z) - y z;
* ``logistic_loss`` (labels +-1): softplus(-y z) = log(1 + exp(-y z)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend, ops
from chainrule.jit.hook import Traced
from chainrule.ops.nn import log_softmax, softmax
from chainrule.tensor import Tensor

__all__ = [
    "binary_cross_entropy_with_logits", "cross_entropy", "log_softmax", "logistic_loss",
    "mse_loss", "nll_loss", "softmax",
]

_REDUCTIONS = ("mean", "sum", "none")


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if hasattr(x, "shape") else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


def _raw(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else backend.as_array(x)


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _target_like(target: Any, pred: Any) -> Any:
    """A plain-array target in the prediction's floating dtype (Tensors are kept)."""
    if isinstance(target, Tensor):
        return target
    dt = _dtype(pred)
    return backend.as_array(target, dtype=dt if dt.kind == "f" else None)


def _same_shape(pred: Any, target: Any, op: str) -> None:
    if _shape(pred) != _shape(target):
        raise ValueError(f"{op}: prediction of shape {_shape(pred)} and target of shape "
                         f"{_shape(target)} differ")


def _check_2d(x: Any, what: str, op: str) -> tuple[int, int]:
    shape = _shape(x)
    if len(shape) != 2:
        raise ValueError(f"{op}: {what} must have shape (N, C), got {shape}")
    return shape


def _labels(labels: Any, n: int, c: int, op: str) -> np.ndarray:
    """Integer class labels of shape (n,), each in [0, c)."""
    y = _raw(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{op}: class labels must be integers, got dtype {y.dtype} (for "
                        f"probability targets pass shape ({n}, {c}))")
    if y.shape != (n,):
        raise ValueError(f"{op}: labels of shape {y.shape} for {n} examples of {c} classes; "
                         f"expected shape ({n},)")
    if isinstance(y, Traced):  # values unknown while jit traces: the primitive checks them
        return y
    bad = (y < 0) | (y >= c)
    if y.size and bad.any():  # labels on a GPU: one wait for it (host labels: none)
        y, bad = backend.to_numpy(y), backend.to_numpy(bad)
        raise ValueError(f"{op}: labels must lie in [0, {c}), got {np.unique(y[bad])[:10].tolist()}"
                         f" (at positions {np.flatnonzero(bad)[:10].tolist()})")
    return y


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (pred - target)^2, reduced. d/dpred = 2 (pred - target) (/ n for mean)."""
    _check_reduction(reduction, "mse_loss")
    _same_shape(pred, target, "mse_loss")
    diff = ops.sub(pred, _target_like(target, pred))
    return _reduce(ops.mul(diff, diff), reduction)


def nll_loss(log_probs: Any, labels: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood -log_probs[i, y_i] of integer labels; log_probs (N, C)."""
    _check_reduction(reduction, "nll_loss")
    n, c = _check_2d(log_probs, "log_probs", "nll_loss")
    y = _labels(labels, n, c, "nll_loss")
    return _reduce(ops.neg(ops.getitem(log_probs, (np.arange(n), y))), reduction)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of softmax(logits) against ``target``; logits (N, C).

    ``target`` is either integer class labels of shape (N,), loss_i =
    logsumexp(z_i) - z_i[y_i], or probabilities of shape (N, C), loss_i =
    -sum_c t_ic log_softmax(z_i)_c. With labels and ``reduction="mean"`` this
    is one fused primitive whose gradient is (softmax(z) - onehot(y)) / N.
    """
    _check_reduction(reduction, "cross_entropy")
    n, c = _check_2d(logits, "logits", "cross_entropy")
    if _dtype(target).kind == "f" and len(_shape(target)) == 2:
        if _shape(target) != (n, c):
            raise ValueError(f"cross_entropy: probability targets of shape {_shape(target)} for "
                             f"logits of shape {(n, c)}; they must match")
        picked = ops.mul(_target_like(target, logits), log_softmax(logits, axis=-1))
        return _reduce(ops.neg(ops.sum(picked, axis=-1)), reduction)
    y = _labels(target, n, c, "cross_entropy")
    if reduction == "mean":
        return ops.cross_entropy_logits(logits, y)
    return nll_loss(log_softmax(logits, axis=-1), y, reduction)


def binary_cross_entropy_with_logits(logits: Any, targets: Any,
                                     reduction: str = "mean") -> Tensor:
    """-[t log s(z) + (1 - t) log(1 - s(z))] with s the sigmoid, computed as
    softplus(z) - t z (stable); targets in [0, 1], same shape as logits.
    d/dz = s(z) - t."""
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    _same_shape(logits, targets, op)
    t = _target_like(targets, logits)
    return _reduce(ops.sub(ops.softplus(logits), ops.mul(t, logits)), reduction)


def logistic_loss(*args: Any, reduction: str = "mean") -> Tensor:
    """Binary logistic loss in the +-1 encoding: log(1 + exp(-y z)) = softplus(-y z).

    Three ways to call it:

    * ``logistic_loss(margins)``: the margins m = y z given directly;
    * ``logistic_loss(z, y)``: scores z and labels y in {-1, +1} of the same shape;
    * ``logistic_loss(w, x, y)``: a linear model, z = x @ w (x (N, n) or (n,), w (n,)).

    d/dz = -y s(-y z), with s the sigmoid.
    """
    _check_reduction(reduction, "logistic_loss")
    if len(args) == 1:
        return _reduce(ops.softplus(ops.neg(args[0])), reduction)
    if len(args) == 3:
        w, x, y = args
        args = (ops.matmul(x, w), y)
    if len(args) != 2:
        raise TypeError(f"logistic_loss: takes (margins), (z, y) or (w, x, y), got {len(args)} "
                        "arguments")
    z, y = args
    _same_shape(z, y, "logistic_loss")
    labels = _raw(y)
    if not np.all(np.abs(labels) == 1):
        raise ValueError(f"logistic_loss: labels must be -1 or +1, got "
                         f"{np.unique(labels[np.abs(labels) != 1])[:10].tolist()}")
    return _reduce(ops.softplus(ops.neg(ops.mul(_target_like(y, z), z))), reduction)
