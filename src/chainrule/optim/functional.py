"""Optimizers as pure functions (as optax): the state is a container, nothing changes in place.

::

    opt = cr.optim.functional.adam(lr=1e-3)
    state = opt.init(params)                          # {"step": 0-d int, "m": ..., "v": ...}

    @cr.jit(donate_argnums=(0, 1))                    # or cr.jit(train_step, ...)
    def train_step(params, state, x, y):
        loss, grads = cr.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return apply_updates(params, updates), state, loss

``params`` is any container of arrays (:mod:`chainrule.tree`); ``update(grads, state,
params)`` returns the updates (added to the parameters by :func:`apply_updates`) and the
new state. The arithmetic is the object API's (:class:`~chainrule.optim.SGD`,
:class:`~chainrule.optim.Adam`, PyTorch's), written with chainrule's functions and with the
step count an array, so a whole step traces under :func:`chainrule.jit` without a Python
branch on a value. Numbers stay in each parameter's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from chainrule.ops import astype, maximum, sqrt, where
from chainrule.tree import tree_map


class FunctionalOptimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates``, leaf by leaf."""
    return tree_map(lambda p, u: p + u, params, updates)


def _zeros(params: Any) -> Any:
    return tree_map(lambda p: np.zeros(np.shape(p), np.result_type(p)), params)


def _scalar(x: Any, like: Any) -> Any:
    """A float64 step-dependent factor in the parameter's dtype (the object API passes a
    Python float, which NumPy rounds to the array's dtype the same way)."""
    return astype(x, np.result_type(like))


def sgd(lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
        weight_decay: float = 0.0, nesterov: bool = False,
        maximize: bool = False) -> FunctionalOptimizer:
    """SGD as :class:`chainrule.optim.SGD` (PyTorch): d = g + weight_decay p; the momentum
    buffer b = d on the first step, then momentum b + (1 - dampening) d; the update is
    -lr (d + momentum b) with Nesterov, else -lr b (-lr d without momentum)."""
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("sgd: Nesterov momentum needs momentum > 0 and dampening 0")

    def init(params: Any) -> dict:
        state: dict = {"step": np.zeros((), np.int64)}
        if momentum:
            state["momentum"] = _zeros(params)
        return state

    def direction(g: Any, p: Any) -> Any:
        d = -g if maximize else g
        return d + weight_decay * p if weight_decay else d

    def update(grads: Any, state: dict, params: Any) -> tuple[Any, dict]:
        ds = tree_map(direction, grads, params)
        new = {"step": state["step"] + 1}
        if momentum:
            first = state["step"] == 0
            bufs = tree_map(lambda b, d: where(first, d, momentum * b + (1 - dampening) * d),
                            state["momentum"], ds)
            new["momentum"] = bufs
            ds = tree_map(lambda d, b: d + momentum * b, ds, bufs) if nesterov else bufs
        return tree_map(lambda d: -lr * d, ds), new

    return FunctionalOptimizer(init, update)


def adam(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False,
         maximize: bool = False) -> FunctionalOptimizer:
    """Adam as :class:`chainrule.optim.Adam` (PyTorch), at step t = 1, 2, ...:
    m = m + (1 - beta1)(g - m); v = beta2 v + (1 - beta2) g^2 (v_hat = max(v_hat, v) with
    amsgrad); update = -lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)."""
    beta1, beta2 = betas

    def init(params: Any) -> dict:
        state = {"step": np.zeros((), np.int64), "m": _zeros(params), "v": _zeros(params)}
        if amsgrad:
            state["v_max"] = _zeros(params)
        return state

    def update(grads: Any, state: dict, params: Any) -> tuple[Any, dict]:
        t = state["step"] + 1
        if maximize:
            grads = tree_map(lambda g: -g, grads)
        if weight_decay:
            grads = tree_map(lambda g, p: g + weight_decay * p, grads, params)
        m = tree_map(lambda m, g: m + (1 - beta1) * (g - m), state["m"], grads)
        v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state["v"], grads)
        new = {"step": t, "m": m, "v": v}
        if amsgrad:
            new["v_max"] = tree_map(maximum, state["v_max"], v)
            v = new["v_max"]
        step_size = lr / (1 - beta1 ** astype(t, np.float64))
        root = sqrt(1 - beta2 ** astype(t, np.float64))

        def delta(m: Any, v: Any) -> Any:
            denom = sqrt(v) / _scalar(root, v) + eps
            return -_scalar(step_size, m) * (m / denom)

        return tree_map(delta, m, v), new

    return FunctionalOptimizer(init, update)


__all__ = ["FunctionalOptimizer", "adam", "apply_updates", "sgd"]
