"""Making tensors: from data, filled, ranges, and random (seeded NumPy Generators)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor

_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator that ``randn``/``rand`` use when given no ``rng``."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)
    return _default_rng


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
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


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python floats and lists of floats become float64; integer data stays
    integer (and so cannot require grad); ``dtype`` converts.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(shape), _float_dtype(dtype)), requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(np.full(_shape(shape), fill_value, _float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(*args: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Like ``np.arange``; float64 unless ``dtype`` says otherwise."""
    return Tensor(np.arange(*args, dtype=_float_dtype(dtype)), requires_grad)


def randn(*shape: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples; ``rng`` is a Generator or a seed."""
    data = _rng(rng).standard_normal(_shape(shape))
    return Tensor(data.astype(_float_dtype(dtype), copy=False), requires_grad)


def rand(*shape: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1); ``rng`` is a Generator or a seed."""
    data = _rng(rng).random(_shape(shape))
    return Tensor(data.astype(_float_dtype(dtype), copy=False), requires_grad)


def _like(x: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    return np.shape(x), np.dtype(dtype) if dtype is not None else np.asarray(x).dtype


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return Tensor(np.zeros(shape, dt), requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return Tensor(np.ones(shape, dt), requires_grad)


def full_like(x: Any, fill_value: float, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return Tensor(np.full(shape, fill_value, dt), requires_grad)


def randn_like(x: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
               requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return randn(*shape, rng=rng, dtype=dt, requires_grad=requires_grad)


def rand_like(x: Any, rng: np.random.Generator | int | None = None, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return rand(*shape, rng=rng, dtype=dt, requires_grad=requires_grad)
