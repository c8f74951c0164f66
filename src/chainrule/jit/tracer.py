"""The traced value: what a Tensor holds while ``chainrule.jit`` traces a function.

A :class:`Tracer` stands for one value of the program being recorded (its *slot*). It
carries the value computed on the example arguments, so shapes and dtypes are known
and every primitive's forward can run, but that value is **not** the program's: a later
call replays the program on other numbers. So everything that would read the number
into Python is refused with :class:`TracingError`, naming the user's line:

* ``bool(t)``, ``float(t)``, ``int(t)``, ``t.item()``, ``if t > 0:``, ``while``...;
* ``np.asarray(t)`` / ``np.array(t)`` (the array would be a frozen copy);
* in-place changes (``t[i] = v``, ``t += 1`` on a Tensor, ``np.add(a, b, out=t)``).

NumPy called on a tracer (``x > 0``, ``np.sum(mask)``, ``mask.astype(float)``: the raw
computations inside vjp rules) is recorded as a program line through the NumPy protocols
``__array_ufunc__`` / ``__array_function__``; questions about the array (``np.shape``,
``np.ndim``, ``np.zeros_like``) are answered from its shape and dtype. Results come back
as Tensors, so that they mix with the engine's values like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.anomaly import user_frame
from chainrule.jit.hook import Traced

if TYPE_CHECKING:
    from chainrule.jit.trace import Trace


class TracingError(TypeError):
    """A traced value was used in a way that would freeze its example value into the
    program (a Python branch on it, a conversion to a number or array, an in-place
    change, random numbers without a generator argument)."""


user_line = user_frame  # the user's line, named in every refusal


ADVICE = ("its value is not known while jit traces the function (a later call replays the "
          "program on other numbers); choose elementwise with chainrule.where(condition, a, "
          "b), or make the deciding value a static argument (jit(f, static_argnums=...))")


def refuse(what: str, t: Any = None) -> TracingError:
    """The error for ``what`` (e.g. ``'bool()'``) done on a traced value."""
    of = f" of a traced value {describe(t)}" if t is not None else ""
    return TracingError(f"jit: {what}{of} at {user_line()}: {ADVICE}")


def refuse_in_place(what: str) -> TracingError:
    return TracingError(f"jit: {what} changes a traced value in place, at {user_line()}: a "
                        "traced program is functional; write x = x + v instead of x += v, and "
                        "x = chainrule.index_update(x, i, v) instead of x[i] = v")


def describe(t: Any) -> str:
    """``f64[3,4]``: dtype and shape, as the program prints them."""
    return f"{short_dtype(t.dtype)}[{','.join(map(str, t.shape))}]"


def short_dtype(dtype: Any) -> str:
    dt = np.dtype(dtype)
    return {"f": "f", "i": "i", "u": "u", "b": "bool", "c": "c"}.get(dt.kind, dt.kind) + \
        ("" if dt.kind == "b" else str(dt.itemsize * 8))


def _ufunc(name: str, reflected: bool = False):
    ufunc = getattr(np, name)
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


class Tracer(Traced):
    """One value of a program being traced: its slot, its example value, its trace."""

    __slots__ = ("slot", "value", "trace")
    __array_priority__ = 500.0  # below Tensor's: a Tensor operand answers first

    def __init__(self, slot: int, value: Any, trace: Trace) -> None:
        self.slot = slot
        self.value = value
        self.trace = trace

    # ----- what is known: shape and dtype ------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.value)

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.value)

    @property
    def ndim(self) -> int:
        return np.ndim(self.value)

    @property
    def size(self) -> int:
        return int(np.size(self.value))

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"Traced<{describe(self)}, v{self.slot}>"

    __hash__ = object.__hash__

    # ----- what is refused: reading the value ---------------------------------------
    def __bool__(self) -> bool:
        raise refuse("bool() (an if/while/and/or on it)", self)

    def __float__(self) -> float:
        raise refuse("float()", self)

    def __int__(self) -> int:
        raise refuse("int()", self)

    def __complex__(self) -> complex:
        raise refuse("complex()", self)

    def __index__(self) -> int:
        raise refuse("use as a Python index", self)

    def item(self, *args: Any) -> Any:
        raise refuse("converting to a Python number (bool(), float(), int(), .item(), or "
                     "an if/while on it)", self)

    def tolist(self) -> Any:
        raise refuse(".tolist()", self)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise refuse("np.asarray / np.array (a frozen copy)", self)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise refuse_in_place("x[...] = value")

    # ----- NumPy on a tracer: recorded ----------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any):
        return self.trace.numpy_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: tuple, args: tuple, kwargs: dict):
        return self.trace.numpy_function(func, types, args, kwargs)

    def __getitem__(self, index: Any) -> Any:
        from chainrule.ops import getitem

        return getitem(self.trace.as_tensor(self), index)

    __add__, __radd__ = _ufunc("add"), _ufunc("add", True)
    __sub__, __rsub__ = _ufunc("subtract"), _ufunc("subtract", True)
    __mul__, __rmul__ = _ufunc("multiply"), _ufunc("multiply", True)
    __truediv__, __rtruediv__ = _ufunc("true_divide"), _ufunc("true_divide", True)
    __floordiv__, __rfloordiv__ = _ufunc("floor_divide"), _ufunc("floor_divide", True)
    __mod__, __rmod__ = _ufunc("remainder"), _ufunc("remainder", True)
    __pow__, __rpow__ = _ufunc("power"), _ufunc("power", True)
    __matmul__, __rmatmul__ = _ufunc("matmul"), _ufunc("matmul", True)
    __and__, __rand__ = _ufunc("bitwise_and"), _ufunc("bitwise_and", True)
    __or__, __ror__ = _ufunc("bitwise_or"), _ufunc("bitwise_or", True)
    __xor__, __rxor__ = _ufunc("bitwise_xor"), _ufunc("bitwise_xor", True)
    __lt__, __le__ = _ufunc("less"), _ufunc("less_equal")
    __gt__, __ge__ = _ufunc("greater"), _ufunc("greater_equal")
    __eq__, __ne__ = _ufunc("equal"), _ufunc("not_equal")

    def __neg__(self) -> Any:
        return np.negative(self)

    def __pos__(self) -> Any:
        return np.positive(self)

    def __abs__(self) -> Any:
        return np.absolute(self)

    def __invert__(self) -> Any:
        return np.invert(self)

    # ----- the ndarray methods that rules use on raw values -------------------------
    def astype(self, dtype: Any, copy: bool = True) -> Any:
        from chainrule.ops import astype

        return astype(self.trace.as_tensor(self), np.dtype(dtype))

    def reshape(self, *shape: Any) -> Any:
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: Any) -> Any:
        return np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    @property
    def T(self) -> Any:  # noqa: N802  (NumPy's name)
        return np.transpose(self)

    @property
    def mT(self) -> Any:  # noqa: N802
        return np.swapaxes(self, -1, -2)

    def sum(self, *args: Any, **kwargs: Any) -> Any:
        return np.sum(self, *args, **kwargs)

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        return np.mean(self, *args, **kwargs)

    def max(self, *args: Any, **kwargs: Any) -> Any:
        return np.max(self, *args, **kwargs)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        return np.min(self, *args, **kwargs)

    def prod(self, *args: Any, **kwargs: Any) -> Any:
        return np.prod(self, *args, **kwargs)

    def any(self, *args: Any, **kwargs: Any) -> Any:
        return np.any(self, *args, **kwargs)

    def all(self, *args: Any, **kwargs: Any) -> Any:
        return np.all(self, *args, **kwargs)

    def copy(self) -> Any:
        return np.copy(self)

    def ravel(self) -> Any:
        return np.ravel(self)

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis)
