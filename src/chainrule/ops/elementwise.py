"""Elementwise primitives: forward on raw arrays, then the vjp and jvp rules.

Every binary primitive broadcasts as NumPy does; its vjp rules return
cotangents of the broadcast shape and the engine sums them back to each
input's shape in one place (:func:`chainrule.ops.shape.sum_to_shape <chainrule.sum_to_shape>`).
Read each block as: forward, then ``d out`` in terms of ``d x``.
"""

from __future__ import annotations

import inspect
from functools import partial
from typing import Any

import numpy as np

from chainrule.batching import is_batched
from chainrule.ops.batch_rules import each_broadcasting
from chainrule.primitive import Primitive, primitive
from chainrule.tensor import Tensor


# ----- bad operands ----------------------------------------------------------
def unsupported_type(op: str, *operands: object) -> TypeError | None:
    """A TypeError naming the first operand that is not numeric (a str, None, an object)."""
    for a in operands:
        try:
            kind = (a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype).kind
        except (TypeError, ValueError):  # a ragged list
            kind = "O"
        if kind not in "biufc":
            dtype = f" of dtype {a.dtype}" if isinstance(a, np.ndarray) else ""
            return TypeError(f"{op}: unsupported operand type '{type(a).__name__}'{dtype} "
                             "(expected a Tensor, a NumPy array or a number)")
    return None


def operand_error(op: str, error: Exception, *operands: Any) -> Exception:
    """What to raise after NumPy refused ``op``'s operands: a TypeError naming an operand of
    an unsupported type, a ValueError naming shapes that do not broadcast, or else NumPy's
    own message under the op's name. Only the failing call pays; the hot path is NumPy's."""
    bad = unsupported_type(op, *operands)
    if bad is not None:
        return bad
    shapes = [np.shape(a) for a in operands]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(map(str, shapes[:-1])) + f" and {shapes[-1]}"
        return ValueError(f"{op}: shapes {listed} do not broadcast")
    return (TypeError if isinstance(error, TypeError) else ValueError)(f"{op}: {error}")


def ufunc_primitive(name: str, ufunc: np.ufunc, doc: str) -> Primitive:
    """A primitive whose forward *is* the NumPy ufunc (``out=`` included): no Python
    wrapper between the engine and NumPy, so the hot path is NumPy's own, and a jit replay
    calls the ufunc directly. Operands NumPy refuses are explained by
    :func:`operand_error` under ``name``."""
    prim = Primitive(ufunc, name)
    prim.__doc__ = doc
    prim.explain = partial(operand_error, name)
    prim.keywords = frozenset({"out"})  # not where=, dtype=...: the rules know none of them
    names = ("x", "y")[:ufunc.nin]
    prim.__signature__ = inspect.Signature(  # what help() and the API pages show
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
        + [inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)])
    return prim


# ----- arithmetic -----------------------------------------------------------
add = ufunc_primitive("add", np.add, "x + y")


add.defvjp(lambda g, ans, x, y: g,                     # d(x + y) = dx + dy
           lambda g, ans, x, y: g)
add.defjvp(lambda t, ans, x, y: t,
           lambda t, ans, x, y: t)


sub = ufunc_primitive("sub", np.subtract, "x - y")


sub.defvjp(lambda g, ans, x, y: g,                     # d(x - y) = dx - dy
           lambda g, ans, x, y: -g)
sub.defjvp(lambda t, ans, x, y: t,
           lambda t, ans, x, y: -t)


mul = ufunc_primitive("mul", np.multiply, "x * y")


mul.defvjp(lambda g, ans, x, y: g * y,                 # d(xy) = y dx + x dy
           lambda g, ans, x, y: g * x)
mul.defjvp(lambda t, ans, x, y: t * y,
           lambda t, ans, x, y: x * t)


div = ufunc_primitive("div", np.divide, "x / y")


div.defvjp(lambda g, ans, x, y: g / y,                 # d(x/y) = dx/y - (x/y) dy/y
           lambda g, ans, x, y: -g * ans / y)
div.defjvp(lambda t, ans, x, y: t / y,
           lambda t, ans, x, y: -t * ans / y)


neg = ufunc_primitive("neg", np.negative, "-x")


neg.defvjp(lambda g, ans, x: -g)                       # d(-x) = -dx
neg.defjvp(lambda t, ans, x: -t)


def _log_base(x):
    """log x where x > 0, and 0 where x == 0 (there x**y has d/dy = 0 for y > 0)."""
    if isinstance(x, int | float):  # a Python base (2 ** t) stays a Python float: no upcast
        return float(np.log(x)) if x != 0 else 0.0
    return log(where(x == 0, 1.0, x))


@primitive
def pow(x, y):
    """x ** y"""
    try:
        return np.power(x, y)
    except (TypeError, ValueError) as e:
        raise operand_error("pow", e, x, y) from None


def _dpow_dx(x, y):
    """y x^(y-1), taken as 0 where y == 0 (x^0 is constant, even at x = 0). Only the point
    x = y = 0 is masked (not every y = 0), so d/dy of this is still x^(y-1)(1 + y log x)."""
    if isinstance(y, int | float):
        return y * x ** (y - 1) if y != 0 else x * 0
    return y * where((x == 0) & (y == 0), 1.0, x) ** (y - 1)


pow.defvjp(lambda g, ans, x, y: g * _dpow_dx(x, y),    # d x^y = y x^(y-1) dx + x^y log x dy
           lambda g, ans, x, y: g * ans * _log_base(x))
pow.defjvp(lambda t, ans, x, y: t * _dpow_dx(x, y),
           lambda t, ans, x, y: t * ans * _log_base(x))


@primitive
def astype(x, dtype):
    """x converted to ``dtype``."""
    return x.astype(dtype, copy=False)


astype.defvjp(lambda g, ans, x, dtype: astype(g, x.dtype))  # a cast is linear: cast back
astype.defjvp(lambda t, ans, x, dtype: astype(t, dtype))


# ----- exponentials and logarithms ------------------------------------------
exp = ufunc_primitive("exp", np.exp, "e ** x")


exp.defvjp(lambda g, ans, x: g * ans)                  # d e^x = e^x dx
exp.defjvp(lambda t, ans, x: t * ans)


log = ufunc_primitive("log", np.log, "Natural logarithm.")


log.defvjp(lambda g, ans, x: g / x)                    # d log x = dx / x
log.defjvp(lambda t, ans, x: t / x)


@primitive
def log1p(x):
    """log(1 + x), accurate for small x."""
    return np.log1p(x)


log1p.defvjp(lambda g, ans, x: g / (1 + x))            # d log(1+x) = dx / (1+x)
log1p.defjvp(lambda t, ans, x: t / (1 + x))


@primitive
def expm1(x):
    """e ** x - 1, accurate for small x."""
    return np.expm1(x)


expm1.defvjp(lambda g, ans, x: g * (ans + 1))          # d (e^x - 1) = e^x dx
expm1.defjvp(lambda t, ans, x: t * (ans + 1))


sqrt = ufunc_primitive("sqrt", np.sqrt, "Square root.")


sqrt.defvjp(lambda g, ans, x: g / (2 * ans))           # d sqrt x = dx / (2 sqrt x)
sqrt.defjvp(lambda t, ans, x: t / (2 * ans))


# ----- trigonometric and hyperbolic -----------------------------------------
sin = ufunc_primitive("sin", np.sin, "Sine.")


# ignore[has-type]: mypy cannot type cos here, before its assignment below
sin.defvjp(lambda g, ans, x: g * cos(x))  # type: ignore[has-type]  # d sin x = cos x dx
sin.defjvp(lambda t, ans, x: t * cos(x))  # type: ignore[has-type]


cos = ufunc_primitive("cos", np.cos, "Cosine.")


cos.defvjp(lambda g, ans, x: -g * sin(x))              # d cos x = -sin x dx
cos.defjvp(lambda t, ans, x: -t * sin(x))


@primitive
def tan(x):
    """Tangent."""
    return np.tan(x)


tan.defvjp(lambda g, ans, x: g * (1 + ans * ans))      # d tan x = (1 + tan^2 x) dx
tan.defjvp(lambda t, ans, x: t * (1 + ans * ans))


tanh = ufunc_primitive("tanh", np.tanh, "Hyperbolic tangent.")


tanh.defvjp(lambda g, ans, x: g * (1 - ans * ans))     # d tanh x = (1 - tanh^2 x) dx
tanh.defjvp(lambda t, ans, x: t * (1 - ans * ans))


# ----- activations ------------------------------------------------------------
@primitive
def sigmoid(x):
    """1 / (1 + e^-x), computed as exp(-log(1 + e^-x)): never overflows."""
    return np.exp(-np.logaddexp(0, -x))


sigmoid.defvjp(lambda g, ans, x: g * ans * (1 - ans))  # d s(x) = s(x)(1 - s(x)) dx
sigmoid.defjvp(lambda t, ans, x: t * ans * (1 - ans))


@primitive
def softplus(x):
    """log(1 + e^x), computed stably as logaddexp(0, x)."""
    return np.logaddexp(0, x)


softplus.defvjp(lambda g, ans, x: g * sigmoid(x))      # d log(1 + e^x) = s(x) dx
softplus.defjvp(lambda t, ans, x: t * sigmoid(x))


@primitive
def relu(x, out=None):
    """max(x, 0). Subgradient at the kink: 0 at x = 0 (``[x > 0]``), as PyTorch."""
    return np.maximum(x, 0, out=out)


relu.defvjp(lambda g, ans, x: g * (x > 0))             # d relu x = [x > 0] dx
relu.defjvp(lambda t, ans, x: t * (x > 0))


@primitive
def abs(x):
    """``|x|``. Subgradient at the kink: sign(0) = 0 at x = 0, as PyTorch."""
    return np.abs(x)


# ignore[has-type]: mypy cannot type sign, a decorated function, before its def below
abs.defvjp(lambda g, ans, x: g * sign(x))  # type: ignore[has-type]  # d |x| = sign(x) dx
abs.defjvp(lambda t, ans, x: t * sign(x))  # type: ignore[has-type]


@primitive
def sign(x):
    """-1, 0 or 1: piecewise constant, so its derivative is zero."""
    return np.sign(x)


sign.defvjp(lambda g, ans, x: g * 0)
sign.defjvp(lambda t, ans, x: t * 0)


# ----- choices: maximum, minimum, clip, where ---------------------------------
def _share(g, x, y):
    """g where x wins, g/2 on ties, 0 where y wins (ties split the gradient)."""
    return g * (x > y) + (0.5 * g) * (x == y)


maximum = ufunc_primitive("maximum", np.maximum, "Elementwise larger of x and y. On a tie "
                          "(x == y) each gets half the gradient, as in PyTorch.")


maximum.defvjp(lambda g, ans, x, y: _share(g, x, y),  # d max(x, y) = [x wins] dx + [y wins] dy
               lambda g, ans, x, y: _share(g, y, x))
maximum.defjvp(lambda t, ans, x, y: _share(t, x, y),
               lambda t, ans, x, y: _share(t, y, x))


minimum = ufunc_primitive("minimum", np.minimum, "Elementwise smaller of x and y. On a tie "
                          "(x == y) each gets half the gradient, as in PyTorch.")


minimum.defvjp(lambda g, ans, x, y: _share(g, y, x),  # d min(x, y) = [x wins] dx + [y wins] dy
               lambda g, ans, x, y: _share(g, x, y))
minimum.defjvp(lambda t, ans, x, y: _share(t, y, x),
               lambda t, ans, x, y: _share(t, x, y))


def _clip_masks(x, a_min, a_max):
    """Where clip's result is x, a_min and a_max (boolean arrays, PyTorch's clamp choice):
    x wins on a_min <= x <= a_max, bounds included; a_min where x < a_min < a_max;
    a_max where x > a_max or a_max < a_min (NumPy then returns a_max). With a_min == a_max
    and x outside, nothing gets the gradient, as in PyTorch. (A batched operand, inside
    vmap, gives batched masks.)"""
    x, lo, hi = (_mask_operand(v) for v in (x, a_min, a_max))
    on_x, on_lo, on_hi = True, False, False
    if lo is not None:
        on_x, on_lo = np.greater_equal(x, lo), np.less(x, lo)
    if hi is not None:
        on_x, on_hi = on_x & np.less_equal(x, hi), np.greater(x, hi)
    if lo is not None and hi is not None:
        on_lo, on_hi = on_lo & np.less(lo, hi), on_hi | np.less(hi, lo)
    return on_x, on_lo, on_hi


def _mask_operand(v):
    """A Tensor's array for a mask; a batched Tensor (vmap) detached, so its masks stay
    batched."""
    if not isinstance(v, Tensor):
        return v
    return v.detach() if is_batched(v) else v._data


@primitive
def _clip(x, a_min, a_max):
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    try:
        return np.clip(x, a_min, a_max)
    except (TypeError, ValueError) as e:
        raise operand_error("clip", e, *(v for v in (x, a_min, a_max) if v is not None)) from None


def clip(x, a_min=None, a_max=None):
    """x limited to [a_min, a_max] (either bound may be None; bounds broadcast with x and
    may be Tensors that require grad, as in ``torch.clamp``).

    Subgradient at the bounds: x == a_min or x == a_max passes the gradient to x (the
    interval is closed), as PyTorch does; a bound gets it where it is the result
    (see :func:`_clip_masks`)."""
    return _clip(x, a_min, a_max)


_clip.name = "clip"
# d clip(x, lo, hi) = [lo <= x <= hi] dx + [x < lo < hi] dlo + [x > hi or hi < lo] dhi
_clip.defvjp(lambda g, ans, x, a_min, a_max: g * _clip_masks(x, a_min, a_max)[0],
             lambda g, ans, x, a_min, a_max: g * _clip_masks(x, a_min, a_max)[1],
             lambda g, ans, x, a_min, a_max: g * _clip_masks(x, a_min, a_max)[2])
_clip.defjvp(lambda t, ans, x, a_min, a_max: t * _clip_masks(x, a_min, a_max)[0],
             lambda t, ans, x, a_min, a_max: t * _clip_masks(x, a_min, a_max)[1],
             lambda t, ans, x, a_min, a_max: t * _clip_masks(x, a_min, a_max)[2])


@primitive
def where(condition, x, y):
    """x where condition holds, else y (condition is not differentiated)."""
    try:
        out = np.where(condition, x, y)
    except (TypeError, ValueError) as e:
        raise operand_error("where", e, condition, x, y) from None
    if out.dtype.kind not in "biufc":  # NumPy picks a common dtype even for a str or object
        raise unsupported_type("where", x, y) or TypeError(f"where: result of dtype {out.dtype}")
    return out


where.defvjp(None,
             lambda g, ans, c, x, y: where(c, g, 0.0),  # d where(c, x, y) = [c] dx + [not c] dy
             lambda g, ans, c, x, y: where(c, 0.0, g))
where.defjvp(None,
             lambda t, ans, c, x, y: where(c, t, 0.0),
             lambda t, ans, c, x, y: where(c, 0.0, t))


# vmap: every primitive here broadcasts, so its batching rule only aligns the ranks.
each_broadcasting(add, sub, mul, div, neg, pow, astype, exp, log, log1p, expm1, sqrt, sin, cos,
                  tan, tanh, sigmoid, softplus, relu, abs, sign, maximum, minimum, _clip, where)

# The NumPy ufuncs and functions this module answers on Tensors (chainrule.numpy_interop).
NUMPY = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.negative: neg,
    np.power: pow, np.exp: exp, np.log: log, np.log1p: log1p, np.expm1: expm1, np.sqrt: sqrt,
    np.sin: sin, np.cos: cos, np.tan: tan, np.tanh: tanh, np.absolute: abs, np.sign: sign,
    np.maximum: maximum, np.minimum: minimum, np.where: where, np.clip: clip,
}


# ----- NumPy's names ---------------------------------------------------------------
# NumPy's names for the primitives above: chainrule.power is chainrule.pow, and so on.
power = pow
subtract = sub
multiply = mul
divide = true_divide = div
negative = neg
absolute = abs


positive = ufunc_primitive("positive", np.positive, "+x, a copy (as np.positive).")


positive.defvjp(lambda g, ans, x: g)                   # d(+x) = dx
positive.defjvp(lambda t, ans, x: t)
each_broadcasting(positive)

NUMPY[np.positive] = positive
