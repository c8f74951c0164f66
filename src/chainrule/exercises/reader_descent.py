"""The reader's side of exercises 25-29 (gradient descent and curvature).

Numerical questions become functions returning the number for any input (25: the largest
stable learning rate for a given A; 29: the escape step count); proofs are checked through
the function that captures them (28: ``newton_step(A, b, x)``). The references run
chainrule's own optimisers (``optim.minimize``) on its autodiff gradients and Hessians.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.exercises.reader import Case, ReaderSpec, Task, compare, inputs, reader, same_word
from chainrule.optim import minimize


def _half_quadratic(A):
    return lambda w: 0.5 * cr.dot(w, cr.matmul(A, w))


def _largest_lr(A):
    return 2.0 / np.linalg.eigvalsh(functional.hessian(_half_quadratic(A))(np.zeros(len(A)))).max()


def _gd_path(A, w0, lr, steps):
    return minimize(_half_quadratic(A), w0, method="gd", lr=lr, steps=steps).xs


def _spd_case(d):
    return (d.spd(d.size()),)


def _path_case(d):
    (A,) = _spd_case(d)
    return A, d.vec(len(A)), d.uniform(0.1, 1.9) / np.linalg.eigvalsh(A).max(), 15


A25 = np.diag([1.0, 100.0])

reader(ReaderSpec(25, "largest_stable_lr(A) and gd_path(A, w0, lr, steps) on 1/2 w^T A w",
                  tasks=(
    Task("largest_stable_lr", "A", "The largest learning rate for which gradient descent on "
         "L(w) = 1/2 w^T A w converges (the bound), A symmetric positive definite (n, n).",
         inputs(_spd_case, (A25,)), _largest_lr,
         source="2 / the largest eigenvalue of chainrule's autodiff Hessian"),
    Task("gd_path", "A, w0, lr, steps", "The iterates of gradient descent on 1/2 w^T A w from "
         "w0: an array (steps + 1, n), w0 first.", inputs(_path_case, (A25, np.ones(2), 0.01, 20)),
         _gd_path, source="chainrule's optim.minimize (gd)"),
)))


def _loss26(t):
    return t[0] ** 2 + 10.0 * t[1] ** 2


def _gd26(theta0, lr, steps):
    return minimize(_loss26, theta0, method="gd", lr=lr, steps=steps).xs


def _momentum26(theta0, lr, mu, steps):
    return minimize(_loss26, theta0, method="momentum", lr=lr, momentum=mu, steps=steps).xs


def _start(d):
    return d.vec(2), d.uniform(0.01, 0.09)


reader(ReaderSpec(26, "gradient descent and heavy-ball momentum on theta1^2 + 10 theta2^2",
                  notes=(
    "Momentum is heavy ball: b = mu b + grad, theta = theta - lr b (b = 0 at the start); the\n"
    "    form v = mu v - lr grad, theta = theta + v gives the same iterates."), tasks=(
    Task("gradient_descent", "theta0, lr, steps", "The iterates of gradient descent on "
         "L = theta1^2 + 10 theta2^2 from theta0 (2,): an array (steps + 1, 2).",
         inputs(lambda d: (*_start(d), 25), (np.ones(2), 0.05, 40)), _gd26,
         source="chainrule's optim.minimize (gd)"),
    Task("momentum", "theta0, lr, mu, steps", "The iterates of heavy-ball momentum on the same "
         "L: an array (steps + 1, 2).",
         inputs(lambda d: (*_start(d), d.uniform(0.5, 0.95), 25), (np.ones(2), 0.05, 0.9, 40)),
         _momentum26, source="chainrule's optim.minimize (momentum)"),
)))


def _f27(v):
    return v[0] ** 4 - 2 * v[0] ** 2 + v[1] ** 2


def _critical_points():
    """Newton's method (autodiff gradient and Hessian) from a grid, the distinct end points."""
    grid = [(x, y) for x in np.linspace(-1.7, 1.7, 5) for y in (-1.0, 0.5)]
    ends = [minimize(_f27, p, method="newton", steps=50, tol=1e-13).x for p in grid]
    return np.unique(np.round(ends, 9) + 0.0, axis=0)


def _same_points(received, expected, case):
    try:
        r = np.asarray(received, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return f"expected an array of points (k, 2), received {received!r}"
    return compare(r[np.lexsort(r.T[::-1])], expected, rtol=0, atol=1e-6)


def _kind(x, y):
    eig = np.linalg.eigvalsh(functional.hessian(_f27)(np.array([x, y], dtype=np.float64)))
    return "minimum" if eig.min() > 0 else "maximum" if eig.max() < 0 else "saddle"


def _at_critical_points(rng):
    return [Case(f"the critical point ({x:g}, {y:g})", (x, y))
            for x, y in ((-1.0, 0.0), (0.0, 0.0), (1.0, 0.0))]


reader(ReaderSpec(27, "the critical points of x^4 - 2x^2 + y^2, its Hessian, and their kinds",
                  tasks=(
    Task("hessian", "x, y", "The Hessian (2, 2) of f(x, y) = x^4 - 2x^2 + y^2.",
         inputs(lambda d: tuple(d.vec(2)), (0.0, 0.0)),
         lambda x, y: functional.hessian(_f27)(np.array([x, y], dtype=np.float64))),
    Task("critical_points", "", "Every critical point of f: an array (k, 2), in any order.",
         inputs(lambda d: (), (), k=0), _critical_points, judge=_same_points,
         source="Newton's method on chainrule's autodiff gradient and Hessian"),
    Task("classify", "x, y", "'minimum', 'maximum' or 'saddle' for the critical point (x, y).",
         _at_critical_points, _kind, judge=same_word,
         source="the signs of the eigenvalues of chainrule's autodiff Hessian"),
)))


def _newton(A, b, x):
    return minimize(lambda v: 0.5 * cr.dot(v, cr.matmul(A, v)) - cr.dot(b, v), x,
                    method="newton", steps=1).x


def _case28(d):
    n = d.size()
    return d.spd(n), d.vec(n), d.vec(n, 3.0)


reader(ReaderSpec(28, "newton_step(A, b, x) on 1/2 x^T A x - b^T x", tasks=(
    Task("newton_step", "A, b, x", "One Newton step x - H^-1 grad f(x) on the quadratic "
         "f(x) = 1/2 x^T A x - b^T x, A symmetric positive definite.\nA: (n, n), b: (n,), "
         "x: (n,). Returns (n,) (it lands on the minimum A^-1 b).", inputs(_case28),
         _newton, source="chainrule's Newton step (autodiff gradient and Hessian)", rtol=1e-8),
)))


def _escape(eps, lr):
    """The first step k at which |y_k| > 1 for GD on x^2 - y^2 from (1, eps)."""
    steps = int(2 * np.log(1 / eps) / np.log(1 + 2 * lr)) + 5  # |y| grows by 1 + 2 lr a step
    path = minimize(lambda v: v[0] ** 2 - v[1] ** 2, np.array([1.0, eps]), method="gd", lr=lr,
                    steps=steps).xs
    return int(np.argmax(np.abs(path[:, 1]) > 1))


reader(ReaderSpec(29, "escape_step(eps, lr): GD on x^2 - y^2 from (1, eps) leaves the saddle",
                  tasks=(
    Task("escape_step", "eps, lr", "The first step k of gradient descent on f(x, y) = x^2 - y^2 "
         "from (1, eps) at which |y_k| > 1 (0 < eps < 1, 0 < lr < 0.5): an integer.",
         inputs(lambda d: (10 ** d.uniform(-8, -2), d.uniform(0.05, 0.3)), (1e-4, 0.1)), _escape,
         source="chainrule's optim.minimize (gd)", rtol=0, atol=0),
)))
