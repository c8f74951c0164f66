"""Joining and splitting: append, hstack, vstack, dstack, column_stack, array_split, hsplit.

NumPy's conveniences around ``concatenate`` and ``split``, with NumPy's shape rules (1-D
inputs to hstack/vstack/column_stack, array_split's uneven sections). Each is built from
the primitives ``concatenate``, ``getitem`` and ``reshape``, so it needs no rules of its
own: the vjp of a join hands each input its slice of the cotangent, and the vjp of a split
places each piece's cotangent back in its slice (zero for pieces that are not used).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import numpy as np

from chainrule.ops.arrange import atleast_1d, atleast_2d, atleast_3d, check_axis, ravel
from chainrule.ops.indexing import concatenate, split
from chainrule.ops.shape import reshape
from chainrule.tensor import Tensor

__all__ = [
    "append", "array_split", "column_stack", "dsplit", "dstack", "hsplit", "hstack",
    "row_stack", "vsplit", "vstack",
]

Sections = int | Sequence[int]


def _join(arrays: Sequence, axis: int, op: str) -> Any:
    """``concatenate(arrays, axis)`` with its errors naming ``op``."""
    try:
        return concatenate(arrays, axis=axis)
    except ValueError as e:
        raise ValueError(f"{op}: {e}") from None


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """``values`` joined after ``arr`` along ``axis``, as ``np.append``: with axis None both
    are flattened first; otherwise they must agree in every other dimension.

    Derivative: each input receives its own slice of the cotangent.
    """
    if axis is None:
        return _join([ravel(arr), ravel(values)], 0, "append")
    return _join([arr, values], axis, "append")


def hstack(tup: Sequence, *, casting: str = "same_kind") -> Any:
    """The arrays joined horizontally, as ``np.hstack``: along axis 1, or along axis 0 when
    they are 1-D (scalars count as 1-D). Each input's cotangent is its slice of the output's.
    ``casting`` is accepted for NumPy's signature."""
    arrays = [atleast_1d(a) for a in tup]
    return _join(arrays, 0 if arrays and arrays[0].ndim == 1 else 1, "hstack")


def vstack(tup: Sequence, *, casting: str = "same_kind") -> Any:
    """The arrays joined vertically (along axis 0), as ``np.vstack``: 1-D arrays of length n
    become rows of shape (1, n) first. Each input's cotangent is its slice of the output's.
    ``casting`` is accepted for NumPy's signature."""
    return _join([atleast_2d(a) for a in tup], 0, "vstack")


row_stack = vstack


def dstack(tup: Sequence, *, casting: str = "same_kind") -> Any:
    """The arrays joined along the third axis, as ``np.dstack``: (n,) becomes (1, n, 1) and
    (m, n) becomes (m, n, 1) first. Each input's cotangent is its slice of the output's.
    ``casting`` is accepted for NumPy's signature."""
    return _join([atleast_3d(a) for a in tup], 2, "dstack")


def column_stack(tup: Sequence) -> Any:
    """The arrays as columns side by side, as ``np.column_stack``: a 1-D array of length n
    becomes a column of shape (n, 1); arrays of 2 or more dimensions join along axis 1.
    Each input's cotangent is its slice of the output's."""
    return _join([reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup], 1,
                 "column_stack")


def _split(x: Any, sections: Sections, axis: int, op: str, even: bool) -> list:
    """x split along ``axis`` at the given indices, or into ``sections`` pieces: equal ones
    (``even``, as ``np.split``) or, as ``np.array_split``, the first ``n % sections`` one
    element longer."""
    shape = np.shape(x)
    ax = check_axis(axis, shape, op)
    n = shape[ax]
    if isinstance(sections, int | np.integer):
        if sections <= 0:
            raise ValueError(f"{op}: the number of sections must be positive, got {sections}")
        if even and n % sections:
            raise ValueError(f"{op}: axis {ax} of length {n} (array of shape {shape}) does not "
                             f"divide into {sections} equal sections (array_split allows "
                             "unequal ones)")
        each, extra = divmod(n, int(sections))
        sizes = [each + 1] * extra + [each] * (int(sections) - extra)
        sections = list(accumulate(sizes[:-1]))
    return split(x if isinstance(x, Tensor) else np.asarray(x), [int(i) for i in sections], ax)


def array_split(x: Any, indices_or_sections: Sections, axis: int = 0) -> list:
    """x split along ``axis`` into ``indices_or_sections`` pieces that may differ in length
    by one (the longer first), or at the given indices, as ``np.array_split``: a list.

    Derivative: each piece's cotangent goes back to its slice of x.
    """
    return _split(x, indices_or_sections, axis, "array_split", even=False)


def _split_along(x: Any, sections: Sections, axis: int, ndim: int, op: str) -> list:
    if np.ndim(x) < ndim:
        raise ValueError(f"{op}: the input must have at least {ndim} dimensions, got shape "
                         f"{np.shape(x)}")
    return _split(x, sections, axis, op, even=True)


def hsplit(x: Any, indices_or_sections: Sections) -> list:
    """x split horizontally into equal sections or at indices, as ``np.hsplit``: along axis
    1, or axis 0 for a 1-D x. Each piece's cotangent goes back to its slice of x."""
    return _split_along(x, indices_or_sections, 1 if np.ndim(x) > 1 else 0, 1, "hsplit")


def vsplit(x: Any, indices_or_sections: Sections) -> list:
    """x split vertically (along axis 0), as ``np.vsplit``; x needs 2 or more dimensions.
    Each piece's cotangent goes back to its slice of x."""
    return _split_along(x, indices_or_sections, 0, 2, "vsplit")


def dsplit(x: Any, indices_or_sections: Sections) -> list:
    """x split along the third axis, as ``np.dsplit``; x needs 3 or more dimensions.
    Each piece's cotangent goes back to its slice of x."""
    return _split_along(x, indices_or_sections, 2, 3, "dsplit")


NUMPY = {
    np.append: append, np.hstack: hstack, np.vstack: vstack, np.dstack: dstack,
    np.column_stack: column_stack, np.array_split: array_split, np.hsplit: hsplit,
    np.vsplit: vsplit, np.dsplit: dsplit,
}
