"""chainrule.linalg beyond the primitive table (tests/cases_linalg.py): coverage of the
namespace, NumPy's dispatch (np.linalg.f(t)), values and tuples as NumPy returns them, two
programs (a Newton step, a Gaussian-process marginal likelihood) against PyTorch, the
degenerate spectra where eigenvectors have no derivative, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES
from cases_linalg import conditioned, symmetric

import chainrule as cr
from chainrule import linalg as la

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
A = conditioned(RNG.standard_normal((3, 3)))
STACK = conditioned(RNG.standard_normal((2, 3, 3)))
TALL = conditioned(RNG.standard_normal((4, 2)))
SPD = symmetric(RNG.standard_normal((2, 3, 3)), 1.0)
NOT_DIFFERENTIABLE = {"LinAlgError", "matrix_rank"}  # an exception, an integer answer


def test_every_linalg_function_has_a_case() -> None:
    covered = {c.name.split("[")[0] for c in CASES}
    missing = sorted(n for n in la.__all__ if n not in NOT_DIFFERENTIABLE
                     and f"linalg.{n}" not in covered)
    assert not missing, f"no case in tests/cases_linalg.py for: {missing}"


def test_linalg_is_a_subpackage_not_top_level() -> None:
    assert cr.linalg is la and "linalg" in cr.__all__
    assert not hasattr(cr, "cholesky") and not hasattr(cr, "slogdet")


# ----- NumPy's dispatch and NumPy's values --------------------------------------------------
DISPATCHED = {
    "inv": (lambda m, x: m.inv(x), STACK),
    "solve": (lambda m, x: m.solve(x, np.arange(3.0)), STACK),
    "det": (lambda m, x: m.det(x), STACK),
    "slogdet": (lambda m, x: m.slogdet(x)[1], STACK),
    "matrix_power": (lambda m, x: m.matrix_power(x, -2), STACK),
    "multi_dot": (lambda m, x: m.multi_dot([x, x.T, x]), A),
    "pinv": (lambda m, x: m.pinv(x), TALL),
    "lstsq": (lambda m, x: m.lstsq(x, np.arange(4.0), rcond=None)[0], TALL),
    "cholesky": (lambda m, x: m.cholesky(x), SPD),
    "eigh": (lambda m, x: m.eigh(x)[1][..., :1, :1] ** 2, SPD),  # rows, columns: norm 1
    "eigvalsh": (lambda m, x: m.eigvalsh(x, UPLO="U"), SPD),
    "svd": (lambda m, x: m.svd(x)[0][..., :1, :1] ** 2, STACK),
    "svdvals": (lambda m, x: m.svdvals(x), TALL),
    "qr": (lambda m, x: np.abs(m.qr(x)[1]), TALL),
    "cond": (lambda m, x: m.cond(x), STACK),
    "norm": (lambda m, x: m.norm(x), A),
}


@pytest.mark.parametrize("name", DISPATCHED)
def test_numpy_dispatch_differentiates_like_chainrule_linalg(name: str) -> None:
    fn, x = DISPATCHED[name]
    t, u = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    through_numpy, ours = fn(np.linalg, t), fn(la, u)
    assert isinstance(through_numpy, cr.Tensor)
    np.testing.assert_allclose(through_numpy.data, fn(np.linalg, x), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(through_numpy.data, ours.data)
    through_numpy.sum().backward()
    ours.sum().backward()
    np.testing.assert_array_equal(t.grad, u.grad)
    assert np.all(np.isfinite(t.grad)) and np.any(t.grad != 0)


def test_tuples_are_numpys() -> None:
    t = cr.tensor(STACK)
    for ours, theirs in [(la.slogdet(t), np.linalg.slogdet(STACK)),
                         (la.eigh(cr.tensor(SPD)), np.linalg.eigh(SPD)),
                         (la.svd(t), np.linalg.svd(STACK)), (la.qr(t), np.linalg.qr(STACK))]:
        assert ours._fields == theirs._fields
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.data, b)
    np.testing.assert_array_equal(la.qr(t, mode="r").data, np.linalg.qr(STACK, mode="r"))
    np.testing.assert_array_equal(la.svd(t, compute_uv=False).data,
                                  np.linalg.svd(STACK, compute_uv=False))


def test_slogdet_sign_is_numpys_and_has_zero_derivative() -> None:
    x = STACK * np.array([1.0, -1.0])[:, None, None]  # determinants of both signs (odd n)
    t = cr.tensor(x, requires_grad=True)
    sign, logabsdet = la.slogdet(t)
    np.testing.assert_array_equal(sign.data, np.linalg.slogdet(x).sign)
    assert set(sign.data) == {-1.0, 1.0}
    (sign * logabsdet).sum().backward()
    want = sign.data[:, None, None] * np.linalg.inv(x).mT  # d log|det| = A^-T
    np.testing.assert_allclose(t.grad, want, rtol=1e-12)


@pytest.mark.parametrize("b_shape", [(4,), (4, 3)])
def test_lstsq_returns_numpys_tuple(b_shape: tuple[int, ...]) -> None:
    b = RNG.standard_normal(b_shape)
    a = cr.tensor(TALL, requires_grad=True)
    x, residuals, rank, s = la.lstsq(a, b)
    want = np.linalg.lstsq(TALL, b)
    np.testing.assert_allclose(x.data, want[0], rtol=1e-12)
    assert residuals.shape == want[1].shape
    np.testing.assert_allclose(residuals.data, want[1], rtol=1e-10)
    assert rank == want[2] == 2
    np.testing.assert_allclose(s.data, want[3], rtol=1e-12)
    wide = la.lstsq(TALL.T, b[:2])  # not full column rank: no residuals, as NumPy
    assert wide[1].shape == np.linalg.lstsq(TALL.T, b[:2])[1].shape == (0,)


def test_matrix_power_zero_is_the_identity_with_zero_gradient() -> None:
    t = cr.tensor(STACK, requires_grad=True)
    out = la.matrix_power(t, 0)
    np.testing.assert_array_equal(out.data, np.linalg.matrix_power(STACK, 0))
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, np.zeros_like(STACK))


def test_matrix_rank_is_a_query() -> None:
    low = np.outer(np.arange(1.0, 4.0), np.ones(3))
    assert la.matrix_rank(cr.tensor(low, requires_grad=True)) == 1
    assert np.linalg.matrix_rank(cr.tensor(STACK)).tolist() == [3, 3]


def test_symmetric_inputs_get_gradients_on_the_triangle_read() -> None:
    """NumPy reads one triangle; chainrule differentiates that function (see linalg_decompose)."""
    x = SPD[0]
    for fn, untouched in [(lambda t: la.cholesky(t), np.triu_indices(3, 1)),
                          (lambda t: la.cholesky(t, upper=True), np.tril_indices(3, -1)),
                          (lambda t: la.eigh(t, UPLO="U")[0], np.tril_indices(3, -1)),
                          (lambda t: la.eigvalsh(t), np.triu_indices(3, 1))]:
        t = cr.tensor(x, requires_grad=True)
        fn(t).sum().backward()
        assert np.all(t.grad[untouched] == 0) and np.any(t.grad != 0)


# ----- programs ----------------------------------------------------------------------------------
def test_newton_step_through_solve_matches_torch() -> None:
    """x1(theta) = x0 - H^-1 g, the Hessian and gradient of f(x) = sum log(1 + e^(W x))
    + theta |x|^2 / 2 taken by chainrule itself, then d |x1|^2 / d theta."""
    w, x0 = RNG.standard_normal((5, 3)), RNG.standard_normal(3)

    def f(x, theta):
        return cr.softplus(w @ x).sum() + 0.5 * theta * (x * x).sum()

    def loss(theta):
        g = cr.grad(f)(x0, theta)
        h = cr.hessian(f)(x0, theta)
        x1 = x0 - np.linalg.solve(h, g)
        return (x1 * x1).sum()

    def torch_loss(theta):
        x = torch.tensor(x0, requires_grad=True)
        fx = (torch.nn.functional.softplus(torch.from_numpy(w) @ x).sum()
              + 0.5 * theta * (x * x).sum())
        g, = torch.autograd.grad(fx, x, create_graph=True)
        h = torch.stack([torch.autograd.grad(g[i], x, create_graph=True)[0] for i in range(3)])
        x1 = torch.from_numpy(x0) - torch.linalg.solve(h, g)
        return (x1 * x1).sum()

    theta = 0.7
    tt = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    want = torch.autograd.grad(torch_loss(tt), tt)[0].item()
    np.testing.assert_allclose(float(cr.grad(loss)(theta)), want, rtol=1e-10)


def _gp_lml(lengthscale, x, y, lib):
    """The Gaussian-process log marginal likelihood with an RBF kernel, by Cholesky:
    -y^T K^-1 y / 2 - sum log diag L - n log(2 pi) / 2, K = L L^T."""
    d = x[:, None] - x[None, :]
    k = lib.exp(-0.5 * d * d / lengthscale ** 2) + 0.1 * lib.eye(len(x), dtype=d.dtype)
    linalg = torch.linalg if lib is torch else np.linalg  # np.linalg: dispatched to chainrule
    low = linalg.cholesky(k)
    alpha = linalg.solve(low.mT, linalg.solve(low, y))
    return (-0.5 * (y * alpha).sum() - lib.log(lib.diagonal(low)).sum()
            - 0.5 * len(x) * np.log(2 * np.pi))


def test_gaussian_process_marginal_likelihood_matches_torch() -> None:
    x, y = np.linspace(0.0, 3.0, 6), np.sin(np.linspace(0.0, 3.0, 6))
    ell = 0.8
    value, d1 = cr.value_and_grad(lambda e: _gp_lml(e, x, y, cr))(ell)
    d2 = cr.grad(cr.grad(lambda e: _gp_lml(e, x, y, cr)))(ell)
    te = torch.tensor(ell, dtype=torch.float64, requires_grad=True)
    t_value = _gp_lml(te, torch.from_numpy(x), torch.from_numpy(y), torch)
    t_d1, = torch.autograd.grad(t_value, te, create_graph=True)
    t_d2, = torch.autograd.grad(t_d1, te)
    np.testing.assert_allclose(float(value), t_value.item(), rtol=1e-12)
    np.testing.assert_allclose(float(d1), t_d1.item(), rtol=1e-9)
    np.testing.assert_allclose(float(d2), t_d2.item(), rtol=1e-8)
    h = 1e-5
    fd = (_gp_lml(ell + h, x, y, np) - _gp_lml(ell - h, x, y, np)) / (2 * h)
    np.testing.assert_allclose(float(d1), fd, rtol=1e-7)


# ----- degenerate spectra ------------------------------------------------------------------------
DEGENERATE = np.diag([1.0, 1.0, 2.0])


def test_eigenvalues_of_a_degenerate_matrix_differentiate() -> None:
    for values in (lambda t: la.eigh(t)[0], la.eigvalsh):
        t = cr.tensor(DEGENERATE, requires_grad=True)
        (values(t) * np.array([1.0, 1.0, 3.0])).sum().backward()
        np.testing.assert_allclose(t.grad, np.diag([1.0, 1.0, 3.0]), atol=1e-14)
    _, tangent = cr.jvp(lambda t: la.eigh(t)[0], (DEGENERATE,), (np.eye(3),))
    np.testing.assert_allclose(tangent, np.ones(3), atol=1e-14)


def test_eigenvectors_of_a_degenerate_matrix_refuse() -> None:
    t = cr.tensor(DEGENERATE, requires_grad=True)
    with pytest.raises(ValueError, match=r"eigh: the eigenvectors are not unique.*eigvalsh"):
        (la.eigh(t)[1][:, 0] * np.array([1.0, 2.0, 3.0])).sum().backward()
    (la.eigh(t)[1] ** 2).sum().backward()  # sum V^2 = 3 whatever the basis: no error, zero
    np.testing.assert_array_equal(t.grad, np.zeros((3, 3)))
    _, tangent = cr.jvp(lambda t: la.eigh(t)[1], (DEGENERATE,), (np.ones((3, 3)),))
    assert np.all(np.isnan(tangent[:, :2])) and np.all(np.isfinite(tangent[:, 2]))
    apart = cr.tensor(np.diag([1.0, 1.0 + 1e-6, 2.0]), requires_grad=True)  # near, not tied
    (la.eigh(apart)[1] ** 2).sum().backward()
    assert np.all(np.isfinite(apart.grad))


def test_singular_vectors_of_a_degenerate_matrix_refuse() -> None:
    t = cr.tensor(np.eye(3)[:, :2] * 2.0, requires_grad=True)  # singular values 2, 2
    la.svd(t, full_matrices=False)[1].sum().backward()
    np.testing.assert_allclose(t.grad, np.eye(3)[:, :2], atol=1e-14)
    with pytest.raises(ValueError, match=r"svd: the singular vectors are not unique.*svdvals"):
        (la.svd(t, full_matrices=False)[0][:, 0] * np.arange(3.0)).sum().backward()


def test_rank_deficient_tall_matrix_differentiates_what_is_unique() -> None:
    """Singular values s, 0 of a 4 x 2 matrix: s and its vectors u_0, v_0 are unique (and
    differentiable); u_1, the vector of the zero value, is not."""
    x = np.outer(np.arange(1.0, 5.0), [1.0, 2.0])
    t, u = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    la.svd(t, full_matrices=False)[1][0].backward()
    la.svdvals(u)[0].backward()
    np.testing.assert_allclose(t.grad, u.grad, atol=1e-14)
    np.testing.assert_allclose(t.grad, x / np.linalg.norm(x), atol=1e-14)  # d s_max = u v^T

    def first_vector(m):
        return (la.svd(m, full_matrices=False)[0][:, 0] ** 2 * np.arange(4.0)).sum()

    grad = cr.grad(first_vector)(x)
    h, fd = 1e-6, np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        fd[i] = (first_vector(x + e) - first_vector(x - e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-7)
    with pytest.raises(ValueError, match=r"svd: the singular vectors are not unique"):
        (la.svd(t, full_matrices=False)[0][:, 1] ** 2 * np.arange(4.0)).sum().backward()


def test_eigenvectors_outside_a_tie_differentiate() -> None:
    t = cr.tensor(DEGENERATE, requires_grad=True)
    (la.eigh(t)[1][:, 2] * np.array([1.0, 2.0, 3.0])).sum().backward()  # w = 2, not tied
    assert np.all(np.isfinite(t.grad))


# ----- errors -------------------------------------------------------------------------------
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.mark.parametrize("call, error, message", [
    (lambda: la.inv(cr.tensor(SINGULAR)), np.linalg.LinAlgError, r"inv: .*\(2, 2\)"),
    (lambda: np.linalg.inv(cr.tensor(SINGULAR, requires_grad=True)), np.linalg.LinAlgError,
     r"inv: Singular matrix"),
    (lambda: la.solve(SINGULAR, np.ones(2)), np.linalg.LinAlgError, r"solve: .*\(2, 2\)"),
    (lambda: la.cholesky(cr.tensor(-np.eye(3))), np.linalg.LinAlgError,
     r"cholesky: .*positive definite.*\(3, 3\)"),
    (lambda: la.inv(cr.tensor(np.ones((2, 3)))), ValueError, r"inv: .*square.*\(2, 3\)"),
    (lambda: la.det(np.ones(3)), ValueError, r"det: .*square.*\(3,\)"),
    (lambda: la.solve(A, np.ones(4)), ValueError, r"solve: a of shape \(3, 3\) and b of shape"),
    (lambda: la.solve(STACK, np.ones((3, 3, 2))), ValueError, r"solve: .*batch dimensions"),
    (lambda: la.lstsq(STACK, np.ones(3)), ValueError, r"lstsq: a of shape \(2, 3, 3\)"),
    (lambda: la.matrix_power(A, 1.5), TypeError, r"matrix_power: .*integer"),
    (lambda: la.multi_dot([A]), ValueError, r"multi_dot: .*two"),
    (lambda: la.eigh(A, UPLO="X"), ValueError, r"eigh: UPLO"),
    (lambda: la.svd(cr.tensor(TALL)), ValueError, r"svd: full_matrices=True .*\(4, 2\)"),
    (lambda: la.pinv(A, hermitian=True), NotImplementedError, r"pinv: hermitian"),
    (lambda: la.qr(A, mode="raw"), NotImplementedError, r"qr: mode='raw'"),
])
def test_errors_name_the_function_and_the_shapes(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_derivatives_where_they_do_not_exist_raise() -> None:
    t = cr.tensor(SINGULAR, requires_grad=True)
    out = la.det(t)
    assert out.item() == 0.0
    with pytest.raises(np.linalg.LinAlgError, match=r"det: the derivative .*singular"):
        out.backward()
    wide = cr.tensor(TALL.T, requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"qr: .*wide \(2, 4\)"):
        la.qr(wide)[1].sum().backward()
