"""Forward mode: ``jvp`` (one pass carries a tangent) and ``hvp`` built on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.functional.nesting import (
    _as_tuple,
    _export,
    _float_array,
    _inside_transform,
    _levels,
    _returns_tensors,
    _split_aux,
    _takes_part,
)
from chainrule.functional.reverse import grad
from chainrule.tensor import Tensor, dual


def _unwrap(out: Any, level: int) -> tuple[Any, Any]:
    """(primal, tangent) of an output at ``level``; outputs without it have tangent 0."""
    if isinstance(out, Tensor) and out._fw is not None and out._fw[0] == level:
        return out._fw[1], out._fw[2]
    dtype = out.dtype if isinstance(out, Tensor | np.ndarray) and out.dtype.kind == "f" else None
    return out, np.zeros(np.shape(out), dtype or np.float64)


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple:
    """``(f(*primals), J tangents)``: the Jacobian-vector product by one forward pass.

    ``primals`` and ``tangents`` are tuples of matching shapes (one entry per argument of
    f). Tuple outputs give tuples of values and tangents. d out = sum_i (d f / d x_i) t_i.
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp: primals and tangents must be tuples, one entry per argument, "
                        "e.g. jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    as_tensor = _returns_tensors(*primals, *tangents)
    level = next(_levels)
    args = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        checked = _float_array(p, "jvp", i)
        p = p if _takes_part(p) else checked  # rules on raw arrays run at NumPy speed
        if not _takes_part(t):
            t = np.asarray(t.data if isinstance(t, Tensor) else t, dtype=p.dtype)
        if t.shape != p.shape:
            raise ValueError(f"jvp: tangent {i} has shape {t.shape}, its primal has shape "
                             f"{p.shape}")
        args.append(dual(level, p, t))
    with _inside_transform():
        out, aux = _split_aux(f(*args), has_aux, "jvp")
    outs, is_tuple = _as_tuple(out)
    pairs = [_unwrap(o, level) for o in outs]
    values = tuple(v for v, _ in pairs) if is_tuple else pairs[0][0]
    tans = tuple(t for _, t in pairs) if is_tuple else pairs[0][1]
    result = (_export(values, as_tensor), _export(tans, as_tensor))
    return (*result, _export(aux, as_tensor)) if has_aux else result


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product ``H(x) v`` of scalar ``f``, forward-over-reverse:
    ``jvp`` of ``grad(f)``, so about the cost of two gradients, the Hessian never formed."""
    return jvp(grad(f), (x,), (v,))[1]
