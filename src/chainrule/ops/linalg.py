"""Linear algebra primitives: matmul, einsum, diagonal, norm (and what is built on them)."""

from __future__ import annotations

import builtins
import re
import string

import numpy as np

from chainrule import backend
from chainrule.batching import axes_in, axis_in
from chainrule.ops.batch_rules import align, along_axis
from chainrule.ops.elementwise import abs, mul, sign, unsupported_type, where
from chainrule.ops.reduce import _spread, max, min, sum
from chainrule.ops.shape import (
    broadcast_to,
    named_error,
    normalize_axes,
    reshape,
    squeeze,
    unsqueeze,
)
from chainrule.primitive import EachArgument, primitive


@primitive
def matmul(a, b, out=None):
    """a @ b with NumPy's rules: 1-D operands are vectors, leading axes broadcast."""
    try:
        return np.matmul(a, b, out=out)
    except (TypeError, ValueError):
        raise unsupported_type("matmul", a, b) or ValueError(
            _matmul_error(np.shape(a), np.shape(b))) from None


def _matmul_error(sa: tuple, sb: tuple) -> str:
    if not sa or not sb:
        return f"matmul: {sa} @ {sb}: operands must have at least one dimension (use * for scalars)"
    k_a, k_b = sa[-1], sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        return f"matmul: {sa} @ {sb}: inner dimensions {k_a} and {k_b} differ"
    return f"matmul: {sa} @ {sb}: batch dimensions {sa[:-2]} and {sb[:-2]} do not broadcast"


def _matmul_vjp_a(g, ans, a, b):
    if b.ndim == 1:
        return g * b if a.ndim == 1 else unsqueeze(g, -1) * b      # outer product g b^T
    if a.ndim == 1:
        return squeeze(matmul(b, unsqueeze(g, -1)), -1)            # b g, batch summed later
    return matmul(g, b.mT)                                          # g b^T


def _matmul_vjp_b(g, ans, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else unsqueeze(a, -1) * unsqueeze(g, -2)  # a^T g
    if b.ndim == 1:
        return squeeze(matmul(a.mT, unsqueeze(g, -1)), -1)
    return matmul(a.mT, g)                                          # a^T g


matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)       # d(ab) = (da) b + a (db)
matmul.defjvp(lambda t, ans, a, b: matmul(t, b),
              lambda t, ans, a, b: matmul(a, t))


def dot(a, b):
    """np.dot: a product for scalars, matmul up to 2-D; beyond, NumPy's N-d rule (a sum over
    a's last axis and b's second-to-last: ``dot(a, b)[i, j, k, m] = sum(a[i, j, :] *
    b[k, :, m])``) as an einsum, whose rules give the derivative."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return mul(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    if np.shape(a)[-1] != np.shape(b)[-2 if nb > 1 else -1]:
        raise ValueError(f"dot: shapes {np.shape(a)} and {np.shape(b)} not aligned")
    letters = "abcdefghijklmnopqrstuvwxy"
    sa, sb = letters[:na - 1] + "z", letters[na - 1:na + nb - 1]
    sb = sb[:-2] + "z" + sb[-1] if nb > 1 else "z"
    return einsum(f"{sa},{sb}->{sa[:-1]}{sb.replace('z', '')}", a, b)


def outer(a, b):
    """Outer product of two vectors (flattened first, as NumPy does)."""
    return mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


# ----- einsum -------------------------------------------------------------------
def _parse_einsum(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """Input and output subscripts with '...' spelled out as letters."""
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    parts = ins.split(",")
    if len(parts) != len(shapes):
        raise ValueError(f"einsum: '{subscripts}' names {len(parts)} operands, "
                         f"got {len(shapes)}")
    used = set(re.sub(r"[^a-zA-Z]", "", spec))
    spare = [c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in used]
    n_ell = builtins.max([len(s) - len(p.replace("...", "")) for p, s in zip(parts, shapes)
                 if "..." in p], default=0)
    ell = "".join(spare[:n_ell][::-1])
    expanded = []
    for p, s in zip(parts, shapes):
        if "..." in p:
            k = len(s) - len(p.replace("...", ""))
            p = p.replace("...", ell[n_ell - k:] if k else "")
        if len(p) != len(s):
            raise ValueError(f"einsum: subscripts '{p}' for an operand of shape {s}")
        expanded.append(p)
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(expanded)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                   and c not in ell))
    return expanded, out


@primitive
def einsum(subscripts, *operands):
    """Einstein summation, as ``np.einsum(subscripts, *operands)``."""
    try:
        return np.einsum(subscripts, *operands)
    except ValueError as e:
        shapes = [np.shape(o) for o in operands]
        raise ValueError(f"einsum: '{subscripts}' with shapes {shapes}: {e}") from None


def _einsum_vjp(i, g, ans, subscripts, *operands):
    # d out = sum_k einsum(.., d op_k, ..): op_k's cotangent contracts g with the others.
    k = i - 1
    ins, out = _parse_einsum(subscripts, [o.shape for o in operands])
    sizes: dict[str, int] = {}
    for s, o in zip(ins, operands):
        for c, n in zip(s, o.shape):
            if sizes.get(c, 1) == 1:  # '...' axes may broadcast (a size 1 against 0 or n)
                sizes[c] = n
    others, other_ops = [], []
    for j, (s, o) in enumerate(zip(ins, operands)):
        if j != k:
            full = tuple(sizes[c] for c in s)
            others.append(s)
            other_ops.append(o if o.shape == full else broadcast_to(o, full))
    target = ins[k]
    unique = "".join(dict.fromkeys(target))
    present = set(out).union(*others)
    reachable = "".join(c for c in unique if c in present)
    r = einsum(",".join([out, *others]) + "->" + reachable, g, *other_ops)
    if reachable != unique:  # letters summed only inside this operand: spread g over them
        r = broadcast_to(reshape(r, tuple(sizes[c] if c in present else 1 for c in unique)),
                         tuple(sizes[c] for c in unique))
    if unique != target:  # a letter repeated in this operand: g lands on that diagonal
        r = _on_diagonals(r, unique, target, sizes)
    return r  # of the broadcast shape: the engine sums it down to the operand's shape


def _on_diagonals(r, unique, target, sizes):
    """``r`` (subscripts ``unique``) laid on the diagonals of ``target`` ('ij' -> 'iij':
    out[i, i', j] = r[i, j] [i = i']), by contracting with identity matrices."""
    spare = iter(c for c in string.ascii_letters if c not in target)
    renamed, eyes = "", []
    for c in target:
        if c in renamed:
            fresh = next(spare)
            eyes.append(c + fresh)
            c = fresh
        renamed += c
    identities = [backend.eye(sizes[e[0]], r.dtype, like=r) for e in eyes]
    return einsum(",".join([unique, *eyes]) + "->" + renamed, r, *identities)


def _einsum_jvp(i, t, ans, subscripts, *operands):
    args = list(operands)
    args[i - 1] = t
    return einsum(subscripts, *args)


einsum.defvjp(EachArgument(_einsum_vjp))
einsum.defjvp(EachArgument(_einsum_jvp))


# ----- diagonal, trace, norm ---------------------------------------------------
@primitive
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of x over two axes (moved to the end, as NumPy does)."""
    try:
        return np.diagonal(x, offset, axis1, axis2).copy()
    except ValueError as e:
        raise named_error("diagonal", e, x) from None


@primitive
def diagonal_embed(d, shape, offset=0, axis1=0, axis2=1):
    """Zeros of ``shape`` with ``d`` written on the diagonal: the transpose of diagonal."""
    out = backend.zeros(shape, np.result_type(d), like=d)
    view = np.diagonal(out, offset, axis1, axis2)
    if hasattr(view.flags, "writeable"):  # NumPy's diagonal view is read-only (CuPy's isn't)
        view.flags.writeable = True
    view[...] = d
    return out


diagonal.defvjp(lambda g, ans, x, offset=0, axis1=0, axis2=1:
                diagonal_embed(g, x.shape, offset, axis1, axis2))
diagonal.defjvp(lambda t, ans, x, offset=0, axis1=0, axis2=1:
                diagonal(t, offset, axis1, axis2))
diagonal_embed.defvjp(lambda g, ans, d, shape, offset=0, axis1=0, axis2=1:
                      diagonal(g, offset, axis1, axis2), None)
diagonal_embed.defjvp(lambda t, ans, d, shape, offset=0, axis1=0, axis2=1:
                      diagonal_embed(t, shape, offset, axis1, axis2), None)


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """Sum of the diagonal."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


@primitive
def _norm2(x, axis=None, keepdims=False):
    try:
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    except ValueError as e:
        raise named_error("norm", e, x) from None


_norm2.name = "norm"
# d ||x|| = <x, dx> / ||x||, taken as 0 at x = 0 (a subgradient, as PyTorch does)
_norm2.defvjp(lambda g, ans, x, axis=None, keepdims=False:
              _spread(g, x.shape, axis, keepdims, "norm")
              * x / _spread(where(ans == 0, 1.0, ans), x.shape, axis, keepdims, "norm"))
_norm2.defjvp(lambda t, ans, x, axis=None, keepdims=False:
              sum(x * t, axis=axis, keepdims=keepdims) / where(ans == 0, 1.0, ans))


@primitive
def _pnorm(x, p, axis=None, keepdims=False):
    try:
        return np.sum(np.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1 / p)
    except ValueError as e:
        raise named_error("norm", e, x) from None


def _pow_or_zero(y, e):
    """y ** e, taken as 0 where y == 0 (the masked base keeps every derivative finite)."""
    zero = y == 0
    return where(zero, 0.0, where(zero, 1.0, y) ** e)


def _pnorm_factor(x, p):
    """sign(x) |x|^(p-1), taken as 0 where x = 0 (for p < 1 the true slope is infinite)."""
    return sign(x) * _pow_or_zero(abs(x), p - 1)


_pnorm.name = "norm"
# d ||x||_p = sum_i sign(x_i) |x_i|^(p-1) ||x||_p^(1-p) dx_i; where x_i = 0 (p < 1) or
# ||x||_p = 0 (p > 1) that factor is taken as 0: a finite subgradient, PyTorch's choice
_pnorm.defvjp(lambda g, ans, x, p, axis=None, keepdims=False:
              _spread(g * _pow_or_zero(ans, 1 - p), x.shape, axis, keepdims, "norm")
              * _pnorm_factor(x, p), None)
_pnorm.defjvp(lambda t, ans, x, p, axis=None, keepdims=False:
              sum(t * _pnorm_factor(x, p), axis=axis, keepdims=keepdims)
              * _pow_or_zero(ans, 1 - p), None)


def norm(x, ord=None, axis=None, keepdims: bool = False):
    """``np.linalg.norm``: over one axis (or a 1-D array) the vector norm
    ``(sum |x|^p)^(1/p)`` for ord None/2, 1, inf, -inf or any other p; over two axes (or a 2-D
    array) the matrix norm for ord None/'fro', 1, -1 (column sums), inf, -inf (row sums).
    With ``ord`` and ``axis`` both None, the 2-norm of all the entries.

    Subgradients at the kinks (PyTorch's choices): at x = 0 every vector norm has gradient
    0; ord=1 uses sign(0) = 0 per entry; for 0 < p < 1 an entry x_i = 0 gets 0 (the slope
    there is infinite); inf/-inf and the matrix norms 1/inf split the gradient evenly
    between tied entries (or tied column/row sums), as ``max`` does."""
    nd = np.ndim(x)
    if axis is None:
        if ord is None:
            return _norm2(x, keepdims=keepdims)
        if nd not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} of an array of shape {np.shape(x)} needs "
                             "axis (an int for vector norms, two ints for matrix norms)")
        axis = tuple(range(nd))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        normalize_axes(axes, nd, "norm")  # out of range or repeated: a clear error
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis {axis} must be one axis (vector norm) or two (matrix norm)")


def _vector_norm(x, ord, axis, keepdims):
    if ord in (None, 2):
        return _norm2(x, axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, int | float | np.number) and ord > 0:
        return _pnorm(x, float(ord), axis=axis, keepdims=keepdims)
    raise ValueError(f"norm: ord={ord!r} is not supported for vectors (use None, a number "
                     "p > 0, inf or -inf)")


def _matrix_norm(x, ord, axes, keepdims):
    rows, cols = (a % np.ndim(x) for a in axes)
    if ord in (None, "fro"):
        return _norm2(x, axis=(rows, cols), keepdims=keepdims)
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"norm: ord={ord!r} on a matrix (singular values) is not "
                                  "supported; use 'fro', 1 or inf")
    if ord not in (1, -1, np.inf, -np.inf):
        raise ValueError(f"norm: ord={ord!r} is not a matrix norm (use 'fro', 1, -1, inf, -inf)")
    summed, across = (rows, cols) if ord in (1, -1) else (cols, rows)  # 1: max column sum
    pick = max if ord > 0 else min
    r = pick(sum(abs(x), axis=summed, keepdims=True), axis=across, keepdims=True)
    return r if keepdims else squeeze(r, (rows, cols))


def einsum_any_form(*args, optimize=False):
    """``np.einsum`` in either of NumPy's forms: ``(subscripts, *operands)``, or the sublist
    form ``(op0, sublist0, op1, sublist1, ..., [sublist_out])`` (axis numbers 0-51 and
    Ellipsis), which is spelled as subscripts first. ``optimize`` is accepted and ignored."""
    if not args or isinstance(args[0], str):
        return einsum(*args)
    letters = string.ascii_lowercase + string.ascii_uppercase

    def spell(sublist):
        return "".join("..." if s is Ellipsis else letters[s] for s in sublist)

    operands, subs = list(args[0:-1:2] if len(args) % 2 else args[0::2]), args[1::2]
    spec = ",".join(spell(s) for s in subs)
    if len(args) % 2:
        spec += "->" + spell(args[-1])
    return einsum(spec, *operands)


NUMPY = {
    np.matmul: matmul, np.dot: dot, np.outer: outer, np.einsum: einsum_any_form, np.trace: trace,
    np.diagonal: diagonal, np.linalg.norm: norm,
}


# ----- vmap: matmul and einsum batch over a leading axis -------------------------------
def _matmul_batch(flags, a, b):
    fa, fb = flags
    ra, rb = a.ndim - fa, b.ndim - fb  # the ranks of one example
    if ra == 0 or rb == 0:
        raise ValueError(_matmul_error(a.shape[fa:], b.shape[fb:]))
    if (fa and not fb and (rb <= 2 or rb <= ra)) or (fb and not fa and rb >= 2 and ra <= rb) \
            or (fa and fb and ra == rb >= 2):
        return matmul(a, b)  # NumPy's own broadcasting already pairs the batch axes
    if ra == 1 and rb == 1:  # vector . vector
        return sum(mul(*align(flags, (a, b))), axis=-1)
    a = unsqueeze(a, -2) if ra == 1 else a  # vectors as a row / a column
    b = unsqueeze(b, -1) if rb == 1 else b
    lead = builtins.max(a.ndim - fa, b.ndim - fb) - 2
    a, b = (reshape(x, (x.shape[0],) + (1,) * (lead + 3 - x.ndim) + x.shape[1:]) if f else x
            for f, x in ((fa, a), (fb, b)))
    out = matmul(a, b)
    out = squeeze(out, -2) if ra == 1 else out
    return squeeze(out, -1) if rb == 1 else out


def _einsum_batch(flags, subscripts, *operands):
    flags = flags[1:]
    ins, out = _parse_einsum(subscripts, [o.shape[f:] for f, o in zip(flags, operands)])
    used = set("".join(ins) + out)
    z = next(c for c in string.ascii_letters if c not in used)
    spec = ",".join(z + s if f else s for s, f in zip(ins, flags))
    return einsum(f"{spec}->{z}{out}", *operands)


def _diagonal_batch(flags, x, offset=0, axis1=0, axis2=1):
    nd = x.ndim - 1
    return diagonal(x, offset, axis_in(axis1, nd, "diagonal"), axis_in(axis2, nd, "diagonal"))


def _embed_batch(flags, d, shape, offset=0, axis1=0, axis2=1):
    nd = len(shape)
    return diagonal_embed(d, (d.shape[0], *shape), offset, axis_in(axis1, nd, "diagonal"),
                          axis_in(axis2, nd, "diagonal"))


matmul.defbatch(_matmul_batch)
einsum.defbatch(_einsum_batch)
diagonal.defbatch(_diagonal_batch)
diagonal_embed.defbatch(_embed_batch)
_norm2.defbatch(along_axis(_norm2))
_pnorm.defbatch(lambda flags, x, p, axis=None, keepdims=False: _pnorm(
    x, p, axis=axes_in(axis, x.ndim - 1, "norm"), keepdims=keepdims))
