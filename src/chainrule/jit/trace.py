"""Tracing: run a function once on traced values and record every primitive call.

While a :class:`Trace` is active (per thread), ``Primitive.__call__``
hands every call to :meth:`Trace.call` (the one hook). The call then runs through the
ordinary engine (Tensors, nodes, forward-mode levels: so ``grad``, ``vjp``, ``jvp``,
``hessian`` and ``checkpoint`` work unchanged inside the traced function) with one change:
the primitive's forward is replaced by :meth:`Trace.record`, which runs the real forward
on the example values and appends one ``Line`` (:mod:`chainrule.jit.program`) (primitive,
input slots, constant arguments, output slot). The vjp and jvp rules call primitives
too, so the backward and tangent computations the transforms add are recorded the same
way. NumPy called on traced values (masks such as ``x > 0`` inside rules) is recorded
through the tracer's NumPy protocols.

The jitted function's floating-point inputs are Tensors that require grad, so every
transform inside it records a differentiable backward: the rules then receive Tensors
and their raw-NumPy parts (comparisons, ``np.sum``) reach the tracer, never a frozen
concrete array.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import Any

import numpy as np

from chainrule import autograd, numpy_interop
from chainrule.jit.checks import ErrorFactory, Raise
from chainrule.jit.hook import Twin, state  # noqa: F401  (state: re-exported)
from chainrule.jit.program import Line, Ref
from chainrule.jit.tracer import Tracer, TracingError, refuse, refuse_in_place, user_line
from chainrule.primitive import Primitive
from chainrule.tensor import Tensor, make


class Recording(Twin, Primitive):
    """A primitive's twin during a trace: the same rules, a forward that records."""

    def __init__(self, prim: Primitive, trace: Trace) -> None:
        self.__dict__.update(vars(prim))
        self.of = prim
        self.forward = partial(trace.record, prim)


# questions about an array, answered from its shape and dtype
_STATIC = frozenset({np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj,
                     np.isrealobj, np.zeros_like, np.ones_like, np.empty_like})
_SHOWN = frozenset({np.array2string, np.array_repr, np.array_str})
# results whose shape depends on the values: no fixed program can hold them
_VALUE_SHAPED = frozenset({np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.compress,
                           np.extract, np.trim_zeros})
_MUTATING = frozenset({np.copyto, np.put, np.place, np.putmask, np.fill_diagonal,
                       np.put_along_axis})


def _backward_code() -> Any:
    return autograd.run_backward.__code__


def _phase() -> str:
    """'backward' for a call made while the engine runs a backward pass, else 'forward'."""
    code = _backward_code()
    frame: FrameType | None = sys._getframe(3)
    while frame is not None:
        if frame.f_code is code:
            return "backward"
        frame = frame.f_back
    return "forward"


class Trace:
    """The lines recorded so far, and the tracers standing for their values."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.values: dict[int, Any] = {}  # slot -> example value (shape, dtype, layout)
        self.tracers: dict[int, Tracer] = {}
        self.twins: dict[Primitive, Recording] = {}
        self.inputs: list[int] = []

    # ----- slots -------------------------------------------------------------------
    def new(self, value: Any) -> Tracer:
        slot = len(self.values)
        self.values[slot] = value
        self.tracers[slot] = t = Tracer(slot, value, self)
        return t

    def input(self, value: np.ndarray) -> Tracer:
        t = self.new(value)
        self.inputs.append(t.slot)
        return t

    def as_tensor(self, t: Tracer) -> Tensor:
        return make(t, None)

    # ----- the hook ------------------------------------------------------------------
    def call(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        """``prim(*args, **kwargs)`` through the ordinary engine, its forward recorded."""
        traced = False
        outside = None
        for a in args:
            if isinstance(a, Tensor):
                if isinstance(a._data, Tracer):
                    traced = True
                elif a.requires_grad and a._fw is None:  # (a dual or a vmap-batched value
                    outside = a  # is checked when the hook peels its level off: its primal)
            elif isinstance(a, Tracer) or (isinstance(a, tuple | list) and _holds_tracer(a)):
                traced = True
        if traced and outside is not None:
            raise TracingError(
                f"jit: a Tensor that requires grad (shape {outside.shape}, dtype "
                f"{outside.dtype}) is used in the traced function but is not one of its "
                f"arguments, at {user_line()}: its value would be frozen into the program and "
                "its gradient lost; pass it as an argument of the jitted function (jit(f)(params, "
                "x)), or use .detach() if it is meant as a constant")
        if traced and not any(isinstance(a, Tensor) for a in args):
            # raw tracers (NumPy on a tracer, a rule's masks): answer with Tensors as well
            args = tuple(make(a, None) if isinstance(a, Tracer) else a for a in args)
        twin = self.twins.get(prim)
        if twin is None:
            twin = self.twins[prim] = Recording(prim, self)
        return Primitive.__call__(twin, *args, **kwargs)

    def record(self, prim: Primitive, *args: Any, **kwargs: Any) -> Any:
        """A twin's forward: ``prim.forward`` on the example values, and its line."""
        _check_index(prim, args)
        return self.emit(prim.forward, prim.name, args, kwargs, prim)

    def emit(self, fn: Callable, name: str, args: tuple, kwargs: dict,
             prim: Primitive | None = None) -> Any:
        """Run ``fn`` on the example values; if a traced value took part, append its line
        and return tracers for its results (a constant result is returned as is)."""
        refs: list[int] = []
        template_args = _template(args, refs)
        template_kwargs = {k: _template(v, refs) for k, v in kwargs.items()}
        if not refs:
            return fn(*args, **kwargs)
        example = fn(*_concrete(args), **{k: _concrete(v) for k, v in kwargs.items()})
        if isinstance(example, Tracer):  # fn closed over a traced value (a checkpoint)
            return example
        same = _same_array(example, refs, self.values)
        if same is not None:  # an identity (reshape to its own shape, astype to its dtype)
            return self.tracers[same]
        many = isinstance(example, tuple | list)
        results = list(example) if many else [example]
        if not all(isinstance(r, np.ndarray | np.generic) for r in results):
            raise TracingError(f"jit: {name} returned {type(example).__name__}, not arrays, "
                               f"at {user_line()}; a traced program holds arrays only")
        outs = [self.new(r) for r in results]
        ins = [self.values[s] for s in dict.fromkeys(refs)]
        views = tuple(s for s, v in zip(dict.fromkeys(refs), ins) if isinstance(v, np.ndarray)
                      and any(isinstance(r, np.ndarray) and np.may_share_memory(r, v)
                              for r in results))
        self.lines.append(Line(fn, name, prim, template_args, template_kwargs,
                               tuple(o.slot for o in outs), views, _phase(), many))
        return type(example)(outs) if many else outs[0]

    def check(self, name: str, condition: Tracer, make_error: ErrorFactory) -> None:
        """A :func:`chainrule.jit.check` on a traced condition: the example is tested
        now (as eager code would), and a line with no output repeats the test at replay."""
        if np.any(condition.value):
            raise make_error()
        self.lines.append(Line(Raise(make_error), f"check {name}", None, (Ref(condition.slot),),
                               {}, (), (), _phase()))

    # ----- NumPy on tracers (Tracer.__array_ufunc__ / __array_function__) ------------
    def numpy_ufunc(self, ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
        if any(isinstance(a, Tensor) for a in inputs):
            return NotImplemented  # the Tensor answers (chainrule's primitive)
        if _holds_tracer(kwargs.get("out", ())):
            raise refuse_in_place(f"np.{ufunc.__name__}(..., out=traced value)")
        impl = numpy_interop.ufuncs().get(ufunc)
        if method == "__call__" and impl is not None and not kwargs:
            return impl(*inputs)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        return self.emit(fn, name, inputs, kwargs)

    def numpy_function(self, func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
        if any(issubclass(t, Tensor) for t in types):
            return NotImplemented
        name = f"np.{getattr(func, '__name__', func)}"
        if func in _STATIC:
            return func(*_concrete(args), **_concrete(kwargs))
        if func in _SHOWN:
            return repr(args[0])
        if func in _VALUE_SHAPED:
            raise TracingError(f"jit: {name} of a traced value has a shape that depends on "
                               f"its values, at {user_line()}; a traced program has fixed "
                               "shapes: use chainrule.where with a mask instead")
        if func in _MUTATING or _holds_tracer(kwargs.get("out", ())):
            raise refuse_in_place(name)
        impl = numpy_interop.functions().get(func)
        if impl is not None and kwargs.get("out") is None and kwargs.get("dtype") is None:
            rest = {k: v for k, v in kwargs.items() if k not in ("out", "dtype")}
            if _accepts(impl, args, rest):  # else (np.max(..., initial=0)): NumPy's own line
                return impl(*args, **rest)
        return self.emit(func, name, args, kwargs)


def _accepts(impl: Any, args: tuple, kwargs: dict) -> bool:
    """Whether chainrule's twin of a NumPy function takes these arguments."""
    try:
        inspect.signature(impl).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return False
    return True


def _same_array(r: Any, refs: list[int], values: dict[int, Any]) -> int | None:
    """The input slot whose example value ``r`` is (the same memory, shape, strides and
    dtype), if any: then the line computes nothing."""
    if not isinstance(r, np.ndarray):
        return None
    key = (r.__array_interface__["data"][0], r.shape, r.strides, r.dtype)
    for s in refs:
        v = values[s]
        if isinstance(v, np.ndarray) and \
                (v.__array_interface__["data"][0], v.shape, v.strides, v.dtype) == key:
            return s
    return None


def _holds_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    if isinstance(x, Tensor):
        return isinstance(x._data, Tracer)
    if isinstance(x, tuple | list):
        return any(_holds_tracer(i) for i in x)
    if isinstance(x, dict):
        return any(_holds_tracer(i) for i in x.values())
    if isinstance(x, slice):
        return _holds_tracer((x.start, x.stop, x.step))
    return False


def _template(x: Any, refs: list[int]) -> Any:
    """``x`` with every traced value replaced by a :class:`Ref` to its slot (appended to
    ``refs``); constants are kept (writable arrays copied: the value at tracing time)."""
    if isinstance(x, Tensor):
        x = x._data
    if isinstance(x, Tracer):
        refs.append(x.slot)
        return Ref(x.slot)
    if isinstance(x, tuple | list):
        items = [_template(i, refs) for i in x]
        return tuple(items) if isinstance(x, tuple) else items
    if isinstance(x, dict):
        return {k: _template(v, refs) for k, v in x.items()}
    if isinstance(x, slice):
        if _holds_tracer(x):
            raise refuse("a slice bound", x.start)
        return x
    if isinstance(x, np.ndarray) and (x.flags.writeable or x.base is not None):
        return x.copy()  # a constant of the program: frozen, even a read-only view's values
    return x


def _concrete(x: Any) -> Any:
    """``x`` with every traced value replaced by its example value."""
    if isinstance(x, Tensor):
        x = x._data
    if isinstance(x, Tracer):
        return x.value
    if isinstance(x, tuple | list):
        items = [_concrete(i) for i in x]
        return tuple(items) if isinstance(x, tuple) else items
    if isinstance(x, dict):
        return {k: _concrete(v) for k, v in x.items()}
    return x


def _check_index(prim: Primitive, args: tuple) -> None:
    """A boolean traced index selects a value-dependent number of elements: refused."""
    if prim.name not in ("getitem", "index_update", "scatter_add") or len(args) < 2:
        return
    index = args[1] if isinstance(args[1], tuple) else (args[1],)
    for i in index:
        data = i._data if isinstance(i, Tensor) else i
        if isinstance(data, Tracer) and data.dtype.kind == "b":
            raise TracingError(
                f"jit: x[mask] with a traced boolean mask selects a number of elements that "
                f"depends on the values, at {user_line()}; a traced program has fixed shapes: "
                "use chainrule.where(mask, x, 0) instead")
