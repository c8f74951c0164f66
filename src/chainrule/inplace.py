"""In-place updates of a Tensor (``t += x``, ``t[i] = v``) and their version counter.

Every in-place change bumps ``t._version``, a count shared by every tensor
that shares the memory (views: reshape, slicing, transpose, detach, ...). A node
saves the versions of the tensors it keeps for backward, and backward refuses
to use one that changed since, through any alias (see
:func:`chainrule.autograd.run_backward`), instead of returning a silently wrong
gradient. Optimizer steps run under ``no_grad`` and stay legal.

An update that takes part in a derivative (recording with a tensor that requires
grad, or a forward-mode tangent on either side) is computed out of place,
``new = op(old t, value)``, by the same primitives (so every rule and every nesting
level applies), then written into t's memory; t keeps its identity and now stands
for ``new``: its node and its tangent are new's. ``old t`` is a frozen copy, and so is
every tensor in the value's graph that shares t's memory or was computed from t
(``y[0] = y[1] * 2``, ``y += y``, ``y[1:] = y[:-1]``): the new graph never reads the
memory the write overwrites, and never loops back to t.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import autograd, ops
from chainrule.batching import Batch
from chainrule.tensor import Tensor, _raw, make
from chainrule.versions import stamp, view_of


def update(t: Tensor, other: Any, op: Callable, raw_op: Callable, symbol: str) -> Tensor:
    """``t op= other`` in place. Outside any derivative (an optimizer step under
    ``no_grad``, plain tensors) this is ``raw_op(t.data, other, out=t.data)``;
    otherwise see the module docstring."""
    is_tensor = isinstance(other, Tensor)
    forward = t._fw is not None or (is_tensor and other._fw is not None)
    recording = autograd._mode.enabled and (t.requires_grad or (is_tensor and other.requires_grad))
    if forward or recording:
        if type(t._fw) is Batch or (is_tensor and type(other._fw) is Batch):
            instead = ("chainrule.index_update(y, index, v)" if symbol.startswith("t[")
                       else f"y = y {symbol[:-1]} v")
            raise TypeError(f"{symbol}: in-place changes of values that vmap batches are not "
                            f"supported; write it out of place ({instead}), which vmap "
                            "batches")
        if recording and t._node is None and t.requires_grad:
            raise RuntimeError(
                f"{symbol}: a leaf tensor that requires grad (shape {t.shape}) can't be changed "
                "in place while recording; update it under `with chainrule.no_grad():`")
        if t.dtype.kind not in "fc":
            raise TypeError(f"{symbol}: a tensor of dtype {t.dtype} can't hold a value that "
                            "needs a gradient (it would be cut from the graph); make it a float "
                            "tensor first, e.g. t = t.astype('float64')")
        if t._fw is None:
            _refuse_aliased(t, symbol)
        _differentiable_update(t, other, op, symbol)
    else:
        keep_graph(t)
        value = other._data if is_tensor else other
        try:
            raw_op(t._data, value, out=t._data)
        except (ValueError, TypeError) as e:
            raise _unfit(e, symbol, t, np.shape(value), np.result_type(value)) from None
    t._version += 1  # the count of the tensor's memory, shared by all its views
    if t._fw is not None:  # the tangent is current for the new version
        t._fw = (*t._fw[:3], stamp(t, t._fw[1]))
    return t


def keep_graph(t: Tensor) -> None:
    """Before a change of ``t``'s values that is not recorded (under ``no_grad``, or
    ``t.data = array``): a tensor made by a recorded operation keeps its graph, as in
    PyTorch, but that graph's node gets a frozen copy of the values it produced, so its
    rule (``exp``'s uses its result) never reads the changed ones."""
    if t._node is None:
        return
    old = make(t._data.copy(), t._node)
    old.requires_grad = True
    with autograd.enable_grad():
        t._node = ops.reshape(old, t.shape)._node  # the identity, over the frozen values


def _differentiable_update(t: Tensor, other: Any, op: Callable, symbol: str) -> None:
    root = t._base if t._base is not None else t
    memo: dict[int, Any] = {}
    old = _frozen(t, root, memo, symbol, everything=False)
    if isinstance(other, Tensor):
        other = _frozen(other, root, memo, symbol, everything=True)
    new = op(old, other)
    if new.shape != t.shape:
        raise _unfit(ValueError("the result has another shape"), symbol, t, np.shape(other),
                     np.result_type(_raw(other)))
    if new.dtype != t.dtype:
        if t.dtype.kind not in "fc":
            raise _unfit(TypeError(f"a {new.dtype} result would be cut from the graph by a "
                                   f"cast to {t.dtype}"), symbol, t, np.shape(other),
                         np.result_type(_raw(other)))
        new = new.astype(t.dtype)  # a recorded (differentiable) cast, float to float
    np.copyto(t._data, new._data)
    before = t._fw[1] if t._fw is not None else None
    if isinstance(before, Tensor) and _root(before) is not root and not before.requires_grad:
        before._version += 1  # views taken of t's primal since its last change are stale now
    t._node = new._node
    t.requires_grad = new.requires_grad
    t._fw = new._fw
    if t._fw is not None:
        primal = t._fw[1]
        if not isinstance(primal, Tensor):  # a raw primal: t's memory
            t._fw = (t._fw[0], t._data, t._fw[2])
        elif primal._fw is None:  # a recorded primal: stood for by an alias of t's memory
            t._fw = (t._fw[0], _alias(t, primal), t._fw[2])


def _alias(t: Tensor, primal: Tensor) -> Tensor:
    """A tensor over ``t``'s memory that stands for ``primal`` in the graph (the identity on
    it). Views of t taken from now on are views of this memory, so a later in-place change
    of t reaches them and its version count makes their saved values and tangents refused,
    instead of leaving them with the values of the tensor ``primal`` (rules saved ``primal``
    itself, which keeps its own memory)."""
    node = None
    if primal.requires_grad:
        with autograd.enable_grad():
            node = ops.reshape(primal, primal.shape)._node
    alias = make(t._data, node)
    view_of(alias, t)
    return alias


def _frozen(x: Tensor, root: Tensor, memo: dict[int, Any], symbol: str,
            everything: bool) -> Tensor:
    """``x``, or a copy of it in which every tensor that shares the memory of ``root``
    (the tensor about to be written) is a frozen copy, and every tensor computed from one
    is recomputed into a new node over the copies (no operation runs again: the node is
    rebuilt with the same values). Walks the graph without recursion. ``everything=False``
    descends only through tensors that share the memory (the written tensor's own
    history, which cannot depend on the tensor itself)."""
    stack: list[tuple[Tensor, bool]] = [(x, False)]
    while stack:
        u, expanded = stack.pop()
        if id(u) in memo:
            continue
        children = _children(u)
        if not expanded:
            stack.append((u, True))
            stack.extend((c, False) for c in children
                         if id(c) not in memo and (everything or _root(c) is root))
            continue
        alias = _root(u) is root
        if alias or any(memo.get(id(c), c) is not c for c in children):
            memo[id(u)] = _copy(u, alias, memo, symbol)
        else:
            memo[id(u)] = u
    return memo[id(x)]


def _children(u: Tensor) -> list[Tensor]:
    node = u._node
    found = [a for a in node.args if isinstance(a, Tensor)] if (
        node is not None and node.args is not None) else []
    if u._fw is not None:
        found += [p for p in u._fw[1:3] if isinstance(p, Tensor)]
    return found


def _copy(u: Tensor, alias: bool, memo: dict[int, Any], symbol: str) -> Tensor:
    """``u`` with its memory copied (``alias``: the write would overwrite it) and its node
    and tangent rebuilt over the replacements in ``memo``."""
    if alias and u._node is None and u.requires_grad:
        raise RuntimeError(
            f"{symbol}: the change would overwrite the memory of a leaf tensor that requires "
            f"grad (shape {u.shape}); a leaf can't be changed in place while recording")
    node = u._node
    if node is not None:
        node = _rebuilt(node, memo, symbol)
    c = make(u._data.copy() if alias else u._data, node)
    c.requires_grad = u.requires_grad
    c.name = u.name
    if not alias:
        view_of(c, u)  # the same memory: one version counter
    if u._fw is not None:
        level, primal, tangent = u._fw[:3]
        if isinstance(primal, Tensor):
            primal = memo.get(id(primal), primal)
        elif alias:
            primal = c._data
        c._fw = (level, primal, memo.get(id(tangent), tangent), stamp(c, primal))
    return c


def _rebuilt(node: autograd.Node, memo: dict[int, Any], symbol: str) -> autograd.Node:
    """A copy of ``node`` whose Tensor arguments are replaced as ``memo`` says."""
    if node.args is None:
        raise autograd._freed(node)
    for _, a, v in node.saved:
        if memo.get(id(a), a) is not a and a._version != v:
            raise RuntimeError(
                f"{symbol}: the value was computed by '{node.prim.name}' from a tensor of shape "
                f"{a.shape} that was modified in place since (version {v}, now {a._version}); "
                "compute it again from the current values")
    args = tuple([memo.get(id(a), a) if isinstance(a, Tensor) else a for a in node.args])
    raw = tuple([a._data if isinstance(a, Tensor) else r for a, r in zip(args, node.raw)])
    inputs = tuple([i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad])
    versions = tuple([None if not isinstance(a, Tensor) else v if a is old else a._version
                      for a, old, v in zip(args, node.args, node.versions)])
    new = autograd.Node(node.prim, args, raw, node.kwargs, inputs, versions)
    new.where = node.where
    return new


def _root(u: Tensor) -> Tensor:
    return u._base if u._base is not None else u


def _unfit(e: Exception, symbol: str, t: Tensor, shape: tuple, dtype: Any) -> Exception:
    kind = TypeError if isinstance(e, TypeError) else ValueError
    return kind(f"{symbol}: can't update a tensor of shape {t.shape} and dtype {t.dtype} in "
                f"place with a value of shape {shape} and dtype {dtype}: {e}")


def _refuse_aliased(t: Tensor, symbol: str) -> None:
    """A recorded in-place change gives ``t`` a new node; a tensor sharing its memory would
    see the new values but keep its old graph (a silently missing gradient), so refuse
    the two cases where such a tensor can exist without a node that backward checks."""
    if t._base is not None:
        raise RuntimeError(
            f"{symbol}: this tensor (shape {t.shape}) is a view of another (shape "
            f"{t._base.shape}), whose graph would not see a recorded in-place change; "
            "compute the result out of place, or change the base (base[index] = value)")
    if t._viewed and not t.requires_grad:
        raise RuntimeError(
            f"{symbol}: views of this tensor (shape {t.shape}) were taken before it joined the "
            "graph, and would not see this recorded change; change it before taking views, "
            "or compute the result out of place")
