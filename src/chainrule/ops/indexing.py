"""Indexing and joining: ``t[...]``, scatter-add, concatenate, stack, split, pad.

Reading ``x[index]`` and scatter-adding into zeros are each other's
transpose, so each is the other's vjp; repeated integer indices add up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule import backend
from chainrule.batching import Logical, axis_in, loop
from chainrule.jit.hook import Traced
from chainrule.ops.batch_rules import align, batch_size, move_axis
from chainrule.ops.shape import broadcast_to, unsqueeze
from chainrule.primitive import EachArgument, primitive
from chainrule.tensor import Tensor


def _basic(index) -> bool:
    """True for indices made of ints, slices, None and Ellipsis: no element repeats."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, int | slice | np.integer) or i is None or i is Ellipsis
               for i in items)


@primitive
def getitem(x, index):
    """x[index]: basic slicing, integer arrays and boolean masks, as NumPy."""
    try:
        return x[index]
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} into shape {np.shape(x)}: {e}") from None


@primitive
def scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeats accumulate)."""
    out = backend.zeros(shape, np.result_type(g), like=g)
    if _basic(index):
        out[index] = g
    else:
        backend.add_at(out, index, g)
    return out


getitem.defvjp(lambda g, ans, x, index: scatter_add(g, index, x.shape), None)
getitem.defjvp(lambda t, ans, x, index: getitem(t, index), None)
scatter_add.defvjp(lambda g, ans, v, index, shape: getitem(g, index), None, None)
scatter_add.defjvp(lambda t, ans, v, index, shape: scatter_add(t, index, shape), None, None)


@primitive
def _concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


_concatenate.name = "concatenate"


def _piece(i, g, ans, *arrays, axis=0):
    """The slice of g that came from argument i."""
    start = int(np.sum([a.shape[axis] for a in arrays[:i]], dtype=int))
    index = [slice(None)] * g.ndim
    index[axis] = slice(start, start + arrays[i].shape[axis])
    return getitem(g, tuple(index))


_concatenate.defvjp(EachArgument(_piece))
_concatenate.defjvp(EachArgument(lambda i, t, ans, *arrays, axis=0: _concatenate(
    *[t if j == i else a * 0 for j, a in enumerate(arrays)], axis=axis)))


def concatenate(arrays: Sequence, axis: int = 0):
    """Join arrays along an existing axis."""
    # nested lists as arrays (a list operand's forward tangent would be ``list * 0``)
    arrays = [a if isinstance(a, Tensor) else backend.as_array(a) for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array")
    shapes = [np.shape(a) for a in arrays]
    nd = len(shapes[0])
    if nd == 0 or any(len(s) != nd for s in shapes):
        raise ValueError(f"concatenate: arrays of shapes {shapes} must have the same, non-zero "
                         "number of dimensions")
    ax = axis % nd
    if any(s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
        raise ValueError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    return _concatenate(*arrays, axis=ax)


def stack(arrays: Sequence, axis: int = 0):
    """Join arrays of the same shape along a new axis."""
    arrays = list(arrays)
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: arrays must have the same shape, got {sorted(shapes)}")
    nd = len(shapes.pop()) + 1
    return concatenate([unsqueeze(a, axis % nd) for a in arrays], axis=axis % nd)


def split(x, indices_or_sections: int | Sequence[int], axis: int = 0) -> list:
    """Split x along ``axis`` into equal sections or at the given indices."""
    n = np.shape(x)[axis]
    if isinstance(indices_or_sections, int | np.integer):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0, *indices_or_sections, n]
    index = [slice(None)] * np.ndim(x)
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(lo, hi)
        pieces.append(getitem(x, tuple(index)))
    return pieces


def _pad_widths(pad_width, ndim):
    return np.broadcast_to(np.asarray(pad_width, dtype=int), (ndim, 2))


@primitive
def pad(x, pad_width, constant_values=0):
    """x surrounded by ``constant_values`` (NumPy's ``mode='constant'``)."""
    try:
        return np.pad(x, pad_width, mode="constant", constant_values=constant_values)
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit an array of shape "
                         f"{np.shape(x)} (give (before, after) per axis, or one pair or int "
                         "for all)") from None


def _interior(g, x, pad_width):
    w = _pad_widths(pad_width, x.ndim)
    return getitem(g, tuple(slice(lo, lo + n) for (lo, _), n in zip(w, x.shape)))


pad.defvjp(lambda g, ans, x, pad_width, constant_values=0: _interior(g, x, pad_width), None)
pad.defjvp(lambda t, ans, x, pad_width, constant_values=0: pad(t, pad_width, 0), None)


@primitive
def index_update(x, index, value):
    """A copy of x with ``x[index] = value`` (the out-of-place form of assignment)."""
    out = backend.copy(x)
    out[index] = value
    return out


def _kept_writes(g, index, shape):
    """g[index], zero where the write was overwritten: with a repeated integer index,
    ``x[index] = v`` keeps one write per element (the last, in NumPy), so only that element
    of v reaches the output. Found by writing ids with the same index."""
    part = getitem(g, index)
    if _basic(index):
        return part
    xp = backend.array_namespace(g)  # the index may be on a GPU with g: compute there
    written = np.shape(part)
    ids = xp.arange(int(np.prod(written))).reshape(written)
    owner = index_update(xp.full(shape, -1), index, ids)  # primitives: a traced index works
    return part * (getitem(owner, index) == ids)


# d (x with x[i] = v) = dx with zeros at i, plus dv placed at i (the writes that stayed)
index_update.defvjp(lambda g, ans, x, index, value: index_update(g, index, 0.0),
                    None,
                    lambda g, ans, x, index, value: _kept_writes(g, index, x.shape))
index_update.defjvp(lambda t, ans, x, index, value: index_update(t, index, 0.0),
                    None,
                    lambda t, ans, x, index, value: index_update(ans * 0, index, t))


def pad_numpy(array, pad_width, mode="constant", constant_values=0):
    """``np.pad`` on Tensors: ``mode='constant'`` (the only mode differentiated) is
    :func:`pad`; any other mode is refused by name."""
    if mode != "constant":
        raise NotImplementedError(f"np.pad: mode={mode!r} is not differentiable in chainrule "
                                  "(only mode='constant'); build it from slices and "
                                  "concatenate")
    return pad(array, pad_width, constant_values)


NUMPY = {np.concatenate: concatenate, np.stack: stack, np.split: split, np.pad: pad_numpy}


# ----- vmap ----------------------------------------------------------------------------
def _is_array(i) -> bool:
    return isinstance(i, list | tuple) or (hasattr(i, "ndim") and hasattr(i, "dtype") and (
        i.ndim > 0 or i.dtype == bool))


def _batch_position(index: tuple) -> int:
    """Where the batch axis lands in ``x[(slice(None), *index)]``: first, unless the index's
    advanced (array) indices are separated by a slice, in which case NumPy puts their axes
    first and the batch axis right after them."""
    arrays = [k for k, i in enumerate(index) if _is_array(i)]
    if not arrays:
        return 0
    advanced = [k for k, i in enumerate(index) if k in arrays or isinstance(i, int | np.integer)]
    if advanced[-1] - advanced[0] + 1 == len(advanced):
        return 0
    return len(np.broadcast_shapes(*[(1,) if _kind(index[k]) == "b"
                                     else np.shape(index[k]) for k in arrays]))


def _kind(i) -> str:
    """The dtype kind of an index array (a list is read as NumPy reads it as an index, not
    as ``np.result_type`` reads a list: a structured-dtype spec)."""
    return np.asarray(i).dtype.kind if isinstance(i, list) else np.result_type(i).kind


def _as_tuple(index) -> tuple:
    return index if isinstance(index, tuple) else (index,)


def _index_values(index):
    """A batched index's raw integer values (None when they are batched at a lower level)."""
    if isinstance(index, Tensor):
        index = index._data
    if isinstance(index, Logical):
        return None
    if isinstance(index, Traced):  # jit: the values come at replay, where NumPy checks bounds
        return index
    if _kind(index) == "b":
        raise ValueError("vmap: x[mask] with a batched boolean mask has as many elements as "
                         "the mask has True entries, which differs between examples; use "
                         "chainrule.where(mask, x, 0) instead")
    return np.asarray(index)


def _rows(n: int, idx: np.ndarray) -> np.ndarray:
    return np.arange(n).reshape((n,) + (1,) * (idx.ndim - 1))


def _check_rows(idx: np.ndarray, m: int) -> None:
    if isinstance(idx, Traced):
        return
    if idx.size and (idx.min() < -m or idx.max() >= m):
        bad = idx[(idx < -m) | (idx >= m)].flat[0]
        raise IndexError(f"getitem: index {bad} is out of bounds for axis 0 with size {m}")


def _getitem_batch(flags, x, index):
    if flags[1]:  # a batched integer index (z[y], a label per example) into axis 0
        idx = _index_values(index)
        if idx is None:
            return loop(getitem, flags, [x, index], {}, index.shape[0], warn=False)
        if not flags[0]:
            return getitem(x, idx)
        _check_rows(idx, x.shape[1])
        return getitem(x, (_rows(x.shape[0], idx), idx))
    index = _as_tuple(index)
    return move_axis(getitem(x, (slice(None), *index)), _batch_position(index), 0)


def _scatter_add_batch(flags, g, index, shape):
    n = batch_size(flags, (g, index))
    if flags[1]:
        idx = _index_values(index)
        if idx is None:
            return loop(scatter_add, flags, [g, index, shape], {}, n, warn=False)
        g = g if flags[0] else broadcast_to(g, (n, *np.shape(g)))
        return scatter_add(g, (_rows(n, idx), idx), (n, *shape))
    index = _as_tuple(index)
    return scatter_add(move_axis(g, 0, _batch_position(index)), (slice(None), *index),
                       (n, *shape))


def _index_update_batch(flags, x, index, value):
    n = batch_size(flags, (x, index, value))
    if flags[1]:
        return loop(index_update, flags, [x, index, value], {}, n, warn=False)
    if not flags[0]:
        x = broadcast_to(x, (n, *np.shape(x)))
    index = _as_tuple(index)
    if flags[2]:
        region = np.broadcast_to(np.zeros((), bool), x.shape[1:])[index].shape
        value = move_axis(align((False, True), (np.broadcast_to(False, region), value))[1], 0,
                          _batch_position(index))
    return index_update(x, (slice(None), *index), value)


def _concatenate_batch(flags, *arrays, axis=0):
    n = batch_size(flags, arrays)
    arrays = [a if b else broadcast_to(a, (n, *np.shape(a))) for b, a in zip(flags, arrays)]
    return _concatenate(*arrays, axis=axis_in(axis, arrays[0].ndim - 1, "concatenate"))


def _pad_batch(flags, x, pad_width, constant_values=0):
    if not flags[0] or any(flags[1:]):
        return loop(pad, flags, [x, pad_width, constant_values], {}, batch_size(flags, (
            x, pad_width, constant_values)), warn=False)
    return pad(x, [(0, 0), *_pad_widths(pad_width, x.ndim - 1).tolist()], constant_values)


getitem.defbatch(_getitem_batch)
scatter_add.defbatch(_scatter_add_batch)
index_update.defbatch(_index_update_batch)
_concatenate.defbatch(_concatenate_batch)
pad.defbatch(_pad_batch)
