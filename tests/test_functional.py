"""The functional API: grad, value_and_grad, vjp, jvp, jacfwd, jacrev, jacobian, hvp.

Numbers against closed forms and against ``torch.func``; return types (NumPy / Python floats at
top level, Tensors when given Tensors); nesting without perturbation confusion; errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.functional import (
    JacobianChoice,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)

RNG = np.random.default_rng(7)
X3 = np.array([0.3, -1.2, 2.0])


def composite(x):
    """R^n -> R^(n+1): a bit of everything (matmul, reductions, softmax, indexing)."""
    w = np.linspace(-1.0, 1.0, x.shape[0] * x.shape[0]).reshape(x.shape[0], x.shape[0])
    h = cr.tanh(w @ x) * cr.exp(x / 3)
    return cr.concatenate([cr.softmax(h) * cr.sum(x * x), cr.reshape(cr.logsumexp(h), (1,))])


def composite_torch(x):
    import torch

    n = x.shape[0]
    w = torch.from_numpy(np.linspace(-1.0, 1.0, n * n).reshape(n, n))
    h = torch.tanh(w @ x) * torch.exp(x / 3)
    return torch.cat([torch.softmax(h, -1) * torch.sum(x * x), torch.logsumexp(h, 0)[None]])


# ----- grad and value_and_grad ----------------------------------------------------------------
def test_grad_matches_closed_form_and_returns_numpy():
    g = grad(lambda x: cr.sum(cr.sin(x) * x))(X3)
    assert isinstance(g, np.ndarray) and g.shape == (3,)
    np.testing.assert_allclose(g, np.sin(X3) + X3 * np.cos(X3), rtol=1e-14)


def test_grad_of_scalar_function_returns_python_float():
    d = grad(lambda x: x ** 3 + cr.exp(x))(1.5)
    assert type(d) is float
    assert d == pytest.approx(3 * 1.5 ** 2 + math.exp(1.5), rel=1e-14)


def test_grad_refuses_int_inputs_and_takes_lists_as_containers():
    with pytest.raises(TypeError, match=r"grad: x: dtype int64 cannot be differentiated.*2\.0"):
        grad(lambda x: x * x)(3)
    g = grad(lambda xs: xs[0] * xs[1])([2.0, 5.0])  # a list is a container of leaves (JAX)
    assert g == [5.0, 2.0] and all(type(v) is float for v in g)


def test_grad_of_tensor_input_returns_tensor_without_graph():
    t = cr.tensor([1.0, 2.0])
    g = grad(lambda x: cr.sum(x ** 2))(t)
    assert isinstance(g, cr.Tensor) and not g.requires_grad
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    assert t.grad is None and not t.requires_grad  # the input is left alone


def test_grad_argnums_tuple_and_has_aux():
    f = lambda a, b, c: (cr.sum(a * a * b) + c, {"norm": cr.norm(a)})
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (ga, gb), aux = grad(f, argnums=(0, 1), has_aux=True)(a, b, 5.0)
    np.testing.assert_array_equal(ga, 2 * a * b)
    np.testing.assert_array_equal(gb, a * a)
    assert aux["norm"] == pytest.approx(math.sqrt(5)) and type(aux["norm"]) is float
    (value, _), g_last = value_and_grad(f, argnums=-1, has_aux=True)(a, b, 5.0)
    assert value == pytest.approx(np.sum(a * a * b) + 5.0) and g_last == 1.0


def test_value_and_grad_gives_both():
    value, g = value_and_grad(lambda x: cr.sum(cr.log(x)))(np.array([1.0, 2.0, 4.0]))
    assert value == pytest.approx(math.log(8.0)) and type(value) is float
    np.testing.assert_allclose(g, [1.0, 0.5, 0.25], rtol=1e-15)


def test_grad_of_constant_function_is_zero():
    np.testing.assert_array_equal(grad(lambda x: 3.0)(np.ones(2)), [0.0, 0.0])
    assert grad(lambda x, y: x * 2.0, argnums=1)(1.0, 4.0) == 0.0


def test_grad_works_inside_no_grad():
    with cr.no_grad():
        assert grad(lambda x: x * x)(3.0) == 6.0


def test_grad_keeps_float32():
    g = grad(lambda x: cr.sum(cr.tanh(x)))(np.ones(3, dtype=np.float32))
    assert g.dtype == np.float32


def test_grad_against_torch_on_composite():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(5)
    ours = grad(lambda x: cr.sum(composite(x) ** 2))(x)
    tx = torch.tensor(x, requires_grad=True)
    (theirs,) = torch.autograd.grad(torch.sum(composite_torch(tx) ** 2), tx)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)


# ----- vjp and jvp ----------------------------------------------------------------------------
def test_vjp_many_cotangents_over_one_recording():
    a = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    out, vjp_fn = vjp(lambda x: a @ cr.sin(x), np.array([0.2, 0.7]))
    np.testing.assert_allclose(out, a @ np.sin([0.2, 0.7]))
    for u in (np.array([1.0, 0, 0]), np.array([0.3, -2.0, 1.0])):
        (ct,) = vjp_fn(u)
        np.testing.assert_allclose(ct, (u @ a) * np.cos([0.2, 0.7]), rtol=1e-15)


def test_vjp_tuple_output_and_two_primals():
    f = lambda x, y: (x * y, cr.sum(x) + y[0])
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (p, s), vjp_fn = vjp(f, x, y)
    np.testing.assert_array_equal(p, x * y)
    assert s == 6.0
    gx, gy = vjp_fn((np.array([1.0, 10.0]), 2.0))
    np.testing.assert_array_equal(gx, np.array([1.0, 10.0]) * y + 2.0)
    np.testing.assert_array_equal(gy, np.array([1.0, 10.0]) * x + np.array([2.0, 0.0]))
    gx, gy = vjp_fn((None, 1.0))  # None: a zero cotangent for that output
    np.testing.assert_array_equal(gx, [1.0, 1.0])
    np.testing.assert_array_equal(gy, [1.0, 0.0])


def test_jvp_directional_derivative_and_tuple_outputs():
    x, v = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    (a, b), (ta, tb) = jvp(lambda x: (cr.exp(x), cr.sum(x * x)), (x,), (v,))
    np.testing.assert_allclose(a, np.exp(x))
    np.testing.assert_allclose(ta, np.exp(x) * v, rtol=1e-15)
    assert tb == pytest.approx(2 * x @ v) and type(tb) is float


def test_jvp_several_primals_and_a_constant_output():
    out, t = jvp(lambda x, y: x * y + 1.0, (2.0, 3.0), (1.0, 0.5))
    assert (out, t) == (7.0, 3.0 + 2.0 * 0.5)
    out, t = jvp(lambda x: np.ones(2), (1.0,), (1.0,))
    np.testing.assert_array_equal(t, [0.0, 0.0])


def test_jvp_against_torch_func_on_composite():
    torch = pytest.importorskip("torch")
    x, v = RNG.standard_normal(4), RNG.standard_normal(4)
    out, t = jvp(composite, (x,), (v,))
    t_out, t_t = torch.func.jvp(composite_torch, (torch.from_numpy(x),), (torch.from_numpy(v),))
    np.testing.assert_allclose(out, t_out.numpy(), rtol=1e-13)
    np.testing.assert_allclose(t, t_t.numpy(), rtol=1e-12, atol=1e-14)


def test_jvp_equals_vjp_transposed():
    """<u, J v> computed both ways: forward and reverse mode agree to rounding."""
    x, v, u = RNG.standard_normal(6), RNG.standard_normal(6), RNG.standard_normal(7)
    _, jv = jvp(composite, (x,), (v,))
    _, vjp_fn = vjp(composite, x)
    assert u @ jv == pytest.approx(vjp_fn(u)[0] @ v, rel=1e-12)


# ----- Jacobians ------------------------------------------------------------------------------
@pytest.mark.parametrize("jac", [jacfwd, jacrev, jacobian])
def test_jacobians_match_torch_func(jac):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(4)
    ours = jac(composite)(x)
    theirs = torch.func.jacrev(composite_torch)(torch.from_numpy(x)).numpy()
    assert ours.shape == (5, 4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("jac", [jacfwd, jacrev])
def test_jacobian_shape_is_out_shape_plus_in_shape(jac):
    x = RNG.standard_normal((2, 3))
    j = jac(lambda x: cr.sin(x).T)(x)
    assert j.shape == (3, 2, 2, 3)
    want = np.zeros((3, 2, 2, 3))
    for i in range(2):
        for k in range(3):
            want[k, i, i, k] = np.cos(x[i, k])
    np.testing.assert_allclose(j, want, rtol=1e-15)
    assert jac(lambda x: cr.sum(x))(x).shape == (2, 3)  # scalar out: the gradient's shape


@pytest.mark.parametrize("jac", [jacfwd, jacrev])
def test_jacobian_tuple_outputs_and_argnums(jac):
    f = lambda x, y: (x * y, cr.sum(x) * y)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (dpx, dpy), (dsx, dsy) = jac(f, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(dpx, np.diag(y))
    np.testing.assert_array_equal(dpy, np.diag(x))
    np.testing.assert_array_equal(dsx, np.outer(y, np.ones(2)))
    np.testing.assert_array_equal(dsy, np.sum(x) * np.eye(2))


def test_jacobian_auto_picks_the_mode_with_fewer_passes():
    wide = lambda x: cr.stack([cr.sum(x ** 2), cr.sum(cr.sin(x))])          # R^50 -> R^2
    tall = lambda x: cr.outer(cr.exp(x), np.arange(25.0)).flatten()           # R^2 -> R^50
    j, choice = jacobian(wide, explain=True)(np.ones(50))
    assert isinstance(choice, JacobianChoice)
    assert (choice.mode, choice.n_inputs, choice.n_outputs, choice.passes) == \
        ("reverse", 50, 2, 2)
    np.testing.assert_allclose(j, jacfwd(wide)(np.ones(50)))
    j, choice = jacobian(tall, explain=True)(np.array([0.1, 0.2]))
    assert (choice.mode, choice.passes) == ("forward", 2)
    assert "fewer inputs than outputs" in str(choice)
    np.testing.assert_allclose(j, jacrev(tall)(np.array([0.1, 0.2])))
    _, forced = jacobian(tall, mode="rev", explain=True)(np.array([0.1, 0.2]))
    assert (forced.mode, forced.passes) == ("reverse", 50) and "requested" in forced.reason


def test_jacobian_of_the_chapters_exercise_12():
    """F(x, y) = (x^2 + y^2, xy, sin(x + y)) at (1, 0): [[2, 0], [0, 1], [cos 1, cos 1]]."""
    f = lambda v: cr.stack([v[0] ** 2 + v[1] ** 2, v[0] * v[1], cr.sin(v[0] + v[1])])
    want = [[2.0, 0.0], [0.0, 1.0], [math.cos(1.0), math.cos(1.0)]]
    for jac in (jacfwd, jacrev, jacobian):
        np.testing.assert_allclose(jac(f)(np.array([1.0, 0.0])), want, rtol=1e-15)


def test_jacobian_of_empty_input():
    j = jacfwd(lambda x: cr.sum(x) + np.ones(3))(np.zeros(0))
    assert j.shape == (3, 0)


def test_hvp_equals_hessian_times_vector():
    f = lambda x: cr.sum(cr.exp(x[:-1] * x[1:])) + cr.sum(x ** 4)
    x, v = RNG.standard_normal(5), RNG.standard_normal(5)
    np.testing.assert_allclose(hvp(f, x, v), hessian(f)(x) @ v, rtol=1e-12)


def test_hessian_matches_torch_func():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(4)
    f = lambda x: cr.sum(composite(x) * np.arange(5.0))
    tf = lambda x: torch.sum(composite_torch(x) * torch.arange(5.0, dtype=torch.float64))
    np.testing.assert_allclose(hessian(f)(x), torch.func.hessian(tf)(torch.from_numpy(x)),
                               rtol=1e-10, atol=1e-12)


# ----- nesting: no perturbation confusion -----------------------------------------------------
def test_nested_grad_no_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x; confusing the two derivatives gives x
    assert grad(lambda x: x * grad(lambda y: x * y)(5.0))(3.0) == 6.0
    # Siskind & Pearlmutter: d/dx [x * (d/dy (x + y))|_{y=1}] = 1, a confused answer is 2
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(2.0) == 1.0


def test_nested_jvp_no_perturbation_confusion():
    d = lambda f, x: jvp(f, (x,), (1.0,))[1]
    assert d(lambda x: x * d(lambda y: x + y, 1.0), 2.0) == 1.0
    assert d(lambda x: x * d(lambda y: x * y, 5.0), 3.0) == 6.0


def test_mixed_nesting_forward_and_reverse():
    d = lambda f, x: jvp(f, (x,), (1.0,))[1]
    assert d(lambda x: x * grad(lambda y: x * y)(5.0), 3.0) == 6.0
    assert grad(lambda x: x * d(lambda y: x * y, 5.0))(3.0) == 6.0
    assert grad(lambda x: x * d(lambda y: x + y, 1.0))(2.0) == 1.0


def test_grad_inside_grad_of_the_same_input():
    # g(x) = x * f'(x) with f = sin: g'(x) = cos x - x sin x
    g = grad(lambda x: x * grad(cr.sin)(x))
    assert g(0.7) == pytest.approx(math.cos(0.7) - 0.7 * math.sin(0.7), rel=1e-14)


def test_outer_reverse_graph_survives_inner_grad():
    x = cr.tensor(1.3, requires_grad=True)
    inner = grad(lambda y: y ** 3)(x)  # 3 x^2, as a Tensor with a graph back to x
    assert isinstance(inner, cr.Tensor) and inner.requires_grad
    (inner * x).backward()             # d/dx 3 x^3 = 9 x^2
    assert x.grad == pytest.approx(9 * 1.3 ** 2, rel=1e-14)


def test_caller_graph_used_inside_f_survives_the_transform():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    h = w * 3.0  # the caller's graph, which f closes over
    g = grad(lambda x: cr.sum(x * h))(np.ones(2))
    # a Tensor that keeps h's gradient (tests/test_functional_closures.py), as torch.func
    assert isinstance(g, cr.Tensor) and g.requires_grad
    np.testing.assert_array_equal(g.data, [3.0, -6.0])
    cr.sum(h * h).backward()  # still walkable: d/dw sum 9 w^2 = 18 w
    np.testing.assert_array_equal(w.grad, [18.0, -36.0])


# ----- errors ---------------------------------------------------------------------------------
def test_grad_of_non_scalar_output_is_refused():
    with pytest.raises(ValueError, match=r"grad: f must return a scalar.*\(3,\)"):
        grad(lambda x: x * 2)(np.ones(3))


def test_grad_of_integer_tensor_is_refused():
    with pytest.raises(TypeError, match="grad: x: dtype int64"):
        grad(lambda x: cr.sum(x))(cr.tensor([1, 2]))


def test_argnums_out_of_range():
    with pytest.raises(ValueError, match="grad: argnums 2 out of range for 2"):
        grad(lambda a, b: a * b, argnums=2)(1.0, 2.0)


def test_jvp_argument_errors():
    with pytest.raises(TypeError, match=r"jvp\(f, \(x,\), \(v,\)\)"):
        jvp(cr.sin, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: the tangent of x has shape \(3,\), the primal "
                                         r"has shape \(2,\)"):
        jvp(cr.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(ValueError, match="1 primal"):
        jvp(cr.sin, (1.0,), (1.0, 2.0))


def test_vjp_cotangent_errors():
    _, vjp_fn = vjp(cr.sin, np.ones(2))
    with pytest.raises(ValueError, match=r"vjp: the cotangent of output has shape \(3,\), the "
                                         r"output has shape \(2,\)"):
        vjp_fn(np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent has structure \(\*, \*\), f's output "
                                         r"has structure \*"):
        vjp_fn((np.ones(2), np.ones(2)))


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match="has_aux=True, f must return a pair"):
        grad(lambda x: x * x, has_aux=True)(1.0)


def test_jacobian_mode_is_checked():
    with pytest.raises(ValueError, match="jacobian: mode 'sideways'"):
        jacobian(cr.sin, mode="sideways")
