"""Derivative checks: central finite differences, ``gradcheck`` (reverse mode, forward mode,
and the derivatives of the vjp and jvp themselves) and a comparison with PyTorch.

Central differences in float64, ``(f(x + eps e) - f(x - eps e)) / (2 eps)``, have error
O(eps^2 f''') + ``O(machine eps * |f| / eps)``; with eps = 1e-6 that is about 1e-10 relative,
far below the default tolerances, so a failed check means a wrong rule, not noise (unless f
has a kink or a discontinuity within eps of the point).

``gradcheck`` follows JAX's ``check_grads`` (``modes``, ``order``) and PyTorch's
``gradcheck`` (element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``,
raises by default). It returns a :class:`GradcheckReport` either way.

(This module checks chainrule's own derivatives. The ``chainrule check`` command is
something else: it judges a reader's answers to the exercises, see
:mod:`chainrule.exercises.checker`.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from chainrule.functional import jacfwd, jacrev, jvp, vjp
from chainrule.ops.indexing import concatenate
from chainrule.ops.shape import reshape
from chainrule.tensor import Tensor
from chainrule.tree import (
    tree_flatten,
    tree_leaves,
    tree_leaves_with_path,
    tree_structure,
    tree_unflatten,
)

__all__ = ["Check", "GradcheckError", "GradcheckReport", "compare_with_torch", "gradcheck",
           "numerical_jacobian"]


@dataclass(frozen=True)
class Check:
    """One comparison of derivatives against finite differences.

    ``name`` is the mode checked ("rev", "fwd", or for order 2 e.g. "rev of fwd": the
    reverse-mode derivative of the jvp); ``kind`` is "full Jacobian" or "random
    directions"; ``worst`` names the element with the largest error relative to its
    tolerance, whose values are ``analytic`` and ``numeric``.
    """

    name: str
    kind: str
    max_abs_error: float
    max_rel_error: float
    worst: str
    analytic: float
    numeric: float
    passed: bool

    def __str__(self) -> str:
        verdict = "ok  " if self.passed else "FAIL"
        return (f"{verdict} {self.name:<12} {self.kind:<17} max abs err {self.max_abs_error:.2e}"
                f"  max rel err {self.max_rel_error:.2e}  worst {self.worst}: analytic "
                f"{self.analytic:.10g}, numeric {self.numeric:.10g}")


@dataclass(frozen=True)
class GradcheckReport:
    """All checks of one ``gradcheck`` call; ``passed`` when every one passed."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def max_abs_error(self) -> float:
        return max(c.max_abs_error for c in self.checks)

    @property
    def max_rel_error(self) -> float:
        return max(c.max_rel_error for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self.checks)


class GradcheckError(AssertionError):
    """Derivatives disagree with finite differences; ``report`` holds the details."""

    def __init__(self, report: GradcheckReport) -> None:
        self.report = report
        worst = report.failures[0]
        super().__init__(f"gradcheck failed: {worst.name} derivative at {worst.worst} is "
                         f"{worst.analytic:.10g}, finite differences give {worst.numeric:.10g}"
                         f"\n{report}")


# ----- finite differences ---------------------------------------------------------------------
def _as_float64(x: Any) -> np.ndarray:
    return np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64)


def _flat(f: Callable) -> Callable:
    """f with its output's leaves (one array, or a container of them) raveled and joined into
    one vector (works on arrays and Tensors)."""

    def flat_f(*xs: Any) -> Any:
        return concatenate([reshape(o, (-1,)) for o in tree_leaves(f(*xs))])

    return flat_f


def _evaluate(f: Callable, xs: Sequence[np.ndarray]) -> np.ndarray:
    out = f(*xs)
    return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def numerical_jacobian(f: Callable, *inputs: Any, eps: float = 1e-6) -> list[np.ndarray]:
    """Central-difference Jacobians of f's raveled (and joined, for tuples) output, one
    ``(outputs, input size)`` matrix per input, in float64: 2 evaluations per element."""
    xs = [_as_float64(x) for x in inputs]
    flat_f = _flat(f)
    jacobians = []
    for a, x in enumerate(xs):
        columns = []
        for j in range(x.size):
            plus, minus = [v.copy() for v in xs], [v.copy() for v in xs]
            plus[a].flat[j] += eps
            minus[a].flat[j] -= eps
            columns.append((_evaluate(flat_f, plus) - _evaluate(flat_f, minus)) / (2 * eps))
        m = _evaluate(flat_f, xs).size
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((m, 0)))
    return jacobians


def _directional_difference(flat_f: Callable, xs: list[np.ndarray], vs: list[np.ndarray],
                            eps: float) -> np.ndarray:
    plus = [x + eps * v for x, v in zip(xs, vs)]
    minus = [x - eps * v for x, v in zip(xs, vs)]
    return (_evaluate(flat_f, plus) - _evaluate(flat_f, minus)) / (2 * eps)


# ----- comparing ------------------------------------------------------------------------------
def _compare(name: str, kind: str, analytic: np.ndarray, numeric: np.ndarray,
             where: Callable[[int], str], atol: float, rtol: float) -> Check:
    a, n = np.ravel(analytic), np.ravel(numeric)
    if a.size == 0:
        return Check(name, kind, 0.0, 0.0, "-", 0.0, 0.0, True)
    err = np.abs(a - n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / np.maximum(np.abs(a), np.abs(n)))
        excess = err / (atol + rtol * np.abs(n))
    excess = np.where(np.isnan(excess), np.inf, excess)  # a NaN on either side fails
    i = int(np.argmax(excess))
    return Check(name, kind, float(np.max(err)), float(np.max(rel)), where(i), float(a[i]),
                 float(n[i]), bool(excess[i] <= 1))


def _index(flat: int, shape: tuple) -> str:
    return str([int(i) for i in np.unravel_index(flat, shape)]) if shape else "[]"


def _full_checks(mode: str, flat_f: Callable, xs: list[np.ndarray], labels: list[str],
                 out_shape: tuple, eps: float, atol: float, rtol: float) -> list[Check]:
    argnums = tuple(range(len(xs)))
    jac = (jacrev if mode == "rev" else jacfwd)(flat_f, argnums)(*xs)
    numeric = numerical_jacobian(flat_f, *xs, eps=eps)
    checks = []
    for label, x, j_a, n_a in zip(labels, xs, jac, numeric):
        def where(i: int, label: str = label, x: np.ndarray = x) -> str:
            row, col = divmod(i, max(x.size, 1))
            return f"d out{_index(row, out_shape)} / d input {label}{_index(col, x.shape)}"

        checks.append(_compare(mode, "full Jacobian", np.reshape(j_a, n_a.shape), n_a, where,
                               atol, rtol))
    return checks


def _direction_checks(mode: str, flat_f: Callable, xs: list[np.ndarray], m: int, eps: float,
                      atol: float, rtol: float, n_directions: int,
                      rng: np.random.Generator) -> list[Check]:
    analytic, numeric = [], []
    for _ in range(n_directions):
        vs = [rng.standard_normal(x.shape) for x in xs]
        u = rng.standard_normal(m)
        numeric.append(u @ _directional_difference(flat_f, xs, vs, eps))
        if mode == "rev":
            cots = vjp(flat_f, *xs)[1](u)
            analytic.append(sum(float(np.sum(c * v)) for c, v in zip(cots, vs)))
        else:
            analytic.append(float(u @ np.asarray(jvp(flat_f, tuple(xs), tuple(vs))[1])))
    return [_compare(mode, "random directions", np.array(analytic), np.array(numeric),
                     lambda i: f"u^T J v, direction {i}", atol, rtol)]


def _derivative_function(mode: str, flat_f: Callable, n: int) -> Callable:
    """The first derivative as a function of (inputs, direction): the vjp (rev) or the jvp
    (fwd) of f, so that checking it checks the second derivative."""
    if mode == "rev":
        return lambda *a: vjp(flat_f, *a[:n])[1](a[n])
    return lambda *a: jvp(flat_f, tuple(a[:n]), tuple(a[n:]))[1]


def gradcheck(f: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, modes: str | Sequence[str] = ("fwd", "rev"), order: int = 1,
              max_full_size: int = 100, n_directions: int = 3, seed: int = 0,
              raise_on_fail: bool = True) -> GradcheckReport:
    """Check f's derivatives at ``inputs`` against central finite differences in float64.

    ``inputs`` may be containers of arrays (:mod:`chainrule.tree`), and f may return one;
    every leaf is checked (as float64), and a failure names the leaf by its path
    (``d out[0] / d input 0['W'][1, 2]``).

    ``modes``: "rev" checks vjps (reverse mode), "fwd" jvps (forward mode). When the
    inputs and the output each have at most ``max_full_size`` elements the whole Jacobian
    is compared element by element; otherwise ``n_directions`` random projections
    ``u^T J v`` are. ``order=2`` also checks, for each mode, the derivatives of the vjp
    (as a function of inputs and cotangent) and of the jvp (of inputs and tangents) in
    every mode, as JAX's ``check_grads(order=2)`` does; higher orders recurse.

    An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``. Returns a
    :class:`GradcheckReport`; on failure raises :class:`GradcheckError` naming the worst
    element, unless ``raise_on_fail=False`` (as PyTorch's ``raise_exception``).
    """
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"gradcheck: mode {mode!r} is not 'fwd' or 'rev'")
    if not inputs:
        raise ValueError("gradcheck: give at least one input")
    leaves, in_def = tree_flatten(inputs)
    if not leaves:
        raise ValueError(f"gradcheck: the inputs {in_def} hold no arrays")
    labels = [path for i, x in enumerate(inputs) for path, _ in tree_leaves_with_path(x, str(i))]
    xs = [_as_float64(x) for x in leaves]
    flat_f = _flat(lambda *ls: f(*tree_unflatten(in_def, ls)))
    first = f(*tree_unflatten(in_def, xs))
    m = _evaluate(flat_f, xs).size
    out_shape = np.shape(first) if tree_structure(first).kind == "leaf" else (m,)
    rng = np.random.default_rng(seed)
    full = sum(x.size for x in xs) <= max_full_size and m <= max_full_size
    checks: list[Check] = []
    for mode in modes:
        if full:
            checks += _full_checks(mode, flat_f, xs, labels, out_shape, eps, atol, rtol)
        else:
            checks += _direction_checks(mode, flat_f, xs, m, eps, atol, rtol, n_directions, rng)
    if order > 1:
        for inner in modes:
            extra = ([rng.standard_normal(m)] if inner == "rev"
                     else [rng.standard_normal(x.shape) for x in xs])
            sub = gradcheck(_derivative_function(inner, flat_f, len(xs)), *xs, *extra, eps=eps,
                            atol=atol, rtol=rtol, modes=modes, order=order - 1,
                            max_full_size=max_full_size, n_directions=n_directions, seed=seed,
                            raise_on_fail=False)
            checks += [replace(c, name=f"{c.name} of {inner}") for c in sub.checks]
    report = GradcheckReport(tuple(checks))
    if raise_on_fail and not report.passed:
        raise GradcheckError(report)
    return report


# ----- PyTorch ----------------------------------------------------------------------------------
def compare_with_torch(f_chainrule: Callable, f_torch: Callable, *inputs: Any,
                       seed: int = 0) -> float | None:
    """The largest relative difference between chainrule and PyTorch (CPU, float64) on f's
    value and its gradients with respect to every input, or None when PyTorch is not
    installed.

    Each array is compared normwise: ``max|a - b| / max|b|``. A non-scalar output is
    differentiated along a random cotangent (seeded), the same for both.
    """
    try:
        import torch
    except ImportError:
        return None
    xs = [_as_float64(x) for x in inputs]
    out, vjp_fn = vjp(f_chainrule, *xs)
    out = np.asarray(out, dtype=np.float64)
    u = np.random.default_rng(seed).standard_normal(out.shape)
    grads = vjp_fn(u)
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    out_t = f_torch(*ts)
    if tuple(out_t.shape) != out.shape:
        raise ValueError(f"compare_with_torch: chainrule's output has shape {out.shape}, "
                         f"PyTorch's {tuple(out_t.shape)}")
    grads_t = torch.autograd.grad(out_t, ts, grad_outputs=torch.tensor(u), allow_unused=True)
    pairs = [(out, out_t.detach().numpy())]
    pairs += [(np.asarray(g), np.zeros(x.shape) if gt is None else gt.numpy())
              for g, gt, x in zip(grads, grads_t, xs)]
    worst = 0.0
    for a, b in pairs:
        if b.size:
            scale = float(np.max(np.abs(b)))
            diff = float(np.max(np.abs(a - b)))
            worst = max(worst, diff / scale if scale > 0 else diff)
    return worst
