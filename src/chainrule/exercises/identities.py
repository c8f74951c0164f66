"""Exercises 20-24: gradient identities, each derived by hand and checked by autodiff."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import functional, nn, optim
from chainrule.exercises.numerical_pitfalls import central_gradient
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds, skipped, torch_or_skip

GROUP = "Gradient identities"


def _sigmoid(u: float | np.ndarray) -> float:
    """The logistic function in plain NumPy (an independent closed form)."""
    return float(0.5 * (1.0 + np.tanh(0.5 * u)))


@exercise(20, GROUP, "Gradient of ||x - a||^2 + lambda ||x||^2 and its minimiser")
def ex20(fast: bool = False) -> Result:
    """The gradient of f(x) = ||x - a||^2 + lambda ||x||^2 worked out by hand, and the point
    where it vanishes.

    Derivation: f = sum_i (x_i - a_i)^2 + lambda sum_i x_i^2, so df/dx_i = 2(x_i - a_i) +
    2 lambda x_i, i.e. grad f = 2(x - a) + 2 lambda x. Setting it to zero gives
    (1 + lambda) x = a, so x* = a / (1 + lambda); the Hessian 2(1 + lambda) I is positive
    definite, so x* is the unique global minimiser.

    Method: the gradient at a random point by reverse mode (``functional.grad``), against the
    closed form and central differences; then the minimiser found by gradient descent on the
    autodiff gradient, against a / (1 + lambda).
    """
    rng = np.random.default_rng(20)
    a = np.array([1.0, -2.0, 3.0, 0.5])
    lam = 0.5
    x = rng.normal(size=4)

    def f(x):
        return cr.sum((x - a) ** 2) + lam * cr.sum(x ** 2)

    df = functional.grad(f)
    g = df(x)
    # Gradient descent: the Hessian is 2(1 + lam) I = 3 I, so lr = 0.1 contracts by 0.7 per step.
    lr, w = 0.1, np.zeros(4)
    steps = 0
    while np.linalg.norm(df(w)) > 1e-12 and steps < 1000:
        w = w - lr * df(w)
        steps += 1
    res = Result(20, "Gradient of ||x - a||^2 + lambda ||x||^2 and its minimiser",
                 quantities={"a": a, "lambda": lam, "x": x, "gradient at x": g,
                             "minimiser by gradient descent": w, "gradient descent steps": steps,
                             "minimiser a/(1+lambda)": a / (1 + lam)})
    res.checks += [
        close("gradient vs 2(x-a) + 2 lambda x", g, 2 * (x - a) + 2 * lam * x, "closed form",
              rtol=1e-12),
        close("gradient vs central differences", g, central_gradient(_numpy_f(a, lam), x),
              "finite differences", rtol=1e-7, atol=1e-8),
        close("minimiser (gradient descent)", w, a / (1 + lam), "closed form", rtol=1e-11,
              atol=1e-12),
    ]
    return res


def _numpy_f(a: np.ndarray, lam: float):
    return lambda x: float(np.sum((x - a) ** 2) + lam * np.sum(x ** 2))


@exercise(21, GROUP, "Softmax cross-entropy gradient p - y at z = (1, 2, 3)")
def ex21(fast: bool = False) -> Result:
    """A numerical check that cross-entropy after softmax has gradient p - y in the logits,
    at z = (1, 2, 3) with target y = (0, 1, 0).

    Derivation: CE = -sum_i y_i log p_i with log p_i = z_i - log sum_j e^{z_j}, so
    dCE/dz_k = -y_k + (sum_i y_i) p_k = p_k - y_k for a one-hot (or any normalised) y.
    The components sum to sum p - sum y = 1 - 1 = 0: adding a constant to every logit
    leaves softmax, and so the loss, unchanged.

    Method: reverse mode through -sum(y * log_softmax(z)) and through the fused
    ``nn.functional.cross_entropy`` (integer label), against the sketch's rounded numbers,
    the closed form softmax(z) - y in NumPy, and PyTorch.
    """
    z = np.array([1.0, 2.0, 3.0])
    y = np.array([0.0, 1.0, 0.0])
    g = functional.grad(lambda z: -cr.sum(y * cr.log_softmax(z)))(z)
    g_fused = functional.grad(
        lambda z: nn.functional.cross_entropy(cr.reshape(z, (1, 3)), np.array([1])))(z)
    e = np.exp(z - z.max())
    p = e / e.sum()
    res = Result(21, "Softmax cross-entropy gradient p - y at z = (1, 2, 3)",
                 quantities={"z": z, "y": y, "p = softmax(z)": cr.softmax(z),
                             "gradient (autodiff)": g, "sum of components": float(g.sum())})
    res.checks += [
        close("p - y vs the sketch's (0.0900, -0.7553, 0.6652)", g,
              [0.0900, -0.7553, 0.6652], "solution sketch", rtol=0, atol=5e-5),
        close("gradient vs softmax(z) - y", g, p - y, "closed form", rtol=1e-12, atol=1e-15),
        close("fused cross_entropy gradient", g_fused, p - y, "closed form", rtol=1e-12,
              atol=1e-15),
        close("components sum to zero", g.sum(), 0.0, "closed form", rtol=0, atol=1e-15),
    ]
    torch = torch_or_skip("torch")
    if torch is None:
        res.checks.append(skipped("gradient vs PyTorch", "PyTorch is not installed"))
    else:
        zt = torch.tensor(z, requires_grad=True)
        torch.nn.functional.cross_entropy(zt[None], torch.tensor([1])).backward()
        res.checks.append(close("gradient vs PyTorch", g, zt.grad.numpy(), "PyTorch",
                                rtol=1e-12, atol=1e-15))
    res.notes.append("The sketch rounds to 4 decimals: autodiff gives "
                     + ", ".join(f"{v:.6f}" for v in g) + ", within 5e-5 of it.")
    return res


@exercise(22, GROUP, "Gradient of the logistic loss log(1 + exp(-y w.x))")
def ex22(fast: bool = False) -> Result:
    """The gradient in w of the logistic loss with labels y = +-1, log(1 + e^{-y w^T x}).

    Derivation: with u = -y w^T x, l = log(1 + e^u) has dl/du = e^u / (1 + e^u) = sigma(u),
    and grad_w u = -y x, so grad_w l = -y x sigma(-y w^T x) = -y x (1 - sigma(y w^T x)).

    Method: reverse mode through ``nn.functional.logistic_loss(w, x, y)`` for both labels at a
    random (w, x), against the closed form, central differences and PyTorch.
    """
    rng = np.random.default_rng(22)
    n = 5
    w, x = rng.normal(size=n), rng.normal(size=n)
    res = Result(22, "Gradient of the logistic loss log(1 + exp(-y w.x))",
                 quantities={"w": w, "x": x, "w.x": float(w @ x)})
    torch = torch_or_skip("torch")
    for y in (1.0, -1.0):
        g = functional.grad(lambda w, y=y: nn.functional.logistic_loss(w, x, np.array(y)))(w)
        closed = -y * x * _sigmoid(-y * (w @ x))
        res.quantities[f"gradient, y = {y:+.0f}"] = g
        res.checks += [
            close(f"y = {y:+.0f}: vs -y x sigma(-y w.x)", g, closed, "closed form",
                  rtol=1e-12, atol=1e-15),
            close(f"y = {y:+.0f}: vs -y x (1 - sigma(y w.x))", g,
                  -y * x * (1 - _sigmoid(y * (w @ x))), "closed form", rtol=1e-12, atol=1e-15),
            close(f"y = {y:+.0f}: vs central differences", g,
                  central_gradient(lambda v, y=y: float(np.log1p(np.exp(-y * (v @ x)))), w),
                  "finite differences", rtol=1e-7, atol=1e-9),
        ]
        if torch is None:
            res.checks.append(skipped(f"y = {y:+.0f}: vs PyTorch", "PyTorch is not installed"))
        else:
            wt = torch.tensor(w, requires_grad=True)
            torch.nn.functional.softplus(-y * (torch.tensor(x) @ wt)).backward()
            res.checks.append(close(f"y = {y:+.0f}: vs PyTorch", g, wt.grad.numpy(), "PyTorch",
                                    rtol=1e-12, atol=1e-15))
    return res


def _spd(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random symmetric positive-definite matrix (M M^T + I)."""
    m = rng.normal(size=(n, n))
    return m @ m.T + np.eye(n)


@exercise(23, GROUP, "Gradient of a quadratic form; Newton lands on x0 in one step", stars=1)
def ex23(fast: bool = False) -> Result:
    """With A symmetric positive definite, q(x) = 1/2 (x - x0)^T A (x - x0) has gradient
    A(x - x0); consequently Newton's method reaches x0 from anywhere in a single step.

    Derivation: with d = x - x0, dq = 1/2 (dx^T A d + d^T A dx) = 1/2 d^T (A + A^T) dx
    = (A d)^T dx for symmetric A, so grad q = A(x - x0); differentiating again, the Hessian is
    A. The Newton step x - H^{-1} grad q = x - A^{-1} A (x - x0) = x0, from any x, and x0 is
    the minimum because A is positive definite (q >= 0 = q(x0)).

    Method: gradient by reverse mode and Hessian by ``functional.hessian`` at random points,
    against A(x - x0) and A; then one step of ``optim.Newton`` (solving H d = grad) from
    several random starting points, against x0.
    """
    rng = np.random.default_rng(23)
    n = 4
    a = _spd(n, rng)
    x0 = rng.normal(size=n)

    def q(x):
        d = x - x0
        return 0.5 * cr.dot(d, cr.matmul(a, d))

    res = Result(23, "Gradient of a quadratic form; Newton lands on x0 in one step",
                 quantities={"A": a, "x0": x0, "eigenvalues of A": np.linalg.eigvalsh(a)})
    starts = rng.normal(scale=3.0, size=(3, n))
    landed = []
    for k, x in enumerate(starts):
        g = functional.grad(q)(x)
        h = functional.hessian(q)(x)
        point = cr.tensor(x, requires_grad=True)
        optim.Newton([point]).step(q)
        landed.append(point.data.copy())
        res.checks += [
            close(f"start {k}: gradient vs A(x - x0)", g, a @ (x - x0), "closed form",
                  rtol=1e-12, atol=1e-12),
            close(f"start {k}: Hessian vs A", h, a, "closed form", rtol=1e-12, atol=1e-12),
            close(f"start {k}: one Newton step lands on x0", landed[-1], x0, "closed form",
                  rtol=1e-10, atol=1e-12),
        ]
    res.quantities["starting points"] = starts
    res.quantities["after one Newton step"] = np.array(landed)
    res.checks.append(holds("A is positive definite", bool(np.linalg.eigvalsh(a).min() > 0),
                            float(np.linalg.eigvalsh(a).min()), "> 0"))
    return res


@exercise(24, GROUP, "Gradient of tr(A^T B A) for symmetric B", stars=1)
def ex24(fast: bool = False) -> Result:
    """The gradient of tr(A^T B A) with respect to A (A n x m, B n x n symmetric), derived
    with differentials.

    Derivation: d tr(A^T B A) = tr(dA^T B A) + tr(A^T B dA); the first term equals its
    transpose tr(A^T B^T dA), so d tr = tr(A^T (B + B^T) dA) = <(B + B^T) A, dA>, i.e. the
    gradient is (B + B^T) A, which is 2 B A when B is symmetric.

    Method: reverse mode through trace(A^T @ B @ A) for a symmetric and a non-symmetric B,
    against the closed forms and central differences.
    """
    rng = np.random.default_rng(24)
    n, m = 4, 3
    a = rng.normal(size=(n, m))
    c = rng.normal(size=(n, n))
    b_sym = c + c.T

    def grad_for(b):
        return functional.grad(lambda a: cr.trace(cr.matmul(a.T, cr.matmul(b, a))))(a)

    g_sym, g_gen = grad_for(b_sym), grad_for(c)
    res = Result(24, "Gradient of tr(A^T B A) for symmetric B",
                 quantities={"A": a, "B (symmetric)": b_sym, "gradient (symmetric B)": g_sym,
                             "B (not symmetric)": c, "gradient (non-symmetric B)": g_gen})
    res.checks += [
        close("symmetric B: gradient vs 2 B A", g_sym, 2 * b_sym @ a, "closed form",
              rtol=1e-12, atol=1e-12),
        close("symmetric B: vs central differences", g_sym,
              central_gradient(lambda v: float(np.trace(v.T @ b_sym @ v)), a),
              "finite differences", rtol=1e-7, atol=1e-7),
        close("non-symmetric B: gradient vs (B + B^T) A", g_gen, (c + c.T) @ a, "closed form",
              rtol=1e-12, atol=1e-12),
        holds("non-symmetric B: 2 B A is wrong", not np.allclose(g_gen, 2 * c @ a),
              float(np.abs(g_gen - 2 * c @ a).max()), "> 0", "closed form"),
    ]
    return res
