"""Trigonometric, hyperbolic and angle-conversion ufuncs (NumPy's names).

Each block: the forward on raw arrays, then ``d out`` in terms of ``d x``. Inverse functions
have derivatives that blow up at the edges of their domain (``arcsin`` at +-1, ``arccosh``
at 1, ``arctanh`` at +-1): there the derivative is ``inf`` (NumPy warns of a division by
zero), as in NumPy and PyTorch; outside the domain the value and derivative are NaN.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.ops.batch_rules import each_broadcasting
from chainrule.ops.elementwise import cos, operand_error, sqrt, ufunc_primitive, where
from chainrule.primitive import primitive

__all__ = ["arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "cosh",
           "deg2rad", "degrees", "hypot", "rad2deg", "radians", "sinc", "sinh"]


# ----- hyperbolic -------------------------------------------------------------
sinh = ufunc_primitive("sinh", np.sinh, "(e^x - e^-x) / 2, every real x.")


# ignore[has-type]: mypy cannot type cosh here, before its assignment below
sinh.defvjp(lambda g, ans, x: g * cosh(x))  # type: ignore[has-type]  # d sinh x = cosh x dx
sinh.defjvp(lambda t, ans, x: t * cosh(x))  # type: ignore[has-type]


cosh = ufunc_primitive("cosh", np.cosh, "(e^x + e^-x) / 2, every real x.")


cosh.defvjp(lambda g, ans, x: g * sinh(x))              # d cosh x = sinh x dx
cosh.defjvp(lambda t, ans, x: t * sinh(x))


arcsinh = ufunc_primitive("arcsinh", np.arcsinh, "The inverse of sinh, every real x.")


# ignore[has-type]: mypy cannot type hypot, a decorated function, before its def below
arcsinh.defvjp(lambda g, ans, x: g / hypot(x, 1.0))  # type: ignore[has-type]  # d arcsinh x = dx / sqrt(x^2 + 1)
arcsinh.defjvp(lambda t, ans, x: t / hypot(x, 1.0))  # type: ignore[has-type]


arccosh = ufunc_primitive("arccosh", np.arccosh, """\
The inverse of cosh on x >= 1 (NaN below 1); the derivative is inf at x = 1.""")


def _darccosh(x):
    return 1 / sqrt((x - 1) * (x + 1))  # (x-1)(x+1), not x^2 - 1: accurate near x = 1


arccosh.defvjp(lambda g, ans, x: g * _darccosh(x))     # d arccosh x = dx / sqrt(x^2 - 1)
arccosh.defjvp(lambda t, ans, x: t * _darccosh(x))


arctanh = ufunc_primitive("arctanh", np.arctanh, """\
The inverse of tanh on -1 < x < 1 (+-inf at +-1, NaN outside).""")


arctanh.defvjp(lambda g, ans, x: g / ((1 - x) * (1 + x)))  # d arctanh x = dx / (1 - x^2)
arctanh.defjvp(lambda t, ans, x: t / ((1 - x) * (1 + x)))


# ----- inverse trigonometric -------------------------------------------------------
arcsin = ufunc_primitive("arcsin", np.arcsin, """\
The inverse of sin on -1 <= x <= 1, in [-pi/2, pi/2]; the derivative is inf at +-1.""")


def _darcsin(x):
    return 1 / sqrt((1 - x) * (1 + x))


arcsin.defvjp(lambda g, ans, x: g * _darcsin(x))       # d arcsin x = dx / sqrt(1 - x^2)
arcsin.defjvp(lambda t, ans, x: t * _darcsin(x))


arccos = ufunc_primitive("arccos", np.arccos, """\
The inverse of cos on -1 <= x <= 1, in [0, pi]; the derivative is -inf at +-1.""")


arccos.defvjp(lambda g, ans, x: -g * _darcsin(x))      # d arccos x = -dx / sqrt(1 - x^2)
arccos.defjvp(lambda t, ans, x: -t * _darcsin(x))


arctan = ufunc_primitive("arctan", np.arctan, """\
The inverse of tan, every real x, in (-pi/2, pi/2).""")


arctan.defvjp(lambda g, ans, x: g / (1 + x * x))       # d arctan x = dx / (1 + x^2)
arctan.defjvp(lambda t, ans, x: t / (1 + x * x))


def _over_norm_squared(a, x, y):
    """a / (x^2 + y^2), with the norm from hypot (no overflow for large x, y)."""
    r = hypot(x, y)
    return a / r / r


arctan2 = ufunc_primitive("arctan2", np.arctan2, """\
The angle of the point (x, y), in [-pi, pi]. Its derivative is undefined at the
origin (NaN there, as in PyTorch) and it jumps across the negative x axis.""")


# d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
arctan2.defvjp(lambda g, ans, y, x: _over_norm_squared(g * x, x, y),
               lambda g, ans, y, x: _over_norm_squared(-g * y, x, y))
arctan2.defjvp(lambda t, ans, y, x: _over_norm_squared(t * x, x, y),
               lambda t, ans, y, x: _over_norm_squared(-t * y, x, y))


hypot = ufunc_primitive("hypot", np.hypot, """\
sqrt(x^2 + y^2) without overflow. At the origin, a kink, the derivative is taken
as 0 (as for :func:`chainrule.norm` at 0).""")


def _over(a, r):
    """a / r, and 0 where r == 0 (the subgradient of a norm at the origin)."""
    zero = r == 0
    return where(zero, 0.0, a / where(zero, 1.0, r))


hypot.defvjp(lambda g, ans, x, y: g * _over(x, ans),   # d hypot(x, y) = (x dx + y dy) / hypot
             lambda g, ans, x, y: g * _over(y, ans))
hypot.defjvp(lambda t, ans, x, y: t * _over(x, ans),
             lambda t, ans, x, y: t * _over(y, ans))


# ----- angles -------------------------------------------------------------------
_RADIANS_PER_DEGREE = math.pi / 180  # a Python float: a float32 array stays float32


deg2rad = ufunc_primitive("deg2rad", np.deg2rad, "Degrees to radians: x pi / 180 (linear).")


deg2rad.defvjp(lambda g, ans, x: g * _RADIANS_PER_DEGREE)  # d (x pi/180) = pi/180 dx
deg2rad.defjvp(lambda t, ans, x: t * _RADIANS_PER_DEGREE)


rad2deg = ufunc_primitive("rad2deg", np.rad2deg, "Radians to degrees: x 180 / pi (linear).")


rad2deg.defvjp(lambda g, ans, x: g / _RADIANS_PER_DEGREE)  # d (x 180/pi) = 180/pi dx
rad2deg.defjvp(lambda t, ans, x: t / _RADIANS_PER_DEGREE)

radians = deg2rad  # NumPy's other names for the same functions
degrees = rad2deg


# ----- sinc -------------------------------------------------------------------------
@primitive
def sinc(x):
    """The normalized sinc, sin(pi x) / (pi x), and 1 at x = 0 (every real x).

    Its derivative is (cos(pi x) - sinc x) / x, 0 at x = 0. That quotient cancels near 0,
    so for ``|x| < 0.1`` the derivative is the Taylor series of sinc differentiated term by
    term (exact at 0 to every order: the second derivative there is -pi^2 / 3)."""
    try:
        return np.sinc(x)
    except (TypeError, ValueError) as e:
        raise operand_error("sinc", e, x) from None


_SINC_NEAR_ZERO = 0.1
# sinc x = sum_k a_k x^(2k), a_k = (-1)^k pi^(2k) / (2k + 1)!; the terms past k = 8 are
# below 1e-20 for |x| < 0.1.
_SINC_SERIES = [(-1) ** k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(9)]


def _dsinc(x):
    """d sinc / dx: the differentiated series near 0, the quotient elsewhere (each branch
    only ever sees x where it is accurate, so its own derivatives are right too)."""
    near = (x > -_SINC_NEAR_ZERO) & (x < _SINC_NEAR_ZERO)  # comparisons: plain bool arrays
    away = where(near, 1.0, x)
    quotient = (cos(math.pi * away) - sinc(away)) / away
    x2 = x * x
    last = len(_SINC_SERIES) - 1
    series = 2 * last * _SINC_SERIES[last]  # sum_{k >= 1} 2k a_k x^(2k-2), Horner in x^2
    for k in range(last - 1, 0, -1):
        series = series * x2 + 2 * k * _SINC_SERIES[k]
    return where(near, x * series, quotient)


sinc.defvjp(lambda g, ans, x: g * _dsinc(x))           # d sinc x = (cos(pi x) - sinc x) / x dx
sinc.defjvp(lambda t, ans, x: t * _dsinc(x))

# vmap: all elementwise, so each batching rule only aligns the ranks.
each_broadcasting(sinh, cosh, arcsinh, arccosh, arctanh, arcsin, arccos, arctan, arctan2, hypot,
                  deg2rad, rad2deg, sinc)

# The NumPy ufuncs and functions this module answers on Tensors (chainrule.numpy_interop).
NUMPY = {
    np.sinh: sinh, np.cosh: cosh, np.arcsin: arcsin, np.arccos: arccos, np.arctan: arctan,
    np.arcsinh: arcsinh, np.arccosh: arccosh, np.arctanh: arctanh, np.arctan2: arctan2,
    np.hypot: hypot, np.deg2rad: deg2rad, np.radians: deg2rad, np.rad2deg: rad2deg,
    np.degrees: rad2deg, np.sinc: sinc,
}
