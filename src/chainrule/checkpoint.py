"""Gradient checkpointing: trade compute for memory (Chen et al., 2016).

An ordinary forward pass keeps, for the backward pass, every intermediate
result: memory O(L) for L layers. ``checkpoint(fn, *args)`` runs ``fn``
without recording (so none of its intermediates is kept) and keeps only its
inputs; when backward reaches it, it runs ``fn`` again, this time recording,
and backpropagates the incoming cotangent through that fresh graph:

    forward:  y = fn(x)                       (no graph; x is kept)
    backward: y' = fn(x') recorded, x' a copy of x
              x_bar = vjp(fn, x')(y_bar)      (then the graph of y' is freed)

Splitting L layers into s segments and checkpointing each
(:func:`checkpoint_sequential`) holds s segment inputs plus, while one segment
is recomputed, its L/s layers' intermediates: about s + L/s layers, least at
s = sqrt(L), where it is about 2 sqrt(L) instead of L, for one extra forward
pass of compute.

The checkpoint is a primitive made at call time: its forward returns the
output computed under ``no_grad`` and its vjp rule (one for every input, via
:class:`~chainrule.primitive.EachArgument`) recomputes and differentiates.
Tensors that ``fn`` reads from its closure (a layer's weights) are found
while it runs, through the same hook that logs ``no_grad`` cuts, and become
inputs of the checkpoint too, so they get their gradients. Under
``create_graph=True`` the recomputation is recorded on the real inputs, so a
checkpointed function can be differentiated twice (``hessian``,
``grad(grad(f))``).

``fn`` must be deterministic (it runs twice). Its arguments may be
containers (flattened by :mod:`chainrule.tree`); it returns a Tensor or a
container of Tensors, which the checkpoint joins into one output (raveled and
concatenated) and splits again. With forward-mode inputs (inside ``jvp``)
there is nothing to save, and ``fn`` is simply called.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import autograd, backend, cutlog
from chainrule.ops.elementwise import astype
from chainrule.ops.indexing import concatenate
from chainrule.ops.shape import reshape
from chainrule.primitive import EachArgument, Primitive
from chainrule.tensor import Tensor, make
from chainrule.tree import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, recomputed during backward instead of stored.

    Gradients flow to the Tensors among the arguments that require grad (the arguments
    may be containers of them: :mod:`chainrule.tree`) and to the tensors ``fn`` uses
    from its closure (parameters). ``fn`` returns a Tensor or a container of them (with
    other leaves, such as numbers, passed through). Works with ``backward``, ``grad``,
    ``vjp`` and nested differentiation.
    """
    leaves, in_def = tree_flatten(args)
    if not autograd.is_grad_enabled() or any(
            isinstance(a, Tensor) and a._fw is not None for a in leaves):
        return fn(*args)
    with cutlog.capture() as found, autograd.no_grad():
        out = fn(*args)
    out_leaves, out_def = tree_flatten(out)
    tensors = [k for k, o in enumerate(out_leaves) if isinstance(o, Tensor)]
    if not tensors:
        raise TypeError(f"checkpoint: {_name(fn)} must return a Tensor or a container of "
                        f"Tensors, it returned {type(out).__name__}")
    if any(out_leaves[k]._fw is not None for k in tensors):  # forward mode read from the
        return fn(*args)                                   # closure: nothing to trade
    closure = [t for t in found.values() if not any(t is a for a in leaves)]
    inputs = (*leaves, *closure)
    if not any(isinstance(a, Tensor) and a.requires_grad for a in inputs):
        return out
    joined = _Joined(fn, in_def, tensors)
    value = joined.join([out_leaves[k] for k in tensors])._data
    prim = Primitive(lambda *raw: value, name=f"checkpoint({_name(fn)})")
    prim.defvjp(EachArgument(_Recompute(joined, len(leaves), inputs)))
    for k, piece in zip(tensors, joined.split(prim(*inputs), out_leaves)):
        out_leaves[k] = piece
    return tree_unflatten(out_def, out_leaves)


class _Joined:
    """fn as a function of its arguments' leaves, returning its output's Tensor leaves as
    one Tensor (a single leaf as is; several raveled and concatenated), so that the
    checkpoint is one primitive with one output; ``split`` takes them apart again."""

    def __init__(self, fn: Callable[..., Any], in_def: Any, tensors: list[int]) -> None:
        self.fn, self.in_def, self.tensors = fn, in_def, tensors
        self.__name__ = _name(fn)

    def __call__(self, *leaves: Any) -> Any:
        out_leaves = tree_flatten(self.fn(*tree_unflatten(self.in_def, leaves)))[0]
        return self.join([out_leaves[k] for k in self.tensors])

    @staticmethod
    def join(pieces: list[Tensor]) -> Tensor:
        if len(pieces) == 1:
            return pieces[0]
        return concatenate([reshape(p, (-1,)) for p in pieces])

    def split(self, y: Tensor, like: list) -> list[Tensor]:
        if len(self.tensors) == 1:
            return [y]
        pieces, start = [], 0
        for k in self.tensors:
            t = like[k]
            piece = reshape(y[start:start + t.size], t.shape)
            pieces.append(piece if piece.dtype == t.dtype else astype(piece, t.dtype))
            start += t.size
        return pieces


class _Recompute:
    """The vjp rule of one checkpoint: the first call for a cotangent recomputes
    ``fn`` and differentiates it for every input at once; the calls for the other
    inputs take their share."""

    def __init__(self, fn: Callable[..., Tensor], nargs: int, inputs: tuple) -> None:
        self.fn = fn
        self.nargs = nargs
        self.was_tensor = [isinstance(a, Tensor) for a in inputs[:nargs]]
        self.from_args = [i for i, a in enumerate(inputs[:nargs])
                          if isinstance(a, Tensor) and a.requires_grad]
        self.closure = list(inputs[nargs:])  # tensors fn reads (all require grad); kept as is
        self.wanted = self.from_args + list(range(nargs, len(inputs)))
        self.pending: dict[int, Any] = {}
        self.cotangent: Any = None

    def __call__(self, i: int, g: Any, ans: Any, *inputs: Any) -> Any:
        if g is not self.cotangent or i not in self.pending:
            self.pending = self._all(g, inputs)
            self.cotangent = g
        result = self.pending.pop(i)
        if not self.pending:
            self.cotangent = None
        return result

    def _all(self, g: Any, inputs: tuple) -> dict[int, Any]:
        """Cotangents of all wanted inputs. A plain backward passes raw arrays (the
        recomputation starts from fresh leaves); under ``create_graph`` it passes the
        Tensors (the recomputation starts from new nodes on them, so the result can
        be differentiated again)."""
        create = autograd.is_grad_enabled()  # backward records only under create_graph
        call_args = list(inputs[:self.nargs])
        if not create:
            call_args = [make(a, None) if t else a for a, t in zip(call_args, self.was_tensor)]
        stand_ins = []
        for i in self.from_args:
            if create:
                call_args[i] = reshape(inputs[i], inputs[i].shape)
            else:
                call_args[i].requires_grad = True
            stand_ins.append(call_args[i])
        with autograd.enable_grad():
            out = self.fn(*call_args)
        targets = stand_ins + self.closure
        grads: Sequence[Any] = [None] * len(targets)
        if isinstance(out, Tensor) and out.requires_grad:
            with _as_leaves([t for t in targets if t._node is not None]):
                grads = autograd.grad(out, targets, g, create_graph=create, allow_unused=True)
        return {i: _zeros_if_none(gi, inputs[i]) for i, gi in zip(self.wanted, grads)}


def _zeros_if_none(g: Any, like: Any) -> Any:
    if g is not None:
        return g
    data = like._data if isinstance(like, Tensor) else like
    return backend.zeros(np.shape(data), np.result_type(data), like=data)


@contextmanager
def _as_leaves(tensors: list[Tensor]) -> Iterator[None]:
    """Make the engine stop at ``tensors`` (as at leaves) inside the block, so that
    differentiating the recomputed graph does not walk on into the graph that made
    its inputs; their nodes are put back afterwards."""
    nodes = [t._node for t in tensors]
    for t in tensors:
        t._node = None
    try:
        yield
    finally:
        for t, node in zip(tensors, nodes):
            t._node = node


def checkpoint_sequential(layers: Sequence[Callable[[Any], Any]], segments: int | None,
                          x: Any) -> Any:
    """Apply ``layers`` in order to ``x``, checkpointing ``segments`` runs of them.

    ``segments`` defaults (None) to round(sqrt(L)), which holds about 2 sqrt(L)
    layers' activations instead of L. As in PyTorch, the last segment runs
    normally (its activations are needed at once by backward anyway).
    """
    layers = list(layers)
    n = len(layers)
    if n == 0:
        raise ValueError("checkpoint_sequential: no layers given")
    if segments is None:
        segments = max(1, round(math.sqrt(n)))
    if not isinstance(segments, int | np.integer) or not 1 <= segments <= n:
        raise ValueError(f"checkpoint_sequential: segments must be an int between 1 and the "
                         f"number of layers ({n}), got {segments!r}")
    bounds = np.linspace(0, n, int(segments) + 1).round().astype(int)
    for start, stop in zip(bounds[:-2], bounds[1:-1]):
        x = checkpoint(_Run(layers[start:stop]), x)
    for layer in layers[bounds[-2]:]:
        x = layer(x)
    return x


class _Run:
    """Layers applied in order (one checkpointed segment)."""

    def __init__(self, layers: list[Callable[[Any], Any]]) -> None:
        self.layers = layers
        self.__name__ = f"{len(layers)} layers"

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)
