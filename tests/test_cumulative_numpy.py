"""NumPy's own functions on Tensors for the cumulative, product and matrix-structure modules:
``np.cumsum(t)`` and the rest go through NumPy's dispatch to chainrule, give NumPy's value
on the raw data and a gradient that matches finite differences; cumprod's derivatives hold
with zero factors (second order against PyTorch); bad input is a clear error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import cumulative, matrices, products

_RNG = np.random.default_rng(7)
_X = _RNG.standard_normal((3, 4))
_Y = _RNG.standard_normal((4, 3))
_V3 = _RNG.standard_normal((2, 3))
_K = np.array([0.5, -1.0, 2.0])
_XP = np.array([-1.0, 0.0, 0.5, 2.0])
_AT = np.array([-1.7, -0.6, 0.2, 0.9, 1.4, 2.8])  # between and outside the knots

# (numpy function, call on one array, the array): the call uses only NumPy's names
CALLS: list[tuple[Callable, Callable, np.ndarray]] = [
    (np.cumsum, lambda t: np.cumsum(t, axis=1), _X),
    (np.cumsum, lambda t: np.cumsum(t), _X),
    (np.cumprod, lambda t: np.cumprod(t, axis=0), _X),
    (np.cumprod, lambda t: np.cumprod(t), np.where(np.abs(_X) < 0.5, 0.0, _X)),
    (np.diff, lambda t: np.diff(t, 2, axis=1, prepend=0.25, append=_X[:, :1]), _X),
    (np.gradient, lambda t: np.gradient(t, 0.5, axis=1, edge_order=2), _X),
    (np.tensordot, lambda t: np.tensordot(t, _Y, axes=1), _X),
    (np.tensordot, lambda t: np.tensordot(t, _Y.T, axes=([0, 1], [0, 1])), _X),
    (np.inner, lambda t: np.inner(t, _Y.T), _X),
    (np.vdot, lambda t: np.vdot(t, _Y.T), _X),
    (np.kron, lambda t: np.kron(t, _V3), _X),
    (np.cross, lambda t: np.cross(t, _K), _V3),
    (np.cross, lambda t: np.cross(t, _V3.T[:, ::-1], axis=0), _V3.T),
    (np.convolve, lambda t: np.convolve(t, _K, mode="same"), _X[0]),
    (np.tril, lambda t: np.tril(t, -1), _X),
    (np.triu, lambda t: np.triu(t, 1), _X),
    (np.diag, lambda t: np.diag(t, 1), _X),
    (np.diag, lambda t: np.diag(t, -2), _K),
    (np.diagflat, lambda t: np.diagflat(t, 1), _V3),
    (np.select, lambda t: np.select([_X > 0.5, _X < -0.5], [t, 2 * t], default=t * t), _X),
    (np.linspace, lambda t: np.linspace(t[0], t[1], 5, axis=-1), _X),
    (np.linspace, lambda t: np.linspace(t, 3.0, 4, endpoint=False), _K),
    (np.average, lambda t: np.average(t, axis=1, weights=np.abs(_Y[:, 0])), _X),
    (np.ptp, lambda t: np.ptp(t, axis=0), _X),
    (np.median, lambda t: np.median(t, axis=1), _X),
    (np.median, lambda t: np.median(t), _X),
    (np.interp, lambda t: np.interp(_AT, _XP, t), _X[0]),
    (np.interp, lambda t: np.interp(t, _XP, _XP ** 2), _AT),
]


def _ids(call: tuple) -> str:
    return call[0].__name__


def _numerical_grad(fn: Callable, x: np.ndarray, v: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (np.sum(v * fn(up)) - np.sum(v * fn(down))) / (2 * h)
    return g


def test_every_numpy_entry_is_called() -> None:
    tables = {**cumulative.NUMPY, **products.NUMPY, **matrices.NUMPY}
    assert set(tables) == {f for f, _, _ in CALLS}


@pytest.mark.parametrize(("func", "call", "x"), CALLS, ids=[_ids(c) for c in CALLS])
def test_numpy_call_is_differentiable(func: Callable, call: Callable, x: np.ndarray) -> None:
    t = cr.tensor(x, requires_grad=True)
    out = call(t)
    assert isinstance(out, cr.Tensor) and out.requires_grad, f"np.{func.__name__} left the graph"
    want = call(x)  # NumPy itself on the raw data
    np.testing.assert_allclose(out.data, want, rtol=1e-13, atol=1e-15)
    v = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(v)
    np.testing.assert_allclose(t.grad, _numerical_grad(call, x, v), rtol=1e-6, atol=1e-7)


def test_linspace_returns_numpys_values_and_step() -> None:
    start, stop = cr.tensor(_K, requires_grad=True), cr.tensor(-_K, requires_grad=True)
    y, step = np.linspace(start, stop, 7, retstep=True, axis=1)
    want, want_step = np.linspace(_K, -_K, 7, retstep=True, axis=1)
    np.testing.assert_array_equal(y.data, want)
    np.testing.assert_array_equal(step.data, want_step)
    (y.sum() + step.sum()).backward()
    # y_i = start + i (stop - start) / 6: d/d start = sum (1 - i/6) = 3.5, d/d stop = 3.5
    np.testing.assert_allclose(start.grad, np.full(3, 3.5 - 1 / 6))
    np.testing.assert_allclose(stop.grad, np.full(3, 3.5 + 1 / 6))


# ----- cumprod with zero factors against PyTorch ---------------------------------------------
@pytest.mark.parametrize("x", [
    np.array([1.5, 0.0, -2.0, 0.5, 3.0]),
    np.array([0.0, 0.0, 1.2, -0.7]),
    np.array([2.0, -1.0, 0.5, 0.0]),
    np.array([[0.0, 1.3, -0.8], [1.1, 0.0, 0.0]]),
])
def test_cumprod_second_derivative_with_zeros_matches_torch(x: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    v, w = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    t = cr.tensor(x, requires_grad=True)
    (g,) = cr.grad(np.cumprod(t, axis=-1), t, grad_outputs=v, create_graph=True)
    (h,) = cr.grad((g * w).sum(), t)
    tt = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.cumprod(tt, -1), tt, torch.from_numpy(v),
                                create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.from_numpy(w)).sum(), tt)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12, atol=1e-14)
    assert np.all(np.isfinite(h.data))


def test_cumprod_hessian_with_a_zero_is_the_exact_one() -> None:
    # f = sum cumprod(x) = x0 + x0 x1 + x0 x1 x2 at x1 = 0: d2f/dx0dx1 = 1 + x2, d2f/dx1dx2 = x0
    x = np.array([2.0, 0.0, 3.0])
    H = cr.hessian(lambda t: cr.cumprod(t).sum())(x)
    np.testing.assert_allclose(H, [[0.0, 4.0, 0.0], [4.0, 0.0, 2.0], [0.0, 2.0, 0.0]])


def test_cumprod_long_sequence_with_a_zero_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).uniform(0.8, 1.2, size=300)
    x[137] = 0.0
    t = cr.tensor(x, requires_grad=True)
    cr.cumprod(t).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    torch.cumprod(tt, 0).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)


# ----- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "message"), [
    (lambda t: np.cumsum(t, axis=2), r"cumsum: axis 2 is out of range for .* shape \(3, 4\)"),
    (lambda t: np.cumprod(t, axis=-3), r"cumprod: axis -3 .* shape \(3, 4\)"),
    (lambda t: np.diff(t, -1), r"diff: order n=-1"),
    (lambda t: np.diff(t, prepend=np.ones((2, 2))), r"diff: prepend of shape \(2, 2\) does "),
    (lambda t: np.tensordot(t, t, axes=1),
     r"tensordot: shapes \(3, 4\) and \(3, 4\) with axes=1: axis 1 of a \(length 4\) and "
     r"axis 0 of b \(length 3\)"),
    (lambda t: np.tensordot(t, t, axes=([0], [0, 1])), r"tensordot: .* equal length"),
    (lambda t: np.inner(t, t.T), r"inner: shapes \(3, 4\) and \(4, 3\): last dimensions 4 and 3"),
    (lambda t: np.vdot(t, _K), r"vdot: shapes \(3, 4\) and \(3,\) hold 12 and 3 elements"),
    (lambda t: np.cross(t, t), r"cross: vectors of lengths 4 and 4"),
    (lambda t: np.convolve(t, _K), r"convolve: shapes \(3, 4\) and \(3,\)"),
    (lambda t: np.convolve(t[0], _K, mode="middle"), r"convolve: mode 'middle'"),
    (lambda t: np.diag(t[None]), r"diag: input of shape \(1, 3, 4\) must be 1-D"),
    (lambda t: np.tril(t[0, 0]), r"tril: input of shape \(\) needs at least one dimension"),
    (lambda t: np.select([t > 0], [t, t]), r"select: 1 conditions but 2 choices"),
    (lambda t: np.select([np.ones(4)], [t]), r"select: condition 0 has dtype float64"),
    (lambda t: np.linspace(t, 1.0, -2), r"linspace: num=-2"),
    (lambda t: np.average(t, axis=1, weights=np.ones(3)), r"average: weights of shape \(3,\)"),
    (lambda t: np.average(t, axis=1, weights=np.zeros(4)), r"average: the weights sum to zero"),
    (lambda t: np.median(t, axis=5), r"median: axis 5"),
    (lambda t: np.median(t, axis=(0, 1)), r"median: axis \(0, 1\) must be one int or None"),
    (lambda t: np.interp(t[0], _XP, _XP[:3]), r"interp: xp of shape \(4,\) and fp of shape \(3,\)"),
])
def test_bad_input_is_a_clear_error(call: Callable, message: str) -> None:
    t = cr.tensor(_X, requires_grad=True)
    with pytest.raises((ValueError, TypeError, ZeroDivisionError), match=message):
        call(t)
