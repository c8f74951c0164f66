"""Shape primitives: they move numbers around without changing them, so each
vjp moves the cotangent back (reshape back, transpose back, sum what was
broadcast) and each jvp applies the same move to the tangent."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chainrule.batching import axis_in
from chainrule.primitive import primitive


def normalize_axes(axis: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for an array of {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def named_error(op: str, error: Exception, x) -> Exception:
    """NumPy's ``error`` (a bad axis, say) with the operation and the input's shape named."""
    return type(error)(f"{op}: {error} (input of shape {np.shape(x)})")


def sum_to_shape(g, shape: tuple[int, ...], op: str = "broadcast"):
    """Undo broadcasting: sum ``g`` over the axes that broadcasting added or
    stretched, so that it has ``shape``. The one place broadcasting is undone."""
    gshape = g.shape
    lead = len(gshape) - len(shape)
    if lead > 0 and gshape[lead:] == shape and type(g) is np.ndarray:  # a bias's gradient:
        return np.add.reduce(g, axis=tuple(range(lead)))  # only leading axes were added
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, gshape[lead:])):
        raise ValueError(f"{op}: a gradient of shape {gshape} does not fit an input of "
                         f"shape {shape}")
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and gshape[lead + i] != 1)
    if type(g) is np.ndarray:  # an ordinary backward: NumPy directly (nothing to record)
        if len(axes) == lead:  # only leading axes were added: summing them leaves ``shape``
            return np.add.reduce(g, axis=axes) if axes else g
        return np.add.reduce(g, axis=axes, keepdims=True).reshape(shape)
    if axes:
        from chainrule.ops.reduce import sum

        g = sum(g, axis=axes, keepdims=True)
    if lead:
        g = reshape(g, shape)
    return g


@primitive
def reshape(x, shape):
    """x with a new shape of the same size (-1 infers one dimension)."""
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape an array of shape {np.shape(x)} "
                         f"(size {np.size(x)}) into shape {shape}") from None


reshape.defvjp(lambda g, ans, x, shape: reshape(g, x.shape))
reshape.defjvp(lambda t, ans, x, shape: reshape(t, ans.shape))


@primitive
def transpose(x, axes=None):
    """x with its axes permuted (reversed when ``axes`` is None)."""
    try:
        return np.transpose(x, axes)
    except ValueError:
        raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                         f"{np.ndim(x)} axes of shape {np.shape(x)}") from None


def _inverse_permutation(axes, ndim):
    return None if axes is None else tuple(np.argsort([a % ndim for a in axes]))


transpose.defvjp(lambda g, ans, x, axes=None: transpose(g, _inverse_permutation(axes, x.ndim)))
transpose.defjvp(lambda t, ans, x, axes=None: transpose(t, axes))

permute = transpose


@primitive
def swapaxes(x, axis1, axis2):
    """x with two axes exchanged."""
    try:
        return np.swapaxes(x, axis1, axis2)
    except ValueError as e:
        raise named_error("swapaxes", e, x) from None


swapaxes.defvjp(lambda g, ans, x, axis1, axis2: swapaxes(g, axis1, axis2), None, None)
swapaxes.defjvp(lambda t, ans, x, axis1, axis2: swapaxes(t, axis1, axis2), None, None)


@primitive
def broadcast_to(x, shape):
    """x repeated along new or size-1 axes to ``shape``."""
    try:
        return np.broadcast_to(x, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {np.shape(x)} to "
                         f"{tuple(shape)}") from None


broadcast_to.defvjp(lambda g, ans, x, shape: sum_to_shape(g, x.shape, "broadcast_to"))
broadcast_to.defjvp(lambda t, ans, x, shape: broadcast_to(t, ans.shape))

expand = broadcast_to


def unsqueeze(x, axis: int):
    """x with a new axis of length 1 at ``axis`` (``np.expand_dims``)."""
    shape = list(np.shape(x))
    n = len(shape) + 1
    if not -n <= axis < n:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a result of {n} dims")
    shape.insert(axis % n, 1)
    return reshape(x, tuple(shape))


expand_dims = unsqueeze


def squeeze(x, axis: int | Sequence[int] | None = None):
    """x without axes of length 1 (only ``axis`` when given; it must have length 1)."""
    shape = np.shape(x)
    axes = normalize_axes(axis, len(shape), "squeeze")
    if axis is None:
        axes = tuple(i for i in axes if shape[i] == 1)
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {shape} has length {shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def flatten(x, start_axis: int = 0, end_axis: int = -1):
    """x with axes ``start_axis..end_axis`` merged into one."""
    shape = np.shape(x)
    if not shape:
        return reshape(x, (1,))
    s, e = start_axis % len(shape), end_axis % len(shape)
    if s > e:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis}")
    return reshape(x, shape[:s] + (-1,) + shape[e + 1:])


# ----- vmap: each example's shape argument gets the batch axis in front ----------------
def _as_shape(shape) -> tuple:
    return (shape,) if isinstance(shape, int | np.integer) else tuple(shape)


def _transpose_batch(flags, x, axes=None):
    nd = x.ndim - 1
    if axes is None:
        return transpose(x, (0, *range(nd, 0, -1)))
    return transpose(x, (0, *(axis_in(a, nd, "transpose") for a in axes)))


def _broadcast_batch(flags, x, shape):
    shape = _as_shape(shape)
    lead = (1,) * (len(shape) + 1 - x.ndim)  # example axes NumPy would add on the left
    return broadcast_to(reshape(x, (x.shape[0], *lead, *x.shape[1:])), (x.shape[0], *shape))


reshape.defbatch(lambda flags, x, shape: reshape(x, (x.shape[0], *_as_shape(shape))))
transpose.defbatch(_transpose_batch)
swapaxes.defbatch(lambda flags, x, a, b: swapaxes(x, axis_in(a, x.ndim - 1, "swapaxes"),
                                                  axis_in(b, x.ndim - 1, "swapaxes")))
broadcast_to.defbatch(_broadcast_batch)


NUMPY = {
    np.reshape: reshape, np.transpose: transpose, np.swapaxes: swapaxes, np.squeeze: squeeze,
    np.expand_dims: unsqueeze, np.broadcast_to: broadcast_to,
}
