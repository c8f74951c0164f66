"""Primitive-table rows for chainrule.ops: linalg_inverse, linalg_decompose (chainrule.linalg).

Names start with ``linalg.<function>``. Inputs are drawn where each function is smooth: the
drawn matrix keeps its singular vectors (or eigenvectors) and gets singular values (or
eigenvalues) spread at least 0.3 apart, so matrices are well conditioned, positive definite
where needed, and decompositions have distinct values. Eigenvectors and singular vectors are
compared through functions that do not depend on their signs (v * v, U diag(c) Vh), and
symmetric inputs are symmetrized inside the function, so PyTorch's symmetric gradient and
NumPy's one-triangle convention (see linalg_decompose) meet.
"""

from __future__ import annotations

import numpy as np
from case_strategies import array, shapes
from case_table import case
from hypothesis import strategies as st

import chainrule as cr
from chainrule import linalg as la

try:
    import torch
except ImportError:  # the finite-difference checks run without PyTorch
    torch = None


# ----- inputs -------------------------------------------------------------------------------
def _spread(values: np.ndarray, start: float) -> np.ndarray:
    """Values (..., k) replaced by start, start + 0.5, ... in the same order, jittered by
    less than 0.1: at least 0.3 apart."""
    ranks = np.argsort(np.argsort(values, axis=-1), axis=-1)
    return start + 0.5 * ranks + 0.1 * np.tanh(values)


def conditioned(x: np.ndarray) -> np.ndarray:
    """x with its singular values moved to 1, 1.5, 2, ...: full rank, distinct, well
    conditioned (the determinant keeps the sign of x's)."""
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return (u * _spread(s, 1.0)[..., None, :]) @ vh


def symmetric(x: np.ndarray, start: float) -> np.ndarray:
    """A symmetric matrix with x's eigenvectors and eigenvalues start, start + 0.5, ..."""
    w, v = np.linalg.eigh((x + x.swapaxes(-1, -2)) / 2)
    return (v * _spread(w, start)[..., None, :]) @ v.swapaxes(-1, -2)


def matrices(rows: int | None = None, cols: int | None = None, batch: bool = True,
             prepare=conditioned):
    """One matrix (a stack of them when ``batch``) of ``rows`` x ``cols`` (drawn when None)."""
    batches = shapes(max_dims=1, max_side=3) if batch else st.just(())
    sides = st.tuples(st.integers(1, 4) if rows is None else st.just(rows),
                      st.integers(1, 4) if cols is None else st.just(cols))
    return st.tuples(batches, sides).flatmap(
        lambda d: array((*d[0], *d[1]))).map(lambda x: (prepare(x),))


def square(batch: bool = True, prepare=conditioned):
    return st.integers(1, 4).flatmap(lambda n: matrices(n, n, batch, prepare))


def tall(batch: bool = True):
    """m >= n, full column rank."""
    return st.tuples(st.integers(1, 4), st.integers(0, 2)).flatmap(
        lambda d: matrices(d[0] + d[1], d[0], batch))


def wide(batch: bool = True):
    return tall(batch).map(lambda xs: (xs[0].swapaxes(-1, -2).copy(),))


SPD = square(prepare=lambda x: symmetric(x, 1.0))
SEPARATED = square(prepare=lambda x: symmetric(x, -1.0))


def with_rhs(a_strategy, rhs_shape):
    """(A, b) with b of ``rhs_shape(A.shape)``."""
    return a_strategy.flatmap(lambda xs: st.tuples(st.just(xs[0]), array(rhs_shape(xs[0].shape))))


def sym(x):
    return (x + x.mT) / 2


def _c(n: int, like) -> object:
    """Fixed distinct weights 1, 2, ..., n for sign-invariant combinations of vectors."""
    c = np.arange(1.0, n + 1)
    if isinstance(like, cr.Tensor):  # on like's device (the GPU stand-in of test_device_table)
        return cr.backend.asarray_like(c, like, like.dtype)
    return torch.from_numpy(c).to(like.dtype) if torch is not None and isinstance(
        like, torch.Tensor) else c.astype(like.dtype)


# PyTorch's forward-mode rules for det, slogdet, solve and eigh are not differentiable again
# (its reverse-over-forward derivatives disagree with finite differences, where chainrule's
# agree), so their references go through inv, LU and the SVD, whose rules are.
def _torch_solve(a, b):
    return (torch.linalg.inv(a) @ b[..., None])[..., 0] if b.ndim == 1 else torch.linalg.inv(a) @ b


def _torch_lu_diagonal(x):
    p, _, u = torch.linalg.lu(x)
    return torch.linalg.det(p), torch.diagonal(u, 0, -2, -1)


def _torch_det(x):
    sign, d = _torch_lu_diagonal(x)
    return sign * d.prod(-1)


def _torch_logabsdet(x):
    return torch.log(torch.abs(_torch_lu_diagonal(x)[1])).sum(-1)


def _torch_eigh(x):
    """(w ascending, V) from the SVD of the positive definite x + 2I (SEPARATED's eigenvalues
    exceed -1.2)."""
    u, s, _ = torch.linalg.svd(x + 2 * torch.eye(x.shape[-1], dtype=x.dtype))
    return s.flip(-1) - 2, u.flip(-1)


# ----- inverses and solves -------------------------------------------------------------------
case("linalg.inv", la.inv, lambda x: torch.linalg.inv(x), square())
case("linalg.inv[np dispatch]", lambda x: np.linalg.inv(x), lambda x: torch.linalg.inv(x),
     square(batch=False))
case("linalg.solve[vector b]", la.solve, _torch_solve,
     with_rhs(square(batch=False), lambda s: s[-1:]))
case("linalg.solve[vector b, batched a]", la.solve, _torch_solve,
     with_rhs(square(), lambda s: s[-1:]))
case("linalg.solve[matrix b]", la.solve, _torch_solve,
     with_rhs(square(), lambda s: (*s[:-1], 2)))
case("linalg.solve[b broadcasts]", la.solve, _torch_solve,
     with_rhs(square(batch=False), lambda s: (2, s[-1], 3)))
case("linalg.det", la.det, _torch_det, square())
case("linalg.slogdet[logabsdet]", lambda x: la.slogdet(x).logabsdet, _torch_logabsdet,
     square())
case("linalg.slogdet[sign * exp]", lambda x: la.slogdet(x)[0] * cr.exp(la.slogdet(x)[1]),
     _torch_det, square())
for _n in (3, 1, -1, -2):
    case(f"linalg.matrix_power[{_n}]", lambda x, n=_n: la.matrix_power(x, n),
         lambda x, n=_n: torch.linalg.matrix_power(x, n), square())
case("linalg.multi_dot", lambda a, b, c: la.multi_dot([a, b, c]),
     lambda a, b, c: torch.linalg.multi_dot([a, b, c]),
     st.tuples(*[st.integers(1, 4)] * 3).flatmap(
         lambda d: st.tuples(array(d[:1]), array(d[:2]), array(d[1:]))))
case("linalg.pinv[tall]", la.pinv, lambda x: torch.linalg.pinv(x), tall())
case("linalg.pinv[wide]", la.pinv, lambda x: torch.linalg.pinv(x), wide())
case("linalg.lstsq[x]", lambda a, b: la.lstsq(a, b)[0],
     lambda a, b: torch.linalg.pinv(a) @ b, with_rhs(tall(batch=False), lambda s: s[:1]))
case("linalg.lstsq[x, matrix b, wide]", lambda a, b: la.lstsq(a, b)[0],
     lambda a, b: torch.linalg.pinv(a) @ b, with_rhs(wide(batch=False), lambda s: (s[0], 2)))
case("linalg.lstsq[residuals]", lambda a, b: la.lstsq(a, b)[1],
     lambda a, b: ((a @ (torch.linalg.pinv(a) @ b) - b) ** 2).sum(0),
     with_rhs(matrices(4, 2, batch=False), lambda s: (s[0], 3)))
case("linalg.lstsq[s]", lambda a, b: la.lstsq(a, b)[3],
     lambda a, b: torch.linalg.svdvals(a), with_rhs(tall(batch=False), lambda s: s[:1]))


# ----- decompositions --------------------------------------------------------------------------
def _torch_lower(x):
    """The symmetric matrix NumPy reads from x's lower triangle."""
    return torch.tril(x) + torch.tril(x, -1).mT


case("linalg.cholesky", lambda x: la.cholesky(sym(x)), lambda x: torch.linalg.cholesky(sym(x)),
     SPD)
case("linalg.cholesky[upper]", lambda x: la.cholesky(sym(x), upper=True),
     lambda x: torch.linalg.cholesky(sym(x), upper=True), SPD)
case("linalg.cholesky[reads lower triangle]", la.cholesky,
     lambda x: torch.linalg.cholesky(_torch_lower(x)), SPD)
case("linalg.eigh[values]", lambda x: la.eigh(sym(x)).eigenvalues,
     lambda x: _torch_eigh(sym(x))[0], SEPARATED)
case("linalg.eigh[vectors v*v]", lambda x: la.eigh(sym(x)).eigenvectors ** 2,
     lambda x: _torch_eigh(sym(x))[1] ** 2, SEPARATED)
case("linalg.eigh[V diag(c) V^T, UPLO=U]",
     lambda x: (lambda v: (v * _c(v.shape[-1], v)) @ v.mT)(la.eigh(x, "U")[1]),
     lambda x: (lambda v: (v * _c(v.shape[-1], v)) @ v.mT)(
         _torch_eigh(torch.triu(x) + torch.triu(x, 1).mT)[1]), SEPARATED)
case("linalg.eigvalsh", lambda x: la.eigvalsh(sym(x)),
     lambda x: torch.linalg.eigvalsh(sym(x)), SEPARATED)
case("linalg.eigvalsh[reads lower triangle]", la.eigvalsh,
     lambda x: torch.linalg.eigvalsh(_torch_lower(x)), SEPARATED)
for _name, _shape in [("", square()), (",tall", tall()), (",wide", wide())]:
    case(f"linalg.svd[S{_name}]", lambda x: la.svd(x, full_matrices=False)[1],
         lambda x: torch.linalg.svdvals(x), _shape)
    case(f"linalg.svd[U*U{_name}]", lambda x: la.svd(x, full_matrices=False)[0] ** 2,
         lambda x: torch.linalg.svd(x, full_matrices=False)[0] ** 2, _shape)
    case(f"linalg.svd[Vh*Vh{_name}]", lambda x: la.svd(x, full_matrices=False)[2] ** 2,
         lambda x: torch.linalg.svd(x, full_matrices=False)[2] ** 2, _shape)
    case(f"linalg.svd[U diag(c) Vh{_name}]",
         lambda x: (lambda u, s, vh: (u * _c(s.shape[-1], s)) @ vh)(
             *la.svd(x, full_matrices=False)),
         lambda x: (lambda u, s, vh: (u * _c(s.shape[-1], s)) @ vh)(
             *torch.linalg.svd(x, full_matrices=False)), _shape)
case("linalg.svd[compute_uv=False]", lambda x: la.svd(x, compute_uv=False),
     lambda x: torch.linalg.svdvals(x), square())
case("linalg.svdvals", la.svdvals, lambda x: torch.linalg.svdvals(x), tall())


def _qr_fixed_signs(q, r):
    """Q and R with R's diagonal made positive: the unique QR of a full-rank matrix."""
    d = r.diagonal(0, -2, -1)
    signs = cr.sign(d) if isinstance(d, cr.Tensor) else torch.sign(d)
    return q * signs[..., None, :], r * signs[..., :, None]


for _name, _shape in [("", square()), (",tall", tall())]:
    case(f"linalg.qr[Q{_name}]", lambda x: _qr_fixed_signs(*la.qr(x))[0],
         lambda x: _qr_fixed_signs(*torch.linalg.qr(x))[0], _shape)
    case(f"linalg.qr[R{_name}]", lambda x: _qr_fixed_signs(*la.qr(x))[1],
         lambda x: _qr_fixed_signs(*torch.linalg.qr(x))[1], _shape)
case("linalg.cond", la.cond, lambda x: torch.linalg.cond(x), square())
case("linalg.cond[fro]", lambda x: la.cond(x, "fro"),
     lambda x: torch.linalg.matrix_norm(x) * torch.linalg.matrix_norm(torch.linalg.inv(x)),
     square())
case("linalg.norm[fro of a stack]", lambda x: la.norm(x, axis=(-2, -1)),
     lambda x: torch.linalg.matrix_norm(x), square())
