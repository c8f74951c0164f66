"""Forward vs reverse mode for a full Jacobian (the chapter's exercises 18 and 19).

Two smooth maps, the same mathematics in chainrule and in PyTorch:

* ``wide``: R^1000 -> R^2, F(x) = (sum sin(x) * x, log sum exp(x / 10) + mean(tanh(x))^2);
* ``tall``: R^2 -> R^1000, F(a, b)_i = sin(a t_i) exp(-b t_i) + tanh(a + b t_i), t = linspace.

Each Jacobian is built by ``jacfwd`` (a jvp per input: a column per pass) and ``jacrev``
(a vjp per output: a row per pass over one recorded graph). The chapter estimates the wrong
mode at about 1000 / 2 = 500x the cost of the right one when each pass runs on its own
("looped" rows: one Python-level jvp or vjp call per basis vector, as chainrule did before
``vmap``). ``jacfwd``/``jacrev`` now push the whole basis through one vmapped pass, as
``torch.func.jacfwd``/``jacrev`` do, so the wrong mode costs a few large NumPy calls
instead of a thousand small ones. The script checks the Jacobians against each other and
PyTorch, and that ``jacobian(mode="auto")`` picks the cheaper mode. Times are wall-clock
and CPU time of this process (steadier on a loaded machine), best of several repeats.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/jacobian.py
"""

from __future__ import annotations

import numpy as np
from timing import best_cpu_of, best_of, machine, table

import chainrule as cr
from chainrule.functional import jacfwd, jacobian, jacrev, jvp, vjp

N = 1000
T = np.linspace(0.0, 2.0, N)


def wide(x):
    return cr.stack([cr.sum(cr.sin(x) * x), cr.logsumexp(x / 10) + cr.mean(cr.tanh(x)) ** 2])


def tall(x):
    a, b = x[0], x[1]
    return cr.sin(a * T) * cr.exp(-b * T) + cr.tanh(a + b * T)


def looped_jacfwd(f):
    return lambda x: np.stack([jvp(f, (x,), (e,))[1] for e in np.eye(x.size)], axis=-1)


def looped_jacrev(f):
    def jac(x):
        out, vjp_fn = vjp(f, x)
        return np.stack([vjp_fn(e)[0] for e in np.eye(np.size(out))])
    return jac


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


def timed(fn) -> tuple[float, float]:
    """(wall ms, CPU ms) per call."""
    return (best_of(fn, number=3, repeat=5) * 1e3, best_cpu_of(fn, number=3, repeat=5) * 1e3)


def row(name, engine, n_in, n_out, fwd, rev, extra="-"):
    slow, fast = max(fwd[1], rev[1]), min(fwd[1], rev[1])
    return [name, engine, n_in, n_out, f"{fwd[0]:.1f} / {fwd[1]:.1f}",
            f"{rev[0]:.1f} / {rev[1]:.1f}", f"{slow / fast:.1f}x", extra]


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
        assert np.array_equal(looped_jacfwd(f)(x), j_fwd), name
        assert np.allclose(looped_jacrev(f)(x), j_rev, rtol=1e-13, atol=1e-15), name
        (j_auto, choice) = jacobian(f, explain=True)(x)
        assert np.allclose(j_auto, j_rev, rtol=1e-12, atol=1e-14)
        t_auto = timed(lambda f=f, x=x: jacobian(f)(x))
        rows.append(row(name, "chainrule looped", n_in, n_out,
                        timed(lambda f=f, x=x: looped_jacfwd(f)(x)),
                        timed(lambda f=f, x=x: looped_jacrev(f)(x))))
        rows.append(row(name, "chainrule vmap", n_in, n_out,
                        timed(lambda f=f, x=x: jacfwd(f)(x)),
                        timed(lambda f=f, x=x: jacrev(f)(x)),
                        f"{choice.mode}, {t_auto[0]:.1f} / {t_auto[1]:.1f} ms"))
        if torch is not None:
            xt = torch.from_numpy(x)
            tf = torch_fns[name]
            tj_fwd, tj_rev = torch.func.jacfwd(tf)(xt), torch.func.jacrev(tf)(xt)
            assert np.allclose(tj_fwd.numpy(), j_fwd, rtol=1e-10, atol=1e-12), name
            assert np.allclose(tj_rev.numpy(), j_rev, rtol=1e-10, atol=1e-12), name
            rows.append(row(name, "torch.func (vmap)", n_in, n_out,
                            timed(lambda tf=tf, xt=xt: torch.func.jacfwd(tf)(xt)),
                            timed(lambda tf=tf, xt=xt: torch.func.jacrev(tf)(xt))))
    print(machine())
    print(f"passes: jacfwd = inputs, jacrev = outputs; wide {N} vs 2, tall 2 vs {N}; "
          "times wall / CPU ms, slow/fast on CPU time\n")
    print(table(["map", "engine", "inputs", "outputs", "jacfwd ms", "jacrev ms", "slow/fast",
                 "jacobian(mode='auto') picks"], rows))


if __name__ == "__main__":
    main()
