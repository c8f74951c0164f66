"""The reader's side of exercises 30-35: central differences, a stable softmax, the reader's
own tensor engine (33) and gradients through depth (34).

Interface chosen for 33 (the exercise fixes none): ``mlp_gradients(W1, b1, W2, b2, x, y)``
returns the four gradients of the mean cross-entropy of ``relu(x W1 + b1) W2 + b2`` with
integer labels ``y``, computed by the reader's engine; they must agree with PyTorch
(float64) to the exercise's 1e-4 relative error.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.exercises.reader import Case, ReaderSpec, Task, fmt, inputs, reader, unavailable
from chainrule.exercises.reader_calculus import derivative

EPS = float(np.finfo(np.float64).eps)


# --- 30: central differences -------------------------------------------------------------------


def cube(x):
    """x^3 (works on floats and on chainrule Tensors)."""
    return x * x * x


_FUNCTIONS30 = {"exp": (cr.exp, (-1.0, 2.0)), "sin": (cr.sin, (0.5, 1.2)), "cube": (cube, (0.5, 2))}


def _cd_cases(rng: np.random.Generator) -> list[Case]:
    own = [Case(f"the exercise's point, h = {h:g}", (cr.exp, 1.0, h)) for h in (1e-3, 1e-5)]
    names = list(_FUNCTIONS30)
    drawn = []
    for i in range(4):
        f, (low, high) = _FUNCTIONS30[names[int(rng.integers(len(names)))]]
        drawn.append(Case(f"random input {i + 1}", (f, float(rng.uniform(low, high)),
                                                      float(10 ** rng.uniform(-4, -2)))))
    return own + drawn


def _cd_reference(f, x, h):
    """(f'(x) by autodiff, the error a central difference may have at this h)."""
    fx, third = abs(float(f(np.float64(x)))), abs(derivative(f, 3)(x))
    return derivative(f)(x), 2 * h * h * third / 6 + 8 * EPS * max(fx, 1.0) / h


def _cd_judge(received, expected, case):
    fprime, allowed = expected
    f, x, h = case.args
    try:
        r = float(received)
    except (TypeError, ValueError):
        return f"expected a number, received {fmt(received)}"
    if abs(r - fprime) <= allowed:
        return None
    message = (f"|answer - f'(x)| = {abs(r - fprime):.3g} with f'(x) = {fprime:.12g} but a central "
               f"difference errs by at most ~h^2 |f'''| / 6 + round-off = {allowed:.3g} here; "
               f"received {r:.12g}")
    forward = (float(f(np.float64(x + h))) - float(f(np.float64(x)))) / h
    if math.isclose(r, forward, rel_tol=1e-9):
        message += "; this is the forward difference (f(x + h) - f(x)) / h, error ~h |f''| / 2"
    return message


def _best_h() -> float:
    """Which of the exercise's h gives the smallest error for exp'(1), measured."""
    errors = {h: abs((float(cr.exp(1.0 + h)) - float(cr.exp(1.0 - h))) / (2 * h) - math.e)
              for h in (1e-3, 1e-5, 1e-7, 1e-10)}
    return min(errors, key=lambda h: errors[h])


reader(ReaderSpec(30, "central_difference(f, x, h), and the best of the four h", by_hand=True,
                  tasks=(
    Task("central_difference", "f, x, h", "The central-difference estimate of f'(x) with step "
         "h (a number); f takes and returns a float.", _cd_cases, _cd_reference, judge=_cd_judge,
         source="f'(x) by chainrule autodiff, and the central difference's error bound"),
    Task("best_h", "", "Which of h = 1e-3, 1e-5, 1e-7, 1e-10 gives the smallest error for "
         "exp'(1) (return that h).", inputs(lambda d: (), (), k=0), _best_h,
         source="the four errors measured against e", rtol=1e-12),
)))


# --- 31: a stable softmax ----------------------------------------------------------------------

Z31 = np.arange(-1000.0, -989.0)


def _naive(z):
    with np.errstate(all="ignore"):
        return np.exp(z) / np.sum(np.exp(z))


def _softmax_cases(rng: np.random.Generator) -> list[Case]:
    big = Z31 + 1990.0
    return [Case("the exercise's input z = (-1000, ..., -990)", (Z31,),
                 f"The naive exp(z) / sum(exp(z)) gives {fmt(_naive(Z31))} here (exp(-1000) "
                 "underflows to 0, so 0/0): subtract max(z) first."),
            Case("z = (990, ..., 1000)", (big,), f"The naive formula gives {fmt(_naive(big))} "
                 "here (exp(1000) overflows to inf)."),
            *(Case(f"random input {i + 1}", (10 * rng.standard_normal(int(rng.integers(2, 9))),))
              for i in range(4))]


reader(ReaderSpec(31, "softmax(z), numerically stable", by_hand=True, tasks=(
    Task("softmax", "z", "A numerically stable softmax of a 1-D array z: exp(z_i) / sum_j "
         "exp(z_j), the same shape as z.", _softmax_cases, lambda z: cr.softmax(z),
         source="chainrule.softmax (tested against torch.softmax)", rtol=1e-9, atol=1e-15),
)))

unavailable(32, "an open-ended debugging exercise: the buggy program is the reader's own")


# --- 33: the reader's tensor engine ------------------------------------------------------------


def _mlp_gradients(W1, b1, W2, b2, x, y):
    """The four gradients by PyTorch (float64) when installed, else by chainrule."""
    try:
        import torch
    except ImportError:
        def loss(W1, b1, W2, b2):
            return cr.nn.functional.cross_entropy(cr.relu(x @ W1 + b1) @ W2 + b2, y)
        return functional.grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)
    params = [torch.tensor(p, requires_grad=True) for p in (W1, b1, W2, b2)]
    logits = torch.relu(torch.tensor(x) @ params[0] + params[1]) @ params[2] + params[3]
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    return tuple(p.grad.numpy() for p in params)


def _mlp_case(d):
    n, k, hidden, batch = d.size(3, 8), d.size(2, 4), d.size(4, 10), d.size(4, 10)
    return (d.mat(n, hidden) / math.sqrt(n), d.vec(hidden, 0.1), d.mat(hidden, k),
            d.vec(k, 0.1), d.mat(batch, n), d.rng.integers(0, k, batch))


def _mnist_case() -> tuple:
    from chainrule.data import as_features, load_mnist

    data = load_mnist(digits=(4, 9))
    rng = np.random.default_rng(33)
    x = as_features(data.x_train[:32], np.float64)
    return (rng.normal(0, 0.05, (784, 32)), np.zeros(32), rng.normal(0, 0.2, (32, 2)),
            np.zeros(2), x, np.asarray(data.y_train[:32]))


def _mnist_then_random(rng: np.random.Generator) -> list[Case]:
    return [Case("a batch of 32 MNIST 4-vs-9 images, 784-32-2", _mnist_case()),
            *inputs(_mlp_case, k=3)(rng)]


reader(ReaderSpec(33, "mlp_gradients(W1, b1, W2, b2, x, y) by your own NumPy tensor engine",
                  by_hand=True, notes=(
    "Interface: mlp_gradients(W1, b1, W2, b2, x, y) returns (dW1, db1, dW2, db2), the gradients "
    "of\n    loss = mean_i cross-entropy(softmax(relu(x W1 + b1) W2 + b2)_i, y_i), computed by "
    "backward() of\n    your own engine (NumPy only). Shapes: x (batch, n), W1 (n, hidden), "
    "b1 (hidden,), W2 (hidden, k),\n    b2 (k,), y (batch,) integer labels in 0..k-1. Compared "
    "with PyTorch: max|g - g_torch| / max|g_torch| < 1e-4."), tasks=(
    Task("mlp_gradients", "W1, b1, W2, b2, x, y", "The gradients (dW1, db1, dW2, db2) of the "
         "mean cross-entropy of a 2-layer ReLU MLP, by your engine's backward pass.",
         _mnist_then_random, _mlp_gradients, source="PyTorch float64 (chainrule without it)",
         rtol=1e-4, parts=("dW1", "db1", "dW2", "db2"), relative=True),
)))


# --- 34: gradients through depth ---------------------------------------------------------------


def _jacobian_norm(W, x, depth):
    def net(h):
        for _ in range(depth):
            h = cr.tanh(cr.matmul(h, W))
        return h
    return float(np.linalg.norm(functional.jacobian(net)(x), 2))


def _case34(d):
    n = d.size(2, 6)
    return d.uniform(0.5, 1.5) * d.mat(n, n) / math.sqrt(n), d.vec(n), d.size(2, 12)


reader(ReaderSpec(34, "jacobian_norm(W, x, depth) through tanh layers, and its bound", notes=(
    "The network is h_0 = x, h_l = tanh(h_{l-1} W) for l = 1..depth (x a row vector (n,), "
    "W (n, n));\n    norms are spectral norms (the largest singular value)."), tasks=(
    Task("jacobian_norm", "W, x, depth", "||d h_depth / d x||_2 for h_l = tanh(h_{l-1} W), "
         "h_0 = x (a number).", inputs(_case34), _jacobian_norm,
         source="the spectral norm of chainrule's autodiff Jacobian", rtol=1e-7),
    Task("bound", "W, depth", "The bound prod_l ||W_l||_2 = ||W||_2^depth (a number).",
         inputs(lambda d: _case34(d)[::2]), lambda W, depth: np.linalg.norm(W, 2) ** depth,
         source="np.linalg.norm(W, 2) ** depth", rtol=1e-9),
)))

unavailable(35, "an estimate whose answer depends on the memory model the reader assumes "
                "(`chainrule exercises 35` measures one)")
