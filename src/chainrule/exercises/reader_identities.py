"""The reader's side of exercises 20-24 (gradient identities), with the issue's fixed
signatures: ``grad(x, a, lam)`` and ``minimiser(a, lam)`` (20), ``grad(z, y)`` (21),
``grad(w, x, y)`` (22), ``grad(A, B)`` (24). The expected gradients are chainrule's autodiff
of the original functions."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.exercises.reader import ReaderSpec, Task, inputs, reader
from chainrule.optim import minimize


def _f20(a, lam):
    return lambda x: cr.sum((x - a) ** 2) + lam * cr.sum(x**2)


def _minimiser(a, lam):
    """One Newton step (gradient and Hessian by autodiff) from 0: exact on this quadratic."""
    return minimize(_f20(a, lam), np.zeros_like(a), method="newton", steps=1).x


def _case20(d):
    return d.vec(d.size()), d.uniform(0.05, 3.0)


def _x_a_lam(d):
    n = d.size()
    return d.vec(n), d.vec(n), d.uniform(0.05, 3.0)


POINT20 = (np.array([1.0, -2.0, 3.0, 0.5]), 0.5)

reader(ReaderSpec(20, "grad(x, a, lam) of ||x - a||^2 + lam ||x||^2, and minimiser(a, lam)",
                  by_hand=True, tasks=(
    Task("grad", "x, a, lam", "The gradient of ||x - a||^2 + lam ||x||^2 with respect to x.\n"
         "x: (n,), a: (n,), lam: a number > 0. Returns (n,).",
         inputs(_x_a_lam, (np.array([0.3, -0.1, 2.0, 1.0]), *POINT20)),
         lambda x, a, lam: functional.grad(_f20(a, lam))(x)),
    Task("minimiser", "a, lam", "The x that minimises ||x - a||^2 + lam ||x||^2. Returns (n,).",
         inputs(_case20, POINT20), _minimiser,
         source="one Newton step on chainrule's autodiff gradient and Hessian"),
)))


def _one_hot(d):
    n = d.size(2, 6)
    return d.vec(n, 2.0), np.eye(n)[d.rng.integers(n)]


reader(ReaderSpec(21, "grad(z, y) of cross-entropy(softmax(z), y)", by_hand=True, tasks=(
    Task("grad", "z, y", "The gradient of cross-entropy(softmax(z), y) = -sum(y log softmax(z)) "
         "with respect to z, y one-hot.\nz: (n,), y: (n,). Returns (n,).",
         inputs(_one_hot, (np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.0]))),
         lambda z, y: functional.grad(lambda z: -cr.sum(y * cr.log_softmax(z)))(z)),
)))


def _logistic(d):
    n = d.size()
    return d.vec(n), d.vec(n), float(d.rng.choice([-1.0, 1.0]))


reader(ReaderSpec(22, "grad(w, x, y) of log(1 + exp(-y w^T x))", by_hand=True, tasks=(
    Task("grad", "w, x, y", "The gradient of log(1 + exp(-y w^T x)) with respect to w, "
         "y in {-1, +1}.\nw: (n,), x: (n,), y: -1.0 or 1.0. Returns (n,).", inputs(_logistic),
         lambda w, x, y: functional.grad(lambda w: cr.log1p(cr.exp(-y * (w @ x))))(w)),
)))


def _quadratic(x0, a):
    return lambda x: 0.5 * cr.dot(x - x0, cr.matmul(a, x - x0))


def _case23(d):
    n = d.size()
    return d.vec(n, 3.0), d.spd(n), d.vec(n)


reader(ReaderSpec(23, "grad and Hessian of 1/2 (x - x0)^T A (x - x0)", by_hand=True, tasks=(
    Task("grad", "x, A, x0", "The gradient of 1/2 (x - x0)^T A (x - x0), A symmetric positive "
         "definite.\nx: (n,), A: (n, n), x0: (n,). Returns (n,).", inputs(_case23),
         lambda x, A, x0: functional.grad(_quadratic(x0, A))(x)),
    Task("hessian", "x, A, x0", "The Hessian of the same function. Returns (n, n).",
         inputs(_case23), lambda x, A, x0: functional.hessian(_quadratic(x0, A))(x)),
)))


def _case24(d):
    n, m = d.size(), d.size()
    return d.mat(n, m), d.sym(n)


reader(ReaderSpec(24, "grad(A, B) of tr(A^T B A)", by_hand=True, tasks=(
    Task("grad", "A, B", "The gradient of tr(A^T B A) with respect to A, B symmetric.\n"
         "A: (n, m), B: (n, n) symmetric. Returns (n, m).", inputs(_case24),
         lambda A, B: functional.grad(lambda A: cr.trace(cr.matmul(A.T, cr.matmul(B, A))))(A)),
)))
