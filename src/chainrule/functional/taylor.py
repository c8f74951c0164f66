"""Taylor coefficients of a scalar function, to any order, from nested dual numbers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.functional.forward import jvp
from chainrule.functional.nesting import _export, _float_array, _returns_tensors
from chainrule.ops.indexing import stack
from chainrule.tensor import Tensor


def _derivatives(f: Callable, order: int) -> Callable:
    """x -> (f(x), f'(x), ..., f^(order)(x)), from one evaluation of f on ``order`` nested
    dual numbers: the jvp of (f, ..., f^(k-1)) is (f', ..., f^(k))."""
    if order == 0:
        return lambda x: (f(x),)
    lower = _derivatives(f, order - 1)

    def all_derivatives(x: Any) -> tuple:
        values, tangents = jvp(lower, (x,), (backend.ones(np.shape(x), like=x),))
        return (*values, tangents[-1])

    return all_derivatives


def taylor(f: Callable, x0: Any, order: int) -> Any:
    """Taylor coefficients ``c_k = f^(k)(x0) / k!``, k = 0..order, of f at scalar x0, so
    that f(x0 + h) ~ sum_k c_k h^k. Shape (order + 1,) + f's output shape.

    Computed by ``order`` nested jvp's in one evaluation of f; the nested dual numbers
    hold 2^order components, so the cost grows like 2^order evaluations of f (fine to
    order ~12). For f: R^n -> R along direction v use ``taylor(lambda t: f(x + t * v), 0.,
    order)``.
    """
    if not isinstance(order, int | np.integer) or order < 0:
        raise ValueError(f"taylor: order must be a non-negative int, got {order!r}")
    if np.ndim(x0) != 0:
        raise ValueError(f"taylor: x0 must be a scalar, got shape {np.shape(x0)}; for a "
                         "vector x0 expand along a direction v: taylor(lambda t: "
                         "f(x0 + t * v), 0.0, order)")
    as_tensor = _returns_tensors(x0)
    if not isinstance(x0, Tensor):
        x0 = _float_array(x0, "taylor", "x0")
    derivs = _derivatives(f, int(order))(x0)
    coeffs = [d / float(math.factorial(k)) for k, d in enumerate(derivs)]
    return _export(stack(coeffs), as_tensor)
