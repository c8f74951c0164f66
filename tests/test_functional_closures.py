"""A function that closes over a Tensor needing a gradient (a model's parameter) keeps
that gradient through every transform, as torch.func does; and vjp keeps the inputs it
was given even when the caller changes the arrays afterwards."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr

X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
W = np.array([0.5, -1.0, 2.0])


def _through(kind: str, w: cr.Tensor, sin: Callable, ones: Callable) -> object:
    """The transform ``kind`` of a function closed over ``w``."""
    x0 = X[0]
    if kind == "grad":
        return cr.grad(lambda x: (sin(x) * w).sum())(x0)
    if kind == "value_and_grad":
        value, g = cr.value_and_grad(lambda x: (sin(x) * w).sum())(x0)
        return value * g
    if kind == "vmap":
        return cr.vmap(lambda x: (x * w).sum())(X)
    if kind == "jvp":
        return cr.jvp(lambda x: sin(x) * w, (x0,), (ones(),))[1]
    if kind == "vjp":
        return cr.vjp(lambda x: sin(x) * w, x0)[1](ones())[0]
    if kind == "jacrev":
        return cr.jacrev(lambda x: sin(x) * w)(x0)
    if kind == "jacfwd":
        return cr.jacfwd(lambda x: sin(x) * w)(x0)
    raise AssertionError(kind)


def _fd_gradient(kind: str, eps: float = 1e-6) -> np.ndarray:
    """d/dW of sum(result^2) + sum(W^2) by central differences (the transforms on arrays)."""
    def loss(w: np.ndarray) -> float:
        r = np.asarray(_through(kind, w, np.sin, lambda: np.ones(3)))
        return float((r * r).sum() + (w * w).sum())

    return np.array([(loss(W + eps * e) - loss(W - eps * e)) / (2 * eps) for e in np.eye(3)])


@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "vmap", "jvp", "vjp", "jacrev",
                                  "jacfwd"])
def test_a_closed_over_parameter_keeps_its_gradient(kind: str) -> None:
    w = cr.tensor(W, requires_grad=True)
    result = _through(kind, w, cr.sin, lambda: np.ones(3))
    assert isinstance(result, cr.Tensor) and result.requires_grad, type(result)
    (cr.sum(result * result) + cr.sum(w * w)).backward()
    np.testing.assert_allclose(w.grad, _fd_gradient(kind), rtol=1e-7, atol=1e-8)


def test_without_a_closed_over_parameter_results_stay_arrays() -> None:
    w = cr.tensor(W)  # needs no gradient
    assert isinstance(cr.grad(lambda x: (cr.sin(x) * w).sum())(X[0]), np.ndarray)
    assert isinstance(cr.vmap(lambda x: (x * w).sum())(X), np.ndarray)
    assert isinstance(cr.jacrev(lambda x: cr.sin(x) * w)(X[0]), np.ndarray)


def test_vjp_keeps_its_inputs_when_the_caller_changes_them() -> None:
    a = np.array([1.0, 2.0, 3.0])
    _, vjp_fn = cr.vjp(lambda x: (x * x).sum(), a)
    a[0] = 100.0  # after the call, before the reverse pass
    np.testing.assert_array_equal(vjp_fn(1.0)[0], [2.0, 4.0, 6.0])
