"""``cost_profile``: what a backward pass costs next to its forward pass.

The chapter's rule of thumb: a reverse-mode gradient costs a small constant
times the function, about 2x-3x (each primitive's vjp does about as much work
as its forward, often twice as much: ``matmul`` needs two products, one per
input). This measures it for a given function, and the peak memory the graph
holds for backward (:mod:`chainrule.memory`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import autograd, memory
from chainrule.tensor import Tensor

__all__ = ["CostProfile", "cost_profile"]


@dataclass(frozen=True)
class CostProfile:
    """Seconds (the fastest run) of the forward pass (recording), of the backward pass, their
    ratio, the forward without recording, and the peak bytes held for backward
    (all arrays, and the activations alone: leaf tensors left out)."""

    forward_s: float
    backward_s: float
    ratio: float
    forward_no_grad_s: float
    peak_bytes: int
    peak_activation_bytes: int
    nodes: int

    def __str__(self) -> str:
        return (f"forward {self.forward_s * 1e3:.3f} ms (without recording "
                f"{self.forward_no_grad_s * 1e3:.3f} ms), backward {self.backward_s * 1e3:.3f} ms"
                f": backward/forward = {self.ratio:.2f} (rule of thumb: 2-3); {self.nodes} nodes "
                f"held {self.peak_bytes / 2**20:.3f} MiB at the peak "
                f"({self.peak_activation_bytes / 2**20:.3f} MiB of activations)")


def cost_profile(fn: Callable[..., Any], *args: Any, repeat: int = 5) -> CostProfile:
    """Time ``fn(*args)`` and the backward pass of its result (gradients of every leaf
    that requires grad, returned, not accumulated into ``.grad``): the fastest of
    ``repeat`` runs after one warm-up, as ``timeit`` does (load from other processes only
    adds time). A non-scalar result is differentiated with a cotangent of ones."""
    if repeat < 1:
        raise ValueError(f"cost_profile: repeat must be >= 1, got {repeat}")
    forward, backward, plain = [], [], []
    _backward(fn(*args))  # warm-up: first-call costs (imports, allocations) are not the op's
    for _ in range(repeat):
        with autograd.no_grad():
            t0 = time.perf_counter()
            fn(*args)
            plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = fn(*args)
        t1 = time.perf_counter()
        _backward(out)
        backward.append(time.perf_counter() - t1)
        forward.append(t1 - t0)
    with memory.track() as everything, memory.track(leaves=False) as activations:
        _backward(fn(*args))
    f, b = min(forward), min(backward)
    return CostProfile(f, b, b / f if f > 0 else float("inf"), min(plain),
                       everything.peak, activations.peak, everything.nodes)


def _backward(out: Any) -> None:
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ValueError("cost_profile: fn must return a Tensor that depends on an input "
                         "with requires_grad=True")
    leaves = [t for t in memory.graph_tensors(out) if t._node is None]
    autograd.grad(out, leaves, np.ones(out.shape, out.dtype))
