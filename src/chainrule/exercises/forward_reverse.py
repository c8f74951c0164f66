"""Exercises 17-19: forward versus reverse mode.

Exercise 17 differentiates sin(sin(sin x)) with dual numbers (``Dual``, forward) and the
scalar graph (``Value``, reverse); 18 and 19 build full Jacobians of wide and tall maps with
``jacobian(mode="auto")`` and time forward against reverse mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.dual import Dual
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds
from chainrule.scalar import Value

GROUP = "Forward vs reverse mode"


def _sin3(x):
    """F(x) = sin(sin(sin x)) for a ``Dual`` or a ``Value`` (both have ``.sin()``)."""
    return x.sin().sin().sin()


@exercise(17, GROUP, "d/dx sin(sin(sin x)) by forward and by reverse mode", stars=1)
def ex17(fast: bool = False) -> Result:
    """Differentiate F(x) = sin(sin(sin x)) with forward mode (a tangent) and reverse mode (an
    adjoint) and show that both agree.

    Forward: with s1 = sin x, s2 = sin s1, s3 = sin s2, the tangents are t1 = cos(x),
    t2 = cos(s1) t1, t3 = cos(s2) t2 (``Dual`` seeded with tangent 1). Reverse: the adjoints are
    bar s3 = 1, bar s2 = cos(s2), bar s1 = cos(s1) bar s2, bar x = cos(x) bar s1 (``Value``
    backward). Both are the product cos(s2) cos(s1) cos(x), multiplied in opposite orders;
    they are compared with each other, the closed form and central differences at five
    points, and the intermediate tangents and adjoints are listed at x = 1.
    """
    xs = [-2.0, -0.5, 0.3, 1.0, 2.5]
    forward = [_sin3(Dual(x, 1.0)).tangent for x in xs]
    reverse = []
    for x in xs:
        v = Value(x)
        _sin3(v).backward()
        reverse.append(v.grad)
    closed = [math.cos(math.sin(math.sin(x))) * math.cos(math.sin(x)) * math.cos(x) for x in xs]
    h = 1e-6
    fd = [(math.sin(math.sin(math.sin(x + h))) - math.sin(math.sin(math.sin(x - h)))) / (2 * h)
          for x in xs]
    res = Result(17, "sin(sin(sin x)): forward and reverse mode")
    res.quantities.update({"x": xs, "F'(x) forward (Dual)": forward,
                           "F'(x) reverse (Value)": reverse})
    res.quantities.update(_trace_at(1.0))
    res.checks += [
        close("forward = reverse", forward, reverse, "reverse mode", rtol=1e-15),
        close("forward mode", forward, closed, "closed form", rtol=1e-14),
        close("reverse mode", reverse, closed, "closed form", rtol=1e-14),
        close("F'(x)", forward, fd, "finite differences", rtol=1e-8),
    ]
    return res


def _trace_at(x: float) -> dict[str, list[float]]:
    """Intermediate tangents (forward) and adjoints (reverse) of sin(sin(sin x)) at x."""
    d = [Dual(x, 1.0)]
    for _ in range(3):
        d.append(d[-1].sin())
    v = [Value(x)]
    for _ in range(3):
        v.append(v[-1].sin())
    v[-1].backward()
    return {"tangents x, s1, s2, s3 at x = 1 (forward)": [n.tangent for n in d],
            "adjoints x, s1, s2, s3 at x = 1 (reverse)": [n.grad for n in v]}


class _Counted:
    """A function that counts its evaluations (each Jacobian pass evaluates or replays f)."""

    def __init__(self, f: Callable) -> None:
        self.f, self.calls = f, 0

    def __call__(self, x):
        self.calls += 1
        return self.f(x)


def _best_time(run: Callable[..., object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def _compare_modes(number: int, title: str, f: Callable, x: np.ndarray, closed: np.ndarray,
                   expected_mode: str, fast: bool) -> Result:
    """Jacobian of f at x by auto, forward and reverse mode: values, passes, evaluations, time."""
    auto, choice = functional.jacobian(f, mode="auto", explain=True)(x)
    res = Result(number, title)
    n, m = x.size, closed.shape[0]
    timings, passes, evaluations = {}, {}, {}
    for mode in ("forward", "reverse"):
        counted = _Counted(f)
        jac, used = functional.jacobian(counted, mode=mode, explain=True)(x)
        evaluations[mode], passes[mode] = counted.calls, used.passes
        res.checks.append(close(f"{mode}-mode Jacobian", jac, closed, "closed form",
                                rtol=1e-12, atol=1e-15))
        timings[mode] = _best_time(lambda mode=mode: functional.jacobian(f, mode=mode)(x),
                                   1 if fast else 3)
    slow, quick = ("forward", "reverse") if expected_mode == "reverse" else ("reverse", "forward")
    ratio = timings[slow] / timings[quick]
    res.quantities.update({
        "n inputs, m outputs": (n, m), "auto mode": choice.mode, "why": choice.reason,
        "passes (forward, reverse)": (passes["forward"], passes["reverse"]),
        "evaluations of f (forward, reverse)": (evaluations["forward"], evaluations["reverse"]),
        "seconds (forward, reverse)": (timings["forward"], timings["reverse"]),
        f"measured time ratio {slow}/{quick}": ratio,
        "ms per pass (forward, reverse)": (1e3 * timings["forward"] / passes["forward"],
                                           1e3 * timings["reverse"] / passes["reverse"]),
    })
    res.checks += [
        close("auto-mode Jacobian", auto, closed, "closed form", rtol=1e-12, atol=1e-15),
        holds(f"auto picks {expected_mode} mode", choice.mode == expected_mode, choice.mode,
              expected_mode, "solution sketch"),
        close("passes: forward one per input, reverse one per output",
              [passes["forward"], passes["reverse"]], [n, m], "solution sketch", rtol=0.0),
        holds("forward mode evaluates f once per input (n times)", evaluations["forward"] >= n,
              evaluations["forward"], f">= {n}", "call count"),
        holds("reverse mode records f once", evaluations["reverse"] == 1,
              evaluations["reverse"], 1, "call count"),
    ]
    res.notes.append(
        f"Pass counts give {slow}/{quick} = {max(n, m) / min(n, m):.0f}x (the sketch's ~500x); "
        f"measured {ratio:.0f}x (reported, not checked: a loaded machine can distort any "
        "timing; the checks are the pass and evaluation counts). A pass is not a fixed cost: "
        "each one here is mostly Python and dispatch overhead around small NumPy calls, and a "
        "reverse pass (replaying the recorded graph) costs a different multiple of f than a "
        "forward pass (a jvp), so the time ratio tracks the pass ratio only roughly.")
    return res


@exercise(18, GROUP, "Full Jacobian of F: R^1000 -> R^2: which mode, how much cheaper?")
def ex18(fast: bool = False) -> Result:
    """Decide which mode builds the Jacobian of a smooth F: R^1000 -> R^2 more cheaply, and
    estimate the speed-up.

    Reverse mode gives one Jacobian row per backward pass (2 passes), forward mode one
    column per forward pass (1000 passes): about 500x fewer passes for reverse. Measured with
    F(x) = tanh(W x), W a fixed random 2x1000 matrix (J = diag(1 - tanh^2(Wx)) W), by
    ``jacobian(mode="auto")`` and by forcing each mode, timing the best of 3 (1 with
    ``fast``) and counting the evaluations of F each mode makes.
    """
    rng = np.random.default_rng(18)
    W = rng.standard_normal((2, 1000)) / math.sqrt(1000)
    x = rng.standard_normal(1000)
    closed = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    return _compare_modes(18, "R^1000 -> R^2: reverse mode wins", lambda x: cr.tanh(W @ x), x,
                          closed, "reverse", fast)


@exercise(19, GROUP, "Full Jacobian of F: R^2 -> R^1000: which mode, how much cheaper?")
def ex19(fast: bool = False) -> Result:
    """Decide which mode builds the Jacobian of a smooth F: R^2 -> R^1000 more cheaply.

    Now forward mode needs 2 passes (one per input) and reverse mode 1000 (one per output).
    Measured with F(x) = sin(V x), V a fixed random 1000x2 matrix (J = diag(cos(Vx)) V), as in
    exercise 18.
    """
    rng = np.random.default_rng(19)
    V = rng.standard_normal((1000, 2))
    x = rng.standard_normal(2)
    closed = np.cos(V @ x)[:, None] * V
    return _compare_modes(19, "R^2 -> R^1000: forward mode wins", lambda x: cr.sin(V @ x), x,
                          closed, "forward", fast)
