"""Inverses and solves: inv, solve, det, slogdet, matrix_power, multi_dot, pinv, lstsq.

Each works on a matrix or a stack of them (leading axes), as ``np.linalg`` does (``lstsq``,
like NumPy's, on one matrix). The rules are written with ``matmul``, ``solve`` and ``inv``
themselves, so they can be differentiated again.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from chainrule import backend
from chainrule.batching import loop, per_example
from chainrule.jit.checks import known
from chainrule.ops.batch_rules import batch_size, matrix_stack
from chainrule.ops.elementwise import mul, sub
from chainrule.ops.linalg import matmul, trace
from chainrule.ops.reduce import sum
from chainrule.ops.shape import reshape, squeeze, unsqueeze
from chainrule.primitive import primitive
from chainrule.tensor import Tensor

__all__ = ["det", "inv", "lstsq", "matrix_power", "multi_dot", "pinv", "slogdet", "solve"]


# ----- shared by the linalg modules ---------------------------------------------------
def value(x: Any) -> np.ndarray:
    """The array behind ``x``, for checks that are not differentiated (ties, zero cotangents)."""
    return x.data if isinstance(x, Tensor) else backend.as_array(x)


def check_square(name: str, a: Any) -> None:
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a stack of them in the last two "
                         f"axes), got shape {shape}")


def check_matrix(name: str, a: Any) -> None:
    if np.ndim(a) < 2:
        raise ValueError(f"{name}: expected a matrix (or a stack of them), got shape "
                         f"{np.shape(a)}")


def lapack(name: str, fn: Any, a: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(a, ...)`` with NumPy's LinAlgError (a singular matrix, no convergence) naming the
    function and the input's shape."""
    try:
        return fn(a, *args, **kwargs)
    except np.linalg.LinAlgError as e:
        raise np.linalg.LinAlgError(f"{name}: {e} (input of shape {np.shape(a)})") from None


def in_rule(name: str, why: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` inside a rule, where a singular matrix means the derivative of ``name``
    does not exist (or is not supported) at this point: said so, not NumPy's bare message."""
    try:
        return fn(*args)
    except np.linalg.LinAlgError:
        shape = np.shape(args[0])
        raise np.linalg.LinAlgError(f"{name}: the derivative is not defined here: {why} "
                                    f"(matrix of shape {shape})") from None


def eye_minus(p: Any) -> Any:
    """I - p for a square p (or a stack of them)."""
    return backend.eye(p.shape[-1], p.dtype, like=p) - p


def zero_vjp(g: Any, ans: Any, a: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    return backend.zeros(a.shape, a.dtype, like=a)


def zero_jvp(t: Any, ans: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    return backend.zeros(ans.shape, ans.dtype, like=ans)


# ----- inv, solve ----------------------------------------------------------------------
@primitive
def inv(a):
    """A^-1 of a square matrix (or a stack of them). A singular matrix is a LinAlgError."""
    check_square("inv", a)
    return lapack("inv", np.linalg.inv, a)


inv.defvjp(lambda g, ans, a: -matmul(matmul(ans.mT, g), ans.mT))   # d A^-1 = -A^-1 dA A^-1
inv.defjvp(lambda t, ans, a: -matmul(matmul(ans, t), ans))


@primitive
def solve(a, b):
    """x with A x = b. As in NumPy 2, a 1-D b is one vector (broadcast against a stack of
    A); otherwise b is a matrix (..., M, K) whose leading axes broadcast with A's."""
    check_square("solve", a)
    sa, sb = np.shape(a), np.shape(b)
    rows = sb[0] if len(sb) == 1 else (sb[-2] if len(sb) >= 2 else None)
    if rows != sa[-1]:
        raise ValueError(f"solve: a of shape {sa} and b of shape {sb}: b must be a vector of "
                         f"{sa[-1]} entries or a matrix with {sa[-1]} rows")
    try:
        return lapack("solve", np.linalg.solve, a, b)
    except np.linalg.LinAlgError:  # a ValueError too: a singular matrix, named by lapack
        raise
    except ValueError:
        raise ValueError(f"solve: a of shape {sa} and b of shape {sb}: batch dimensions "
                         f"{sa[:-2]} and {sb[:-2]} do not broadcast") from None


def _columns(x, vector: bool):
    """A vector right-hand side (or its cotangent) as a one-column matrix."""
    return unsqueeze(x, -1) if vector else x


def _solve_vjp_b(g, ans, a, b):
    v = b.ndim == 1                                       # x = A^-1 b: b_bar = A^-T x_bar
    gb = solve(a.mT, _columns(g, v))
    return squeeze(gb, -1) if v else gb


def _solve_vjp_a(g, ans, a, b):
    v = b.ndim == 1                                       # d x = -A^-1 dA x: A_bar = -b_bar x^T
    return -matmul(solve(a.mT, _columns(g, v)), _columns(ans, v).mT)


def _solve_jvp_a(t, ans, a, b):
    v = b.ndim == 1
    dx = -solve(a, matmul(t, _columns(ans, v)))
    return squeeze(dx, -1) if v else dx


solve.defvjp(_solve_vjp_a, _solve_vjp_b)                  # d x = A^-1 (db - dA x)
solve.defjvp(_solve_jvp_a, lambda t, ans, a, b: solve(a, t))


# ----- det, slogdet ----------------------------------------------------------------------
def _inverse_transposed(name: str, a):
    return in_rule(name, "the matrix is singular", inv, a).mT


def _as_matrices(x):
    return unsqueeze(unsqueeze(x, -1), -1)


@primitive
def det(a):
    """det A of a square matrix (or a stack of them). Its gradient det(A) A^-T is taken
    where A is invertible; at a singular A (where it is the adjugate) it is a LinAlgError."""
    check_square("det", a)
    return lapack("det", np.linalg.det, a)


# d det A = det A tr(A^-1 dA)
det.defvjp(lambda g, ans, a: _as_matrices(g * ans) * _inverse_transposed("det", a))
det.defjvp(lambda t, ans, a: ans * trace(in_rule("det", "the matrix is singular", solve, a, t),
                                         0, -2, -1))


class SlogdetResult(NamedTuple):
    """``slogdet``'s answer, as NumPy's: det A = sign * exp(logabsdet)."""

    sign: Any
    logabsdet: Any


@primitive
def _logabsdet(a):
    return lapack("slogdet", np.linalg.slogdet, a)[1]


@primitive
def _det_sign(a):
    return lapack("slogdet", np.linalg.slogdet, a)[0]


_logabsdet.name = _det_sign.name = "slogdet"
# d log|det A| = tr(A^-1 dA)
_logabsdet.defvjp(lambda g, ans, a: _as_matrices(g) * _inverse_transposed("slogdet", a))
_logabsdet.defjvp(lambda t, ans, a: trace(in_rule("slogdet", "the matrix is singular", solve,
                                                  a, t), 0, -2, -1))
_det_sign.defvjp(zero_vjp)                                 # the sign is piecewise constant
_det_sign.defjvp(zero_jvp)


def slogdet(a) -> SlogdetResult:
    """(sign, log|det A|), as ``np.linalg.slogdet``; stable where det over- or underflows.
    ``logabsdet`` is differentiable (d log|det A| = tr(A^-1 dA)); ``sign`` has derivative 0."""
    check_square("slogdet", a)
    return SlogdetResult(_det_sign(a), _logabsdet(a))


# ----- matrix_power, multi_dot -------------------------------------------------------------
@primitive
def _identity_like(a):
    eye = backend.eye(a.shape[-1], np.result_type(a, 1.0), like=a)
    return np.broadcast_to(eye, a.shape).copy()


_identity_like.name = "matrix_power"
_identity_like.defvjp(zero_vjp)                            # A^0 = I does not depend on A
_identity_like.defjvp(zero_jvp)


def matrix_power(a, n: int):
    """A^n for an integer n, by repeated squaring (matmul); n < 0 is (A^-1)^|n|, n = 0 the
    identity. Differentiable through matmul and inv."""
    check_square("matrix_power", a)
    if not isinstance(n, int | np.integer) or isinstance(n, bool):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}")
    if n == 0:
        return _identity_like(a)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while True:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if not n:
            return result
        a = matmul(a, a)


def multi_dot(arrays) -> Any:
    """A_1 A_2 ... A_k, as ``np.linalg.multi_dot``: the first array may be a vector (a row),
    the last a vector (a column), the others 2-D. Multiplied left to right (NumPy picks the
    cheapest order; the value agrees to rounding)."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: expected at least two arrays, got {len(arrays)}")
    ndims = [np.ndim(x) for x in arrays]
    inner_ok = all(d == 2 for d in ndims[1:-1])
    if not (inner_ok and ndims[0] in (1, 2) and ndims[-1] in (1, 2)):
        raise ValueError(f"multi_dot: shapes {[np.shape(x) for x in arrays]}: the arrays must "
                         "be 2-D (the first and the last may be 1-D)")
    return functools.reduce(matmul, arrays)


# ----- pinv, lstsq -------------------------------------------------------------------------
def _pinv_vjp(g, x, a):
    """The cotangent of A through X = A^+ (Golub & Pereyra 1973, A of locally constant rank):
    dX = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X, so
    A_bar = -X^T G X^T + (I - A X) G^T X X^T + X^T X G^T (I - X A)."""
    xt, gt = x.mT, g.mT
    return (-matmul(matmul(xt, g), xt)
            + matmul(matmul(eye_minus(matmul(a, x)), gt), matmul(x, xt))
            + matmul(matmul(xt, x), matmul(gt, eye_minus(matmul(x, a)))))


def _pinv_jvp(t, x, a):
    tt = t.mT
    return (-matmul(matmul(x, t), x)
            + matmul(matmul(x, x.mT), matmul(tt, eye_minus(matmul(a, x))))
            + matmul(matmul(eye_minus(matmul(x, a)), tt), matmul(x.mT, x)))


@primitive
def _pinv(a, rcond=None, rtol=None):
    kw = {} if rtol is None else {"rtol": rtol}
    return lapack("pinv", np.linalg.pinv, a, rcond, **kw)


_pinv.name = "pinv"
_pinv.defvjp(lambda g, ans, a, rcond=None, rtol=None: _pinv_vjp(g, ans, a))
_pinv.defjvp(lambda t, ans, a, rcond=None, rtol=None: _pinv_jvp(t, ans, a))


def pinv(a, rcond: float | None = None, hermitian: bool = False, *,
         rtol: float | None = None) -> Any:
    """The Moore-Penrose pseudo-inverse A^+ (of a matrix or a stack), by NumPy's SVD.

    Domain of the derivative: A of full rank (full column rank when tall, full row rank
    when wide; more generally a rank that does not change near A). At a rank-deficient A
    the rank jumps under any perturbation, A^+ is not continuous, and the gradient given by
    the constant-rank formula is meaningless. ``rtol=None`` keeps NumPy's default cut-off.
    """
    check_matrix("pinv", a)
    if hermitian:
        raise NotImplementedError("pinv: hermitian=True is not supported (it reads only one "
                                  "triangle of A); use the default hermitian=False")
    return _pinv(a, rcond=rcond, rtol=rtol)


@primitive
def _lstsq_solution(a, b, rcond=None):
    return lapack("lstsq", np.linalg.lstsq, a, b, rcond)[0]


def _lstsq_vjp_a(g, ans, a, b, rcond=None):
    # x = A^+ b: dx = d(A^+) b + A^+ db, so A_bar is A^+'s cotangent for G = x_bar b^T
    gx = unsqueeze(g, -1) * unsqueeze(b, -2) if b.ndim == 1 else matmul(g, b.mT)
    return _pinv_vjp(gx, _pinv(a), a)


_lstsq_solution.name = "lstsq"
_lstsq_solution.defvjp(_lstsq_vjp_a, lambda g, ans, a, b, rcond=None: matmul(_pinv(a).mT, g))
_lstsq_solution.defjvp(lambda t, ans, a, b, rcond=None: matmul(_pinv_jvp(t, _pinv(a), a), b),
                       lambda t, ans, a, b, rcond=None: matmul(_pinv(a), t))


@primitive
def _lstsq_rank(a, b, rcond=None):
    """NumPy's rank of A in lstsq (an integer: no derivative); a primitive, so that
    chainrule.jit traces it."""
    return lapack("lstsq", np.linalg.lstsq, a, b, rcond)[2]


_lstsq_rank.name = "lstsq_rank"


def _rank_changed() -> ValueError:
    return ValueError("lstsq: under chainrule.jit, a tall A had full rank on one call and not "
                      "on another (or the reverse): NumPy gives the residuals only at full "
                      "rank, so their shape changes, and a traced program has fixed shapes; "
                      "call lstsq outside jit where A's rank may drop")


@per_example("a", "b")  # under vmap: the rank is read per example
def lstsq(a, b, rcond: float | None = None) -> tuple:
    """(x, residuals, rank, s) as ``np.linalg.lstsq``: x minimizes ||b - A x|| (the
    minimum-norm one when A is wide). A is one matrix (M, N); b has shape (M,) or (M, K).

    Differentiable: x (A of full rank, as for :func:`pinv`), residuals (the squared norms
    sum((b - A x)^2), given only when rank == N < M, as NumPy) and s (A's singular values, see
    ``svd``). ``rank`` is an integer. Under ``chainrule.jit`` the residuals of a tall A are
    there or not as at tracing: a replay where A's rank crosses full rank is a ValueError.
    """
    from chainrule.ops.linalg_decompose import svdvals  # decompose builds on this module

    sa, sb = np.shape(a), np.shape(b)
    if len(sa) != 2 or len(sb) not in (1, 2) or sb[0] != sa[0]:
        raise ValueError(f"lstsq: a of shape {sa} and b of shape {sb}: a must be 2-D (M, N) "
                         "and b of shape (M,) or (M, K)")
    x = _lstsq_solution(a, b, rcond=rcond)
    rank = _lstsq_rank(value(a), value(b), rcond=rcond)
    if sa[0] > sa[1] and known("lstsq-rank", rank == sa[1], _rank_changed):
        r = sub(b, matmul(a, x))
        residuals = sum(mul(r, r), axis=0)
        residuals = reshape(residuals, (1,)) if len(sb) == 1 else residuals
    else:
        residuals = backend.zeros((0,), np.result_type(value(x)), like=x)
    return x, residuals, rank, svdvals(a)


# ----- vmap: np.linalg maps over leading axes, so the batch axis is one more -----------------
def _solve_batch(flags, a, b):
    fa, fb = flags
    if a.ndim - fa < 2:
        raise ValueError(f"solve: expected a square matrix (or a stack of them), got shape "
                         f"{tuple(a.shape[fa:])}")
    vector = b.ndim - fb == 1
    b = unsqueeze(b, -1) if vector else b  # a vector right-hand side as a column
    lead = max(a.ndim - fa, b.ndim - fb) - 2  # the examples' stack axes, aligned
    a, b = (reshape(x, (x.shape[0],) + (1,) * (lead + 3 - x.ndim) + tuple(x.shape[1:])) if f
            else x for f, x in ((fa, a), (fb, b)))
    x = solve(a, b)
    return squeeze(x, -1) if vector else x


for _p in (inv, det, _logabsdet, _det_sign, _identity_like, _pinv):
    _p.defbatch(matrix_stack(_p))
solve.defbatch(_solve_batch)
# np.linalg.lstsq takes one matrix only: one call per example (no warning: it is the rule)
for _p in (_lstsq_solution, _lstsq_rank):
    _p.defbatch(lambda flags, *args, _p=_p, **kwargs: loop(
        _p, flags, list(args), kwargs, batch_size(flags, args), warn=False))

NUMPY = {
    np.linalg.inv: inv, np.linalg.solve: solve, np.linalg.det: det, np.linalg.slogdet: slogdet,
    np.linalg.matrix_power: matrix_power, np.linalg.multi_dot: multi_dot,
    np.linalg.pinv: pinv, np.linalg.lstsq: lstsq,
}
