"""Newton's method: use the curvature, not just the slope.

Near x, f(x + d) ~ f(x) + g.d + d.H d / 2, with g the gradient and H the
Hessian. Setting the derivative in d to zero gives the Newton step

    H d = g,    x <- x - lr * d.

On a positive-definite quadratic f(x) = (x - x*)^T A (x - x*) / 2 the model
is exact (g = A (x - x*), H = A), so one step with lr = 1 lands on x*
(exercise 28). ``damping`` solves (H + damping I) d = g instead (Levenberg):
a step between Newton's and a short gradient step, defined even where H is
singular or indefinite.

The Hessian comes from :func:`chainrule.functional.hessian` (forward over
reverse), so this is for small problems: n parameters cost an n x n matrix
and n Hessian-vector products per step. For deep networks H is too large to
form or invert, and rarely positive definite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule import functional
from chainrule.autograd import no_grad
from chainrule.tensor import Tensor

__all__ = ["Newton"]


class Newton:
    """Newton's method on the parameters ``params`` (leaf Tensors).

    ``step(f)`` calls ``f(*params)`` (the parameters' current values, as
    Tensors, in order; it returns a scalar), computes its gradient and Hessian
    with respect to all parameters together (flattened into one vector),
    solves (H + damping I) d = g and moves every parameter by -lr d. It
    returns the value of f before the step. A singular (or numerically
    singular) H + damping I raises :class:`numpy.linalg.LinAlgError`.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1.0, damping: float = 0.0) -> None:
        self.params = [params] if isinstance(params, Tensor) else list(params)
        if not self.params:
            raise ValueError("Newton: got an empty list of parameters")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or p.dtype.kind != "f" or not p.is_leaf:
                raise TypeError(f"Newton: parameter {i} must be a floating-point leaf Tensor, "
                                f"got {type(p).__name__}")
        if not lr > 0:
            raise ValueError(f"Newton: lr must be > 0, got {lr}")
        if not damping >= 0:
            raise ValueError(f"Newton: damping must be >= 0, got {damping}")
        self.lr = float(lr)
        self.damping = float(damping)
        self._sizes = [p.size for p in self.params]

    def _unflatten(self, v: Any) -> list[Any]:
        pieces, start = [], 0
        for p, n in zip(self.params, self._sizes):
            pieces.append(v[start:start + n].reshape(p.shape))
            start += n
        return pieces

    def direction(self, f: Callable[..., Any]) -> tuple[float, np.ndarray]:
        """``(f(params), d)`` with d the solution of (H + damping I) d = g, flattened."""
        flat = np.concatenate([p.data.ravel() for p in self.params]).astype(np.float64)

        def objective(v: Any) -> Any:
            out = f(*self._unflatten(v))
            if np.size(out) != 1:
                raise ValueError(f"Newton: f must return a scalar, got shape {np.shape(out)}")
            return out

        value, g = functional.value_and_grad(objective)(flat)
        h = np.asarray(functional.hessian(objective)(flat), dtype=np.float64)
        return float(value), solve_newton(h, np.asarray(g, dtype=np.float64), self.damping)

    def step(self, f: Callable[..., Any]) -> float:
        """One Newton step on f; returns f before the step."""
        value, d = self.direction(f)
        with no_grad():
            for p, piece in zip(self.params, self._unflatten(d)):
                p.data[...] -= (self.lr * piece).astype(p.dtype)
                p._version += 1
        return value


def solve_newton(h: np.ndarray, g: np.ndarray, damping: float = 0.0) -> np.ndarray:
    """Solve (h + damping I) d = g, refusing a singular or ill-conditioned system
    (condition number above 1 / machine epsilon) with a message that says so."""
    n = h.shape[0]
    a = h + damping * np.eye(n)
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(g)):
        raise FloatingPointError("Newton: the gradient or Hessian is not finite at this point")
    cond = np.linalg.cond(a) if n else 1.0
    if not cond < 1 / np.finfo(np.float64).eps:
        eig = np.linalg.eigvalsh((a + a.T) / 2)
        raise np.linalg.LinAlgError(
            f"Newton: the Hessian{' + damping I' if damping else ''} ({n}x{n}) is singular at "
            f"this point (eigenvalues from {eig.min():.3g} to {eig.max():.3g}, condition number "
            f"{cond:.3g}), so H d = g has no unique solution; pass damping > 0 to solve "
            "(H + damping I) d = g, or use a first-order method")
    return np.linalg.solve(a, g)
