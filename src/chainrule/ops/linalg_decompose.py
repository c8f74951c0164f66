"""Decompositions: cholesky, eigh, eigvalsh, svd, svdvals, qr, and the queries built on
them (cond, matrix_rank). Each works on a matrix or a stack of them (leading axes).

A primitive has one output, and a decomposition several: the factors travel packed in one
array (eigh: the eigenvalues as a first row above the eigenvectors), which the public
function unpacks by slicing. Slicing is differentiable, so each factor's cotangent reaches
the one rule, which sees every factor in ``ans`` (an unused factor's cotangent is zero).

Symmetric inputs (cholesky, eigh, eigvalsh): NumPy reads one triangle of A (the lower one
unless ``UPLO='U'`` / ``upper=True``) and ignores the other. chainrule differentiates exactly
that function, so the gradient lies on the triangle read, each off-diagonal entry carrying
what PyTorch spreads over two (PyTorch returns the symmetric part). The two agree on any
function of a symmetric matrix built from other values (``B @ B.T``, ``(X + X.T) / 2``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule import backend
from chainrule.batching import per_example
from chainrule.jit.checks import check
from chainrule.ops.batch_rules import matrix_stack
from chainrule.ops.elementwise import where
from chainrule.ops.indexing import concatenate
from chainrule.ops.linalg import diagonal, matmul, norm
from chainrule.ops.linalg_inverse import (
    check_matrix,
    check_square,
    in_rule,
    inv,
    lapack,
    solve,
    value,
)
from chainrule.ops.reduce import sum
from chainrule.ops.shape import unsqueeze
from chainrule.primitive import primitive

__all__ = ["cholesky", "cond", "eigh", "eigvalsh", "matrix_rank", "qr", "svd", "svdvals"]


# ----- triangles ---------------------------------------------------------------------------
def _symmetric_from(t, lower: bool):
    """The symmetric matrix NumPy reads from t: its lower (or upper) triangle mirrored."""
    keep, mirror = _triangles(t, lower)
    return t * keep + (t * mirror).mT


def _onto_triangle(s, lower: bool):
    """The adjoint of :func:`_symmetric_from`: a cotangent S of the symmetric matrix, as the
    cotangent of the triangle read (S_ij + S_ji below the diagonal, S_ii on it)."""
    keep, mirror = _triangles(s, lower)
    return s * keep + s.mT * mirror


def _triangles(x, lower: bool) -> tuple[np.ndarray, np.ndarray]:
    """Masks (of x's dtype): the triangle read, diagonal included, and its strict part."""
    n = x.shape[-1]
    tri = backend.array_namespace(x).tri  # masks on x's device
    keep, strict = tri(n, dtype=x.dtype), tri(n, k=-1, dtype=x.dtype)
    return (keep, strict) if lower else (keep.T, strict.T)


def _ties(x) -> np.ndarray:
    """Pairs (i, j), i != j, of entries of x (..., n) equal to rounding: the spectrum is
    degenerate there and the vectors are not unique."""
    x = value(x)
    n = x.shape[-1]
    if n == 0:
        return backend.eye(0, bool, like=x)
    tol = 8 * n * np.finfo(x.dtype).eps * np.max(np.abs(x), axis=-1)
    close = np.abs(x[..., :, None] - x[..., None, :]) <= tol[..., None, None]
    return close & ~backend.eye(n, bool, like=x)


def _gaps(x, ties: np.ndarray, fill: float):
    """F with F_ij = 1 / (x_j - x_i) for i != j, 0 on the diagonal, ``fill`` on ties."""
    apart = ~(ties | backend.eye(x.shape[-1], bool, like=x))
    f = where(apart, 1.0 / where(apart, unsqueeze(x, -2) - unsqueeze(x, -1), 1.0), 0.0)
    return where(ties, fill, f) if fill else f


def _asymmetric(x) -> np.ndarray:
    """Where x_ij != x_ji (exactly): F o x meets a tie only through x's antisymmetric part."""
    xv = value(x)
    return xv != np.swapaxes(xv, -1, -2)


def _refuse(name: str, refuse: np.ndarray) -> None:
    """A clear error where a cotangent moves vectors that are not unique (repeated values);
    under chainrule.jit, tested again at every replay (a check line)."""
    check(f"{name}-degenerate", refuse, lambda: ValueError(
        f"{name}: the {'eigen' if name == 'eigh' else 'singular '}vectors are not unique "
        "at this matrix (repeated values), so their derivative is not defined; "
        f"differentiate the values alone ({'eigvalsh' if name == 'eigh' else 'svdvals'}), "
        "a function that uses only the other vectors, or move the matrix off the "
        "degeneracy"))


# ----- cholesky ------------------------------------------------------------------------------
def _phi(x):
    """The lower triangle of x with its diagonal halved."""
    n = x.shape[-1]
    tri = backend.array_namespace(x).tri
    return x * (tri(n, k=-1, dtype=x.dtype) + 0.5 * backend.eye(n, x.dtype, like=x))


@primitive
def _cholesky(a, upper=False):
    check_square("cholesky", a)
    return lapack("cholesky", np.linalg.cholesky, a, upper=upper)


def _cholesky_vjp(g, ans, a, upper=False):
    # A = L L^T: dL = L Phi(L^-1 dA L^-T) (Murray 2016), so
    # A_bar = L^-T Phi(L^T L_bar) L^-1, on the triangle read
    low, gl = (ans.mT, g.mT) if upper else (ans, g)
    p = _phi(matmul(low.mT, gl))
    s = solve(low.mT, solve(low.mT, p).mT).mT
    return _onto_triangle(s, not upper)


def _cholesky_jvp(t, ans, a, upper=False):
    low = ans.mT if upper else ans
    da = _symmetric_from(t, not upper)
    dl = matmul(low, _phi(solve(low, solve(low, da).mT)))  # L^-1 dA L^-T (dA symmetric)
    return dl.mT if upper else dl


_cholesky.name = "cholesky"
_cholesky.defvjp(_cholesky_vjp)
_cholesky.defjvp(_cholesky_jvp)


def cholesky(a, upper: bool = False):
    """The Cholesky factor L (lower; U = L^T with ``upper=True``) of a symmetric positive
    definite matrix, A = L L^T. Reads one triangle of A (see the module's note). A matrix that
    is not positive definite is a LinAlgError."""
    return _cholesky(a, upper=upper)


# ----- eigh, eigvalsh -----------------------------------------------------------------------
class EighResult(NamedTuple):
    """``eigh``'s answer, as NumPy's: A = V diag(w) V^T, eigenvalues ascending."""

    eigenvalues: Any
    eigenvectors: Any


def _check_uplo(name: str, uplo: str) -> bool:
    if uplo not in ("L", "U"):
        raise ValueError(f"{name}: UPLO must be 'L' or 'U', got {uplo!r}")
    return uplo == "L"


@primitive
def _eigh(a, UPLO="L"):  # noqa: N803  (NumPy's name)
    check_square("eigh", a)
    w, v = lapack("eigh", np.linalg.eigh, a, UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)


@per_example("g", "ans", "a")  # vmap: the tie checks read values
def _eigh_vjp(g, ans, a, UPLO="L"):  # noqa: N803
    # A = V diag(w) V^T: dw = diag(V^T dA V), dV = V (F o V^T dA V), F_ij = 1 / (w_j - w_i),
    # so A_bar = V (diag(w_bar) + F o V^T V_bar) V^T, on the triangle read
    w, v, gw, gv = ans[..., 0, :], ans[..., 1:, :], g[..., 0, :], g[..., 1:, :]
    ties, vgv = _ties(w), matmul(v.mT, gv)
    _refuse("eigh", ties & _asymmetric(vgv))
    eye = backend.eye(w.shape[-1], w.dtype, like=w)
    inner = vgv * _gaps(w, ties, 0.0) + unsqueeze(gw, -2) * eye
    return _onto_triangle(matmul(matmul(v, inner), v.mT), UPLO == "L")


@per_example("t", "ans", "a")  # vmap: the tie checks read values
def _eigh_jvp(t, ans, a, UPLO="L"):  # noqa: N803
    w, v = ans[..., 0, :], ans[..., 1:, :]
    k = matmul(matmul(v.mT, _symmetric_from(t, UPLO == "L")), v)
    dv = matmul(v, k * _gaps(w, _ties(w), np.nan))  # NaN: the vectors' tangent at a tie
    return concatenate([unsqueeze(diagonal(k, 0, -2, -1), -2), dv], axis=-2)


_eigh.name = "eigh"
_eigh.defvjp(_eigh_vjp)
_eigh.defjvp(_eigh_jvp)


def eigh(a, UPLO: str = "L") -> EighResult:  # noqa: N803
    """(eigenvalues w ascending, eigenvectors V as columns) of a symmetric matrix, reading
    its lower (``UPLO='L'``) or upper triangle (see the module's note).

    Domain: the eigenvalues are differentiable everywhere (where they tie, the rule returns
    one valid gradient). An eigenvector is unique (up to sign) only where its eigenvalue is
    not repeated: a cotangent of V that would turn vectors within a repeated eigenvalue's
    space (values equal to rounding) is a ValueError in reverse mode; one that uses only
    the other vectors, or does not depend on the basis chosen (``sum(V**2)``), is not. In
    forward mode the tangent of such vectors is NaN. Near-ties give large but correct
    derivatives (1/gap).
    """
    _check_uplo("eigh", UPLO)
    packed = _eigh(a, UPLO=UPLO)
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


@primitive
def eigvalsh(a, UPLO="L"):  # noqa: N803
    """The eigenvalues (ascending) of a symmetric matrix, reading one triangle (as ``eigh``).
    Differentiable everywhere the eigenvalues are distinct, and one valid gradient at ties."""
    check_square("eigvalsh", a)
    _check_uplo("eigvalsh", UPLO)
    return lapack("eigvalsh", np.linalg.eigvalsh, a, UPLO)


def _eigvalsh_vjp(g, ans, a, UPLO="L"):  # noqa: N803
    v = eigh(a, UPLO).eigenvectors              # dw = diag(V^T dA V): A_bar = V diag(w_bar) V^T
    return _onto_triangle(matmul(v * unsqueeze(g, -2), v.mT), UPLO == "L")


def _eigvalsh_jvp(t, ans, a, UPLO="L"):  # noqa: N803
    v = eigh(a, UPLO).eigenvectors
    return sum(v * matmul(_symmetric_from(t, UPLO == "L"), v), axis=-2)


eigvalsh.defvjp(_eigvalsh_vjp, None)
eigvalsh.defjvp(_eigvalsh_jvp, None)


# ----- svd, svdvals ------------------------------------------------------------------------
class SVDResult(NamedTuple):
    """``svd``'s answer, as NumPy's: A = U diag(S) Vh, singular values descending."""

    U: Any
    S: Any
    Vh: Any


@primitive
def _svd(a):
    u, s, vh = lapack("svd", np.linalg.svd, a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], vh.mT], axis=-2)


def _svd_factors(packed, m: int):
    """U (..., m, k), s (..., k), V (..., n, k) from the packed array."""
    return packed[..., :m, :], packed[..., m, :], packed[..., m + 1:, :]


def _svd_degenerate(s, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ties of s, and zero singular values (which matter only for a non-square matrix,
    through the S^-1 terms below)."""
    sv = value(s)
    if sv.shape[-1] == 0:
        return _ties(s), sv > 0
    zero = sv <= 8 * max(m, n) * np.finfo(sv.dtype).eps * np.max(sv, axis=-1, keepdims=True)
    return _ties(s), zero


def _moved_columns(g) -> np.ndarray:
    return np.any(value(g) != 0, axis=-2)


def _inverse_row(s, zero: np.ndarray, fill: float):
    """1 / s as a row (X * row = X S^-1), ``fill`` where s is zero."""
    return unsqueeze(where(zero, fill, 1.0 / where(zero, 1.0, s)), -2)


@per_example("g", "ans", "a")  # vmap: the tie checks read values
def _svd_vjp(g, ans, a):
    # A = U S V^T (Townsend 2016), F_ij = 1 / (s_j^2 - s_i^2):
    # A_bar = U [diag(s_bar) + (F o (U^T U_bar - U_bar^T U)) S
    #            + S (F o (V^T V_bar - V_bar^T V))] V^T
    #         + (I - U U^T) U_bar S^-1 V^T + U S^-1 V_bar^T (I - V V^T)
    m, n = a.shape[-2:]
    u, s, v = _svd_factors(ans, m)
    gu, gs, gv = _svd_factors(g, m)
    k = s.shape[-1]
    ties, zero = _svd_degenerate(s, m, n)
    ugu, vgv = matmul(u.mT, gu), matmul(v.mT, gv)
    _refuse("svd", ties & (_asymmetric(ugu) | _asymmetric(vgv)))
    _refuse("svd", zero & ((m > k) & _moved_columns(gu) | (n > k) & _moved_columns(gv)))
    f = _gaps(s * s, ties, 0.0)
    row, col = unsqueeze(s, -2), unsqueeze(s, -1)  # X * row = X S, col * X = S X
    core = ((f * (ugu - ugu.mT)) * row + col * (f * (vgv - vgv.mT))
            + unsqueeze(gs, -2) * backend.eye(k, s.dtype, like=s))
    ga = matmul(matmul(u, core), v.mT)
    if m > k:
        ga = ga + matmul((gu - matmul(u, ugu)) * _inverse_row(s, zero, 0.0), v.mT)
    if n > k:
        ga = ga + matmul(u, ((gv - matmul(v, vgv)) * _inverse_row(s, zero, 0.0)).mT)
    return ga


@per_example("t", "ans", "a")  # vmap: the tie checks read values
def _svd_jvp(t, ans, a):
    # dP = U^T dA V: ds = diag(dP), dU = U (F o (dP S + S dP^T)) + (I - U U^T) dA V S^-1,
    # dV = V (F o (S dP + dP^T S)) + (I - V V^T) dA^T U S^-1
    m, n = a.shape[-2:]
    u, s, v = _svd_factors(ans, m)
    ties, zero = _svd_degenerate(s, m, n)
    f = _gaps(s * s, ties, np.nan)  # NaN: the vectors' tangent at a tie (or at a zero s)
    inverse = _inverse_row(s, zero, np.nan)
    row, col = unsqueeze(s, -2), unsqueeze(s, -1)
    dp = matmul(matmul(u.mT, t), v)
    du = matmul(u, f * (dp * row + col * dp.mT))
    dv = matmul(v, f * (col * dp + dp.mT * row))
    if m > s.shape[-1]:
        du = du + (matmul(t, v) - matmul(u, dp)) * inverse
    if n > s.shape[-1]:
        dv = dv + (matmul(t.mT, u) - matmul(v, dp.mT)) * inverse
    return concatenate([du, unsqueeze(diagonal(dp, 0, -2, -1), -2), dv], axis=-2)


_svd.name = "svd"
_svd.defvjp(_svd_vjp)
_svd.defjvp(_svd_jvp)


@primitive
def svdvals(a):
    """The singular values of A (descending), as ``np.linalg.svdvals``. Differentiable where
    they are distinct and non-zero (``|x|`` has a kink at 0); one valid gradient at ties."""
    check_matrix("svdvals", a)
    return lapack("svdvals", np.linalg.svd, a, compute_uv=False)


def _svdvals_factors(a):
    u, _, vh = svd(a, full_matrices=False)
    return u, vh


def _svdvals_vjp(g, ans, a):
    u, vh = _svdvals_factors(a)                  # ds = diag(U^T dA V): A_bar = U diag(s_bar) V^T
    return matmul(u * unsqueeze(g, -2), vh)


def _svdvals_jvp(t, ans, a):
    u, vh = _svdvals_factors(a)
    return sum(u * matmul(t, vh.mT), axis=-2)


svdvals.defvjp(_svdvals_vjp)
svdvals.defjvp(_svdvals_jvp)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """(U, S, Vh) with A = U diag(S) Vh, or S alone with ``compute_uv=False``.

    Domain: S as :func:`svdvals`. A pair of singular vectors is unique (up to a shared
    sign) where its singular value is not repeated, and, for a non-square A, not zero: a
    cotangent that moves vectors that are not unique is a ValueError in reverse mode (as in
    :func:`eigh`), and their tangent is NaN in forward mode. ``full_matrices=True`` (NumPy's
    default) is the same as False for a square A; for a non-square A its extra singular
    vectors are arbitrary, so it is refused (use ``full_matrices=False``).
    """
    check_matrix("svd", a)
    if hermitian:
        raise NotImplementedError("svd: hermitian=True is not supported; use the default")
    if not compute_uv:
        return svdvals(a)
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        raise ValueError(f"svd: full_matrices=True of a matrix of shape {np.shape(a)} is not "
                         "supported (the extra singular vectors are arbitrary, so not "
                         "differentiable); use full_matrices=False")
    u, s, v = _svd_factors(_svd(a), m)
    return SVDResult(u, s, v.mT)


# ----- qr --------------------------------------------------------------------------------------
class QRResult(NamedTuple):
    """``qr``'s answer, as NumPy's: A = Q R, Q with orthonormal columns, R upper triangular."""

    Q: Any
    R: Any


@primitive
def _qr(a):
    q, r = lapack("qr", np.linalg.qr, a)
    return np.concatenate([q, r.mT], axis=-2)


def _qr_factors(packed, m: int):
    return packed[..., :m, :], packed[..., m:, :].mT


def _qr_rank(m: int, n: int) -> None:
    if m < n:
        raise NotImplementedError(f"qr: the derivative of the QR decomposition of a wide "
                                  f"({m}, {n}) matrix is not supported (only M >= N)")


def _right_inverse(x, r):
    """x R^-1, for the upper triangular R of a full-rank A."""
    return in_rule("qr", "A is not of full column rank (R is singular)",
                   solve, r.mT, x.mT).mT


def _qr_vjp(g, ans, a):
    # A = QR, M = R R_bar^T - Q_bar^T Q: A_bar = (Q_bar + Q copyltu(M)) R^-T, where copyltu
    # mirrors M's lower triangle (Walter & Lehmann 2018; derived from dR R^-1 upper, Q^T dQ
    # antisymmetric)
    m, n = a.shape[-2:]
    _qr_rank(m, n)
    q, r = _qr_factors(ans, m)
    gq, gr = _qr_factors(g, m)
    mm = matmul(r, gr.mT) - matmul(gq.mT, q)
    return _right_inverse(gq + matmul(q, _symmetric_from(mm, True)), r.mT)


def _qr_jvp(t, ans, a):
    # C = Q^T dA R^-1 = Q^T dQ + dR R^-1 (antisymmetric + upper): with U(C) = C - tril(C, -1)
    # + tril(C, -1)^T, dR = U(C) R and dQ = dA R^-1 - Q U(C)
    m, n = a.shape[-2:]
    _qr_rank(m, n)
    q, r = _qr_factors(ans, m)
    dar = _right_inverse(t, r)
    c = matmul(q.mT, dar)
    below = c * np.tri(n, k=-1, dtype=c.dtype)
    upper = c - below + below.mT
    return concatenate([dar - matmul(q, upper), matmul(upper, r).mT], axis=-2)


_qr.name = "qr"
_qr.defvjp(_qr_vjp)
_qr.defjvp(_qr_jvp)


def qr(a, mode: str = "reduced"):
    """(Q, R) with A = Q R (``mode='reduced'``), or R alone (``mode='r'``); ``'complete'`` is
    the same for M <= N. Differentiable for M >= N (square or tall) and A of full column rank
    (R invertible); a wide A's derivative is a NotImplementedError."""
    check_matrix("qr", a)
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "r", "complete") or (mode == "complete" and m > n):
        raise NotImplementedError(f"qr: mode={mode!r} of a matrix of shape {np.shape(a)} is not "
                                  "supported; use mode='reduced' or 'r'")
    q, r = _qr_factors(_qr(a), m)
    return r if mode == "r" else QRResult(q, r)


# ----- queries ------------------------------------------------------------------------------------
def cond(x, p=None):
    """The condition number of x in the norm p (None or 2: s_max / s_min; -2: its inverse;
    'fro', 1, -1, inf, -inf: ``||x|| ||x^-1||``). Differentiable, as svdvals, norm and inv are."""
    check_matrix("cond", x)
    if p in (None, 2, -2):
        s = svdvals(x)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    check_square("cond", x)
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


def matrix_rank(A, tol=None, hermitian: bool = False, *, rtol=None):  # noqa: N803
    """The rank (an integer array, no derivative), as ``np.linalg.matrix_rank``."""
    return np.linalg.matrix_rank(value(A), tol, hermitian, rtol=rtol)


for _p in (_cholesky, _eigh, eigvalsh, _svd, svdvals, _qr):  # vmap: one more stack axis
    _p.defbatch(matrix_stack(_p))

NUMPY = {
    np.linalg.cholesky: cholesky, np.linalg.eigh: eigh, np.linalg.eigvalsh: eigvalsh,
    np.linalg.svd: svd, np.linalg.svdvals: svdvals, np.linalg.qr: qr, np.linalg.cond: cond,
    np.linalg.matrix_rank: matrix_rank,
}
