"""Gradient checkpointing: memory held for backward and step time, plain vs sqrt(L) segments.

MLPs of L = 16, 64 and 100 blocks (Linear(W, W) + tanh), batch B, float64. For each: the
peak bytes of activations the graph holds for backward (``chainrule.memory.track``, leaf
tensors, i.e. the input and the parameters, left out), measured over a whole forward and
backward pass, and the time of one step (forward + backward, best of several), for the
plain graph and for ``checkpoint_sequential`` with round(sqrt(L)) segments.

The chapter's estimate (exercise 35, Chen et al. 2016): plain backprop holds all L layers'
activations; with a checkpoint every sqrt(L) layers it holds the sqrt(L) segment inputs plus
one segment's sqrt(L) layers while that segment is recomputed: about 2 sqrt(L) layers, for
one extra forward pass (step time x ~4/3 when backward costs about two forwards). "Layers
held" below is the measured peak divided by one block's activations (its two saved arrays:
the block input kept by the fused linear, x W + b kept by tanh).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/checkpoint.py
"""

from __future__ import annotations

import math
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import best_of, machine, table  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import memory  # noqa: E402
from chainrule.checkpoint import checkpoint_sequential  # noqa: E402
from chainrule.nn import Linear, Tanh  # noqa: E402

WIDTH, BATCH = 256, 64
DEPTHS = (16, 64, 100)


def blocks(depth: int) -> list:
    layers = []
    for i in range(depth):
        layers += [Linear(WIDTH, WIDTH, init="xavier", rng=i), Tanh()]
    return layers


def step(layers: list, x: cr.Tensor, segments: int | None) -> None:
    """One forward and backward pass (``segments=None``: no checkpointing)."""
    if segments is None:
        h = x
        for layer in layers:
            h = layer(h)
    else:
        h = checkpoint_sequential(layers, segments, x)
    (h * h).mean().backward()


def measure(depth: int) -> list:
    layers = blocks(depth)
    x = cr.randn(BATCH, WIDTH, rng=0)
    segments = round(math.sqrt(depth))
    per_block = 2 * BATCH * WIDTH * 8
    row = [depth, segments]
    peaks, times = [], []
    for seg in (None, segments):
        with memory.track(leaves=False) as mem:
            step(layers, x, seg)
        peaks.append(mem.peak)
        times.append(best_of(lambda seg=seg: step(layers, x, seg), number=1, repeat=5))
    held = [p / per_block for p in peaks]
    row += [f"{peaks[0] / 2**20:.1f}", f"{peaks[1] / 2**20:.1f}", f"{peaks[0] / peaks[1]:.1f}x",
            f"{held[0]:.1f} / {held[1]:.1f}", f"{depth} / {2 * math.sqrt(depth):.0f}",
            f"{times[0] * 1e3:.0f}", f"{times[1] * 1e3:.0f}", f"{times[1] / times[0]:.2f}x"]
    return row


def main() -> None:
    headers = ["L", "segments", "plain MiB", "ckpt MiB", "saving", "layers held plain / ckpt",
               "estimate L / 2 sqrt L", "plain step ms", "ckpt step ms", "time ratio"]
    rows = [measure(depth) for depth in DEPTHS]
    print(f"Width {WIDTH}, batch {BATCH}, float64; {machine()}")
    print()
    print(table(headers, rows))


if __name__ == "__main__":
    main()
