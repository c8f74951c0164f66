"""Forward vs reverse mode for a full Jacobian (the chapter's exercises 18 and 19).

Two smooth maps, the same mathematics in chainrule and in PyTorch:

* ``wide``: R^1000 -> R^2, F(x) = (sum sin(x) * x, log sum exp(x / 10) + mean(tanh(x))^2);
* ``tall``: R^2 -> R^1000, F(a, b)_i = sin(a t_i) exp(-b t_i) + tanh(a + b t_i), t = linspace.

Each Jacobian is built by ``jacfwd`` (one jvp per input: a column per pass) and ``jacrev``
(one vjp per output: a row per pass over one recorded graph). The chapter estimates the
wrong mode at about 1000 / 2 = 500x the cost of the right one. chainrule makes one pass per
column or row, as the chapter counts them; ``torch.func.jacfwd``/``jacrev`` batch all the
passes into one vectorized pass with ``vmap``, so their ratio measures vmap, not pass counts.
The script also checks the Jacobians against each other and that ``jacobian(mode="auto")``
picks the cheaper mode.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/jacobian.py
"""

from __future__ import annotations

import numpy as np
from timing import best_of, machine, table

import chainrule as cr
from chainrule.functional import jacfwd, jacobian, jacrev

N = 1000
T = np.linspace(0.0, 2.0, N)


def wide(x):
    return cr.stack([cr.sum(cr.sin(x) * x), cr.logsumexp(x / 10) + cr.mean(cr.tanh(x)) ** 2])


def tall(x):
    a, b = x[0], x[1]
    return cr.sin(a * T) * cr.exp(-b * T) + cr.tanh(a + b * T)


def torch_maps():
    import torch

    torch.set_num_threads(1)  # one thread, like chainrule under OPENBLAS_NUM_THREADS=1
    t = torch.from_numpy(T)

    def wide_t(x):
        return torch.stack([torch.sum(torch.sin(x) * x),
                            torch.logsumexp(x / 10, 0) + torch.mean(torch.tanh(x)) ** 2])

    def tall_t(x):
        a, b = x[0], x[1]
        return torch.sin(a * t) * torch.exp(-b * t) + torch.tanh(a + b * t)

    return torch, wide_t, tall_t


def main() -> None:
    rng = np.random.default_rng(0)
    points = {"wide R^1000->R^2": (wide, rng.standard_normal(N)),
              "tall R^2->R^1000": (tall, np.array([0.7, 0.3]))}
    try:
        torch, wide_t, tall_t = torch_maps()
        torch_fns = {"wide R^1000->R^2": wide_t, "tall R^2->R^1000": tall_t}
    except ImportError:
        torch = None
    rows = []
    for name, (f, x) in points.items():
        n_in, n_out = x.size, np.size(f(x))
        j_fwd, j_rev = jacfwd(f)(x), jacrev(f)(x)
        assert np.allclose(j_fwd, j_rev, rtol=1e-12, atol=1e-14), name
        t_fwd = best_of(lambda f=f, x=x: jacfwd(f)(x), number=3, repeat=5)
        t_rev = best_of(lambda f=f, x=x: jacrev(f)(x), number=3, repeat=5)
        (j_auto, choice) = jacobian(f, explain=True)(x)
        assert np.allclose(j_auto, j_rev, rtol=1e-12, atol=1e-14)
        t_auto = best_of(lambda f=f, x=x: jacobian(f)(x), number=3, repeat=5)
        slow, fast = max(t_fwd, t_rev), min(t_fwd, t_rev)
        estimate = max(n_in, n_out) / min(n_in, n_out)
        rows.append([name, "chainrule", n_in, n_out, f"{t_fwd * 1e3:.1f}", f"{t_rev * 1e3:.1f}",
                     f"{slow / fast:.0f}x", f"{estimate:.0f}x",
                     f"{choice.mode} ({choice.passes} passes), {t_auto * 1e3:.1f} ms"])
        if torch is not None:
            xt = torch.from_numpy(x)
            tf = torch_fns[name]
            tj_fwd, tj_rev = torch.func.jacfwd(tf)(xt), torch.func.jacrev(tf)(xt)
            assert np.allclose(tj_fwd.numpy(), j_fwd, rtol=1e-10, atol=1e-12), name
            assert np.allclose(tj_rev.numpy(), j_rev, rtol=1e-10, atol=1e-12), name
            tt_fwd = best_of(lambda tf=tf, xt=xt: torch.func.jacfwd(tf)(xt), number=3, repeat=5)
            tt_rev = best_of(lambda tf=tf, xt=xt: torch.func.jacrev(tf)(xt), number=3, repeat=5)
            rows.append([name, "torch.func (vmap)", n_in, n_out, f"{tt_fwd * 1e3:.1f}",
                         f"{tt_rev * 1e3:.1f}",
                         f"{max(tt_fwd, tt_rev) / min(tt_fwd, tt_rev):.1f}x", "-", "-"])
    print(machine())
    print(f"passes: jacfwd = inputs, jacrev = outputs; wide {N} vs 2, tall 2 vs {N}\n")
    print(table(["map", "engine", "inputs", "outputs", "jacfwd ms", "jacrev ms",
                 "slow/fast", "chapter estimate", "jacobian(mode='auto') picks"], rows))


if __name__ == "__main__":
    main()
