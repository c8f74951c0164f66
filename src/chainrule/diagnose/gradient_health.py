"""Gradient health: per-layer norms, and how the input gradient scales with depth.

``gradient_norms(model)`` lists, per parameter, ||grad||, ||weight|| and their
ratio (about the relative change one SGD step of rate 1 makes), and flags
*vanishing* layers (gradient norm a tiny fraction of the largest layer's) and
*exploding* ones (gradient norm huge or not finite).

``tanh_depth_profile(weights, x)`` measures exercise 34. For
h_l = tanh(h_{l-1} W_l), the Jacobian of layer l's output with respect to the
input is a product of per-layer Jacobians,

    d h_l / d x = prod_{k <= l} diag(tanh'(z_k)) W_k^T,

so its spectral norm obeys

    || d h_l / d x || <= prod_k ||W_k|| * prod_k max |tanh'(z_k)| <= prod_k ||W_k||.

The profile gives, for every depth l, the measured norm (the Jacobian computed
by forward mode, one ``jvp`` per input direction, all depths at once), the
tighter bound and the chapter's bound prod ||W_k||: it shrinks geometrically
when every ||W_k|| < 1 (vanishing gradients) and can grow when ||W_k|| > 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import functional
from chainrule.diagnose.why_no_grad import named_parameters
from chainrule.ops.elementwise import tanh
from chainrule.ops.linalg import matmul
from chainrule.tensor import Tensor

__all__ = ["DepthProfile", "LayerNorm", "NormReport", "gradient_norms", "tanh_depth_profile"]


@dataclass(frozen=True)
class LayerNorm:
    """One parameter's norms; ``flag`` is '', 'vanishing', 'exploding' or 'no gradient'."""

    name: str
    shape: tuple[int, ...]
    weight_norm: float
    grad_norm: float
    ratio: float
    flag: str


class NormReport(list):
    """A list of :class:`LayerNorm`, printed as a table."""

    def __str__(self) -> str:
        rows = [f"{'parameter':<24} {'shape':<12} {'|w|':>10} {'|grad|':>10} "
                f"{'|grad|/|w|':>11}  flag"]
        for r in self:
            rows.append(f"{r.name:<24} {str(r.shape):<12} {r.weight_norm:>10.3g} "
                        f"{r.grad_norm:>10.3g} {r.ratio:>11.3g}  {r.flag}")
        return "\n".join(rows)

    @property
    def flagged(self) -> list[LayerNorm]:
        """The rows with a flag."""
        return [r for r in self if r.flag]


def gradient_norms(model_or_params: Any, vanishing: float = 1e-3,
                   exploding: float = 1e3) -> NormReport:
    """Per-parameter weight and gradient norms (from ``.grad``, after ``backward``).

    A layer is flagged ``vanishing`` when its gradient norm is below
    ``vanishing`` times the largest gradient norm of all layers (or exactly 0),
    and ``exploding`` when it is above ``exploding`` or not finite.
    """
    named = named_parameters(model_or_params)
    norms = []
    for name, p in named:
        g = p.grad
        gn = float("nan") if g is None else float(np.linalg.norm(_array(g)))
        norms.append((name, p, gn))
    finite = [gn for _, _, gn in norms if np.isfinite(gn)]
    largest = max(finite, default=0.0)
    report = NormReport()
    for name, p, gn in norms:
        wn = float(np.linalg.norm(p._data))
        if p.grad is None:
            flag = "no gradient"
        elif not np.isfinite(gn) or gn > exploding:
            flag = "exploding"
        elif gn == 0 or gn < vanishing * largest:
            flag = "vanishing"
        else:
            flag = ""
        ratio = gn / wn if wn > 0 else float("inf") if gn > 0 else 0.0
        report.append(LayerNorm(name, p.shape, wn, gn, ratio, flag))
    return report


def _array(g: Any) -> np.ndarray:
    return g._data if isinstance(g, Tensor) else np.asarray(g)


@dataclass(frozen=True)
class DepthProfile:
    """Exercise 34, per depth l = 1..L: ``measured`` ||d h_l / d x||_2, ``tanh_bound``
    prod_k ||W_k|| max|tanh'(z_k)|, and ``bound`` prod_k ||W_k||_2."""

    measured: np.ndarray
    tanh_bound: np.ndarray
    bound: np.ndarray

    def __str__(self) -> str:
        rows = [f"{'depth':>5} {'measured |dh/dx|':>17} {'prod |W| max tanh':>18} "
                f"{'prod |W|':>10}"]
        for i, (m, t, b) in enumerate(zip(self.measured, self.tanh_bound, self.bound), 1):
            rows.append(f"{i:>5} {m:>17.4g} {t:>18.4g} {b:>10.4g}")
        return "\n".join(rows)


def tanh_depth_profile(weights: Sequence[Any], x: Any) -> DepthProfile:
    """The input-Jacobian norm of h_l = tanh(h_{l-1} @ W_l) at every depth, next to the
    bounds of exercise 34. ``weights`` are the (n_{l-1}, n_l) matrices (arrays or
    Tensors, e.g. the ``weight`` of each ``Linear``), ``x`` one input vector (n_0,)."""
    ws = [np.asarray(_array(w), dtype=np.float64) for w in weights]
    x = np.asarray(_array(x), dtype=np.float64)
    if not ws:
        raise ValueError("tanh_depth_profile: no weights given")
    if x.ndim != 1 or x.shape[0] != ws[0].shape[0]:
        raise ValueError(f"tanh_depth_profile: x must be one input vector of length "
                         f"{ws[0].shape[0]} (the first weight is {ws[0].shape}), got shape "
                         f"{x.shape}")
    for k, (a, b) in enumerate(zip(ws, ws[1:])):
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"tanh_depth_profile: weight {k} has shape {a.shape} but "
                             f"weight {k + 1} has shape {b.shape}")

    def layers(v: Any) -> tuple:
        outs = []
        for w in ws:
            v = tanh(matmul(v, w))
            outs.append(v)
        return tuple(outs)

    jacobians = functional.jacfwd(layers)(x)
    measured = np.array([np.linalg.norm(_array(j), 2) for j in jacobians])
    w_norms = np.array([np.linalg.norm(w, 2) for w in ws])
    slopes, h = [], x
    for w in ws:
        z = h @ w
        slopes.append(np.max(1 - np.tanh(z) ** 2))
        h = np.tanh(z)
    return DepthProfile(measured, np.cumprod(w_norms * np.array(slopes)), np.cumprod(w_norms))
