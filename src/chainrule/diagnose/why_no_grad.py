"""``why_no_grad``: why did a parameter get no gradient? One sentence per parameter.

The causes, in the order they are checked:

1. it never required grad (``requires_grad=True`` forgotten);
2. it is not reachable from the loss: the path was cut outside the graph by
   ``detach``, ``no_grad``, ``argmax``/``argmin``, a comparison or an integer
   cast (found in :mod:`chainrule.cutlog`, with the line that did it), or the
   loss simply does not use it;
3. it, or a tensor on its path to the loss, was modified in place after the
   forward pass saved it (backward would fail);
4. it is reachable but its gradient is exactly zero: the gradient dies at one
   operation, found as the node whose output has a non-zero gradient and whose
   input (on the parameter's path) has none: a dead ReLU (with the fraction of
   dead units), a saturated sigmoid or tanh, a product with an all-zero
   factor (a zero constant included), values overwritten in place by
   ``t[...] = value``. When another use of the parameter was cut on its way to
   the loss (``argmax``, ``detach``, a NumPy call, a comparison), that cut is
   named too: it is usually the path that was meant to carry the gradient.

Call it *before* ``loss.backward()`` (which frees the graph), or after
``backward(retain_graph=True)``. It computes the gradients itself (touching no
``.grad``), with one extra backward pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule import autograd, cutlog
from chainrule.memory import graph_tensors
from chainrule.tensor import Tensor

__all__ = ["NoGradReport", "named_parameters", "why_no_grad"]

_CUT_REASONS = {
    "detach": "detach() returns a tensor without history",
    "argmax": "argmax returns integer indices, which have no derivative",
    "argmin": "argmin returns integer indices, which have no derivative",
    "comparison": "a comparison returns booleans, which have no derivative",
    "astype": "a cast to a non-float dtype has no derivative",
    "no_grad": "operations under no_grad() record nothing for backward",
    "numpy": "a NumPy call on a tensor returns a plain array, which has no history",
}
_PRODUCTS = ("mul", "matmul", "dot", "einsum", "outer", "linear")
_FACTORS = {"linear": {0: (1,), 1: (0,), 2: ()}}  # x W + b: x pairs with W; b with nothing


class NoGradReport(dict):
    """``{parameter name: reason}`` for every parameter whose gradient is missing or
    all zero; printing it gives one line per parameter."""

    def __str__(self) -> str:
        if not self:
            return "every parameter gets a non-zero gradient"
        return "\n".join(f"{name}: {reason}" for name, reason in self.items())


def named_parameters(params: Any) -> list[tuple[str, Tensor]]:
    """``(name, tensor)`` pairs from a Module (``named_parameters()``), a dict, a
    single Tensor or an iterable of Tensors (named by ``t.name`` or position)."""
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    if isinstance(params, dict):
        return list(params.items())
    if isinstance(params, Tensor):
        params = [params]
    return [(t.name or f"params[{i}]", t) for i, t in enumerate(params)]


def why_no_grad(loss: Any, params: Any) -> NoGradReport:
    """For each parameter whose gradient from ``loss`` is missing or all zero, why.

    ``params``: a Module, a dict name -> Tensor, or Tensors. ``loss`` a Tensor
    (non-scalar: the gradient of its sum), or anything else (then no parameter
    is reachable, and only cuts can explain it).
    """
    named = named_parameters(params)
    graph = _Graph(loss)
    report = NoGradReport()
    for name, p in named:
        reason = _reason(p, graph)
        if reason is not None:
            report[name] = reason
    return report


class _Graph:
    """The graph behind the loss: its tensors, their gradients, in-place damage."""

    def __init__(self, loss: Any) -> None:
        self.loss = loss
        self.freed = isinstance(loss, Tensor) and loss._node is not None \
            and loss._node.parents is None
        has_graph = isinstance(loss, Tensor) and loss.requires_grad and not self.freed
        self.tensors = list(graph_tensors(loss)) if has_graph else []
        self.ids = {id(t) for t in self.tensors}
        self.stale = [hit for t in self.tensors if t._node is not None
                      for hit in _stale_args(t._node)]
        self.inputs = {id(loss)} | {id(a) for t in self.tensors if t._node is not None
                                    for a in (*t._node.args, *t._node.raw)}
        self.grads: dict[int, Any] = {}
        if has_graph and not self.stale:
            found = autograd.grad(loss, self.tensors, np.ones(loss.shape, loss.dtype),
                                  retain_graph=True, allow_unused=True)
            self.grads = {id(t): g for t, g in zip(self.tensors, found)}
        self._cut_reach: dict[int, set[int]] = {}

    def users(self, t: Tensor) -> Iterator[tuple[Tensor, int]]:
        """(output, argument position) of the graph's nodes that use ``t``."""
        for out in self.tensors:
            node = out._node
            if node is not None:
                for i, a in enumerate(node.args):
                    if a is t:
                        yield out, i

    def descendants(self, p: Tensor) -> set[int]:
        """Ids of the graph's tensors computed from ``p`` (``p`` included)."""
        memo: dict[int, bool] = {id(p): True}
        for t in self.tensors:
            _depends(t, p, memo)
        return {k for k, v in memo.items() if v}

    def cut_reaches(self, cut: cutlog.Cut) -> set[int]:
        """Ids of the tensors behind the inputs that ``cut`` cut off."""
        key = id(cut)
        if key not in self._cut_reach:
            reach: set[int] = set()
            for src in cut.inputs():
                if isinstance(src, Tensor):
                    reach.add(id(src))
                elif src.parents is not None:
                    reach.update(id(t) for _, p in src.parents for t in graph_tensors(p))
            self._cut_reach[key] = reach
        return self._cut_reach[key]


def _depends(t: Tensor, p: Tensor, memo: dict[int, bool]) -> bool:
    """Whether ``t`` is computed from ``p`` (iterative, memoised)."""
    stack = [t]
    while stack:
        top = stack[-1]
        if id(top) in memo:
            stack.pop()
            continue
        node = top._node
        parents = [q for _, q in node.parents] if node is not None and node.parents else []
        todo = [q for q in parents if id(q) not in memo]
        if todo:
            stack.extend(todo)
            continue
        memo[id(top)] = any(memo[id(q)] for q in parents)
        stack.pop()
    return memo[id(t)]


def _stale_args(node: Any) -> Iterator[tuple[Any, int, Tensor, int]]:
    """(node, position, tensor, saved version) for saved arguments changed in place since."""
    for i, a, v in node.saved:
        if a._version != v:
            yield node, i, a, v


def _reason(p: Tensor, graph: _Graph) -> str | None:
    if not p.requires_grad:
        use = next(graph.users(p), None)
        # a user is an output: it has a node
        where = f"it is used by '{use[0]._node.prim.name}' in the loss, but " if use else ""  # type: ignore[union-attr]
        return (f"never required grad: {where}it was created without requires_grad=True, so "
                "no gradient is recorded for it")
    if graph.freed:
        if p.grad is not None and np.any(_array(p.grad)):
            return None
        return (_cut_reason(p, graph) or
                "unknown: the loss's graph was already freed by backward(); call why_no_grad "
                "before backward() (or use backward(retain_graph=True)) for a diagnosis")
    if id(p) not in graph.ids:
        return _unreachable(p, graph)
    damage = _inplace_reason(p, graph)
    if damage is not None:
        return damage
    if graph.grads and np.any(_array(graph.grads[id(p)])):
        return None
    return _zero_reason(p, graph)


def _array(g: Any) -> np.ndarray:
    return g._data if isinstance(g, Tensor) else np.asarray(g)


def _unreachable(p: Tensor, graph: _Graph) -> str:
    late = next(graph.users(p), None)
    if late is not None:
        # a user is an output: it has a node
        return (f"not reachable from the loss: it is used by '{late[0]._node.prim.name}', but "  # type: ignore[union-attr]
                "it did not require grad yet when the loss was computed (requires_grad was "
                "set afterwards); compute the loss again")
    return _cut_reason(p, graph) or ("not reachable from the loss: the loss does not depend "
                                     "on it (no recorded operation links them)")


def _cut_reason(p: Tensor, graph: _Graph) -> str | None:
    cut = _cut_of(p, graph)
    return None if cut is None else f"not reachable from the loss: its path was cut by {cut}"


def _cut_of(p: Tensor, graph: _Graph) -> str | None:
    """The logged cut of a path from ``p`` most likely to be the one, as ``'<op> at <where>;
    <why>'``: first a cut whose result the loss uses directly (a detached tensor fed to
    it), then one whose result is gone (a temporary, as in ``(out.argmax(1) == y).mean()``),
    then one whose result is alive but unused by the loss; the latest first within each
    kind."""
    def rank(c: cutlog.Cut) -> int:
        alive = list(c.produced())
        return 0 if any(id(o) in graph.inputs for o in alive) else 2 if alive else 1

    cuts = [c for c in reversed(cutlog.events()) if id(p) in graph.cut_reaches(c)]
    cuts.sort(key=rank)
    if not cuts:
        return None
    cut = cuts[0]
    why = _CUT_REASONS[cut.op.split(":")[0].split("(")[0].split(" ")[0]]
    return f"{cut.op} at {cut.location}; {why}"


def _inplace_reason(p: Tensor, graph: _Graph) -> str | None:
    if not graph.stale:
        return None
    below = graph.descendants(p)
    for node, i, a, v in graph.stale:
        if id(a) in below or a is p:
            what = "it" if a is p else f"a tensor on its path to the loss (shape {a.shape})"
            return (f"modified in place: {what} was changed after '{node.prim.name}' saved it as "
                    f"argument {i} for backward (version {v}"
                    f", now {a._version}); backward() would fail: change it out of place or "
                    "before computing the loss")
    return None


def _zero_reason(p: Tensor, graph: _Graph) -> str:
    below = graph.descendants(p)
    for out in graph.tensors:  # from the loss down: the first place the gradient dies
        node = out._node
        if node is None or not np.any(_array(graph.grads.get(id(out)))):
            continue
        for i, q in node.parents or ():  # (None only once released)
            if id(q) in below and not np.any(_array(graph.grads.get(id(q)))):
                return "gradient is exactly zero: " + _blocker(node, i, graph) + _also_cut(p,
                                                                                          graph)
    return ("gradient is exactly zero: the contributions of its uses cancel, or the loss is "
            "stationary in it at this point" + _also_cut(p, graph))


def _also_cut(p: Tensor, graph: _Graph) -> str:
    """The cut of another use of ``p``, if one was logged: with the only differentiable
    path multiplied by zero, the cut one is usually the path meant to carry the gradient."""
    cut = _cut_of(p, graph)
    return "" if cut is None else f"; another use of it was cut from the graph by {cut}"


def _blocker(node: Any, i: int, graph: _Graph) -> str:
    """One sentence on why ``node`` passes back no gradient to argument ``i``."""
    name = node.prim.name
    x = np.asarray(node.raw[i])
    if name == "relu":
        return f"it flows through a dead ReLU: {_dead_units(x)}"
    if name in ("sigmoid", "tanh"):
        s = np.tanh(x) if name == "tanh" else 1 / (1 + np.exp(-x))
        slope = 1 - s * s if name == "tanh" else s * (1 - s)
        flat = float(np.mean(slope == 0)) * 100
        return (f"it flows through a saturated {name}: {flat:.0f}% of its {x.size} outputs sit "
                f"at the asymptotes to machine precision (largest |input| {np.abs(x).max():.3g}),"
                " where the derivative is 0")
    if name == "index_update":
        return (f"its values were overwritten in place (t[...] = value on a tensor of shape "
                f"{x.shape}) before they reached the loss, so no gradient flows back to them")
    if name in _PRODUCTS:
        factors = _FACTORS.get(name, {}).get(i, [j for j in range(len(node.args)) if j != i])
        for j in factors:
            a = node.args[j]
            if isinstance(a, Tensor | np.ndarray | int | float) and not np.any(_array(a)):
                made = a._node.prim.name if isinstance(a, Tensor) and a._node else None
                extra = ""
                if made == "relu":
                    # made == "relu": a is a Tensor with a node
                    extra = f" (a dead ReLU: {_dead_units(np.asarray(a._node.raw[0]))})"  # type: ignore[union-attr]
                source = (f"the output of '{made}'" if made else "an all-zero tensor"
                          if np.ndim(_array(a)) else f"the constant {_array(a).item()!r}")
                return (f"'{name}' multiplies it by {source}{extra}, so its gradient is 0")
    return (f"the '{name}' it flows through (output shape {np.shape(node.raw[i])}) passes no "
            "gradient back: its local derivative is zero wherever the gradient from the loss "
            "is not")


def _dead_units(x: np.ndarray) -> str:
    """'100% of its 16 units are <= 0 for every one of the 8 examples' (units: last axis)."""
    if x.ndim >= 2:
        dead = np.all(x.reshape(-1, x.shape[-1]) <= 0, axis=0)
        n = int(np.prod(x.shape[:-1]))
        return (f"{dead.mean() * 100:.0f}% of its {dead.size} units are <= 0 for every one of "
                f"the {n} examples, so they pass back no gradient")
    return f"{np.mean(x <= 0) * 100:.0f}% of its {x.size} inputs are <= 0"
