"""Forward mode: ``jvp`` (one pass carries a tangent) and ``hvp`` built on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import autograd, backend
from chainrule.batching import is_batched
from chainrule.functional.nesting import (
    _export,
    _float_array,
    _inside_transform,
    _labels,
    _levels,
    _returns_tensors,
    _split_aux,
    _takes_part,
)
from chainrule.functional.reverse import grad
from chainrule.tensor import Tensor, dual
from chainrule.tree import tree_flatten, tree_leaves_with_path, tree_structure, tree_unflatten
from chainrule.versions import current_tangent


def _unwrap(out: Any, level: int) -> tuple[Any, Any]:
    """(primal, tangent) of an output at ``level``; outputs without it have tangent 0."""
    if isinstance(out, Tensor) and out._fw is not None and out._fw[0] == level:
        tangent = current_tangent(out, "jvp")
        if tangent.dtype.kind == "c":
            raise autograd.complex_error("jvp: an output's tangent is complex")
        return out._fw[1], tangent
    if not (isinstance(out, Tensor | np.ndarray | np.generic | int | float | complex)
            or backend.on_device(out)):
        return out, None  # not an array (a string, an object): no tangent
    dtype = out.dtype if hasattr(out, "dtype") and out.dtype.kind == "f" else None
    return out, backend.zeros(np.shape(out), dtype, like=out)


def _dual_input(p: Any, t: Any, level: int, path: str) -> Tensor:
    checked = _float_array(p, "jvp", path)
    p = p if _takes_part(p) or is_batched(p) else checked  # raw arrays: NumPy speed
    if not _takes_part(t) and not is_batched(t):
        t = t.data if isinstance(t, Tensor) else t
        backend.check_same_device(f"jvp: the tangent of {path}", (p, t))
        t = backend.as_array(t, dtype=p.dtype)
    if t.shape != p.shape:
        raise ValueError(f"jvp: the tangent of {path} has shape {t.shape}, the primal has "
                         f"shape {p.shape}")
    return dual(level, p, t)


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple:
    """``(f(*primals), J tangents)``: the Jacobian-vector product by one forward pass.

    ``primals`` and ``tangents`` are tuples with one entry per argument of f; each entry
    may be a container of arrays (:mod:`chainrule.tree`), and each tangent must have its
    primal's structure and shapes. The output's value and tangent have f's output
    structure. d out = sum_i (d f / d x_i) t_i.
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp: primals and tangents must be tuples, one entry per argument, "
                        "e.g. jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    primals, tangents = tuple(primals), tuple(tangents)
    p_def, t_def = tree_structure(primals), tree_structure(tangents)
    if p_def != t_def:
        raise ValueError(f"jvp: the tangents have structure {t_def}, the primals have "
                         f"structure {p_def}; give one tangent per primal leaf")
    as_tensor = _returns_tensors(*primals, *tangents)
    level = next(_levels)
    labels = _labels(f, len(primals))
    paths = [p for i, arg in enumerate(primals) for p, _ in tree_leaves_with_path(arg, labels[i])]
    args = [_dual_input(p, t, level, path)
            for (p, t, path) in zip(tree_flatten(primals)[0], tree_flatten(tangents)[0], paths)]
    with _inside_transform():
        out, aux = _split_aux(f(*tree_unflatten(p_def, args)), has_aux, "jvp")
    outs, out_def = tree_flatten(out)
    pairs = [_unwrap(o, level) for o in outs]
    values = tree_unflatten(out_def, [v for v, _ in pairs])
    tans = tree_unflatten(out_def, [t for _, t in pairs])
    result = (_export(values, as_tensor), _export(tans, as_tensor))
    return (*result, _export(aux, as_tensor)) if has_aux else result


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product ``H(x) v`` of scalar ``f``, forward-over-reverse:
    ``jvp`` of ``grad(f)``, so about the cost of two gradients, the Hessian never formed.
    ``x`` may be a container; ``v`` then has its structure, and so has the result."""
    return jvp(grad(f), (x,), (v,))[1]
