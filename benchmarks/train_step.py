"""One SGD step (forward, backward, update) of an MLP 784-256-256-2 in float32.

chainrule (eager, and under ``chainrule.jit`` with donated parameters) against
hand-written NumPy (the floor, as a person writes it: no ``out=`` tricks; and, below it,
the step's matrix products alone), PyTorch CPU,
HIPS autograd and MyGrad, in one process, interleaved repeats, at batch 32 and 256.
Prints ratios to the NumPy floor.

    OPENBLAS_NUM_THREADS=1 python benchmarks/train_step.py
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from timing import best_of, machine, table  # noqa: E402

SIZES = (784, 256, 256, 2)
LR = 0.01
REPEATS = 11


def interleaved(calls, number: int, repeat: int) -> dict[str, float]:
    """Seconds per call of each engine: the best of ``repeat`` rounds of ``number`` calls,
    the engines taking turns within each round (load on a shared machine hits all alike)."""
    best = dict.fromkeys(calls, float("inf"))
    for fn in calls.values():
        fn()  # warm up (jit traces here)
    for _ in range(repeat):
        for name, fn in calls.items():
            best[name] = min(best[name], best_of(fn, number=number, repeat=1))
    return best


def init_weights(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = np.sqrt(6.0 / fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    return params


def numpy_step(params, x, y):
    """The floor: forward, backward and update written by hand."""
    w1, b1, w2, b2, w3, b3 = params
    h1 = x @ w1 + b1
    a1 = np.maximum(h1, 0)
    h2 = a1 @ w2 + b2
    a2 = np.maximum(h2, 0)
    z = a2 @ w3 + b3
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1
    dz = p / n
    da2 = dz @ w3.T
    dh2 = da2 * (h2 > 0)
    da1 = dh2 @ w2.T
    dh1 = da1 * (h1 > 0)
    grads = (x.T @ dh1, dh1.sum(0), a1.T @ dh2, dh2.sum(0), a2.T @ dz, dz.sum(0))
    for w, g in zip(params, grads):
        w -= LR * g
    return loss


def matmuls_only_factory(params, batch):
    """Below the floor: only the step's eight matrix products (three forward, five
    backward), written into buffers allocated once. No engine can take less time than this;
    the gap between it and the floor is all an engine can save at a given batch size."""
    w1, _, w2, _, w3, _ = params
    h1, h2 = np.empty((batch, SIZES[1]), np.float32), np.empty((batch, SIZES[2]), np.float32)
    z = np.empty((batch, SIZES[3]), np.float32)
    grads = [np.empty_like(w) for w in (w1, w2, w3)]

    def step(x, y):
        np.matmul(x, w1, out=h1)
        np.matmul(h1, w2, out=h2)
        np.matmul(h2, w3, out=z)
        np.matmul(h2.T, z, out=grads[2])
        np.matmul(z, w3.T, out=h2)
        np.matmul(h1.T, h2, out=grads[1])
        np.matmul(h2, w2.T, out=h1)
        np.matmul(x.T, h1, out=grads[0])

    return step


def numpy_step_factory(params):
    own = [w.copy() for w in params]
    return lambda x, y: numpy_step(own, x, y)


def chainrule_step_factory(params):
    import chainrule as cr
    from chainrule import nn, optim

    model = nn.MLP(SIZES, activation="relu", dtype=np.float32)
    with cr.no_grad():
        for p, w in zip(model.parameters(), params):
            p.data = w.copy()
    opt = optim.SGD(model.parameters(), lr=LR)

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def chainrule_jit_step_factory(params):
    """The same step as a pure function of the parameters, under chainrule.jit with the
    parameters donated: traced once, then replayed with planned buffers (the update
    written into the old parameters' memory)."""
    import chainrule as cr

    def loss_fn(ws, x, y):
        h = x
        for i in range(0, 6, 2):
            h = cr.linear(h, ws[i], ws[i + 1])
            if i < 4:
                h = cr.relu(h)
        return cr.cross_entropy_logits(h, y)

    def sgd(ws, x, y):
        loss, grads = cr.value_and_grad(loss_fn)(ws, x, y)
        return [w - LR * g for w, g in zip(ws, grads)], loss

    jitted = cr.jit(sgd, donate_argnums=0)
    state = [[w.copy() for w in params]]

    def step(x, y):
        state[0], loss = jitted(state[0], x, y)
        return loss

    return step


def torch_step_factory(params):
    import torch

    torch.set_num_threads(1)
    ws = [torch.tensor(w.T.copy() if w.ndim == 2 else w, requires_grad=True) for w in params]
    opt = torch.optim.SGD(ws, lr=LR)

    def step(x, y):
        h = torch.as_tensor(x)
        for i in range(0, 6, 2):
            h = torch.nn.functional.linear(h, ws[i], ws[i + 1])
            if i < 4:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, torch.as_tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def autograd_step_factory(params):
    import autograd.numpy as anp
    from autograd import grad

    ws = [w.copy() for w in params]

    def loss_fn(ws, x, y):
        h = x
        for i in range(0, 6, 2):
            h = anp.dot(h, ws[i]) + ws[i + 1]
            if i < 4:
                h = anp.maximum(h, 0)
        z = h - anp.max(h, axis=1, keepdims=True)
        lsm = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
        return -anp.mean(lsm[anp.arange(len(y)), y])

    g = grad(loss_fn)

    def step(x, y):
        for w, d in zip(ws, g(ws, x, y)):
            w -= LR * d

    return step


def mygrad_step_factory(params):
    import mygrad as mg
    from mygrad.nnet.losses import softmax_crossentropy

    ws = [mg.tensor(w.copy()) for w in params]

    def step(x, y):
        h = x
        for i in range(0, 6, 2):
            h = mg.matmul(h, ws[i]) + ws[i + 1]
            if i < 4:
                h = mg.maximum(h, 0)
        loss = softmax_crossentropy(h, y)
        loss.backward()
        for w in ws:
            w.data -= LR * w.grad
        return loss

    return step


def main() -> None:
    rng = np.random.default_rng(1)
    params = init_weights()
    peers = {
        "numpy (floor)": lambda: numpy_step_factory(params),
        "chainrule": lambda: chainrule_step_factory(params),
        "chainrule jit": lambda: chainrule_jit_step_factory(params),
        "pytorch": lambda: torch_step_factory(params),
        "mygrad": lambda: mygrad_step_factory(params),
        "hips autograd": lambda: autograd_step_factory(params),
    }
    rows = []
    for batch in (32, 256):
        x = rng.random((batch, SIZES[0]), dtype=np.float32)
        y = rng.integers(0, SIZES[-1], batch)
        steps = {"numpy matmuls only": matmuls_only_factory(params, batch)}
        for name, factory in peers.items():
            try:
                steps[name] = factory()
            except ImportError as e:
                print(f"skipping {name}: {e}", file=sys.stderr)
        times = interleaved({name: lambda s=step, x=x, y=y: s(x, y)
                             for name, step in steps.items()},
                            number=50 if batch == 32 else 20, repeat=REPEATS)
        floor = times["numpy (floor)"]
        for name, t in times.items():
            rows.append([batch, name, f"{t * 1e3:.3f}", f"{t / floor:.2f}x"])
    print(f"One SGD step, MLP {'-'.join(map(str, SIZES))}, float32; {machine()}\n")
    print(table(["batch", "engine", "ms/step", "vs numpy"], rows))


if __name__ == "__main__":
    main()
