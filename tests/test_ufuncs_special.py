"""The elementwise ufuncs at the points the primitive table avoids: sinc at 0, logaddexp far
out, fmax/fmin with NaN and ties, the steps of the rounding functions, nan_to_num's
replacements, domain edges; and every entry of their NUMPY tables called through NumPy
itself (``np.f(t)``), in float64 against finite differences and in float32."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import elementwise, exponents, piecewise, trig

torch = pytest.importorskip("torch")

INF, NAN = np.inf, np.nan


def grads(fn: Callable, *arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """fn's value and the gradient of its sum, in chainrule."""
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out.backward(np.ones(out.shape))
    return out.data, [x.grad for x in xs]


def torch_grads(fn: Callable, *arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def assert_matches_torch(fn: Callable, torch_fn: Callable, *arrays: np.ndarray) -> None:
    value, ours = grads(fn, *arrays)
    t_value, theirs = torch_grads(torch_fn, *arrays)
    np.testing.assert_allclose(value, t_value, rtol=1e-13)
    for g, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(g, t, rtol=1e-13, atol=0)


# ----- sinc at and near 0 -----------------------------------------------------------------
def _sinc_derivatives(x: float) -> tuple[float, float, float]:
    """sinc, d sinc/dx and d^2 sinc/dx^2 at x, by reverse mode twice."""
    t = cr.tensor(x, requires_grad=True)
    y = cr.sinc(t)
    d1, = cr.grad(y, t, create_graph=True)
    d2, = cr.grad(d1, t)
    return float(y.data), float(d1.data), float(d2)


def test_sinc_at_zero_is_one_with_derivatives_0_and_minus_pi_squared_over_3() -> None:
    value, d1, d2 = _sinc_derivatives(0.0)
    assert value == 1.0 and d1 == 0.0
    np.testing.assert_allclose(d2, -math.pi ** 2 / 3, rtol=1e-14)
    h = 1e-4  # the second derivative at 0 from central differences of the value
    fd = (np.sinc(h) - 2 * np.sinc(0.0) + np.sinc(-h)) / h ** 2
    np.testing.assert_allclose(d2, fd, rtol=1e-6)


@pytest.mark.parametrize("x", [1e-8, -1e-3, 0.05, 0.0999, 0.1, 0.1001, -0.3, 1.7])
def test_sinc_derivatives_near_zero_match_finite_differences(x: float) -> None:
    """On both sides of |x| = 0.1, where the derivative switches from the series to the
    quotient, the first and second derivatives agree with differences of the ones below."""
    h = 1e-5
    _, d1, d2 = _sinc_derivatives(x)
    _, d1_up, _ = _sinc_derivatives(x + h)
    _, d1_down, _ = _sinc_derivatives(x - h)
    np.testing.assert_allclose(d1, (np.sinc(x + h) - np.sinc(x - h)) / (2 * h), rtol=1e-7,
                               atol=1e-9)
    np.testing.assert_allclose(d2, (d1_up - d1_down) / (2 * h), rtol=1e-7, atol=1e-9)


def test_sinc_third_derivative_at_zero_and_forward_mode() -> None:
    """d^3 sinc at 0 is 0 (sinc is even); the hessian and forward mode agree at 0."""
    t = cr.tensor(0.0, requires_grad=True)
    d1, = cr.grad(cr.sinc(t), t, create_graph=True)
    d2, = cr.grad(d1, t, create_graph=True)
    d3, = cr.grad(d2, t)
    assert float(d3) == 0.0
    hess = cr.hessian(lambda x: cr.sinc(x).sum())(np.zeros(2))
    np.testing.assert_allclose(hess, np.diag([-math.pi ** 2 / 3] * 2), rtol=1e-14)
    _, tangent = cr.jvp(cr.sinc, (np.array([0.0, 0.5]),), (np.ones(2),))
    np.testing.assert_allclose(tangent, [0.0, (np.cos(np.pi / 2) - np.sinc(0.5)) / 0.5])


# ----- stable forms far out -----------------------------------------------------------------
_FAR_X = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0, 745.0])
_FAR_Y = np.array([1000.0, 1000.0, -1000.0, -1000.0, -800.0, 744.0])


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_far_out_matches_torch_and_stays_finite(name: str) -> None:
    value, (gx, gy) = grads(getattr(cr, name), _FAR_X, _FAR_Y)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    np.testing.assert_allclose(gx + gy, 1.0, rtol=1e-15)  # the weights of a softmax
    assert_matches_torch(getattr(cr, name), getattr(torch, name), _FAR_X, _FAR_Y)
    hess = cr.hessian(lambda x: getattr(cr, name)(x, 1000.0).sum())(np.array([1000.0]))
    assert np.isfinite(hess).all() and hess[0, 0] > 0  # s(1 - s), times ln 2 for base 2


# ----- fmax, fmin: NaN and ties -----------------------------------------------------------
_NAN_X = np.array([NAN, 2.0, NAN, 3.0, -1.0])
_NAN_Y = np.array([0.5, NAN, NAN, 4.0, -2.0])


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_send_the_gradient_to_the_non_nan_argument_as_torch(name: str) -> None:
    value, (gx, gy) = grads(getattr(cr, name), _NAN_X, _NAN_Y)
    t_value, (tx, ty) = torch_grads(getattr(torch, name), _NAN_X, _NAN_Y)
    np.testing.assert_array_equal(value, getattr(np, name)(_NAN_X, _NAN_Y))
    np.testing.assert_array_equal(value, t_value)
    np.testing.assert_array_equal(gx, tx)
    np.testing.assert_array_equal(gy, ty)
    np.testing.assert_array_equal(gx[:3], [0.0, 1.0, 1.0])  # both NaN: x's, as in torch


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_split_ties_as_maximum_does(name: str) -> None:
    """torch.fmax gives a tie all to x; chainrule splits it, as maximum does in both
    (the total, and so every directional derivative along x = y, is the same)."""
    x, y = np.array([1.0, 2.0, -0.0]), np.array([1.0, 2.0, 0.0])
    _, (gx, gy) = grads(getattr(cr, name), x, y)
    _, (tx, ty) = torch_grads(getattr(torch, name), x, y)
    np.testing.assert_array_equal(gx, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(gy, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(gx + gy, tx + ty)
    _, (mx, my) = grads(cr.maximum if name == "fmax" else cr.minimum, x, y)
    np.testing.assert_array_equal(gx, mx)


# ----- piecewise constant and piecewise linear: the steps themselves ---------------------------
_STEPS = np.array([-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.5])


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "rint", "fix", "round", "around"])
def test_rounding_gradient_is_zero_even_on_the_steps(name: str) -> None:
    value, (g,) = grads(getattr(cr, name), _STEPS)
    np.testing.assert_array_equal(value, getattr(np, name)(_STEPS))
    np.testing.assert_array_equal(g, np.zeros_like(_STEPS))
    torch_name = {"rint": "round", "around": "round"}.get(name, name)
    assert_matches_torch(getattr(cr, name), getattr(torch, torch_name), _STEPS)
    _, tangent = cr.jvp(getattr(cr, name), (_STEPS,), (np.ones_like(_STEPS),))
    np.testing.assert_array_equal(tangent, np.zeros_like(_STEPS))


@pytest.mark.parametrize("name", ["remainder", "fmod"])
def test_remainder_at_exact_multiples_matches_torch(name: str) -> None:
    """Where x / y is whole the remainder jumps; the quotient is NumPy's own there."""
    x = np.array([3.0, -3.0, 3.0, -3.0, 0.3, 7.5, -0.0])
    y = np.array([1.5, 1.5, -1.5, -1.5, 0.1, -2.0, 2.0])
    value, _ = grads(getattr(cr, name), x, y)
    np.testing.assert_array_equal(value, getattr(np, name)(x, y))
    assert_matches_torch(getattr(cr, name), getattr(torch, name), x, y)


def test_nan_to_num_gradient_is_one_where_finite_zero_where_replaced() -> None:
    x = np.array([NAN, INF, -INF, 1.5, -0.0, 1e308])
    for kw in ({}, {"nan": 2.0, "posinf": 5.0, "neginf": -5.0}):
        value, (g,) = grads(lambda t, kw=kw: cr.nan_to_num(t, **kw), x)
        np.testing.assert_array_equal(value, np.nan_to_num(x, **kw))
        np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
        assert_matches_torch(lambda t, kw=kw: cr.nan_to_num(t, **kw),
                             lambda t, kw=kw: torch.nan_to_num(t, **kw), x)


def test_heaviside_differentiates_h0_where_x_is_zero() -> None:
    x, h0 = np.array([-1.0, 0.0, 2.0, 0.0]), np.array([0.5, 0.25, 0.5, 0.75])
    value, (gx, gh) = grads(cr.heaviside, x, h0)
    np.testing.assert_array_equal(value, np.heaviside(x, h0))
    np.testing.assert_array_equal(gx, np.zeros(4))
    np.testing.assert_array_equal(gh, [0.0, 1.0, 0.0, 1.0])


def test_copysign_uses_the_sign_bit_of_y_and_matches_torch() -> None:
    x = np.array([2.0, -2.0, 2.0, -2.0, 0.0, 3.0])
    y = np.array([1.0, 1.0, -0.0, 0.0, -1.0, -INF])
    value, (gx, gy) = grads(cr.copysign, x, y)
    np.testing.assert_array_equal(gx, [1.0, -1.0, -1.0, -1.0, 0.0, -1.0])
    np.testing.assert_array_equal(gy, np.zeros(6))
    assert_matches_torch(cr.copysign, torch.copysign, x, y)


# ----- domain edges: inf as in NumPy and PyTorch; hypot at the origin ---------------------------
@pytest.mark.parametrize("name, torch_name, x", [
    ("arcsin", "asin", [-1.0, 0.0, 1.0]), ("arccos", "acos", [-1.0, 0.0, 1.0]),
    ("arccosh", "acosh", [1.0, 2.0]), ("arctanh", "atanh", [-1.0, 0.0, 1.0]),
    ("log2", "log2", [0.0, 1.0]), ("log10", "log10", [0.0, 1.0]),
    ("reciprocal", "reciprocal", [0.0, 2.0]),
])
def test_derivatives_at_domain_edges_are_infinite_as_in_torch(name: str, torch_name: str,
                                                             x: list[float]) -> None:
    with np.errstate(divide="ignore"):
        value, (g,) = grads(getattr(cr, name), np.array(x))
    t_value, (t,) = torch_grads(getattr(torch, torch_name), np.array(x))
    np.testing.assert_allclose(value, t_value, rtol=1e-15)
    np.testing.assert_allclose(g, t, rtol=1e-15)  # inf where torch has inf
    assert np.isinf(g).any()


def test_hypot_at_the_origin_has_gradient_zero_as_norm() -> None:
    _, (gx, gy) = grads(cr.hypot, np.array([0.0, 3.0]), np.array([0.0, 4.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.6])
    np.testing.assert_array_equal(gy, [0.0, 0.8])
    big = np.array([1e300])
    value, (g, _) = grads(cr.hypot, big, big)  # no overflow: sqrt(x^2 + y^2) would
    assert np.isfinite(value).all() and np.isclose(g[0], math.sqrt(0.5))
    _, (gy2, gx2) = grads(cr.arctan2, big, big)
    np.testing.assert_allclose([gy2[0], gx2[0]], [0.5e-300, -0.5e-300], rtol=1e-14)


# ----- every NUMPY entry through NumPy's own dispatch -------------------------------------------
TABLES = {**trig.NUMPY, **exponents.NUMPY, **piecewise.NUMPY,
          np.positive: elementwise.positive, np.power: elementwise.power}
_POINT = np.array([[0.23, 0.61, 0.37], [0.74, 0.42, 0.55]])  # inside every domain but arccosh's
_SECOND = np.array([0.71, 0.34, 0.86])                      # broadcasts against _POINT


def _arguments(f: object) -> tuple[np.ndarray, ...]:
    x = _POINT + 1.0 if f is np.arccosh else _POINT
    return (x, _SECOND) if getattr(f, "nin", 1) == 2 else (x,)


def _numerical_grads(f: Callable, arrays: tuple[np.ndarray, ...], h: float = 1e-6) -> list:
    out = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up, down = [list(arrays) for _ in range(2)]
            up[k], down[k] = a.copy(), a.copy()
            up[k][idx] += h
            down[k][idx] -= h
            g[idx] = (np.sum(f(*up)) - np.sum(f(*down))) / (2 * h)
        out.append(g)
    return out


@pytest.mark.parametrize("f", list(TABLES), ids=lambda f: f.__name__)
def test_numpy_call_on_a_tensor_differentiates(f: Callable) -> None:
    arrays = _arguments(f)
    value, ours = grads(f, *arrays)
    np.testing.assert_allclose(value, f(*arrays), rtol=1e-15)
    for g, want in zip(ours, _numerical_grads(f, arrays), strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", list(TABLES), ids=lambda f: f.__name__)
def test_numpy_call_on_float32_stays_float32(f: Callable) -> None:
    arrays = [a.astype(np.float32) for a in _arguments(f)]
    value, ours = grads(f, *arrays)
    # float_power computes in float64 whatever it is given, as in NumPy
    assert value.dtype == (np.float64 if f is np.float_power else np.float32)
    assert value.dtype == f(*arrays).dtype
    for g in ours:
        assert g.dtype == np.float32


# ----- bad operands: named errors ------------------------------------------------------------
@pytest.mark.parametrize("call, error, words", [
    (lambda: cr.sinh("a"), TypeError, "sinh: unsupported operand type 'str'"),
    (lambda: cr.sinc(None), TypeError, "sinc: unsupported operand type 'NoneType'"),
    (lambda: cr.hypot(np.ones(2), np.ones(3)), ValueError, "hypot: shapes (2,) and (3,)"),
    (lambda: cr.fmax(cr.tensor(np.ones(2), requires_grad=True), np.ones((3, 1, 4))),
     ValueError, "fmax: shapes (2,) and (3, 1, 4)"),
    (lambda: cr.float_power("x", 2.0), TypeError, "float_power: unsupported operand"),
    (lambda: cr.round(np.ones(2), "1"), TypeError, "round:"),
    (lambda: cr.nan_to_num(object()), TypeError, "nan_to_num: unsupported operand"),
])
def test_bad_operands_raise_errors_naming_the_function(call: Callable, error: type,
                                                       words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_numpy_dispatches_to_these_primitives() -> None:
    """No later table in chainrule.ops.MODULES replaces one of these entries."""
    from chainrule import numpy_interop

    for f, impl in TABLES.items():
        table = numpy_interop.ufuncs() if isinstance(f, np.ufunc) else numpy_interop.functions()
        assert table[f] is impl, f"np.{f.__name__} dispatches to {table[f]}, not {impl}"
