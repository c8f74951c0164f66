"""Indexing and joining: ``t[...]``, scatter-add, concatenate, stack, split, pad.

Reading ``x[index]`` and scatter-adding into zeros are each other's
transpose, so each is the other's vjp; repeated integer indices add up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule import backend
from chainrule.ops.shape import unsqueeze
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
