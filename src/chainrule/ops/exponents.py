"""Exponentials, logarithms in other bases, logaddexp, powers (NumPy's names).

Each block: the forward on raw arrays, then ``d out`` in terms of ``d x``. Constants are
Python floats, so a float32 array stays float32.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.ops.batch_rules import each_broadcasting
from chainrule.ops.elementwise import (
    astype,
    pow,
    sigmoid,
    ufunc_primitive,
    unsupported_type,
)
from chainrule.tensor import Tensor

__all__ = ["cbrt", "exp2", "float_power", "log10", "log2", "logaddexp", "logaddexp2",
           "reciprocal", "square"]

_LN2 = math.log(2)
_LN10 = math.log(10)


# ----- logarithms and exponentials in base 2 and 10 ------------------------------------
log2 = ufunc_primitive("log2", np.log2, """\
log x / log 2, for x > 0 (-inf at 0, NaN below; the derivative is inf at 0).""")


log2.defvjp(lambda g, ans, x: g / (x * _LN2))          # d log2 x = dx / (x ln 2)
log2.defjvp(lambda t, ans, x: t / (x * _LN2))


log10 = ufunc_primitive("log10", np.log10, """\
log x / log 10, for x > 0 (-inf at 0, NaN below; the derivative is inf at 0).""")


log10.defvjp(lambda g, ans, x: g / (x * _LN10))        # d log10 x = dx / (x ln 10)
log10.defjvp(lambda t, ans, x: t / (x * _LN10))


exp2 = ufunc_primitive("exp2", np.exp2, "2 ** x, every real x.")


exp2.defvjp(lambda g, ans, x: g * ans * _LN2)          # d 2^x = 2^x ln 2 dx
exp2.defjvp(lambda t, ans, x: t * ans * _LN2)


# ----- logaddexp: log(e^x + e^y), stable ------------------------------------------------
logaddexp = ufunc_primitive("logaddexp", np.logaddexp, """\
log(e^x + e^y), without overflow for any real x, y (NumPy's own stable form).

Its derivatives are the softmax weights of (x, y): sigmoid(x - y) and sigmoid(y - x),
which never overflow either (logaddexp(1000, 1000) has derivatives 1/2, 1/2).""")


# d log(e^x + e^y) = (e^x dx + e^y dy) / (e^x + e^y) = s(x - y) dx + s(y - x) dy
logaddexp.defvjp(lambda g, ans, x, y: g * sigmoid(x - y),
                 lambda g, ans, x, y: g * sigmoid(y - x))
logaddexp.defjvp(lambda t, ans, x, y: t * sigmoid(x - y),
                 lambda t, ans, x, y: t * sigmoid(y - x))


logaddexp2 = ufunc_primitive("logaddexp2", np.logaddexp2, """\
log2(2^x + 2^y), without overflow for any real x, y.""")


# d log2(2^x + 2^y) = (2^x dx + 2^y dy) / (2^x + 2^y) = s((x - y) ln 2) dx + s((y - x) ln 2) dy
logaddexp2.defvjp(lambda g, ans, x, y: g * sigmoid((x - y) * _LN2),
                  lambda g, ans, x, y: g * sigmoid((y - x) * _LN2))
logaddexp2.defjvp(lambda t, ans, x, y: t * sigmoid((x - y) * _LN2),
                  lambda t, ans, x, y: t * sigmoid((y - x) * _LN2))


# ----- powers -------------------------------------------------------------------------
square = ufunc_primitive("square", np.square, "x * x, every real x.")


square.defvjp(lambda g, ans, x: g * (2 * x))           # d x^2 = 2x dx
square.defjvp(lambda t, ans, x: t * (2 * x))


reciprocal = ufunc_primitive("reciprocal", np.reciprocal, """\
1 / x, for x != 0 (inf at 0, with an infinite derivative). On integers NumPy
truncates (1 / 2 is 0); integer arrays are never differentiated.""")


reciprocal.defvjp(lambda g, ans, x: -g * ans * ans)    # d (1/x) = -dx / x^2
reciprocal.defjvp(lambda t, ans, x: -t * ans * ans)


cbrt = ufunc_primitive("cbrt", np.cbrt, """\
The real cube root, every real x (negative for negative x); the derivative is inf
at 0.""")


cbrt.defvjp(lambda g, ans, x: g / (3 * ans * ans))     # d x^(1/3) = dx / (3 x^(2/3))
cbrt.defjvp(lambda t, ans, x: t / (3 * ans * ans))


def float_power(x, y):
    """x ** y computed in at least float64, as ``np.float_power``: a float32 (or integer)
    operand is promoted, so the result is float64 even for float32 inputs (the function's
    purpose); each operand's gradient comes back in its own dtype. Built from
    :func:`astype` and :func:`pow`, whose rules it uses (domain: x > 0, or integer y)."""
    bad = unsupported_type("float_power", x, y)
    if bad is not None:
        raise bad
    return pow(_at_least_float64(x), _at_least_float64(y))


def _at_least_float64(a):
    if not isinstance(a, Tensor | np.ndarray):
        a = np.asarray(a)
    wide = np.promote_types(a.dtype, np.float64)
    return a if a.dtype == wide else astype(a, wide)


# vmap: all elementwise, so each batching rule only aligns the ranks.
each_broadcasting(log2, log10, exp2, logaddexp, logaddexp2, square, reciprocal, cbrt)

# The NumPy ufuncs and functions this module answers on Tensors (chainrule.numpy_interop).
NUMPY = {
    np.log2: log2, np.log10: log10, np.exp2: exp2, np.logaddexp: logaddexp,
    np.logaddexp2: logaddexp2, np.square: square, np.reciprocal: reciprocal, np.cbrt: cbrt,
    np.float_power: float_power,
}
