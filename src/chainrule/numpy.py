"""``import chainrule.numpy as np``: NumPy, differentiable also where NumPy can't dispatch.

NumPy hands a Tensor to chainrule (``np.exp(t)``, ``np.sum(t)``: the protocols of
:mod:`chainrule.numpy_interop`), but never the Tensors *inside a list*:
``np.array([x, 2 * x])``, ``np.mean([a, b])``, ``np.r_[x, y]`` convert each element,
which would cut it from the graph (chainrule refuses that conversion with a clear error
rather than returning zero gradients). This module is a drop-in for ``numpy``, as
``autograd.numpy`` and ``jax.numpy`` are, that builds such lists differentiably:

* :func:`array`, :func:`asarray` of (nested) lists of Tensors, arrays and numbers: a Tensor
  in NumPy's layout, differentiable in every Tensor (``chainrule.creation.assemble``);
  without Tensors, NumPy's own array.
* :data:`r_`, :data:`c_`: NumPy's index-expression builders, differentiable in Tensors.
* Every NumPy function or ufunc that chainrule answers (its ``NUMPY`` tables, through
  :func:`chainrule.numpy_interop.functions` / :func:`~chainrule.numpy_interop.ufuncs`):
  the NumPy function, which reaches chainrule's twin through the protocols, with list
  arguments holding Tensors turned into Tensors first (``np.mean([a, b])``,
  ``np.stack([x, [y, 1.0]])``, ``np.exp([x, y])``). Without Tensors it is NumPy itself.
* ``np.linalg`` and ``np.fft``: the same, one level down.
* Everything else: NumPy's own object (``pi``, ``inf``, ``newaxis``, dtypes, ``random``,
  ``zeros``, ``arange``...). A NumPy function chainrule can't differentiate, given a
  Tensor that needs a gradient, raises the TypeError of :mod:`chainrule.numpy_interop`
  (through ``__array_function__``, or ``Tensor.__array__`` for a Tensor in a list):
  nothing is detached silently.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

import numpy as _np

from chainrule import numpy_interop as _interop
from chainrule import ops as _ops
from chainrule.creation import assemble as _assemble
from chainrule.tensor import Tensor as _Tensor
from chainrule.tensor import make as _make


def _has_tensor(value: Any) -> bool:
    if isinstance(value, _Tensor):
        return True
    return isinstance(value, list | tuple) and any(_has_tensor(v) for v in value)


def array(object: Any, dtype: Any = None, *, copy: bool | None = True, ndmin: int = 0,  # noqa: A002
          **kwargs: Any) -> Any:
    """``np.array``: with Tensors inside (``array([x, 2 * x])``) a Tensor built from them,
    differentiable, always a copy; without Tensors NumPy's own ndarray."""
    if not _has_tensor(object):
        return _np.array(object, dtype=dtype, copy=copy, ndmin=ndmin, **kwargs)
    out = _assemble(object, dtype)
    if not isinstance(out, _Tensor):
        out = _make(out, None)
    if out.ndim < ndmin:
        out = _ops.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def asarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """``np.asarray``: a Tensor unchanged (cast if ``dtype`` differs), a list holding Tensors
    as :func:`array` builds it, anything else NumPy's ndarray."""
    if isinstance(a, _Tensor) and (dtype is None or _np.dtype(dtype) == a.dtype):
        return a
    if not _has_tensor(a):
        return _np.asarray(a, dtype=dtype, **kwargs)
    return array(a, dtype)


asanyarray = ascontiguousarray = asarray


def _as_tensor(value: Any) -> Any:
    """A list or tuple holding Tensors as one Tensor; anything else unchanged."""
    return array(value) if isinstance(value, list | tuple) and _has_tensor(value) else value


def _sequence_functions() -> frozenset:
    """NumPy functions whose first argument is a sequence of arrays (each element is made
    a Tensor, not the whole list)."""
    names = ("concatenate", "stack", "hstack", "vstack", "dstack", "column_stack", "row_stack")
    return frozenset([getattr(_np, n) for n in names if hasattr(_np, n)]
                     + [_np.linalg.multi_dot])


_SEQUENCES = _sequence_functions()
_NESTED = frozenset({_np.block})  # nested lists are the block layout: passed as they are


def _twin(numpy_f: Callable) -> Callable:
    """``numpy_f`` with list arguments holding Tensors made Tensors first; NumPy then hands
    them to chainrule's twin through ``__array_function__``."""
    sequence = numpy_f in _SEQUENCES

    @functools.wraps(numpy_f)
    def call(*args: Any, **kwargs: Any) -> Any:
        if sequence and args and isinstance(args[0], list | tuple):
            args = ([_as_tensor(a) for a in args[0]], *args[1:])
        else:
            args = tuple([_as_tensor(a) for a in args])
        return numpy_f(*args, **kwargs)

    return call


class _Ufunc:
    """A ufunc chainrule answers that also takes lists of Tensors (``np.exp([x, y])``);
    ``reduce``, ``nin``... are the NumPy ufunc's."""

    __slots__ = ("ufunc",)

    def __init__(self, ufunc: _np.ufunc) -> None:
        self.ufunc = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.ufunc(*[_as_tensor(a) for a in args], **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ufunc, name)

    def __repr__(self) -> str:
        return f"<chainrule.numpy ufunc '{self.ufunc.__name__}'>"


def _query(numpy_f: Callable) -> Callable:
    """A question about values (``argmax``, ``allclose``): answered from the data, also of
    Tensors inside lists (no gradient to lose)."""

    @functools.wraps(numpy_f)
    def call(*args: Any, **kwargs: Any) -> Any:
        return numpy_f(*_interop.raw(args), **kwargs)

    return call


_MIRRORED = ("linalg", "fft")  # submodules with differentiable functions


def _resolve(obj: Any) -> Any:
    """What ``chainrule.numpy`` answers for NumPy's ``obj``."""
    if isinstance(obj, types.ModuleType) and obj.__name__.rpartition(".")[2] in _MIRRORED:
        return _Mirror(obj)
    if isinstance(obj, _np.ufunc):
        return _Ufunc(obj) if obj in _interop.ufuncs() else obj
    if not callable(obj) or isinstance(obj, type):
        return obj
    if obj in _interop.QUERIES:
        return _query(obj)
    if obj in _interop.functions() and obj not in _NESTED:
        return _twin(obj)
    return obj


class _Mirror(types.ModuleType):
    """``chainrule.numpy.linalg``: ``numpy.linalg`` answered as :mod:`chainrule.numpy`
    answers ``numpy``."""

    def __init__(self, module: types.ModuleType) -> None:
        super().__init__(f"chainrule.numpy.{module.__name__.rpartition('.')[2]}", module.__doc__)
        self._numpy = module

    def __getattr__(self, name: str) -> Any:
        value = _resolve(getattr(self._numpy, name))
        setattr(self, name, value)
        return value

    def __dir__(self) -> list[str]:
        return dir(self._numpy)


class _IndexConcatenator:
    """``np.r_`` / ``np.c_`` (NumPy's ``AxisConcatenator``), differentiable in Tensors:
    each item is made at least ``ndmin``-d (a 1-d item along ``trans1d``), then all are
    concatenated along ``axis``; slices give ranges, scalars one element; a leading string
    ``'axis[,ndmin[,trans1d]]'`` changes the three. Without Tensors, NumPy's own."""

    def __init__(self, numpy_version: Any, axis: int, ndmin: int, trans1d: int) -> None:
        self._numpy = numpy_version
        self._layout = (axis, ndmin, trans1d)

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        if not _has_tensor(items):
            return self._numpy[key]
        axis, ndmin, trans1d = self._layout
        if isinstance(items[0], str):
            axis, ndmin, trans1d = _directive(items[0], self._layout)
            items = items[1:]
        pieces, kinds = [], []
        for item in items:
            if isinstance(item, str):
                raise ValueError("np.r_/np.c_: special directives must be the first entry")
            if isinstance(item, slice):
                item = _np.r_[item]
            if type(item) in _np.ScalarType:
                pieces.append(_np.full((1,) * ndmin, item))
                kinds.append(item)
                continue
            item = _as_tensor(item)
            piece = _at_least(item if isinstance(item, _Tensor) else _np.asarray(item), ndmin,
                              trans1d)
            pieces.append(piece)
            kinds.append(_np.result_type(piece))
        dtype = _np.result_type(*kinds)
        return _ops.concatenate([_ops.astype(p, dtype) for p in pieces], axis=axis)


def _directive(text: str, layout: tuple[int, int, int]) -> tuple[int, int, int]:
    """NumPy's ``'axis[,ndmin[,trans1d]]'`` string (the matrix directives are refused)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"np.r_/np.c_: directive {text!r} with Tensors: only "
                         "'axis[,ndmin[,trans1d]]' is supported (not the matrix 'r'/'c')"
                         ) from None
    full = (*values, *layout[len(values):])  # at least three: the layout fills in
    return full[0], full[1], full[2]


def _at_least(x: Any, ndmin: int, trans1d: int) -> Any:
    """``np.array(x, ndmin=ndmin)`` with NumPy's r_/c_ transposition of the new axes."""
    d = _np.ndim(x)
    if d >= ndmin:
        return x
    x = _ops.reshape(x, (1,) * (ndmin - d) + _np.shape(x))
    if trans1d == -1:
        return x
    k1, k2 = trans1d, ndmin - d
    if k1 < 0:
        k1 += k2 + 1
    axes = list(range(ndmin))
    return _ops.transpose(x, tuple(axes[:k1] + axes[k2:] + axes[k1:k2]))


r_ = _IndexConcatenator(_np.r_, 0, 1, -1)
c_ = _IndexConcatenator(_np.c_, -1, 2, 0)

_OWN = ("array", "asarray", "asanyarray", "ascontiguousarray", "r_", "c_")
__all__ = sorted(set(_np.__all__) | set(_OWN))


_RESOLVED: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """PEP 562: every other name is resolved from NumPy on first use (and kept, not in this
    module's globals: NumPy's ``any``, ``sum``, ``max``... would shadow the builtins this
    module's own code calls)."""
    if name in _RESOLVED:
        return _RESOLVED[name]
    try:
        obj = getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r} "
                             "(nor has numpy)") from None
    value = _resolve(obj)
    _RESOLVED[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(dir(_np)) | set(_OWN))
