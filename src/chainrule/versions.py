"""Version counters shared by views, and the versions a forward-mode tangent is current for.

A tensor whose array shares memory with another tensor's (a view: reshape, slicing,
transpose, detach, ...) reads and bumps the version of the tensor that is no view itself
(its ``_base``), so an in-place change through any alias is seen by every node that saved
one of them. A dual (forward mode) records the versions for which its tangent is current,
and a tangent used after its memory changed is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor


def view_of(t: Tensor, of: Tensor) -> None:
    """Make ``t`` (whose array shares memory with ``of``'s) an alias of ``of``: both
    read and bump one version counter, kept by the tensor that is no view itself."""
    base = of._base
    if base is None:
        base = of
    t._base = base
    base._viewed = True


def share_versions(t: Tensor, args: tuple) -> None:
    """After a primitive made ``t`` from ``args``, whose array is a view (it has a ``base``)
    or one of the arguments' arrays itself: if that memory is a Tensor argument's
    (reshape, slicing, transpose, broadcast_to, a user's primitive returning a view or
    its input...), make ``t`` that argument's alias."""
    data = t._data
    root = data if data.base is None else _memory_root(data.base)
    for a in args:
        if isinstance(a, Tensor):
            d = a._data
            if (d if d.base is None else _memory_root(d.base)) is root:
                view_of(t, a)
                return


def _memory_root(arr: Any) -> Any:
    """The object at the end of an array's ``base`` chain (NumPy mostly collapses it)."""
    while isinstance(arr, np.ndarray) and arr.base is not None:
        arr = arr.base
    return arr


def stamp(t: Tensor, primal: Any) -> tuple[int, int]:
    """The versions of dual ``t`` and of its primal for which its tangent is current."""
    return (t._version, primal._version if isinstance(primal, Tensor) else 0)


def current_tangent(t: Tensor, op: str) -> Any:
    """The tangent of dual ``t``, refused when t's memory was changed in place (through an
    alias: a view, the base) after the tangent was computed, which would make it stale."""
    fw = t._fw
    now = stamp(t, fw[1])
    if now != fw[3]:
        raise RuntimeError(
            f"{op}: a tensor of shape {t.shape} carrying a forward-mode tangent was modified in "
            f"place through an alias after its tangent was computed (versions {fw[3]}, now "
            f"{now}); its tangent is out of date: take views after the change, or compute "
            "the result out of place")
    return fw[2]
