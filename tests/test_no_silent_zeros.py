"""No silent zeros (issue 9): NumPy code that would cut a Tensor from its graph either
differentiates or raises a clear error. Under plain NumPy each construct of the issue
(``np.asarray(x) * x``, ``np.array([x, 2 * x])``, ``np.mean([x[0], 2 * x[1], x[2]])``, ...)
is refused; under ``chainrule.numpy`` and with ``cr.tensor`` each gives the right
derivative, reverse and forward, checked against PyTorch and central finite differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.check import numerical_jacobian

try:
    import torch
except ImportError:  # the finite-difference checks run without PyTorch
    torch = None

_X = numpy.array([0.7, -1.3, 2.1])
REFUSED = (r"would cut it from the graph and lose its gradient; use `import chainrule\.numpy as "
           r"np`.*chainrule\.stack.*t\.data or t\.detach\(\)")


def leaf(values: numpy.ndarray = _X) -> cr.Tensor:
    return cr.tensor(values, requires_grad=True)


# ----- plain NumPy: refused, with what to do ---------------------------------------------------
PLAIN = {
    "asarray(x) * x": lambda x: numpy.asarray(x) * x,
    "array([x, 2x])": lambda x: numpy.array([x, 2 * x]),
    "mean([x0, 2x1, x2])": lambda x: numpy.mean([x[0], 2 * x[1], x[2]]),
    "sum([x, 2x])": lambda x: numpy.sum([x, 2 * x]),
    "nested array": lambda x: numpy.array([[x[0], 1.0], [x[1], x[2]]]),
    "r_[x, x]": lambda x: numpy.r_[x, 2 * x],
    "array(x)": lambda x: numpy.array(x),
}


@pytest.mark.parametrize("name", PLAIN)
def test_plain_numpy_refuses_to_convert_a_tensor_that_requires_grad(name: str) -> None:
    with pytest.raises(TypeError, match=r"a Tensor that requires grad \(shape \(\d?,?\)\).*"
                       + REFUSED):
        PLAIN[name](leaf())


def test_plain_numpy_inside_grad_is_refused_not_zero() -> None:
    with pytest.raises(TypeError, match=REFUSED):
        cr.grad(lambda x: numpy.array([x, 2 * x]).sum())(1.5)


def test_plain_numpy_inside_jvp_is_refused() -> None:
    with pytest.raises(TypeError, match="carries a forward-mode tangent.*" + REFUSED):
        cr.jvp(lambda x: numpy.asarray(x) * x, (_X,), (numpy.ones(3),))


def test_a_tensor_that_needs_no_gradient_converts_and_printing_works() -> None:
    t = cr.tensor(_X)
    assert numpy.asarray(t) is t.data
    numpy.testing.assert_array_equal(numpy.array([t, 2 * t]), [_X, 2 * _X])
    x = leaf()
    numpy.testing.assert_array_equal(numpy.asarray(x.detach()), _X)
    numpy.testing.assert_array_equal(numpy.asarray(x.data), _X)
    assert "requires_grad=True" in repr(x) and "0.7" in str(x)
    assert "grad_fn=<mul>" in repr(x * 2)


# ----- chainrule.numpy and cr.tensor: the right derivative -------------------------------------
def _torch_stack(items: list) -> torch.Tensor:
    return torch.stack([i if isinstance(i, torch.Tensor) else torch.tensor(i, dtype=torch.float64)
                        for i in items])


# name: (with chainrule, the same in PyTorch); x has shape (3,)
DIFFERENTIABLE: dict[str, tuple[Callable, Callable]] = {
    "asarray(x) * x": (lambda x: cnp.asarray(x) * x, lambda x: x * x),
    "array([x, 2x])": (lambda x: cnp.array([x, 2 * x]), lambda x: torch.stack([x, 2 * x])),
    "mean([x0, 2x1, x2])": (lambda x: cnp.mean([x[0], 2 * x[1], x[2]]),
                            lambda x: torch.stack([x[0], 2 * x[1], x[2]]).mean()),
    "sum([x, 2x])": (lambda x: cnp.sum([x, 2 * x]), lambda x: (3 * x).sum()),
    "max([x0, x1 ** 2])": (lambda x: cnp.max([x[0], x[1] ** 2]),
                           lambda x: torch.stack([x[0], x[1] ** 2]).max()),
    "nested array": (lambda x: cnp.array([[x[0], 1.0], [x[1] ** 2, x[2] * x[0]]]),
                     lambda x: torch.stack([_torch_stack([x[0], 1.0]),
                                            torch.stack([x[1] ** 2, x[2] * x[0]])])),
    "array(x)": (lambda x: cnp.array(x), lambda x: x.clone()),
    "exp([x0, x1])": (lambda x: cnp.exp([x[0], x[1]]), lambda x: torch.exp(x[:2])),
    "linalg.norm([x0, 2x1])": (lambda x: cnp.linalg.norm([x[0], 2 * x[1]]),
                               lambda x: torch.linalg.norm(torch.stack([x[0], 2 * x[1]]))),
    "stack([x, list])": (lambda x: cnp.stack([x, [1.0, 2.0, 3.0]]),
                         lambda x: torch.stack([x, torch.tensor([1.0, 2.0, 3.0],
                                                                dtype=torch.float64)])),
    "concatenate([x, [x0, 1]])": (lambda x: cnp.concatenate([x, [x[0], 1.0]]),
                                  lambda x: torch.cat([x, _torch_stack([x[0], 1.0])])),
    "r_[x, 1, x[:2] ** 2, 0:2]": (lambda x: cnp.r_[x, 1.0, x[:2] ** 2, 0:2],
                                  lambda x: torch.cat([x, torch.tensor([1.0], dtype=torch.float64),
                                                       x[:2] ** 2, torch.tensor(
                                                           [0.0, 1.0], dtype=torch.float64)])),
    "c_[x, 2x]": (lambda x: cnp.c_[x, 2 * x], lambda x: torch.stack([x, 2 * x], dim=1)),
    "r_['0,2', x, 2x]": (lambda x: cnp.r_["0,2", x, 2 * x], lambda x: torch.stack([x, 2 * x])),
    "hstack([x, 1.0])": (lambda x: cnp.hstack([x, 1.0]),
                         lambda x: torch.cat([x, torch.tensor([1.0], dtype=torch.float64)])),
    "cr.tensor([x, 2x])": (lambda x: cr.tensor([x, 2 * x]), lambda x: torch.stack([x, 2 * x])),
    "cr.tensor(nested)": (lambda x: cr.tensor([[x[0], 1.0], [x[1] ** 2, x[2] * x[0]]]),
                          lambda x: torch.stack([_torch_stack([x[0], 1.0]),
                                                 torch.stack([x[1] ** 2, x[2] * x[0]])])),
    "cr.tensor(x)": (lambda x: cr.tensor(x), lambda x: x.clone()),
}


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_reverse_mode_matches_torch_and_finite_differences(name: str) -> None:
    ours, theirs = DIFFERENTIABLE[name]
    x = leaf()
    out = ours(x)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    v = numpy.random.default_rng(1).standard_normal(out.shape)
    out.backward(v)
    (jacobian,) = numerical_jacobian(ours, _X)
    numpy.testing.assert_allclose(x.grad, v.ravel() @ jacobian, rtol=1e-6, atol=1e-8)
    if torch is None:
        return
    xt = torch.tensor(_X, requires_grad=True)
    expected = theirs(xt)
    numpy.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-14)
    expected.backward(torch.tensor(v))
    numpy.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_forward_mode_matches_finite_differences(name: str) -> None:
    ours, _ = DIFFERENTIABLE[name]
    direction = numpy.array([0.3, -1.1, 0.6])
    value, tangent = cr.jvp(ours, (_X,), (direction,))
    (jacobian,) = numerical_jacobian(ours, _X)
    numpy.testing.assert_allclose(numpy.ravel(tangent), jacobian @ direction, rtol=1e-6,
                                  atol=1e-8)
    numpy.testing.assert_allclose(value, ours(cr.tensor(_X)).data, rtol=1e-15)


def test_grad_of_array_of_a_scalar_and_its_double_is_three() -> None:
    assert cr.grad(lambda x: cnp.array([x, 2 * x]).sum())(1.5) == 3.0
    assert cr.grad(lambda x: cr.tensor([x, 2 * x]).sum())(1.5) == 3.0


def test_second_order_through_an_array_of_tensors() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        return cnp.array([x[0] ** 2 * x[1], cnp.sin(x[2])]).sum()

    a, b, c = _X
    expected = numpy.array([[2 * b, 2 * a, 0.0], [2 * a, 0.0, 0.0], [0.0, 0.0, -numpy.sin(c)]])
    numpy.testing.assert_allclose(cr.hessian(f)(_X), expected, rtol=1e-14)


def test_float32_pieces_and_python_floats_stay_float32() -> None:
    x = cr.tensor(_X, dtype=numpy.float32, requires_grad=True)
    for out in (cnp.array([x[0], 1.0, 2 * x[1]]), cr.tensor([x[0], 1.0, 2 * x[1]])):
        assert out.dtype == numpy.float32
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == numpy.float32
        numpy.testing.assert_array_equal(x.grad, [1.0, 2.0, 0.0])


def test_ragged_lists_and_integer_dtypes_are_refused() -> None:
    x = leaf()
    with pytest.raises(ValueError, match=r"tensor: the elements of a list must have one shape.*"
                                         r"\[\(3,\), \(\)\]"):
        cr.tensor([x, 1.0])
    with pytest.raises(TypeError, match="dtype int64 would cut"):
        cr.tensor([x, x], dtype=numpy.int64)
    with pytest.raises(TypeError, match="dtype int64 would cut"):
        cnp.array([x[0], 1.0], dtype=numpy.int64)
