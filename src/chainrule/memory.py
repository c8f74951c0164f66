"""What the graph holds for backward, in bytes.

Reverse mode trades memory for speed: every recorded node keeps the arrays
its vjp rule will need (its inputs; the output is kept by the next node),
until ``backward`` frees them. For an L-layer network that is O(L) layers of
activations; checkpointing (:mod:`chainrule.checkpoint`) brings it down to
O(sqrt L) by recomputing. This module measures it instead of assuming it:

* :func:`saved_bytes` walks the graph behind some tensors now and adds up the
  distinct array buffers its nodes hold;
* :func:`track` is a context manager that follows every node recorded inside
  it, from creation until ``backward`` releases it (or it is garbage
  collected), and reports the current and the **peak** bytes held.

Buffers are counted once however many nodes or views share them: an array
is identified by its base (``arr.base``, followed to the owner), and counted
at the base's full size. ``leaves=False`` leaves out the arrays of leaf
tensors (inputs and parameters, which exist anyway), so what remains is the
activations that differentiation costs.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from chainrule.autograd import Node
    from chainrule.tensor import Tensor

TRACKERS: list[Tracker] = []  # active trackers; primitives and Node.release test this


def _owner(arr: np.ndarray) -> np.ndarray:
    """The array that owns ``arr``'s memory (``arr`` itself if not a view)."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def node_buffers(node: Node, leaves: bool = True) -> Iterator[np.ndarray]:
    """The owning arrays of what ``node`` keeps for backward: its saved arguments
    (``node.raw``) and its parents' data. Without ``leaves``, arrays of leaf
    tensors (made by the user, not by an operation) are skipped."""
    from chainrule.tensor import Tensor

    if node.raw is None:  # released by backward
        return
    for a, r in zip(node.args, node.raw):
        if not isinstance(r, np.ndarray):
            continue
        if not leaves and isinstance(a, Tensor) and a._node is None:
            continue
        yield _owner(r)
    for _, p in node.parents or ():  # (not None: raw is kept)
        if leaves or p._node is not None:
            yield _owner(p._data)


def graph_tensors(roots: Tensor | Sequence[Tensor]) -> Iterator[Tensor]:
    """Every tensor of the graph behind ``roots`` that takes part in the
    derivative (the roots, then parents), each once. Stops at released nodes."""
    from chainrule.tensor import Tensor

    stack = [roots] if isinstance(roots, Tensor) else list(roots)
    seen = {id(t) for t in stack}
    while stack:
        t = stack.pop()
        yield t
        node = t._node
        if node is None or node.parents is None:
            continue
        for _, p in node.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)


def saved_bytes(roots: Tensor | Sequence[Tensor], leaves: bool = True) -> int:
    """Bytes of the distinct arrays that the graph behind ``roots`` holds for backward.

    >>> x = chainrule.randn(1000, requires_grad=True)       # 8000 bytes
    >>> saved_bytes(x.exp().sin(), leaves=False)             # exp(x), held by sin
    8000
    """
    seen: dict[int, int] = {}
    for t in graph_tensors(roots):
        if t._node is not None:
            for arr in node_buffers(t._node, leaves):
                seen[id(arr)] = arr.nbytes
    return sum(seen.values())


class Tracker:
    """Bytes held by the nodes recorded while it is active: ``current`` now,
    ``peak`` the most at any moment. Made by :func:`track`."""

    def __init__(self, leaves: bool) -> None:
        self.leaves = leaves
        self.current = 0
        self.peak = 0
        self.nodes = 0  # nodes recorded
        self._count: dict[int, list] = {}  # id(buffer) -> [buffer, number of live nodes]
        self._held: dict[int, list[int]] = {}  # id(node) -> ids of its buffers

    def __repr__(self) -> str:
        return f"Tracker(current={self.current}, peak={self.peak}, nodes={self.nodes})"

    def _add(self, node: Node) -> None:
        keys = []
        for arr in node_buffers(node, self.leaves):
            key = id(arr)
            if key in keys:
                continue
            keys.append(key)
            entry = self._count.get(key)
            if entry is None:
                self._count[key] = [arr, 1]
                self.current += arr.nbytes
            else:
                entry[1] += 1
        self._held[id(node)] = keys
        self.nodes += 1
        self.peak = max(self.peak, self.current)
        weakref.finalize(node, self._drop, id(node))

    def _drop(self, node_id: int) -> None:
        for key in self._held.pop(node_id, ()):
            entry = self._count[key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._count[key]
                self.current -= entry[0].nbytes


def track_node(node: Node) -> None:
    """Called by primitives for each node recorded while a tracker is active."""
    for tracker in TRACKERS:
        tracker._add(node)


def release_node(node: Node) -> None:
    """Called by ``Node.release`` (backward is done with the node)."""
    for tracker in TRACKERS:
        tracker._drop(id(node))


@contextmanager
def track(leaves: bool = True) -> Iterator[Tracker]:
    """Follow the bytes held for backward by nodes recorded inside the block.

    >>> with chainrule.memory.track(leaves=False) as mem:
    ...     loss = model(x).sum(); loss.backward()
    >>> mem.peak        # bytes of activations held at the worst moment
    """
    tracker = Tracker(leaves)
    TRACKERS.append(tracker)
    try:
        yield tracker
    finally:
        TRACKERS.remove(tracker)
        tracker._held.clear()
        tracker._count.clear()
