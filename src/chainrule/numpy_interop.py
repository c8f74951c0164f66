"""NumPy protocols: ``np.exp(t)``, ``np.sum(t, axis=0)``, ``np.concatenate([t, u])``
on Tensors call chainrule's primitives, so they are differentiable.

No silent zeros: a NumPy call that would cut a Tensor that needs a gradient from its graph
raises :func:`cut_error` instead of returning a detached result. That covers NumPy
functions chainrule does not answer, and ``Tensor.__array__`` (``np.asarray(t)``,
``np.array([t, 2 * t])``, ``np.mean([a, b])``: NumPy never dispatches on the elements of a
list, it converts them); :mod:`chainrule.numpy` builds those lists differentiably."""

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


def raw(x: Any) -> Any:
    """``x`` with every Tensor (also inside lists and tuples) replaced by its data: the values
    taken deliberately, for questions (shape, dtype, argmax) and non-differentiable calls."""
    from chainrule.tensor import Tensor

    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, list | tuple):
        return type(x)(raw(i) for i in x)
    return x


def _tensors(values: Any) -> tuple:
    """The Tensors in ``values`` (nested lists and tuples included)."""
    from chainrule.tensor import Tensor

    if isinstance(values, Tensor):
        return (values,)
    if isinstance(values, list | tuple):
        return tuple(t for v in values for t in _tensors(v))
    return ()


def needs_grad(values: Any) -> bool:
    """True if ``values`` is, or (in lists, tuples, dicts) holds, a Tensor that needs a
    gradient: one that requires grad or carries a forward-mode tangent."""
    from chainrule.tensor import Tensor

    if isinstance(values, Tensor):
        return values.requires_grad or values._fw is not None
    if isinstance(values, list | tuple):
        return any(needs_grad(v) for v in values)
    if isinstance(values, dict):
        return any(needs_grad(v) for v in values.values())
    return False


ALTERNATIVES = ("use `import chainrule.numpy as np` (its array, stack, mean... take lists of "
                "Tensors) or chainrule's functions (chainrule.stack, chainrule.concatenate); to "
                "take the values deliberately, use t.data or t.detach()")


def cut_error(call: str) -> TypeError:
    """The error for ``call`` (e.g. ``'np.cumsum'``), which would cut a Tensor that needs a
    gradient from its graph: a silently detached result would give zero gradients."""
    return TypeError(f"{call} is not differentiable in chainrule: on a Tensor that needs a "
                     f"gradient it would cut the graph (a silently wrong gradient); {ALTERNATIVES}")


class CutError(TypeError):
    """A Tensor that needs a gradient met a conversion to a NumPy array, which would cut it
    from the graph (``Tensor.__array__``, ``Tensor(data)``)."""


def conversion_error(t: Any) -> TypeError:
    """``np.asarray(t)`` of a Tensor that needs a gradient (``Tensor.__array__``)."""
    from chainrule.batching import is_batched, values_error

    if is_batched(t):
        return values_error(t.shape, t.dtype, "converting to a NumPy array")
    why = "requires grad" if t.requires_grad else "carries a forward-mode tangent (inside jvp)"
    return CutError(f"converting a Tensor that {why} (shape {t.shape}) to a NumPy array "
                     "(np.asarray, np.array, or a NumPy function given a list of Tensors) "
                     f"would cut it from the graph and lose its gradient; {ALTERNATIVES}")


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    impl = ufuncs().get(ufunc)
    if method == "__call__" and impl is not None and not kwargs:
        return impl(*inputs)
    if method == "__call__" and not kwargs and _batched(inputs) and (
            _answers_bool(ufunc) or _not_float(inputs)):
        from chainrule.batching import boolean_call

        return boolean_call(ufunc, inputs)  # x > 0 inside vmap: a batched mask
    if (needs_grad(inputs) or needs_grad(kwargs)) and not _answers_bool(ufunc):
        raise cut_error(f"np.{ufunc.__name__} ({method})")
    result = getattr(ufunc, method)(*raw(inputs), **{k: raw(v) for k, v in kwargs.items()})
    if ufunc.nout == 1 and isinstance(result, np.ndarray) and result.dtype.kind == "f":
        from chainrule.tensor import make

        return make(result, None)
    return result


def _batched(inputs: tuple) -> bool:
    from chainrule.batching import is_batched

    return any(is_batched(x) for x in inputs)


def _not_float(inputs: tuple) -> bool:
    """No floating-point operand (masks, integers): nothing that could carry a derivative."""
    return all(np.result_type(x).kind in "biu" for x in inputs)


def _answers_bool(ufunc: np.ufunc) -> bool:
    """Comparisons, isfinite, logical_and...: a boolean answer has no gradient to lose."""
    return all(t.endswith("->?") for t in ufunc.types if "O" not in t)


# Questions about the array, not computations on it (no gradient to lose): answered from
# the data, as the comparison operators and argmax are.
QUERIES = frozenset({
    np.shape, np.ndim, np.size, np.result_type, np.argmax, np.argmin, np.argsort, np.nonzero,
    np.flatnonzero, np.count_nonzero, np.any, np.all, np.isclose, np.allclose, np.array_equal,
    np.argpartition, np.argwhere, np.searchsorted, np.array_equiv, np.iscomplex, np.iscomplexobj,
    np.isreal, np.isrealobj, np.isscalar, np.isneginf, np.isposinf,
    # arrays shaped like x whose values do not depend on x's (derivative 0)
    np.zeros_like, np.ones_like, np.empty_like,
})


def array_function(func: Callable, args: tuple, kwargs: dict) -> Any:
    if func in QUERIES:
        result = func(*raw(args), **kwargs)
        if needs_grad(args):  # np.argmax(t): a plain answer, cut from the graph
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
    if needs_grad(args) or needs_grad(kwargs):
        raise cut_error(f"np.{func.__name__}")
    return func(*raw(args), **{k: raw(v) for k, v in kwargs.items()})
