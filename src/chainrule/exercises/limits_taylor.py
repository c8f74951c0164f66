"""Exercises 1-5: limits, derivatives and Taylor's theorem, worked with chainrule.

Every derivative here comes from autodiff (``chainrule.functional``); the limit
definition, Taylor polynomials and Lagrange bounds are then checked against it and
against the solution sketches.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds

GROUP = "Limits, derivatives, and Taylor"


def derivative(f: Callable, order: int = 1) -> Callable[[np.ndarray | float], np.ndarray]:
    """The ``order``-th derivative of an elementwise function ``f``, by reverse mode.

    For elementwise f the Jacobian is diagonal, so the gradient of ``sum(f(x))`` is
    ``f'(x)`` at every entry at once; nesting the transform gives higher orders.
    """
    d = f
    for _ in range(order):
        d = functional.grad(lambda x, d=d: cr.sum(d(x)))
    return lambda x: np.asarray(d(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def _polynomial(coefficients: np.ndarray, h: float) -> float:
    return float(sum(c * h**k for k, c in enumerate(coefficients)))


@exercise(1, GROUP, "f'(x) from the limit definition for 1/x, sqrt(x), exp(2x)")
def ex01(fast: bool = False) -> Result:
    """Compute f'(x) from the limit definition for f = 1/x, sqrt(x) and exp(2x).

    Method: the forward difference quotient q(h) = (f(x+h) - f(x))/h is evaluated at
    x = 1.5 for h = 1e-1 ... 1e-6. It agrees with the sketch's simplified quotients
    (-1/(x(x+h)), 1/(sqrt(x+h)+sqrt(x)), e^{2x}(e^{2h}-1)/h), tends to the autodiff
    derivative, which equals the sketch's limits -1/x^2, 1/(2 sqrt x), 2e^{2x}; and the
    error shrinks like h f''(x)/2 (f'' also by autodiff).
    """
    x = 1.5
    hs = 10.0 ** -np.arange(1, 7)
    cases: dict[str, tuple[Callable, Callable[[np.ndarray], np.ndarray], float]] = {
        "1/x": (lambda t: 1.0 / t, lambda h: -1.0 / (x * (x + h)), -1.0 / x**2),
        "sqrt(x)": (cr.sqrt, lambda h: 1.0 / (np.sqrt(x + h) + np.sqrt(x)), 0.5 / math.sqrt(x)),
        "exp(2x)": (lambda t: cr.exp(2.0 * t), lambda h: np.exp(2 * x) * np.expm1(2 * h) / h,
                    2.0 * math.exp(2 * x)),
    }
    res = Result(1, "f'(x) from the limit definition")
    res.quantities["x"] = x
    res.quantities["h"] = hs
    for name, (f, simplified, limit) in cases.items():
        fx = float(f(np.float64(x)))
        quotients = np.array([(float(f(np.float64(x + h))) - fx) / h for h in hs])
        d1 = float(derivative(f)(x))
        d2 = float(derivative(f, 2)(x))
        errors = np.abs(quotients - d1)
        res.quantities[f"quotients {name}"] = quotients
        res.quantities[f"autodiff f'(x) {name}"] = d1
        res.quantities[f"|q(h) - f'(x)| {name}"] = errors
        res.checks += [
            close(f"{name}: difference quotients = sketch's simplified quotient", quotients,
                  simplified(hs), "solution sketch", rtol=1e-7),
            close(f"{name}: autodiff f'(x) = sketch's limit", d1, limit, "solution sketch",
                  rtol=1e-12),
            close(f"{name}: q(1e-6) -> f'(x)", float(quotients[-1]), d1, "autodiff", rtol=1e-5),
            close(f"{name}: error / h at h=1e-4 ~ f''(x)/2", float(errors[3] / hs[3]), abs(d2) / 2,
                  "autodiff f''", rtol=1e-3),
        ]
    res.notes.append("The forward quotient's error is first order in h (error/h -> |f''|/2); "
                     "below h ~ 1e-8 round-off would take over (see exercise 30).")
    return res


@exercise(2, GROUP, "x^2 sin(1/x): differentiable everywhere, f' not continuous at 0")
def ex02(fast: bool = False) -> Result:
    """Show that f(x) = x^2 sin(1/x) (f(0) = 0) is differentiable everywhere but f' jumps at 0.

    Derivation: for x != 0, f is a product and composition of differentiable functions, so
    f'(x) = 2x sin(1/x) - cos(1/x). At 0, the difference quotient is
    (f(h) - f(0))/h = h sin(1/h), and |h sin(1/h)| <= |h| -> 0, so f'(0) = 0. But
    f'(1/(2 pi k)) = -1 and f'(1/((2k+1) pi)) = +1 for every k, points arbitrarily close to
    0, so f'(x) has no limit as x -> 0 and f' is not continuous there.

    Verification: the quotients h sin(1/h) for h = 1e-1 ... 1e-8 obey |q| <= h; f' from
    autodiff matches the formula, equals -1 / +1 on those two sequences down to x ~ 1e-7,
    and on random samples in (0, delta) it still reaches both near +1 and near -1 for
    delta = 1e-2, 1e-4, 1e-6.
    """
    def f(x):
        return x**2 * cr.sin(1.0 / x)

    def closed(x):
        return 2 * x * np.sin(1 / x) - np.cos(1 / x)

    df = derivative(f)
    res = Result(2, "x^2 sin(1/x): f'(0) = 0, f' oscillates near 0")
    hs = 10.0 ** -np.arange(1, 9)
    quotients = np.array([float(f(np.float64(h))) / h for h in hs])  # (f(h) - f(0)) / h
    res.quantities["h"] = hs
    res.quantities["(f(h) - f(0))/h"] = quotients
    res.checks.append(holds("|(f(h) - f(0))/h| <= h (squeeze: the quotient -> 0 = f'(0))",
                            bool(np.all(np.abs(quotients) <= hs)), np.abs(quotients), hs,
                            "bound |sin| <= 1"))

    k = 10.0 ** np.arange(0, 7)
    minus_points = 1 / (2 * np.pi * k)
    plus_points = 1 / ((2 * k + 1) * np.pi)
    at_minus, at_plus = df(minus_points), df(plus_points)
    res.quantities["x = 1/(2 pi k), k = 1 .. 1e6"] = minus_points
    res.quantities["f'(1/(2 pi k))"] = at_minus
    res.quantities["f'(1/((2k+1) pi))"] = at_plus
    res.checks += [
        close("f' by autodiff = 2x sin(1/x) - cos(1/x) at x = 1/(2 pi k)", at_minus,
              closed(minus_points), "closed form", rtol=1e-9),
        close("f'(1/(2 pi k)) = -1", at_minus, -np.ones_like(k), "closed form", atol=1e-6),
        close("f'(1/((2k+1) pi)) = +1", at_plus, np.ones_like(k), "closed form", atol=1e-6),
    ]
    rng = np.random.default_rng(0)
    for delta in (1e-2, 1e-4, 1e-6):
        xs = rng.uniform(0, delta, 20000 if not fast else 5000)
        values = df(xs)
        res.quantities[f"range of f' on (0, {delta:g})"] = (float(values.min()),
                                                            float(values.max()))
        res.checks += [
            close(f"f' by autodiff = formula on (0, {delta:g})", values, closed(xs),
                  "closed form", rtol=1e-8, atol=1e-12),
            holds(f"f' takes values near -1 and +1 on (0, {delta:g})",
                  values.max() > 0.99 and values.min() < -0.99,
                  (float(values.min()), float(values.max())), "(< -0.99, > 0.99)",
                  "no limit at 0"),
        ]
    res.notes.append("Autodiff differentiates the program x**2 * sin(1/x), which cannot be "
                     "evaluated at 0 (1/0); f'(0) = 0 comes from the limit of the quotient.")
    return res


@exercise(3, GROUP, "sqrt(1.1) by Taylor's theorem, with a Lagrange error bound")
def ex03(fast: bool = False) -> Result:
    """Approximate sqrt(1.1) to three decimals by the second-order Taylor polynomial at 1, and
    bound the error with the Lagrange remainder.

    Method: the Taylor coefficients f^(k)(1)/k! of f = sqrt come from nested forward-mode
    autodiff (``functional.taylor``): 1, 1/2, -1/8, 1/16. p2(0.1) = 1 + 0.05 - 0.00125.
    The remainder is R2 = f'''(xi) h^3 / 3! for some xi in (1, 1.1); f''' (by autodiff, on the
    interval) is largest at xi = 1, where it is 3/8, so |R2| <= 3/8 * 0.1^3 / 6.
    """
    coefficients = functional.taylor(cr.sqrt, 1.0, 3)
    h = 0.1
    p2 = _polynomial(coefficients[:3], h)
    true = math.sqrt(1.1)
    error = abs(true - p2)
    xi = np.linspace(1.0, 1.1, 101)
    third = derivative(cr.sqrt, 3)(xi)
    bound = float(np.max(np.abs(third))) * h**3 / math.factorial(3)
    res = Result(3, "sqrt(1.1) by Taylor with Lagrange bound")
    res.quantities.update({
        "Taylor coefficients of sqrt at 1 (k = 0..3)": coefficients,
        "p2(0.1)": p2, "sqrt(1.1)": true, "actual error": error,
        "max |f'''| on [1, 1.1]": float(np.max(np.abs(third))),
        "Lagrange bound": bound,
    })
    res.checks += [
        close("Taylor coefficients 1, 1/2, -1/8, 1/16", coefficients,
              [1.0, 0.5, -0.125, 0.0625], "closed form (binomial series)", rtol=1e-12),
        close("second-order approximation", p2, 1.04875, "solution sketch", rtol=1e-12),
        holds("three decimal places correct", round(p2, 3) == round(true, 3), round(p2, 3),
              round(true, 3), "math.sqrt"),
        close("max |f'''| on [1, 1.1] is f'''(1) = 3/8", float(np.max(np.abs(third))), 0.375,
              "solution sketch", rtol=1e-12),
        close("Lagrange bound", bound, 6.25e-5, "solution sketch", rtol=1e-12),
        holds("actual error <= Lagrange bound", error <= bound, error, bound, "Taylor's theorem"),
        close("actual error ~ 6e-5", error, 6e-5, "solution sketch (one significant digit)",
              atol=5e-6),
        close("true value 1.04881...", true, 1.04881, "solution sketch (rounded)", atol=5e-6),
    ]
    res.notes.append(f"The sketch's 'true value 1.04881...' is rounded, not truncated: "
                     f"sqrt(1.1) = {true:.9f}. Actual error {error:.4e} vs bound {bound:.4e}: "
                     "the bound is the size of the next term (0.1^3/16); the term after it is "
                     "negative, so the true error is a little smaller.")
    return res


@exercise(4, GROUP, "Second-order Taylor expansion of log(1+x); estimate log(1.05)")
def ex04(fast: bool = False) -> Result:
    """State the second-order Taylor expansion of log(1+x) at 0 and use it for log(1.05).

    Method: the coefficients f^(k)(0)/k! of f = log(1+x) come from ``functional.taylor``:
    log(1+x) = x - x^2/2 + R2 with R2 = f'''(xi) x^3/6 = 2 x^3 / (6 (1+xi)^3), so
    |R2| <= x^3/3 for x > 0. At x = 0.05: 0.05 - 0.00125 = 0.04875, |R2| <= 4.17e-5.
    """
    coefficients = functional.taylor(cr.log1p, 0.0, 3)
    x = 0.05
    p2 = _polynomial(coefficients[:3], x)
    true = math.log(1.05)
    third = derivative(cr.log1p, 3)(np.linspace(0.0, x, 101))
    bound = float(np.max(np.abs(third))) * x**3 / 6
    res = Result(4, "log(1+x) to second order; log(1.05)")
    res.quantities.update({
        "Taylor coefficients of log(1+x) at 0 (k = 0..3)": coefficients,
        "expansion": "log(1+x) = x - x^2/2 + O(x^3)",
        "p2(0.05)": p2, "log(1.05)": true, "actual error": abs(true - p2),
        "Lagrange bound": bound,
    })
    res.checks += [
        close("coefficients 0, 1, -1/2, 1/3", coefficients, [0.0, 1.0, -0.5, 1 / 3],
              "closed form ((-1)^(k+1)/k)", rtol=1e-12),
        close("estimate 0.05 - 0.05^2/2", p2, 0.04875, "closed form", rtol=1e-12),
        close("estimate ~ log(1.05)", p2, true, "math.log", atol=5e-5),
        holds("actual error <= Lagrange bound 2 x^3/6", abs(true - p2) <= bound,
              abs(true - p2), bound, "Taylor's theorem"),
        close("max |f'''| on [0, 0.05] is f'''(0) = 2", float(np.max(np.abs(third))), 2.0,
              "closed form", rtol=1e-12),
    ]
    return res


@exercise(5, GROUP, "|f'| <= M implies the Lipschitz bound |f(x) - f(y)| <= M|x - y|")
def ex05(fast: bool = False) -> Result:
    """Prove that |f'| <= M on (a, b) implies |f(x) - f(y)| <= M |x - y| there.

    Derivation: for x < y in (a, b), f is continuous on [x, y] and differentiable inside, so
    by the mean value theorem f(y) - f(x) = f'(xi)(y - x) for some xi in (x, y); hence
    |f(y) - f(x)| = |f'(xi)| |y - x| <= M |y - x|.

    Verification with f(x) = sin(3x) + x^2/4 on (-1.5, 1.5): f'(x) = 3cos(3x) + x/2, so
    |f'| <= 3 + 0.75 = M = 3.75. f' by autodiff (checked against the formula) stays below M on a
    fine grid; every one of the sampled pairs (half of them random, half within 1e-3 of each
    other) satisfies the bound, and pairs (x*, x*+d) at the maximum x* of |f'| make the ratio
    |f(x) - f(y)|/|x - y| approach sup |f'| as d -> 0 (the bound by sup |f'| is tight).
    """
    def f(x):
        return cr.sin(3.0 * x) + x**2 / 4.0

    a, b, bound_m = -1.5, 1.5, 3.75
    grid = np.linspace(a, b, 20001)[1:-1]
    slope = derivative(f)(grid)
    sup = float(np.max(np.abs(slope)))
    rng = np.random.default_rng(0)
    n = 1000 if fast else 5000
    x = rng.uniform(a, b, n)
    y = np.where(np.arange(n) % 2 == 0, rng.uniform(a, b, n),
                 np.clip(x + rng.uniform(-1e-3, 1e-3, n), a + 1e-9, b - 1e-9))
    fx, fy = np.asarray(f(x)), np.asarray(f(y))
    ratio = np.abs(fx - fy) / np.abs(x - y)
    x_star = float(grid[np.argmax(np.abs(slope))])  # where |f'| peaks
    steps = 10.0 ** -np.arange(1, 6)
    near = np.abs(np.asarray(f(x_star + steps)) - float(f(np.float64(x_star)))) / steps
    res = Result(5, "Lipschitz bound from |f'| <= M")
    res.quantities.update({"f": "sin(3x) + x^2/4 on (-1.5, 1.5)", "M": bound_m,
                           "sup |f'| on the grid (autodiff)": sup,
                           "pairs": n, "max |f(x)-f(y)|/|x-y| over pairs": float(ratio.max()),
                           "argmax |f'|": x_star,
                           "|f(x*+d) - f(x*)|/d, d = 1e-1..1e-5": near})
    res.checks += [
        close("f' by autodiff = 3cos(3x) + x/2", slope, 3 * np.cos(3 * grid) + grid / 2,
              "closed form", rtol=1e-12, atol=1e-14),
        holds("|f'| <= M on the grid", sup <= bound_m, sup, bound_m, "M = 3 + 0.75"),
        holds("|f(x) - f(y)| <= M |x - y| for every sampled pair",
              bool(np.all(np.abs(fx - fy) <= bound_m * np.abs(x - y))), float(ratio.max()),
              bound_m, "statement"),
        holds("|f(x) - f(y)| <= sup|f'| |x - y| for every sampled pair",
              bool(np.all(ratio <= sup * (1 + 1e-6))), float(ratio.max()), sup,
              "mean value theorem"),
        holds("pairs (x*, x*+d) obey the bound too", bool(np.all(near <= bound_m)),
              near, bound_m, "statement"),
        close("pairs (x*, x*+d) reach sup |f'| as d -> 0 (the bound is tight)",
              float(near[-1]), sup, "autodiff sup", rtol=1e-4),
    ]
    return res
