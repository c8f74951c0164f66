"""Primitives: each differentiable operation defined once, with its rules.

A :class:`Primitive` wraps a *forward* function on raw arrays and holds, per
input, a vjp rule (reverse mode) and a jvp rule (forward mode)::

    @primitive
    def exp(x):
        return np.exp(x)

    exp.defvjp(lambda g, ans, x: g * ans)    # d exp(x) = exp(x) dx
    exp.defjvp(lambda t, ans, x: t * ans)

Calling a primitive:

* with no Tensor among its arguments runs the forward on the raw arrays and
  returns a raw array: one cheap check, then NumPy. Rules called on raw
  arrays therefore cost what NumPy costs.
* with Tensors that need no derivative it unwraps them, runs the forward and
  wraps the result.
* with a Tensor that requires grad (and recording on) the result also keeps a
  :class:`~chainrule.autograd.Node` for the backward pass.
* with a Tensor that carries a forward-mode tangent, the tangent of the result
  is computed by the jvp rules. Each forward transform has its own *level*:
  the innermost (highest) level is peeled off first and the rest is computed
  recursively, so nested ``jvp`` calls never confuse their tangents.

Rules are written with chainrule's own functions, so they work on raw arrays
(ordinary backward) and on Tensors (differentiable backward, higher order).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from chainrule import anomaly, autograd, cutlog, memory
from chainrule.autograd import Node
from chainrule.jit.hook import Twin as _Twin
from chainrule.jit.hook import state as _jit
from chainrule.tensor import Tensor, dual, make

Rule = Callable[..., Any] | None


class Primitive:
    """A differentiable operation: ``forward`` on raw arrays plus its rules."""

    def __init__(self, forward: Callable[..., Any], name: str | None = None) -> None:
        self.forward = forward
        self.name = name or forward.__name__
        self.vjps: tuple[Rule, ...] | EachArgument = ()
        self.jvps: tuple[Rule, ...] | EachArgument = ()
        self.__doc__ = forward.__doc__
        self.__wrapped__ = forward

    def __repr__(self) -> str:
        return f"<chainrule primitive {self.name}>"

    def defvjp(self, *rules: Rule | EachArgument) -> Primitive:
        """One rule per positional input: ``rule(g, ans, *args, **kwargs)`` returns
        the cotangent of that input (None marks a non-differentiable input)."""
        self.vjps = rules[0] if len(rules) == 1 and isinstance(rules[0], EachArgument) else rules
        return self

    def defjvp(self, *rules: Rule | EachArgument) -> Primitive:
        """One rule per positional input: ``rule(t, ans, *args, **kwargs)`` returns
        that input's contribution to the output tangent."""
        self.jvps = rules[0] if len(rules) == 1 and isinstance(rules[0], EachArgument) else rules
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _jit.active is not None and not isinstance(self, _Twin):  # chainrule.jit traces
            return _jit.active.call(self, args, kwargs)
        level = 0
        record = False
        tensors = False
        for a in args:
            if isinstance(a, Tensor):
                tensors = True
                if a.requires_grad:
                    record = True
                fw = a._fw
                if fw is not None and fw[0] > level:
                    level = fw[0]
        if not tensors:
            return self.forward(*args, **kwargs)
        if level:
            return self._call_forward_mode(level, args, kwargs, record)
        raw = tuple([a._data if isinstance(a, Tensor) else a for a in args])
        out = self.forward(*raw, **kwargs)
        if anomaly.ACTIVE:
            anomaly.check_forward(self.name, out, raw)
        if record:
            if autograd._mode.enabled:
                return make(out, self._node(args, raw, kwargs))
            result = make(out, None)
            cutlog.no_grad_call(self.name, args, result)  # a path cut by no_grad: why_no_grad
            return result
        return make(out, None)

    def _node(self, args: tuple, raw: tuple, kwargs: dict) -> Node:
        """Record this call for backward, with the version of every Tensor argument
        (so that a later in-place change of one is detected)."""
        parents = []
        saved = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                saved.append((i, a, a._version))
                if a.requires_grad:
                    parents.append((i, a))
        node = Node(self, args, raw, kwargs, tuple(parents))
        node.saved = tuple(saved)
        if anomaly.ACTIVE:
            node.where = anomaly.user_frame()
        if memory.TRACKERS:
            memory.track_node(node)
        return node

    def _call_forward_mode(self, level: int, args: tuple, kwargs: dict, record: bool) -> Tensor:
        primals = []
        tangents = []
        for a in args:
            fw = a._fw if isinstance(a, Tensor) else None
            if fw is not None and fw[0] == level:
                primals.append(fw[1])
                tangents.append(fw[2])
            else:
                primals.append(a)
                tangents.append(None)
        ans = self(*primals, **kwargs)
        tangent = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            rule = self.jvps[i] if i < len(self.jvps) else None
            if rule is None:
                if i < len(self.vjps) and self.vjps[i] is None:
                    continue  # a non-differentiable input (a mask, an index)
                raise NotImplementedError(f"jvp: '{self.name}' has no jvp rule for argument {i}")
            contribution = rule(t, ans, *primals, **kwargs)
            tangent = contribution if tangent is None else tangent + contribution
        out = dual(level, ans, tangent, self.name)
        if record and autograd._mode.enabled:
            raw = tuple([a._data if isinstance(a, Tensor) else a for a in args])
            out._node = self._node(args, raw, kwargs)
            out.requires_grad = True
        return out


class EachArgument:
    """The rules of a primitive that takes any number of arrays (``concatenate``,
    ``einsum``): one function ``rule(i, g_or_t, ans, *args, **kwargs)`` told
    which argument it is for."""

    __slots__ = ("rule",)

    def __init__(self, rule: Callable[..., Any]) -> None:
        self.rule = rule

    def __getitem__(self, i: int) -> Callable[..., Any]:
        return partial(self.rule, i)

    def __len__(self) -> int:
        return sys.maxsize


def primitive(forward: Callable[..., Any]) -> Primitive:
    """Decorator: make ``forward`` (raw arrays in, raw array out) a primitive."""
    return Primitive(forward)
