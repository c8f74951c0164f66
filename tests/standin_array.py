"""A test-only array type that behaves like a CuPy array where the engine could go wrong.

:class:`DeviceArray` wraps an ndarray (it is *not* a subclass, so every
``type(x) is np.ndarray`` / ``isinstance(x, np.ndarray)`` fast path takes its other branch)
and, like ``cupy.ndarray``:

* answers NumPy's functions and ufuncs through ``__array_ufunc__`` / ``__array_function__``,
  computing with NumPy and wrapping the result back (a scalar result is a 0-d array, as
  CuPy's reductions and indexing return);
* **refuses** ``__array__`` (``np.asarray(x)``: the implicit copy to the host) with an error
  naming the line that asked for it, and refuses host arrays mixed into its operations;
* **counts** host syncs: ``float()``, ``int()``, ``bool()``, ``.item()``, ``.tolist()`` and
  ``.get()`` (CuPy allows them, but each stalls the GPU), in :data:`SYNCS`;
* has a ``device`` (with an ``id``), ``flags`` without ``writeable``, a ``base`` that is the
  array whose memory it views.

:data:`namespace` plays the ``cupy`` module: ``namespace.zeros(...)``, ``namespace.asarray(
host)`` (an explicit transfer), ``namespace.asnumpy(x)``. :func:`installed` registers it with
:mod:`chainrule.backend` as the ``cuda`` device for the duration of a test.
"""

from __future__ import annotations

import os
import traceback
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from chainrule import backend


class HostSyncs:
    """How many times a device value was read on the host (``float(x)``, ``x.item()`` ...)."""

    def __init__(self) -> None:
        self.count = 0
        self.where: list[str] = []

    def add(self, what: str) -> None:
        self.count += 1
        self.where.append(f"{what} at {_caller()}")

    def reset(self) -> None:
        self.count = 0
        self.where = []


SYNCS = HostSyncs()
_HERE = os.path.abspath(__file__)
_NUMPY = os.path.dirname(np.__file__)


def _caller() -> str:
    """The first frame outside this file and NumPy: the line that asked for the conversion."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        path = os.path.abspath(frame.filename)
        if path != _HERE and not path.startswith(_NUMPY):
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return "<unknown>"


class Device:
    """``x.device`` as CuPy has it: a device with an ``id``."""

    id = 0

    def __repr__(self) -> str:
        return "<standin Device 0>"


class Flags:
    """CuPy's flags: contiguity and ownership, no ``writeable``."""

    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


_OWNERS: weakref.WeakValueDictionary[int, DeviceArray] = weakref.WeakValueDictionary()


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class DeviceArray(NDArrayOperatorsMixin):
    """An ndarray on a pretend device (see the module docstring)."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100.0
    device = Device()

    def __init__(self, a: np.ndarray) -> None:
        self._a = a
        if _root(a) is a:
            _OWNERS[id(a)] = self

    # ----- what CuPy refuses ------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(f"standin: implicit conversion to a NumPy array at {_caller()} "
                        "(CuPy refuses it; transfer explicitly with chainrule.backend.to_numpy)")

    # ----- host syncs (allowed, counted) ------------------------------------------------
    def item(self) -> Any:
        SYNCS.add(".item()")
        return self._a.item()

    def tolist(self) -> Any:
        SYNCS.add(".tolist()")
        return self._a.tolist()

    def get(self) -> np.ndarray:
        SYNCS.add(".get()")
        return self._a.copy()

    def __float__(self) -> float:
        SYNCS.add("float()")
        return float(self._a)

    def __int__(self) -> int:
        SYNCS.add("int()")
        return int(self._a)

    def __index__(self) -> int:
        SYNCS.add("index")
        return self._a.__index__()

    def __bool__(self) -> bool:
        SYNCS.add("bool()")
        return bool(self._a)

    def __complex__(self) -> complex:
        SYNCS.add("complex()")
        return complex(self._a)

    # ----- NumPy's protocols ------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(_foreign(x) for x in inputs):
            return NotImplemented  # a chainrule Tensor answers for itself
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, ufunc.__name__) for o in out)
        result = getattr(ufunc, method)(*[_unwrap(x, ufunc.__name__) for x in inputs], **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
        if any(not issubclass(t, DeviceArray | np.ndarray) for t in types):
            return NotImplemented
        name = getattr(func, "__name__", str(func))
        result = func(*_unwrap(args, name), **_unwrap(kwargs, name))
        if func is np.diagonal:
            result.flags.writeable = True  # CuPy's diagonal is a writable view
        return _wrap(result)

    # ----- the array ---------------------------------------------------------------------
    @property
    def base(self) -> DeviceArray | None:
        root = _root(self._a)
        if root is self._a:
            return None
        owner = _OWNERS.get(id(root))
        return owner if owner is not None and owner._a is root else DeviceArray(root)

    @property
    def flags(self) -> Flags:
        return Flags(self._a)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._a.shape

    @shape.setter
    def shape(self, value: tuple[int, ...]) -> None:
        self._a.shape = value

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    @property
    def T(self) -> DeviceArray:
        return DeviceArray(self._a.T)

    @property
    def mT(self) -> DeviceArray:
        return DeviceArray(self._a.mT)

    @property
    def real(self) -> DeviceArray:
        return DeviceArray(self._a.real)

    @property
    def imag(self) -> DeviceArray:
        return DeviceArray(self._a.imag)

    def __getattr__(self, name: str) -> Any:  # every other method, wrapped
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return attr

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attr(*_unwrap(args, name), **_unwrap(kwargs, name)))

        return method

    def __getitem__(self, index: Any) -> DeviceArray:
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[_index(index)] = _unwrap(value, "setitem")

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[DeviceArray]:
        for i in range(len(self._a)):
            yield _wrap(self._a[i])

    def __repr__(self) -> str:
        return "standin." + repr(self._a)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._a.__dlpack_device__()

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._a.__dlpack__(**kwargs)

    __hash__ = None  # type: ignore[assignment]


def _foreign(x: Any) -> bool:
    """An operand neither array type knows (a chainrule Tensor): defer to it."""
    return hasattr(x, "__array_ufunc__") and not isinstance(x, DeviceArray | np.ndarray)


def _unwrap(x: Any, op: str) -> Any:
    if isinstance(x, DeviceArray):
        return x._a
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return x
        raise TypeError(f"standin {op}: a host numpy.ndarray of shape {x.shape} mixed with "
                        f"device arrays at {_caller()} (CuPy refuses it)")
    if isinstance(x, list | tuple):
        return type(x)(_unwrap(v, op) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, op) for k, v in x.items()}
    return x


def _index(index: Any) -> Any:
    """An index as CuPy takes it: host index arrays and lists are copied to the device."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    return index._a if isinstance(index, DeviceArray) else index


def _wrap(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        owner = _OWNERS.get(id(x))
        return owner if owner is not None and owner._a is x else DeviceArray(x)
    if isinstance(x, np.generic):
        return DeviceArray(np.asarray(x))  # CuPy's reductions return 0-d arrays, not scalars
    if isinstance(x, list | tuple) and not hasattr(x, "_fields"):
        return type(x)(_wrap(v) for v in x)
    if hasattr(x, "_fields"):  # a namedtuple result (np.linalg.eigh, svd, slogdet ...)
        return type(x)(*(_wrap(v) for v in x))
    return x


class _Namespace:
    """The stand-in's ``cupy``: NumPy's functions on device arrays, results on the device."""

    ndarray = DeviceArray

    def __init__(self, module: Any = np) -> None:
        self._module = module

    def asarray(self, a: Any, dtype: Any = None, **kwargs: Any) -> DeviceArray:
        """An explicit transfer of host data to the device (or a cast on the device)."""
        if isinstance(a, DeviceArray):
            return a if dtype is None or a.dtype == dtype else DeviceArray(a._a.astype(dtype))
        return DeviceArray(np.array(a, dtype=dtype, copy=True))

    def array(self, a: Any, dtype: Any = None, copy: bool = True, **kwargs: Any) -> DeviceArray:
        if isinstance(a, DeviceArray):
            return DeviceArray(np.array(a._a, dtype=dtype, copy=copy))
        return self.asarray(a, dtype)

    def asnumpy(self, a: Any) -> np.ndarray:
        """An explicit transfer to the host."""
        return a._a.copy() if isinstance(a, DeviceArray) else np.asarray(a)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if isinstance(attr, type(np)):
            return _Namespace(attr)  # namespace.linalg, namespace.random
        if not callable(attr) or isinstance(attr, type | np.ufunc):
            return attr  # a ufunc dispatches to the device array by itself

        def function(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attr(*_unwrap(args, name), **_unwrap(kwargs, name)))

        return function


namespace = _Namespace()


@contextmanager
def installed() -> Iterator[HostSyncs]:
    """Register the stand-in as chainrule's ``cuda`` device for the block; yields the
    host-sync counter (reset on entry)."""
    restore = backend.register_device("cuda", namespace, DeviceArray)
    SYNCS.reset()
    try:
        yield SYNCS
    finally:
        restore()


def to_device(a: Any) -> Any:
    """Host arrays (nested in tuples and lists) moved to the stand-in device."""
    if isinstance(a, list | tuple):
        return type(a)(to_device(v) for v in a)
    return namespace.asarray(a) if isinstance(a, np.ndarray | np.generic) else a
