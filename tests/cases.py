"""The primitive table: every chainrule primitive, its PyTorch twin, and where to draw inputs.

Data, not tests (in the manner of MyGrad's test factories). Each :class:`Case` is

* ``fn(*tensors)``: the operation in chainrule, returning one Tensor;
* ``torch_fn(*torch_tensors)``: the same mathematics in PyTorch (float64);
* ``inputs``: a hypothesis strategy of a tuple of float64 NumPy arrays, one per argument of
  ``fn``, drawn where the function is smooth (positive for ``log``, away from the kinks of
  ``abs``/``relu``/``clip``, without ties for ``max``/``maximum``) with shapes that exercise
  broadcasting and size-1 dimensions;
* ``second_order``: whether ``backward(create_graph=True)`` is expected to work for it.

Reverse mode (``tests/test_ops_vjp.py``) and forward mode (``torch.func.jvp``) tests both
iterate over :data:`CASES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from case_strategies import (
    HIGH,
    LOW,
    NONZERO,
    POSITIVE,
    REAL,
    array,
    arrays,
    broadcastable,
    distinct,
    distinct_magnitudes,
    einsum_inputs,
    floats,
    joined,
    mask,
    same,
    shapes,
    unary,
)
from case_table import CASES, Case, case  # noqa: F401  (re-exported for the tests)
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the finite-difference checks run without PyTorch
    torch = F = None

def _torch_mask(x: object) -> object:
    return torch.from_numpy(mask(tuple(x.shape)))


def _dims(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return axis if isinstance(axis, tuple) else (axis,)


# ----- elementwise: unary ------------------------------------------------------------------
for _name, _dom, _tname in [
    ("exp", REAL, "exp"), ("log", POSITIVE, "log"), ("log1p", floats(-0.9, 5), "log1p"),
    ("expm1", REAL, "expm1"), ("sqrt", POSITIVE, "sqrt"), ("sin", floats(-5, 5), "sin"),
    ("cos", floats(-5, 5), "cos"), ("tan", floats(-1.3, 1.3), "tan"), ("tanh", REAL, "tanh"),
    ("sigmoid", floats(-10, 10), "sigmoid"), ("relu", NONZERO, "relu"),
    ("abs", NONZERO, "abs"), ("sign", NONZERO, "sign"), ("neg", REAL, "neg"),
]:
    case(_name, getattr(cr, _name), lambda x, n=_tname: getattr(torch, n)(x), unary(_dom))
case("softplus", cr.softplus, lambda x: F.softplus(x), unary(floats(-10, 10)))
case("softplus[method]", lambda x: x.softplus(), lambda x: F.softplus(x), unary(REAL))
case("exp[method]", lambda x: x.exp(), lambda *xs: torch.exp(*xs), unary(REAL))
case("neg[operator]", lambda x: -x, lambda x: -x, unary(REAL))
case("abs[operator]", lambda x: abs(x), lambda x: abs(x), unary(NONZERO))

_AWAY_FROM_BOUNDS = floats(-3, -0.6) | floats(-0.4, 0.4) | floats(0.6, 3)
case("clip", lambda x: cr.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5),
     unary(_AWAY_FROM_BOUNDS))
case("clip[a_min]", lambda x: cr.clip(x, a_min=-0.5), lambda x: torch.clamp(x, min=-0.5),
     unary(_AWAY_FROM_BOUNDS))
case("clip[a_max]", lambda x: x.clip(a_max=0.5), lambda x: torch.clamp(x, max=0.5),
     unary(_AWAY_FROM_BOUNDS))

# tensor ** scalar and scalar ** tensor
for _p, _dom in [(2, REAL), (3, REAL), (0, REAL), (0.5, POSITIVE), (-1.5, POSITIVE), (-2, NONZERO)]:
    case(f"pow[x**{_p}]", lambda x, p=_p: x ** p, lambda x, p=_p: x ** p, unary(_dom))
case("pow[2**x]", lambda x: 2.0 ** x, lambda x: 2.0 ** x, unary(REAL))
case("pow[fn]", lambda x: cr.pow(x, 1.7), lambda x: torch.pow(x, 1.7), unary(POSITIVE))

# ----- elementwise: binary, with broadcasting ------------------------------------------------
_BINARY = [
    ("add", cr.add, lambda x, y: x + y, REAL, REAL),
    ("sub", cr.sub, lambda x, y: x - y, REAL, REAL),
    ("mul", cr.mul, lambda x, y: x * y, REAL, REAL),
    ("div", cr.div, lambda x, y: x / y, REAL, NONZERO),
    # exponent 0 exactly is left to test_ops_vjp: there torch masks a true mixed derivative
    ("pow", cr.pow, lambda x, y: x ** y, POSITIVE, floats(-2, -0.05) | floats(0.05, 2)),
    ("maximum", cr.maximum, lambda x, y: torch.maximum(x, y), LOW, HIGH),
    ("maximum[swapped]", cr.maximum, lambda x, y: torch.maximum(x, y), HIGH, LOW),
    ("minimum", cr.minimum, lambda x, y: torch.minimum(x, y), LOW, HIGH),
    ("minimum[swapped]", cr.minimum, lambda x, y: torch.minimum(x, y), HIGH, LOW),
]
for _name, _fn, _tfn, _ex, _ey in _BINARY:
    case(_name, _fn, _tfn, arrays(broadcastable(2), _ex, _ey))
for _name, _fn, _ex, _ey in [
    ("add[operator]", lambda x, y: x + y, REAL, REAL),
    ("sub[operator]", lambda x, y: x - y, REAL, REAL),
    ("mul[operator]", lambda x, y: x * y, REAL, REAL),
    ("div[operator]", lambda x, y: x / y, REAL, NONZERO),
    ("pow[operator]", lambda x, y: x ** y, POSITIVE, floats(0.05, 3)),
]:
    case(_name, _fn, _fn, arrays(broadcastable(2), _ex, _ey))
for _name, _fn, _dom in [
    ("add[scalar]", lambda x: x + 2.5, REAL), ("add[rscalar]", lambda x: 2.5 + x, REAL),
    ("sub[rscalar]", lambda x: 1.0 - x, REAL), ("mul[rscalar]", lambda x: -0.5 * x, REAL),
    ("div[scalar]", lambda x: x / 4.0, REAL), ("div[rscalar]", lambda x: 3.0 / x, NONZERO),
]:
    case(_name, _fn, _fn, unary(_dom))
case("where", lambda x, y: cr.where(mask(np.broadcast_shapes(x.shape, y.shape)), x, y),
     lambda x, y: torch.where(torch.from_numpy(mask(np.broadcast_shapes(x.shape, y.shape))),
                              x, y),
     arrays(broadcastable(2)))
case("where[broadcast condition]",
     lambda x, y: cr.where(mask(x.shape[-1:]), x, y),
     lambda x, y: torch.where(torch.from_numpy(mask(tuple(x.shape[-1:]))), x, y),
     arrays(broadcastable(2, min_dims=1)))

# ----- matmul: 1-D, 2-D, batched with broadcasting batch dims --------------------------------
_MATMUL = hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, min_side=1,
                                            max_side=4, max_dims=2).map(lambda b: b.input_shapes)
case("matmul", cr.matmul, lambda *xs: torch.matmul(*xs), arrays(_MATMUL))
case("matmul[operator]", lambda a, b: a @ b, lambda a, b: a @ b, arrays(_MATMUL))
case("matmul[2-D]", cr.matmul, lambda *xs: torch.matmul(*xs),
     st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
     .flatmap(lambda d: st.tuples(array((d[0], d[1])), array((d[1], d[2])))))

# ----- reductions --------------------------------------------------------------------------------
_AXES: list[tuple[int | tuple[int, ...] | None, bool, int]] = [
    # (axis, keepdims, the fewest dimensions the input needs)
    (None, False, 0), (None, True, 0), (0, False, 1), (-1, True, 1), ((0, 2), False, 3),
    ((2, 0), True, 3), (1, False, 2),
]


def _reduction_cases(name: str, cr_fn: Callable, torch_fn: Callable,
                     prepare: Callable[[np.ndarray], np.ndarray] | None = None,
                     elements: st.SearchStrategy[float] = REAL, min_dims: int = 0,
                     min_side: int = 1, max_side: int = 4, **kw: object) -> None:
    extra = "".join(f",{k}={v}" for k, v in kw.items())
    for axis, keepdims, nd in _AXES:
        strategy = unary(elements, min_dims=max(nd, min_dims), min_side=min_side,
                         max_side=max_side)
        if prepare is not None:
            strategy = strategy.map(lambda xs: tuple(prepare(x) for x in xs))
        case(f"{name}[axis={axis},keepdims={keepdims}{extra}]",
             lambda x, a=axis, k=keepdims: cr_fn(x, axis=a, keepdims=k, **kw),
             lambda x, a=axis, k=keepdims: torch_fn(x, _dims(a, x.ndim), k, **kw),
             strategy)


def _torch_prod(x: object, dims: tuple[int, ...], keepdim: bool) -> object:
    """torch.prod over several dims, one at a time (highest first, so indices hold)."""
    for d in sorted({d % x.ndim for d in dims}, reverse=True) if x.ndim else ():
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x


def _torch_var(x: object, dims: tuple[int, ...], keepdim: bool, ddof: int = 0) -> object:
    return torch.var(x, dims, correction=ddof, keepdim=keepdim)


def _torch_std(x: object, dims: tuple[int, ...], keepdim: bool, ddof: int = 0) -> object:
    return torch.std(x, dims, correction=ddof, keepdim=keepdim)


_reduction_cases("sum", cr.sum, lambda x, d, k: torch.sum(x, dim=d, keepdim=k))
_reduction_cases("mean", cr.mean, lambda x, d, k: torch.mean(x, dim=d, keepdim=k))
_reduction_cases("var", cr.var, _torch_var, min_dims=1)
_reduction_cases("var", cr.var, _torch_var, min_dims=1, min_side=2, ddof=1)
# std is not differentiable where all values along the axis agree: sides >= 2, distinct values
_reduction_cases("std", cr.std, _torch_std, distinct, min_dims=1, min_side=2)
_reduction_cases("std", cr.std, _torch_std, distinct, min_dims=1, min_side=2, ddof=1)
_reduction_cases("max", cr.max, lambda x, d, k: torch.amax(x, dim=d, keepdim=k), distinct)
_reduction_cases("min", cr.min, lambda x, d, k: torch.amin(x, dim=d, keepdim=k), distinct)
_reduction_cases("logsumexp", cr.logsumexp,
                 lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k))


def _with_zeros(count: int) -> Callable[[tuple[np.ndarray, ...]], tuple[np.ndarray, ...]]:
    def put(xs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        x = xs[0].copy()
        x.reshape(-1)[:count] = 0.0
        return (x,)
    return put


_FACTORS = floats(-1.5, -0.5) | floats(0.5, 1.5)  # products of up to 27 stay moderate
_reduction_cases("prod", cr.prod, _torch_prod, elements=_FACTORS, max_side=3)
for _zeros in (1, 2):
    _with_some_zeros = unary(_FACTORS, min_dims=1, max_side=3).map(_with_zeros(_zeros))
    case(f"prod[{_zeros} zero(s),axis=None]", cr.prod, lambda *xs: torch.prod(*xs),
         _with_some_zeros)
    case(f"prod[{_zeros} zero(s),axis=-1]", lambda x: cr.prod(x, axis=-1),
         lambda x: torch.prod(x, dim=-1), _with_some_zeros)
case("sum[method,axis=1,keepdims]", lambda x: x.sum(axis=1, keepdims=True),
     lambda x: x.sum(dim=1, keepdim=True), unary(min_dims=2))
case("max[method,axis=0]", lambda x: x.max(axis=0), lambda x: x.amax(dim=0),
     unary(min_dims=1).map(lambda xs: (distinct(xs[0]),)))

# ----- shape -----------------------------------------------------------------------------------
case("reshape[-1]", lambda x: cr.reshape(x, (-1,)), lambda x: x.reshape(-1), unary())
case("reshape[reversed]", lambda x: x.reshape(x.shape[::-1]),
     lambda x: x.reshape(tuple(x.shape)[::-1]), unary())
case("reshape[view(n,1)]", lambda x: x.view(x.size, 1), lambda x: x.reshape(-1, 1), unary())
def _torch_reverse_axes(x: object) -> object:
    return x.permute(tuple(reversed(range(x.ndim))))


case("transpose", cr.transpose, _torch_reverse_axes, unary())
case("transpose[.T]", lambda x: x.T, _torch_reverse_axes, unary())
case("permute[1,2,0]", lambda x: cr.permute(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0),
     unary(min_dims=3, max_dims=3))
case("permute[method,-1,0,1]", lambda x: x.permute(-1, 0, 1), lambda x: x.permute(-1, 0, 1),
     unary(min_dims=3, max_dims=3))
case("swapaxes", lambda x: cr.swapaxes(x, 0, -1), lambda x: torch.swapaxes(x, 0, -1),
     unary(min_dims=1))
case("broadcast_to", lambda x, y: cr.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape)),
     lambda x, y: x.broadcast_to(torch.broadcast_shapes(x.shape, y.shape)),
     arrays(broadcastable(2)))
case("expand[method]", lambda x, y: x.expand(*np.broadcast_shapes(x.shape, y.shape)),
     lambda x, y: x.expand(torch.broadcast_shapes(x.shape, y.shape)),
     arrays(broadcastable(2)))
case("squeeze", cr.squeeze, lambda *xs: torch.squeeze(*xs), unary(max_side=2))
case("squeeze[axis]", lambda x: cr.squeeze(x, 1), lambda x: torch.squeeze(x, 1),
     arrays(shapes(min_dims=1).map(lambda s: ((s[0], 1, *s[1:]),))))
case("unsqueeze[0]", lambda x: cr.unsqueeze(x, 0), lambda x: x.unsqueeze(0), unary())
case("unsqueeze[-1,method]", lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), unary())
case("expand_dims", lambda x: cr.expand_dims(x, 1), lambda x: x.unsqueeze(1),
     unary(min_dims=1))
case("flatten", cr.flatten, lambda *xs: torch.flatten(*xs), unary())
case("flatten[1]", lambda x: x.flatten(1), lambda x: torch.flatten(x, 1), unary(min_dims=2))

# ----- indexing ------------------------------------------------------------------------------
_REPEATS = [0, -1, 0, 1, 0]  # repeated integer indices: their cotangents must add up


def _ix(n: int) -> np.ndarray:
    return np.array([i % n for i in _REPEATS])


for _name, _fn, _tfn, _kw in [
    ("getitem[1:,::2]", lambda x: x[1:, ::2], lambda x: x[1:, ::2], {"min_dims": 2}),
    ("getitem[...,0]", lambda x: x[..., 0], lambda x: x[..., 0], {"min_dims": 1}),
    ("getitem[None,-1]", lambda x: x[None, -1], lambda x: x[None, -1], {"min_dims": 1}),
    ("getitem[::-1]", lambda x: x[::-1], lambda x: x.flip(0), {"min_dims": 1}),
    ("getitem[int]", lambda x: x[1], lambda x: x[1], {"min_dims": 1, "min_side": 2}),
    ("getitem[ints repeated]", lambda x: x[_ix(x.shape[0])],
     lambda x: x[torch.from_numpy(_ix(x.shape[0]))], {"min_dims": 1}),
    ("getitem[:,ints repeated]", lambda x: x[:, _ix(x.shape[1])],
     lambda x: x[:, torch.from_numpy(_ix(x.shape[1]))], {"min_dims": 2}),
    ("getitem[ints,ints]", lambda x: x[_ix(x.shape[0]), _ix(x.shape[1])[::-1]],
     lambda x: x[torch.from_numpy(_ix(x.shape[0])),
                 torch.from_numpy(_ix(x.shape[1])[::-1].copy())], {"min_dims": 2}),
    ("getitem[ints,1:]", lambda x: x[_ix(x.shape[0]), 1:],
     lambda x: x[torch.from_numpy(_ix(x.shape[0])), 1:], {"min_dims": 2}),
    ("getitem[list,:,list]", lambda x: x[[0, -1], :, [1, 0]],  # split advanced
     lambda x: x[[0, -1], :, [1, 0]], {"min_dims": 3, "min_side": 2}),
    ("getitem[bool mask]", lambda x: x[mask(x.shape)], lambda x: x[_torch_mask(x)],
     {"min_dims": 1}),
    ("getitem[bool rows]", lambda x: x[mask(x.shape[:1])],
     lambda x: x[torch.from_numpy(mask(tuple(x.shape[:1])))], {"min_dims": 1}),
]:
    case(_name, _fn, _tfn, unary(**_kw))
case("getitem[fn]", lambda x: cr.getitem(x, (slice(None), 0)), lambda x: x[:, 0],
     unary(min_dims=2))


# out-of-place assignment: differentiable in the array and in the assigned value
case("index_update[1:]", lambda x, v: cr.index_update(x, (slice(1, None),), v),
     lambda x, v: torch.slice_scatter(x, v, dim=0, start=1),
     shapes(min_dims=1, min_side=2).flatmap(lambda s: st.tuples(array(s),
                                                                array((s[0] - 1, *s[1:])))))
case("index_update[ints,broadcast value]",
     lambda x, v: cr.index_update(x, np.array([x.shape[0] - 1, 0]), v),
     lambda x, v: x.index_put((torch.tensor([x.shape[0] - 1, 0]),), v),
     shapes(min_dims=2, min_side=2).flatmap(lambda s: st.tuples(array(s), array(s[-1:]))))
case("index_update[bool mask,scalar]", lambda x: cr.index_update(x, mask(x.shape), 0.5),
     lambda x: torch.where(_torch_mask(x), 0.5, x), unary(min_dims=1))
case("scatter_add", lambda g: cr.scatter_add(g, _ix(3), (3, *g.shape[1:])),
     lambda g: torch.zeros((3, *g.shape[1:]), dtype=g.dtype).index_add(
         0, torch.from_numpy(_ix(3)), g),
     shapes(max_dims=2).map(lambda s: ((len(_REPEATS), *s),)).flatmap(
         lambda ss: st.tuples(array(ss[0]))))
case("sum_to_shape", lambda x: cr.sum_to_shape(x, _summed_shape(x.shape)),
     lambda x: x.sum_to_size(_summed_shape(tuple(x.shape))), unary(min_dims=1))
case("astype[own dtype]", lambda x: cr.astype(x, x.dtype), lambda x: x.to(x.dtype), unary())


def _summed_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``shape``: the first axis dropped, every other one 1."""
    return tuple(1 if i % 2 else n for i, n in enumerate(shape[1:]))


for _axis in (0, -1):
    case(f"concatenate[axis={_axis}]", lambda *xs, a=_axis: cr.concatenate(xs, axis=a),
         lambda *xs, a=_axis: torch.cat(xs, dim=a), joined(3, _axis))
    case(f"stack[axis={_axis}]", lambda *xs, a=_axis: cr.stack(xs, axis=a),
         lambda *xs, a=_axis: torch.stack(xs, dim=a), same(3))
case("concatenate[one]", lambda x: cr.concatenate([x]), lambda x: torch.cat([x]),
     unary(min_dims=1))
case("split[sections]", lambda x: cr.stack(cr.split(x, 2, axis=-1)[::-1]),
     lambda x: torch.stack(torch.tensor_split(x, 2, dim=-1)[::-1]),
     arrays(shapes(min_dims=1).map(lambda s: ((*s[:-1], 2 * s[-1]),))))
case("split[indices]", lambda x: cr.concatenate(cr.split(x, [1, 3])[::-1]),
     lambda x: torch.cat(torch.tensor_split(x, [1, 3])[::-1]),
     unary(min_dims=1, min_side=4))


def _torch_pad(x: object, widths: Sequence[tuple[int, int]], value: float = 0.0) -> object:
    flat = [w for lo_hi in reversed(widths) for w in lo_hi]
    return F.pad(x, flat, value=value)


case("pad", lambda x: cr.pad(x, ((1, 2), (0, 1))),
     lambda x: _torch_pad(x, ((1, 2), (0, 1))), unary(min_dims=2, max_dims=2))
case("pad[constant,scalar width]", lambda x: cr.pad(x, 1, constant_values=1.5),
     lambda x: _torch_pad(x, [(1, 1)] * x.ndim, 1.5), unary(min_dims=1))

# ----- nn -------------------------------------------------------------------------------------
for _axis in (-1, 0):
    case(f"softmax[axis={_axis}]", lambda x, a=_axis: cr.softmax(x, axis=a),
         lambda x, a=_axis: torch.softmax(x, dim=a), unary(min_dims=1))
    case(f"log_softmax[axis={_axis}]", lambda x, a=_axis: cr.log_softmax(x, axis=a),
         lambda x, a=_axis: torch.log_softmax(x, dim=a), unary(min_dims=1))
case("softmax[method,large]", lambda x: x.softmax(), lambda x: torch.softmax(x, -1),
     unary(floats(-300, 300), min_dims=1))
case("log_softmax[method,large]", lambda x: x.log_softmax(), lambda x: torch.log_softmax(x, -1),
     unary(floats(-300, 300), min_dims=1))


def _labels(shape: Sequence[int]) -> np.ndarray:
    n, c = shape
    return (np.arange(n) * 7 + 3) % c


case("cross_entropy_logits", lambda z: cr.cross_entropy_logits(z, _labels(z.shape)),
     lambda z: F.cross_entropy(z, torch.from_numpy(_labels(tuple(z.shape)))),
     unary(floats(-10, 10), min_dims=2, max_dims=2))

case("linear", cr.linear, lambda x, w, b: x @ w + b,
     st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)).flatmap(
         lambda d: st.tuples(array(d[:2]), array(d[1:]), array(d[2:]))))
case("linear[batched x]", cr.linear, lambda x, w, b: x @ w + b,
     st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).flatmap(
         lambda d: st.tuples(array((2, *d[:2])), array(d[1:]), array(d[2:]))))

# ----- linear algebra -----------------------------------------------------------------------------
_DOT = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
case("dot[1-D]", cr.dot, lambda *xs: torch.dot(*xs),
     st.integers(1, 5).flatmap(lambda n: st.tuples(array((n,)), array((n,)))))
case("dot[2-D]", cr.dot, lambda *xs: torch.mm(*xs),
     _DOT.flatmap(lambda d: st.tuples(array(d[:2]), array(d[1:]))))
case("dot[2-D,1-D]", lambda a, b: a.dot(b), lambda *xs: torch.mv(*xs),
     _DOT.flatmap(lambda d: st.tuples(array(d[:2]), array(d[1:2]))))
case("dot[0-D]", cr.dot, lambda a, b: a * b,
     shapes().flatmap(lambda s: st.tuples(array(()), array(s))))
case("outer", cr.outer, lambda *xs: torch.outer(*xs), arrays(st.tuples(
    shapes(min_dims=1, max_dims=1), shapes(min_dims=1, max_dims=1))))
case("outer[flattens]", cr.outer, lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)),
     arrays(st.tuples(shapes(min_dims=2, max_dims=2), shapes(max_dims=2))))


for _spec in ["ij,jk->ik", "ij,jk", "i,i->", "ij->", "ij->ji", "bij,bjk->bik", "ij,j->i",
              "ijk,ik->j", "ij,k->ik", "i,j->ij", "...ij,...jk->...ik", "...i->...",
              "ii->i", "ii", "iij,j->i"]:
    case(f"einsum[{_spec}]", lambda *xs, s=_spec: cr.einsum(s, *xs),
         lambda *xs, s=_spec: torch.einsum(s, *xs), einsum_inputs(_spec))
case("einsum[... broadcasts]", lambda a, b: cr.einsum("...ij,...jk->...ik", a, b),
     lambda a, b: torch.einsum("...ij,...jk->...ik", a, b),
     st.tuples(broadcastable(2, max_dims=2, max_side=3), st.integers(1, 3), st.integers(1, 3),
               st.integers(1, 3)).flatmap(lambda d: st.tuples(
                   array((*d[0][0], d[1], d[2])), array((*d[0][1], d[2], d[3])))))
case("trace", cr.trace, lambda *xs: torch.trace(*xs), unary(min_dims=2, max_dims=2))
case("trace[method]", lambda x: x.trace(), lambda x: torch.trace(x), unary(min_dims=2,
                                                                           max_dims=2))
for _off, _a1, _a2, _nd in [(0, 0, 1, 2), (1, 0, 1, 2), (-1, 0, 1, 2), (0, 1, 2, 3),
                            (1, 2, 0, 3)]:
    case(f"diagonal[offset={_off},axes={_a1},{_a2}]",
         lambda x, o=_off, a=_a1, b=_a2: cr.diagonal(x, o, a, b),
         lambda x, o=_off, a=_a1, b=_a2: torch.diagonal(x, o, a, b),
         unary(min_dims=_nd, max_dims=_nd, min_side=2))
case("diagonal[method]", lambda x: x.diagonal(), lambda x: torch.diagonal(x),
     unary(min_dims=2, max_dims=2))

_NORM_ENTRIES = unary(NONZERO, min_dims=1)


def _distinct_line_sums(x: np.ndarray, summed: int) -> np.ndarray:
    """Signs of ``x``, magnitudes in [0.2, 0.3) plus 0.15 per rank of a line (a column when
    ``summed`` is -2, a row when -1), so that no two line sums of |x| tie: they differ by
    at least 0.05 per summed entry (max over tied sums is a kink)."""
    lines = -1 if summed == -2 else -2
    mags = 0.2 + 0.1 * (np.abs(x) - np.floor(np.abs(x)))
    rank = np.argsort(np.argsort(x.sum(axis=summed, keepdims=True), axis=lines, kind="stable"),
                      axis=lines, kind="stable")
    return np.where(x < 0, -1.0, 1.0) * (mags + 0.15 * rank)


for _name, _fn, _tfn, _strategy in [
    ("norm", cr.norm, lambda x: torch.linalg.vector_norm(x), _NORM_ENTRIES),
    ("norm[axis=-1,keepdims]", lambda x: cr.norm(x, axis=-1, keepdims=True),
     lambda x: torch.linalg.vector_norm(x, dim=-1, keepdim=True), _NORM_ENTRIES),
    ("norm[ord=2,axis=0]", lambda x: x.norm(2, axis=0),
     lambda x: torch.linalg.vector_norm(x, 2, dim=0), _NORM_ENTRIES),
    ("norm[ord=1]", lambda x: cr.norm(x, 1), lambda x: torch.linalg.vector_norm(x, 1),
     unary(NONZERO, min_dims=1, max_dims=1)),
    ("norm[ord=inf]", lambda x: cr.norm(x, np.inf),
     lambda x: torch.linalg.vector_norm(x, float("inf")),
     unary(min_dims=1, max_dims=1).map(lambda xs: (distinct_magnitudes(xs[0]),))),
    ("norm[ord=3,axis=1]", lambda x: cr.norm(x, 3, axis=1),
     lambda x: torch.linalg.vector_norm(x, 3, dim=1), unary(NONZERO, min_dims=2)),
    ("norm[fro]", lambda x: cr.norm(x, "fro"), lambda x: torch.linalg.matrix_norm(x, "fro"),
     unary(NONZERO, min_dims=2, max_dims=2)),  # a 1x1 matrix near 0 sits on the kink of |x|
    ("norm[matrix ord=1]", lambda x: cr.norm(x, 1),
     lambda x: torch.linalg.matrix_norm(x, 1),
     unary(min_dims=2, max_dims=2).map(lambda xs: (_distinct_line_sums(xs[0], -2),))),
    ("norm[matrix ord=inf,axis=(1,2)]", lambda x: cr.norm(x, np.inf, axis=(1, 2)),
     lambda x: torch.linalg.matrix_norm(x, float("inf"), dim=(1, 2)),
     unary(min_dims=3, max_dims=3).map(lambda xs: (_distinct_line_sums(xs[0], -1),))),
    ("norm[ord=0.5]", lambda x: cr.norm(x, 0.5), lambda x: torch.linalg.vector_norm(x, 0.5),
     unary(NONZERO, min_dims=1, max_dims=1)),
]:
    case(_name, _fn, _tfn, _strategy)

# ----- NumPy forms met in HIPS autograd's test suite --------------------------------------
case("dot[N-D]", cr.dot, lambda a, b: torch.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2])),
     st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
     .flatmap(lambda d: st.tuples(array(d[:3]), array((d[0], d[2], d[3])))))
case("dot[1-D,N-D]", cr.dot, lambda a, b: torch.tensordot(a, b, dims=([0], [1])),
     _DOT.flatmap(lambda d: st.tuples(array(d[1:2]), array((d[0], d[1], d[2])))))
case("einsum[sublists]", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]),
     lambda a, b: torch.einsum("ij,jk->ik", a, b),
     _DOT.flatmap(lambda d: st.tuples(array(d[:2]), array(d[1:]))))
case("einsum[size-0 batch]", lambda a, b: cr.einsum("...ij,...jk->...ik", a, b),
     lambda a, b: torch.einsum("...ij,...jk->...ik", a, b),
     st.tuples(array((0, 2, 3)), array((1, 3, 2))))
# over one element std is identically 0: derivative 0 (sqrt's rule alone would give 0/0)
case("std[one element]", lambda x: cr.std(x, axis=0), lambda x: (x - x).sum(0),
     unary(min_dims=1, max_dims=3).map(lambda xs: (xs[0][:1],)))

# The rest of the table, one module per kind of primitive; each registers its rows with case().
import cases_arrays  # noqa: E402, F401
import cases_cumulative  # noqa: E402, F401
import cases_linalg  # noqa: E402, F401
import cases_ufuncs  # noqa: E402, F401

CASES_BY_NAME: dict[str, Case] = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"

