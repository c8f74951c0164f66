"""Making tensors: from data, filled, ranges, and random (seeded NumPy Generators).

``tensor([x, 2 * x])`` of Tensors that need gradients is differentiable in them
(:func:`assemble`: NumPy's layout, built with ``stack``); it never copies their
values out of the graph without telling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend as _backend
from chainrule import numpy_interop as _interop
from chainrule import ops as _ops
from chainrule.jit.hook import state as _jit
from chainrule.tensor import Tensor, make

_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator that ``randn``/``rand`` use when given no ``rng``."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)
    return _default_rng


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if _jit.active is not None and not isinstance(rng, int):  # a draw while jit traces
        from chainrule.jit.tracer import TracingError, user_line  # would be frozen

        which = "the default generator" if rng is None else "a generator"
        raise TracingError(f"jit: random numbers from {which} at {user_line()} would be "
                           "frozen into the program (the same numbers on every call); draw "
                           "them outside and pass them in, or give a seed (rng=0)")
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _float_dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float64 if dtype is None else dtype)


def _shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    if any(not isinstance(n, int | np.integer) or n < 0 for n in shape):
        raise ValueError(f"shape {shape} must be non-negative integers")
    return tuple(int(n) for n in shape)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           device: str | None = None) -> Tensor:
    """A new tensor holding a copy of ``data``, on ``device`` if given (``"cpu"``,
    ``"cuda"``: a CuPy array; CuPy needed), else where ``data`` is.

    Python floats and lists of floats become float64; integer data stays
    integer (and so cannot require grad); ``dtype`` converts.

    Data that holds Tensors needing a gradient (``tensor([x, 2 * x])``,
    ``tensor(x)``, nested lists) gives a differentiable copy: the result is
    computed from them (see :func:`assemble`), not a new leaf, so
    ``requires_grad=True`` is refused there; ``tensor(x.detach(),
    requires_grad=True)`` makes a new leaf from the values.
    """
    try:  # one pass: NumPy meets any Tensor that needs a gradient and refuses it
        plain = Tensor(data, dtype=dtype)
    except _interop.CutError:
        pass
    else:
        return _on(plain._data, device, requires_grad)
    if requires_grad:
        raise TypeError("tensor: the data holds Tensors that need gradients, so the result is "
                        "computed from them (differentiable), not a leaf, and requires_grad=True "
                        "does not apply; for a new leaf from the values use "
                        "tensor(x.detach(), requires_grad=True)")
    out = assemble(data, dtype)
    return out if device is None else out.to(device)


def _on(data: Any, device: str | None, requires_grad: bool) -> Tensor:
    """A new leaf holding ``data`` (made for this tensor alone, so not copied again) moved to
    ``device``."""
    if device is not None:
        data = _backend.to_device(data, device)
    t = make(data, None)
    return t.requires_grad_() if requires_grad else t


def _module(device: str | None) -> Any:
    """The array module that makes arrays on ``device`` (NumPy for None and the CPU)."""
    kind = "cpu" if device is None else _backend.parse_device(device)[0]
    return np if kind == "cpu" else _backend.device_module(kind)


def assemble(data: Any, dtype: Any = None) -> Tensor:
    """A Tensor from ``data`` (a Tensor, or nested lists and tuples of Tensors, arrays and
    numbers), laid out as ``np.array(data)`` lays it out and differentiable in every Tensor:
    each list is a ``stack`` of its elements, numbers and arrays are constants, and the result
    is always a copy. The dtype is ``dtype`` if given (a float dtype: a cast to int would cut
    the graph), else the result type of the elements with Python numbers weak (a list of
    float32 Tensors and Python floats stays float32)."""
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*_kinds(data, set()))
    if dt.kind not in "fc" and _interop.needs_grad(data):
        raise TypeError(f"tensor: dtype {dt} would cut the Tensors that need gradients from the "
                        "graph; take the values deliberately with t.detach() first")
    if isinstance(data, Tensor):
        return _ops.mul(data.astype(dt), 1) if data.dtype == dt else data.astype(dt)  # a copy
    return _stacked(data, dt)


def _kinds(data: Any, found: set) -> set:
    """The dtypes in ``data``, with one weak Python number per kind (int, float, ...)."""
    if isinstance(data, Tensor | np.ndarray | np.generic):
        found.add(data.dtype)
    elif isinstance(data, list | tuple):
        for item in data:
            _kinds(item, found)
    elif isinstance(data, bool | int | float | complex):
        found.add(type(data)(0))
    else:
        found.add(np.asarray(data).dtype)
    return found


def _stacked(data: Any, dt: np.dtype) -> Any:
    """``data`` of dtype ``dt``: a stack where a list holds Tensors that need gradients, else
    a constant array."""
    if isinstance(data, Tensor):
        return data.astype(dt) if data.dtype != dt else data
    if isinstance(data, list | tuple) and _interop.needs_grad(data):
        items = [_stacked(item, dt) for item in data]
        shapes = [np.shape(item) for item in items]
        if len(set(shapes)) > 1:
            raise ValueError(f"tensor: the elements of a list must have one shape (a ragged list "
                             f"has no array layout), got shapes {shapes}")
        return _ops.stack(items)
    return np.asarray(_interop.raw(data), dtype=dt)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False,
          device: str | None = None) -> Tensor:
    return _on(_module(device).zeros(_shape(shape), _float_dtype(dtype)), device, requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False,
         device: str | None = None) -> Tensor:
    return _on(_module(device).ones(_shape(shape), _float_dtype(dtype)), device, requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False,
         device: str | None = None) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    data = _module(device).full(_shape(shape), fill_value, _float_dtype(dtype))
    return _on(data, device, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False,
        device: str | None = None) -> Tensor:
    return _on(_module(device).eye(n, m, dtype=_float_dtype(dtype)), device, requires_grad)


def arange(*args: float, dtype: Any = None, requires_grad: bool = False,
           device: str | None = None) -> Tensor:
    """Like ``np.arange``; float64 unless ``dtype`` says otherwise."""
    return _on(_module(device).arange(*args, dtype=_float_dtype(dtype)), device, requires_grad)


def randn(*shape: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
          requires_grad: bool = False, device: str | None = None) -> Tensor:
    """Standard normal samples; ``rng`` is a Generator or a seed. The numbers are drawn on
    the host and copied to ``device``, so a seed gives the same tensor on every device."""
    data = _rng(rng).standard_normal(_shape(shape))
    return _on(data.astype(_float_dtype(dtype), copy=False), device, requires_grad)


def rand(*shape: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
         requires_grad: bool = False, device: str | None = None) -> Tensor:
    """Uniform samples on [0, 1); ``rng`` is a Generator or a seed (drawn on the host, as
    :func:`randn`)."""
    data = _rng(rng).random(_shape(shape))
    return _on(data.astype(_float_dtype(dtype), copy=False), device, requires_grad)


def _like(x: Any, dtype: Any, device: str | None) -> tuple[tuple[int, ...], np.dtype, str]:
    """The shape, dtype (``dtype`` if given) and device (``device`` if given) of ``x``."""
    raw = _interop.raw(x)
    if not hasattr(raw, "dtype"):
        raw = np.asarray(raw)  # a list or a number: only its shape and dtype are used
    dt = np.dtype(dtype) if dtype is not None else raw.dtype
    return np.shape(raw), dt, _backend.device_of(raw) if device is None else device


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False,
               device: str | None = None) -> Tensor:
    shape, dt, device = _like(x, dtype, device)
    return zeros(shape, dtype=dt, requires_grad=requires_grad, device=device)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False,
              device: str | None = None) -> Tensor:
    shape, dt, device = _like(x, dtype, device)
    return ones(shape, dtype=dt, requires_grad=requires_grad, device=device)


def full_like(x: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False,
              device: str | None = None) -> Tensor:
    shape, dt, device = _like(x, dtype, device)
    return full(shape, fill_value, dtype=dt, requires_grad=requires_grad, device=device)


def randn_like(x: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
               requires_grad: bool = False, device: str | None = None) -> Tensor:
    shape, dt, device = _like(x, dtype, device)
    return randn(*shape, rng=rng, dtype=dt, requires_grad=requires_grad, device=device)


def rand_like(x: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
              requires_grad: bool = False, device: str | None = None) -> Tensor:
    shape, dt, device = _like(x, dtype, device)
    return rand(*shape, rng=rng, dtype=dt, requires_grad=requires_grad, device=device)
