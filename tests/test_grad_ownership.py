"""Gradients are the user's arrays: after backward each leaf's ``.grad`` is writable,
C-contiguous, of the leaf's shape and dtype, and shares memory with nothing else; functional
transforms return gradients in their input's dtype."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD


def _leaves(*shapes: tuple[int, ...], dtype: type = np.float64) -> list[cr.Tensor]:
    rng = np.random.default_rng(0)
    return [cr.tensor(rng.normal(size=s), dtype=dtype, requires_grad=True) for s in shapes]


def assert_owned(leaves: list[cr.Tensor], *others: np.ndarray) -> None:
    """Every leaf's grad is the user's own array: nothing else holds its memory."""
    for i, t in enumerate(leaves):
        g = t.grad
        assert type(g) is np.ndarray
        assert g.shape == t.shape and g.dtype == t.dtype
        assert g.flags.writeable and g.flags.c_contiguous
        assert not np.shares_memory(g, t.data)
        for other in others:
            assert not np.shares_memory(g, other)
        for u in leaves[i + 1:]:
            assert not np.shares_memory(g, u.grad), "two leaves share one gradient buffer"


# (name, leaf shapes, loss from the leaves): graphs whose rules return views, broadcasts
# or the incoming cotangent itself.
GRAPHS: dict[str, tuple[list[tuple[int, ...]], Callable[..., cr.Tensor]]] = {
    "transposes of two leaves added": ([(2, 3), (2, 3)], lambda a, c: (a.T + c.T).sum()),
    "sum (a broadcast cotangent)": ([(4,)], lambda x: x.sum()),
    "mean over an axis": ([(3, 4)], lambda x: x.mean(axis=0).sum()),
    "add passes the same array twice": ([(3,), (3,)], lambda a, b: ((a + b) * 2.0).sum()),
    "sub and neg": ([(3,), (3,)], lambda a, b: ((a - b) * 2.0).sum()),
    "a bias broadcast over a batch": ([(5, 3), (3,)], lambda h, b: ((h + b) ** 2).sum()),
    "reshape and slice": ([(6,)], lambda x: (x.reshape(2, 3)[1:] * 3.0).sum()),
    "expand": ([(1, 3)], lambda x: (x.expand(4, 3) * 2.0).sum()),
    "a leaf used twice": ([(3,)], lambda x: (x + x.T).sum()),
    "matmul": ([(4, 3), (3, 2)], lambda a, b: (a @ b).sum()),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", GRAPHS)
def test_every_leaf_gradient_is_the_users_own_array(name: str, dtype: type) -> None:
    shapes, loss = GRAPHS[name]
    leaves = _leaves(*shapes, dtype=dtype)
    loss(*leaves).backward()
    assert_owned(leaves)
    for t in leaves:
        before = [u.grad.copy() for u in leaves]
        t.grad += 1  # the user may change it, and that changes nothing else
        for u, b in zip(leaves, before, strict=True):
            np.testing.assert_array_equal(u.grad, b + 1 if u is t else b)


def test_transposed_sum_of_two_leaves_gives_two_buffers() -> None:
    a, c = _leaves((2, 3), (2, 3))
    (a.T + c.T).sum().backward()
    assert not np.shares_memory(a.grad, c.grad)
    a.grad += 1
    np.testing.assert_array_equal(c.grad, np.ones((2, 3)))


def test_a_leaf_gradient_is_not_a_view_of_the_callers_cotangent() -> None:
    x = cr.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    seed = np.arange(4.0).reshape(2, 2)
    x.reshape(2, 2).backward(seed)
    assert_owned([x], seed)
    x.grad[0] = 100.0
    np.testing.assert_array_equal(seed, np.arange(4.0).reshape(2, 2))


def test_a_leaf_given_the_seed_unchanged_gets_a_copy() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    seed = np.array(2.0)
    (x + 0.0).backward(seed)
    assert_owned([x], seed)


def test_gradient_of_a_sum_can_be_changed_in_place() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.sum().backward()
    x.grad += 1
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_zero_grad_without_set_to_none_zeroes_in_place() -> None:
    w, b = _leaves((3, 2), (2,))
    opt = SGD([w, b], lr=0.1)
    ((np.ones((4, 3)) @ w).sum() + b.sum()).backward()  # b.grad: from a broadcast
    grad = b.grad
    opt.zero_grad(set_to_none=False)
    assert b.grad is grad  # the same array, zeroed
    np.testing.assert_array_equal(b.grad, np.zeros(2))
    np.testing.assert_array_equal(w.grad, np.zeros((3, 2)))


def test_zero_grad_replaces_a_read_only_gradient_the_user_set() -> None:
    (w,) = _leaves((3,))
    w.grad = np.broadcast_to(np.ones(1), (3,))
    SGD([w], lr=0.1).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad, np.zeros(3))
    assert w.grad.flags.writeable


def test_accumulated_gradients_stay_owned() -> None:
    a, c = _leaves((2, 3), (2, 3))
    (a.T + c.T).sum().backward()
    (a + c).sum().backward()
    assert_owned([a, c])
    np.testing.assert_array_equal(a.grad, 2 * np.ones((2, 3)))


# ----- functional transforms --------------------------------------------------------------
def test_vjp_results_do_not_alias_the_cotangent() -> None:
    x = np.arange(4.0)
    ct = np.ones((2, 2))
    _, vjp_fn = cr.vjp(lambda t: t.reshape(2, 2), x)
    (g,) = vjp_fn(ct)
    assert not np.shares_memory(g, ct) and g.flags.writeable
    g[0] = 5.0
    np.testing.assert_array_equal(ct, np.ones((2, 2)))


def test_autograd_grad_results_do_not_alias_each_other() -> None:
    a, c = _leaves((2, 3), (2, 3))
    ga, gc = cr.autograd.grad((a.T + c.T).sum(), [a, c])
    assert not np.shares_memory(ga, gc)


@pytest.mark.parametrize("transform", [
    lambda f, x: cr.grad(f)(x),
    lambda f, x: cr.value_and_grad(f)(x)[1],
    lambda f, x: cr.vjp(f, x)[1](1.0)[0],
])
def test_a_float32_input_gets_a_float32_gradient_past_a_float64_constant(
        transform: Callable) -> None:
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    weights = np.array([0.5, 0.25, 2.0])  # float64: the product is float64

    def f(t: cr.Tensor) -> cr.Tensor:
        y = (t * weights).sum()
        assert y.dtype == np.float64
        return y

    g = transform(f, x)
    assert isinstance(g, np.ndarray) and g.dtype == np.float32
    np.testing.assert_array_equal(g, weights.astype(np.float32))


def test_autograd_grad_casts_to_the_input_dtype_also_with_create_graph() -> None:
    x = cr.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = (x * x * np.array([1.0, 3.0])).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert isinstance(g, cr.Tensor) and g.dtype == np.float32
    np.testing.assert_allclose(g.data, [2.0, 12.0])
    g.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.0, 6.0])
