"""Tensor: an ndarray, its gradient, and the node that made it.

Every operator and method here is a thin call to a primitive in
:mod:`chainrule.ops`; nothing in this file computes a derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chainrule.autograd import Node

_new = object.__new__


class Tensor:
    """An N-d array that can take part in reverse- and forward-mode differentiation.

    ``data`` is the NumPy array; ``grad`` is filled by ``backward()`` (a plain
    array of the same shape and dtype, or a Tensor after
    ``backward(create_graph=True)``); ``requires_grad`` marks a tensor whose
    gradient is wanted; a tensor made by an operation on such tensors keeps
    the node that made it and is not a leaf.
    """

    __slots__ = ("_data", "grad", "requires_grad", "_node", "_fw", "_hooks", "_version",
                 "name", "__weakref__")
    __array_priority__ = 1000.0

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data._data
        arr = np.array(data, dtype=dtype, copy=True)
        if arr.dtype == object:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                            "(it holds non-numeric objects)")
        self._data = arr
        self.grad = None
        self.requires_grad = False
        self._node = None
        self._fw = None
        self._hooks = None
        self._version = 0
        self.name = None
        if requires_grad:
            self.requires_grad_()

    # ----- the array -------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The underlying array. Assigning to it counts as an in-place change."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = np.asarray(value)
        self._version += 1

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (not the output of a recorded operation)."""
        return self._node is None

    @property
    def tangent(self) -> Any:
        """The forward-mode tangent of the innermost active ``jvp``, or None."""
        return None if self._fw is None else self._fw[2]

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self._data

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise ValueError(f"item: only a tensor with one element converts to a Python "
                             f"number, this one has shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and dtype != self._data.dtype:
            out = self._data.astype(dtype)
        else:
            out = self._data.copy() if copy else self._data
        if self.requires_grad:  # np.asarray(t), np.array(t): the array has no history
            _cutlog.cut("numpy: conversion to a NumPy array", (self,), out)
        return out

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = []
        if self._data.dtype != np.float64:
            extra.append(f"dtype={self._data.dtype}")
        if self._node is not None:
            extra.append(f"grad_fn=<{self._node.prim.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self._fw is not None:
            extra.append(f"tangent_level={self._fw[0]}")
        return "tensor(" + ", ".join([body, *extra]) + ")"

    def _repr_svg_(self) -> str | None:
        """Jupyter: the graph that computed this tensor, drawn by Graphviz (chainrule.viz)."""
        from chainrule.viz.dot import repr_svg

        return repr_svg(self)

    def _repr_html_(self) -> str | None:
        """Jupyter without Graphviz: the graph that computed this tensor as a table."""
        from chainrule.viz.dot import repr_html

        return repr_html(self)

    # ----- autograd --------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark this leaf as needing a gradient (floating-point data only)."""
        if requires_grad and self._data.dtype.kind not in "fc":
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, this one "
                f"has dtype {self._data.dtype}; convert first, e.g. tensor(x, dtype='float64')")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_: a non-leaf tensor's requirement comes from its "
                               "inputs; use detach() instead")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        out = make(self._data, None)
        if self.requires_grad:
            _cutlog.cut("detach", (self,), out)
        return out

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into every leaf's ``.grad``."""
        from chainrule.autograd import backward

        backward(self, gradient, retain_graph, create_graph)

    def register_hook(self, hook: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned
        value replaces the gradient. Returns a function that removes the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook)

    # ----- operators: thin calls to primitives ----------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # Comparisons are not differentiable: they return plain boolean arrays.
    def __lt__(self, other: Any) -> np.ndarray:
        return _compared(self, other, self._data < _raw(other), "<")

    def __le__(self, other: Any) -> np.ndarray:
        return _compared(self, other, self._data <= _raw(other), "<=")

    def __gt__(self, other: Any) -> np.ndarray:
        return _compared(self, other, self._data > _raw(other), ">")

    def __ge__(self, other: Any) -> np.ndarray:
        return _compared(self, other, self._data >= _raw(other), ">=")

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return _compared(self, other, self._data == _raw(other), "==")

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return _compared(self, other, self._data != _raw(other), "!=")

    # In-place arithmetic changes the data and bumps the version counter.
    def __iadd__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.add, np.add, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.sub, np.subtract, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.mul, np.multiply, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.div, np.divide, "/=")

    def __setitem__(self, index: Any, value: Any) -> None:
        index = _raw_index(index)
        _inplace.update(self, value, lambda x, v: _ops.index_update(x, index, v),
                 lambda x, v, out: out.__setitem__(index, v), "t[...] = value")

    # NumPy protocols: np.exp(t), np.sum(t, axis=0), np.concatenate([...]) differentiate.
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        return _interop.array_function(func, args, kwargs)

    # ----- methods (as in PyTorch and NumPy) -------------------------------
    @property
    def T(self) -> Tensor:
        return _ops.transpose(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802  (NumPy's and PyTorch's name)
        """The matrix transpose: the last two axes swapped."""
        return _ops.swapaxes(self, -1, -2)

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype``. A cast to a non-float dtype (int, bool) is not
        differentiable: its result is a new leaf, cut from the graph."""
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            out = make(self._data.astype(dtype), None)
            if self.requires_grad:
                _cutlog.cut(f"astype({dtype})", (self,), out)
            return out
        return _ops.astype(self, dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def log1p(self) -> Tensor:
        return _ops.log1p(self)

    def expm1(self) -> Tensor:
        return _ops.expm1(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def sin(self) -> Tensor:
        return _ops.sin(self)

    def cos(self) -> Tensor:
        return _ops.cos(self)

    def tan(self) -> Tensor:
        return _ops.tan(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def softplus(self) -> Tensor:
        return _ops.softplus(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def sign(self) -> Tensor:
        return _ops.sign(self)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tensor:
        return _ops.clip(self, a_min, a_max)

    clamp = clip

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.prod(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return _ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _ops.log_softmax(self, axis=axis)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        out = np.argmax(self._data, axis=axis)
        if self.requires_grad:
            _cutlog.cut("argmax", (self,), out)
        return out

    def argmin(self, axis: int | None = None) -> np.ndarray:
        out = np.argmin(self._data, axis=axis)
        if self.requires_grad:
            _cutlog.cut("argmin", (self,), out)
        return out

    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, _shape_arg(shape))

    view = reshape

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        return _ops.flatten(self, start_axis, end_axis)

    def transpose(self, *axes: Any) -> Tensor:
        return _ops.transpose(self, _shape_arg(axes) if axes else None)

    def permute(self, *axes: Any) -> Tensor:
        return _ops.transpose(self, _shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None) -> Tensor:
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return _ops.unsqueeze(self, axis)

    def expand(self, *shape: Any) -> Tensor:
        return _ops.broadcast_to(self, _shape_arg(shape))

    def broadcast_to(self, shape: Any) -> Tensor:
        return _ops.broadcast_to(self, shape)

    def dot(self, other: Any) -> Tensor:
        return _ops.dot(self, other)

    def trace(self) -> Tensor:
        return _ops.trace(self)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        return _ops.diagonal(self, offset, axis1, axis2)

    def norm(self, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.norm(self, ord=ord, axis=axis, keepdims=keepdims)


def make(data: Any, node: Node | None) -> Tensor:
    """Wrap an operation's raw result (the fast path used by primitives)."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    t = _new(Tensor)
    t._data = data
    t.grad = None
    t.requires_grad = node is not None
    t._node = node
    t._fw = None
    t._hooks = None
    t._version = 0
    t.name = None
    return t


def dual(level: int, primal: Any, tangent: Any, op: str = "jvp") -> Tensor:
    """A tensor carrying ``tangent`` at forward-mode ``level`` on top of ``primal``."""
    data = primal._data if isinstance(primal, Tensor) else np.asarray(primal)
    if tangent is None:
        tangent = np.zeros_like(data)
    elif np.shape(tangent) != data.shape:
        try:
            tangent = _ops.broadcast_to(tangent, data.shape)
        except ValueError:
            raise ValueError(f"{op}: tangent of shape {np.shape(tangent)} does not fit a value "
                             f"of shape {data.shape}") from None
    t = make(data, None)
    t._fw = (level, primal, tangent)
    return t


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _compared(t: Tensor, other: Any, result: np.ndarray, symbol: str) -> np.ndarray:
    """A comparison's boolean result, logged as a cut when an operand requires grad."""
    if t.requires_grad or (isinstance(other, Tensor) and other.requires_grad):
        _cutlog.cut(f"comparison {symbol}", (t, other), result, depth=2)
    return result


def _raw_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _shape_arg(shape: tuple) -> Any:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        return tuple(shape[0])
    return tuple(shape)


from chainrule import cutlog as _cutlog  # noqa: E402
from chainrule import inplace as _inplace  # noqa: E402
from chainrule import numpy_interop as _interop  # noqa: E402
from chainrule import ops as _ops  # noqa: E402  (methods above look these up at call time)
