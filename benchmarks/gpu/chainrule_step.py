"""chainrule's row beside ``anchor.py``: the same SGD-with-momentum step of the same float32
MLPs, written with chainrule (``nn.MLP``, ``cross_entropy``, ``optim.SGD``) on CuPy arrays,
plus the per-op launch overhead of a forward + backward chain of tiny ops.

Needs an NVIDIA GPU, CuPy (``pip install 'chainrule[gpu]'``) and this repository on the
path: ``PYTHONPATH=src python benchmarks/gpu/chainrule_step.py`` (set ``OUT`` to a folder to
get ``gpu_chainrule.json``). Compare with ``anchor.py`` run on the same machine (targets: the
two large MLPs at most 1.10x PyTorch's step).

The labels are a host array, as ``chainrule train`` passes them: checked on the host, copied
to the GPU by the indexing (labels already on the GPU cost one wait per step for the range
check). No step reads a value back, so the timed loop never waits for the GPU but at the end.
"""
import json
import os
import time

import cupy as cp
import numpy as np

import chainrule as cr
from chainrule import nn, optim

print("chainrule", cr.__version__, "cupy", cp.__version__,
      cp.cuda.runtime.getDeviceProperties(0)["name"].decode())


def timeit(fn, n=20, warm=5):
    sync = cp.cuda.Device().synchronize
    for _ in range(warm):
        fn()
    sync()
    ts = []
    for _ in range(n):
        s = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - s)
    return float(np.median(ts))


def chainrule_step(B, sizes):
    model = nn.MLP(sizes, activation="relu", rng=0, dtype=np.float32).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = cr.randn(B, sizes[0], rng=1, dtype=np.float32, device="cuda")
    y = np.random.default_rng(2).integers(0, sizes[-1], B)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def tiny_chain():
    x = cr.ones(4, device="cuda", requires_grad=True)

    def step():  # 100 links of 3 ops, forward and backward, as anchor.py's torch row
        h = x
        for _ in range(100):
            h = cr.tanh(h * 1.0001 + 0.5)
        h.sum().backward()
    return step


rows = {}
for name, B, sizes in [("mnist-mlp B=256", 256, [784, 256, 256, 2]),
                       ("wide B=4096", 4096, [1024, 4096, 4096, 10]),
                       ("big B=8192", 8192, [4096, 4096, 4096, 4096, 10])]:
    t = timeit(chainrule_step(B, sizes))
    rows[name] = {"chainrule_ms": t * 1e3}
    print(f"{name:18s} chainrule {t * 1e3:8.3f} ms")
t = timeit(tiny_chain())
rows["tiny chain 100 links (3 ops) fwd+bwd"] = {"chainrule_us_per_op": t / 300 * 1e6}
print(f"tiny chain: chainrule {t / 300 * 1e6:.1f} us/op fwd+bwd")
if os.environ.get("OUT"):
    with open(os.path.join(os.environ["OUT"], "gpu_chainrule.json"), "w") as f:
        json.dump(rows, f, indent=1)
