"""The reader's side of exercises 1-11 (derivatives, Taylor, gradients, Jacobians).

Every expected derivative is chainrule's autodiff of the exercise's original function
(``functional.grad``, ``hessian``, ``jacobian``, ``taylor``), never a closed form.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.exercises.reader import ReaderSpec, Task, inputs, reader, unavailable


def derivative(f, order: int = 1):
    """x -> the order-th derivative of the scalar function f at x, by reverse mode."""
    d = f
    for _ in range(order):
        d = functional.grad(d)
    return lambda x: float(d(np.float64(x)))


def _positive(d):
    return (d.uniform(0.2, 4.0),)


reader(ReaderSpec(1, "f'(x) of 1/x, sqrt(x), exp(2x), from the limit definition", by_hand=True,
                  tasks=(
    Task("d_inverse", "x", "f'(x) for f(x) = 1/x (x > 0), from the limit definition.",
         inputs(_positive, (1.5,)), derivative(lambda x: 1.0 / x)),
    Task("d_sqrt", "x", "f'(x) for f(x) = sqrt(x) (x > 0), from the limit definition.",
         inputs(_positive, (1.5,)), derivative(cr.sqrt)),
    Task("d_exp2", "x", "f'(x) for f(x) = exp(2x), from the limit definition.",
         inputs(lambda d: (d.uniform(-2, 2),), (1.5,)), derivative(lambda x: cr.exp(2.0 * x))),
)))


def _limit_at_zero() -> float:
    """(f(h) - f(0)) / h at h = 1e-12 for f = x^2 sin(1/x): the quotient whose limit is f'(0)."""
    h = 1e-12
    return h * h * math.sin(1 / h) / h


reader(ReaderSpec(2, "f'(x) of x^2 sin(1/x) for x != 0, and f'(0)", by_hand=True, tasks=(
    Task("derivative", "x", "f'(x) for f(x) = x^2 sin(1/x), at x != 0.",
         inputs(lambda d: (d.uniform(0.05, 2) * d.rng.choice([-1, 1]),), (1 / (2 * math.pi),)),
         derivative(lambda x: x**2 * cr.sin(1.0 / x)), rtol=1e-7, atol=1e-9),
    Task("derivative_at_zero", "", "f'(0), the limit of (f(h) - f(0)) / h as h -> 0 (a number).",
         inputs(lambda d: (), (), k=0), _limit_at_zero,
         source="the difference quotient at h = 1e-12", atol=1e-9),
)))


def _taylor(f, at: float, order: int):
    """h -> the Taylor polynomial of f at ``at`` to ``order``, coefficients by autodiff."""
    coefficients = functional.taylor(f, at, order)
    return lambda h: float(sum(c * h**k for k, c in enumerate(coefficients)))


def _sqrt_bound(h: float) -> float:
    """max |f'''| on [1, 1 + h] * h^3 / 3! for f = sqrt, f''' by nested autodiff on a grid."""
    third = derivative(cr.sqrt, 3)
    return max(abs(third(x)) for x in np.linspace(1.0, 1.0 + h, 51)) * h**3 / 6


reader(ReaderSpec(3, "sqrt(1 + h) to second order, and its Lagrange error bound", by_hand=True,
                  tasks=(
    Task("taylor_sqrt", "h", "The second-order Taylor polynomial of sqrt(1 + h) around h = 0 "
         "(sqrt(1.1) at h = 0.1).", inputs(lambda d: (d.uniform(0.01, 0.5),), (0.1,)),
         _taylor(cr.sqrt, 1.0, 2), source="Taylor coefficients by chainrule's forward mode"),
    Task("error_bound", "h", "The Lagrange bound max|f'''| h^3 / 3! on the error of "
         "taylor_sqrt(h), h > 0.", inputs(lambda d: (d.uniform(0.01, 0.5),), (0.1,)), _sqrt_bound,
         source="max |f'''| on [1, 1+h] by chainrule autodiff", rtol=1e-6),
)))

reader(ReaderSpec(4, "the second-order Taylor polynomial of log(1 + x)", by_hand=True, tasks=(
    Task("taylor_log1p", "x", "The second-order Taylor expansion of log(1 + x) around 0, "
         "evaluated at x (log(1.05) at x = 0.05).",
         inputs(lambda d: (d.uniform(-0.3, 0.3),), (0.05,)), _taylor(cr.log1p, 0.0, 2),
         source="Taylor coefficients by chainrule's forward mode"),
)))

unavailable(5, "a proof (the mean value theorem) with no number or function that captures it")


def _f6(x):
    return x[0] ** 2 * cr.exp(x[1])


def _point2(d):
    return (d.vec(2),)


reader(ReaderSpec(6, "the gradient and Hessian of x1^2 e^x2", by_hand=True, tasks=(
    Task("grad", "x", "The gradient of f(x) = x1^2 exp(x2). x: (2,). Returns (2,).",
         inputs(_point2, (np.array([0.0, 0.7]),)), functional.grad(_f6)),
    Task("hessian", "x", "The Hessian of f(x) = x1^2 exp(x2). x: (2,). Returns (2, 2).",
         inputs(_point2, (np.array([0.0, 0.7]),)), functional.hessian(_f6)),
)))


def _F7(p):
    x, y = p[0], p[1]
    return cr.stack([x**2 + y**2, x * y, cr.sin(x + y)])


reader(ReaderSpec(7, "the Jacobian of (x^2 + y^2, xy, sin(x + y))", by_hand=True, tasks=(
    Task("jacobian", "x, y", "The Jacobian of F(x, y) = (x^2 + y^2, xy, sin(x + y)): "
         "a (3, 2) array, rows = outputs, columns = (d/dx, d/dy).",
         inputs(lambda d: tuple(d.vec(2)), (1.0, 0.0)),
         lambda x, y: functional.jacobian(_F7)(np.array([x, y], dtype=np.float64))),
)))


def _case8(d):
    m, n = d.size(), d.size()
    return d.vec(n), d.sym(m), d.mat(m, n)


reader(ReaderSpec(8, "grad(x, A, B) of (Bx)^T A (Bx)", by_hand=True, tasks=(
    Task("grad", "x, A, B", "The gradient of (Bx)^T A (Bx) with respect to x, A symmetric.\n"
         "x: (n,), A: (m, m) symmetric, B: (m, n). Returns (n,).",
         inputs(_case8), lambda x, A, B: functional.grad(lambda x: (B @ x) @ (A @ (B @ x)))(x)),
)))


def _case9(d):
    n = d.size()
    return d.vec(n), d.vec(n)


reader(ReaderSpec(9, "grad(x, a) of log(1 + exp(a^T x))", by_hand=True, tasks=(
    Task("grad", "x, a", "The gradient of log(1 + exp(a^T x)) with respect to x.\n"
         "x: (n,), a: (n,). Returns (n,).", inputs(_case9),
         lambda x, a: functional.grad(lambda x: cr.log1p(cr.exp(a @ x)))(x)),
)))


def _f10(p):
    return p[0] ** 2 + 4.0 * p[1] ** 2


def _semi_axes(c: float) -> np.ndarray:
    """Semi-axes of {f = c}: sqrt(2c / lambda_i) for the eigenvalues of the autodiff Hessian."""
    lam = np.linalg.eigvalsh(functional.hessian(_f10)(np.zeros(2)))
    return np.sort(np.sqrt(2 * c / lam))[::-1]


reader(ReaderSpec(10, "the gradient of x^2 + 4y^2 and the semi-axes of its level sets",
                  by_hand=True, tasks=(
    Task("grad", "x, y", "The gradient (2,) of f(x, y) = x^2 + 4y^2 at (x, y).",
         inputs(lambda d: tuple(d.vec(2)), (1.0, 1.0)),
         lambda x, y: functional.grad(_f10)(np.array([x, y], dtype=np.float64))),
    Task("semi_axes", "c", "The semi-axes (longer first) of the ellipse x^2 + 4y^2 = c, c > 0: "
         "a pair.", inputs(lambda d: (d.uniform(0.1, 10),), (5.0,)), _semi_axes,
         source="the eigenvalues of chainrule's autodiff Hessian"),
)))


def _F11(p):
    x, y = p[0], p[1]
    return cr.stack([cr.sin(x) * cr.cos(y), cr.cos(x) * cr.sin(y)])


def _at(f):
    return lambda x, y: functional.jacobian(f)(np.array([x, y], dtype=np.float64))


reader(ReaderSpec(11, "J_F and J_{F o F} for F(x, y) = (sin x cos y, cos x sin y)", tasks=(
    Task("jacobian", "x, y", "J_F(x, y), (2, 2), for F(x, y) = (sin x cos y, cos x sin y).",
         inputs(lambda d: tuple(d.vec(2)), (math.pi / 4, math.pi / 3)), _at(_F11)),
    Task("composite_jacobian", "x, y", "J_{F o F}(x, y), (2, 2), by the chain rule "
         "J_F(F(x, y)) J_F(x, y).", inputs(lambda d: tuple(d.vec(2)), (math.pi / 4, math.pi / 3)),
         _at(lambda p: _F11(_F11(p))), source="chainrule autodiff of F(F(x, y))"),
)))
