"""Exercises 6-11: gradients, Hessians, Jacobians and the multivariate chain rule.

Derivatives come from ``chainrule.functional`` (grad, hessian, jacobian, jvp, vjp); the
references are the solution sketches, closed forms, central differences
(``chainrule.check.numerical_jacobian``) and, for exercise 11, SymPy when it is installed.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.check import numerical_jacobian
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds, skipped

GROUP = "Gradients, Jacobians, chain rule"


def _fd_gradient(f, x: np.ndarray) -> np.ndarray:
    """Central-difference gradient of scalar f at x (shape of x)."""
    return numerical_jacobian(f, x)[0].reshape(np.shape(x))


@exercise(6, GROUP, "Gradient, Hessian and critical points of x1^2 e^x2")
def ex06(fast: bool = False) -> Result:
    """Find the gradient, the Hessian and all critical points of f(x1, x2) = x1^2 e^{x2}.

    Method: gradient and Hessian by autodiff (``functional.grad``, ``functional.hessian``),
    checked against the sketch's formulas grad f = (2 x1 e^{x2}, x1^2 e^{x2}) and
    H = [[2e^{x2}, 2 x1 e^{x2}], [2 x1 e^{x2}, x1^2 e^{x2}]] and central differences.
    Critical points: the first component 2 x1 e^{x2} vanishes only at x1 = 0 (e^{x2} > 0), and
    then the second vanishes too, so they form the line x1 = 0. Numerically, the autodiff
    gradient is exactly zero along that line and non-zero at every sampled point off it; there
    the Hessian is diag(2e^{x2}, 0), singular (the second-derivative test is inconclusive),
    and f >= 0 = f(0, x2) around it: each point of the line is a non-strict minimum.
    """
    def f(x):
        return x[0] ** 2 * cr.exp(x[1])

    def sketch_grad(x1, x2):
        return np.array([2 * x1 * math.exp(x2), x1**2 * math.exp(x2)])

    def sketch_hessian(x1, x2):
        e = math.exp(x2)
        return np.array([[2 * e, 2 * x1 * e], [2 * x1 * e, x1**2 * e]])

    grad_f, hess_f = functional.grad(f), functional.hessian(f)
    p = np.array([1.5, -0.5])
    g, h = grad_f(p), hess_f(p)
    res = Result(6, "grad, Hessian, critical points of x1^2 e^x2")
    res.quantities.update({"point": p, "grad f(point)": g, "H f(point)": h})
    res.checks += [
        close("gradient at (1.5, -0.5)", g, sketch_grad(*p), "solution sketch", rtol=1e-12),
        close("gradient at (1.5, -0.5)", g, _fd_gradient(f, p), "finite differences",
              rtol=1e-7),
        close("Hessian at (1.5, -0.5)", h, sketch_hessian(*p), "solution sketch", rtol=1e-12),
        close("Hessian at (1.5, -0.5)", h, numerical_jacobian(grad_f, p)[0],
              "finite differences", rtol=1e-6),
    ]
    line = [np.array([0.0, t]) for t in np.linspace(-3, 3, 13)]
    on_line = np.array([grad_f(q) for q in line])
    rng = np.random.default_rng(0)
    off = rng.uniform(-2, 2, (200, 2))
    off[:, 0] = np.where(np.abs(off[:, 0]) < 1e-3, 0.5, off[:, 0])  # keep x1 != 0
    off_norms = np.array([np.linalg.norm(grad_f(q)) for q in off])
    res.quantities["critical points"] = "the line {(0, x2)}"
    res.quantities["max |grad f| on x1 = 0 (13 points)"] = float(np.abs(on_line).max())
    res.quantities["min |grad f| at 200 points with x1 != 0"] = float(off_norms.min())
    res.checks += [
        close("grad f = 0 along x1 = 0", on_line, np.zeros_like(on_line), "solution sketch",
              atol=0.0),
        holds("grad f != 0 wherever x1 != 0 (sampled)", bool(np.all(off_norms > 0)),
              float(off_norms.min()), "> 0", "solution sketch"),
    ]
    hessians = np.array([hess_f(q) for q in line])
    expected = np.array([np.diag([2 * math.exp(q[1]), 0.0]) for q in line])
    eig = np.linalg.eigvalsh(hess_f(np.array([0.0, 0.7])))
    perturbed = np.array([float(f(np.array([s, t]))) for s, t in rng.uniform(-1, 1, (200, 2))])
    res.quantities["Hessian eigenvalues at (0, 0.7)"] = eig
    res.checks += [
        close("Hessian on x1 = 0 is diag(2 e^x2, 0)", hessians, expected, "solution sketch",
              rtol=1e-12, atol=1e-15),
        holds("Hessian on the line is singular (test inconclusive)",
              bool(np.all(np.abs(np.linalg.det(hessians)) < 1e-12)),
              float(np.abs(np.linalg.det(hessians)).max()), 0.0, "solution sketch"),
        holds("f >= 0 = f(0, x2) nearby: non-strict minima", bool(np.all(perturbed >= 0.0)),
              float(perturbed.min()), ">= 0", "solution sketch"),
    ]
    return res


@exercise(7, GROUP, "Jacobian of (x^2 + y^2, xy, sin(x + y)) at (1, 0)")
def ex07(fast: bool = False) -> Result:
    """Compute the Jacobian of F(x, y) = (x^2 + y^2, xy, sin(x + y)) and evaluate it at (1, 0).

    Closed form: J = [[2x, 2y], [y, x], [cos(x+y), cos(x+y)]], so J(1, 0) =
    [[2, 0], [0, 1], [cos 1, cos 1]]. Computed by ``jacobian(mode="auto")`` (2 inputs, 3
    outputs: forward mode, 2 passes), and by reverse mode and central differences.
    """
    def F(p):
        x, y = p[0], p[1]
        return cr.stack([x**2 + y**2, x * y, cr.sin(x + y)])

    p = np.array([1.0, 0.0])
    J, choice = functional.jacobian(F, mode="auto", explain=True)(p)
    c = math.cos(1.0)
    res = Result(7, "Jacobian of (x^2+y^2, xy, sin(x+y)) at (1, 0)")
    res.quantities.update({"J(1, 0)": J, "mode": choice.mode, "why": choice.reason})
    res.checks += [
        close("J(1, 0)", J, [[2, 0], [0, 1], [c, c]], "closed form", rtol=1e-14),
        close("J(1, 0) by reverse mode", functional.jacrev(F)(p), J, "jacrev", rtol=1e-14),
        close("J(1, 0)", J, numerical_jacobian(F, p)[0], "finite differences", rtol=1e-7,
              atol=1e-9),
        holds("auto picks forward mode (2 inputs < 3 outputs)", choice.mode == "forward",
              choice.mode, "forward", "pass count"),
    ]
    return res


@exercise(8, GROUP, "grad of (Bx)^T A (Bx) by the chain rule", stars=1)
def ex08(fast: bool = False) -> Result:
    """Derive the gradient of g(f(x)) with g(u) = u^T A u and f(x) = Bx.

    Chain rule: grad (g o f)(x) = J_f(x)^T grad g(f(x)) = B^T (A + A^T) B x, which is
    2 B^T A B x when A is symmetric. Verified for random A (symmetric and not), B (4x3) and x:
    autodiff of the composite, the chain rule done with autodiff pieces (the vjp of f applied
    to grad g), central differences, and the closed forms; for non-symmetric A the symmetric
    formula 2 B^T A B x is shown to be wrong.
    """
    rng = np.random.default_rng(8)
    m, n = 4, 3
    B, x = rng.standard_normal((m, n)), rng.standard_normal(n)
    M = rng.standard_normal((m, m))
    res = Result(8, "grad of (Bx)^T A (Bx)")
    res.quantities.update({"B": B, "x": x})
    for kind, A in (("symmetric", M + M.T), ("non-symmetric", M)):
        def g(u, A=A):
            return u @ (A @ u)

        def composite(x, A=A):
            return g(B @ x, A)

        auto = functional.grad(composite)(x)
        _, f_vjp = functional.vjp(lambda x: B @ x, x)
        chained = f_vjp(functional.grad(g)(B @ x))[0]
        general = B.T @ (A + A.T) @ B @ x
        res.quantities[f"A ({kind})"] = A
        res.quantities[f"grad ({kind})"] = auto
        res.checks += [
            close(f"{kind} A: autodiff = B^T (A + A^T) B x", auto, general, "solution sketch",
                  rtol=1e-12),
            close(f"{kind} A: J_f^T grad g(f(x)) by vjp", chained, auto, "autodiff pieces",
                  rtol=1e-12),
            close(f"{kind} A: autodiff", auto, _fd_gradient(composite, x), "finite differences",
                  rtol=1e-7),
        ]
        symmetric_formula = 2 * B.T @ A @ B @ x
        if kind == "symmetric":
            res.checks.append(close("symmetric A: = 2 B^T A B x", auto, symmetric_formula,
                                    "solution sketch", rtol=1e-12))
        else:
            gap = float(np.linalg.norm(symmetric_formula - auto) / np.linalg.norm(auto))
            res.quantities["relative error of 2 B^T A B x for non-symmetric A"] = gap
            res.checks.append(holds("non-symmetric A: 2 B^T A B x is wrong", gap > 1e-3, gap,
                                    "> 1e-3", "solution sketch"))
    return res


@exercise(9, GROUP, "grad of log(1 + e^{a^T x})")
def ex09(fast: bool = False) -> Result:
    """Compute the gradient of log(1 + exp(a^T x)) for a constant vector a.

    Chain rule with u = a^T x: d/du log(1 + e^u) = e^u/(1 + e^u) = sigma(u), and grad u = a,
    so the gradient is sigma(a^T x) a. Verified by autodiff of the literal formula
    (log1p(exp(a^T x))) and central differences; at a^T x = 800 the literal formula
    overflows (inf, and a NaN gradient) while the stable softplus primitive still gives
    sigma(800) a = a.
    """
    rng = np.random.default_rng(9)
    a, x = rng.standard_normal(5), rng.standard_normal(5)

    def naive(x):
        return cr.log1p(cr.exp(a @ x))

    auto = functional.grad(naive)(x)
    u = float(a @ x)
    sketch = a / (1 + math.exp(-u))
    res = Result(9, "grad of log(1 + e^{a^T x})")
    res.quantities.update({"a": a, "x": x, "a^T x": u, "gradient": auto})
    res.checks += [
        close("gradient = sigma(a^T x) a", auto, sketch, "solution sketch", rtol=1e-12),
        close("gradient", auto, _fd_gradient(naive, x), "finite differences", rtol=1e-7),
    ]
    far = x + (800.0 - u) * a / float(a @ a)  # a^T far = 800
    with np.errstate(over="ignore", invalid="ignore"):
        naive_far = functional.grad(naive)(far)
    stable_far = functional.grad(lambda x: cr.softplus(a @ x))(far)
    res.quantities.update({"naive gradient at a^T x = 800": naive_far,
                           "softplus gradient at a^T x = 800": stable_far})
    res.checks += [
        holds("literal formula overflows at a^T x = 800", bool(np.all(np.isnan(naive_far))),
              naive_far, "nan", "IEEE overflow"),
        close("softplus: gradient = sigma(800) a = a", stable_far, a, "closed form", rtol=1e-12),
    ]
    res.notes.append("log(1 + e^u) written literally overflows for u > ~709; "
                     "chainrule.softplus computes the same function stably.")
    return res


@exercise(10, GROUP, "Level sets of x^2 + 4y^2 are ellipses; the gradient is normal to them")
def ex10(fast: bool = False) -> Result:
    """Show the level sets of f = x^2 + 4y^2 are ellipses and grad f(1, 1) is normal to the
    one through (1, 1).

    Derivation: f = c > 0 is x^2/c + y^2/(c/4) = 1, an ellipse with semi-axes sqrt(c) and
    sqrt(c)/2 (a point for c = 0, empty for c < 0). Through (1, 1) c = 5; parametrise it as
    gamma(t) = (sqrt5 cos t, (sqrt5/2) sin t). Since f(gamma(t)) = 5 for all t,
    0 = d/dt f(gamma(t)) = grad f(gamma(t)) . gamma'(t): the gradient is perpendicular to the
    tangent everywhere on the ellipse. At (1, 1): grad f = (2, 8), gamma' = (-2, 1/2),
    dot product 0.

    Verification: the Hessian (autodiff) is the constant diag(2, 8), whose eigenvalues give
    the semi-axes sqrt(2c/lambda); f is constant on gamma; the tangent gamma'(t0) comes from
    forward mode (``jvp``) and is orthogonal to the autodiff gradient at (1, 1), and
    d/dt f(gamma(t)) (jvp of the composite) vanishes at sampled t.
    """
    def f(p):
        return p[0] ** 2 + 4.0 * p[1] ** 2

    c = 5.0
    r = math.sqrt(c)

    def gamma(t):
        return cr.stack([r * cr.cos(t), r / 2 * cr.sin(t)])

    t0 = math.atan2(2.0 / r, 1.0 / r)  # gamma(t0) = (1, 1)
    point = np.asarray(gamma(np.float64(t0)))
    grad = functional.grad(f)(point)
    _, tangent = functional.jvp(gamma, (np.float64(t0),), (np.float64(1.0),))
    H = functional.hessian(f)(point)
    lam = np.linalg.eigvalsh(H)
    ts = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    on_curve = np.array([float(f(np.asarray(gamma(t)))) for t in ts])
    rates = np.array([functional.jvp(lambda t: f(gamma(t)), (t,), (1.0,))[1] for t in ts])
    res = Result(10, "Level sets of x^2 + 4y^2; gradient normal at (1, 1)")
    res.quantities.update({"gamma(t0)": point, "grad f(1, 1)": grad, "tangent gamma'(t0)":
                           tangent, "grad . tangent": float(grad @ tangent), "Hessian": H,
                           "semi-axes for c = 5": np.sqrt(2 * c / lam)})
    res.checks += [
        close("gamma(t0) = (1, 1)", point, [1.0, 1.0], "closed form", rtol=1e-14),
        close("grad f(1, 1) = (2x, 8y)", grad, [2.0, 8.0], "closed form", rtol=1e-14),
        close("tangent at (1, 1)", tangent, [-2.0, 0.5], "closed form", rtol=1e-14),
        close("grad f . tangent = 0 at (1, 1)", float(grad @ tangent), 0.0, "statement",
              atol=1e-12),
        close("Hessian = diag(2, 8) (constant: a quadratic form)", H, np.diag([2.0, 8.0]),
              "closed form", rtol=1e-14),
        close("semi-axes sqrt(c), sqrt(c)/2", np.sqrt(2 * c / lam), [r, r / 2],
              "closed form", rtol=1e-14),
        close("f(gamma(t)) = 5 on the whole ellipse", on_curve, np.full_like(ts, c),
              "statement", rtol=1e-13),
        close("d/dt f(gamma(t)) = grad f . gamma'(t) = 0 along the ellipse", rates,
              np.zeros_like(ts), "statement", atol=1e-12),
    ]
    return res


@exercise(11, GROUP, "Chain rule J_{F o F} = J_F(F) J_F at (pi/4, pi/3)", stars=2)
def ex11(fast: bool = False) -> Result:
    """Verify J_{F o F}(p) = J_F(F(p)) J_F(p) for F(x, y) = (sin x cos y, cos x sin y) at
    p = (pi/4, pi/3).

    Method: the left side is the autodiff Jacobian of the composite; the right side the
    product of two autodiff Jacobians, each checked against the closed form
    J_F = [[cos x cos y, -sin x sin y], [-sin x sin y, cos x cos y]]. A central-difference
    Jacobian of F o F is a third reference. SymPy is not a dependency of chainrule: when it
    is installed, the symbolic identity is simplified to zero and the symbolic Jacobian
    evaluated at p; otherwise that check is skipped.
    """
    def F(p):
        x, y = p[0], p[1]
        return cr.stack([cr.sin(x) * cr.cos(y), cr.cos(x) * cr.sin(y)])

    def closed(p):
        x, y = p
        return np.array([[math.cos(x) * math.cos(y), -math.sin(x) * math.sin(y)],
                         [-math.sin(x) * math.sin(y), math.cos(x) * math.cos(y)]])

    p = np.array([math.pi / 4, math.pi / 3])
    jac = functional.jacobian(F)
    q = np.asarray(F(p))
    lhs = functional.jacobian(lambda p: F(F(p)))(p)
    rhs = jac(q) @ jac(p)
    res = Result(11, "Chain rule for F o F at (pi/4, pi/3)")
    res.quantities.update({"p": p, "F(p)": q, "J_{F o F}(p)": lhs, "J_F(F(p)) J_F(p)": rhs})
    res.checks += [
        close("J_{F o F}(p) = J_F(F(p)) J_F(p)", lhs, rhs, "autodiff product", rtol=1e-14,
              atol=1e-15),
        close("J_F(p)", jac(p), closed(p), "closed form", rtol=1e-14),
        close("J_F(F(p))", jac(q), closed(q), "closed form", rtol=1e-14),
        close("J_{F o F}(p)", lhs, numerical_jacobian(lambda p: F(F(p)), p)[0],
              "finite differences", rtol=1e-7),
    ]
    if importlib.util.find_spec("sympy") is None:
        res.checks.append(skipped("symbolic chain rule (SymPy)", "SymPy is not installed "
                                  "(it is not a chainrule dependency)", source="SymPy"))
        return res
    res.notes.append("SymPy is not a chainrule dependency; it is installed here, so the "
                     "symbolic check ran.")
    symbolic_zero, symbolic_lhs = _sympy_chain_rule()
    res.checks += [
        holds("J_{F o F} - J_F(F) J_F simplifies to 0", symbolic_zero, symbolic_zero, True,
              "SymPy"),
        close("J_{F o F}(p)", lhs, symbolic_lhs, "SymPy", rtol=1e-14),
    ]
    return res


def _sympy_chain_rule() -> tuple[bool, np.ndarray]:
    """(whether J_{FoF} - J_F(F) J_F simplifies to zero, J_{FoF}(pi/4, pi/3)), by SymPy."""
    import sympy as sp

    x, y = sp.symbols("x y")
    F = sp.Matrix([sp.sin(x) * sp.cos(y), sp.cos(x) * sp.sin(y)])
    J = F.jacobian([x, y])
    at_F = {x: F[0], y: F[1]}
    composite = F.subs(at_F, simultaneous=True).jacobian([x, y])
    product = J.subs(at_F, simultaneous=True) * J
    zero = sp.simplify(composite - product) == sp.zeros(2, 2)
    value = composite.subs({x: sp.pi / 4, y: sp.pi / 3}).evalf(30)
    return bool(zero), np.array(value.tolist(), dtype=np.float64)
