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
* with a Tensor batched by ``vmap`` at the highest level, the primitive's batching rule
  (``defbatch``) runs on the batched values: see :mod:`chainrule.batching`.

Rules are written with chainrule's own functions, so they work on raw arrays
(ordinary backward) and on Tensors (differentiable backward, higher order).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from chainrule import anomaly, autograd, backend, batching, cutlog
from chainrule.autograd import NO_KWARGS, Node
from chainrule.jit.hook import Twin as _Twin
from chainrule.jit.hook import state as _jit
from chainrule.tensor import Tensor, dual, make
from chainrule.versions import current_tangent, share_versions, stamp

Rule = Callable[..., Any] | None
_TRACED = object()  # the "base" of a value jit traces: it has no memory to share


class Primitive:
    """A differentiable operation: ``forward`` on raw arrays plus its rules."""

    __signature__: inspect.Signature  # set where the forward has none of its own (a ufunc)

    def __init__(self, forward: Callable[..., Any], name: str | None = None) -> None:
        self.forward = forward
        self.name = name or forward.__name__
        self.vjps: tuple[Rule, ...] | EachArgument = ()
        self.jvps: tuple[Rule, ...] | EachArgument = ()
        self.batch: Rule = None
        # (error, *arguments) -> the exception to raise when the forward refuses its
        # arguments (TypeError/ValueError); None: the forward's own error stands
        self.explain: Callable[..., Exception] | None = None
        # the keywords a forward that checks none itself (a ufunc, which would take where=,
        # dtype=...) may be given; None: the forward's own signature decides
        self.keywords: frozenset[str] | None = None
        self.__doc__ = forward.__doc__
        self.__wrapped__ = forward

    def __repr__(self) -> str:
        return f"<chainrule primitive {self.name}>"

    def defvjp(self, *rules: Rule | EachArgument) -> Primitive:
        """One rule per positional input: ``rule(g, ans, *args, **kwargs)`` returns
        the cotangent of that input (None marks a non-differentiable input)."""
        # an EachArgument comes alone: never inside the tuple of rules
        self.vjps = rules[0] if len(rules) == 1 and isinstance(rules[0], EachArgument) else rules  # type: ignore[assignment]
        return self

    def defjvp(self, *rules: Rule | EachArgument) -> Primitive:
        """One rule per positional input: ``rule(t, ans, *args, **kwargs)`` returns
        that input's contribution to the output tangent."""
        # an EachArgument comes alone: never inside the tuple of rules
        self.jvps = rules[0] if len(rules) == 1 and isinstance(rules[0], EachArgument) else rules  # type: ignore[assignment]
        return self

    def defbatch(self, rule: Callable[..., Any]) -> Primitive:
        """The batching rule (``vmap``): ``rule(batched, *args, **kwargs)`` gets the
        arguments with the batch axis first in those where ``batched[i]`` is True, and
        returns the result with its batch axis first (:mod:`chainrule.batching`)."""
        self.batch = rule
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs and self.keywords is not None and not self.keywords.issuperset(kwargs):
            raise TypeError(f"{self.name}: unexpected keyword argument(s) "
                            f"{sorted(set(kwargs) - self.keywords)}; it takes "
                            f"{sorted(self.keywords) or 'none'}")
        if _jit.active is not None and not isinstance(self, _Twin):  # chainrule.jit traces
            return _jit.active.call(self, args, kwargs)
        for a in args:
            if isinstance(a, Tensor):
                break
        else:  # no Tensor: plain NumPy (how rules run in an ordinary backward)
            try:
                return self.forward(*args, **kwargs)
            except (TypeError, ValueError) as e:
                if self.explain is None:
                    raise
                raise self.explain(e, *args) from None
        if kwargs and "out" in kwargs:
            raise TypeError(f"{self.name}: out= is for plain arrays: a Tensor's result lives in "
                            "memory of its own (an array of yours in the graph would change "
                            "its derivative when you change the array); drop out=, or pass "
                            "t.data")
        raw: Any = []  # the arguments with every Tensor replaced by its array (then a tuple)
        versions: list[int | None] = []  # each Tensor argument's version now; None for others
        inputs = []  # positions of the arguments that need a gradient
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a._fw is not None:
                    return self._call_forward_mode(args, kwargs)
                raw.append(a._data)
                base = a._base  # a view counts the versions of the tensor it views
                versions.append(a._ver if base is None else base._ver)
                if a.requires_grad:
                    inputs.append(i)
            else:
                raw.append(a)
                versions.append(None)
        raw = tuple(raw)
        try:
            out = self.forward(*raw, **kwargs)
        except Exception as e:
            backend.check_same_device(self.name, raw, e)  # arrays on two devices: say so
            if self.explain is None or not isinstance(e, TypeError | ValueError):
                raise
            raise self.explain(e, *raw) from None
        if anomaly.ACTIVE:
            anomaly.check_forward(self.name, out, raw)
        if inputs and autograd._mode.enabled:
            result = make(out, Node(self, args, raw, kwargs or NO_KWARGS, tuple(inputs),
                                    tuple(versions)))
        else:
            result = make(out, None)
            if inputs:  # a path cut by no_grad: why_no_grad
                cutlog.no_grad_call(self.name, args, result)
        # a view of an argument's memory, or that array itself, shares the argument's
        # version counter (a value jit traces has no base: no memory to share)
        data = result._data
        owner: Any = getattr(data, "base", _TRACED)
        if owner is None:
            for r in raw:
                if r is data:
                    share_versions(result, args)
                    break
        elif owner is not _TRACED:
            share_versions(result, args)
        return result

    def _call_forward_mode(self, args: tuple, kwargs: dict) -> Tensor:
        """Peel the innermost forward-mode level off the arguments: the primal call (which
        handles the outer levels and recording), then the output tangent from the jvp rules."""
        top = max((a._fw for a in args if isinstance(a, Tensor) and a._fw is not None),
                  key=_level)
        level = top[0]
        if type(top) is batching.Batch:  # vmap: the batching rule at this level
            return batching.call(self, level, args, kwargs)
        primals = []
        tangents = []
        for a in args:
            fw = a._fw if isinstance(a, Tensor) else None
            if fw is not None and fw[0] == level:
                primals.append(fw[1])
                tangents.append(current_tangent(a, self.name))
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
        if out._base is None:  # a raw primal: a view of an argument's memory is still one
            _share_if_view(out, args)
            out._fw = (*out._fw[:3], stamp(out, ans))  # current for the shared count
        if autograd._mode.enabled and any(isinstance(a, Tensor) and a.requires_grad
                                          for a in args):
            raw = tuple([a._data if isinstance(a, Tensor) else a for a in args])
            inputs = tuple([i for i, a in enumerate(args) if isinstance(a, Tensor)
                            and a.requires_grad])
            versions = tuple([a._version if isinstance(a, Tensor) else None for a in args])
            out._node = Node(self, args, raw, kwargs or NO_KWARGS, inputs, versions)
            out.requires_grad = True
        return out


def _level(fw: tuple) -> int:
    return fw[0]


def _share_if_view(result: Tensor, args: tuple) -> None:
    """A forward-mode result that is a view of an argument's array, or that array itself,
    shares the argument's version counter (as in the recording path of ``__call__``)."""
    data = result._data
    if hasattr(data, "base") and (data.base is not None or any(
            isinstance(a, Tensor) and a._data is data for a in args)):
        share_versions(result, args)


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
