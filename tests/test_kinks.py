"""Subgradients at kinks and ties: each the choice its docstring states, checked against
PyTorch (CPU, float64), or the difference explained; special points that used to give NaN
or no derivative (norm at 0, clip with broadcast or Tensor bounds, second derivatives of a
product with zero factors)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def ours(fn: Callable, arrays: Sequence[np.ndarray], weights: np.ndarray | None = None
         ) -> list[np.ndarray]:
    """d <weights, fn(arrays)> / d arrays (weights: ones by default)."""
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    out.backward(np.ones(out.shape) if weights is None else weights)
    return [np.zeros_like(a) if x.grad is None else x.grad for x, a in zip(xs, arrays)]


def theirs(fn: Callable, arrays: Sequence[np.ndarray], weights: np.ndarray | None = None
           ) -> list[np.ndarray]:
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.ones_like(out) if weights is None else torch.tensor(weights))
    return [np.zeros_like(a) if t.grad is None else t.grad.numpy() for t, a in zip(ts, arrays)]


_TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
_XS = np.array([-1.0, 0.0, 2.0])

# name: (ours, torch's, inputs): the kink or tie is in the inputs.
KINKS: dict[str, tuple[Callable, Callable, list[np.ndarray]]] = {
    "relu at 0 gives 0": (cr.relu, torch.relu, [_XS]),
    "abs at 0 gives sign(0) = 0": (cr.abs, torch.abs, [_XS]),
    "sign has derivative 0": (cr.sign, torch.sign, [_XS]),
    "max over all, ties share": (cr.max, torch.max, [_TIES]),
    "max over an axis, ties share (amax)": (lambda x: cr.max(x, axis=1),
                                            lambda x: torch.amax(x, dim=1), [_TIES]),
    "min over an axis, ties share (amin)": (lambda x: cr.min(x, axis=0),
                                            lambda x: torch.amin(x, dim=0), [-_TIES.T]),
    "maximum ties split in half": (cr.maximum, torch.maximum,
                                   [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])]),
    "minimum ties split in half": (cr.minimum, torch.minimum,
                                   [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])]),
    "clip at its bounds passes the gradient": (
        lambda x: cr.clip(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0),
        [np.array([-2.0, -1.0, 0.0, 1.0, 2.0])]),
    "clip with Tensor bounds, ties and crossed bounds": (
        cr.clip, torch.clamp,
        [np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5, -5.0, 0.5]),
         np.array([-1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 0.5]),
         np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.5])]),
    "clip with a Tensor lower bound only": (
        lambda x, lo: cr.clip(x, lo), lambda x, lo: torch.clamp(x, min=lo),
        [np.array([-2.0, -1.0, 0.0]), np.array([-1.0, -1.0, -1.0])]),
    "clip with bounds that broadcast beyond x": (
        lambda x, lo: cr.clip(x, lo, 1.5), lambda x, lo: torch.clamp(x, lo, torch.tensor(1.5)),
        [np.array([0.3, -2.0, 2.0]), np.array([[0.0], [1.0]])]),
    "norm[matrix ord=1] with tied column sums shares": (
        lambda x: cr.norm(x, 1), lambda x: torch.linalg.matrix_norm(x, 1),
        [np.array([[0.2, 0.5], [0.5, 0.2]])]),
    "norm[ord=inf] with tied entries shares": (
        lambda x: cr.norm(x, np.inf), lambda x: torch.linalg.vector_norm(x, float("inf")),
        [np.array([2.0, -2.0, 1.0])]),
}


@pytest.mark.parametrize("name", KINKS)
def test_kink_matches_pytorch(name: str) -> None:
    fn, torch_fn, arrays = KINKS[name]
    got, expected = ours(fn, arrays), theirs(torch_fn, arrays)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-15, atol=0)


def test_max_over_an_axis_differs_from_torch_max_with_dim_on_ties() -> None:
    """``torch.max(x, dim)`` also returns indices and gives a tie's whole gradient to the
    index it returns; chainrule's ``max`` (like ``amax``) shares it, so both are valid
    subgradients and their sum over the tie agrees."""
    got = ours(lambda x: cr.max(x, axis=1), [_TIES])[0]
    expected = theirs(lambda x: torch.max(x, dim=1).values, [_TIES])[0]
    assert not np.array_equal(got, expected)
    np.testing.assert_allclose(got.sum(axis=1), expected.sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(got, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


@pytest.mark.parametrize("p", [0.5, 1, 1.5, 2, 3, 7.5, np.inf, -np.inf])
@pytest.mark.parametrize("point", ["zero vector", "some zero entries"])
def test_norm_has_pytorchs_finite_subgradient_at_zero(p: float, point: str) -> None:
    x = np.zeros(4) if point == "zero vector" else np.array([0.0, 1.5, 0.0, -2.0])
    got = ours(lambda t: cr.norm(t, p), [x])[0]
    expected = theirs(lambda t: torch.linalg.vector_norm(t, p), [x])[0]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)


@pytest.mark.parametrize("p", [0.5, 1.5, 3])
def test_norm_gradient_is_finite_at_zero_along_an_axis_and_in_forward_mode(p: float) -> None:
    x = np.array([[0.0, 0.0], [3.0, -4.0]])
    got = ours(lambda t: cr.norm(t, p, axis=1), [x])[0]
    expected = theirs(lambda t: torch.linalg.vector_norm(t, p, dim=1), [x])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)
    _, tangent = cr.jvp(lambda t: cr.norm(t, p, axis=1), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(tangent, expected.sum(axis=1), rtol=1e-13)


def _second(fn: Callable, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of <v, grad fn(x)> with respect to x: ours and PyTorch's."""
    t = cr.tensor(x, requires_grad=True)
    (g,) = cr.autograd.grad(fn(cr, t).sum(), t, create_graph=True)
    (g * v).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(fn(torch, tt).sum(), tt, create_graph=True)
    (gt * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-13, atol=1e-15)
    return t.grad, tt.grad.numpy()


@pytest.mark.parametrize("x", [
    np.array([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0]]),  # one zero in row 0, two in row 1
    np.array([[1.5, -2.0, 0.0], [0.5, 4.0, -1.0]]),
])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_second_derivatives_of_prod_through_zero_factors_match_pytorch(
        x: np.ndarray, axis: int | None) -> None:
    def prod(lib: object, t: object) -> object:
        if lib is cr:
            return cr.prod(t, axis=axis)
        return torch.prod(t) if axis is None else torch.prod(t, dim=axis)

    v = np.arange(1.0, 7.0).reshape(2, 3)
    got, expected = _second(prod, x, v)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_hessian_of_a_product_with_one_zero_factor() -> None:
    x = np.array([0.0, 2.0, 3.0])
    h = cr.hessian(lambda t: cr.prod(t))(x)
    th = torch.autograd.functional.hessian(lambda t: torch.prod(t), torch.tensor(x))
    np.testing.assert_allclose(h, th.numpy(), rtol=1e-15)
    assert h[0, 1] == 3.0 and h[0, 2] == 2.0  # d2/dx0 dx1 = x2: nonzero although x0 = 0


def test_clip_tensor_bound_has_second_derivatives_of_zero() -> None:
    """clip is piecewise linear in x and its bounds: the gradient with respect to a bound is
    a mask, whose own derivative is 0 (as in PyTorch)."""
    x, lo = np.array([-2.0, 0.5]), np.array([-1.0, -1.0])
    t, tl = cr.tensor(x, requires_grad=True), cr.tensor(lo, requires_grad=True)
    (g,) = cr.autograd.grad(cr.clip(t, tl, 1.0).sum(), tl, create_graph=True)
    np.testing.assert_array_equal(g.data, [1.0, 0.0])
    (g * t).sum().backward()
    np.testing.assert_array_equal(t.grad, [1.0, 0.0])  # d/dt of <g, t> with g a constant mask


@pytest.mark.skipif(not hasattr(cr, "sort"), reason="sort arrives with the arrays branch")
def test_sort_ties_keep_the_stable_order() -> None:
    """Tied values keep their input order (NumPy's stable sort, ``torch.sort(stable=True)``),
    so each tied input gets the gradient of the position it lands in."""
    x = np.array([2.0, 1.0, 2.0, 0.0])
    w = np.arange(4.0)
    got = ours(lambda t: cr.sort(t), [x], w)[0]
    expected = theirs(lambda t: torch.sort(t, stable=True).values, [x], w)[0]
    np.testing.assert_array_equal(got, expected)
