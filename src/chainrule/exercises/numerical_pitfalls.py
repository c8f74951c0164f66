"""Exercises 30-32: numerical pitfalls (finite differences, softmax overflow, silent zero
gradients)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import functional, nn, optim
from chainrule.diagnose import NoGradReport, why_no_grad
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds, skipped, torch_or_skip
from chainrule.viz import plot_curves, save_figure

GROUP = "Numerical pitfalls"
EPS = float(np.finfo(np.float64).eps)


def central_gradient(f: Callable[..., float], x: np.ndarray,
                     h: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x: an
    independent reference for autodiff gradients (truncation error O(h^2), round-off
    O(eps/h))."""
    x = np.asarray(x, dtype=np.float64)
    g = np.empty_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _central_exp(x: np.ndarray | float, h: np.ndarray | float) -> np.ndarray:
    """The central difference of exp at x (f evaluated by chainrule's exp on raw arrays)."""
    x = np.asarray(x, dtype=np.float64)
    return (cr.exp(x + h) - cr.exp(x - h)) / (2 * h)


@exercise(30, GROUP, "Central differences for exp'(1): truncation vs round-off")
def ex30(fast: bool = False) -> Result:
    """Central-difference estimates of exp'(1) for h = 1e-3, 1e-5, 1e-7, 1e-10: which h errs
    least, and why.

    Error model: (f(x+h) - f(x-h)) / 2h = f'(x) + h^2 f'''(x) / 6 + O(h^4) (truncation),
    while each f value carries a relative rounding error ~eps, which the division by 2h turns
    into ~eps |f(x)| / h (round-off). Their sum h^2 e / 6 + eps e / h is smallest at
    h* = (3 eps)^(1/3) ~ 9e-6: larger h is truncation-limited, smaller h round-off-limited.

    Method: the exact derivative by autodiff (grad of exp at 1, = e); the four errors at x = 1;
    because round-off at a single x is erratic (it depends on how f(x +- h) happen to
    round), also the root-mean-square error over 200 points x in [0.9, 1.1] (divided by
    e^x), which shows the typical behaviour; and a sweep of h on log-log axes.
    """
    exact = functional.grad(cr.exp)(1.0)
    hs = (1e-3, 1e-5, 1e-7, 1e-10)
    errors = {h: abs(float(_central_exp(1.0, h)) - exact) for h in hs}
    xs = np.linspace(0.9, 1.1, 200)
    truth = functional.grad(lambda x: cr.sum(cr.exp(x)))(xs)

    def typical(h: float) -> float:
        return float(np.sqrt(np.mean(((_central_exp(xs, h) - truth) / truth) ** 2)))

    rms = {h: typical(h) for h in hs}
    sweep = np.logspace(-1, -13, 49)
    sweep_at_1 = np.abs(_central_exp(np.full_like(sweep, 1.0), sweep) - exact)
    sweep_rms = np.array([typical(h) for h in sweep])
    h_star = (3 * EPS) ** (1 / 3)
    best_single = min(errors, key=errors.__getitem__)
    best_typical = min(rms, key=rms.__getitem__)
    res = Result(30, "Central differences for exp'(1): truncation vs round-off", quantities={
        "f'(1) by autodiff": exact,
        "estimates": {f"h={h:g}": float(_central_exp(1.0, h)) for h in hs},
        "errors at x=1": {f"h={h:g}": errors[h] for h in hs},
        "typical relative errors (RMS over x in [0.9, 1.1])": {f"h={h:g}": rms[h] for h in hs},
        "best h of the four at x=1": best_single,
        "best h of the four (typical error)": best_typical,
        "error model optimum h* = (3 eps)^(1/3)": h_star,
        "best h of the sweep (typical error)": float(sweep[np.argmin(sweep_rms)]),
    })
    trunc = {h: h * h * math.e / 6 for h in hs}
    typical_abs = {h: rms[h] * math.e for h in hs}  # relative RMS error, scaled to x = 1
    res.checks += [
        close("f'(1) by autodiff vs e", exact, math.e, "closed form", rtol=1e-15),
        close("h=1e-3: error vs the sketch's 4.5e-7", errors[1e-3], 4.5e-7, "solution sketch",
              rtol=0.012),
        close("h=1e-3: error vs h^2 e / 6 (truncation)", errors[1e-3], trunc[1e-3],
              "closed form", rtol=1e-4),
        _order_of_magnitude("h=1e-5: typical error vs the sketch's ~1e-11", typical_abs[1e-5],
                            1e-11),
        holds("h=1e-7: round-off dominates (typical error > 100 x truncation h^2 e / 6)",
              typical_abs[1e-7] > 100 * trunc[1e-7], typical_abs[1e-7], trunc[1e-7],
              "solution sketch"),
        _order_of_magnitude("h=1e-10: typical error vs the sketch's ~1e-6", typical_abs[1e-10],
                            1e-6),
        holds("typical error smallest at h=1e-5 of the four (sketch: optimum 1e-5 to 1e-6)",
              best_typical == 1e-5, best_typical, "1e-5", "solution sketch"),
        holds("sweep optimum within a factor 10 of h* = (3 eps)^(1/3)",
              abs(math.log10(sweep[np.argmin(sweep_rms)] / h_star)) < 1,
              float(sweep[np.argmin(sweep_rms)]), h_star, "closed form"),
    ]
    res.notes += [
        f"At h=1e-5 the error is {errors[1e-5]:.2e} at x=1 and typically "
        f"{typical_abs[1e-5]:.1e}, about {typical_abs[1e-5] / 1e-11:.0f}x the sketch's ~1e-11: "
        f"the truncation term alone is h^2 e/6 = {trunc[1e-5]:.1e}, so the sketch's estimate "
        "is low (the same order of magnitude, and checked only as such). The order-of-"
        "magnitude checks use the typical error, because at one point round-off is luck.",
        (f"Surprise: at x=1 exactly, h=1e-7 gives an error ({errors[1e-7]:.3e}) about as "
         f"small as h=1e-5 ({errors[1e-5]:.3e}). " if errors[1e-7] < 3 * errors[1e-5] else
         f"At x=1, h=1e-7 errs by {errors[1e-7]:.2e}, more than h=1e-5 ({errors[1e-5]:.2e}). ")
        + "Round-off at one point is luck: f(x+h) - f(x-h) is a whole number of float "
        f"spacings (4.4e-16 near e). Typically (RMS over nearby x) h=1e-7 errs by "
        f"{rms[1e-7]:.1e} relative vs {rms[1e-5]:.1e} at h=1e-5, as the error model predicts.",
        f"At h=1e-10 the error is {errors[1e-10]:.1e} at x=1 and typically "
        f"{typical_abs[1e-10]:.1e}, as the sketch's ~1e-6 says (round-off estimate "
        f"eps e / h = {EPS * math.e / 1e-10:.1e}).",
    ]
    curves = {"|error| at x = 1": (sweep, np.maximum(sweep_at_1, 1e-17)),
              "typical |error| (RMS over x near 1)": (sweep, sweep_rms * math.e),
              "truncation h^2 e / 6": (sweep, sweep ** 2 * math.e / 6),
              "round-off eps e / h": (sweep, EPS * math.e / sweep)}
    res.figures["error-vs-h"] = lambda path: save_figure(path, lambda ax: plot_curves(
        curves, ax=ax, xlabel="h", ylabel="|error| of the central difference", logx=True,
        logy=True).set_ylim(1e-13, 1e-1), "exp'(1) by central differences: error vs h")
    return res


def _order_of_magnitude(name: str, computed: float, estimate: float):
    """An order-of-magnitude estimate ("~1e-11") agrees when within a factor 10."""
    check = holds(name, abs(math.log10(computed / estimate)) < 1, computed, estimate,
                  "solution sketch")
    check.tolerance = "same order of magnitude (within a factor 10)"
    return check


def stable_softmax(z: cr.Tensor, axis: int = -1) -> cr.Tensor:
    """softmax(z) = exp(z - m) / sum exp(z - m) with m = max z: the same function (the
    shift cancels) but exp never overflows and the largest term is exactly 1, so the sum
    never underflows to 0."""
    m = np.max(z.data, axis=axis, keepdims=True)
    e = cr.exp(z - m)
    return e / cr.sum(e, axis=axis, keepdims=True)


def _naive_softmax(z: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        e = np.exp(z)
        return e / e.sum()


@exercise(31, GROUP, "Stable softmax on z = (-1000, ..., -990)")
def ex31(fast: bool = False) -> Result:
    """A softmax that cannot overflow or underflow to 0/0, compared with torch.softmax on
    z = (-1000, -999, ..., -990), and what exp(z) / sum exp(z) taken literally returns there.

    Method: ``stable_softmax`` subtracts max z before exponentiating (softmax is unchanged by
    a shift). References: the float64 closed form p_k = e^k (e - 1) / (e^11 - 1), k = 0..10
    (the shifted values, normalised by the geometric series), 50-digit mpmath when
    installed, PyTorch, and chainrule's own ``softmax`` primitive; the gradient of
    sum(c * softmax(z)) is compared with PyTorch too. Naively, exp(-1000) underflows to 0 in
    float64, so the formula computes 0/0 = nan (and exp(1000) = inf gives inf/inf = nan).
    """
    z = np.arange(-1000.0, -989.0)
    zt = cr.tensor(z, requires_grad=True)
    p = stable_softmax(zt)
    c = np.random.default_rng(31).normal(size=z.shape)
    cr.sum(p * c).backward()
    k = np.arange(11.0)
    closed = np.exp(k) * (math.e - 1) / (math.exp(11) - 1)
    res = Result(31, "Stable softmax on z = (-1000, ..., -990)", quantities={
        "z": z, "stable softmax": p.data,
        "naive exp(z) / sum exp(z)": _naive_softmax(z),
        "naive on z + 1990 = (990, ..., 1000)": _naive_softmax(z + 1990),
        "exp(-1000) in float64": float(np.exp(np.float64(-1000.0))),
    })
    res.checks += [
        close("stable softmax vs e^k (e-1)/(e^11-1)", p.data, closed, "closed form",
              rtol=1e-14),
        close("stable softmax vs chainrule.softmax", p.data, cr.softmax(z), "chainrule.softmax",
              rtol=1e-15),
        close("sums to 1", p.data.sum(), 1.0, "closed form", rtol=1e-15),
        holds("naive formula gives nan everywhere", bool(np.isnan(_naive_softmax(z)).all()),
              _naive_softmax(z)[:3], "nan (0/0)"),
    ]
    try:
        import mpmath
    except ImportError:
        res.checks.append(skipped("stable softmax vs 50-digit mpmath", "mpmath is not installed"))
    else:
        with mpmath.workdps(50):
            ez = [mpmath.exp(v) for v in z]
            ref = np.array([float(e / mpmath.fsum(ez)) for e in ez])
        res.checks.append(close("stable softmax vs 50-digit mpmath", p.data, ref, "mpmath",
                                rtol=1e-14))
    torch = torch_or_skip("torch")
    if torch is None:
        res.checks += [skipped(n, "PyTorch is not installed")
                       for n in ("stable softmax vs torch.softmax", "gradient vs PyTorch")]
    else:
        tz = torch.tensor(z, requires_grad=True)
        tp = torch.softmax(tz, dim=0)
        (tp * torch.tensor(c)).sum().backward()
        res.checks += [
            close("stable softmax vs torch.softmax", p.data, tp.detach().numpy(), "PyTorch",
                  rtol=1e-14),
            close("gradient of sum(c * softmax) vs PyTorch", zt.grad, tz.grad.numpy(),
                  "PyTorch", rtol=1e-12, atol=1e-17),
        ]
    res.notes.append("Naively every exp(z_i) underflows to 0.0 (the smallest positive float64 "
                     "is ~4.9e-324, e^-1000 ~ 5e-435), so the quotient is 0/0 = nan; shifting "
                     "by max z makes the largest term exactly 1.")
    return res


# ----- Exercise 32: programs that look like they train but get no gradient -------------------
def _xor_data() -> tuple[np.ndarray, np.ndarray]:
    """128 points in the plane labelled by the sign of x1 x2 (needs a hidden layer)."""
    x = np.random.default_rng(32).normal(size=(128, 2))
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)


def _init(hidden: int = 16, b1: float = 0.0, w1_requires_grad: bool = True
          ) -> dict[str, cr.Tensor]:
    rng = np.random.default_rng(0)
    return {"W1": cr.tensor(rng.normal(size=(2, hidden)), requires_grad=w1_requires_grad),
            "b1": cr.tensor(np.full(hidden, b1), requires_grad=True),
            "W2": cr.tensor(rng.normal(size=(hidden, 2)) / 4, requires_grad=True),
            "b2": cr.tensor(np.zeros(2), requires_grad=True)}


def _mlp(p: dict, x: np.ndarray, act: Callable = cr.tanh) -> cr.Tensor:
    return act(x @ p["W1"] + p["b1"])


def _head(p: dict, h: cr.Tensor, y: np.ndarray) -> tuple[cr.Tensor, cr.Tensor]:
    """(cross-entropy loss, logits) of the output layer."""
    logits = h @ p["W2"] + p["b2"]
    return nn.functional.cross_entropy(logits, y), logits


def _loss_clean(p, x, y):
    return _head(p, _mlp(p, x), y)


def _loss_detach(p, x, y):
    h = _mlp(p, x).detach()          # BUG: detached (say, to log it) and then reused
    return _head(p, h, y)


def _loss_argmax(p, x, y):
    logits = _mlp(p, x) @ p["W2"] + p["b2"]
    pred = logits.argmax(axis=1)      # BUG: hard predictions in the loss
    errors = cr.tensor((pred != y).astype(np.float64))
    return cr.mean(errors) + 1e-3 * cr.sum(p["W2"] * p["W2"]), logits  # weight decay: "live"


def _loss_argmax_fixed(p, x, y):
    loss, logits = _loss_clean(p, x, y)
    return loss + 1e-3 * cr.sum(p["W2"] * p["W2"]), logits


def _loss_overwrite(p, x, y):
    h = _mlp(p, x)
    h[...] = np.clip(h.data, -0.9, 0.9)  # BUG: clipped through .data: values now constants
    return _head(p, h, y)


def _loss_clip_fixed(p, x, y):
    return _head(p, cr.clip(_mlp(p, x), -0.9, 0.9), y)


def _loss_relu(p, x, y):
    return _head(p, _mlp(p, x, cr.relu), y)


#: name -> (buggy (loss, params), fixed (loss, params), parameter to watch, words of the cause)
_BUGS: dict[str, tuple[tuple, tuple, str, str]] = {
    "forgotten requires_grad": ((_loss_clean, lambda: _init(w1_requires_grad=False)),
                                (_loss_clean, _init), "W1", "never required grad"),
    "detach": ((_loss_detach, _init), (_loss_clean, _init), "W1", "detach"),
    "argmax in the loss": ((_loss_argmax, _init), (_loss_argmax_fixed, _init), "W1", "argmax"),
    "in-place overwrite": ((_loss_overwrite, _init), (_loss_clip_fixed, _init), "W1",
                           "overwritten in place"),
    "dead ReLU": ((_loss_relu, lambda: _init(b1=-10.0)), (_loss_relu, lambda: _init(b1=0.1)),
                  "W1", "dead ReLU"),
}


def _train(loss_fn: Callable, params: dict, x: np.ndarray, y: np.ndarray, steps: int
           ) -> tuple[NoGradReport, list[float], float]:
    """Adam on every parameter (as a user would write it): the diagnosis of the first loss
    (made before its backward), the loss per step, the final training accuracy."""
    opt = optim.Adam(list(params.values()), lr=0.05)
    losses, report = [], None
    for _ in range(steps):
        loss, logits = loss_fn(params, x, y)
        if report is None:
            report = why_no_grad(loss, params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert report is not None  # steps > 0: the first loss was diagnosed
    return report, losses, float(np.mean(logits.argmax(axis=1) == y))


def _bug_and_fix(name: str, bug: tuple, fix: tuple, watch: str, cause: str, x: np.ndarray,
                 y: np.ndarray, steps: int) -> tuple[dict, list]:
    """Train the buggy program and its fix; diagnose both; check the gradient of the fix."""
    (bad_loss, bad_init), (good_loss, good_init) = bug, fix
    params = bad_init()
    before = params[watch].data.copy()
    report, bad, bad_acc = _train(bad_loss, params, x, y, steps)
    fixed = good_init()

    def fixed_loss(w):  # the other parameters as constants: the gradient in w alone
        return good_loss({**{k: v.detach() for k, v in fixed.items()}, watch: w}, x, y)[0]

    g = functional.grad(fixed_loss)(before)
    fd = central_gradient(lambda w: float(fixed_loss(cr.tensor(w)).item()), before)
    fixed_report, good, good_acc = _train(good_loss, fixed, x, y, steps)
    quantities = {"diagnosis": dict(report), "loss (bug) first -> last": (bad[0], bad[-1]),
                  "loss (fixed) first -> last": (good[0], good[-1]),
                  "training accuracy (bug, fixed)": (bad_acc, good_acc)}
    return quantities, [
        holds(f"{name}: why_no_grad names {watch} and the cause",
              cause in report.get(watch, ""), report.get(watch), cause, "the planted bug"),
        holds(f"{name}: {watch} unchanged by training",
              bool(np.array_equal(params[watch].data, before)), "unchanged", "unchanged",
              "the planted bug"),
        holds(f"{name} fixed: why_no_grad finds nothing", not fixed_report,
              dict(fixed_report), {}, "the fix"),
        close(f"{name} fixed: {watch} gradient vs central differences", g, fd,
              "finite differences", rtol=1e-6, atol=1e-9),
        holds(f"{name} fixed: loss falls below half its start", good[-1] < 0.5 * good[0],
              good[-1], f"< {0.5 * good[0]:.4f}", "the fix"),
        holds(f"{name} fixed: training accuracy above the buggy run's", good_acc > bad_acc,
              good_acc, bad_acc, "the fix"),
    ]


@exercise(32, GROUP, "Training loops with a silent zero gradient, diagnosed and fixed",
          stars=1)
def ex32(fast: bool = False) -> Result:
    """Small training loops that run and print a changing loss, yet never give the first
    layer a gradient (a forgotten requires_grad, a detach, an argmax in the loss, an
    in-place overwrite, a dead ReLU), each diagnosed and repaired.

    Method: each program trains a 2-16-2 network on an XOR-like task (which needs the hidden
    layer) with Adam; it runs without error and its loss even moves, because the output
    layer still learns. ``diagnose.why_no_grad`` on the first loss names the starved
    first-layer weights and the cause; training leaves them bit-for-bit unchanged. Each fix
    gets a diagnosis with nothing to report, a first-layer gradient that matches central
    differences, and a loss that falls well below the buggy run's.
    """
    x, y = _xor_data()
    steps = 60 if fast else 200
    res = Result(32, "Training loops with a silent zero gradient, diagnosed and fixed")
    for name, spec in _BUGS.items():
        res.quantities[name], checks = _bug_and_fix(name, *spec, x, y, steps)
        res.checks += checks
    res.checks.append(_torch_detach_bug())
    res.notes.append("None of the buggy loops raises an error, and in each the loss changes "
                     "(the output layer still learns), which is what makes these bugs easy to "
                     "miss; why_no_grad names the starved parameter and the line or operation "
                     "responsible.")
    return res


def _torch_detach_bug():
    """The detach bug in PyTorch: the first layer's .grad stays None after backward."""
    torch = torch_or_skip("torch")
    if torch is None:
        return skipped("PyTorch: detach leaves W1.grad None", "PyTorch is not installed")
    x, y = _xor_data()
    w1 = torch.tensor(np.random.default_rng(0).normal(size=(2, 16)), requires_grad=True)
    w2 = torch.zeros(16, 2, dtype=torch.float64, requires_grad=True)
    h = torch.tanh(torch.tensor(x) @ w1).detach()
    torch.nn.functional.cross_entropy(h @ w2, torch.tensor(y)).backward()
    return holds("PyTorch: detach leaves W1.grad None (W2 gets one)",
                 w1.grad is None and w2.grad is not None, repr(w1.grad), "None", "PyTorch")
