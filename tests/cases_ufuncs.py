"""Primitive-table rows for chainrule.ops: trig, exponents, piecewise, and NumPy's names for
the arithmetic primitives. Domains keep away from the edges of each function's domain, its
kinks and its jumps (the special points are in test_ufuncs_special.py)."""

from __future__ import annotations

import numpy as np
from case_strategies import (
    HIGH,
    LOW,
    NONZERO,
    POSITIVE,
    REAL,
    arrays,
    broadcastable,
    floats,
    unary,
)
from case_table import case
from hypothesis import strategies as st

import chainrule as cr

try:
    import torch
except ImportError:  # the finite-difference checks run without PyTorch
    torch = None


def _t(name: str):
    return lambda *xs: getattr(torch, name)(*xs)


_INSIDE_ONE = floats(-0.9, 0.9)
_AWAY_FROM_ZERO = floats(-3, -0.2) | floats(0.2, 3)
# Between the steps of the rounding functions: 0.1 to 0.4 from a whole number or a half.
_BETWEEN_STEPS = st.builds(lambda k, f: k + f, st.integers(-3, 2),
                           floats(0.1, 0.4) | floats(0.6, 0.9))
_BETWEEN_TENTHS = st.builds(lambda k, f: k / 10 + f, st.integers(-30, 30),
                            floats(0.01, 0.04) | floats(0.06, 0.09))

# ----- unary: (name, domain, PyTorch's function) --------------------------------------------
for _name, _dom, _torch in [
    ("sinh", REAL, _t("sinh")), ("cosh", REAL, _t("cosh")), ("arcsin", _INSIDE_ONE, _t("asin")),
    ("arccos", _INSIDE_ONE, _t("acos")), ("arctan", REAL, _t("atan")),
    ("arcsinh", REAL, _t("asinh")), ("arccosh", floats(1.1, 5), _t("acosh")),
    ("arctanh", _INSIDE_ONE, _t("atanh")), ("deg2rad", REAL, _t("deg2rad")),
    ("radians", REAL, _t("deg2rad")), ("rad2deg", REAL, _t("rad2deg")),
    ("degrees", REAL, _t("rad2deg")), ("sinc", _AWAY_FROM_ZERO, _t("sinc")),
    # 0.02 < |x| < 0.1: the series branch of sinc's derivative, where torch is still accurate
    ("sinc[near 0]", floats(-0.099, -0.02) | floats(0.02, 0.099), _t("sinc")),
    ("log2", POSITIVE, _t("log2")), ("log10", POSITIVE, _t("log10")), ("exp2", REAL, _t("exp2")),
    ("square", REAL, _t("square")), ("reciprocal", NONZERO, _t("reciprocal")),
    ("cbrt", NONZERO, lambda x: torch.sign(x) * torch.abs(x) ** (1 / 3)),
    ("fabs", NONZERO, _t("abs")), ("nan_to_num", REAL, _t("nan_to_num")),
    ("floor", _BETWEEN_STEPS, _t("floor")), ("ceil", _BETWEEN_STEPS, _t("ceil")),
    ("trunc", _BETWEEN_STEPS, _t("trunc")), ("fix", _BETWEEN_STEPS, _t("fix")),
    ("rint", _BETWEEN_STEPS, _t("round")), ("round", _BETWEEN_STEPS, _t("round")),
    ("around", _BETWEEN_STEPS, _t("round")), ("negative", REAL, _t("neg")),
    ("absolute", NONZERO, _t("abs")), ("positive", REAL, _t("positive")),
]:
    case(_name, getattr(cr, _name.split("[")[0]), _torch, unary(_dom))
case("round[decimals=1]", lambda x: cr.round(x, 1), lambda x: torch.round(x, decimals=1),
     unary(_BETWEEN_TENTHS))
case("nan_to_num[nan=1.5]", lambda x: cr.nan_to_num(x, nan=1.5),
     lambda x: torch.nan_to_num(x, nan=1.5), unary(REAL))

# ----- binary, with broadcasting ------------------------------------------------------------
# remainder and fmod jump where x / y is whole: y near +-0.5, +-1 or +-2 and x = +-(2n + 0.3 +
# f) keep x / y at least 0.1 from a whole number for every pair that broadcasting forms.
_DIVISORS = st.builds(lambda s, e: s * (1 + e), st.sampled_from([-2.0, -1.0, -0.5, 0.5, 1, 2]),
                      floats(0, 0.01))
_DIVIDENDS = st.builds(lambda s, n, f: s * (2 * n + 0.3 + f), st.sampled_from([-1, 1]),
                       st.integers(0, 1), floats(0, 0.1))


def _float_power(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
    """float_power computes in float64 (as NumPy); cast back so the float32 check sees its
    float32 gradients."""
    return cr.astype(cr.float_power(x, y), x.dtype)


for _name, _fn, _torch, _ex, _ey in [
    ("arctan2", cr.arctan2, _t("atan2"), NONZERO, REAL),  # y != 0: off the branch cut
    ("hypot", cr.hypot, _t("hypot"), NONZERO, NONZERO),
    ("logaddexp", cr.logaddexp, _t("logaddexp"), floats(-30, 30), floats(-30, 30)),
    ("logaddexp2", cr.logaddexp2, _t("logaddexp2"), floats(-30, 30), floats(-30, 30)),
    ("float_power", _float_power, _t("float_power"), POSITIVE,
     floats(-2, -0.05) | floats(0.05, 2)),  # exponent 0: torch masks a mixed derivative
    ("fmax", cr.fmax, _t("fmax"), LOW, HIGH), ("fmax[swapped]", cr.fmax, _t("fmax"), HIGH, LOW),
    ("fmin", cr.fmin, _t("fmin"), LOW, HIGH), ("fmin[swapped]", cr.fmin, _t("fmin"), HIGH, LOW),
    ("remainder", cr.remainder, _t("remainder"), _DIVIDENDS, _DIVISORS),
    ("mod", cr.mod, _t("remainder"), _DIVIDENDS, _DIVISORS),
    ("fmod", cr.fmod, _t("fmod"), _DIVIDENDS, _DIVISORS),
    ("heaviside", cr.heaviside,
     lambda x, h0: torch.where(x == 0, h0, (x > 0).to(x.dtype)), NONZERO, REAL),
    ("copysign", cr.copysign, _t("copysign"), NONZERO, NONZERO),
    ("power", cr.power, _t("pow"), POSITIVE, floats(-2, -0.05) | floats(0.05, 2)),
    ("subtract", cr.subtract, _t("subtract"), REAL, REAL),
    ("multiply", cr.multiply, _t("multiply"), REAL, REAL),
    ("divide", cr.divide, _t("divide"), REAL, NONZERO),
    ("true_divide", cr.true_divide, _t("true_divide"), REAL, NONZERO),
]:
    case(_name, _fn, _torch, arrays(broadcastable(2), _ex, _ey))

case("float_power[scalar exponent]", lambda x: _float_power(x, 2.5),
     lambda x: torch.float_power(x, 2.5), unary(POSITIVE))
case("fmax[scalar]", lambda x: cr.fmax(x, 0.5), lambda x: torch.fmax(x, torch.tensor(0.5)),
     unary(floats(-3, 0.3) | floats(0.7, 3)))
case("arctan2[numpy]", lambda y, x: np.arctan2(y, x), _t("atan2"),
     arrays(broadcastable(2), NONZERO, REAL))

# ----- complex parts of real arrays: identities (real, conj) or constants (imag, angle) ------
for _name, _torch in [("real", lambda x: torch.real(x)), ("conj", lambda x: torch.conj(x)),
                      ("conjugate", lambda x: torch.conj(x)), ("real_if_close", lambda x: x),
                      ("imag", lambda x: x * 0), ("angle", lambda x: torch.angle(x))]:
    case(_name, getattr(cr, _name), _torch, unary(NONZERO))
case("floor_divide", cr.floor_divide, lambda x, y: torch.floor(x / y),  # torch: no derivative
     arrays(broadcastable(), _DIVIDENDS, _DIVISORS))
