"""Batching at the one hook: how a primitive runs on values that ``vmap`` maps over.

``vmap`` takes a fresh *level* from the counter forward mode uses, so nested transforms
(``vmap`` of ``jvp``, ``grad`` of ``vmap``, ``vmap`` of ``vmap``) peel in a well-defined
order. A *batched* tensor presents one example to the code that runs on it: its ``shape``,
``ndim``, ``dtype`` and ``len`` are the per-example (*logical*) ones, while it carries the
whole batch as ``_fw = Batch((level, value, size))``: ``value`` (a raw array, or a Tensor of
a lower level) holds every example along its first axis.

When a primitive is called and the highest level among its arguments is a batch level,
:func:`call` hands the values to the primitive's *batching rule* (``prim.defbatch(rule)``):
``rule(batched, *args, **kwargs)`` gets each argument as given, those with ``batched[i]``
True with their batch axis first, and returns the result with its batch axis first. A
primitive without a rule runs as a Python loop over the examples (:func:`loop`), with a
warning naming it once, so every program works and every slow spot is visible.

A batched tensor's data is a :class:`Logical`: the per-example shape and dtype and nothing
else. Reading its values (``float(t)``, ``if t > 0:``, ``np.asarray(t)``, NumPy code on
``t.data``) raises :func:`values_error`: inside ``vmap`` a value differs from example to
example, so value-dependent Python can't be batched; ``chainrule.where`` can.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chainrule.primitive import Primitive
    from chainrule.tensor import Tensor


class Batch(tuple):
    """``(level, value, size)``: the batch a tensor carries at a vmap level (the forward-mode
    slot ``_fw`` holds either this or a ``(level, primal, tangent)`` triple)."""

    __slots__ = ()


def values_error(shape: tuple, dtype: Any, what: str) -> TypeError:
    """The error for reading the values of a batched tensor."""
    return TypeError(
        f"vmap: {what} needs the values of a batched tensor (per-example shape {shape}, dtype "
        f"{dtype}), but inside vmap they differ from example to example: Python control flow "
        "on them (if, while, bool(), float(), .item()) and NumPy code on their data can't be "
        "batched. Use chainrule.where(cond, a, b) (or np.where on Tensors) for a choice that "
        "depends on the values, and chainrule's functions (or NumPy's, called on the Tensors) "
        "for the rest")


_SHAPE_QUERIES = {np.shape: lambda t: t.shape, np.ndim: lambda t: t.ndim,
                  np.size: lambda t: t.size}
_LIKE = {np.zeros_like: np.zeros, np.ones_like: np.ones, np.empty_like: np.empty}


class Logical:
    """The data of a batched tensor: one example's shape and dtype, no values (see module)."""

    __slots__ = ("shape", "dtype")
    base = None  # not a view of another array (asked by the version counting of views)

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<per-example data: shape {self.shape}, dtype {self.dtype}>"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise values_error(self.shape, self.dtype, "converting to a NumPy array")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise values_error(self.shape, self.dtype, f"np.{ufunc.__name__}")

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        if func in _SHAPE_QUERIES and len(args) == 1 and not kwargs:
            return _SHAPE_QUERIES[func](self)
        if func is np.result_type:
            return np.result_type(*[a.dtype if isinstance(a, Logical) else a for a in args])
        if func in _LIKE and args and args[0] is self:  # the same constant for every example
            return _LIKE[func](self.shape, kwargs.get("dtype") or self.dtype)
        raise values_error(self.shape, self.dtype, f"np.{func.__name__}")

    def _refuse(self, *args: Any) -> Any:
        raise values_error(self.shape, self.dtype, "Python arithmetic, a comparison or a test")

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _refuse
    __rtruediv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __neg__ = _refuse
    __getitem__ = __setitem__ = __iter__ = __float__ = __int__ = __index__ = _refuse
    __hash__ = object.__hash__

    def __getattr__(self, name: str) -> Any:  # .item(), .copy(), .astype(), ...
        if name.startswith("__"):  # NumPy's probes (__array_interface__): then __array__
            raise AttributeError(name)
        raise values_error(self.shape, self.dtype, f"the array method .{name}")


def is_batched(x: Any) -> bool:
    """True for a Tensor whose data is per-example only (batched at some level)."""
    from chainrule.tensor import Tensor

    return isinstance(x, Tensor) and type(x._data) is Logical


def batched(level: int, value: Any, size: int) -> Any:
    """A tensor mapping ``value`` (a raw array or a lower-level Tensor, examples along its
    first axis) at vmap ``level``; a tuple or list of results gives one per entry."""
    from chainrule.tensor import make

    if isinstance(value, tuple | list):
        return type(value)(batched(level, v, size) for v in value)
    if not hasattr(value, "shape"):
        value = np.asarray(value)
    t = make(Logical(value.shape[1:], value.dtype), None)
    t._fw = Batch((level, value, size))
    return t


def call(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Any:
    """``prim(*args, **kwargs)`` where ``level`` is the highest level and a batch level: the
    batching rule runs on the values of that level, the result is batched at it (and keeps a
    node for backward when a reverse transform inside the vmap records)."""
    from chainrule import autograd
    from chainrule.tensor import Tensor

    values, flags, size = [], [], 0
    for a in args:
        fw = a._fw if isinstance(a, Tensor) else None
        if fw is not None and fw[0] == level:  # levels are unique: this is the batch
            values.append(fw[1])
            flags.append(True)
            size = fw[2]
        else:
            values.append(a)
            flags.append(False)
    rule = prim.batch
    if rule is None:
        out = loop(prim, tuple(flags), values, kwargs, size)
    else:
        out = rule(tuple(flags), *values, **kwargs)
    result = batched(level, out, size)
    if autograd._mode.enabled and isinstance(result, Tensor):
        inputs = tuple([i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad])
        if inputs:
            # raw = args: a batch-level node hands its rules the batched Tensors (the Logical
            # data has no values), also in an ordinary backward (see autograd.run_backward)
            versions = tuple([a._version if isinstance(a, Tensor) else None for a in args])
            result._node = autograd.Node(prim, args, args, kwargs or autograd.NO_KWARGS,
                                         inputs, versions)
            result.requires_grad = True
    return result


_warned: set[str] = set()


def loop(prim: Primitive, flags: tuple[bool, ...], values: list, kwargs: dict,
         size: int, warn: bool = True) -> Any:
    """The fallback for a primitive without a batching rule: one call per example, the
    results stacked. Warns once per primitive (rules call it with ``warn=False`` for the
    rare arguments they leave to it, e.g. a batched index into a batched index)."""
    from chainrule.ops.indexing import getitem, stack

    if warn and prim.name not in _warned:
        _warned.add(prim.name)
        warnings.warn(f"vmap: primitive '{prim.name}' has no batching rule, so it runs as a "
                      f"Python loop over the batch; give it one with "
                      f"{prim.name}.defbatch(rule) (see chainrule.batching)", stacklevel=4)
    if size == 0:
        raise ValueError(f"vmap: '{prim.name}' has no batching rule, and over an empty batch "
                         "its result's shape is unknown")
    outs = [prim(*[getitem(v, i) if b else v for v, b in zip(values, flags)], **kwargs)
            for i in range(size)]
    if isinstance(outs[0], tuple | list):
        return type(outs[0])(stack([o[k] for o in outs]) for k in range(len(outs[0])))
    return stack(outs)


def describe(t: Tensor) -> str:
    """``repr`` of a batched tensor: the batch it carries at its level."""
    fw = t._fw
    if type(fw) is not Batch:  # a forward-mode tangent on top of a batched primal
        return f"tensor(<batched primal {fw[1]!r}>, tangent_level={fw[0]})"
    return f"tensor(<batched at level {fw[0]}, {fw[2]} examples of shape {t.shape}>: {fw[1]!r})"


def detach(t: Tensor) -> Tensor:
    """``t.detach()`` of a batched tensor: each example's value without derivatives, still
    batched (a tangent on top is dropped, as ``detach`` drops it everywhere)."""
    from chainrule.tensor import Tensor

    fw = t._fw
    if type(fw) is not Batch:  # a forward-mode tangent on a batched primal
        return fw[1].detach()
    value = fw[1]
    return batched(fw[0], value.detach() if isinstance(value, Tensor) else value, fw[2])


def boolean_call(ufunc: np.ufunc, inputs: tuple) -> Tensor:
    """A ufunc that answers booleans (``x > 0``, ``np.isfinite``, ``np.logical_and``) on
    batched operands: a batched boolean Tensor, never differentiated (operands detached)."""
    from chainrule.ops.batch_rules import boolean
    from chainrule.tensor import Tensor

    return boolean(ufunc, *[x.detach() if isinstance(x, Tensor) else x for x in inputs])


# ----- helpers for the rules: axes of one example, shifted past the batch axis ----------
def axis_in(axis: int, nd: int, op: str) -> int:
    """Axis ``axis`` of an example with ``nd`` dimensions, as an axis of the batch (whose
    axis 0 is the batch): checked against the example, so -nd - 1 is refused, not read as
    the batch axis."""
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd, op)
    return int(axis) % nd + 1


def axes_in(axis: Any, nd: int, op: str) -> Any:
    """:func:`axis_in` for an int, a tuple of them, or None (all of the example's axes)."""
    if axis is None:
        return tuple(range(1, nd + 1))
    if isinstance(axis, tuple | list):
        return tuple(axis_in(a, nd, op) for a in axis)
    return axis_in(axis, nd, op)


def per_example(*names: str) -> Callable:
    """Decorator for a composed function that reads the values of its arguments ``names``
    (sort's argsort, take's indices, a check that weights don't sum to zero): when one of
    them is batched (at the highest level), the function runs once per example and the
    results are stacked: the loop fallback of a primitive without a rule, warned once."""
    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs).arguments
            level = _top_batch_level([bound.get(n) for n in names])
            if not level:
                return fn(*args, **kwargs)
            return _loop_function(fn, level, args, kwargs)

        return run

    return decorate


def _top_batch_level(values: list) -> int:
    from chainrule.tensor import Tensor
    from chainrule.tree import tree_leaves

    return max((x._fw[0] for x in tree_leaves(values)
                if isinstance(x, Tensor) and type(x._fw) is Batch), default=0)


def _loop_function(fn: Callable, level: int, args: tuple, kwargs: dict) -> Any:
    from chainrule.ops.indexing import getitem, stack
    from chainrule.tensor import Tensor
    from chainrule.tree import tree_flatten, tree_map, tree_unflatten

    def at_level(x: Any) -> bool:
        return isinstance(x, Tensor) and type(x._fw) is Batch and x._fw[0] == level

    leaves, tdef = tree_flatten((args, kwargs))
    size = next(x._fw[2] for x in leaves if at_level(x))
    name = getattr(fn, "__name__", repr(fn))
    from chainrule.autograd import is_grad_enabled

    if is_grad_enabled() and any(at_level(x) and x.requires_grad for x in leaves):  # a cut
        raise NotImplementedError(
            f"vmap: {name} reads the values of its batched argument, so it runs once per "
            "example, which a derivative taken inside the vmap (grad or vjp of it under vmap) "
            "can't see through; take the derivative outside the vmap (grad of a vmapped "
            "function), or loop over the examples")
    if name not in _warned:
        _warned.add(name)
        warnings.warn(f"vmap: {name} reads the values of a batched argument, so it runs as a "
                      "Python loop over the batch", stacklevel=3)
    outs = []
    for k in range(size):
        a, kw = tree_unflatten(tdef, [getitem(x._fw[1], k) if at_level(x) else x
                                      for x in leaves])
        outs.append(fn(*a, **kw))
    if size == 0:
        raise ValueError(f"vmap: {name} over an empty batch (its result's shape is unknown)")
    return tree_map(lambda *xs: batched(level, stack(list(xs)), size), *outs)
