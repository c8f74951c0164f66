"""Exercises 17-19: forward versus reverse mode.

Exercise 17 differentiates sin(sin(sin x)) with dual numbers (``Dual``, forward) and the
scalar graph (``Value``, reverse); 18 and 19 build full Jacobians of wide and tall maps with
``jacobian(mode="auto")`` and time forward against reverse mode, each with one Python-level
pass per basis vector (looped) and with all of them as one ``vmap`` pass (batched).
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


def _looped_jacobian(f: Callable, x: np.ndarray, mode: str) -> np.ndarray:
    """The Jacobian without batching: one ``jvp`` call per input (forward) or one ``vjp_fn``
    call per output over one recording (reverse), each a separate Python-level pass."""
    if mode == "forward":
        columns = [functional.jvp(f, (x,), (e,))[1] for e in np.eye(x.size)]
        return np.stack(columns, axis=-1)
    out, vjp_fn = functional.vjp(f, x)
    return np.stack([vjp_fn(e)[0] for e in np.eye(np.size(out))])


def _compare_modes(number: int, title: str, f: Callable, x: np.ndarray, closed: np.ndarray,
                   expected_mode: str, fast: bool) -> Result:
    """Jacobian of f at x by auto, forward and reverse mode, each looped (one Python-level
    pass per basis vector) and batched (``jacobian``: all passes as one vmapped pass):
    values, passes, evaluations of f, times."""
    auto, choice = functional.jacobian(f, mode="auto", explain=True)(x)
    res = Result(number, title)
    n, m = x.size, closed.shape[0]
    repeats = 1 if fast else 3
    timings: dict[str, tuple] = {}
    evaluations: dict[str, tuple] = {}
    passes = {}
    for how in ("looped", "batched"):
        times, counts = [], []
        for mode in ("forward", "reverse"):
            counted = _Counted(f)
            if how == "looped":
                jac = _looped_jacobian(counted, x, mode)
                run = (lambda mode=mode: _looped_jacobian(f, x, mode))
            else:
                jac, used = functional.jacobian(counted, mode=mode, explain=True)(x)
                passes[mode] = used.passes
                run = (lambda mode=mode: functional.jacobian(f, mode=mode)(x))
            counts.append(counted.calls)
            res.checks.append(close(f"{mode}-mode Jacobian ({how})", jac, closed,
                                    "closed form", rtol=1e-12, atol=1e-15))
            times.append(_best_time(run, repeats))
        timings[how], evaluations[how] = tuple(times), tuple(counts)
    slow, quick = ("forward", "reverse") if expected_mode == "reverse" else ("reverse", "forward")
    k = 0 if slow == "forward" else 1
    res.quantities.update({
        "n inputs, m outputs": (n, m), "auto mode": choice.mode, "why": choice.reason,
        "passes (forward, reverse)": (passes["forward"], passes["reverse"]),
        "evaluations of f looped (forward, reverse)": evaluations["looped"],
        "evaluations of f batched (forward, reverse)": evaluations["batched"],
        "seconds looped (forward, reverse)": timings["looped"],
        "seconds batched (forward, reverse)": timings["batched"],
        f"time ratio {slow}/{quick} (looped, batched)": (
            timings["looped"][k] / timings["looped"][1 - k],
            timings["batched"][k] / timings["batched"][1 - k]),
        f"{slow} mode: looped/batched time": timings["looped"][k] / timings["batched"][k],
    })
    res.checks += [
        close("auto-mode Jacobian", auto, closed, "closed form", rtol=1e-12, atol=1e-15),
        holds(f"auto picks {expected_mode} mode", choice.mode == expected_mode, choice.mode,
              expected_mode, "solution sketch"),
        close("passes: forward one per input, reverse one per output",
              [passes["forward"], passes["reverse"]], [n, m], "solution sketch", rtol=0.0),
        holds("looped forward mode evaluates f once per input (n times)",
              evaluations["looped"][0] == n, evaluations["looped"][0], n, "call count"),
        holds("batched forward mode evaluates f once (n > 2 passes as one vmapped pass; one "
              "or two run as they are)", evaluations["batched"][0] == (1 if n > 2 else n),
              evaluations["batched"][0], 1 if n > 2 else n, "call count"),
        holds("reverse mode records f once (looped and batched)",
              evaluations["looped"][1] == evaluations["batched"][1] == 1,
              evaluations["looped"][1], 1, "call count"),
    ]
    res.notes.append(
        f"Pass counts give {slow}/{quick} = {max(n, m) / min(n, m):.0f}x (the sketch's ~500x). "
        "Looped, each pass is a Python-level jvp or vjp call, mostly dispatch overhead around "
        "small NumPy calls, so the time ratio tracks the pass ratio roughly. Batched "
        "(chainrule.vmap, as jacobian does it), the passes are one pass on arrays with a "
        f"batch axis of {max(n, m)}: the wrong mode then costs a few large NumPy calls instead "
        "of many small ones, and the gap between the modes mostly closes (see the measured "
        "ratios; no timing is asserted, the machine may be loaded).")
    return res


@exercise(18, GROUP, "Full Jacobian of F: R^1000 -> R^2: which mode, how much cheaper?")
def ex18(fast: bool = False) -> Result:
    """Decide which mode builds the Jacobian of a smooth F: R^1000 -> R^2 more cheaply, and
    estimate the speed-up.

    Reverse mode gives one Jacobian row per backward pass (2 passes), forward mode one
    column per forward pass (1000 passes): about 500x fewer passes for reverse. Measured with
    F(x) = tanh(W x), W a fixed random 2x1000 matrix (J = diag(1 - tanh^2(Wx)) W), by
    ``jacobian(mode="auto")`` and by forcing each mode, looped (a jvp or vjp call per pass)
    and batched (all passes as one vmapped pass), timing the best of 3 (1 with ``fast``)
    and counting the evaluations of F each makes.
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
