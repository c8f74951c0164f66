"""NumPy protocols: ``np.exp(t)``, ``np.sum(t, axis=0)``, ``np.concatenate([t, u])``
on Tensors call chainrule's primitives, so they are differentiable."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np


@cache
def ufuncs() -> dict[np.ufunc, Callable]:
    """NumPy ufunc -> chainrule primitive, gathered from the ``NUMPY`` table of every module
    in :mod:`chainrule.ops` (built on first use: ops imports Tensor)."""
    return {k: v for k, v in _tables().items() if isinstance(k, np.ufunc)}


@cache
def functions() -> dict[Callable, Callable]:
    """NumPy function (``np.sum``, ``np.linalg.inv``) -> chainrule function."""
    return {k: v for k, v in _tables().items() if not isinstance(k, np.ufunc)}


def _tables() -> dict[Callable, Callable]:
    from chainrule import ops

    table: dict[Callable, Callable] = {}
    for module in ops.MODULES:
        table.update(module.NUMPY)
    return table


def _raw(x: Any) -> Any:
    from chainrule.tensor import Tensor

    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, list | tuple):
        return type(x)(_raw(i) for i in x)
    return x


def _tensors(values: Any) -> tuple:
    """The Tensors in ``values`` (nested lists and tuples included)."""
    from chainrule.tensor import Tensor

    if isinstance(values, Tensor):
        return (values,)
    if isinstance(values, list | tuple):
        return tuple(t for v in values for t in _tensors(v))
    return ()


def _needs_grad(values: Any) -> bool:
    from chainrule.tensor import Tensor

    if isinstance(values, Tensor):
        return values.requires_grad or values._fw is not None
    if isinstance(values, list | tuple):
        return any(_needs_grad(v) for v in values)
    if isinstance(values, dict):
        return any(_needs_grad(v) for v in values.values())
    return False


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    impl = ufuncs().get(ufunc)
    if method == "__call__" and impl is not None and not kwargs:
        return impl(*inputs)
    if (_needs_grad(inputs) or _needs_grad(kwargs)) and not _answers_bool(ufunc):
        raise TypeError(f"np.{ufunc.__name__} ({method}) is not differentiable in chainrule; "
                        "use chainrule's functions, or apply it to t.data")
    result = getattr(ufunc, method)(*_raw(inputs), **{k: _raw(v) for k, v in kwargs.items()})
    if ufunc.nout == 1 and isinstance(result, np.ndarray) and result.dtype.kind == "f":
        from chainrule.tensor import make

        return make(result, None)
    return result


def _answers_bool(ufunc: np.ufunc) -> bool:
    """Comparisons, isfinite, logical_and...: a boolean answer has no gradient to lose."""
    return all(t.endswith("->?") for t in ufunc.types if "O" not in t)


# Questions about the array, not computations on it (no gradient to lose): answered from
# the data, as the comparison operators and argmax are.
QUERIES = frozenset({
    np.shape, np.ndim, np.size, np.result_type, np.argmax, np.argmin, np.argsort, np.nonzero,
    np.flatnonzero, np.count_nonzero, np.any, np.all, np.isclose, np.allclose, np.array_equal,
})


def array_function(func: Callable, args: tuple, kwargs: dict) -> Any:
    if func in QUERIES:
        result = func(*_raw(args), **kwargs)
        if _needs_grad(args):  # np.argmax(t): a plain answer, cut from the graph
            from chainrule import cutlog

            cutlog.cut(f"numpy: np.{func.__name__}", _tensors(args), result, depth=2)
        return result
    impl = functions().get(func)
    if impl is not None:
        if kwargs.get("out") is not None or kwargs.get("dtype") is not None:
            raise TypeError(f"np.{func.__name__}: the 'out' and 'dtype' arguments are not "
                            "supported on Tensors")
        kwargs = {k: v for k, v in kwargs.items() if k not in ("out", "dtype")}
        return impl(*args, **kwargs)
    if _needs_grad(args) or _needs_grad(kwargs):
        raise TypeError(f"np.{func.__name__} is not differentiable in chainrule; use chainrule's "
                        "functions, or apply it to t.data")
    return func(*_raw(args), **{k: _raw(v) for k, v in kwargs.items()})
