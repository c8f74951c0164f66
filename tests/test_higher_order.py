"""Higher-order derivatives: Hessians at critical points, third and higher derivatives by nesting,
Taylor coefficients, ``backward(create_graph=True)``, and the scalar engines against the Tensor
engine on the chapter's sin(sin(sin(x)))."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.dual import Dual
from chainrule.functional import grad, hessian, jacfwd, jacrev, jvp, taylor
from chainrule.scalar import Value

HESSIANS = {
    "jacfwd(jacrev)": hessian,
    "jacrev(jacrev)": lambda f: jacrev(jacrev(f)),
    "jacrev(jacfwd)": lambda f: jacrev(jacfwd(f)),
    "jacfwd(jacfwd)": lambda f: jacfwd(jacfwd(f)),
}
ALL_HESSIANS = pytest.mark.parametrize("hess", HESSIANS.values(), ids=HESSIANS.keys())


# ----- Hessians at critical points ------------------------------------------------------------
@ALL_HESSIANS
@pytest.mark.parametrize("x2", [-1.0, 0.0, 0.5])
def test_hessian_of_x1_squared_exp_x2_on_its_critical_line(hess, x2):
    """f = x1^2 e^x2 has grad (2 x1 e^x2, x1^2 e^x2) = 0 exactly on x1 = 0, where
    H = [[2 e^x2, 2 x1 e^x2], [2 x1 e^x2, x1^2 e^x2]] = [[2 e^x2, 0], [0, 0]]."""
    f = lambda x: x[0] ** 2 * cr.exp(x[1])
    x = np.array([0.0, x2])
    np.testing.assert_array_equal(grad(f)(x), [0.0, 0.0])
    np.testing.assert_allclose(hess(f)(x), [[2 * math.exp(x2), 0.0], [0.0, 0.0]], rtol=1e-15)


@ALL_HESSIANS
@pytest.mark.parametrize("point, hessian_, kind", [
    ((1.0, 0.0), [[8.0, 0.0], [0.0, 2.0]], "minimum"),
    ((-1.0, 0.0), [[8.0, 0.0], [0.0, 2.0]], "minimum"),
    ((0.0, 0.0), [[-4.0, 0.0], [0.0, 2.0]], "saddle"),
])
def test_hessian_of_double_well_at_its_critical_points(hess, point, hessian_, kind):
    """f = x^4 - 2x^2 + y^2: grad (4x^3 - 4x, 2y) vanishes at (+-1, 0) and (0, 0);
    H = diag(12x^2 - 4, 2): positive definite at the minima, indefinite at the saddle."""
    f = lambda v: v[0] ** 4 - 2 * v[0] ** 2 + v[1] ** 2
    x = np.array(point)
    np.testing.assert_array_equal(grad(f)(x), [0.0, 0.0])
    h = hess(f)(x)
    np.testing.assert_allclose(h, hessian_, rtol=1e-15)
    eig = np.linalg.eigvalsh(h)
    assert (eig > 0).all() if kind == "minimum" else eig[0] < 0 < eig[1]


def test_hessian_with_two_arguments_is_block_structured():
    f = lambda a, b: cr.sum(a * a * b) + cr.sum(cr.sin(b))
    a, b = np.array([1.0, 2.0]), np.array([0.3, 0.4])
    (haa, hab), (hba, hbb) = hessian(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(haa, np.diag(2 * b))
    np.testing.assert_allclose(hab, np.diag(2 * a))
    np.testing.assert_allclose(hba, np.diag(2 * a))
    np.testing.assert_allclose(hbb, np.diag(-np.sin(b)), rtol=1e-15)


# ----- third and higher derivatives -----------------------------------------------------------
def test_third_derivatives_by_nesting_grad():
    assert grad(grad(grad(lambda x: x ** 5)))(2.0) == 60 * 2.0 ** 2
    # t = tanh x: t' = 1 - t^2, t'' = -2t (1 - t^2), t''' = -2 + 8t^2 - 6t^4
    t = math.tanh(0.4)
    assert grad(grad(grad(cr.tanh)))(0.4) == pytest.approx(-2 + 8 * t**2 - 6 * t**4, rel=1e-13)
    # (e^x sin x)''' = 2 e^x (cos x - sin x)
    f = lambda x: cr.exp(x) * cr.sin(x)
    want = 2 * math.exp(0.7) * (math.cos(0.7) - math.sin(0.7))
    assert grad(grad(grad(f)))(0.7) == pytest.approx(want, rel=1e-13)
    d = lambda g: (lambda x: jvp(g, (x,), (1.0,))[1])
    assert d(d(d(f)))(0.7) == pytest.approx(want, rel=1e-13)
    assert d(grad(d(f)))(0.7) == pytest.approx(want, rel=1e-13)


def test_fifth_derivative_of_a_polynomial_is_exact():
    f = lambda x: 3 * x ** 5 - x ** 3 + 2 * x
    g = f
    for _ in range(5):
        g = grad(g)
    assert g(1.7) == 360.0
    assert grad(g)(1.7) == 0.0


def test_mixed_third_partial_derivative():
    # d^3 / dx dy dz of x^2 y^3 z = 2x * 3y^2 * 1
    f = lambda x, y, z: x ** 2 * y ** 3 * z
    dz = grad(f, argnums=2)
    dyz = grad(lambda x, y, z: dz(x, y, z), argnums=1)
    dxyz = grad(lambda x, y, z: dyz(x, y, z), argnums=0)
    assert dxyz(1.5, -2.0, 0.3) == pytest.approx(2 * 1.5 * 3 * 4.0, rel=1e-15)


SMOOTH_UNARY = {
    "exp": (cr.exp, 0.3), "log": (cr.log, 1.7), "log1p": (cr.log1p, 0.4), "expm1": (cr.expm1, -0.6),
    "sqrt": (cr.sqrt, 2.2), "sin": (cr.sin, 0.9), "cos": (cr.cos, -1.1), "tan": (cr.tan, 0.5),
    "tanh": (cr.tanh, 0.8), "sigmoid": (cr.sigmoid, -0.4), "softplus": (cr.softplus, 0.6),
    "pow": (lambda x: x ** 2.5, 1.3), "rpow": (lambda x: 2.0 ** x, 0.7),
    "div": (lambda x: 1.0 / x, 0.8), "logsumexp": (lambda x: cr.logsumexp(cr.stack([x, 2 * x])),
                                                  0.2),
    "softmax": (lambda x: cr.softmax(cr.stack([x, -x, x * x]))[0], 0.5),
}


@pytest.mark.parametrize("name", SMOOTH_UNARY)
def test_third_derivative_of_each_smooth_primitive_matches_torch(name):
    torch = pytest.importorskip("torch")
    f, x0 = SMOOTH_UNARY[name]
    ours = grad(grad(grad(f)))(x0)
    tf = {
        "pow": lambda x: x ** 2.5, "rpow": lambda x: 2.0 ** x, "div": lambda x: 1.0 / x,
        "softplus": torch.nn.functional.softplus,
        "logsumexp": lambda x: torch.logsumexp(torch.stack([x, 2 * x]), 0),
        "softmax": lambda x: torch.softmax(torch.stack([x, -x, x * x]), 0)[0],
    }.get(name) or getattr(torch, name)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    d = tf(x)
    for _ in range(3):
        (d,) = torch.autograd.grad(d, x, create_graph=True)
    assert ours == pytest.approx(d.item(), rel=1e-11, abs=1e-13)


def test_backward_create_graph_gives_a_differentiable_grad():
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = cr.sum(x ** 3 * cr.sin(x))
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, cr.Tensor) and g.requires_grad
    xs = x.data
    np.testing.assert_allclose(g.data, 3 * xs**2 * np.sin(xs) + xs**3 * np.cos(xs), rtol=1e-14)
    (h,) = cr.grad(cr.sum(g), x)  # the Hessian's row sums (the Hessian is diagonal here)
    want = 6 * xs * np.sin(xs) + 6 * xs**2 * np.cos(xs) - xs**3 * np.sin(xs)
    np.testing.assert_allclose(h, want, rtol=1e-13)


# ----- Taylor coefficients --------------------------------------------------------------------
def test_taylor_of_sqrt_1_plus_x_is_the_binomial_series():
    c = taylor(lambda x: cr.sqrt(1 + x), 0.0, 8)
    want = [math.prod(0.5 - j for j in range(k)) / math.factorial(k) for k in range(9)]
    np.testing.assert_allclose(c, want, rtol=1e-14)
    assert c[:4].tolist() == [1.0, 0.5, -0.125, 0.0625]
    # the chapter's sqrt(1.1): the partial sums converge geometrically (ratio ~ 0.1)
    sums = np.cumsum(c * 0.1 ** np.arange(9))
    errors = np.abs(sums - math.sqrt(1.1))
    assert errors[2] < 1e-3 and errors[8] < 1e-10
    assert (np.diff(np.log(errors)) < 0).all()


def test_taylor_of_log_1_plus_x_is_the_mercator_series():
    c = taylor(lambda x: cr.log(1 + x), 0.0, 8)
    np.testing.assert_allclose(c, [0.0] + [(-1) ** (k + 1) / k for k in range(1, 9)], rtol=1e-14)
    approx = np.polyval(c[::-1], 0.05)  # the chapter's log(1.05)
    assert approx == pytest.approx(math.log(1.05), abs=0.05 ** 9)


def test_taylor_away_from_zero_and_of_vector_outputs():
    # e^x at x0 = 1: c_k = e / k!
    c = taylor(cr.exp, 1.0, 6)
    np.testing.assert_allclose(c, [math.e / math.factorial(k) for k in range(7)], rtol=1e-14)
    both = taylor(lambda t: cr.stack([cr.sin(t), cr.cos(t)]), 0.0, 4)
    assert both.shape == (5, 2)
    np.testing.assert_allclose(both[:, 0], [0, 1, 0, -1 / 6, 0], atol=1e-16)
    np.testing.assert_allclose(both[:, 1], [1, 0, -0.5, 0, 1 / 24], atol=1e-16)


def test_taylor_argument_errors():
    with pytest.raises(ValueError, match="taylor: x0 must be a scalar"):
        taylor(cr.exp, np.zeros(2), 2)
    with pytest.raises(ValueError, match="taylor: order must be a non-negative int"):
        taylor(cr.exp, 0.0, -1)


# ----- the chapter's sin(sin(sin(x))) in four engines -----------------------------------------
@settings(deadline=None, max_examples=20)
@given(x=st.floats(-10, 10, allow_nan=False))
def test_sin_sin_sin_dual_value_and_tensor_modes_agree(x):
    closed = math.cos(math.sin(math.sin(x))) * math.cos(math.sin(x)) * math.cos(x)
    forward_scalar = Dual(x, 1.0).sin().sin().sin().tangent
    v = Value(x)
    out = v.sin().sin().sin()
    out.backward()
    f = lambda t: cr.sin(cr.sin(cr.sin(t)))
    reverse_tensor = grad(f)(x)
    forward_tensor = jvp(f, (x,), (1.0,))[1]
    assert math.isclose(forward_scalar, closed, rel_tol=1e-13, abs_tol=1e-15)
    for d in (v.grad, reverse_tensor, forward_tensor):
        assert math.isclose(d, forward_scalar, rel_tol=1e-13, abs_tol=1e-15)
