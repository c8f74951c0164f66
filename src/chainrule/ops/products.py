"""Products of arrays: tensordot, inner, vdot, kron, cross, convolve.

Each is composed of primitives that already carry their rules (transpose, reshape, matmul,
broadcasting multiplication, slicing), exactly as NumPy computes it, so each needs no rule
of its own and differentiates to every order in both arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from chainrule.ops.cumulative import as_array, check_axis
from chainrule.ops.elementwise import mul
from chainrule.ops.indexing import getitem, pad, stack
from chainrule.ops.linalg import matmul
from chainrule.ops.shape import reshape, transpose


def _permuted(x, order: Sequence[int]):
    """x with its axes in ``order`` (no work when that is the order they are in)."""
    order = tuple(order)
    return x if order == tuple(range(x.ndim)) else transpose(x, order)


def to_end(x, axis: int):
    """x with ``axis`` moved to the last place."""
    return _permuted(x, [i for i in range(x.ndim) if i != axis] + [axis])


def from_end(x, axis: int):
    """x with its last axis moved to ``axis`` (the inverse of :func:`to_end`)."""
    order = list(range(x.ndim - 1))
    order.insert(axis, x.ndim - 1)
    return _permuted(x, order)


# ----- tensordot, inner, vdot -------------------------------------------------------
def _contracted(axes, sa: tuple[int, ...], sb: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """The axes of a and of b that tensordot sums over, checked against the shapes."""
    na, nb = len(sa), len(sb)
    where = f"tensordot: shapes {sa} and {sb} with axes={axes!r}"
    pairs: tuple[list, ...]  # two lists of axes once checked
    if isinstance(axes, int | np.integer):
        if not 0 <= axes <= min(na, nb):
            raise ValueError(f"{where}: axes must lie in 0..{min(na, nb)}")
        pairs = (list(range(na - axes, na)), list(range(axes)))
    else:
        try:
            pairs = tuple([p] if isinstance(p, int | np.integer) else list(p) for p in axes)
        except TypeError:
            pairs = ()
        if len(pairs) != 2 or len(pairs[0]) != len(pairs[1]):
            raise ValueError(f"{where}: give an int or two sequences of axes of equal length")
    ax_a, ax_b = ([check_axis("tensordot", i, s) for i in p] for p, s in zip(pairs, (sa, sb)))
    if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
        raise ValueError(f"{where}: an axis is repeated")
    for i, j in zip(ax_a, ax_b):
        if sa[i] != sb[j]:
            raise ValueError(f"{where}: axis {i} of a (length {sa[i]}) and axis {j} of b "
                             f"(length {sb[j]}) differ")
    return ax_a, ax_b


def tensordot(a, b, axes: int | Sequence = 2):
    """sum over the paired axes of a[..., i, j] b[i, j, ...]: ``axes=N`` pairs the last N
    axes of a with the first N of b; ``axes=(axes_a, axes_b)`` names them. Computed as NumPy
    does (transpose, reshape to matrices, matmul), so it differentiates through those."""
    a, b = as_array(a), as_array(b)
    ax_a, ax_b = _contracted(axes, a.shape, b.shape)
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = math.prod(a.shape[i] for i in ax_a)
    a2 = reshape(_permuted(a, free_a + ax_a), (math.prod(a.shape[i] for i in free_a), k))
    b2 = reshape(_permuted(b, ax_b + free_b), (k, math.prod(b.shape[i] for i in free_b)))
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return reshape(matmul(a2, b2), shape)


def inner(a, b):
    """Sum over the last axes: out[..., ...] = sum_k a[..., k] b[..., k] (a product when
    either is a scalar)."""
    a, b = as_array(a), as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: shapes {a.shape} and {b.shape}: last dimensions "
                         f"{a.shape[-1]} and {b.shape[-1]} differ")
    return tensordot(a, b, ([-1], [-1]))


def vdot(a, b):
    """The dot product of the flattened inputs (real numbers: no conjugation)."""
    a, b = as_array(a), as_array(b)
    if a.size != b.size:
        raise ValueError(f"vdot: shapes {a.shape} and {b.shape} hold {a.size} and {b.size} "
                         "elements; they must hold as many")
    return matmul(reshape(a, (-1,)), reshape(b, (-1,)))


# ----- kron ---------------------------------------------------------------------------
def kron(a, b):
    """Kronecker product: out[i*m + k, j*n + l] = a[i, j] b[k, l] (any number of axes, the
    shorter shape padded with 1s in front, as NumPy). a interleaved with new axes times b
    interleaved the other way, then merged: a broadcasting product."""
    a, b = as_array(a), as_array(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    spread_a = reshape(a, tuple(n for m in sa for n in (m, 1)))
    spread_b = reshape(b, tuple(n for m in sb for n in (1, m)))
    return reshape(spread_a * spread_b, tuple(m * n for m, n in zip(sa, sb)))


# ----- cross --------------------------------------------------------------------------
def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None):
    """Cross product of 3-vectors along ``axisa`` of a and ``axisb`` of b (``axis`` sets all
    three), the result's vector along ``axisc``; the other axes broadcast. A 2-vector has a
    zero third component; two 2-vectors give the scalar a0 b1 - a1 b0, as NumPy."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = as_array(a), as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"cross: shapes {a.shape} and {b.shape}: both need a vector axis")
    a = to_end(a, check_axis("cross", axisa, a.shape))
    b = to_end(b, check_axis("cross", axisb, b.shape))
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(f"cross: vectors of lengths {a.shape[-1]} and {b.shape[-1]} (shapes "
                         f"{a.shape} and {b.shape} with the vector axis last): each must be 2 or 3")
    try:
        np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(f"cross: shapes {a.shape} and {b.shape} (vector axis last) do not "
                         "broadcast") from None
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0                      # d(a x b) = da x b + a x db, term by term
    if a.shape[-1] == b.shape[-1] == 2:
        return z
    a2, b2 = (getitem(_three(v), (Ellipsis, 2)) for v in (a, b))
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z], axis=-1)
    return from_end(c, check_axis("cross", axisc, c.shape))


def _three(v):
    """A 2-vector given its zero third component."""
    return v if v.shape[-1] == 3 else pad(v, [(0, 0)] * (v.ndim - 1) + [(0, 1)])


# ----- convolve -----------------------------------------------------------------------
def convolve(a, v, mode: str = "full"):
    """Discrete linear convolution of two 1-D arrays: out[n] = sum_k a[k] v[n - k] over
    ``mode`` 'full' (every overlap), 'same' (the length of the longer, centred) or 'valid'
    (complete overlaps only). A matrix of shifted copies of the longer input (gathered,
    zeros outside; (m + n - 1) x n entries) times the shorter: linear in each,
    differentiable in both."""
    a, v = as_array(a), as_array(v)
    if a.ndim > 1 or v.ndim > 1 or a.size == 0 or v.size == 0:
        raise ValueError(f"convolve: shapes {a.shape} and {v.shape}: both must be non-empty "
                         "and 1-D")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"convolve: mode {mode!r} is not 'full', 'same' or 'valid'")
    a, v = reshape(a, (-1,)), reshape(v, (-1,))
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    m, n = a.shape[0], v.shape[0]
    lag = np.arange(m + n - 1)[:, None] - np.arange(n)[None, :]  # j - k
    lag = np.where((lag >= 0) & (lag < m), lag, m)               # outside a: the zero at m
    full = matmul(getitem(pad(a, (0, 1)), lag), v)               # sum_k a[j - k] v[k]
    if mode == "full":
        return full
    start, length = ((n - 1) // 2, m) if mode == "same" else (n - 1, m - n + 1)
    return getitem(full, slice(start, start + length))


__all__ = ["tensordot", "inner", "vdot", "kron", "cross", "convolve"]

NUMPY = {
    np.tensordot: tensordot, np.inner: inner, np.vdot: vdot, np.kron: kron, np.cross: cross,
    np.convolve: convolve,
}
