"""Per-example gradients: ``vmap(grad(loss), in_axes=(None, 0, 0))`` against a Python loop
of ``grad`` calls and against ``torch.func.vmap(torch.func.grad(...))``.

An MLP (tanh hidden layers) with a softmax cross-entropy loss of ONE example, the label
picked by indexing (``logsumexp(z) - z[y]``), float64, batch 256. Two sizes:
20-32-32-2 (small: the time is Python and dispatch overhead, which batching removes) and
784-256-256-2 (large: each per-example gradient is a 784x256 + 256x256 matrix, so the batch
of them is 256 x 267k numbers = 0.5 GiB of float64; the time is memory traffic).

The script asserts that chainrule's per-example gradients equal the loop's (and
torch.func's, when PyTorch is installed) before timing anything.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/per_example_grads.py [--large]
"""

from __future__ import annotations

import sys

import numpy as np
from timing import best_cpu_of, best_of, machine, table

import chainrule as cr

BATCH = 256


def init(sizes: list[int], rng: np.random.Generator) -> dict[str, np.ndarray]:
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{i}"] = rng.standard_normal((m, n)) / np.sqrt(m)
        params[f"b{i}"] = 0.1 * rng.standard_normal(n)
    return params


def loss(params: dict, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
    """Cross-entropy of one example: x (features,), y a class index (0-d)."""
    layers = len(params) // 2
    h = x
    for i in range(layers):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < layers - 1:
            h = cr.tanh(h)
    return cr.logsumexp(h) - h[y]


def torch_loss(torch):  # noqa: ANN001, ANN201
    def loss_t(params, x, y):  # noqa: ANN001, ANN202
        layers = len(params) // 2
        h = x
        for i in range(layers):
            h = h @ params[f"W{i}"] + params[f"b{i}"]
            if i < layers - 1:
                h = torch.tanh(h)
        return torch.logsumexp(h, 0) - h.gather(0, y.reshape(1))[0]  # h[y]: no vmap rule

    return loss_t


def timed(fn, number: int, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    """(wall ms, CPU ms of this process) per call, each the best of ``repeat``."""
    return (best_of(fn, number=number, repeat=repeat) * 1e3,
            best_cpu_of(fn, number=number, repeat=repeat) * 1e3)


def cells(t: tuple[float, float], base: tuple[float, float]) -> list[str]:
    return [f"{t[0]:.1f} / {t[1]:.1f}", f"{t[1] / base[1]:.2f}x"]


def stacked(per_example: list[dict]) -> dict[str, np.ndarray]:
    return {k: np.stack([g[k] for g in per_example]) for k in per_example[0]}


def run(sizes: list[int], loop_repeat: int) -> list[list]:
    rng = np.random.default_rng(0)
    params = init(sizes, rng)
    x = rng.standard_normal((BATCH, sizes[0]))
    y = rng.integers(0, sizes[-1], BATCH)
    batched = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))
    g_loop = cr.grad(loss)

    def loop() -> dict:
        return stacked([g_loop(params, x[i], y[i]) for i in range(BATCH)])

    got, want = batched(params, x, y), loop()
    for k in params:  # the same numbers as one grad call per example
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-13, err_msg=k)
    t_vmap = timed(lambda: batched(params, x, y), 3, 5)
    t_loop = timed(loop, 1, loop_repeat)
    name = "-".join(map(str, sizes))
    rows = [[name, "chainrule vmap(grad)", *cells(t_vmap, t_vmap)],
            [name, "chainrule loop of grad", *cells(t_loop, t_vmap)]]
    try:
        import torch
    except ImportError:
        return rows
    torch.set_num_threads(1)
    loss_t = torch_loss(torch)
    tp = {k: torch.from_numpy(v) for k, v in params.items()}
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    t_batched = torch.func.vmap(torch.func.grad(loss_t), in_dims=(None, 0, 0))
    t_grad = torch.func.grad(loss_t)
    tg = t_batched(tp, tx, ty)
    for k in params:
        np.testing.assert_allclose(tg[k].numpy(), got[k], rtol=1e-10, atol=1e-13, err_msg=k)
    tt_vmap = timed(lambda: t_batched(tp, tx, ty), 3, 5)
    tt_loop = timed(lambda: [t_grad(tp, tx[i], ty[i]) for i in range(BATCH)], 1, loop_repeat)
    rows += [[name, "torch.func vmap(grad)", *cells(tt_vmap, t_vmap)],
             [name, "torch.func loop of grad", *cells(tt_loop, t_vmap)]]
    return rows


def main() -> None:
    rows = run([20, 32, 32, 2], loop_repeat=3)
    if "--large" in sys.argv:
        rows += run([784, 256, 256, 2], loop_repeat=1)
    print(machine())
    print(f"batch {BATCH}, float64; per batch of per-example gradients: wall / CPU ms, and "
          "CPU time relative to chainrule's vmap(grad)\n")
    print(table(["MLP", "method", "wall / CPU ms", "CPU vs chainrule vmap"], rows))


if __name__ == "__main__":
    main()
