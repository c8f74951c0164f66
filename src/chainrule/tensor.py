"""Tensor: an ndarray, its gradient, and the node that made it.

Every operator and method here is a thin call to a primitive in
:mod:`chainrule.ops`; nothing in this file computes a derivative.
"""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import autograd as _autograd
from chainrule import backend as _backend
from chainrule import tensor_methods as _methods
from chainrule.batching import Batch, Logical
from chainrule.jit.hook import Traced as _Traced

if TYPE_CHECKING:
    from chainrule.autograd import Node

_new = object.__new__


class Tensor(_methods.TensorMethods):
    """An N-d array that can take part in reverse- and forward-mode differentiation.

    ``data`` is the NumPy array; ``grad`` is filled by ``backward()`` (a plain
    array of the same shape and dtype, or a Tensor after
    ``backward(create_graph=True)``); ``requires_grad`` marks a tensor whose
    gradient is wanted; a tensor made by an operation on such tensors keeps
    the node that made it and is not a leaf.

    A tensor whose array shares memory with another tensor's (a *view*: reshape,
    slicing, transpose, broadcast_to, detach, ...) keeps that tensor in ``_base``
    and uses its version counter, so an in-place change through any alias is seen
    by every node that saved one of them (``docs/semantics.md``).
    """

    __slots__ = ("_data", "grad", "requires_grad", "_node", "_fw", "_hooks", "_ver", "_base",
                 "_viewed", "name", "__weakref__")
    __array_priority__ = 1000.0

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            if _interop.needs_grad(data):
                raise self._cut()
            data = data._data
        if type(data) is not np.ndarray and _backend.on_device(data):  # CuPy: stays there
            arr = data.astype(data.dtype if dtype is None else dtype, copy=True)
        else:
            try:  # (NumPy asks each Tensor in a list for its array: __array__ refuses)
                arr = np.array(data, dtype=dtype, copy=True)
            except _interop.CutError:
                raise self._cut() from None
        if arr.dtype == object:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                            "(it holds non-numeric objects)")
        self._data = arr
        self.grad: Any = None
        self.requires_grad = False
        self._node: Node | None = None
        self._fw: Any = None  # on a dual: (level, primal, tangent, stamp)
        self._hooks: list[Callable[[Any], Any]] | None = None
        self._ver = 0
        self._base: Tensor | None = None
        self._viewed = False
        self.name: str | None = None
        if requires_grad:
            self.requires_grad_()

    @classmethod
    def _cut(cls) -> TypeError:
        return _interop.CutError(
            f"{cls.__name__}(...): the data holds a Tensor that needs a gradient (requires "
            "grad or carries a forward-mode tangent), whose values a new leaf would cut from "
            "the graph; use chainrule.tensor(data) for a differentiable copy, or "
            f"{cls.__name__}(t.detach()) / chainrule.tensor(t.detach(), requires_grad=True) "
            "for a new leaf from the values")

    # ----- the array -------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The underlying array. Assigning to it counts as an in-place change."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        value = _backend.as_array(value)  # a Tensor that needs a gradient refuses (__array__)
        _inplace.keep_graph(self)  # a recorded node keeps the values it produced
        self._version += 1  # seen by every node that saved this tensor or one of its aliases
        base = self._base
        if base is not None:  # new memory: no longer a view, but keeps the bumped count
            self._ver = base._ver
            self._base = None
        self._data = value

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen, through any alias
        (a view reads and bumps the count of the tensor it views)."""
        base = self._base
        return self._ver if base is None else base._ver

    @_version.setter
    def _version(self, value: int) -> None:
        _autograd.note_edit()
        base = self._base
        if base is None:
            self._ver = value
        else:
            base._ver = value

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
        fw = self._fw
        if fw is None or type(fw) is Batch:
            return None
        return _versions.current_tangent(self, "tangent")

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied); a tensor on a GPU is refused
        (copy it explicitly with ``t.cpu().numpy()``)."""
        if type(self._data) is not np.ndarray and _backend.on_device(self._data):
            raise TypeError(f"numpy: this tensor is on {self.device}; copy it to the host "
                            "first with t.cpu().numpy()")
        return self._data

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise ValueError(f"item: only a tensor with one element converts to a Python "
                             f"number, this one has shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``: the data, for a tensor that needs no gradient. One that does
        (requires grad, or carries a jvp tangent) is refused, as PyTorch refuses: the
        array would be cut from the graph and its gradient silently lost. Take the values
        deliberately with ``t.data`` / ``t.detach()``, or keep them differentiable with
        ``import chainrule.numpy as np`` / ``chainrule.stack``."""
        if self.requires_grad or self._fw is not None:
            raise _interop.conversion_error(self)
        if type(self._data) is not np.ndarray and _backend.on_device(self._data):
            raise TypeError(f"np.asarray: this tensor is on {self.device}; NumPy arrays live "
                            "on the host: copy it explicitly with t.cpu()")
        if dtype is not None and dtype != self._data.dtype:
            out = self._data.astype(dtype)
        else:
            out = self._data.copy() if copy else self._data
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
        if type(self._data) is Logical:  # batched by vmap: no values of its own
            return _batching.describe(self)
        body = np.array2string(_backend.to_numpy(self._data), separator=", ", prefix="tensor(")
        extra = []
        if self._data.dtype != np.float64:
            extra.append(f"dtype={self._data.dtype}")
        if type(self._data) is not np.ndarray and _backend.on_device(self._data):
            extra.append(f"device='{self.device}'")
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
        if requires_grad and self._data.dtype.kind == "c":
            from chainrule.autograd import complex_error

            raise complex_error(f"requires_grad on a tensor of dtype {self._data.dtype}")
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, this one "
                f"has dtype {self._data.dtype}; convert first, e.g. tensor(x, dtype='float64')")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_: a non-leaf tensor's requirement comes from its "
                               "inputs; use detach() instead")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and, as in PyTorch, its version counter:
        an in-place change of either is seen by nodes that saved the other), cut from
        the graph."""
        if type(self._data) is Logical:  # inside vmap: each example's value, detached
            return _batching.detach(self)
        out = make(self._data, None)
        _versions.view_of(out, self)
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
        hooks = self._hooks
        if hooks is None:
            hooks = self._hooks = []
        hooks.append(hook)
        return lambda: hooks.remove(hook)

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

    def __mod__(self, other: Any) -> Tensor:
        return _ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _ops.remainder(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(other, self)

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
        return _compared(self, other, _op.lt, "<")

    def __le__(self, other: Any) -> np.ndarray:
        return _compared(self, other, _op.le, "<=")

    def __gt__(self, other: Any) -> np.ndarray:
        return _compared(self, other, _op.gt, ">")

    def __ge__(self, other: Any) -> np.ndarray:
        return _compared(self, other, _op.ge, ">=")

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return _compared(self, other, _op.eq, "==")

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return _compared(self, other, _op.ne, "!=")

    # Masks combine as NumPy's arrays do (x > 0) & (x < 1); a batched mask stays batched.
    def __and__(self, other: Any) -> Any:
        return np.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Any:
        return np.bitwise_and(other, self)

    def __or__(self, other: Any) -> Any:
        return np.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Any:
        return np.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Any:
        return np.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Any:
        return np.bitwise_xor(other, self)

    def __invert__(self) -> Any:
        return np.invert(self)

    # In-place arithmetic changes the data and bumps the version counter.
    def __iadd__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.add, np.add, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.sub, np.subtract, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.mul, np.multiply, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.div, np.divide, "/=")

    def __ipow__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.pow, np.power, "**=")

    def __imatmul__(self, other: Any) -> Tensor:
        return _inplace.update(self, other, _ops.matmul, np.matmul, "@=")

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
    # t.exp(), t.sum(axis=0), t.reshape(2, 3), t.T ...: in chainrule/tensor_methods.py.

def make(data: Any, node: Node | None) -> Tensor:
    """Wrap an operation's raw result (the fast path used by primitives)."""
    if type(data) is not np.ndarray and type(data) is not Logical \
            and not isinstance(data, _Traced):  # vmap's and jit's stand-ins stay as they are
        data = _backend.as_array(data)  # a NumPy scalar becomes an array; a CuPy array stays
    t = _new(Tensor)
    t._data = data
    t.grad = None
    t.requires_grad = node is not None
    t._node = node
    t._fw = None
    t._hooks = None
    t._ver = 0
    t._base = None
    t._viewed = False
    t.name = None
    return t


def dual(level: int, primal: Any, tangent: Any, op: str = "jvp") -> Tensor:
    """A tensor carrying ``tangent`` at forward-mode ``level`` on top of ``primal``."""
    data = primal._data if isinstance(primal, Tensor) else _backend.as_array(primal)
    if tangent is None:
        tangent = np.zeros_like(data)
    elif np.shape(tangent) != data.shape:
        try:
            tangent = _ops.broadcast_to(tangent, data.shape)
        except ValueError:
            raise ValueError(f"{op}: tangent of shape {np.shape(tangent)} does not fit a value "
                             f"of shape {data.shape}") from None
    t = make(data, None)
    if isinstance(primal, Tensor):
        _versions.view_of(t, primal)  # the same array: one version counter
    t._fw = (level, primal, tangent, _versions.stamp(t, primal))
    return t


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _compared(t: Tensor, other: Any, compare: Callable, symbol: str) -> Any:
    """A comparison's boolean result, logged as a cut when an operand requires grad. On a
    batched tensor (inside vmap) it is a batched boolean Tensor."""
    o = _raw(other)
    if type(t._data) is Logical or type(o) is Logical:
        return _UFUNCS[symbol](t, other)  # via Tensor.__array_ufunc__: batched, not differentiated
    result = compare(t._data, o)
    if t.requires_grad or (isinstance(other, Tensor) and other.requires_grad):
        _cutlog.cut(f"comparison {symbol}", (t, other), result, depth=2)
    return result


_UFUNCS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
           "==": np.equal, "!=": np.not_equal}


def _raw_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


from chainrule import batching as _batching  # noqa: E402
from chainrule import cutlog as _cutlog  # noqa: E402
from chainrule import inplace as _inplace  # noqa: E402
from chainrule import numpy_interop as _interop  # noqa: E402
from chainrule import ops as _ops  # noqa: E402  (operators above look these up at call time)
from chainrule import versions as _versions  # noqa: E402

_methods._ops, _methods._make = _ops, make  # the mixin's methods look primitives up there
