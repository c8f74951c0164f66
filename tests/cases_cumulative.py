"""Primitive-table rows for chainrule.ops: cumulative, products, matrices."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from case_strategies import POSITIVE, REAL, array, arrays, distinct, floats, mask, shapes, unary
from case_table import case
from hypothesis import strategies as st

import chainrule as cr

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the finite-difference checks run without PyTorch
    torch = F = None


def _flat(x: object) -> object:
    return x.reshape(-1)


# ----- cumsum, cumprod, diff ---------------------------------------------------------------
for _axis, _nd in [(0, 1), (-1, 1), (1, 2)]:
    case(f"cumsum[axis={_axis}]", lambda x, a=_axis: cr.cumsum(x, axis=a),
         lambda x, a=_axis: torch.cumsum(x, a), unary(min_dims=_nd))
case("cumsum[axis=None]", cr.cumsum, lambda x: torch.cumsum(_flat(x), 0), unary())
case("cumsum[long]", lambda x: cr.cumsum(x, axis=0),
     lambda x: torch.cumsum(x, 0), unary(min_dims=1, max_dims=1, min_side=9, max_side=20))

_FACTORS = floats(-1.5, -0.5) | floats(0.5, 1.5)


def _with_zeros(*places: int) -> Callable[[tuple[np.ndarray, ...]], tuple[np.ndarray, ...]]:
    """Zeros at the given flat positions (modulo the size): in the middle, at the start."""
    def put(xs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        x = xs[0].copy()
        for p in places:
            x.reshape(-1)[p % x.size] = 0.0
        return (x,)
    return put


for _axis, _nd in [(0, 1), (-1, 1), (1, 2)]:
    case(f"cumprod[axis={_axis}]", lambda x, a=_axis: cr.cumprod(x, axis=a),
         lambda x, a=_axis: torch.cumprod(x, a), unary(_FACTORS, min_dims=_nd, max_side=5))
case("cumprod[axis=None]", cr.cumprod, lambda x: torch.cumprod(_flat(x), 0),
     unary(_FACTORS, max_side=3))
case("cumprod[long]", lambda x: cr.cumprod(x, axis=0), lambda x: torch.cumprod(x, 0),
     unary(_FACTORS, min_dims=1, max_dims=1, min_side=9, max_side=20))


def _torch_cumprod_no_division(x: object) -> object:
    """Running products along the last axis by repeated multiplication: torch.cumprod's own
    forward-mode rule divides by x (NaN at a zero), this twin holds in every mode."""
    running = [x[..., 0]]
    for i in range(1, x.shape[-1]):
        running.append(running[-1] * x[..., i])
    return torch.stack(running, -1)


# zeros: the rules never divide by x, so first and second order hold there
for _name, _places in [("one zero", (1,)), ("two zeros", (0, 2)), ("zero first", (0,))]:
    case(f"cumprod[{_name},axis=-1]", lambda x: cr.cumprod(x, axis=-1),
         _torch_cumprod_no_division,
         unary(_FACTORS, min_dims=1, min_side=3, max_side=5).map(_with_zeros(*_places)))
case("cumprod[zeros,axis=None]", cr.cumprod, lambda x: _torch_cumprod_no_division(_flat(x)),
     unary(_FACTORS, min_dims=1, max_side=3).map(_with_zeros(1, 4)))

case("diff", cr.diff, lambda x: torch.diff(x), unary(min_dims=1))
case("diff[n=2,axis=0]", lambda x: cr.diff(x, 2, axis=0), lambda x: torch.diff(x, 2, dim=0),
     unary(min_dims=2, min_side=3))
case("diff[n=3,longer than the axis]", lambda x: cr.diff(x, 3), lambda x: torch.diff(x, 3),
     unary(min_dims=1, max_side=3))
case("diff[prepend,append]", lambda x, p, a: cr.diff(x, 1, axis=0, prepend=p, append=a),
     lambda x, p, a: torch.diff(x, 1, dim=0, prepend=p, append=a),
     shapes(min_dims=1).flatmap(lambda s: st.tuples(
         array(s), array((2, *s[1:])), array((1, *s[1:])))))
case("diff[scalar prepend]", lambda x: cr.diff(x, prepend=0.5),
     lambda x: torch.diff(x, prepend=torch.full((*x.shape[:-1], 1), 0.5, dtype=x.dtype)),
     unary(min_dims=1))

# ----- products ------------------------------------------------------------------------------
_SIDE = st.integers(1, 3)
case("tensordot[axes=2]", lambda a, b: cr.tensordot(a, b),
     lambda a, b: torch.tensordot(a, b, dims=2),
     st.tuples(_SIDE, _SIDE, _SIDE, _SIDE).flatmap(
         lambda d: st.tuples(array((d[0], d[1], d[2])), array((d[1], d[2], d[3])))))
case("tensordot[axes=0]", lambda a, b: cr.tensordot(a, b, 0),
     lambda a, b: torch.tensordot(a, b, dims=0),
     arrays(st.tuples(shapes(max_dims=2), shapes(max_dims=2))))
case("tensordot[axes pairs]", lambda a, b: cr.tensordot(a, b, ([2, 0], [0, 1])),
     lambda a, b: torch.tensordot(a, b, dims=([2, 0], [0, 1])),
     st.tuples(_SIDE, _SIDE, _SIDE, _SIDE).flatmap(
         lambda d: st.tuples(array((d[0], d[1], d[2])), array((d[2], d[0], d[3])))))
case("inner", cr.inner, lambda a, b: torch.inner(a, b),
     st.tuples(shapes(max_dims=2), shapes(max_dims=2), st.integers(1, 4)).flatmap(
         lambda d: st.tuples(array((*d[0], d[2])), array((*d[1], d[2])))))
case("inner[scalar]", cr.inner, lambda a, b: torch.inner(a, b),
     shapes().flatmap(lambda s: st.tuples(array(()), array(s))))
case("vdot", cr.vdot, lambda a, b: torch.vdot(_flat(a), _flat(b)),
     shapes().flatmap(lambda s: st.tuples(array(s), array(s[::-1]))))
case("kron", cr.kron, lambda a, b: torch.kron(a, b),
     arrays(st.tuples(shapes(max_dims=2, max_side=3), shapes(max_dims=3, max_side=3))))


def _torch_cross(a: object, b: object) -> object:
    """torch.linalg.cross after broadcasting the leading axes (it wants equal ndims)."""
    lead = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    a, b = F.pad(a, (0, 3 - a.shape[-1])), F.pad(b, (0, 3 - b.shape[-1]))  # 2-vectors: z = 0
    return torch.linalg.cross(a.expand(*lead, 3), b.expand(*lead, 3))


def _torch_cross2(a: object, b: object) -> object:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _vectors(m: int, n: int) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """Stacks of m- and n-vectors (last axis) whose leading axes broadcast."""
    from case_strategies import broadcastable
    return broadcastable(2, max_dims=2, max_side=3).flatmap(
        lambda ss: st.tuples(array((*ss[0], m)), array((*ss[1], n))))


case("cross", cr.cross, _torch_cross, _vectors(3, 3))
case("cross[axis=0]", lambda a, b: cr.cross(a, b, axis=0),
     lambda a, b: torch.linalg.cross(a, b, dim=0),
     shapes(max_dims=2).flatmap(lambda s: st.tuples(array((3, *s)), array((3, *s)))))
case("cross[axisa=0,axisc=0]", lambda a, b: cr.cross(a, b, axisa=0, axisc=0),
     lambda a, b: torch.linalg.cross(a.movedim(0, -1), b).movedim(-1, 0),
     st.integers(1, 3).flatmap(lambda n: st.tuples(array((3, n)), array((n, 3)))))
case("cross[2-vectors]", cr.cross, _torch_cross2, _vectors(2, 2))
case("cross[2 and 3]", cr.cross, _torch_cross, _vectors(2, 3))
case("cross[3 and 2]", cr.cross, _torch_cross, _vectors(3, 2))


def _torch_convolve(a: object, v: object, mode: str) -> object:
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    m, n = a.shape[0], v.shape[0]
    full = F.conv1d(a[None, None], v.flip(0)[None, None], padding=n - 1)[0, 0]
    start, length = {"full": (0, m + n - 1), "same": ((n - 1) // 2, m),
                     "valid": (n - 1, m - n + 1)}[mode]
    return full[start:start + length]


for _mode in ("full", "same", "valid"):
    case(f"convolve[{_mode}]", lambda a, v, m=_mode: cr.convolve(a, v, m),
         lambda a, v, m=_mode: _torch_convolve(a, v, m),
         arrays(st.tuples(shapes(1, 1, max_side=6), shapes(1, 1, max_side=6))))

# ----- matrix structure ------------------------------------------------------------------------
for _k in (0, 1, -1):
    case(f"tril[k={_k}]", lambda x, k=_k: cr.tril(x, k), lambda x, k=_k: torch.tril(x, k),
         unary(min_dims=2))
    case(f"triu[k={_k}]", lambda x, k=_k: cr.triu(x, k), lambda x, k=_k: torch.triu(x, k),
         unary(min_dims=2))
    case(f"diag[k={_k},take]", lambda x, k=_k: cr.diag(x, k), lambda x, k=_k: torch.diag(x, k),
         unary(min_dims=2, max_dims=2))
    case(f"diag[k={_k},build]", lambda x, k=_k: cr.diag(x, k),
         lambda x, k=_k: torch.diag(x, k), unary(min_dims=1, max_dims=1))
    case(f"diagflat[k={_k}]", lambda x, k=_k: cr.diagflat(x, k),
         lambda x, k=_k: torch.diagflat(x, k), unary())
case("tril[1-D]", cr.tril, lambda x: torch.tril(x.expand(x.shape[0], -1)),
     unary(min_dims=1, max_dims=1))
case("triu[np.triu,k=2]", lambda x: np.triu(x, 2), lambda x: torch.triu(x, 2),
     unary(min_dims=2))


def _conditions(shape: tuple[int, ...]) -> list[np.ndarray]:
    first = mask(shape)
    return [first, ~first | (np.arange(first.size).reshape(shape) % 2 == 0)]


case("select", lambda a, b, d: cr.select(_conditions(a.shape), [a, b], d),
     lambda a, b, d: torch.where(torch.from_numpy(_conditions(tuple(a.shape))[0]), a,
                                 torch.where(torch.from_numpy(_conditions(tuple(a.shape))[1]),
                                             b, d)),
     shapes(min_dims=1).flatmap(lambda s: st.tuples(array(s), array(s), array(s[-1:]))))
case("select[scalar default]", lambda a: cr.select([a > 0], [a * 2.0]),
     lambda a: torch.where(a > 0, a * 2.0, 0.0), unary(floats(-3, -0.1) | floats(0.1, 3)))


def _broadcasts(*ss: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(*ss)
    except ValueError:
        return False
    return True


def _torch_linspace(start: object, stop: object, num: int, endpoint: bool = True,
                    axis: int = 0) -> object:
    """The same formula as NumPy's (torch.linspace takes no tensor endpoints)."""
    div = num - 1 if endpoint else num
    delta = stop - start
    r = torch.arange(num, dtype=delta.dtype).reshape((-1,) + (1,) * delta.ndim)
    y = r * (delta / div) + start
    if endpoint:
        y = torch.cat([y[:-1], torch.broadcast_to(stop, delta.shape)[None]])
    return y.movedim(0, axis)


case("linspace", lambda a, b: cr.linspace(a, b, 5), lambda a, b: _torch_linspace(a, b, 5),
     arrays(st.just(((), ()))))
case("linspace[arrays,axis=-1,endpoint=False]",
     lambda a, b: cr.linspace(a, b, 4, endpoint=False, axis=-1),
     lambda a, b: _torch_linspace(a, b, 4, endpoint=False, axis=-1),
     arrays(st.tuples(shapes(max_dims=2), shapes(max_dims=2)).filter(
         lambda ss: _broadcasts(*ss))))
case("linspace[retstep]", lambda a, b: cr.linspace(a, b, 3, retstep=True)[1] * 1.0,
     lambda a, b: (b - a) / 2, arrays(st.just(((2,), (2,)))))


# ----- statistics ----------------------------------------------------------------------------
case("average", cr.average, lambda x: torch.mean(x), unary())
case("average[weights,axis=0]", lambda x, w: cr.average(x, 0, w),
     lambda x, w: (x * w).sum(0) / w.sum(0),
     shapes(min_dims=1).flatmap(lambda s: st.tuples(array(s), array(s, POSITIVE))))
case("average[1-D weights,axis=-1]", lambda x, w: cr.average(x, -1, w),
     lambda x, w: (x * w).sum(-1) / w.sum(), shapes(min_dims=1).flatmap(
         lambda s: st.tuples(array(s), array(s[-1:], POSITIVE))))
case("ptp[axis=-1]", lambda x: cr.ptp(x, axis=-1),
     lambda x: x.amax(-1) - x.amin(-1), unary(min_dims=1).map(lambda xs: (distinct(xs[0]),)))
case("ptp", cr.ptp, lambda x: x.amax() - x.amin(), unary().map(lambda xs: (distinct(xs[0]),)))
for _axis, _nd in [(None, 0), (0, 1), (-1, 2)]:
    case(f"median[axis={_axis}]", lambda x, a=_axis: cr.median(x, axis=a),
         lambda x, a=_axis: torch.quantile(x, 0.5, dim=a),  # the mean of two middles
         unary(min_dims=_nd).map(lambda xs: (distinct(xs[0]),)))
case("median[keepdims,axis=None]", lambda x: cr.median(x, keepdims=True),
     lambda x: torch.quantile(x, 0.5).reshape((1,) * x.ndim),
     unary().map(lambda xs: (distinct(xs[0]),)))


def _interp_inputs(draw_n: int) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """x at fractions 0.1..0.9 inside the intervals of xp (gaps >= 0.3), or outside it."""
    def build(d: tuple) -> tuple[np.ndarray, ...]:
        start, gaps, fp, picks = d
        xp = start + np.concatenate([[0.0], np.cumsum(gaps)])
        x = []
        for k, frac in picks:
            if k < 0 or k >= len(gaps):  # outside: left or right of the knots
                x.append(xp[0] - 0.2 - frac if k < 0 else xp[-1] + 0.2 + frac)
            else:
                x.append(xp[k] + frac * gaps[k])
        return np.array(x), xp, np.array(fp)
    return st.integers(1, draw_n).flatmap(lambda n: st.tuples(
        floats(-2, 2), st.lists(floats(0.3, 1.5), min_size=n, max_size=n),
        st.lists(REAL, min_size=n + 1, max_size=n + 1),
        st.lists(st.tuples(st.integers(-1, n), floats(0.1, 0.9)), min_size=1, max_size=6),
    )).map(build)


def _torch_interp(x: object, xp: object, fp: object) -> object:
    j = (torch.searchsorted(xp.detach(), x.detach(), right=True) - 1).clamp(0, xp.shape[0] - 2)
    x0, x1, f0, f1 = xp[j], xp[j + 1], fp[j], fp[j + 1]
    inside = (f1 - f0) / (x1 - x0) * (x - x0) + f0
    return torch.where(x < xp[0], fp[0], torch.where(x > xp[-1], fp[-1], inside))


case("interp", cr.interp, _torch_interp, _interp_inputs(4))

# ----- gradient: central differences inside, one-sided at the edges -------------------------
case("gradient", cr.gradient, lambda x: torch.gradient(x)[0], unary(min_dims=1, max_dims=1,
                                                                      min_side=2))
case("gradient[axis=0,spacing=0.5]", lambda x: cr.gradient(x, 0.5, axis=0),
     lambda x: torch.gradient(x, spacing=0.5, dim=0)[0], unary(min_dims=2, min_side=2))
case("gradient[axis=-1,edge_order=2]", lambda x: cr.gradient(x, axis=-1, edge_order=2),
     lambda x: torch.gradient(x, dim=-1, edge_order=2)[0], unary(min_dims=1, min_side=3))
case("gradient[two axes, summed]", lambda x: sum(cr.gradient(x, axis=(0, 1))),
     lambda x: sum(torch.gradient(x, dim=(0, 1))), unary(min_dims=2, max_dims=2, min_side=2))
