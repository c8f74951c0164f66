"""The backward engine: reverse-mode accumulation over the recorded graph.

A Tensor produced by a primitive while gradients are being recorded carries a
:class:`Node`: the primitive, its arguments, and which of them need a gradient.
``backward`` walks those nodes in reverse topological order, **iteratively**
(no recursion, so a graph a million nodes deep is fine), calls each
primitive's vjp rule once per input that needs it, and adds up the
contributions that reach the same tensor (``a * a`` gives ``2a``).

Rules receive raw NumPy arrays in an ordinary backward pass, so the pass runs
at NumPy speed. With ``create_graph=True`` they receive the Tensors instead,
so the same rule records a graph of its own and the gradient can itself be
differentiated.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from contextlib import ContextDecorator
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import anomaly, backend, memory
from chainrule.jit.hook import Traced

if TYPE_CHECKING:
    from chainrule.primitive import Primitive
    from chainrule.tensor import Tensor


class _GradMode(threading.local):
    enabled = True  # class attribute: every thread starts with recording on


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when primitives record the graph for backward (per thread)."""
    return _mode.enabled


class _SetGradMode(ContextDecorator):
    """Sets recording on or off and restores it on exit. The states to restore are kept per
    thread, so one instance (a decorator, a shared ``no_grad()``) may be entered from several
    threads at once."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._saved = threading.local()

    def __enter__(self) -> _SetGradMode:
        self._saved.__dict__.setdefault("stack", []).append(_mode.enabled)
        _mode.enabled = self.enabled
        return self

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self._saved.stack.pop()


def no_grad() -> _SetGradMode:
    """Context manager and decorator: operations inside record no graph."""
    return _SetGradMode(False)


def enable_grad() -> _SetGradMode:
    """Context manager and decorator: re-enable recording inside ``no_grad``."""
    return _SetGradMode(True)


def set_grad_enabled(enabled: bool) -> _SetGradMode:
    """Context manager and decorator that sets recording on or off."""
    return _SetGradMode(bool(enabled))


EDITS = 0  # the number of the latest in-place change of any tensor (see note_edit)
_edit_numbers = itertools.count(1)


def note_edit() -> None:
    """Called on every in-place change of a tensor (its version counter's setter): nodes
    recorded before it must check their arguments' versions at backward, later ones need
    not. Each change draws a new number (atomic, so threads never reuse one)."""
    global EDITS
    EDITS = next(_edit_numbers)


NO_KWARGS: dict = {}  # the keyword arguments of every node recorded without any (never written)


class Node:
    """How a non-leaf tensor was made: ``prim(*args, **kwargs)``.

    ``args`` are the arguments as given (Tensors kept, used by a differentiable
    backward); ``raw`` the same with Tensors replaced by their arrays (used by
    an ordinary one); ``inputs`` the positions of the arguments that need a
    gradient; ``versions`` the version of each Tensor argument when the call was
    recorded (None for the other arguments), to detect later in-place changes;
    ``edits`` the number of the latest in-place change of any tensor then
    (:data:`EDITS`): while it is unchanged, no argument can have changed.

    A node holds few containers, and those of plain numbers (``inputs``, ``versions``)
    are untracked by Python's cyclic garbage collector after its first look: the
    collector traverses every tracked object of a live graph again and again, so each
    one per node is a cost that grows with the graph.
    """

    __slots__ = ("prim", "args", "raw", "kwargs", "inputs", "versions", "edits", "where",
                 "__weakref__")

    def __init__(self, prim: Primitive, args: tuple, raw: tuple, kwargs: dict,
                 inputs: tuple[int, ...], versions: tuple[int | None, ...]) -> None:
        self.prim = prim
        self.args = args
        self.raw = raw
        self.kwargs = kwargs
        self.inputs = inputs
        self.versions = versions
        self.edits = EDITS
        self.where = anomaly.user_frame() if anomaly.ACTIVE else None
        if memory.TRACKERS:
            memory.track_node(self)

    @property
    def parents(self) -> tuple | None:
        """The ``(position, tensor)`` pairs of the arguments that need a gradient (None
        once released)."""
        if self.inputs is None:
            return None
        return tuple([(i, self.args[i]) for i in self.inputs])

    @property
    def saved(self) -> tuple:
        """The ``(position, tensor, version when recorded)`` of every Tensor argument."""
        if self.args is None:
            return ()
        return tuple([(i, self.args[i], v) for i, v in enumerate(self.versions)
                      if v is not None])

    def release(self) -> None:
        """Free what was saved for backward; the graph can't be walked again."""
        if memory.TRACKERS:
            memory.release_node(self)
        # None, not a tuple, from now on: a released node is never walked again (parents)
        self.args = self.raw = self.inputs = None  # type: ignore[assignment]


def _parents(t: Tensor) -> list[Tensor]:
    """The arguments of the node that made ``t`` that need a gradient."""
    node = t._node
    if node is None:
        return []
    if node.inputs is None:
        raise _freed(node)
    args = node.args
    return [args[i] for i in node.inputs]


def _freed(node: Node) -> RuntimeError:
    return RuntimeError(
        f"backward: the graph through '{node.prim.name}' was already freed by an "
        "earlier backward; pass retain_graph=True to the first backward to walk it twice")


def _graph_order(roots: Sequence[Tensor]) -> dict[Tensor, int]:
    """Count, for every tensor reachable from ``roots``, how many of the
    reachable nodes use it. A tensor is ready once all its users are done.

    (Tensors are dict keys by identity: their hash is ``object.__hash__``, and two live
    tensors never share one, so their elementwise ``==`` is never called.)"""
    users: dict[Tensor, int] = {}
    stack = list(roots)
    seen = set(roots)
    while stack:
        node = stack.pop()._node
        if node is None:
            continue
        inputs = node.inputs
        if inputs is None:
            raise _freed(node)
        args = node.args
        for i in inputs:
            p = args[i]
            if p in users:
                users[p] += 1
            else:
                users[p] = 1
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
    return users


def _pruned_order(roots: Sequence[Tensor], wanted: dict[int, int]
                  ) -> tuple[dict[Tensor, int], set[int]]:
    """Like :func:`_graph_order`, restricted to the tensors from which one of the
    ``wanted`` inputs can be reached (the rest of the graph needs no visit)."""
    order: list[Tensor] = []  # every reachable tensor after all of its parents
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots]
    seen: set[int] = set()
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
        elif id(t) not in seen:
            seen.add(id(t))
            stack.append((t, True))
            stack.extend((p, False) for p in _parents(t) if id(p) not in seen)
    needed: set[int] = set()
    users: dict[Tensor, int] = {}
    for t in order:
        edges = [p for p in _parents(t) if id(p) in needed]
        if edges or id(t) in wanted:
            needed.add(id(t))
            for p in edges:
                users[p] = users.get(p, 0) + 1
    return users, needed


def _check_versions(node: Node) -> None:
    """Raise if a Tensor argument of ``node`` was changed in place since it was recorded."""
    for i, a, v in node.saved:
        if a._version != v:
            raise _modified_in_place(node, i, a, v)


def _modified_in_place(node: Node, i: int, a: Tensor, v: int) -> RuntimeError:
    name = f"'{a.name}' " if a.name else ""
    alias = "" if a._base is None else (
        f" (through an alias: it shares memory with a tensor of shape {a._base.shape})")
    return RuntimeError(
        f"backward: argument {i} of '{node.prim.name}', the tensor {name}of shape "
        f"{a.shape}, was modified in place{alias} after it was saved for backward "
        f"(version {v}, now {a._version}); compute it out of place (x = x + 1, "
        "not x += 1) or clone it before changing it")


def run_backward(roots: Sequence[Tensor], seeds: Sequence[Any], inputs: Sequence[Tensor] | None,
                 retain_graph: bool, create_graph: bool) -> list | None:
    """Propagate ``seeds`` from ``roots`` to the leaves.

    With ``inputs=None`` every leaf that requires grad accumulates into
    ``.grad``; otherwise the gradients of ``inputs`` are returned (None for
    those not reached) and no ``.grad`` is touched.
    """
    from chainrule.ops.shape import sum_to_shape
    from chainrule.tensor import Tensor

    wanted = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
    if wanted is None:
        users, needed = _graph_order(roots), None
    else:
        users, needed = _pruned_order(roots, wanted)
    pending: dict[Tensor, Any] = {}  # the cotangent summed so far, by tensor
    ready: list[Tensor] = []  # tensors whose every user is done
    for r, s in zip(roots, seeds):
        if needed is not None and id(r) not in needed:
            continue
        if r in pending:
            pending[r] = pending[r] + s
        else:
            pending[r] = s
            if users.get(r, 0) == 0:
                ready.append(r)
    found: list = [None] * (0 if inputs is None else len(inputs))
    stored: set[int] = {id(s) for s in seeds}  # arrays already handed out: copy before reuse

    ans: Any  # the node's output: the Tensor when create_graph, else its array
    previous = _mode.enabled
    _mode.enabled = create_graph
    try:
        while ready:
            t = ready.pop()
            g = pending.pop(t)
            if t._hooks:
                g = _apply_hooks(t, g)
            if wanted is not None and id(t) in wanted:
                found[wanted[id(t)]] = (_in_dtype(g, t.dtype) if isinstance(g, Tensor)
                                        else _owned(g, t.dtype, stored))
                if t._node is None:
                    continue
            node = t._node
            if node is None:
                if wanted is None and t.requires_grad:
                    _accumulate_leaf(t, g, stored, create_graph)
                continue
            args = node.args
            if node.edits != EDITS:  # some tensor changed in place since: this one's?
                _check_versions(node)
            prim = node.prim
            vjps = prim.vjps
            kwargs = node.kwargs
            if create_graph or node.raw is args:  # (a vmap node: its batched Tensors)
                given, ans = args, t
            else:
                given, ans = node.raw, t._data
            for i in node.inputs:
                p = args[i]
                if needed is not None and id(p) not in needed:
                    continue
                try:
                    rule = vjps[i]
                except IndexError:  # fewer rules than arguments: none for this one
                    rule = None
                if rule is None:
                    raise NotImplementedError(
                        f"backward: '{prim.name}' has no vjp rule for argument {i}")
                gi = rule(g, ans, *given, **kwargs) if kwargs else rule(g, ans, *given)
                if anomaly.ACTIVE:
                    anomaly.check_backward(node, i, gi)
                if gi.shape != p._data.shape:
                    gi = sum_to_shape(gi, p._data.shape, prim.name)
                if p in pending:
                    pending[p] = pending[p] + gi
                else:
                    pending[p] = gi
                left = users[p] - 1
                users[p] = left
                if left == 0:
                    ready.append(p)
            if not retain_graph:
                node.release()
    finally:
        _mode.enabled = previous
    return None if inputs is None else found


def _apply_hooks(t: Tensor, g: Any) -> Any:
    for hook in t._hooks or ():
        out = hook(g)
        if out is None:
            continue
        if np.shape(out) != t.shape:
            raise ValueError(
                f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                f"{np.shape(out)} for a tensor of shape {t.shape}")
        g = out
    return g


def _accumulate_leaf(t: Tensor, g: Any, stored: set[int], create_graph: bool) -> None:
    """Add ``g`` into ``t.grad``: the user's own array in an ordinary backward (see
    :func:`_owned`), a Tensor after create_graph=True."""
    if not create_graph and (isinstance(g, np.ndarray | np.generic)
                             or backend.on_device(g)):  # an ordinary backward
        if t.grad is None:
            t.grad = _owned(g, t._data.dtype, stored)
        else:
            t.grad = t.grad + (g if g.dtype == t._data.dtype else _owned(g, t._data.dtype, stored))
        return
    from chainrule.tensor import Tensor

    if not isinstance(g, Tensor):
        g = Tensor(g)  # after create_graph=True every .grad is a Tensor
    g = _in_dtype(g, t.dtype)
    t.grad = g if t.grad is None else t.grad + g


def complex_error(where: str) -> TypeError:
    """Complex numbers are out of reach: the rules are written for real values, and a
    complex value would give a wrong derivative (its imaginary part silently dropped)."""
    return TypeError(f"{where}: complex numbers are not supported: chainrule differentiates "
                     "real-valued code only (its rules are not written for complex values and "
                     "would give a wrong derivative); carry real and imaginary parts as "
                     "separate real arrays")


def _owned(g: Any, dtype: np.dtype, stored: set[int]) -> Any:
    """``g`` as an array the caller owns: writable, C-contiguous, of ``dtype``, sharing
    memory with nothing else. ``g`` is copied unless provably fresh: an array that owns its
    memory (not a view or broadcast of a cotangent) and was not handed out before in this
    pass (``stored``: the seeds, the arrays given to other leaves, which an identity rule
    such as add's passes on unchanged)."""
    if isinstance(g, Traced):
        return g  # a value jit traces: its program decides who owns its results
    if type(g) is not np.ndarray:
        g = backend.as_array(g)  # a NumPy scalar from a 0-d computation: a new array
    if g.dtype != dtype:
        if g.dtype.kind == "c":
            raise complex_error("backward: a complex derivative reached a real input")
        g = g.astype(dtype, order="C")
    elif (g.base is not None or id(g) in stored or not getattr(g.flags, "writeable", True)
          or not g.flags.c_contiguous):
        g = g.copy()
    stored.add(id(g))
    return g


def _in_dtype(g: Tensor, dtype: np.dtype) -> Tensor:
    """A differentiable gradient cast to its input's dtype (a float32 input gets a float32
    gradient even when a float64 constant took part), as PyTorch and JAX do."""
    if g.dtype != dtype and g.dtype.kind == "c":
        raise complex_error("backward: a complex derivative reached a real input")
    return g if g.dtype == dtype else g.astype(dtype)


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d tensor / d leaf into ``leaf.grad`` for every leaf that requires grad.

    ``gradient`` is the cotangent (the vector in the vector-Jacobian product);
    it may be omitted only for a tensor with one element.
    """
    seed = _seed(tensor, gradient, "backward")
    keep = create_graph if retain_graph is None else retain_graph
    run_backward([tensor], [seed], None, keep, create_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``.grad`` attributes are left alone, so this
    is safe inside another differentiation.
    """
    from chainrule.tensor import Tensor, make

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or backend.is_array(grad_outputs):
        grad_outputs = [grad_outputs] * len(outs) if len(outs) == 1 else grad_outputs
    if grad_outputs is None:
        grad_outputs = [None] * len(outs)
    seeds = [_seed(o, g, "grad") for o, g in zip(outs, grad_outputs)]
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"grad: input {i} does not require grad")
    keep = create_graph if retain_graph is None else retain_graph
    found = run_backward(outs, seeds, ins, keep, create_graph)
    assert found is not None  # inputs given: their gradients
    for i, (t, g) in enumerate(zip(ins, found)):
        if g is None:
            if not allow_unused:
                raise ValueError(
                    f"grad: input {i} (shape {t.shape}) is not reachable from the outputs; "
                    "pass allow_unused=True to get None for it")
        elif create_graph and not isinstance(g, Tensor):  # (a traced value stays traced)
            found[i] = make(g, None) if isinstance(g, Traced) else Tensor(g)
    return tuple(found)


def _seed(t: Tensor, gradient: Any, op: str) -> Any:
    from chainrule.tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    if not t.requires_grad:
        raise RuntimeError(
            f"{op}: this tensor (shape {t.shape}) does not require grad and has no graph; "
            "create its inputs with requires_grad=True")
    if gradient is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"{op}: gradient can be implied only for a tensor with one element, this one "
                f"has shape {t.shape}; pass a cotangent of that shape, e.g. "
                f"backward(np.ones({t.shape}))")
        return backend.array_namespace(t._data).ones(t.shape, dtype=t.dtype)
    if isinstance(gradient, Tensor):
        if gradient.shape != t.shape:
            raise ValueError(f"{op}: cotangent of shape {gradient.shape} for a tensor of shape "
                             f"{t.shape}")
        # a cotangent that takes part in a derivative (reverse, or forward: a tangent) stays
        # a Tensor so that the backward pass carries that derivative along
        return gradient if gradient.requires_grad or gradient._fw is not None else gradient.data
    backend.check_same_device(op, (t._data, gradient))
    g = backend.as_array(gradient, dtype=t.dtype)
    if g.shape != t.shape:
        raise ValueError(f"{op}: cotangent of shape {g.shape} for a tensor of shape {t.shape}")
    return g

