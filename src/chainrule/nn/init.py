"""Weight initialisation from a seeded NumPy Generator.

chainrule stores a layer's weight as ``(fan_in, fan_out)`` (so a layer is
``x @ W + b``): ``fan_in = shape[0]``, ``fan_out = shape[1]``. That is the
transpose of PyTorch's ``(out, in)``; the formulas are the same:

  scheme           distribution                          standard deviation
  kaiming          U(-b, b), b = gain sqrt(3 / in)       gain / sqrt(in)
  kaiming_normal   N(0, std^2)                           gain / sqrt(in)
  xavier           U(-b, b), b = gain sqrt(6 / (in+out)) gain sqrt(2 / (in+out))
  xavier_normal    N(0, std^2)                           gain sqrt(2 / (in+out))
  torch            U(-b, b), b = 1 / sqrt(in)            1 / sqrt(3 in)

(in = fan_in, out = fan_out.) Kaiming (He et al. 2015) uses gain sqrt(2),
which keeps the variance of ReLU activations constant through the layers;
Xavier (Glorot & Bengio 2010) uses gain 1, for tanh and sigmoid. ``torch`` is PyTorch's default for
``nn.Linear`` (``kaiming_uniform_(a=sqrt(5))``, and the same bound for the bias).

Samples are drawn in float64 and then converted, so one seed gives the same
numbers (up to rounding) in float32 and float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.creation import _rng

RNG = np.random.Generator | int | None


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight stored as (fan_in, fan_out); a vector has fan_in 1."""
    if len(shape) == 1:
        return 1, shape[0]
    if len(shape) != 2:
        raise ValueError(f"init: a weight must be 1-D or 2-D, got shape {shape}")
    return shape[0], shape[1]


def uniform(shape: tuple[int, ...], bound: float, rng: RNG = None,
            dtype: Any = np.float64) -> np.ndarray:
    """Samples of U(-bound, bound)."""
    return _rng(rng).uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def normal(shape: tuple[int, ...], std: float, rng: RNG = None,
           dtype: Any = np.float64) -> np.ndarray:
    """Samples of N(0, std^2)."""
    return (std * _rng(rng).standard_normal(shape)).astype(dtype, copy=False)


def kaiming_uniform(shape: tuple[int, ...], rng: RNG = None, dtype: Any = np.float64,
                    gain: float = math.sqrt(2.0)) -> np.ndarray:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan_in), so std = gain / sqrt(fan_in)."""
    fan_in, _ = fans(shape)
    return uniform(shape, gain * math.sqrt(3.0 / fan_in), rng, dtype)


def kaiming_normal(shape: tuple[int, ...], rng: RNG = None, dtype: Any = np.float64,
                   gain: float = math.sqrt(2.0)) -> np.ndarray:
    """He normal: N(0, std^2) with std = gain / sqrt(fan_in)."""
    fan_in, _ = fans(shape)
    return normal(shape, gain / math.sqrt(fan_in), rng, dtype)


def xavier_uniform(shape: tuple[int, ...], rng: RNG = None, dtype: Any = np.float64,
                   gain: float = 1.0) -> np.ndarray:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), rng, dtype)


def xavier_normal(shape: tuple[int, ...], rng: RNG = None, dtype: Any = np.float64,
                  gain: float = 1.0) -> np.ndarray:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def torch_default(shape: tuple[int, ...], rng: RNG = None, dtype: Any = np.float64) -> np.ndarray:
    """PyTorch's ``nn.Linear`` default: U(-b, b) with b = 1 / sqrt(fan_in)."""
    fan_in, _ = fans(shape)
    return uniform(shape, 1.0 / math.sqrt(fan_in), rng, dtype)


WEIGHT_INITS: dict[str, Callable[..., np.ndarray]] = {
    "kaiming": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "xavier": xavier_uniform,
    "xavier_normal": xavier_normal,
    "torch": torch_default,
}


def weight(scheme: str, shape: tuple[int, ...], rng: RNG = None,
           dtype: Any = np.float64) -> np.ndarray:
    """A weight of ``shape`` drawn by the named scheme (see the table above)."""
    try:
        init = WEIGHT_INITS[scheme]
    except KeyError:
        raise ValueError(f"init: unknown scheme {scheme!r}; choose one of "
                         f"{', '.join(WEIGHT_INITS)}") from None
    return init(shape, rng, dtype)


def bias(scheme: str, fan_in: int, fan_out: int, rng: RNG = None,
         dtype: Any = np.float64) -> np.ndarray:
    """The bias that goes with ``scheme``: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
    ``torch`` (as PyTorch), zeros for the others."""
    if scheme == "torch":
        return uniform((fan_out,), 1.0 / math.sqrt(fan_in), rng, dtype)
    return np.zeros(fan_out, dtype=dtype)
