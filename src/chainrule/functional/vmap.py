"""``vmap``: a function of one example mapped over a batch, as one batched pass.

``vmap(f)(xs)`` equals ``stack([f(x) for x in xs])`` but runs each primitive once on the
whole batch (its batching rule: :mod:`chainrule.batching`). The arguments inside ``f`` are
batched tensors that look like one example (shape, dtype, ``len``, iteration); comparisons
on them give batched masks; Python control flow on their values is refused (it would differ
between examples: use ``chainrule.where``).

Random numbers, as JAX's rule (one stream or per-example keys) reads in chainrule: the
functions of :mod:`chainrule.creation` (``randn``, ``rand``, ``randn_like``) are not
primitives; inside ``f`` they run once, at the per-example shape, so every example gets
*the same* draw (one stream, like a JAX key passed with ``in_axes=None``). For independent
noise per example draw it outside with the batch axis and map over it
(``vmap(f, in_axes=(0, 0))(xs, randn(n, *shape))``, like per-example keys).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.batching import Batch, batched
from chainrule.functional.nesting import (
    _export,
    _labels,
    _levels,
    _nesting,
    _returns_tensors,
    _same_arguments,
)
from chainrule.ops.shape import broadcast_to, transpose
from chainrule.tensor import Tensor
from chainrule.tree import (
    tree_broadcast_prefix,
    tree_flatten,
    tree_leaves_with_path,
    tree_unflatten,
)

Axes = int | None | tuple | list | dict


@contextmanager
def _inside_vmap():
    _nesting.depth += 1
    _nesting.batching += 1
    try:
        yield
    finally:
        _nesting.depth -= 1
        _nesting.batching -= 1


def vmap(fn: Callable, in_axes: Axes = 0, out_axes: Axes = 0) -> Callable:
    """``fn`` mapped over an axis of its inputs; the results stacked along ``out_axes``.

    ``in_axes``: an int (every positional argument mapped over that axis), None (not
    mapped: the same value for every example), or a tuple with one entry per positional
    argument, each an int, None, or a container matching that argument's structure down to
    where one axis covers a subtree (``in_axes=(None, 0, 0)``, ``({"W": None, "b": 0},)``).
    Negative axes count from the end. Keyword arguments are mapped over axis 0 (as JAX).
    ``out_axes``: an int, None (for outputs that are the same for every example), or a
    container matching f's output. Composes with itself and with ``grad``, ``jvp``, ``vjp``,
    ``jacfwd``, ``jacrev``, ``hessian`` and ``checkpoint``, in any order.
    """
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if isinstance(in_axes, list):
        raise TypeError(f"vmap: in_axes must be an int, None or a tuple with one entry per "
                        f"positional argument, not a list ({in_axes}); write "
                        f"in_axes={tuple(in_axes)}")

    def mapped(*args: Any, **kwargs: Any) -> Any:
        labels = _labels(fn, len(args))
        spec = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if len(spec) != len(args):
            raise ValueError(f"vmap: in_axes has {len(spec)} entries, but the function was "
                             f"called with {len(args)} positional argument(s)")
        trees = (tuple(args), kwargs)
        leaves, tdef = tree_flatten(trees)
        paths = [p for i, a in enumerate(args) for p, _ in tree_leaves_with_path(a, labels[i])]
        paths += [p for p, _ in tree_leaves_with_path(kwargs, "kwargs")]
        try:
            axes = tree_broadcast_prefix((spec, {k: 0 for k in kwargs}), trees)
        except ValueError as e:
            raise ValueError(f"vmap: in_axes {in_axes!r} does not fit the arguments: {e}") \
                from None
        size = _batch_size(leaves, axes, paths)
        level = next(_levels)
        inputs = [x if a is None else batched(level, _to_front(x, a, p), size)
                  for x, a, p in zip(leaves, axes, paths)]
        call_args, call_kwargs = tree_unflatten(tdef, inputs)
        with _inside_vmap():
            out = fn(*call_args, **call_kwargs)
        outs, out_def = tree_flatten(out)
        try:
            out_spec = tree_broadcast_prefix(out_axes, out)
        except ValueError as e:
            raise ValueError(f"vmap: out_axes {out_axes!r} does not fit the output: {e}") \
                from None
        out_paths = [p for p, _ in tree_leaves_with_path(out, "output")]
        results = [_stacked(o, level, size, a, p) for o, a, p in zip(outs, out_spec, out_paths)]
        return _export(tree_unflatten(out_def, results), _returns_tensors(*args, kwargs))

    return _same_arguments(mapped, fn)


def _check_spec(spec: Any, name: str) -> None:
    for leaf in tree_flatten(spec)[0]:
        if not isinstance(leaf, int | np.integer) or isinstance(leaf, bool):
            raise TypeError(f"vmap: {name} holds {leaf!r}; each entry must be an int (an "
                            "axis) or None (not mapped)")


def _batch_size(leaves: list, axes: list, paths: list[str]) -> int:
    """The one batch size of all mapped arguments (their axes normalized on the way)."""
    sizes = []
    for x, a, path in zip(leaves, axes, paths):
        if a is None:
            continue
        shape = np.shape(x)
        if not -len(shape) <= a < len(shape):
            raise ValueError(f"vmap: in_axes {a} for {path} of shape {shape}: the axis is out "
                             f"of range (an argument mapped over an axis needs that axis)")
        sizes.append((path, a, shape[a]))
    if not sizes:
        raise ValueError("vmap: in_axes maps no argument (all None); at least one argument "
                         "must be mapped over an axis")
    if len({n for _, _, n in sizes}) > 1:
        listed = ", ".join(f"{p} has {n} (axis {a})" for p, a, n in sizes)
        raise ValueError(f"vmap: the mapped axes have different sizes: {listed}")
    return sizes[0][2]


def _to_front(x: Any, axis: int, path: str) -> Any:
    """x with its mapped axis first (a view for arrays; a transpose for Tensors)."""
    if not isinstance(x, Tensor):
        x = backend.as_array(x)  # (a GPU array stays on its device)
        if x.dtype.kind not in "biufc":
            raise TypeError(f"vmap: {path} is a {type(x).__name__} of dtype {x.dtype}; only "
                            "numeric arrays can be mapped (give it in_axes None)")
    nd = x.ndim
    axis %= nd
    if axis == 0:
        return x
    return transpose(x, (axis, *(i for i in range(nd) if i != axis)))


def _stacked(o: Any, level: int, size: int, axis: int | None, path: str) -> Any:
    """An output's examples stacked along ``axis`` (None: the same for every example)."""
    fw = o._fw if isinstance(o, Tensor) else None
    mapped = type(fw) is Batch and fw[0] == level
    if axis is None:
        if mapped:
            raise ValueError(f"vmap: out_axes None for {path}, but it differs between the "
                             "examples; give it an axis")
        return o
    if mapped:
        assert fw is not None  # (mapped says so)
        value = fw[1]
    elif isinstance(o, Tensor | np.ndarray | np.generic | int | float | complex) or \
            backend.on_device(o):
        value = broadcast_to(o, (size, *np.shape(o)))  # the same for every example
    else:
        raise TypeError(f"vmap: {path} is a {type(o).__name__}; a mapped function returns "
                        "arrays (or give it out_axes None)")
    nd = value.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"vmap: out_axes {axis} for {path} (per-example shape "
                         f"{tuple(value.shape[1:])}) is out of range")
    axis %= nd
    if axis == 0:
        return value
    order = list(range(1, nd))
    order.insert(axis, 0)
    return transpose(value, tuple(order))
