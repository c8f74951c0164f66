"""``minimize``: run an optimizer on a small function and keep its trajectory.

For the chapter's experiments (exercises 25, 26 and 28): gradient descent on an
ill-conditioned quadratic zig-zags across the valley, momentum and Nesterov
damp the zig-zag, Adam rescales each coordinate, Newton's method lands on the
minimum of a quadratic in one step. The trajectory feeds
:func:`chainrule.viz.plot_trajectory` and :func:`chainrule.viz.plot_curves`.

The first-order methods are :class:`~chainrule.optim.SGD` (plain, with
momentum, with Nesterov momentum) and :class:`~chainrule.optim.Adam`; Newton
is :class:`~chainrule.optim.newton.Newton`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.optim.adam import Adam
from chainrule.optim.newton import Newton
from chainrule.optim.sgd import SGD
from chainrule.tensor import Tensor

__all__ = ["METHODS", "Trajectory", "minimize"]

# default learning rates, per method
METHODS = {"gd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adam": 0.1, "newton": 1.0}


@dataclass(frozen=True)
class Trajectory:
    """The iterates ``xs`` ``(k + 1, *x0.shape)`` and losses ``losses`` (k + 1,) of the
    ``steps`` = k steps taken (only the last point when ``record=False``);
    ``diverged`` when the loss stopped being finite (the run stops there)."""

    method: str
    xs: np.ndarray
    losses: np.ndarray
    steps: int
    diverged: bool = False

    def __repr__(self) -> str:
        return (f"Trajectory(method={self.method!r}, steps={self.steps}, loss={self.loss:.6g}, "
                f"x={np.array2string(self.x, precision=6)}, points={len(self.xs)}"
                f"{', diverged' if self.diverged else ''})")

    @property
    def x(self) -> np.ndarray:
        """The last iterate."""
        return self.xs[-1]

    @property
    def loss(self) -> float:
        """The loss at the last iterate."""
        return float(self.losses[-1])


def minimize(f: Callable[[Tensor], Any], x0: Any, method: str = "gd", steps: int = 100,
             lr: float | None = None, record: bool = True, momentum: float = 0.9,
             betas: tuple[float, float] = (0.9, 0.999), damping: float = 0.0,
             tol: float | None = None) -> Trajectory:
    """Minimize ``f`` (a Tensor of x0's shape -> scalar Tensor) from ``x0``.

    ``method``: ``"gd"``, ``"momentum"`` (heavy ball, ``momentum``), ``"nesterov"``,
    ``"adam"`` (``betas``) or ``"newton"`` (``damping``); ``lr`` defaults to
    :data:`METHODS` [method]. Stops after ``steps`` steps, when the gradient norm
    falls below ``tol`` (if given), or when the loss is no longer finite.
    """
    if method not in METHODS:
        raise ValueError(f"minimize: unknown method {method!r}; choose one of "
                         f"{', '.join(METHODS)}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"minimize: steps must be a non-negative int, got {steps!r}")
    lr = METHODS[method] if lr is None else lr
    x = Tensor(np.asarray(x0, dtype=np.float64), requires_grad=True)
    step = (Newton([x], lr=lr, damping=damping).step if method == "newton"
            else _first_order(method, x, lr, momentum, betas))
    xs, losses = [], []
    diverged = False
    taken = 0
    loss = _value(f, x)
    while True:
        if record:
            xs.append(x.data.copy())
            losses.append(float(loss.data))
        if not np.isfinite(loss.data):
            diverged = True
            break
        if taken == steps:
            break
        x.grad = None
        loss.backward()
        if tol is not None and np.linalg.norm(x.grad) < tol:
            break
        step(f)
        taken += 1
        loss = _value(f, x)
    if not record:
        xs, losses = [x.data.copy()], [float(loss.data)]
    return Trajectory(method, np.array(xs), np.array(losses), taken, diverged)


def _value(f: Callable[[Tensor], Any], x: Tensor) -> Tensor:
    out = f(x)
    if not isinstance(out, Tensor) or out.size != 1:
        raise ValueError(f"minimize: f must return a scalar Tensor computed from x, got "
                         f"{type(out).__name__} of shape {np.shape(out)}")
    return out


def _first_order(method: str, x: Tensor, lr: float, momentum: float,
                 betas: tuple[float, float]) -> Callable[[Any], Any]:
    """The optimizer's step, as a function of f (which it ignores: x.grad is set)."""
    if method == "gd":
        opt: Any = SGD([x], lr=lr)
    elif method in ("momentum", "nesterov"):
        opt = SGD([x], lr=lr, momentum=momentum, nesterov=method == "nesterov")
    else:
        opt = Adam([x], lr=lr, betas=betas)
    return lambda f: opt.step()
