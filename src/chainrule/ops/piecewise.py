"""Piecewise functions: fabs, fmax, fmin, remainders, rounding (zero derivative), nan_to_num,
heaviside, copysign (NumPy's names).

Each block: the forward on raw arrays, then ``d out`` in terms of ``d x``. These functions
have kinks or jumps; at a kink the derivative is the one documented per function, at a jump
(a rounding step, a remainder wrapping around) the one-sided derivative, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule.ops.batch_rules import each_broadcasting
from chainrule.ops.elementwise import operand_error, sign, ufunc_primitive, unsupported_type, where
from chainrule.primitive import primitive
from chainrule.tensor import Tensor

__all__ = ["around", "ceil", "copysign", "fabs", "fix", "floor", "fmax", "fmin", "fmod",
           "heaviside", "mod", "nan_to_num", "remainder", "rint", "round", "trunc"]


# ----- fabs ---------------------------------------------------------------------------
fabs = ufunc_primitive("fabs", np.fabs, """\
``|x|`` as a float (NumPy's fabs); at the kink x = 0 the derivative is taken as 0.""")


fabs.defvjp(lambda g, ans, x: g * sign(x))             # d |x| = sign(x) dx
fabs.defjvp(lambda t, ans, x: t * sign(x))


# ----- fmax, fmin: NaN-ignoring maximum and minimum ------------------------------------
def _nan_share(g, x, y, x_better, first):
    """The share of ``g`` that goes to x (``first``) or y in fmax/fmin: all of it to the
    argument returned, to the non-NaN one when the other is NaN (to x when both are), half
    to each on a tie (as :func:`chainrule.maximum` splits ties)."""
    tie = x == y  # comparisons are plain bool arrays: the masks are not differentiated
    x_wins = x_better | np.isnan(y)
    return g * (x_wins if first else ~(x_wins | tie)) + (0.5 * g) * tie


fmax = ufunc_primitive("fmax", np.fmax, """\
The larger of x and y, ignoring NaN: NaN only where both are NaN.""")


# d fmax(x, y) = [x returned] dx + [y returned] dy (ties: half each)
fmax.defvjp(lambda g, ans, x, y: _nan_share(g, x, y, x > y, True),
            lambda g, ans, x, y: _nan_share(g, x, y, x > y, False))
fmax.defjvp(lambda t, ans, x, y: _nan_share(t, x, y, x > y, True),
            lambda t, ans, x, y: _nan_share(t, x, y, x > y, False))


fmin = ufunc_primitive("fmin", np.fmin, """\
The smaller of x and y, ignoring NaN: NaN only where both are NaN.""")


# d fmin(x, y) = [x returned] dx + [y returned] dy (ties: half each)
fmin.defvjp(lambda g, ans, x, y: _nan_share(g, x, y, x < y, True),
            lambda g, ans, x, y: _nan_share(g, x, y, x < y, False))
fmin.defjvp(lambda t, ans, x, y: _nan_share(t, x, y, x < y, True),
            lambda t, ans, x, y: _nan_share(t, x, y, x < y, False))


# ----- remainders -----------------------------------------------------------------------
def _quotient(x, y, ans):
    """The whole number q with x = q y + ans (floor(x/y) for remainder, trunc(x/y) for fmod),
    recovered from the result itself so it agrees with NumPy's rounding at the edges. It is
    piecewise constant, so it is computed on raw arrays and not differentiated."""
    x, y, ans = (v.detach() if isinstance(v, Tensor) else v for v in (x, y, ans))
    return rint((x - ans) / y)


remainder = ufunc_primitive("remainder", np.remainder, """\
x - floor(x / y) y, with the sign of y (Python's %); NaN where y = 0. It jumps
where x / y is a whole number (there the derivative is the one from the right).""")


# d (x - q y) = dx - q dy, q = floor(x / y) constant between the jumps
remainder.defvjp(lambda g, ans, x, y: g,
                 lambda g, ans, x, y: -g * _quotient(x, y, ans))
remainder.defjvp(lambda t, ans, x, y: t,
                 lambda t, ans, x, y: -t * _quotient(x, y, ans))

mod = remainder  # NumPy's other name


fmod = ufunc_primitive("fmod", np.fmod, """\
x - trunc(x / y) y, with the sign of x (C's fmod); NaN where y = 0. It jumps where
x / y is a whole number.""")


# d (x - q y) = dx - q dy, q = trunc(x / y) constant between the jumps
fmod.defvjp(lambda g, ans, x, y: g,
            lambda g, ans, x, y: -g * _quotient(x, y, ans))
fmod.defjvp(lambda t, ans, x, y: t,
            lambda t, ans, x, y: -t * _quotient(x, y, ans))


# ----- rounding: piecewise constant, derivative 0 ---------------------------------------
def _flat(g, ans, x, *args, **kwargs):
    """The rounding functions are piecewise constant: derivative 0 (undefined at the steps,
    where 0 is used too, as PyTorch does)."""
    return g * 0


def _rounding(name: str, ufunc: np.ufunc, doc: str):
    return ufunc_primitive(name, ufunc, doc + " Piecewise constant: its derivative is 0."
                           ).defvjp(_flat).defjvp(_flat)


floor = _rounding("floor", np.floor, "The largest whole number <= x.")
ceil = _rounding("ceil", np.ceil, "The smallest whole number >= x.")
trunc = _rounding("trunc", np.trunc, "x rounded toward zero.")
rint = _rounding("rint", np.rint, "x rounded to the nearest whole number (halves to even).")


@primitive
def fix(x):
    """x rounded toward zero (as trunc). Piecewise constant: its derivative is 0."""
    try:
        return np.fix(x)
    except (TypeError, ValueError) as e:
        raise operand_error("fix", e, x) from None


fix.defvjp(_flat)
fix.defjvp(_flat)


@primitive
def round(x, decimals=0):
    """x rounded to ``decimals`` decimal places (halves to even). Piecewise constant: its
    derivative is 0."""
    try:
        return np.round(x, decimals)
    except (TypeError, ValueError) as e:
        raise operand_error("round", e, x) from None


round.defvjp(_flat, None)
round.defjvp(_flat, None)

around = round  # NumPy's other name


# ----- nan_to_num, heaviside, copysign --------------------------------------------------------
@primitive
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """x with NaN, inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (defaults:
    0, the largest and the smallest float). The derivative is 1 where x is finite, 0 where
    a constant replaced it. Always returns a new array (``copy`` is accepted for NumPy's
    signature)."""
    bad = unsupported_type("nan_to_num", x)  # NumPy returns a str or an object unchanged
    if bad is not None:
        raise bad
    return np.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)


def _dnan_to_num(g, ans, x, *args, **kwargs):
    return g * np.isfinite(x)                          # d nan_to_num x = [x finite] dx


nan_to_num.defvjp(_dnan_to_num, None, None, None, None)
nan_to_num.defjvp(_dnan_to_num, None, None, None, None)


heaviside = ufunc_primitive("heaviside", np.heaviside, """\
0 where x < 0, ``h0`` where x = 0, 1 where x > 0. The derivative in x is 0 (a step;
undefined at 0, where 0 is used); in h0 it is 1 where x = 0.""")


# d heaviside(x, h0) = 0 dx + [x = 0] dh0
heaviside.defvjp(_flat,
                 lambda g, ans, x, h0: g * (x == 0))
heaviside.defjvp(_flat,
                 lambda t, ans, x, h0: t * (x == 0))


copysign = ufunc_primitive("copysign", np.copysign, """\
``|x|`` with the sign of y (the sign bit: -0.0 counts as negative). The derivative in x
is +-sign(x) (0 at the kink x = 0, as for abs); in y it is 0 (a jump at y = 0).""")


def _dcopysign(g, x, y):
    flipped = where(np.signbit(y), -g, g)  # signbit: a plain bool array, y not differentiated
    return flipped * sign(x)


# d copysign(x, y) = sign(x) sign(y) dx + 0 dy
copysign.defvjp(lambda g, ans, x, y: _dcopysign(g, x, y), _flat)
copysign.defjvp(lambda t, ans, x, y: _dcopysign(t, x, y), _flat)

# ----- complex parts of a real array -------------------------------------------------------
def _real_part(name: str, numpy_f, doc: str, derivative):
    """``numpy_f`` (np.real, np.conj, ...) on a real array, where it is x itself or a
    constant; complex input is refused (chainrule differentiates real values only)."""

    def forward(x):
        if np.iscomplexobj(x):
            from chainrule.autograd import complex_error

            raise complex_error(f"{name} of an array of dtype {np.result_type(x)}")
        return backend.copy(numpy_f(x))

    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = doc
    return primitive(forward).defvjp(derivative).defjvp(derivative)


def _identity(g, ans, x):
    return g


# d real(x) = d conj(x) = dx for real x; imag(x) = 0 and angle(x) in {0, pi}: derivative 0
real = _real_part("real", np.real, "x itself for real x (a copy).", _identity)
conj = conjugate = _real_part("conj", np.conj, "x itself for real x (a copy).", _identity)
real_if_close = _real_part("real_if_close", np.real_if_close, "x itself for real x (a copy).",
                           _identity)
imag = _real_part("imag", np.imag, "0 for real x: its derivative is 0.", _flat)
angle = _real_part("angle", np.angle, "0 where x >= 0, pi where x < 0 (real x): piecewise "
                   "constant, derivative 0.", _flat)
__all__ += ["angle", "conj", "conjugate", "imag", "real", "real_if_close"]


floor_divide = ufunc_primitive("floor_divide", np.floor_divide, """\
floor(x / y) (Python's ``x // y``). Piecewise constant in both: derivative 0.""")


floor_divide.defvjp(_flat, _flat)                      # d floor(x / y) = 0 between the jumps
floor_divide.defjvp(_flat, _flat)
__all__ += ["floor_divide"]


# vmap: all elementwise, so each batching rule only aligns the ranks.
each_broadcasting(fabs, fmax, fmin, remainder, fmod, floor, ceil, trunc, rint, fix, round,
                  nan_to_num, heaviside, copysign, real, conj, real_if_close, imag, angle,
                  floor_divide)

# The NumPy ufuncs and functions this module answers on Tensors (chainrule.numpy_interop).
NUMPY = {
    np.fabs: fabs, np.fmax: fmax, np.fmin: fmin, np.remainder: remainder, np.fmod: fmod,
    np.floor: floor, np.ceil: ceil, np.trunc: trunc, np.rint: rint, np.fix: fix,
    np.round: round, np.around: round, np.nan_to_num: nan_to_num, np.heaviside: heaviside,
    np.copysign: copysign, np.real: real, np.imag: imag, np.conjugate: conj,
    np.real_if_close: real_if_close, np.angle: angle, np.floor_divide: floor_divide,
}
