"""Primitive-table rows for chainrule.ops: arrange, join."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from case_strategies import Arrays, array, arrays, distinct, joined, same, shapes, unary
from case_table import case
from hypothesis import strategies as st

import chainrule as cr

try:
    import torch
except ImportError:  # the finite-difference checks run without PyTorch
    torch = None


def _t(a: np.ndarray) -> object:
    return torch.from_numpy(a)


def _distinct(**shape_kw: int) -> Arrays:
    """One array without ties (values at least 0.2 apart): sort's gradient is unique."""
    return unary(**shape_kw).map(lambda xs: (distinct(xs[0]),))


def _doubled(axis: int, min_dims: int) -> Arrays:
    """One array whose ``axis`` has even length (for splits into two equal sections)."""
    def double(s: tuple[int, ...]) -> tuple[tuple[int, ...]]:
        s = list(s)
        s[axis] *= 2
        return (tuple(s),)
    return arrays(shapes(min_dims=min_dims).map(double))


def _picks(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Indices along ``axis`` for take_along_axis, of ``shape`` with ``axis`` one longer:
    every element picked, some twice (their cotangents add)."""
    longer = tuple(n + (i == axis % len(shape)) for i, n in enumerate(shape))
    return np.indices(longer).sum(axis=0) * 2 % shape[axis]


def _repeats(n: int) -> np.ndarray:
    return np.arange(n) % 3  # 0, 1, 2, 0, ...: a dropped element and repeated ones


def _parts(p: object, stack: Callable) -> object:
    """The sum below position 2, the element at 2 and the sum above it: what a partition
    at kth=2 fixes (the order within each part is unspecified)."""
    return stack([p[..., :2].sum(-1), p[..., 2], p[..., 3:].sum(-1)])


def _all_dims(x: object) -> tuple[int, ...]:
    return tuple(range(x.ndim))


# ----- arrange: sort, partition ---------------------------------------------------------------
for _name, _fn, _tfn, _inputs in [
    ("sort", cr.sort, lambda x: torch.sort(x).values, _distinct(min_dims=1)),
    ("sort[axis=0]", lambda x: cr.sort(x, axis=0), lambda x: torch.sort(x, dim=0).values,
     _distinct(min_dims=1)),
    ("sort[axis=None]", lambda x: cr.sort(x, axis=None),
     lambda x: torch.sort(x.ravel()).values, _distinct()),
    ("partition[kth=2,parts]", lambda x: _parts(cr.partition(x, 2), cr.stack),
     lambda x: _parts(torch.sort(x).values, torch.stack), _distinct(min_dims=1, min_side=3)),
    ("partition[kth=(0,2),axis=0]", lambda x: cr.sort(cr.partition(x, (0, 2), axis=0), axis=0),
     lambda x: torch.sort(x, dim=0).values, _distinct(min_dims=1, min_side=3)),
    ("partition[kth=-1,axis=None]", lambda x: cr.partition(x, -1, axis=None)[-1],
     lambda x: x.max(), _distinct()),
]:
    case(_name, _fn, _tfn, _inputs)

# ----- arrange: permutations and selections ----------------------------------------------------
for _name, _fn, _tfn, _kw in [
    ("roll[shift=2]", lambda x: cr.roll(x, 2), lambda x: torch.roll(x, 2), {"min_dims": 1}),
    ("roll[shift=-1,axis=1]", lambda x: cr.roll(x, -1, axis=1),
     lambda x: torch.roll(x, -1, 1), {"min_dims": 2}),
    ("roll[shift=(1,-2),axis=(0,-1)]", lambda x: cr.roll(x, (1, -2), (0, -1)),
     lambda x: torch.roll(x, (1, -2), (0, -1)), {"min_dims": 2}),
    ("flip", cr.flip, lambda x: torch.flip(x, _all_dims(x)), {}),
    ("flip[axis=-1]", lambda x: cr.flip(x, -1), lambda x: torch.flip(x, (-1,)), {"min_dims": 1}),
    ("flip[axis=(0,2)]", lambda x: cr.flip(x, (0, 2)), lambda x: torch.flip(x, (0, 2)),
     {"min_dims": 3}),
    ("fliplr", cr.fliplr, lambda x: torch.fliplr(x), {"min_dims": 2}),
    ("flipud", cr.flipud, lambda x: torch.flipud(x), {"min_dims": 1}),
    ("rot90", cr.rot90, lambda x: torch.rot90(x), {"min_dims": 2}),
    ("rot90[k=2]", lambda x: cr.rot90(x, 2), lambda x: torch.rot90(x, 2), {"min_dims": 2}),
    ("rot90[k=-1,axes=(2,0)]", lambda x: cr.rot90(x, -1, (2, 0)),
     lambda x: torch.rot90(x, -1, (2, 0)), {"min_dims": 3}),
    ("rot90[k=4]", lambda x: cr.rot90(x, 4), lambda x: torch.rot90(x, 4), {"min_dims": 2}),
    ("tile[reps=2]", lambda x: cr.tile(x, 2), lambda x: torch.tile(x, (2,)), {}),
    ("tile[reps=(2,1,3)]", lambda x: cr.tile(x, (2, 1, 3)), lambda x: torch.tile(x, (2, 1, 3)),
     {}),
    ("repeat[2]", lambda x: cr.repeat(x, 2), lambda x: torch.repeat_interleave(x, 2), {}),
    ("repeat[3,axis=-1]", lambda x: cr.repeat(x, 3, axis=-1),
     lambda x: torch.repeat_interleave(x, 3, dim=-1), {"min_dims": 1}),
    ("repeat[per element,axis=0]", lambda x: cr.repeat(x, _repeats(x.shape[0]), axis=0),
     lambda x: torch.repeat_interleave(x, _t(_repeats(x.shape[0])), dim=0), {"min_dims": 1}),
    ("take", lambda x: cr.take(x, np.arange(7) % x.size),
     lambda x: torch.take(x, _t(np.arange(7) % x.numel())), {}),
    ("take[axis=1,repeated]", lambda x: cr.take(x, _repeats(5) % x.shape[1], axis=1),
     lambda x: torch.index_select(x, 1, _t(_repeats(5) % x.shape[1])), {"min_dims": 2}),
    ("take_along_axis[axis=-1]", lambda x: cr.take_along_axis(x, _picks(x.shape, -1), -1),
     lambda x: torch.take_along_dim(x, _t(_picks(tuple(x.shape), -1)), -1), {"min_dims": 1}),
    ("take_along_axis[axis=0]", lambda x: cr.take_along_axis(x, _picks(x.shape, 0), axis=0),
     lambda x: torch.take_along_dim(x, _t(_picks(tuple(x.shape), 0)), 0), {"min_dims": 2}),
    ("take_along_axis[axis=None]",
     lambda x: cr.take_along_axis(x, _repeats(x.size + 2) % x.size, axis=None),
     lambda x: torch.take_along_dim(x, _t(_repeats(x.numel() + 2) % x.numel()), None), {}),
    ("moveaxis[0,-1]", lambda x: cr.moveaxis(x, 0, -1), lambda x: torch.movedim(x, 0, -1),
     {"min_dims": 1}),
    ("moveaxis[(0,1),(2,0)]", lambda x: cr.moveaxis(x, (0, 1), (2, 0)),
     lambda x: torch.movedim(x, (0, 1), (2, 0)), {"min_dims": 3}),
    ("rollaxis[2]", lambda x: cr.rollaxis(x, 2), lambda x: torch.movedim(x, 2, 0),
     {"min_dims": 3}),
    ("rollaxis[0,start=3]", lambda x: cr.rollaxis(x, 0, 3), lambda x: torch.movedim(x, 0, 2),
     {"min_dims": 3, "max_dims": 3}),
    ("ravel", cr.ravel, lambda x: torch.ravel(x), {}),
    ("ravel[F]", lambda x: cr.ravel(x, "F"), lambda x: torch.ravel(x.permute(
        _all_dims(x)[::-1])), {}),
    ("atleast_1d", cr.atleast_1d, lambda x: torch.atleast_1d(x), {}),
    ("atleast_2d", cr.atleast_2d, lambda x: torch.atleast_2d(x), {}),
    ("atleast_3d", cr.atleast_3d, lambda x: torch.atleast_3d(x), {}),
]:
    case(_name, _fn, _tfn, unary(**_kw))
case("atleast_2d[several]", lambda x, y: cr.concatenate(cr.atleast_2d(x, y), axis=1),
     lambda x, y: torch.cat(torch.atleast_2d(x, y), dim=1),
     arrays(st.just(((), (1, 3)))))


# ----- join ---------------------------------------------------------------------------------
def _shapes(*shape_tuples: st.SearchStrategy) -> Arrays:
    return arrays(st.tuples(*shape_tuples))


def _vector() -> st.SearchStrategy[tuple[int, ...]]:
    return shapes(min_dims=1, max_dims=1)


def _columns() -> Arrays:
    """A vector of length n and a matrix with n rows (column_stack's mixed inputs)."""
    return st.tuples(st.integers(1, 4), st.integers(1, 3)).flatmap(
        lambda nk: st.tuples(array((nk[0],)), array(nk)))


def _agreeing(n: int, axis: int, min_dims: int = 1) -> Arrays:
    """``n`` arrays of ``min_dims`` or more dimensions (more than ``axis``) that agree outside
    ``axis``."""
    return st.tuples(shapes(min_dims=max(axis + 1, min_dims)),
                     st.lists(st.integers(1, 3), min_size=n, max_size=n)
                     ).flatmap(lambda d: st.tuples(*[array(d[0][:axis] + (k,) + d[0][axis + 1:])
                                                     for k in d[1]]))


for _name, _fn, _tfn, _inputs in [
    ("append", cr.append, lambda x, y: torch.cat([x.ravel(), y.ravel()]),
     _shapes(shapes(), shapes())),
    ("append[axis=1]", lambda x, y: cr.append(x, y, axis=1),
     lambda x, y: torch.cat([x, y], dim=1), _agreeing(2, 1)),
    ("hstack", lambda *xs: cr.hstack(xs), lambda *xs: torch.hstack(xs), joined(3, 1)),
    ("hstack[1-D and scalar]", lambda *xs: cr.hstack(xs), lambda *xs: torch.hstack(xs),
     _shapes(_vector(), st.just(()), _vector())),
    ("vstack", lambda *xs: cr.vstack(xs), lambda *xs: torch.vstack(xs), _agreeing(2, 0, 2)),
    ("vstack[1-D]", lambda *xs: cr.vstack(xs), lambda *xs: torch.vstack(xs),
     same(3, min_dims=1, max_dims=1)),
    ("row_stack", lambda *xs: cr.row_stack(xs), lambda *xs: torch.row_stack(xs), same(2)),
    ("dstack", lambda *xs: cr.dstack(xs), lambda *xs: torch.dstack(xs), _agreeing(2, 2)),
    ("dstack[1-D and 2-D]", lambda *xs: cr.dstack(xs), lambda *xs: torch.dstack(xs),
     same(2, max_dims=2)),
    ("column_stack", lambda *xs: cr.column_stack(xs), lambda *xs: torch.column_stack(xs),
     _columns()),
    ("column_stack[1-D]", lambda *xs: cr.column_stack(xs), lambda *xs: torch.column_stack(xs),
     same(2, min_dims=1, max_dims=1)),
]:
    case(_name, _fn, _tfn, _inputs)

for _name, _fn, _tfn, _inputs in [
    ("array_split[3,axis=-1]", lambda x: cr.concatenate(cr.array_split(x, 3, -1)[::-1], -1),
     lambda x: torch.cat(torch.tensor_split(x, 3, -1)[::-1], -1), unary(min_dims=1)),
    ("array_split[indices]", lambda x: cr.concatenate(cr.array_split(x, [1, 3])[::-1]),
     lambda x: torch.cat(torch.tensor_split(x, [1, 3])[::-1]), unary(min_dims=1)),
    ("array_split[first piece]", lambda x: cr.array_split(x, 2)[0],
     lambda x: torch.tensor_split(x, 2)[0], unary(min_dims=1, min_side=2)),
    ("hsplit[2]", lambda x: cr.stack(cr.hsplit(x, 2)[::-1]),
     lambda x: torch.stack(torch.hsplit(x, 2)[::-1]), _doubled(1, 2)),
    ("hsplit[1-D,indices]", lambda x: cr.concatenate(cr.hsplit(x, [2])[::-1]),
     lambda x: torch.cat(torch.hsplit(x, [2])[::-1]), unary(min_dims=1, max_dims=1)),
    ("vsplit[2]", lambda x: cr.stack(cr.vsplit(x, 2)[::-1]),
     lambda x: torch.stack(torch.vsplit(x, 2)[::-1]), _doubled(0, 2)),
    ("dsplit[indices]", lambda x: cr.concatenate(cr.dsplit(x, [1])[::-1], axis=2),
     lambda x: torch.cat(torch.dsplit(x, [1])[::-1], dim=2), unary(min_dims=3)),
]:
    case(_name, _fn, _tfn, _inputs)
