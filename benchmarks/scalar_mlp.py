"""Scalar engines head to head: chainrule ``Value`` vs micrograd's ``Value``.

One training-step's worth of work on a scalar 2-16-16-1 MLP (ReLU hidden layers, linear
output): the sum of squared errors over 100 two-dimensional points, then one ``backward()``.
Both engines run the *same* Python code (``mlp_loss`` below, given the Value class) on the
*same* weights, and the script checks that they agree on the loss and on every gradient.

The garbage collector stays on, as users run it (``--no-gc`` adds a run with it off).
Timings are the best of ``--repeat`` runs (``timing.best_of``, after a warm-up run).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/scalar_mlp.py
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from collections.abc import Callable

from micrograd.engine import Value as MicrogradValue

from chainrule.scalar import Value as ChainruleValue

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_of, machine  # noqa: E402

SIZES = (2, 16, 16, 1)
N_POINTS = 100


def make_weights(sizes: tuple[int, ...], seed: int) -> list[tuple[list[list[float]], list[float]]]:
    """Plain-float weights (uniform in [-1, 1]) and biases (0.1) for every layer."""
    rng = random.Random(seed)
    return [
        ([[rng.uniform(-1.0, 1.0) for _ in range(nin)] for _ in range(nout)], [0.1] * nout)
        for nin, nout in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def make_data(n: int, seed: int) -> tuple[list[list[float]], list[float]]:
    """n points in [-1, 1]^2 with a smooth target."""
    rng = random.Random(seed + 1)
    xs = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n)]
    ys = [math.sin(3.0 * a) * b for a, b in xs]
    return xs, ys


def build_params(value_cls: type, weights: list) -> list:
    """The MLP's parameters as ``value_cls`` leaves: [(W rows, biases), ...]."""
    return [
        ([[value_cls(w) for w in row] for row in W], [value_cls(c) for c in b]) for W, b in weights
    ]


def mlp_loss(params: list, xs: list[list[float]], ys: list[float],
             relu: Callable[[object], object] | None = None):
    """Sum over the points of (mlp(x) - y)**2; hidden layers ReLU, output linear.

    ``relu`` applies the activation to one scalar (default: its ``.relu()`` method), for
    engines whose scalars have no such method (HIPS autograd's boxes, MyGrad tensors).
    """
    loss = 0.0
    last = len(params) - 1
    for x, y in zip(xs, ys, strict=True):
        h = x
        for i, (W, b) in enumerate(params):
            h = [
                sum((w * hi for w, hi in zip(row, h, strict=True)), bias)
                for row, bias in zip(W, b, strict=True)
            ]
            if i < last:
                h = [v.relu() if relu is None else relu(v) for v in h]
        loss = loss + (h[0] - y) ** 2
    return loss


def flat(params: list) -> list:
    return [v for W, b in params for v in [*(w for row in W for w in row), *b]]


def step(params: list, xs, ys):
    for p in flat(params):
        p.grad = 0.0
    loss = mlp_loss(params, xs, ys)
    loss.backward()
    return loss


def check_agree(a: list, b: list, loss_a, loss_b) -> float:
    """Largest relative difference in loss and gradients; raise if above 1e-9."""
    worst = abs(loss_a.data - loss_b.data) / max(1.0, abs(loss_b.data))
    for pa, pb in zip(a, b, strict=True):
        worst = max(worst, abs(pa.grad - pb.grad) / max(1.0, abs(pb.grad)))
    assert worst < 1e-9, f"engines disagree: max relative difference {worst:.3e}"
    return worst


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-gc", action="store_true", help="also time with the GC disabled")
    args = ap.parse_args(argv)

    weights = make_weights(SIZES, args.seed)
    xs, ys = make_data(N_POINTS, args.seed)
    engines = {"chainrule": ChainruleValue, "micrograd": MicrogradValue}
    params = {name: build_params(cls, weights) for name, cls in engines.items()}

    losses = {name: step(p, xs, ys) for name, p in params.items()}
    n_nodes = _count_nodes(losses["chainrule"])
    worst = check_agree(flat(params["chainrule"]), flat(params["micrograd"]), *losses.values())
    del losses

    print(
        f"{machine()}; "
        f"MLP {'-'.join(map(str, SIZES))}, {N_POINTS} points, {n_nodes} graph nodes; "
        f"best of {args.repeat}"
    )
    print(f"loss and gradients agree: max relative difference {worst:.1e}")
    modes = [("gc on", True)] + ([("gc off", False)] if args.no_gc else [])
    for label, gc_on in modes:
        times = {n: best_of(lambda p=p: step(p, xs, ys), number=1, repeat=args.repeat,
                            gc_enabled=gc_on) for n, p in params.items()}
        base = times["chainrule"]
        print(f"\n{label}:\n{'engine':<12}{'seconds':>10}{'x chainrule':>14}")
        for name, t in times.items():
            print(f"{name:<12}{t:>10.4f}{t / base:>14.2f}")


def _count_nodes(root: ChainruleValue) -> int:
    seen, stack = {root}, [root]
    while stack:
        for c in stack.pop()._prev:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return len(seen)


if __name__ == "__main__":
    sys.exit(main())
