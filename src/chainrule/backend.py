"""Which array module holds the data: NumPy on the CPU, CuPy on an NVIDIA GPU.

The array module is a property of the data, not of the code. Forward functions and
derivative rules call ``np.*``; a CuPy array answers those calls itself through NumPy's
dispatch protocols (``__array_ufunc__``, ``__array_function__``), so the same primitive runs
on either. This module is the one place that asks *which* module an array belongs to, for
what that dispatch does not cover: making a new array on the right device (``zeros``,
``eye``, an explicit transfer), random numbers, and the device's name.

CuPy is imported only when a CUDA array is asked for (``tensor(x, device="cuda")``,
``t.to("cuda")``) or met; without it, asking for ``cuda`` is a one-line error saying what to
install. Tests register a stand-in device module with :func:`register_device`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

INSTALL = "pip install 'chainrule[gpu]' (CuPy for CUDA 12: cupy-cuda12x)"

_MODULES: dict[type, Any] = {}  # device array type -> its module (cupy, or a test stand-in)
_DEVICES: dict[str, Any] = {}  # device kind ("cuda") -> its module, once loaded or registered


class DeviceError(RuntimeError):
    """Arrays on different devices met in one operation, or a device that is not there."""


def array_namespace(*xs: Any) -> Any:
    """The array module of the first device array among ``xs`` (Tensors count by their
    data): ``numpy`` unless one of them lives on a GPU (``cupy``)."""
    for x in xs:
        t = type(x)
        if t is np.ndarray:
            continue
        module = _MODULES.get(t)
        if module is not None:
            return module
        data = getattr(x, "_data", None)  # a chainrule Tensor
        if data is not None:
            module = _MODULES.get(type(data))
            if module is not None:
                return module
        elif t.__module__.partition(".")[0] == "cupy":
            return _register_cupy_type(t)
    return np


def is_array(x: Any) -> bool:
    """True for a NumPy array or an array of a device module (``cupy.ndarray``)."""
    t = type(x)
    return t is np.ndarray or t in _MODULES or isinstance(x, np.ndarray) or (
        t.__module__.partition(".")[0] == "cupy" and _register_cupy_type(t) is not np)


def on_device(x: Any) -> bool:
    """True for an array that lives on a device (not a NumPy array)."""
    return type(x) is not np.ndarray and is_array(x)


def as_array(x: Any, dtype: Any = None) -> Any:
    """``x`` as an array of its own module: a device array is kept (cast to ``dtype`` if
    given), anything else goes through ``np.asarray`` (scalars, lists, NumPy arrays)."""
    if type(x) is np.ndarray or not on_device(x):
        return np.asarray(x, dtype=dtype)
    return x if dtype is None or x.dtype == dtype else x.astype(dtype)


def asarray_like(x: Any, like: Any, dtype: Any = None) -> Any:
    """Host data ``x`` (a scalar, a list, a NumPy array) as an array on ``like``'s device
    (an array or a Tensor)."""
    like = getattr(like, "_data", like)
    if type(like) is np.ndarray or not on_device(like):
        return np.asarray(x, dtype=dtype)
    if on_device(x):
        return as_array(x, dtype)
    return array_namespace(like).asarray(x, dtype=dtype)


def to_numpy(x: Any) -> np.ndarray:
    """An explicit transfer to the host (a NumPy array is returned unchanged)."""
    if hasattr(x, "_data"):  # a chainrule Tensor
        x = x._data
    if not on_device(x):
        return np.asarray(x)
    return array_namespace(x).asnumpy(x)


def device_of(x: Any) -> str:
    """``"cpu"`` for NumPy data, ``"cuda:N"`` for an array on GPU ``N``."""
    if hasattr(x, "_data"):  # a chainrule Tensor
        x = x._data
    if type(x) is np.ndarray or not on_device(x):
        return "cpu"
    return f"cuda:{x.device.id}"


def parse_device(device: str) -> tuple[str, int | None]:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"`` -> (kind, index or None)."""
    kind, _, index = str(device).partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (
            kind == "cpu" and index not in ("", "0")):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return kind, int(index) if index else None


def to_device(x: Any, device: str) -> Any:
    """``x`` (an array or host data) on ``device``: an explicit transfer, or ``x`` itself
    when it is already there."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return to_numpy(x) if on_device(x) else np.asarray(x)
    if on_device(x) and (index is None or device_of(x) == f"cuda:{index}"):
        return x
    module = device_module(kind)
    if index is None or not hasattr(module, "cuda"):
        return module.asarray(x)
    with module.cuda.Device(index):
        return module.asarray(x)


def device_module(kind: str = "cuda") -> Any:
    """The module of a device kind: CuPy for ``cuda``, imported on first use."""
    module = _DEVICES.get(kind)
    if module is not None:
        return module
    try:
        import cupy
    except ImportError:
        raise DeviceError(f"device '{kind}' needs CuPy, which is not installed: "
                          f"{INSTALL}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy without a driver raises its own CUDARuntimeError
        count = 0
    if not count:
        raise DeviceError(f"device '{kind}': CuPy is installed but finds no CUDA GPU "
                          "(check the NVIDIA driver and that cupy-cuda12x matches CUDA 12)")
    _DEVICES[kind] = cupy
    _MODULES[cupy.ndarray] = cupy
    return cupy


def _register_cupy_type(t: type) -> Any:
    """A CuPy array met before any was asked for: CuPy is imported already."""
    import cupy

    if issubclass(t, cupy.ndarray):
        _MODULES[t] = cupy
        _DEVICES.setdefault("cuda", cupy)
        return cupy
    return np


def register_device(kind: str, module: Any, array_type: type) -> Callable[[], None]:
    """Make ``module`` (with ``asarray``, ``asnumpy`` and NumPy's creation functions) the
    module of device ``kind`` and of arrays of ``array_type`` (tests use a stand-in for
    CuPy). Returns a function that undoes the registration."""
    saved_kind, saved_type = _DEVICES.get(kind), _MODULES.get(array_type)
    _DEVICES[kind], _MODULES[array_type] = module, module

    def restore() -> None:
        saved: tuple[tuple[dict, Any, Any], ...] = ((_DEVICES, kind, saved_kind),
                                                    (_MODULES, array_type, saved_type))
        for table, key, value in saved:
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value

    return restore


def check_same_device(op: str, arrays: Iterable[Any], cause: Exception | None = None) -> None:
    """Raise :class:`DeviceError` naming ``op`` and both devices if ``arrays`` (the raw
    arguments of one operation; scalars and non-arrays are skipped) live on different
    devices; ``cause`` is the error the operation raised, if it did (quoted)."""
    seen: dict[str, int] = {}
    for i, a in enumerate(arrays):
        if is_array(a) and (a.ndim or on_device(a)):
            seen.setdefault(device_of(a), i)
    if len(seen) > 1:
        (d0, i0), (d1, i1) = list(seen.items())[:2]
        raise DeviceError(f"{op}: arguments on different devices: argument {i0} on {d0}, "
                          f"argument {i1} on {d1}; move one first with .to('{d0}') or "
                          f".to('{d1}')"
                          + ("" if cause is None else f" ({type(cause).__name__}: {cause})")
                          ) from cause


def zeros(shape: tuple[int, ...], dtype: Any = None, like: Any = None) -> Any:
    """``np.zeros`` on the device of ``like`` (an array or Tensor; None: the host)."""
    return array_namespace(like).zeros(shape, np.float64 if dtype is None else dtype)


def ones(shape: tuple[int, ...], dtype: Any = None, like: Any = None) -> Any:
    """``np.ones`` on the device of ``like``."""
    return array_namespace(like).ones(shape, np.float64 if dtype is None else dtype)


def eye(n: int, dtype: Any = None, like: Any = None) -> Any:
    """``np.eye(n)`` on the device of ``like``."""
    return array_namespace(like).eye(n, dtype=np.float64 if dtype is None else dtype)


def copy(x: Any) -> Any:
    """A new array holding ``x`` (a host scalar or list becomes a NumPy array)."""
    return x.copy() if on_device(x) else np.array(x, copy=True)


def add_at(out: Any, index: Any, values: Any) -> None:
    """``np.add.at(out, index, values)`` (repeated indices accumulate), with host index
    arrays copied to ``out``'s device as CuPy's indexing copies them."""
    if type(out) is np.ndarray:
        np.add.at(out, index, values)
        return
    module = array_namespace(out)
    module.add.at(out, device_index(index, out), values)


def device_index(index: Any, like: Any) -> Any:
    """An index with its host arrays (NumPy, lists of ints) on ``like``'s device."""
    if type(like) is np.ndarray or not on_device(like):
        return index
    if isinstance(index, tuple):
        return tuple(device_index(i, like) for i in index)
    if isinstance(index, np.ndarray | list):
        return array_namespace(like).asarray(index)
    return index
