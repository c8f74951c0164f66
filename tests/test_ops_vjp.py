"""Every primitive's reverse-mode rule, checked on hypothesis-drawn inputs (``cases.CASES``):

* against central finite differences in float64 (no PyTorch needed);
* against PyTorch float64, value and gradient, to rtol 1e-7;
* float32 in, float32 out: the value, the vjp and the leaf's ``.grad``;
* second derivatives through ``backward(create_graph=True)`` against PyTorch's double backward.

Each test contracts the output with a random cotangent ``v`` (``backward(v)``), so non-scalar
outputs are exercised exactly as a vector-Jacobian product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from cases import CASES, Case, F, torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

# Examples per primitive from the Hypothesis profile (tests/conftest.py): 10 locally (or
# CHAINRULE_EXAMPLES for a thorough hunt), 50 with --hypothesis-profile=ci; second order
# draws 20 there (6 locally).
EXAMPLES = settings().max_examples
SECOND_ORDER_EXAMPLES = max(EXAMPLES * 2 // 5, min(EXAMPLES, 6))
SETTINGS = settings(deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TORCH_RTOL, TORCH_ATOL = 1e-7, 1e-10
ALL = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
SECOND_ORDER = pytest.mark.parametrize("case", [c for c in CASES if c.second_order],
                                       ids=lambda c: c.name)
SEEDS = st.integers(0, 2**32 - 1)


def leaves(arrays: Sequence[np.ndarray], dtype: object = None) -> list[cr.Tensor]:
    return [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]


def random_like(shape: tuple[int, ...], seed: int, dtype: object = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def numerical_vjp(fn: Callable[..., cr.Tensor], arrays: Sequence[np.ndarray], v: np.ndarray,
                  h: float = 1e-6) -> list[np.ndarray]:
    """Central differences of L(x) = <v, fn(x)>: dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h."""
    def loss(xs: list[np.ndarray]) -> float:
        return float(np.sum(v * fn(*[cr.tensor(x) for x in xs]).data))

    return central_differences(loss, arrays, h)


def central_differences(scalar: Callable[[list[np.ndarray]], float],
                        arrays: Sequence[np.ndarray], h: float) -> list[np.ndarray]:
    """d scalar / d arrays[k], element by element: (s(x + h e_i) - s(x - h e_i)) / 2h."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        xs = [b.copy() for b in arrays]
        for idx in np.ndindex(a.shape):
            xs[k][idx] = a[idx] + h
            up = scalar(xs)
            xs[k][idx] = a[idx] - h
            down = scalar(xs)
            xs[k][idx] = a[idx]
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def grad_or_zeros(g: object, like: np.ndarray) -> np.ndarray:
    if g is None:
        return np.zeros_like(like)
    if isinstance(g, cr.Tensor):
        return g.data
    if hasattr(g, "detach"):  # a torch tensor
        return g.detach().numpy(force=True)
    return np.asarray(g)


def assert_close(got: object, want: np.ndarray, rtol: float, atol: float, what: str) -> None:
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = float(np.max(np.abs(want), initial=1.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


def forward_and_backward(case: Case, arrays: Sequence[np.ndarray], seed: int
                         ) -> tuple[cr.Tensor, np.ndarray, list[cr.Tensor]]:
    xs = leaves(arrays)
    out = case.fn(*xs)
    v = random_like(out.shape, seed)
    out.backward(v)
    return out, v, xs


@ALL
@SETTINGS
@given(data=st.data())
def test_vjp_matches_finite_differences(case: Case, data: st.DataObject) -> None:
    arrays = data.draw(case.inputs, label="inputs")
    out, v, xs = forward_and_backward(case, arrays, data.draw(SEEDS, label="seed"))
    assert out.dtype == np.float64
    for k, (x, want) in enumerate(zip(xs, numerical_vjp(case.fn, arrays, v), strict=True)):
        assert_close(grad_or_zeros(x.grad, arrays[k]), want, 1e-5, 1e-6,
                     f"{case.name}: d/d input {k} vs finite differences")


@ALL
@SETTINGS
@given(data=st.data())
def test_value_and_vjp_match_torch(case: Case, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    arrays = data.draw(case.inputs, label="inputs")
    out, v, xs = forward_and_backward(case, arrays, data.draw(SEEDS, label="seed"))
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = case.torch_fn(*tx)
    assert_close(out.data, tout.detach().numpy(), TORCH_RTOL, TORCH_ATOL, f"{case.name}: value")
    tout.backward(torch.from_numpy(v))
    for k, (x, t) in enumerate(zip(xs, tx, strict=True)):
        assert_close(grad_or_zeros(x.grad, arrays[k]), grad_or_zeros(t.grad, arrays[k]),
                     TORCH_RTOL, TORCH_ATOL, f"{case.name}: d/d input {k} vs torch")


@ALL
@settings(SETTINGS, max_examples=max(EXAMPLES // 2, 1))
@given(data=st.data())
def test_float32_stays_float32(case: Case, data: st.DataObject) -> None:
    arrays = data.draw(case.inputs, label="inputs")
    seed = data.draw(SEEDS, label="seed")
    xs = leaves(arrays, np.float32)
    out = case.fn(*xs)
    assert out.dtype == np.float32, f"{case.name}: float32 inputs gave a {out.dtype} output"
    v = random_like(out.shape, seed, np.float32)
    vjps = cr.grad(out, xs, grad_outputs=v, retain_graph=True, allow_unused=True)
    out.backward(v)
    wide = leaves(arrays)
    case.fn(*wide).backward(v.astype(np.float64))
    for k, (g, x, w) in enumerate(zip(vjps, xs, wide, strict=True)):
        if g is None:
            continue
        assert g.dtype == np.float32, f"{case.name}: the vjp of input {k} is {g.dtype}"
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
        assert_close(x.grad, w.grad, 2e-3, 2e-3, f"{case.name}: float32 vs float64 gradient")


def second_derivatives(leaves_: list, first: Sequence, weights: Sequence[np.ndarray],
                       grad: Callable) -> list:
    """d/dx <w, first(x)>, the grads of the weighted first derivatives (None: constant)."""
    terms = [(g * w).sum() for g, w in zip(first, weights, strict=True)
             if g is not None and getattr(g, "requires_grad", False)]
    if not terms:
        return [None] * len(leaves_)
    return list(grad(sum(terms[1:], terms[0]), leaves_))


def numerical_second_derivatives(case: Case, arrays: Sequence[np.ndarray], v: np.ndarray,
                                 weights: Sequence[np.ndarray], h: float = 1e-5
                                 ) -> list[np.ndarray]:
    """Central differences of x -> sum_k <w_k, d<v, f(x)>/dx_k>, the first derivatives taken
    by an ordinary backward (itself checked against finite differences above): the
    reference for second order where PyTorch is absent."""
    def weighted_first(xs: list[np.ndarray]) -> float:
        ins = leaves(xs)
        case.fn(*ins).backward(v)
        return sum(float(np.sum(grad_or_zeros(t.grad, x) * w))
                   for t, x, w in zip(ins, xs, weights, strict=True))

    return central_differences(weighted_first, arrays, h)


@SECOND_ORDER
@settings(SETTINGS, max_examples=SECOND_ORDER_EXAMPLES)
@given(data=st.data())
def test_second_derivatives_match_torch(case: Case, data: st.DataObject) -> None:
    """Against PyTorch's double backward; without PyTorch, against central differences of
    the first derivative (looser tolerances)."""
    arrays = data.draw(case.inputs, label="inputs")
    seed = data.draw(SEEDS, label="seed")
    xs = leaves(arrays)
    out = case.fn(*xs)
    v = random_like(out.shape, seed)
    weights = [random_like(a.shape, seed + 1 + k) for k, a in enumerate(arrays)]
    out.backward(v, create_graph=True)
    for x in xs:
        assert x.grad is None or isinstance(x.grad, cr.Tensor), "create_graph: .grad not a Tensor"
    ours = second_derivatives(xs, [x.grad for x in xs], weights,
                              lambda s, ins: cr.grad(s, ins, allow_unused=True))
    if torch is None:
        first = numerical_vjp(case.fn, arrays, v)
        theirs = numerical_second_derivatives(case, arrays, v, weights)
        (rtol1, atol1), (rtol2, atol2), ref = (1e-5, 1e-6), (1e-4, 1e-5), "finite differences"
    else:
        tx = [torch.tensor(a, requires_grad=True) for a in arrays]
        first = torch.autograd.grad(case.torch_fn(*tx), tx, torch.from_numpy(v),
                                    create_graph=True, allow_unused=True)
        theirs = second_derivatives(tx, first, [torch.from_numpy(w) for w in weights],
                                    lambda s, ins: torch.autograd.grad(s, ins, allow_unused=True))
        (rtol1, atol1), (rtol2, atol2), ref = (TORCH_RTOL, TORCH_ATOL), (1e-6, 1e-9), "torch"
    for k, a in enumerate(arrays):
        assert_close(grad_or_zeros(xs[k].grad, a), grad_or_zeros(first[k], a), rtol1, atol1,
                     f"{case.name}: create_graph first derivative {k} vs {ref}")
        assert_close(grad_or_zeros(ours[k], a), grad_or_zeros(theirs[k], a), rtol2, atol2,
                     f"{case.name}: second derivative {k} vs {ref}")


# ----- points the table avoids: kinks, ties, zeros, extreme values ---------------------------
def torch_grads(fn: Callable, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list]:
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tx)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [grad_or_zeros(t.grad, a) for t, a in zip(tx, arrays,
                                                                            strict=True)]


def one_sided_differences(fn: Callable, arrays: Sequence[np.ndarray]
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(left, right) one-sided differences of sum(fn(x)) along each coordinate, with a step
    relative to the value. At a kink, a (sub)gradient entry lies between the two; where the
    function is smooth they agree with the derivative."""
    def loss(xs: list[np.ndarray]) -> float:
        return float(np.sum(fn(*[cr.tensor(x) for x in xs]).data))

    base = loss([a.copy() for a in arrays])
    found = []
    for k, a in enumerate(arrays):
        left, right = np.zeros_like(a), np.zeros_like(a)
        xs = [b.copy() for b in arrays]
        for idx in np.ndindex(a.shape):
            h = 1e-6 * max(1.0, abs(float(a[idx])))
            xs[k][idx] = a[idx] + h
            right[idx] = (loss(xs) - base) / h
            xs[k][idx] = a[idx] - h
            left[idx] = (base - loss(xs)) / h
            xs[k][idx] = a[idx]
        found.append((left, right))
    return found


def our_grads(fn: Callable, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list]:
    xs = leaves(arrays)
    out = fn(*xs)
    out.backward(np.ones(out.shape))
    return out.data, [grad_or_zeros(x.grad, a) for x, a in zip(xs, arrays, strict=True)]


_FAR = np.array([[1000.0, 999.0, -1000.0], [-1e4, -1001.0, -2000.0]])
SPECIAL_POINTS = {
    # name: (chainrule function, torch function, inputs)
    "relu at 0": (cr.relu, lambda x: torch.relu(x), [np.array([-1.0, 0.0, 2.0])]),
    "abs at 0": (cr.abs, lambda x: torch.abs(x), [np.array([-1.0, 0.0, 2.0])]),
    "clip at its bounds": (lambda x: cr.clip(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0),
                           [np.array([-1.0, 0.0, 1.0, 2.0])]),
    "maximum ties split": (cr.maximum, lambda x, y: torch.maximum(x, y),
                           [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])]),
    "minimum ties split": (cr.minimum, lambda x, y: torch.minimum(x, y),
                           [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])]),
    "max ties share": (lambda x: cr.max(x, axis=1), lambda x: torch.amax(x, dim=1),
                       [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    "min ties share": (lambda x: cr.min(x), lambda x: torch.amin(x),
                       [np.array([[1.0, 3.0, 1.0], [2.0, 1.0, 2.0]])]),
    "norm at 0": (cr.norm, lambda x: torch.linalg.vector_norm(x), [np.zeros(3)]),
    "sqrt of a large value": (cr.sqrt, lambda x: torch.sqrt(x), [np.array([1e300])]),
    "sigmoid far out": (cr.sigmoid, lambda x: torch.sigmoid(x),
                        [np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])]),
    "softplus far out": (cr.softplus, lambda x: F.softplus(x),
                         [np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])]),
    "logsumexp far out": (lambda x: cr.logsumexp(x, axis=1),
                          lambda x: torch.logsumexp(x, dim=1), [_FAR]),
    "softmax far out": (lambda x: cr.softmax(x) * np.arange(3.0),
                        lambda x: torch.softmax(x, -1) * torch.arange(3.0, dtype=x.dtype),
                        [_FAR]),
    "log_softmax far out": (cr.log_softmax, lambda x: torch.log_softmax(x, -1), [_FAR]),
    "pow with exponent 0": (cr.pow, lambda x, y: x ** y,
                            [np.array([0.0, 2.0, 0.5]), np.zeros(3)]),
    "pow of 0 with exponent 2": (cr.pow, lambda x, y: x ** y,
                                 [np.zeros(2), np.array([2.0, 1.0])]),
}


@pytest.mark.parametrize("name", SPECIAL_POINTS)
def test_special_points_match_torch(name: str) -> None:
    """Against PyTorch's value and (sub)gradient choice; without PyTorch, each gradient entry
    lies between the one-sided differences (equal to them where the function is smooth);
    entries with a non-finite one-sided difference (0^y, y < 0) only need to be finite."""
    fn, torch_fn, arrays = SPECIAL_POINTS[name]
    value, grads = our_grads(fn, arrays)
    assert np.all(np.isfinite(value)) and all(np.all(np.isfinite(g)) for g in grads)
    if torch is None:
        for g, (left, right) in zip(grads, one_sided_differences(fn, arrays), strict=True):
            lo, hi = np.minimum(left, right), np.maximum(left, right)
            tol = 1e-5 * np.maximum(1.0, np.abs(g))
            checkable = np.isfinite(lo) & np.isfinite(hi)
            assert np.all(~checkable | ((lo - tol <= g) & (g <= hi + tol))), (g, left, right)
        return
    t_value, t_grads = torch_grads(torch_fn, arrays)
    np.testing.assert_allclose(value, t_value, rtol=1e-12)
    for g, t in zip(grads, t_grads, strict=True):
        np.testing.assert_allclose(g, t, rtol=1e-12, atol=0)


def test_cross_entropy_far_out_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    z = np.array([[1000.0, -1000.0, 0.0], [-5e3, 5e3, 1.0]])
    labels = np.array([1, 0])
    x = cr.tensor(z, requires_grad=True)
    loss = cr.cross_entropy_logits(x, labels)
    loss.backward()
    tz = torch.tensor(z, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(labels))
    t_loss.backward()
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tz.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_repeated_indices_add_their_cotangents() -> None:
    x = cr.tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[np.array([0, 2, 0, 0])].backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [8.0, 0.0, 2.0])


def test_mixed_derivative_of_pow_at_exponent_zero() -> None:
    """d/dy d/dx x^y = x^(y-1) (1 + y log x), which is 1/x at y = 0 (PyTorch gives 0 there)."""
    x = cr.tensor([0.5, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
    dx, = cr.grad((x ** y).sum(), x, create_graph=True)
    np.testing.assert_array_equal(dx.data, [0.0, 0.0, 0.0])
    dxy, = cr.grad(dx.sum(), y)
    np.testing.assert_allclose(dxy, 1 / x.data, rtol=1e-14)


def test_prod_gradient_with_zeros_is_the_product_of_the_others() -> None:
    x = cr.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], requires_grad=True)
    x.prod(axis=1).backward(np.ones(2))
    np.testing.assert_array_equal(x.grad, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])


def test_every_primitive_has_a_case() -> None:
    """A primitive added to chainrule.ops without a row in cases.CASES fails here."""
    covered = {c.name.split("[")[0] for c in CASES}
    missing = sorted(n for n in cr.ops.__all__ if n not in covered)
    assert not missing, f"no case in tests/cases.py for: {missing}"


def test_assignment_with_repeated_indices_differentiates_the_write_that_stayed() -> None:
    """x[[0, 2, 0]] = v keeps v[2] at position 0 (NumPy keeps the last write): v[0] gets no
    gradient. Checked against finite differences."""
    index = np.array([0, 2, 0])

    def fn(x: cr.Tensor, v: cr.Tensor) -> cr.Tensor:
        return cr.index_update(x, index, v)

    arrays = [np.zeros(4), np.array([1.0, 2.0, 3.0])]
    out, cot, (x, v) = forward_and_backward(Case("", fn, fn, st.nothing()), arrays, 0)
    np.testing.assert_array_equal(out.data, [3.0, 0.0, 2.0, 0.0])
    fd = numerical_vjp(fn, arrays, cot)
    np.testing.assert_allclose(x.grad, fd[0], atol=1e-8)
    np.testing.assert_allclose(v.grad, fd[1], atol=1e-8)
    assert v.grad[0] == 0.0
