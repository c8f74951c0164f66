"""Exercises 25-29: gradient descent, momentum, Newton's method and saddles, on small
quadratics where every rate has a closed form to compare with."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import functional, nn
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds, skipped, torch_or_skip
from chainrule.optim import minimize
from chainrule.viz import plot_curves, plot_trajectory, save_figure

GROUP = "Gradient descent and curvature"


def descend(loss: Callable[[cr.Tensor], cr.Tensor], start: np.ndarray, lr: float, steps: int,
            momentum: float = 0.0) -> np.ndarray:
    """The iterates of gradient descent (``optim.minimize``; heavy-ball momentum when
    ``momentum > 0``: b = momentum b + g, theta -= lr b), start included: (steps + 1, n)."""
    method = "momentum" if momentum else "gd"
    return minimize(loss, start, method=method, steps=steps, lr=lr, momentum=momentum).xs


@exercise(25, GROUP, "Largest stable learning rate for A = diag(1, 100); GD trajectory")
def ex25(fast: bool = False) -> Result:
    """Gradient descent on L(w) = 1/2 w^T A w, A = diag(1, 100): the step size beyond which
    it diverges, and the path it takes from (1, 1) with lr = 0.01.

    Derivation: grad L = A w, so w_{k+1} = (I - lr A) w_k and each eigen-coordinate is
    multiplied by (1 - lr lambda_i) per step. All shrink iff |1 - lr lambda_i| < 1 for every
    i, i.e. lr < 2 / lambda_max = 2/100 = 0.02. With lr = 0.01 the multipliers are
    1 - 100 * 0.01 = 0 (theta_2 vanishes in one step) and 1 - 0.01 = 0.99.

    Method: the Hessian by autodiff (``functional.hessian``), its eigenvalues give
    2 / lambda_max; GD (``optim.minimize``) at lr 1% below and above it for 1000 steps shows
    convergence and divergence, against the closed form (1 - lr lambda_i)^k.
    """
    a = np.array([1.0, 100.0])

    def loss(w):
        return 0.5 * cr.sum(a * w * w)

    start = np.array([1.0, 1.0])
    lam = np.linalg.eigvalsh(functional.hessian(loss)(start))
    lr_max = 2 / lam.max()
    steps = 1000
    below, above = (descend(loss, start, lr, steps)[-1] for lr in (0.99 * lr_max, 1.01 * lr_max))
    path = descend(loss, start, 0.01, 60)
    res = Result(25, "Largest stable learning rate for A = diag(1, 100); GD trajectory",
                 quantities={"Hessian eigenvalues (autodiff)": lam, "largest stable lr": lr_max,
                             f"w after {steps} steps at lr = 0.99 * 0.02": below,
                             f"w after {steps} steps at lr = 1.01 * 0.02": above,
                             "lr = 0.01: first iterates": path[:4],
                             "lr = 0.01: theta_1 ratio per step": path[1:11, 0] / path[:10, 0]})
    res.checks += [
        close("largest stable lr vs the sketch's 2/100", lr_max, 0.02, "solution sketch",
              rtol=1e-12),
        close("lr 1% below: w_1000 vs (1 - lr lambda)^1000", below,
              (1 - 0.99 * 0.02 * a) ** steps, "closed form", rtol=1e-9),
        close("lr 1% above: w_1000 vs (1 - lr lambda)^1000", above,
              (1 - 1.01 * 0.02 * a) ** steps, "closed form", rtol=1e-9),
        holds("lr 1% below converges, 1% above diverges",
              bool(np.linalg.norm(below) < 1e-3 < 1e3 < np.linalg.norm(above)),
              [float(np.linalg.norm(below)), float(np.linalg.norm(above))], "< 1e-3, > 1e3",
              "closed form"),
        close("lr = 0.01: theta_2 is zero after one step", path[1:, 1], np.zeros(60),
              "solution sketch", rtol=0, atol=1e-15),
        close("lr = 0.01: theta_1 contracts by 0.99 per step", path[1:, 0] / path[:-1, 0],
              np.full(60, 0.99), "solution sketch", rtol=1e-12),
    ]
    res.figures["trajectory"] = lambda p: save_figure(p, lambda ax: plot_trajectory(
        lambda w: 0.5 * (w[0] ** 2 + 100 * w[1] ** 2), {"GD, lr = 0.01": path}, ax=ax,
        xlim=(-0.1, 1.1), ylim=(-0.3, 1.1)), "GD on (w1^2 + 100 w2^2) / 2 from (1, 1), lr = 0.01")
    return res


def _iteration_radius(h: np.ndarray, lr: float, momentum: float) -> float:
    """Spectral radius of heavy-ball GD on a quadratic with Hessian eigenvalues h: the
    larger root modulus of r^2 - (1 + momentum - lr h) r + momentum = 0 over h."""
    return max(float(np.abs(np.roots([1.0, -(1 + momentum - lr * hi), momentum])).max())
               for hi in h)


def _steps_to_stay_below(losses: np.ndarray, level: float) -> int:
    """The first step after which the loss never again reaches ``level``."""
    above = np.nonzero(losses >= level)[0]
    return int(above[-1] + 1) if len(above) else 0


def _measured_rate(path: np.ndarray, first: int, double_root: bool = False) -> float:
    """Per-step contraction fitted to log ||(theta_k, theta_{k-1})|| from step ``first`` on
    (the momentum state is two iterates; the fit averages out rotation). At a double root
    (critically damped momentum) the iterates go like k r^k, so log k is taken off first."""
    state = np.linalg.norm(np.hstack([path[1:], path[:-1]]), axis=1)
    k = np.arange(first, len(state))
    log_state = np.log(state[first:]) - (np.log(k) if double_root else 0.0)
    return float(np.exp(np.polyfit(k, log_state, 1)[0]))


@exercise(26, GROUP, "GD vs heavy-ball momentum on theta_1^2 + 10 theta_2^2")
def ex26(fast: bool = False) -> Result:
    """Plain gradient descent (lr = 0.05) on L = theta_1^2 + 10 theta_2^2 from (1, 1), its
    path, and what heavy-ball momentum 0.9 does to the speed of convergence.

    Analysis: the Hessian is diag(2, 20). Plain GD multiplies the coordinates by 1 - 0.05 * 2
    = 0.9 and 1 - 0.05 * 20 = 0 per step: theta_2 is solved in one step, theta_1 shrinks by
    0.9. Heavy ball (b = mu b + g, theta -= lr b) on an eigen-direction h obeys
    r^2 - (1 + mu - lr h) r + mu = 0; for both h the roots are complex with modulus
    sqrt(mu) = sqrt(0.9) ~ 0.949 > 0.9: momentum 0.9 is *slower* here, and it oscillates.
    With tuned settings (lr = 4 / (sqrt(20) + sqrt(2))^2, mu = ((sqrt(10) - 1) /
    (sqrt(10) + 1))^2) momentum's rate (sqrt(10) - 1) / (sqrt(10) + 1) ~ 0.52 beats the best
    plain GD rate (10 - 1) / (10 + 1) ~ 0.82 (lr = 1/11); there both directions are
    critically damped (a double root), so the iterates decay like k r^k.

    Method: both runs with ``optim.minimize`` (SGD underneath); the number of steps after
    which the loss stays below 1e-6, and the measured contraction rates against the
    closed-form spectral radii.
    """
    h = np.array([2.0, 20.0])

    def loss(t):
        return cr.sum(h / 2 * t * t)

    start, steps = np.array([1.0, 1.0]), 400
    runs = {"GD lr=0.05": (0.05, 0.0), "momentum 0.9, lr=0.05": (0.05, 0.9),
            "GD lr=1/11 (tuned)": (1 / 11, 0.0),
            "momentum tuned": (4 / (math.sqrt(20) + math.sqrt(2)) ** 2,
                               ((math.sqrt(10) - 1) / (math.sqrt(10) + 1)) ** 2)}
    paths = {name: descend(loss, start, lr, steps, mu) for name, (lr, mu) in runs.items()}
    losses = {name: np.sum(h / 2 * p * p, axis=1) for name, p in paths.items()}
    to_1e6 = {name: _steps_to_stay_below(v, 1e-6) for name, v in losses.items()}
    rates = {name: _measured_rate(p, 20, double_root=name == "momentum tuned")
             for name, p in paths.items() if name != "GD lr=0.05"}
    # plain GD at lr = 0.05 is exactly one-dimensional after one step: the ratio is exact
    rates["GD lr=0.05"] = float(np.median(paths["GD lr=0.05"][11:31, 0]
                                          / paths["GD lr=0.05"][10:30, 0]))
    res = Result(26, "GD vs heavy-ball momentum on theta_1^2 + 10 theta_2^2", quantities={
        "steps until the loss stays below 1e-6": to_1e6,
        "measured contraction per step": rates,
        "closed-form spectral radius": {n: _iteration_radius(h, lr, mu)
                                        for n, (lr, mu) in runs.items()},
        "first iterates, GD": paths["GD lr=0.05"][:4],
        "first iterates, momentum": paths["momentum 0.9, lr=0.05"][:4],
    })
    for name, (lr, mu) in runs.items():
        res.checks.append(close(f"{name}: measured rate vs spectral radius", rates[name],
                                _iteration_radius(h, lr, mu), "closed form", rtol=5e-3))
    gd, mom = to_1e6["GD lr=0.05"], to_1e6["momentum 0.9, lr=0.05"]
    res.checks += [
        close("GD lr=0.05: steps to loss < 1e-6 vs ceil(log(1e-6) / log(0.81))", gd,
              math.ceil(math.log(1e-6) / math.log(0.81)), "closed form", rtol=0),
        holds("momentum 0.9 is slower than plain GD at lr = 0.05", mom > gd, mom, gd,
              "closed form (sqrt(0.9) > 0.9)"),
        holds("tuned momentum is faster than tuned GD", to_1e6["momentum tuned"]
              < to_1e6["GD lr=1/11 (tuned)"], to_1e6["momentum tuned"],
              to_1e6["GD lr=1/11 (tuned)"], "closed form (0.52 < 0.82)"),
    ]
    res.notes += [
        f"Surprise, measured: with lr = 0.05, heavy-ball momentum 0.9 does NOT converge faster. "
        f"Plain GD gets the loss below 1e-6 for good after {gd} steps, momentum after {mom} "
        f"(it first dips below at step {int(np.argmax(losses['momentum 0.9, lr=0.05'] < 1e-6))}"
        " and oscillates back up). GD's lr = 0.05 already solves the stiff direction in one "
        "step, while momentum 0.9 makes every direction rotate with modulus sqrt(0.9) = 0.949.",
        f"Momentum helps when tuned to the curvature: {to_1e6['momentum tuned']} steps vs "
        f"{to_1e6['GD lr=1/11 (tuned)']} for the best plain GD.",
    ]
    shown = {k: paths[k][:80] for k in ("GD lr=0.05", "momentum 0.9, lr=0.05")}
    res.figures["trajectories"] = lambda p: save_figure(p, lambda ax: plot_trajectory(
        lambda t: t[0] ** 2 + 10 * t[1] ** 2, shown, ax=ax, xlim=(-1.0, 1.1),
        ylim=(-1.1, 1.1)), "theta_1^2 + 10 theta_2^2 from (1, 1), lr = 0.05 (80 steps)")
    res.figures["loss"] = lambda p: save_figure(p, lambda ax: plot_curves(
        {k: v[:200] for k, v in losses.items()}, ax=ax, logy=True).set_ylim(1e-16, 1e2),
        "Loss per step (GD vs heavy-ball momentum)")
    return res


def _newton_roots(f: Callable, starts: np.ndarray, steps: int = 50) -> np.ndarray:
    """Newton's method (``minimize(method="newton")``: steps -H^{-1} grad f, both by autodiff)
    from each start. It solves grad f = 0, so it converges to critical points of every kind,
    not only minima."""
    return np.array([minimize(f, x, method="newton", steps=steps, tol=1e-13).x
                     for x in starts])


@exercise(27, GROUP, "Critical points of x^4 - 2x^2 + y^2 and their Hessians")
def ex27(fast: bool = False) -> Result:
    """The stationary points of f(x, y) = x^4 - 2x^2 + y^2, each classified by the signs of
    its Hessian's eigenvalues.

    By hand: grad f = (4x^3 - 4x, 2y) = 0 gives y = 0 and x in {-1, 0, 1}. The Hessian is
    diag(12x^2 - 4, 2): at (0, 0) diag(-4, 2), indefinite, a saddle; at (+-1, 0) diag(8, 2),
    positive definite, minima (f = -1).

    Method: Newton's method (``minimize(method="newton")``, gradient and Hessian by autodiff)
    from a 5 x 5 grid of starts finds the critical points; the eigenvalues of the autodiff
    Hessian classify them; both against the closed forms.
    """
    def f(v):
        return v[0] ** 4 - 2 * v[0] ** 2 + v[1] ** 2

    grid = np.array([(x, y) for x in np.linspace(-1.7, 1.7, 5) for y in np.linspace(-1, 1, 5)])
    roots = _newton_roots(f, grid)
    points = np.unique(np.round(roots, 9) + 0.0, axis=0)
    kinds = {}
    res = Result(27, "Critical points of x^4 - 2x^2 + y^2 and their Hessians")
    for p in points:
        eig = np.linalg.eigvalsh(functional.hessian(f)(p))
        kind = ("minimum" if eig.min() > 0 else "maximum" if eig.max() < 0
                else "saddle" if eig.min() < 0 < eig.max() else "degenerate")
        kinds[f"({p[0]:+.0f}, {p[1]:+.0f})"] = {"Hessian eigenvalues": eig, "kind": kind,
                                                "f": float(f(p))}
        res.checks += [
            close(f"({p[0]:+.0f}, {p[1]:+.0f}): gradient is zero", functional.grad(f)(p),
                  [0.0, 0.0], "closed form", rtol=0, atol=1e-12),
            close(f"({p[0]:+.0f}, {p[1]:+.0f}): Hessian eigenvalues vs (12x^2 - 4, 2)",
                  np.sort(eig), np.sort([12 * p[0] ** 2 - 4, 2.0]), "closed form", rtol=1e-12),
        ]
    res.quantities = {"critical points found": points, "classification": kinds}
    res.checks += [
        close("critical points vs (-1, 0), (0, 0), (1, 0)", points,
              [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]], "closed form", rtol=0, atol=1e-9),
        holds("(0, 0) is a saddle and (+-1, 0) are minima",
              [v["kind"] for v in kinds.values()] == ["minimum", "saddle", "minimum"],
              [v["kind"] for v in kinds.values()], ["minimum", "saddle", "minimum"],
              "closed form"),
    ]
    return res


def _tiny_mlp_loss(x: np.ndarray, y: np.ndarray, sizes: tuple[int, ...]
                   ) -> tuple[Callable, int]:
    """The MSE of an MLP (tanh) as a function of one flat parameter vector, and the
    vector's length."""
    shapes = [s for n_in, n_out in zip(sizes, sizes[1:]) for s in ((n_in, n_out), (n_out,))]

    def loss(theta):
        params, at = [], 0
        for s in shapes:
            n = math.prod(s)
            params.append(cr.reshape(theta[at:at + n], s))
            at += n
        h = x
        for i in range(0, len(params), 2):
            h = cr.matmul(h, params[i]) + params[i + 1]
            if i + 2 < len(params):
                h = cr.tanh(h)
        return nn.functional.mse_loss(h, y)

    return loss, sum(math.prod(s) for s in shapes)


@exercise(28, GROUP, "One Newton step solves a positive-definite quadratic", stars=1)
def ex28(fast: bool = False) -> Result:
    """Why a single Newton step minimises a positive-definite quadratic exactly, and why that
    does not carry over to training deep networks.

    Derivation: f(t) = 1/2 (t - t*)^T A (t - t*) has grad f = A (t - t*) and Hessian A, so
    t - A^{-1} grad f = t*; A positive definite makes t* the unique global minimum.

    Why not for deep nets: (1) size: the Hessian of P parameters has P^2 entries and solving
    with it costs O(P^3); (2) shape: a network's loss is not a quadratic, its Hessian is
    indefinite (negative eigenvalues at saddles, which abound), so -H^{-1} g may point uphill
    or towards a saddle, and the quadratic model is only local; (3) noise: on minibatches
    both g and H are noisy. Practical methods approximate H^{-1} (diagonal or Kronecker
    factors, Adam's second moments, L-BFGS, Hessian-vector products with conjugate gradients).

    Method: one Newton step (``minimize(method="newton")``: gradient and Hessian by autodiff)
    on a random 20-dimensional quadratic with condition number 1e3, against t*; for
    comparison GD at the best fixed lr (300 steps against the closed form, and the step
    count its worst rate ((kappa - 1) / (kappa + 1))^k needs for a 1e10-fold reduction);
    the Hessian of a tiny
    tanh network (2-3-1) at random weights (checked against PyTorch): its negative
    eigenvalues, and the loss before and after one full Newton step there; the Hessian
    size of the 784-128-2 MNIST network.
    """
    rng = np.random.default_rng(28)
    n = 20
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eig = np.geomspace(1.0, 1e3, n)
    a = q @ np.diag(eig) @ q.T
    t_star = rng.normal(size=n)

    def f(t):
        d = t - t_star
        return 0.5 * cr.dot(d, cr.matmul(a, d))

    t0 = rng.normal(scale=5.0, size=n)
    newton = minimize(f, t0, method="newton", steps=1).x
    lr = 2 / (eig[0] + eig[-1])
    gd_steps = math.ceil(math.log(1e-10) / math.log((eig[-1] - eig[0]) / (eig[-1] + eig[0])))

    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    loss, n_params = _tiny_mlp_loss(x, y, (2, 3, 1))
    theta = rng.normal(size=n_params)
    hess = functional.hessian(loss)(theta)
    h_eig = np.linalg.eigvalsh(hess)
    g = functional.grad(loss)(theta)
    newton_net = minimize(loss, theta, method="newton", steps=1)
    mnist_params = 784 * 128 + 128 + 128 * 2 + 2
    res = Result(28, "One Newton step solves a positive-definite quadratic", quantities={
        "condition number of A": eig[-1] / eig[0],
        "||Newton step result - t*||": float(np.linalg.norm(newton - t_star)),
        "GD steps (best fixed lr) to shrink the error 1e10-fold (worst case)": gd_steps,
        "tiny 2-3-1 tanh net: parameters": n_params,
        "tiny net: Hessian eigenvalues": h_eig,
        "tiny net: negative eigenvalues": int((h_eig < 0).sum()),
        "tiny net: g^T H^-1 g (< 0 means the Newton step points uphill)":
            float(g @ np.linalg.solve(hess, g)),
        "tiny net: loss before, after one Newton step": tuple(newton_net.losses),
        "tiny net: gradient norm before, after": (float(np.linalg.norm(g)), float(
            np.linalg.norm(functional.grad(loss)(newton_net.x)))),
        "784-128-2 MNIST net: parameters": mnist_params,
        "its Hessian in float64 (GB)": 8 * mnist_params ** 2 / 1e9,
    })
    gd_run = 300
    gd_end = descend(f, t0, lr, gd_run)[-1]
    gd_closed = t_star + q @ ((1 - lr * eig) ** gd_run * (q.T @ (t0 - t_star)))
    res.quantities[f"GD after {gd_run} steps: ||error|| / ||initial error||"] = float(
        np.linalg.norm(gd_end - t_star) / np.linalg.norm(t0 - t_star))
    res.checks += [
        close("one Newton step lands on t*", newton, t_star, "closed form", rtol=1e-9,
              atol=1e-9),
        close("gradient there is zero", functional.grad(f)(newton), np.zeros(n), "closed form",
              rtol=0, atol=1e-8),
        close(f"GD, {gd_run} steps at lr = 2 / (l_min + l_max), vs Q (1 - lr L)^k Q^T e_0",
              gd_end, gd_closed, "closed form", rtol=1e-8, atol=1e-10),
        holds("a network's Hessian is not positive definite", bool(h_eig.min() < 0),
              float(h_eig.min()), "< 0", "solution sketch"),
    ]
    torch = torch_or_skip("torch")
    if torch is None:
        res.checks.append(skipped("tiny net Hessian vs PyTorch", "PyTorch is not installed"))
    else:
        def torch_loss(th):
            w1, b1 = th[:6].reshape(2, 3), th[6:9]
            w2, b2 = th[9:12].reshape(3, 1), th[12:13]
            out = torch.tanh(torch.tensor(x) @ w1 + b1) @ w2 + b2
            return torch.mean((out - torch.tensor(y)) ** 2)

        ref = torch.autograd.functional.hessian(torch_loss, torch.tensor(theta)).numpy()
        res.checks.append(close("tiny net Hessian vs PyTorch", hess, ref, "PyTorch",
                                rtol=1e-10, atol=1e-12))
    before, after = res.quantities["tiny net: loss before, after one Newton step"]
    res.notes.append(f"Measured on the tiny net: {int((h_eig < 0).sum())} of {n_params} Hessian "
                     f"eigenvalues are negative; here one Newton step still lowered the loss "
                     f"({before:.3f} -> {after:.3f}), but Newton's step solves grad = 0 "
                     "whatever the curvature, so it is as happy to land on a saddle (in "
                     "Exercise 27 it converges to the saddle (0, 0) from starts near it).")
    res.notes.append(f"The 784-128-2 network of the main job has {mnist_params:,} parameters; "
                     f"its Hessian would take {8 * mnist_params ** 2 / 1e9:.0f} GB in float64 "
                     "and a dense solve ~P^3 = "
                     f"{float(mnist_params) ** 3:.0e} flops, per step.")
    return res


@exercise(29, GROUP, "Escaping the saddle of x^2 - y^2 from (1, 1e-4)", stars=1)
def ex29(fast: bool = False) -> Result:
    """On f(x, y) = x^2 - y^2, gradient descent started at (1, 1e-4) first slides towards the
    saddle at the origin along x, then leaves it along y, which it can do only because y
    started non-zero; and what that says about noise near saddles.

    Analysis: grad f = (2x, -2y), so with lr = 0.1, x_k = 0.8^k (attracted) and
    y_k = 1e-4 * 1.2^k (repelled). The distance to the saddle first falls, then grows once
    y dominates; |y| passes 1 after ceil(log(1e4) / log 1.2) = 51 steps. From exactly
    (1, 0), y stays 0 and GD converges to the saddle, a point that is not a minimum. An
    escape from a start eps off the axis takes ~log(1/eps) / log(1.2) steps, so a smaller
    perturbation means a longer stall; noise (SGD's minibatch noise) supplies the
    perturbation on its own, so saddles slow SGD down but rarely trap it.

    Method: gradient descent (``optim.minimize``) from (1, 1e-4), from (1, 0), and from (1, 0)
    with Gaussian gradient noise (sigma 1e-6, added as a random linear term to each step's
    loss, as a minibatch would), against the closed-form iterates.
    """
    def f(v):
        return v[0] ** 2 - v[1] ** 2

    lr, steps = 0.1, 70
    path = descend(f, np.array([1.0, 1e-4]), lr, steps)
    k = np.arange(steps + 1)
    closed = np.stack([0.8 ** k, 1e-4 * 1.2 ** k], axis=1)
    dist = np.linalg.norm(path, axis=1)
    closest = int(np.argmin(dist))
    escape = int(np.argmax(np.abs(path[:, 1]) > 1))
    on_axis = descend(f, np.array([1.0, 0.0]), lr, 200)
    noise_rng = np.random.default_rng(29)
    noisy = descend(lambda v: f(v) + cr.sum(noise_rng.normal(scale=1e-6, size=2) * v),
                    np.array([1.0, 0.0]), lr, 200)
    escape_noisy = int(np.argmax(np.abs(noisy[:, 1]) > 1))
    by_eps = {eps: int(np.argmax(np.abs(descend(f, np.array([1.0, eps]), lr, 200)[:, 1]) > 1))
              for eps in (1e-2, 1e-4, 1e-8)}
    res = Result(29, "Escaping the saddle of x^2 - y^2 from (1, 1e-4)", quantities={
        "closest approach to (0, 0)": float(dist[closest]),
        "at step": closest, "point there": path[closest],
        "escape step (|y| > 1)": escape,
        "from (1, 0) after 200 steps": on_axis[-1],
        "from (1, 0) with gradient noise sigma=1e-6: escape step": escape_noisy,
        "escape step by initial offset eps": {f"{e:g}": s for e, s in by_eps.items()},
    })
    res.checks += [
        close("iterates vs (0.8^k, 1e-4 1.2^k)", path, closed, "closed form", rtol=1e-12),
        close("closest-approach step vs closed form", closest,
              int(np.argmin(np.linalg.norm(closed, axis=1))), "closed form", rtol=0),
        close("escape step vs ceil(log(1e4) / log(1.2))", escape,
              math.ceil(math.log(1e4) / math.log(1.2)), "closed form", rtol=0),
        holds("from exactly (1, 0), GD converges to the saddle",
              bool(on_axis[-1, 1] == 0 and abs(on_axis[-1, 0]) < 1e-18),
              on_axis[-1], "(0, 0)", "closed form"),
        close("escape steps vs ceil(log(1/eps) / log(1.2))", list(by_eps.values()),
              [math.ceil(math.log(1 / e) / math.log(1.2)) for e in by_eps], "closed form",
              rtol=0),
        holds("gradient noise alone makes GD escape from (1, 0)", 0 < escape_noisy < 200,
              escape_noisy, "< 200", "statement"),
    ]
    res.notes.append("GD only escapes because the start is off the x-axis; the escape time "
                     "grows like log(1/eps). Noise of any size plays the role of eps, so noisy "
                     f"GD escaped from (1, 0) in {escape_noisy} steps, while exact GD stayed on "
                     "the saddle forever.")
    res.figures["trajectory"] = lambda p: save_figure(p, lambda ax: plot_trajectory(
        lambda v: v[0] ** 2 - v[1] ** 2,
        {"GD from (1, 1e-4)": path[:escape + 1], "GD from (1, 0)": on_axis[:40]}, ax=ax,
        xlim=(-0.2, 1.1), ylim=(-1.3, 1.3), levels=21, log_levels=False),
        "GD on x^2 - y^2 from (1, 1e-4) and (1, 0), lr = 0.1")
    return res
