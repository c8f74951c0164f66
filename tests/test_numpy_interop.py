"""NumPy functions on Tensors: differentiable where chainrule has the primitive, plain answers
for questions (shape, argmax, comparisons), and a clear TypeError otherwise."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr

_X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
_A = np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])


def leaf(values: np.ndarray) -> cr.Tensor:
    return cr.tensor(values, requires_grad=True)


def check(via_numpy: Callable[[cr.Tensor], object], via_chainrule: Callable[[cr.Tensor], object],
          x: np.ndarray = _X) -> None:
    """``via_numpy`` on a Tensor is a recorded Tensor with chainrule's value and gradient."""
    t, u = leaf(x), leaf(x)
    out, ref = via_numpy(t), via_chainrule(u)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-15)
    v = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(v)
    ref.backward(v)
    np.testing.assert_allclose(t.grad, u.grad, rtol=1e-15)


@pytest.mark.parametrize(("via_numpy", "via_chainrule"), [
    (np.exp, cr.exp),
    (np.tanh, cr.tanh),
    (np.abs, cr.abs),
    (np.square, lambda t: t * t),
    (lambda t: np.sum(t, axis=0), lambda t: cr.sum(t, axis=0)),
    (lambda t: np.sum(t), cr.sum),
    (lambda t: np.mean(t, axis=1, keepdims=True), lambda t: t.mean(axis=1, keepdims=True)),
    (lambda t: np.max(t, axis=1), lambda t: t.max(axis=1)),
    (lambda t: np.var(t), cr.var),
    (lambda t: np.dot(t, _A), lambda t: t @ _A),
    (lambda t: np.dot(_A, t), lambda t: cr.matmul(_A, t)),
    (lambda t: np.matmul(_A, t), lambda t: cr.matmul(_A, t)),
    (lambda t: np.einsum("ij,jk->ik", t, _A), lambda t: t @ _A),
    (lambda t: np.concatenate([t, t * 2], axis=1),
     lambda t: cr.concatenate([t, t * 2], axis=1)),
    (lambda t: np.stack([t, -t]), lambda t: cr.stack([t, -t])),
    (lambda t: np.where(_X > 0, t, 0.0), lambda t: cr.where(_X > 0, t, 0.0)),
    (lambda t: np.where(t > 0, t, t * 0.1), lambda t: cr.where(_X > 0, t, t * 0.1)),
    (lambda t: np.clip(t, -0.6, 1.0), lambda t: t.clip(-0.6, 1.0)),
    (lambda t: np.reshape(t, (3, 2)), lambda t: t.reshape(3, 2)),
    (lambda t: np.transpose(t), lambda t: t.T),
    (lambda t: np.linalg.norm(t, axis=1), lambda t: cr.norm(t, axis=1)),
    (lambda t: np.trace(t), cr.trace),
    (lambda t: np.pad(t, 1), lambda t: cr.pad(t, 1)),
    (lambda t: np.maximum(t, 0.3), lambda t: cr.maximum(t, 0.3)),
    (lambda t: _X * t, lambda t: t * _X),
    (lambda t: _X + t, lambda t: t + _X),
    (lambda t: _X - t, lambda t: cr.sub(_X, t)),
    (lambda t: _X / (t * t + 1), lambda t: cr.div(_X, t * t + 1)),
    (lambda t: _A @ t, lambda t: cr.matmul(_A, t)),
    (lambda t: np.float64(2.0) * t, lambda t: 2.0 * t),
])
def test_numpy_calls_on_tensors_differentiate(via_numpy: Callable, via_chainrule: Callable
                                              ) -> None:
    check(via_numpy, via_chainrule)


def test_np_split_returns_differentiable_pieces() -> None:
    t = leaf(_X)
    a, b, c = np.split(t, 3, axis=1)
    (a.sum() + 2 * b.sum() + 3 * c.sum()).backward()
    np.testing.assert_array_equal(t.grad, [[1, 2, 3], [1, 2, 3]])


def test_np_asarray_gives_the_data_of_a_tensor_that_needs_no_gradient() -> None:
    t = cr.tensor(_X)
    assert np.asarray(t) is t.data
    assert np.array(t).shape == (2, 3)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_questions_get_plain_answers() -> None:
    t = leaf(_X)
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6
    np.testing.assert_array_equal(np.argmax(t, axis=1), [2, 0])
    assert np.argmin(t) == 1
    for answer in (np.greater(t, 0), np.isfinite(t), np.equal(t, t), np.isnan(t)):
        assert type(answer) is np.ndarray and answer.dtype == bool
    assert np.all(np.isfinite(t)) and np.allclose(t, _X)
    assert np.result_type(t) == np.float64


def test_numpy_on_tensors_without_grad_gives_tensors() -> None:
    t = cr.tensor(_X)
    out = np.exp(t)
    assert isinstance(out, cr.Tensor) and not out.requires_grad
    rounded = np.floor(t)  # nothing to differentiate: a Tensor without grad
    np.testing.assert_array_equal(np.asarray(rounded), np.floor(_X))


@pytest.mark.parametrize(("call", "name"), [
    (lambda t: np.spacing(t), "np.spacing (__call__)"),
    (lambda t: np.unwrap(t), "np.unwrap"),
    (lambda t: np.add.reduce(t), "np.add (reduce)"),
    (lambda t: np.exp(t, out=np.empty((2, 3))), "np.exp (__call__)"),
    (lambda t: np.unique(t), "np.unique"),  # np.sort is differentiable now (ops/arrange.py)
])
def test_unsupported_differentiable_numpy_is_a_clear_type_error(call: Callable,
                                                                name: str) -> None:
    with pytest.raises(TypeError, match=re.escape(name) + " is not differentiable in chainrule"):
        call(leaf(_X))


def test_unsupported_numpy_arguments_are_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="np.sum: the 'out' and 'dtype' arguments"):
        np.sum(leaf(_X), dtype=np.float32)
