"""NumPy's own array-rearranging functions on Tensors (``np.sort(t)``, ``np.hstack([t, u])``):
every entry of the ``NUMPY`` tables of ``ops/arrange.py`` and ``ops/join.py`` gives NumPy's
value on the raw data and a gradient that matches finite differences of NumPy itself; sort's
tie rule, repeated picks adding up, and the errors for bad axes and shapes."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import gradcheck
from chainrule.ops import arrange, join

X = np.random.default_rng(0).standard_normal((3, 4, 2))
V = X[0, :, 0]  # a vector of 4
M = X[:, :, 0]  # a 3 x 4 matrix

# np function -> (how it is called on the array, the input); every table entry has one.
CALLS: dict[Callable, tuple[Callable, np.ndarray]] = {
    np.sort: (lambda a: np.sort(a, axis=1), X),
    np.partition: (lambda a: np.partition(a, 1, axis=None), X),
    np.roll: (lambda a: np.roll(a, (1, -1), axis=(0, 2)), X),
    np.flip: (lambda a: np.flip(a, (0, 1)), X),
    np.fliplr: (np.fliplr, X),
    np.flipud: (np.flipud, X),
    np.rot90: (lambda a: np.rot90(a, 3, axes=(2, 1)), X),
    np.tile: (lambda a: np.tile(a, (2, 1, 1, 2)), X),
    np.repeat: (lambda a: np.repeat(a, [2, 0, 1, 3], axis=1), X),
    np.moveaxis: (lambda a: np.moveaxis(a, -1, 0), X),
    np.rollaxis: (lambda a: np.rollaxis(a, 2, 1), X),
    np.ravel: (lambda a: np.ravel(a, order="F"), X),
    np.permute_dims: (lambda a: np.permute_dims(a, (1, 2, 0)), X),
    np.atleast_1d: (lambda a: np.atleast_1d(a[0, 0, 0]), X),
    np.atleast_2d: (np.atleast_2d, V),
    np.atleast_3d: (np.atleast_3d, M),
    np.take: (lambda a: np.take(a, [[3, 0], [3, 3]], axis=1), X),
    np.take_along_axis: (lambda a: np.take_along_axis(a, np.array([[[1], [0], [1], [1]]]), axis=2),
                         X),
    np.append: (lambda a: np.append(a, a[:1], axis=0), X),
    np.hstack: (lambda a: np.hstack([a[0], a[1, 0]]), M),
    np.vstack: (lambda a: np.vstack([a[0], a[1:]]), M),
    np.dstack: (lambda a: np.dstack([a, a[:, :, :1]]), X),
    np.column_stack: (lambda a: np.column_stack([a[0], a[1:].T]), M),
    np.array_split: (lambda a: np.array_split(a, 3, axis=1), X),
    np.hsplit: (lambda a: np.hsplit(a, [1, 3]), X),
    np.vsplit: (lambda a: np.vsplit(a, 3), X),
    np.dsplit: (lambda a: np.dsplit(a, 2), X),
}


def test_every_table_entry_has_a_call() -> None:
    missing = sorted(f.__name__ for f in {**arrange.NUMPY, **join.NUMPY} if f not in CALLS)
    assert not missing, f"no call in CALLS for: {missing}"


@pytest.mark.parametrize("func", list(CALLS), ids=lambda f: f.__name__)
def test_numpy_dispatch_gives_numpys_value_and_the_gradient(func: Callable) -> None:
    call, a = CALLS[func]
    want = call(a)
    got = call(cr.tensor(a, requires_grad=True))
    if isinstance(want, list | tuple):
        assert isinstance(got, list | tuple) and len(got) == len(want)
    else:
        got, want = [got], [want]
    for g, w in zip(got, want, strict=True):
        assert isinstance(g, cr.Tensor), f"np.{func.__name__} did not dispatch to chainrule"
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g.data, w)
    gradcheck(call, a)


@pytest.mark.parametrize("func", [np.sort, np.rot90, np.repeat, np.hsplit],
                         ids=lambda f: f.__name__)
def test_second_order_through_numpy_dispatch(func: Callable) -> None:
    call, _ = CALLS[func]

    def squares(x: cr.Tensor) -> list:
        out = call(x)
        return [o * o for o in (out if isinstance(out, list) else [out])]

    gradcheck(squares, X[:2, :, :1], order=2)


# ----- sort with ties --------------------------------------------------------------------------
def test_sort_ties_route_each_cotangent_to_the_stable_argsort_element() -> None:
    """Equal values keep their input order: the first 3.0 in x gets the first 3.0 slot's
    cotangent. Any routing among ties is a valid subgradient; this is the documented one."""
    x = cr.tensor([3.0, 1.0, 3.0, 1.0, 2.0], requires_grad=True)
    np.sort(x).backward(np.array([10.0, 20.0, 30.0, 40.0, 50.0]))
    np.testing.assert_array_equal(x.grad, [40.0, 10.0, 50.0, 20.0, 30.0])


def test_sort_ties_match_torch_stable_sort_along_an_axis() -> None:
    torch = pytest.importorskip("torch")
    small = np.array([[2.0, 1.0, 2.0, 1.0], [0.0, 0.0, 0.0, 5.0], [1.0, 2.0, 3.0, 4.0]])
    many = np.random.default_rng(1).integers(0, 4, (5, 70)).astype(float)  # past insertion sort
    for a in (small, many):
        v = np.arange(float(a.size)).reshape(a.shape)
        for axis in (0, 1):
            x = cr.tensor(a, requires_grad=True)
            cr.sort(x, axis=axis).backward(v)
            t = torch.tensor(a, requires_grad=True)
            torch.sort(t, dim=axis, stable=True).values.backward(torch.from_numpy(v))
            np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_sort_hessian_follows_the_permutation() -> None:
    """d^2/dx^2 sum(w * sort(x)^3) is diagonal: 6 x_i w_rank(i)."""
    a = np.array([0.3, -1.2, 2.0, 0.7])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    h = cr.hessian(lambda x: (w * np.sort(x) ** 3).sum())(a)
    ranks = np.argsort(np.argsort(a))
    np.testing.assert_allclose(h, np.diag(6 * a * w[ranks]), rtol=1e-12)


# ----- repeated picks add ----------------------------------------------------------------------
def test_repeated_picks_add_their_cotangents() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.repeat(x, [2, 0, 3]).backward(np.arange(1.0, 6.0))
    np.testing.assert_array_equal(x.grad, [1 + 2, 0, 3 + 4 + 5])
    y = cr.tensor([[1.0, 2.0]], requires_grad=True)
    np.tile(y, (3, 2)).sum().backward()
    np.testing.assert_array_equal(y.grad, [[6.0, 6.0]])
    z = cr.tensor([5.0, 6.0], requires_grad=True)
    np.take(z, [1, 1, 0, 1]).backward(np.ones(4))
    np.testing.assert_array_equal(z.grad, [1.0, 3.0])


def test_an_unused_split_piece_gets_zero_gradient() -> None:
    x = cr.tensor(np.arange(5.0), requires_grad=True)
    first, _ = np.array_split(x, 2)
    (first * first).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 4.0, 0.0, 0.0])


# ----- errors name the function and the shapes --------------------------------------------------
T = cr.tensor(M, requires_grad=True)
ERRORS = [
    (lambda: np.sort(T, axis=2), "sort: axis 2 is out of range for an array of shape (3, 4)"),
    (lambda: np.partition(T, 9), "partition: .*(3, 4)"),
    (lambda: np.roll(T, 1, axis=5), "roll: .*(3, 4)"),
    (lambda: np.roll(T, (1, 2), axis=(0, 1, 1)), "roll: .*(3, 4)"),
    (lambda: np.flip(T, (0, -2)), "flip: repeated axis in (0, -2) (array of shape (3, 4))"),
    (lambda: cr.fliplr(cr.tensor(V)), "fliplr: .* at least 2 dimensions, got shape (4,)"),
    (lambda: np.rot90(T, axes=(1, 1)), "rot90: repeated axis in (1, 1)"),
    (lambda: np.rot90(T, axes=(0,)), "rot90: axes must name two axes"),
    (lambda: np.tile(T, (2, -1)), "tile: reps must be non-negative integers"),
    (lambda: np.repeat(T, [1, 2], axis=1), "repeat: 2 repeats do not match axis 1 of length 4"),
    (lambda: np.repeat(T, -1), "repeat: repeats must be non-negative integers"),
    (lambda: np.moveaxis(T, (0, 1), 0), "moveaxis: source (0, 1) and destination 0"),
    (lambda: np.rollaxis(T, 0, 3), "rollaxis: start 3 is out of range .*(3, 4)"),
    (lambda: np.ravel(T, order="K"), "ravel: order must be 'C' or 'F'"),
    (lambda: np.take(T, [0, 4], axis=1), "take: index 4 is out of bounds for axis 1 of length 4 "
     "(array of shape (3, 4))"),
    (lambda: np.take(T, [0.5]), "take: indices must be integers"),
    (lambda: np.take_along_axis(T, np.zeros(3, int), axis=0),
     "take_along_axis: indices of shape (3,) and an array of shape (3, 4)"),
    (lambda: np.take_along_axis(T, np.zeros((2, 3), int), axis=0),
     "take_along_axis: indices of shape (2, 3) do not broadcast"),
    (lambda: np.append(T, T[0], axis=0), "append: concatenate: arrays of shapes"),
    (lambda: np.hstack([T, T[:2]]), "hstack: concatenate: shapes .*differ outside axis 1"),
    (lambda: np.vstack([T, T[:, :2]]), "vstack: .*differ outside axis 0"),
    (lambda: np.column_stack([T, T[0]]), "column_stack: .*differ outside axis 1"),
    (lambda: np.array_split(T, 0), "array_split: the number of sections must be positive"),
    (lambda: np.hsplit(T, 3), "hsplit: axis 1 of length 4 .*(3, 4).* 3 equal sections"),
    (lambda: np.vsplit(cr.tensor(V), 2), "vsplit: .* at least 2 dimensions, got shape (4,)"),
    (lambda: np.dsplit(T, 2), "dsplit: .* at least 3 dimensions, got shape (3, 4)"),
    (lambda: np.array_split(T, 2, axis=2), "array_split: axis 2 is out of range .*(3, 4)"),
]


@pytest.mark.parametrize("call, message", ERRORS,
                         ids=[f"{i}-{m.split(':')[0]}" for i, (_, m) in enumerate(ERRORS)])
def test_bad_axes_and_shapes_raise_named_errors(call: Callable, message: str) -> None:
    pattern = ".*".join(re.escape(part) for part in message.split(".*"))
    with pytest.raises((ValueError, IndexError, TypeError), match=pattern):
        call()
