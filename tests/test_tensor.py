"""The Tensor: constructors, properties, conversions, repr, and methods that agree with the
module functions and with NumPy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr


# ----- constructors ----------------------------------------------------------------------------
def test_tensor_copies_its_data_and_infers_dtype() -> None:
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 99.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    assert cr.tensor([1.0, 2.0]).dtype == np.float64
    assert cr.tensor(3.0).shape == ()
    assert cr.tensor([[1, 2]]).dtype.kind == "i"
    assert cr.tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert cr.tensor(np.ones(2, np.float32)).dtype == np.float32


def test_tensor_from_a_tensor_is_a_differentiable_copy_or_a_new_leaf_when_detached() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    doubled = x * 2
    y = cr.tensor(doubled)
    assert not y.is_leaf and y.requires_grad and not np.shares_memory(y.data, doubled.data)
    (y * cr.tensor([1.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])
    z = cr.tensor((x * 2).detach())
    assert z.is_leaf and not z.requires_grad
    np.testing.assert_array_equal(z.data, [2.0, 4.0])
    with pytest.raises(TypeError, match=r"tensor\(x.detach\(\), requires_grad=True\)"):
        cr.tensor(x, requires_grad=True)


def test_tensor_refuses_non_numeric_data() -> None:
    with pytest.raises(TypeError, match="tensor: cannot make a tensor from"):
        cr.tensor([object()])


@pytest.mark.parametrize(("made", "expected"), [
    (lambda: cr.zeros(2, 3), np.zeros((2, 3))),
    (lambda: cr.zeros((2, 3)), np.zeros((2, 3))),
    (lambda: cr.ones(4), np.ones(4)),
    (lambda: cr.full((2, 2), 7.5), np.full((2, 2), 7.5)),
    (lambda: cr.full(3, -1.0), np.full(3, -1.0)),
    (lambda: cr.eye(3), np.eye(3)),
    (lambda: cr.eye(2, 3), np.eye(2, 3)),
    (lambda: cr.arange(5), np.arange(5.0)),
    (lambda: cr.arange(1, 2, 0.25), np.arange(1, 2, 0.25)),
    (lambda: cr.zeros_like(np.ones((2, 1))), np.zeros((2, 1))),
    (lambda: cr.ones_like(cr.zeros(3)), np.ones(3)),
    (lambda: cr.full_like(cr.zeros(2), 3.0), np.full(2, 3.0)),
])
def test_filled_constructors(made: Callable[[], cr.Tensor], expected: np.ndarray) -> None:
    t = made()
    assert isinstance(t, cr.Tensor) and t.is_leaf and not t.requires_grad
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, expected)


def test_constructors_take_dtype_and_requires_grad() -> None:
    for t in (cr.zeros(2, dtype=np.float32, requires_grad=True),
              cr.ones(2, dtype="float32", requires_grad=True),
              cr.randn(2, dtype=np.float32, rng=0, requires_grad=True),
              cr.rand(2, dtype=np.float32, rng=0, requires_grad=True),
              cr.zeros_like(np.ones(2, np.float32), requires_grad=True)):
        assert t.dtype == np.float32 and t.requires_grad and t.is_leaf


def test_like_constructors_copy_shape_and_dtype() -> None:
    x = cr.zeros(3, 2, dtype=np.float32)
    for t in (cr.zeros_like(x), cr.ones_like(x), cr.full_like(x, 2.0), cr.randn_like(x, rng=1),
              cr.rand_like(x, rng=1)):
        assert t.shape == (3, 2) and t.dtype == np.float32
    assert cr.ones_like(x, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("random", [cr.randn, cr.rand])
def test_random_constructors_are_reproducible(random: Callable[..., cr.Tensor]) -> None:
    a = random(3, 4, rng=42)
    np.testing.assert_array_equal(a.data, random(3, 4, rng=42).data)
    np.testing.assert_array_equal(a.data, random(3, 4, rng=np.random.default_rng(42)).data)
    assert not np.array_equal(a.data, random(3, 4, rng=43).data)
    cr.manual_seed(7)
    first = random(5).data
    cr.manual_seed(7)
    np.testing.assert_array_equal(first, random(5).data)


def test_random_distributions() -> None:
    n = cr.randn(20_000, rng=0).data
    u = cr.rand(20_000, rng=0).data
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02


def test_constructors_refuse_bad_shapes() -> None:
    with pytest.raises(ValueError, match="must be non-negative integers"):
        cr.zeros(2, -1)
    with pytest.raises(ValueError, match="must be non-negative integers"):
        cr.ones(2.5)


# ----- properties ----------------------------------------------------------------------------
def test_properties() -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float64
    assert x.requires_grad and x.is_leaf and x.grad is None
    assert isinstance(x.data, np.ndarray)
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    z = cr.tensor([1.0])
    assert not z.requires_grad and z.is_leaf


def test_numpy_shares_and_item_converts() -> None:
    x = cr.tensor([[1.5]])
    assert x.numpy() is x.data
    assert x.item() == 1.5 and isinstance(x.item(), float)
    assert float(cr.tensor(2.0)) == 2.0 and int(cr.tensor(3.0)) == 3
    assert cr.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="item: only a tensor with one element.*shape \\(2,\\)"):
        cr.tensor([1.0, 2.0]).item()


def test_detach_shares_data_and_leaves_the_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.data is y.data


def test_len_and_iteration() -> None:
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    assert len(x) == 3
    rows = list(x)
    assert [r.shape for r in rows] == [(2,)] * 3
    sum(r.sum() * (i + 1) for i, r in enumerate(rows)).backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))


def test_repr() -> None:
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(cr.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(cr.tensor([1.0], dtype=np.float32)) == "tensor([1.], dtype=float32)"
    y = cr.tensor([1.0], requires_grad=True).exp()
    assert repr(y).endswith("grad_fn=<exp>)")


def test_comparisons_are_plain_boolean_arrays() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 1.5, x <= 2.0, x == cr.tensor([1.0, 0.0, 3.0]), x != 2.0):
        assert type(result) is np.ndarray and result.dtype == bool
    np.testing.assert_array_equal(x > 1.5, [False, True, True])
    np.testing.assert_array_equal(x.argmax(), 2)
    assert isinstance(x.argmin(), np.integer | np.ndarray)


def test_astype_round_trip_keeps_gradient_dtype() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


# ----- methods, module functions and NumPy agree ---------------------------------------------
_X = np.array([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]])
_P = np.abs(_X) + 0.5
AGREE = {
    # name: (method, module function, NumPy on the raw array, input)
    "exp": (lambda t: t.exp(), cr.exp, np.exp, _X),
    "log": (lambda t: t.log(), cr.log, np.log, _P),
    "log1p": (lambda t: t.log1p(), cr.log1p, np.log1p, _P),
    "expm1": (lambda t: t.expm1(), cr.expm1, np.expm1, _X),
    "sqrt": (lambda t: t.sqrt(), cr.sqrt, np.sqrt, _P),
    "sin": (lambda t: t.sin(), cr.sin, np.sin, _X),
    "cos": (lambda t: t.cos(), cr.cos, np.cos, _X),
    "tan": (lambda t: t.tan(), cr.tan, np.tan, _X),
    "tanh": (lambda t: t.tanh(), cr.tanh, np.tanh, _X),
    "sigmoid": (lambda t: t.sigmoid(), cr.sigmoid, lambda a: 1 / (1 + np.exp(-a)), _X),
    "relu": (lambda t: t.relu(), cr.relu, lambda a: np.maximum(a, 0), _X),
    "softplus": (lambda t: t.softplus(), cr.softplus, lambda a: np.log1p(np.exp(a)), _X),
    "abs": (lambda t: t.abs(), cr.abs, np.abs, _X),
    "sign": (lambda t: t.sign(), cr.sign, np.sign, _X),
    "neg": (lambda t: -t, cr.neg, np.negative, _X),
    "clip": (lambda t: t.clip(-1, 1), lambda t: cr.clip(t, -1, 1), lambda a: np.clip(a, -1, 1),
             _X),
    "clamp": (lambda t: t.clamp(a_min=0), lambda t: cr.clip(t, a_min=0),
              lambda a: np.clip(a, 0, None), _X),
    "sum": (lambda t: t.sum(axis=1, keepdims=True), lambda t: cr.sum(t, axis=1, keepdims=True),
            lambda a: np.sum(a, axis=1, keepdims=True), _X),
    "mean": (lambda t: t.mean(axis=0), lambda t: cr.mean(t, axis=0),
             lambda a: np.mean(a, axis=0), _X),
    "var": (lambda t: t.var(ddof=1), lambda t: cr.var(t, ddof=1), lambda a: np.var(a, ddof=1),
            _X),
    "std": (lambda t: t.std(axis=(0, 1)), lambda t: cr.std(t, axis=(0, 1)), np.std, _X),
    "max": (lambda t: t.max(axis=1), lambda t: cr.max(t, axis=1), lambda a: np.max(a, axis=1),
            _X),
    "min": (lambda t: t.min(), cr.min, np.min, _X),
    "prod": (lambda t: t.prod(axis=0), lambda t: cr.prod(t, axis=0),
             lambda a: np.prod(a, axis=0), _X),
    "logsumexp": (lambda t: t.logsumexp(axis=1), lambda t: cr.logsumexp(t, axis=1),
                  lambda a: np.log(np.sum(np.exp(a), axis=1)), _X),
    "softmax": (lambda t: t.softmax(axis=0), lambda t: cr.softmax(t, axis=0),
                lambda a: np.exp(a) / np.exp(a).sum(axis=0), _X),
    "log_softmax": (lambda t: t.log_softmax(), cr.log_softmax,
                    lambda a: a - np.log(np.exp(a).sum(axis=-1, keepdims=True)), _X),
    "reshape": (lambda t: t.reshape(3, 2), lambda t: cr.reshape(t, (3, 2)),
                lambda a: a.reshape(3, 2), _X),
    "view": (lambda t: t.view(-1), lambda t: cr.reshape(t, -1), np.ravel, _X),
    "flatten": (lambda t: t.flatten(), cr.flatten, np.ravel, _X),
    "ravel": (lambda t: t.ravel(), lambda t: cr.reshape(t, (-1,)), np.ravel, _X),
    "transpose": (lambda t: t.transpose(), cr.transpose, np.transpose, _X),
    "permute": (lambda t: t.permute(1, 0), lambda t: cr.permute(t, (1, 0)),
                lambda a: np.transpose(a, (1, 0)), _X),
    "swapaxes": (lambda t: t.swapaxes(0, 1), lambda t: cr.swapaxes(t, 0, 1),
                 lambda a: np.swapaxes(a, 0, 1), _X),
    "squeeze": (lambda t: t.squeeze(), cr.squeeze, np.squeeze, _X[:1]),
    "unsqueeze": (lambda t: t.unsqueeze(1), lambda t: cr.unsqueeze(t, 1),
                  lambda a: np.expand_dims(a, 1), _X),
    "expand": (lambda t: t.expand(4, 2, 3), lambda t: cr.expand(t, (4, 2, 3)),
               lambda a: np.broadcast_to(a, (4, 2, 3)), _X),
    "broadcast_to": (lambda t: t.broadcast_to((2, 2, 3)), lambda t: cr.broadcast_to(t, (2, 2, 3)),
                     lambda a: np.broadcast_to(a, (2, 2, 3)), _X),
    "dot": (lambda t: t.dot(t.T), lambda t: cr.dot(t, t.T), lambda a: np.dot(a, a.T), _X),
    "matmul": (lambda t: t @ t.T, lambda t: cr.matmul(t, t.T), lambda a: a @ a.T, _X),
    "trace": (lambda t: t.trace(), cr.trace, np.trace, _X),
    "diagonal": (lambda t: t.diagonal(1), lambda t: cr.diagonal(t, 1),
                 lambda a: np.diagonal(a, 1), _X),
    "norm": (lambda t: t.norm(axis=1), lambda t: cr.norm(t, axis=1),
             lambda a: np.linalg.norm(a, axis=1), _X),
    "getitem": (lambda t: t[1, ::-1], lambda t: cr.getitem(t, (1, slice(None, None, -1))),
                lambda a: a[1, ::-1], _X),
    "pow": (lambda t: t ** 3, lambda t: cr.pow(t, 3), lambda a: a ** 3, _X),
}


@pytest.mark.parametrize("name", AGREE)
def test_method_function_and_numpy_agree(name: str) -> None:
    method, function, reference, x = AGREE[name]
    t = cr.tensor(x, requires_grad=True)
    by_method, by_function = method(t), function(t)
    assert isinstance(by_method, cr.Tensor) and isinstance(by_function, cr.Tensor)
    assert by_method.requires_grad and by_function.requires_grad
    expected = reference(x)
    np.testing.assert_allclose(by_method.data, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(by_function.data, expected, rtol=1e-14, atol=1e-15)


# Methods of functions other modules add: checked once the function is there.
LATER = {
    "cumsum": (lambda t: t.cumsum(axis=1), lambda a: np.cumsum(a, axis=1)),
    "cumprod": (lambda t: t.cumprod(), np.cumprod),
    "flip": (lambda t: t.flip(0), lambda a: np.flip(a, 0)),
    "repeat": (lambda t: t.repeat(2, axis=1), lambda a: np.repeat(a, 2, axis=1)),
    "round": (lambda t: t.round(1), lambda a: np.round(a, 1)),
}


@pytest.mark.parametrize("name", LATER)
def test_methods_of_functions_added_later_agree_with_numpy(name: str) -> None:
    if not hasattr(cr.ops, name):
        pytest.skip(f"chainrule.{name} is not there yet")
    method, reference = LATER[name]
    out = method(cr.tensor(_X, requires_grad=True))
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.data, reference(_X), rtol=1e-14, atol=1e-15)


def test_sort_method_sorts_in_place_as_numpy_and_refuses_a_tensor_that_needs_a_gradient(
        ) -> None:
    if not hasattr(cr.ops, "sort"):
        pytest.skip("chainrule.sort is not there yet")
    t = cr.tensor(_X)
    data = t.data
    assert t.sort() is None
    np.testing.assert_array_equal(t.data, np.sort(_X))
    assert t.data is data
    x = cr.tensor(_X, requires_grad=True)
    for needs_grad in (x, x * 1.0):
        with pytest.raises(RuntimeError, match=r"use np.sort\(t\) or chainrule.sort\(t\)"):
            needs_grad.sort()
    with pytest.raises(RuntimeError, match="t.sort"):
        cr.jvp(lambda v: v.sort(), (_X,), (np.ones_like(_X),))


def test_module_functions_on_raw_arrays_return_arrays() -> None:
    """With no Tensor among the arguments a primitive is plain NumPy."""
    out = cr.exp(_X)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.exp(_X))
    assert type(cr.sum(_X, axis=0)) is np.ndarray
